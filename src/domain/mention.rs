//! `@name` in a message: which accounts it may mention. A mention is `@` and a username (its
//! characters, see `Username`), at the start of the text or after a character that cannot be
//! part of a name (so "bob@example.org" mentions nobody), and is matched by the name's key:
//! `@ALICE` is alice. Which of them are accounts the database decides; the message's HTML wraps
//! those (see `markdown::render_mentioning`), and only those are the message's mentions.

use std::collections::HashMap;
use std::ops::Range;

use super::{Username, name_key};

/// The most distinct names one message may mention: past them, the rest are plain text.
pub const MAX_MENTIONS: usize = 20;

/// The accounts a message's names may mention: name key → the account (id, canonical name).
pub type Accounts = HashMap<String, (i32, String)>;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// One `@name` in a piece of text: where it is (the `@` included), and the names it may be,
/// longest first: "@bob." at the end of a sentence is the account "bob." if there is one, else
/// "bob".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub range: Range<usize>,
    pub names: Vec<String>,
}

/// The `@name`s in `text`, in order.
pub fn candidates(text: &str) -> Vec<Candidate> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts = c == '@' && !previous.is_some_and(|p| is_name_char(p) || p == '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let from = at + 1;
        let mut to = from;
        while let Some(&(i, n)) = chars.peek()
            && is_name_char(n)
        {
            to = i + n.len_utf8();
            previous = Some(n);
            chars.next();
        }
        let run = &text[from..to];
        let trimmed = run.trim_end_matches(['.', '-']);
        let names: Vec<String> = [run, trimmed]
            .into_iter()
            .filter(|name| (Username::MIN_LEN..=Username::MAX_LEN).contains(&name.len()))
            .map(str::to_owned)
            .fold(Vec::new(), |mut names, name| {
                if !names.contains(&name) {
                    names.push(name);
                }
                names
            });
        if !names.is_empty() {
            found.push(Candidate {
                range: at..to,
                names,
            });
        }
    }
    found
}

/// The keys of every name the `@name`s in `text` may be, each once: what to look up.
pub fn keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    if !text.contains('@') {
        return keys;
    }
    for name in candidates(text).into_iter().flat_map(|c| c.names) {
        let key = name_key(&name);
        if !keys.contains(&key) {
            keys.push(key);
        }
        if keys.len() >= 2 * MAX_MENTIONS {
            break;
        }
    }
    keys
}

/// Of a candidate's names, the longest that is an account: its key, and how many bytes of the
/// name it covers.
pub fn resolve<'a>(
    candidate: &Candidate,
    accounts: &'a Accounts,
) -> Option<(usize, &'a (i32, String))> {
    candidate.names.iter().find_map(|name| {
        accounts
            .get(&name_key(name))
            .map(|account| (name.len(), account))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<Vec<String>> {
        candidates(text).into_iter().map(|c| c.names).collect()
    }

    #[test]
    fn a_mention_starts_a_text_or_follows_what_no_name_holds() {
        assert_eq!(names("@alice hi"), vec![vec!["alice"]]);
        assert_eq!(names("hi (@bob)"), vec![vec!["bob"]]);
        assert_eq!(names("write to bob@example.org"), Vec::<Vec<String>>::new());
        assert_eq!(names("@@bob"), Vec::<Vec<String>>::new());
        assert_eq!(
            names("@ab is too short, @ alone nothing"),
            Vec::<Vec<String>>::new()
        );
    }

    #[test]
    fn a_name_ending_a_sentence_may_be_the_name_without_its_stop() {
        assert_eq!(names("thanks @bob."), vec![vec!["bob.", "bob"]]);
        let found = candidates("thanks @bob.");
        let accounts = Accounts::from([("bob".to_owned(), (7, "Bob".to_owned()))]);
        assert_eq!(
            resolve(&found[0], &accounts),
            Some((3, &(7, "Bob".to_owned())))
        );
    }

    #[test]
    fn keys_are_each_name_once_case_folded() {
        assert_eq!(
            keys("@ALICE and @alice and @Bob-"),
            vec!["alice", "bob-", "bob"]
        );
        assert_eq!(keys("no mention here"), Vec::<String>::new());
    }

    #[test]
    fn ranges_cover_the_at_sign_and_the_name() {
        let text = "é @Zoë @zoe_1!";
        let found = candidates(text);
        assert_eq!(found.len(), 1, "@Zo is too short a name");
        assert_eq!(&text[found[0].range.clone()], "@zoe_1");
    }
}
