// The poller. It asks /api/rooms/{id}/messages?after=<last id shown> one second after each
// answer (never two polls in flight) and hands what comes back to the log in the server's
// order. A room's entries are numbered 1, 2, 3, ... with no holes, so an answer that skips a
// number is a fault: the page keeps what it has and asks again from its last number. The same
// answer says who is present and who is typing, with a tag for those lists; the next poll
// sends the tag back (people_tag=...), and while the lists stay the same the answer leaves
// them out. While the user types, the poll says so (typing=1), so typing costs no request of
// its own.
//
// A page opened at a message back in history (`state.catchingUp`) shows the window around it;
// what follows the window loads as the reader scrolls: while the end of the log is within a
// screen of the view, the poll asks for what follows the last entry shown (a page of up to
// PAGE_LIMIT), and an answer shorter than a page means the live end is reached, after which
// it polls as ever. Meanwhile the poll still runs every second, for who is present and typing,
// but from the live end (`liveEnd`: the room's latest entry when the page was made, then the
// latest the poll has seen): what it brings is left for the pages to load in order.
import {
  log, roomId, head, textBox, state, setStatus, handleFatal, errorOf, leaveFor, whenStopped,
} from "./page.js";
import { append, caughtUp, lastShown, nearBottom } from "./room-log.js";
import { showPeople } from "./presence.js";

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 15000;
const PAGE_LIMIT = 500;
const TYPING_MS = 3000;
const GAPS_BEFORE_RELOAD = 5;

let inFlight = false;
let pollAgain = false;
let timer = null;
let backoff = POLL_MS;
let gaps = 0; // answers in a row that skipped a number
let liveEnd = head;
let peopleTag = ""; // the tag of the lists of people shown

function schedule(delay) {
  if (state.stopped) return;
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

function isTyping() {
  return textBox.value.trim() !== "" && Date.now() - state.lastTyped < TYPING_MS;
}

async function poll() {
  if (state.stopped) return;
  if (inFlight) {
    pollAgain = true;
    return;
  }
  inFlight = true;
  let delay = POLL_MS;
  // Catching up, the log follows only while its end is near (or the reader sent a message).
  const following = !state.catchingUp || state.pinned || nearBottom() || lastShown() >= liveEnd;
  try {
    const after = following ? lastShown() : liveEnd;
    const url = "/api/rooms/" + roomId + "/messages?after=" + after +
      (isTyping() ? "&typing=1" : "") +
      (peopleTag ? "&people_tag=" + encodeURIComponent(peopleTag) : "");
    const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.ok) {
      const body = await response.json();
      const full = body.messages.length >= PAGE_LIMIT;
      let whole = true;
      if (following) {
        whole = append(body.messages);
        if (whole && state.catchingUp && !full) caughtUp();
      } else if (body.messages.length) {
        liveEnd = body.messages[body.messages.length - 1].id;
      }
      if (body.present) showPeople(body.present, body.typing);
      peopleTag = body.people_tag || "";
      setStatus(null);
      // alerts.js tells of what came (the title count, notifications).
      document.dispatchEvent(new CustomEvent("chatroom:poll", {
        detail: { messages: body.messages, attention: body.attention },
      }));
      // The sidebar (shell.js) refreshes when the lobby's version moves.
      document.dispatchEvent(new CustomEvent("chatroom:lobby-version", { detail: body.lobby }));
      if (whole) {
        gaps = 0;
        backoff = POLL_MS;
        if (full) delay = 0; // more are waiting
      } else if (++gaps >= GAPS_BEFORE_RELOAD) {
        leaveFor(window.location.pathname, "The room's log has a gap. Reloading…");
      } else {
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        delay = backoff / 4; // soon, from the last number shown
      }
    } else if (!handleFatal(response, await errorOf(response))) {
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      delay = backoff;
      setStatus("The server is having trouble. Retrying…");
    }
  } catch (_) {
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    delay = backoff;
    setStatus("Connection lost. Reconnecting…");
  } finally {
    inFlight = false;
  }
  if (pollAgain) {
    pollAgain = false;
    delay = 0;
  }
  schedule(delay);
}

// Polls now, unless the server is struggling (then the backoff decides).
export function pollSoon() {
  if (backoff === POLL_MS) schedule(0);
}

export function start() {
  whenStopped(() => clearTimeout(timer));
  // Catching up, reaching the end of the log asks for what follows at once.
  log.addEventListener("scroll", () => {
    if (state.catchingUp && !inFlight && nearBottom()) pollSoon();
  }, { passive: true });
  poll();
}
