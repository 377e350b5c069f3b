// chatroom's service worker (served at /sw.js, so its scope is the whole site). It keeps the
// app shell (styles, scripts, icons, the offline page) so that a page whose server cannot be
// reached shows a plain offline page rather than the browser's error; it answers navigations
// and static files from the network first (a deploy reaches everyone at once) and the cache
// only when the network fails. It never touches /api: live data is never served stale. It
// also shows web pushes (the server sends them while none of the user's pages is polling)
// and opens the room when one is clicked.
"use strict";

const CACHE = "chatroom-shell-v1";
const OFFLINE = "/offline";
const SHELL = [
  OFFLINE,
  "/manifest.webmanifest",
  "/static/style.css",
  "/static/favicon.svg",
  "/static/favicon-dot.svg",
  "/static/icon-192.png",
  "/static/icon-512.png",
  "/static/install.js",
  "/static/alerts.js",
  "/static/push.js",
  "/static/shell.js",
  "/static/lobby.js",
  "/static/chat.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(async () => (await caches.match(OFFLINE)) || Response.error()));
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(fetch(request).catch(async () => (await caches.match(request)) || Response.error()));
  }
});

// A push's payload: {"room": {"id", "name"}, "author", "excerpt", "id", "url"}.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = { excerpt: event.data ? event.data.text() : "" };
  }
  const room = data.room || {};
  const title = data.author
    ? data.author + (room.name ? " in " + room.name : "")
    : room.name || "chatroom";
  const url = data.url || (room.id ? "/rooms/" + room.id : "/");
  event.waitUntil(self.registration.showNotification(title, {
    body: data.excerpt || "",
    icon: "/static/icon-192.png",
    badge: "/static/icon-192.png",
    tag: room.id ? "room-" + room.id : undefined,
    renotify: Boolean(room.id),
    data: { url: url },
  }));
});

// Focuses a tab of ours (taking it to the room) or opens one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const same = tabs.find((tab) => tab.url === url);
    const tab = same || tabs[0];
    if (tab) {
      await tab.focus();
      if (!same && "navigate" in tab) await tab.navigate(url).catch(() => self.clients.openWindow(url));
      return;
    }
    await self.clients.openWindow(url);
  })());
});
