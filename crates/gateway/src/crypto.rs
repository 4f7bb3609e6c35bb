//! Keys and secrets: AES-256-GCM for Salesforce tokens at rest, session tokens, key derivation.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::GatewayError;

const NONCE_LEN: usize = 12;

/// Derive an independent 32-byte key for one purpose from the configured token key.
pub fn derive_key(token_key: &[u8; 32], purpose: &str) -> [u8; 32] {
    let hkdf = Hkdf::<Sha256>::new(Some(b"companion-gateway"), token_key);
    let mut out = [0u8; 32];
    hkdf.expand(purpose.as_bytes(), &mut out)
        .expect("32 bytes is a valid HKDF length");
    out
}

/// Encrypts values for the store. Each value gets a fresh random 96-bit nonce, stored in front
/// of the ciphertext; `context` (e.g. user id + column) is bound as associated data so a
/// ciphertext cannot be moved to another row or column.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl TokenCipher {
    pub fn new(token_key: &[u8; 32]) -> Self {
        let key = derive_key(token_key, "salesforce-token-encryption-v1");
        TokenCipher {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    pub fn seal(&self, plaintext: &str, context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<String, GatewayError> {
        if sealed.len() < NONCE_LEN {
            return Err(GatewayError::Store("sealed value too short".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                GatewayError::Store("a stored token does not decrypt (wrong token key?)".into())
            })?;
        String::from_utf8(plaintext)
            .map_err(|_| GatewayError::Store("stored token is not text".into()))
    }
}

/// A new session token: 256 random bits, base64url without padding. Shown to the client once.
pub fn new_session_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a session token: its SHA-256. A fast hash is enough because the
/// token has 256 bits of entropy (no guessing, unlike a password).
pub fn session_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let cipher = TokenCipher::new(&[7u8; 32]);
        let a = cipher.seal("00Dxx!access-token", "user1/access");
        let b = cipher.seal("00Dxx!access-token", "user1/access");
        assert_ne!(a, b, "same plaintext, different nonce");
        assert!(!a.windows(6).any(|w| w == b"access"));
        assert_eq!(
            cipher.open(&a, "user1/access").unwrap(),
            "00Dxx!access-token"
        );
    }

    #[test]
    fn wrong_key_or_context_or_tampering_fails() {
        let cipher = TokenCipher::new(&[7u8; 32]);
        let sealed = cipher.seal("secret", "user1/access");
        assert!(TokenCipher::new(&[8u8; 32])
            .open(&sealed, "user1/access")
            .is_err());
        assert!(cipher.open(&sealed, "user2/access").is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(cipher.open(&tampered, "user1/access").is_err());
        assert!(cipher.open(&sealed[..5], "user1/access").is_err());
    }

    #[test]
    fn session_tokens_are_256_bit_base64url() {
        let token = new_session_token();
        assert_eq!(token.len(), 43);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(token, new_session_token());
        assert_eq!(session_token_hash(&token).len(), 32);
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = [1u8; 32];
        assert_ne!(derive_key(&key, "a"), derive_key(&key, "b"));
        assert_eq!(derive_key(&key, "a"), derive_key(&key, "a"));
    }
}
