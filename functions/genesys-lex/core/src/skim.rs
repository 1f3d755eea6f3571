//! Removes what the conversion never reads before the JSON parser sees it.
//!
//! Word-level detail (`"words": [...]`, one object per recognised word with confidence and
//! timings), alternatives, analytics and participant details are most of a transcript
//! document's bytes. A JSON parser skipping them still decodes every number and string;
//! [`strip_unused`] instead finds those members with a substring search and jumps over their
//! values by looking only at quotes, backslashes and brackets, so the parser reads a document a
//! fraction of the size. The content of the removed values is not validated, which is the
//! point: it is not used.

use std::borrow::Cow;

use memchr::memmem;

/// Members whose array or object values the conversion never reads, wherever they appear.
/// None of them is a field of [`super::genesys`]'s model.
const UNUSED: [&[u8]; 4] = [
    b"\"words\"",
    b"\"alternatives\"",
    b"\"analytics\"",
    b"\"participants\"",
];

/// The document with the value of every unused member (if an array or object) replaced by
/// `[]` or `{}`. Borrows the input when there is nothing to remove. A document whose containers
/// do not close is returned unchanged, for the parser to report.
pub fn strip_unused(input: &[u8]) -> Cow<'_, [u8]> {
    let finders = UNUSED.map(memmem::Finder::new);
    // Next occurrence of each key at or after `from` (usize::MAX: none left).
    let mut next = finders
        .each_ref()
        .map(|f| f.find(input).unwrap_or(usize::MAX));
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0; // input[..copied] is in `out` (when `out` is in use)
    let mut from = 0;
    loop {
        for (n, f) in next.iter_mut().zip(&finders) {
            if *n < from {
                *n = f.find(&input[from..]).map_or(usize::MAX, |i| from + i);
            }
        }
        let Some((k, &key)) = next.iter().enumerate().min_by_key(|(_, &n)| n) else {
            break;
        };
        if key == usize::MAX {
            break;
        }
        from = key + UNUSED[k].len();
        // A key starts with an unescaped quote: an even number of backslashes before it.
        let backslashes = input[..key]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            continue;
        }
        let Some(open) = after_colon(input, from) else {
            continue;
        };
        let close = match input[open] {
            b'[' => b']',
            b'{' => b'}',
            _ => continue,
        };
        let Some(end) = skip_container(input, open) else {
            return Cow::Borrowed(input);
        };
        if end - open <= 2 {
            from = end;
            continue;
        }
        if out.capacity() == 0 {
            out.reserve(input.len() / 2);
        }
        out.extend_from_slice(&input[copied..=open]);
        out.push(close);
        copied = end;
        from = end;
    }
    if out.capacity() == 0 {
        return Cow::Borrowed(input);
    }
    out.extend_from_slice(&input[copied..]);
    Cow::Owned(out)
}

/// [`strip_unused`] for shared buffers: returns the same buffer when there is nothing to remove.
pub fn strip_unused_bytes(input: bytes::Bytes) -> bytes::Bytes {
    match strip_unused(&input) {
        Cow::Owned(v) => bytes::Bytes::from(v),
        Cow::Borrowed(_) => input,
    }
}

/// Index of the first byte of the value after `: ` following a key that ends at `i`.
fn after_colon(input: &[u8], mut i: usize) -> Option<usize> {
    while input.get(i)?.is_ascii_whitespace() {
        i += 1;
    }
    if input[i] != b':' {
        return None;
    }
    i += 1;
    while input.get(i)?.is_ascii_whitespace() {
        i += 1;
    }
    Some(i)
}

/// `input[open]` is `[` or `{`; returns the index just after its matching `]` or `}`.
#[inline]
fn skip_container(input: &[u8], open: usize) -> Option<usize> {
    json_scan::container_end(input, open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        String::from_utf8(strip_unused(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn removes_word_arrays_and_keeps_the_rest() {
        let doc = r#"{"a": 1, "words" : [{"word": "x]", "c": [1, [2]]}, {"word": "\"words\": ["}], "b": "s"}"#;
        assert_eq!(strip(doc), r#"{"a": 1, "words" : [], "b": "s"}"#);
        let v: serde_json::Value = serde_json::from_str(&strip(doc)).unwrap();
        assert_eq!(v["b"], "s");
        assert_eq!(v["words"], serde_json::json!([]));
    }

    #[test]
    fn removes_every_unused_member_and_nothing_the_model_reads() {
        let doc = r#"{"participants": [{"a": 1}], "transcripts": [{"analytics": {"s": [1]}, "phrases": [{"text": "t", "alternatives": [{"x": 1}], "words": [{"w": 1}]}]}]}"#;
        assert_eq!(
            strip(doc),
            r#"{"participants": [], "transcripts": [{"analytics": {}, "phrases": [{"text": "t", "alternatives": [], "words": []}]}]}"#
        );
        for sample in [
            &include_bytes!("../../../../events/genesys/transcripts/01-order-status.json")[..],
            &include_bytes!("../../../../events/genesys/transcripts/03-appointment-booking.json")[..],
        ] {
            let stripped = strip_unused(sample);
            assert!(stripped.len() < sample.len() / 2);
            let whole = super::super::parse(sample).unwrap();
            let skimmed = super::super::parse(&stripped).unwrap();
            assert_eq!(format!("{whole:?}"), format!("{skimmed:?}"));
        }
    }

    #[test]
    fn leaves_strings_and_other_values_alone() {
        for doc in [
            r#"{"text": "say \"words\": [1] please"}"#,
            r#"{"words": "not an array"}"#,
            r#"{"words": []}"#,
            r#"{"x": "\\", "y": 2}"#,
        ] {
            assert!(
                matches!(strip_unused(doc.as_bytes()), Cow::Borrowed(_)),
                "{doc}"
            );
        }
    }

    #[test]
    fn unterminated_arrays_are_left_for_the_parser() {
        let doc = r#"{"words": [{"word": "x"}"#;
        assert_eq!(strip(doc), doc);
    }

    #[test]
    fn escaped_backslash_before_the_key_is_not_an_escape() {
        let doc = r#"{"t": "a\\", "words": [1, 2], "u": 3}"#;
        assert_eq!(strip(doc), r#"{"t": "a\\", "words": [], "u": 3}"#);
    }
}
