//! Gateway configuration, from the environment or a TOML file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::GatewayError;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8710";
/// The app's deep-link callback.
pub const APP_REDIRECT_URI: &str = "companion://oauth/callback";
/// A loopback callback; as an allow-list entry it accepts any port (RFC 8252 §7.3).
pub const LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const DEFAULT_SCOPES: &[&str] = &["api", "refresh_token"];
/// Where `--dev` keeps its generated key, inside the data dir.
pub const DEV_KEY_FILE: &str = "dev-token-key";

/// A login host clients may sign in through. Unknown keys are refused: in TOML every key after
/// a `[[login_hosts]]` header belongs to it, and a setting put there by mistake must not vanish.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginHostConfig {
    pub label: String,
    /// e.g. `https://login.salesforce.com`; must be sent back exactly at exchange.
    pub url: String,
}

impl LoginHostConfig {
    /// A label guessed from the URL: Production, Sandbox, or the host name.
    pub fn from_url(url: &str) -> Self {
        let url = url.trim().to_string();
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| url.clone());
        let label = match host.as_str() {
            "login.salesforce.com" => "Production".to_string(),
            "test.salesforce.com" => "Sandbox".to_string(),
            _ => host,
        };
        LoginHostConfig { label, url }
    }
}

/// Everything the gateway needs to run. `Debug` redacts the client secret and the key.
#[derive(Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// Allow-listed login hosts; the first is the default.
    pub login_hosts: Vec<LoginHostConfig>,
    pub client_id: String,
    pub client_secret: String,
    /// Allowed redirect URIs; `http://127.0.0.1/callback` allows any loopback port.
    pub redirect_uris: Vec<String>,
    /// Holds `gateway.sqlite3`.
    pub data_dir: PathBuf,
    /// Encrypts Salesforce tokens at rest; cursor-signing keys are derived from it.
    pub token_key: [u8; 32],
    pub scopes: Vec<String>,
    /// Organization ids (15 or 18 characters) whose outbound messages are accepted, compared by
    /// their case-sensitive 15-character form. Empty: every outbound message is refused.
    pub outbound_org_ids: Vec<String>,
    /// What an outbound message must carry, in its path (`/v1/salesforce/outbound/SECRET`) or as
    /// the password of HTTP Basic credentials: at least [`MIN_OUTBOUND_SECRET_CHARS`] characters
    /// a URL path takes as they are. Required when `outbound_org_ids` is not empty. `Debug`
    /// hides it.
    pub outbound_secret: Option<String>,
    /// Outbound messages accepted per second, all senders together (bursts of four times as
    /// many); more answer 429 and Salesforce delivers them again later.
    pub outbound_rate_per_second: u32,
    /// How long any request but a change-hint stream may take before it answers 504; at least
    /// (1 + the follow-up calls of a write) upstream timeouts.
    pub request_timeout: Duration,
    /// Requests served at once (the probes and the hint streams not counted); more answer 503.
    pub max_concurrent_requests: usize,
    /// Open `/v1/events` streams; more answer 503.
    pub max_event_streams: usize,
    /// Integration-user mode (server-side work as the connected app's "Run As" user, through the
    /// `client_credentials` grant): the org's My Domain URL, e.g. `https://acme.my.salesforce.com`.
    pub integration_login_host: Option<String>,
    pub integration_enabled: bool,
    /// `postgres://…`: the store is this PostgreSQL database, which several instances may
    /// share. `None`: SQLite in `data_dir`, one instance. May hold a password: `Debug` hides it.
    pub database_url: Option<String>,
    /// Connections per instance in the PostgreSQL pool (the hint listener holds one of them).
    pub database_max_connections: u32,
    /// Timeout of every outbound Salesforce request.
    pub upstream_timeout: Duration,
    /// How long a write's idempotency key stays `in_progress` before another request may take
    /// it over (its instance died mid-write); at least ten upstream timeouts.
    pub idempotency_lease_secs: i64,
}

/// Connections per instance unless `database_max_connections` says otherwise.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;
/// The shortest outbound-message secret accepted.
pub const MIN_OUTBOUND_SECRET_CHARS: usize = 32;
/// Outbound messages per second unless `outbound_rate_per_second` says otherwise.
pub const DEFAULT_OUTBOUND_RATE_PER_SECOND: u32 = 50;
/// The request timeout unless `request_timeout_secs` says otherwise (or the upstream timeout
/// needs a longer one).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Requests served at once unless `max_concurrent_requests` says otherwise.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;
/// Open hint streams unless `max_event_streams` says otherwise.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 10_000;

/// The shortest request timeout an upstream timeout allows: a write's first call to Salesforce
/// and every follow-up call may each take the upstream timeout.
pub fn least_request_timeout(upstream_timeout: Duration) -> Duration {
    upstream_timeout * (1 + crate::batch::MAX_FOLLOW_UP_CALLS as u32)
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("login_hosts", &self.login_hosts)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("data_dir", &self.data_dir)
            .field("token_key", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("outbound_org_ids", &self.outbound_org_ids)
            .field(
                "outbound_secret",
                &self.outbound_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("outbound_rate_per_second", &self.outbound_rate_per_second)
            .field("request_timeout", &self.request_timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_event_streams", &self.max_event_streams)
            .field("integration_login_host", &self.integration_login_host)
            .field("integration_enabled", &self.integration_enabled)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("database_max_connections", &self.database_max_connections)
            .field("upstream_timeout", &self.upstream_timeout)
            .field("idempotency_lease_secs", &self.idempotency_lease_secs)
            .finish()
    }
}

/// Settings as written in a TOML file (or gathered from the environment) before defaults and
/// file references are resolved. Its `Debug` (below) never shows the secrets.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    #[serde(default)]
    login_hosts: Vec<LoginHostConfig>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    token_key: Option<String>,
    token_key_file: Option<PathBuf>,
    redirect_uris: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    outbound_org_ids: Vec<String>,
    outbound_secret: Option<String>,
    outbound_secret_file: Option<PathBuf>,
    outbound_rate_per_second: Option<u32>,
    request_timeout_secs: Option<u64>,
    max_concurrent_requests: Option<usize>,
    max_event_streams: Option<usize>,
    integration_login_host: Option<String>,
    #[serde(default)]
    integration_enabled: bool,
    database_url: Option<String>,
    database_url_file: Option<PathBuf>,
    database_max_connections: Option<u32>,
    upstream_timeout_secs: Option<u64>,
    idempotency_lease_secs: Option<i64>,
}

impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("RawConfig")
            .field("listen", &self.listen)
            .field("login_hosts", &self.login_hosts)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("client_secret_file", &self.client_secret_file)
            .field("data_dir", &self.data_dir)
            .field("token_key", &redacted(&self.token_key))
            .field("token_key_file", &self.token_key_file)
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("outbound_org_ids", &self.outbound_org_ids)
            .field("outbound_secret", &redacted(&self.outbound_secret))
            .field("outbound_secret_file", &self.outbound_secret_file)
            .field("outbound_rate_per_second", &self.outbound_rate_per_second)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_event_streams", &self.max_event_streams)
            .field("integration_login_host", &self.integration_login_host)
            .field("integration_enabled", &self.integration_enabled)
            .field("database_url", &redacted(&self.database_url))
            .field("database_url_file", &self.database_url_file)
            .field("database_max_connections", &self.database_max_connections)
            .field("upstream_timeout_secs", &self.upstream_timeout_secs)
            .field("idempotency_lease_secs", &self.idempotency_lease_secs)
            .finish()
    }
}

impl GatewayConfig {
    /// A config with the defaults (listen on 127.0.0.1 port 0, both redirect URIs, default
    /// scopes) for one login host. Handy for tests and embedding.
    pub fn new(
        login_url: &str,
        client_id: &str,
        client_secret: &str,
        data_dir: impl Into<PathBuf>,
        token_key: [u8; 32],
    ) -> Self {
        GatewayConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            login_hosts: vec![LoginHostConfig::from_url(login_url)],
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_uris: default_redirect_uris(),
            data_dir: data_dir.into(),
            token_key,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            outbound_org_ids: Vec::new(),
            outbound_secret: None,
            outbound_rate_per_second: DEFAULT_OUTBOUND_RATE_PER_SECOND,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_event_streams: DEFAULT_MAX_EVENT_STREAMS,
            integration_login_host: None,
            integration_enabled: false,
            database_url: None,
            database_max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            upstream_timeout: crate::UPSTREAM_TIMEOUT,
            idempotency_lease_secs: crate::idempotency::IN_PROGRESS_LEASE_SECS,
        }
    }

    /// From the process environment: `COMPANION_GATEWAY_LISTEN`, `SALESFORCE_LOGIN_URL`
    /// (comma-separated), `SALESFORCE_CLIENT_ID`, `SALESFORCE_CLIENT_SECRET` or
    /// `SALESFORCE_CLIENT_SECRET_FILE`, `COMPANION_GATEWAY_DATA_DIR`,
    /// `COMPANION_GATEWAY_TOKEN_KEY` (base64 of 32 bytes) or `COMPANION_GATEWAY_TOKEN_KEY_FILE`,
    /// `COMPANION_GATEWAY_REDIRECT_URIS` (comma-separated), `SALESFORCE_SCOPES` (space-separated),
    /// `COMPANION_GATEWAY_OUTBOUND_ORG_IDS` (comma-separated),
    /// `COMPANION_GATEWAY_OUTBOUND_SECRET` or `COMPANION_GATEWAY_OUTBOUND_SECRET_FILE`,
    /// `COMPANION_GATEWAY_OUTBOUND_RATE_PER_SECOND`, `COMPANION_GATEWAY_REQUEST_TIMEOUT_SECS`,
    /// `COMPANION_GATEWAY_MAX_CONCURRENT_REQUESTS`, `COMPANION_GATEWAY_MAX_EVENT_STREAMS`,
    /// `COMPANION_GATEWAY_INTEGRATION_LOGIN_HOST` and `COMPANION_GATEWAY_INTEGRATION_ENABLED`
    /// (`true`/`false`), `COMPANION_GATEWAY_DATABASE_URL` or `COMPANION_GATEWAY_DATABASE_URL_FILE`
    /// (`postgres://…`), `COMPANION_GATEWAY_DATABASE_MAX_CONNECTIONS`,
    /// `COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS`, `COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS`.
    pub fn from_env(dev: bool) -> Result<Self, GatewayError> {
        Self::from_lookup(|name| std::env::var(name).ok(), dev)
    }

    /// [`GatewayConfig::from_env`] with any variable source.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        dev: bool,
    ) -> Result<Self, GatewayError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let list = |value: String, sep: char| -> Vec<String> {
            value
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let raw = RawConfig {
            listen: get("COMPANION_GATEWAY_LISTEN"),
            login_hosts: get("SALESFORCE_LOGIN_URL")
                .map(|v| {
                    list(v, ',')
                        .iter()
                        .map(|u| LoginHostConfig::from_url(u))
                        .collect()
                })
                .unwrap_or_default(),
            client_id: get("SALESFORCE_CLIENT_ID"),
            client_secret: get("SALESFORCE_CLIENT_SECRET"),
            client_secret_file: get("SALESFORCE_CLIENT_SECRET_FILE").map(PathBuf::from),
            data_dir: get("COMPANION_GATEWAY_DATA_DIR").map(PathBuf::from),
            token_key: get("COMPANION_GATEWAY_TOKEN_KEY"),
            token_key_file: get("COMPANION_GATEWAY_TOKEN_KEY_FILE").map(PathBuf::from),
            redirect_uris: get("COMPANION_GATEWAY_REDIRECT_URIS").map(|v| list(v, ',')),
            scopes: get("SALESFORCE_SCOPES").map(|v| list(v, ' ')),
            outbound_org_ids: get("COMPANION_GATEWAY_OUTBOUND_ORG_IDS")
                .map(|v| list(v, ','))
                .unwrap_or_default(),
            outbound_secret: get("COMPANION_GATEWAY_OUTBOUND_SECRET"),
            outbound_secret_file: get("COMPANION_GATEWAY_OUTBOUND_SECRET_FILE").map(PathBuf::from),
            outbound_rate_per_second: parse_number(
                get("COMPANION_GATEWAY_OUTBOUND_RATE_PER_SECOND"),
                "COMPANION_GATEWAY_OUTBOUND_RATE_PER_SECOND",
            )?,
            request_timeout_secs: parse_number(
                get("COMPANION_GATEWAY_REQUEST_TIMEOUT_SECS"),
                "COMPANION_GATEWAY_REQUEST_TIMEOUT_SECS",
            )?,
            max_concurrent_requests: parse_number(
                get("COMPANION_GATEWAY_MAX_CONCURRENT_REQUESTS"),
                "COMPANION_GATEWAY_MAX_CONCURRENT_REQUESTS",
            )?,
            max_event_streams: parse_number(
                get("COMPANION_GATEWAY_MAX_EVENT_STREAMS"),
                "COMPANION_GATEWAY_MAX_EVENT_STREAMS",
            )?,
            integration_login_host: get("COMPANION_GATEWAY_INTEGRATION_LOGIN_HOST"),
            integration_enabled: match get("COMPANION_GATEWAY_INTEGRATION_ENABLED") {
                None => false,
                Some(v) => parse_flag(&v, "COMPANION_GATEWAY_INTEGRATION_ENABLED")?,
            },
            database_url: get("COMPANION_GATEWAY_DATABASE_URL"),
            database_url_file: get("COMPANION_GATEWAY_DATABASE_URL_FILE").map(PathBuf::from),
            database_max_connections: parse_number(
                get("COMPANION_GATEWAY_DATABASE_MAX_CONNECTIONS"),
                "COMPANION_GATEWAY_DATABASE_MAX_CONNECTIONS",
            )?,
            upstream_timeout_secs: parse_number(
                get("COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS"),
                "COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS",
            )?,
            idempotency_lease_secs: parse_number(
                get("COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS"),
                "COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS",
            )?,
        };
        raw.resolve(dev)
    }

    /// From a TOML file; keys: `listen`, `[[login_hosts]] label/url`, `client_id`,
    /// `client_secret` or `client_secret_file`, `data_dir`, `token_key` or `token_key_file`,
    /// `redirect_uris`, `scopes`, `outbound_org_ids`, `outbound_secret` or
    /// `outbound_secret_file`, `outbound_rate_per_second`, `request_timeout_secs`,
    /// `max_concurrent_requests`, `max_event_streams`, `integration_login_host`,
    /// `integration_enabled`, `database_url` or `database_url_file`, `database_max_connections`,
    /// `upstream_timeout_secs`, `idempotency_lease_secs`. Relative paths are relative to the file.
    pub fn from_toml_file(path: &Path, dev: bool) -> Result<Self, GatewayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| GatewayError::io(format!("reading config file {}", path.display()), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml_str(&text, base, dev)
    }

    /// [`GatewayConfig::from_toml_file`] from text; relative paths are taken from `base`.
    pub fn from_toml_str(text: &str, base: &Path, dev: bool) -> Result<Self, GatewayError> {
        let mut raw: RawConfig = toml::from_str(text)
            .map_err(|e| GatewayError::Config(format!("config file: {}", e.message())))?;
        for path in [
            raw.client_secret_file.as_mut(),
            raw.data_dir.as_mut(),
            raw.token_key_file.as_mut(),
            raw.database_url_file.as_mut(),
            raw.outbound_secret_file.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        raw.resolve(dev)
    }

    /// Check what the gateway cannot run without.
    pub fn validate(&self) -> Result<(), GatewayError> {
        if self.login_hosts.is_empty() {
            return Err(GatewayError::Config(
                "no login host: set SALESFORCE_LOGIN_URL (e.g. https://login.salesforce.com)"
                    .into(),
            ));
        }
        for host in &self.login_hosts {
            salesforce::parse_base_url(&host.url)
                .map_err(|e| GatewayError::Config(format!("login host: {e}")))?;
        }
        if self.client_id.trim().is_empty() {
            return Err(GatewayError::Config(
                "no client id: set SALESFORCE_CLIENT_ID".into(),
            ));
        }
        if self.client_secret.is_empty() {
            return Err(GatewayError::Config(
                "no client secret: set SALESFORCE_CLIENT_SECRET or SALESFORCE_CLIENT_SECRET_FILE"
                    .into(),
            ));
        }
        if self.redirect_uris.is_empty() {
            return Err(GatewayError::Config("no redirect URI allowed".into()));
        }
        for uri in &self.redirect_uris {
            url::Url::parse(uri)
                .map_err(|e| GatewayError::Config(format!("redirect URI {uri:?}: {e}")))?;
        }
        for id in &self.outbound_org_ids {
            salesforce::RecordId::parse_for("Organization", id).map_err(|e| {
                GatewayError::Config(format!(
                    "outbound org id {id:?} is not an organization id (00D…): {e}"
                ))
            })?;
        }
        match &self.outbound_secret {
            None if !self.outbound_org_ids.is_empty() => {
                return Err(GatewayError::Config(format!(
                    "outbound_org_ids is set but there is no outbound secret: set \
                     COMPANION_GATEWAY_OUTBOUND_SECRET or COMPANION_GATEWAY_OUTBOUND_SECRET_FILE \
                     (TOML outbound_secret or outbound_secret_file), at least \
                     {MIN_OUTBOUND_SECRET_CHARS} characters (e.g. `openssl rand -hex 32`), and end \
                     the outbound message's endpoint URL with /v1/salesforce/outbound/SECRET"
                )));
            }
            None => {}
            Some(secret) => {
                if secret.chars().count() < MIN_OUTBOUND_SECRET_CHARS {
                    return Err(GatewayError::Config(format!(
                        "the outbound secret must be at least {MIN_OUTBOUND_SECRET_CHARS} \
                         characters (e.g. `openssl rand -hex 32`)"
                    )));
                }
                if !secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
                {
                    return Err(GatewayError::Config(
                        "the outbound secret goes into a URL as it is: use only A-Z a-z 0-9 - . _ ~"
                            .into(),
                    ));
                }
            }
        }
        if self.outbound_rate_per_second == 0 {
            return Err(GatewayError::Config(
                "outbound_rate_per_second must be at least 1".into(),
            ));
        }
        for (name, value) in [
            ("max_concurrent_requests", self.max_concurrent_requests),
            ("max_event_streams", self.max_event_streams),
        ] {
            if !(1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&value) {
                return Err(GatewayError::Config(format!(
                    "{name} must be 1 to {}",
                    tokio::sync::Semaphore::MAX_PERMITS
                )));
            }
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(GatewayError::Config(
                    "database URL must start with postgres:// or postgresql:// (leave it unset \
                     for SQLite in the data dir)"
                        .into(),
                ));
            }
        }
        if self.database_max_connections < 2 {
            return Err(GatewayError::Config(
                "database_max_connections must be at least 2 (the hint listener holds one)".into(),
            ));
        }
        if self.upstream_timeout.is_zero() {
            return Err(GatewayError::Config(
                "upstream_timeout_secs must be at least 1".into(),
            ));
        }
        let least_lease =
            crate::idempotency::LEASE_PER_UPSTREAM_TIMEOUT * self.upstream_timeout.as_secs().max(1);
        if self.idempotency_lease_secs < least_lease as i64 {
            return Err(GatewayError::Config(format!(
                "idempotency_lease_secs must be at least {least_lease} (ten upstream timeouts): \
                 a key must not be taken over while its first request may still be writing"
            )));
        }
        let least_request = least_request_timeout(self.upstream_timeout);
        if self.request_timeout < least_request {
            return Err(GatewayError::Config(format!(
                "request_timeout_secs must be at least {} ((1 + {} follow-up calls) × \
                 upstream_timeout_secs): a write's calls to Salesforce must fit in one request",
                least_request.as_secs(),
                crate::batch::MAX_FOLLOW_UP_CALLS
            )));
        }
        crate::integration::validate_config(self)?;
        Ok(())
    }
}

fn default_redirect_uris() -> Vec<String> {
    vec![
        APP_REDIRECT_URI.to_string(),
        LOOPBACK_REDIRECT_URI.to_string(),
    ]
}

impl RawConfig {
    fn resolve(self, dev: bool) -> Result<GatewayConfig, GatewayError> {
        let listen_text = self.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().map_err(|_| {
            GatewayError::Config(format!("listen address {listen_text:?} is not HOST:PORT"))
        })?;
        let client_secret = match (self.client_secret, self.client_secret_file) {
            (Some(secret), _) => secret,
            (None, Some(file)) => std::fs::read_to_string(&file)
                .map_err(|e| {
                    GatewayError::io(format!("reading client secret file {}", file.display()), e)
                })?
                .trim()
                .to_string(),
            (None, None) => String::new(),
        };
        let outbound_secret = match (self.outbound_secret, self.outbound_secret_file) {
            (Some(secret), _) => Some(secret),
            (None, Some(file)) => Some(
                std::fs::read_to_string(&file)
                    .map_err(|e| {
                        GatewayError::io(
                            format!("reading outbound secret file {}", file.display()),
                            e,
                        )
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let upstream_timeout = self
            .upstream_timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(crate::UPSTREAM_TIMEOUT);
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from("companion-gateway-data"));
        let token_key = match (self.token_key, self.token_key_file) {
            (Some(text), _) => decode_key(&text, "COMPANION_GATEWAY_TOKEN_KEY")?,
            (None, Some(file)) => read_key_file(&file)?,
            (None, None) if dev => dev_key(&data_dir)?,
            (None, None) => {
                return Err(GatewayError::Config(
                    "no token key: set COMPANION_GATEWAY_TOKEN_KEY (base64 of 32 random bytes, e.g. \
                     `openssl rand -base64 32`) or COMPANION_GATEWAY_TOKEN_KEY_FILE; or run with --dev \
                     for a generated development key"
                        .into(),
                ))
            }
        };
        let config = GatewayConfig {
            listen,
            login_hosts: self.login_hosts,
            client_id: self.client_id.unwrap_or_default(),
            client_secret,
            redirect_uris: self.redirect_uris.unwrap_or_else(default_redirect_uris),
            data_dir,
            token_key,
            scopes: self
                .scopes
                .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
            outbound_org_ids: self.outbound_org_ids,
            outbound_secret,
            outbound_rate_per_second: self
                .outbound_rate_per_second
                .unwrap_or(DEFAULT_OUTBOUND_RATE_PER_SECOND),
            // Unset, it grows with a longer upstream timeout rather than refuse it.
            request_timeout: self
                .request_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or_else(|| {
                    DEFAULT_REQUEST_TIMEOUT.max(least_request_timeout(upstream_timeout))
                }),
            max_concurrent_requests: self
                .max_concurrent_requests
                .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS),
            max_event_streams: self.max_event_streams.unwrap_or(DEFAULT_MAX_EVENT_STREAMS),
            integration_login_host: self.integration_login_host,
            integration_enabled: self.integration_enabled,
            database_url: match (self.database_url, self.database_url_file) {
                (Some(url), _) => Some(url),
                (None, Some(file)) => Some(
                    std::fs::read_to_string(&file)
                        .map_err(|e| {
                            GatewayError::io(
                                format!("reading database URL file {}", file.display()),
                                e,
                            )
                        })?
                        .trim()
                        .to_string(),
                ),
                (None, None) => None,
            },
            database_max_connections: self
                .database_max_connections
                .unwrap_or(DEFAULT_DATABASE_MAX_CONNECTIONS),
            upstream_timeout,
            idempotency_lease_secs: self
                .idempotency_lease_secs
                .unwrap_or(crate::idempotency::IN_PROGRESS_LEASE_SECS),
        };
        config.validate()?;
        Ok(config)
    }
}

fn parse_number<T: std::str::FromStr>(
    value: Option<String>,
    what: &str,
) -> Result<Option<T>, GatewayError> {
    value
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| GatewayError::Config(format!("{what} must be a whole number")))
        })
        .transpose()
}

fn parse_flag(value: &str, what: &str) -> Result<bool, GatewayError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(GatewayError::Config(format!(
            "{what} must be true or false, not {value:?}"
        ))),
    }
}

fn decode_key(text: &str, what: &str) -> Result<[u8; 32], GatewayError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| GatewayError::Config(format!("{what} is not base64")))?;
    bytes
        .try_into()
        .map_err(|_| GatewayError::Config(format!("{what} must decode to exactly 32 bytes")))
}

fn read_key_file(path: &Path) -> Result<[u8; 32], GatewayError> {
    let bytes = std::fs::read(path)
        .map_err(|e| GatewayError::io(format!("reading token key file {}", path.display()), e))?;
    // 32 raw bytes, or base64 text.
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(raw);
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        GatewayError::Config(format!(
            "token key file {} is neither 32 bytes nor base64",
            path.display()
        ))
    })?;
    decode_key(&text, &format!("token key file {}", path.display()))
}

/// `--dev`: a key kept in the data dir, made on first use. Fine for a laptop, never for
/// production: anyone who can read the data dir can read the tokens.
fn dev_key(data_dir: &Path) -> Result<[u8; 32], GatewayError> {
    let path = data_dir.join(DEV_KEY_FILE);
    if path.exists() {
        tracing::warn!(path = %path.display(), "--dev: using the development token key from the data dir");
        return read_key_file(&path);
    }
    crate::private_files::create_dir(data_dir)?;
    let key: [u8; 32] = rand::random();
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    write_private(&path, text.as_bytes())?;
    tracing::warn!(path = %path.display(), "--dev: generated a development token key; do not use --dev in production");
    eprintln!(
        "warning: --dev generated a token key in {}; do not use --dev in production",
        path.display()
    );
    Ok(key)
}

/// Write a file only its owner can read.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), GatewayError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| GatewayError::io(format!("creating {}", path.display()), e))?;
    file.write_all(contents)
        .map_err(|e| GatewayError::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn base_env() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "SALESFORCE_LOGIN_URL",
                "https://login.salesforce.com, https://test.salesforce.com",
            ),
            ("SALESFORCE_CLIENT_ID", "companion-demo"),
            ("SALESFORCE_CLIENT_SECRET", "companion-demo-secret"),
            ("COMPANION_GATEWAY_TOKEN_KEY", KEY_B64),
        ]
    }

    #[test]
    fn reads_the_environment_with_defaults() {
        let config = GatewayConfig::from_lookup(env(&base_env()), false).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.login_hosts.len(), 2);
        assert_eq!(config.login_hosts[0].label, "Production");
        assert_eq!(config.login_hosts[1].label, "Sandbox");
        assert_eq!(config.login_hosts[1].url, "https://test.salesforce.com");
        assert_eq!(config.token_key[31], 31);
        assert_eq!(config.scopes, vec!["api", "refresh_token"]);
        assert_eq!(
            config.redirect_uris,
            vec![APP_REDIRECT_URI, LOOPBACK_REDIRECT_URI]
        );
    }

    #[test]
    fn refuses_to_start_without_a_key_unless_dev() {
        let mut vars = base_env();
        vars.retain(|(k, _)| *k != "COMPANION_GATEWAY_TOKEN_KEY");
        let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
        assert!(
            err.to_string().contains("COMPANION_GATEWAY_TOKEN_KEY"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        vars.push(("COMPANION_GATEWAY_DATA_DIR", data_dir.to_str().unwrap()));
        let first = GatewayConfig::from_lookup(env(&vars), true).unwrap();
        let again = GatewayConfig::from_lookup(env(&vars), true).unwrap();
        assert_eq!(first.token_key, again.token_key, "the dev key is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data_dir.join(DEV_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "dev key readable by others");
        }
    }

    #[test]
    fn bad_keys_are_refused_clearly() {
        let mut vars = base_env();
        vars.retain(|(k, _)| *k != "COMPANION_GATEWAY_TOKEN_KEY");
        vars.push(("COMPANION_GATEWAY_TOKEN_KEY", "c2hvcnQ="));
        let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }

    #[test]
    fn missing_secret_or_login_host_is_refused() {
        let mut vars = base_env();
        vars.retain(|(k, _)| *k != "SALESFORCE_CLIENT_SECRET");
        assert!(GatewayConfig::from_lookup(env(&vars), false)
            .unwrap_err()
            .to_string()
            .contains("SALESFORCE_CLIENT_SECRET"));
        let mut vars = base_env();
        vars.retain(|(k, _)| *k != "SALESFORCE_LOGIN_URL");
        assert!(GatewayConfig::from_lookup(env(&vars), false)
            .unwrap_err()
            .to_string()
            .contains("SALESFORCE_LOGIN_URL"));
    }

    const OUTBOUND_SECRET: &str = "outbound-secret-0123456789abcdefXYZ";

    #[test]
    fn debug_redacts_secret_and_key() {
        let mut vars = base_env();
        vars.push(("COMPANION_GATEWAY_OUTBOUND_SECRET", OUTBOUND_SECRET));
        let config = GatewayConfig::from_lookup(env(&vars), false).unwrap();
        assert_eq!(config.outbound_secret.as_deref(), Some(OUTBOUND_SECRET));
        let shown = format!("{config:?}");
        assert!(!shown.contains(OUTBOUND_SECRET), "{shown}");
        assert!(!shown.contains("companion-demo-secret"));
        assert!(!shown.contains("31"), "key bytes shown: {shown}");
        assert!(shown.contains("companion-demo"));
    }

    /// The settings as read, before they are resolved, hide the secret and the key too.
    #[test]
    fn raw_settings_never_show_the_secret_or_the_key() {
        let raw: RawConfig = toml::from_str(&format!(
            "client_id = \"companion-demo\"\nclient_secret = \"s3cr3t-value\"\ntoken_key = \"{KEY_B64}\"\n\
             outbound_secret = \"{OUTBOUND_SECRET}\"\n"
        ))
        .unwrap();
        let shown = format!("{raw:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains(OUTBOUND_SECRET), "{shown}");
        assert!(!shown.contains(KEY_B64), "{shown}");
        assert!(shown.contains("companion-demo"), "{shown}");
    }

    #[test]
    fn outbound_org_ids_and_integration_mode_from_the_environment() {
        let config = GatewayConfig::from_lookup(env(&base_env()), false).unwrap();
        assert!(config.outbound_org_ids.is_empty());
        assert!(!config.integration_enabled);

        let mut vars = base_env();
        vars.push((
            "COMPANION_GATEWAY_OUTBOUND_ORG_IDS",
            "00D7F00000107XsUAI, 00D7F00000107Xs",
        ));
        vars.push(("COMPANION_GATEWAY_OUTBOUND_SECRET", OUTBOUND_SECRET));
        vars.push((
            "COMPANION_GATEWAY_INTEGRATION_LOGIN_HOST",
            "https://acme.my.salesforce.com",
        ));
        vars.push(("COMPANION_GATEWAY_INTEGRATION_ENABLED", "true"));
        let config = GatewayConfig::from_lookup(env(&vars), false).unwrap();
        assert_eq!(
            config.outbound_org_ids,
            vec!["00D7F00000107XsUAI", "00D7F00000107Xs"]
        );
        assert!(config.integration_enabled);
        assert_eq!(
            config.integration_login_host.as_deref(),
            Some("https://acme.my.salesforce.com")
        );

        for (name, value, expected) in [
            // Not an org id: an Account id, a bad checksum, garbage.
            (
                "COMPANION_GATEWAY_OUTBOUND_ORG_IDS",
                "0011U00000V0tkDQAR",
                "00D",
            ),
            (
                "COMPANION_GATEWAY_OUTBOUND_ORG_IDS",
                "00D7F00000107XsAAA",
                "00D",
            ),
            ("COMPANION_GATEWAY_OUTBOUND_ORG_IDS", "acme", "00D"),
            (
                "COMPANION_GATEWAY_INTEGRATION_ENABLED",
                "maybe",
                "true or false",
            ),
        ] {
            let mut vars = base_env();
            vars.push((name, value));
            let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
            assert!(err.to_string().contains(expected), "{value}: {err}");
        }
        let mut vars = base_env();
        vars.push(("COMPANION_GATEWAY_INTEGRATION_ENABLED", "1"));
        let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
        assert!(err.to_string().contains("INTEGRATION_LOGIN_HOST"), "{err}");
    }

    #[test]
    fn the_deployment_example_is_a_config_the_gateway_takes() {
        let dir = tempfile::tempdir().unwrap();
        let example = include_str!("../../../deploy/gateway.toml");
        std::fs::write(dir.path().join("client-secret"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("token-key"), KEY_B64).unwrap();
        std::fs::write(
            dir.path().join("database-url"),
            "postgres://companion:pw@db.internal:5432/companion\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("outbound-secret"), OUTBOUND_SECRET).unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, example).unwrap();
        let config = GatewayConfig::from_toml_file(&path, false).unwrap();
        assert_eq!(
            config.database_url.as_deref(),
            Some("postgres://companion:pw@db.internal:5432/companion")
        );
        assert_eq!(config.database_max_connections, 20);
        assert_eq!(config.login_hosts.len(), 2);
        assert_eq!(config.upstream_timeout, Duration::from_secs(30));
        assert_eq!(config.idempotency_lease_secs, 300);
        assert_eq!(config.outbound_secret.as_deref(), Some(OUTBOUND_SECRET));
        // The database password never shows.
        assert!(!format!("{config:?}").contains(":pw@"));

        // A setting written after a [[login_hosts]] header lands in that table: refused, by name.
        let misplaced = format!(
            "[[login_hosts]]\nlabel = \"P\"\nurl = \"https://login.salesforce.com\"\n{example}"
        );
        std::fs::write(&path, misplaced).unwrap();
        let error = GatewayConfig::from_toml_file(&path, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field"), "{error}");
    }

    #[test]
    fn reads_a_toml_file_with_secret_and_key_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "companion-demo-secret\n").unwrap();
        std::fs::write(dir.path().join("key"), KEY_B64).unwrap();
        std::fs::write(
            dir.path().join("outbound-secret"),
            format!("{OUTBOUND_SECRET}\n"),
        )
        .unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            r#"
listen = "127.0.0.1:9999"
client_id = "companion-demo"
client_secret_file = "secret"
token_key_file = "key"
data_dir = "data"
redirect_uris = ["companion://oauth/callback"]
outbound_org_ids = ["00D7F00000107XsUAI"]
outbound_secret_file = "outbound-secret"
integration_login_host = "https://acme.my.salesforce.com"
integration_enabled = true

[[login_hosts]]
label = "Demo org"
url = "http://127.0.0.1:8700"
"#,
        )
        .unwrap();
        let config = GatewayConfig::from_toml_file(&path, false).unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.client_secret, "companion-demo-secret");
        assert_eq!(config.token_key[1], 1);
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.login_hosts[0].label, "Demo org");
        assert_eq!(config.redirect_uris, vec!["companion://oauth/callback"]);
        assert_eq!(config.outbound_org_ids, vec!["00D7F00000107XsUAI"]);
        assert_eq!(config.outbound_secret.as_deref(), Some(OUTBOUND_SECRET));
        assert!(config.integration_enabled);

        std::fs::write(&path, "clientid = 'typo'").unwrap();
        let err = GatewayConfig::from_toml_file(&path, false).unwrap_err();
        assert!(err.to_string().contains("clientid"), "{err}");
    }

    #[test]
    fn outbound_org_ids_need_a_long_url_safe_secret() {
        let mut vars = base_env();
        vars.push(("COMPANION_GATEWAY_OUTBOUND_ORG_IDS", "00D7F00000107XsUAI"));
        let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
        for expected in [
            "no outbound secret",
            "COMPANION_GATEWAY_OUTBOUND_SECRET",
            "outbound_secret_file",
            "/v1/salesforce/outbound/SECRET",
        ] {
            assert!(err.to_string().contains(expected), "{expected}: {err}");
        }
        for (secret, expected) in [
            (&OUTBOUND_SECRET[..31], "at least 32 characters"),
            ("outbound/secret-0123456789abcdefXYZ", "A-Z a-z 0-9 - . _ ~"),
            ("outbound secret 0123456789abcdefXYZ", "A-Z a-z 0-9 - . _ ~"),
        ] {
            let mut with_secret = vars.clone();
            with_secret.push(("COMPANION_GATEWAY_OUTBOUND_SECRET", secret));
            let err = GatewayConfig::from_lookup(env(&with_secret), false).unwrap_err();
            assert!(err.to_string().contains(expected), "{secret}: {err}");
            assert!(!err.to_string().contains(secret), "the secret is not shown");
        }

        // From a file, trimmed; a secret without org ids is fine (every message is refused).
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outbound-secret");
        std::fs::write(&file, format!("  {OUTBOUND_SECRET}\n")).unwrap();
        let mut from_file = vars.clone();
        from_file.push((
            "COMPANION_GATEWAY_OUTBOUND_SECRET_FILE",
            file.to_str().unwrap(),
        ));
        let config = GatewayConfig::from_lookup(env(&from_file), false).unwrap();
        assert_eq!(config.outbound_secret.as_deref(), Some(OUTBOUND_SECRET));
        let mut without_org_ids = base_env();
        without_org_ids.push(("COMPANION_GATEWAY_OUTBOUND_SECRET", OUTBOUND_SECRET));
        GatewayConfig::from_lookup(env(&without_org_ids), false).unwrap();
    }

    #[test]
    fn request_limits_have_defaults_and_bounds() {
        let config = GatewayConfig::from_lookup(env(&base_env()), false).unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(120));
        assert_eq!(config.max_concurrent_requests, 512);
        assert_eq!(config.max_event_streams, 10_000);
        assert_eq!(config.outbound_rate_per_second, 50);
        assert_eq!(
            least_request_timeout(crate::UPSTREAM_TIMEOUT),
            DEFAULT_REQUEST_TIMEOUT,
            "the default is exactly what the default upstream timeout needs"
        );

        let mut vars = base_env();
        vars.extend([
            ("COMPANION_GATEWAY_REQUEST_TIMEOUT_SECS", "300"),
            ("COMPANION_GATEWAY_MAX_CONCURRENT_REQUESTS", "64"),
            ("COMPANION_GATEWAY_MAX_EVENT_STREAMS", "100"),
            ("COMPANION_GATEWAY_OUTBOUND_RATE_PER_SECOND", "5"),
        ]);
        let config = GatewayConfig::from_lookup(env(&vars), false).unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(300));
        assert_eq!(config.max_concurrent_requests, 64);
        assert_eq!(config.max_event_streams, 100);
        assert_eq!(config.outbound_rate_per_second, 5);

        // Unset, the request timeout grows with a longer upstream timeout.
        let mut vars = base_env();
        vars.push(("COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS", "60"));
        vars.push(("COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS", "600"));
        let config = GatewayConfig::from_lookup(env(&vars), false).unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(240));

        for (name, value, expected) in [
            (
                "COMPANION_GATEWAY_REQUEST_TIMEOUT_SECS",
                "119",
                "request_timeout_secs must be at least 120",
            ),
            (
                "COMPANION_GATEWAY_MAX_CONCURRENT_REQUESTS",
                "0",
                "max_concurrent_requests must be 1 to",
            ),
            (
                "COMPANION_GATEWAY_MAX_EVENT_STREAMS",
                "0",
                "max_event_streams must be 1 to",
            ),
            (
                "COMPANION_GATEWAY_OUTBOUND_RATE_PER_SECOND",
                "0",
                "outbound_rate_per_second must be at least 1",
            ),
            (
                "COMPANION_GATEWAY_MAX_EVENT_STREAMS",
                "lots",
                "whole number",
            ),
        ] {
            let mut vars = base_env();
            vars.push((name, value));
            let err = GatewayConfig::from_lookup(env(&vars), false).unwrap_err();
            assert!(err.to_string().contains(expected), "{name}={value}: {err}");
        }

        let config = GatewayConfig::from_toml_str(
            &format!(
                "client_id = 'c'\nclient_secret = 's'\ntoken_key = '{KEY_B64}'\n\
                 request_timeout_secs = 130\nmax_concurrent_requests = 2\nmax_event_streams = 3\n\
                 outbound_rate_per_second = 7\n\
                 [[login_hosts]]\nlabel = 'Production'\nurl = 'https://login.salesforce.com'\n"
            ),
            Path::new("."),
            false,
        )
        .unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(130));
        assert_eq!(
            (
                config.max_concurrent_requests,
                config.max_event_streams,
                config.outbound_rate_per_second
            ),
            (2, 3, 7)
        );
    }
}
