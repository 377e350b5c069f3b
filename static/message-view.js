// One message's parts on the page, built and changed in place: its body, the "(edited)"
// mark, the quoted message it answers, its reactions and its actions. The live entries and
// the first render (templates/room.html) have the same shape.
//
// A message may carry a file (`attachment`): an image shows inline at its thumbnail's size,
// reserved before it loads, and opens full size in a new tab; any other file is a card with
// its name and size that downloads it. A message with only a file has no text to show.
//
// A message's body is the server's `html`, inserted as HTML: the server renders it once from
// the Markdown subset and cleans it with ammonia's allowlist (no scripts, no event handlers,
// links only to http, https and mailto), and that allowlist is the safety here. Everything
// else (names, raw text, excerpts, emoji) is set with textContent.
import { me, isCreator, element } from "./page.js";
import { markMine } from "./mentions.js";

const EXCERPT_CHARS = 100;

// The start of a message's text as a reply quotes it, by the server's rule: on one line, at
// most 100 characters.
export function excerpt(text) {
  const oneLine = text.split(/\s+/).filter(Boolean).join(" ");
  return Array.from(oneLine).slice(0, EXCERPT_CHARS).join("");
}

export function byId(list, id) {
  return list.querySelector('li[data-id="' + id + '"][data-kind="message"]');
}

function button(className, text, id) {
  const el = element("button", className, text);
  el.type = "button";
  el.tabIndex = -1;
  if (id !== undefined) el.dataset.id = String(id);
  return el;
}

function setBody(li, entry) {
  const body = li.querySelector(".text");
  const empty = entry.text === "";
  if (body.hidden !== empty) body.hidden = empty;
  if (entry.html !== undefined) {
    body.innerHTML = entry.html.trim();
    markMine(body);
  } else {
    body.replaceChildren(element("p", null, entry.text));
  }
  if (entry.author === me) li.dataset.text = entry.text;
}

function markEdited(li) {
  if (li.querySelector(".edited")) return;
  li.querySelector(".head").append(element("span", "edited", "(edited)"));
}

// ---- a message's file: the same markup and numbers as templates/room.html and its view
// (src/templates.rs: AttachmentView, fit_thumbnail, human_size) ----

const IMAGE_BOX = [1200, 800];

// An image's size scaled down (never up) to fit the thumbnail box, in whole pixels.
export function fitThumbnail(width, height) {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const [maxW, maxH] = IMAGE_BOX;
  if (w <= maxW && h <= maxH) return [w, h];
  if (w * maxH >= h * maxW) return [maxW, Math.max(1, Math.floor((2 * h * maxW + w) / (2 * w)))];
  return [Math.max(1, Math.floor((2 * w * maxH + h) / (2 * h))), maxH];
}

// "100 bytes", "1.5 KiB", "12 KiB", "3.2 MiB".
export function humanSize(bytes) {
  if (bytes < 1024) return bytes === 1 ? "1 byte" : bytes + " bytes";
  const names = ["KiB", "MiB", "GiB"];
  let unit = 1024;
  let at = 0;
  while (at + 1 < names.length && bytes >= unit * 1024) {
    unit *= 1024;
    at++;
  }
  const tenths = Math.floor((bytes * 10 + unit / 2) / unit);
  if (tenths < 100 && tenths % 10 !== 0) return Math.floor(tenths / 10) + "." + (tenths % 10) + " " + names[at];
  return Math.floor((bytes + unit / 2) / unit) + " " + names[at];
}

const SVG = "http://www.w3.org/2000/svg";

function fileIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "file-icon");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M6 2.5h8.5l4.5 4.5v14.5h-13z M14.5 2.5v4.5h4.5");
  svg.append(path);
  return svg;
}

function attachmentOf(file) {
  const link = element("a", "attachment-link");
  link.href = file.url;
  link.tabIndex = -1;
  if (file.thumbnail_url && file.width && file.height) {
    const [width, height] = fitThumbnail(file.width, file.height);
    link.target = "_blank";
    link.rel = "noopener";
    const img = document.createElement("img");
    img.src = file.thumbnail_url;
    img.width = width;
    img.height = height;
    img.loading = "lazy";
    img.alt = file.name;
    link.append(img, element("span", "visually-hidden", " (full size, opens in a new tab)"));
    const box = element("div", "attachment image");
    box.append(link);
    return box;
  }
  link.classList.add("file-card");
  link.download = file.name;
  const about = element("span", "file-about");
  about.append(element("span", "visually-hidden", "Download "), element("span", "file-name", file.name),
    " ", element("span", "file-size", humanSize(file.size)));
  link.append(fileIcon(), about);
  const box = element("div", "attachment file");
  box.append(link);
  return box;
}

// The quote above a reply: a button that leads to the message it answers.
function quote(reply) {
  const el = button("reply-quote", undefined);
  el.dataset.replyTo = String(reply.id);
  el.append(element("span", "visually-hidden", "Reply to "), element("span", "reply-author", reply.author), " ");
  el.append(reply.excerpt === ""
    ? element("span", "reply-excerpt gone", "deleted message")
    : element("span", "reply-excerpt", reply.excerpt));
  return el;
}

function actionsFor(entry) {
  const actions = element("div", "actions");
  actions.append(button("reply-message", "Reply", entry.id));
  const react = button("react-message", undefined, entry.id);
  react.title = "Add reaction";
  react.setAttribute("aria-haspopup", "true");
  react.setAttribute("aria-expanded", "false");
  react.append(element("span", "react-icon", "☺+"), element("span", "visually-hidden", "Add reaction"));
  react.firstChild.setAttribute("aria-hidden", "true");
  actions.append(react);
  if (entry.author === me) actions.append(button("edit-message", "Edit", entry.id));
  if (entry.author === me || isCreator) actions.append(button("delete-message", "Delete", entry.id));
  return actions;
}

// Beside the name of a bot or a webhook (templates/bot_tag.html draws the same): read once,
// as "(bot)", while the capitals are only for the eye.
export function botTag() {
  const tag = element("span", "bot-tag");
  const shown = element("span", null, "BOT");
  shown.setAttribute("aria-hidden", "true");
  tag.append(shown, element("span", "visually-hidden", "(bot)"));
  return tag;
}

// The line of a message entry (kind "message"), without its time (the log adds that).
export function renderMessage(entry, time) {
  const li = document.createElement("li");
  li.className = "message" + (entry.deleted ? " deleted" : "");
  li.dataset.id = String(entry.id);
  li.dataset.kind = "message";
  li.dataset.author = entry.author;
  li.tabIndex = -1;
  if (entry.reply_to) li.append(quote(entry.reply_to));
  const head = element("div", "head");
  head.append(element("span", "author", entry.author));
  if (entry.bot) head.append(" ", botTag());
  head.append(" ", time);
  li.append(head, element("div", "text"));
  if (entry.deleted) {
    li.querySelector(".text").textContent = "message deleted";
    return li;
  }
  setBody(li, entry);
  if (entry.attachment) li.append(attachmentOf(entry.attachment));
  if (entry.edited) markEdited(li);
  li.append(element("div", "reactions"));
  setReactions(li, entry.reactions || []);
  li.append(actionsFor(entry));
  return li;
}

// ---- changes to a message already shown: each is idempotent, and a deleted message takes none ----

export function applyEdit(li, entry) {
  if (!li || li.classList.contains("deleted")) return;
  setBody(li, entry);
  markEdited(li);
}

function reactionButton(emoji) {
  const el = button("reaction", undefined);
  el.dataset.emoji = emoji;
  el.append(element("span", "emoji", emoji), " ", element("span", "count", ""));
  return el;
}

function whoOf(el) {
  try {
    return JSON.parse(el.dataset.by || "[]");
  } catch (_) {
    return [];
  }
}

// Shows who reacted with `emoji` ("👍 2", pressed when one of them is the reader); none: gone.
function showReaction(li, emoji, by) {
  const row = li.querySelector(".reactions");
  if (!row) return;
  let el = Array.from(row.children).find((b) => b.dataset.emoji === emoji);
  if (by.length === 0) {
    if (el) {
      if (el === document.activeElement) li.focus({ preventScroll: true });
      el.remove();
    }
    return;
  }
  if (!el) {
    el = reactionButton(emoji);
    row.append(el);
  }
  const key = JSON.stringify(by);
  if (el.dataset.by === key) return;
  el.dataset.by = key;
  el.querySelector(".count").textContent = String(by.length);
  el.title = by.join(", ");
  const mine = by.includes(me);
  el.setAttribute("aria-pressed", String(mine));
  el.classList.toggle("mine", mine);
}

// Sets the whole list, as a message read from the server carries it.
export function setReactions(li, reactions) {
  const row = li.querySelector(".reactions");
  if (!row || li.classList.contains("deleted")) return;
  const wanted = new Map(reactions.map((r) => [r.emoji, r.by]));
  Array.from(row.children).forEach((el) => {
    if (!wanted.has(el.dataset.emoji)) showReaction(li, el.dataset.emoji, []);
  });
  reactions.forEach((r) => showReaction(li, r.emoji, r.by));
}

export function reactors(li, emoji) {
  const el = li && Array.from(li.querySelectorAll(".reaction")).find((b) => b.dataset.emoji === emoji);
  return el ? whoOf(el) : [];
}

export function addReaction(li, emoji, author) {
  if (!li || li.classList.contains("deleted")) return;
  const by = reactors(li, emoji);
  if (!by.includes(author)) showReaction(li, emoji, by.concat([author]));
}

export function removeReaction(li, emoji, author) {
  if (!li || li.classList.contains("deleted")) return;
  showReaction(li, emoji, reactors(li, emoji).filter((name) => name !== author));
}

export function markDeleted(li) {
  if (!li) return;
  li.classList.add("deleted");
  const text = li.querySelector(".text");
  text.replaceChildren("message deleted");
  text.hidden = false;
  delete li.dataset.text;
  // The file goes with its message: nothing of it stays in the page.
  for (const part of li.querySelectorAll(".actions, .reactions, .edited, .reaction-picker, .attachment")) {
    if (part.contains(document.activeElement)) li.focus({ preventScroll: true });
    part.remove();
  }
}

// The quotes of replies to message `id` follow its text: the server's excerpt rule, applied
// to the new text ("" when it was deleted).
export function updateQuotes(list, id, text) {
  const quotes = list.querySelectorAll('.reply-quote[data-reply-to="' + id + '"] .reply-excerpt');
  const quoted = excerpt(text);
  quotes.forEach((el) => {
    const gone = quoted === "";
    const shown = gone ? "deleted message" : quoted;
    if (el.textContent !== shown) el.textContent = shown;
    el.classList.toggle("gone", gone);
  });
}

// What a message says, as plain text: the raw text for the reader's own, else what shows.
export function textOf(li) {
  if (li.dataset.text !== undefined) return li.dataset.text;
  return li.querySelector(".text").textContent.trim();
}
