//! Splitting a file of Segment messages: one message, a JSON array of messages, or JSON lines.
//!
//! Each message keeps its own text, so one malformed message is reported on its own and the
//! others are still mapped.

use super::scan::skip_ws;

/// One message's text and its 0-based index in the input (array position, or position among
/// the non-blank lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMessage<'a> {
    pub index: usize,
    pub text: &'a str,
}

/// How the input was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Single,
    Array,
    Lines,
}

/// Splits `text` into messages:
///
/// * starts with `[`: a JSON array, split into its elements (an error if the array itself is
///   not well formed, e.g. unbalanced brackets or a missing comma);
/// * one JSON value and nothing but whitespace after it: a single message;
/// * otherwise JSON lines: every non-blank line is one message.
pub fn split_messages(text: &str) -> Result<(Layout, Vec<RawMessage<'_>>), String> {
    let bytes = text.as_bytes();
    let start = skip_ws(bytes, 0);
    if start == bytes.len() {
        return Err(
            "no input: expected a Segment message, a JSON array of them, or JSON lines".to_owned(),
        );
    }
    if bytes[start] == b'[' {
        return split_array(text, start).map(|m| (Layout::Array, m));
    }
    if let Some(end) = value_end(bytes, start) {
        if skip_ws(bytes, end) == bytes.len() {
            return Ok((
                Layout::Single,
                vec![RawMessage {
                    index: 0,
                    text: &text[start..end],
                }],
            ));
        }
    }
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(index, text)| RawMessage { index, text })
        .collect();
    Ok((Layout::Lines, lines))
}

fn split_array(text: &str, open: usize) -> Result<Vec<RawMessage<'_>>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = skip_ws(bytes, open + 1);
    if bytes.get(i) == Some(&b']') {
        return trailing(bytes, i + 1).map(|()| out);
    }
    loop {
        let end = value_end(bytes, i)
            .ok_or_else(|| format!("the JSON array is not well formed (element {})", out.len()))?;
        out.push(RawMessage {
            index: out.len(),
            text: &text[i..end],
        });
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b']') => return trailing(bytes, i + 1).map(|()| out),
            _ => {
                return Err(format!(
                    "the JSON array is not well formed: expected ',' or ']' after element {}",
                    out.len() - 1
                ))
            }
        }
    }
}

fn trailing(bytes: &[u8], i: usize) -> Result<(), String> {
    if skip_ws(bytes, i) == bytes.len() {
        Ok(())
    } else {
        Err("unexpected text after the JSON array".to_owned())
    }
}

/// The end of the JSON value starting at `i`, found by counting brackets outside strings (the
/// value itself is validated later, when parsed). `None` when it does not end.
fn value_end(bytes: &[u8], i: usize) -> Option<usize> {
    super::scan::value_end(bytes, i).ok().map(|(end, _)| end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> (Layout, Vec<&str>) {
        let (layout, m) = split_messages(input).unwrap();
        assert!(m.iter().enumerate().all(|(i, r)| r.index == i));
        (layout, m.into_iter().map(|r| r.text).collect())
    }

    #[test]
    fn single_message_pretty_printed() {
        let (l, m) = texts("\n{\n  \"type\": \"track\",\n  \"x\": \"}{\\\"\"\n}\n");
        assert_eq!(l, Layout::Single);
        assert_eq!(m, ["{\n  \"type\": \"track\",\n  \"x\": \"}{\\\"\"\n}"]);
    }

    #[test]
    fn arrays_split_into_elements() {
        let (l, m) = texts(r#" [ {"a":[1,{"b":"]"}]} , {"c":2},"x", 5 ] "#);
        assert_eq!(l, Layout::Array);
        assert_eq!(m, [r#"{"a":[1,{"b":"]"}]}"#, r#"{"c":2}"#, r#""x""#, "5"]);
        assert_eq!(texts("[]").1, Vec::<&str>::new());
        assert!(split_messages(r#"[{"a":1} {"b":2}]"#).is_err());
        assert!(split_messages(r#"[{"a":1}"#).is_err());
        assert!(split_messages(r#"[{"a":1}] x"#).is_err());
    }

    #[test]
    fn json_lines_one_message_per_non_blank_line() {
        let (l, m) = texts("{\"a\":1}\n\n{\"b\":\n{\"c\":3}\r\n");
        assert_eq!(l, Layout::Lines);
        assert_eq!(m, ["{\"a\":1}", "{\"b\":", "{\"c\":3}"]);
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(split_messages(" \n ").is_err());
    }
}
