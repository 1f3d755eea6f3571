//! The SDK adapters of the ports: [`EventSink`] on Amazon Personalize Events (PutEvents,
//! PutUsers), [`DeadLetters`] on an SQS queue and [`TraitStore`] on a DynamoDB table.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use segment_personalize_core::{PutEventsRequest, PutUsersRequest};
use shared::PipelineError;

use crate::config::Config;
use crate::ports::{DeadLetters, EventSink, Saved, StoredTraits, TraitStore};
use segment_personalize_core::traits::TraitState;

/// [`EventSink`] on Amazon Personalize Events.
#[derive(Clone, Debug)]
pub struct PersonalizeSink {
    client: aws_sdk_personalizeevents::Client,
}

impl PersonalizeSink {
    /// A client with the configured time-out and retry attempts (honours
    /// `AWS_ENDPOINT_URL_PERSONALIZE_EVENTS`).
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        use aws_sdk_personalizeevents::config::retry::RetryConfig;
        use aws_sdk_personalizeevents::config::timeout::TimeoutConfig;
        let conf = aws_sdk_personalizeevents::config::Builder::from(sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(config.timeout)
                    .build(),
            )
            .build();
        Self::from_client(aws_sdk_personalizeevents::Client::from_conf(conf))
    }

    pub fn from_client(client: aws_sdk_personalizeevents::Client) -> Self {
        Self { client }
    }
}

impl EventSink for PersonalizeSink {
    async fn put_events(&self, request: &PutEventsRequest<'_>) -> Result<(), PipelineError> {
        use aws_sdk_personalizeevents::types::Event;
        let mut events = Vec::with_capacity(request.event_list.len());
        for e in &request.event_list {
            let event = Event::builder()
                .event_type(e.event_type.as_ref())
                .sent_at(sdk_time(e.sent_at))
                .set_event_id(e.event_id.as_ref().map(|s| s.to_string()))
                .set_event_value(e.event_value)
                .set_item_id(e.item_id.as_ref().map(|s| s.to_string()))
                .set_properties(e.properties.clone())
                .set_recommendation_id(e.recommendation_id.as_ref().map(|s| s.to_string()))
                .set_impression(
                    e.impression
                        .as_ref()
                        .map(|ids| ids.iter().map(|s| s.to_string()).collect()),
                )
                .build()
                .map_err(|err| PipelineError::invalid_input(format!("event: {err}")))?;
            events.push(event);
        }
        self.client
            .put_events()
            .tracking_id(request.tracking_id.as_ref())
            .session_id(request.session_id.as_ref())
            .set_user_id(request.user_id.as_ref().map(|s| s.to_string()))
            .set_event_list(Some(events))
            .send()
            .await
            .map_err(|e| shared::error::from_sdk("PutEvents", &e))?;
        Ok(())
    }

    async fn put_users(&self, request: &PutUsersRequest<'_>) -> Result<(), PipelineError> {
        use aws_sdk_personalizeevents::types::User;
        let mut users = Vec::with_capacity(request.users.len());
        for u in &request.users {
            users.push(
                User::builder()
                    .user_id(u.user_id.as_ref())
                    .set_properties(u.properties.clone())
                    .build()
                    .map_err(|err| PipelineError::invalid_input(format!("user: {err}")))?,
            );
        }
        self.client
            .put_users()
            .dataset_arn(request.dataset_arn.as_ref())
            .set_users(Some(users))
            .send()
            .await
            .map_err(|e| shared::error::from_sdk("PutUsers", &e))?;
        Ok(())
    }
}

/// [`DeadLetters`] on an SQS queue: the body unchanged, the reason and the source message id as
/// message attributes.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(
        &self,
        body: &str,
        reason: &str,
        source_message_id: &str,
    ) -> Result<(), PipelineError> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| PipelineError::invalid_input(format!("message attribute: {e}")))
        };
        // SQS attribute values are at most 256 KiB with the body; reasons are short.
        let reason: String = reason.chars().take(1000).collect();
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(if body.is_empty() { "(empty)" } else { body })
            .message_attributes("reason", attr(&reason)?);
        if !source_message_id.is_empty() {
            send = send.message_attributes("sourceMessageId", attr(source_message_id)?);
        }
        send.send()
            .await
            .map_err(|e| shared::error::from_sdk("parking a rejected message", &e))?;
        Ok(())
    }
}

/// The SDK timestamp of a `sentAt`, exact to the nanosecond (no trip through `f64`).
pub fn sdk_time(t: segment_personalize_core::SentAt) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.secs, t.nanos)
}

/// [`TraitStore`] on a DynamoDB table with partition key `userId` (S). Items:
/// `userId` (S), `traits` (S: the [`TraitState`] JSON, only what `USER_TRAITS` reads, each trait
/// with the time of the `identify` that set it), `version` (N: incremented by every write, the
/// condition of the next one) and `updatedAt` (S: when the item was written, RFC 3339, for
/// people looking at the table). Reads are strongly consistent; writes are `PutItem` with
/// `attribute_not_exists(userId)` or `version = :expected`.
#[derive(Clone, Debug)]
pub struct DynamoTraitStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Attribute names of the trait table.
pub const ATTR_USER_ID: &str = "userId";
pub const ATTR_TRAITS: &str = "traits";
pub const ATTR_VERSION: &str = "version";
pub const ATTR_UPDATED_AT: &str = "updatedAt";

/// Each DynamoDB call of the trait store, retries included (the invocation's deadline bounds it
/// too).
pub const TRAITS_TIMEOUT: Duration = Duration::from_millis(1_000);
/// Attempts per DynamoDB call (standard retry mode).
pub const TRAITS_MAX_ATTEMPTS: u32 = 2;

impl DynamoTraitStore {
    /// A client whose calls give up after [`TRAITS_TIMEOUT`] (honours
    /// `AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::from_client(
            aws_sdk_dynamodb::Client::from_conf(dynamodb_config(sdk.into())),
            table,
        )
    }

    pub fn from_client(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The DynamoDB client configuration of the trait store: [`TRAITS_TIMEOUT`] per call,
/// [`TRAITS_MAX_ATTEMPTS`] attempts with a short back-off.
pub fn dynamodb_config(builder: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::Config {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    builder
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(TRAITS_TIMEOUT)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(TRAITS_MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .build()
}

impl TraitStore for DynamoTraitStore {
    async fn load(&self, user_id: &str) -> Result<Option<StoredTraits>, PipelineError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_USER_ID, AttributeValue::S(user_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| shared::error::from_sdk("GetItem on USER_TRAITS_TABLE", &e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let version = match item.get(ATTR_VERSION) {
            Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
            _ => None,
        };
        let Some(version) = version else {
            return Err(PipelineError::new(
                shared::ErrorKind::Misconfigured,
                format!("USER_TRAITS_TABLE: item without a numeric {ATTR_VERSION}"),
            ));
        };
        let traits = match item.get(ATTR_TRAITS) {
            Some(AttributeValue::S(s)) => TraitState::from_json(s).unwrap_or_else(|e| {
                // Overwritten by the next write (conditional on this version).
                tracing::error!(
                    "USER_TRAITS_TABLE: unreadable {ATTR_TRAITS} ({e}); starting afresh"
                );
                TraitState::default()
            }),
            _ => TraitState::default(),
        };
        Ok(Some(StoredTraits { traits, version }))
    }

    async fn save(
        &self,
        user_id: &str,
        traits: &TraitState,
        expected: Option<u64>,
    ) -> Result<Saved, PipelineError> {
        let next = expected.map_or(1, |v| v + 1);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_USER_ID, AttributeValue::S(user_id.to_owned()))
            .item(ATTR_TRAITS, AttributeValue::S(traits.to_json()))
            .item(ATTR_VERSION, AttributeValue::N(next.to_string()))
            .item(ATTR_UPDATED_AT, AttributeValue::S(rfc3339_now()))
            .expression_attribute_names("#u", ATTR_USER_ID);
        put = match expected {
            None => put.condition_expression("attribute_not_exists(#u)"),
            Some(v) => put
                .condition_expression("attribute_exists(#u) AND #v = :expected")
                .expression_attribute_names("#v", ATTR_VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(Saved::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(Saved::Conflict)
            }
            Err(e) => Err(shared::error::from_sdk("PutItem on USER_TRAITS_TABLE", &e)),
        }
    }
}

/// The wall clock in RFC 3339 (UTC).
fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
