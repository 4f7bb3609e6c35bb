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
use crate::{now_unix, GatewayError};

/// A comment line this often on a quiet stream: proxies keep the connection, and the app, whose
/// read timeout is 45 s, notices a half-open one within a minute.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(15);

/// One rep's stream: the org's hints, while the session lives.
struct Listener {
    receiver: Option<broadcast::Receiver<ChangeHint>>,
    state: Arc<AppState>,
    token_hash: Vec<u8>,
    session_checked: Instant,
    /// Counts this stream against `max_event_streams` until it ends.
    _permit: tokio::sync::OwnedSemaphorePermit,
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

/// The handler: outside the request timeout (a stream lives for hours), so its own cap,
/// `max_event_streams`, answers 503 when that many are open.
pub async fn events(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, GatewayError> {
    if !state.store.hint_channel_up() {
        // Hints sent now would not reach this instance: the app syncs and tries again.
        return Err(GatewayError::Unavailable(
            "this gateway cannot hear change hints for a moment; sync, then listen again".into(),
        ));
    }
    let permit = state.limits.event_stream()?;
    let listener = Listener {
        _permit: permit,
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
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}
