//! The SDK adapters of the ports: [`EventSink`] on Amazon Personalize Events (PutEvents,
//! PutUsers) and [`DeadLetters`] on an SQS queue.

use segment_personalize_core::{PutEventsRequest, PutUsersRequest};
use shared::PipelineError;

use crate::config::Config;
use crate::ports::{DeadLetters, EventSink};

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
