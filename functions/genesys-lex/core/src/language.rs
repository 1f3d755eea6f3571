//! Which transcript languages go into the designer file.
//!
//! The Lex V2 automated chatbot designer is documented as reading English (US) transcripts only,
//! so [`Languages::default`] is `en-US`. An organisation whose calls are in another English
//! variant (`en-GB`, `en-AU`, `en-IN`, any `en-XX`) can opt in with [`Languages::parse`]
//! (the converter's `DESIGNER_LANGUAGES`, the CLI's `--designer-languages`), at its own risk: the
//! designer does not promise to read them. Non-English languages cannot be chosen.
//!
//! Tags are compared case-insensitively and `_` is accepted for `-` (`EN_gb` is `en-GB`). A
//! transcript without a language, or with a blank one, is kept: Genesys Cloud writes the
//! language of every transcript it produces, and the conversion has always kept transcripts
//! that do not say (the designer then decides).

use std::fmt;

/// Regions are two letters: 26 x 26 = 676 bits.
const WORDS: usize = 676usize.div_ceil(64);

/// A set of English variants (`en-XX`, `XX` a two-letter region), copied cheaply.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Languages([u64; WORDS]);

impl Default for Languages {
    /// `en-US` only, the language the designer is documented to read.
    fn default() -> Self {
        let mut set = Self([0; WORDS]);
        set.insert(region_bit(b'U', b'S'));
        set
    }
}

impl Languages {
    /// A comma-separated list of English language tags, e.g. `en-US,en-GB` (spaces around
    /// entries are ignored; duplicates are harmless). An empty list or entry, a tag that is not
    /// `en-` followed by a two-letter region, and any other language are refused with the reason.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = Self([0; WORDS]);
        if list.trim().is_empty() {
            return Err("empty: name at least one English language tag, e.g. en-US".to_owned());
        }
        for (i, entry) in list.split(',').enumerate() {
            let tag = entry.trim();
            if tag.is_empty() {
                return Err(format!(
                    "entry {} is empty (a comma-separated list of tags such as en-US,en-GB)",
                    i + 1
                ));
            }
            match english_region(tag) {
                Some(bit) => set.insert(bit),
                None if is_tag(tag) && !primary_is_en(tag) => {
                    return Err(format!(
                        "{tag:?} is not English: the Lex automated chatbot designer reads English transcripts only (en-US, or en-XX at your own risk)"
                    ))
                }
                None => {
                    return Err(format!(
                        "{tag:?} is not a language tag of the form en-XX (a two-letter region such as en-US or en-GB)"
                    ))
                }
            }
        }
        Ok(set)
    }

    /// Whether a transcript in `language` is kept. `language` is a tag such as `en-US`
    /// (any case, `_` for `-`, surrounding spaces ignored); anything else is not in the set.
    pub fn contains(&self, language: &str) -> bool {
        english_region(language.trim()).is_some_and(|bit| self.0[bit / 64] & (1 << (bit % 64)) != 0)
    }

    /// Whether this is the default set, `en-US` alone.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn insert(&mut self, bit: usize) {
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    fn tags(&self) -> impl Iterator<Item = String> + '_ {
        (0..WORDS * 64)
            .filter(|&bit| bit < 676 && self.0[bit / 64] & (1 << (bit % 64)) != 0)
            .map(|bit| {
                let (a, b) = ((bit / 26) as u8 + b'A', (bit % 26) as u8 + b'A');
                format!("en-{}{}", a as char, b as char)
            })
    }
}

/// `en-GB, en-US`: the canonical tags, in region order.
impl fmt::Display for Languages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, tag) in self.tags().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&tag)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Languages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Languages({self})")
    }
}

/// `en-US`, case-insensitive, `_` accepted for `-`.
pub fn is_english_us(lang: &str) -> bool {
    Languages::default().contains(lang)
}

fn region_bit(a: u8, b: u8) -> usize {
    (a.to_ascii_uppercase() - b'A') as usize * 26 + (b.to_ascii_uppercase() - b'A') as usize
}

/// The region bit of `en-XX` / `en_XX` (any case).
fn english_region(tag: &str) -> Option<usize> {
    match tag.as_bytes() {
        [e, n, b'-' | b'_', a, b]
            if e.eq_ignore_ascii_case(&b'e')
                && n.eq_ignore_ascii_case(&b'n')
                && a.is_ascii_alphabetic()
                && b.is_ascii_alphabetic() =>
        {
            Some(region_bit(*a, *b))
        }
        _ => None,
    }
}

/// The primary subtag is `en` (any case), e.g. `en`, `en-USA`, `EN-001`.
fn primary_is_en(tag: &str) -> bool {
    tag.split(['-', '_'])
        .next()
        .is_some_and(|p| p.eq_ignore_ascii_case("en"))
}

/// Looks like a language tag (`xx`, `xxx`, optionally followed by `-`/`_` subtags of letters
/// and digits), so the error can say "not English" rather than "malformed".
fn is_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_en_us_in_any_case_and_with_an_underscore() {
        let d = Languages::default();
        for tag in ["en-US", "en-us", "EN_us", " en-US "] {
            assert!(d.contains(tag), "{tag}");
        }
        for tag in ["en-GB", "es-US", "en", "en-USA", "", "english"] {
            assert!(!d.contains(tag), "{tag}");
        }
        assert!(d.is_default());
        assert_eq!(d.to_string(), "en-US");
        assert!(is_english_us("EN_us"));
        assert!(!is_english_us("en-GB"));
    }

    #[test]
    fn english_variants_opt_in() {
        let set = Languages::parse(" en-GB, en_au ,EN-in,en-US,en-GB").unwrap();
        for tag in ["en-GB", "en-AU", "en-IN", "en-US", "en_gb"] {
            assert!(set.contains(tag), "{tag}");
        }
        assert!(!set.contains("en-ZA"));
        assert!(!set.is_default());
        assert_eq!(set.to_string(), "en-AU, en-GB, en-IN, en-US");
        assert_eq!(Languages::parse("en-us").unwrap(), Languages::default());
        // Without en-US, en-US transcripts are left out too.
        assert!(!Languages::parse("en-GB").unwrap().contains("en-US"));
    }

    #[test]
    fn other_languages_and_malformed_lists_are_refused_with_the_reason() {
        for (list, want) in [
            ("es-US", "is not English"),
            ("en-US,fr-FR", "is not English"),
            ("zh-Hans-CN", "is not English"),
            ("", "empty"),
            ("  ", "empty"),
            ("en-US,", "entry 2 is empty"),
            ("en-US,,en-GB", "entry 2 is empty"),
            ("en", "not a language tag of the form en-XX"),
            ("en-USA", "not a language tag of the form en-XX"),
            ("en-001", "not a language tag of the form en-XX"),
            ("en-US;en-GB", "not a language tag of the form en-XX"),
            ("english", "not a language tag"),
        ] {
            let err = Languages::parse(list).expect_err(list);
            assert!(err.contains(want), "{list:?}: {err}");
        }
    }
}
