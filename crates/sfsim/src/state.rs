//! Everything one running org holds, shared by the HTTP handlers and the [`crate::Sim`] handle.

use std::sync::{Mutex, MutexGuard};

use crate::{
    clock::Clock,
    control::Control,
    limits::ApiUsage,
    locators::Locators,
    oauth::{ConnectedApp, TokenStore},
    outbound::Outbound,
    store::Store,
    SimConfig,
};

/// Daily API request allocation of a Developer Edition org (reference §4.4).
pub const DAILY_API_LIMIT: u64 = 15_000;

pub struct AppState {
    pub base_url: String,
    pub config: SimConfig,
    pub app: ConnectedApp,
    pub clock: Clock,
    pub api_usage: ApiUsage,
    /// When the org came up: the "last modified" of its schema (describe's conditional requests).
    pub started_at: time::OffsetDateTime,
    /// The `/__sim` control API's counters and faults.
    pub control: Control,
    /// Outbound-message rules and deliveries.
    pub outbound: Outbound,
    org: Mutex<Org>,
}

/// Mutable org state behind one lock: handlers hold it briefly and never across an await.
pub struct Org {
    pub store: Store,
    pub tokens: TokenStore,
    pub locators: Locators,
    /// `false` after `POST /__sim/org {"active": false}`: every token request gets `inactive_org`.
    pub active: bool,
    /// Tokens issued per user in the last hour, for `rate_limit_exceeded`.
    pub token_grants: crate::oauth::GrantLog,
}

impl AppState {
    pub fn new(base_url: String, config: SimConfig, store: Store) -> Self {
        Self {
            base_url,
            app: ConnectedApp::demo(config.refresh_token_rotation),
            clock: Clock::default(),
            api_usage: ApiUsage::new(config.daily_api_limit),
            started_at: time::OffsetDateTime::now_utc(),
            control: Control::default(),
            outbound: Outbound::new(&config.outbound_messages, config.outbound_time_scale),
            config,
            org: Mutex::new(Org {
                store,
                tokens: TokenStore::default(),
                locators: Locators::default(),
                active: true,
                token_grants: Default::default(),
            }),
        }
    }

    pub fn org(&self) -> MutexGuard<'_, Org> {
        // A panic while holding the lock cannot leave the maps half-written in a way that matters
        // more than stopping the simulator, so keep serving.
        self.org
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one REST call against the rolling daily limit; `None` when it is used up.
    pub fn count_api_call(&self) -> Option<u64> {
        self.api_usage.try_count(self.clock.now()).ok()
    }

    /// REST calls counted in the last 24 hours (the `N` of `api-usage=N/M`).
    pub fn api_calls(&self) -> u64 {
        self.api_usage.used(self.clock.now())
    }

    /// `POST /__sim/reset`: the clock back to real time, the org re-seeded as at start, no tokens,
    /// cursors, counters, faults or deliveries under way.
    pub fn reset(&self) {
        self.outbound.cancel_all();
        self.control.reset();
        self.clock.reset();
        self.api_usage.reset();
        let store = crate::initial_store(&self.config);
        let mut org = self.org();
        org.store = store;
        org.tokens = TokenStore::default();
        org.locators = Locators::default();
        org.active = true;
        org.token_grants = Default::default();
    }

    pub fn org_id15(&self, org: &Org) -> String {
        org.store.org_id[..15].to_owned()
    }
}
