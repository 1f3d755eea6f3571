//! Specifications of what the local cloud creates in moto (filled by [`crate::deploy`] from the
//! expanded template) and of the relay's routes (written to `.localcloud/stack.json`).
//! Unknown fields are rejected so that a typo fails loudly instead of being ignored.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::lambda::DEFAULT_ACCOUNT_ID;

/// Reads and parses a JSON file.
pub fn load<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

// ------------------------------------------------------------------------ resources to create

/// An SQS queue. `attributes` are SQS attribute names and values (`VisibilityTimeout`,
/// `RedrivePolicy`, ...).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSpec {
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// An S3 bucket and its event notifications to SQS.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketSpec {
    pub name: String,
    #[serde(default)]
    pub notifications: Vec<NotificationSpec>,
}

/// One `QueueConfiguration` of a bucket's notification configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationSpec {
    pub id: String,
    pub queue: String,
    #[serde(default = "default_s3_events")]
    pub events: Vec<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
}

fn default_s3_events() -> Vec<String> {
    vec!["s3:ObjectCreated:*".into()]
}

/// An EventBridge bus. A name starting with `aws.partner/` is a partner event bus and is
/// created from a partner event source of the same name, as the SaaS integration does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventBusSpec {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A rule with its event pattern (a JSON object) and SQS targets.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub event_pattern: serde_json::Value,
    pub targets: Vec<TargetSpec>,
}

/// A rule target: an SQS queue by name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetSpec {
    pub id: String,
    pub queue: String,
}

/// A Secrets Manager secret; an object `value` is stored as its JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub value: serde_json::Value,
}

impl SecretSpec {
    /// The `SecretString` to store.
    pub fn secret_string(&self) -> String {
        match &self.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A DynamoDB table (on-demand), with an optional TTL attribute.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    pub partition_key: KeySpec,
    #[serde(default)]
    pub sort_key: Option<KeySpec>,
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

/// A key attribute: name and type (`S`, `N` or `B`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySpec {
    pub name: String,
    #[serde(rename = "type", default = "default_key_type")]
    pub kind: String,
}

fn default_key_type() -> String {
    "S".into()
}

/// An SNS topic and its SQS subscriptions (queues by name; `raw` = raw message delivery).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// An SQS subscription of a topic.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub queue: String,
    #[serde(default)]
    pub raw: bool,
}

/// A Step Functions state machine from an ASL file, with `${Name}` placeholders filled from
/// `substitutions` as CloudFormation's `DefinitionSubstitutions` does. `definitionFile` is
/// relative to the repository root (the key of the expanded template's `DefinitionS3Location`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateMachineSpec {
    pub name: String,
    pub definition_file: String,
    #[serde(default)]
    pub substitutions: BTreeMap<String, String>,
}

/// Fills `${Name}` placeholders of an ASL definition. Every placeholder must have a value
/// (an unfilled one would reach Step Functions as literal text).
pub fn substitute(definition: &str, values: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .with_context(|| format!("unterminated placeholder at {:?}", &rest[start..]))?;
        let name = &after[..end];
        let value = values
            .get(name)
            .with_context(|| format!("no substitution for ${{{name}}}"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ------------------------------------------------------------------------------------- routes

/// The relay's routes (the `routes` member of `.localcloud/stack.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Routes {
    #[serde(default, rename = "$comment", skip_serializing_if = "Option::is_none")]
    pub _comment: Option<String>,
    /// Region written into ARNs and events (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Account written into ARNs and events (default moto's `123456789012`).
    #[serde(default = "default_account")]
    pub account_id: String,
    pub routes: Vec<Route>,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_account() -> String {
    DEFAULT_ACCOUNT_ID.into()
}

/// How a queue's messages reach the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Each message body *is* the event (S3 notification, EventBridge event) and the function
    /// is invoked the way S3 and EventBridge invoke it: asynchronously, with Lambda's retries
    /// and on-failure destination.
    #[default]
    Async,
    /// The function consumes the queue through an event source mapping: it gets SQS events
    /// (batches of messages).
    Sqs,
}

/// One queue -> function route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// Name for log lines (default: the queue name).
    #[serde(default)]
    pub name: Option<String>,
    /// The queue to drain.
    pub queue: String,
    /// The function to invoke (its physical name in the stack).
    pub function: String,
    #[serde(default)]
    pub mode: Mode,
    /// Longest one invocation may take before it counts as timed out.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,

    // --- async mode (Lambda asynchronous invocation config)
    /// Retries after a function error, 0..=2 (AWS default 2).
    #[serde(default = "default_retries")]
    pub maximum_retry_attempts: u32,
    /// Delay before retry N is `retryDelaysMs[N-1]` (the last entry repeats).
    /// AWS waits about one minute, then two.
    #[serde(default = "default_retry_delays")]
    pub retry_delays_ms: Vec<u64>,
    /// Give up on an event this old even if it never reached the function (AWS default 6 h).
    #[serde(default = "default_max_age")]
    pub maximum_event_age_seconds: u64,
    /// Queue that receives the on-failure destination record (none: the event is discarded
    /// with a warning, as Lambda does without a destination).
    #[serde(default)]
    pub on_failure: Option<String>,
    /// Events in flight at once for this route.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,

    // --- sqs mode (event source mapping)
    /// Messages per SQS event, 1..=10.
    #[serde(default = "default_batch_size")]
    pub batch_size: i32,
    /// Honour `{"batchItemFailures":[...]}` in the function's answer (`ReportBatchItemFailures`).
    #[serde(default = "default_true")]
    pub report_batch_item_failures: bool,
}

fn default_timeout_seconds() -> u64 {
    60
}
fn default_retries() -> u32 {
    2
}
fn default_retry_delays() -> Vec<u64> {
    vec![60_000, 120_000]
}
fn default_max_age() -> u64 {
    21_600
}
fn default_concurrency() -> usize {
    4
}
fn default_batch_size() -> i32 {
    10
}
fn default_true() -> bool {
    true
}

impl Route {
    /// The name used in log lines.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.queue)
    }

    /// The wait before retry number `retry` (1-based).
    pub fn retry_delay(&self, retry: u32) -> std::time::Duration {
        let index = (retry.max(1) as usize - 1).min(self.retry_delays_ms.len().saturating_sub(1));
        std::time::Duration::from_millis(self.retry_delays_ms.get(index).copied().unwrap_or(0))
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.maximum_retry_attempts > 2 {
            bail!(
                "route {}: maximumRetryAttempts must be 0..=2 (as in Lambda)",
                self.label()
            );
        }
        if !(1..=10).contains(&self.batch_size) {
            bail!("route {}: batchSize must be 1..=10", self.label());
        }
        if self.concurrency == 0 {
            bail!("route {}: concurrency must be at least 1", self.label());
        }
        if crate::lambda::function_name(&self.function).as_deref() != Some(self.function.as_str()) {
            bail!(
                "route {}: {:?} is not a function name",
                self.label(),
                self.function
            );
        }
        Ok(())
    }
}

impl Routes {
    /// Checks limits that Lambda itself enforces.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.routes.is_empty() {
            bail!("no routes");
        }
        self.routes.iter().try_for_each(Route::validate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(json: &str) -> Route {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn route_defaults_are_lambdas() {
        let r = route(r#"{"queue":"q","function":"f"}"#);
        assert_eq!(r.mode, Mode::Async);
        assert_eq!(r.maximum_retry_attempts, 2);
        assert_eq!(r.retry_delay(1).as_secs(), 60);
        assert_eq!(r.retry_delay(2).as_secs(), 120);
        assert_eq!(r.retry_delay(3).as_secs(), 120);
        assert_eq!(r.label(), "q");
    }

    #[test]
    fn limits() {
        let routes: Routes = serde_json::from_str(
            r#"{"routes":[{"queue":"q","function":"f","maximumRetryAttempts":3}]}"#,
        )
        .unwrap();
        assert!(routes.validate().is_err());
        assert!(serde_json::from_str::<Route>(r#"{"queue":"q","function":"f","typo":1}"#).is_err());
    }

    #[test]
    fn substitutions_fill_every_placeholder() {
        let values: BTreeMap<String, String> = [("A", "1"), ("Fn", "arn:x")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            substitute(r#"{"a":"${A}","f":"${Fn}","s":"$.x"}"#, &values).unwrap(),
            r#"{"a":"1","f":"arn:x","s":"$.x"}"#
        );
        let err = substitute("${Missing}", &values).unwrap_err();
        assert!(err.to_string().contains("${Missing}"), "{err}");
        assert!(substitute("${A", &values).is_err());
    }
}
