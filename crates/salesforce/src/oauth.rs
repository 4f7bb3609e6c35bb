//! OAuth 2.0 calls: code exchange, refresh, revoke, identity (reference §1).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

use crate::client::{join, parse_base_url};
use crate::error::oauth_error;
use crate::ids::{prefix, RecordId};
use crate::{Client, Error, Result};

/// The largest token, revocation or identity answer read (they are a few hundred bytes).
const MAX_OAUTH_ANSWER: usize = 1 << 20;

/// The connected app's credentials. `Debug` never shows the secret.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    client_secret: String,
}

impl OAuthApp {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// A successful token response (reference §1.4). There is no `expires_in`: expiry shows up as a
/// 401 `INVALID_SESSION_ID`. `Debug` never shows the tokens.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Only for the code grant, and for refreshes when rotation is on.
    #[serde(default)]
    pub refresh_token: Option<String>,
    pub signature: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub instance_url: String,
    /// The identity URL, `https://login.salesforce.com/id/<org id>/<user id>`.
    pub id: String,
    #[serde(default)]
    pub token_type: Option<String>,
    /// Epoch milliseconds, as a string.
    pub issued_at: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub api_instance_url: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .field("instance_url", &self.instance_url)
            .field("id", &self.id)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl TokenResponse {
    /// Check `signature` = base64(HMAC-SHA256(key = client secret, id + issued_at)), in
    /// constant time.
    pub fn verify_signature(&self, app: &OAuthApp) -> Result<()> {
        let expected = base64::engine::general_purpose::STANDARD
            .decode(self.signature.trim())
            .map_err(|_| Error::BadSignature)?;
        let mut mac = HmacSha256::new_from_slice(app.client_secret.as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(self.id.as_bytes());
        mac.update(self.issued_at.as_bytes());
        mac.verify_slice(&expected).map_err(|_| Error::BadSignature)
    }

    /// The org and user ids from the identity URL.
    pub fn identity_ids(&self) -> Result<IdentityIds> {
        IdentityIds::from_identity_url(&self.id)
    }

    /// `instance_url` parsed and checked.
    pub fn instance_url(&self) -> Result<Url> {
        parse_base_url(&self.instance_url)
    }
}

/// Org and user id as read from an identity URL's last two path segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityIds {
    pub org_id: RecordId,
    pub user_id: RecordId,
}

impl IdentityIds {
    pub fn from_identity_url(id_url: &str) -> Result<Self> {
        let url =
            Url::parse(id_url).map_err(|e| Error::InvalidUrl(format!("identity URL: {e}")))?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        match segments.as_slice() {
            [.., "id", org, user] => Ok(IdentityIds {
                org_id: RecordId::parse_for("Organization", org)?,
                user_id: RecordId::parse_for("User", user)?,
            }),
            _ => Err(Error::InvalidUrl(
                "identity URL does not end in /id/<org id>/<user id>".into(),
            )),
        }
    }
}

/// The identity service's answer (reference §1.10), the fields this project uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Identity {
    pub user_id: String,
    pub organization_id: String,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
}

impl Client {
    /// Exchange an authorization code (web server flow with PKCE, confidential client: the
    /// secret and the verifier are both sent) and verify the answer's signature.
    pub async fn exchange_code(
        &self,
        login_url: &str,
        app: &OAuthApp,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("format", "json"),
        ];
        let token = self.token_request(login_url, &form).await?;
        if token.refresh_token.is_none() {
            tracing::warn!(
                "token response has no refresh token; is the refresh_token scope granted?"
            );
        }
        token.verify_signature(app)?;
        Ok(token)
    }

    /// Get a new access token with a refresh token (reference §1.5). When rotation is on the
    /// answer carries a new refresh token and the old one is dead.
    pub async fn refresh_token(
        &self,
        login_url: &str,
        app: &OAuthApp,
        refresh_token: &str,
    ) -> Result<TokenResponse> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("format", "json"),
        ];
        let token = self.token_request(login_url, &form).await?;
        token.verify_signature(app)?;
        Ok(token)
    }

    /// The client-credentials grant (integration-user mode, reference §1.7): a token for the
    /// app's "Run As" user, with no refresh token. `my_domain_url` must be the org's My Domain
    /// host; Salesforce refuses this grant on login.salesforce.com / test.salesforce.com
    /// (`invalid_grant`, "request not supported on this domain").
    pub async fn client_credentials(
        &self,
        my_domain_url: &str,
        app: &OAuthApp,
    ) -> Result<TokenResponse> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("format", "json"),
        ];
        let token = self.token_request(my_domain_url, &form).await?;
        token.verify_signature(app)?;
        Ok(token)
    }

    /// Revoke a refresh token (and its access tokens) or an access token.
    pub async fn revoke_token(&self, login_url: &str, token: &str) -> Result<()> {
        let url = join(&parse_base_url(login_url)?, "/services/oauth2/revoke")?;
        let response = self
            .http
            .post(url)
            .form(&[("token", token)])
            .send()
            .await
            .map_err(Error::from_transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = crate::client::read_capped(response, MAX_OAUTH_ANSWER).await?;
        Err(oauth_error(status.as_u16(), &body))
    }

    /// Read the identity URL from a token response and check that it names the same org and
    /// user as the URL itself.
    pub async fn identity(&self, id_url: &str, access_token: &str) -> Result<Identity> {
        let ids = IdentityIds::from_identity_url(id_url)?;
        let url = parse_identity_url(id_url)?;
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(Error::from_transport)?;
        self.record_limit_info(response.headers());
        let status = response.status();
        let body = crate::client::read_capped(response, MAX_OAUTH_ANSWER).await?;
        if !status.is_success() {
            return Err(crate::error::api_error(status.as_u16(), &body));
        }
        let identity: Identity =
            serde_json::from_slice(&body).map_err(|e| Error::Decode(format!("identity: {e}")))?;
        let same = |a: &str, b: &RecordId| RecordId::parse(a).map(|a| &a == b).unwrap_or(false);
        if !same(&identity.user_id, &ids.user_id) || !same(&identity.organization_id, &ids.org_id) {
            return Err(Error::Decode(
                "identity answer names another user or org than its URL".into(),
            ));
        }
        debug_assert_eq!(ids.user_id.key_prefix(), prefix::USER);
        Ok(identity)
    }

    async fn token_request(&self, login_url: &str, form: &[(&str, &str)]) -> Result<TokenResponse> {
        let url = join(&parse_base_url(login_url)?, "/services/oauth2/token")?;
        let response = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(Error::from_transport)?;
        let status = response.status();
        let body = crate::client::read_capped(response, MAX_OAUTH_ANSWER).await?;
        if !status.is_success() {
            return Err(oauth_error(status.as_u16(), &body));
        }
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Error::Decode(format!("token response: {e}")))?;
        token.instance_url()?;
        Ok(token)
    }
}

fn parse_identity_url(id_url: &str) -> Result<Url> {
    let url = Url::parse(id_url).map_err(|e| Error::InvalidUrl(format!("identity URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(Error::InvalidUrl("identity URL is not http(s)".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of the sample below for the secret `companion-demo-secret`, computed
    /// outside this code (Python's hmac module) over `id + issued_at`.
    const SAMPLE_SIGNATURE: &str = "fBMIqOfqCxnoUligPAzzPRPKM7rl5ZAVIlzn24g19co=";

    /// Shape from reference §1.4.
    fn sample(signature: &str) -> TokenResponse {
        serde_json::from_str(&format!(
            r#"{{"access_token":"00D7F0000001I8v!ARgAQOG9W.wPt01Kwm","refresh_token":"5Aep8613hy0tHCYdhxJMolio",
            "signature":"{signature}","scope":"refresh_token api full","instance_url":"https://xxxx.my.salesforce.com",
            "id":"https://login.salesforce.com/id/00D7F00000107XsUAI/0057F000000abcdQAA","token_type":"Bearer",
            "issued_at":"1708058728442"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn signature_verifies_with_the_right_secret_only() {
        let app = OAuthApp::new("id", "companion-demo-secret");
        sample(SAMPLE_SIGNATURE).verify_signature(&app).unwrap();
        let other = OAuthApp::new("id", "another-secret");
        assert!(matches!(
            sample(SAMPLE_SIGNATURE).verify_signature(&other),
            Err(Error::BadSignature)
        ));
        assert!(matches!(
            sample("not base64!").verify_signature(&app),
            Err(Error::BadSignature)
        ));
        let mut tampered = sample(SAMPLE_SIGNATURE);
        tampered.issued_at = "1708058728443".into();
        assert!(matches!(
            tampered.verify_signature(&app),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn token_debug_hides_tokens() {
        let shown = format!("{:?}", sample("x"));
        assert!(!shown.contains("ARgAQOG9W"));
        assert!(!shown.contains("5Aep8613"));
        let app = format!("{:?}", OAuthApp::new("id", "companion-demo-secret"));
        assert!(!app.contains("companion-demo-secret"));
    }

    #[test]
    fn identity_ids_come_from_the_last_two_segments() {
        let ids = sample("x").identity_ids().unwrap();
        assert_eq!(ids.org_id.as_str(), "00D7F00000107XsUAI");
        assert_eq!(ids.user_id.as_str(), "0057F000000abcdQAA");
        // An Account id where the user id belongs is refused.
        assert!(IdentityIds::from_identity_url(
            "https://login.salesforce.com/id/00D7F00000107XsUAI/0011U00000V0tkDQAR"
        )
        .is_err());
        assert!(
            IdentityIds::from_identity_url("https://login.salesforce.com/id/only-one").is_err()
        );
    }
}
