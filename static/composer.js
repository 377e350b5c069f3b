// The message box: Enter sends, it grows with its text, and says when the limit is near.
import { form, textBox, sendButton, sendError, charCount, state, setClass } from "./page.js";
import { sendMessage } from "./send.js";
import { scrollToBottom } from "./room-log.js";
import { pollSoon } from "./poller.js";

const MAX_CHARS = 2000;
const COUNT_FROM = 1800; // the counter shows from here on, before the limit comes as a surprise

const grows = window.CSS && CSS.supports("field-sizing", "content");
let countShown = "";

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

async function send(event) {
  event.preventDefault();
  const text = textBox.value.trim();
  if (!text || sendButton.disabled) return;
  sendButton.disabled = true;
  sendError.hidden = true;
  try {
    if (await sendMessage({ text: text })) {
      // Keep anything typed while the message was on its way.
      if (textBox.value.trim() === text) textBox.value = "";
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
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      form.requestSubmit();
      event.preventDefault();
    }
  });
  textBox.addEventListener("input", () => {
    state.lastTyped = Date.now();
    composerChanged();
  });
  form.addEventListener("submit", send);
  composerChanged();
}
