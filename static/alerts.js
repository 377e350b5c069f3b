// Being told while looking elsewhere. While the tab is hidden: the title counts what came
// ("(3) Kitchen · chatroom"), the favicon gets a dot and the app's badge (where supported) the
// count; all three clear when the tab is shown again. With notifications turned on (a button
// in the sidebar asks the browser's permission on click, never on load): a desktop
// notification for each mention of the reader, each direct message and every message in a
// room set to "All messages", both in the room on screen (its poll's messages) and elsewhere
// (the "attention" the poll and the lobby bring); clicking one focuses the tab and opens the
// room. An optional beep (off by default). Choices are kept in localStorage, per user.
//
// It listens to the page: "chatroom:poll" (poller.js: {messages, attention}) and
// "chatroom:lobby" (shell.js: the /api/lobby answer).
import { log, roomId, me } from "./page.js";
import { mentionsMe } from "./mentions.js";
import { level } from "./notify-level.js";
import { subscribe, unsubscribe } from "./push.js";

const ON_KEY = "chatroom:notify:" + me;
const SOUND_KEY = "chatroom:sound:" + me;
const EXCERPT_CHARS = 100;

const panel = document.getElementById("alerts");
const toggle = document.getElementById("notify-toggle");
const soundBox = document.getElementById("notify-sound");
const status = document.getElementById("notify-status");
const icon = document.querySelector('link[rel="icon"]');
const plainIcon = icon ? icon.getAttribute("href") : null;
const title = document.title;
const roomName = (document.getElementById("room-name") || {}).textContent || "";
const direct = Boolean(log && log.dataset.direct === "true");
const supported = "Notification" in window;

let count = 0; // what came while hidden
// The room's latest entry handled: what the page opened with is not news.
let newest = log ? Math.max(Number(log.dataset.lastId) || 0, Number(log.dataset.head) || 0) : 0;
const told = new Set(); // attention items already notified ("room:id")
// The lobby: each room's unread count as last seen, and as it was when the tab was hidden
// (null until an answer has said).
let unread = null;
let unreadWhenHidden = null;
let audio = null;

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch (_) {
    return null;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (_) {
    // Private mode: the choice lasts as long as the page.
  }
}

function enabled() {
  return supported && stored(ON_KEY) === "on" && Notification.permission === "granted";
}

// ---- the title, the favicon and the badge ----

function showCount() {
  const text = count > 0 ? "(" + count + ") " + title : title;
  if (document.title !== text) document.title = text;
  if (icon) {
    const href = count > 0 ? "/static/favicon-dot.svg" : plainIcon;
    if (icon.getAttribute("href") !== href) icon.setAttribute("href", href);
  }
  if (navigator.setAppBadge) {
    const done = count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge();
    done.catch(() => {});
  }
}

function cameWhileHidden(n) {
  if (!document.hidden || n <= 0) return;
  count += n;
  showCount();
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    unreadWhenHidden = unread;
    return;
  }
  count = 0;
  unreadWhenHidden = null;
  showCount();
});

// ---- desktop notifications and the beep ----

function beep() {
  if (stored(SOUND_KEY) !== "on" || !window.AudioContext) return;
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume().catch(() => {});
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.15, audio.currentTime);
    volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch (_) {
    // No sound to be had: the notification is enough.
  }
}

function open(url) {
  window.focus();
  const target = new URL(url, window.location.href);
  // Already in that room: it is on screen now.
  if (target.pathname !== window.location.pathname) window.location.assign(target.href);
}

function notify(heading, body, url, tag) {
  if (!enabled()) return;
  const options = { body: body, tag: tag, icon: "/static/icon-192.png", data: { url: url } };
  try {
    const shown = new Notification(heading, options);
    shown.onclick = () => {
      shown.close();
      open(url);
    };
  } catch (_) {
    // Browsers that show notifications only through the service worker (Android).
    if (navigator.serviceWorker) {
      navigator.serviceWorker.ready.then((r) => r.showNotification(heading, options)).catch(() => {});
    }
  }
  beep();
}

function excerpt(text) {
  const line = String(text || "").split(/\s+/).filter(Boolean).join(" ");
  const chars = Array.from(line);
  return chars.length > EXCERPT_CHARS ? chars.slice(0, EXCERPT_CHARS).join("") + "…" : line;
}

// The poll's and the lobby's "attention": messages elsewhere that call for the reader, each
// handed to this user once.
function attend(attention) {
  if (!attention || !Array.isArray(attention.new)) return;
  const fresh = attention.new.filter((item) => {
    const key = item.room.id + ":" + item.id;
    if (told.has(key)) return false;
    told.add(key);
    return true;
  });
  if (log) cameWhileHidden(fresh.length);
  if (!document.hidden) return;
  for (const item of fresh) {
    // A direct conversation's name is the author's.
    const heading = item.reason === "direct" ? item.author : item.author + " in " + item.room.name;
    notify(heading, item.excerpt, "/rooms/" + item.room.id + "?at=" + item.id, "room-" + item.room.id);
  }
}

// This room's own new messages (on its page).
document.addEventListener("chatroom:poll", (event) => {
  const { messages, attention } = event.detail || {};
  const wanted = level();
  let came = 0;
  for (const entry of messages || []) {
    if (entry.id <= newest) continue;
    newest = entry.id;
    if (entry.kind !== "message" || entry.author === me) continue;
    came++;
    if (!document.hidden) continue;
    if (wanted === "all" || (wanted === "mentions" && mentionsMe(entry))) {
      const heading = direct ? entry.author : entry.author + " in " + roomName;
      // A file sent without a caption is told by its name.
      const said = entry.text || (entry.attachment ? "📎 " + entry.attachment.name : "");
      notify(heading, excerpt(said), "/rooms/" + roomId + "?at=" + entry.id, "room-" + roomId);
    }
  }
  cameWhileHidden(came);
  attend(attention);
});

// The lobby's refresh: its rooms' unread counts make the lobby's own title count.
document.addEventListener("chatroom:lobby", (event) => {
  const answer = event.detail || {};
  if (!log && Array.isArray(answer.rooms)) {
    unread = new Map(answer.rooms.map((room) => [room.id, room.unread || 0]));
    // Hidden before the first answer came: counting starts from this one.
    if (document.hidden && !unreadWhenHidden) unreadWhenHidden = unread;
    if (document.hidden) {
      let came = 0;
      for (const [id, n] of unread) came += Math.max(0, n - (unreadWhenHidden.get(id) || 0));
      if (came !== count) {
        count = came;
        showCount();
      }
    }
  }
  attend(answer.attention);
});

// ---- the sidebar's switches ----

function showSwitches(message) {
  const on = enabled();
  toggle.textContent = on ? "Turn off notifications" : "Turn on notifications";
  if (message !== undefined) status.textContent = message;
}

async function turnOn() {
  const answer = await Notification.requestPermission();
  if (answer !== "granted") {
    showSwitches(answer === "denied"
      ? "This browser blocks notifications from chatroom: allow them in the site's settings."
      : "Notifications stay off.");
    return;
  }
  store(ON_KEY, "on");
  showSwitches("Notifications are on.");
  try {
    await subscribe();
  } catch (_) {
    // No push in this browser: notifications still come while a page is open.
  }
}

async function turnOff() {
  store(ON_KEY, "off");
  showSwitches("Notifications are off.");
  try {
    await unsubscribe();
  } catch (_) {
    // The server forgets it at logout anyway.
  }
}

if (panel && supported) {
  panel.hidden = false;
  soundBox.checked = stored(SOUND_KEY) === "on";
  showSwitches();
  toggle.addEventListener("click", () => (enabled() ? turnOff() : turnOn()));
  soundBox.addEventListener("change", () => {
    store(SOUND_KEY, soundBox.checked ? "on" : "off");
    if (soundBox.checked) beep(); // a sample, and the click lets the page make sounds
  });
  // After a new login the server no longer knows this browser's subscription.
  if (enabled()) subscribe().catch(() => {});
}
