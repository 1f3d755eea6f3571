//! Notifications behind a small trait (feature `sns`): [`SnsNotifier`] publishes to an SNS
//! topic; `RecordingNotifier` (feature `fakes`) keeps what was sent, for handler tests.

use std::future::Future;

use crate::error::PipelineError;

/// Sends a notification with a subject and a plain-text body.
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

/// [`Notifier`] on SNS.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: &str) -> Self {
        Self {
            client,
            topic_arn: topic_arn.to_owned(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, body: &str) -> Result<(), PipelineError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(body)
            .send()
            .await
            .map_err(|e| crate::error::from_sdk(format!("publishing to {}", self.topic_arn), &e))?;
        Ok(())
    }
}

#[cfg(any(test, feature = "fakes"))]
pub use recording::RecordingNotifier;

#[cfg(any(test, feature = "fakes"))]
mod recording {
    use std::sync::Mutex;

    use super::*;

    /// Keeps every `(subject, body)` published, in order.
    #[derive(Debug, Default)]
    pub struct RecordingNotifier {
        sent: Mutex<Vec<(String, String)>>,
    }

    impl RecordingNotifier {
        /// What was published so far.
        pub fn sent(&self) -> Vec<(String, String)> {
            self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }

    impl Notifier for RecordingNotifier {
        async fn publish(&self, subject: &str, body: &str) -> Result<(), PipelineError> {
            self.sent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((subject.to_owned(), body.to_owned()));
            Ok(())
        }
    }
}
