//! The front door: one endpoint (`AWS_ENDPOINT_URL`) that looks like AWS to every client.
//!
//! - **It is the Lambda service.** `POST /2015-03-31/functions/{FunctionName}/invocations`
//!   runs the function of the deployed stack (`.localcloud/stack.json`, read when the first
//!   request needs it) as Lambda runs it ([`crate::functions`]): its binary, its own template
//!   `Environment` plus the local endpoints ([`local_environment`]), credentials from
//!   `sts:AssumeRole` of its own role, its timeout, several instances at once. The caller must
//!   be allowed `lambda:InvokeFunction` on the function by its identity policies (the relay,
//!   playing S3, EventBridge and the event source mappings, is let through as a service, as
//!   the stack's `AWS::Lambda::Permission`s let those services in). Answers as the Lambda API
//!   does: `200` with `X-Amz-Function-Error: Unhandled` for a function error, `404
//!   ResourceNotFoundException`, `202` for `X-Amz-Invocation-Type: Event`, `204` for `DryRun`,
//!   `403 AccessDeniedException`.
//! - **Everything else goes to moto**, unchanged (Host and Authorization included, so SigV4
//!   keeps working), except the calls of moto's Step Functions interpreter: it signs them with
//!   the fixed key `ak`, and they are signed again here with credentials of the state machine's
//!   role, so that moto checks them against the role's policies as AWS would.
//! - Every role session it creates is written to the principals file
//!   (`.localcloud/iam-principals.json`), which the emulator reads to evaluate the caller's
//!   policies for Bedrock and Personalize.
//!
//! moto itself runs with `MOTO_PORT` set to this server's port, so the Step Functions
//! interpreter inside moto sends its tasks here too.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::functions::{FunctionSpec, Functions, InstanceEnv, LogSink};
use crate::iam_query::{tag, QueryClient};
use crate::ids;
use crate::lambda::{self, Outcome};
use crate::sigv4::{self, Keys};
use crate::stack::{Stack, StateMachineDef};

/// The access key moto's Step Functions interpreter signs its task calls with.
const STEP_FUNCTIONS_KEY: &str = "ak";
/// The header the relay sets: it invokes as the AWS service of the event source.
pub const SERVICE_INVOKER_HEADER: &str = "x-localcloud-invoker";
/// The header moto's interpreter adds to its task calls (`localcloud/moto/server.py`): the role
/// of the execution, which tells the state machine; removed before the call is signed again.
const STATE_MACHINE_ROLE_HEADER: &str = "x-localcloud-state-machine-role";
/// Instances of one function at most when the template reserves no concurrency.
const DEFAULT_MAX_INSTANCES: usize = 10;
/// Role sessions last an hour; they are renewed well before.
const SESSION_SECONDS: u64 = 3600;
const SESSION_RENEW_AFTER: Duration = Duration::from_secs(2700);

/// Settings of the `frontdoor` subcommand.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// moto's base URL, e.g. `http://127.0.0.1:4567`.
    pub moto: String,
    /// The emulator's base URL (Bedrock, Personalize, Genesys stand-ins).
    pub emulator: String,
    /// The deployed stack (`localcloud deploy` writes it).
    pub stack: PathBuf,
    /// Where role sessions are written for the emulator.
    pub principals: PathBuf,
    /// The directory of the function binaries (`target/debug`).
    pub bin_dir: PathBuf,
    /// Where the functions' output goes.
    pub log: PathBuf,
}

struct AppState {
    config: Config,
    http: reqwest::Client,
    service: OnceCell<Arc<LambdaService>>,
}

/// The deployed stack's functions and the role sessions they and the state machine run under.
struct LambdaService {
    stack: Stack,
    functions: Functions<Arc<Sessions>>,
    sessions: Arc<Sessions>,
}

/// The variables the local cloud adds to every function's own environment: where the AWS
/// services and the Genesys Cloud API are locally. On AWS the SDKs find the real endpoints by
/// themselves; nothing else is added.
pub fn local_environment(frontdoor: &str, emulator: &str) -> BTreeMap<String, String> {
    [
        ("AWS_ENDPOINT_URL", frontdoor),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator),
        ("AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", emulator),
        ("AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME", emulator),
        // moto serves S3 path-style only (no wildcard DNS on 127.0.0.1).
        ("S3_FORCE_PATH_STYLE", "true"),
        // The Genesys Cloud emulator stands in for https://login.<env> and https://api.<env>.
        ("GENESYS_LOGIN_URL", emulator),
        ("GENESYS_API_URL", emulator),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Role sessions (`sts:AssumeRole` as the local administrator), recorded in the principals
/// file the emulator reads.
struct Sessions {
    sts: QueryClient,
    file: PathBuf,
    stack: Stack,
    principals: Mutex<Vec<Value>>,
    /// Keys per state machine role ARN, with when they were made.
    state_machines: tokio::sync::Mutex<BTreeMap<String, (Keys, Instant)>>,
}

impl Sessions {
    fn new(stack: &Stack, file: PathBuf, endpoint: &str) -> anyhow::Result<Self> {
        let admin = crate::deploy::keys(&stack.admin);
        let sessions = Self {
            sts: QueryClient::new(endpoint, &stack.region, admin)?,
            file,
            stack: stack.clone(),
            principals: Mutex::new(vec![json!({
                "accessKeyId": stack.admin.access_key_id,
                "arn": stack.admin.arn,
                "admin": true,
                "policies": [],
            })]),
            state_machines: tokio::sync::Mutex::new(BTreeMap::new()),
        };
        sessions.write(
            &sessions
                .principals
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )?;
        Ok(sessions)
    }

    /// Assumes `role_arn` and records the session with the role's policies.
    async fn assume(&self, role_arn: &str, session_name: &str) -> anyhow::Result<Keys> {
        let mut name: String = session_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
            .collect();
        name.truncate(64);
        let duration = SESSION_SECONDS.to_string();
        let answer = self
            .sts
            .call(
                "sts",
                "AssumeRole",
                &[
                    ("RoleArn", role_arn),
                    ("RoleSessionName", &name),
                    ("DurationSeconds", &duration),
                ],
            )
            .await
            .with_context(|| format!("sts:AssumeRole {role_arn}"))?;
        let keys = Keys {
            access_key_id: tag(&answer, "AccessKeyId").context("no AccessKeyId")?,
            secret_access_key: tag(&answer, "SecretAccessKey").context("no SecretAccessKey")?,
            session_token: Some(tag(&answer, "SessionToken").context("no SessionToken")?),
        };
        let policies = self
            .stack
            .roles
            .get(role_arn)
            .map(|r| r.policies.clone())
            .unwrap_or_default();
        let arn = tag(&answer, "Arn").unwrap_or_else(|| role_arn.to_owned());
        // Recorded and written under one lock: instances start concurrently, and each write
        // must hold every session recorded before it.
        let mut principals = self
            .principals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        principals.push(json!({
            "accessKeyId": keys.access_key_id,
            "arn": arn,
            "roleArn": role_arn,
            "admin": false,
            "policies": policies,
        }));
        self.write(&principals)?;
        Ok(keys)
    }

    /// The principals file, written whole and renamed into place (the caller holds the lock of
    /// `principals`, so writes never interleave).
    fn write(&self, principals: &[Value]) -> anyhow::Result<()> {
        let p = &self.stack.parameters;
        let mut trackers = serde_json::Map::new();
        if let (Some(id), Some(arn)) = (
            p.get("PersonalizeTrackingId"),
            p.get("PersonalizeEventTrackerArn"),
        ) {
            if !id.is_empty() && !arn.is_empty() {
                trackers.insert(id.clone(), Value::String(arn.clone()));
            }
        }
        let document = json!({
            "principals": principals,
            // The emulator plays the Personalize resources the stack's parameters name.
            "personalize": {"eventTrackers": trackers},
        });
        let tmp = self.file.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&document)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.file)
            .with_context(|| format!("writing {}", self.file.display()))
    }

    /// The policies of the principal an access key belongs to (`None`: unknown key), and
    /// whether it is the administrator.
    fn principal(&self, access_key_id: &str) -> Option<(String, bool, Vec<Value>)> {
        let principals = self
            .principals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let p = principals
            .iter()
            .find(|p| p["accessKeyId"] == access_key_id)?;
        let policies = p["policies"].as_array().cloned().unwrap_or_default();
        Some((
            p["arn"].as_str().unwrap_or_default().to_owned(),
            p["admin"] == true,
            policies,
        ))
    }

    /// Credentials of a state machine's role, renewed before they expire.
    async fn state_machine_keys(&self, machine: &StateMachineDef) -> anyhow::Result<Keys> {
        let mut cached = self.state_machines.lock().await;
        if let Some((keys, at)) = cached.get(&machine.role_arn) {
            if at.elapsed() < SESSION_RENEW_AFTER {
                return Ok(keys.clone());
            }
        }
        let keys = self.assume(&machine.role_arn, &machine.logical_id).await?;
        cached.insert(machine.role_arn.clone(), (keys.clone(), Instant::now()));
        Ok(keys)
    }
}

/// The state machine a task call of moto's interpreter comes from: the one whose role the
/// call names, or the only one.
fn state_machine_of<'a>(
    stack: &'a Stack,
    role_arn: Option<&str>,
) -> anyhow::Result<&'a StateMachineDef> {
    match role_arn {
        Some(role) => stack
            .state_machines
            .iter()
            .find(|m| m.role_arn == role)
            .with_context(|| format!("no state machine of the stack runs as {role}")),
        None if stack.state_machines.len() == 1 => Ok(&stack.state_machines[0]),
        None => anyhow::bail!(
            "a Step Functions task call without {STATE_MACHINE_ROLE_HEADER}, and the stack has {} state machines",
            stack.state_machines.len()
        ),
    }
}

impl InstanceEnv for Arc<Sessions> {
    async fn instance_env(&self, spec: &FunctionSpec) -> anyhow::Result<BTreeMap<String, String>> {
        let function = self
            .stack
            .function(&spec.name)
            .with_context(|| format!("{} is not in the stack", spec.name))?;
        let keys = self.assume(&function.role_arn, &spec.name).await?;
        let mut env = BTreeMap::new();
        env.insert("AWS_ACCESS_KEY_ID".to_owned(), keys.access_key_id);
        env.insert("AWS_SECRET_ACCESS_KEY".to_owned(), keys.secret_access_key);
        if let Some(token) = keys.session_token {
            env.insert("AWS_SESSION_TOKEN".to_owned(), token);
        }
        Ok(env)
    }
}

impl AppState {
    /// The Lambda service of the deployed stack, made when first needed.
    async fn service(&self) -> anyhow::Result<&Arc<LambdaService>> {
        self.service
            .get_or_try_init(|| async {
                let stack = Stack::load(&self.config.stack)?;
                let frontdoor = format!("http://{}", self.config.listen);
                let sessions = Arc::new(Sessions::new(&stack, self.config.principals.clone(), &self.config.moto)?);
                let local = local_environment(&frontdoor, &self.config.emulator);
                let specs = stack
                    .functions
                    .iter()
                    .map(|f| {
                        let mut env = f.environment.clone();
                        env.extend(local.clone());
                        FunctionSpec {
                            name: f.name.clone(),
                            arn: f.arn.clone(),
                            binary: self.config.bin_dir.join(&f.binary),
                            env,
                            timeout: Duration::from_secs(f.timeout_seconds),
                            memory_mb: f.memory_mb,
                            max_concurrency: f
                                .reserved_concurrency
                                .map(|c| c as usize)
                                .unwrap_or(DEFAULT_MAX_INSTANCES),
                        }
                    })
                    .collect();
                let log = LogSink::file(&self.config.log)
                    .with_context(|| format!("opening {}", self.config.log.display()))?;
                tracing::info!(functions = stack.functions.len(), stack = %self.config.stack.display(), "Lambda service ready");
                Ok(Arc::new(LambdaService {
                    functions: Functions::new(specs, sessions.clone(), log),
                    sessions,
                    stack,
                }))
            })
            .await
    }
}

/// Serves until the process is stopped.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let listen = config.listen;
    let state = Arc::new(AppState {
        config,
        http,
        service: OnceCell::new(),
    });
    let app = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(listen = %listen, moto = %state.config.moto, "front door ready");
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::shutdown_signal())
        .await?;
    if let Some(service) = state.service.get() {
        service.functions.shutdown().await;
    }
    Ok(())
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("reading request body: {e}"),
            )
        }
    };
    if parts.method == Method::POST {
        if let Some(function) = lambda::invoke_path_function(parts.uri.path()) {
            return invoke(&state, &function, &parts.headers, body).await;
        }
    }
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let mut headers = parts.headers;
    if let Caller::StepFunctions(_) = caller(&headers) {
        if let Err(e) =
            resign_for_state_machine(&state, &parts.method, path_and_query, &mut headers, &body)
                .await
        {
            tracing::error!(error = %format!("{e:#}"), "signing a Step Functions task call with the state machine's role");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("front door: {e:#}"),
            );
        }
    }
    proxy(&state, parts.method, path_and_query, &headers, body).await
}

/// Who sends a request.
#[derive(Debug, PartialEq, Eq)]
enum Caller {
    /// The relay, invoking as the event source's AWS service.
    Service,
    /// moto's Step Functions interpreter (fixed key `ak`), with the execution's role ARN when
    /// it says.
    StepFunctions(Option<String>),
    /// SigV4-signed with this access key.
    Key(String),
    Anonymous,
}

fn caller(headers: &HeaderMap) -> Caller {
    if headers.contains_key(SERVICE_INVOKER_HEADER) {
        return Caller::Service;
    }
    let scope = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::credential_scope);
    match scope {
        Some((key, _, _)) if key == STEP_FUNCTIONS_KEY => Caller::StepFunctions(
            headers
                .get(STATE_MACHINE_ROLE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ),
        Some((key, _, _)) => Caller::Key(key),
        None => Caller::Anonymous,
    }
}

/// Replaces the interpreter's signature with one made with the state machine role's keys.
async fn resign_for_state_machine(
    state: &AppState,
    method: &Method,
    path_and_query: &str,
    headers: &mut HeaderMap,
    body: &[u8],
) -> anyhow::Result<()> {
    let service = state.service().await?;
    let role = headers
        .remove(STATE_MACHINE_ROLE_HEADER)
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let machine = state_machine_of(&service.stack, role.as_deref())?;
    let keys = service.sessions.state_machine_keys(machine).await?;
    let (_, region, signing_service) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::credential_scope)
        .context("no credential scope")?;
    for name in [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ] {
        headers.remove(name);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let url = format!("http://{host}{path_and_query}");
    let signed: Vec<(String, String)> = {
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            // `expect` never reaches moto (its HTTP server answers it), and botocore, which
            // moto checks with, does not sign it either.
            .filter(|(name, _)| !is_hop_by_hop(name) && name.as_str() != "expect")
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        sigv4::signature_headers(
            method.as_str(),
            &url,
            pairs.into_iter(),
            body,
            &keys,
            &region,
            &signing_service,
        )?
    };
    for (name, value) in signed {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(&value)?,
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------- Lambda

/// The answer to send when the caller may not invoke `function_arn` (`None`: it may).
fn denied_invoke(
    service: &LambdaService,
    caller: &Caller,
    function_arn: &str,
    request_id: &str,
) -> Option<Response> {
    let action = "lambda:InvokeFunction";
    let (arn, policies) = match caller {
        Caller::Service => return None,
        Caller::StepFunctions(role) => {
            let machine = match state_machine_of(&service.stack, role.as_deref()) {
                Ok(machine) => machine,
                Err(e) => {
                    return Some(aws_error(
                        StatusCode::FORBIDDEN,
                        "AccessDeniedException",
                        &format!("{e:#}"),
                        request_id,
                    ))
                }
            };
            let policies = service
                .stack
                .roles
                .get(&machine.role_arn)
                .map(|r| r.policies.clone())
                .unwrap_or_default();
            (machine.role_arn.clone(), policies)
        }
        Caller::Key(key) => match service.sessions.principal(key) {
            Some((_, true, _)) => return None,
            Some((arn, false, policies)) => (arn, policies),
            None => {
                return Some(aws_error(
                    StatusCode::FORBIDDEN,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                    request_id,
                ))
            }
        },
        Caller::Anonymous => {
            return Some(aws_error(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
                request_id,
            ))
        }
    };
    if mlpipe_emulator::iam::evaluate(&policies, action, function_arn).is_allowed() {
        return None;
    }
    tracing::warn!(principal = %arn, action, resource = function_arn, "access denied");
    Some(aws_error(
        StatusCode::FORBIDDEN,
        "AccessDeniedException",
        &format!("User: {arn} is not authorized to perform: {action} on resource: {function_arn} because no identity-based policy allows the {action} action"),
        request_id,
    ))
}

/// Lambda `Invoke` of a function of the deployed stack.
async fn invoke(
    state: &Arc<AppState>,
    function: &str,
    headers: &HeaderMap,
    payload: Bytes,
) -> Response {
    let request_id = ids::uuid_v4();
    let service = match state.service().await {
        Ok(service) => service.clone(),
        Err(e) => {
            return aws_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceException",
                &format!("the local stack is not deployed: {e:#}"),
                &request_id,
            )
        }
    };
    let Some(spec) = service.functions.spec(function) else {
        let arn = lambda::function_arn(&service.stack.region, &service.stack.account_id, function);
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {arn}"),
            &request_id,
        );
    };
    if let Some(denied) = denied_invoke(&service, &caller(headers), &spec.arn, &request_id) {
        return denied;
    }
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let client_context = headers
        .get("x-amz-client-context")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    match invocation_type.as_str() {
        "DryRun" => {
            return with_request_id(StatusCode::NO_CONTENT.into_response(), &request_id);
        }
        "Event" => {
            // Lambda queues the event and answers 202 at once; the function runs later.
            let function = function.to_owned();
            let id = request_id.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let outcome = service
                    .functions
                    .invoke_with_id(&function, &id, payload, client_context)
                    .await;
                tracing::info!(
                    function = %function,
                    request_id = %id,
                    invocation_type = "Event",
                    outcome = outcome.label(),
                    error_type = outcome.error_type().unwrap_or_default(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "invoke"
                );
            });
            return with_request_id(StatusCode::ACCEPTED.into_response(), &request_id);
        }
        "RequestResponse" => {}
        other => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("Unsupported invocation type {other}"),
                &request_id,
            );
        }
    }

    let started = std::time::Instant::now();
    let outcome = service
        .functions
        .invoke_with_id(function, &request_id, payload, client_context)
        .await;
    tracing::info!(
        function = %function,
        request_id = %request_id,
        invocation_type = "RequestResponse",
        outcome = outcome.label(),
        error_type = outcome.error_type().unwrap_or_default(),
        duration_ms = started.elapsed().as_millis() as u64,
        "invoke"
    );
    match outcome {
        Outcome::Success(body) => lambda_response(body, None, &request_id),
        Outcome::FunctionError { kind, body } => lambda_response(body, Some(&kind), &request_id),
        Outcome::NotFound(message) => aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &message,
            &request_id,
        ),
        Outcome::SystemError(message) => aws_error(
            StatusCode::BAD_GATEWAY,
            "ServiceException",
            &message,
            &request_id,
        ),
    }
}

fn lambda_response(body: Bytes, function_error: Option<&str>, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    if let Some(kind) = function_error {
        if let Ok(value) = HeaderValue::from_str(kind) {
            headers.insert(lambda::FUNCTION_ERROR_HEADER, value);
        }
    }
    with_request_id(response, request_id)
}

/// An error in the REST-JSON shape the Lambda API uses (what the AWS SDKs parse).
fn aws_error(status: StatusCode, error_type: &str, message: &str, request_id: &str) -> Response {
    let body = serde_json::json!({ "Type": "User", "Message": message, "message": message });
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert(lambda::ERROR_TYPE_HEADER, value);
    }
    with_request_id(response, request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

// --------------------------------------------------------------------------------------- moto

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

async fn proxy(
    state: &AppState,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        state.config.moto.trim_end_matches('/'),
        path_and_query
    );
    let mut forwarded = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // content-length stays: the body is forwarded whole, and a signed `content-length: 0`
        // (an empty PUT) would otherwise be dropped by the HTTP client.
        if !is_hop_by_hop(name) {
            forwarded.append(name.clone(), value.clone());
        }
    }
    let result = state
        .http
        .request(method.clone(), &url)
        .headers(forwarded)
        .body(body)
        .send()
        .await;
    let upstream = match result {
        Ok(upstream) => upstream,
        Err(e) => {
            tracing::warn!(%method, path = %path_and_query, error = %e, "moto unreachable");
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("front door: moto at {url}: {e}"),
            );
        }
    };
    let status = upstream.status();
    let upstream_headers = upstream.headers().clone();
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("front door: reading moto's answer: {e}"),
            )
        }
    };
    if status == StatusCode::FORBIDDEN {
        // What IAM enforcement refused, in the front door's log.
        tracing::warn!(
            %method,
            path = %path_and_query,
            caller = %headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(sigv4::credential_scope)
                .map(|(key, _, service)| format!("{key} ({service})"))
                .unwrap_or_default(),
            answer = %String::from_utf8_lossy(&body).chars().take(400).collect::<String>(),
            "moto refused"
        );
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let out = response.headers_mut();
    for (name, value) in &upstream_headers {
        // Keep moto's content-length only for HEAD, whose body is empty by definition.
        if is_hop_by_hop(name) || (name == header::CONTENT_LENGTH && method != Method::HEAD) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    response
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        serde_json::from_value(json!({
            "stackName": "s", "stackId": "id", "region": "us-east-1", "accountId": "123456789012",
            "parameters": {}, "outputs": {}, "resources": {}, "functions": [],
            "routes": {"region": "us-east-1", "accountId": "123456789012", "routes": []},
            "stateMachines": [
                {"logicalId": "Sm", "arn": "arn:sm", "roleArn": "arn:aws:iam::123456789012:role/sm"},
                {"logicalId": "Other", "arn": "arn:other", "roleArn": "arn:aws:iam::123456789012:role/other"}
            ],
            "inboxes": {}, "notMapped": [],
            "roles": {"arn:aws:iam::123456789012:role/sm": {"logicalId": "SmRole", "name": "sm", "policies": [
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                  "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:allowed", "arn:aws:lambda:us-east-1:123456789012:function:allowed:*"]}]}
            ]}, "arn:aws:iam::123456789012:role/other": {"logicalId": "OtherRole", "name": "other", "policies": [
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                  "Resource": "arn:aws:lambda:us-east-1:123456789012:function:other"}]}
            ]}},
            "admin": {"arn": "arn:aws:iam::123456789012:user/localcloud-admin", "accessKeyId": "ADMIN", "secretAccessKey": "x"}
        }))
        .unwrap()
    }

    fn service(dir: &tempfile::TempDir) -> LambdaService {
        let stack = stack();
        let sessions = Arc::new(
            Sessions::new(
                &stack,
                dir.path().join("principals.json"),
                "http://127.0.0.1:9",
            )
            .unwrap(),
        );
        LambdaService {
            functions: Functions::new(
                Vec::new(),
                sessions.clone(),
                LogSink::writer(std::io::sink()),
            ),
            sessions,
            stack,
        }
    }

    fn signed(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential={key}/20261203/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"
            ))
            .unwrap(),
        );
        headers
    }

    #[test]
    fn callers() {
        assert_eq!(caller(&signed("ak")), Caller::StepFunctions(None));
        assert_eq!(caller(&signed("ASIAX")), Caller::Key("ASIAX".into()));
        assert_eq!(caller(&HeaderMap::new()), Caller::Anonymous);
        let mut relay = HeaderMap::new();
        relay.insert(SERVICE_INVOKER_HEADER, HeaderValue::from_static("relay"));
        assert_eq!(caller(&relay), Caller::Service);
    }

    #[tokio::test]
    async fn invoke_is_checked_against_the_callers_policies() {
        let dir = tempfile::tempdir().unwrap();
        let s = service(&dir);
        let allowed = "arn:aws:lambda:us-east-1:123456789012:function:allowed";
        let other = "arn:aws:lambda:us-east-1:123456789012:function:other";
        let status = |caller: Caller, arn: &str| {
            denied_invoke(&s, &caller, arn, "r").map(|r| {
                let kind = r.headers()[lambda::ERROR_TYPE_HEADER]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (r.status(), kind)
            })
        };
        // A state machine: its own role's policy (the execution's role says which one).
        let sm = || Caller::StepFunctions(Some("arn:aws:iam::123456789012:role/sm".into()));
        let second = || Caller::StepFunctions(Some("arn:aws:iam::123456789012:role/other".into()));
        assert_eq!(status(sm(), allowed), None);
        assert_eq!(
            status(sm(), other),
            Some((StatusCode::FORBIDDEN, "AccessDeniedException".into()))
        );
        assert_eq!(status(second(), other), None);
        assert_eq!(
            status(second(), allowed),
            Some((StatusCode::FORBIDDEN, "AccessDeniedException".into()))
        );
        // Two state machines and no role named: refused, never the wrong role.
        assert_eq!(
            status(Caller::StepFunctions(None), allowed),
            Some((StatusCode::FORBIDDEN, "AccessDeniedException".into()))
        );
        // The administrator and the relay (as the event source's service) may.
        assert_eq!(status(Caller::Key("ADMIN".into()), other), None);
        assert_eq!(status(Caller::Service, other), None);
        // Unknown keys and unsigned requests may not.
        assert_eq!(
            status(Caller::Key("NOPE".into()), allowed),
            Some((StatusCode::FORBIDDEN, "UnrecognizedClientException".into()))
        );
        assert_eq!(
            status(Caller::Anonymous, allowed),
            Some((
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException".into()
            ))
        );
        // The principals file the emulator reads holds the administrator.
        let file: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("principals.json")).unwrap())
                .unwrap();
        assert_eq!(file["principals"][0]["accessKeyId"], "ADMIN");
        assert_eq!(file["principals"][0]["admin"], true);
    }

    #[test]
    fn functions_get_only_the_local_endpoints_added() {
        let env = local_environment("http://127.0.0.1:4566", "http://127.0.0.1:4568");
        assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566");
        assert_eq!(
            env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
            "http://127.0.0.1:4568"
        );
        assert!(env.keys().all(|k| k.starts_with("AWS_ENDPOINT_URL")
            || k == "S3_FORCE_PATH_STYLE"
            || k.starts_with("GENESYS_")));
    }
}
