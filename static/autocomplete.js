// Mention autocomplete in the message box: after "@", a list of the room's people (those here
// now first, then the latest authors in the log; in a direct conversation, the other person),
// narrowed by what follows the "@" (case-insensitive prefix). Up and Down move, Enter or Tab
// picks (the box gets "@name "), Escape closes. Screen readers follow it as the ARIA 1.2
// pattern has it: the box has aria-autocomplete="list", aria-controls the listbox and
// aria-activedescendant the active option, and a status line says how many there are.
// (aria-expanded belongs to role=combobox, which a textarea may not take: the listbox's own
// visibility says it is open.) While the list is closed the box's keys are the composer's:
// Enter still sends.
import { log, list, me, textBox, element } from "./page.js";
import { people } from "./presence.js";

const MAX_SHOWN = 8;
const RECENT_AUTHORS = 50; // messages looked back through
const NAME_CHARS = /[A-Za-z0-9_.-]/;

const listbox = document.getElementById("mention-list");
const count = document.getElementById("mention-count");
const myKey = (me || "").toLowerCase();

let open = false;
let options = []; // names shown
let active = 0;
let atSign = -1; // where the "@" is in the box

// The names to offer, best first, each once, never the reader's own.
function candidates() {
  const names = [...people()];
  const lines = list ? list.querySelectorAll("li.message[data-author]") : [];
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - RECENT_AUTHORS; i--) {
    names.push(lines[i].dataset.author);
  }
  if (log && log.dataset.direct === "true") {
    const other = document.getElementById("room-name");
    if (other) names.push(other.textContent.trim());
  }
  const seen = new Set([myKey]);
  return names.filter((name) => {
    const key = name.toLowerCase();
    if (!name || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// The "@" being typed at the caret and what follows it, or null.
function query() {
  if (textBox.selectionStart !== textBox.selectionEnd) return null;
  const before = textBox.value.slice(0, textBox.selectionStart);
  let i = before.length;
  while (i > 0 && NAME_CHARS.test(before[i - 1])) i--;
  if (i === 0 || before[i - 1] !== "@") return null;
  // An "@" inside a word (an e-mail address) starts no mention.
  if (i >= 2 && /[A-Za-z0-9_.-]/.test(before[i - 2])) return null;
  return { at: i - 1, prefix: before.slice(i).toLowerCase() };
}

function optionId(i) {
  return "mention-option-" + i;
}

function setActive(i) {
  active = (i + options.length) % options.length;
  Array.from(listbox.children).forEach((li, n) => {
    li.setAttribute("aria-selected", String(n === active));
  });
  textBox.setAttribute("aria-activedescendant", optionId(active));
  listbox.children[active].scrollIntoView({ block: "nearest" });
}

function close() {
  if (!open) return;
  open = false;
  options = [];
  listbox.hidden = true;
  listbox.replaceChildren();
  textBox.removeAttribute("aria-activedescendant");
  count.textContent = "";
}

function show(names) {
  const same = open && names.length === options.length && names.every((n, i) => n === options[i]);
  if (same) return;
  const keep = open ? options[active] : null;
  options = names;
  listbox.replaceChildren(...names.map((name, i) => {
    const li = element("li", "mention-option", "@" + name);
    li.id = optionId(i);
    li.setAttribute("role", "option");
    li.dataset.name = name;
    return li;
  }));
  listbox.hidden = false;
  open = true;
  setActive(Math.max(0, names.indexOf(keep)));
  count.textContent = names.length === 1 ? "1 person to mention" : names.length + " people to mention";
}

function update() {
  const q = query();
  if (!q) return close();
  const names = candidates().filter((name) => name.toLowerCase().startsWith(q.prefix)).slice(0, MAX_SHOWN);
  if (!names.length) return close();
  atSign = q.at;
  show(names);
}

function pick(name) {
  const value = textBox.value;
  const caret = textBox.selectionStart;
  const text = "@" + name + " ";
  textBox.value = value.slice(0, atSign) + text + value.slice(caret);
  const at = atSign + text.length;
  textBox.setSelectionRange(at, at);
  close();
  // The composer grows the box and counts characters on input.
  textBox.dispatchEvent(new Event("input", { bubbles: true }));
  textBox.focus();
}

function onKeydown(event) {
  if (!open || event.isComposing) return;
  let handled = true;
  if (event.key === "ArrowDown") setActive(active + 1);
  else if (event.key === "ArrowUp") setActive(active - 1);
  else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) pick(options[active]);
  else if (event.key === "Escape") close();
  else handled = false;
  if (handled) {
    event.preventDefault();
    // The composer's own keys (Enter sends, Escape cancels an edit) wait for the list.
    event.stopImmediatePropagation();
  }
}

// Must start before the composer: its keydown listener comes first.
export function start() {
  if (!listbox || !textBox) return;
  textBox.addEventListener("keydown", onKeydown);
  textBox.addEventListener("input", update);
  textBox.addEventListener("click", update);
  textBox.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== textBox) close();
  }, 150));
  // A click picks; pressing does not take the focus from the box.
  listbox.addEventListener("mousedown", (event) => event.preventDefault());
  listbox.addEventListener("click", (event) => {
    const li = event.target.closest("[role=option]");
    if (li) pick(li.dataset.name);
  });
}
