// Keeps the lobby's room lists fresh without a reload: every few seconds it asks GET /api/lobby
// for the page being viewed and rebuilds the lists (with textContent, never innerHTML).
(function () {
  "use strict";

  const REFRESH_MS = 5000;
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
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  function item(room) {
    const li = document.createElement("li");
    li.className = "room";
    li.dataset.roomId = String(room.id);
    const name = document.createElement("span");
    // Entering changes which room the user is in: a form POST, never a link.
    const enter = document.createElement("form");
    enter.method = "post";
    enter.action = "/rooms/" + room.id + "/enter";
    enter.className = "inline";
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrfToken;
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "room-name link-button";
    button.textContent = room.name;
    enter.append(token, button);
    name.append(enter);
    if (room.unread > 0) {
      const unread = document.createElement("span");
      unread.className = "unread";
      unread.title = "unread messages";
      unread.textContent = String(room.unread);
      name.append(" ", unread);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = "by " + room.creator + " · " + room.present + " here";
    li.append(name, " ", meta);
    return li;
  }

  function show(answer) {
    const rooms = answer.rooms;
    const groups = { active: [], others: [], direct: [] };
    for (const room of rooms) {
      const group = room.direct ? "direct" : room.present > 0 ? "active" : "others";
      groups[group].push(item(room));
    }
    for (const name of Object.keys(lists)) {
      lists[name].replaceChildren(...groups[name]);
      headings[name].hidden = groups[name].length === 0;
    }
    headings.others.textContent = groups.active.length ? "Other rooms" : "Rooms";
    empty.hidden = rooms.length > 0;
    older.hidden = !answer.next;
  }

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
    setTimeout(refresh, REFRESH_MS);
  }

  setTimeout(refresh, REFRESH_MS);
})();
