//! The walk over a value and its shape, gathering violations.

use std::cmp::Ordering;

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::OffsetDateTime;

use super::{Unknown, Violation};
use crate::botocore::shapes::{Kind, Member, ServiceModel, Shape, Structure};

pub(super) struct Checker<'m> {
    model: &'m ServiceModel,
    unknown: Unknown,
    pub(super) out: Vec<Violation>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Compares a JSON number with a model bound: exactly for integers, else as `f64`.
fn compare(value: &Number, bound: &Number) -> Ordering {
    let int = |n: &Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (int(value), int(bound)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => {
            let (a, b) = (value.as_f64().unwrap_or(0.0), bound.as_f64().unwrap_or(0.0));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
    }
}

fn bound_len(bound: &Option<Number>) -> Option<u64> {
    bound
        .as_ref()
        .and_then(|n| n.as_u64().or(n.as_f64().map(|f| f.max(0.0) as u64)))
}

impl<'m> Checker<'m> {
    pub(super) fn new(model: &'m ServiceModel, unknown: Unknown) -> Self {
        Self {
            model,
            unknown,
            out: Vec::new(),
        }
    }

    pub(super) fn fail(&mut self, path: &str, constraint: impl Into<String>) {
        self.out.push(Violation {
            path: path.to_owned(),
            constraint: constraint.into(),
            null: false,
        });
    }

    fn missing(&mut self, path: &str) {
        self.out.push(Violation {
            path: path.to_owned(),
            constraint: "Member must not be null".to_owned(),
            null: true,
        });
    }

    pub(super) fn member_value(&mut self, member: &Member, value: &Value, path: &str) {
        if let Some(shape) = self.model.shape(&member.shape) {
            self.value(shape, Some(member), value, path);
        }
    }

    pub(super) fn value(
        &mut self,
        shape: &Shape,
        member: Option<&Member>,
        value: &Value,
        path: &str,
    ) {
        match &shape.kind {
            Kind::Structure(s) => match value {
                Value::Object(map) => self.structure(s, map, path),
                _ => self.fail(path, "Member must be a structure"),
            },
            Kind::List { member, sparse } => match value {
                Value::Array(entries) => {
                    self.length(shape, entries.len(), path);
                    let Some(item) = self.model.shape(member) else {
                        return;
                    };
                    for (i, entry) in entries.iter().enumerate() {
                        let entry_path = format!("{path}.{}.member", i + 1);
                        match entry {
                            Value::Null if !sparse => self.missing(&entry_path),
                            Value::Null => {}
                            v => self.value(item, None, v, &entry_path),
                        }
                    }
                }
                _ => self.fail(path, "Member must be a list"),
            },
            Kind::Map {
                key,
                value: v,
                sparse,
            } => match value {
                Value::Object(map) => self.map(shape, key, v, *sparse, map, path),
                _ => self.fail(path, "Member must be a map"),
            },
            Kind::String => match value {
                Value::String(s) => {
                    for c in self.string_constraints(shape, s) {
                        self.fail(path, c);
                    }
                }
                _ => self.fail(path, "Member must be a string"),
            },
            Kind::Integer { bits } => match value {
                Value::Number(n) => {
                    let half = 1i128 << (bits - 1);
                    match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                        Some(i) if (-half..half).contains(&i) => self.range(shape, n, path),
                        Some(_) => {
                            self.fail(path, format!("Member must fit in a {bits}-bit integer"))
                        }
                        None => self.fail(path, "Member must be an integer"),
                    }
                }
                _ => self.fail(path, "Member must be an integer"),
            },
            Kind::Float => match value {
                Value::Number(n) => self.range(shape, n, path),
                Value::String(s) if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) => {}
                _ => self.fail(path, "Member must be a number"),
            },
            Kind::BigNumber => match value {
                Value::Number(n) => self.range(shape, n, path),
                _ => self.fail(path, "Member must be a number"),
            },
            Kind::Boolean => {
                if !value.is_boolean() {
                    self.fail(path, "Member must be a boolean");
                }
            }
            Kind::Timestamp => self.timestamp(shape, member, value, path),
            Kind::Blob => match value {
                Value::String(s) => match base64::engine::general_purpose::STANDARD.decode(s) {
                    Ok(bytes) => self.length(shape, bytes.len(), path),
                    Err(_) => self.fail(path, "Member must be base64-encoded"),
                },
                _ => self.fail(path, "Member must be a base64-encoded string"),
            },
            Kind::Document => {}
        }
    }

    pub(super) fn structure(&mut self, s: &Structure, map: &Map<String, Value>, path: &str) {
        let body_members = || s.members.iter().filter(|m| m.location.is_none());
        let mut set = 0;
        for m in body_members() {
            let member_path = join(path, m.json_key());
            match map.get(m.json_key()).filter(|v| !v.is_null()) {
                Some(v) => {
                    set += 1;
                    self.member_value(m, v, &member_path);
                }
                None if s.required.contains(&m.name) => self.missing(&member_path),
                None => {}
            }
        }
        if s.union && set != 1 {
            self.fail(
                if path.is_empty() { "input" } else { path },
                "Union must have exactly one member set",
            );
        }
        if self.unknown == Unknown::Reject {
            for key in map.keys() {
                if !body_members().any(|m| m.json_key() == key) {
                    self.fail(&join(path, key), "Member is not defined by the model");
                }
            }
        }
    }

    fn map(
        &mut self,
        shape: &Shape,
        key: &str,
        value: &str,
        sparse: bool,
        map: &Map<String, Value>,
        path: &str,
    ) {
        self.length(shape, map.len(), path);
        let (Some(key_shape), Some(value_shape)) = (self.model.shape(key), self.model.shape(value))
        else {
            return;
        };
        for (n, (k, v)) in map.iter().enumerate() {
            let key_constraints = self.string_constraints(key_shape, k);
            if !key_constraints.is_empty() {
                self.fail(
                    path,
                    format!(
                        "Map keys must satisfy constraint: [{}]",
                        key_constraints.join(", ")
                    ),
                );
            }
            if v.is_null() {
                if !sparse {
                    self.fail(
                        path,
                        "Map value must satisfy constraint: [Member must not be null]",
                    );
                }
                continue;
            }
            // The value's own violations are said of the map (AWS does not name map entries);
            // those deeper inside a structured value keep their path under `entry.<n>.value`.
            let mut inner = Checker::new(self.model, self.unknown);
            inner.value(value_shape, None, v, "");
            for violation in inner.out {
                if violation.path.is_empty() {
                    self.fail(
                        path,
                        format!(
                            "Map value must satisfy constraint: [{}]",
                            violation.constraint
                        ),
                    );
                } else {
                    self.out.push(Violation {
                        path: format!("{path}.entry.{}.value.{}", n + 1, violation.path),
                        ..violation
                    });
                }
            }
        }
    }

    /// The constraints string `s` fails (length, pattern, enum).
    fn string_constraints(&self, shape: &Shape, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(min) = bound_len(&shape.min) {
            if (s.chars().count() as u64) < min {
                out.push(format!(
                    "Member must have length greater than or equal to {min}"
                ));
            }
        }
        if let Some(max) = bound_len(&shape.max) {
            if s.encode_utf16().count() as u64 > max {
                out.push(format!(
                    "Member must have length less than or equal to {max}"
                ));
            }
        }
        if let Some(pattern) = &shape.pattern {
            if !pattern.matches(s) {
                out.push(format!(
                    "Member must satisfy regular expression pattern: {}",
                    pattern.source()
                ));
            }
        }
        if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|e| e == s) {
            out.push(format!(
                "Member must satisfy enum value set: [{}]",
                shape.enum_values.join(", ")
            ));
        }
        out
    }

    /// `min`/`max` on a count (entries, pairs, bytes).
    fn length(&mut self, shape: &Shape, count: usize, path: &str) {
        let count = count as u64;
        if let Some(min) = bound_len(&shape.min).filter(|min| count < *min) {
            self.fail(
                path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = bound_len(&shape.max).filter(|max| count > *max) {
            self.fail(
                path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn range(&mut self, shape: &Shape, n: &Number, path: &str) {
        if let Some(min) = shape.min.as_ref().filter(|min| compare(n, min).is_lt()) {
            self.fail(
                path,
                format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = shape.max.as_ref().filter(|max| compare(n, max).is_gt()) {
            self.fail(
                path,
                format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    fn timestamp(&mut self, shape: &Shape, member: Option<&Member>, value: &Value, path: &str) {
        let format = member
            .and_then(|m| m.timestamp_format.as_deref())
            .or(shape.timestamp_format.as_deref())
            .unwrap_or("unixTimestamp");
        let ok = match (format, value) {
            ("iso8601", Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339).is_ok(),
            ("rfc822", Value::String(s)) => OffsetDateTime::parse(s, &Rfc2822).is_ok(),
            ("iso8601" | "rfc822", _) => false,
            (_, Value::Number(_)) => true,
            _ => false,
        };
        if !ok {
            self.fail(
                path,
                match format {
                    "iso8601" => "Member must be an ISO 8601 timestamp",
                    "rfc822" => "Member must be an RFC 822 timestamp",
                    _ => "Member must be a number",
                },
            );
        }
    }
}
