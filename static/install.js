// Makes chatroom an installable app: registers the service worker (/sw.js, the whole site as
// its scope), which keeps the app shell for an offline page and shows web pushes. Every page
// loads this; a browser without service workers simply stays a web page.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // Not over https (or refused): the site works as before, without the offline page.
    });
  });
})();
