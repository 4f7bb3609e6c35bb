//! The HTTP client shared by the OAuth and REST calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A Salesforce client. Cheap to clone; holds no user's tokens, so one serves every user.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    last_limit: Arc<Mutex<Option<LimitInfo>>>,
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
