// Asks before a form that destroys something is sent: a form with data-confirm (the question)
// and data-confirm-button (the confirming button's label) opens a <dialog> naming what will
// happen, with Cancel as the default. Without this script the form simply posts.
(function () {
  "use strict";

  let dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.setAttribute("aria-labelledby", "confirm-question");
    const question = document.createElement("p");
    question.id = "confirm-question";
    const actions = document.createElement("div");
    actions.className = "actions";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.id = "confirm-cancel";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => dialog.close("cancel"));
    const ok = document.createElement("button");
    ok.type = "button";
    ok.className = "danger";
    ok.id = "confirm-ok";
    ok.addEventListener("click", () => dialog.close("ok"));
    actions.append(cancel, ok);
    dialog.append(question, actions);
    document.body.append(dialog);
  }

  function ask(form) {
    if (!dialog) build();
    dialog.querySelector("#confirm-question").textContent = form.dataset.confirm;
    dialog.querySelector("#confirm-ok").textContent = form.dataset.confirmButton || "Confirm";
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "ok") form.submit();
    };
    dialog.showModal();
    // Cancel is the default: Enter or Space right away changes nothing.
    dialog.querySelector("#confirm-cancel").focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (typeof HTMLDialogElement !== "function") return;
    event.preventDefault();
    ask(form);
  });
})();
