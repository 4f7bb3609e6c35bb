//! HTTP client for the gateway's `/v1` API (types from `companion-api`).

use std::sync::Mutex;
use std::time::Duration;

use companion_api::{
    AuthConfig, BatchRequest, BatchResponse, ChangeHint, CountsResponse, DescribeResponse,
    ErrorBody, ExchangeRequest, ExchangeResponse, IdsRequest, IdsResponse, SyncRequest,
    SyncResponse,
};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error::CoreError;

/// A dead network or server must fail fast rather than hang the UI.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for one call, including a sync page the gateway fetches from Salesforce.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The change-hint stream's longest silence: the gateway sends a keep-alive comment every 15
/// seconds, so a stream quiet for this long is a dead (half-open) connection — a phone that
/// changed networks — and is dropped and opened again.
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(45);
/// The largest answer core reads from the gateway: a sync page of 2,000 records of each of five
/// objects is a few megabytes. Anything larger is refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// The largest change-hint event (a hint names a few objects).
const MAX_EVENT_BYTES: usize = 64 * 1024;

pub(crate) struct GatewayClient {
    base: Url,
    http: reqwest::Client,
    /// For the long-lived change-hint stream: no overall timeout, a read timeout instead.
    streaming: reqwest::Client,
    /// What the last call showed: `Some(true)` answered, `Some(false)` unreachable.
    reachable: Mutex<Option<bool>>,
}

impl GatewayClient {
    pub(crate) fn new(base: Url) -> Result<Self, CoreError> {
        Self::with_stream_timeout(base, STREAM_READ_TIMEOUT)
    }

    /// [`GatewayClient::new`] with another longest silence of the change-hint stream (tests).
    pub(crate) fn with_stream_timeout(
        mut base: Url,
        stream_read_timeout: Duration,
    ) -> Result<Self, CoreError> {
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
        let streaming = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(stream_read_timeout)
            .user_agent(concat!("companion-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CoreError::storage("could not set up the HTTP client", e))?;
        Ok(Self {
            base,
            http,
            streaming,
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

    /// How many records of each object the rep may see now.
    pub(crate) async fn counts(&self, session_token: &str) -> Result<CountsResponse, CoreError> {
        self.call(
            Method::POST,
            "v1/sync/counts",
            Some(session_token),
            Some(&serde_json::json!({})),
        )
        .await
    }

    /// A page of the ids of `object` the rep may see, after `after`.
    pub(crate) async fn ids(
        &self,
        session_token: &str,
        request: &IdsRequest,
    ) -> Result<IdsResponse, CoreError> {
        self.call(
            Method::POST,
            "v1/sync/ids",
            Some(session_token),
            Some(request),
        )
        .await
    }

    /// Sends queued writes (at most [`companion_api::MAX_BATCH_WRITES`]); one result per write.
    pub(crate) async fn batch(
        &self,
        session_token: &str,
        request: &BatchRequest,
    ) -> Result<BatchResponse, CoreError> {
        self.call(Method::POST, "v1/batch", Some(session_token), Some(request))
            .await
    }

    pub(crate) async fn describe(
        &self,
        session_token: &str,
        object: &str,
    ) -> Result<DescribeResponse, CoreError> {
        self.call::<(), _>(
            Method::GET,
            &format!("v1/describe/{object}"),
            Some(session_token),
            None,
        )
        .await
    }

    /// Listens to `GET /v1/events` and calls `on_hint` for each change hint, until the stream
    /// ends (`Ok`) or fails to start (`Err`). No overall timeout: the stream is long-lived.
    pub(crate) async fn watch(
        &self,
        session_token: &str,
        mut on_hint: impl FnMut(ChangeHint),
    ) -> Result<(), CoreError> {
        use eventsource_stream::Eventsource;
        let url = self.endpoint("v1/events")?;
        let response = self
            .streaming
            .get(url)
            .bearer_auth(session_token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = read_capped(response, MAX_RESPONSE_BYTES)
                .await
                .unwrap_or_default();
            return Err(error_from_status(status, &bytes));
        }
        self.set_reachable(true);
        let mut events = capped_events(response.bytes_stream()).eventsource();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) if event.event == companion_api::CHANGE_EVENT => {
                    match serde_json::from_str::<ChangeHint>(&event.data) {
                        Ok(hint) => on_hint(hint),
                        Err(e) => tracing::warn!(error = %e, "ignoring a malformed change hint"),
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::info!(error = %e, "the change-hint stream broke");
                    break;
                }
            }
        }
        Ok(())
    }

    /// Whether the gateway answers at all (`/healthz`), quickly.
    pub(crate) async fn ping(&self) -> bool {
        let Ok(url) = self.endpoint("healthz") else {
            return false;
        };
        match self.http.get(url).timeout(CONNECT_TIMEOUT).send().await {
            Ok(response) => {
                self.set_reachable(true);
                response.status().is_success()
            }
            Err(e) => {
                self.transport_error(e);
                false
            }
        }
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
        let bytes = match read_capped(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(ReadError::Transport(e)) => return Err(self.transport_error(e)),
            Err(ReadError::TooLarge) => {
                self.set_reachable(true);
                return Err(CoreError::Gateway {
                    status: status.as_u16(),
                    code: "response_too_large".into(),
                    message: format!(
                        "the answer to {path} is larger than {} MiB; nothing of it was used",
                        MAX_RESPONSE_BYTES / (1024 * 1024)
                    ),
                });
            }
        };
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

pub(crate) enum ReadError {
    Transport(reqwest::Error),
    TooLarge,
}

/// The body of an answer, refused once it passes `max` bytes (read as it arrives, so an
/// endless or huge body is never buffered whole).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The change-hint stream's bytes, ended with an error when one event grows past
/// [`MAX_EVENT_BYTES`] without its blank line (a stream that is not what it should be).
fn capped_events(
    stream: impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin {
    let mut since_event = 0usize;
    let mut previous_newline = false;
    stream.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        for byte in chunk.iter() {
            if *byte == b'\n' {
                if previous_newline {
                    since_event = 0;
                }
                previous_newline = true;
            } else if *byte != b'\r' {
                previous_newline = false;
            }
            since_event += 1;
            if since_event > MAX_EVENT_BYTES {
                return Err(std::io::Error::other(
                    "a change hint larger than any the gateway sends",
                ));
            }
        }
        Ok(chunk)
    })
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

    /// A server on loopback with `router`, and a client for it.
    async fn serve(router: axum::Router, stream_timeout: Duration) -> GatewayClient {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        GatewayClient::with_stream_timeout(url, stream_timeout).unwrap()
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_cap_is_refused_not_buffered() {
        use axum::body::Body;
        let router = axum::Router::new()
            .route(
                "/sized",
                axum::routing::get(|| async { vec![b' '; MAX_RESPONSE_BYTES + 1] }),
            )
            .route(
                // Chunked, with no length announced: counted as it arrives.
                "/streamed",
                axum::routing::get(|| async {
                    let chunk = bytes::Bytes::from(vec![b' '; 1024 * 1024]);
                    let chunks = futures_util::stream::iter(
                        (0..40).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                    );
                    Body::from_stream(chunks)
                }),
            );
        let client = serve(router, STREAM_READ_TIMEOUT).await;
        for path in ["sized", "streamed"] {
            let err = client
                .call::<(), serde_json::Value>(Method::GET, path, None, None)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, CoreError::Gateway { code, .. } if code == "response_too_large"),
                "{path}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_change_hint_stream_gone_silent_is_noticed_and_ends() {
        use axum::body::Body;
        // Headers, then nothing ever again: a half-open connection.
        let router = axum::Router::new().route(
            "/v1/events",
            axum::routing::get(|| async {
                axum::response::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(futures_util::stream::pending::<
                        Result<bytes::Bytes, std::io::Error>,
                    >()))
                    .unwrap()
            }),
        );
        let client = serve(router, Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        let ended = tokio::time::timeout(Duration::from_secs(10), client.watch("token", |_| {}))
            .await
            .expect("the silent stream ends by itself");
        assert!(ended.is_ok(), "{ended:?}: the loop reconnects");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_change_hint_too_large_ends_the_stream() {
        use axum::body::Body;
        let router = axum::Router::new().route(
            "/v1/events",
            axum::routing::get(|| async {
                // An event that never ends: without a cap it would be buffered for ever.
                let start = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"event: change\ndata: "))
                });
                let endless = futures_util::stream::repeat_with(|| {
                    Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 4096]))
                });
                axum::response::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(start.chain(endless)))
                    .unwrap()
            }),
        );
        let client = serve(router, STREAM_READ_TIMEOUT).await;
        let mut hints = 0;
        tokio::time::timeout(
            Duration::from_secs(10),
            client.watch("token", |_| hints += 1),
        )
        .await
        .expect("the stream is dropped once the event passes the cap")
        .unwrap();
        assert_eq!(hints, 0);
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
