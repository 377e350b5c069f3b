// The message box: Enter sends, it grows with its text and says when the limit is near. It
// also edits (Up in an empty box, or a message's Edit: Enter saves, Escape puts back what the
// box held) and answers a message (its Reply: the next message carries reply_to).
import {
  form, textBox, sendButton, sendError, charCount, roomId, me, list, state,
  element, setClass, jsonHeaders, errorOf, handleFatal, showError,
} from "./page.js";
import { sendMessage } from "./send.js";
import { scrollToBottom } from "./room-log.js";
import { applyEdit, excerpt, setReactions, textOf, updateQuotes } from "./message-view.js";
import { pollSoon } from "./poller.js";

const MAX_CHARS = 2000;
const COUNT_FROM = 1800; // the counter shows from here on, before the limit comes as a surprise

const grows = window.CSS && CSS.supports("field-sizing", "content");
let countShown = "";
let editing = null; // { li, saved: what the box held before }
let replying = null; // { id, author, excerpt }

const editLine = document.getElementById("editing");
const replyLine = document.getElementById("replying");

export function composerChanged() {
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

function putInBox(text) {
  textBox.value = text;
  composerChanged();
  textBox.focus();
  textBox.setSelectionRange(text.length, text.length);
}

// ---- answering a message ----

export function startReply(li) {
  // A file sent without a caption is named by the file.
  const file = li.querySelector(".attachment .file-name, .attachment img");
  const quoted = excerpt(textOf(li)) || (file ? file.alt || file.textContent : "");
  replying = { id: Number(li.dataset.id), author: li.dataset.author, excerpt: quoted };
  replyLine.querySelector(".context-text").replaceChildren(
    "Replying to ", element("strong", null, replying.author), ": ",
    element("span", "reply-excerpt", quoted));
  replyLine.hidden = false;
  textBox.focus();
}

function cancelReply() {
  replying = null;
  replyLine.hidden = true;
  textBox.focus();
}

// ---- editing your own message ----

function lastOwnMessage() {
  const own = list.querySelectorAll('li.message[data-author="' + CSS.escape(me) + '"]:not(.deleted)');
  return own.length ? own[own.length - 1] : null;
}

// An edit is under way: the box holds a message already sent, not a new one's text.
export function isEditing() {
  return editing !== null;
}

export function startEdit(li) {
  if (!li || li.classList.contains("deleted")) return;
  const saved = editing ? editing.saved : textBox.value;
  if (editing) editing.li.classList.remove("being-edited");
  editing = { li: li, saved: saved };
  li.classList.add("being-edited");
  editLine.hidden = false;
  sendButton.textContent = "Save";
  sendError.hidden = true;
  putInBox(textOf(li));
}

function endEdit() {
  if (!editing) return;
  const saved = editing.saved;
  editing.li.classList.remove("being-edited");
  editing = null;
  editLine.hidden = true;
  sendButton.textContent = "Send";
  putInBox(saved);
}

async function saveEdit() {
  const li = editing.li;
  const text = textBox.value.trim();
  if (!text) {
    showError("Not saved: a message cannot be empty. Escape keeps it as it was.");
    return;
  }
  if (text === textOf(li)) {
    endEdit();
    return;
  }
  sendError.hidden = true;
  try {
    const response = await fetch("/api/rooms/" + roomId + "/messages/" + li.dataset.id, {
      method: "PATCH",
      headers: jsonHeaders(),
      body: JSON.stringify({ text: text }),
    });
    if (response.ok) {
      const { message } = await response.json();
      applyEdit(li, message);
      setReactions(li, message.reactions || []);
      updateQuotes(list, message.id, message.text);
      if (editing && editing.li === li) endEdit();
      pollSoon();
      return;
    }
    const error = await errorOf(response);
    if (!handleFatal(response, error)) {
      showError(error.code === "message_deleted"
        ? "Not saved: the message was deleted. Escape puts back what the box held."
        : "Not saved: " + error.message);
    }
  } catch (_) {
    showError("Not saved: the server cannot be reached. Your text is kept; try again.");
  }
}

// ---- sending ----

async function send(event) {
  event.preventDefault();
  if (sendButton.disabled) return;
  if (editing) {
    sendButton.disabled = true;
    try {
      await saveEdit();
    } finally {
      if (!state.stopped) sendButton.disabled = false;
      textBox.focus();
    }
    return;
  }
  const text = textBox.value.trim();
  if (!text) return;
  sendButton.disabled = true;
  sendError.hidden = true;
  const answering = replying;
  try {
    if (await sendMessage({ text: text, replyTo: answering ? answering.id : null })) {
      // Keep anything typed while the message was on its way.
      if (textBox.value.trim() === text) textBox.value = "";
      if (replying === answering && answering) cancelReply();
      composerChanged();
      state.lastTyped = 0;
      // Your own message comes into view, even if you had scrolled up to read.
      state.pinned = true;
      scrollToBottom();
      pollSoon();
    }
  } finally {
    if (!state.stopped) sendButton.disabled = false;
    textBox.focus();
  }
}

export function start() {
  textBox.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "Enter" && !event.shiftKey) {
      form.requestSubmit();
      event.preventDefault();
    } else if (event.key === "Escape" && (editing || replying)) {
      if (editing) endEdit();
      else cancelReply();
      event.preventDefault();
    } else if (event.key === "ArrowUp" && !editing && textBox.value === "" &&
               !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      const li = lastOwnMessage();
      if (li) {
        startEdit(li);
        event.preventDefault();
      }
    }
  });
  textBox.addEventListener("input", () => {
    // Fixing a message already sent is not writing a new one: nobody is told "typing…".
    if (!editing) state.lastTyped = Date.now();
    composerChanged();
  });
  form.addEventListener("submit", send);
  editLine.querySelector("button").addEventListener("click", endEdit);
  replyLine.querySelector("button").addEventListener("click", cancelReply);
  composerChanged();
}
