// Files sent from the room page (see below); messages go by send.js.
import {
  log, list, roomId, me, textBox, state, csrfToken, element, handleFatal, showError,
} from "./page.js";
import { scrollToBottom } from "./room-log.js";
import { pollSoon } from "./poller.js";
import { composerChanged, isEditing } from "./composer.js";
import { humanSize } from "./message-view.js";

// Files sent from the room page: the attach button, a paste into the message box and files
// dropped on the room all come here. Each file uploads on its own, one at a time in the order
// given, as POST /api/rooms/{id}/attachments (multipart), through XMLHttpRequest for its
// upload progress. The first file takes what the message box holds as its caption (the box
// then clears, as for a message sent); the others go alone. An edit under way keeps its text.
//
// While it goes, a file has a greyed line at the end of the log with a progress bar and
// Cancel. A refusal or a lost connection keeps the line with the server's reason, and Retry
// (with the same client_id, so a retry after a lost answer never stores it twice) and
// Discard. Each file not yet stored is also kept in the browser's IndexedDB (a File does not
// fit localStorage, where the outbox keeps text), under the user and the room, so a reload
// or a later visit brings it back: one that was on its way is sent again, one refused waits
// for Retry or Discard. Where IndexedDB is refused (some private modes), the page's memory
// is all there is. Once stored, the line stays until the poll brings the message (the same
// path as every other message), then goes.
//
// Names are set with textContent only.
const UPLOAD_SHOWN_WITHIN_MS = 30000; // a stored file's line waits this long for the poll

const fileLines = log ? element("ol", "uploads") : null;
const said = document.getElementById("upload-status");
const uploads = []; // in the order given: { file, caption, clientId, state, ... }
let uploading = null; // the upload whose request is under way

// ---- the files kept across reloads (IndexedDB; each step best effort) ----

const KEPT = "uploads";
const owner = me + ":" + roomId; // another user, another room: another list
let opened = null;

function keptFiles() {
  if (!opened) {
    opened = new Promise((resolve) => {
      try {
        const request = window.indexedDB.open("chatroom-files", 1);
        request.onupgradeneeded = () => request.result.createObjectStore(KEPT, { keyPath: "clientId" });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null);
      } catch (_) {
        resolve(null);
      }
    });
  }
  return opened;
}

async function keep(upload) {
  const db = await keptFiles();
  if (!db || !uploads.includes(upload)) return;
  try {
    db.transaction(KEPT, "readwrite").objectStore(KEPT).put({
      clientId: upload.clientId, owner, file: upload.file, caption: upload.caption,
      error: upload.error || null, retryable: Boolean(upload.retryable), at: upload.at,
    });
  } catch (_) {
    // Kept in memory only.
  }
}

async function unkeep(upload) {
  const db = await keptFiles();
  if (!db) return;
  try {
    db.transaction(KEPT, "readwrite").objectStore(KEPT).delete(upload.clientId);
  } catch (_) {
    // Nothing more to do.
  }
}

// The files this user left in this room: sent again, or shown refused, in their order.
async function restore() {
  const db = await keptFiles();
  if (!db) return;
  let kept = [];
  try {
    kept = await new Promise((resolve, reject) => {
      const request = db.transaction(KEPT).objectStore(KEPT).getAll();
      request.onsuccess = () => resolve(request.result || []);
      request.onerror = reject;
    });
  } catch (_) {
    return;
  }
  kept.filter((k) => k.owner === owner && k.file && !uploads.some((u) => u.clientId === k.clientId))
    .sort((a, b) => a.at - b.at)
    .forEach((k) => {
      const upload = {
        file: k.file, caption: k.caption || "", clientId: k.clientId, at: k.at, progress: 0,
        state: k.error ? "failed" : "waiting", error: k.error, retryable: k.retryable,
      };
      uploads.push(upload);
      show(upload);
    });
  next();
}

function newClientId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

// For screen readers, politely: the start, the halfway mark and the end of each upload (not
// every percent, which would drown everything else).
function say(text) {
  if (said) said.textContent = text;
}

// Answers another attempt may turn into a success.
function retryable(status) {
  return status === 0 || status >= 500 || status === 408 || status === 429;
}

// The server's reason, or what the status means when a proxy answered without one.
function reasonOf(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    if (body && typeof body.message === "string" && body.message) return { code: body.error, message: body.message };
  } catch (_) {
    // Not ours: said below by its status.
  }
  const message = {
    413: "The file is too large.",
    429: "Too many messages at once: wait a moment, then retry.",
    503: "The server is busy: retry in a moment.",
  }[xhr.status] || "The server answered " + xhr.status + ".";
  return { code: "unknown", message };
}

// ---- the lines: built once per upload, changed in place ----

function button(className, text, label) {
  const el = element("button", className, text);
  el.type = "button";
  el.setAttribute("aria-label", label);
  return el;
}

function newLine(upload) {
  const li = element("li", "upload");
  const head = element("div", "head");
  head.append(element("span", "author", me), " ", element("span", "upload-state"));
  const file = element("div", "upload-file");
  file.append(element("span", "file-name", upload.file.name), " ",
    element("span", "file-size", humanSize(upload.file.size)));
  li.append(head);
  if (upload.caption) li.append(element("p", "text", upload.caption));
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.setAttribute("aria-label", "Uploading " + upload.file.name);
  const progress = element("div", "upload-progress");
  progress.append(bar, element("span", "upload-percent"));
  const actions = element("div", "upload-actions");
  li.append(file, progress, actions);
  actions.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.classList.contains("upload-cancel")) cancel(upload);
    else if (target.classList.contains("upload-retry")) retry(upload);
    else if (target.classList.contains("upload-discard")) discard(upload);
  });
  return li;
}

function setActions(upload, kind) {
  const actions = upload.li.querySelector(".upload-actions");
  if (actions.dataset.kind === kind) return;
  const hadFocus = actions.contains(document.activeElement);
  actions.dataset.kind = kind;
  const name = upload.file.name;
  const wanted = [];
  if (kind === "going") wanted.push(button("upload-cancel", "Cancel", "Cancel sending " + name));
  if (kind === "failed" && upload.retryable) wanted.push(button("upload-retry", "Retry", "Retry sending " + name));
  if (kind === "failed") wanted.push(button("upload-discard", "Discard", "Discard " + name));
  actions.replaceChildren(...wanted);
  actions.hidden = wanted.length === 0;
  if (hadFocus) (actions.querySelector("button") || textBox).focus();
}

function show(upload) {
  if (!upload.li) {
    upload.li = newLine(upload);
    fileLines.append(upload.li);
    fileLines.hidden = false;
    if (state.pinned) scrollToBottom();
  }
  const li = upload.li;
  const percent = Math.round(upload.progress * 100);
  const words = {
    waiting: "waiting to send…",
    uploading: "sending…",
    processing: "sent, being stored…",
    stored: "sent",
    failed: "Not sent: " + upload.error,
  }[upload.state];
  const status = li.querySelector(".upload-state");
  if (status.textContent !== words) status.textContent = words;
  li.classList.toggle("failed", upload.state === "failed");
  const bar = li.querySelector("progress");
  const going = upload.state === "uploading" || upload.state === "waiting" || upload.state === "processing";
  bar.parentElement.hidden = !going;
  if (upload.state === "uploading") bar.value = percent;
  else if (upload.state === "processing") bar.value = 100;
  else bar.removeAttribute("value"); // waiting: an indeterminate bar
  const shown = upload.state === "uploading" ? percent + "%" : "";
  const label = li.querySelector(".upload-percent");
  if (label.textContent !== shown) label.textContent = shown;
  setActions(upload, upload.state === "failed" ? "failed" : going && upload.state !== "processing" ? "going" : "none");
}

function forget(upload) {
  unkeep(upload);
  const at = uploads.indexOf(upload);
  if (at >= 0) uploads.splice(at, 1);
  if (upload.li) {
    if (upload.li.contains(document.activeElement)) textBox.focus();
    upload.li.remove();
  }
  fileLines.hidden = !fileLines.firstChild;
}

// ---- sending, one at a time ----

function next() {
  if (uploading || state.stopped) return;
  const upload = uploads.find((u) => u.state === "waiting");
  if (upload) start(upload);
}

function start(upload) {
  uploading = upload;
  upload.state = "uploading";
  upload.progress = 0;
  const xhr = new XMLHttpRequest();
  upload.xhr = xhr;
  xhr.open("POST", "/api/rooms/" + roomId + "/attachments");
  xhr.setRequestHeader("X-CSRF-Token", csrfToken);
  xhr.setRequestHeader("Accept", "application/json");
  let halfway = false;
  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable || upload.state !== "uploading") return;
    upload.progress = event.total ? event.loaded / event.total : 0;
    if (!halfway && upload.progress >= 0.5 && upload.progress < 1) {
      halfway = true;
      say(upload.file.name + ": half sent.");
    }
    show(upload);
  });
  xhr.upload.addEventListener("load", () => {
    if (upload.state !== "uploading") return;
    upload.state = "processing";
    show(upload);
  });
  xhr.addEventListener("load", () => finished(upload, xhr));
  xhr.addEventListener("error", () => failed(upload, "the server cannot be reached. Check your connection, then retry.", true));
  xhr.addEventListener("abort", () => {
    if (uploading === upload) uploading = null;
    next();
  });
  const form = new FormData();
  form.append("client_id", upload.clientId);
  if (upload.caption) form.append("text", upload.caption);
  form.append("file", upload.file, upload.file.name);
  say("Sending " + upload.file.name + "…");
  show(upload);
  xhr.send(form);
}

function finished(upload, xhr) {
  if (uploading === upload) uploading = null;
  if (xhr.status >= 200 && xhr.status < 300) {
    let entry = null;
    try {
      entry = JSON.parse(xhr.responseText).message;
    } catch (_) {
      // Stored all the same: the poll brings it.
    }
    stored(upload, entry && typeof entry.id === "number" ? entry.id : null);
    pollSoon();
    next();
    return;
  }
  const reason = reasonOf(xhr);
  // The answers after which the page cannot go on (logged out, moved, the room deleted): the
  // file waits for the next visit, unless the room is gone.
  const fatal = handleFatal({ status: xhr.status, url: xhr.responseURL || "" }, reason);
  if (fatal && (xhr.status === 404 || xhr.status === 410)) {
    forget(upload);
    return;
  }
  failed(upload, reason.message, fatal || retryable(xhr.status));
  next();
}

function stored(upload, id) {
  upload.state = "stored";
  upload.entryId = id;
  unkeep(upload);
  say(upload.file.name + " sent.");
  if (id === null || list.querySelector('li[data-id="' + id + '"]')) {
    forget(upload);
    return;
  }
  show(upload);
  setTimeout(() => forget(upload), UPLOAD_SHOWN_WITHIN_MS);
}

function failed(upload, reason, canRetry) {
  if (uploading === upload) uploading = null;
  upload.state = "failed";
  upload.error = reason;
  upload.retryable = canRetry;
  showError("Not sent: " + upload.file.name + ": " + reason);
  show(upload);
  keep(upload);
  next();
}

function cancel(upload) {
  say("Sending " + upload.file.name + " cancelled.");
  const xhr = upload.xhr;
  forget(upload);
  if (xhr && uploading === upload) xhr.abort();
  else next();
}

function retry(upload) {
  upload.state = "waiting";
  upload.error = null;
  keep(upload);
  show(upload); // focus on Retry moves to Cancel
  next();
}

function discard(upload) {
  say(upload.file.name + " discarded.");
  forget(upload);
}

// A message of ours with a file arrived by the poll: its line goes. Its id settles it; a
// stored file whose answer was lost (a failed line) is recognised by name and caption.
function arrived(li) {
  if (li.dataset.kind !== "message" || li.dataset.author !== me) return;
  const id = Number(li.dataset.id);
  const byId = uploads.find((u) => u.state === "stored" && u.entryId === id);
  if (byId) {
    forget(byId);
    return;
  }
  const file = li.querySelector(".attachment .file-name, .attachment img");
  if (!file) return;
  const name = file.tagName === "IMG" ? file.alt : file.textContent;
  const caption = li.querySelector(".text").hidden ? "" : li.querySelector(".text").textContent.trim();
  const lost = uploads.find((u) => u.state === "failed" && u.retryable &&
    u.file.name === name && u.caption === caption);
  if (lost) forget(lost);
}

// ---- what the user does: files from the button, a paste, a drop ----

// Takes the files into the queue; the first carries the message box's text as its caption.
export function sendFiles(files) {
  const chosen = Array.from(files || []);
  if (!chosen.length || state.stopped) return;
  let caption = "";
  if (!isEditing()) {
    caption = textBox.value.trim();
    if (caption) {
      textBox.value = "";
      composerChanged();
    }
  }
  chosen.forEach((file, at) => {
    uploads.push({
      file,
      caption: at === 0 ? caption : "",
      clientId: newClientId(),
      state: "waiting",
      progress: 0,
      at: Date.now() + at / 1000, // in the order given
    });
  });
  uploads.forEach((u) => {
    if (!u.li) {
      show(u);
      keep(u);
    }
  });
  state.pinned = true;
  scrollToBottom();
  next();
}

function hasFiles(event) {
  return Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
}

// Starts the ways in for files: the attach button, a paste, a drop.
export function startFiles() {
  fileLines.setAttribute("aria-label", "Files being sent");
  fileLines.hidden = true;
  log.append(fileLines);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1 && node.dataset.id !== undefined) arrived(node);
      }
    }
  }).observe(list, { childList: true });
  restore();

  const picker = document.getElementById("file-input");
  document.getElementById("attach").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    sendFiles(picker.files);
    picker.value = "";
    textBox.focus();
  });

  // A paste of files alone (a screenshot, an image copied from a page) sends them; a paste
  // that also has plain text (a spreadsheet's cells come with a picture of them) stays text.
  textBox.addEventListener("paste", (event) => {
    const data = event.clipboardData;
    if (!data || !data.files || data.files.length === 0) return;
    if (Array.from(data.types || []).includes("text/plain")) return;
    event.preventDefault();
    sendFiles(data.files);
  });

  // Files dragged over the room: the drop target shows until they are dropped or leave.
  const room = document.querySelector(".room-page");
  const target = document.getElementById("drop-zone");
  let depth = 0;
  const hide = () => {
    depth = 0;
    target.hidden = true;
  };
  room.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth++;
    target.hidden = false;
  });
  room.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  room.addEventListener("dragleave", (event) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) target.hidden = true;
  });
  room.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    hide();
    sendFiles(event.dataTransfer.files);
    textBox.focus();
  });
  window.addEventListener("dragend", hide);
}
