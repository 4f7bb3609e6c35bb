//! The `/__sim` control API (not Salesforce; only with `--control`), the fault layer it drives,
//! per-endpoint counting and the request-body limit.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde::Deserialize;
use serde_json::json;

use super::response::{self, rest_error};
use crate::{
    control::{DropWhen, Fault, FaultOrder, FaultRequest},
    serve::ConnectionKill,
    state::AppState,
};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/sessions/expire", post(expire_sessions))
        .route(
            "/__sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sim/clock/advance", post(advance_clock))
        .route("/__sim/reset", post(reset))
        .route("/__sim/org", post(set_org))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgSettings {
    active: bool,
}

/// `POST /__sim/org {"active": false}`: the org stops issuing tokens (`inactive_org`);
/// `{"active": true}` brings it back.
async fn set_org(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let OrgSettings { active } = match parse_json(&body) {
        Ok(settings) => settings,
        Err(message) => return bad_request(message),
    };
    state.org().active = active;
    response::json(StatusCode::OK, &json!({ "active": active }))
}

/// A control-API refusal: `400 {"error": "..."}` (control bodies are ours, not Salesforce's).
fn bad_request(message: impl Into<String>) -> Response {
    response::json(StatusCode::BAD_REQUEST, &json!({ "error": message.into() }))
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| format!("bad JSON body: {error}"))
}

/// `GET /__sim/stats`.
async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let stats = state.control.stats();
    response::json(
        StatusCode::OK,
        &json!({
            "api_calls": state.api_calls(),
            "token_requests": stats.token_requests,
            "endpoints": stats.endpoints,
            "outbound_messages": {
                "attempts": stats.outbound_attempts,
                "acknowledged": stats.outbound_acks,
            },
            "faults": state.control.queued_faults(),
            "api_limit_exhausted": state.control.api_limit_exhausted(),
        }),
    )
}

/// `POST /__sim/sessions/expire`: every access token ends; refresh tokens keep working.
async fn expire_sessions(State(state): State<Arc<AppState>>) -> Response {
    state.org().tokens.expire_access_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(state): State<Arc<AppState>>) -> Response {
    response::json(
        StatusCode::OK,
        &json!({ "faults": state.control.queued_faults() }),
    )
}

/// `POST /__sim/faults`: `{"status": 503, "count": N}`, `{"drop_connection": "before"|"after"}`,
/// `{"delay_ms": M}` (hold, then handle), `{"delay_after_ms": M}` (handle to the end even if the
/// client hangs up, then hold the answer) or `{"api_limit_exhausted": true|false}`; `count`
/// defaults to 1 and an optional `path` prefix limits which requests are hit. Delays are at most
/// 120000 ms. Anything else is `400 {"error": "..."}`.
async fn add_fault(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: FaultRequest = match parse_json(&body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    match request.check() {
        Ok(FaultOrder::Queue(fault)) => state.control.queue_fault(fault),
        Ok(FaultOrder::ApiLimitExhausted(exhausted)) => {
            state.control.set_api_limit_exhausted(exhausted)
        }
        Err(message) => return bad_request(message),
    }
    list_faults(State(state)).await
}

async fn clear_faults(State(state): State<Arc<AppState>>) -> Response {
    state.control.reset_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

/// Ten years: far enough for any token, locator or sync window.
const MAX_ADVANCE_SECS: f64 = 10.0 * 365.0 * 86_400.0;

/// `POST /__sim/clock/advance {"seconds": S}`: tokens, codes and locators age; new stamps follow.
async fn advance_clock(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Advance { seconds } = match parse_json(&body) {
        Ok(advance) => advance,
        Err(message) => return bad_request(message),
    };
    if !seconds.is_finite() || !(0.0..=MAX_ADVANCE_SECS).contains(&seconds) {
        return bad_request("seconds must be between 0 and 315360000");
    }
    state.clock.advance(time::Duration::seconds_f64(seconds));
    response::json(
        StatusCode::OK,
        &json!({ "now": crate::clock::format_datetime(state.clock.now()) }),
    )
}

/// `POST /__sim/reset`: the org as it was at start (records, tokens, counters, clock, faults).
async fn reset(State(state): State<Arc<AppState>>) -> Response {
    state.reset();
    StatusCode::NO_CONTENT.into_response()
}

/// REST calls (the ones counted against the API limit); the versions list is not one.
fn is_rest_call(path: &str) -> bool {
    path.starts_with("/services/data/v")
}

fn with_limit_info(mut response: Response, state: &AppState) -> Response {
    let limit = state.api_usage.limit();
    let used = if state.control.api_limit_exhausted() {
        state.api_calls().max(limit)
    } else {
        state.api_calls()
    };
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{limit}")) {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    response
}

/// What a `{"status": N}` fault answers: the token endpoint's and REST's own error shapes.
/// The codes are Salesforce's (reference §1.8 `unknown_error`, §2.1 status list); the REST
/// messages for simulated failures are unconfirmed.
fn fault_response(state: &AppState, path: &str, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if path.starts_with("/services/oauth2/token") {
        return response::json(
            status,
            &json!({"error": "unknown_error", "error_description": "retry your request"}),
        );
    }
    if !is_rest_call(path) {
        return status.into_response();
    }
    let (code, message) = match status.as_u16() {
        500 => ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"),
        503 => ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
        401 => ("INVALID_SESSION_ID", "Session expired or invalid"),
        403 => ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        404 => ("NOT_FOUND", "The requested resource does not exist"),
        _ => ("UNKNOWN_EXCEPTION", "An unexpected error occurred."),
    };
    with_limit_info(rest_error(status, code, message), state)
}

/// Applies queued faults to every request outside `/__sim`.
pub async fn apply_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/__sim") {
        return next.run(request).await;
    }
    if is_rest_call(&path) && state.control.api_limit_exhausted() {
        let response = rest_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        );
        return with_limit_info(response, &state);
    }
    let Some(fault) = state.control.take_fault(&path) else {
        return next.run(request).await;
    };
    tracing::info!(?fault, %path, "simulated fault");
    match fault {
        Fault::DelayMs(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Fault::DelayAfterMs(ms) => {
            // The request runs in a task of its own: a client that hangs up (during the hold, or
            // even before the handler is done) drops this future, not the handler, so whatever
            // the request does is done before the hold starts.
            let response = match tokio::spawn(next.run(request)).await {
                Ok(response) => response,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => {
                    tracing::warn!(%error, "request under delay_after_ms did not finish");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            };
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            response
        }
        Fault::Status(status) => fault_response(&state, &path, status),
        Fault::DropConnection(when) => {
            let kill = request.extensions().get::<ConnectionKill>().cloned();
            if when == DropWhen::After {
                // The request takes effect; its response is never sent.
                drop(next.run(request).await);
            }
            match kill {
                Some(kill) => {
                    kill.fire();
                    // The connection task drops this future with the connection.
                    std::future::pending::<Response>().await
                }
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
    }
}

/// Counts requests per matched route (`GET /services/data/{version}/query`) for `/__sim/stats`.
pub async fn count_endpoint(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        if !route.as_str().starts_with("/__sim") {
            state
                .control
                .count_endpoint(request.method().as_str(), route.as_str());
        }
    }
    next.run(request).await
}

/// Refuses a body whose declared length is over the limit with `413` before reading it; a chunked
/// body is cut off by axum's `DefaultBodyLimit` (also 413). Salesforce's REST body for this
/// status is unconfirmed; the error array keeps REST clients' parsing uniform.
pub async fn limit_body(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let max = state.config.max_body_bytes;
    if declared.is_some_and(|length| length > max as u64) {
        let message = format!("Request body exceeds the limit of {max} bytes");
        return rest_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            &message,
        );
    }
    next.run(request).await
}
