//! JSON logs with the keys of Powertools for AWS Lambda.
//!
//! Each line is one JSON object: `level`, `location`, `message`, `timestamp`, `service`,
//! `cold_start`, `function_name`, `function_memory_size`, `function_arn`,
//! `function_request_id`, `xray_trace_id`, then the event's own fields, then the fields of the
//! spans it is in (outermost last; an event's own field wins over a span's of the same name), so
//! a span per invocation (`job_id`, `image_key`, ...) puts its ids on every line once. Log
//! fields carry ids, keys and counts only: never transcript text, event properties or
//! credentials.
//!
//! Level: `POWERTOOLS_LOG_LEVEL`, else `AWS_LAMBDA_LOG_LEVEL`, else `INFO`.

use std::fmt;
use std::sync::RwLock;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Per-process and per-invocation values every log line carries.
#[derive(Debug, Default, Clone)]
struct LogContext {
    service: String,
    function_name: Option<String>,
    function_memory_size: Option<u64>,
    function_arn: Option<String>,
    function_request_id: Option<String>,
    xray_trace_id: Option<String>,
    cold_start: bool,
    invocations: u64,
}

static CONTEXT: RwLock<Option<LogContext>> = RwLock::new(None);

/// Installs the JSON logger for a Lambda function. Call once, first thing in `main`.
pub fn init_lambda() {
    let service = std::env::var("POWERTOOLS_SERVICE_NAME").unwrap_or_else(|_| "mlpipe".to_owned());
    let ctx = LogContext {
        service,
        function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
        function_memory_size: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()
            .and_then(|m| m.parse().ok()),
        cold_start: true,
        ..LogContext::default()
    };
    *CONTEXT.write().unwrap_or_else(|e| e.into_inner()) = Some(ctx);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .fmt_fields(JsonFields::new())
        .event_format(PowertoolsFormat)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Human-readable logs on stderr, for command-line tools.
pub fn init_cli(default_level: &str) {
    let filter = EnvFilter::try_from_env("MLPIPE_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default_level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn filter() -> EnvFilter {
    let level = std::env::var("POWERTOOLS_LOG_LEVEL")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "INFO".to_owned())
        .to_ascii_lowercase();
    let level = match level.as_str() {
        "trace" | "debug" | "info" | "warn" | "error" => level,
        "warning" => "warn".to_owned(),
        "critical" | "fatal" => "error".to_owned(),
        _ => "info".to_owned(),
    };
    EnvFilter::new(format!(
        "{level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn,hyper_util=warn,h2=warn,rustls=warn,lambda_runtime=warn"
    ))
}

/// Records the invocation about to run, so its log lines carry the request id and trace id.
/// Returns whether this is the cold start (the first invocation of the process).
pub fn begin_invocation(request_id: &str, function_arn: &str, xray_trace_id: Option<&str>) -> bool {
    let mut guard = CONTEXT.write().unwrap_or_else(|e| e.into_inner());
    let ctx = guard.get_or_insert_with(LogContext::default);
    ctx.invocations += 1;
    ctx.cold_start = ctx.invocations == 1;
    ctx.function_request_id = Some(request_id.to_owned());
    ctx.function_arn = Some(function_arn.to_owned()).filter(|a| !a.is_empty());
    ctx.xray_trace_id = xray_trace_id
        .map(str::to_owned)
        .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok())
        .filter(|t| !t.is_empty());
    ctx.cold_start
}

/// The service name logs and metrics are tagged with.
pub fn service_name() -> String {
    CONTEXT
        .read()
        .ok()
        .and_then(|c| c.as_ref().map(|c| c.service.clone()))
        .unwrap_or_else(|| "mlpipe".to_owned())
}

struct PowertoolsFormat;

impl<S, N> FormatEvent<S, N> for PowertoolsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // The spans' fields, innermost first, as `JsonFields` formatted them (other field
        // formatters' text is not JSON and is left out).
        let mut span_fields = Vec::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                let extensions = span.extensions();
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(formatted) {
                    span_fields.extend(map);
                }
            }
        }
        let line = render(event, span_fields);
        writeln!(writer, "{line}")
    }
}

fn render(event: &Event<'_>, span_fields: Vec<(String, Value)>) -> String {
    let meta = event.metadata();
    let mut fields = FieldCollector::default();
    event.record(&mut fields);

    let mut out = Map::new();
    out.insert("level".into(), Value::from(meta.level().as_str()));
    let location = match (meta.module_path(), meta.line()) {
        (Some(m), Some(l)) => format!("{m}:{l}"),
        (Some(m), None) => m.to_owned(),
        _ => meta.target().to_owned(),
    };
    out.insert("location".into(), Value::from(location));
    out.insert(
        "message".into(),
        fields
            .message
            .take()
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    let now = OffsetDateTime::now_utc();
    out.insert(
        "timestamp".into(),
        Value::from(now.format(&Rfc3339).unwrap_or_default()),
    );
    if let Ok(guard) = CONTEXT.read() {
        if let Some(ctx) = guard.as_ref() {
            out.insert("service".into(), Value::from(ctx.service.clone()));
            out.insert("cold_start".into(), Value::from(ctx.cold_start));
            let opt = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
            out.insert("function_name".into(), opt(&ctx.function_name));
            out.insert(
                "function_memory_size".into(),
                ctx.function_memory_size
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            );
            out.insert("function_arn".into(), opt(&ctx.function_arn));
            out.insert("function_request_id".into(), opt(&ctx.function_request_id));
            out.insert("xray_trace_id".into(), opt(&ctx.xray_trace_id));
        }
    }
    for (k, v) in fields.fields.into_iter().chain(span_fields) {
        out.entry(k).or_insert(v);
    }
    Value::Object(out).to_string()
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    fields: Vec<(String, Value)>,
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.fields
                .push((field.name().to_owned(), Value::from(value)));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .push((field.name().to_owned(), Value::from(value)));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.fields
                .push((field.name().to_owned(), Value::from(text)));
        }
    }
}

/// Log output captured in memory, for tests of log contents (feature `fakes`).
#[cfg(any(test, feature = "fakes"))]
pub mod capture {
    use std::sync::{Arc, Mutex, OnceLock};

    use serde_json::Value;

    /// A `tracing_subscriber` writer appending to a shared buffer.
    #[derive(Clone, Default)]
    pub struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Capture {
        /// Everything written so far.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    static GLOBAL: OnceLock<Capture> = OnceLock::new();

    /// The process-wide JSON subscriber (INFO and up) writing into a buffer, installed on first
    /// call: install it before any handler runs. Global rather than per test: tracing caches each
    /// call site's interest process-wide, so a thread-local subscriber can miss events whose call
    /// site another test's thread registered first.
    pub fn global_json() -> &'static Capture {
        GLOBAL.get_or_init(|| {
            let capture = Capture::default();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::INFO)
                .with_writer(capture.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber");
            capture
        })
    }

    /// The events of [`global_json`] where `field` is `value`, as the event's own field or
    /// as a field of a span it is in.
    pub fn json_lines_with(field: &str, value: &str) -> Vec<Value> {
        global_json()
            .text()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON log line"))
            .filter(|l| {
                l["fields"][field] == value
                    || l["spans"]
                        .as_array()
                        .is_some_and(|spans| spans.iter().any(|s| s[field] == value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::capture::Capture;
    use super::*;

    #[test]
    fn lines_carry_powertools_keys() {
        *CONTEXT.write().unwrap() = Some(LogContext {
            service: "svc".into(),
            function_name: Some("fn".into()),
            ..LogContext::default()
        });
        assert!(begin_invocation(
            "req-1",
            "arn:aws:lambda:us-east-1:1:function:fn",
            Some("Root=1-abc")
        ));
        assert!(!begin_invocation(
            "req-2",
            "arn:aws:lambda:us-east-1:1:function:fn",
            Some("Root=1-abc")
        ));
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .event_format(PowertoolsFormat)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(key = "genesys/c/x.json", bytes = 12u64, "stored transcript");
        });
        let text = capture.text();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "stored transcript");
        assert_eq!(line["service"], "svc");
        assert_eq!(line["cold_start"], false);
        assert_eq!(line["function_request_id"], "req-2");
        assert_eq!(line["xray_trace_id"], "Root=1-abc");
        assert_eq!(line["key"], "genesys/c/x.json");
        assert_eq!(line["bytes"], 12);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn lines_carry_the_fields_of_their_spans() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(PowertoolsFormat)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let job = tracing::info_span!("job", job_id = "job-1", images = 3u64);
            let _job = job.enter();
            let image = tracing::info_span!("image", image_key = "uploads/a.png");
            let _image = image.enter();
            tracing::info!(images = 1u64, "saved image");
        });
        let line: Value = serde_json::from_str(capture.text().trim()).unwrap();
        assert_eq!(line["message"], "saved image");
        assert_eq!(line["job_id"], "job-1");
        assert_eq!(line["image_key"], "uploads/a.png");
        // the event's own field wins over the span's
        assert_eq!(line["images"], 1);
    }
}
