//! `GET /v1/events`: the signed-in rep's change hints as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use companion_api::{ChangeHint, CHANGE_EVENT};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::app::{AppState, SignedIn};
use crate::now_unix;

/// One rep's stream: the org's hints, while the session lives.
struct Listener {
    receiver: Option<broadcast::Receiver<ChangeHint>>,
    state: Arc<AppState>,
    token_hash: Vec<u8>,
    session_checked: Instant,
}

impl Listener {
    /// The next hint to send, or `None` to end the stream: the gateway is shutting down, the
    /// reader fell too far behind (it reconnects and syncs), or the session ended.
    async fn next(&mut self) -> Option<ChangeHint> {
        let hint = match self.receiver.as_mut()?.recv().await {
            Ok(hint) => hint,
            Err(RecvError::Lagged(missed)) => {
                tracing::info!(missed, "a hint stream fell behind; ending it");
                return None;
            }
            Err(RecvError::Closed) => return None,
        };
        // A session that was signed out (or expired) stops hearing about its org; checked at
        // most every `events_session_recheck`, so a busy org does not cost a lookup per hint.
        if self.session_checked.elapsed() >= self.state.events_session_recheck {
            match self
                .state
                .store
                .session_user(self.token_hash.clone(), now_unix())
                .await
            {
                Ok(Some(_)) => self.session_checked = Instant::now(),
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "checking a hint stream's session failed");
                    return None;
                }
            }
        }
        Some(hint)
    }
}

pub async fn events(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let listener = Listener {
        receiver: state.hints.subscribe(&signed_in.user.org_id),
        token_hash: signed_in.token_hash,
        state,
        session_checked: Instant::now(),
    };
    tracing::debug!(user_id = %signed_in.user.user_id, "hint stream opened");
    let stream = futures_util::stream::unfold(listener, |mut listener| async move {
        let hint = listener.next().await?;
        let event = Event::default()
            .event(CHANGE_EVENT)
            .json_data(&hint)
            .expect("a hint serialises");
        Some((Ok(event), listener))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
