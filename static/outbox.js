// The room page's outbox: every message typed goes here first, and leaves only once the server
// has stored it (or the user discards it), so nothing typed is lost to a network outage, a
// server restart, a 503 or a reload. The messages live in localStorage under
// `chatroom:outbox:<username>:<room id>` (another user in this browser never sees or sends
// them, and logging out leaves them where they are), and show greyed at the end of the log
// with "sending…" until the poll brings the stored message.
//
// They are sent in order, one at a time. Each keeps its client_id across attempts, reloads and
// tabs, so a retry after a lost answer gets back the message stored the first time, never a
// second copy. Failures are retried with backoff (1 s doubling to 15 s, or what Retry-After
// says); after a minute a message offers Retry and Discard. A refusal that retrying cannot fix
// (bad text, not allowed, gone) stops that message and says why; its text goes back into the
// message box when that is empty, else it stays in the outbox marked "not sent", with Edit and
// Discard. Two tabs of one room share the outbox through the storage event.
//
// Text is set with textContent only: a message waiting here is shown as typed.

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;
const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;
const STUCK_MS = 60 * 1000; // then Retry and Discard are offered
const ATTEMPT_TIMEOUT_MS = 20000; // a server that accepts and never answers is a failure too
const SHOWN_WITHIN_MS = 30000; // a stored message's greyed copy waits this long for the poll

// Answers that another attempt may turn into a success.
function retryable(status) {
  return status >= 500 || status === 408 || status === 425 || status === 429 || status < 400;
}

function newClientId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

// Retry-After in milliseconds (seconds or an HTTP date), or 0 when absent or unreadable.
function retryAfterOf(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return 0;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : 0;
}

function sameText(a, b) {
  const squeeze = (s) => s.replace(/\s+/g, " ").trim();
  return squeeze(a) === squeeze(b);
}

// The outbox of one room for one user. `page` gives what it needs of the room page:
//   log, list       the log's scroller and its list of entries (li[data-id])
//   roomId, me      the room and the user
//   headers()       the JSON headers with the CSRF token
//   handleFatal(response, error)  true when the page cannot go on (it then stops or leaves)
//   isStopped()     the page has stopped (the outbox sends nothing more)
//   errorOf(response)  {code, message} of an error answer
//   showError(text)  says why a message was not sent (#send-error)
//   putBack(text, always)  puts a refused message's text into the message box when it is
//                   empty (or, `always`, after what is there); true if it did
//   textBox         where focus goes when the line holding it goes
//   changed()       the outbox's lines changed (the log may keep its reader at the bottom)
//   delivered(entry)  the server stored a message (entry: its answer, or null)
export function openOutbox(page) {
  const key = "chatroom:outbox:" + page.me + ":" + page.roomId;
  const lines = document.createElement("ol");
  lines.className = "outbox";
  lines.setAttribute("aria-label", "Not sent yet");
  lines.hidden = true;
  page.log.append(lines);

  // In memory only: copies of messages the server has stored, waiting for the poll to show
  // them (clientId -> {id, text, until}); and the head's copy hidden because the poll brought
  // a message of ours with its text before its answer came.
  const stored = new Map();
  const seenByText = new Set();
  let memory = []; // the outbox when localStorage refuses (private mode, full)
  let inFlight = null; // clientId of the message being posted
  let timer = null;
  let stuckTimer = null;
  let retryMs = FIRST_RETRY_MS;
  let lastFailureWasNetwork = false;
  let halted = false; // the page cannot send now (logged out, session changed)

  // ---- the stored list: read and written whole, so that two tabs stay consistent ----

  function load() {
    try {
      const raw = window.localStorage.getItem(key);
      const items = raw ? JSON.parse(raw) : [];
      return Array.isArray(items) ? items.filter((i) => i && typeof i.text === "string" && i.clientId) : [];
    } catch (_) {
      return memory.slice();
    }
  }

  function save(items) {
    memory = items.slice();
    try {
      if (items.length) window.localStorage.setItem(key, JSON.stringify(items));
      else window.localStorage.removeItem(key);
    } catch (_) {
      // Kept in memory: the page still sends them, but a reload would lose them.
    }
  }

  function update(clientId, change) {
    const items = load();
    const item = items.find((i) => i.clientId === clientId);
    if (!item) return null;
    change(item);
    save(items);
    return item;
  }

  function remove(clientId) {
    save(load().filter((i) => i.clientId !== clientId));
  }

  // ---- the greyed lines at the end of the log; only what changed is touched ----

  function button(className, label, clientId) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    b.dataset.clientId = clientId;
    return b;
  }

  function lineOf(clientId) {
    return Array.from(lines.children).find((li) => li.dataset.clientId === clientId) || null;
  }

  function newLine(clientId, text) {
    const li = document.createElement("li");
    li.className = "outbox-message";
    li.dataset.clientId = clientId;
    const head = document.createElement("div");
    head.className = "head";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = page.me;
    const status = document.createElement("span");
    status.className = "outbox-status";
    head.append(author, " ", status);
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = text;
    const actions = document.createElement("div");
    actions.className = "outbox-actions";
    actions.hidden = true;
    li.append(head, body, actions);
    return li;
  }

  // What a line shows: "sending…"; Retry and Discard once stuck; "Not sent: why" with Edit and
  // Discard once refused; "sent" while the poll has yet to bring the stored message.
  function stateOf(item, now) {
    if (item.failed) return { kind: "failed", status: "Not sent: " + item.failed };
    if (now - item.queuedAt >= STUCK_MS) return { kind: "stuck", status: "still sending…" };
    return { kind: "sending", status: "sending…" };
  }

  function setActions(li, kind) {
    const actions = li.querySelector(".outbox-actions");
    if (actions.dataset.kind === kind) return;
    const hadFocus = actions.contains(document.activeElement);
    actions.dataset.kind = kind;
    const id = li.dataset.clientId;
    if (kind === "stuck") actions.replaceChildren(button("outbox-retry", "Retry", id), button("outbox-discard", "Discard", id));
    else if (kind === "failed") actions.replaceChildren(button("outbox-edit", "Edit", id), button("outbox-discard", "Discard", id));
    else actions.replaceChildren();
    actions.hidden = !actions.firstChild;
    if (hadFocus) (actions.querySelector("button") || page.textBox || document.body).focus();
  }

  function render() {
    const now = Date.now();
    const items = load();
    const want = new Map();
    for (const item of items) {
      if (!stored.has(item.clientId) && !seenByText.has(item.clientId)) want.set(item.clientId, item);
    }
    for (const [clientId, copy] of stored) {
      if (!want.has(clientId)) want.set(clientId, { clientId, text: copy.text, sent: true });
    }
    let changed = false;
    for (const li of Array.from(lines.children)) {
      if (!want.has(li.dataset.clientId)) {
        if (li.contains(document.activeElement)) moveFocusFrom(li);
        li.remove();
        changed = true;
      }
    }
    // In the outbox's order, the stored copies (which went first) before the waiting ones.
    const order = Array.from(want.values()).sort((a, b) => Number(Boolean(b.sent)) - Number(Boolean(a.sent)));
    let previous = null;
    for (const item of order) {
      let li = lineOf(item.clientId);
      if (!li) {
        li = newLine(item.clientId, item.text);
        changed = true;
      }
      const where = previous ? previous.nextElementSibling : lines.firstElementChild;
      if (where !== li) lines.insertBefore(li, where);
      previous = li;
      const state = item.sent ? { kind: "sent", status: "sending…" } : stateOf(item, now);
      if (li.dataset.state !== state.kind) {
        li.dataset.state = state.kind;
        li.classList.toggle("failed", state.kind === "failed");
      }
      const status = li.querySelector(".outbox-status");
      if (status.textContent !== state.status) status.textContent = state.status;
      setActions(li, state.kind);
    }
    if (lines.hidden !== !lines.firstChild) lines.hidden = !lines.firstChild;
    scheduleStuck(items, now);
    if (changed) page.changed();
  }

  function moveFocusFrom(li) {
    const next = li.nextElementSibling || li.previousElementSibling;
    const target = next && next.querySelector(".outbox-actions button");
    (target || page.textBox || document.body).focus();
  }

  // Re-renders when the oldest waiting message turns a minute old.
  function scheduleStuck(items, now) {
    clearTimeout(stuckTimer);
    const due = items
      .filter((i) => !i.failed && now - i.queuedAt < STUCK_MS)
      .map((i) => i.queuedAt + STUCK_MS - now);
    if (due.length) stuckTimer = setTimeout(render, Math.min(...due) + 50);
  }

  // ---- when the poll brings our message, its greyed copy goes ----

  function isShown(id) {
    return Boolean(page.list.querySelector('li[data-id="' + id + '"]'));
  }

  function forgetShown() {
    let any = false;
    const now = Date.now();
    for (const [clientId, copy] of stored) {
      if (isShown(copy.id) || now > copy.until) {
        stored.delete(clientId);
        any = true;
      }
    }
    return any;
  }

  // A message of ours the poll added: the copy of the message posted (or being posted) with
  // the same text hides at once; its answer's id settles it.
  function arrived(li) {
    if (li.dataset.kind !== "message" || li.dataset.author !== page.me) return false;
    // A file's caption is not a message of the outbox's (send.js follows those).
    if (li.querySelector(".attachment")) return false;
    const head = load().find((i) => !i.failed);
    if (!head || !head.attempted || seenByText.has(head.clientId)) return false;
    const text = li.querySelector(".text");
    if (!text || !sameText(text.textContent, head.text)) return false;
    seenByText.add(head.clientId);
    return true;
  }

  new MutationObserver((records) => {
    let any = forgetShown();
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1 && node.dataset.id !== undefined && arrived(node)) any = true;
      }
    }
    if (any) render();
  }).observe(page.list, { childList: true });

  // ---- sending: the first message not refused, one attempt at a time ----

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(sendNext, delay);
  }

  function retryLater(wait) {
    const delay = Math.max(retryMs, wait || 0);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    schedule(delay);
  }

  async function sendNext() {
    if (halted || inFlight || page.isStopped()) return;
    const item = load().find((i) => !i.failed);
    if (!item) {
      retryMs = FIRST_RETRY_MS;
      return;
    }
    inFlight = item.clientId;
    if (!item.attempted) update(item.clientId, (i) => { i.attempted = true; });
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), ATTEMPT_TIMEOUT_MS);
    let response;
    try {
      const body = { text: item.text, client_id: item.clientId };
      if (item.replyTo) body.reply_to = item.replyTo;
      response = await fetch("/api/rooms/" + page.roomId + "/messages", {
        method: "POST",
        headers: page.headers(),
        body: JSON.stringify(body),
        signal: abort.signal,
      });
    } catch (_) {
      inFlight = null;
      lastFailureWasNetwork = true;
      retryLater(0);
      return;
    } finally {
      clearTimeout(timeout);
    }
    inFlight = null;
    lastFailureWasNetwork = false;
    if (response.ok) {
      await delivered(item, response);
    } else {
      await failed(item, response);
    }
  }

  async function delivered(item, response) {
    let entry = null;
    try {
      entry = (await response.json()).message;
    } catch (_) {
      // Stored all the same: the poll brings it.
    }
    remove(item.clientId);
    seenByText.delete(item.clientId);
    if (entry && typeof entry.id === "number" && !isShown(entry.id)) {
      stored.set(item.clientId, { id: entry.id, text: item.text, until: Date.now() + SHOWN_WITHIN_MS });
      setTimeout(() => { if (forgetShown()) render(); }, SHOWN_WITHIN_MS + 50);
    }
    retryMs = FIRST_RETRY_MS;
    render();
    page.delivered(entry);
    schedule(0);
  }

  async function failed(item, response) {
    if (retryable(response.status)) {
      retryLater(retryAfterOf(response));
      return;
    }
    const error = await page.errorOf(response);
    // Fixed by what the page does next (a login, a reload with the new session): kept as it
    // is, to be sent from the next page.
    if (response.status === 401 || (response.status === 403 && error.code === "csrf")) {
      halted = true;
      page.handleFatal(response, error);
      return;
    }
    const reason = error.message || "the server refused it (" + response.status + ").";
    // A reply to a message deleted meanwhile is refused, not the room.
    const roomGone = error.code !== "message_deleted" && (response.status === 404 || response.status === 410);
    const leaving = error.code !== "message_deleted" && page.handleFatal(response, error);
    if (leaving) halted = true;
    page.showError("Not sent: " + reason);
    // A page that leaves takes the box with it: the message waits, marked, for the next visit
    // (unless the room is gone, when no visit will come).
    if ((!leaving || roomGone) && (page.putBack(item.text) || roomGone)) {
      remove(item.clientId);
    } else {
      update(item.clientId, (i) => { i.failed = reason; });
    }
    seenByText.delete(item.clientId);
    render();
    schedule(0);
  }

  // ---- the user's part ----

  lines.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    const clientId = target.dataset.clientId;
    if (target.classList.contains("outbox-discard")) {
      // The attempt under way, if any, is abandoned; any other message is simply dropped.
      remove(clientId);
      seenByText.delete(clientId);
      render();
      if (inFlight !== clientId) schedule(0);
    } else if (target.classList.contains("outbox-retry")) {
      retryMs = FIRST_RETRY_MS;
      halted = false;
      update(clientId, (i) => { i.queuedAt = Date.now(); });
      render();
      if (!inFlight) schedule(0);
    } else if (target.classList.contains("outbox-edit")) {
      const item = load().find((i) => i.clientId === clientId);
      if (item && page.putBack(item.text, true)) {
        remove(clientId);
        render();
      }
    }
  });

  window.addEventListener("storage", (event) => {
    if (event.key !== key && event.key !== null) return;
    render();
    if (!inFlight) schedule(0);
  });
  window.addEventListener("online", () => {
    retryMs = FIRST_RETRY_MS;
    if (!inFlight) schedule(0);
  });
  // A poll that got through (shell.js's signal) after a network failure: the server is back.
  document.addEventListener("chatroom:lobby-version", () => {
    if (lastFailureWasNetwork && !inFlight) {
      lastFailureWasNetwork = false;
      retryMs = FIRST_RETRY_MS;
      schedule(0);
    }
  });

  render();
  schedule(0);

  return {
    // Takes a message ({text, replyTo}) into the outbox; it is on its way from here.
    add(message) {
      const items = load();
      items.push({
        clientId: newClientId(),
        text: message.text,
        replyTo: message.replyTo || null,
        queuedAt: Date.now(),
      });
      save(items);
      render();
      if (!inFlight) {
        // Behind a message waiting for its retry, it waits its turn; else it goes now.
        if (items.filter((i) => !i.failed).length === 1) schedule(0);
      }
    },
  };
}
