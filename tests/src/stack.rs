//! The deployed local stack (`.localcloud/stack.json`, written by `localcloud deploy` from
//! template.yaml): every name the tests use comes from here, as a user of a real deployment
//! takes them from the stack's outputs and resources. Nothing is written down twice.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use serde_json::Value;

/// The stack file: `LOCALCLOUD_STACK_FILE` (what `scripts/localcloud.sh env` exports), else
/// `.localcloud/stack.json` of this work tree.
pub fn stack_file() -> PathBuf {
    std::env::var_os("LOCALCLOUD_STACK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join(".localcloud/stack.json"))
}

/// The deployed stack.
#[derive(Debug, Clone)]
pub struct Stack {
    json: Value,
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// The stack of the running local cloud (read once).
///
/// Panics with how to start the local cloud when there is none: every name of the end-to-end
/// tests comes from it.
pub fn stack() -> &'static Stack {
    STACK.get_or_init(|| Stack::load().unwrap_or_else(|e| panic!("{e:#}; {}", crate::START_HINT)))
}

impl Stack {
    pub fn load() -> Result<Self> {
        let path = stack_file();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the local stack {}", path.display()))?;
        let json = serde_json::from_str(&text)
            .with_context(|| format!("parsing the local stack {}", path.display()))?;
        Ok(Self { json })
    }

    /// A stack output (`Outputs` of template.yaml).
    pub fn output(&self, name: &str) -> &str {
        self.json["outputs"][name]
            .as_str()
            .unwrap_or_else(|| panic!("the stack has no output {name}"))
    }

    /// A parameter's value.
    pub fn parameter(&self, name: &str) -> &str {
        self.json["parameters"][name]
            .as_str()
            .unwrap_or_else(|| panic!("the stack has no parameter {name}"))
    }

    /// What `Ref` of a resource gives (a bucket's or table's name, a queue's URL, a function's
    /// name, a topic's or state machine's ARN).
    pub fn physical_id(&self, logical_id: &str) -> &str {
        self.json["resources"][logical_id]["physicalId"]
            .as_str()
            .unwrap_or_else(|| panic!("the stack has no resource {logical_id}"))
    }

    /// What `Fn::GetAtt` of a resource gives.
    pub fn attribute(&self, logical_id: &str, attribute: &str) -> &str {
        self.json["resources"][logical_id]["attributes"][attribute]
            .as_str()
            .unwrap_or_else(|| panic!("the stack has no {logical_id}.{attribute}"))
    }

    /// The name of a queue of the stack.
    pub fn queue_name(&self, logical_id: &str) -> &str {
        self.attribute(logical_id, "QueueName")
    }

    /// The queue the local cloud delivers a function's asynchronous event source to (S3
    /// notifications, EventBridge rule targets): waiting for it to drain waits for the events.
    pub fn relay_queue(&self, function_logical_id: &str) -> &str {
        let function = self.physical_id(function_logical_id);
        self.json["routes"]["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["function"] == function && r["mode"] == "async")
            .and_then(|r| r["queue"].as_str())
            .unwrap_or_else(|| panic!("no event source delivers to {function_logical_id}"))
    }

    /// The queue subscribed to a topic in place of its e-mail subscribers.
    pub fn inbox(&self, topic_logical_id: &str) -> &str {
        self.json["inboxes"][topic_logical_id]
            .as_str()
            .unwrap_or_else(|| panic!("the topic {topic_logical_id} has no inbox"))
    }

    /// A variable of a function's own environment (its template `Environment`).
    pub fn function_environment(&self, function_logical_id: &str, name: &str) -> Option<&str> {
        self.json["functions"]
            .as_array()?
            .iter()
            .find(|f| f["logicalId"] == function_logical_id)?["environment"][name]
            .as_str()
    }

    /// Whether some role of the stack has a policy statement with this Sid.
    pub fn has_statement(&self, sid: &str) -> bool {
        fn walk(v: &Value, sid: &str) -> bool {
            match v {
                Value::Object(m) => {
                    m.get("Sid").and_then(Value::as_str) == Some(sid)
                        || m.values().any(|v| walk(v, sid))
                }
                Value::Array(a) => a.iter().any(|v| walk(v, sid)),
                _ => false,
            }
        }
        walk(&self.json["roles"], sid)
    }

    /// Every output, for messages.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        serde_json::from_value(self.json["outputs"].clone()).unwrap_or_default()
    }
}
