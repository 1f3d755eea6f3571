//! Finding where JSON values end without decoding them.
//!
//! A Segment message is mostly `context` (user agent, library, page, device...) and
//! `integrations`, which the forwarder never reads. Decoding them with serde_json (even into
//! `IgnoredAny`) costs more than the whole mapping, so the message parser walks the top-level
//! object itself and jumps over the values it does not read. The members it reads are handed to
//! serde_json and fully validated (strings without escapes are checked here: closed, no raw
//! control characters); the skipped containers are only followed to their end, counting
//! brackets outside strings, without validating their content (as
//! `transcript::skim` does for transcripts).
//!
//! On x86_64 containers are crossed 64 bytes at a time with SSE2 (part of every x86_64 CPU), in
//! the manner of simdjson's first stage; elsewhere (arm64 Lambda) eight bytes at a time. Both
//! give the same answers (tested against each other and against serde_json).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanError {
    pub at: usize,
    pub eof: bool,
}

impl ScanError {
    fn at(b: &[u8], at: usize) -> Self {
        Self {
            at: at.min(b.len()),
            eof: at >= b.len(),
        }
    }
}

#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `i` is at an opening quote; returns the index after the closing quote and whether the
/// string has escapes. Raw control characters (not allowed in JSON strings) are errors.
#[inline]
pub(crate) fn string_end(b: &[u8], i: usize) -> Result<(usize, bool), ScanError> {
    debug_assert_eq!(b.get(i), Some(&b'"'));
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j = special(b, j).ok_or(ScanError::at(b, b.len()))?;
        match b[j] {
            b'"' => return Ok((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                j += 2; // the backslash and the escaped byte
            }
            _ => return Err(ScanError::at(b, j)),
        }
    }
}

/// The first `"`, `\\` or control character at or after `j` (the shared string scanner).
#[inline]
pub(crate) fn special(b: &[u8], j: usize) -> Option<usize> {
    json_scan::string_special(b, j)
}

/// The end of the value starting at `i` (which must not be whitespace), and whether it is a
/// string without escapes (whose content can then be used as is).
#[inline]
pub(crate) fn value_end(b: &[u8], i: usize) -> Result<(usize, bool), ScanError> {
    match b.get(i) {
        None => Err(ScanError::at(b, i)),
        Some(b'"') => string_end(b, i).map(|(end, escaped)| (end, !escaped)),
        Some(b'{' | b'[') => container_end(b, i).map(|end| (end, false)),
        Some(b'}' | b']' | b',' | b':') => Err(ScanError::at(b, i)),
        Some(_) => {
            // A number or literal: up to the next delimiter.
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Ok((j, false))
        }
    }
}

/// The end of the container (`{` or `[`) at `i`: brackets outside strings are counted, nothing
/// else is checked.
#[inline]
fn container_end(b: &[u8], i: usize) -> Result<usize, ScanError> {
    json_scan::container_end(b, i).ok_or(ScanError::at(b, b.len()))
}

/// One member of an object: the raw key text between the quotes (escapes not decoded), and
/// where its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member<'a> {
    pub key: &'a str,
    pub key_escaped: bool,
    pub start: usize,
    pub end: usize,
    /// The value is a string without escapes: `text[start + 1..end - 1]` is its content.
    pub plain_string: bool,
}

/// Where a value is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    /// A string without escapes: `text[start + 1..end - 1]` is its content.
    pub plain_string: bool,
}

impl Member<'_> {
    pub fn span(&self) -> Span {
        Span {
            start: self.start,
            end: self.end,
            plain_string: self.plain_string,
        }
    }
}

/// Walks the elements of the array starting at `open` (`[`), calling `element` for each.
/// Returns the index after the closing `]`.
pub(crate) fn elements<E>(
    text: &str,
    open: usize,
    mut element: impl FnMut(Span) -> Result<(), E>,
) -> Result<Result<usize, ScanError>, E> {
    let b = text.as_bytes();
    debug_assert_eq!(b.get(open), Some(&b'['));
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b']') {
        return Ok(Ok(i + 1));
    }
    loop {
        let (end, plain_string) = match value_end(b, i) {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        element(Span {
            start: i,
            end,
            plain_string,
        })?;
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return Ok(Ok(i + 1)),
            _ => return Ok(Err(ScanError::at(b, i))),
        }
    }
}

/// Walks the members of the object starting at `open` (`{`), calling `member` for each.
/// Returns the index after the closing `}`.
pub(crate) fn members<'a, E>(
    text: &'a str,
    open: usize,
    mut member: impl FnMut(Member<'a>) -> Result<(), E>,
) -> Result<Result<usize, ScanError>, E> {
    let b = text.as_bytes();
    debug_assert_eq!(b.get(open), Some(&b'{'));
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(Ok(i + 1));
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Ok(Err(ScanError::at(b, i)));
        }
        let (key_end, key_escaped) = match string_end(b, i) {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        let key = &text[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Ok(Err(ScanError::at(b, i)));
        }
        let start = skip_ws(b, i + 1);
        let (end, plain_string) = match value_end(b, start) {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        member(Member {
            key,
            key_escaped,
            start,
            end,
            plain_string,
        })?;
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Ok(Ok(i + 1)),
            _ => return Ok(Err(ScanError::at(b, i))),
        }
    }
}

/// 1-based line and column of byte `at`.
pub(crate) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    (line, at - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(s: &str) -> Result<usize, ScanError> {
        value_end(s.as_bytes(), 0).map(|(e, _)| e)
    }

    #[test]
    fn finds_value_ends() {
        assert_eq!(end(r#""a\"b\\" x"#), Ok(8));
        assert_eq!(end(r#"{"a":[1,{"b":"}]"}],"c":{}} x"#), Ok(27));
        assert_eq!(end("123, 4"), Ok(3));
        assert_eq!(end("true}"), Ok(4));
        assert_eq!(end("[]"), Ok(2));
        assert!(end(r#"{"a":[1}"#).unwrap_err().eof, "does not close");
        assert!(end(r#"{"a":"x}"#).unwrap_err().eof);
        assert!(end(r#""abc\"#).unwrap_err().eof);
        assert_eq!(value_end(br#""a\nb""#, 0), Ok((6, false)), "escaped");
        assert_eq!(value_end(br#""ab""#, 0), Ok((4, true)), "plain");
        // Raw control characters are not allowed in strings.
        assert_eq!(
            value_end(b"\"a\tb\"", 0),
            Err(ScanError { at: 2, eof: false })
        );
        // The word-at-a-time search finds the first special byte wherever it is.
        for n in 0..40 {
            let s = format!("\"{}\"", "x".repeat(n));
            assert_eq!(value_end(s.as_bytes(), 0), Ok((n + 2, true)));
            let s = format!("\"{}\\\"é\"", "é".repeat(n));
            assert_eq!(value_end(s.as_bytes(), 0), Ok((s.len(), false)));
        }
        assert!(end("}").is_err());
        let deep = "[".repeat(300) + &"]".repeat(300);
        assert_eq!(end(&deep), Ok(600));
    }

    #[test]
    fn walks_members() {
        let text = r#" { "a" : 1 , "b\"c": {"x":[2]},"d":"e" } tail"#;
        let mut got = Vec::new();
        let r = members::<()>(text, 1, |m| {
            got.push((m.key, m.key_escaped, &text[m.start..m.end], m.plain_string));
            Ok(())
        })
        .unwrap();
        assert_eq!(r, Ok(40));
        assert_eq!(
            got,
            [
                ("a", false, "1", false),
                (r#"b\"c"#, true, r#"{"x":[2]}"#, false),
                ("d", false, r#""e""#, true)
            ]
        );
        assert!(members::<()>("{}", 0, |_| Ok(())).unwrap().is_ok());
        for bad in [
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"{a:1}"#,
            r#"{"a":1 "b":2}"#,
        ] {
            assert!(members::<()>(bad, 0, |_| Ok(())).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn walks_elements() {
        let text = r#"[ 1, "a" ,{"b":[2]}, "c\"" ]"#;
        let mut got = Vec::new();
        let r = elements::<()>(text, 0, |e| {
            got.push((&text[e.start..e.end], e.plain_string));
            Ok(())
        })
        .unwrap();
        assert_eq!(r, Ok(text.len()));
        assert_eq!(
            got,
            [
                ("1", false),
                (r#""a""#, true),
                (r#"{"b":[2]}"#, false),
                (r#""c\"""#, false)
            ]
        );
        assert_eq!(elements::<()>("[]", 0, |_| Ok(())).unwrap(), Ok(2));
        for bad in ["[1,]", "[1 2]", "[1", "[,1]"] {
            assert!(
                elements::<()>(bad, 0, |_| Ok(())).unwrap().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn positions() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("abc", 0), (1, 1));
    }
}
