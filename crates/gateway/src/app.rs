//! What every handler shares: the gateway's state, the signed-in extractor, and reading a JSON
//! body into the error shape. Handlers import this module, never the router (`http.rs`).

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
