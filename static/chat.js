// The room page's live log. It polls /api/rooms/{id}/messages?after=<last id shown> one second
// after each answer (never two polls in flight) and appends what comes back in the server's
// order. A room's entries are numbered 1, 2, 3, ... with no holes, so an answer that skips a
// number is a fault: the page keeps what it has and asks again from its last number. The same answer says who is present and who is typing; while the user types, the poll
// says so (typing=1), so typing costs no request of its own. Every entry is built with
// textContent, never innerHTML.
(function () {
  "use strict";

  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;
  const PAGE_LIMIT = 500;
  const OLDER_PAGE = 100;
  const TYPING_MS = 3000;
  const GAPS_BEFORE_RELOAD = 5;

  const log = document.getElementById("log");
  if (!log) return;

  const roomId = log.dataset.roomId;
  const isCreator = log.dataset.creator === "true";
  const me = (document.querySelector(".username") || {}).textContent;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const statusLine = document.getElementById("status");
  const emptyLog = document.getElementById("empty-log");
  const presenceLine = document.getElementById("presence");
  const typingLine = document.getElementById("typing");
  const olderButton = document.getElementById("load-older");
  const form = document.getElementById("send");
  const textBox = document.getElementById("text");
  const sendButton = document.getElementById("send-button");
  const sendError = document.getElementById("send-error");

  let lastId = Number(log.dataset.lastId) || 0;
  let firstId = Number(log.dataset.firstId) || 0;
  const shown = new Set(Array.from(log.querySelectorAll("[data-id]"), (li) => Number(li.dataset.id)));
  let stopped = false;
  let inFlight = false;
  let pollAgain = false;
  let timer = null;
  let backoff = POLL_MS;
  let lastTyped = 0;
  let gaps = 0; // answers in a row that skipped a number

  function formatTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function timeOf(entry) {
    const time = document.createElement("time");
    time.setAttribute("datetime", entry.sent_at);
    localizeTime(time);
    return time;
  }

  function deleteButton(id) {
    const button = element("button", "delete-message link-button", "Delete");
    button.type = "button";
    button.dataset.id = String(id);
    return button;
  }

  // One line of the log for an entry, or null for entries that only change another line.
  function renderEntry(entry) {
    if (entry.kind === "deleted") return null;
    const li = document.createElement("li");
    li.dataset.id = String(entry.id);
    li.dataset.kind = entry.kind;
    if (entry.kind === "message") {
      li.className = "message" + (entry.deleted ? " deleted" : "");
      li.dataset.author = entry.author;
      li.append(element("span", "author", entry.author), " ", timeOf(entry));
      if (!entry.deleted && (entry.author === me || isCreator)) {
        li.append(" ", deleteButton(entry.id));
      }
      li.append(element("p", "text", entry.deleted ? "message deleted" : entry.text));
    } else {
      li.className = "event";
      const verb = entry.kind === "joined" ? " joined " : " left ";
      li.append(element("span", "author", entry.author), verb, timeOf(entry));
    }
    return li;
  }

  function markDeleted(id) {
    const li = log.querySelector('li[data-id="' + id + '"]');
    if (!li) return;
    li.classList.add("deleted");
    li.querySelector(".text").textContent = "message deleted";
    const button = li.querySelector(".delete-message");
    if (button) button.remove();
  }

  // Appends the entries that follow the last one shown; false if the answer skipped a number.
  function append(entries) {
    const stick = isAtBottom();
    let whole = true;
    for (const entry of entries) {
      if (entry.id <= lastId) continue;
      if (entry.id !== lastId + 1) {
        whole = false;
        break;
      }
      lastId = entry.id;
      if (shown.has(entry.id)) continue;
      shown.add(entry.id);
      if (entry.kind === "deleted") {
        markDeleted(entry.target);
        continue;
      }
      log.appendChild(renderEntry(entry));
      if (!firstId) firstId = entry.id;
    }
    if (log.querySelector("[data-id]")) emptyLog.hidden = true;
    if (stick) scrollToBottom();
    return whole;
  }

  function showPeople(present, typing) {
    presenceLine.replaceChildren();
    present.forEach((name, i) => {
      if (i > 0) presenceLine.append(", ");
      const person = element("span", "person", name);
      if (name !== me) {
        const button = element("button", "direct link-button", "message");
        button.type = "button";
        button.dataset.user = name;
        button.title = "Start a private conversation with " + name;
        person.append(" ", button);
      }
      presenceLine.append(person);
    });
    const others = typing.filter((name) => name !== me);
    typingLine.textContent = others.length === 0 ? ""
      : others.length === 1 ? others[0] + " is typing…"
      : others.join(", ") + " are typing…";
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
      leaveFor("/lobby?notice=deleted&room=" + roomId, "This room was deleted. Taking you back to the lobby…");
      return true;
    }
    if (response.status === 403 && error.code === "not_in_room") {
      leaveFor("/lobby?notice=moved",
        "You left this room or entered another one in another tab or window. " +
        "Taking you to the lobby…");
      return true;
    }
    if (response.status === 409 && error.code === "cursor_ahead") {
      // This page's numbers are not the room's (it was loaded before an upgrade).
      leaveFor(window.location.pathname, "Reloading the room…");
      return true;
    }
    if (response.status === 403 && error.code === "csrf") {
      // The session changed under this page (a login in another tab): start afresh.
      leaveFor(window.location.pathname, "Your session changed. Reloading…");
      return true;
    }
    if (response.status === 404 && error.code === "not_found" && !response.url.includes("/messages/")) {
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

  function isTyping() {
    return textBox.value.trim() !== "" && Date.now() - lastTyped < TYPING_MS;
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
      const url = "/api/rooms/" + roomId + "/messages?after=" + lastId +
        (isTyping() ? "&typing=1" : "");
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const body = await response.json();
        const whole = append(body.messages);
        showPeople(body.present, body.typing);
        setStatus(null);
        if (whole) {
          gaps = 0;
          backoff = POLL_MS;
          if (body.messages.length >= PAGE_LIMIT) delay = 0; // more are waiting
        } else if (++gaps >= GAPS_BEFORE_RELOAD) {
          leaveFor(window.location.pathname, "The room's log has a gap. Reloading…");
        } else {
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          delay = backoff / 4; // soon, from the last number shown
        }
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

  function pollSoon() {
    if (backoff === POLL_MS) schedule(0);
  }

  function jsonHeaders() {
    return { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken };
  }

  // Each message carries a name of its own (client_id), kept while it is retried: a retry
  // after a lost answer returns the message stored the first time, never a second copy.
  let pending = null; // { text, clientId }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function postOnce(message) {
    return fetch("/api/rooms/" + roomId + "/messages", {
      method: "POST",
      headers: jsonHeaders(),
      body: JSON.stringify({ text: message.text, client_id: message.clientId }),
    });
  }

  // Posts, retrying network failures with backoff (same client_id each time).
  async function postWithRetries(message) {
    let wait = 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await postOnce(message);
      } catch (error) {
        if (attempt >= 5 || stopped) throw error;
        setStatus("Sending… the connection dropped; retrying.");
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 8000);
      }
    }
  }

  async function send(event) {
    event.preventDefault();
    const text = textBox.value.trim();
    if (!text || sendButton.disabled) return;
    sendButton.disabled = true;
    sendError.hidden = true;
    if (!pending || pending.text !== text) pending = { text: text, clientId: newClientId() };
    try {
      const response = await postWithRetries(pending);
      if (response.status !== 201 && response.status >= 400 && response.status < 500) {
        pending = null; // refused for good: a new attempt is a new message
      }
      if (response.status === 201) {
        pending = null;
        setStatus(null);
        // Keep anything typed while the message was on its way.
        if (textBox.value.trim() === text) textBox.value = "";
        lastTyped = 0;
        // The message reaches the log by the same ordered path as everyone else's.
        pollSoon();
      } else {
        const error = await errorOf(response);
        if (!handleFatal(response, error)) showError("Not sent: " + error.message);
      }
    } catch (_) {
      showError("Not sent: the server cannot be reached. Your text is kept; try again.");
    } finally {
      if (!stopped) sendButton.disabled = false;
      textBox.focus();
    }
  }

  function showError(text) {
    sendError.textContent = text;
    sendError.hidden = false;
  }

  async function deleteMessage(id) {
    if (!window.confirm("Delete this message for everyone?")) return;
    try {
      const response = await fetch("/api/rooms/" + roomId + "/messages/" + id, {
        method: "DELETE",
        headers: jsonHeaders(),
      });
      if (response.status === 204) {
        pollSoon();
      } else {
        const error = await errorOf(response);
        if (!handleFatal(response, error)) showError("Not deleted: " + error.message);
      }
    } catch (_) {
      showError("Not deleted: the server cannot be reached.");
    }
  }

  function openDirect(username) {
    const direct = document.createElement("form");
    direct.method = "post";
    direct.action = "/direct";
    for (const [name, value] of [["csrf_token", csrfToken], ["username", username]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      direct.append(input);
    }
    document.body.append(direct);
    direct.submit();
  }

  async function loadOlder() {
    olderButton.disabled = true;
    try {
      const response = await fetch("/api/rooms/" + roomId + "/messages?before=" + firstId,
        { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) {
        if (!handleFatal(response, await errorOf(response))) olderButton.disabled = false;
        return;
      }
      const body = await response.json();
      const fromBottom = log.scrollHeight - log.scrollTop;
      const lines = document.createDocumentFragment();
      for (const entry of body.messages) {
        firstId = Math.min(firstId, entry.id);
        if (shown.has(entry.id)) continue;
        shown.add(entry.id);
        const li = renderEntry(entry);
        if (li) lines.append(li);
      }
      log.prepend(lines);
      log.scrollTop = log.scrollHeight - fromBottom; // the reader's view stays where it was
      if (body.messages.length < OLDER_PAGE) olderButton.remove();
      else olderButton.disabled = false;
    } catch (_) {
      olderButton.disabled = false;
      showError("Could not load older messages: the server cannot be reached.");
    }
  }

  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      form.requestSubmit();
      event.preventDefault();
    }
  });
  textBox.addEventListener("input", () => { lastTyped = Date.now(); });
  form.addEventListener("submit", send);
  log.addEventListener("click", (event) => {
    const button = event.target.closest(".delete-message");
    if (button) deleteMessage(button.dataset.id);
  });
  presenceLine.addEventListener("click", (event) => {
    const button = event.target.closest(".direct");
    if (button) openDirect(button.dataset.user);
  });
  if (olderButton) olderButton.addEventListener("click", loadOlder);

  log.querySelectorAll("time[datetime]").forEach(localizeTime);
  const divider = document.getElementById("new-divider");
  if (divider) log.scrollTop = divider.offsetTop - log.offsetTop;
  else scrollToBottom();
  poll();
})();
