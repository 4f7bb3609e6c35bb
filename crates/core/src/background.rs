//! Keeping the replica current while the app is open: sync now, then again on every change hint
//! from the gateway (`GET /v1/events`) and at a quiet interval; offline is a state — back off
//! with jitter, probe the gateway, and sync as soon as it answers. A `reauth_required` stops the
//! loop (the replica stays) until the rep signs in again.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;

use crate::companion::Companion;
use crate::error::CoreError;
use crate::model::{SyncOptions, SyncProgress};

/// What the background loop tells its owner (the app turns these into UI events).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BackgroundEvent {
    Progress(SyncProgress),
    Synced,
    Offline { retry_in_ms: u64 },
    ReauthRequired,
    Failed { kind: String, message: String },
}

/// First wait after a failure; doubled on each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// With change hints flowing, a periodic sync only catches what hints cannot (a missed hint).
const QUIET_INTERVAL: Duration = Duration::from_secs(900);

/// Exponential backoff with "full jitter": a random wait in [d/2, d], so that many devices coming
/// back online together do not hit the gateway in lockstep.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff {
            next: FIRST_BACKOFF,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }

    pub(crate) fn next_wait(&mut self) -> Duration {
        let ceiling = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
    }
}

/// Runs until the rep must sign in again, or until the returned future is dropped.
pub async fn keep_in_sync(
    companion: Arc<Companion>,
    on_event: impl Fn(BackgroundEvent) + Send + Sync + 'static,
) {
    let on_event = Arc::new(on_event);
    let hinted = Arc::new(Notify::new());
    let watcher = tokio::spawn(watch_hints(companion.clone(), hinted.clone()));
    let mut backoff = Backoff::new();
    loop {
        let progress = on_event.clone();
        let result = companion
            .sync_with(SyncOptions::default(), move |p| {
                progress(BackgroundEvent::Progress(p))
            })
            .await;
        match result {
            Ok(_) => {
                backoff.reset();
                on_event(BackgroundEvent::Synced);
                if let Err(error) = companion.tidy_search().await {
                    tracing::warn!(%error, "could not tidy the search index");
                }
                // The next sync: a change hint, or the quiet interval.
                let _ = tokio::time::timeout(QUIET_INTERVAL, hinted.notified()).await;
            }
            Err(CoreError::Offline { .. }) => {
                wait_until_online(&companion, &mut backoff, &*on_event).await;
            }
            Err(CoreError::ReauthRequired | CoreError::NotSignedIn) => {
                on_event(BackgroundEvent::ReauthRequired);
                break;
            }
            Err(error) => {
                let wait = backoff.next_wait();
                on_event(BackgroundEvent::Failed {
                    kind: error.kind().to_string(),
                    message: error.to_string(),
                });
                tokio::time::sleep(wait).await;
            }
        }
    }
    watcher.abort();
}

async fn wait_until_online(
    companion: &Companion,
    backoff: &mut Backoff,
    on_event: &(impl Fn(BackgroundEvent) + ?Sized),
) {
    loop {
        let wait = backoff.next_wait();
        on_event(BackgroundEvent::Offline {
            retry_in_ms: wait.as_millis() as u64,
        });
        tokio::time::sleep(wait).await;
        if companion.gateway_answers().await {
            return;
        }
    }
}

/// Keeps a change-hint stream open while signed in; each hint wakes the sync loop.
async fn watch_hints(companion: Arc<Companion>, hinted: Arc<Notify>) {
    let mut backoff = Backoff::new();
    loop {
        let wake = hinted.clone();
        match companion
            .watch_changes(move |hint| {
                tracing::debug!(objects = ?hint.objects, "change hint");
                wake.notify_one();
            })
            .await
        {
            // The stream ended (gateway restart, session re-check): sync once, reconnect.
            Ok(()) => {
                backoff.reset();
                hinted.notify_one();
                tokio::time::sleep(FIRST_BACKOFF).await;
            }
            Err(CoreError::ReauthRequired | CoreError::NotSignedIn) => return,
            Err(_) => tokio::time::sleep(backoff.next_wait()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new();
        let mut ceiling = FIRST_BACKOFF;
        for _ in 0..12 {
            let wait = backoff.next_wait();
            assert!(
                wait <= ceiling && wait >= ceiling / 2,
                "{wait:?} for {ceiling:?}"
            );
            ceiling = (ceiling * 2).min(MAX_BACKOFF);
        }
        assert!(backoff.next_wait() >= MAX_BACKOFF / 2);
        backoff.reset();
        assert!(backoff.next_wait() <= FIRST_BACKOFF);
    }
}
