//! Typed Salesforce OAuth and REST client.
//!
//! Written from `shared/reference/salesforce-api.md` and meant to work against a real org as
//! well as the simulator. Shares no code with `sfsim` on purpose: a shared mistake would cancel
//! out in tests.
//!
//! - [`Client`]: one HTTP client for every user (timeouts, no redirects), keeps the last
//!   `Sforce-Limit-Info`.
//! - OAuth: [`Client::exchange_code`], [`Client::refresh_token`], [`Client::revoke_token`],
//!   [`Client::identity`]; token signatures are verified.
//! - REST: [`Client::query`], [`Client::query_more`], [`Client::query_all_batches`].
//! - Safety: [`soql::string_literal`] (the one escaper), [`soql::datetime_literal`],
//!   [`RecordId`] (length, charset, checksum, key prefix).

mod client;
mod error;
pub mod ids;
mod oauth;
mod rest;
pub mod soql;

pub use client::{
    parse_base_url, Client, ClientOptions, LimitInfo, API_VERSION, LIMIT_INFO_HEADER,
};
pub use error::{ApiErrorItem, Error, OAuthErrorBody};
pub use ids::{IdError, RecordId};
pub use oauth::{Identity, IdentityIds, OAuthApp, TokenResponse};
pub use rest::{QueryOptions, QueryResult, RestSession};

pub type Result<T, E = Error> = std::result::Result<T, E>;
