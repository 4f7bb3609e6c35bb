//! Keeping the replica current while the app is open: push and pull now, then push after every
//! Save (and when a write's backoff is over), and push and pull again on every change hint from
//! the gateway (`GET /v1/events`) and at a quiet interval; offline is a state — back off with
//! jitter, probe the gateway, and as soon as it answers send everything waiting and pull. A
//! `reauth_required` stops the loop (the replica and every pending write stay) until the rep
//! signs in again.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;

use crate::companion::Companion;
use crate::error::CoreError;
use crate::model::{SyncOptions, SyncProgress};
use crate::push::PushMode;
use crate::writes::PushReport;

/// What the background loop tells its owner (the app turns these into UI events).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BackgroundEvent {
    Progress(SyncProgress),
    Synced,
    /// A push that sent, or was refused: the outbox changed.
    Pushed(PushReport),
    Offline {
        #[ts(type = "number")]
        retry_in_ms: u64,
    },
    ReauthRequired,
    Failed {
        kind: String,
        message: String,
    },
}

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Push (these writes), then pull.
    Sync(PushMode),
    /// Push the writes that are due (after a Save, or a backoff that ended).
    Push,
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
    let mut next = Next::Sync(PushMode::Due);
    loop {
        let result = match next {
            Next::Sync(push) => {
                let progress = on_event.clone();
                companion
                    .sync_with(
                        SyncOptions {
                            reconcile: false,
                            push,
                        },
                        move |p| progress(BackgroundEvent::Progress(p)),
                    )
                    .await
                    .map(|report| {
                        if report.pushed.requests > 0 {
                            on_event(BackgroundEvent::Pushed(report.pushed.clone()));
                        }
                        on_event(BackgroundEvent::Synced);
                    })
            }
            Next::Push => companion.push(PushMode::Due).await.map(|report| {
                if report.requests > 0 {
                    on_event(BackgroundEvent::Pushed(report));
                }
            }),
        };
        match result {
            Ok(_) => {
                backoff.reset();
                // The search index merges here, off the rep's Saves (none merges as it writes).
                tidy_search(&companion).await;
                next = wait_for_work(&companion, &hinted).await;
            }
            Err(CoreError::Offline { .. }) => {
                tidy_search(&companion).await;
                wait_until_online(&companion, &mut backoff, &*on_event).await;
                // Back online: everything waiting goes now, backoff or not.
                next = Next::Sync(PushMode::Now);
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
                next = Next::Sync(PushMode::Due);
            }
        }
    }
    watcher.abort();
}

/// Waits for the next thing to do: a change hint (push and pull), a Save or the end of a
/// write's backoff (push), or the quiet interval (push and pull).
async fn wait_for_work(companion: &Companion, hinted: &Notify) -> Next {
    let due = match companion.next_write_due() {
        Ok(Some(at_ms)) => {
            let wait = at_ms - crate::replica::now_ms();
            Duration::from_millis(wait.clamp(0, QUIET_INTERVAL.as_millis() as i64) as u64)
        }
        Ok(None) => QUIET_INTERVAL,
        Err(error) => {
            tracing::warn!(%error, "could not read the outbox");
            QUIET_INTERVAL
        }
    };
    let quiet = tokio::time::sleep(QUIET_INTERVAL);
    tokio::select! {
        _ = hinted.notified() => Next::Sync(PushMode::Due),
        _ = companion.saved_notify().notified() => Next::Push,
        _ = tokio::time::sleep(due), if due < QUIET_INTERVAL => Next::Push,
        _ = quiet => Next::Sync(PushMode::Due),
    }
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
        let retry = tokio::time::sleep(wait);
        tokio::pin!(retry);
        loop {
            tokio::select! {
                _ = &mut retry => break,
                // Saves made offline get their search entries merged too, off the Save; and
                // a Save is worth a look at the network (a cheap probe): if the gateway
                // answers, the change goes now rather than at the end of the backoff.
                _ = companion.saved_notify().notified() => {
                    tidy_search(companion).await;
                    if companion.gateway_answers().await {
                        return;
                    }
                }
            }
        }
        if companion.gateway_answers().await {
            return;
        }
    }
}

async fn tidy_search(companion: &Companion) {
    if let Err(error) = companion.tidy_search().await {
        tracing::warn!(%error, "could not tidy the search index");
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
