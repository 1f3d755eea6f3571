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

/// What a scan of a document's top-level members found of its `conversationId`
/// ([`scan_conversation_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdScan {
    /// The top-level `conversationId` string, decoded (escapes resolved).
    Found(String),
    /// The bytes settle it without an id: not an object (nor an array starting with a string),
    /// no top-level `conversationId` member,
    /// one whose value is not a string (`null`, a number...), or broken JSON before it.
    /// [`crate::parse_with`] refuses such a document.
    Absent,
    /// The bytes end before the scan could tell (a head of the document: read on).
    Truncated,
}

/// The document's top-level `conversationId`, found without parsing the document: see
/// [`scan_conversation_id`]. `None` when it has none (or is not JSON, or is cut short).
pub fn conversation_id(bytes: &[u8]) -> Option<String> {
    match scan_conversation_id(bytes) {
        IdScan::Found(id) => Some(id),
        IdScan::Absent | IdScan::Truncated => None,
    }
}

/// The name of the member [`scan_conversation_id`] looks for.
const CONVERSATION_ID: &[u8] = b"conversationId";

/// Finds a document's top-level `conversationId` by reading member names and jumping over
/// the values before it (strings by their quotes, objects and arrays with
/// [`json_scan::container_end`], numbers and literals to the next delimiter), so a
/// `conversationId` after a large `transcripts` array costs one pass of the block scanner.
/// A UTF-8 byte-order mark is ignored; names and the value are decoded (`"conversation\u0049d"`
/// is the member), and a top-level array gives its first element (serde reads an array as the
/// fields in order), so whenever [`crate::parse_with`] accepts a document, this returns the
/// `conversation_id` the parser reads. Nothing after the member is looked at: a document the
/// parser refuses (a duplicate member, broken JSON later on) may still give an id.
///
/// On a head of a document (the first bytes of a file), [`IdScan::Truncated`] means the id, if
/// any, lies further on.
pub fn scan_conversation_id(input: &[u8]) -> IdScan {
    if input.len() < crate::BYTE_ORDER_MARK.len() && crate::BYTE_ORDER_MARK.starts_with(input) {
        return IdScan::Truncated; // nothing, or a head that ends inside the byte-order mark
    }
    match scan(input.strip_prefix(crate::BYTE_ORDER_MARK).unwrap_or(input)) {
        Ok(found) => found,
        Err(stop) => stop,
    }
}

fn scan(b: &[u8]) -> Result<IdScan, IdScan> {
    let mut i = whitespace(b, 0);
    match *byte(b, i)? {
        b'{' => i += 1,
        b'[' => {
            // The parser (serde) reads an array as the document's fields in order: its first
            // element is the `conversationId`.
            i = whitespace(b, i + 1);
            return match *byte(b, i)? {
                b'"' => id(b, i),
                _ => Ok(IdScan::Absent),
            };
        }
        _ => return Ok(IdScan::Absent),
    }
    loop {
        i = whitespace(b, i);
        if *byte(b, i)? != b'"' {
            return Ok(IdScan::Absent); // `}` (no members left) or not JSON
        }
        let (name, end) = string(b, i)?;
        i = whitespace(b, end);
        if *byte(b, i)? != b':' {
            return Ok(IdScan::Absent);
        }
        i = whitespace(b, i + 1);
        if name == CONVERSATION_ID {
            return match *byte(b, i)? {
                b'"' => id(b, i),
                _ => Ok(IdScan::Absent),
            };
        }
        i = whitespace(b, skip_value(b, i)?);
        match byte(b, i)? {
            b',' => i += 1,
            _ => return Ok(IdScan::Absent), // `}`: the end of the document's members
        }
    }
}

/// The id in the string at `b[i]`.
fn id(b: &[u8], i: usize) -> Result<IdScan, IdScan> {
    let (value, _) = string(b, i)?;
    Ok(String::from_utf8(value.into_owned()).map_or(IdScan::Absent, IdScan::Found))
}

/// `b[i]`, or [`IdScan::Truncated`] past the end.
fn byte(b: &[u8], i: usize) -> Result<&u8, IdScan> {
    b.get(i).ok_or(IdScan::Truncated)
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn whitespace(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The decoded string whose opening quote is `b[open]`, and the index after its closing quote.
/// A control character or an invalid escape is [`IdScan::Absent`] (the parser refuses them).
fn string(b: &[u8], open: usize) -> Result<(Cow<'_, [u8]>, usize), IdScan> {
    let mut decoded: Vec<u8> = Vec::new();
    let mut run = open + 1; // b[run..] not yet copied to `decoded`
    let mut j = run;
    loop {
        j = json_scan::string_special(b, j).ok_or(IdScan::Truncated)?;
        match b[j] {
            b'"' if run == open + 1 => {
                return Ok((Cow::Borrowed(&b[run..j]), j + 1));
            }
            b'"' => {
                decoded.extend_from_slice(&b[run..j]);
                return Ok((Cow::Owned(decoded), j + 1));
            }
            b'\\' => {
                decoded.extend_from_slice(&b[run..j]);
                j = escape(b, j, &mut decoded)?;
                run = j;
            }
            _ => return Err(IdScan::Absent),
        }
    }
}

/// Decodes the escape at `b[at]` (a backslash) onto `out`; returns the index after it.
fn escape(b: &[u8], at: usize, out: &mut Vec<u8>) -> Result<usize, IdScan> {
    let simple = match *byte(b, at + 1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let high = hex4(b, at + 2)?;
            let (c, end) = match high {
                0xD800..=0xDBFF => {
                    // A surrogate pair: `\uD83D\uDE00`.
                    if *byte(b, at + 6)? != b'\\' || *byte(b, at + 7)? != b'u' {
                        return Err(IdScan::Absent);
                    }
                    let low = hex4(b, at + 8)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(IdScan::Absent);
                    }
                    let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    (char::from_u32(c), at + 12)
                }
                _ => (char::from_u32(high), at + 6), // a lone low surrogate is not a char
            };
            let c = c.ok_or(IdScan::Absent)?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            return Ok(end);
        }
        _ => return Err(IdScan::Absent),
    };
    out.push(simple);
    Ok(at + 2)
}

/// The four hex digits at `b[i..i + 4]`.
fn hex4(b: &[u8], i: usize) -> Result<u32, IdScan> {
    let mut n = 0;
    for k in i..i + 4 {
        let digit = char::from(*byte(b, k)?)
            .to_digit(16)
            .ok_or(IdScan::Absent)?;
        n = n * 16 + digit;
    }
    Ok(n)
}

/// The index just after the value starting at `b[i]`, checking nothing but where it ends.
fn skip_value(b: &[u8], i: usize) -> Result<usize, IdScan> {
    match *byte(b, i)? {
        b'"' => {
            let mut j = i + 1;
            loop {
                j = json_scan::string_special(b, j).ok_or(IdScan::Truncated)?;
                match b[j] {
                    b'"' => return Ok(j + 1),
                    b'\\' => j += 2,
                    _ => j += 1,
                }
            }
        }
        b'{' | b'[' => skip_container(b, i).ok_or(IdScan::Truncated),
        _ => {
            // A number or a literal: up to the next delimiter.
            let len = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .ok_or(IdScan::Truncated)?;
            Ok(i + len)
        }
    }
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

#[cfg(test)]
mod conversation_id_tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::{parse_with, Languages, Options};

    const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../events");

    /// The agreement the CLI relies on: whenever the parser accepts a document, the scanner
    /// gives the parser's `conversation_id`. Returns whether the parser accepted it.
    fn agrees(doc: &[u8]) -> bool {
        let options = Options {
            languages: Languages::parse("en-US,en-GB,en-AU").unwrap(),
            ..Options::default()
        };
        let Ok(parsed) = parse_with(doc, options) else {
            return false;
        };
        let want = parsed.conversation_id.as_deref().map(str::to_owned);
        assert_eq!(
            conversation_id(doc),
            want,
            "{}",
            String::from_utf8_lossy(&doc[..doc.len().min(300)])
        );
        // Every head that holds the whole member gives it too, and no head contradicts it.
        for end in [0, 1, 16, 64, 200, doc.len()] {
            match scan_conversation_id(&doc[..end.min(doc.len())]) {
                IdScan::Found(id) => assert_eq!(Some(id), want),
                IdScan::Truncated => {}
                IdScan::Absent => panic!("a head of an accepted document is not Absent"),
            }
        }
        true
    }

    fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                json_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    #[test]
    fn agrees_with_the_parser_on_every_sample_and_fixture() {
        let mut files = Vec::new();
        json_files(Path::new(EVENTS), &mut files);
        let mut accepted = Vec::new();
        for path in &files {
            let doc = std::fs::read(path).unwrap();
            if agrees(&doc) {
                accepted.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        accepted.sort();
        // The four samples and the transcript fixtures (BOM, no transcripts, language switch,
        // en-GB, spoken PII, the published example): the test is not vacuous.
        assert!(accepted.len() >= 10, "{accepted:?}");
        for name in [
            "01-order-status.json",
            "transcript_windows_export_bom.json",
            "transcript_document_example.json",
        ] {
            assert!(accepted.iter().any(|a| a == name), "{name}: {accepted:?}");
        }
    }

    #[test]
    fn agrees_with_the_parser_on_every_damaged_copy() {
        let example =
            include_bytes!("../../../../events/genesys/fixtures/transcript_document_example.json");
        // Escapes, a byte-order mark and values of every kind before the id.
        let crafted = "\u{feff}{\"a\": [1, \"x\\\"]\", {\"b\": null}], \"n\": -2.5e1, \"t\": true, \"conversation\\u0049d\": \"c\\u002D1\", \"transcripts\": []}";
        assert_eq!(conversation_id(crafted.as_bytes()).as_deref(), Some("c-1"));
        for doc in [&example[..], crafted.as_bytes()] {
            let mut accepted = 0;
            shared_core::damage::each_damaged_copy(
                doc,
                shared_core::damage::JSON_BREAKERS,
                |doc| accepted += usize::from(agrees(doc)),
            );
            assert!(accepted > 20, "{accepted}");
        }
    }

    #[test]
    fn crafted_documents() {
        let found = |doc: &str, id: &str| {
            assert!(agrees(doc.as_bytes()), "the parser refused {doc}");
            assert_eq!(
                conversation_id(doc.as_bytes()).as_deref(),
                Some(id),
                "{doc}"
            );
        };
        assert_eq!(
            conversation_id(br#"{"conversationId": "a\/b\\c\"\t"}"#).as_deref(),
            Some("a/b\\c\"\t")
        );
        // Escapes in the name and in the value.
        found(r#"{"conversation\u0049d": "c-1"}"#, "c-1");
        found(r#"{"conversationId": "c\u002D2"}"#, "c-2");
        found(r#"{"conversationId":"a\u005fb"}"#, "a_b");
        // A byte-order mark, whitespace everywhere, members of every kind before the id.
        found("\u{feff} {\r\n\t\"conversationId\" :\n \"c-3\" }", "c-3");
        found(
            r#"{"a": -1.5e3, "b": true, "c": null, "d": "x\"}\\", "e": {"conversationId": "inner"}, "f": [1, {"g": "]"}], "conversationId": "c-4"}"#,
            "c-4",
        );
        // The parser reads an array as the fields in order (serde): the first is the id.
        found(r#" [ "c-6", "m-1", 1749243600000]"#, "c-6");
        // After a large transcripts array.
        let phrase = r#"{"phraseIndex": 0, "text": "a } ] \" [ {", "startTimeMs": 1749243600000, "words": [{"word": "a"}]}"#;
        let big = format!(
            r#"{{"transcripts": [{{"language": "en-US", "phrases": [{}]}}], "conversationId": "c-5"}}"#,
            vec![phrase; 2000].join(", ")
        );
        assert!(big.len() > 128 * 1024);
        found(&big, "c-5");
        assert_eq!(
            scan_conversation_id(&big.as_bytes()[..64 * 1024]),
            IdScan::Truncated
        );
        // A non-ASCII id is decoded (the parser refuses it later, at validation).
        assert_eq!(
            conversation_id(r#"{"conversationId": "caf\u00e9 \ud83d\ude00"}"#.as_bytes())
                .as_deref(),
            Some("café 😀")
        );
    }

    #[test]
    fn documents_the_parser_refuses() {
        let refused = |doc: &str| {
            assert!(!agrees(doc.as_bytes()), "the parser accepted {doc}");
            conversation_id(doc.as_bytes())
        };
        // A duplicate member: the parser refuses it; the scanner stops at the first.
        assert_eq!(
            refused(r#"{"conversationId": "a", "conversationId": "b"}"#).as_deref(),
            Some("a")
        );
        // Not a string, not an object, nothing, broken, nested only, case differs.
        for doc in [
            r#"{"conversationId": 5}"#,
            r#"{"conversationId": null}"#,
            r#"{"conversationId": ["a"]}"#,
            r#"[null, "a"]"#,
            "[]",
            "",
            "this is not JSON",
            r#"{"a": 1 "conversationId": "x"}"#,
            r#"{"a": {"conversationId": "x"}}"#,
            r#"{"ConversationId": "x"}"#,
            r#"{"conversationId": "a\qb"}"#,
            "{\"conversationId\": \"a\u{1}b\"}",
            r#"{"conversationId": "\ud83d"}"#,
            r#"{"conversationId": "\ude00"}"#,
        ] {
            assert_eq!(refused(doc), None, "{doc}");
        }
        for doc in [r#"{"conversationId": 5}"#, "[1]", "x", r#"{"a": 1}"#] {
            assert_eq!(
                scan_conversation_id(doc.as_bytes()),
                IdScan::Absent,
                "{doc}"
            );
        }
        for head in [
            r#"{"a": [1, 2"#,
            r#"{"conversationId": "ab"#,
            r#"{"conversationId": "a\u00"#,
            r#"{"conversationId"#,
            "\u{feff}",
            r#"{"n": 12"#,
        ] {
            assert_eq!(
                scan_conversation_id(head.as_bytes()),
                IdScan::Truncated,
                "{head}"
            );
        }
    }
}
