//! The device's half of the OAuth 2.0 web-server flow with PKCE (S256) and `state`. The code
//! is exchanged by the gateway, which alone holds the client secret.

use std::path::{Path, PathBuf};

use companion_api::AuthConfig;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use crate::error::CoreError;
use crate::files;

/// What the rep sees for any callback we refuse without a better reason to give.
pub(crate) const SIGN_IN_FAILED: &str = "Sign-in failed — try again";

/// What the rep sees when the browser comes back after the pending sign-in expired.
pub(crate) const SIGN_IN_TOO_SLOW: &str = "Sign-in took too long — try again";

/// How long a started sign-in can be finished. Salesforce's authorization codes live 15
/// minutes; a pending verifier and `state` older than this are not worth keeping around.
pub(crate) const PENDING_MAX_AGE: time::Duration = time::Duration::minutes(30);

/// A sign-in started and not finished. Kept on disk so that a mobile app killed while the
/// browser is in front can still finish it when the callback link starts it again.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub code_verifier: String,
    pub redirect_uri: String,
    pub login_host: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl PendingLogin {
    /// Started more than [`PENDING_MAX_AGE`] before `now`.
    pub(crate) fn is_expired(&self, now: OffsetDateTime) -> bool {
        now - self.created_at > PENDING_MAX_AGE
    }
}

// Never print the verifier or state.
impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("redirect_uri", &self.redirect_uri)
            .field("login_host", &self.login_host)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Where the pending sign-in lives in the data folder.
pub(crate) fn pending_path(data_dir: &Path) -> PathBuf {
    data_dir.join("pending_login.json")
}

pub(crate) fn save_pending(data_dir: &Path, pending: &PendingLogin) -> Result<(), CoreError> {
    files::write_json_private(&pending_path(data_dir), pending)
        .map_err(|e| CoreError::storage("could not save the sign-in in progress", e))
}

pub(crate) fn load_pending(data_dir: &Path) -> Result<Option<PendingLogin>, CoreError> {
    match files::read_json(&pending_path(data_dir)) {
        Ok(pending) => Ok(pending),
        // A damaged file is a sign-in that cannot finish, not a reason to fail loudly.
        Err(e) => {
            tracing::warn!(error = %e, "ignoring unreadable pending sign-in");
            Ok(None)
        }
    }
}

/// The pending sign-in if it is still young enough to finish. An expired one is deleted and
/// reported as [`SIGN_IN_TOO_SLOW`].
pub(crate) fn load_unexpired_pending(
    data_dir: &Path,
    now: OffsetDateTime,
) -> Result<Option<PendingLogin>, CoreError> {
    match load_pending(data_dir)? {
        Some(pending) if pending.is_expired(now) => {
            tracing::info!(started = %pending.created_at, "refusing an expired sign-in");
            clear_pending(data_dir)?;
            Err(CoreError::SignInFailed(SIGN_IN_TOO_SLOW.into()))
        }
        other => Ok(other),
    }
}

pub(crate) fn clear_pending(data_dir: &Path) -> Result<(), CoreError> {
    files::remove_if_exists(&pending_path(data_dir))
        .map_err(|e| CoreError::storage("could not remove the finished sign-in", e))
}

/// Builds the authorize URL for the gateway's first (default) login host, with a fresh PKCE
/// verifier and `state`.
pub(crate) fn start(
    config: &AuthConfig,
    redirect_uri: &str,
) -> Result<(PendingLogin, Url), CoreError> {
    let host = config
        .login_hosts
        .first()
        .ok_or_else(|| CoreError::Gateway {
            status: 200,
            code: "no_login_host".into(),
            message: "the server has no Salesforce login host configured".into(),
        })?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| {
        CoreError::BadInput(format!(
            "Bad sign-in redirect address {redirect_uri:?}: {e}"
        ))
    })?;
    check_authorize_url(&host.authorize_url)?;
    let auth_url = AuthUrl::new(host.authorize_url.clone()).map_err(|e| CoreError::Gateway {
        status: 200,
        code: "bad_authorize_url".into(),
        message: format!("the server sent a bad authorize URL: {e}"),
    })?;
    let client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    let pending = PendingLogin {
        state: state.secret().clone(),
        code_verifier: verifier.secret().clone(),
        redirect_uri: redirect_uri.to_owned(),
        login_host: host.url.clone(),
        created_at: OffsetDateTime::now_utc(),
    };
    Ok((pending, url))
}

/// The authorize URL is opened in the system browser: only `https`, or `http` to this machine
/// (the simulated org in tests and the demo), never `file:`, `javascript:` or another app's scheme.
fn check_authorize_url(authorize_url: &str) -> Result<(), CoreError> {
    let refuse = |why: String| CoreError::Gateway {
        status: 200,
        code: "bad_authorize_url".into(),
        message: why,
    };
    let url = Url::parse(authorize_url)
        .map_err(|e| refuse(format!("the server sent a bad sign-in address: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        scheme => Err(refuse(format!(
            "the server sent a sign-in address Companion will not open ({scheme}:); \
             only https addresses are allowed"
        ))),
    }
}

/// Whether the callback carries the pending sign-in's `state`, compared in constant time.
/// Lets a listener ignore stray or forged requests without using up the sign-in.
pub(crate) fn callback_matches(callback_url: &str, pending: Option<&PendingLogin>) -> bool {
    let Ok(url) = Url::parse(callback_url.trim()) else {
        return false;
    };
    pending.is_some_and(|pending| state_matches(query_param(&url, "state").as_deref(), pending))
}

fn state_matches(state: Option<&str>, pending: &PendingLogin) -> bool {
    state.is_some_and(|state| bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())))
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Reads the callback URL and returns the authorization code, or why the sign-in failed.
/// Nothing here talks to the network: a refused callback never reaches the gateway.
pub(crate) fn code_from_callback(
    callback_url: &str,
    pending: Option<&PendingLogin>,
) -> Result<String, CoreError> {
    let url = Url::parse(callback_url.trim())
        .map_err(|_| CoreError::BadInput("That is not a sign-in link.".into()))?;
    let param = |name: &str| query_param(&url, name);

    let Some(pending) = pending else {
        tracing::warn!("sign-in callback with no sign-in in progress");
        return Err(CoreError::SignInFailed(SIGN_IN_FAILED.into()));
    };
    // `state` first, for errors too: any web page can open a callback link, and only a
    // callback carrying our `state` may put its text in front of the rep.
    if !state_matches(param("state").as_deref(), pending) {
        tracing::warn!("sign-in callback refused: state does not match");
        return Err(CoreError::SignInFailed(SIGN_IN_FAILED.into()));
    }
    if let Some(error) = param("error") {
        let text = param("error_description")
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(error);
        return Err(CoreError::SignInFailed(format!(
            "Salesforce refused the sign-in: {text}"
        )));
    }
    match param("code") {
        Some(code) if !code.is_empty() => Ok(code),
        _ => Err(CoreError::SignInFailed(SIGN_IN_FAILED.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use companion_api::LoginHost;

    fn auth_config() -> AuthConfig {
        AuthConfig {
            login_hosts: vec![
                LoginHost {
                    label: "Production".into(),
                    url: "https://login.example.com".into(),
                    authorize_url: "https://login.example.com/services/oauth2/authorize".into(),
                },
                LoginHost {
                    label: "Sandbox".into(),
                    url: "https://test.example.com".into(),
                    authorize_url: "https://test.example.com/services/oauth2/authorize".into(),
                },
            ],
            client_id: "companion-demo".into(),
            scopes: vec!["api".into(), "refresh_token".into()],
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
        }
    }

    fn query(url: &Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[test]
    fn authorize_url_has_pkce_s256_state_and_scopes() {
        let (pending, url) = start(&auth_config(), "http://127.0.0.1:5555/callback").unwrap();
        assert_eq!(
            url.origin().ascii_serialization(),
            "https://login.example.com"
        );
        assert_eq!(url.path(), "/services/oauth2/authorize");
        assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
        assert_eq!(query(&url, "client_id").as_deref(), Some("companion-demo"));
        assert_eq!(
            query(&url, "redirect_uri").as_deref(),
            Some("http://127.0.0.1:5555/callback")
        );
        assert_eq!(query(&url, "scope").as_deref(), Some("api refresh_token"));
        assert_eq!(
            query(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(
            query(&url, "state").as_deref(),
            Some(pending.state.as_str())
        );
        assert_eq!(pending.login_host, "https://login.example.com");

        // RFC 7636: challenge = BASE64URL(SHA256(verifier)), no padding; verifier 43..128 chars.
        use base64::Engine;
        use sha2::Digest;
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(pending.code_verifier.as_bytes()));
        assert_eq!(query(&url, "code_challenge"), Some(expected));
        assert!((43..=128).contains(&pending.code_verifier.len()));
        assert!(pending.state.len() >= 16);
        assert!(!url.as_str().contains(&pending.code_verifier));

        let (again, _) = start(&auth_config(), "http://127.0.0.1:5555/callback").unwrap();
        assert_ne!(again.state, pending.state);
        assert_ne!(again.code_verifier, pending.code_verifier);
    }

    #[test]
    fn config_without_login_hosts_is_an_error() {
        let mut config = auth_config();
        config.login_hosts.clear();
        assert_eq!(
            start(&config, "http://127.0.0.1:1/callback")
                .unwrap_err()
                .kind(),
            "gateway"
        );
        assert_eq!(
            start(&auth_config(), "not a url").unwrap_err().kind(),
            "bad_input"
        );
    }

    #[test]
    fn callback_checks_state_and_reads_code() {
        let (pending, _) = start(&auth_config(), "companion://oauth/callback").unwrap();
        let good = format!(
            "companion://oauth/callback?code=abc%2Fdef&state={}",
            pending.state
        );
        assert_eq!(
            code_from_callback(&good, Some(&pending)).unwrap(),
            "abc/def"
        );

        for bad in [
            "companion://oauth/callback?code=abc&state=someone-elses".to_string(),
            "companion://oauth/callback?code=abc".to_string(),
            format!(
                "companion://oauth/callback?code=abc&state={}x",
                pending.state
            ),
            format!("companion://oauth/callback?state={}", pending.state),
        ] {
            let err = code_from_callback(&bad, Some(&pending)).unwrap_err();
            assert_eq!(err.to_string(), "Sign-in failed — try again", "{bad}");
        }
        let err = code_from_callback(&good, None).unwrap_err();
        assert_eq!(err.to_string(), "Sign-in failed — try again");
        assert_eq!(
            code_from_callback("::nonsense", Some(&pending))
                .unwrap_err()
                .kind(),
            "bad_input"
        );
    }

    #[test]
    fn callback_error_carries_salesforces_text() {
        let (pending, _) = start(&auth_config(), "companion://oauth/callback").unwrap();
        let url = format!(
            "companion://oauth/callback?error=access_denied&error_description=end-user+denied+authorization&state={}",
            pending.state
        );
        let err = code_from_callback(&url, Some(&pending)).unwrap_err();
        assert_eq!(err.kind(), "sign_in_failed");
        assert!(
            err.to_string().contains("end-user denied authorization"),
            "{err}"
        );

        // Without our `state`, an error link is any web page talking: none of its text shows.
        for forged in [
            "companion://oauth/callback?error=access_denied&error_description=Call+0900+now&state=someone-elses".to_string(),
            "companion://oauth/callback?error=access_denied&error_description=Call+0900+now".to_string(),
            format!(
                "companion://oauth/callback?error=access_denied&error_description=Call+0900+now&state={}x",
                pending.state
            ),
        ] {
            let err = code_from_callback(&forged, Some(&pending)).unwrap_err();
            assert_eq!(err.kind(), "sign_in_failed");
            assert_eq!(err.to_string(), "Sign-in failed — try again", "{forged}");
        }
        let err = code_from_callback(
            "companion://oauth/callback?error=invalid_request&error_description=Call+0900+now",
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "Sign-in failed — try again");
    }

    #[test]
    fn callback_matches_only_the_pending_state() {
        let (pending, _) = start(&auth_config(), "http://127.0.0.1:5555/callback").unwrap();
        let ours = format!(
            "http://127.0.0.1:5555/callback?code=abc&state={}",
            pending.state
        );
        assert!(callback_matches(&ours, Some(&pending)));
        let error = format!(
            "http://127.0.0.1:5555/callback?error=access_denied&state={}",
            pending.state
        );
        assert!(callback_matches(&error, Some(&pending)));
        assert!(!callback_matches(&ours, None));
        for other in [
            "http://127.0.0.1:5555/callback?code=abc&state=forged".to_string(),
            "http://127.0.0.1:5555/callback?code=abc".to_string(),
            "http://127.0.0.1:5555/callback?error=x".to_string(),
            format!(
                "http://127.0.0.1:5555/callback?code=abc&state={}",
                &pending.state[1..]
            ),
            "not a url".to_string(),
        ] {
            assert!(!callback_matches(&other, Some(&pending)), "{other}");
        }
    }

    #[test]
    fn authorize_url_must_be_https_or_loopback_http() {
        for allowed in [
            "https://login.salesforce.com/services/oauth2/authorize",
            "http://127.0.0.1:8700/services/oauth2/authorize",
            "http://[::1]:8700/services/oauth2/authorize",
            "http://localhost:8700/services/oauth2/authorize",
        ] {
            let mut config = auth_config();
            config.login_hosts[0].authorize_url = allowed.into();
            assert!(
                start(&config, "http://127.0.0.1:1/callback").is_ok(),
                "{allowed}"
            );
        }
        for refused in [
            "file:///etc/passwd",
            "javascript:alert(document.cookie)",
            "http://login.salesforce.com/services/oauth2/authorize",
            "http://127.0.0.1.evil.example/services/oauth2/authorize",
            "ftp://127.0.0.1/authorize",
            "companion://oauth/callback",
            "data:text/html,<script>alert(1)</script>",
        ] {
            let mut config = auth_config();
            config.login_hosts[0].authorize_url = refused.into();
            let err = start(&config, "http://127.0.0.1:1/callback").unwrap_err();
            assert_eq!(err.kind(), "gateway", "{refused}");
            assert!(
                err.to_string().contains("only https addresses are allowed"),
                "{refused}: {err}"
            );
        }
    }

    #[test]
    fn a_pending_sign_in_expires_after_30_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut pending, _) = start(&auth_config(), "companion://oauth/callback").unwrap();
        let now = OffsetDateTime::now_utc();
        pending.created_at = now - time::Duration::minutes(29);
        save_pending(dir.path(), &pending).unwrap();
        assert!(load_unexpired_pending(dir.path(), now).unwrap().is_some());

        pending.created_at = now - time::Duration::minutes(31);
        save_pending(dir.path(), &pending).unwrap();
        let err = load_unexpired_pending(dir.path(), now).unwrap_err();
        assert_eq!(err.kind(), "sign_in_failed");
        assert_eq!(err.to_string(), "Sign-in took too long — try again");
        assert!(
            !pending_path(dir.path()).exists(),
            "expired sign-in deleted"
        );
        assert!(load_unexpired_pending(dir.path(), now).unwrap().is_none());
    }

    #[test]
    fn pending_login_round_trips_through_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_pending(dir.path()).unwrap().is_none());
        let (pending, _) = start(&auth_config(), "companion://oauth/callback").unwrap();
        save_pending(dir.path(), &pending).unwrap();
        let loaded = load_pending(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.state, pending.state);
        assert_eq!(loaded.code_verifier, pending.code_verifier);
        assert!(!format!("{loaded:?}").contains(&pending.code_verifier));
        clear_pending(dir.path()).unwrap();
        assert!(load_pending(dir.path()).unwrap().is_none());
    }
}
