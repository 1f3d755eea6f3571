//! The deployed local stack, as `localcloud deploy` writes it to `.localcloud/stack.json`: what
//! `aws cloudformation describe-stacks` / `describe-stack-resources` would tell about a real
//! deployment (outputs, physical ids), plus what the local Lambda service and the relay need
//! to play Lambda (functions with their resolved environment and role, event sources).
//!
//! Tests, the demo and the CLI read names from here (outputs first), never from a list of
//! their own.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::config::Routes;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub stack_name: String,
    pub stack_id: String,
    pub region: String,
    pub account_id: String,
    /// Every parameter's value (given or default).
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// Logical id -> what was made of it.
    pub resources: BTreeMap<String, DeployedResource>,
    pub functions: Vec<FunctionDef>,
    /// Event sources (S3 notifications and EventBridge rules that target functions, SQS event
    /// source mappings), as relay routes.
    pub routes: Routes,
    pub state_machines: Vec<StateMachineDef>,
    /// Topic logical id -> the queue the local cloud subscribes to it (what would be e-mailed).
    pub inboxes: BTreeMap<String, String>,
    /// Resources deployed without a local equivalent, with the reason.
    pub not_mapped: Vec<NotMapped>,
    /// Roles: ARN -> the identity policies (inline and managed) attached to it.
    pub roles: BTreeMap<String, RoleDef>,
    /// The local administrator (tests, demo, relay, bootstrap): allowed everything.
    pub admin: AdminCredentials,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedResource {
    #[serde(rename = "type")]
    pub kind: String,
    /// What `Ref` returns.
    pub physical_id: String,
    /// What `Fn::GetAtt` returns, by attribute name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDef {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub role_arn: String,
    /// The function's own `Environment.Variables`, resolved.
    pub environment: BTreeMap<String, String>,
    pub timeout_seconds: u64,
    pub memory_mb: u32,
    pub reserved_concurrency: Option<u32>,
    /// `AWS::Lambda::EventInvokeConfig` (asynchronous invocation), or Lambda's defaults.
    pub async_config: AsyncConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncConfig {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u64,
    /// Queue name of the on-failure destination.
    pub on_failure_queue: Option<String>,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        Self {
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 21_600,
            on_failure_queue: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineDef {
    pub logical_id: String,
    pub arn: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDef {
    pub logical_id: String,
    pub name: String,
    pub policies: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotMapped {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminCredentials {
    pub arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Stack {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        crate::config::load(path).with_context(|| {
            format!(
                "{} is the local stack; `scripts/localcloud.sh up` writes it",
                path.display()
            )
        })
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }

    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name == name)
    }
}
