//! Everything the Companion app does that is not UI: sign-in through the gateway, the session
//! token in a [`SecretStore`], the on-device replica (SQLite) and its sync, and the reads the
//! screens need. No Tauri here: the app shell and the CLI are thin adapters over [`Companion`].

mod background;
mod companion;
mod error;
mod files;
mod gateway;
mod login;
mod model;
mod push;
mod replica;
pub mod secrets;
mod server;
mod sync;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
mod writes;

pub use background::{keep_in_sync, BackgroundEvent};
pub use companion::{Companion, Config, DeviceConfig, RecordDetail};
pub use error::CoreError;
pub use model::{CoreEvent, LoginStart, PushMode, Status, SyncOptions, SyncProgress, SyncReport};
pub use replica::{
    AccountDetail, AccountSummary, ContactDetail, ContactKey, ContactPage, ContactQuery,
    ContactSummary, LeadDetail, LeadQuery, LeadSummary, OpportunityDetail, OpportunityQuery,
    OpportunitySort, OpportunitySummary, SearchHit, TaskSummary,
};
pub use secrets::{FileStore, KeyringStore, MemoryStore, SecretError, SecretStore};
pub use server::{
    check as check_server, parse_server_url, read_preset, ServerCheck, ServerSetting, ServerSource,
    DEFAULT_PRESET_FILE,
};
pub use writes::{
    parse_field, ContactChanges, DiscardReport, FieldConflict, NewCall, NewFollowUp, NewLead,
    OpportunityChanges, OutboxCounts, PendingState, PendingWrite, PushReport, Resolution,
    WriteError, WriteKind,
};

/// The gateway's `/v1` types, re-exported for callers of core.
pub use companion_api as api;
