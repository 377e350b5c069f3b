// The send path of messages, from the composer to the server (files go by uploads.js): the
// whole interface is
// `sendMessage(message)`, message = { text, replyTo }, resolving to true once the message is
// the server's (or otherwise safely on its way), so the composer may clear the box; false when
// it was not, after saying why in #send-error. The message reaches the log by the poll, the
// same ordered path as everyone else's.
//
// "Safely on its way" is the outbox (outbox.js): the message is in the browser's storage from
// the moment it is sent, and the outbox posts it, retries it and shows it until the poll
// brings it, across outages and reloads.
import {
  log, list, roomId, me, textBox, state, jsonHeaders, errorOf, handleFatal, showError,
} from "./page.js";
import { scrollToBottom } from "./room-log.js";
import { pollSoon } from "./poller.js";
import { composerChanged } from "./composer.js";
import { openOutbox } from "./outbox.js";

const outbox = log && me ? openOutbox({
  log, list, roomId, me, textBox,
  headers: jsonHeaders,
  errorOf,
  handleFatal,
  showError,
  isStopped: () => state.stopped,
  putBack(text, always) {
    const current = textBox.value.trim();
    if (current && !always) return false;
    textBox.value = current ? textBox.value.replace(/\s*$/, "\n") + text : text;
    composerChanged();
    textBox.focus();
    return true;
  },
  changed() {
    if (state.pinned) scrollToBottom();
  },
  delivered: pollSoon,
}) : null;

export async function sendMessage(message) {
  if (!outbox) return false;
  outbox.add({ text: message.text, replyTo: message.replyTo || null });
  return true;
}
