//! Plain values that core hands to its callers (the app's commands and the CLI).

use serde::Serialize;

pub use crate::push::PushMode;
use crate::writes::{OutboxCounts, PushReport};

/// Where to send the rep to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LoginStart {
    pub authorize_url: String,
}

/// Progress of a running sync, reported after each applied page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncProgress {
    /// Salesforce object API name, e.g. `Contact`.
    pub object: String,
    /// Records of this object applied so far in this run.
    #[ts(type = "number")]
    pub done: u64,
    /// Estimated total for this run, when known.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

/// What one sync sent (its push) and applied (upserts + deletes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncReport {
    #[ts(type = "number")]
    pub accounts: u64,
    #[ts(type = "number")]
    pub contacts: u64,
    #[ts(type = "number")]
    pub opportunities: u64,
    #[ts(type = "number")]
    pub tasks: u64,
    #[ts(type = "number")]
    pub leads: u64,
    /// Records dropped because they left the rep's view (owner or sharing changed).
    #[ts(type = "number")]
    pub removed: u64,
    #[ts(type = "number")]
    pub pages: u64,
    /// What the push before the pull did.
    pub pushed: PushReport,
}

/// How a sync runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Also find and drop records that left the rep's view (a rep's explicit refresh; costs one
    /// more gateway call). Background syncs started by change hints leave it off.
    pub reconcile: bool,
    /// Which of the outbox's writes go before the pull.
    pub push: PushMode,
}

impl SyncOptions {
    /// Whether a sync run with these options does all that `asked` asks (so a request for
    /// `asked` may take its outcome).
    pub(crate) fn covers(&self, asked: &SyncOptions) -> bool {
        let rank = |mode: PushMode| match mode {
            PushMode::Skip => 0,
            PushMode::Due => 1,
            PushMode::Now => 2,
        };
        (self.reconcile || !asked.reconcile) && rank(self.push) >= rank(asked.push)
    }
}

/// What core tells the app so that screens refresh themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CoreEvent {
    /// A write was saved, sent, refused, settled or discarded.
    OutboxChanged,
    /// A push or a pull changed records the screens show.
    RecordsChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Status {
    pub signed_in: bool,
    /// Whether the gateway answered the last call; `None` until something was tried.
    pub online: Option<bool>,
    /// End of the last completed sync, RFC 3339.
    pub last_synced_at: Option<String>,
    pub syncing: bool,
    /// Records on this device per object.
    #[ts(type = "Record<string, number>")]
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Changes made on this device not yet in Salesforce (all states).
    #[ts(type = "number")]
    pub pending: u64,
    /// The outbox by state: waiting, sending, failed, conflicts, waiting for sign-in.
    pub outbox: OutboxCounts,
    /// The gateway refused the session: the rep must sign in again (nothing is lost).
    pub reauth_required: bool,
}
