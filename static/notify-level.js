// The room's notification level ("All messages", "Mentions only", "Nothing"): a select that
// saves itself with PUT /api/rooms/{id}/notifications. The page opens with the server's level
// (data-level); a refused or failed save puts the old level back and says why. alerts.js
// reads the level.
import { roomId, jsonHeaders, errorOf, handleFatal } from "./page.js";

const select = document.getElementById("notify-level");
const problem = document.getElementById("notify-level-error");

// The level shown: "all", "mentions" or "nothing".
export function level() {
  return select ? select.value : "mentions";
}

function say(text) {
  problem.textContent = text || "";
  problem.hidden = !text;
}

async function save(previous) {
  const wanted = select.value;
  say(null);
  try {
    const response = await fetch("/api/rooms/" + roomId + "/notifications", {
      method: "PUT",
      headers: jsonHeaders(),
      body: JSON.stringify({ level: wanted }),
    });
    if (response.ok) return wanted;
    const error = await errorOf(response);
    if (handleFatal(response, error)) return wanted;
    say("Notifications not changed: " + error.message);
  } catch (_) {
    say("Notifications not changed: the server cannot be reached. Try again.");
  }
  select.value = previous;
  return previous;
}

export function start() {
  if (!select) return;
  const known = ["all", "mentions", "nothing"];
  const initial = select.dataset.level;
  select.value = known.includes(initial) ? initial : "mentions";
  let saved = select.value;
  let saving = Promise.resolve();
  select.addEventListener("change", () => {
    saving = saving.then(() => save(saved)).then((now) => { saved = now; });
  });
}
