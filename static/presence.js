// Who is here and who is typing: the DOM changes only when what they show changes.
import { presenceLine, typingLine, me, csrfToken, element } from "./page.js";

let presenceShown = null;
let typingShown = "";
let present = [];

// Who the last poll said is here (mention autocomplete offers them first).
export function people() {
  return present;
}

export function showPeople(here, typing) {
  present = here;
  const key = JSON.stringify(here);
  if (key !== presenceShown) {
    presenceShown = key;
    const people = document.createDocumentFragment();
    here.forEach((name, i) => {
      if (i > 0) people.append(", ");
      const person = element("span", "person", name);
      if (name !== me) {
        const button = element("button", "direct link-button", "Message");
        button.type = "button";
        button.dataset.user = name;
        button.title = "Start a private conversation with " + name;
        button.append(element("span", "visually-hidden", " " + name));
        person.append(" ", button);
      }
      people.append(person);
    });
    presenceLine.replaceChildren(people);
  }
  const others = typing.filter((name) => name !== me);
  const text = others.length === 0 ? ""
    : others.length === 1 ? others[0] + " is typing…"
    : others.join(", ") + " are typing…";
  if (text !== typingShown) {
    typingShown = text;
    typingLine.textContent = text;
  }
}

function openDirect(username) {
  const direct = document.createElement("form");
  direct.method = "post";
  direct.action = "/direct";
  for (const [name, value] of [["csrf_token", csrfToken], ["username", username]]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    direct.append(input);
  }
  document.body.append(direct);
  direct.submit();
}

export function start() {
  presenceLine.addEventListener("click", (event) => {
    const button = event.target.closest(".direct");
    if (button) openDirect(button.dataset.user);
  });
}
