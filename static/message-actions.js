// What can be done to a message from its actions: delete it.
import { log, roomId, jsonHeaders, errorOf, handleFatal, showError } from "./page.js";
import { pollSoon } from "./poller.js";

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

export function start() {
  log.addEventListener("click", (event) => {
    const button = event.target.closest(".delete-message");
    if (button) deleteMessage(button.dataset.id);
  });
}
