// Reactions: a reaction button toggles the reader's own (POST adds, DELETE removes), and the
// "Add reaction" button opens a small picker of common emoji, by pointer or keyboard (arrows
// move, Enter picks, Escape closes and returns to the button).
import { roomId, me, jsonHeaders, errorOf, handleFatal, showError, element } from "./page.js";
import { reactors, setReactions, removeReaction } from "./message-view.js";
import { pollSoon } from "./poller.js";

const COMMON = [
  ["👍", "thumbs up"], ["❤️", "heart"], ["😂", "laughing"], ["🎉", "party"],
  ["😮", "surprised"], ["😢", "sad"], ["👀", "eyes"], ["✅", "done"],
];

let open = null; // { picker, trigger }

function reactionsUrl(li) {
  return "/api/rooms/" + roomId + "/messages/" + li.dataset.id + "/reactions";
}

export async function toggle(li, emoji) {
  const mine = reactors(li, emoji).includes(me);
  try {
    const response = mine
      ? await fetch(reactionsUrl(li) + "/" + encodeURIComponent(emoji),
        { method: "DELETE", headers: jsonHeaders() })
      : await fetch(reactionsUrl(li),
        { method: "POST", headers: jsonHeaders(), body: JSON.stringify({ emoji: emoji }) });
    if (response.status === 204) {
      removeReaction(li, emoji, me);
    } else if (response.ok) {
      const { message } = await response.json();
      setReactions(li, message.reactions || []);
    } else {
      const error = await errorOf(response);
      if (!handleFatal(response, error)) {
        showError(error.code === "message_deleted"
          ? "Not reacted: the message was deleted."
          : "Not reacted: " + error.message);
      }
      return;
    }
    pollSoon();
  } catch (_) {
    showError("Not reacted: the server cannot be reached.");
  }
}

function close(refocus) {
  if (!open) return;
  const { picker, trigger } = open;
  open = null;
  trigger.setAttribute("aria-expanded", "false");
  if (refocus && trigger.isConnected) trigger.focus();
  picker.remove();
}

function onPickerKey(event) {
  // The log's own keys (Up and Down between messages) stay out of the picker.
  event.stopPropagation();
  const choices = Array.from(open.picker.querySelectorAll("button"));
  const at = choices.indexOf(document.activeElement);
  let next = null;
  switch (event.key) {
    case "Escape":
      close(true);
      event.preventDefault();
      return;
    case "ArrowRight": case "ArrowDown": next = choices[(at + 1) % choices.length]; break;
    case "ArrowLeft": case "ArrowUp": next = choices[(at - 1 + choices.length) % choices.length]; break;
    case "Home": next = choices[0]; break;
    case "End": next = choices[choices.length - 1]; break;
    default: return;
  }
  event.preventDefault();
  next.focus();
}

export function openPicker(li, trigger) {
  const again = open && open.trigger === trigger;
  close(false);
  if (again) return; // a second click on the button closes it
  const picker = element("div", "reaction-picker");
  picker.setAttribute("role", "dialog");
  picker.setAttribute("aria-label", "Add reaction");
  for (const [emoji, name] of COMMON) {
    const choice = element("button", "pick", emoji);
    choice.type = "button";
    choice.dataset.emoji = emoji;
    choice.title = name;
    choice.setAttribute("aria-label", name);
    picker.append(choice);
  }
  picker.addEventListener("keydown", onPickerKey);
  picker.addEventListener("click", (event) => {
    const choice = event.target.closest(".pick");
    if (!choice) return;
    event.stopPropagation();
    close(true);
    if (!reactors(li, choice.dataset.emoji).includes(me)) toggle(li, choice.dataset.emoji);
  });
  picker.addEventListener("focusout", (event) => {
    if (open && !picker.contains(event.relatedTarget) && event.relatedTarget !== trigger) close(false);
  });
  trigger.closest(".actions").after(picker);
  trigger.setAttribute("aria-expanded", "true");
  open = { picker, trigger };
  picker.querySelector("button").focus();
}

export function start() {
  document.addEventListener("click", (event) => {
    if (open && !open.picker.contains(event.target) && event.target.closest(".react-message") !== open.trigger) {
      close(false);
    }
  });
}
