//! The `properties` strings: the selected values as a JSON object of strings, length-checked.

use crate::error::{utf16_len, warn, MapError, MapWarning};
use crate::path::{Element, PropertyPath, Resolved, Selector};
use crate::scan;
use crate::value::Value;

/// For an event's `properties`: where unusable values and the members that do not fit are
/// reported, instead of failing, and the limit (in UTF-16 code units, the stricter count).
pub(super) struct Lenient<'w> {
    pub warnings: &'w mut Vec<MapWarning>,
    pub max: usize,
}

/// Builds the JSON object string of the selected values: `{"key":"value",...}`, string values
/// only (Personalize's properties are a string map): numbers as written, booleans as
/// `true`/`false`, arrays joined with `|`. `None` when no selector finds a value.
///
/// Strict (`lenient` = `None`, for user traits): a value that cannot be a string is an error.
/// Lenient (an event's properties): such a value is left out with a warning (the selector's
/// next path is tried), and when the string is longer than `max` the largest members are left
/// out, one by one, until it fits, with one warning naming their keys and the limit.
pub(super) fn properties_string(
    selectors: &[Selector],
    root: &Value<'_>,
    root_name: &str,
    element: Option<&Element<'_, '_, '_>>,
    mut lenient: Option<Lenient<'_>>,
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
                Resolved::One(None, _) => Ok(false),
                Resolved::One(Some(v), index) => {
                    property_text(v, &mut out, || path.field(root_name, index))
                }
                Resolved::Each => join_elements(path, root, root_name, &mut out),
            };
            let found = match (found, lenient.as_mut()) {
                (Ok(found), _) => found,
                (Err(e), Some(l)) => {
                    warn(l.warnings, MapWarning::left_out(e));
                    false
                }
                (Err(e), None) => return Err(e),
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
    match lenient {
        Some(l) if utf16_len(&out) > l.max => Ok(fit(&out, root_name, l)),
        _ => Ok(Some(out)),
    }
}

/// Leaves out the largest members of `out` until it is at most `l.max` UTF-16 code units, with
/// one warning naming the keys left out (from the configuration, never the message).
fn fit(out: &str, field: &str, l: Lenient<'_>) -> Option<String> {
    // Each member's byte range (without the separating comma) and key, found again in the
    // built text (keys have no quotes or backslashes: the configuration refuses them).
    let mut members: Vec<(usize, usize, &str)> = Vec::new();
    let walked = scan::members::<()>(out, 0, |m| {
        let start = m.key.as_ptr() as usize - out.as_ptr() as usize - 1;
        members.push((start, m.end, m.key));
        Ok(())
    });
    debug_assert!(matches!(walked, Ok(Ok(_))), "built properties are JSON");
    let total = utf16_len(out);
    let lens: Vec<usize> = members
        .iter()
        .map(|&(start, end, _)| utf16_len(&out[start..end]))
        .collect();
    let mut by_size: Vec<usize> = (0..members.len()).collect();
    // Largest first; among equals, the last one selected goes first.
    by_size.sort_by(|&a, &b| lens[b].cmp(&lens[a]).then(b.cmp(&a)));
    let mut kept = vec![true; members.len()];
    let mut len = total;
    let mut dropped = Vec::new();
    for i in by_size {
        if len <= l.max {
            break;
        }
        kept[i] = false;
        // The member and one comma (none is left when it was the only member).
        len -= lens[i] + usize::from(kept.iter().any(|&k| k));
        dropped.push(members[i].2);
    }
    // In the order of the configuration.
    dropped.sort_by_key(|k| members.iter().position(|m| m.2 == *k));
    warn(
        l.warnings,
        MapWarning::new(
            field,
            format!(
                "{total} UTF-16 code units, at most {}: left out {}",
                l.max,
                dropped.join(", ")
            ),
        ),
    );
    let mut fitted = String::with_capacity(len);
    fitted.push('{');
    for (i, &(start, end, _)) in members.iter().enumerate() {
        if kept[i] {
            if fitted.len() > 1 {
                fitted.push(',');
            }
            fitted.push_str(&out[start..end]);
        }
    }
    if fitted.len() == 1 {
        return None;
    }
    fitted.push('}');
    debug_assert!(utf16_len(&fitted) <= l.max);
    Some(fitted)
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
        Value::Number(text) => out.push_str(text),
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
