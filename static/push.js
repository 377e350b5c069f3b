// Web push: with notifications on, this browser subscribes to the server's pushes (sent while
// none of the user's pages is open), and unsubscribes when they are turned off. The server's
// key comes from GET /api/push/key; a server without push (404) or a browser without it
// leaves the page's own notifications working as before.
import { csrfToken } from "./page.js";

const SENT_KEY = "chatroom:push-sent";

function headers() {
  return { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken };
}

function bytesOf(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameBytes(a, b) {
  if (!a || !b) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((byte, i) => byte === b[i]);
}

async function registration() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  return navigator.serviceWorker.getRegistration("/");
}

// Subscribes (or keeps the subscription there is) and tells the server, once per session.
// True when the server knows it.
export async function subscribe() {
  const worker = await registration();
  if (!worker) return false;
  const answer = await fetch("/api/push/key", { headers: { Accept: "application/json" } });
  if (!answer.ok) return false;
  const key = bytesOf((await answer.json()).public_key);
  let subscription = await worker.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
    // Made for another key (a new server): of no use now.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    subscription = await worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const { endpoint, keys } = subscription.toJSON();
  const sent = csrfToken + " " + endpoint;
  if (localStorage.getItem(SENT_KEY) === sent) return true;
  const stored = await fetch("/api/push/subscriptions", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ endpoint: endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }),
  });
  if (stored.ok) localStorage.setItem(SENT_KEY, sent);
  return stored.ok;
}

// Ends this browser's subscription, here and on the server.
export async function unsubscribe() {
  localStorage.removeItem(SENT_KEY);
  const worker = await registration();
  const subscription = worker ? await worker.pushManager.getSubscription() : null;
  if (!subscription) return;
  await fetch("/api/push/subscriptions", {
    method: "DELETE",
    headers: headers(),
    body: JSON.stringify({ endpoint: subscription.endpoint }),
  }).catch(() => {});
  await subscription.unsubscribe();
}
