//! What someone searches for (`SearchQuery`: words parsed once, at the edge), and the folding
//! that makes a search blind to case and accents: both databases index a message's folded text
//! (`fold`) and look for the folded terms in it, so SQLite and PostgreSQL match the same
//! messages by construction, and the page marks the same places.

use std::ops::Range;

use icu_casemap::CaseMapper;
use icu_normalizer::DecomposingNormalizerBorrowed;

/// The shortest term the index can look up: both indexes are made of three-character pieces.
pub const MIN_TERM_CHARS: usize = 3;
/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most terms one query may have: each one is a lookup, and the cost must stay bounded.
pub const MAX_TERMS: usize = 32;

/// A search, parsed: its terms (folded, each once) and the author it is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    raw: String,
    terms: Vec<String>,
    author: Option<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchQueryError {
    /// No term has `MIN_TERM_CHARS` characters.
    TooShort,
    /// Over `MAX_QUERY_CHARS` characters, or over `MAX_TERMS` terms.
    TooLong,
}

impl SearchQuery {
    /// Words apart by white space; `from:NAME` (any case) names the author, the last one
    /// counting; every other word is a term that each message found must contain. Nothing in
    /// a term is an operator: quotes, `*`, `-`, `AND`, `%`, `_` are characters to find.
    pub fn parse(raw: &str) -> Result<Self, SearchQueryError> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchQueryError::TooLong);
        }
        let mut terms: Vec<String> = Vec::new();
        let mut author = None;
        for word in raw.split_whitespace() {
            if let Some(name) = author_of(word) {
                author = Some(name.to_owned());
                continue;
            }
            let term: String = fold(word).chars().filter(|c| !c.is_control()).collect();
            if !term.is_empty() && !terms.contains(&term) {
                terms.push(term);
            }
        }
        if terms.len() > MAX_TERMS {
            return Err(SearchQueryError::TooLong);
        }
        if !terms.iter().any(|t| t.chars().count() >= MIN_TERM_CHARS) {
            return Err(SearchQueryError::TooShort);
        }
        Ok(Self {
            raw: raw.trim().to_owned(),
            terms,
            author,
        })
    }

    /// The query as it was typed (trimmed), for showing it again.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Every term, folded.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The terms the index can look up (`MIN_TERM_CHARS` or more characters); at least one.
    pub fn indexed_terms(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() >= MIN_TERM_CHARS)
            .map(String::as_str)
    }

    /// The terms too short for the index, matched in the text itself.
    pub fn short_terms(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() < MIN_TERM_CHARS)
            .map(String::as_str)
    }

    /// The author's name as typed after `from:`.
    pub fn author(&self) -> Option<&str> {
        self.author.as_deref()
    }

    /// `text` cut into pieces, each `true` where it matched a term (for `<mark>`): the places
    /// are found in the folded text, as the databases find them, and mapped back to the
    /// characters they came from.
    pub fn highlight(&self, text: &str) -> Vec<(String, bool)> {
        let folded = Folded::of(text);
        let mut marked = vec![false; folded.sources.len()];
        for term in &self.terms {
            for (at, _) in folded.text.match_indices(term.as_str()) {
                let span = folded.sources_of(at..at + term.len());
                marked[span].iter_mut().for_each(|m| *m = true);
            }
        }
        let mut pieces: Vec<(String, bool)> = Vec::new();
        for (source, mark) in folded.sources.iter().zip(marked) {
            let piece = &text[source.clone()];
            match pieces.last_mut() {
                Some((last, m)) if *m == mark => last.push_str(piece),
                _ => pieces.push((piece.to_owned(), mark)),
            }
        }
        pieces
    }
}

/// `from:NAME`'s name, when the word is one.
fn author_of(word: &str) -> Option<&str> {
    let (prefix, name) = word.split_at_checked(5)?;
    (prefix.eq_ignore_ascii_case("from:") && !name.is_empty()).then_some(name)
}

/// The text as both databases index it: case folded (full folding: "Straße" is "strasse"),
/// accents dropped ("Café" is "cafe"), and a few letters that carry their stroke in one
/// character (ø, ł, đ, ı) made plain. Character by character, so that a place in the folded
/// text maps back to the characters it came from (`SearchQuery::highlight`). Stored with every
/// message: changing it means indexing every message again (a migration that empties the
/// column, which start-up fills again).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let mut buf = [0; 4];
    for d in nfd.normalize_iter(std::iter::once(c)) {
        if is_diacritic(d) {
            continue;
        }
        let folded = CaseMapper::new().fold_string(d.encode_utf8(&mut buf));
        for f in folded.chars() {
            match f {
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' => out.push('d'),
                'ı' => out.push('i'),
                _ => out.push(f),
            }
        }
    }
}

/// A combining mark of the blocks that hold the Latin, Greek and Cyrillic accents (U+0300 to
/// U+036F and their extensions), which NFD splits off their letters. Other scripts' marks
/// (Devanagari's vowel signs, say) are letters to their readers, and stay.
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// A text folded, with where each of its characters went.
struct Folded {
    text: String,
    /// Per character of the original: its bytes there.
    sources: Vec<Range<usize>>,
    /// Per character of the original: where its folding starts in `text`.
    starts: Vec<usize>,
}

impl Folded {
    fn of(original: &str) -> Self {
        let mut folded = Self {
            text: String::with_capacity(original.len()),
            sources: Vec::new(),
            starts: Vec::new(),
        };
        for (at, c) in original.char_indices() {
            folded.starts.push(folded.text.len());
            folded.sources.push(at..at + c.len_utf8());
            fold_char(c, &mut folded.text);
        }
        folded
    }

    /// The original characters whose foldings the folded bytes `range` touch; a character that
    /// folds to nothing (a lone accent) goes with the one before it.
    fn sources_of(&self, range: Range<usize>) -> Range<usize> {
        // The last character starting at or before the range's first byte.
        let first = self.starts.partition_point(|&s| s <= range.start) - 1;
        let mut last = self.starts.partition_point(|&s| s < range.end);
        // Accents right after the match fold to nothing: they belong to its last letter.
        while last < self.starts.len() && self.starts[last] == range.end && self.empty(last) {
            last += 1;
        }
        first..last
    }

    fn empty(&self, i: usize) -> bool {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        self.starts[i] == end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(query: &str, text: &str) -> String {
        SearchQuery::parse(query)
            .unwrap()
            .highlight(text)
            .into_iter()
            .map(|(piece, m)| if m { format!("[{piece}]") } else { piece })
            .collect()
    }

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Café CRÈME"), "cafe creme");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Øresund Łódź İstanbul"), "oresund lodz istanbul");
        // Decomposed input folds as the composed one does.
        assert_eq!(fold("Cafe\u{301}"), fold("Café"));
        assert_eq!(fold("ΣΟΦΊΑ"), "σοφια");
        assert_eq!(fold("日本語 🙂"), "日本語 🙂");
    }

    #[test]
    fn a_query_is_its_words_folded_each_once_with_an_author() {
        let q = SearchQuery::parse("  Café  from:Alice cafe ab \"x* ").unwrap();
        assert_eq!(q.terms(), ["cafe", "ab", "\"x*"]);
        assert_eq!(q.author(), Some("Alice"));
        assert_eq!(q.indexed_terms().collect::<Vec<_>>(), ["cafe", "\"x*"]);
        assert_eq!(q.short_terms().collect::<Vec<_>>(), ["ab"]);
        assert_eq!(q.as_str(), "Café  from:Alice cafe ab \"x*");
        assert_eq!(
            SearchQuery::parse("FROM:bob abc").unwrap().author(),
            Some("bob")
        );
        // "from:" alone is a word like any other.
        assert_eq!(
            SearchQuery::parse("from: abc").unwrap().terms(),
            ["from:", "abc"]
        );
    }

    #[test]
    fn a_query_needs_a_term_the_index_can_look_up() {
        for raw in [
            "",
            "   ",
            "ab c",
            "from:alice",
            "from:alice ab",
            "\u{301}\u{301}\u{301}",
        ] {
            assert_eq!(
                SearchQuery::parse(raw),
                Err(SearchQueryError::TooShort),
                "{raw:?}"
            );
        }
        assert!(SearchQuery::parse("abc").is_ok());
        assert!(SearchQuery::parse("ab cde").is_ok());
        // Control characters are dropped from terms: they cannot reach a database.
        assert_eq!(SearchQuery::parse("a\0bc").unwrap().terms(), ["abc"]);
    }

    #[test]
    fn a_query_has_bounds() {
        assert!(SearchQuery::parse(&"x".repeat(MAX_QUERY_CHARS)).is_ok());
        assert_eq!(
            SearchQuery::parse(&"x".repeat(MAX_QUERY_CHARS + 1)),
            Err(SearchQueryError::TooLong)
        );
        let words = |n: usize| {
            (0..n)
                .map(|i| format!("w{i:02}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(SearchQuery::parse(&words(MAX_TERMS)).is_ok());
        assert_eq!(
            SearchQuery::parse(&words(MAX_TERMS + 1)),
            Err(SearchQueryError::TooLong)
        );
    }

    #[test]
    fn matches_are_marked_on_the_characters_they_came_from() {
        assert_eq!(marked("ello", "Hello, hello!"), "H[ello], h[ello]!");
        assert_eq!(marked("cafe", "Un Café crème"), "Un [Café] crème");
        // Decomposed: the accent after the match goes with it.
        assert_eq!(marked("cafe", "Cafe\u{301}!"), "[Cafe\u{301}]!");
        assert_eq!(marked("strasse", "Die Straße."), "Die [Straße].");
        // A match inside a character's folding marks the whole character.
        assert_eq!(marked("sse ab", "Straße ab"), "Stra[ße] [ab]");
        assert_eq!(marked("abc xyz", "no match"), "no match");
        assert_eq!(marked("abc bcd", "abcd"), "[abcd]");
        assert_eq!(marked("日本語", "これは日本語です"), "これは[日本語]です");
        assert_eq!(marked("100%", "100% sure, 1000"), "[100%] sure, 1000");
    }
}
