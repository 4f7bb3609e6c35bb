//! Typed Salesforce OAuth and REST client.
//!
//! Written from `shared/reference/salesforce-api.md` and meant to work against a real org as
//! well as the simulator. Shares no code with `sfsim` on purpose: a shared mistake would cancel
//! out in tests.
//!
//! - [`Client`]: one HTTP client for every user (timeouts, no redirects), keeps the last
//!   `Sforce-Limit-Info`; reads are retried on transient failures ([`RetryPolicy`]), writes
//!   never.
//! - OAuth: [`Client::exchange_code`], [`Client::refresh_token`], [`Client::revoke_token`],
//!   [`Client::identity`]; token signatures are verified.
//! - Queries: [`Client::query`], [`Client::query_all`], [`Client::query_more`],
//!   [`Client::query_all_batches`]; [`Client::limits`].
//! - Rows: [`Client::create_record`], [`Client::get_record`], [`Client::update_record`]
//!   (optionally `If-Unmodified-Since`), [`Client::delete_record`], [`Client::upsert_record`].
//! - Metadata: [`Client::describe`], [`Client::opportunity_stages`].
//! - Several operations in one API call: [`Client::composite`] with a [`CompositeRequest`];
//!   [`Client::composite_graph`] with a [`CompositeGraphRequest`] of [`Graph`]s (each graph
//!   all-or-nothing, up to 500 nodes); [`Client::create_records`], [`Client::update_records`],
//!   [`Client::delete_records`].
//! - Change logs: [`Client::updated_records`], [`Client::deleted_records`].
//! - Errors: [`Error::kind`] gives an [`ErrorKind`] (validation, not found, rate limited, …).
//! - Safety: [`soql::string_literal`] (the one escaper), [`soql::datetime_literal`],
//!   [`RecordId`] (length, charset, checksum, key prefix); object and field names must be
//!   identifiers before they reach a URL.

mod client;
mod collections;
pub mod composite;
pub mod composite_graph;
mod describe;
mod error;
pub mod ids;
mod oauth;
mod replication;
mod rest;
mod rows;
pub mod soql;

pub use client::{
    parse_base_url, Client, ClientOptions, LimitInfo, RetryPolicy, API_VERSION, LIMIT_INFO_HEADER,
};
pub use collections::{NewRecord, RecordUpdate, MAX_COLLECTION_RECORDS};
pub use composite::{CompositeRequest, CompositeResponse, IdOrReference, SubResponse};
pub use composite_graph::{CompositeGraphRequest, CompositeGraphResponse, Graph, GraphResult};
pub use describe::{
    FieldDescribe, FieldType, ObjectDescribe, OpportunityStage, PicklistValue,
    OPPORTUNITY_STAGE_SOQL,
};
pub use error::{classify, ApiErrorItem, Error, ErrorKind, OAuthErrorBody};
pub use ids::{IdError, RecordId};
pub use oauth::{Identity, IdentityIds, OAuthApp, TokenResponse};
pub use replication::{DeletedRecord, DeletedRecords, UpdatedRecords};
pub use rest::{LimitUsage, Limits, QueryOptions, QueryResult, RestSession};
pub use rows::{Created, SaveResult, UpdateOptions, Upserted};

pub type Result<T, E = Error> = std::result::Result<T, E>;
