//! HTTP routes: OAuth endpoints at the login host, REST under `/services/data`.
//! Issue 3 adds sobjects, composite, limits and the `/__sim` control API as further routers here.

mod identity;
mod login_page;
mod oauth;
mod response;
mod rest;

use std::sync::Arc;

use axum::{
    middleware,
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let oauth = Router::new()
        .route(
            "/services/oauth2/authorize",
            get(oauth::authorize_form).post(oauth::authorize_login),
        )
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/revoke",
            get(oauth::revoke).post(oauth::revoke),
        )
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route("/id/{org_id}/{user_id}", get(identity::identity));

    let rest = Router::new()
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .route("/services/data/{version}/query", get(rest::query))
        .route("/services/data/{version}/query/", get(rest::query))
        .route(
            "/services/data/{version}/query/{locator}",
            get(rest::query_more),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rest::limit_info,
        ));

    oauth
        .merge(rest)
        .fallback(rest::fallback)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request: method, path (never the query, which may carry a token) and status.
async fn log_request(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}
