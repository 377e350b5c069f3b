// Shows times in the reader's own time zone and locale: each <time data-local datetime="...">
// carries UTC from the server (also its text until this runs); the full date is its title.
(function () {
  "use strict";

  const short = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  for (const time of document.querySelectorAll("time[data-local][datetime]")) {
    const at = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    time.textContent = short.format(at);
    time.title = full.format(at);
  }
})();
