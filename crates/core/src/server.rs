//! Which Companion server (gateway) this device talks to: the address rules, the check that it
//! is a Companion gateway, the choice remembered per device (`server.json` in the data folder,
//! not in a rep's replica: the server is chosen before anyone signs in), and the administrator's
//! preset that prefills the first screen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use companion_api::{AuthConfig, LoginHost};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::CoreError;
use crate::files;
use crate::gateway::{read_capped, ReadError};

/// Where an administrator presets the server on a machine (the package's configuration).
pub const DEFAULT_PRESET_FILE: &str = "/etc/companion/companion.toml";

/// How long the check waits to connect, and for the whole answer: a rep is looking at a
/// spinner.
const CHECK_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// A gateway's `/v1/auth/config` is well under a kilobyte; anything bigger is something else.
const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Where the server in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ServerSource {
    /// Nothing chosen yet: the rep is asked on the first screen.
    None,
    /// The rep chose it on this device.
    Chosen,
    /// Set by whoever started the app (`COMPANION_GATEWAY_URL`, the CLI's `--gateway`): the
    /// rep cannot change it.
    Fixed,
}

/// What the app shows about the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ServerSetting {
    /// The server in use, as the rep would type it (`https://companion.example.com`).
    pub url: Option<String>,
    pub source: ServerSource,
    /// The administrator's preset for this machine, to prefill the first screen.
    pub preset: Option<String>,
    /// Whether the rep may change it now: not fixed, and nobody signed in.
    pub can_change: bool,
}

/// A server that answered as a Companion gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ServerCheck {
    /// The address, normalised (`companion.example.com` → `https://companion.example.com`).
    pub url: String,
    /// The Salesforce login hosts it allows (production, sandbox, My Domain); the first is the
    /// default.
    pub login_hosts: Vec<LoginHost>,
}

/// What the data folder remembers.
#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    url: String,
}

/// The preset file: `server = "https://companion.example.com"`. Other keys are left for other
/// settings of the package.
#[derive(Debug, Deserialize)]
struct Preset {
    server: Option<String>,
}

/// Reads an address the way a rep types it: surrounding spaces ignored, `https://` assumed
/// when no scheme is given. Only `https`, or `http` to this machine (127.0.0.0/8, ::1,
/// localhost); no user name or password, query or fragment.
pub fn parse_server_url(input: &str) -> Result<Url, CoreError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(CoreError::InvalidServerUrl(
            "Enter your company's Companion server address, for example https://companion.example.com.".into(),
        ));
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let not_an_address = || {
        CoreError::InvalidServerUrl(format!(
            "\u{201c}{input}\u{201d} is not a web address. Enter it like https://companion.example.com."
        ))
    };
    let url = Url::parse(&with_scheme).map_err(|_| not_an_address())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(not_an_address());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CoreError::InvalidServerUrl(
            "The server address must not contain a user name or password.".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CoreError::InvalidServerUrl(
            "The server address must not contain ? or #.".into(),
        ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(CoreError::InsecureUrl(format!(
            "{} is not secure (http://). Companion only talks to a server over https://; \
             ask your administrator for the https:// address.",
            display(&url)
        )));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The address as a rep would write it: no trailing `/` on a bare host.
pub(crate) fn display(url: &Url) -> String {
    let text = url.as_str();
    if url.path() == "/" {
        text.trim_end_matches('/').to_owned()
    } else {
        text.to_owned()
    }
}

/// Asks `url` for `/v1/auth/config` and accepts it only if the answer is a Companion gateway's
/// (JSON of the gateway's `AuthConfig`, at least one login host). Redirects are not followed:
/// the address the rep typed is the one the app will talk to.
pub async fn check(url: &Url) -> Result<AuthConfig, CoreError> {
    let shown = display(url);
    let mut base = url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let endpoint = base.join("v1/auth/config").map_err(|_| {
        CoreError::InvalidServerUrl(format!("\u{201c}{shown}\u{201d} is not a web address."))
    })?;
    let client = reqwest::Client::builder()
        .connect_timeout(CHECK_CONNECT_TIMEOUT)
        .timeout(CHECK_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("companion-core/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CoreError::storage("could not set up the HTTP client", e))?;
    let unreachable = |error: reqwest::Error| {
        tracing::info!(server = %shown, %error, "the server did not answer the check");
        CoreError::ServerUnreachable { url: shown.clone() }
    };
    let not_companion = |why: &str| {
        tracing::info!(server = %shown, why, "not a Companion server");
        CoreError::NotACompanionServer { url: shown.clone() }
    };
    let response = client
        .get(endpoint)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(not_companion(&format!("status {}", response.status())));
    }
    let body = match read_capped(response, MAX_CONFIG_BYTES).await {
        Ok(body) => body,
        Err(ReadError::Transport(error)) => return Err(unreachable(error)),
        Err(ReadError::TooLarge) => return Err(not_companion("answer too large")),
    };
    let config: AuthConfig = serde_json::from_slice(&body)
        .map_err(|_| not_companion("not the gateway's auth config"))?;
    if config.login_hosts.is_empty() || config.client_id.is_empty() {
        return Err(not_companion("no login host"));
    }
    Ok(config)
}

/// The server remembered in `data_dir`, if the rep chose one. A damaged file is no choice
/// (logged): the rep is asked again rather than the app failing to open.
pub(crate) fn load(data_dir: &Path) -> Result<Option<Url>, CoreError> {
    let remembered: Option<Remembered> = match files::read_json(&path(data_dir)) {
        Ok(remembered) => remembered,
        Err(error) => {
            tracing::warn!(%error, "could not read the chosen server; asking again");
            None
        }
    };
    Ok(remembered.and_then(|r| match parse_server_url(&r.url) {
        Ok(url) => Some(url),
        Err(error) => {
            tracing::warn!(%error, "the remembered server is not valid; asking again");
            None
        }
    }))
}

pub(crate) fn save(data_dir: &Path, url: &Url) -> Result<(), CoreError> {
    files::write_json_private(&path(data_dir), &Remembered { url: display(url) })
        .map_err(|e| CoreError::storage("could not remember the server", e))
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("server.json")
}

/// The administrator's preset in `file` (TOML, `server = "https://…"`), if there is a valid
/// one. A missing file is no preset; a broken one is logged and ignored: the rep can still
/// type the address.
pub fn read_preset(file: &Path) -> Option<String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(file = %file.display(), %error, "could not read the server preset");
            return None;
        }
    };
    let preset: Preset = match toml::from_str(&text) {
        Ok(preset) => preset,
        Err(error) => {
            tracing::warn!(file = %file.display(), %error, "the server preset is not valid TOML");
            return None;
        }
    };
    let server = preset.server?;
    match parse_server_url(&server) {
        Ok(url) => Some(display(&url)),
        Err(error) => {
            tracing::warn!(file = %file.display(), %error, "the preset server is not usable");
            None
        }
    }
}

#[cfg(test)]
mod tests;
