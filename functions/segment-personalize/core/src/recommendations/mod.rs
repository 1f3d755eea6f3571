//! The `recommendations` HTTP API's pure rules: the routes and the ids they take, the query
//! parameters and their limits, Personalize ARNs, and the cache key of a request.
//!
//! | parameter      | rule                                                                      |
//! |----------------|---------------------------------------------------------------------------|
//! | path id        | 1 to 256 characters, no control characters (percent-decoded)             |
//! | `numResults`   | optional, integer 1 to 500, default 25                                     |
//! | `filterArn`    | optional, `arn:aws:personalize:<region>:<account>:filter/<name>`; default: the function's `DEFAULT_FILTER_ARN` |
//! | `filterValues` | optional JSON object, at most 5 entries, keys 1 to 50 of `A-Z a-z 0-9 _`, string values of at most 1000 characters, as the API takes them: `{"CATEGORY":"\"shoes\""}`; needs a filter |
//! | `context`      | optional JSON object, at most 150 entries, keys 1 to 150 of `A-Z a-z 0-9 _`, string values of at most 1000 characters: `{"DEVICE":"mobile"}` |
//!
//! Any other parameter is rejected, as is a repeated one, so a misspelt option is not silently
//! ignored; an empty value counts as absent. Errors ([`InvalidRequest`]) start with the name of
//! the parameter and state the limit; they never echo a value.
//!
//! The cache key ([`RecommendationRequest::cache_key`]) is the SHA-256 (hex) of a canonical JSON
//! array of everything that changes the answer ([`RecommendationRequest::canonical`]): the
//! format version [`CACHE_KEY_VERSION`], the route (`user`/`related`), the id, the campaign or
//! recommender ARN, `numResults`, the filter ARN actually used, `filterValues` and `context`
//! (sorted by key; an empty object is the same as none).

mod arn;
mod request;

pub use arn::{arn_example, is_personalize_arn};
pub use request::{
    escapes_well_formed, parse_query, parse_request, validate_id, InvalidRequest, QueryParams,
    RecommendationRequest,
};

/// `numResults` when the request does not give it (Personalize's default).
pub const DEFAULT_NUM_RESULTS: u32 = 25;
/// The largest `numResults` Personalize accepts.
pub const MAX_NUM_RESULTS: u32 = 500;
/// The longest user or item id, in characters.
pub const MAX_ID_CHARS: usize = 256;
/// The longest ARN Personalize accepts.
pub const MAX_ARN_CHARS: usize = 256;
/// Most `filterValues` entries (placeholders in one filter expression).
pub const MAX_FILTER_VALUES: usize = 5;
/// The longest `filterValues` key.
pub const MAX_FILTER_KEY_CHARS: usize = 50;
/// Most `context` entries.
pub const MAX_CONTEXT_ENTRIES: usize = 150;
/// The longest `context` key.
pub const MAX_CONTEXT_KEY_CHARS: usize = 150;
/// The longest `filterValues` or `context` value.
pub const MAX_VALUE_CHARS: usize = 1000;
/// Version of the cache key's canonical form; change it when the meaning of an entry changes.
pub const CACHE_KEY_VERSION: &str = "recommendations/v1";
/// The query parameters, as error messages list them.
pub const PARAMETERS: &str = "numResults, filterArn, filterValues or context";
/// The routes, as error messages list them.
pub const ROUTES: &str = "GET /recommendations/{userId} or GET /related/{itemId}";

/// Which route a request took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// `/recommendations/{userId}`.
    User,
    /// `/related/{itemId}`.
    Related,
}

impl RouteKind {
    /// The name in the cache key and logs.
    pub const fn name(self) -> &'static str {
        match self {
            RouteKind::User => "user",
            RouteKind::Related => "related",
        }
    }

    /// The path parameter and response field holding the id.
    pub const fn id_field(self) -> &'static str {
        match self {
            RouteKind::User => "userId",
            RouteKind::Related => "itemId",
        }
    }

    /// The first path segment.
    pub const fn path_segment(self) -> &'static str {
        match self {
            RouteKind::User => "recommendations",
            RouteKind::Related => "related",
        }
    }
}

/// What a route asks Personalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Campaign,
    Recommender,
}

impl TargetKind {
    /// The resource type in the ARN (`campaign/<name>`).
    pub const fn resource(self) -> &'static str {
        match self {
            TargetKind::Campaign => "campaign",
            TargetKind::Recommender => "recommender",
        }
    }
}

/// A campaign or recommender ARN and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    pub arn: String,
    /// The environment variable that set it, for error messages.
    pub variable: &'static str,
}

#[cfg(test)]
mod tests;
