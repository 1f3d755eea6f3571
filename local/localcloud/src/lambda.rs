//! The Lambda Invoke API as seen from outside a function: names and ARNs, the wire contract of
//! `POST /2015-03-31/functions/{FunctionName}/invocations`, and a small HTTP client for it.
//!
//! AWS Lambda (and our front door, which mirrors it) answers a function error with `200 OK`,
//! header `X-Amz-Function-Error: Unhandled` and the error document as the body, and an unknown
//! function with `404` and `x-amzn-ErrorType: ResourceNotFoundException`. [`interpret`] reads
//! an answer into one [`Outcome`].

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// Header carrying the function error kind on an otherwise successful (200) invoke response.
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";
/// Header naming the error type of a failed API call (REST-JSON protocol).
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// The account id and partition used for every ARN we make up (moto's default account).
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// Extracts the function name from the `{FunctionName}` path label of an Invoke request.
///
/// Lambda accepts a name (`my-fn`), a name with qualifier (`my-fn:prod`), a partial ARN
/// (`123456789012:function:my-fn`) or a full ARN
/// (`arn:aws:lambda:us-east-1:123456789012:function:my-fn[:QUALIFIER]`), URL-encoded or not.
/// Locally every function runs as `$LATEST`, so the qualifier is dropped.
pub fn function_name(label: &str) -> Option<String> {
    let decoded = urlencoding::decode(label).ok()?;
    let after_function = match decoded.find(":function:") {
        Some(at) => &decoded[at + ":function:".len()..],
        None => &decoded[..],
    };
    let name = after_function.split(':').next().unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| name.to_owned())
}

/// If `path` is an Invoke request path, the function name it targets.
pub fn invoke_path_function(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/2015-03-31/functions/")?;
    let label = rest.strip_suffix("/invocations")?;
    if label.contains('/') {
        return None;
    }
    function_name(label)
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// What an invocation came to, whichever server answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler returned normally; its response document.
    Success(Bytes),
    /// The handler failed (error, panic, timeout). `kind` is the `X-Amz-Function-Error` value
    /// (`Unhandled`) and `body` the error document (`{"errorType":..,"errorMessage":..}`).
    FunctionError { kind: String, body: Bytes },
    /// No such function is being served.
    NotFound(String),
    /// The invoke never reached the handler (endpoint down, throttled, unexpected status).
    /// Lambda retries these on its own, without counting them as function errors.
    SystemError(String),
}

impl Outcome {
    /// One short word for log lines.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Success(_) => "ok",
            Outcome::FunctionError { .. } => "function_error",
            Outcome::NotFound(_) => "function_not_found",
            Outcome::SystemError(_) => "system_error",
        }
    }

    /// `errorType` of a function error document, if any.
    pub fn error_type(&self) -> Option<String> {
        match self {
            Outcome::FunctionError { body, .. } => {
                serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| {
                        v.get("errorType")
                            .and_then(|t| t.as_str())
                            .map(str::to_owned)
                    })
            }
            _ => None,
        }
    }
}

/// The error document Lambda reports when a function overruns its timeout.
pub fn timeout_error_body(timeout: Duration) -> Bytes {
    let message = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
    Bytes::from(
        serde_json::json!({ "errorType": "Sandbox.Timedout", "errorMessage": message }).to_string(),
    )
}

/// Reads an Invoke response of AWS Lambda (or the front door).
pub fn interpret(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Outcome {
    if let Some(kind) = headers.get(FUNCTION_ERROR_HEADER) {
        let kind = kind.to_str().unwrap_or("Unhandled").to_owned();
        return Outcome::FunctionError { kind, body };
    }
    match status.as_u16() {
        200..=299 => Outcome::Success(body),
        404 => Outcome::NotFound(String::from_utf8_lossy(&body).into_owned()),
        _ => Outcome::SystemError(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        )),
    }
}

/// Calls the Invoke API of one endpoint (the front door).
#[derive(Clone)]
pub struct LambdaClient {
    http: reqwest::Client,
    endpoint: String,
    timeout: Duration,
}

impl LambdaClient {
    /// `endpoint` is a base URL such as `http://127.0.0.1:4566`; `timeout` bounds one invoke.
    pub fn new(endpoint: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            timeout,
        })
    }

    /// A synchronous (`RequestResponse`) invocation of `function` with `payload`.
    /// `extra_headers` are passed through (e.g. `X-Amz-Client-Context`).
    pub async fn invoke(
        &self,
        function: &str,
        payload: Bytes,
        extra_headers: &HeaderMap,
    ) -> Outcome {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint,
            urlencoding::encode(function)
        );
        let mut request = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header("content-type", "application/json")
            // The relay invokes as the event source's AWS service (see the front door).
            .header(crate::frontdoor::SERVICE_INVOKER_HEADER, "relay")
            .body(payload);
        for (name, value) in extra_headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                match response.bytes().await {
                    Ok(body) => interpret(status, &headers, body),
                    Err(e) => Outcome::SystemError(format!("reading response: {e}")),
                }
            }
            Err(e) if e.is_timeout() => Outcome::FunctionError {
                kind: "Unhandled".into(),
                body: timeout_error_body(self.timeout),
            },
            Err(e) => Outcome::SystemError(format!("{e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn names_arns_and_qualifiers() {
        assert_eq!(function_name("my-fn").as_deref(), Some("my-fn"));
        assert_eq!(function_name("my-fn:prod").as_deref(), Some("my-fn"));
        assert_eq!(
            function_name("123456789012:function:my_fn").as_deref(),
            Some("my_fn")
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:my-fn").as_deref(),
            Some("my-fn")
        );
        assert_eq!(
            function_name(
                "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn%3A%24LATEST"
            )
            .as_deref(),
            Some("my-fn")
        );
        assert_eq!(function_name(""), None);
        assert_eq!(function_name("bad name"), None);
    }

    #[test]
    fn invoke_paths() {
        assert_eq!(
            invoke_path_function("/2015-03-31/functions/f/invocations").as_deref(),
            Some("f")
        );
        assert_eq!(invoke_path_function("/2015-03-31/functions/f"), None);
        assert_eq!(invoke_path_function("/2015-03-31/functions/"), None);
        assert_eq!(
            invoke_path_function("/2015-03-31/functions/a/b/invocations"),
            None
        );
        assert_eq!(invoke_path_function("/queue/invocations"), None);
    }

    #[test]
    fn answers() {
        let none = HeaderMap::new();
        assert_eq!(
            interpret(StatusCode::OK, &none, Bytes::from("{}")),
            Outcome::Success(Bytes::from("{}"))
        );
        assert!(matches!(
            interpret(StatusCode::NOT_FOUND, &none, Bytes::new()),
            Outcome::NotFound(_)
        ));
        assert!(matches!(
            interpret(StatusCode::BAD_GATEWAY, &none, Bytes::from("oops")),
            Outcome::SystemError(_)
        ));
        let timed_out = Outcome::FunctionError {
            kind: "Unhandled".into(),
            body: timeout_error_body(Duration::from_millis(1500)),
        };
        assert_eq!(timed_out.error_type().as_deref(), Some("Sandbox.Timedout"));
    }

    #[test]
    fn lambda_api_dialect() {
        let mut headers = HeaderMap::new();
        headers.insert(FUNCTION_ERROR_HEADER, HeaderValue::from_static("Handled"));
        let out = interpret(StatusCode::OK, &headers, Bytes::from("{}"));
        assert!(matches!(out, Outcome::FunctionError { ref kind, .. } if kind == "Handled"));
    }
}
