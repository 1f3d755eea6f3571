//! What the two functions of this crate accept, as types.
//!
//! * The converter (`lex-transcript-converter`): S3 `ObjectCreated` notifications,
//!   [`parse_s3`].
//! * The backfill (`lex-transcript-backfill`): the steps of the backfill state machine,
//!   [`BackfillStep`].
//!
//! Payloads arrive as JSON and are read here rather than by the runtime, so a payload of the
//! wrong shape fails with errorType `InvalidInput` and a message naming the shapes and the
//! field. The shape is chosen by the top-level member, so a damaged payload gets the errors of
//! the shape it claims to be.

use aws_lambda_events::s3::S3Event;
use genesys_lex_core::backfill::{BatchItem, Request};
use serde::Deserialize;
use serde_json::Value;
use shared::PipelineError;

/// The converter's input: an S3 notification. The single-invocation backfill of earlier
/// versions (`{"backfill": ...}`) is refused with a pointer to the state machine.
pub fn parse_s3(event: Value) -> Result<S3Event, PipelineError> {
    if event.get("Records").is_some() {
        return shared::s3_event::parse(event);
    }
    if event.get("backfill").is_some() {
        return Err(PipelineError::invalid_input(
            "backfill: one invocation cannot finish a backfill of any size; start the transcript \
             backfill state machine instead (output GenesysBackfillStateMachineArn, or `mlpipe \
             transcripts backfill`)",
        ));
    }
    Err(PipelineError::invalid_input(
        "event: not an S3 notification (Records)",
    ))
}

/// One step of the backfill state machine (`statemachines/genesys-backfill.asl.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackfillStep {
    /// `{"backfillPlan": {"runId": "<execution name>", "input": {<execution input>}}}`: list the
    /// prefix, write the map's items.
    Plan { run_id: String, request: Request },
    /// `{"backfillBatch": {"runId", "bucket", "batch", "sources"}}`: one item of the map.
    Batch(BatchItem),
    /// `{"backfillBatchFailed": {"item": {...}, "error": "...", "cause": "..."}}`: a batch
    /// that failed after its retries; every source is recorded as failed with the reason.
    BatchFailed {
        item: BatchItem,
        error: String,
        cause: String,
    },
    /// `{"backfillReport": {"runId": "...", "mapFailure"?: {"Error", "Cause"}, ...}}` (the
    /// state after the map): read every batch's rows, write the report, notify.
    Report {
        run_id: String,
        map_failure: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PlanStep {
    run_id: String,
    #[serde(default)]
    input: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedStep {
    item: BatchItem,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

/// The state the map leaves (run id, items, settings, `mapFailure` when it stopped): the
/// other members are the state machine's own and not checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportStep {
    run_id: String,
    #[serde(default)]
    map_failure: Option<StateError>,
}

/// A caught error as Step Functions passes it.
#[derive(Deserialize)]
struct StateError {
    #[serde(rename = "Error", default)]
    error: Option<String>,
    #[serde(rename = "Cause", default)]
    cause: Option<String>,
}

fn member<T: serde::de::DeserializeOwned>(name: &str, v: &Value) -> Result<T, PipelineError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            name.to_owned()
        } else {
            format!("{name}.{path}")
        };
        PipelineError::invalid_input(format!("{at}: {}", e.into_inner()))
    })
}

impl TryFrom<Value> for BackfillStep {
    type Error = PipelineError;

    fn try_from(event: Value) -> Result<Self, PipelineError> {
        if let Some(v) = event.get("backfillPlan") {
            let step: PlanStep = member("backfillPlan", v)?;
            let request = match step.input {
                None | Some(Value::Null) => Request::default(),
                Some(input) => member("input", &input)?,
            };
            return Ok(Self::Plan {
                run_id: step.run_id,
                request,
            });
        }
        if let Some(v) = event.get("backfillBatch") {
            return member("backfillBatch", v).map(Self::Batch);
        }
        if let Some(v) = event.get("backfillBatchFailed") {
            let step: FailedStep = member("backfillBatchFailed", v)?;
            return Ok(Self::BatchFailed {
                item: step.item,
                error: step.error.unwrap_or_default(),
                cause: step.cause.unwrap_or_default(),
            });
        }
        if let Some(v) = event.get("backfillReport") {
            let step: ReportStep = member("backfillReport", v)?;
            return Ok(Self::Report {
                run_id: step.run_id,
                map_failure: step.map_failure.map(|f| {
                    [f.error, f.cause]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(": ")
                }),
            });
        }
        Err(PipelineError::invalid_input(
            "event: not a backfill step (backfillPlan, backfillBatch, backfillBatchFailed or backfillReport)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::ErrorKind;

    use super::*;

    #[test]
    fn the_converter_takes_s3_notifications_only() {
        let s3: Value = serde_json::from_str(include_str!(
            "../../../../events/s3/genesys-raw-object-created.json"
        ))
        .unwrap();
        assert_eq!(parse_s3(s3).unwrap().records.len(), 1);
        let err = parse_s3(json!({"backfill": {}})).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message.contains("GenesysBackfillStateMachineArn"),
            "{err}"
        );
        let err = parse_s3(json!({"hello": 1})).unwrap_err();
        assert_eq!(err.message, "event: not an S3 notification (Records)");
        let err = parse_s3(json!({"Records": 1})).unwrap_err();
        assert!(
            err.message.starts_with("event: not an S3 notification"),
            "{err}"
        );
    }

    #[test]
    fn each_backfill_step_parses_to_its_variant() {
        assert_eq!(
            BackfillStep::try_from(json!({"backfillPlan": {"runId": "r1", "input": {}}})).unwrap(),
            BackfillStep::Plan {
                run_id: "r1".into(),
                request: Request::default()
            }
        );
        let BackfillStep::Plan { request, .. } = BackfillStep::try_from(json!({"backfillPlan": {
            "runId": "r1", "input": {"prefix": "genesys/2026", "since": "2026-01-01", "batchSize": 5}
        }}))
        .unwrap() else {
            panic!("expected a plan")
        };
        assert_eq!(request.batch_size, Some(5));
        assert_eq!(request.since.as_deref(), Some("2026-01-01"));
        let item = json!({"runId": "r1", "bucket": "raw", "batch": 3, "sources": ["genesys/c1/"]});
        let BackfillStep::Batch(batch) =
            BackfillStep::try_from(json!({ "backfillBatch": item })).unwrap()
        else {
            panic!("expected a batch")
        };
        assert_eq!(batch.batch, 3);
        assert_eq!(
            BackfillStep::try_from(json!({"backfillBatchFailed": {
                "item": item, "error": "Retryable", "cause": "throttled"
            }}))
            .unwrap(),
            BackfillStep::BatchFailed {
                item: batch,
                error: "Retryable".into(),
                cause: "throttled".into()
            }
        );
        assert_eq!(
            BackfillStep::try_from(json!({"backfillReport": {
                "runId": "r1", "mapFailure": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "too many"}
            }}))
            .unwrap(),
            BackfillStep::Report {
                run_id: "r1".into(),
                map_failure: Some("States.ExceedToleratedFailureThreshold: too many".into())
            }
        );
    }

    #[test]
    fn the_published_step_payloads_parse() {
        let fixture = |name: &str| -> Value {
            let path = format!(
                "{}/../../../events/genesys/backfill/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        };
        assert!(matches!(
            BackfillStep::try_from(fixture("plan.json")).unwrap(),
            BackfillStep::Plan { .. }
        ));
        assert!(matches!(
            BackfillStep::try_from(fixture("batch.json")).unwrap(),
            BackfillStep::Batch(item) if item.sources.len() == 2
        ));
        assert!(matches!(
            BackfillStep::try_from(fixture("batch-failed.json")).unwrap(),
            BackfillStep::BatchFailed { error, .. } if error == "Retryable"
        ));
        assert!(matches!(
            BackfillStep::try_from(fixture("report.json")).unwrap(),
            BackfillStep::Report { map_failure: Some(f), .. } if f.starts_with("States.Exceed")
        ));
        // The state machine's own members beside runId and mapFailure are not checked.
        assert!(matches!(
            BackfillStep::try_from(fixture("invalid-step.json")).unwrap(),
            BackfillStep::Plan { run_id, .. } if run_id == "not/a valid id"
        ));
    }

    #[test]
    fn backfill_step_errors_name_the_field() {
        let err = BackfillStep::try_from(
            json!({"backfillPlan": {"runId": "r", "input": {"prefx": "g/"}}}),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message
                .starts_with("input.prefx: unknown field `prefx`"),
            "{err}"
        );
        let err = BackfillStep::try_from(
            json!({"backfillPlan": {"runId": "r", "input": {"batchSize": "ten"}}}),
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("input.batchSize: invalid type"),
            "{err}"
        );
        let err = BackfillStep::try_from(
            json!({"backfillBatch": {"runId": "r", "bucket": "b", "batch": 0}}),
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("backfillBatch: missing field `sources`"),
            "{err}"
        );
        let err = BackfillStep::try_from(json!({"Records": []})).unwrap_err();
        assert!(
            err.message.starts_with("event: not a backfill step"),
            "{err}"
        );
    }
}
