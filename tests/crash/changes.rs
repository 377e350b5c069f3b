//! Edits and reactions in the crash and cluster tests: writers change their own earlier
//! messages while servers are killed, and the checker proves that every acknowledged change is
//! in the log once, that replaying the log gives the state the API shows, and that what each
//! poller ends with (applying the changes it saw, as the page does) is that state too.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;
use reqwest::Method;
use serde_json::{Value, json};

use super::Person;
use super::{Outcome, Post, Stored};

/// What an edit adds to a message's text: the original stays recognisable in the log.
pub(crate) const EDITED: &str = " (edited)";
const EMOJI: &str = "👍";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Edit,
    React,
    Unreact,
}

/// A change a writer asked for, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub target: i64,
    pub kind: ChangeKind,
    pub outcome: Outcome,
}

/// A writer's own acknowledged message, and what it has done to it so far.
#[derive(Debug, Clone)]
pub(crate) struct Mine {
    id: i64,
    text: String,
    edited: bool,
    reacted: bool,
    unreacted: bool,
}

impl Mine {
    pub(crate) fn new(id: i64, text: &str) -> Self {
        Self {
            id,
            text: text.to_owned(),
            edited: false,
            reacted: false,
            unreacted: false,
        }
    }
}

/// Sometimes changes one of the writer's earlier messages (each at most once per kind, so that
/// "in the log once" can be checked), retrying a lost answer as a client would.
pub(crate) async fn maybe_change(
    client: &Person,
    room: i32,
    mine: &mut [Mine],
    rng: &mut StdRng,
) -> Option<Change> {
    if mine.is_empty() || rng.random_range(0..3) != 0 {
        return None;
    }
    let i = rng.random_range(0..mine.len());
    let m = &mut mine[i];
    let (kind, method, path, body) = match rng.random_range(0..3) {
        0 if !m.edited => {
            m.edited = true;
            let text = format!("{}{EDITED}", m.text);
            (
                ChangeKind::Edit,
                Method::PATCH,
                format!("/api/rooms/{room}/messages/{}", m.id),
                Some(json!({ "text": text })),
            )
        }
        1 if !m.reacted => {
            m.reacted = true;
            (
                ChangeKind::React,
                Method::POST,
                format!("/api/rooms/{room}/messages/{}/reactions", m.id),
                Some(json!({ "emoji": EMOJI })),
            )
        }
        2 if m.reacted && !m.unreacted => {
            m.unreacted = true;
            let emoji = "%F0%9F%91%8D";
            (
                ChangeKind::Unreact,
                Method::DELETE,
                format!("/api/rooms/{room}/messages/{}/reactions/{emoji}", m.id),
                None,
            )
        }
        _ => return None,
    };
    let mut outcome = Outcome::Unknown;
    for _ in 0..20 {
        let mut request = client
            .http
            .request(method.clone(), client.url(&path))
            .header("X-CSRF-Token", client.csrf.as_deref().unwrap_or_default());
        if let Some(body) = &body {
            request = request.json(body);
        }
        outcome = match request.send().await {
            Ok(res) if res.status().is_success() => Outcome::Acknowledged(m.id),
            Ok(res) if res.status().is_client_error() => Outcome::Refused(res.status().as_u16()),
            _ => Outcome::Unknown,
        };
        if !matches!(outcome, Outcome::Unknown) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    Some(Change {
        target: m.id,
        kind,
        outcome,
    })
}

/// A message as its changes leave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    pub text: String,
    pub edited: bool,
    pub reactions: BTreeSet<(String, String)>,
}

/// Every message's state after replaying each room's stored log in order.
pub(crate) fn replay(stored: &[Stored]) -> HashMap<(i32, i64), State> {
    let mut states: HashMap<(i32, i64), State> = HashMap::new();
    for e in stored {
        let id = i64::from(e.id);
        let target = e.target.map(i64::from);
        match e.kind.as_str() {
            // The row holds the message's current text: its edits set it again below, and
            // the first text is what the post sent (the edit's text without its suffix).
            "message" => {
                let original = e.body.strip_suffix(EDITED).unwrap_or(&e.body).to_owned();
                states.insert(
                    (e.room_id, id),
                    State {
                        text: original,
                        ..State::default()
                    },
                );
            }
            kind => {
                let Some(state) = target.and_then(|t| states.get_mut(&(e.room_id, t))) else {
                    continue;
                };
                match kind {
                    "edited" => {
                        state.text = e.body.clone();
                        state.edited = true;
                    }
                    "reacted" => {
                        state.reactions.insert((e.body.clone(), e.author.clone()));
                    }
                    "unreacted" => {
                        state.reactions.remove(&(e.body.clone(), e.author.clone()));
                    }
                    _ => {}
                }
            }
        }
    }
    states
}

/// A message's state as an entry of the API shows it.
pub(crate) fn state_of(entry: &Value) -> State {
    let mut reactions = BTreeSet::new();
    for r in entry["reactions"].as_array().into_iter().flatten() {
        for who in r["by"].as_array().into_iter().flatten() {
            reactions.insert((
                r["emoji"].as_str().unwrap_or_default().to_owned(),
                who.as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    State {
        text: entry["text"].as_str().unwrap_or_default().to_owned(),
        edited: entry["edited"].as_bool().unwrap_or(false),
        reactions,
    }
}

/// Every acknowledged change is in the log once (an unknown one at most once, a refused one
/// never), an unreaction after its reaction; and each message's stored text is what its
/// changes replay to.
pub(crate) fn check_changes(posts: &[Post], stored: &[Stored]) -> (Vec<String>, usize) {
    let mut anomalies = Vec::new();
    let mut entries: HashMap<(i32, i64, &str), Vec<&Stored>> = HashMap::new();
    for e in stored {
        if let Some(target) = e.target {
            entries
                .entry((e.room_id, i64::from(target), e.kind.as_str()))
                .or_default()
                .push(e);
        }
    }
    let mut acknowledged = 0;
    for post in posts {
        let Some(change) = &post.change else {
            continue;
        };
        let kind = match change.kind {
            ChangeKind::Edit => "edited",
            ChangeKind::React => "reacted",
            ChangeKind::Unreact => "unreacted",
        };
        let found = entries
            .get(&(post.room, change.target, kind))
            .map_or(0, Vec::len);
        let reacted = entries
            .get(&(post.room, change.target, "reacted"))
            .map_or(0, Vec::len);
        let ok = match (&change.outcome, change.kind) {
            // Taking back a reaction that never landed changes nothing.
            (Outcome::Acknowledged(_), ChangeKind::Unreact) => found == reacted,
            (Outcome::Acknowledged(_), _) => found == 1,
            (Outcome::Unknown, _) => found <= 1,
            (Outcome::Refused(_), _) => found == 0,
        };
        if matches!(change.outcome, Outcome::Acknowledged(_)) {
            acknowledged += 1;
        }
        if !ok {
            anomalies.push(format!(
                "{kind} of message {} in room {} ({:?}) is in the log {found} times",
                change.target, post.room, change.outcome
            ));
        }
    }
    for ((room, target, kind), list) in &entries {
        if *kind == "unreacted"
            && let Some(reactions) = entries.get(&(*room, *target, "reacted"))
            && list.iter().zip(reactions).any(|(u, r)| u.id < r.id)
        {
            anomalies.push(format!(
                "message {target} in room {room} unreacted before reacted"
            ));
        }
    }
    let replayed = replay(stored);
    for e in stored.iter().filter(|e| e.kind == "message") {
        let state = &replayed[&(e.room_id, i64::from(e.id))];
        if state.text != e.body {
            anomalies.push(format!(
                "message {} in room {} holds {:?}, its log replays to {:?}",
                e.id, e.room_id, e.body, state.text
            ));
        }
    }
    (anomalies, acknowledged)
}

/// What a reader polling each room from the start is shown, compared with the replayed log.
pub(crate) async fn check_api_state(
    reader: &mut Person,
    rooms: &[i32],
    stored: &[Stored],
) -> Vec<String> {
    let replayed = replay(stored);
    let mut anomalies = Vec::new();
    for &room in rooms {
        reader.enter(room).await;
        let mut after = 0;
        loop {
            let entries = reader.entries_after(room, after).await;
            let Some(last) = entries.last() else {
                break;
            };
            after = last["id"].as_i64().unwrap_or(after);
            for e in entries.iter().filter(|e| e["kind"] == "message") {
                let id = e["id"].as_i64().unwrap_or_default();
                let expected = replayed.get(&(room, id)).cloned().unwrap_or_default();
                let shown = state_of(e);
                if shown != expected {
                    anomalies.push(format!(
                        "room {room} message {id}: the API shows {shown:?}, the log replays to \
                         {expected:?}"
                    ));
                }
            }
        }
    }
    anomalies
}

/// Applies a change entry a poller saw to what it has shown, as the page does: an edit
/// replaces the text of the message it names.
pub(crate) fn apply_seen(seen: &mut [(i64, String, String, String)], entry: &Value) {
    if entry["kind"] != "edited" {
        return;
    }
    let target = entry["target"].as_i64();
    if let Some(shown) = seen
        .iter_mut()
        .find(|s| Some(s.0) == target && s.1 == "message")
    {
        shown.3 = entry["text"].as_str().unwrap_or_default().to_owned();
    }
}
