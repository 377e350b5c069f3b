//! Presence and typing shared by several servers on one PostgreSQL database. Each server
//! keeps its own `MemoryPresence`, which answers every poll as on a single server; this
//! wrapper also notes what others must hear at once (someone arrived, began or stopped
//! typing, left, moved, logged out) for `chat::background`'s sync to write in one batch twice
//! a second, keeps the set of people whose pages poll this server, which the sync writes as
//! one row every `HEARTBEAT`, and takes in what the others wrote. No poll waits on the
//! database, and someone who stays costs nothing more: presence costs a row per server per
//! heartbeat, and one per change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::lock;
use super::presence::{
    Heard, MemoryPresence, PRESENCE_TIMEOUT, PeopleJson, Presence, Snapshot, TYPING_TIMEOUT,
};
use crate::clock::{Clock, millis};
use crate::models::presence_rows::{PackedSet, PresenceRow, PresenceSet};

/// How often a server writes its set of people: well inside `PRESENCE_TIMEOUT`, so that a
/// server that saw none of their polls keeps them present.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// What this server last wrote of a user, and when it last saw them poll.
struct Written {
    username: String,
    room_id: Option<i32>,
    typing_until_ms: i64,
    /// Their last poll here (or, once gone, when they went), in Unix milliseconds.
    seen_ms: i64,
}

#[derive(Default)]
struct Journal {
    written: HashMap<i32, Written>,
    /// To write at the next sync, the latest per user.
    pending: HashMap<i32, PresenceRow>,
}

impl Journal {
    fn note(&mut self, row: PresenceRow) {
        self.pending.insert(row.user_id, row.clone());
        self.saw(row);
    }

    /// Someone new here whom the others already know of: an entry for the set, and no row.
    fn saw(&mut self, row: PresenceRow) {
        self.written.insert(
            row.user_id,
            Written {
                username: row.username,
                room_id: row.room_id,
                typing_until_ms: row.typing_until_ms,
                seen_ms: row.at_ms,
            },
        );
    }

    /// A row saying the user is gone from every room, as of `at_ms`.
    fn gone(&mut self, user_id: i32, at_ms: i64) {
        let username = self
            .written
            .get(&user_id)
            .map(|w| w.username.clone())
            .unwrap_or_default();
        self.note(PresenceRow {
            user_id,
            username,
            room_id: None,
            at_ms,
            typing_until_ms: 0,
        });
    }
}

pub struct SharedPresence {
    local: MemoryPresence,
    clock: Arc<dyn Clock>,
    journal: Mutex<Journal>,
    /// What this server's set row is known by (`server_id`): drawn at start.
    server_id: i64,
    sets: Mutex<Sets>,
}

/// The sets written and read.
#[derive(Default)]
struct Sets {
    /// When this server's set was last taken to be written, in Unix milliseconds.
    taken_ms: i64,
    /// Each other server's set as last taken in, by when it was written: a set read again
    /// (within the read's slack) is skipped.
    heard_ms: HashMap<i64, i64>,
}

impl SharedPresence {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            local: MemoryPresence::new(clock.clone()),
            clock,
            journal: Mutex::default(),
            server_id: rand::random(),
            sets: Mutex::default(),
        }
    }

    /// What this server's set is known by in the database.
    pub fn server_id(&self) -> i64 {
        self.server_id
    }

    /// What the other servers must hear, since the last call; and forgets, of what it wrote,
    /// whoever has not been seen for longer than presence lasts.
    pub fn take_pending(&self) -> Vec<PresenceRow> {
        let now_ms = self.clock.unix_millis();
        let mut journal = lock(&self.journal);
        let timeout = millis(PRESENCE_TIMEOUT);
        journal.written.retain(|_, w| now_ms - w.seen_ms < timeout);
        journal.pending.drain().map(|(_, row)| row).collect()
    }

    /// Every `HEARTBEAT`, the people whose pages poll this server, with their last poll here.
    /// None between heartbeats. Packed as it is stored, while the polls wait for the journal:
    /// no allocation per person (at 40,000, cloning each name held them 7-10 ms).
    pub fn take_set(&self) -> Option<PackedSet> {
        let now_ms = self.clock.unix_millis();
        {
            let mut sets = lock(&self.sets);
            if now_ms - sets.taken_ms < millis(HEARTBEAT) {
                return None;
            }
            sets.taken_ms = now_ms;
        }
        let timeout = millis(PRESENCE_TIMEOUT);
        let journal = lock(&self.journal);
        let mut set = PackedSet::with_capacity(journal.written.len());
        for (&user_id, w) in &journal.written {
            if let Some(room_id) = w.room_id
                && now_ms - w.seen_ms < timeout
            {
                set.push(user_id, room_id, w.seen_ms, w.typing_until_ms, &w.username);
            }
        }
        Some(set)
    }

    /// Takes in the sets other servers wrote, but those already taken in.
    pub fn heard_sets(&self, sets: &[PresenceSet]) {
        for set in sets {
            let new = lock(&self.sets)
                .heard_ms
                .insert(set.server_id, set.written_ms)
                .is_none_or(|before| before != set.written_ms);
            if new {
                self.heard(&set.rows);
            }
        }
    }

    /// Puts back rows a failed write did not store, unless newer ones came meanwhile.
    pub fn give_back(&self, rows: Vec<PresenceRow>) {
        let mut journal = lock(&self.journal);
        for row in rows {
            journal.pending.entry(row.user_id).or_insert(row);
        }
    }

    /// Takes in what other servers wrote.
    pub fn heard(&self, rows: &[PresenceRow]) {
        let (now, now_ms) = (self.clock.now(), self.clock.unix_millis());
        // Their times in Unix milliseconds, as this server's monotonic clock reads them.
        let at = |ms: i64| {
            let ago = Duration::from_millis(u64::try_from(now_ms - ms).unwrap_or(0));
            now.checked_sub(ago).unwrap_or(now)
        };
        let heard: Vec<Heard> = rows
            .iter()
            .map(|row| Heard {
                user_id: row.user_id,
                username: row.username.clone(),
                room_id: row.room_id,
                at: at(row.at_ms),
                typing_until: (row.typing_until_ms > row.at_ms).then(|| {
                    let ahead = u64::try_from(row.typing_until_ms - now_ms).unwrap_or(0);
                    match row.typing_until_ms > now_ms {
                        true => now + Duration::from_millis(ahead),
                        false => at(row.typing_until_ms),
                    }
                }),
            })
            .collect();
        self.local.observe(&heard);
    }
}

#[async_trait]
impl Presence for SharedPresence {
    async fn polled(&self, room_id: i32, user_id: i32, username: &str, typing: bool) -> bool {
        let arrived = self.local.polled(room_id, user_id, username, typing).await;
        let now_ms = self.clock.unix_millis();
        let mut journal = lock(&self.journal);
        let last = journal.written.get(&user_id);
        let typing_until_ms = match (typing, last) {
            (true, _) => now_ms + millis(TYPING_TIMEOUT),
            (false, Some(w)) if w.room_id == Some(room_id) => w.typing_until_ms,
            (false, _) => 0,
        };
        // Someone who stays is not written again: the set carries them. Nor is someone new
        // to this server whom the others already show in this room (behind a proxy that
        // spreads a person's polls, each server meets everyone): the set will carry them too.
        let due = match last {
            None => arrived || typing,
            Some(w) => {
                w.room_id != Some(room_id)
                    || now_ms - w.seen_ms >= millis(PRESENCE_TIMEOUT)
                    // Began typing, or types on past what the others were told.
                    || (typing && w.typing_until_ms - now_ms < millis(TYPING_TIMEOUT) / 2)
            }
        };
        let row = || PresenceRow {
            user_id,
            username: username.to_owned(),
            room_id: Some(room_id),
            at_ms: now_ms,
            typing_until_ms,
        };
        match (due, journal.written.get_mut(&user_id)) {
            (true, _) => journal.note(row()),
            (false, Some(w)) => w.seen_ms = now_ms,
            (false, None) => journal.saw(row()),
        }
        arrived
    }

    async fn snapshot(&self, room_id: i32) -> Snapshot {
        self.local.snapshot(room_id).await
    }

    async fn people_json(&self, room_id: i32, newcomer: Option<&str>) -> PeopleJson {
        self.local.people_json(room_id, newcomer).await
    }

    async fn sent(&self, room_id: i32, user_id: i32) {
        let was_typing = self.local.stop_typing(room_id, user_id);
        let now_ms = self.clock.unix_millis();
        let mut journal = lock(&self.journal);
        let Some(written) = journal.written.get_mut(&user_id) else {
            return;
        };
        // Not carried on by the set; and told at once only to those shown them typing.
        written.typing_until_ms = 0;
        if was_typing {
            let username = written.username.clone();
            journal.note(PresenceRow {
                user_id,
                username,
                room_id: Some(room_id),
                at_ms: now_ms,
                typing_until_ms: 0,
            });
        }
    }

    async fn left(&self, room_id: i32, user_id: i32) {
        self.local.left(room_id, user_id).await;
        lock(&self.journal).gone(user_id, self.clock.unix_millis());
    }

    async fn moved(&self, user_id: i32, to: Option<i32>) {
        self.local.moved(user_id, to).await;
        let now_ms = self.clock.unix_millis();
        let mut journal = lock(&self.journal);
        let username = journal.written.get(&user_id).map(|w| w.username.clone());
        match (to, username) {
            // Into another room: there from now on, as their next poll will say anyway.
            (Some(room_id), Some(username)) => journal.note(PresenceRow {
                user_id,
                username,
                room_id: Some(room_id),
                at_ms: now_ms,
                typing_until_ms: 0,
            }),
            _ => journal.gone(user_id, now_ms),
        }
    }

    async fn logged_out(&self, user_id: i32) {
        self.local.logged_out(user_id).await;
        lock(&self.journal).gone(user_id, self.clock.unix_millis());
    }

    async fn forget_room(&self, room_id: i32) {
        // Every server hears of a deleted room through its catch-up, which calls this.
        self.local.forget_room(room_id).await;
    }

    async fn counts(&self) -> HashMap<i32, usize> {
        self.local.counts().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn shared() -> (SharedPresence, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (SharedPresence::new(clock.clone()), clock)
    }

    /// The set due at this heartbeat, as the others read it back.
    fn set_of(presence: &SharedPresence) -> Option<Vec<PresenceRow>> {
        let set = presence.take_set()?;
        Some(set.rows().expect("a whole set"))
    }

    #[actix_web::test]
    async fn a_change_is_written_at_once_and_someone_who_stays_only_in_the_servers_set() {
        let (presence, clock) = shared();
        let first_set = set_of(&presence).expect("a set at start");
        assert!(first_set.is_empty());
        presence.polled(1, 7, "bob", false).await;
        let rows = presence.take_pending();
        assert_eq!(rows.len(), 1, "the arrival");
        assert_eq!((rows[0].room_id, rows[0].typing_until_ms), (Some(1), 0));

        clock.advance(Duration::from_secs(1));
        presence.polled(1, 7, "bob", false).await;
        assert!(presence.take_pending().is_empty(), "nothing new to say");
        presence.polled(1, 7, "bob", true).await;
        let rows = presence.take_pending();
        assert!(
            rows[0].typing_until_ms > clock.unix_millis(),
            "typing, at once"
        );
        assert!(set_of(&presence).is_none(), "not before the heartbeat");

        // Staying past heartbeats costs no row of their own: the set carries their last poll.
        for _ in 0..3 {
            clock.advance(HEARTBEAT);
            presence.polled(1, 7, "bob", false).await;
            assert!(presence.take_pending().is_empty(), "no row of bob's own");
            let set = set_of(&presence).expect("the heartbeat's set");
            assert_eq!(set.len(), 1);
            assert_eq!(
                (set[0].user_id, set[0].room_id, set[0].at_ms),
                (7, Some(1), clock.unix_millis())
            );
        }

        presence.left(1, 7).await;
        assert_eq!(presence.take_pending()[0].room_id, None, "gone, at once");
        clock.advance(HEARTBEAT);
        assert!(set_of(&presence).unwrap().is_empty(), "and out of the set");
    }

    #[actix_web::test]
    async fn someone_the_others_already_show_here_costs_no_row_on_arrival_but_joins_the_set() {
        let (presence, clock) = shared();
        set_of(&presence);
        let now = clock.unix_millis();
        let seen = |room_id| PresenceRow {
            user_id: 7,
            username: "bob".into(),
            room_id: Some(room_id),
            at_ms: now,
            typing_until_ms: 0,
        };
        presence.heard(&[seen(1)]);
        presence.polled(1, 7, "bob", false).await;
        assert!(
            presence.take_pending().is_empty(),
            "the others know already"
        );
        clock.advance(HEARTBEAT);
        let set = set_of(&presence).unwrap();
        assert_eq!((set.len(), set[0].room_id), (1, Some(1)));

        // In another room than the one they were heard in, or typing: written at once.
        presence.polled(2, 7, "bob", false).await;
        assert_eq!(presence.take_pending()[0].room_id, Some(2));
        let (presence, _) = shared();
        presence.heard(&[seen(1)]);
        presence.polled(1, 7, "bob", true).await;
        assert_eq!(presence.take_pending().len(), 1, "began typing");
    }

    #[actix_web::test]
    async fn a_message_sent_tells_the_others_only_when_they_were_shown_typing() {
        let (presence, clock) = shared();
        presence.polled(1, 7, "bob", false).await;
        presence.take_pending();
        presence.sent(1, 7).await;
        assert!(presence.take_pending().is_empty(), "nobody saw bob typing");

        presence.polled(1, 7, "bob", true).await;
        presence.take_pending();
        presence.sent(1, 7).await;
        let rows = presence.take_pending();
        assert_eq!(rows.len(), 1, "bob stopped typing");
        assert_eq!(rows[0].typing_until_ms, 0);
        clock.advance(HEARTBEAT);
        set_of(&presence);
        clock.advance(HEARTBEAT);
        assert_eq!(
            set_of(&presence).unwrap()[0].typing_until_ms,
            0,
            "the set does not carry the typing on"
        );
        assert!(presence.snapshot(1).await.0.typing.is_empty());
    }

    #[actix_web::test]
    async fn someone_in_another_servers_set_stays_while_it_is_written_and_goes_after() {
        let (presence, clock) = shared();
        let set = |written_ms, at_ms| PresenceSet {
            server_id: 42,
            written_ms,
            rows: vec![PresenceRow {
                user_id: 7,
                username: "bob".into(),
                room_id: Some(1),
                at_ms,
                typing_until_ms: 0,
            }],
        };
        let start = clock.unix_millis();
        presence.heard_sets(&[set(start, start)]);
        for _ in 0..5 {
            clock.advance(HEARTBEAT);
            let now = clock.unix_millis();
            presence.heard_sets(&[set(now, now)]);
            assert_eq!(presence.snapshot(1).await.0.present, ["bob"]);
        }
        // Read again (a set within the read's slack) it changes nothing; once the server stops
        // writing it, bob goes when presence times out after his last poll there.
        let last = clock.unix_millis();
        clock.advance(PRESENCE_TIMEOUT - Duration::from_secs(1));
        presence.heard_sets(&[set(last, last)]);
        assert_eq!(presence.snapshot(1).await.0.present, ["bob"]);
        clock.advance(Duration::from_secs(1));
        assert!(presence.snapshot(1).await.0.present.is_empty());
    }

    #[actix_web::test]
    async fn what_others_saw_shows_here_and_a_departure_there_removes_only_older_sightings() {
        let (presence, clock) = shared();
        let now = clock.unix_millis();
        let row = |user_id, username: &str, room_id, at_ms| PresenceRow {
            user_id,
            username: username.into(),
            room_id,
            at_ms,
            typing_until_ms: 0,
        };
        presence.heard(&[row(7, "bob", Some(1), now), row(8, "carol", Some(1), now)]);
        assert_eq!(presence.snapshot(1).await.0.present, ["bob", "carol"]);

        clock.advance(Duration::from_secs(1));
        // carol polls here after she was reported gone as of a moment ago: she stays.
        presence.polled(1, 8, "carol", false).await;
        presence.heard(&[row(7, "", None, now + 500), row(8, "", None, now + 500)]);
        assert_eq!(presence.snapshot(1).await.0.present, ["carol"]);

        // A sighting older than presence lasts is ignored.
        clock.advance(PRESENCE_TIMEOUT);
        presence.heard(&[row(9, "dave", Some(2), now)]);
        assert!(presence.snapshot(2).await.0.present.is_empty());
    }
}
