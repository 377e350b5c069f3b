//! Who is present in which room and who is typing there: an interface, and the in-memory
//! implementation that one instance uses. Presence costs no database write: a page that polls
//! a room is present in it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::lock;
use crate::clock::Clock;

/// A user counts as present in a room while their page polls it.
pub const PRESENCE_TIMEOUT: Duration = Duration::from_secs(15);
/// "is typing" lasts this long after the last poll that said so.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(4);

/// A room's people, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPresence {
    pub present: Vec<String>,
    pub typing: Vec<String>,
}

/// A room's people, and the JSON a poll answer carries for them, made once per snapshot.
pub type Snapshot = Arc<(RoomPresence, Listed)>;

/// The `"present":[...],"typing":[...]` part of a poll's answer, and its tag: 16 hex digits
/// of a hash of those bytes. A page that sends back the tag it has (`people_tag`) is answered
/// without the lists while they stay the same, which a busy room's list makes worth it (400
/// names are 5 KB in every answer, every second). The tag depends only on the lists, so
/// servers behind one proxy agree on it.
///
/// Both forms of the answer's part are made with the snapshot, so that a poll only picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub tag: String,
    /// `"present":[...],"typing":[...],"people_tag":"..."`
    pub full: String,
    /// `"people_tag":"..."`, for a page that shows the lists already.
    pub tag_only: String,
}

impl Listed {
    /// From `json`, `"present":[...],"typing":[...]`.
    fn new(json: &str) -> Self {
        use std::hash::{DefaultHasher, Hasher};
        let mut hasher = DefaultHasher::new();
        hasher.write(json.as_bytes());
        let tag = format!("{:016x}", hasher.finish());
        let tag_only = format!("\"people_tag\":\"{tag}\"");
        Self {
            full: format!("{json},{tag_only}"),
            tag,
            tag_only,
        }
    }

    /// The part of the answer to a page that shows the lists tagged `shown`.
    pub fn for_page(&self, shown: Option<&str>) -> &str {
        match shown == Some(self.tag.as_str()) {
            true => &self.tag_only,
            false => &self.full,
        }
    }

    /// `"present":[...],"typing":[...]`
    fn lists(&self) -> &str {
        &self.full[..self.full.len() - self.tag_only.len() - 1]
    }
}

/// The people part of one poll's answer.
pub enum PeopleJson {
    /// The room's snapshot, shared by its pollers.
    Shared(Snapshot),
    /// The snapshot with a newcomer added, for the newcomer's own answer.
    Own(Listed),
}

impl PeopleJson {
    pub fn listed(&self) -> &Listed {
        match self {
            Self::Shared(snapshot) => &snapshot.1,
            Self::Own(listed) => listed,
        }
    }
}

/// Presence and typing. Async, so that several instances can share it through a store.
#[async_trait]
pub trait Presence: Send + Sync {
    /// The user's page polled the room, typing or not. True if they just arrived.
    async fn polled(&self, room_id: i32, user_id: i32, username: &str, typing: bool) -> bool;
    /// Who is present and typing; an arrival or someone beginning to type shows to others
    /// within `DIRTY_SNAPSHOT_AGE`.
    async fn snapshot(&self, room_id: i32) -> Snapshot;
    /// The same, as a poll's answer carries it, with `newcomer` among the present even if the
    /// snapshot is older than their arrival: someone sees themselves from their first poll.
    async fn people_json(&self, room_id: i32, newcomer: Option<&str>) -> PeopleJson;
    /// The user's message arrived: they are no longer typing it.
    async fn sent(&self, room_id: i32, user_id: i32);
    /// Gone at once: they left the room.
    async fn left(&self, room_id: i32, user_id: i32);
    /// Gone at once from every room but `to`: they entered another room or left.
    async fn moved(&self, user_id: i32, to: Option<i32>);
    /// Gone at once from every room: they logged out.
    async fn logged_out(&self, user_id: i32);
    /// The room was deleted.
    async fn forget_room(&self, room_id: i32);
    /// How many people are present in each room that has any.
    async fn counts(&self) -> HashMap<i32, usize>;
}

/// What another server saw of one user (see `MemoryPresence::observe`).
#[derive(Debug, Clone)]
pub struct Heard {
    pub user_id: i32,
    pub username: String,
    /// The room their page polls, or none: they left, moved away or logged out.
    pub room_id: Option<i32>,
    /// When it was so, on this server's clock.
    pub at: Instant,
    pub typing_until: Option<Instant>,
}

struct Seen {
    username: String,
    last_poll: Instant,
    typing_until: Option<Instant>,
}

/// Presence in this process's memory.
pub struct MemoryPresence {
    clock: Arc<dyn Clock>,
    people: Mutex<People>,
    /// Each room's last answer, reused until the room's people change: a busy room's list
    /// is not rebuilt for every one of its pollers, nor every moment.
    snapshots: Mutex<HashMap<i32, Built>>,
}

#[derive(Default)]
struct People {
    rooms: HashMap<i32, HashMap<i32, Seen>>,
    /// Each room's last change, numbered from one count for all rooms. A snapshot built
    /// while a change came in is kept as stale: it was read before the change.
    versions: HashMap<i32, u64>,
    changes: u64,
}

impl People {
    fn changed(&mut self, room_id: i32) {
        self.changes += 1;
        self.versions.insert(room_id, self.changes);
    }

    fn version(&self, room_id: i32) -> u64 {
        self.versions.get(&room_id).copied().unwrap_or(0)
    }
}

/// A room's snapshot and how long it holds.
struct Built {
    at: Instant,
    snapshot: Snapshot,
    /// Someone arrived or began to type since it was read.
    dirty: bool,
    /// When the first of its people would time out or stop typing, if they did nothing.
    until: Instant,
}

/// How old a stale snapshot may grow before it is rebuilt: when a busy room's pages all open
/// together, its list is rebuilt a few times, not once per arrival. Pages poll once a second:
/// three in four of the others see an arrival on the poll that would have shown it at once,
/// the rest one poll later. (At 50 ms, rebuilding 100 rooms of 400 people took a twelfth of
/// the server's time while 10,000 pages opened together.)
const DIRTY_SNAPSHOT_AGE: Duration = Duration::from_millis(250);

impl MemoryPresence {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            people: Mutex::default(),
            snapshots: Mutex::default(),
        }
    }

    fn polled_now(&self, room_id: i32, user_id: i32, username: &str, typing: bool) -> bool {
        let now = self.clock.now();
        let mut people = lock(&self.people);
        let room = people.rooms.entry(room_id).or_default();
        let arrived = room
            .get(&user_id)
            .is_none_or(|seen| now - seen.last_poll >= PRESENCE_TIMEOUT);
        let seen = room.entry(user_id).or_insert_with(|| Seen {
            username: username.to_owned(),
            last_poll: now,
            typing_until: None,
        });
        seen.last_poll = now;
        let began_typing = typing && seen.typing_until.is_none_or(|until| until <= now);
        if typing {
            seen.typing_until = Some(now + TYPING_TIMEOUT);
        }
        if arrived || began_typing {
            people.changed(room_id);
            drop(people);
            if let Some(built) = lock(&self.snapshots).get_mut(&room_id) {
                built.dirty = true;
            }
        }
        arrived
    }

    /// A snapshot holds until someone leaves, sends, times out or stops typing; an arrival
    /// or someone beginning to type shows within `DIRTY_SNAPSHOT_AGE`. (Rebuilding it for
    /// every arrival would cost a busy room's whole list per newcomer when everyone's page
    /// opens at once, after a restart: `people_json` adds the newcomer instead.)
    fn snapshot_now(&self, room_id: i32) -> Snapshot {
        let now = self.clock.now();
        if let Some(built) = lock(&self.snapshots).get(&room_id)
            && now < built.until
            && !(built.dirty && now - built.at >= DIRTY_SNAPSHOT_AGE)
        {
            return built.snapshot.clone();
        }
        let (people, until, version) = self.read_room(room_id, now);
        self.keep(room_id, people, now, until, version)
    }

    /// Makes and keeps the snapshot of what `read_room` read at `at`.
    fn keep(
        &self,
        room_id: i32,
        people: RoomPresence,
        at: Instant,
        until: Instant,
        version: u64,
    ) -> Snapshot {
        let json = format!(
            "\"present\":{},\"typing\":{}",
            serde_json::to_string(&people.present).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&people.typing).unwrap_or_else(|_| "[]".into()),
        );
        let snapshot = Arc::new((people, Listed::new(&json)));
        // In the order every change takes them: a change either came before this check and
        // shows in the version, or comes after it and finds this snapshot to mark or drop.
        let people = lock(&self.people);
        let mut snapshots = lock(&self.snapshots);
        let built = Built {
            at,
            snapshot: snapshot.clone(),
            dirty: people.version(room_id) != version,
            until,
        };
        snapshots.insert(room_id, built);
        snapshot
    }

    /// Takes in what other servers saw (see `SharedPresence`): a poll there counts as one
    /// here, and someone gone there (left, moved away, logged out) is gone here unless they
    /// polled here since. Someone is in one room at a time: being seen in one takes them out
    /// of the others where they were last seen before.
    pub fn observe(&self, heard: &[Heard]) {
        let now = self.clock.now();
        let mut people = lock(&self.people);
        let mut changed = Vec::new();
        for h in heard {
            // Most of what comes is a heartbeat from the room where they are here too: only
            // news of a move needs the walk through every room.
            let already_there = h.room_id.is_some_and(|room_id| {
                people
                    .rooms
                    .get(&room_id)
                    .is_some_and(|room| room.contains_key(&h.user_id))
            });
            for (&room_id, room) in people.rooms.iter_mut().filter(|_| !already_there) {
                if Some(room_id) != h.room_id
                    && room
                        .get(&h.user_id)
                        .is_some_and(|seen| seen.last_poll <= h.at)
                {
                    room.remove(&h.user_id);
                    changed.push(room_id);
                }
            }
            let Some(room_id) = h.room_id else { continue };
            if now.saturating_duration_since(h.at) >= PRESENCE_TIMEOUT {
                continue;
            }
            let room = people.rooms.entry(room_id).or_default();
            match room.get_mut(&h.user_id) {
                Some(seen) => {
                    let typing_before = seen.typing_until.filter(|&t| t > now);
                    if h.at >= seen.last_poll {
                        // Newer than anything seen here: it says whether they type.
                        seen.last_poll = h.at;
                        seen.typing_until = h.typing_until;
                    } else if h.typing_until > seen.typing_until {
                        seen.typing_until = h.typing_until;
                    }
                    if typing_before != seen.typing_until.filter(|&t| t > now) {
                        changed.push(room_id);
                    }
                }
                None => {
                    room.insert(
                        h.user_id,
                        Seen {
                            username: h.username.clone(),
                            last_poll: h.at,
                            typing_until: h.typing_until,
                        },
                    );
                    changed.push(room_id);
                }
            }
        }
        changed.sort_unstable();
        changed.dedup();
        let mut snapshots = lock(&self.snapshots);
        for room_id in changed {
            people.changed(room_id);
            snapshots.remove(&room_id);
        }
    }

    /// The user's message arrived: they no longer type it. True if this server showed them
    /// typing (from their polls here, or what other servers wrote); only then did the room's
    /// people change.
    pub fn stop_typing(&self, room_id: i32, user_id: i32) -> bool {
        let now = self.clock.now();
        let mut people = lock(&self.people);
        let was_typing = people
            .rooms
            .get_mut(&room_id)
            .and_then(|room| room.get_mut(&user_id))
            .and_then(|seen| seen.typing_until.take())
            .is_some_and(|until| until > now);
        if was_typing {
            self.changed(&mut people, room_id);
        }
        was_typing
    }

    /// Runs `change` on everyone's presence, counts it as a change of the room's people, and
    /// drops the room's snapshot.
    fn change(&self, room_id: i32, change: impl FnOnce(&mut People)) {
        let mut people = lock(&self.people);
        change(&mut people);
        self.changed(&mut people, room_id);
    }

    /// Counts a change of the room's people, and drops its snapshot (with `people` held, so
    /// that no snapshot built before the change is kept after it).
    fn changed(&self, people: &mut People, room_id: i32) {
        people.changed(room_id);
        lock(&self.snapshots).remove(&room_id);
    }

    fn remove_everywhere(&self, user_id: i32, except: Option<i32>) {
        let mut people = lock(&self.people);
        let mut snapshots = lock(&self.snapshots);
        let mut left = Vec::new();
        for (room_id, room) in &mut people.rooms {
            if Some(*room_id) != except && room.remove(&user_id).is_some() {
                left.push(*room_id);
            }
        }
        for room_id in left {
            people.changed(room_id);
            snapshots.remove(&room_id);
        }
    }

    /// The room's people as of `now`, the first moment that could change by itself, and the
    /// room's version.
    fn read_room(&self, room_id: i32, now: Instant) -> (RoomPresence, Instant, u64) {
        let mut until = now + PRESENCE_TIMEOUT;
        let mut people = lock(&self.people);
        let version = people.version(room_id);
        let Some(room) = people.rooms.get_mut(&room_id) else {
            return (RoomPresence::default(), until, version);
        };
        room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
        let mut present = Vec::with_capacity(room.len());
        let mut typing = Vec::new();
        for seen in room.values() {
            present.push(seen.username.clone());
            until = until.min(seen.last_poll + PRESENCE_TIMEOUT);
            if let Some(typing_until) = seen.typing_until.filter(|&t| t > now) {
                typing.push(seen.username.clone());
                until = until.min(typing_until);
            }
        }
        present.sort_unstable();
        typing.sort_unstable();
        (RoomPresence { present, typing }, until, version)
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn polled(&self, room_id: i32, user_id: i32, username: &str, typing: bool) -> bool {
        self.polled_now(room_id, user_id, username, typing)
    }

    async fn snapshot(&self, room_id: i32) -> Snapshot {
        self.snapshot_now(room_id)
    }

    async fn people_json(&self, room_id: i32, newcomer: Option<&str>) -> PeopleJson {
        let snapshot = self.snapshot_now(room_id);
        let Some(name) = newcomer else {
            return PeopleJson::Shared(snapshot);
        };
        match snapshot
            .0
            .present
            .binary_search_by(|p| p.as_str().cmp(name))
        {
            Ok(_) => PeopleJson::Shared(snapshot),
            Err(index) => match splice_present(snapshot.1.lists(), index, name) {
                Some(json) => PeopleJson::Own(Listed::new(&json)),
                None => PeopleJson::Shared(snapshot),
            },
        }
    }

    async fn sent(&self, room_id: i32, user_id: i32) {
        self.stop_typing(room_id, user_id);
    }

    async fn left(&self, room_id: i32, user_id: i32) {
        self.change(room_id, |people| {
            if let Some(room) = people.rooms.get_mut(&room_id) {
                room.remove(&user_id);
            }
        });
    }

    async fn moved(&self, user_id: i32, to: Option<i32>) {
        self.remove_everywhere(user_id, to);
    }

    async fn logged_out(&self, user_id: i32) {
        self.remove_everywhere(user_id, None);
    }

    async fn forget_room(&self, room_id: i32) {
        self.change(room_id, |people| {
            people.rooms.remove(&room_id);
        });
    }

    async fn counts(&self) -> HashMap<i32, usize> {
        let now = self.clock.now();
        let mut people = lock(&self.people);
        people.rooms.retain(|_, room| {
            room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
            !room.is_empty()
        });
        people
            .rooms
            .iter()
            .map(|(id, room)| (*id, room.len()))
            .collect()
    }
}

/// `json` (`"present":[...],...`) with `name` as the present list's element `index`, made
/// without rebuilding the list: the bytes before it, the name, the bytes after.
fn splice_present(json: &str, index: usize, name: &str) -> Option<String> {
    const START: &str = "\"present\":[";
    let name = serde_json::to_string(name).ok()?;
    let bytes = json.as_bytes();
    let mut at = START.len();
    if !json.starts_with(START) {
        return None;
    }
    // Walk to the start of element `index`, or to the list's end, outside strings.
    let (mut element, mut in_string, mut escaped) = (0, false, false);
    let end = loop {
        let b = *bytes.get(at)?;
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' if element == index => break false,
                b'"' => in_string = true,
                b',' => element += 1,
                b']' => break true,
                _ => {}
            }
        }
        at += 1;
    };
    let mut out = String::with_capacity(json.len() + name.len() + 1);
    out.push_str(&json[..at]);
    match (end, at == START.len()) {
        (true, false) => {
            out.push(',');
            out.push_str(&name);
        }
        (true, true) => out.push_str(&name),
        (false, _) => {
            out.push_str(&name);
            out.push(',');
        }
    }
    out.push_str(&json[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn presence() -> (MemoryPresence, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (MemoryPresence::new(clock.clone()), clock)
    }

    #[actix_web::test]
    async fn a_polling_user_is_present_and_typing_until_they_send() {
        let (presence, _) = presence();
        presence.polled(1, 10, "bob", false).await;
        presence.polled(1, 11, "alice", true).await;
        let now = presence.snapshot(1).await;
        assert_eq!(now.0.present, ["alice", "bob"]);
        assert_eq!(now.0.typing, ["alice"]);
        presence.sent(1, 11).await;
        assert!(presence.snapshot(1).await.0.typing.is_empty());
        assert_eq!(presence.counts().await.get(&1), Some(&2));
    }

    #[actix_web::test]
    async fn presence_and_typing_time_out() {
        let (presence, clock) = presence();
        presence.polled(1, 10, "bob", true).await;
        clock.advance(TYPING_TIMEOUT);
        let later = presence.snapshot(1).await;
        assert_eq!(later.0.present, ["bob"]);
        assert!(later.0.typing.is_empty(), "typing lasts {TYPING_TIMEOUT:?}");
        clock.advance(PRESENCE_TIMEOUT);
        assert!(presence.snapshot(1).await.0.present.is_empty());
        assert!(presence.counts().await.is_empty());
    }

    #[actix_web::test]
    async fn someone_who_arrives_sees_themselves_in_their_first_answer() {
        let (presence, _) = presence();
        presence.polled(1, 10, "bob", false).await;
        presence.snapshot(1).await;
        let arrived = presence.polled(1, 11, "alice", false).await;
        assert!(arrived);
        let hers = presence.people_json(1, Some("alice")).await;
        assert_eq!(
            hers.listed().lists(),
            r#""present":["alice","bob"],"typing":[]"#
        );
        assert!(!presence.polled(1, 11, "alice", false).await, "not again");
        let bobs = presence.people_json(1, None).await;
        assert_eq!(
            bobs.listed().lists(),
            r#""present":["bob"],"typing":[]"#,
            "others see her a moment later"
        );
    }

    #[actix_web::test]
    async fn the_tag_follows_the_lists_whichever_server_made_them() {
        let (here, clock) = presence();
        let there = MemoryPresence::new(clock.clone());
        for presence in [&here, &there] {
            presence.polled(1, 10, "bob", false).await;
        }
        let bob_alone = here.people_json(1, None).await.listed().clone();
        assert_eq!(bob_alone.tag.len(), 16);
        assert_eq!(there.people_json(1, None).await.listed(), &bob_alone);

        // Alice's own answer splices her in; the list rebuilt later is the same, and so is
        // its tag.
        here.polled(1, 11, "alice", false).await;
        let hers = here.people_json(1, Some("alice")).await.listed().clone();
        assert_ne!(hers.tag, bob_alone.tag);
        clock.advance(DIRTY_SNAPSHOT_AGE);
        assert_eq!(here.people_json(1, None).await.listed(), &hers);

        // Typing is part of what the tag covers.
        here.polled(1, 11, "alice", true).await;
        clock.advance(DIRTY_SNAPSHOT_AGE);
        assert_ne!(here.people_json(1, None).await.listed().tag, hers.tag);
    }

    #[test]
    fn a_newcomer_is_spliced_into_the_list_in_order() {
        let json = r#""present":["b,\"x","d"],"typing":["d"]"#;
        assert_eq!(
            splice_present(json, 0, "a").as_deref(),
            Some(r#""present":["a","b,\"x","d"],"typing":["d"]"#)
        );
        assert_eq!(
            splice_present(json, 1, "c").as_deref(),
            Some(r#""present":["b,\"x","c","d"],"typing":["d"]"#)
        );
        assert_eq!(
            splice_present(json, 2, "e").as_deref(),
            Some(r#""present":["b,\"x","d","e"],"typing":["d"]"#)
        );
        assert_eq!(
            splice_present(r#""present":[],"typing":[]"#, 0, "a").as_deref(),
            Some(r#""present":["a"],"typing":[]"#)
        );
    }

    #[actix_web::test]
    async fn a_snapshot_holds_until_the_room_changes() {
        let (presence, clock) = presence();
        presence.polled(1, 10, "bob", false).await;
        let first = presence.snapshot(1).await;
        presence.polled(1, 10, "bob", false).await;
        assert!(
            Arc::ptr_eq(&first, &presence.snapshot(1).await),
            "the same people: the same snapshot"
        );
        assert_eq!(first.1.lists(), r#""present":["bob"],"typing":[]"#);

        presence.polled(1, 11, "alice", true).await;
        assert_eq!(
            presence.snapshot(1).await.0.present,
            ["bob"],
            "others see an arrival a moment later"
        );
        clock.advance(DIRTY_SNAPSHOT_AGE);
        let arrived = presence.snapshot(1).await;
        assert_eq!(arrived.0.present, ["alice", "bob"]);
        assert_eq!(arrived.0.typing, ["alice"]);

        presence.sent(1, 11).await;
        assert!(
            presence.snapshot(1).await.0.typing.is_empty(),
            "sending shows at once"
        );
        presence.left(1, 10).await;
        assert_eq!(
            presence.snapshot(1).await.0.present,
            ["alice"],
            "so does leaving"
        );
    }

    #[actix_web::test]
    async fn a_change_while_a_snapshot_is_built_is_not_lost() {
        let (presence, clock) = presence();
        presence.polled(1, 10, "bob", false).await;
        let now = clock.now();
        let (people, until, version) = presence.read_room(1, now);
        // Alice arrives after the room was read, before its snapshot is kept.
        presence.polled(1, 11, "alice", false).await;
        let kept = presence.keep(1, people, now, until, version);
        assert_eq!(kept.0.present, ["bob"]);
        clock.advance(DIRTY_SNAPSHOT_AGE);
        assert_eq!(presence.snapshot(1).await.0.present, ["alice", "bob"]);
    }

    #[actix_web::test]
    async fn leaving_or_logging_out_removes_at_once() {
        let (presence, _) = presence();
        presence.polled(1, 10, "bob", false).await;
        presence.polled(2, 10, "bob", false).await;
        presence.left(1, 10).await;
        assert!(presence.snapshot(1).await.0.present.is_empty());
        presence.logged_out(10).await;
        assert!(presence.snapshot(2).await.0.present.is_empty());
        assert!(presence.counts().await.is_empty());
    }
}
