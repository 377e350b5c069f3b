// Mentions in messages: the server wraps each in <span class="mention">@name</span> (the name
// as typed); the ones naming the reader get `mention-me`, so that their own stand out.
import { me } from "./page.js";

const myKey = (me || "").toLowerCase();

// Marks the reader's mentions inside `root` (a message's body, or the whole log at start).
export function markMine(root) {
  if (!root || !myKey) return;
  for (const span of root.querySelectorAll(".mention")) {
    const mine = span.textContent.replace(/^@/, "").toLowerCase() === myKey;
    if (span.classList.contains("mention-me") !== mine) span.classList.toggle("mention-me", mine);
  }
}

// True when a log entry mentions the reader: by the server's list of canonical names, or
// (from a server that does not send one) by its html.
export function mentionsMe(entry) {
  if (!myKey || !entry) return false;
  if (Array.isArray(entry.mentions)) return entry.mentions.some((name) => String(name).toLowerCase() === myKey);
  if (typeof entry.html !== "string") return false;
  const probe = document.createElement("template");
  probe.innerHTML = entry.html;
  return Array.from(probe.content.querySelectorAll(".mention"))
    .some((span) => span.textContent.replace(/^@/, "").toLowerCase() === myKey);
}
