// The room page's live log. It polls /api/rooms/{id}/messages?after=<last id shown> one second
// after each answer (never two polls in flight), appends what comes back in the server's order,
// and sends messages with POST. It builds every message with textContent, never innerHTML.
(function () {
  "use strict";

  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;
  const PAGE_LIMIT = 500;

  const log = document.getElementById("log");
  if (!log) return;

  const roomId = log.dataset.roomId;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const statusLine = document.getElementById("status");
  const emptyLog = document.getElementById("empty-log");
  const form = document.getElementById("send");
  const textBox = document.getElementById("text");
  const sendButton = document.getElementById("send-button");
  const sendError = document.getElementById("send-error");

  let lastId = Number(log.dataset.lastId) || 0;
  const shown = new Set(Array.from(log.children, (li) => Number(li.dataset.id)));
  let stopped = false;
  let inFlight = false;
  let pollAgain = false;
  let timer = null;
  let backoff = POLL_MS;

  function formatTime(iso) {
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function localizeTime(el) {
    const iso = el.getAttribute("datetime");
    el.textContent = formatTime(iso);
    el.title = new Date(iso).toLocaleString();
  }

  function isAtBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function renderMessage(message) {
    const li = document.createElement("li");
    li.className = "message";
    li.dataset.id = String(message.id);
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = message.author;
    const time = document.createElement("time");
    time.setAttribute("datetime", message.sent_at);
    localizeTime(time);
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;
    li.append(author, " ", time, text);
    return li;
  }

  function append(messages) {
    const stick = isAtBottom();
    for (const message of messages) {
      if (shown.has(message.id)) continue;
      shown.add(message.id);
      log.appendChild(renderMessage(message));
      lastId = Math.max(lastId, message.id);
    }
    if (shown.size > 0) emptyLog.hidden = true;
    if (stick) scrollToBottom();
  }

  function setStatus(text) {
    statusLine.textContent = text || "";
    statusLine.hidden = !text;
  }

  // Ends the page's life in this room: says why, then goes where the user belongs now.
  function leaveFor(location, text) {
    stopped = true;
    clearTimeout(timer);
    setStatus(text);
    form.querySelectorAll("textarea, button").forEach((el) => { el.disabled = true; });
    setTimeout(() => window.location.assign(location), 1500);
  }

  async function errorOf(response) {
    try {
      const body = await response.json();
      return { code: body.error, message: body.message };
    } catch (_) {
      return { code: "unknown", message: "The server answered " + response.status + "." };
    }
  }

  // Handles the answers after which this page cannot go on. True if it handled one.
  function handleFatal(response, error) {
    if (response.status === 401) {
      stopped = true;
      window.location.assign("/login");
      return true;
    }
    if (response.status === 410) {
      leaveFor("/lobby?notice=deleted", "This room was deleted. Taking you back to the lobby…");
      return true;
    }
    if (response.status === 403 && error.code === "not_in_room") {
      leaveFor("/lobby?notice=moved",
        "You left this room or entered another one in another tab or window. " +
        "Taking you to the lobby…");
      return true;
    }
    if (response.status === 403 && error.code === "csrf") {
      // The session changed under this page (a login in another tab): start afresh.
      leaveFor(window.location.pathname, "Your session changed. Reloading…");
      return true;
    }
    if (response.status === 404) {
      leaveFor("/lobby", "This room does not exist. Taking you to the lobby…");
      return true;
    }
    return false;
  }

  function schedule(delay) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  async function poll() {
    if (stopped) return;
    if (inFlight) {
      pollAgain = true;
      return;
    }
    inFlight = true;
    let delay = POLL_MS;
    try {
      const response = await fetch(
        "/api/rooms/" + roomId + "/messages?after=" + lastId,
        { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const body = await response.json();
        append(body.messages);
        setStatus(null);
        backoff = POLL_MS;
        if (body.messages.length >= PAGE_LIMIT) delay = 0; // more are waiting
      } else if (!handleFatal(response, await errorOf(response))) {
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        delay = backoff;
        setStatus("The server is having trouble. Retrying…");
      }
    } catch (_) {
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      delay = backoff;
      setStatus("Connection lost. Reconnecting…");
    } finally {
      inFlight = false;
    }
    if (pollAgain) {
      pollAgain = false;
      delay = 0;
    }
    schedule(delay);
  }

  async function send(event) {
    event.preventDefault();
    const text = textBox.value.trim();
    if (!text || sendButton.disabled) return;
    sendButton.disabled = true;
    sendError.hidden = true;
    try {
      const response = await fetch("/api/rooms/" + roomId + "/messages", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrfToken,
        },
        body: JSON.stringify({ text: text }),
      });
      if (response.status === 201) {
        // Keep anything typed while the message was on its way.
        if (textBox.value.trim() === text) textBox.value = "";
        // The message reaches the log by the same ordered path as everyone else's, at once
        // unless the poller is backing off from errors.
        if (backoff === POLL_MS) schedule(0);
      } else {
        const error = await errorOf(response);
        if (!handleFatal(response, error)) {
          sendError.textContent = "Not sent: " + error.message;
          sendError.hidden = false;
        }
      }
    } catch (_) {
      sendError.textContent = "Not sent: the server cannot be reached. Your text is kept; try again.";
      sendError.hidden = false;
    } finally {
      if (!stopped) sendButton.disabled = false;
      textBox.focus();
    }
  }

  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      form.requestSubmit();
      event.preventDefault();
    }
  });
  form.addEventListener("submit", send);

  log.querySelectorAll("time[datetime]").forEach(localizeTime);
  scrollToBottom();
  schedule(POLL_MS);
})();
