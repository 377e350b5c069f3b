// The room page: starts its modules in order. page.js holds the elements and shared state,
// room-log.js the log's lines, poller.js the live poll, composer.js the message box and
// send.js the send path, message-actions.js what a message's buttons do, presence.js who is
// here, delete-room.js the room's deletion.
import { log, at, textBox } from "./page.js";
import * as roomLog from "./room-log.js";
import * as composer from "./composer.js";
import * as poller from "./poller.js";
import * as presence from "./presence.js";
import * as messageActions from "./message-actions.js";
import * as deleteRoom from "./delete-room.js";

if (log) {
  roomLog.start();
  composer.start();
  messageActions.start();
  presence.start();
  deleteRoom.start();
  roomLog.scrollToStart();
  // Entering a room is for writing in it; opening it at a message, for reading that one
  // (scrollToStart focused it).
  if (!at) textBox.focus({ preventScroll: true });
  poller.start();
}
