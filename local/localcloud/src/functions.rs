//! Our own Lambda service: runs each function binary as AWS Lambda runs it and serves it the
//! [Lambda Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
//!
//! An *instance* (Lambda's execution environment) is one child process of the function's
//! binary, started on demand, with a Runtime API server of its own on `127.0.0.1:<random>`
//! (so every request on that server comes from that one process). The runtime in the binary
//! (`lambda_runtime` 1.x) long-polls `GET /2018-06-01/runtime/invocation/next`, runs the handler
//! and posts `.../invocation/{id}/response` or `.../invocation/{id}/error`. One instance serves
//! one invocation at a time and is reused for the next one, as on Lambda.
//!
//! What matches Lambda:
//! - **Environment**: the process starts with a clean environment (nothing of ours leaks in):
//!   the function's own variables ([`FunctionSpec::env`]), the per-instance variables from
//!   [`InstanceEnv`] (the role's credentials), and what Lambda defines for OS-only runtimes
//!   (`provided.al2023`), see [`environment`]. `AWS_EXECUTION_ENV` is *not* set: Lambda does not
//!   define it for the `provided` runtime family. `_X_AMZN_TRACE_ID` is not set either: the
//!   runtime sets it per invocation from `Lambda-Runtime-Trace-Id`. The working directory is
//!   `LAMBDA_TASK_ROOT`, the binary's directory (Lambda: `/var/task`).
//! - **Concurrency**: an invocation goes to an idle instance; if none is idle and fewer than
//!   [`FunctionSpec::max_concurrency`] instances exist, a new one is started for it; concurrent
//!   invocations therefore run in parallel, in different processes. An instance counts as idle
//!   from the moment it has answered (the invocation is handed over at its next `/next`), so
//!   back-to-back invocations reuse the warm instance as on Lambda instead of starting another.
//!   One that answers but neither calls `/next` again nor exits within the function timeout is
//!   killed, and the invocation waiting for it goes to another instance.
//! - **Timeout**: [`FunctionSpec::timeout`] counts from the moment `/next` hands the invocation
//!   to the instance. On expiry the process is killed (SIGKILL) and the invocation fails with
//!   `Unhandled` / `Sandbox.Timedout` ([`lambda::timeout_error_body`]); the next invocation
//!   gets a fresh instance. The first invocation of a new instance also waits for its init
//!   phase, which Lambda bounds by 10 s (then retries it within the invocation's own timeout):
//!   here init + invocation are bounded by 10 s + the timeout together.
//! - **Failures**: an error posted to `/error` fails the invocation with `Unhandled` and the
//!   posted document; a process that exits mid-invocation fails it with `Runtime.ExitError`
//!   (`RequestId: .. Error: Runtime exited with error: exit status 1`), as does one that exits
//!   before its first `/next` (Lambda reports init-phase exits as `Runtime.ExitError` too); an
//!   error posted to `/init/error` fails the invocation with the posted document (its
//!   `errorType`, `Runtime.InitError` if it names none) and the process is killed. A failed
//!   start is never retried by itself: the next invocation starts a fresh instance.
//! - **Response size**: a response over 6,291,556 bytes is refused (`413` to the runtime) and
//!   the invocation fails with `Function.ResponseSizeTooLarge`, as on Lambda.
//! - **Logs**: each instance's stdout and stderr go to the [`LogSink`] line by line, prefixed
//!   `[function-name#instance]`, with Lambda's `START` / `END` / `REPORT` lines around each
//!   invocation.
//!
//! Where it differs (documented choices):
//! - **Throttling**: when all `max_concurrency` instances are busy, Lambda rejects a synchronous
//!   invoke with `429 TooManyRequestsException`; here the invocation *waits* (first come, first
//!   served) for an instance to become free. Local callers (the relay, Step Functions in moto)
//!   do not all retry throttles the way AWS services do, and queueing keeps local runs
//!   deterministic. `max_concurrency == 0` (reserved concurrency 0) throttles every invocation
//!   with a [`Outcome::SystemError`] naming `TooManyRequestsException`, as Lambda does.
//! - Memory ([`FunctionSpec::memory_mb`]) is reported to the function but not enforced; `/tmp`
//!   is the host's; there is no freezing between invocations and no idle-instance reaping.
//! - An invalid client context (not base64 of a JSON object) gives a
//!   [`Outcome::SystemError`] naming `InvalidRequestContentException` (Lambda answers `400`).
//!
//! [`Functions::shutdown`] (and dropping [`Functions`]) kills every instance; the child
//! processes are also spawned with `kill_on_drop`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};
use tokio::time::Instant;

use crate::lambda::{self, Outcome};

/// Lambda's limit on a synchronous invocation's response payload, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// How long Lambda lets the init phase of an on-demand instance run.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often one invocation is offered to a new instance when the instance it was given died
/// before taking it (a process that exits right after calling `/next`).
const MAX_HANDOFF_ATTEMPTS: u32 = 3;
/// `PATH` in Lambda's execution environment.
const LAMBDA_PATH: &str = "/usr/local/bin:/usr/bin/:/bin:/opt/bin";
/// How to get the function binaries, for the error when one is missing.
const BUILD_HINT: &str = "build it with cargo build --workspace --bins";
/// `LAMBDA_RUNTIME_DIR` in Lambda's execution environment.
const RUNTIME_DIR: &str = "/var/runtime";

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime";

/// One function as the Lambda service knows it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Physical function name.
    pub name: String,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` (its region becomes `AWS_REGION`).
    pub arn: String,
    /// The executable, e.g. `target/debug/start-image-job`.
    pub binary: PathBuf,
    /// The function's own environment (already resolved) plus the local endpoint variables.
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Instances at most (reserved concurrency, or a local default).
    pub max_concurrency: usize,
}

/// Supplies per-instance environment (credentials from `sts:AssumeRole` of the function's
/// role) at each instance start. An error fails the invocation that needed the instance.
pub trait InstanceEnv: Send + Sync + 'static {
    fn instance_env(
        &self,
        spec: &FunctionSpec,
    ) -> impl Future<Output = anyhow::Result<BTreeMap<String, String>>> + Send;
}

/// No per-instance environment: the function runs with [`FunctionSpec::env`] alone.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInstanceEnv;

#[cfg(test)]
impl InstanceEnv for NoInstanceEnv {
    async fn instance_env(&self, _spec: &FunctionSpec) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }
}

/// Where instance output goes: one line per write, `[function#instance] text`.
#[derive(Clone)]
pub struct LogSink {
    out: Arc<Mutex<Box<dyn std::io::Write + Send>>>,
}

impl LogSink {
    /// Appends to `path` (created if missing); every instance writes to the same file.
    pub fn file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::writer(file))
    }

    pub fn writer(out: impl std::io::Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(out))),
        }
    }

    fn line(&self, prefix: &str, text: &str) {
        let line = format!("[{prefix}] {text}\n");
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A full disk must not take the functions down with it.
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

/// The Lambda service: the functions, their instances, and the invocations between them.
pub struct Functions<E: InstanceEnv> {
    functions: BTreeMap<String, Arc<Function>>,
    env: E,
    log: LogSink,
    shutdown: watch::Sender<bool>,
}

struct Function {
    spec: FunctionSpec,
    /// One permit per instance: invocations beyond `max_concurrency` queue here, in order.
    permits: Semaphore,
    pool: Mutex<Pool>,
    /// Signalled whenever an instance becomes idle or goes away.
    changed: Notify,
}

#[derive(Default)]
struct Pool {
    /// Instances waiting in `/next` with nothing to do.
    idle: Vec<IdleInstance>,
    /// Instances whose process exists (starting, idle, busy or between invocations).
    live: usize,
    /// Instances started so far (the last instance number).
    started: u64,
}

struct IdleInstance {
    number: u64,
    jobs: mpsc::UnboundedSender<Job>,
}

/// One invocation, as handed to an instance.
struct Request {
    request_id: String,
    payload: Bytes,
    /// The client context as JSON text (decoded from base64).
    client_context: Option<String>,
}

struct Job {
    request: Arc<Request>,
    reply: oneshot::Sender<Reply>,
}

enum Reply {
    Done(Outcome),
    /// The instance went away before taking the invocation: offer it to another one.
    Retry,
}

enum Target {
    Idle(IdleInstance),
    New(u64),
}

impl<E: InstanceEnv> Functions<E> {
    pub fn new(specs: Vec<FunctionSpec>, env: E, log: LogSink) -> Self {
        let functions = specs
            .into_iter()
            .map(|spec| {
                let function = Function {
                    permits: Semaphore::new(spec.max_concurrency),
                    pool: Mutex::new(Pool::default()),
                    changed: Notify::new(),
                    spec,
                };
                (function.spec.name.clone(), Arc::new(function))
            })
            .collect();
        Self {
            functions,
            env,
            log,
            shutdown: watch::Sender::new(false),
        }
    }

    /// The names of the functions served.
    #[cfg(test)]
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// The specification of `name`, if served.
    pub fn spec(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.get(name).map(|f| &f.spec)
    }

    /// A synchronous invocation of `name` under a new request id.
    /// `client_context` is the `X-Amz-Client-Context` header as sent: base64 of a JSON object.
    #[cfg(test)]
    pub async fn invoke(
        &self,
        name: &str,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Outcome {
        self.invoke_with_id(name, &crate::ids::uuid_v4(), payload, client_context)
            .await
    }

    /// A synchronous invocation of `name` whose request id (the function's `aws_request_id`)
    /// is `request_id`, e.g. the `x-amzn-RequestId` the front door answers with.
    pub async fn invoke_with_id(
        &self,
        name: &str,
        request_id: &str,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Outcome {
        let Some(function) = self.functions.get(name) else {
            return Outcome::NotFound(format!("Function not found: {name}"));
        };
        if *self.shutdown.borrow() {
            return shutting_down();
        }
        if function.spec.max_concurrency == 0 {
            return Outcome::SystemError(format!(
                "TooManyRequestsException: Rate Exceeded. ({name} has a reserved concurrency of 0)"
            ));
        }
        let client_context = match client_context.as_deref().map(decode_client_context) {
            None => None,
            Some(Ok(json)) => Some(json),
            Some(Err(message)) => return Outcome::SystemError(message),
        };
        // Waits while max_concurrency invocations are under way (see the module doc).
        let Ok(_permit) = function.permits.acquire().await else {
            return shutting_down();
        };
        let request = Arc::new(Request {
            request_id: request_id.to_owned(),
            payload,
            client_context,
        });
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts > MAX_HANDOFF_ATTEMPTS {
                return Outcome::SystemError(format!(
                    "instances of {name} exit before taking the invocation (tried {MAX_HANDOFF_ATTEMPTS})"
                ));
            }
            let (reply, replied) = oneshot::channel();
            let job = Job {
                request: request.clone(),
                reply,
            };
            match self.acquire(function).await {
                Err(outcome) => return outcome,
                Ok(Target::Idle(instance)) => {
                    if instance.jobs.send(job).is_err() {
                        // Died since it became idle: not an attempt of the invocation.
                        attempts -= 1;
                        continue;
                    }
                }
                Ok(Target::New(number)) => {
                    // Gives the slot back if the start fails, or if this invocation is dropped
                    // (its caller went away) before the instance exists.
                    let starting = Starting {
                        function,
                        number,
                        started: false,
                    };
                    if let Err(outcome) = self.start_instance(function, number, job).await {
                        return outcome;
                    }
                    starting.started();
                }
            }
            match replied.await {
                Ok(Reply::Done(outcome)) => return outcome,
                Ok(Reply::Retry) => continue,
                Err(_) => {
                    return Outcome::SystemError(format!(
                        "the instance of {name} went away without an answer"
                    ))
                }
            }
        }
    }

    /// Kills every instance and waits until they are gone; later invocations fail.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        for function in self.functions.values() {
            function.permits.close();
        }
        for function in self.functions.values() {
            loop {
                let changed = function.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if function.pool().live == 0 {
                    break;
                }
                changed.await;
            }
        }
    }

    /// An idle instance, or the number of a new instance to start (counted as live already).
    async fn acquire(&self, function: &Function) -> Result<Target, Outcome> {
        let mut shutdown = self.shutdown.subscribe();
        loop {
            let changed = function.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut pool = function.pool();
                if let Some(instance) = pool.idle.pop() {
                    return Ok(Target::Idle(instance));
                }
                if pool.live < function.spec.max_concurrency {
                    pool.live += 1;
                    pool.started += 1;
                    return Ok(Target::New(pool.started));
                }
            }
            // Every instance is busy, or between an answer and its next `/next`.
            tokio::select! {
                _ = &mut changed => {}
                _ = shutdown_requested(&mut shutdown) => return Err(shutting_down()),
            }
        }
    }

    /// Starts instance `number` of `function` with `job` as its first invocation.
    async fn start_instance(
        &self,
        function: &Arc<Function>,
        number: u64,
        job: Job,
    ) -> Result<(), Outcome> {
        let spec = &function.spec;
        let is_file = tokio::fs::metadata(&spec.binary)
            .await
            .is_ok_and(|meta| meta.is_file());
        if !is_file {
            let (name, path) = (&spec.name, spec.binary.display());
            return Err(Outcome::SystemError(format!(
                "function {name}: no executable at {path} ({BUILD_HINT})"
            )));
        }
        let instance_env = self.env.instance_env(spec).await.map_err(|e| {
            Outcome::SystemError(format!(
                "function {}: preparing the instance environment: {e:#}",
                spec.name
            ))
        })?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .and_then(|l| Ok((l.local_addr()?, l)))
            .map_err(|e| {
                Outcome::SystemError(format!(
                    "function {}: binding a Runtime API port: {e}",
                    spec.name
                ))
            });
        let (runtime_api, listener) = listener?;
        let task_root = task_root(&spec.binary);
        let env = environment(spec, &instance_env, runtime_api, &task_root);
        let mut command = Command::new(&spec.binary);
        command
            .env_clear()
            .envs(&env)
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = spawn(&mut command).await.map_err(|e| {
            Outcome::SystemError(format!(
                "function {}: starting {}: {e}",
                spec.name,
                spec.binary.display()
            ))
        })?;

        let prefix = format!("{}#{number}", spec.name);
        self.log.line(
            &prefix,
            &format!(
                "instance started: pid {}, Runtime API {runtime_api}",
                child.id().unwrap_or_default()
            ),
        );
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, self.log.clone(), prefix.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, self.log.clone(), prefix.clone()));
        }
        let (events_tx, events) = mpsc::unbounded_channel();
        let (jobs_tx, jobs) = mpsc::unbounded_channel();
        // Queued before the instance runs: its first `/next` takes this job, so no other
        // invocation can take the instance from the one that started it.
        let _ = jobs_tx.send(job);
        let server = tokio::spawn(serve_runtime_api(listener, events_tx));
        let lifecycle = Lifecycle {
            function: function.clone(),
            number,
            prefix,
            log: self.log.clone(),
            jobs_tx,
            spawned: Instant::now(),
            init_duration: None,
            registered: false,
            waiter: None,
            queued: None,
            queued_at: Instant::now(),
            running: None,
            handed: 0,
        };
        tokio::spawn(run_instance(
            lifecycle,
            child,
            events,
            jobs,
            server,
            self.shutdown.subscribe(),
        ));
        Ok(())
    }

    /// Instances started so far and instances alive now.
    #[cfg(test)]
    fn counts(&self, name: &str) -> (u64, usize) {
        let pool = self.functions[name].pool();
        (pool.started, pool.live)
    }
}

impl<E: InstanceEnv> Drop for Functions<E> {
    fn drop(&mut self) {
        // Every instance task sees this and kills its process.
        self.shutdown.send_replace(true);
    }
}

/// A slot in the pool (counted in `live`) for an instance being started.
struct Starting<'a> {
    function: &'a Function,
    number: u64,
    started: bool,
}

impl Starting<'_> {
    /// The instance runs: from now on its own task gives the slot back when it ends.
    fn started(mut self) {
        self.started = true;
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        if !self.started {
            self.function.instance_gone(self.number);
        }
    }
}

impl Function {
    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn make_idle(&self, number: u64, jobs: mpsc::UnboundedSender<Job>) {
        self.pool().idle.push(IdleInstance { number, jobs });
        self.changed.notify_waiters();
    }

    fn instance_gone(&self, number: u64) {
        {
            let mut pool = self.pool();
            pool.idle.retain(|i| i.number != number);
            pool.live = pool.live.saturating_sub(1);
        }
        self.changed.notify_waiters();
    }
}

fn shutting_down() -> Outcome {
    Outcome::SystemError("the local Lambda service is shutting down".into())
}

async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    // An error means the service itself is gone: shut down as well.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// `X-Amz-Client-Context` (base64 of a JSON object) -> the JSON text the runtime receives.
fn decode_client_context(header: &str) -> Result<String, String> {
    base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .ok()
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .filter(serde_json::Value::is_object)
        .map(|value| value.to_string())
        .ok_or_else(|| {
            "InvalidRequestContentException: Client context must be a valid Base64-encoded JSON object."
                .to_owned()
        })
}

// ------------------------------------------------------------------------------ environment

/// The directory Lambda calls the task root: the binary's.
fn task_root(binary: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    match absolute.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The complete environment of one instance process.
///
/// Lambda's unreserved defaults (`LANG`, `PATH`, `LD_LIBRARY_PATH`) and the region of the ARN
/// (`AWS_REGION`, `AWS_DEFAULT_REGION`) come first and may be overridden by the function's
/// variables, then the per-instance variables; Lambda's reserved runtime variables come last and
/// win. Variables the `lambda_runtime` crate (1.5) reads: `AWS_LAMBDA_RUNTIME_API` (required),
/// `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (an integer) and
/// `AWS_LAMBDA_FUNCTION_VERSION` (all three required: it panics without them),
/// `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_INITIALIZATION_TYPE`
/// (`snap-start` switches on the SnapStart lifecycle, so it must stay `on-demand`),
/// `AWS_LAMBDA_MAX_CONCURRENCY` (Managed Instances only: not set), `AWS_LAMBDA_LOG_FORMAT` and
/// `AWS_LAMBDA_LOG_LEVEL` (its tracing setup; only if the function sets them).
fn environment(
    spec: &FunctionSpec,
    instance_env: &BTreeMap<String, String>,
    runtime_api: SocketAddr,
    task_root: &Path,
) -> BTreeMap<String, String> {
    let root = task_root.display().to_string();
    let mut env = BTreeMap::new();
    let mut set = |key: &str, value: String| {
        env.insert(key.to_owned(), value);
    };
    set("LANG", "en_US.UTF-8".into());
    set("PATH", LAMBDA_PATH.into());
    set(
        "LD_LIBRARY_PATH",
        format!("/var/lang/lib:/lib64:/usr/lib64:{RUNTIME_DIR}:{RUNTIME_DIR}/lib:{root}:{root}/lib:/opt/lib"),
    );
    if let Some(region) = spec.arn.split(':').nth(3).filter(|r| !r.is_empty()) {
        set("AWS_REGION", region.into());
        set("AWS_DEFAULT_REGION", region.into());
    }
    env.extend(spec.env.clone());
    env.extend(instance_env.clone());
    // Lambda sets the legacy name next to AWS_ACCESS_KEY_ID.
    if let Some(key) = env.get("AWS_ACCESS_KEY_ID").cloned() {
        env.entry("AWS_ACCESS_KEY".into()).or_insert(key);
    }
    let reserved = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", root),
        ("LAMBDA_RUNTIME_DIR", RUNTIME_DIR.into()),
        ("TZ", ":UTC".into()),
    ];
    for (key, value) in reserved {
        env.insert(key.to_owned(), value);
    }
    env
}

/// `2024/05/01/[$LATEST]0123456789abcdef0123456789abcdef`.
fn log_stream_name() -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year]/[month]/[day]"))
        .unwrap_or_else(|_| "1970/01/01".into());
    format!("{date}/[$LATEST]{}", uuid::Uuid::new_v4().simple())
}

/// `Root=1-<epoch seconds, hex>-<24 hex>;Parent=<16 hex>;Sampled=0`: an X-Ray trace header.
fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &root[..24],
        &parent[..16]
    )
}

/// Spawns, retrying briefly while the executable is being written (`ETXTBSY`: a build that
/// is replacing the binary, or another thread's fork still holding it open for writing).
async fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 40 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            other => return other,
        }
    }
}

/// Copies one output stream of an instance to the log, line by line.
async fn pump(stream: impl AsyncRead + Unpin, log: LogSink, prefix: String) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                log.line(&prefix, &String::from_utf8_lossy(&line));
            }
        }
    }
}

// ------------------------------------------------------------------------------ Runtime API

/// What the Runtime API server of an instance tells the instance's task.
enum ApiEvent {
    /// `GET /invocation/next`: the sender delivers the invocation.
    Next(oneshot::Sender<Handoff>),
    /// `POST /invocation/{id}/response`; `Err` when the body is over the size limit.
    Response {
        request_id: String,
        body: Result<Bytes, ()>,
        answer: oneshot::Sender<Answer>,
    },
    /// `POST /invocation/{id}/error`.
    Error {
        request_id: String,
        body: Result<Bytes, ()>,
        error_type: Option<String>,
        answer: oneshot::Sender<Answer>,
    },
    /// `POST /init/error`.
    InitError {
        body: Result<Bytes, ()>,
        error_type: Option<String>,
        answer: oneshot::Sender<Answer>,
    },
}

/// An invocation as `/next` returns it.
struct Handoff {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    function_arn: String,
    trace_id: String,
    client_context: Option<String>,
}

/// The status and JSON body the Runtime API answers a post with.
type Answer = (StatusCode, serde_json::Value);

type Events = mpsc::UnboundedSender<ApiEvent>;

fn accepted() -> Answer {
    (StatusCode::ACCEPTED, json!({ "status": "OK" }))
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Answer {
    (
        status,
        json!({ "errorType": error_type, "errorMessage": message }),
    )
}

fn invalid_request_id() -> Answer {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "Invalid request ID",
    )
}

fn too_large() -> Answer {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

async fn serve_runtime_api(listener: tokio::net::TcpListener, events: Events) {
    let app = Router::new()
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/next"),
            get(next_invocation),
        )
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/{{id}}/response"),
            post(invocation_response),
        )
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/{{id}}/error"),
            post(invocation_error),
        )
        .route(&format!("{RUNTIME_PREFIX}/init/error"), post(init_error))
        .with_state(events);
    let _ = axum::serve(listener, app).await;
}

async fn next_invocation(State(events): State<Events>) -> Response {
    let (deliver, delivered) = oneshot::channel();
    if events.send(ApiEvent::Next(deliver)).is_err() {
        return answer(gone());
    }
    let Ok(handoff) = delivered.await else {
        return answer(gone());
    };
    let mut response = Response::new(Body::from(handoff.payload));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", &handoff.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &handoff.deadline_ms.to_string(),
    );
    put("lambda-runtime-invoked-function-arn", &handoff.function_arn);
    put("lambda-runtime-trace-id", &handoff.trace_id);
    if let Some(client_context) = &handoff.client_context {
        put("lambda-runtime-client-context", client_context);
    }
    response
}

async fn invocation_response(
    State(events): State<Events>,
    UrlPath(request_id): UrlPath<String>,
    body: Body,
) -> Response {
    let body = read_body(body).await;
    ask(&events, |answer| ApiEvent::Response {
        request_id,
        body,
        answer,
    })
    .await
}

async fn invocation_error(
    State(events): State<Events>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_body(body).await;
    let error_type = function_error_type(&headers);
    ask(&events, |answer| ApiEvent::Error {
        request_id,
        body,
        error_type,
        answer,
    })
    .await
}

async fn init_error(State(events): State<Events>, headers: HeaderMap, body: Body) -> Response {
    let body = read_body(body).await;
    let error_type = function_error_type(&headers);
    ask(&events, |answer| ApiEvent::InitError {
        body,
        error_type,
        answer,
    })
    .await
}

async fn read_body(body: Body) -> Result<Bytes, ()> {
    axum::body::to_bytes(body, MAX_RESPONSE_BYTES)
        .await
        .map_err(|_| ())
}

fn function_error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn ask(events: &Events, event: impl FnOnce(oneshot::Sender<Answer>) -> ApiEvent) -> Response {
    let (tx, rx) = oneshot::channel();
    if events.send(event(tx)).is_err() {
        return answer(gone());
    }
    answer(rx.await.unwrap_or_else(|_| gone()))
}

fn gone() -> Answer {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        "the execution environment is shutting down",
    )
}

fn answer((status, body): Answer) -> Response {
    (status, Json(body)).into_response()
}

// ---------------------------------------------------------------------------- one instance

/// The invocation an instance is working on.
struct Running {
    job: Job,
    started: Instant,
    deadline: Instant,
    /// The instance's first invocation (its REPORT carries the init duration).
    cold: bool,
}

/// The state of one instance, owned by its task ([`run_instance`]).
struct Lifecycle {
    function: Arc<Function>,
    number: u64,
    prefix: String,
    log: LogSink,
    jobs_tx: mpsc::UnboundedSender<Job>,
    spawned: Instant,
    /// Set at the first `/next`: the init phase is over.
    init_duration: Option<Duration>,
    /// In the pool's idle list.
    registered: bool,
    /// The pending `/next` request.
    waiter: Option<oneshot::Sender<Handoff>>,
    /// An invocation given to this instance and not yet handed to the process, and since when.
    queued: Option<Job>,
    queued_at: Instant,
    running: Option<Running>,
    /// Invocations handed to the process so far.
    handed: u64,
}

/// Why an instance ended.
enum End {
    Exited(std::io::Result<ExitStatus>),
    Timeout,
    InitError(Bytes),
    Shutdown,
}

async fn run_instance(
    mut life: Lifecycle,
    mut child: Child,
    mut events: mpsc::UnboundedReceiver<ApiEvent>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    server: tokio::task::JoinHandle<()>,
    mut shutdown: watch::Receiver<bool>,
) {
    let end = loop {
        let deadline = life.deadline();
        tokio::select! {
            // Runtime API requests first: a response posted just before the process exits
            // is in the queue before the exit is seen.
            biased;
            Some(event) = events.recv() => {
                if let Some(end) = life.on_event(event, &mut jobs) {
                    break end;
                }
            }
            status = child.wait() => break End::Exited(status),
            _ = shutdown_requested(&mut shutdown) => break End::Shutdown,
            _ = sleep_until(deadline) => break End::Timeout,
            Some(job) = jobs.recv(), if life.queued.is_none() && life.running.is_none() => {
                life.accept(job);
            }
        }
    };
    let status = match end {
        End::Exited(ref status) => describe_exit(status),
        _ => {
            let _ = child.start_kill();
            describe_exit(&child.wait().await)
        }
    };
    server.abort();
    life.ended(end, &status, &mut jobs);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `exit status 1`, `signal: killed`, as Lambda words them; `None` for a clean exit.
fn describe_exit(status: &std::io::Result<ExitStatus>) -> Option<String> {
    let status = match status {
        Ok(status) => status,
        Err(e) => return Some(format!("waiting for the process: {e}")),
    };
    if let Some(code) = status.code() {
        return (code != 0).then(|| format!("exit status {code}"));
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(status) {
        let name = match signal {
            6 => "aborted".to_owned(),
            7 => "bus error".to_owned(),
            9 => "killed".to_owned(),
            11 => "segmentation fault".to_owned(),
            15 => "terminated".to_owned(),
            other => format!("{other}"),
        };
        return Some(format!("signal: {name}"));
    }
    Some(status.to_string())
}

fn error_document(error_type: &str, message: &str) -> Bytes {
    Bytes::from(json!({ "errorType": error_type, "errorMessage": message }).to_string())
}

/// A posted error as the invoker sees it: the document itself when it is a JSON object,
/// otherwise one made of the error type header and the text.
fn posted_error(body: Bytes, error_type: Option<&str>, default_type: &str) -> Bytes {
    let is_object = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|v| v.is_object())
        .unwrap_or(false);
    if is_object {
        body
    } else {
        error_document(
            error_type.unwrap_or(default_type),
            &String::from_utf8_lossy(&body),
        )
    }
}

fn unhandled(body: Bytes) -> Outcome {
    Outcome::FunctionError {
        kind: "Unhandled".into(),
        body,
    }
}

fn response_too_large() -> Outcome {
    unhandled(error_document(
        "Function.ResponseSizeTooLarge",
        &format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    ))
}

/// `RequestId: .. Error: Runtime exited with error: exit status 1`.
fn exit_message(request_id: &str, status: &Option<String>) -> String {
    match status {
        Some(status) => {
            format!("RequestId: {request_id} Error: Runtime exited with error: {status}")
        }
        None => format!("RequestId: {request_id} Error: Runtime exited without providing a reason"),
    }
}

fn exit_error(request_id: &str, status: &Option<String>) -> Outcome {
    unhandled(error_document(
        "Runtime.ExitError",
        &exit_message(request_id, status),
    ))
}

impl Lifecycle {
    fn spec(&self) -> &FunctionSpec {
        &self.function.spec
    }

    fn log(&self, text: &str) {
        self.log.line(&self.prefix, text);
    }

    fn deadline(&self) -> Option<Instant> {
        let timeout = self.spec().timeout;
        match (&self.running, &self.queued) {
            (Some(running), _) => Some(running.deadline),
            // The init phase, then the invocation.
            (None, Some(_)) if self.init_duration.is_none() => {
                Some(self.spawned + INIT_TIMEOUT + timeout)
            }
            // Answered, but not back at `/next`.
            (None, Some(_)) => Some(self.queued_at + timeout),
            (None, None) => None,
        }
    }

    /// An invocation for this instance.
    fn accept(&mut self, job: Job) {
        self.registered = false;
        self.queued = Some(job);
        self.queued_at = Instant::now();
        self.hand_off();
    }

    /// Offers this instance to the next invocation (once per idle spell).
    fn register_idle(&mut self) {
        if !self.registered {
            self.registered = true;
            self.function.make_idle(self.number, self.jobs_tx.clone());
        }
    }

    /// Gives the queued invocation to the pending `/next`, if both are there.
    fn hand_off(&mut self) {
        if self.queued.is_none() || self.waiter.is_none() {
            return;
        }
        let (Some(job), Some(waiter)) = (self.queued.take(), self.waiter.take()) else {
            return;
        };
        let timeout = self.spec().timeout;
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let request = &job.request;
        let handoff = Handoff {
            request_id: request.request_id.clone(),
            payload: request.payload.clone(),
            deadline_ms,
            function_arn: self.spec().arn.clone(),
            trace_id: trace_id(),
            client_context: request.client_context.clone(),
        };
        if waiter.send(handoff).is_err() {
            // The `/next` request is gone (its connection closed): wait for another.
            self.queued = Some(job);
            return;
        }
        self.log(&format!(
            "START RequestId: {} Version: $LATEST",
            job.request.request_id
        ));
        let now = Instant::now();
        self.handed += 1;
        self.running = Some(Running {
            job,
            started: now,
            deadline: now + timeout,
            cold: self.handed == 1,
        });
    }

    /// Handles one Runtime API request; `Some` when the instance must end.
    fn on_event(
        &mut self,
        event: ApiEvent,
        jobs: &mut mpsc::UnboundedReceiver<Job>,
    ) -> Option<End> {
        match event {
            ApiEvent::Next(waiter) => {
                if self.init_duration.is_none() {
                    self.init_duration = Some(self.spawned.elapsed());
                }
                self.waiter = Some(waiter);
                if self.running.is_some() {
                    // `/next` without an answer for the current invocation: it stays running
                    // (and times out) as on Lambda.
                    return None;
                }
                if self.queued.is_none() {
                    if let Ok(job) = jobs.try_recv() {
                        self.accept(job);
                        return None;
                    }
                }
                if self.queued.is_some() {
                    self.hand_off();
                } else {
                    self.register_idle();
                }
                None
            }
            ApiEvent::Response {
                request_id,
                body,
                answer,
            } => {
                let (reply, outcome) = match body {
                    Ok(body) => (accepted(), Outcome::Success(body)),
                    Err(()) => (too_large(), response_too_large()),
                };
                let _ = answer.send(self.finish(&request_id, outcome).err().unwrap_or(reply));
                None
            }
            ApiEvent::Error {
                request_id,
                body,
                error_type,
                answer,
            } => {
                let (reply, outcome) = match body {
                    Ok(body) => (
                        accepted(),
                        unhandled(posted_error(body, error_type.as_deref(), "Unhandled")),
                    ),
                    Err(()) => (too_large(), response_too_large()),
                };
                let _ = answer.send(self.finish(&request_id, outcome).err().unwrap_or(reply));
                None
            }
            ApiEvent::InitError {
                body,
                error_type,
                answer,
            } => {
                if self.init_duration.is_some() {
                    let _ = answer.send(api_error(
                        StatusCode::FORBIDDEN,
                        "InvalidStateTransition",
                        "init/error after the init phase",
                    ));
                    return None;
                }
                let _ = answer.send(accepted());
                let body = body.unwrap_or_default();
                Some(End::InitError(posted_error(
                    body,
                    error_type.as_deref(),
                    "Runtime.InitError",
                )))
            }
        }
    }

    /// Completes the running invocation `request_id` with `outcome`; `Err` with the answer for
    /// the runtime when `request_id` is not the running invocation.
    fn finish(&mut self, request_id: &str, outcome: Outcome) -> Result<(), Answer> {
        let matches = self
            .running
            .as_ref()
            .is_some_and(|r| r.job.request.request_id == request_id);
        if !matches {
            return Err(invalid_request_id());
        }
        let Some(running) = self.running.take() else {
            return Err(invalid_request_id());
        };
        self.report(&running, None);
        let _ = running.job.reply.send(Reply::Done(outcome));
        // Free for the next invocation, which it takes at its next `/next`.
        self.register_idle();
        Ok(())
    }

    /// Lambda's `END` and `REPORT` lines.
    fn report(&self, running: &Running, status: Option<&str>) {
        let id = &running.job.request.request_id;
        let duration = running.started.elapsed().as_secs_f64() * 1000.0;
        let mut report = format!(
            "REPORT RequestId: {id}\tDuration: {duration:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
            duration.ceil() as u64,
            self.spec().memory_mb
        );
        if let (true, Some(init)) = (running.cold, self.init_duration) {
            report.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        if let Some(status) = status {
            report.push_str(&format!("\tStatus: {status}"));
        }
        self.log(&format!("END RequestId: {id}"));
        self.log(&report);
    }

    /// The process is gone (`status`: how it exited): answers what this instance still holds
    /// and leaves the pool.
    fn ended(mut self, end: End, status: &Option<String>, jobs: &mut mpsc::UnboundedReceiver<Job>) {
        let how = status.as_deref().unwrap_or("exit status 0");
        let why = match &end {
            End::Exited(_) => "exited".to_owned(),
            End::Timeout if self.running.is_some() => "killed: invocation timed out".to_owned(),
            End::Timeout if self.init_duration.is_none() => "killed: init timed out".to_owned(),
            End::Timeout => "killed: did not return to /next after answering".to_owned(),
            End::InitError(_) => "killed: init error posted".to_owned(),
            End::Shutdown => "killed: shutting down".to_owned(),
        };
        self.log(&format!("instance ended ({why}; {how})"));
        // Out of the pool before anyone hears of it, so the next invocation starts afresh.
        self.function.instance_gone(self.number);

        let timeout = self.spec().timeout;
        if let Some(running) = self.running.take() {
            let id = running.job.request.request_id.clone();
            let outcome = match &end {
                End::Timeout => {
                    self.log(&format!(
                        "{} {id} Task timed out after {:.2} seconds",
                        crate::ids::timestamp_millis(time::OffsetDateTime::now_utc()),
                        timeout.as_secs_f64()
                    ));
                    self.report(&running, Some("timeout"));
                    unhandled(lambda::timeout_error_body(timeout))
                }
                End::Shutdown => {
                    self.report(&running, Some("error"));
                    shutting_down()
                }
                End::Exited(_) | End::InitError(_) => {
                    let outcome = exit_error(&id, status);
                    self.log(&format!("{} Runtime.ExitError", exit_message(&id, status)));
                    self.report(&running, Some("error"));
                    outcome
                }
            };
            let _ = running.job.reply.send(Reply::Done(outcome));
        }
        if let Some(job) = self.queued.take() {
            let reply = if self.init_duration.is_some() && !matches!(end, End::Shutdown) {
                // Never handed to the process: another instance can take it.
                Reply::Retry
            } else {
                let id = &job.request.request_id;
                Reply::Done(match end {
                    End::Timeout => unhandled(lambda::timeout_error_body(timeout)),
                    End::Exited(_) => exit_error(id, status),
                    End::InitError(body) => unhandled(body),
                    End::Shutdown => shutting_down(),
                })
            };
            let _ = job.reply.send(reply);
        }
        jobs.close();
        while let Ok(job) = jobs.try_recv() {
            let _ = job.reply.send(Reply::Retry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A runtime speaking the Runtime API (urllib only). Per event `action`:
    /// `echo` (default) answers with the event, pid, `/next` headers and the environment;
    /// `sleep` sleeps `seconds` (writing its pid to `pidfile` first); `error` posts an error;
    /// `exit` exits with `code`; `big` answers with `bytes` bytes.
    /// `TEST_INIT=exit` exits during init, `TEST_INIT=error` posts an init error.
    const RUNTIME: &str = r#"#!/usr/bin/env python3
import json, os, sys, time, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"

def post(path, doc, headers={}):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    req = urllib.request.Request(API + path, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            r.read()
    except urllib.error.HTTPError as e:
        print("post", path, "->", e.code, file=sys.stderr)

def environ():
    raw = open("/proc/self/environ", "rb").read().decode()
    return dict(kv.split("=", 1) for kv in raw.split("\0") if kv)

init = os.environ.get("TEST_INIT", "")
print("init", os.getpid(), init)
if init == "exit":
    sys.exit(3)
if init == "error":
    post("/init/error", {"errorType": "Config.Missing", "errorMessage": "no config"},
         {"Lambda-Runtime-Function-Error-Type": "Config.Missing"})
    time.sleep(30)

while True:
    with urllib.request.urlopen(API + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = {k.lower(): v for k, v in r.headers.items()}
        event = json.loads(r.read() or b"{}")
    action = event.get("action", "echo")
    print("out", rid, action)
    print("err", rid, action, file=sys.stderr)
    if action == "sleep":
        if "pidfile" in event:
            with open(event["pidfile"], "w") as f:
                f.write(str(os.getpid()))
        time.sleep(event["seconds"])
    elif action == "exit":
        sys.exit(event.get("code", 1))
    elif action == "error":
        post("/invocation/" + rid + "/error", {"errorType": "Boom", "errorMessage": "it broke"},
             {"Lambda-Runtime-Function-Error-Type": "Boom"})
        continue
    elif action == "big":
        post("/invocation/" + rid + "/response", b'"' + b"x" * event["bytes"] + b'"')
        continue
    post("/invocation/" + rid + "/response",
         {"event": event, "pid": os.getpid(), "headers": headers, "env": environ()})
"#;

    struct Fixture {
        dir: tempfile::TempDir,
        script: PathBuf,
        log: PathBuf,
    }

    fn fixture() -> Fixture {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("bootstrap");
        std::fs::write(&script, RUNTIME).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let log = dir.path().join("functions.log");
        Fixture { dir, script, log }
    }

    fn spec(fx: &Fixture, name: &str) -> FunctionSpec {
        FunctionSpec {
            name: name.into(),
            arn: lambda::function_arn("eu-west-1", lambda::DEFAULT_ACCOUNT_ID, name),
            binary: fx.script.clone(),
            env: BTreeMap::from([
                ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
                ("MY_SETTING".to_owned(), "42".to_owned()),
            ]),
            timeout: Duration::from_secs(2),
            memory_mb: 256,
            max_concurrency: 2,
        }
    }

    fn service(fx: &Fixture, specs: Vec<FunctionSpec>) -> Functions<NoInstanceEnv> {
        Functions::new(specs, NoInstanceEnv, LogSink::file(&fx.log).unwrap())
    }

    fn event(value: serde_json::Value) -> Bytes {
        Bytes::from(value.to_string())
    }

    fn success(outcome: Outcome) -> serde_json::Value {
        match outcome {
            Outcome::Success(body) => serde_json::from_slice(&body).unwrap(),
            other => panic!("expected success, got {other:?}"),
        }
    }

    fn error_document_of(outcome: &Outcome) -> serde_json::Value {
        match outcome {
            Outcome::FunctionError { kind, body } => {
                assert_eq!(kind, "Unhandled");
                serde_json::from_slice(body).unwrap()
            }
            other => panic!("expected a function error, got {other:?}"),
        }
    }

    fn pid_alive(pid: u64) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    /// The log file, once it holds `needle` (the output pumps run on their own).
    async fn log_with(fx: &Fixture, needle: &str) -> String {
        for _ in 0..100 {
            let log = std::fs::read_to_string(&fx.log).unwrap_or_default();
            if log.contains(needle) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "log never showed {needle:?}:\n{}",
            std::fs::read_to_string(&fx.log).unwrap_or_default()
        );
    }

    #[tokio::test]
    async fn echo_with_next_headers_reuse_and_logs() {
        let fx = fixture();
        let functions = service(&fx, vec![spec(&fx, "echo-fn")]);
        let context = base64::engine::general_purpose::STANDARD
            .encode(r#"{ "custom": {"tenant": "t1"}, "env": {} }"#);
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let out = success(
            functions
                .invoke_with_id(
                    "echo-fn",
                    "11111111-2222-4333-8444-555555555555",
                    event(json!({ "hello": "world" })),
                    Some(context),
                )
                .await,
        );
        assert_eq!(out["event"], json!({ "hello": "world" }));
        let headers = &out["headers"];
        assert_eq!(
            headers["lambda-runtime-aws-request-id"],
            "11111111-2222-4333-8444-555555555555"
        );
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:echo-fn"
        );
        let deadline: u64 = headers["lambda-runtime-deadline-ms"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(deadline >= before + 2000 && deadline < before + 4000);
        assert!(headers["lambda-runtime-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-"));
        let context: serde_json::Value =
            serde_json::from_str(headers["lambda-runtime-client-context"].as_str().unwrap())
                .unwrap();
        assert_eq!(context["custom"]["tenant"], "t1");

        // A warm instance serves the next invocation: same process.
        let again = success(functions.invoke("echo-fn", event(json!({})), None).await);
        assert_eq!(again["pid"], out["pid"]);
        assert!(!again["headers"]
            .as_object()
            .unwrap()
            .contains_key("lambda-runtime-client-context"));
        assert_eq!(functions.counts("echo-fn"), (1, 1));

        // stdout and stderr, line by line, prefixed; Lambda's START/END/REPORT lines.
        let log = log_with(&fx, "[echo-fn#1] err 11111111").await;
        assert!(log.contains("[echo-fn#1] out 11111111-2222-4333-8444-555555555555 echo"));
        assert!(log.contains(
            "[echo-fn#1] START RequestId: 11111111-2222-4333-8444-555555555555 Version: $LATEST"
        ));
        assert!(log.contains(
            "[echo-fn#1] REPORT RequestId: 11111111-2222-4333-8444-555555555555\tDuration: "
        ));
        assert!(log.contains("Memory Size: 256 MB\tInit Duration: "));
        assert_eq!(
            log.matches("Init Duration").count(),
            1,
            "only the cold start"
        );

        assert!(matches!(
            functions.invoke("nope", Bytes::new(), None).await,
            Outcome::NotFound(_)
        ));
        assert!(matches!(
            functions.invoke("echo-fn", Bytes::new(), Some("not base64!".into())).await,
            Outcome::SystemError(m) if m.contains("InvalidRequestContentException")
        ));
        let pid = out["pid"].as_u64().unwrap();
        functions.shutdown().await;
        assert!(!pid_alive(pid), "shutdown kills the instances");
        assert_eq!(functions.counts("echo-fn").1, 0);
        assert!(matches!(
            functions.invoke("echo-fn", Bytes::new(), None).await,
            Outcome::SystemError(_)
        ));
    }

    /// Counts instance starts and hands each instance credentials.
    struct Credentials(AtomicUsize);

    impl InstanceEnv for Credentials {
        async fn instance_env(
            &self,
            spec: &FunctionSpec,
        ) -> anyhow::Result<BTreeMap<String, String>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(BTreeMap::from([
                ("AWS_ACCESS_KEY_ID".to_owned(), format!("ASIA{n}")),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "secret".to_owned()),
                (
                    "AWS_SESSION_TOKEN".to_owned(),
                    format!("token-for-{}", spec.name),
                ),
            ]))
        }
    }

    #[tokio::test]
    async fn environment_is_exactly_what_lambda_sets() {
        let fx = fixture();
        let functions = Functions::new(
            vec![spec(&fx, "env-fn")],
            Credentials(AtomicUsize::new(0)),
            LogSink::file(&fx.log).unwrap(),
        );
        let out = success(functions.invoke("env-fn", event(json!({})), None).await);
        let env: BTreeMap<String, String> = serde_json::from_value(out["env"].clone()).unwrap();
        let root = std::fs::canonicalize(fx.dir.path()).unwrap();
        let root = root.display();
        let api = env["AWS_LAMBDA_RUNTIME_API"].clone();
        assert!(api.starts_with("127.0.0.1:"), "{api}");
        let log_stream = env["AWS_LAMBDA_LOG_STREAM_NAME"].clone();
        assert!(log_stream.contains("/[$LATEST]"), "{log_stream}");
        let expected: BTreeMap<String, String> = [
            ("PYTHONUNBUFFERED", "1".to_owned()),
            ("MY_SETTING", "42".to_owned()),
            ("AWS_ACCESS_KEY_ID", "ASIA1".to_owned()),
            ("AWS_ACCESS_KEY", "ASIA1".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
            ("AWS_SESSION_TOKEN", "token-for-env-fn".to_owned()),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_DEFAULT_REGION", "eu-west-1".to_owned()),
            ("AWS_LAMBDA_RUNTIME_API", api),
            ("AWS_LAMBDA_FUNCTION_NAME", "env-fn".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/env-fn".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("LAMBDA_TASK_ROOT", root.to_string()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
            (
                "LD_LIBRARY_PATH",
                format!("/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:{root}:{root}/lib:/opt/lib"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(env, expected);
        // Nothing of the test process leaks in (cargo sets CARGO_* for every test run).
        assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")));
        for (key, _) in std::env::vars() {
            assert!(
                expected.contains_key(&key) || !env.contains_key(&key),
                "{key} leaked"
            );
        }
        assert!(!env.keys().any(|k| k.starts_with("CARGO") || k == "HOME"));
        assert!(!env.contains_key("AWS_EXECUTION_ENV"));
    }

    #[tokio::test]
    async fn posted_function_error_keeps_the_instance() {
        let fx = fixture();
        let functions = service(&fx, vec![spec(&fx, "err-fn")]);
        let outcome = functions
            .invoke("err-fn", event(json!({ "action": "error" })), None)
            .await;
        assert_eq!(
            error_document_of(&outcome),
            json!({ "errorType": "Boom", "errorMessage": "it broke" })
        );
        assert_eq!(outcome.error_type().as_deref(), Some("Boom"));
        // A handled error leaves the environment as it is: the next invocation reuses it.
        success(functions.invoke("err-fn", event(json!({})), None).await);
        assert_eq!(functions.counts("err-fn"), (1, 1));

        // Over Lambda's 6 MB response limit.
        let big = functions
            .invoke(
                "err-fn",
                event(json!({ "action": "big", "bytes": MAX_RESPONSE_BYTES })),
                None,
            )
            .await;
        assert_eq!(
            big.error_type().as_deref(),
            Some("Function.ResponseSizeTooLarge")
        );
        success(functions.invoke("err-fn", event(json!({})), None).await);
        assert_eq!(functions.counts("err-fn"), (1, 1));
    }

    #[tokio::test]
    async fn timeout_kills_the_process() {
        let fx = fixture();
        let mut timed = spec(&fx, "slow-fn");
        timed.timeout = Duration::from_millis(500);
        let functions = service(&fx, vec![timed]);
        let pidfile = fx.dir.path().join("pid");
        let started = std::time::Instant::now();
        let outcome = functions
            .invoke(
                "slow-fn",
                event(json!({ "action": "sleep", "seconds": 10, "pidfile": pidfile })),
                None,
            )
            .await;
        let elapsed = started.elapsed();
        let doc = error_document_of(&outcome);
        assert_eq!(doc["errorType"], "Sandbox.Timedout");
        assert!(doc["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Task timed out after 0.50 seconds"));
        assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(2));
        let pid: u64 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
        assert!(!pid_alive(pid), "the timed-out process {pid} is gone");
        assert_eq!(functions.counts("slow-fn"), (1, 0));

        // The next invocation gets a fresh instance.
        let out = success(functions.invoke("slow-fn", event(json!({})), None).await);
        assert_ne!(out["pid"].as_u64().unwrap(), pid);
        assert_eq!(functions.counts("slow-fn"), (2, 1));
        log_with(&fx, "Task timed out after 0.50 seconds").await;
    }

    #[tokio::test]
    async fn exit_mid_invocation_is_a_runtime_exit_error() {
        let fx = fixture();
        let functions = service(&fx, vec![spec(&fx, "exit-fn")]);
        let outcome = functions
            .invoke_with_id(
                "exit-fn",
                "exit-request",
                event(json!({ "action": "exit", "code": 1 })),
                None,
            )
            .await;
        let doc = error_document_of(&outcome);
        assert_eq!(doc["errorType"], "Runtime.ExitError");
        assert_eq!(
            doc["errorMessage"],
            "RequestId: exit-request Error: Runtime exited with error: exit status 1"
        );
        assert_eq!(functions.counts("exit-fn"), (1, 0));
        success(functions.invoke("exit-fn", event(json!({})), None).await);
        assert_eq!(functions.counts("exit-fn"), (2, 1));
    }

    #[tokio::test]
    async fn init_failures_fail_the_invocation_without_respawning() {
        let fx = fixture();
        let mut exits = spec(&fx, "init-exit");
        exits.env.insert("TEST_INIT".into(), "exit".into());
        let mut posts = spec(&fx, "init-post");
        posts.env.insert("TEST_INIT".into(), "error".into());
        let functions = service(&fx, vec![exits, posts]);

        let outcome = functions.invoke("init-exit", event(json!({})), None).await;
        let doc = error_document_of(&outcome);
        assert_eq!(doc["errorType"], "Runtime.ExitError");
        assert!(doc["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: exit status 3"));
        assert_eq!(functions.counts("init-exit"), (1, 0), "no respawn");

        let started = std::time::Instant::now();
        let outcome = functions.invoke("init-post", event(json!({})), None).await;
        assert_eq!(
            error_document_of(&outcome),
            json!({ "errorType": "Config.Missing", "errorMessage": "no config" })
        );
        assert!(started.elapsed() < Duration::from_secs(2), "killed at once");
        assert_eq!(functions.counts("init-post"), (1, 0));

        // Each invocation tries one fresh instance.
        let again = functions.invoke("init-post", event(json!({})), None).await;
        assert_eq!(again.error_type().as_deref(), Some("Config.Missing"));
        assert_eq!(functions.counts("init-post"), (2, 0));
    }

    #[tokio::test]
    async fn concurrent_invocations_run_in_parallel_processes() {
        let fx = fixture();
        let functions = service(&fx, vec![spec(&fx, "par-fn")]);
        let sleep = || event(json!({ "action": "sleep", "seconds": 0.7 }));
        let started = std::time::Instant::now();
        let (a, b) = tokio::join!(
            functions.invoke("par-fn", sleep(), None),
            functions.invoke("par-fn", sleep(), None)
        );
        let elapsed = started.elapsed();
        let (a, b) = (success(a), success(b));
        assert_ne!(a["pid"], b["pid"], "two processes");
        assert!(
            elapsed < Duration::from_millis(1300),
            "parallel: {elapsed:?}"
        );
        assert_eq!(functions.counts("par-fn"), (2, 2));

        // A third concurrent invocation waits for one of the two instances (max_concurrency 2).
        let started = std::time::Instant::now();
        let (a, b, c) = tokio::join!(
            functions.invoke("par-fn", sleep(), None),
            functions.invoke("par-fn", sleep(), None),
            functions.invoke("par-fn", sleep(), None)
        );
        let elapsed = started.elapsed();
        let pids: std::collections::BTreeSet<u64> = [a, b, c]
            .into_iter()
            .map(|o| success(o)["pid"].as_u64().unwrap())
            .collect();
        assert_eq!(pids.len(), 2);
        assert!(
            elapsed >= Duration::from_millis(1400),
            "queued: {elapsed:?}"
        );
        assert_eq!(functions.counts("par-fn"), (2, 2));
    }

    #[tokio::test]
    async fn missing_binary_and_zero_concurrency() {
        let fx = fixture();
        let mut missing = spec(&fx, "missing-fn");
        missing.binary = fx.dir.path().join("target/debug/missing-fn");
        let mut throttled = spec(&fx, "throttled-fn");
        throttled.max_concurrency = 0;
        let functions = service(&fx, vec![missing, throttled]);
        let outcome = functions.invoke("missing-fn", event(json!({})), None).await;
        match outcome {
            Outcome::SystemError(message) => {
                assert!(message.contains("target/debug/missing-fn"), "{message}");
                assert!(
                    message.contains("cargo build --workspace --bins"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(functions.counts("missing-fn"), (1, 0));
        assert!(matches!(
            functions.invoke("throttled-fn", event(json!({})), None).await,
            Outcome::SystemError(m) if m.contains("TooManyRequestsException")
        ));
        assert_eq!(
            functions.names().collect::<Vec<_>>(),
            ["missing-fn", "throttled-fn"]
        );
    }

    /// Never finishes preparing an instance (a stuck sts:AssumeRole).
    struct Stuck;

    impl InstanceEnv for Stuck {
        async fn instance_env(
            &self,
            _spec: &FunctionSpec,
        ) -> anyhow::Result<BTreeMap<String, String>> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_dropped_invocation_gives_its_slot_back() {
        let fx = fixture();
        let mut one = spec(&fx, "stuck-fn");
        one.max_concurrency = 1;
        let functions = Functions::new(vec![one], Stuck, LogSink::file(&fx.log).unwrap());
        let invoke = functions.invoke("stuck-fn", event(json!({})), None);
        assert!(tokio::time::timeout(Duration::from_millis(100), invoke)
            .await
            .is_err());
        assert_eq!(functions.counts("stuck-fn"), (1, 0));
        let invoke = functions.invoke("stuck-fn", event(json!({})), None);
        assert!(tokio::time::timeout(Duration::from_millis(100), invoke)
            .await
            .is_err());
        assert_eq!(
            functions.counts("stuck-fn"),
            (2, 0),
            "not waiting on a lost slot"
        );
    }

    /// A real `lambda_runtime` 1.x binary: the workspace's Genesys fetcher, which without its
    /// settings answers every invocation with its configuration error.
    #[tokio::test]
    #[ignore = "needs target/debug/genesys-transcript-fetcher (cargo build --workspace --bins)"]
    async fn real_lambda_runtime_binary() {
        let fx = fixture();
        let binary = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/debug/genesys-transcript-fetcher");
        let mut real = spec(&fx, "genesys-transcript-fetcher");
        real.binary = binary;
        real.env.clear();
        let functions = service(&fx, vec![real]);
        for _ in 0..2 {
            let outcome = functions
                .invoke("genesys-transcript-fetcher", event(json!({})), None)
                .await;
            let error_type = outcome.error_type().unwrap_or_default();
            assert!(
                matches!(outcome, Outcome::FunctionError { .. })
                    && !error_type.starts_with("Runtime.")
                    && !error_type.starts_with("Sandbox."),
                "{outcome:?}\n{}",
                std::fs::read_to_string(&fx.log).unwrap_or_default()
            );
        }
        assert_eq!(functions.counts("genesys-transcript-fetcher"), (1, 1));
        println!("{}", std::fs::read_to_string(&fx.log).unwrap_or_default());
    }
}
