//! Everything the Companion app does that is not UI: sign-in through the gateway, the session
//! token in a [`SecretStore`], the on-device replica (SQLite) and its sync, and the reads the
//! screens need. No Tauri here: the app shell and the CLI are thin adapters over [`Companion`].

mod companion;
mod error;
mod files;
mod gateway;
mod login;
mod model;
mod replica;
pub mod secrets;
mod sync;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use companion::{Companion, Config};
pub use error::CoreError;
pub use model::{LoginStart, Status, SyncProgress, SyncReport};
pub use replica::ContactSummary;
pub use secrets::{FileStore, KeyringStore, MemoryStore, SecretError, SecretStore};

/// The gateway's `/v1` types, re-exported for callers of core.
pub use companion_api as api;
