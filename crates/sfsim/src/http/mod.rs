//! HTTP routes: OAuth endpoints at the login host, REST under `/services/data`.
//! Issue 3 adds sobjects, composite, limits and the `/__sim` control API as further routers here.

mod composite;
mod composite_graph;
mod control;
mod identity;
mod login_page;
mod oauth;
mod outbound;
mod response;
mod rest;
mod sobjects;
mod sync_resources;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
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
        .route("/id/keys", get(oauth::jwks))
        .route("/id/{org_id}/{user_id}", get(identity::identity));

    let rest = Router::new()
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .merge(rest::versioned_routes(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rest::limit_info,
        ));

    let mut app = oauth.merge(rest);
    if state.config.control {
        app = app.merge(control::router());
    }
    let mut app = app
        // Route layers see the matched route: count it, and feed outbound messages.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            control::count_endpoint,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            outbound::notify_saved_records,
        ))
        .fallback(rest::fallback)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::limit_body,
        ));
    if state.config.control {
        app = app.layer(middleware::from_fn_with_state(
            state.clone(),
            control::apply_faults,
        ));
    }
    // Outside the faults, so a faulted REST request is slow too; not there at all when zero.
    if !state.config.latency.is_zero() {
        app = app.layer(middleware::from_fn_with_state(state.clone(), add_latency));
    }
    app.layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// `--latency-ms`: every `/services/data` request waits this long before it is handled.
async fn add_latency(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    if request.uri().path().starts_with("/services/data") {
        tokio::time::sleep(state.config.latency).await;
    }
    next.run(request).await
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
