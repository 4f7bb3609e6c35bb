//! HTTP client for the gateway's `/v1` API (types from `companion-api`).

use std::sync::Mutex;
use std::time::Duration;

use companion_api::{
    AuthConfig, ErrorBody, ExchangeRequest, ExchangeResponse, SyncRequest, SyncResponse,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error::CoreError;

/// A dead network or server must fail fast rather than hang the UI.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for one call, including a sync page the gateway fetches from Salesforce.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct GatewayClient {
    base: Url,
    http: reqwest::Client,
    /// What the last call showed: `Some(true)` answered, `Some(false)` unreachable.
    reachable: Mutex<Option<bool>>,
}

impl GatewayClient {
    pub(crate) fn new(mut base: Url) -> Result<Self, CoreError> {
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(CoreError::BadInput(format!(
                "The Companion server address must be an http(s) URL, not {base}"
            )));
        }
        // So that joining "v1/..." keeps any path prefix the gateway is mounted under.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("companion-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CoreError::storage("could not set up the HTTP client", e))?;
        Ok(Self {
            base,
            http,
            reachable: Mutex::new(None),
        })
    }

    pub(crate) fn reachable(&self) -> Option<bool> {
        *self.reachable.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_reachable(&self, value: bool) {
        *self.reachable.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    pub(crate) async fn auth_config(&self) -> Result<AuthConfig, CoreError> {
        self.call::<(), _>(Method::GET, "v1/auth/config", None, None)
            .await
    }

    /// Exchange errors are sign-in failures, told in the gateway's words.
    pub(crate) async fn exchange(
        &self,
        request: &ExchangeRequest,
    ) -> Result<ExchangeResponse, CoreError> {
        self.call(Method::POST, "v1/auth/exchange", None, Some(request))
            .await
            .map_err(|err| match err {
                CoreError::Gateway {
                    status, message, ..
                } if (400..500).contains(&status) => {
                    CoreError::SignInFailed(format!("Sign-in failed: {message}"))
                }
                CoreError::ReauthRequired => {
                    CoreError::SignInFailed("Sign-in failed — try again".into())
                }
                other => other,
            })
    }

    pub(crate) async fn sync(
        &self,
        session_token: &str,
        request: &SyncRequest,
    ) -> Result<SyncResponse, CoreError> {
        self.call(Method::POST, "v1/sync", Some(session_token), Some(request))
            .await
    }

    /// Ends the session at the gateway. Best effort: the caller forgets the token either way.
    pub(crate) async fn logout(&self, session_token: &str) -> Result<(), CoreError> {
        let url = self.endpoint("v1/auth/logout")?;
        let response = self
            .http
            .post(url)
            .bearer_auth(session_token)
            .timeout(CONNECT_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.set_reachable(true);
        tracing::debug!(status = %response.status(), "gateway logout answered");
        Ok(())
    }

    fn endpoint(&self, path: &str) -> Result<Url, CoreError> {
        self.base.join(path).map_err(|e| {
            CoreError::BadInput(format!("bad Companion server address {}: {e}", self.base))
        })
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        session_token: Option<&str>,
        body: Option<&B>,
    ) -> Result<T, CoreError> {
        let url = self.endpoint(path)?;
        let mut request = self.http.request(method, url);
        if let Some(token) = session_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.set_reachable(true);
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| CoreError::Gateway {
                status: status.as_u16(),
                code: "bad_response".into(),
                message: format!("unexpected answer to {path}: {e}"),
            })
        } else {
            Err(error_from_status(status, &bytes))
        }
    }

    fn transport_error(&self, err: reqwest::Error) -> CoreError {
        tracing::info!(gateway = %self.base, error = %err, "gateway unreachable");
        self.set_reachable(false);
        CoreError::Offline {
            url: self.base.to_string(),
        }
    }
}

/// Maps a non-2xx answer (`{"error": {code, message}}`, or anything else a proxy might send).
fn error_from_status(status: StatusCode, body: &[u8]) -> CoreError {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let code = detail.as_ref().map(|d| d.code.as_str()).unwrap_or("");
    if status == StatusCode::UNAUTHORIZED
        || code == companion_api::code::REAUTH_REQUIRED
        || code == companion_api::code::UNAUTHENTICATED
    {
        return CoreError::ReauthRequired;
    }
    match detail {
        Some(detail) => CoreError::Gateway {
            status: status.as_u16(),
            code: detail.code,
            message: detail.message,
        },
        None => CoreError::Gateway {
            status: status.as_u16(),
            code: "http".into(),
            message: format!("HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reauth_required_is_recognised() {
        let body = br#"{"error":{"code":"reauth_required","message":"Sign in again"}}"#;
        assert!(matches!(
            error_from_status(StatusCode::UNAUTHORIZED, body),
            CoreError::ReauthRequired
        ));
    }

    #[test]
    fn other_errors_keep_the_gateway_message() {
        let body =
            br#"{"error":{"code":"upstream_unavailable","message":"Salesforce is not answering"}}"#;
        let err = error_from_status(StatusCode::SERVICE_UNAVAILABLE, body);
        assert_eq!(err.kind(), "gateway");
        assert!(err.to_string().contains("Salesforce is not answering"));
        let err = error_from_status(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(err.kind(), "gateway");
    }

    #[test]
    fn base_url_keeps_its_path_prefix() {
        let client =
            GatewayClient::new(Url::parse("https://example.com/companion").unwrap()).unwrap();
        assert_eq!(
            client.endpoint("v1/sync").unwrap().as_str(),
            "https://example.com/companion/v1/sync"
        );
        assert!(GatewayClient::new(Url::parse("file:///tmp").unwrap()).is_err());
    }
}
