//! OpenID Connect `id_token` (only with the `openid` scope): an RS256 JWT, verifiable with the
//! key set served at `/id/keys`, as Salesforce publishes its keys at `<login host>/id/keys`.
//!
//! The RSA key is generated once per process, on first use (2048-bit generation takes seconds in
//! a debug build, so nothing pays for it unless it asks for `openid`).

use std::sync::OnceLock;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rsa::{
    pkcs1v15::SigningKey,
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
    RsaPrivateKey,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Key id in the JWT header and the key set.
const KEY_ID: &str = "sfsim-1";
/// How long an id_token is valid: unconfirmed for Salesforce; five minutes is common for OIDC.
const LIFETIME_SECS: i64 = 300;

pub struct KeyPair {
    signing: SigningKey<Sha256>,
    private: RsaPrivateKey,
}

static KEY: OnceLock<Option<KeyPair>> = OnceLock::new();

fn generate() -> Option<KeyPair> {
    match RsaPrivateKey::new(&mut rand::thread_rng(), 2048) {
        Ok(private) => Some(KeyPair {
            signing: SigningKey::<Sha256>::new(private.clone()),
            private,
        }),
        Err(error) => {
            tracing::error!(%error, "cannot generate the id_token signing key");
            None
        }
    }
}

/// The process's signing key, generated on a blocking thread the first time.
pub async fn key() -> Option<&'static KeyPair> {
    if let Some(key) = KEY.get() {
        return key.as_ref();
    }
    tokio::task::spawn_blocking(|| KEY.get_or_init(generate).as_ref())
        .await
        .ok()
        .flatten()
}

/// Starts generating the key in the background (an authorize request asked for `openid`).
pub fn warm_up() {
    if KEY.get().is_none() {
        tokio::task::spawn_blocking(|| {
            KEY.get_or_init(generate);
        });
    }
}

/// What goes into one id_token.
pub struct Claims<'a> {
    /// The login host (`iss`).
    pub issuer: &'a str,
    /// The identity URL (`sub`), as Salesforce sets it.
    pub subject: &'a str,
    pub client_id: &'a str,
    pub access_token: &'a str,
    pub issued_at_secs: i64,
    pub nonce: Option<&'a str>,
}

impl KeyPair {
    /// `{"keys": [...]}` with this key as an RSA JWK.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(self.private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.private.e().to_bytes_be()),
            "alg": "RS256",
            "use": "sig",
            "kid": KEY_ID,
        }]})
    }

    pub fn sign(&self, claims: &Claims<'_>) -> String {
        let header = json!({"kid": KEY_ID, "typ": "JWT", "alg": "RS256"});
        // OIDC at_hash: base64url of the left half of SHA-256 of the access token.
        let digest = Sha256::digest(claims.access_token.as_bytes());
        let mut body = json!({
            "at_hash": URL_SAFE_NO_PAD.encode(&digest[..16]),
            "sub": claims.subject,
            "aud": claims.client_id,
            "iss": claims.issuer,
            "exp": claims.issued_at_secs + LIFETIME_SECS,
            "iat": claims.issued_at_secs,
        });
        if let Some(nonce) = claims.nonce {
            body["nonce"] = Value::from(nonce);
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(body.to_string())
        );
        let signature = self.signing.sign(signing_input.as_bytes()).to_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}
