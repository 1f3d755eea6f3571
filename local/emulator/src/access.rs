//! IAM enforcement glue for the emulated AWS services (Bedrock Runtime, Personalize): who the
//! caller of a data-plane request is and whether it may do what it asks. The evaluation itself
//! is [`crate::iam`]; the Genesys emulator and the admin APIs never come here.

use std::sync::Arc;

use axum::http::{HeaderMap, Uri};

use crate::iam::{AccessDenied, AuthError, Caller, Principals, DEFAULT_ACCOUNT, DEFAULT_REGION};

/// What one request may do.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// The emulator enforces no IAM (started without a principals file): everything.
    Unrestricted,
    /// What the caller's policies allow.
    Enforced {
        principals: Arc<Principals>,
        caller: Caller,
    },
}

impl Access {
    /// The access of a request: [`Access::Unrestricted`] without `principals`, else its
    /// authenticated caller (a known access key id in its SigV4 credential).
    pub(crate) fn of_request(
        principals: Option<&Arc<Principals>>,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Self, AuthError> {
        let Some(principals) = principals else {
            return Ok(Access::Unrestricted);
        };
        match principals.authenticate(headers, uri.query()) {
            Ok(caller) => Ok(Access::Enforced {
                principals: Arc::clone(principals),
                caller,
            }),
            Err(error) => {
                tracing::warn!(
                    target: "mlpipe_emulator::iam",
                    path = %uri.path(),
                    error_type = error.error_type(),
                    access_key_id = match &error {
                        AuthError::UnrecognizedClient { access_key_id } => access_key_id.as_str(),
                        AuthError::MissingAuthenticationToken => "",
                    },
                    "request refused: unknown caller"
                );
                Err(error)
            }
        }
    }

    /// The region of the request's credential scope ([`DEFAULT_REGION`] when unrestricted).
    pub(crate) fn region(&self) -> &str {
        match self {
            Access::Unrestricted => DEFAULT_REGION,
            Access::Enforced { caller, .. } => &caller.region,
        }
    }

    /// The caller's account ([`DEFAULT_ACCOUNT`] when unrestricted).
    pub(crate) fn account(&self) -> &str {
        match self {
            Access::Unrestricted => DEFAULT_ACCOUNT,
            Access::Enforced { caller, .. } => caller.account(),
        }
    }

    /// The principals file, when enforcing.
    pub(crate) fn principals(&self) -> Option<&Principals> {
        match self {
            Access::Unrestricted => None,
            Access::Enforced { principals, .. } => Some(principals),
        }
    }

    /// Whether `action` on `resource` is allowed; a denial is logged.
    pub(crate) fn check(&self, action: &str, resource: &str) -> Result<(), AccessDenied> {
        let Access::Enforced { caller, .. } = self else {
            return Ok(());
        };
        caller.authorize(action, resource).inspect_err(|denied| {
            tracing::warn!(
                target: "mlpipe_emulator::iam",
                principal = %denied.principal_arn,
                action = %denied.action,
                resource = %denied.resource,
                decision = ?denied.decision,
                "request refused: access denied"
            );
        })
    }
}
