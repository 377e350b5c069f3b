// The log's lines: building entries, applying the entries that change a message in place
// (edited, reacted, unreacted, deleted), arranging lines into author groups and days, keeping a
// reader at the bottom there, older pages, and one tab stop for the whole log. A message's
// parts are built by message-view.js (its body is the server's sanitized html; all else is
// text).
//
// One `arrange` decides, for the first render, for live entries and for older pages alike,
// which messages continue their author's group and where a day begins, in the reader's time
// zone and locale.
import {
  log, list, roomId, at, emptyLog, olderButton, state,
  element, setClass, handleFatal, errorOf, showError,
} from "./page.js";
import { dayKey, dayLabel, localizeTime } from "./days.js";
import {
  byId, renderMessage, applyEdit, addReaction, removeReaction, markDeleted, updateQuotes,
} from "./message-view.js";

const GROUP_MS = 5 * 60 * 1000;
const OLDER_PAGE = 100;
const PINNED_PX = 40;

let lastId = log ? Number(log.dataset.lastId) || 0 : 0;
let firstId = log ? Number(log.dataset.firstId) || 0 : 0;
const shown = new Set(list ? Array.from(list.querySelectorAll("[data-id]"), (li) => Number(li.dataset.id)) : []);

// The number of the last entry shown: the poller asks for what follows it.
export function lastShown() {
  return lastId;
}

function dateOf(li) {
  const time = li.querySelector("time[datetime]");
  return time ? new Date(time.getAttribute("datetime")) : null;
}

// ---- the log's arrangement: groups and day separators ----

function isEntry(el) {
  return el.dataset.id !== undefined;
}

function daySeparator(date) {
  const li = document.createElement("li");
  li.className = "day";
  li.dataset.day = dayKey(date);
  li.append(element("span", "day-label", dayLabel(date)));
  return li;
}

// A webhook may post under a person's name: its lines are not that person's group.
function isBot(li) {
  return li.querySelector(".head > .bot-tag") !== null;
}

// Puts `li` right: a day separator before it when it starts a day, and the "continued"
// look when it follows a message by the same author (a bot, or not) within five minutes, on the same day,
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
    isBot(prev) === isBot(li) && date - prevDate >= 0 && date - prevDate < GROUP_MS;
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

function timeOf(entry) {
  const time = document.createElement("time");
  time.setAttribute("datetime", entry.sent_at);
  localizeTime(time);
  return time;
}

// Entries that only change another line.
const CHANGES = new Set(["deleted", "edited", "reacted", "unreacted"]);

// One line of the log for an entry, or null for entries that only change another line.
// The same shape as the page's first render (templates/room.html).
function renderEntry(entry) {
  if (CHANGES.has(entry.kind)) return null;
  if (entry.kind === "message") return renderMessage(entry, timeOf(entry));
  const li = document.createElement("li");
  li.dataset.id = String(entry.id);
  li.dataset.kind = entry.kind;
  li.tabIndex = -1;
  li.className = "event";
  const verb = entry.kind === "joined" ? " joined " : " left ";
  li.append(element("span", "author", entry.author), verb, timeOf(entry));
  return li;
}

// Applies an entry that changes a message. Each may repeat what the message already shows
// (a message read later carries its current state), so each is idempotent.
function applyChange(entry) {
  const li = byId(list, entry.target);
  switch (entry.kind) {
    case "deleted":
      state.messageCount = Math.max(0, state.messageCount - 1);
      markDeleted(li);
      updateQuotes(list, entry.target, "");
      break;
    case "edited":
      if (!li || li.classList.contains("deleted")) break;
      applyEdit(li, entry);
      updateQuotes(list, entry.target, entry.text);
      break;
    case "reacted":
      addReaction(li, entry.text, entry.author);
      break;
    case "unreacted":
      removeReaction(li, entry.text, entry.author);
      break;
  }
}

export function messageLine(id) {
  return byId(list, id);
}

// ---- staying at the bottom ----

export function isAtBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < PINNED_PX;
}

export function scrollToBottom() {
  log.scrollTop = log.scrollHeight;
}

// The end of what is shown is within a screen of the view: time to load what follows it.
export function nearBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < log.clientHeight;
}

// The reader caught up with the live end: from now on the bottom of the log is the live end.
export function caughtUp() {
  state.catchingUp = false;
  state.pinned = isAtBottom();
}

// Whatever changed the log's size (a keyboard, a rotation, a longer message box), a reader
// at the bottom stays there.
function keepPinned() {
  if (state.pinned) scrollToBottom();
}

function updateEmpty() {
  const empty = !olderButton?.isConnected && !list.querySelector('li[data-kind="message"]');
  if (emptyLog.hidden !== !empty) emptyLog.hidden = !empty;
}

// Appends the entries that follow the last one shown; false if the answer skipped a number.
export function append(entries) {
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
    if (CHANGES.has(entry.kind)) {
      applyChange(entry);
      continue;
    }
    if (entry.kind === "message") state.messageCount++;
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

// The controls inside an entry, in reading order: the quote, its file, the reactions, the
// actions.
function controlsOf(li) {
  return Array.from(li.querySelectorAll(".reply-quote, .attachment-link, .reactions button, .actions button"));
}

export function rove(li, focus) {
  if (!li) return;
  const current = list.querySelector('li[tabindex="0"]');
  if (current && current !== li) current.tabIndex = -1;
  if (li.tabIndex !== 0) li.tabIndex = 0;
  if (focus) li.focus();
}

function onKeydown(event) {
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
      if (!onEntry && event.key === "Enter") return; // the control's own
      const controls = controlsOf(li);
      const next = onEntry ? controls[0] : controls[controls.indexOf(event.target) + 1];
      if (next) next.focus();
      event.preventDefault();
      return;
    }
    case "ArrowLeft": {
      if (onEntry) return;
      const controls = controlsOf(li);
      const previous = controls[controls.indexOf(event.target) - 1];
      (previous || li).focus();
      event.preventDefault();
      return;
    }
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
    if (target === all[all.length - 1] && !state.catchingUp) state.pinned = true;
  }
}

// ---- older pages ----

// Loads the page of entries before the first shown. The entries that change messages are
// skipped: the messages it brings carry their current state. False when nothing more can come.
export async function loadOlder() {
  if (!olderButton || !olderButton.isConnected) return false;
  olderButton.disabled = true;
  try {
    const response = await fetch("/api/rooms/" + roomId + "/messages?before=" + firstId,
      { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) {
      if (!handleFatal(response, await errorOf(response))) olderButton.disabled = false;
      return false;
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
    return olderButton.isConnected;
  } catch (_) {
    olderButton.disabled = false;
    showError("Could not load older messages: the server cannot be reached.");
    return false;
  }
}

// Brings message `id` into view and highlights it, loading older pages until it is there.
export async function showMessage(id) {
  let li = byId(list, id);
  while (!li && firstId > id) {
    const more = await loadOlder();
    li = byId(list, id);
    if (!more) break;
  }
  if (!li) {
    showError("That message is no longer in this room's log.");
    return;
  }
  li.scrollIntoView({ block: "center" });
  state.pinned = isAtBottom();
  rove(li, true);
  li.classList.remove("found");
  void li.offsetWidth; // restarts the highlight when it is asked for again
  li.classList.add("found");
  setTimeout(() => li.classList.remove("found"), 2000);
}

// ---- the first render ----

export function start() {
  log.addEventListener("scroll", () => {
    if (!state.catchingUp) state.pinned = isAtBottom();
  }, { passive: true });
  if (window.ResizeObserver) {
    const resized = new ResizeObserver(keepPinned);
    resized.observe(log);
    resized.observe(list);
  }
  if (window.visualViewport) window.visualViewport.addEventListener("resize", keepPinned);
  window.addEventListener("resize", keepPinned);
  list.addEventListener("focusin", (event) => {
    const li = event.target.closest("li[data-id]");
    if (li) rove(li, false);
  });
  list.addEventListener("keydown", onKeydown);
  if (olderButton) olderButton.addEventListener("click", () => { loadOlder(); });

  log.querySelectorAll("time[datetime]").forEach(localizeTime);
  arrangeAll();
  rove(lastEntry(), false);
}

// Where the reader starts: at the message the page was opened at, else at the "New
// messages" line, else at the bottom.
export function scrollToStart() {
  if (at) {
    showTarget(at);
    return;
  }
  const divider = document.getElementById("new-divider");
  if (divider) {
    log.scrollTop += divider.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    state.pinned = isAtBottom();
  } else {
    scrollToBottom();
  }
}

// The message the page was opened at (a search result): in the middle of the view, marked
// for as long as the page stays, and focused, so that a screen reader starts there too.
function showTarget(id) {
  const li = byId(list, id);
  if (!li) {
    showError("That message is not in this room's log any more.");
    scrollToBottom();
    return;
  }
  li.classList.add("target");
  li.setAttribute("aria-current", "true");
  rove(li, false);
  li.scrollIntoView({ block: "center" });
  li.focus({ preventScroll: true });
}
