// Deleting the room: asked first, naming the room and what goes with it.
import { deleteForm, deleteDialog, state, stop } from "./page.js";

function deleteQuestion() {
  const name = deleteForm.dataset.roomName;
  const count = state.messageCount;
  const what = count === 0 ? "" : count === 1 ? " and its 1 message"
    : " and its " + count.toLocaleString() + " messages";
  return "Delete “" + name + "”" + what + " for everyone? This cannot be undone.";
}

export function start() {
  if (!deleteForm || !deleteDialog || typeof deleteDialog.showModal !== "function") return;
  deleteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    document.getElementById("delete-question").textContent = deleteQuestion();
    deleteDialog.returnValue = "";
    deleteDialog.showModal();
    document.getElementById("delete-cancel").focus();
  });
  deleteDialog.addEventListener("close", () => {
    const more = document.getElementById("more");
    if (deleteDialog.returnValue === "delete") {
      stop();
      deleteForm.submit(); // the form's own POST, as without the dialog
    } else if (more) {
      more.open = false;
      more.querySelector("summary").focus();
    }
  });
}
