//! What every handler shares: the gateway's state, the signed-in extractor, and reading a JSON
//! body into the error shape. Handlers import this module, never the router (`http.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use companion_api::User;

use crate::config::GatewayConfig;
use crate::crypto::session_token_hash;
use crate::cursor::CursorSigner;
use crate::rate_limit::SessionLimiter;
use crate::store::Store;
use crate::upstream::Upstream;
use crate::{now_unix, GatewayError};

pub struct AppState {
    pub config: GatewayConfig,
    pub store: Store,
    pub upstream: Upstream,
    pub signer: CursorSigner,
    pub sync_page_size: usize,
    pub session_limiter: SessionLimiter,
    pub describe_cache: crate::describe::DescribeCache,
    /// Change hints from outbound messages, per org.
    pub hints: Arc<crate::hints::HintHub>,
    /// How often an open `/v1/events` stream re-checks its session.
    pub events_session_recheck: std::time::Duration,
    /// The secret and the rate limit of `POST /v1/salesforce/outbound`.
    pub outbound: crate::outbound::OutboundGate,
    pub limits: Limits,
}

/// The caps on work in flight, and what `/metrics` reports of them.
pub struct Limits {
    /// One permit per request served (the probes and the hint streams not counted).
    pub requests: Arc<tokio::sync::Semaphore>,
    pub max_requests: usize,
    /// One permit per open hint stream, held as long as the stream.
    pub event_streams: Arc<tokio::sync::Semaphore>,
    pub max_event_streams: usize,
    pub request_timeout: std::time::Duration,
    /// Requests answered 503 because `max_concurrent_requests` were in flight.
    pub shed_requests: AtomicU64,
    /// Hint streams answered 503 because `max_event_streams` were open.
    pub shed_event_streams: AtomicU64,
}

impl Limits {
    pub fn new(
        max_requests: usize,
        max_event_streams: usize,
        request_timeout: std::time::Duration,
    ) -> Self {
        Limits {
            requests: Arc::new(tokio::sync::Semaphore::new(max_requests)),
            max_requests,
            event_streams: Arc::new(tokio::sync::Semaphore::new(max_event_streams)),
            max_event_streams,
            request_timeout,
            shed_requests: AtomicU64::new(0),
            shed_event_streams: AtomicU64::new(0),
        }
    }

    pub fn requests_in_flight(&self) -> usize {
        self.max_requests - self.requests.available_permits()
    }

    pub fn open_event_streams(&self) -> usize {
        self.max_event_streams - self.event_streams.available_permits()
    }

    /// A permit for one more hint stream, or 503 when `max_event_streams` are open.
    pub fn event_stream(&self) -> Result<tokio::sync::OwnedSemaphorePermit, GatewayError> {
        self.event_streams.clone().try_acquire_owned().map_err(|_| {
            self.shed_event_streams.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                max_event_streams = self.max_event_streams,
                "refused a hint stream: too many open"
            );
            GatewayError::Unavailable(
                "this gateway has as many change-hint streams open as it takes; sync, then \
                 listen again in a moment"
                    .into(),
            )
        })
    }
}

/// A JSON body, with a malformed one answered in the error shape.
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, GatewayError> {
    body.map(|Json(v)| v).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            GatewayError::PayloadTooLarge
        } else {
            GatewayError::BadRequest(format!("invalid request body: {}", e.body_text()))
        }
    })
}

/// A request with a live session.
pub struct SignedIn {
    pub user: User,
    pub(crate) token_hash: Vec<u8>,
}

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = GatewayError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(companion_api::AUTHORIZATION)
            .ok_or(GatewayError::Unauthenticated)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(GatewayError::Unauthenticated)?;
        let token_hash = session_token_hash(token);
        match state
            .store
            .session_user(token_hash.clone(), now_unix())
            .await?
        {
            Some(user) => {
                state.session_limiter.check(&token_hash)?;
                Ok(SignedIn { user, token_hash })
            }
            None => Err(GatewayError::ReauthRequired(
                "the session is unknown or expired: sign in again".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every `.rs` file under `src/`, with its path relative to `src/`.
    fn sources() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let name = path.strip_prefix(root).unwrap().display().to_string();
                    out.push((name, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out
    }

    #[test]
    fn handlers_never_import_the_router_nor_the_batch_the_endpoints() {
        let sources = sources();
        assert!(sources.len() > 20, "found the sources");
        for (name, text) in &sources {
            if name != "lib.rs" {
                assert!(
                    !text.contains(concat!("crate::", "http")),
                    "{name} imports the router; shared things live in app.rs"
                );
            }
            if name.starts_with("batch") {
                assert!(
                    !text.contains(concat!("crate::", "writes")),
                    "{name} imports the endpoints; the write types live in write_types.rs"
                );
            }
        }
    }
}
