//! Personal data redaction for transcript text: e-mail addresses, payment card numbers (Luhn
//! checked), US social security numbers and phone numbers are replaced by `[PII]`, the marker
//! Contact Lens uses in redacted transcripts.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces each redacted entity.
pub const MARKER: &str = "[PII]";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
        .expect("email pattern")
});
// 13 to 19 digits, optionally grouped by spaces or dashes.
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ \-]?\d){12,18}\b").expect("card pattern"));
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{3}-\d{2}-\d{4}\b").expect("ssn pattern"));
// North American numbers with optional +1, and international numbers written with a leading +.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+?\b1[ .\-]?)?(?:\(\d{3}\)|\b\d{3})[ .\-]?\d{3}[ .\-]?\d{4}\b|\+\d{1,3}(?:[ .\-]?\d{2,4}){2,5}\b")
        .expect("phone pattern")
});

/// Returns the text with personal data replaced, borrowing when there was nothing to replace.
pub fn redact(text: &str) -> Cow<'_, str> {
    // Cheap pre-check: every pattern needs a digit or an `@`.
    if !text.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    out = replace(out, &EMAIL, |_| true);
    out = replace(out, &CARD, luhn);
    out = replace(out, &SSN, |_| true);
    out = replace(out, &PHONE, |_| true);
    out
}

fn replace<'a>(text: Cow<'a, str>, re: &Regex, accept: impl Fn(&str) -> bool) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    let replaced = re.replace_all(&text, |c: &Captures| {
        let m = &c[0];
        if accept(m) {
            MARKER.to_owned()
        } else {
            m.to_owned()
        }
    });
    Cow::Owned(replaced.into_owned())
}

/// The Luhn checksum payment card numbers carry.
fn luhn(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_each_kind() {
        assert_eq!(
            redact("mail me at jane.doe+x@example.co.uk please"),
            "mail me at [PII] please"
        );
        assert_eq!(
            redact("card 4111 1111 1111 1111 thanks"),
            "card [PII] thanks"
        );
        assert_eq!(redact("card 4111-1111-1111-1111"), "card [PII]");
        assert_eq!(redact("ssn is 123-45-6789."), "ssn is [PII].");
        assert_eq!(
            redact("call (555) 555-0147 or 555.555.0100"),
            "call [PII] or [PII]"
        );
        assert_eq!(redact("call +1 555 555 0147"), "call [PII]");
        assert_eq!(redact("ring +44 20 7946 0958 today"), "ring [PII] today");
    }

    #[test]
    fn leaves_ordinary_numbers_alone() {
        assert_eq!(
            redact("order 12345 shipped on 2025-06-03"),
            "order 12345 shipped on 2025-06-03"
        );
        // Fails the Luhn check, and too long to be a phone number.
        assert_eq!(redact("ref 4111 1111 1111 1112"), "ref 4111 1111 1111 1112");
        assert!(matches!(redact("no digits here"), Cow::Borrowed(_)));
    }
}
