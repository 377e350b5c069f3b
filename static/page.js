// The room page's shared ground: its elements, the state its modules share, and the answers
// after which the page cannot go on (401, a deleted room, a session changed elsewhere...).

export const log = document.getElementById("log");
export const list = log ? log.querySelector("ol") : null;
export const roomId = log ? log.dataset.roomId : "";
export const isCreator = log ? log.dataset.creator === "true" : false;
// Opened at a message (a search result's link: /rooms/{id}?at=N): its number, and the number
// of the room's latest entry when the page was made (the live end, then).
export const at = log ? Number(log.dataset.at) || 0 : 0;
export const head = log ? Number(log.dataset.head) || 0 : 0;
export const me = (document.querySelector(".username") || {}).textContent;
export const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content;
export const statusLine = document.getElementById("status");
export const emptyLog = document.getElementById("empty-log");
export const presenceLine = document.getElementById("presence");
export const typingLine = document.getElementById("typing");
export const olderButton = document.getElementById("load-older");
export const form = document.getElementById("send");
export const textBox = document.getElementById("text");
export const sendButton = document.getElementById("send-button");
export const sendError = document.getElementById("send-error");
export const charCount = document.getElementById("char-count");
export const deleteForm = document.getElementById("delete-form");
export const deleteDialog = document.getElementById("delete-dialog");

// What several modules read and write. `pinned`: the reader is at the bottom of the log,
// decided by their scrolling, never by the layout of the moment (a keyboard opening on a
// phone shrinks the log without anyone scrolling). `catchingUp`: the page opened at a message
// back in history and the entries after it have not all loaded yet: the bottom of the log is
// not the live end, so reaching it pins nothing (see poller.js).
export const state = {
  stopped: false,
  pinned: !at,
  catchingUp: at > 0,
  lastTyped: 0,
  // Messages not deleted, for the delete-room question: the page's count, kept up to date.
  messageCount: deleteForm ? Number(deleteForm.dataset.messages) || 0 : 0,
};

const onStop = [];

// Registers what to cancel when the page stops (the poller's timer).
export function whenStopped(callback) {
  onStop.push(callback);
}

export function stop() {
  state.stopped = true;
  onStop.forEach((callback) => callback());
}

export function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export function setClass(el, name, on) {
  if (el.classList.contains(name) !== on) el.classList.toggle(name, on);
}

export function jsonHeaders() {
  return { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken };
}

export function setStatus(text) {
  statusLine.textContent = text || "";
  statusLine.hidden = !text;
}

export function showError(text) {
  sendError.textContent = text;
  sendError.hidden = false;
}

export async function errorOf(response) {
  try {
    const body = await response.json();
    return { code: body.error, message: body.message };
  } catch (_) {
    return { code: "unknown", message: "The server answered " + response.status + "." };
  }
}

// Ends the page's life in this room: says why, then goes where the user belongs now.
export function leaveFor(location, text) {
  stop();
  setStatus(text);
  form.querySelectorAll("textarea, button").forEach((el) => { el.disabled = true; });
  setTimeout(() => window.location.assign(location), 1500);
}

// Handles the answers after which this page cannot go on. True if it handled one.
export function handleFatal(response, error) {
  if (response.status === 401) {
    stop();
    window.location.assign("/login");
    return true;
  }
  if (response.status === 410 && error.code !== "message_deleted") {
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
