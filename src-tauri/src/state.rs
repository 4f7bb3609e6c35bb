use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use companion_core::Companion;
use tokio::sync::watch;

use crate::AppError;

/// Core as the shell holds it: not opened yet, open, or why it could not be opened (shown to
/// the rep instead of a crash).
type Opened = Option<Result<Arc<Companion>, String>>;

/// What the shell keeps. Core is opened off the main thread (keyring, migrations), so the
/// window paints first; commands wait for it.
pub struct AppState {
    core: watch::Sender<Opened>,
    /// Callback URLs already handled: a cold start can see the same link twice.
    handled_callbacks: Mutex<HashSet<String>>,
    /// The background sync task, while one runs.
    background: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl AppState {
    /// Core is being opened; [`AppState::opened`] says how that went.
    pub fn opening() -> Self {
        Self {
            core: watch::Sender::new(None),
            handled_callbacks: Mutex::default(),
            background: Mutex::default(),
        }
    }

    pub fn opened(&self, outcome: Result<Arc<Companion>, AppError>) {
        self.core
            .send_replace(Some(outcome.map_err(|error| error.to_string())));
    }

    #[cfg(test)]
    pub fn failed(error: AppError) -> Self {
        let state = Self::opening();
        state.opened(Err(error));
        state
    }

    /// Core, once it is open (waits while it opens).
    pub async fn core(&self) -> Result<Arc<Companion>, AppError> {
        let mut opened = self.core.subscribe();
        let core = opened
            .wait_for(Option::is_some)
            .await
            .map_err(|_| AppError::Startup("the app is closing".into()))?;
        Self::unwrap(&core)
    }

    /// Core if it is open now (for events, which only come once it is).
    pub fn core_now(&self) -> Result<Arc<Companion>, AppError> {
        Self::unwrap(&self.core.borrow())
    }

    fn unwrap(opened: &Opened) -> Result<Arc<Companion>, AppError> {
        match opened {
            Some(Ok(core)) => Ok(core.clone()),
            Some(Err(error)) => Err(AppError::Startup(error.clone())),
            None => Err(AppError::Startup("still opening the local data".into())),
        }
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

    #[tokio::test]
    async fn a_core_that_could_not_open_is_an_error_for_every_command() {
        let state = AppState::failed(AppError::Startup("no data folder".into()));
        let error = state.core().await.err().expect("no core");
        assert_eq!(error.kind(), "startup");
        assert!(error.to_string().contains("no data folder"));
    }

    #[tokio::test]
    async fn commands_wait_while_core_opens() {
        let state = Arc::new(AppState::opening());
        assert!(state.core_now().is_err());
        let waiting = tokio::spawn({
            let state = state.clone();
            async move { state.core().await.err().map(|e| e.to_string()) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        state.opened(Err(AppError::Startup("no keyring".into())));
        let error = waiting.await.unwrap().expect("the outcome of opening");
        assert!(error.contains("no keyring"), "{error}");
    }
}
