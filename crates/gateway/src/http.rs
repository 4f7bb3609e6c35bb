//! The HTTP API: routes, handlers, the session extractor.

use std::sync::Arc;
use std::time::Duration;

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

use crate::app::{json_body, AppState, SignedIn};
use crate::crypto::{new_session_token, session_token_hash};
use crate::redirect::redirect_uri_allowed;
use crate::store::{NewSignIn, Store};
use crate::{now_unix, sync, writes, GatewayError};

/// Request bodies are small JSON documents.
const BODY_LIMIT: usize = 64 * 1024;
/// A batch carries up to 200 writes.
const BATCH_BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/auth/config", get(auth_config))
        .route("/v1/auth/exchange", post(exchange))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/sync", post(sync_handler))
        .route("/v1/sync/counts", post(counts_handler))
        .route("/v1/sync/ids", post(ids_handler))
        .route("/v1/describe/{object}", get(describe_handler))
        .route("/v1/events", get(crate::events::events))
        .route(
            "/v1/salesforce/outbound",
            post(crate::outbound::receive)
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
        .fallback(|| async { GatewayError::NotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
/// `Sforce-Limit-Info`, so an admin sees the gateway's cost before the org runs out.
async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut text = String::new();
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
