//! How names that people tell apart by eye are compared: one key for room names and usernames,
//! and the check that refuses a name mixing look-alike scripts.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizer;
use icu_properties::CodePointSetData;
use icu_properties::props::{DefaultIgnorableCodePoint, Script};
use icu_properties::script::ScriptWithExtensions;

/// The form two names share when a reader could take one for the other: default-ignorable
/// code points dropped (a soft hyphen, U+034F), NFKC, full case folding ("Straße" and "STRASSE"),
/// NFKC again (folding can undo it), and every run of whitespace (U+2028 included) made one
/// space, trimmed. It depends on the Unicode data of the icu crates: the stored keys are
/// recomputed at start-up (see `models::name_key`), so an upgrade that changes one is caught.
pub fn name_key(name: &str) -> String {
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let visible: String = name.chars().filter(|&c| !ignorable.contains(c)).collect();
    let nfkc = ComposingNormalizer::new_nfkc();
    let folded = CaseMapper::new()
        .fold_string(&nfkc.normalize(&visible))
        .into_owned();
    let normal = nfkc.normalize(&folded);
    let mut key = String::with_capacity(normal.len());
    for word in normal.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    key
}

/// Whether the name mixes scripts beyond UTS #39's "highly restrictive" level: one script
/// (digits, punctuation, emoji and combining marks go with any), or Latin with Han and Japanese
/// kana, Han and Bopomofo, or Han and Hangul. "Gardеn" with a Cyrillic "е" mixes; "東京ラーメン
/// Tokyo" does not.
pub fn mixes_scripts(name: &str) -> bool {
    let sets: Vec<Vec<Sc>> = name.chars().filter_map(augmented_scripts).collect();
    if !resolve(sets.iter()).is_empty() {
        return false;
    }
    let latin = Sc::Is(Script::Latin);
    let others = resolve(sets.iter().filter(|set| !set.contains(&latin)));
    !others
        .iter()
        .any(|sc| matches!(sc, Sc::Hanb | Sc::Jpan | Sc::Kore | Sc::Any))
}

/// A script, or one of UTS #39's writing systems that combine several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sc {
    Is(Script),
    /// Han with Bopomofo.
    Hanb,
    /// Han with Hiragana and Katakana.
    Jpan,
    /// Han with Hangul.
    Kore,
    /// No character constrains the set: every script fits.
    Any,
}

/// The character's augmented script set (UTS #39, 5.1), or None for Common and Inherited
/// characters, which fit any script.
fn augmented_scripts(c: char) -> Option<Vec<Sc>> {
    let mut set = Vec::new();
    for script in ScriptWithExtensions::new()
        .get_script_extensions_val(c)
        .iter()
    {
        if script == Script::Common || script == Script::Inherited {
            return None;
        }
        set.push(Sc::Is(script));
        if script == Script::Han {
            set.extend([Sc::Hanb, Sc::Jpan, Sc::Kore]);
        } else if script == Script::Hiragana || script == Script::Katakana {
            set.push(Sc::Jpan);
        } else if script == Script::Hangul {
            set.push(Sc::Kore);
        } else if script == Script::Bopomofo {
            set.push(Sc::Hanb);
        }
    }
    Some(set)
}

/// The scripts every one of these sets has: `[Any]` for no sets, empty when they share none.
fn resolve<'a>(mut sets: impl Iterator<Item = &'a Vec<Sc>>) -> Vec<Sc> {
    let Some(first) = sets.next() else {
        return vec![Sc::Any];
    };
    sets.fold(first.clone(), |mut shared, set| {
        shared.retain(|sc| set.contains(sc));
        shared
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_full_case_normalization_invisibles_and_spacing() {
        for (a, b) in [
            ("Straße", "STRASSE"),
            ("Caf\u{E9}", "Cafe\u{301}"),
            ("Kit\u{AD}chen", "kitchen"),
            ("Kitchen\u{34F}", "Kitchen"),
            ("Book  Club", "Book Club"),
            ("Book\u{2028}Club", "book club"),
            ("Ｂｏｏｋ\u{3000}Ｃｌｕｂ", "book club"),
            ("ΟΔΟΣ", "οδος"),
            ("ﬁsh", "FISH"),
        ] {
            assert_eq!(name_key(a), name_key(b), "{a:?} and {b:?}");
        }
    }

    #[test]
    fn keys_keep_what_a_reader_tells_apart() {
        for (a, b) in [("Cafe", "Café"), ("Book Club", "BookClub"), ("corn", "com")] {
            assert_ne!(name_key(a), name_key(b), "{a:?} and {b:?}");
        }
    }

    #[test]
    fn one_script_and_the_combinations_that_east_asian_writing_uses_do_not_mix() {
        for name in [
            "Garden",
            "Café 42 🎉",
            "Москва",
            "日本語の部屋",
            "東京ラーメン Tokyo",
            "한국어 韓國 Seoul",
            "family \u{1F468}\u{200D}\u{1F469}",
            "!!!",
        ] {
            assert!(!mixes_scripts(name), "{name:?}");
        }
    }

    #[test]
    fn latin_with_a_cyrillic_or_greek_look_alike_mixes() {
        for name in [
            "Gard\u{435}n",
            "P\u{430}yPal",
            "\u{3BF}pen",
            "Москва Moscow",
        ] {
            assert!(mixes_scripts(name), "{name:?}");
        }
    }
}
