// Times and days, in the reader's locale and time zone.

export function formatTime(date) {
  return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

export function fullDate(date) {
  return date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
}

// The local calendar day, as a key that compares equal for the same day.
export function dayKey(date) {
  return date.getFullYear() + "-" + (date.getMonth() + 1) + "-" + date.getDate();
}

export function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return "Today";
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  const options = { weekday: "long", month: "long", day: "numeric" };
  if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return date.toLocaleDateString([], options);
}

export function localizeTime(el) {
  const date = new Date(el.getAttribute("datetime"));
  const text = formatTime(date);
  if (el.textContent !== text) el.textContent = text;
  const title = fullDate(date);
  if (el.title !== title) el.title = title;
}
