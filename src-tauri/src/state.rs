use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use companion_core::Companion;

use crate::AppError;

/// What the shell keeps: core, or why it could not be opened (shown to the rep instead of a crash).
pub struct AppState {
    core: Result<Arc<Companion>, String>,
    /// Callback URLs already handled: a cold start can see the same link twice.
    handled_callbacks: Mutex<HashSet<String>>,
    /// The background sync task, while one runs.
    background: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl AppState {
    pub fn ready(core: Arc<Companion>) -> Self {
        Self {
            core: Ok(core),
            handled_callbacks: Mutex::default(),
            background: Mutex::default(),
        }
    }

    pub fn failed(error: AppError) -> Self {
        Self {
            core: Err(error.to_string()),
            handled_callbacks: Mutex::default(),
            background: Mutex::default(),
        }
    }

    pub fn core(&self) -> Result<Arc<Companion>, AppError> {
        self.core.clone().map_err(AppError::Startup)
    }

    /// Stops the running background sync, if any, and keeps `task` instead.
    pub fn replace_background(&self, task: Option<tauri::async_runtime::JoinHandle<()>>) {
        let mut slot = self
            .background
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(old) = slot.take() {
            old.abort();
        }
        *slot = task;
    }

    /// True the first time a callback URL is seen.
    pub fn first_sight_of(&self, url: &str) -> bool {
        self.handled_callbacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_handled_once() {
        let state = AppState::failed(AppError::Startup("no data folder".into()));
        assert!(state.first_sight_of("companion://oauth/callback?code=a&state=b"));
        assert!(!state.first_sight_of("companion://oauth/callback?code=a&state=b"));
        assert!(state.first_sight_of("companion://oauth/callback?code=c&state=d"));
    }

    #[test]
    fn a_core_that_could_not_open_is_an_error_for_every_command() {
        let state = AppState::failed(AppError::Startup("no data folder".into()));
        let error = state.core().err().expect("no core");
        assert_eq!(error.kind(), "startup");
        assert!(error.to_string().contains("no data folder"));
    }
}
