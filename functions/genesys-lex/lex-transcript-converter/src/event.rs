//! What the converter accepts, as a type: an S3 notification or a backfill request.
//!
//! The Lambda payload arrives as JSON and is read with [`Input::try_from`] rather than by the
//! runtime, so a payload of neither shape fails with errorType `InvalidInput` and a message
//! naming both shapes. The shape is chosen by the top-level member (`Records` first, then
//! `backfill`), so a damaged payload gets the errors of the shape it claims to be (a record
//! without a bucket, an unknown backfill field) instead of a vague "matches no shape".

use aws_lambda_events::s3::S3Event;
use serde::Deserialize;
use serde_json::Value;
use shared::PipelineError;

/// An invocation's input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Input {
    /// `{"Records": [...]}`: S3 `ObjectCreated` notifications on the raw bucket, as S3 invokes
    /// the function.
    S3(S3Event),
    /// `{"backfill": {"bucket"?: "...", "prefix"?: "..."}}`: convert every conversation under
    /// a prefix.
    Backfill(Backfill),
}

/// A backfill request: both members optional, defaulting to `RAW_BUCKET` and `RAW_PREFIX`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    pub bucket: Option<String>,
    pub prefix: Option<String>,
}

impl TryFrom<Value> for Input {
    type Error = PipelineError;

    fn try_from(event: Value) -> Result<Self, PipelineError> {
        if event.get("Records").is_some() {
            return shared::s3_event::parse(event).map(Input::S3);
        }
        if let Some(backfill) = event.get("backfill") {
            return Backfill::deserialize(backfill)
                .map(Input::Backfill)
                .map_err(|e| PipelineError::invalid_input(format!("backfill: {e}")));
        }
        Err(PipelineError::invalid_input(
            "event: neither an S3 notification (Records) nor a backfill request (backfill)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::ErrorKind;

    use super::*;

    #[test]
    fn each_shape_parses_to_its_variant() {
        let s3: Value = serde_json::from_str(include_str!(
            "../../../../events/s3/genesys-raw-object-created.json"
        ))
        .unwrap();
        let Input::S3(event) = Input::try_from(s3.clone()).unwrap() else {
            panic!("expected an S3 notification")
        };
        assert_eq!(event.records.len(), 1);
        assert_eq!(
            Input::try_from(json!({"backfill": {}})).unwrap(),
            Input::Backfill(Backfill::default())
        );
        assert_eq!(
            Input::try_from(json!({"backfill": {"bucket": "b", "prefix": "genesys/x/"}})).unwrap(),
            Input::Backfill(Backfill {
                bucket: Some("b".into()),
                prefix: Some("genesys/x/".into())
            })
        );
        // Through serde as well.
        assert!(matches!(
            serde_json::from_value::<Input>(s3).unwrap(),
            Input::S3(_)
        ));
    }

    #[test]
    fn errors_name_the_shapes_and_the_field() {
        let err = Input::try_from(json!({"hello": 1})).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert_eq!(
            err.message,
            "event: neither an S3 notification (Records) nor a backfill request (backfill)"
        );
        assert!(Input::try_from(json!("text")).is_err());
        let err = Input::try_from(json!({"backfill": {"prefx": "genesys/"}})).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message.starts_with("backfill: unknown field `prefx`"),
            "{err}"
        );
        let err = Input::try_from(json!({"Records": 1, "backfill": {}})).unwrap_err();
        assert!(
            err.message.starts_with("event: not an S3 notification"),
            "{err}"
        );
    }
}
