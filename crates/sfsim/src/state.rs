//! Everything one running org holds, shared by the HTTP handlers and the [`crate::Sim`] handle.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex, MutexGuard,
};

use crate::{
    clock::Clock,
    locators::Locators,
    oauth::{ConnectedApp, TokenStore},
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
    api_calls: AtomicU64,
    org: Mutex<Org>,
}

/// Mutable org state behind one lock: handlers hold it briefly and never across an await.
pub struct Org {
    pub store: Store,
    pub tokens: TokenStore,
    pub locators: Locators,
}

impl AppState {
    pub fn new(base_url: String, config: SimConfig, store: Store) -> Self {
        Self {
            base_url,
            app: ConnectedApp::demo(config.refresh_token_rotation),
            config,
            clock: Clock::default(),
            api_calls: AtomicU64::new(0),
            org: Mutex::new(Org {
                store,
                tokens: TokenStore::default(),
                locators: Locators::default(),
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

    /// Counts one REST call against the daily limit and returns the new total.
    pub fn count_api_call(&self) -> u64 {
        self.api_calls.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls.load(Ordering::Relaxed)
    }

    pub fn org_id15(&self, org: &Org) -> String {
        org.store.org_id[..15].to_owned()
    }
}
