//! Plain values that core hands to its callers (the app's commands and the CLI).

use serde::Serialize;

/// Where to send the rep to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginStart {
    pub authorize_url: String,
}

/// Progress of a running sync, reported after each applied page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Salesforce object API name, e.g. `Contact`.
    pub object: String,
    /// Records of this object applied so far in this run.
    pub done: u64,
    /// Estimated total for this run, when known.
    pub total: Option<u64>,
}

/// What one sync applied (upserts + deletes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub accounts: u64,
    pub contacts: u64,
    pub opportunities: u64,
    pub tasks: u64,
    /// Records dropped because they left the rep's view (owner or sharing changed).
    pub removed: u64,
    pub pages: u64,
}

/// How a sync runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Also find and drop records that left the rep's view (a rep's explicit refresh; costs one
    /// more gateway call). Background syncs started by change hints leave it off.
    pub reconcile: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub signed_in: bool,
    /// Whether the gateway answered the last call; `None` until something was tried.
    pub online: Option<bool>,
    /// End of the last completed sync, RFC 3339.
    pub last_synced_at: Option<String>,
    pub syncing: bool,
    /// Records on this device per object.
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Changes made on this device not yet in Salesforce.
    pub pending: u64,
}
