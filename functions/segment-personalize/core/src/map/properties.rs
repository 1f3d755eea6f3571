//! The `properties` strings: the selected values as a JSON object of strings, length-checked.

use crate::error::{service_len, MapError};
use crate::path::{Element, PropertyPath, Resolved, Selector};
use crate::scan;
use crate::value::Value;

pub(super) fn check_properties(p: String, field: &str, max: usize) -> Result<String, MapError> {
    let len = service_len(&p);
    if len > max {
        return Err(MapError::too_long(field, len, max));
    }
    Ok(p)
}

/// Builds the JSON object string of the selected values: `{"key":"value",...}`, string values
/// only (Personalize's properties are a string map): numbers in decimal, booleans as
/// `true`/`false`, arrays joined with `|`. `None` when no selector finds a value.
pub(super) fn properties_string(
    selectors: &[Selector],
    root: &Value<'_>,
    root_name: &str,
    element: Option<&Element<'_, '_, '_>>,
) -> Result<Option<String>, MapError> {
    if selectors.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(64);
    out.push('{');
    for sel in selectors {
        for path in &sel.paths {
            let mark = out.len();
            if mark > 1 {
                out.push(',');
            }
            push_json_string(&mut out, &sel.key);
            out.push_str(":\"");
            let found = match path.resolve(root, element) {
                Resolved::One(None, _) => false,
                Resolved::One(Some(v), index) => {
                    property_text(v, &mut out, || path.field(root_name, index))?
                }
                Resolved::Each => join_elements(path, root, root_name, &mut out)?,
            };
            if found {
                out.push('"');
                break;
            }
            out.truncate(mark);
        }
    }
    if out.len() == 1 {
        return Ok(None);
    }
    out.push('}');
    Ok(Some(out))
}

/// Appends the values of an `[]` path over all elements, joined with `|` (escaped for a JSON
/// string); `false` when none has one.
fn join_elements(
    path: &PropertyPath,
    root: &Value<'_>,
    root_name: &str,
    out: &mut String,
) -> Result<bool, MapError> {
    let items = path.array_of(root).map_err(|found| {
        MapError::new(
            path.array_field(root_name),
            format!("expected an array, found {found}"),
        )
    })?;
    let mut any = false;
    for (index, el) in items.unwrap_or(&[]).iter().enumerate() {
        let Some(v) = path.element_value(el) else {
            continue;
        };
        let mark = out.len();
        if any {
            out.push('|');
        }
        if property_text(v, out, || path.field(root_name, Some(index)))? {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    Ok(any)
}

/// Appends the text form of a property value, escaped for a JSON string; `false` for nothing
/// (an empty array).
fn property_text(
    v: &Value<'_>,
    out: &mut String,
    field: impl FnOnce() -> String + Copy,
) -> Result<bool, MapError> {
    use std::fmt::Write as _;
    match v {
        Value::Null => return Ok(false),
        Value::Str(s) => push_escaped(out, s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => write!(out, "{n}").expect("write to String"),
        Value::UInt(n) => write!(out, "{n}").expect("write to String"),
        Value::Float(x) => write!(out, "{x}").expect("write to String"),
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                if matches!(item, Value::Array(_) | Value::Object(_)) {
                    return Err(MapError::new(
                        field(),
                        "expected a string, number, boolean or an array of them, found nested arrays or objects",
                    ));
                }
                if item.is_null() {
                    continue;
                }
                if any {
                    out.push('|');
                }
                property_text(item, out, field)?;
                any = true;
            }
            return Ok(any);
        }
        Value::Object(_) => {
            return Err(MapError::new(
                field(),
                "expected a string, number, boolean or an array of them, found an object",
            ))
        }
    }
    Ok(true)
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends `s` escaped for the inside of a JSON string literal (as serde_json escapes).
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = scan::special(bytes, start) {
        out.push_str(&s[start..i]);
        let b = bytes[i];
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                use std::fmt::Write as _;
                write!(out, "\\u{b:04x}").expect("write to String");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "line\nfeed\ttab\r",
            "\u{1}\u{1f}\u{7f}",
            "é😀",
            "",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
