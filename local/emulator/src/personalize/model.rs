//! The Personalize service models the emulator checks requests against: botocore's
//! `personalize-events` and `personalize-runtime` (see [`crate::botocore`] for where they are
//! found and what is checked).
//!
//! Every `PutEvents`, `PutUsers`, `PutItems`, `GetRecommendations` and
//! `GetPersonalizedRanking` body is checked against its operation's input shape before anything
//! else reads it; violations answer 400 with the validation error the model declares for the
//! operation (`InvalidInputException` for all five) and AWS's message. Members the model does
//! not define are ignored (see [`crate::botocore::check`]).

use std::path::Path;

use anyhow::{bail, Context as _};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::botocore::{self, check, ServiceModel, Unknown};

use super::error::ApiError;
use super::Operation;

/// botocore's name of the Events API.
pub const EVENTS_SERVICE: &str = "personalize-events";
/// botocore's name of the Runtime API.
pub const RUNTIME_SERVICE: &str = "personalize-runtime";

/// The two service models.
#[derive(Debug, Clone)]
pub struct Models {
    pub events: ServiceModel,
    pub runtime: ServiceModel,
}

impl Models {
    /// Finds botocore's data directory (`explicit`, else `MLPIPE_BOTOCORE_DATA`, else the
    /// project's `.venv`) and loads both models from it.
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Self> {
        Self::load(&botocore::locate_data(explicit)?)
    }

    /// Loads both models from botocore data directory `data`, and checks that they describe
    /// the API the emulator serves: restJson1, each operation at the route it is served on.
    pub fn load(data: &Path) -> anyhow::Result<Self> {
        let events = botocore::load_service(data, EVENTS_SERVICE)?;
        let runtime = botocore::load_service(data, RUNTIME_SERVICE)?;
        let models = Self { events, runtime };
        for op in Operation::ALL {
            let model = models.service(op);
            if model.protocol != "rest-json" {
                bail!("{model}: protocol {}, not rest-json", model.protocol);
            }
            let Some(found) = model.operation(op.name()) else {
                bail!("{model}: no operation {}", op.name());
            };
            if found.http_method != "POST" || found.request_uri != op.route() {
                bail!(
                    "{model}: {} is {} {}, the emulator serves POST {}",
                    op.name(),
                    found.http_method,
                    found.request_uri,
                    op.route()
                );
            }
        }
        Ok(models)
    }

    /// The model of `operation`'s API.
    pub fn service(&self, operation: Operation) -> &ServiceModel {
        match operation.api() {
            super::Api::Events => &self.events,
            super::Api::Runtime => &self.runtime,
        }
    }

    /// Checks a request body against the input shape of `operation`: `Err` is the answer AWS
    /// gives (the model's validation error, every violation in one message).
    pub fn check(&self, operation: Operation, body: &Map<String, Value>) -> Result<(), ApiError> {
        let model = self.service(operation);
        let violations = model
            .check_request(operation.name(), body, Unknown::Ignore)
            .with_context(|| format!("{model}: no operation {}", operation.name()))
            .map_err(|e| ApiError::invalid_input(e.to_string()))?;
        if violations.is_empty() {
            return Ok(());
        }
        Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            error_type: model.validation_error(operation.name()),
            message: check::message(&violations),
        })
    }

    /// What the admin API shows: each model's file and API version.
    pub fn describe(&self) -> Value {
        let one = |m: &ServiceModel| {
            serde_json::json!({
                "serviceId": m.service_id,
                "apiVersion": m.api_version,
                "source": m.source,
            })
        };
        serde_json::json!({ "events": one(&self.events), "runtime": one(&self.runtime) })
    }
}

#[cfg(test)]
mod tests;
