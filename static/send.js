// The send path: one message from the composer to the server. Its whole interface is
// `sendMessage(message)`, message = { text, replyTo }, resolving to true once the message is
// the server's (or otherwise safely on its way), so the composer may clear the box; false when
// it was not, after saying why in #send-error. The message reaches the log by the poll, the
// same ordered path as everyone else's.
import { roomId, state, jsonHeaders, errorOf, handleFatal, setStatus, showError } from "./page.js";

// Each message carries a name of its own (client_id), kept while it is retried: a retry
// after a lost answer returns the message stored the first time, never a second copy.
let pending = null; // { text, replyTo, clientId }

function newClientId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

async function postOnce(message) {
  const body = { text: message.text, client_id: message.clientId };
  if (message.replyTo) body.reply_to = message.replyTo;
  return fetch("/api/rooms/" + roomId + "/messages", {
    method: "POST",
    headers: jsonHeaders(),
    body: JSON.stringify(body),
  });
}

// Posts, retrying network failures with backoff (same client_id each time).
async function postWithRetries(message) {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await postOnce(message);
    } catch (error) {
      if (attempt >= 5 || state.stopped) throw error;
      setStatus("Sending… the connection dropped; retrying.");
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 8000);
    }
  }
}

export async function sendMessage(message) {
  const replyTo = message.replyTo || null;
  if (!pending || pending.text !== message.text || pending.replyTo !== replyTo) {
    pending = { text: message.text, replyTo: replyTo, clientId: newClientId() };
  }
  try {
    const response = await postWithRetries(pending);
    if (response.status === 201) {
      pending = null;
      setStatus(null);
      return true;
    }
    if (response.status >= 400 && response.status < 500) {
      pending = null; // refused for good: a new attempt is a new message
    }
    const error = await errorOf(response);
    if (!handleFatal(response, error)) showError("Not sent: " + error.message);
    return false;
  } catch (_) {
    showError("Not sent: the server cannot be reached. Your text is kept; try again.");
    return false;
  }
}
