// The room page: starts its modules in order. page.js holds the elements and shared state,
// room-log.js the log's lines, poller.js the live poll, composer.js the message box and
// send.js the send path of messages, uploads.js that of files, autocomplete.js its mention
// list, message-actions.js what a message's buttons do, presence.js who is here,
// notify-level.js how loud the room is, mentions.js the reader's own mentions,
// delete-room.js the room's deletion. (alerts.js, for
// every page of the app, tells of what comes while the tab is hidden.)
import { log, at, textBox } from "./page.js";
import * as roomLog from "./room-log.js";
import * as composer from "./composer.js";
import { startFiles } from "./uploads.js";
import * as poller from "./poller.js";
import * as presence from "./presence.js";
import * as messageActions from "./message-actions.js";
import * as deleteRoom from "./delete-room.js";
import * as autocomplete from "./autocomplete.js";
import * as notifyLevel from "./notify-level.js";
import { markMine } from "./mentions.js";

if (log) {
  roomLog.start();
  markMine(log);
  // Before the composer: an open mention list takes Enter, Tab and Escape first.
  autocomplete.start();
  composer.start();
  startFiles();
  notifyLevel.start();
  messageActions.start();
  presence.start();
  deleteRoom.start();
  roomLog.scrollToStart();
  // Entering a room is for writing in it; opening it at a message, for reading that one
  // (scrollToStart focused it).
  if (!at) textBox.focus({ preventScroll: true });
  poller.start();
}
