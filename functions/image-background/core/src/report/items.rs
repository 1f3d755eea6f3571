//! The image keys of a job's items file: the JSON array of `{"job": {...}, "image": {"key": ...}}`
//! that `start-image-job` writes for the Distributed Map ([`ImageTask`](crate::ImageTask)).
//!
//! The array is walked one item at a time (only the current item is held as a JSON value), and
//! only the image keys are kept: an items file of 10,000 images becomes a `Vec` of 10,000 keys.
//! Only what the report needs is checked: every item is an object with a non-empty string
//! `image.key`, and a `job.jobId`, when given, is the reported job's. Errors name the item
//! (`items[3].image.key: missing`).

use std::fmt;

use serde::de::{Deserializer as _, Error as _, SeqAccess, Visitor};
use serde_json::Value;

/// Keys reserved up front at most (the array's length is not known before the end).
const MAX_PREALLOCATED: usize = 16_384;

/// The image keys of the items file `bytes`, in file order, for job `job_id`. The error is a
/// message naming the item index (`items[3].image.key: missing`) or the file's problem.
pub fn image_keys(bytes: &[u8], job_id: &str) -> Result<Vec<String>, String> {
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = de
        .deserialize_seq(KeysVisitor {
            job_id,
            problem: &mut problem,
        })
        .and_then(|keys| de.end().map(|()| keys));
    match parsed {
        Ok(keys) => Ok(keys),
        // A problem found in an item: its own message, without serde's position suffix.
        Err(_) if problem.is_some() => Err(problem.unwrap_or_default()),
        Err(e) => Err(format!("not a JSON array of items: {e}")),
    }
}

struct KeysVisitor<'a> {
    job_id: &'a str,
    problem: &'a mut Option<String>,
}

impl<'de> Visitor<'de> for KeysVisitor<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOCATED));
        let mut i = 0usize;
        loop {
            let item = match seq.next_element::<Value>() {
                Ok(Some(item)) => item,
                Ok(None) => return Ok(keys),
                Err(e) => {
                    *self.problem = Some(format!("items[{i}]: not valid JSON: {e}"));
                    return Err(e);
                }
            };
            match item_key(item, self.job_id) {
                Ok(key) => keys.push(key),
                Err(msg) => {
                    let msg = format!("items[{i}]{msg}");
                    *self.problem = Some(msg.clone());
                    return Err(A::Error::custom(msg));
                }
            }
            i += 1;
        }
    }
}

/// The image key of one item; the error starts with the path inside the item (`.image.key: ...`).
fn item_key(item: Value, job_id: &str) -> Result<String, String> {
    let Value::Object(mut item) = item else {
        return Err(format!(": {}, an object is expected", kind(&item)));
    };
    match item.get("job") {
        None => {}
        Some(Value::Object(job)) => match job.get("jobId") {
            None => {}
            Some(Value::String(id)) if id == job_id => {}
            Some(Value::String(id)) => {
                return Err(format!(
                    ".job.jobId: {id:?} is not the reported job {job_id:?} (wrong itemsKey?)"
                ))
            }
            Some(other) => {
                return Err(format!(".job.jobId: {}, a string is expected", kind(other)))
            }
        },
        Some(other) => return Err(format!(".job: {}, an object is expected", kind(other))),
    }
    let image = match item.remove("image") {
        Some(Value::Object(image)) => image,
        Some(other) => return Err(format!(".image: {}, an object is expected", kind(&other))),
        None => return Err(".image: missing".to_owned()),
    };
    match image.get("key") {
        Some(Value::String(key)) if !key.trim().is_empty() => Ok(key.clone()),
        Some(Value::String(_)) => Err(".image.key: empty".to_owned()),
        Some(other) => Err(format!(".image.key: {}, a string is expected", kind(other))),
        None => Err(".image.key: missing".to_owned()),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
