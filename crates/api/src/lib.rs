//! The gateway's `/v1` API as Rust types. The gateway serves them and core calls them, so a
//! change here is a change of the wire format for both sides.
//!
//! Record fields keep their Salesforce API names on the wire (`Id`, `FirstName`, `SystemModstamp`…).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod writes;
pub use writes::*;

/// Header that carries the session token: `Authorization: Bearer <session_token>`.
pub const AUTHORIZATION: &str = "authorization";

/// `GET /v1/auth/config`: what a client needs to start a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// Allow-listed login hosts; the first is the default.
    pub login_hosts: Vec<LoginHost>,
    /// The connected app's consumer key (public).
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Redirect URIs the gateway accepts at exchange. A loopback entry
    /// (`http://127.0.0.1/callback`) accepts any port, as RFC 8252 §7.3 asks.
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginHost {
    /// Human label: "Production", "Sandbox", a My Domain name.
    pub label: String,
    /// The login URL exactly as configured, e.g. `https://login.salesforce.com`. This is the
    /// value to send back as `login_host` at exchange.
    pub url: String,
    /// `<url>/services/oauth2/authorize`.
    pub authorize_url: String,
}

/// `POST /v1/auth/exchange`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRequest {
    pub code: String,
    pub code_verifier: String,
    pub redirect_uri: String,
    pub login_host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeResponse {
    /// Opaque bearer token for the gateway (256 random bits, base64url).
    pub session_token: String,
    pub user: User,
}

/// The signed-in Salesforce user (`GET /v1/me`, and part of the exchange answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// 18-character Salesforce user id.
    pub user_id: String,
    /// 18-character Salesforce organization id.
    pub org_id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
}

/// Objects that `POST /v1/sync` replicates, by Salesforce API name.
pub const SYNC_OBJECTS: &[&str] = &["Account", "Contact"];

/// `POST /v1/sync`. `{}` (no cursors) asks for a first sync of every object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Object API name → the opaque cursor the gateway returned last time.
    #[serde(default)]
    pub cursors: BTreeMap<String, String>,
}

/// One page of changes. Apply it, with its cursors, in one transaction; ask again while `more`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Records deleted in Salesforce (or no longer visible) since the cursor.
    #[serde(default)]
    pub deleted: Vec<DeletedRecord>,
    /// Object API name → the cursor to send next time. Opaque and signed by the gateway.
    pub cursors: BTreeMap<String, String>,
    /// More changes are waiting: ask again with the new cursors.
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRecord {
    /// Object API name, e.g. `Contact`.
    pub object: String,
    #[serde(rename = "Id")]
    pub id: String,
}

/// An Account as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub billing_city: Option<String>,
    pub owner_id: String,
    /// Salesforce datetime, e.g. `2024-05-01T10:00:00.000+0000`.
    pub system_modstamp: String,
}

/// A Contact as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contact {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    pub last_name: String,
    /// Salesforce's read-only full name.
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    pub owner_id: String,
    pub system_modstamp: String,
}

/// Every error the gateway answers: `{"error": {...}}` with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// One of the `code` constants below.
    pub code: String,
    pub message: String,
    /// Field API name → what is wrong with it (validation errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// Seconds to wait before retrying (rate limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// A `conflict` of a write: the record as Salesforce has it now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

/// Error codes of [`ErrorDetail::code`].
pub mod code {
    /// The session is unknown or expired, or Salesforce refused the refresh token: sign in again.
    pub const REAUTH_REQUIRED: &str = "reauth_required";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const VALIDATION: &str = "validation";
    pub const CONFLICT: &str = "conflict";
    /// An `Idempotency-Key` sent again with another request (HTTP 422).
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    /// The first request with this `Idempotency-Key` is still running (HTTP 409).
    pub const IDEMPOTENCY_IN_PROGRESS: &str = "idempotency_in_progress";
    pub const NOT_FOUND: &str = "not_found";
    /// Salesforce refused the write for lack of access to the record (HTTP 403).
    pub const FORBIDDEN: &str = "forbidden";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
    /// The request body is over the gateway's size limit (HTTP 413).
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const INTERNAL: &str = "internal";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_uses_salesforce_field_names() {
        let json = r#"{"Id":"0035g00000AbCdEQAV","FirstName":"Ada","LastName":"Lovelace","Name":"Ada Lovelace",
            "Email":"ada@example.com","Phone":null,"MobilePhone":null,"Title":"CTO","AccountId":"0015g00000AbCdEQAV",
            "OwnerId":"0055g00000AbCdEQAV","SystemModstamp":"2024-05-01T10:00:00.000+0000"}"#;
        let contact: Contact = serde_json::from_str(json).unwrap();
        assert_eq!(contact.name, "Ada Lovelace");
        assert_eq!(contact.email.as_deref(), Some("ada@example.com"));
        let back = serde_json::to_value(&contact).unwrap();
        assert_eq!(back["LastName"], "Lovelace");
    }

    #[test]
    fn empty_sync_request_is_a_first_sync() {
        let req: SyncRequest = serde_json::from_str("{}").unwrap();
        assert!(req.cursors.is_empty());
    }

    #[test]
    fn error_body_omits_absent_fields() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: code::REAUTH_REQUIRED.into(),
                message: "Sign in again".into(),
                fields: None,
                retry_after: None,
                current: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"reauth_required","message":"Sign in again"}}"#
        );
    }
}
