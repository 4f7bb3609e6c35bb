//! The HTTP client shared by the OAuth and REST calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use url::Url;

use crate::error::api_error;
use crate::rest::RestSession;
use crate::{Error, Result};

/// REST API version this client speaks.
pub const API_VERSION: &str = "58.0";

/// Header carrying the org's API usage (reference §2.1).
pub const LIMIT_INFO_HEADER: &str = "sforce-limit-info";

/// The API usage Salesforce reported last: `Sforce-Limit-Info: api-usage=25/5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitInfo {
    pub used: u64,
    pub max: u64,
    /// The header exactly as sent (may carry `per-app-api-usage=…` too).
    pub raw: String,
}

impl LimitInfo {
    pub fn parse(header: &str) -> Option<Self> {
        let usage = header
            .split(';')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("api-usage="))?;
        let (used, max) = usage.split_once('/')?;
        Some(LimitInfo {
            used: used.trim().parse().ok()?,
            max: max.trim().parse().ok()?,
            raw: header.to_string(),
        })
    }
}

/// Settings for [`Client::new`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout for every call.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The largest REST answer read; a larger one is refused as it streams in, never buffered
    /// whole (a query page of 2,000 wide records is a few megabytes).
    pub max_response_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: 64 << 20,
        }
    }
}

/// Reads an answer's body, refusing it as soon as it grows past `max` bytes (a declared length
/// over it is refused before reading). Over the cap is a decode error: for a write, its outcome
/// is unknown.
pub(crate) async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>> {
    let too_large = || Error::Decode(format!("the answer is over {max} bytes"));
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::from_transport)? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How reads are retried. Writes are never retried by this client: whether a write that
/// failed midway landed is for the caller to find out (the gateway does, with idempotency keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The backoff before retry `n` is drawn uniformly from `0..=min(max_delay, base_delay·2ⁿ⁻¹)`
    /// ("full jitter"), so many clients hit by one outage do not come back in step.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A read gives up when this much time has passed since its first attempt, whatever is
    /// left of its attempts ([`Error::Timeout`]). Each attempt also has the client's own
    /// timeout ([`ClientOptions::timeout`]).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt only.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The upper bound of the wait before retry number `retry` (1-based).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    fn backoff(&self, retry: u32) -> Duration {
        let cap = self.backoff_cap(retry);
        cap.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// Whether a call may be sent again after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotence {
    /// Reads: GET, query, a composite request made only of reads.
    Read,
    /// Anything that may change data: sent once.
    Write,
}

/// A success answer of a REST call.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode(format!("{what}: {e}")))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
}

/// A REST call before it is sent.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub idempotence: Idempotence,
}

impl Call {
    pub fn get(url: Url) -> Self {
        Call {
            method: Method::GET,
            url,
            body: None,
            headers: Vec::new(),
            idempotence: Idempotence::Read,
        }
    }

    /// A call that changes data, with a JSON body.
    pub fn write(method: Method, url: Url, body: Option<&serde_json::Value>) -> Result<Self> {
        Ok(Call {
            method,
            url,
            body: body
                .map(serde_json::to_vec)
                .transpose()
                .map_err(|e| Error::InvalidInput(format!("body: {e}")))?,
            headers: Vec::new(),
            idempotence: Idempotence::Write,
        })
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidInput(format!("{name} header value")))?;
        self.headers.push((HeaderName::from_static(name), value));
        Ok(self)
    }
}

/// A Salesforce client. Cheap to clone; holds no user's tokens, so one serves every user.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    last_limit: Arc<Mutex<Option<LimitInfo>>>,
    retry: RetryPolicy,
    max_response_bytes: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client whose every request has a timeout and which never follows redirects: a token
    /// or code must not be carried to a host that Salesforce's answer names.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("companion-salesforce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            last_limit: Arc::new(Mutex::new(None)),
            retry: RetryPolicy::default(),
            max_response_bytes: options.max_response_bytes,
        })
    }

    /// This client with another retry policy for reads.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Send a REST call with the session's token; reads are retried on transient failures
    /// (see [`RetryPolicy`]), writes are sent once. A non-2xx answer becomes an [`Error`].
    pub(crate) async fn send(&self, session: &RestSession, call: Call) -> Result<Reply> {
        match call.idempotence {
            Idempotence::Write => self.send_once(session, &call).await,
            Idempotence::Read => {
                tokio::time::timeout(self.retry.deadline, self.send_with_retries(session, &call))
                    .await
                    .unwrap_or(Err(Error::Timeout))
            }
        }
    }

    async fn send_with_retries(&self, session: &RestSession, call: &Call) -> Result<Reply> {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.send_once(session, call).await {
                Err(e) if attempt < attempts && e.kind().is_transient() => {
                    let wait = self.retry.backoff(attempt);
                    tracing::debug!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error = %e,
                        "transient Salesforce failure on a read; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, session: &RestSession, call: &Call) -> Result<Reply> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(&session.access_token)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|e| {
            let error = Error::from_transport(e);
            // The path only: a query string carries SOQL, which may quote user data.
            tracing::debug!(method = %call.method, path = call.url.path(), %error, "Salesforce call failed");
            error
        })?;
        self.record_limit_info(response.headers());
        let status = response.status().as_u16();
        tracing::debug!(
            method = %call.method,
            path = call.url.path(),
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Salesforce call"
        );
        let headers = response.headers().clone();
        let body = read_capped(response, self.max_response_bytes).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The last `Sforce-Limit-Info` seen on any response.
    pub fn last_limit_info(&self) -> Option<LimitInfo> {
        self.last_limit.lock().expect("limit lock").clone()
    }

    pub(crate) fn record_limit_info(&self, headers: &HeaderMap) {
        if let Some(info) = headers
            .get(LIMIT_INFO_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(LimitInfo::parse)
        {
            *self.last_limit.lock().expect("limit lock") = Some(info);
        }
    }
}

/// Parse a configured or returned base URL (login host, instance URL): http(s), no query.
pub fn parse_base_url(value: &str) -> Result<Url> {
    let url = Url::parse(value).map_err(|e| Error::InvalidUrl(format!("{value:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::InvalidUrl(format!(
            "{value:?} is not an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(Error::InvalidUrl(format!(
            "{value:?} must not have credentials, a query or a fragment"
        )));
    }
    Ok(url)
}

/// `base` + `path`, where `path` starts with `/`, ignoring any trailing slash of `base`.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url> {
    let base = base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}{path}")).map_err(|e| Error::InvalidUrl(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limit_info() {
        assert_eq!(
            LimitInfo::parse("api-usage=12/15000"),
            Some(LimitInfo {
                used: 12,
                max: 15000,
                raw: "api-usage=12/15000".into()
            })
        );
        let per_app = "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)";
        let info = LimitInfo::parse(per_app).unwrap();
        assert_eq!((info.used, info.max), (25, 5000));
        assert_eq!(LimitInfo::parse("garbage"), None);
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("https://login.salesforce.com").is_ok());
        assert!(parse_base_url("http://127.0.0.1:8700").is_ok());
        assert!(parse_base_url("file:///etc/passwd").is_err());
        assert!(parse_base_url("https://user:pw@login.salesforce.com").is_err());
        assert!(parse_base_url("not a url").is_err());
    }

    #[test]
    fn join_ignores_trailing_slash() {
        let base = parse_base_url("https://x.my.salesforce.com/").unwrap();
        assert_eq!(
            join(&base, "/services/oauth2/token").unwrap().as_str(),
            "https://x.my.salesforce.com/services/oauth2/token"
        );
    }
}
