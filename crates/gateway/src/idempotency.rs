//! Idempotency keys: checking them, hashing requests, and the per-(user, key) record of a
//! write's progress and answer in the gateway store.
//!
//! A key is claimed (row `in_progress`) before any Salesforce call, in one transaction per
//! request, so two requests with one key never both call Salesforce: the second gets `409
//! idempotency_in_progress`. When a call's outcome is lost (timeout, broken connection) the
//! row becomes `unknown`; the next request with the key recovers: it finds out from
//! Salesforce whether the write landed before writing anything. A row left `in_progress`
//! longer than its lease (`idempotency_lease_secs`, default [`IN_PROGRESS_LEASE_SECS`]: the
//! gateway stopped mid-call) is treated the same.

use axum::http::HeaderMap;
use companion_api::{IDEMPOTENCY_KEY, MAX_IDEMPOTENCY_KEY_LEN};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::GatewayError;

/// The default lease: longer than any write's Salesforce calls can take (each has the upstream
/// timeout). A setting (`idempotency_lease_secs`), at least [`LEASE_PER_UPSTREAM_TIMEOUT`] upstream
/// timeouts.
pub const IN_PROGRESS_LEASE_SECS: i64 = 300;
/// A claimant makes at most a refresh, a marker query, a write and its follow-up calls, each
/// bounded by the upstream timeout; a lease this many timeouts long outlives all of them, so a
/// key is never taken over while its claimant may still be sending.
pub const LEASE_PER_UPSTREAM_TIMEOUT: u64 = 10;

/// A key as a client may send it: 1–200 printable ASCII characters.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(format!(
            "an Idempotency-Key has 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
        ));
    }
    if !key.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err("an Idempotency-Key has only printable ASCII characters".into());
    }
    Ok(())
}

/// The `Idempotency-Key` header of a single write.
pub fn key_from_headers(headers: &HeaderMap) -> Result<String, GatewayError> {
    let value = headers.get(IDEMPOTENCY_KEY).ok_or_else(|| {
        GatewayError::BadRequest("every write needs an Idempotency-Key header".into())
    })?;
    let key = value.to_str().map_err(|_| {
        GatewayError::BadRequest("an Idempotency-Key has only printable ASCII characters".into())
    })?;
    check_key(key).map_err(GatewayError::BadRequest)?;
    Ok(key.to_string())
}

/// What the record of a request is compared by: the action, its target and its body, with
/// object keys sorted so the same JSON in another key order is the same request.
pub fn request_hash(action: &str, target: Option<&str>, body: &Value) -> Vec<u8> {
    let mut canonical = String::new();
    write_canonical(body, &mut canonical);
    let mut hasher = Sha256::new();
    hasher.update(action.as_bytes());
    hasher.update([0]);
    hasher.update(target.unwrap_or_default().as_bytes());
    hasher.update([0]);
    hasher.update(canonical.as_bytes());
    hasher.finalize().to_vec()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The marker a create carries in `Companion_Key__c`: 64 hex digits naming (user, key), and
/// nothing a reader could turn back into the key.
pub fn marker(user_id: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"companion-idempotency-marker\0");
    hasher.update(user_id.as_bytes());
    hasher.update([0]);
    hasher.update(key.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First use: the caller now holds the key and must finish it.
    Fresh,
    /// An earlier attempt's outcome is unknown: the caller holds the key and must find out
    /// whether the write landed before writing.
    Recover,
    /// Done before: this is the answer.
    Replay { status: u16, body: Value },
    /// The key was used with another request.
    Mismatch,
    /// Another request with the key is running.
    InProgress,
}

/// A claim request: the key and the request's hash.
pub struct ClaimRequest {
    pub key: String,
    pub request_hash: Vec<u8>,
}

/// How a held key ends.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Keep this answer for the key.
    Done {
        status: u16,
        body: Value,
        record_id: Option<String>,
    },
    /// The outcome is unknown: the next request with the key recovers.
    Unknown,
    /// Nothing happened in Salesforce and the answer says nothing about the record (rate
    /// limit, unreachable): forget the key so it can be sent again.
    Release,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_up_to_200() {
        assert!(check_key("a").is_ok());
        assert!(check_key("' OR Name != '%_\\").is_ok());
        assert!(check_key(&"k".repeat(200)).is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(201)).is_err());
        assert!(check_key("clé").is_err());
        assert!(check_key("a\u{0}b").is_err());
        assert!(check_key("a\tb").is_err());
    }

    #[test]
    fn request_hash_ignores_key_order_only() {
        let a = serde_json::json!({"LastName": "Smith", "Company": "Acme"});
        let b = serde_json::json!({"Company": "Acme", "LastName": "Smith"});
        let c = serde_json::json!({"Company": "Acme", "LastName": "Smyth"});
        assert_eq!(
            request_hash("lead", None, &a),
            request_hash("lead", None, &b)
        );
        assert_ne!(
            request_hash("lead", None, &a),
            request_hash("lead", None, &c)
        );
        assert_ne!(
            request_hash("lead", None, &a),
            request_hash("task", None, &a)
        );
    }

    #[test]
    fn markers_are_64_hex_digits_per_user_and_key() {
        let m = marker("005A", "k1");
        assert_eq!(m.len(), 64);
        assert!(m.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(m, marker("005B", "k1"));
        assert_ne!(m, marker("005A", "k2"));
    }
}
