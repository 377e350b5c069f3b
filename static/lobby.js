// Keeps the lobby's room lists fresh without a reload, touching only what changed: rows are
// added, removed, moved and updated by data-room-id, so a focused link stays the same focused
// element (keyboards and screen readers keep their place). Built with textContent only.
//
// Page 1 is kept fresh by static/shell.js, which fetches /api/lobby when the caller's lobby
// changes and dispatches "chatroom:lobby" with the answer; a later page fetches its own page
// every 5 s. Until shell.js provides the event (or if it never comes), page 1 falls back to
// fetching for itself after 6 s without one.
(function () {
  "use strict";

  const REFRESH_MS = 5000;
  const FALLBACK_AFTER_MS = 6000;
  const lists = {
    active: document.getElementById("active-rooms"),
    others: document.getElementById("other-rooms"),
    direct: document.getElementById("direct-rooms"),
  };
  if (!lists.active) return;
  const headings = {
    active: document.getElementById("active-heading"),
    others: document.getElementById("others-heading"),
    direct: document.getElementById("direct-heading"),
  };
  const empty = document.getElementById("no-rooms");
  const older = document.getElementById("older-rooms");
  const page = Number(document.getElementById("rooms").dataset.page) || 1;

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setHidden(node, hidden) {
    if (node && node.hidden !== hidden) node.hidden = hidden;
  }

  // A new row, shaped as templates/lobby.html's room_item.
  function newRow(room) {
    const li = document.createElement("li");
    li.className = "room";
    li.dataset.roomId = String(room.id);
    const name = document.createElement("span");
    const link = document.createElement("a");
    link.className = "room-link";
    link.href = "/rooms/" + room.id;
    link.setAttribute("data-enter", "");
    name.append(link);
    const meta = document.createElement("span");
    meta.className = "meta";
    li.append(name, " ", meta);
    return li;
  }

  // Brings a row up to date, changing only what differs.
  function update(li, room) {
    const name = li.firstElementChild;
    setText(name.querySelector(".room-link"), room.name);
    let badge = name.querySelector(".unread");
    if (room.unread > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "unread";
        const count = document.createTextNode("");
        const spoken = document.createElement("span");
        spoken.className = "visually-hidden";
        spoken.textContent = " unread";
        badge.append(count, spoken);
        name.append(" ", badge);
      }
      const count = badge.firstChild;
      if (count.nodeValue !== String(room.unread)) count.nodeValue = String(room.unread);
    } else if (badge) {
      if (badge.previousSibling && badge.previousSibling.nodeType === Node.TEXT_NODE) {
        badge.previousSibling.remove();
      }
      badge.remove();
    }
    showMentions(name, room.mentions || 0);
    const who = room.direct ? "direct conversation" : "by " + room.creator;
    setText(li.querySelector(".meta"), who + " · " + room.present + " here");
  }

  // The unread messages that mention the reader: "@2", said as "2 mentions".
  function showMentions(name, mentions) {
    let badge = name.querySelector(".mention-badge");
    if (mentions <= 0) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "mention-badge";
      const at = document.createElement("span");
      at.setAttribute("aria-hidden", "true");
      at.textContent = "@";
      const spoken = document.createElement("span");
      spoken.className = "visually-hidden";
      badge.append(at, document.createTextNode(""), spoken);
      name.append(badge);
    }
    setText(badge.querySelector(".visually-hidden"), mentions === 1 ? " mention" : " mentions");
    const count = badge.childNodes[1];
    if (count.nodeValue !== String(mentions)) count.nodeValue = String(mentions);
    const unread = name.querySelector(".unread");
    // After the unread count, whichever came first.
    if (unread && unread.compareDocumentPosition(badge) & Node.DOCUMENT_POSITION_PRECEDING) {
      unread.after(badge);
    }
  }

  function show(answer) {
    const focused = document.activeElement;
    const rows = new Map();
    for (const list of Object.values(lists)) {
      for (const li of list.querySelectorAll("li.room")) rows.set(li.dataset.roomId, li);
    }
    const groups = { active: [], others: [], direct: [] };
    for (const room of answer.rooms) {
      const group = room.direct ? "direct" : room.present > 0 ? "active" : "others";
      const key = String(room.id);
      const li = rows.get(key) || newRow(room);
      rows.delete(key);
      update(li, room);
      groups[group].push(li);
    }
    // What is left is no longer listed here.
    for (const li of rows.values()) li.remove();
    for (const name of Object.keys(lists)) {
      const list = lists[name];
      groups[name].forEach((li, i) => {
        const there = list.children[i];
        if (there !== li) list.insertBefore(li, there || null);
      });
      while (list.children.length > groups[name].length) list.lastElementChild.remove();
      setHidden(headings[name], groups[name].length === 0);
    }
    setText(headings.others, groups.active.length ? "Other rooms" : "Rooms");
    setHidden(empty, answer.rooms.length > 0);
    setHidden(older, !answer.next);
    // A focused link that moved is the same element: give its focus back.
    if (focused && focused !== document.activeElement && focused.isConnected) {
      focused.focus({ preventScroll: true });
    }
  }

  let fetching = false;

  async function refresh() {
    try {
      const response = await fetch("/api/lobby?page=" + page, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.assign("/login");
        return;
      }
      if (response.ok) show(await response.json());
    } catch (_) {
      // Offline for a moment: the next refresh tries again.
    }
    if (fetching) setTimeout(refresh, REFRESH_MS);
  }

  function fetchForMyself(delay) {
    if (fetching) return;
    fetching = true;
    setTimeout(refresh, delay);
  }

  if (page === 1) {
    let heard = false;
    document.addEventListener("chatroom:lobby", (event) => {
      heard = true;
      fetching = false;
      if (event.detail && Array.isArray(event.detail.rooms)) show(event.detail);
    });
    setTimeout(() => {
      if (!heard) fetchForMyself(0);
    }, FALLBACK_AFTER_MS);
  } else {
    fetchForMyself(REFRESH_MS);
  }
})();
