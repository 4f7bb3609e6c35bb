//! The HTTP API: routes, handlers, the session extractor.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use companion_api::{
    AuthConfig, CountsResponse, DescribeResponse, ExchangeRequest, ExchangeResponse, IdsRequest,
    IdsResponse, LoginHost, SyncRequest, SyncResponse, User,
};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, ServiceBuilder};

use crate::app::{json_body, AppState, SignedIn};
use crate::crypto::{new_session_token, session_token_hash};
use crate::redirect::redirect_uri_allowed;
use crate::store::{NewSignIn, Store};
use crate::{now_unix, sync, writes, GatewayError};

/// Request bodies are small JSON documents.
const BODY_LIMIT: usize = 64 * 1024;
/// A batch carries up to 200 writes.
const BATCH_BODY_LIMIT: usize = 1024 * 1024;

/// Every route, and the limits around them: a request waits at most `request_timeout` (504) and
/// at most `max_concurrent_requests` are served at once, more are refused at once (503). The
/// probes stay outside both so they answer under load; a hint stream lives for hours, so it is
/// outside both as well and capped on its own (`max_event_streams`).
pub fn router(state: Arc<AppState>) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    let streams = Router::new().route("/v1/events", get(crate::events::events));
    let not_found = || async { GatewayError::NotFound };
    let limited = Router::new()
        .route("/v1/auth/config", get(auth_config))
        .route("/v1/auth/exchange", post(exchange))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/sync", post(sync_handler))
        .route("/v1/sync/counts", post(counts_handler))
        .route("/v1/sync/ids", post(ids_handler))
        .route("/v1/describe/{object}", get(describe_handler))
        // Another method answers 404 too: nothing tells these routes from unknown paths.
        .route(
            &format!("{}/{{secret}}", crate::outbound::PATH),
            post(crate::outbound::receive_with_secret)
                .fallback(not_found)
                .layer(DefaultBodyLimit::max(crate::outbound::BODY_LIMIT)),
        )
        .route(
            crate::outbound::PATH,
            post(crate::outbound::receive_with_basic)
                .fallback(not_found)
                .layer(DefaultBodyLimit::max(crate::outbound::BODY_LIMIT)),
        )
        .route("/v1/leads", post(writes::create_lead))
        .route("/v1/tasks", post(writes::create_task))
        .route("/v1/opportunities/{id}", patch(writes::update_opportunity))
        .route("/v1/contacts/{id}", patch(writes::update_contact))
        .route(
            "/v1/batch",
            post(writes::batch_handler).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        // Outermost first. The concurrency limit is global (one semaphore, however many routes
        // axum layers it onto); a request it has no permit for is shed at once, not queued.
        // The timeout is inside it, so a request that times out gives its permit back; a write
        // keeps running in its own task (`batch::run_to_completion`) and settles its key.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new({
                    let state = state.clone();
                    move |error: BoxError| {
                        let state = state.clone();
                        async move { limit_error(&state, error) }
                    }
                }))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::with_semaphore(
                    state.limits.requests.clone(),
                ))
                .timeout(state.limits.request_timeout),
        );
    Router::new()
        .merge(probes)
        .merge(streams)
        .merge(limited)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// What the limits' errors answer: shed → 503 `unavailable` (Retry-After: 1), timed out →
/// 504 `upstream_unavailable`.
fn limit_error(state: &AppState, error: BoxError) -> GatewayError {
    if error.is::<tower::load_shed::error::Overloaded>() {
        state.limits.shed_requests.fetch_add(1, Ordering::Relaxed);
        // One line per shed request would add to the load; `/metrics` counts them.
        tracing::debug!(
            max_concurrent_requests = state.limits.max_requests,
            "shed a request: too many in flight"
        );
        GatewayError::Unavailable(
            "this gateway is serving as many requests as it takes; send it again in a moment"
                .into(),
        )
    } else if error.is::<tower::timeout::error::Elapsed>() {
        GatewayError::TimedOut(state.limits.request_timeout)
    } else {
        GatewayError::Internal(format!("request limits: {error}"))
    }
}

/// The trace span of a request, as tower-http's default one but with an outbound message's
/// secret out of its path.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let uri = request.uri().to_string();
    let prefix = format!("{}/", crate::outbound::PATH);
    let uri = match uri.find(&prefix) {
        Some(at) => format!("{}<secret>", &uri[..at + prefix.len()]),
        None => uri,
    };
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %uri,
        version = ?request.version(),
    )
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// How long the store may take to answer before the instance is not ready.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// Readiness, for a load balancer: 200 while the database answers within a second (and, on
/// PostgreSQL, the instance hears the others' change hints), else 503 `not_ready` (the error
/// itself stays in the log: this route needs no sign-in).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    readiness(&state.store, READY_WITHIN).await
}

async fn readiness(store: &Store, within: Duration) -> Response {
    let message = match tokio::time::timeout(within, store.ping()).await {
        Ok(Ok(())) if !store.hint_channel_up() => {
            "the change-hint channel to the other instances is down".to_string()
        }
        Ok(Ok(())) => return Json(serde_json::json!({"status": "ready"})).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database failed");
            "the database failed".to_string()
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within {within:?}");
            format!(
                "the database did not answer within {} ms",
                within.as_millis()
            )
        }
    };
    let body = companion_api::ErrorBody {
        error: companion_api::ErrorDetail {
            code: companion_api::code::NOT_READY.to_string(),
            message,
            fields: None,
            retry_after: None,
            current: None,
        },
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn auth_config(State(state): State<Arc<AppState>>) -> Json<AuthConfig> {
    let config = &state.config;
    Json(AuthConfig {
        login_hosts: config
            .login_hosts
            .iter()
            .map(|h| LoginHost {
                label: h.label.clone(),
                url: h.url.clone(),
                authorize_url: format!("{}/services/oauth2/authorize", h.url.trim_end_matches('/')),
            })
            .collect(),
        client_id: config.client_id.clone(),
        scopes: config.scopes.clone(),
        redirect_uris: config.redirect_uris.clone(),
    })
}

/// Prometheus text format. The org's API allocation as Salesforce last reported it in
/// `Sforce-Limit-Info`, so an admin sees the gateway's cost before the org runs out; and the
/// load against this instance's limits.
async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let limits = &state.limits;
    let mut text = format!(
        "# HELP companion_requests_in_flight Requests being served (probes and hint streams not counted).\n\
         # TYPE companion_requests_in_flight gauge\n\
         companion_requests_in_flight {}\n\
         # HELP companion_requests_shed_total Requests answered 503 because a limit was reached.\n\
         # TYPE companion_requests_shed_total counter\n\
         companion_requests_shed_total{{limit=\"max_concurrent_requests\"}} {}\n\
         companion_requests_shed_total{{limit=\"max_event_streams\"}} {}\n\
         # HELP companion_event_streams_open Open /v1/events streams.\n\
         # TYPE companion_event_streams_open gauge\n\
         companion_event_streams_open {}\n",
        limits.requests_in_flight(),
        limits.shed_requests.load(Ordering::Relaxed),
        limits.shed_event_streams.load(Ordering::Relaxed),
        limits.open_event_streams(),
    );
    text.push_str(&state.store.metrics());
    if let Some(limit) = state.upstream.client.last_limit_info() {
        text.push_str(&format!(
            "# HELP companion_salesforce_api_usage Daily API requests used (last Sforce-Limit-Info).\n\
             # TYPE companion_salesforce_api_usage gauge\n\
             companion_salesforce_api_usage {}\n\
             # HELP companion_salesforce_api_limit Daily API request allocation (last Sforce-Limit-Info).\n\
             # TYPE companion_salesforce_api_limit gauge\n\
             companion_salesforce_api_limit {}\n",
            limit.used, limit.max
        ));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
}

/// PKCE verifier per RFC 7636 §4.1: 43–128 unreserved characters.
fn valid_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn exchange(
    State(state): State<Arc<AppState>>,
    body: Result<Json<ExchangeRequest>, JsonRejection>,
) -> Result<Json<ExchangeResponse>, GatewayError> {
    let request = json_body(body)?;
    // Everything is checked before any outbound request: no SSRF through login_host.
    if !state
        .config
        .login_hosts
        .iter()
        .any(|h| h.url == request.login_host)
    {
        return Err(GatewayError::BadRequest(
            "login_host is not one of the configured login hosts".into(),
        ));
    }
    if !redirect_uri_allowed(&state.config.redirect_uris, &request.redirect_uri) {
        return Err(GatewayError::BadRequest(
            "redirect_uri is not an allowed redirect URI".into(),
        ));
    }
    if request.code.is_empty() || request.code.len() > 2048 {
        return Err(GatewayError::BadRequest(
            "code is missing or too long".into(),
        ));
    }
    if !valid_code_verifier(&request.code_verifier) {
        return Err(GatewayError::BadRequest(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
        ));
    }

    let upstream = &state.upstream;
    let token = upstream
        .client
        .exchange_code(
            &request.login_host,
            &upstream.app,
            &request.code,
            &request.code_verifier,
            &request.redirect_uri,
        )
        .await
        .map_err(|e| match e {
            salesforce::Error::OAuth { body, .. } => {
                GatewayError::BadRequest(format!("Salesforce refused the sign-in: {body}"))
            }
            other => GatewayError::Salesforce(other),
        })?;
    let ids = token.identity_ids()?;
    let identity = upstream
        .client
        .identity(&token.id, &token.access_token)
        .await?;
    let user = User {
        user_id: ids.user_id.to_string(),
        org_id: ids.org_id.to_string(),
        username: identity.username,
        display_name: identity.display_name,
        email: identity.email,
    };
    let session_token = new_session_token();
    state
        .store
        .sign_in(
            NewSignIn {
                user: &user,
                login_host: &request.login_host,
                instance_url: &token.instance_url,
                access_token: &token.access_token,
                refresh_token: token.refresh_token.as_deref(),
            },
            session_token_hash(&session_token),
            now_unix(),
        )
        .await?;
    tracing::info!(user_id = %user.user_id, org_id = %user.org_id, "signed in");
    Ok(Json(ExchangeResponse {
        session_token,
        user,
    }))
}

async fn me(signed_in: SignedIn) -> Json<User> {
    Json(signed_in.user)
}

async fn logout(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
) -> Result<StatusCode, GatewayError> {
    let user_id = &signed_in.user.user_id;
    if let Some(tokens) = state.store.tokens(user_id).await? {
        let token = tokens
            .refresh_token
            .as_deref()
            .unwrap_or(&tokens.access_token);
        if let Err(e) = state
            .upstream
            .client
            .revoke_token(&tokens.login_host, token)
            .await
        {
            // The session ends anyway; the token is forgotten here either way.
            tracing::warn!(user_id = %user_id, error = %e, "revoking the Salesforce token failed");
        }
    }
    state.store.delete_session(signed_in.token_hash).await?;
    // The refresh token is revoked, so no other session of this user can work any more.
    state.store.forget_tokens(user_id).await?;
    tracing::info!(user_id = %user_id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}

async fn sync_handler(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    body: Result<Json<SyncRequest>, JsonRejection>,
) -> Result<Json<SyncResponse>, GatewayError> {
    let request = json_body(body)?;
    let response = sync::sync(
        &state.upstream,
        &state.signer,
        state.sync_page_size,
        &signed_in.user,
        request,
    )
    .await?;
    Ok(Json(response))
}

async fn describe_handler(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    axum::extract::Path(object): axum::extract::Path<String>,
) -> Result<Json<DescribeResponse>, GatewayError> {
    Ok(Json(
        crate::describe::describe(
            &state.upstream,
            &state.describe_cache,
            &signed_in.user,
            &object,
        )
        .await?,
    ))
}

async fn counts_handler(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
) -> Result<Json<CountsResponse>, GatewayError> {
    Ok(Json(sync::counts(&state.upstream, &signed_in.user).await?))
}

async fn ids_handler(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    body: Result<Json<IdsRequest>, JsonRejection>,
) -> Result<Json<IdsResponse>, GatewayError> {
    let request = json_body(body)?;
    Ok(Json(
        sync::ids(&state.upstream, &signed_in.user, request).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_verifier_rules() {
        assert!(valid_code_verifier(&"a".repeat(43)));
        assert!(valid_code_verifier(&"A-._~9".repeat(20)));
        assert!(!valid_code_verifier(&"a".repeat(42)));
        assert!(!valid_code_verifier(&"a".repeat(129)));
        assert!(!valid_code_verifier(&format!("{}'", "a".repeat(43))));
    }

    /// The trace span of every request holds its path: an outbound message's secret is cut out.
    #[test]
    fn the_request_span_never_shows_an_outbound_secret() {
        #[derive(Clone, Default)]
        struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for uri in [
                "/v1/salesforce/outbound/s3cr3t-0123456789abcdefghijklmnop",
                "/v1/salesforce/outbound/s3cr3t-0123456789abcdefghijklmnop/more?q=s3cr3t",
                "/v1/sync?page=2",
            ] {
                let request = axum::http::Request::builder()
                    .method("POST")
                    .uri(uri)
                    .body(axum::body::Body::empty())
                    .unwrap();
                let span = request_span(&request);
                let _entered = span.enter();
                tracing::debug!("answered");
            }
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            text.contains("uri=/v1/salesforce/outbound/<secret>"),
            "{text}"
        );
        assert!(text.contains("uri=/v1/sync?page=2"), "{text}");
    }

    #[tokio::test]
    async fn ready_while_the_store_answers_not_ready_when_it_stalls() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crate::store::SqliteStore::open(
            dir.path(),
            crate::crypto::TokenCipher::new(&[3u8; 32]),
        )
        .unwrap();
        let store = Store::Sqlite(sqlite.clone());
        let body = |response: Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let ready = readiness(&store, Duration::from_secs(1)).await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert_eq!(body(ready).await, serde_json::json!({"status": "ready"}));

        // Something holds the database for two seconds: not ready within the limit.
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let holder = {
            tokio::spawn(async move {
                sqlite
                    .with(move |_, _| {
                        let _ = held_tx.send(());
                        std::thread::sleep(Duration::from_secs(2));
                        Ok(())
                    })
                    .await
            })
        };
        held_rx.await.unwrap();
        let stalled = readiness(&store, Duration::from_millis(200)).await;
        assert_eq!(stalled.status(), StatusCode::SERVICE_UNAVAILABLE);
        let error = body(stalled).await;
        assert_eq!(error["error"]["code"], "not_ready");
        assert_eq!(
            error["error"]["message"],
            "the database did not answer within 200 ms"
        );
        holder.await.unwrap().unwrap();
    }
}
