//! The emulated operations, the API each belongs to, and the scope of an injected fault.

use serde::Serialize;

/// Which API an operation belongs to (throttling and outages can target one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Events,
    Runtime,
}

/// The emulated operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Operation {
    PutEvents,
    PutUsers,
    PutItems,
    GetRecommendations,
    GetPersonalizedRanking,
}

impl Operation {
    /// Every operation, in a fixed order.
    pub const ALL: [Operation; 5] = [
        Operation::PutEvents,
        Operation::PutUsers,
        Operation::PutItems,
        Operation::GetRecommendations,
        Operation::GetPersonalizedRanking,
    ];

    /// The operation's name in the API reference.
    pub fn name(self) -> &'static str {
        match self {
            Operation::PutEvents => "PutEvents",
            Operation::PutUsers => "PutUsers",
            Operation::PutItems => "PutItems",
            Operation::GetRecommendations => "GetRecommendations",
            Operation::GetPersonalizedRanking => "GetPersonalizedRanking",
        }
    }

    /// The path it is served on (`POST`), as the model's `requestUri` says.
    pub fn route(self) -> &'static str {
        match self {
            Operation::PutEvents => "/events",
            Operation::PutUsers => "/users",
            Operation::PutItems => "/items",
            Operation::GetRecommendations => "/recommendations",
            Operation::GetPersonalizedRanking => "/personalize-ranking",
        }
    }

    /// The API serving it.
    pub fn api(self) -> Api {
        match self {
            Operation::PutEvents | Operation::PutUsers | Operation::PutItems => Api::Events,
            Operation::GetRecommendations | Operation::GetPersonalizedRanking => Api::Runtime,
        }
    }
}

/// What an injected fault (throttling, outage) applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Both APIs.
    #[default]
    All,
    /// Only `PutEvents`, `PutUsers`, `PutItems`.
    Events,
    /// Only `GetRecommendations`, `GetPersonalizedRanking`.
    Runtime,
}

impl Scope {
    pub(super) fn covers(self, api: Api) -> bool {
        match self {
            Scope::All => true,
            Scope::Events => api == Api::Events,
            Scope::Runtime => api == Api::Runtime,
        }
    }
}
