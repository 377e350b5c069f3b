// What a message's buttons do: reply, react, edit, delete, and its quote leads to the
// message it answers.
import { log, roomId, jsonHeaders, errorOf, handleFatal, showError } from "./page.js";
import { pollSoon } from "./poller.js";
import { showMessage } from "./room-log.js";
import { startEdit, startReply } from "./composer.js";
import * as reactions from "./reactions.js";

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

function onClick(event) {
  const button = event.target.closest("button");
  const li = button && button.closest("li.message[data-id]");
  if (!li) return;
  if (button.classList.contains("delete-message")) deleteMessage(li.dataset.id);
  else if (button.classList.contains("edit-message")) startEdit(li);
  else if (button.classList.contains("reply-message")) startReply(li);
  else if (button.classList.contains("react-message")) reactions.openPicker(li, button);
  else if (button.classList.contains("reaction")) reactions.toggle(li, button.dataset.emoji);
  else if (button.classList.contains("reply-quote")) showMessage(Number(button.dataset.replyTo));
}

export function start() {
  log.addEventListener("click", onClick);
  reactions.start();
}
