// The app shell around every logged-in page: the sidebar of rooms and conversations, the
// drawer it becomes on a phone, and the room links that enter with one click.
//
// Freshness without cost: the room page's poll answer carries the lobby's version (a number
// that moves whenever anyone's lobby may have changed), and chat.js hands it over as a
// "chatroom:lobby-version" event. Only when it moves does this script ask GET /api/lobby, at
// most once every few seconds; an idle server costs no lobby reads at all. Pages without a
// poller ask every REFRESH_MS, hidden too (alerts.js tells of what comes then). Each answer
// updates the sidebar in place (rows kept, focus kept) and goes on to the page as a
// "chatroom:lobby" event.
(function () {
  "use strict";

  const REFRESH_MS = 5000;
  const MIN_GAP_MS = 3000;

  const sidebar = document.getElementById("sidebar");
  if (!sidebar) return;

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const menuButton = document.getElementById("menu-button");
  const backdrop = document.getElementById("drawer-backdrop");
  const lists = {
    rooms: document.getElementById("sidebar-rooms"),
    direct: document.getElementById("sidebar-direct"),
  };
  const directHeading = document.getElementById("sidebar-direct-heading");
  const noRooms = document.getElementById("sidebar-no-rooms");
  const lobbyLink = document.getElementById("sidebar-lobby");
  const current = Number(sidebar.dataset.current) || null;

  let version = sidebar.dataset.version;
  let lastFetch = 0;
  let lastVersionEvent = 0;
  let fetching = false;
  let pending = null;

  // ---- The drawer (phones) ----

  const narrow = window.matchMedia("(max-width: 48rem)");

  function setDrawer(open) {
    document.body.classList.toggle("drawer-open", open);
    menuButton.setAttribute("aria-expanded", String(open));
    backdrop.hidden = !open;
    // Closed on a phone, the drawer is off screen: out of the tab order and the reading order.
    sidebar.inert = narrow.matches && !open;
    if (open) {
      const first = sidebar.querySelector('[aria-current="page"]') || sidebar.querySelector("a");
      if (first) first.focus();
    }
  }

  if (menuButton) {
    menuButton.addEventListener("click", () => {
      setDrawer(!document.body.classList.contains("drawer-open"));
    });
    backdrop.addEventListener("click", () => setDrawer(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && document.body.classList.contains("drawer-open")) {
        setDrawer(false);
        menuButton.focus();
      }
    });
    narrow.addEventListener("change", () => setDrawer(false));
    setDrawer(false);
  }

  // ---- Room links: a plain click enters (a POST, as entering changes where you are) ----

  // `at`: the message to open the room at (a search result's link), or null.
  function enter(roomId, at) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/rooms/" + roomId + "/enter";
    const fields = { csrf_token: csrfToken };
    if (at) fields.at = at;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-enter]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const roomId = Number(link.pathname.split("/").pop());
    if (!roomId) return;
    const at = new URLSearchParams(link.search).get("at");
    // Already inside: the link itself opens the room at the message.
    if (at && roomId === current) return;
    event.preventDefault();
    if (roomId === current) {
      setDrawer(false);
      const box = document.getElementById("text");
      if (box) box.focus();
      return;
    }
    enter(roomId, at);
  });

  // The page's own links in the sidebar say so (the lobby, the account, administration).
  for (const link of sidebar.querySelectorAll(".sidebar-more a, .sidebar-links a")) {
    if (link.pathname === window.location.pathname) link.setAttribute("aria-current", "page");
  }

  // "New room" leads to the lobby's form: its name box takes the focus.
  function focusNewRoom() {
    const name = document.querySelector("#create-room input[name=name]");
    if (window.location.hash === "#create-room" && name) {
      setDrawer(false);
      name.focus();
    }
  }
  window.addEventListener("hashchange", focusNewRoom);
  focusNewRoom();

  // ---- Keeping the list fresh ----

  function byName(a, b) {
    return a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.id - b.id;
  }

  function badge(unread) {
    const span = document.createElement("span");
    span.className = "unread";
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " unread";
    span.append(String(unread), hidden);
    return span;
  }

  // Unread messages that mention the reader: "@2", said as "2 mentions".
  function mentionBadge(mentions) {
    const span = document.createElement("span");
    span.className = "mention-badge";
    const at = document.createElement("span");
    at.setAttribute("aria-hidden", "true");
    at.textContent = "@";
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = mentions === 1 ? " mention" : " mentions";
    span.append(at, String(mentions), hidden);
    return span;
  }

  function newRow(room) {
    const li = document.createElement("li");
    li.dataset.roomId = String(room.id);
    const link = document.createElement("a");
    link.className = "room-link";
    link.href = "/rooms/" + room.id;
    link.dataset.enter = "";
    const name = document.createElement("span");
    name.className = "room-link-name";
    link.append(name);
    if (room.id === current) {
      li.className = "current";
      link.setAttribute("aria-current", "page");
    }
    li.append(link);
    return li;
  }

  // Changes a row only where what it shows changed: a focused link stays the same element.
  function updateRow(li, room) {
    const link = li.querySelector("a");
    const name = link.querySelector(".room-link-name");
    if (name.textContent !== room.name) name.textContent = room.name;
    const unread = room.id === current ? 0 : room.unread;
    const mentions = room.id === current ? 0 : room.mentions || 0;
    const shown = link.querySelector(".unread");
    const count = shown ? shown.firstChild.textContent : "0";
    const shownMentions = link.querySelector(".mention-badge");
    const mentioned = shownMentions ? shownMentions.childNodes[1].textContent : "0";
    if (count === String(unread) && mentioned === String(mentions)) return;
    if (shown) shown.remove();
    if (shownMentions) shownMentions.remove();
    if (unread > 0) link.append(badge(unread));
    if (mentions > 0) link.append(mentionBadge(mentions));
  }

  function fill(list, rooms) {
    const rows = new Map(Array.from(list.children, (li) => [Number(li.dataset.roomId), li]));
    let at = list.firstElementChild;
    for (const room of rooms) {
      let li = rows.get(room.id);
      rows.delete(room.id);
      if (!li) li = newRow(room);
      updateRow(li, room);
      if (li !== at) list.insertBefore(li, at);
      else at = at.nextElementSibling;
    }
    for (const gone of rows.values()) gone.remove();
  }

  function show(answer) {
    const rooms = answer.rooms.filter((room) => !room.direct).sort(byName);
    const direct = answer.rooms.filter((room) => room.direct).sort(byName);
    fill(lists.rooms, rooms);
    fill(lists.direct, direct);
    directHeading.hidden = direct.length === 0;
    noRooms.hidden = rooms.length > 0;
    lobbyLink.textContent = answer.next ? "All rooms in the lobby" : "Lobby";
  }

  async function refresh(seen) {
    if (fetching) return;
    fetching = true;
    lastFetch = Date.now();
    try {
      const response = await fetch("/api/lobby", {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.assign("/login");
        return;
      }
      if (response.ok) {
        const answer = await response.json();
        if (seen !== undefined) version = seen;
        show(answer);
        document.dispatchEvent(new CustomEvent("chatroom:lobby", { detail: answer }));
      }
    } catch (_) {
      // Offline for a moment: the next version or tick tries again.
    } finally {
      fetching = false;
    }
  }

  // A poll brought the lobby's version: fetch if it moved, no sooner than MIN_GAP_MS after
  // the last fetch.
  document.addEventListener("chatroom:lobby-version", (event) => {
    lastVersionEvent = Date.now();
    const seen = String(event.detail);
    if (event.detail === undefined || seen === version || pending) return;
    const wait = Math.max(0, lastFetch + MIN_GAP_MS - Date.now());
    pending = setTimeout(() => {
      pending = null;
      refresh(seen);
    }, wait);
  });

  // Pages without a poller (or a poller that stopped) refresh on a timer, hidden or not: what
  // comes while hidden is what the title count and notifications (alerts.js) tell of.
  setInterval(() => {
    if (Date.now() - lastVersionEvent < REFRESH_MS) return;
    refresh();
  }, REFRESH_MS);
})();
