//! Personal data redaction for transcript text. What is replaced by `[PII]` (the marker Contact
//! Lens uses in redacted transcripts), and nothing else:
//!
//! * e-mail addresses, written (`jane.doe@example.com`) or spoken as speech-to-text writes them
//!   (`jane dot doe at example dot com`, `jane underscore doe at gmail dot com`): see
//!   [`SPOKEN_TLDS`] for the endings recognised;
//! * payment card numbers (13 to 19 digits passing the Luhn check), US social security numbers
//!   and US phone numbers, written with the usual grouping or digit by digit
//!   (`5 5 5 0 1 0 4 4 7 7`, `1 2 3 4 5 6 7 8 9`): the shapes are in [`digits`];
//! * phone numbers written with parentheses, dots or a leading `+` (`(555) 555-0147`,
//!   `555.555.0100`, `+44 20 7946 0958`).
//!
//! Dates and times stay (`March 3 2024`, `10 30`, `2024-03-03`): their digit groups (4-2-2,
//! 1-4, 2-2, ...) are none of the shapes. Names, street addresses and other numbers (order,
//! account, ZIP codes) are not recognised.

mod digits;

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::{memchr2_iter, memchr_iter};
use regex::{NoExpand, Regex};

/// What replaces each redacted entity.
pub const MARKER: &str = "[PII]";

/// The endings of a spoken e-mail address's domain that are recognised (`... dot com`).
pub const SPOKEN_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "info", "biz", "io", "co", "us", "uk", "ca", "au",
    "in", "ie", "nz", "de", "fr", "es", "it", "nl", "me", "ai", "app", "dev",
];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
        .expect("email pattern")
});
// `<local> at <domain> dot <tld>`, ASCII case-insensitive. The local part is words joined by
// spoken or written separators, after any characters spelled out one by one (two or more:
// "j a n e"); the domain is words joined by "dot"/"dash" or written dots/dashes.
static SPOKEN_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    let tlds = SPOKEN_TLDS.join("|");
    Regex::new(&format!(
        r"(?i-u)\b(?:[a-z0-9] [a-z0-9] (?:[a-z0-9] )*)?[a-z0-9]+(?:(?:\s+(?:dot|underscore|dash|hyphen|plus)\s+|[._+\-])[a-z0-9]+)*(?:\s*@\s*|\s+at\s+)[a-z0-9]+(?:(?:\s+(?:dot|dash|hyphen)\s+|[.\-])[a-z0-9]+)*(?:\s+dot\s+|\.)(?:{tlds})\b"
    ))
    .expect("spoken email pattern")
});
// North American numbers with parentheses or dots (and optional +1), and international numbers
// written with a leading +. (Space and dash groupings are the digit shapes' too.)
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+?\b1[ .\-]?)?(?:\(\d{3}\)|\b\d{3})[ .\-]?\d{3}[ .\-]?\d{4}\b|\+\d{1,3}(?:[ .\-]?\d{2,4}){2,5}\b")
        .expect("phone pattern")
});

/// Returns the text with personal data replaced, borrowing when there was nothing to replace.
pub fn redact(text: &str) -> Cow<'_, str> {
    // Cheap pre-checks: a written pattern needs a digit or an `@`; a spoken address "dot", or
    // a written dot inside a word and " at " ("jane.doe at example.com").
    let bytes = text.as_bytes();
    let spoken = contains_ci(bytes, b"dot")
        || (memchr_iter(b'.', bytes)
            .any(|i| bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric))
            && contains_ci(bytes, b" at "));
    if !spoken && !bytes.iter().any(|b| b.is_ascii_digit() || *b == b'@') {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    if out.contains('@') {
        out = replace(out, &EMAIL);
    }
    if spoken {
        out = replace(out, &SPOKEN_EMAIL);
    }
    out = digits::redact_numbers(out);
    if out.bytes().any(|b| b.is_ascii_digit()) {
        out = replace(out, &PHONE);
    }
    out
}

fn replace<'a>(text: Cow<'a, str>, re: &Regex) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    let replaced = re.replace_all(&text, NoExpand(MARKER));
    Cow::Owned(replaced.into_owned())
}

/// Whether `needle` (lowercase ASCII, starting with a letter or a space) occurs in the text,
/// ignoring ASCII case.
fn contains_ci(bytes: &[u8], needle: &[u8]) -> bool {
    let first = needle[0];
    memchr2_iter(first, first.to_ascii_uppercase(), bytes).any(|i| {
        bytes
            .get(i + 1..i + needle.len())
            .is_some_and(|rest| rest.eq_ignore_ascii_case(&needle[1..]))
    })
}

#[cfg(test)]
mod tests;
