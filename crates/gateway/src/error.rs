//! The one error type of the gateway, and how each kind answers over HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use companion_api::{code, ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Configuration is missing or wrong; the gateway does not start.
    #[error("configuration: {0}")]
    Config(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(String),
    /// The client sent something we refuse (400 `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// No `Authorization: Bearer` header (401 `unauthenticated`).
    #[error("sign in first: no session token")]
    Unauthenticated,
    /// Unknown or expired session, or Salesforce refused the refresh token (401 `reauth_required`).
    #[error("{0}")]
    ReauthRequired(String),
    /// Salesforce failed or could not be reached.
    #[error(transparent)]
    Salesforce(#[from] salesforce::Error),
    #[error("not found")]
    NotFound,
    /// This session sent too many requests (429 `rate_limited`).
    #[error("too many requests: wait {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The request body is over the gateway's limit (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("internal error: {0}")]
    Internal(String),
    /// This instance cannot serve the request for a moment (503 `unavailable`, retry after a
    /// second).
    #[error("{0}")]
    Unavailable(String),
    /// Known caller, not allowed: an outbound message from an org not configured (403 `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// The request ran past `request_timeout_secs` (504 `upstream_unavailable`). A write keeps
    /// running in its own task and is answered from its idempotency key when sent again.
    #[error(
        "no answer within {} s (Salesforce may be slow); send the request again",
        .0.as_secs()
    )]
    TimedOut(std::time::Duration),
}

impl GatewayError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        GatewayError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            GatewayError::BadRequest(_) => (StatusCode::BAD_REQUEST, code::BAD_REQUEST),
            GatewayError::Unauthenticated => (StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED),
            GatewayError::ReauthRequired(_) => (StatusCode::UNAUTHORIZED, code::REAUTH_REQUIRED),
            GatewayError::NotFound => (StatusCode::NOT_FOUND, code::NOT_FOUND),
            GatewayError::Forbidden(_) => (StatusCode::FORBIDDEN, code::FORBIDDEN),
            GatewayError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED),
            GatewayError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE)
            }
            GatewayError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE),
            GatewayError::TimedOut(_) => (StatusCode::GATEWAY_TIMEOUT, code::UPSTREAM_UNAVAILABLE),
            GatewayError::Salesforce(e) => salesforce_status(e.kind()),
            GatewayError::Config(_)
            | GatewayError::Io { .. }
            | GatewayError::Store(_)
            | GatewayError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL),
        }
    }
}

/// The one mapping of a Salesforce failure onto the `/v1` status and error code, for reads,
/// writes and batches alike: refused data is 422 `validation`, a record that is not there 404,
/// a permission missing 403, the org's API allocation used up 429, a session Salesforce no
/// longer takes 401 `reauth_required`, no answer in time 504; anything else is Salesforce not
/// answering as expected, 502.
pub(crate) fn salesforce_status(kind: salesforce::ErrorKind) -> (StatusCode, &'static str) {
    use salesforce::ErrorKind as K;
    match kind {
        K::Validation | K::BadRequest => (StatusCode::UNPROCESSABLE_ENTITY, code::VALIDATION),
        K::NotFound => (StatusCode::NOT_FOUND, code::NOT_FOUND),
        K::Forbidden => (StatusCode::FORBIDDEN, code::FORBIDDEN),
        K::RateLimited => (StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED),
        K::SessionExpired | K::ReauthRequired => (StatusCode::UNAUTHORIZED, code::REAUTH_REQUIRED),
        K::Timeout => (StatusCode::GATEWAY_TIMEOUT, code::UPSTREAM_UNAVAILABLE),
        K::Transient
        | K::PreconditionFailed
        | K::MultipleMatches
        | K::RolledBack
        | K::InvalidInput
        | K::Unexpected => (StatusCode::BAD_GATEWAY, code::UPSTREAM_UNAVAILABLE),
    }
}

impl From<rusqlite::Error> for GatewayError {
    fn from(e: rusqlite::Error) -> Self {
        GatewayError::Store(e.to_string())
    }
}

impl GatewayError {
    /// The status and the one error shape this error answers with (logged as it is built).
    pub(crate) fn to_error_body(&self) -> (StatusCode, ErrorBody) {
        let (status, code) = self.status_and_code();
        let message = match status {
            _ if matches!(self, GatewayError::TimedOut(_)) => {
                tracing::warn!(error = %self, "a request timed out");
                self.to_string()
            }
            // Internal details stay in the log.
            StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %self, "request failed");
                "internal error".to_string()
            }
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
                tracing::warn!(error = %self, "Salesforce call failed");
                format!("Salesforce did not answer as expected: {self}")
            }
            _ => self.to_string(),
        };
        let retry_after = match &self {
            GatewayError::RateLimited { retry_after } => Some(*retry_after),
            GatewayError::Unavailable(_) => Some(1),
            // Salesforce's daily limit is rolling; a minute is a polite first wait.
            _ => (status == StatusCode::TOO_MANY_REQUESTS).then_some(60),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                fields: None,
                retry_after,
                current: None,
            },
        };
        (status, body)
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, body) = self.to_error_body();
        let retry_after = body.error.retry_after;
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().expect("digits"));
        }
        response
    }
}
