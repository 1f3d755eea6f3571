//! Checking a JSON request body against an operation's input shape, as an AWS service built on
//! Smithy (Coral) does before running the operation, reported in its words:
//!
//! ```text
//! 2 validation errors detected: Value null at 'sessionId' failed to satisfy constraint: Member
//! must not be null; Value at 'eventList' failed to satisfy constraint: Member must have length
//! less than or equal to 10
//! ```
//!
//! Rules, recursively from the input structure:
//!
//! - **required**: a required member absent or `null` (JSON protocols treat `null` as absent);
//!   a `null` entry of a list or map that is not `sparse`.
//! - **types** (restJson1 / awsJson serialisation): `string` a JSON string; `byte`, `short`,
//!   `integer`, `long` a JSON number without a fraction, within the type's bits; `float`,
//!   `double` a JSON number or the strings `NaN`, `Infinity`, `-Infinity`; `bigInteger`,
//!   `bigDecimal` a number; `boolean`; `timestamp` by its `timestampFormat`, by default
//!   epoch seconds as a JSON number (fractions allowed), `iso8601` an RFC 3339 string, `rfc822`
//!   an RFC 2822 string; `blob` standard base64; `list` an array; `map` and `structure` an
//!   object; a `document` anything. A union has exactly one member set.
//! - **length** (`min`/`max` of strings, blobs, lists, maps): lists count entries, maps pairs,
//!   blobs decoded bytes. Strings: Smithy's `@length` counts Unicode scalar values; AWS's Java
//!   services count UTF-16 code units (`String.length()`). Both readings are applied, the
//!   stricter of each: `min` on scalar values, `max` on UTF-16 code units, so a value accepted
//!   here is accepted under either (they differ only outside the Basic Multilingual Plane,
//!   e.g. an emoji is 1 scalar value, 2 code units).
//! - **range** (`min`/`max` of numbers).
//! - **pattern**: the whole value must match (see [`super::java_regex`]).
//! - **enum**: one of the listed values.
//! - **unknown members**: [`Unknown::Ignore`] (nothing in the models or the restJson1 spec
//!   makes a server refuse them, and older servers must take newer clients' requests; not
//!   verified against the live service) or [`Unknown::Reject`] (for tests: a member AWS would
//!   skip silently is a bug).
//!
//! Members bound elsewhere than the body (`location`: `uri`, `querystring`, `header`, ...) are
//! not looked for in it. Values are never echoed: AWS quotes non-`sensitive` values
//! (`Value 'x' at ...`); here no value is quoted, sensitive or not, so nothing a customer sent
//! reaches a log.

mod walk;

use std::fmt;

use serde_json::{Map, Value};

use super::shapes::{Kind, ServiceModel};
use walk::Checker;

/// What to do with object members the model does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unknown {
    /// Skip them, as the service does.
    #[default]
    Ignore,
    /// Report each as a violation.
    Reject,
}

/// One failed constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The member, as AWS names it: `eventList.2.member.itemId`.
    pub path: String,
    /// What it fails, in AWS's words: `Member must have length less than or equal to 256`.
    pub constraint: String,
    /// Absent (or `null`) where a value is required.
    pub null: bool,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.null { "Value null" } else { "Value" };
        write!(
            f,
            "{value} at '{}' failed to satisfy constraint: {}",
            self.path, self.constraint
        )
    }
}

/// `1 validation error detected: ...` / `N validation errors detected: a; b`.
pub fn message(violations: &[Violation]) -> String {
    let list = violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    match violations.len() {
        1 => format!("1 validation error detected: {list}"),
        n => format!("{n} validation errors detected: {list}"),
    }
}

impl ServiceModel {
    /// Checks a request body against the input of `operation`; `None` if the model has no
    /// such operation.
    pub fn check_input(
        &self,
        operation: &str,
        body: &Value,
        unknown: Unknown,
    ) -> Option<Vec<Violation>> {
        match body {
            Value::Object(map) => self.check_request(operation, map, unknown),
            other => {
                let op = self.operation(operation)?;
                let mut checker = Checker::new(self, unknown);
                if let Some(shape) = op.input.as_deref().and_then(|name| self.shape(name)) {
                    checker.value(shape, None, other, "");
                }
                Some(checker.out)
            }
        }
    }

    /// [`Self::check_input`] for a body that is a JSON object.
    pub fn check_request(
        &self,
        operation: &str,
        body: &Map<String, Value>,
        unknown: Unknown,
    ) -> Option<Vec<Violation>> {
        let op = self.operation(operation)?;
        let mut checker = Checker::new(self, unknown);
        let Some(shape) = op.input.as_deref().and_then(|name| self.shape(name)) else {
            return Some(checker.out);
        };
        match &shape.kind {
            Kind::Structure(s) => match s.payload.as_ref() {
                // The whole body is one member (a structure, document, blob or string).
                Some(payload) => {
                    if let Some(m) = s.members.iter().find(|m| &m.name == payload) {
                        checker.member_value(m, &Value::Object(body.clone()), "");
                    }
                }
                None => checker.structure(s, body, ""),
            },
            _ => checker.fail("", "Input must be a structure"),
        }
        Some(checker.out)
    }

    /// Checks `value` against shape `shape`, naming members from `path`.
    pub fn check_shape(
        &self,
        shape: &str,
        value: &Value,
        path: &str,
        unknown: Unknown,
    ) -> Vec<Violation> {
        let mut checker = Checker::new(self, unknown);
        if let Some(shape) = self.shape(shape) {
            checker.value(shape, None, value, path);
        }
        checker.out
    }

    /// The error an invalid request of `operation` answers: `ValidationException` when the
    /// operation declares it, else `InvalidInputException` when it declares that, else
    /// `ValidationException` (the framework's, undeclared).
    pub fn validation_error(&self, operation: &str) -> &'static str {
        let declared = |name: &str| {
            self.operation(operation)
                .is_some_and(|op| op.errors.iter().any(|e| e == name))
        };
        if !declared("ValidationException") && declared("InvalidInputException") {
            "InvalidInputException"
        } else {
            "ValidationException"
        }
    }
}
