use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use companion_core::Companion;

use crate::AppError;

/// What the shell keeps: core, or why it could not be opened (shown to the rep instead of a crash).
pub struct AppState {
    core: Result<Arc<Companion>, String>,
    /// Callback URLs already handled: a cold start can see the same link twice.
    handled_callbacks: Mutex<HashSet<String>>,
}

impl AppState {
    pub fn ready(core: Arc<Companion>) -> Self {
        Self {
            core: Ok(core),
            handled_callbacks: Mutex::default(),
        }
    }

    pub fn failed(error: AppError) -> Self {
        Self {
            core: Err(error.to_string()),
            handled_callbacks: Mutex::default(),
        }
    }

    pub fn core(&self) -> Result<Arc<Companion>, AppError> {
        self.core.clone().map_err(AppError::Startup)
    }

    /// True the first time a callback URL is seen.
    pub fn first_sight_of(&self, url: &str) -> bool {
        self.handled_callbacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(url.to_string())
    }
}
