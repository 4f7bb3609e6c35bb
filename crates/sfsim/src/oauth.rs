//! OAuth 2.0 state of the org: the connected app, authorization codes, access tokens (sessions)
//! and refresh-token families. No HTTP here; `http::oauth` maps requests onto these rules.

use std::collections::HashMap;
use subtle::ConstantTimeEq as _;

use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rand::{distributions::Alphanumeric, Rng, RngCore};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// Reference §1.3: a code lives 15 minutes (from sample code; unconfirmed in official docs).
pub const CODE_LIFETIME: Duration = Duration::minutes(15);

/// A token-endpoint or authorize error: `{"error": .., "error_description": ..}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: &'static str,
}

impl OAuthError {
    const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

pub const INVALID_CLIENT_ID: OAuthError =
    OAuthError::new("invalid_client_id", "client identifier invalid");
pub const INVALID_CLIENT: OAuthError =
    OAuthError::new("invalid_client", "invalid client credentials");
pub const UNSUPPORTED_GRANT: OAuthError =
    OAuthError::new("unsupported_grant_type", "grant type not supported");
pub const EXPIRED_TOKEN: OAuthError =
    OAuthError::new("invalid_grant", "expired access/refresh token");
pub const AUTHENTICATION_FAILURE: OAuthError =
    OAuthError::new("invalid_grant", "authentication failure");
pub const NO_CLIENT_CREDENTIALS_USER: OAuthError =
    OAuthError::new("invalid_grant", "no client credentials user enabled");
/// The client-credentials grant sent to the login host instead of the My Domain host (§1.7).
pub const NOT_ON_THIS_DOMAIN: OAuthError =
    OAuthError::new("invalid_grant", "request not supported on this domain");
/// A deactivated user signing in: the code is from the reference's list, the text unconfirmed.
pub const INACTIVE_USER: OAuthError = OAuthError::new("inactive_user", "user is inactive");
/// Token request for an org that is not active (code from the reference's list, text unconfirmed).
pub const INACTIVE_ORG: OAuthError = OAuthError::new("inactive_org", "inactive organization");
/// Too many tokens for one user within an hour (code from the reference's list, text unconfirmed).
pub const RATE_LIMIT_EXCEEDED: OAuthError =
    OAuthError::new("rate_limit_exceeded", "rate limit exceeded");
/// The user pressed Deny on the login page (text as clients report it; unconfirmed here).
pub const ACCESS_DENIED: OAuthError =
    OAuthError::new("access_denied", "end-user denied authorization");
/// Something on the server side failed (e.g. no id_token key): the reference's generic error.
pub const UNKNOWN_ERROR: OAuthError = OAuthError::new("unknown_error", "retry your request");
/// Unknown, used or expired code. The exact description is unconfirmed; this is the one
/// most often reported by clients that replay a code.
pub const EXPIRED_CODE: OAuthError = OAuthError::new("invalid_grant", "expired authorization code");
/// Description unconfirmed; the code `redirect_uri_mismatch` is what orgs report for a callback mismatch.
pub const REDIRECT_MISMATCH: OAuthError = OAuthError::new(
    "redirect_uri_mismatch",
    "redirect_uri must match configuration",
);
/// PKCE: a verifier that does not match the challenge (code per reference §1.3; text unconfirmed).
pub const VERIFIER_MISMATCH: OAuthError =
    OAuthError::new("invalid_request", "invalid code verifier");
/// PKCE: no verifier although the authorize request had a challenge (code per §1.3; text unconfirmed).
pub const VERIFIER_MISSING: OAuthError = OAuthError::new("invalid_grant", "invalid code verifier");
pub const UNSUPPORTED_RESPONSE_TYPE: OAuthError =
    OAuthError::new("unsupported_response_type", "response type not supported");
/// Text unconfirmed.
pub const INVALID_SCOPE: OAuthError =
    OAuthError::new("invalid_scope", "the requested scope is not allowed");
/// Text unconfirmed.
pub const INVALID_CHALLENGE_METHOD: OAuthError =
    OAuthError::new("invalid_request", "invalid code_challenge_method");

/// The demo org's connected app.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub scopes: &'static [&'static str],
    pub refresh_token_rotation: bool,
}

impl ConnectedApp {
    pub fn demo(refresh_token_rotation: bool) -> Self {
        Self {
            client_id: DEMO_CLIENT_ID,
            client_secret: DEMO_CLIENT_SECRET,
            scopes: &[
                "api",
                "refresh_token",
                "offline_access",
                "openid",
                "id",
                "web",
                "full",
            ],
            refresh_token_rotation,
        }
    }

    /// Registered callbacks: `companion://oauth/callback` exactly, and the loopback
    /// `http://127.0.0.1:<any port>/callback` (RFC 8252 §7.3).
    pub fn accepts_redirect(&self, redirect_uri: &str) -> bool {
        if redirect_uri == "companion://oauth/callback" {
            return true;
        }
        // Matched on the text, not a normalised URL: `http://127.0.0.1[:port]/callback`, nothing else.
        let Some(port) = redirect_uri
            .strip_prefix("http://127.0.0.1")
            .and_then(|rest| rest.strip_suffix("/callback"))
        else {
            return false;
        };
        port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
    }

    /// Checks the secret; `None` is allowed only where the caller says so (PKCE public clients, refresh).
    pub fn check_secret(
        &self,
        secret: Option<&str>,
        secret_optional: bool,
    ) -> Result<(), OAuthError> {
        match secret {
            // Constant time, as a real authorization server compares secrets.
            Some(secret) if bool::from(secret.as_bytes().ct_eq(self.client_secret.as_bytes())) => {
                Ok(())
            }
            None if secret_optional => Ok(()),
            _ => Err(INVALID_CLIENT),
        }
    }

    /// HMAC-SHA256 of `id` + `issued_at`, keyed with the client secret, base64 (reference §1.4).
    pub fn signature(&self, id: &str, issued_at: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.client_secret.as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(id.as_bytes());
        mac.update(issued_at.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    /// A missing method means S256, as Salesforce treats jsforce's and the Mobile SDK's requests
    /// (reference §1.3), not RFC 7636's `plain`.
    pub fn parse(method: Option<&str>) -> Option<Self> {
        match method {
            None | Some("S256") => Some(Self::S256),
            Some("plain") => Some(Self::Plain),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

impl Pkce {
    fn verifies(&self, verifier: &str) -> bool {
        match self.method {
            PkceMethod::Plain => verifier == self.challenge,
            PkceMethod::S256 => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.challenge
            }
        }
    }
}

/// What an authorization code was issued for.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub pkce: Option<Pkce>,
    pub user_id: String,
    pub scopes: Vec<String>,
    /// OpenID `nonce` from the authorize request, echoed in the id_token.
    pub nonce: Option<String>,
}

struct IssuedCode {
    grant: CodeGrant,
    issued: OffsetDateTime,
}

struct AccessSession {
    user_id: String,
    scopes: Vec<String>,
    family: Option<u64>,
    issued: OffsetDateTime,
    expired: bool,
}

/// A refresh token and the tokens rotated from it share a family; replaying a rotated-out one
/// revokes the family.
struct Family {
    user_id: String,
    client_id: String,
    scopes: Vec<String>,
    revoked: bool,
}

struct RefreshToken {
    family: u64,
    /// False once rotated out.
    current: bool,
}

/// The user and scopes a token-endpoint grant resolved to.
#[derive(Debug, Clone)]
pub struct Granted {
    pub user_id: String,
    pub scopes: Vec<String>,
    pub family: Option<u64>,
    /// A refresh token to return (auth code with refresh scope, or a rotated refresh).
    pub refresh_token: Option<String>,
    pub nonce: Option<String>,
}

/// A valid access token's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub scopes: Vec<String>,
}

#[derive(Default)]
pub struct TokenStore {
    codes: HashMap<String, IssuedCode>,
    access: HashMap<String, AccessSession>,
    refresh: HashMap<String, RefreshToken>,
    families: HashMap<u64, Family>,
    next_family: u64,
}

impl TokenStore {
    pub fn issue_code(&mut self, grant: CodeGrant, now: OffsetDateTime) -> String {
        // Real codes look like `aPrx…==`: base64 with `+`, `/` and `=` that must be URL-encoded.
        let mut bytes = [0u8; 47];
        rand::thread_rng().fill_bytes(&mut bytes);
        let code = format!("aPrx{}", STANDARD.encode(bytes));
        self.codes
            .insert(code.clone(), IssuedCode { grant, issued: now });
        self.codes.retain(|_, c| now - c.issued < CODE_LIFETIME);
        code
    }

    /// Redeems a code once. The code is spent as soon as it is presented by its client, even if
    /// the verifier is wrong, so it cannot be guessed at.
    pub fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<CodeGrant, OAuthError> {
        let issued = self.codes.remove(code).ok_or(EXPIRED_CODE)?;
        if now - issued.issued >= CODE_LIFETIME || issued.grant.client_id != client_id {
            return Err(EXPIRED_CODE);
        }
        if redirect_uri != Some(issued.grant.redirect_uri.as_str()) {
            return Err(REDIRECT_MISMATCH);
        }
        if let Some(pkce) = &issued.grant.pkce {
            match verifier {
                None => return Err(VERIFIER_MISSING),
                Some(v) if !pkce.verifies(v) => return Err(VERIFIER_MISMATCH),
                Some(_) => {}
            }
        }
        Ok(issued.grant)
    }

    /// Starts a refresh-token family (auth code granted with `refresh_token`/`offline_access`).
    pub fn new_family(
        &mut self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> (u64, String) {
        let family = self.next_family;
        self.next_family += 1;
        self.families.insert(
            family,
            Family {
                user_id: user_id.into(),
                client_id: client_id.into(),
                scopes: scopes.to_vec(),
                revoked: false,
            },
        );
        let token = self.new_refresh_token(family);
        (family, token)
    }

    fn new_refresh_token(&mut self, family: u64) -> String {
        let token = format!("5Aep861{}", random_token_chars(80));
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                family,
                current: true,
            },
        );
        token
    }

    /// The refresh grant, with the app's rotation policy.
    pub fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        rotate: bool,
    ) -> Result<Granted, OAuthError> {
        let entry = self.refresh.get(token).ok_or(EXPIRED_TOKEN)?;
        let (family_id, current) = (entry.family, entry.current);
        let family = self.families.get(&family_id).ok_or(EXPIRED_TOKEN)?;
        if family.revoked || family.client_id != client_id {
            return Err(EXPIRED_TOKEN);
        }
        if !current {
            // A rotated-out token came back: treated as theft (reference §1.5).
            self.revoke_family(family_id);
            return Err(EXPIRED_TOKEN);
        }
        let (user_id, scopes) = (family.user_id.clone(), family.scopes.clone());
        let refresh_token = rotate.then(|| {
            if let Some(old) = self.refresh.get_mut(token) {
                old.current = false;
            }
            self.new_refresh_token(family_id)
        });
        Ok(Granted {
            user_id,
            scopes,
            family: Some(family_id),
            refresh_token,
            nonce: None,
        })
    }

    pub fn issue_access(
        &mut self,
        org_id15: &str,
        user_id: &str,
        scopes: &[String],
        family: Option<u64>,
        now: OffsetDateTime,
    ) -> String {
        // Real session ids: `<15-char org id>!<opaque>`.
        let token = format!("{org_id15}!AQ{}", random_token_chars(94));
        self.access.insert(
            token.clone(),
            AccessSession {
                user_id: user_id.into(),
                scopes: scopes.to_vec(),
                family,
                issued: now,
                expired: false,
            },
        );
        token
    }

    /// The session of a live access token. A session ends `timeout` after it was issued (real orgs
    /// also extend busy sessions; not modelled), on revoke, or when the admin expires sessions.
    pub fn session(&self, token: &str, now: OffsetDateTime, timeout: Duration) -> Option<Session> {
        let session = self.access.get(token)?;
        let family_alive = session
            .family
            .is_none_or(|f| self.families.get(&f).is_some_and(|f| !f.revoked));
        (!session.expired && family_alive && now - session.issued < timeout).then(|| Session {
            user_id: session.user_id.clone(),
            scopes: session.scopes.clone(),
        })
    }

    pub fn expire_access_tokens(&mut self) {
        for session in self.access.values_mut() {
            session.expired = true;
        }
    }

    /// Revokes an access token, or a refresh token with its whole family and their access tokens.
    /// False when the token is unknown.
    pub fn revoke(&mut self, token: &str) -> bool {
        if let Some(session) = self.access.get_mut(token) {
            session.expired = true;
            return true;
        }
        match self.refresh.get(token) {
            Some(entry) => {
                let family = entry.family;
                self.revoke_family(family);
                true
            }
            None => false,
        }
    }

    fn revoke_family(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
        for session in self.access.values_mut() {
            if session.family == Some(family) {
                session.expired = true;
            }
        }
    }
}

fn random_token_chars(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|i| {
            // Mostly alphanumeric with the `.` and `_` that real tokens contain.
            if i % 17 == 16 {
                if rng.gen::<bool>() {
                    '.'
                } else {
                    '_'
                }
            } else {
                rng.sample(Alphanumeric) as char
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_callbacks_only() {
        let app = ConnectedApp::demo(false);
        for ok in [
            "companion://oauth/callback",
            "http://127.0.0.1:53682/callback",
            "http://127.0.0.1/callback",
        ] {
            assert!(app.accepts_redirect(ok), "{ok}");
        }
        for bad in [
            "companion://oauth/callback/",
            "companion://evil/callback",
            "http://localhost:8080/callback",
            "http://127.0.0.1:8080/callback/",
            "http://127.0.0.1:8080/callback?x=1",
            "https://127.0.0.1:8080/callback",
            "http://127.0.0.1:8080/other",
            "http://user@127.0.0.1:8080/callback",
            "http://127.0.0.1:/callback",
            "https://evil.example/callback",
            "",
        ] {
            assert!(!app.accepts_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 appendix B test vector.
        let s256 = Pkce {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: PkceMethod::S256,
        };
        assert!(s256.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!s256.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        let plain = Pkce {
            challenge: "abc".into(),
            method: PkceMethod::Plain,
        };
        assert!(plain.verifies("abc"));
        assert_eq!(PkceMethod::parse(None), Some(PkceMethod::S256));
        assert_eq!(PkceMethod::parse(Some("S512")), None);
    }
}

/// Tokens issued per user over the last hour. Salesforce caps how often one user may get a
/// token (its help pages put the login limit at 3,600 an hour per user); past the cap the token
/// endpoint answers `rate_limit_exceeded` until older grants leave the window.
#[derive(Debug, Default)]
pub struct GrantLog {
    grants: std::collections::HashMap<String, std::collections::VecDeque<time::OffsetDateTime>>,
}

impl GrantLog {
    /// Records a grant for `user_id` at `now`, or refuses it when `per_hour` grants already fall
    /// within the hour before `now`.
    pub fn admit(
        &mut self,
        user_id: &str,
        now: time::OffsetDateTime,
        per_hour: u32,
    ) -> Result<(), OAuthError> {
        let log = self.grants.entry(user_id.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|at| now - *at >= time::Duration::HOUR)
        {
            log.pop_front();
        }
        if log.len() >= per_hour as usize {
            return Err(RATE_LIMIT_EXCEEDED);
        }
        log.push_back(now);
        Ok(())
    }
}
