//! The gateway's `/v1` API as Rust types. The gateway serves them and core calls them, so a
//! change here is a change of the wire format for both sides.
//!
//! Record fields keep their Salesforce API names on the wire (`Id`, `FirstName`, `SystemModstamp`…).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod events;
pub use events::{ChangeHint, CHANGE_EVENT};
mod object;
mod writes;
pub use writes::*;

object::object_only!(ExchangeRequest, SyncRequest, IdsRequest);

/// Header that carries the session token: `Authorization: Bearer <session_token>`.
pub const AUTHORIZATION: &str = "authorization";

/// `GET /v1/auth/config`: what a client needs to start a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct LoginHost {
    /// Human label: "Production", "Sandbox", a My Domain name.
    pub label: String,
    /// The login URL exactly as configured, e.g. `https://login.salesforce.com`. This is the
    /// value to send back as `login_host` at exchange.
    pub url: String,
    /// `<url>/services/oauth2/authorize`.
    pub authorize_url: String,
}

/// `POST /v1/auth/exchange`. Its `Debug` hides the code and the verifier. Unknown properties are
/// refused (`400`), as in every request body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ExchangeRequest {
    pub code: String,
    pub code_verifier: String,
    pub redirect_uri: String,
    pub login_host: String,
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("code", &"<redacted>")
            .field("code_verifier", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .field("login_host", &self.login_host)
            .finish()
    }
}

/// Its `Debug` hides the session token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ExchangeResponse {
    /// Opaque bearer token for the gateway (256 random bits, base64url).
    pub session_token: String,
    pub user: User,
}

impl std::fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeResponse")
            .field("session_token", &"<redacted>")
            .field("user", &self.user)
            .finish()
    }
}

/// The signed-in Salesforce user (`GET /v1/me`, and part of the exchange answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
pub const SYNC_OBJECTS: &[&str] = &["Account", "Contact", "Opportunity", "Task", "Lead"];

/// `POST /v1/sync`. `{}` (no cursors) asks for a first sync of every object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct SyncRequest {
    /// Object API name → the opaque cursor the gateway returned last time.
    #[serde(default)]
    pub cursors: BTreeMap<String, String>,
}

/// One page of changes. Apply it, with its cursors, in one transaction; ask again while `more`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncResponse {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub opportunities: Vec<Opportunity>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// The rep's open (not converted) leads. A lead converted since the cursor comes as a
    /// deletion.
    #[serde(default)]
    pub leads: Vec<Lead>,
    /// Records deleted in Salesforce since the cursor.
    #[serde(default)]
    pub deleted: Vec<DeletedRecord>,
    /// Objects whose delete log no longer reaches back to the cursor: the gateway started them
    /// over. The records of such an object in this answer and the following ones, until
    /// `objects[OBJECT].more` is false, are everything the rep may see; drop every other record
    /// of that object.
    #[serde(default)]
    pub reset: Vec<String>,
    /// Object API name → where that object's sync stands after this page.
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectProgress>,
    /// Object API name → the cursor to send next time. Opaque and signed by the gateway.
    pub cursors: BTreeMap<String, String>,
    /// More changes are waiting for some object: ask again with the new cursors.
    pub more: bool,
}

/// One object's standing after a sync page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ObjectProgress {
    /// Records of this page.
    #[ts(type = "number")]
    pub records: u64,
    /// Records still waiting after this page (Salesforce's count on an object's first page of a
    /// sync, carried on by the cursor after; an estimate while records change): with `records`
    /// it sizes a progress bar.
    #[ts(type = "number")]
    pub remaining: u64,
    /// More records are waiting for this object.
    pub more: bool,
}

/// `POST /v1/sync/counts`: how many records of each object the rep may see now. A replica holding
/// more than that has records that left the rep's view (owner changed, sharing changed); list the
/// visible ids with `POST /v1/sync/ids` and drop the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CountsResponse {
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
}

/// `POST /v1/sync/ids`: a page of the ids of `object` the rep may see, in id order, after `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct IdsRequest {
    pub object: String,
    /// A position in id order: any 15- or 18-character id (normally the last answer's `next`).
    #[serde(default)]
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct IdsResponse {
    /// 18-character ids, ascending.
    pub ids: Vec<String>,
    /// Send as `after` for the next page; `None` when this was the last.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct DeletedRecord {
    /// Object API name, e.g. `Contact`.
    pub object: String,
    #[serde(rename = "Id")]
    pub id: String,
    /// When Salesforce deleted it. A replica record stamped later than this was restored
    /// (undeleted) since, and stays: delete logs are read with some overlap.
    #[serde(default)]
    pub deleted_date: Option<String>,
}

/// Objects `GET /v1/describe/{object}` answers for.
pub const DESCRIBE_OBJECTS: &[&str] = &["Account", "Contact", "Lead", "Opportunity", "Task"];

/// `GET /v1/describe/{object}`: the picklists the app's screens offer, e.g. `StageName` with each
/// stage's default probability, Lead `Status`, Task `Status`, `Priority` and `TaskSubtype`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct DescribeResponse {
    pub object: String,
    /// Field API name → its active values, in Salesforce's order.
    pub picklists: BTreeMap<String, Vec<PicklistEntry>>,
}

/// One active picklist value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct PicklistEntry {
    pub value: String,
    pub label: String,
    /// The value a new record gets when none is given.
    pub default: bool,
    /// Opportunity stages only: default probability in percent, and what the stage means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub closed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub won: Option<bool>,
}

/// An Opportunity as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "PascalCase")]
pub struct Opportunity {
    pub id: String,
    pub name: String,
    pub stage_name: String,
    #[serde(default)]
    pub amount: Option<f64>,
    /// `YYYY-MM-DD`.
    pub close_date: String,
    /// Percent, derived from the stage by Salesforce.
    #[serde(default)]
    pub probability: Option<f64>,
    pub is_closed: bool,
    pub is_won: bool,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub next_step: Option<String>,
    pub owner_id: String,
    pub system_modstamp: String,
}

/// A Lead (an open, not converted one) as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "PascalCase")]
pub struct Lead {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    pub last_name: String,
    /// Salesforce's read-only full name.
    pub name: String,
    pub company: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub lead_source: Option<String>,
    pub status: String,
    pub owner_id: String,
    pub system_modstamp: String,
}

/// A Task (an activity: a logged call, a to-do) as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    pub id: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub status: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub task_subtype: Option<String>,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default)]
    pub activity_date: Option<String>,
    /// The contact or lead it is about.
    #[serde(default)]
    pub who_id: Option<String>,
    /// The account or opportunity it is about.
    #[serde(default)]
    pub what_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub is_closed: bool,
    pub owner_id: String,
    pub system_modstamp: String,
}

/// An Account as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    /// The billing address: street (may hold several lines), city, state, postal code, country.
    #[serde(default)]
    pub billing_street: Option<String>,
    #[serde(default)]
    pub billing_city: Option<String>,
    #[serde(default)]
    pub billing_state: Option<String>,
    #[serde(default)]
    pub billing_postal_code: Option<String>,
    #[serde(default)]
    pub billing_country: Option<String>,
    pub owner_id: String,
    /// Salesforce datetime, e.g. `2024-05-01T10:00:00.000+0000`.
    pub system_modstamp: String,
}

/// A Contact as replicated to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ErrorDetail {
    /// One of the `code` constants below.
    pub code: String,
    pub message: String,
    /// Field API name → what is wrong with it (validation errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<BTreeMap<String, String>>,
    /// Seconds to wait before retrying (rate limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "number", optional)]
    pub retry_after: Option<u64>,
    /// A `conflict` of a write: the record as Salesforce has it now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
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
    /// Refused for lack of access: a record the rep may not write, or an outbound message from
    /// an org the gateway does not serve (HTTP 403).
    pub const FORBIDDEN: &str = "forbidden";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
    /// The request body is over the gateway's size limit (HTTP 413).
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const INTERNAL: &str = "internal";
    /// `/readyz`: this instance's database failed or did not answer in time (HTTP 503).
    pub const NOT_READY: &str = "not_ready";
    /// This instance cannot serve the request for a moment (its change-hint channel is down,
    /// or it is at its limit): retry after `retry_after`, possibly on another instance (HTTP 503).
    pub const UNAVAILABLE: &str = "unavailable";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exchange_never_shows_the_code_verifier_or_session_token() {
        let request = ExchangeRequest {
            code: "aPrx-the-code".into(),
            code_verifier: "the-verifier-0123456789".into(),
            redirect_uri: "companion://oauth/callback".into(),
            login_host: "https://login.salesforce.com".into(),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("aPrx-the-code") && !shown.contains("the-verifier"));
        assert!(shown.contains("companion://oauth/callback"));
        let response = ExchangeResponse {
            session_token: "sEsSiOn-token-value".into(),
            user: User {
                user_id: "005000000000001AAA".into(),
                org_id: "00D000000000001AAA".into(),
                username: "rep@demo.example".into(),
                display_name: "Rep".into(),
                email: "rep@demo.example".into(),
            },
        };
        let shown = format!("{response:?}");
        assert!(!shown.contains("sEsSiOn-token-value"), "{shown}");
        assert!(shown.contains("rep@demo.example"));
    }

    /// Request bodies are exactly what the document describes: objects, without properties
    /// it does not name.
    #[test]
    fn requests_are_objects_without_unknown_properties() {
        fn refused<T: serde::de::DeserializeOwned>(json: &str) -> String {
            match serde_json::from_str::<T>(json) {
                Ok(_) => panic!("{json} was taken"),
                Err(e) => e.to_string(),
            }
        }
        let exchange = r#"{"code":"c","code_verifier":"v","redirect_uri":"r","login_host":"h"}"#;
        assert!(serde_json::from_str::<ExchangeRequest>(exchange).is_ok());
        assert!(serde_json::from_str::<SyncRequest>(r#"{"cursors":{}}"#).is_ok());
        assert!(serde_json::from_str::<SyncRequest>("{}").is_ok());
        assert!(serde_json::from_str::<IdsRequest>(r#"{"object":"Task","after":null}"#).is_ok());

        let unknown = refused::<ExchangeRequest>(&exchange.replace('}', r#","state":"s"}"#));
        assert!(unknown.contains("unknown field `state`"), "{unknown}");
        let unknown = refused::<SyncRequest>(r#"{"cursors":{},"since":"yesterday"}"#);
        assert!(unknown.contains("unknown field `since`"), "{unknown}");
        let unknown = refused::<IdsRequest>(r#"{"object":"Task","limit":5}"#);
        assert!(unknown.contains("unknown field `limit`"), "{unknown}");

        // serde's derive would take the values in field order as an array.
        let array = refused::<SyncRequest>("[]");
        assert!(
            array.contains("expected a JSON object (SyncRequest)"),
            "{array}"
        );
        refused::<IdsRequest>(r#"["Task"]"#);
        refused::<ExchangeRequest>(r#"["c","v","r","h"]"#);
        refused::<NewTask>(r#"["call",{}]"#);
        refused::<RecordUpdate>(r#"["2024-05-01T10:00:00Z",{"Title":"x"}]"#);
        refused::<BatchRequest>("[[]]");
        refused::<BatchRequest>(r#"{"writes":[["create_lead","k",{}]]}"#);
        refused::<BatchRequest>(
            r#"{"writes":[{"kind":"create_task","idempotency_key":"k","body":["call",{}]}]}"#,
        );
    }

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
