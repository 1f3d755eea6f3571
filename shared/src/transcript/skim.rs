//! Removes what the conversion never reads before the JSON parser sees it.
//!
//! Word-level detail (`"words": [...]`, one object per recognised word with confidence and
//! timings) is most of a transcript document's bytes. A JSON parser skipping it still decodes
//! every number and string; [`strip_words`] instead finds each `"words"` array with a substring
//! search and jumps over it by looking only at quotes, backslashes and brackets, so the parser
//! reads a document a fraction of the size. The content of the removed arrays is not validated,
//! which is the point: it is not used.

use std::borrow::Cow;

use memchr::memmem;

const KEY: &[u8] = b"\"words\"";

/// The document with the value of every `"words"` array member replaced by `[]`. Borrows the
/// input when there is nothing to remove. A document whose arrays do not close is returned
/// unchanged, for the parser to report.
pub fn strip_words(input: &[u8]) -> Cow<'_, [u8]> {
    let finder = memmem::Finder::new(KEY);
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0; // input[..copied] is in `out` (when `out` is in use)
    let mut from = 0;
    while let Some(found) = finder.find(&input[from..]) {
        let key = from + found;
        from = key + KEY.len();
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
        if input[open] != b'[' {
            continue;
        }
        let Some(end) = skip_array(input, open) else {
            return Cow::Borrowed(input);
        };
        if end - open <= 2 {
            from = end;
            continue;
        }
        if out.capacity() == 0 {
            out.reserve(input.len() / 4);
        }
        out.extend_from_slice(&input[copied..=open]);
        out.push(b']');
        copied = end;
        from = end;
    }
    if out.capacity() == 0 {
        return Cow::Borrowed(input);
    }
    out.extend_from_slice(&input[copied..]);
    Cow::Owned(out)
}

/// [`strip_words`] for shared buffers: returns the same buffer when there is nothing to remove.
pub fn strip_words_bytes(input: bytes::Bytes) -> bytes::Bytes {
    match strip_words(&input) {
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

/// `input[open]` is `[`; returns the index just after its matching `]`. A plain byte loop: the
/// tokens inside word arrays are a few bytes apart, too close for vectorised searches to pay.
fn skip_array(input: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    let mut in_string = false;
    while let Some(&b) = input.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        String::from_utf8(strip_words(s.as_bytes()).into_owned()).unwrap()
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
    fn leaves_strings_and_other_values_alone() {
        for doc in [
            r#"{"text": "say \"words\": [1] please"}"#,
            r#"{"words": "not an array"}"#,
            r#"{"words": []}"#,
            r#"{"x": "\\", "y": 2}"#,
        ] {
            assert!(
                matches!(strip_words(doc.as_bytes()), Cow::Borrowed(_)),
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
