// The room page's live log. It polls /api/rooms/{id}/messages?after=<last id shown> one second
// after each answer (never two polls in flight) and appends what comes back in the server's
// order. A room's entries are numbered 1, 2, 3, ... with no holes, so an answer that skips a
// number is a fault: the page keeps what it has and asks again from its last number. The same
// answer says who is present and who is typing; while the user types, the poll says so
// (typing=1), so typing costs no request of its own. Every entry is built with textContent,
// never innerHTML.
//
// The log reads as a conversation: one `arrange` decides, for the first render, for live
// entries and for older pages alike, which messages continue their author's group and where
// a day begins, in the reader's time zone and locale.
(function () {
  "use strict";

  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;
  const PAGE_LIMIT = 500;
  const OLDER_PAGE = 100;
  const TYPING_MS = 3000;
  const GAPS_BEFORE_RELOAD = 5;
  const GROUP_MS = 5 * 60 * 1000;
  const MAX_CHARS = 2000;
  const COUNT_FROM = 1800; // the counter shows from here on, before the limit comes as a surprise
  const PINNED_PX = 40;

  const log = document.getElementById("log");
  if (!log) return;
  const list = log.querySelector("ol");

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
  const charCount = document.getElementById("char-count");
  const deleteForm = document.getElementById("delete-form");
  const deleteDialog = document.getElementById("delete-dialog");

  let lastId = Number(log.dataset.lastId) || 0;
  let firstId = Number(log.dataset.firstId) || 0;
  const shown = new Set(Array.from(list.querySelectorAll("[data-id]"), (li) => Number(li.dataset.id)));
  let stopped = false;
  let inFlight = false;
  let pollAgain = false;
  let timer = null;
  let backoff = POLL_MS;
  let lastTyped = 0;
  let gaps = 0; // answers in a row that skipped a number
  // Messages not deleted, for the delete-room question: the page's count, kept up to date.
  let messageCount = deleteForm ? Number(deleteForm.dataset.messages) || 0 : 0;
  // The reader is at the bottom of the log: decided by their scrolling, never by the layout of
  // the moment (a keyboard opening on a phone shrinks the log without anyone scrolling).
  let pinned = true;

  // ---- times and days, in the reader's locale and time zone ----

  function formatTime(date) {
    return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function fullDate(date) {
    return date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
  }

  function dateOf(li) {
    const time = li.querySelector("time[datetime]");
    return time ? new Date(time.getAttribute("datetime")) : null;
  }

  // The local calendar day, as a key that compares equal for the same day.
  function dayKey(date) {
    return date.getFullYear() + "-" + (date.getMonth() + 1) + "-" + date.getDate();
  }

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(date) === dayKey(today)) return "Today";
    if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
    const options = { weekday: "long", month: "long", day: "numeric" };
    if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
    return date.toLocaleDateString([], options);
  }

  function localizeTime(el) {
    const date = new Date(el.getAttribute("datetime"));
    const text = formatTime(date);
    if (el.textContent !== text) el.textContent = text;
    const title = fullDate(date);
    if (el.title !== title) el.title = title;
  }

  // ---- the log's arrangement: groups and day separators ----

  function isEntry(el) {
    return el.dataset.id !== undefined;
  }

  function setClass(el, name, on) {
    if (el.classList.contains(name) !== on) el.classList.toggle(name, on);
  }

  function daySeparator(date) {
    const li = document.createElement("li");
    li.className = "day";
    li.dataset.day = dayKey(date);
    li.append(element("span", "day-label", dayLabel(date)));
    return li;
  }

  // Puts `li` right: a day separator before it when it starts a day, and the "continued"
  // look when it follows a message by the same author within five minutes, on the same day,
  // with nothing between (a join or leave line, or the "New messages" line, breaks a group).
  // Only what is wrong is changed, so running it again over a settled log touches nothing.
  function arrange(li) {
    let separator = null;
    let broken = false;
    let prev = li.previousElementSibling;
    while (prev && !isEntry(prev)) {
      if (prev.classList.contains("day")) separator = prev;
      else broken = true; // the "New messages" line
      prev = prev.previousElementSibling;
    }
    const date = dateOf(li);
    const prevDate = prev ? dateOf(prev) : null;
    const newDay = date && (!prevDate || dayKey(prevDate) !== dayKey(date));
    if (newDay) {
      const key = dayKey(date);
      if (!separator) {
        li.before(daySeparator(date));
      } else if (separator.dataset.day !== key) {
        separator.replaceWith(daySeparator(date));
      }
    } else if (separator) {
      separator.remove();
    }
    const continued = !broken && !newDay && li.dataset.kind === "message" &&
      prev && prev.dataset.kind === "message" && prev.dataset.author === li.dataset.author &&
      date - prevDate >= 0 && date - prevDate < GROUP_MS;
    setClass(li, "continued", Boolean(continued));
  }

  // "Today" becomes "Yesterday" at midnight: the labels follow the reader's calendar.
  let labelledOn = dayKey(new Date());

  function relabelDays() {
    const today = dayKey(new Date());
    if (today === labelledOn) return;
    labelledOn = today;
    list.querySelectorAll("li.day").forEach((separator) => {
      const next = firstEntryAfter(separator);
      const date = next && dateOf(next);
      const label = separator.querySelector(".day-label");
      if (date && label && label.textContent !== dayLabel(date)) label.textContent = dayLabel(date);
    });
  }

  function arrangeAll() {
    list.querySelectorAll("li[data-id]").forEach(arrange);
  }

  function firstEntryAfter(el) {
    let next = el.nextElementSibling;
    while (next && !isEntry(next)) next = next.nextElementSibling;
    return next;
  }

  // ---- building entries ----

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
    const button = element("button", "delete-message", "Delete");
    button.type = "button";
    button.tabIndex = -1;
    button.dataset.id = String(id);
    return button;
  }

  // One line of the log for an entry, or null for entries that only change another line.
  // The same shape as the page's first render (templates/room.html).
  function renderEntry(entry) {
    if (entry.kind === "deleted") return null;
    const li = document.createElement("li");
    li.dataset.id = String(entry.id);
    li.dataset.kind = entry.kind;
    li.tabIndex = -1;
    if (entry.kind === "message") {
      li.className = "message" + (entry.deleted ? " deleted" : "");
      li.dataset.author = entry.author;
      const head = element("div", "head");
      head.append(element("span", "author", entry.author), " ", timeOf(entry));
      li.append(head, element("p", "text", entry.deleted ? "message deleted" : entry.text));
      if (!entry.deleted && (entry.author === me || isCreator)) {
        const actions = element("div", "actions");
        actions.append(deleteButton(entry.id));
        li.append(actions);
      }
    } else {
      li.className = "event";
      const verb = entry.kind === "joined" ? " joined " : " left ";
      li.append(element("span", "author", entry.author), verb, timeOf(entry));
    }
    return li;
  }

  function markDeleted(id) {
    const li = list.querySelector('li[data-id="' + id + '"]');
    if (!li) return;
    li.classList.add("deleted");
    li.querySelector(".text").textContent = "message deleted";
    const actions = li.querySelector(".actions");
    if (actions) {
      if (actions.contains(document.activeElement)) li.focus({ preventScroll: true });
      actions.remove();
    }
  }

  // ---- staying at the bottom ----

  function isAtBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < PINNED_PX;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  // Whatever changed the log's size (a keyboard, a rotation, a longer message box), a reader
  // at the bottom stays there.
  function keepPinned() {
    if (pinned) scrollToBottom();
  }

  log.addEventListener("scroll", () => { pinned = isAtBottom(); }, { passive: true });
  if (window.ResizeObserver) {
    const resized = new ResizeObserver(keepPinned);
    resized.observe(log);
    resized.observe(list);
  }
  if (window.visualViewport) window.visualViewport.addEventListener("resize", keepPinned);
  window.addEventListener("resize", keepPinned);

  function updateEmpty() {
    const empty = !olderButton?.isConnected && !list.querySelector('li[data-kind="message"]');
    if (emptyLog.hidden !== !empty) emptyLog.hidden = !empty;
  }

  // Appends the entries that follow the last one shown; false if the answer skipped a number.
  function append(entries) {
    relabelDays();
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
        messageCount = Math.max(0, messageCount - 1);
        markDeleted(entry.target);
        continue;
      }
      if (entry.kind === "message") messageCount++;
      const li = renderEntry(entry);
      list.appendChild(li);
      arrange(li);
      if (!firstId) firstId = entry.id;
    }
    if (!list.querySelector('li[tabindex="0"]')) rove(lastEntry(), false);
    updateEmpty();
    keepPinned();
    return whole;
  }

  // ---- presence and typing: the DOM changes only when what they show changes ----

  let presenceShown = null;
  let typingShown = "";

  function showPeople(present, typing) {
    const key = JSON.stringify(present);
    if (key !== presenceShown) {
      presenceShown = key;
      const people = document.createDocumentFragment();
      present.forEach((name, i) => {
        if (i > 0) people.append(", ");
        const person = element("span", "person", name);
        if (name !== me) {
          const button = element("button", "direct link-button", "Message");
          button.type = "button";
          button.dataset.user = name;
          button.title = "Start a private conversation with " + name;
          button.append(element("span", "visually-hidden", " " + name));
          person.append(" ", button);
        }
        people.append(person);
      });
      presenceLine.replaceChildren(people);
    }
    const others = typing.filter((name) => name !== me);
    const text = others.length === 0 ? ""
      : others.length === 1 ? others[0] + " is typing…"
      : others.join(", ") + " are typing…";
    if (text !== typingShown) {
      typingShown = text;
      typingLine.textContent = text;
    }
  }

  // ---- one tab stop for the whole log ----
  // The current entry has tabindex 0, every other -1, and the actions inside entries are -1:
  // Tab enters the log at the current entry and leaves it at once; Up and Down move between
  // entries (Home and End to the ends), Right or Enter moves into the entry's actions, Left or
  // Escape back to the entry.

  function entryLines() {
    return Array.from(list.querySelectorAll("li[data-id]"));
  }

  function lastEntry() {
    const all = list.querySelectorAll("li[data-id]");
    return all.length ? all[all.length - 1] : null;
  }

  function rove(li, focus) {
    if (!li) return;
    const current = list.querySelector('li[tabindex="0"]');
    if (current && current !== li) current.tabIndex = -1;
    if (li.tabIndex !== 0) li.tabIndex = 0;
    if (focus) li.focus();
  }

  list.addEventListener("focusin", (event) => {
    const li = event.target.closest("li[data-id]");
    if (li) rove(li, false);
  });

  list.addEventListener("keydown", (event) => {
    const li = event.target.closest("li[data-id]");
    if (!li) return;
    const onEntry = event.target === li;
    const all = entryLines();
    const at = all.indexOf(li);
    let target = null;
    switch (event.key) {
      case "ArrowUp": target = all[Math.max(0, at - 1)]; break;
      case "ArrowDown": target = all[Math.min(all.length - 1, at + 1)]; break;
      case "Home": target = all[0]; break;
      case "End": target = all[all.length - 1]; break;
      case "ArrowRight":
      case "Enter": {
        if (!onEntry) return;
        const action = li.querySelector(".actions button");
        if (action) action.focus();
        event.preventDefault();
        return;
      }
      case "ArrowLeft":
      case "Escape":
        if (onEntry) return;
        li.focus();
        event.preventDefault();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (target) {
      rove(target, true);
      if (target === all[all.length - 1]) pinned = true;
    }
  });

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
        // The sidebar (shell.js) refreshes when the lobby's version moves.
        document.dispatchEvent(new CustomEvent("chatroom:lobby-version", { detail: body.lobby }));
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
        composerChanged();
        lastTyped = 0;
        // Your own message comes into view, even if you had scrolled up to read.
        pinned = true;
        scrollToBottom();
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
      const added = [];
      for (const entry of body.messages) {
        firstId = Math.min(firstId, entry.id);
        if (shown.has(entry.id)) continue;
        shown.add(entry.id);
        const li = renderEntry(entry);
        if (li) {
          lines.append(li);
          added.push(li);
        }
      }
      const oldFirst = list.firstElementChild;
      list.prepend(lines);
      // The same arrangement as everywhere: the new lines, then the first old one, whose
      // neighbour above has changed.
      added.forEach(arrange);
      if (oldFirst) {
        const next = isEntry(oldFirst) ? oldFirst : firstEntryAfter(oldFirst);
        if (next) arrange(next);
      }
      log.scrollTop = log.scrollHeight - fromBottom; // the reader's view stays where it was
      if (body.messages.length < OLDER_PAGE) {
        if (document.activeElement === olderButton) rove(list.querySelector("li[data-id]"), true);
        olderButton.remove();
      } else {
        olderButton.disabled = false;
      }
      updateEmpty();
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
  // ---- the message box: grows with its text, and says when the limit is near ----

  const grows = window.CSS && CSS.supports("field-sizing", "content");
  let countShown = "";

  function composerChanged() {
    if (!grows) {
      // Browsers without `field-sizing`: the box's own height follows its text (CSS caps it).
      textBox.style.height = "auto";
      textBox.style.height = textBox.scrollHeight + 2 + "px";
    }
    const length = textBox.value.length;
    const text = length < COUNT_FROM ? ""
      : length.toLocaleString() + " / " + MAX_CHARS.toLocaleString();
    if (text !== countShown) {
      countShown = text;
      charCount.textContent = text;
      charCount.hidden = !text;
      setClass(charCount, "full", length >= MAX_CHARS);
    }
  }

  textBox.addEventListener("input", () => {
    lastTyped = Date.now();
    composerChanged();
  });
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

  // ---- deleting the room: asked first, naming the room and what goes with it ----

  function deleteQuestion() {
    const name = deleteForm.dataset.roomName;
    const what = messageCount === 0 ? "" : messageCount === 1 ? " and its 1 message"
      : " and its " + messageCount.toLocaleString() + " messages";
    return "Delete “" + name + "”" + what + " for everyone? This cannot be undone.";
  }

  if (deleteForm && deleteDialog && typeof deleteDialog.showModal === "function") {
    deleteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      document.getElementById("delete-question").textContent = deleteQuestion();
      deleteDialog.returnValue = "";
      deleteDialog.showModal();
      document.getElementById("delete-cancel").focus();
    });
    deleteDialog.addEventListener("close", () => {
      const more = document.getElementById("more");
      if (deleteDialog.returnValue === "delete") {
        stopped = true;
        clearTimeout(timer);
        deleteForm.submit(); // the form's own POST, as without the dialog
      } else if (more) {
        more.open = false;
        more.querySelector("summary").focus();
      }
    });
  }

  // ---- the first render ----

  log.querySelectorAll("time[datetime]").forEach(localizeTime);
  arrangeAll();
  rove(lastEntry(), false);
  composerChanged();
  const divider = document.getElementById("new-divider");
  if (divider) {
    log.scrollTop += divider.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    pinned = isAtBottom();
  } else {
    scrollToBottom();
  }
  // Entering a room is for writing in it.
  textBox.focus({ preventScroll: true });
  poll();
})();
