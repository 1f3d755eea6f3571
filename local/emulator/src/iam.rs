//! IAM for the local cloud: identity-based policy evaluation, the principals file, and the
//! caller of a SigV4-signed request.
//!
//! Every Lambda function process of the local cloud runs with temporary credentials from
//! `sts:AssumeRole` (in moto) of the role its SAM template gives it. The process that assumes
//! the roles writes a principals file (see [`Principals`]) mapping each access key id to the
//! role session's ARN and the role's policy documents; a service that enforces IAM
//! ([`Principals::authenticate`], then [`Caller::authorize`]) answers as AWS does.
//!
//! # Evaluation ([`evaluate`])
//!
//! As the IAM policy evaluation logic documents it for identity-based policies in one account:
//! a request is allowed iff some `Allow` statement matches it and no `Deny` statement does; an
//! explicit deny wins, and nothing matching is an implicit deny.
//!
//! A statement matches when its action part, its resource part and its condition all match:
//!
//! - `Action` (a string or a list): some entry matches the action; `NotAction`: none does.
//!   Action matching is case-insensitive (service prefix and name: `Personalize:putevents`
//!   matches `personalize:PutEvents`).
//! - `Resource` / `NotResource` likewise, case-sensitive.
//! - Both take the wildcards `*` (any run of characters, `:` and `/` included) and `?` (one
//!   character), over the whole string.
//! - A statement with both or neither of `Action` / `NotAction` (or of `Resource` /
//!   `NotResource`), or whose `Effect` is neither `Allow` nor `Deny`, is invalid: IAM would
//!   refuse the policy; here it matches nothing. `Sid`, `Principal`, `NotPrincipal` and the
//!   policy `Version` are ignored; policy variables (`${aws:username}`) are not substituted,
//!   so a resource holding one matches only literally.
//!
//! # Conditions
//!
//! moto ignores `Condition`; the emulator does not, because treating a condition as always
//! true would make a conditional `Deny` deny everything. Instead, a condition is evaluated
//! against the few keys the emulator knows for a request ([`Context`]), and **a condition on any
//! other key, or with an unsupported operator, does not match**, so that statement neither
//! allows nor denies anything. The known keys (names are case-insensitive, as in IAM):
//!
//! | key | value |
//! |---|---|
//! | `aws:PrincipalArn` | the role's ARN (`arn:aws:iam::ACCOUNT:role/ROLE`) for an assumed-role session, else the principal's ARN |
//! | `aws:PrincipalAccount` | the account of the principal's ARN |
//! | `aws:PrincipalType` | `AssumedRole`, `User` or `Account` (from the ARN) |
//! | `aws:RequestedRegion` | the region of the request's credential scope |
//!
//! Supported operators: `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
//! `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
//! `ArnNotEquals`, `ArnNotLike` (the ARN ones as wildcard matches of the whole ARN), `Bool`,
//! `Null`, and the `...IfExists` forms (the same, since known keys always have a value). Several
//! operators, or several keys under one, must all hold; several values of a key are
//! alternatives (for a negated operator: the value must match none of them). `ForAnyValue:` /
//! `ForAllValues:`, numeric, date, IP and binary operators are not supported (no match).
//!
//! With [`evaluate`], which has no request context, every condition is on an unknown key.
//!
//! # Not covered
//!
//! Only identity-based policies: no resource-based policies, permission boundaries, session
//! policies, SCPs or cross-account rules. **Signatures are not verified**: a request is
//! attributed to whatever access key id its `Authorization` header (or `X-Amz-Credential`
//! query parameter) names ([`credential`]); the session token is not checked either. This
//! keeps the local cloud honest about permissions, not about secrets.

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::Context as _;
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;

/// The account of moto (and of a principal whose ARN names none).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// The region of a request whose credential scope names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The outcome of evaluating a request against policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Some `Allow` statement matches and no `Deny` statement does.
    Allowed,
    /// A `Deny` statement matches.
    ExplicitDeny,
    /// No statement allows the request.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// Evaluates `action` (`service:Operation`) on `resource` (an ARN) against identity-based
/// `policies` with no request context: every `Condition` is on an unknown key, so a statement
/// with one matches nothing. See the module documentation.
pub fn evaluate(policies: &[Value], action: &str, resource: &str) -> Decision {
    evaluate_in(policies, action, resource, &Context::default())
}

/// [`evaluate`], with the condition keys of `context`.
pub fn evaluate_in(
    policies: &[Value],
    action: &str,
    resource: &str,
    context: &Context,
) -> Decision {
    let action = action.to_lowercase();
    let mut allowed = false;
    for policy in policies {
        let parsed;
        let policy = match policy {
            Value::String(text) => match parse_policy_text(text) {
                Ok(value) => {
                    parsed = value;
                    &parsed
                }
                Err(_) => continue,
            },
            other => other,
        };
        for statement in statements(policy) {
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Decision::Allowed,
                Some("Deny") => Decision::ExplicitDeny,
                _ => continue,
            };
            if !statement_matches(statement, &action, resource, context) {
                continue;
            }
            if effect == Decision::ExplicitDeny {
                return Decision::ExplicitDeny;
            }
            allowed = true;
        }
    }
    if allowed {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

/// The statements of a policy document: `Statement` as an object or a list of objects.
fn statements(policy: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match policy.get("Statement") {
        Some(Value::Object(statement)) => vec![statement],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// A policy document given as JSON text (as IAM APIs return it, possibly URL-encoded).
fn parse_policy_text(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text).or_else(|e| match urlencoding::decode(text) {
        Ok(decoded) if decoded != text => serde_json::from_str(&decoded),
        _ => Err(e),
    })
}

/// `Action` / `Resource` and friends: a string or a list of strings. `None`: absent or not of
/// that shape.
fn string_or_list(value: Option<&Value>) -> Option<Vec<&str>> {
    match value? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(list) => list.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Whether one part of a statement (`positive` / `negative`: `Action` / `NotAction` or
/// `Resource` / `NotResource`) covers the request, `matches` telling whether one pattern
/// matches it; exactly one of the two members must be present.
fn part_matches(
    statement: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
    matches: impl Fn(&str) -> bool,
) -> bool {
    match (statement.get(positive), statement.get(negative)) {
        (Some(list), None) => {
            string_or_list(Some(list)).is_some_and(|l| l.into_iter().any(&matches))
        }
        (None, Some(list)) => {
            string_or_list(Some(list)).is_some_and(|l| !l.into_iter().any(&matches))
        }
        _ => false,
    }
}

/// `action` is lowercase already.
fn statement_matches(
    statement: &serde_json::Map<String, Value>,
    action: &str,
    resource: &str,
    context: &Context,
) -> bool {
    part_matches(statement, "Action", "NotAction", |pattern| {
        wildcard_match(&pattern.to_lowercase(), action)
    }) && part_matches(statement, "Resource", "NotResource", |pattern| {
        wildcard_match(pattern, resource)
    }) && statement
        .get("Condition")
        .is_none_or(|block| conditions_hold(block, context))
}

/// Whether `text` matches `pattern` as a whole, `*` standing for any run of characters and `?`
/// for one character; everything else compares exactly.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and where in `text` it currently stops.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The condition keys known for a request (names case-insensitive). See the module
/// documentation for which keys the emulator provides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Lowercased key → value.
    values: HashMap<String, String>,
}

impl Context {
    /// A context with no keys: every condition is on an unknown key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a key.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values.insert(key.to_lowercase(), value.into());
        self
    }

    /// The value of `key`, if the context knows it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(&key.to_lowercase()).map(String::as_str)
    }
}

/// A `Condition` block: every operator, and every key under it, must hold.
fn conditions_hold(block: &Value, context: &Context) -> bool {
    let Value::Object(operators) = block else {
        return false;
    };
    operators.iter().all(|(operator, keys)| match keys {
        Value::Object(keys) => keys
            .iter()
            .all(|(key, expected)| condition_holds(operator, key, expected, context)),
        _ => false,
    })
}

/// The condition values: a string, boolean or number, or a list of them.
fn condition_values(value: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(list) => list.iter().map(one).collect(),
        other => one(other).map(|v| vec![v]),
    }
}

fn condition_holds(operator: &str, key: &str, expected: &Value, context: &Context) -> bool {
    let Some(expected) = condition_values(expected) else {
        return false;
    };
    // Unknown key: the statement does not apply (see the module documentation).
    let Some(actual) = context.get(key) else {
        return false;
    };
    let base = operator.strip_suffix("IfExists").unwrap_or(operator);
    let any = |f: &dyn Fn(&str) -> bool| expected.iter().any(|e| f(e));
    match base {
        "StringEquals" => any(&|e| e == actual),
        "StringNotEquals" => !any(&|e| e == actual),
        "StringEqualsIgnoreCase" => any(&|e| e.to_lowercase() == actual.to_lowercase()),
        "StringNotEqualsIgnoreCase" => !any(&|e| e.to_lowercase() == actual.to_lowercase()),
        "StringLike" | "ArnEquals" | "ArnLike" => any(&|e| wildcard_match(e, actual)),
        "StringNotLike" | "ArnNotEquals" | "ArnNotLike" => !any(&|e| wildcard_match(e, actual)),
        "Bool" => any(&|e| e.eq_ignore_ascii_case(actual)),
        // The key is known, so it is not null.
        "Null" if base == operator => any(&|e| e.eq_ignore_ascii_case("false")),
        _ => false,
    }
}

/// Who makes requests with one access key: a role session (or user) and its policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// E.g. `arn:aws:sts::123456789012:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// May do everything, without evaluation (the local cloud's own tooling).
    pub admin: bool,
    /// Identity-based policy documents (inline and attached).
    pub policies: Vec<Value>,
}

impl Principal {
    /// The account of the ARN (its fifth field, if 12 digits), else [`DEFAULT_ACCOUNT`].
    pub fn account(&self) -> &str {
        self.arn
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(DEFAULT_ACCOUNT)
    }

    /// `aws:PrincipalArn`: for an assumed-role session
    /// (`arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`), the role's ARN
    /// (`arn:PARTITION:iam::ACCOUNT:role/ROLE`, without its path, which the session ARN does not
    /// carry); else the ARN itself.
    pub fn principal_arn(&self) -> String {
        let parts: Vec<&str> = self.arn.splitn(6, ':').collect();
        if let [_, partition, "sts", _, account, resource] = parts[..] {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or(rest);
                return format!("arn:{partition}:iam::{account}:role/{role}");
            }
        }
        self.arn.clone()
    }

    /// `aws:PrincipalType`: `AssumedRole`, `User`, `Account` or `Unknown`.
    pub fn principal_type(&self) -> &'static str {
        let resource = self.arn.splitn(6, ':').nth(5).unwrap_or("");
        if resource.starts_with("assumed-role/") {
            "AssumedRole"
        } else if resource.starts_with("user/") {
            "User"
        } else if resource == "root" {
            "Account"
        } else {
            "Unknown"
        }
    }

    /// The condition keys of a request by this principal in `region`.
    pub fn context(&self, region: &str) -> Context {
        Context::new()
            .with("aws:PrincipalArn", self.principal_arn())
            .with("aws:PrincipalAccount", self.account())
            .with("aws:PrincipalType", self.principal_type())
            .with("aws:RequestedRegion", region)
    }

    /// The decision on `action` on `resource` in `region`: [`Decision::Allowed`] for an admin,
    /// else [`evaluate_in`] with [`Principal::context`].
    pub fn evaluate(&self, action: &str, resource: &str, region: &str) -> Decision {
        if self.admin {
            return Decision::Allowed;
        }
        evaluate_in(&self.policies, action, resource, &self.context(region))
    }
}

/// A refused request, with AWS's wording ([`AccessDenied::message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    pub principal_arn: String,
    pub action: String,
    pub resource: String,
    /// [`Decision::ExplicitDeny`] or [`Decision::ImplicitDeny`].
    pub decision: Decision,
}

impl AccessDenied {
    /// The `x-amzn-ErrorType` of the answer.
    pub const ERROR_TYPE: &'static str = "AccessDeniedException";
    /// Its status.
    pub const STATUS: StatusCode = StatusCode::FORBIDDEN;

    /// `User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no
    /// identity-based policy allows the ACTION action` (implicit deny) or `... with an explicit
    /// deny in an identity-based policy` (explicit deny).
    pub fn message(&self) -> String {
        let reason = match self.decision {
            Decision::ExplicitDeny => {
                "with an explicit deny in an identity-based policy".to_owned()
            }
            _ => format!(
                "because no identity-based policy allows the {} action",
                self.action
            ),
        };
        format!(
            "User: {} is not authorized to perform: {} on resource: {} {reason}",
            self.principal_arn, self.action, self.resource
        )
    }
}

impl fmt::Display for AccessDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for AccessDenied {}

/// Why a request has no known caller. Both answer 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No SigV4 credential in the request: `MissingAuthenticationTokenException`, "Missing
    /// Authentication Token".
    MissingAuthenticationToken,
    /// An access key id the principals file does not list: `UnrecognizedClientException`, "The
    /// security token included in the request is invalid."
    UnrecognizedClient { access_key_id: String },
}

impl AuthError {
    /// Its status.
    pub const STATUS: StatusCode = StatusCode::FORBIDDEN;

    /// The `x-amzn-ErrorType` of the answer.
    pub fn error_type(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthError::UnrecognizedClient { .. } => "UnrecognizedClientException",
        }
    }

    /// The message, as AWS words it.
    pub fn message(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken => "Missing Authentication Token",
            AuthError::UnrecognizedClient { .. } => {
                "The security token included in the request is invalid."
            }
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for AuthError {}

/// The SigV4 credential scope a request names: `AKID/DATE/REGION/SERVICE/aws4_request` (SigV4a
/// scopes, `AKID/DATE/SERVICE/aws4_request`, have no region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub date: String,
    pub region: Option<String>,
    pub service: String,
}

impl Credential {
    /// Parses the `Credential=` value of an `Authorization` header or the `X-Amz-Credential`
    /// query parameter (already percent-decoded).
    pub fn parse(scope: &str) -> Option<Self> {
        let parts: Vec<&str> = scope.trim().split('/').collect();
        let (access_key_id, date, region, service) = match parts[..] {
            [key, date, region, service, "aws4_request"] => (key, date, Some(region), service),
            [key, date, service, "aws4_request"] => (key, date, None, service),
            _ => return None,
        };
        if access_key_id.is_empty() {
            return None;
        }
        Some(Self {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.filter(|r| !r.is_empty()).map(str::to_owned),
            service: service.to_owned(),
        })
    }
}

/// The credential of a request: from its `Authorization: AWS4-HMAC-SHA256 Credential=...,
/// SignedHeaders=..., Signature=...` header (any `AWS4-` algorithm), else from the
/// `X-Amz-Credential` parameter of `query` (a presigned URL). The signature is not verified.
pub fn credential(headers: &HeaderMap, query: Option<&str>) -> Option<Credential> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (algorithm, params) = value.trim().split_once(' ').unwrap_or((value, ""));
        if algorithm.starts_with("AWS4-") {
            return params
                .split(',')
                .find_map(|p| p.trim().strip_prefix("Credential="))
                .and_then(Credential::parse);
        }
    }
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.eq_ignore_ascii_case("X-Amz-Credential"))
        .and_then(|(_, value)| {
            let value = value.replace('+', " ");
            Credential::parse(&urlencoding::decode(&value).ok()?)
        })
}

/// The access key id of a request's SigV4 `Authorization` header, if it has one. The signature
/// is not verified. See [`credential`] for presigned URLs too.
pub fn access_key_id(headers: &HeaderMap) -> Option<String> {
    credential(headers, None).map(|c| c.access_key_id)
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub access_key_id: String,
    pub principal: Arc<Principal>,
    /// The region of the credential scope, else [`DEFAULT_REGION`].
    pub region: String,
    /// The service of the credential scope (the signing name, e.g. `bedrock`, `personalize`).
    pub service: String,
}

impl Caller {
    /// The principal's account.
    pub fn account(&self) -> &str {
        self.principal.account()
    }

    /// `Ok` if the principal may perform `action` on `resource`, else the denial to answer.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), AccessDenied> {
        match self.principal.evaluate(action, resource, &self.region) {
            Decision::Allowed => Ok(()),
            decision => Err(AccessDenied {
                principal_arn: self.principal.arn.clone(),
                action: action.to_owned(),
                resource: resource.to_owned(),
                decision,
            }),
        }
    }
}

/// The principals file's contents (see [`Principals`]).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalsDocument {
    #[serde(default)]
    principals: Vec<PrincipalEntry>,
    #[serde(default)]
    personalize: PersonalizeSection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalEntry {
    access_key_id: String,
    arn: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    policies: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonalizeSection {
    #[serde(default)]
    event_trackers: HashMap<String, String>,
}

/// What identifies one version of the file: a rewrite by tmp file + rename changes at least
/// the inode, usually the modification time and size too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(metadata),
        }
    }
}

#[derive(Debug, Default)]
struct Loaded {
    /// The version loaded (or found malformed); `None`: no file (yet).
    stamp: Option<Stamp>,
    by_key: HashMap<String, Arc<Principal>>,
    event_trackers: HashMap<String, String>,
}

impl Loaded {
    fn from_document(document: PrincipalsDocument, stamp: Option<Stamp>) -> anyhow::Result<Self> {
        let mut by_key = HashMap::with_capacity(document.principals.len());
        for entry in document.principals {
            let policies = entry
                .policies
                .into_iter()
                .map(|policy| match policy {
                    Value::String(text) => parse_policy_text(&text)
                        .with_context(|| format!("a policy of {} is not JSON text", entry.arn)),
                    other => Ok(other),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            by_key.insert(
                entry.access_key_id,
                Arc::new(Principal {
                    arn: entry.arn,
                    admin: entry.admin,
                    policies,
                }),
            );
        }
        Ok(Self {
            stamp,
            by_key,
            event_trackers: document.personalize.event_trackers,
        })
    }
}

/// The principals the local cloud has handed credentials to, keyed by access key id, from a
/// JSON file another process rewrites atomically (tmp file + rename) as it assumes roles:
///
/// ```json
/// {
///   "principals": [
///     {"accessKeyId": "ASIA...", "arn": "arn:aws:sts::123456789012:assumed-role/ROLE/SESSION",
///      "admin": false, "policies": [{"Version": "2012-10-17", "Statement": [...]}]}
///   ],
///   "personalize": {"eventTrackers": {"<trackingId>": "<event tracker ARN>"}}
/// }
/// ```
///
/// `admin` defaults to false, `policies` to none (every identity-based policy of the role,
/// inline and attached); a policy may also be JSON text (plain or URL-encoded, as IAM APIs
/// return it). `personalize.eventTrackers` (optional) maps the `trackingId` of PutEvents
/// requests to the event tracker's ARN, which IAM policies name. Other members are ignored;
/// when an access key id is listed twice, the last entry wins.
///
/// Lookups are served from memory. When a lookup misses (an access key id, or a tracking id,
/// not yet known), the file's metadata is read (one `stat`) and, if the file changed since it
/// was loaded (modification time, size or inode), it is read again. A file that does not exist
/// is an empty one; a file that fails to parse on reload is logged and ignored until it changes
/// again (the previous contents stay in force).
#[derive(Debug)]
pub struct Principals {
    /// `None`: fixed contents ([`Principals::from_json`]).
    path: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

impl Principals {
    /// Loads the principals file at `path`; a missing file is empty until it appears, a
    /// malformed one is an error.
    pub fn open(path: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let path = path.into();
        let loaded = match read_file(&path)? {
            None => Loaded::default(),
            Some((stamp, text)) => parse_file(&text, stamp)
                .with_context(|| format!("reading the IAM principals file {}", path.display()))?,
        };
        Ok(Self {
            path: Some(path),
            loaded: RwLock::new(loaded),
        })
    }

    /// Fixed principals from a document in the file's format (never reloaded).
    pub fn from_json(document: &Value) -> anyhow::Result<Self> {
        let document = PrincipalsDocument::deserialize(document)
            .context("parsing an IAM principals document")?;
        Ok(Self {
            path: None,
            loaded: RwLock::new(Loaded::from_document(document, None)?),
        })
    }

    /// The file it reads, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How many access keys are known now.
    pub fn len(&self) -> usize {
        self.read().by_key.len()
    }

    /// Whether no access key is known now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The principal using `access_key_id`, re-reading the file first if the key is unknown and
    /// the file changed.
    pub fn principal(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.lookup(|loaded| loaded.by_key.get(access_key_id).cloned())
    }

    /// The event tracker ARN the file gives for a Personalize `trackingId`
    /// (`personalize.eventTrackers`), re-reading the file first if the id is unknown and the
    /// file changed.
    pub fn event_tracker_arn(&self, tracking_id: &str) -> Option<String> {
        self.lookup(|loaded| loaded.event_trackers.get(tracking_id).cloned())
    }

    /// The caller of a request: its SigV4 credential ([`credential`]; the signature is not
    /// verified) must name a known access key.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let credential = credential(headers, query).ok_or(AuthError::MissingAuthenticationToken)?;
        let principal = self.principal(&credential.access_key_id).ok_or_else(|| {
            AuthError::UnrecognizedClient {
                access_key_id: credential.access_key_id.clone(),
            }
        })?;
        Ok(Caller {
            access_key_id: credential.access_key_id,
            principal,
            region: credential
                .region
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            service: credential.service,
        })
    }

    /// Re-reads the file if it changed since it was loaded; whether it did (and parsed).
    pub fn reload_if_changed(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let current = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
        if current == self.read().stamp {
            return false;
        }
        let loaded = match read_file(path) {
            Ok(None) => Ok(Loaded::default()),
            Ok(Some((stamp, text))) => parse_file(&text, stamp).map_err(|e| (Some(stamp), e)),
            Err(e) => Err((current, e)),
        };
        let mut guard = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        match loaded {
            Ok(loaded) => {
                tracing::info!(
                    path = %path.display(),
                    principals = loaded.by_key.len(),
                    event_trackers = loaded.event_trackers.len(),
                    "IAM principals reloaded"
                );
                *guard = loaded;
                true
            }
            Err((stamp, error)) => {
                tracing::warn!(
                    path = %path.display(),
                    error = format!("{error:#}"),
                    "IAM principals file unreadable; keeping the previous contents"
                );
                guard.stamp = stamp;
                false
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup<T>(&self, find: impl Fn(&Loaded) -> Option<T>) -> Option<T> {
        if let Some(found) = find(&self.read()) {
            return Some(found);
        }
        if self.reload_if_changed() {
            find(&self.read())
        } else {
            None
        }
    }
}

/// The file's stamp (of the opened file, so it matches the text) and text; `None` if it does
/// not exist.
fn read_file(path: &Path) -> anyhow::Result<Option<(Stamp, String)>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let stamp = Stamp::of(&file.metadata()?);
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some((stamp, text)))
}

fn parse_file(text: &str, stamp: Stamp) -> anyhow::Result<Loaded> {
    let document: PrincipalsDocument =
        serde_json::from_str(text).context("the principals file is not the expected JSON")?;
    Loaded::from_document(document, Some(stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    const TRACKER: &str = "arn:aws:personalize:us-east-1:123456789012:event-tracker/demo";

    fn allow(action: Value, resource: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource}
        ]})
    }

    #[test]
    fn allow_and_implicit_deny() {
        let policies = [allow(json!("personalize:PutEvents"), json!(TRACKER))];
        assert_eq!(
            evaluate(&policies, "personalize:PutEvents", TRACKER),
            Decision::Allowed
        );
        assert_eq!(
            evaluate(&policies, "personalize:PutUsers", TRACKER),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&policies, "personalize:PutEvents", &format!("{TRACKER}2")),
            Decision::ImplicitDeny
        );
        assert_eq!(evaluate(&[], "s3:GetObject", "*"), Decision::ImplicitDeny);
    }

    #[test]
    fn explicit_deny_wins_in_any_policy_and_order() {
        let deny =
            json!({"Statement": {"Effect": "Deny", "Action": "personalize:*", "Resource": "*"}});
        let grant = allow(json!("*"), json!("*"));
        for policies in [
            vec![grant.clone(), deny.clone()],
            vec![deny.clone(), grant.clone()],
        ] {
            assert_eq!(
                evaluate(&policies, "personalize:PutEvents", TRACKER),
                Decision::ExplicitDeny
            );
            assert_eq!(
                evaluate(&policies, "bedrock:InvokeModel", "arn:x"),
                Decision::Allowed
            );
        }
        // Deny alone is still a deny, not an implicit one.
        assert_eq!(
            evaluate(&[deny], "personalize:PutEvents", TRACKER),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn statement_object_or_list_and_lists_of_actions_and_resources() {
        let object = json!({"Statement": {"Effect": "Allow",
            "Action": ["s3:GetObject", "personalize:PutEvents"],
            "Resource": ["arn:aws:s3:::b/*", TRACKER]}});
        assert!(evaluate(
            std::slice::from_ref(&object),
            "personalize:PutEvents",
            TRACKER
        )
        .is_allowed());
        assert!(evaluate(std::slice::from_ref(&object), "s3:GetObject", TRACKER).is_allowed());
        assert!(!evaluate(&[object], "s3:PutObject", TRACKER).is_allowed());
        let text = allow(json!("s3:GetObject"), json!("*")).to_string();
        assert!(evaluate(&[Value::String(text)], "s3:GetObject", "arn:aws:s3:::b/k").is_allowed());
        let encoded =
            urlencoding::encode(&allow(json!("s3:GetObject"), json!("*")).to_string()).into_owned();
        assert!(evaluate(
            &[Value::String(encoded)],
            "s3:GetObject",
            "arn:aws:s3:::b/k"
        )
        .is_allowed());
        // No Statement, or statements that are not objects: nothing allowed.
        assert!(!evaluate(
            &[json!({}), json!({"Statement": ["x"]})],
            "s3:GetObject",
            "*"
        )
        .is_allowed());
    }

    #[test]
    fn not_action_and_not_resource() {
        let everything_but_deletes = json!({"Statement": [{"Effect": "Allow",
            "NotAction": ["s3:Delete*", "iam:*"], "Resource": "*"}]});
        assert!(evaluate(
            std::slice::from_ref(&everything_but_deletes),
            "s3:GetObject",
            "x"
        )
        .is_allowed());
        assert!(!evaluate(
            std::slice::from_ref(&everything_but_deletes),
            "s3:DeleteObject",
            "x"
        )
        .is_allowed());
        assert!(!evaluate(&[everything_but_deletes], "IAM:PassRole", "x").is_allowed());

        let policies = [
            allow(json!("personalize:*"), json!("*")),
            json!({"Statement": {"Effect": "Deny", "Action": "personalize:PutEvents",
                "NotResource": TRACKER}}),
        ];
        assert!(evaluate(&policies, "personalize:PutEvents", TRACKER).is_allowed());
        assert_eq!(
            evaluate(&policies, "personalize:PutEvents", "arn:other"),
            Decision::ExplicitDeny
        );
        // Both Action and NotAction, or neither: invalid, matches nothing.
        let invalid = json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Resource": "*"},
            {"Effect": "Allow", "Action": "*"},
            {"Effect": "allow", "Action": "*", "Resource": "*"},
            {"Effect": "Allow", "Action": 7, "Resource": "*"}
        ]});
        assert!(!evaluate(&[invalid], "s3:GetObject", "x").is_allowed());
    }

    #[test]
    fn wildcards_and_case_rules() {
        let policies = [allow(
            json!("Personalize:Put*"),
            json!("arn:aws:personalize:*:123456789012:event-tracker/de?o"),
        )];
        assert!(evaluate(&policies, "personalize:PutEvents", TRACKER).is_allowed());
        assert!(evaluate(&policies, "PERSONALIZE:putevents", TRACKER).is_allowed());
        assert!(!evaluate(&policies, "personalize:GetRecommendations", TRACKER).is_allowed());
        // Resources are case-sensitive; `?` is exactly one character.
        assert!(
            !evaluate(&policies, "personalize:PutEvents", &TRACKER.to_uppercase()).is_allowed()
        );
        assert!(!evaluate(
            &policies,
            "personalize:PutEvents",
            "arn:aws:personalize:us-east-1:123456789012:event-tracker/deo"
        )
        .is_allowed());
        // `*` crosses `:` and `/`.
        let star = [allow(json!("bedrock:*"), json!("arn:aws:bedrock:*"))];
        assert!(evaluate(
            &star,
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0"
        )
        .is_allowed());

        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYbc"));
        assert!(wildcard_match("a**", "a"));
        assert!(!wildcard_match("a*b", "aXXbY"));
        assert!(!wildcard_match("?", ""));
        assert!(wildcard_match("é?", "éà"));
    }

    #[test]
    fn conditions() {
        let principal = Principal {
            arn: "arn:aws:sts::210987654321:assumed-role/fn-role/session-1".to_owned(),
            admin: false,
            policies: vec![json!({"Statement": [
                {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]},
                               "ArnLike": {"AWS:PrincipalArn": "arn:aws:iam::*:role/fn-*"}}},
                {"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": "210987654321"}}},
                {"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"NumericLessThan": {"aws:PrincipalAccount": "1"}}},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                 "Condition": {"Null": {"aws:PrincipalType": "false"}}}
            ]})],
        };
        assert_eq!(principal.account(), "210987654321");
        assert_eq!(
            principal.principal_arn(),
            "arn:aws:iam::210987654321:role/fn-role"
        );
        assert_eq!(principal.principal_type(), "AssumedRole");
        assert!(principal
            .evaluate("bedrock:InvokeModel", "m", "us-east-1")
            .is_allowed());
        assert_eq!(
            principal.evaluate("bedrock:InvokeModel", "m", "eu-west-1"),
            Decision::ImplicitDeny
        );
        // Unsupported operator: no match.
        assert!(!principal
            .evaluate("s3:GetObject", "o", "us-east-1")
            .is_allowed());
        assert!(principal
            .evaluate("s3:ListBucket", "b", "us-east-1")
            .is_allowed());
        // Without a context, every conditional statement is out: nothing allowed or denied.
        assert_eq!(
            evaluate(&principal.policies, "bedrock:InvokeModel", "m"),
            Decision::ImplicitDeny
        );
        let other_account = Principal {
            arn: "arn:aws:sts::123456789012:assumed-role/fn-role/s".to_owned(),
            ..principal.clone()
        };
        assert_eq!(
            other_account.evaluate("bedrock:InvokeModel", "m", "us-east-1"),
            Decision::ExplicitDeny
        );
        let admin = Principal {
            admin: true,
            policies: vec![],
            ..other_account
        };
        assert!(admin
            .evaluate("iam:DeleteRole", "*", "us-east-1")
            .is_allowed());
    }

    #[test]
    fn denial_messages() {
        let caller = Caller {
            access_key_id: "AKID".to_owned(),
            principal: Arc::new(Principal {
                arn: "arn:aws:sts::123456789012:assumed-role/R/S".to_owned(),
                admin: false,
                policies: vec![
                    json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}),
                ],
            }),
            region: "us-east-1".to_owned(),
            service: "personalize".to_owned(),
        };
        let denied = caller
            .authorize("personalize:PutEvents", TRACKER)
            .unwrap_err();
        assert_eq!(
            denied.message(),
            format!("User: arn:aws:sts::123456789012:assumed-role/R/S is not authorized to perform: personalize:PutEvents on resource: {TRACKER} because no identity-based policy allows the personalize:PutEvents action")
        );
        let denied = caller
            .authorize("s3:GetObject", "arn:aws:s3:::b/k")
            .unwrap_err();
        assert_eq!(
            denied.message(),
            "User: arn:aws:sts::123456789012:assumed-role/R/S is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k with an explicit deny in an identity-based policy"
        );
    }

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).unwrap(),
        );
        headers
    }

    #[test]
    fn access_keys_from_authorization_and_query() {
        let h = headers("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261203/eu-west-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef");
        assert_eq!(access_key_id(&h).as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(
            credential(&h, None),
            Some(Credential {
                access_key_id: "ASIAEXAMPLE".to_owned(),
                date: "20261203".to_owned(),
                region: Some("eu-west-1".to_owned()),
                service: "bedrock".to_owned(),
            })
        );
        // No spaces after the commas; SigV4a scope without a region.
        let h = headers("AWS4-ECDSA-P256-SHA256 SignedHeaders=host,Credential=AKID2/20261203/personalize/aws4_request,Signature=00");
        let c = credential(&h, None).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.region), ("AKID2", None));
        // Not SigV4, or a malformed scope.
        assert_eq!(access_key_id(&headers("Bearer abc")), None);
        assert_eq!(
            access_key_id(&headers(
                "AWS4-HMAC-SHA256 Credential=AKID/20261203, Signature=0"
            )),
            None
        );
        assert_eq!(
            access_key_id(&headers("AWS4-HMAC-SHA256 Credential=/a/b/c/aws4_request")),
            None
        );
        assert_eq!(access_key_id(&HeaderMap::new()), None);
        // Presigned URL.
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDQ%2F20261203%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=00";
        let c = credential(&HeaderMap::new(), Some(q)).unwrap();
        assert_eq!(c.access_key_id, "AKIDQ");
        assert_eq!(c.region.as_deref(), Some("us-west-2"));
        assert_eq!(credential(&HeaderMap::new(), Some("a=b&c")), None);
    }

    #[test]
    fn authenticate_against_a_document() {
        let principals = Principals::from_json(&json!({
            "principals": [
                {"accessKeyId": "AKIDFN", "arn": "arn:aws:sts::123456789012:assumed-role/R/S",
                 "policies": [allow(json!("personalize:PutEvents"), json!(TRACKER)).to_string()],
                 "expiration": "ignored"},
                {"accessKeyId": "AKIDADMIN", "arn": "arn:aws:iam::123456789012:user/admin", "admin": true}
            ],
            "personalize": {"eventTrackers": {"tid": TRACKER}}
        }))
        .unwrap();
        assert_eq!(principals.len(), 2);
        assert_eq!(
            principals.event_tracker_arn("tid").as_deref(),
            Some(TRACKER)
        );
        assert_eq!(principals.event_tracker_arn("other"), None);
        let h = headers("AWS4-HMAC-SHA256 Credential=AKIDFN/20261203/us-east-1/personalize/aws4_request, SignedHeaders=host, Signature=0");
        let caller = principals.authenticate(&h, None).unwrap();
        assert_eq!(caller.region, "us-east-1");
        assert_eq!(caller.service, "personalize");
        assert!(caller.authorize("personalize:PutEvents", TRACKER).is_ok());
        assert!(caller.authorize("personalize:PutUsers", TRACKER).is_err());
        let h = headers("AWS4-HMAC-SHA256 Credential=AKIDNOPE/20261203/us-east-1/personalize/aws4_request, SignedHeaders=host, Signature=0");
        let error = principals.authenticate(&h, None).unwrap_err();
        assert_eq!(error.error_type(), "UnrecognizedClientException");
        assert_eq!(
            error.message(),
            "The security token included in the request is invalid."
        );
        assert_eq!(
            principals
                .authenticate(&HeaderMap::new(), None)
                .unwrap_err(),
            AuthError::MissingAuthenticationToken
        );
    }

    #[test]
    fn file_reloads_when_an_unknown_key_arrives_and_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("principals.json");
        let write = |doc: Value| {
            let tmp = dir.path().join("principals.json.tmp");
            std::fs::write(&tmp, doc.to_string()).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        };
        let entry = |key: &str| json!({"accessKeyId": key, "arn": format!("arn:aws:sts::123456789012:assumed-role/{key}/s")});
        // No file yet: empty.
        let principals = Principals::open(&path).unwrap();
        assert!(principals.is_empty());
        assert!(principals.principal("A").is_none());

        write(json!({"principals": [entry("A")]}));
        assert!(principals.principal("A").is_some());
        write(
            json!({"principals": [entry("A"), entry("B")], "personalize": {"eventTrackers": {"t": "arn:t"}}}),
        );
        assert!(principals.principal("B").is_some());
        assert_eq!(principals.event_tracker_arn("t").as_deref(), Some("arn:t"));

        // A malformed rewrite keeps what was loaded.
        std::fs::write(&path, "{not json").unwrap();
        assert!(principals.principal("C").is_none());
        assert!(principals.principal("A").is_some());
        assert_eq!(principals.len(), 2);
        write(json!({"principals": [entry("C")]}));
        assert!(principals.principal("C").is_some());
        // Known keys are served from memory: A is gone from the file but only a miss rereads.
        assert_eq!(principals.len(), 1);
        assert!(principals.principal("A").is_none());

        // Unchanged file: a miss does not reparse.
        assert!(!principals.reload_if_changed());

        // Malformed at start: an error naming the file.
        std::fs::write(
            &path,
            r#"{"principals": [{"arn": "arn:aws:iam::123456789012:user/x"}]}"#,
        )
        .unwrap();
        let error = format!("{:#}", Principals::open(&path).unwrap_err());
        assert!(error.contains("principals.json"), "{error}");
    }
}
