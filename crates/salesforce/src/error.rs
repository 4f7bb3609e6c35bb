//! The one error type of this crate.

use std::fmt;

use serde::Deserialize;

/// One entry of a REST error body. Salesforce answers REST errors as a JSON array of these
/// (reference §2.1): `[{"message":"…","errorCode":"…","fields":["…"]}]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    #[serde(rename = "errorCode", alias = "statusCode")]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// An OAuth error body: `{"error":"invalid_grant","error_description":"…"}` (reference §1.8).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

impl fmt::Display for OAuthErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error_description.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{} ({})", self.error, self.error_description)
        }
    }
}

/// Everything that can go wrong talking to Salesforce. Messages never contain a token or the
/// client secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Salesforce could not be reached (connection refused, reset, TLS failure, …).
    #[error("Salesforce is unreachable: {0}")]
    Unreachable(String),
    /// The connection broke after the request went out (reset, truncated answer). For a
    /// write, whether it landed is unknown.
    #[error("the connection to Salesforce broke: {0}")]
    ConnectionLost(String),
    /// Salesforce did not answer within the call's timeout. For a write, whether it landed is
    /// unknown: find out before sending it again.
    #[error("Salesforce did not answer in time")]
    Timeout,
    /// The OAuth endpoints refused the request.
    #[error("Salesforce OAuth error (HTTP {status}): {body}")]
    OAuth { status: u16, body: OAuthErrorBody },
    /// The REST API answered with an error array.
    #[error("Salesforce API error (HTTP {status}): {}", summary(.errors))]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
    },
    /// `412 Precondition Failed`: the record changed since `If-Unmodified-Since` (reference §3.4).
    #[error("the record changed since the given time (HTTP 412)")]
    PreconditionFailed { errors: Vec<ApiErrorItem> },
    /// `300 Multiple Choices` on an upsert: the external id matched several records; holds the
    /// matching records' URLs as Salesforce listed them (reference §2.3).
    #[error("the external id matched {} records", .records.len())]
    MultipleMatches { records: Vec<String> },
    /// Input refused before any request was sent (a field name that is not an identifier,
    /// too many subrequests, …).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// A non-success answer whose body is not one of Salesforce's error shapes.
    #[error("unexpected HTTP {status} from Salesforce: {snippet}")]
    UnexpectedStatus { status: u16, snippet: String },
    /// A success answer whose body does not have the expected shape.
    #[error("unexpected response from Salesforce: {0}")]
    Decode(String),
    /// The token response's `signature` is not HMAC-SHA256(id + issued_at, client secret).
    #[error("the token response's signature does not verify")]
    BadSignature,
    /// A URL from configuration or from Salesforce is not acceptable.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// A record id that is not a valid Salesforce id.
    #[error(transparent)]
    InvalidId(#[from] crate::ids::IdError),
}

fn summary(errors: &[ApiErrorItem]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What kind of failure an [`Error`] is, for the gateway to map onto its `/v1` error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The record was refused by a rule; [`Error::api_errors`] names the fields
    /// (`REQUIRED_FIELD_MISSING`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`, restricted picklists,
    /// `STRING_TOO_LONG`, `INVALID_FIELD_FOR_INSERT_UPDATE`, `MALFORMED_ID`, …).
    Validation,
    /// No such record, or it is in the recycle bin (`NOT_FOUND`, `ENTITY_IS_DELETED`).
    NotFound,
    /// The org's API allocation is used up (`403 REQUEST_LIMIT_EXCEEDED`).
    RateLimited,
    /// `401 INVALID_SESSION_ID`: refresh the access token and call again.
    SessionExpired,
    /// The refresh token or code is no longer good (`invalid_grant`): sign in again.
    ReauthRequired,
    /// Worth trying again later: connection failure, 5xx, `UNABLE_TO_LOCK_ROW`.
    Transient,
    /// No answer within the timeout (transient too; a write's outcome is unknown).
    Timeout,
    /// `412`: the record changed since the time the caller gave.
    PreconditionFailed,
    /// `300`: an upsert's external id matched several records.
    MultipleMatches,
    /// Not processed only because another operation of the same all-or-none request failed
    /// (`PROCESSING_HALTED`, `ALL_OR_NONE_OPERATION_ROLLED_BACK`).
    RolledBack,
    /// Refused for lack of permission (`403` other than the request limit).
    Forbidden,
    /// The request itself is wrong (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`, other
    /// 4xx, other OAuth errors): a bug on this side, not the user's data.
    BadRequest,
    /// Refused here before anything was sent (bad id, field name, URL, too many items).
    InvalidInput,
    /// Salesforce answered something this client does not understand (or a bad signature).
    Unexpected,
}

impl ErrorKind {
    /// Failures that may go away by themselves: a read can be retried.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::Timeout)
    }
}

/// Error codes meaning "the record's data broke a rule" (reference §2.4 and the DG's
/// `StatusCode` list).
const VALIDATION_CODES: &[&str] = &[
    "REQUIRED_FIELD_MISSING",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "FIELD_FILTER_VALIDATION_EXCEPTION",
    "FIELD_INTEGRITY_EXCEPTION",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "STRING_TOO_LONG",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "MALFORMED_ID",
    "INVALID_ID_FIELD",
    "INVALID_CROSS_REFERENCE_KEY",
    "INVALID_EMAIL_ADDRESS",
    "INVALID_TYPE_ON_FIELD_IN_RECORD",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "DUPLICATE_VALUE",
    "DUPLICATES_DETECTED",
    "CANNOT_UPDATE_CONVERTED_LEAD",
];

/// Classify a REST error array (or one collection item's / subrequest's errors). `status` is
/// the HTTP status when there is one; collection items have none.
pub fn classify(status: Option<u16>, errors: &[ApiErrorItem]) -> ErrorKind {
    let has = |code: &str| errors.iter().any(|e| e.error_code == code);
    if has("REQUEST_LIMIT_EXCEEDED") {
        return ErrorKind::RateLimited;
    }
    if has("INVALID_SESSION_ID") {
        return ErrorKind::SessionExpired;
    }
    if has("UNABLE_TO_LOCK_ROW") || has("SERVER_UNAVAILABLE") {
        return ErrorKind::Transient;
    }
    if errors
        .iter()
        .any(|e| VALIDATION_CODES.contains(&e.error_code.as_str()))
    {
        return ErrorKind::Validation;
    }
    if has("ENTITY_IS_DELETED") || has("NOT_FOUND") {
        return ErrorKind::NotFound;
    }
    if !errors.is_empty()
        && errors.iter().all(|e| {
            e.error_code == "PROCESSING_HALTED"
                || e.error_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        })
    {
        return ErrorKind::RolledBack;
    }
    match status {
        Some(300) => ErrorKind::MultipleMatches,
        Some(401) => ErrorKind::SessionExpired,
        Some(403) => ErrorKind::Forbidden,
        Some(404) => ErrorKind::NotFound,
        Some(412) => ErrorKind::PreconditionFailed,
        Some(s) if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::BadRequest,
    }
}

impl Error {
    /// What kind of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unreachable(_) | Error::ConnectionLost(_) => ErrorKind::Transient,
            Error::Timeout => ErrorKind::Timeout,
            Error::OAuth { body, .. } if body.error == "invalid_grant" => ErrorKind::ReauthRequired,
            Error::OAuth { status, .. } if *status >= 500 => ErrorKind::Transient,
            Error::OAuth { .. } => ErrorKind::BadRequest,
            Error::Api { status, errors } => classify(Some(*status), errors),
            Error::PreconditionFailed { .. } => ErrorKind::PreconditionFailed,
            Error::MultipleMatches { .. } => ErrorKind::MultipleMatches,
            Error::UnexpectedStatus { status, .. } => match status {
                401 => ErrorKind::SessionExpired,
                404 => ErrorKind::NotFound,
                412 => ErrorKind::PreconditionFailed,
                s if *s >= 500 => ErrorKind::Transient,
                _ => ErrorKind::Unexpected,
            },
            Error::Decode(_) | Error::BadSignature => ErrorKind::Unexpected,
            Error::InvalidUrl(_) | Error::InvalidId(_) | Error::InvalidInput(_) => {
                ErrorKind::InvalidInput
            }
        }
    }

    /// For a write: it may have been carried out although no success answer arrived (timeout,
    /// broken connection, 5xx, or a success answer that could not be read). Before sending
    /// such a write again, find out whether it landed. `false` means it certainly did not
    /// (refused with a 4xx, refused here, or no connection was made).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Timeout | Error::ConnectionLost(_) | Error::Decode(_) => true,
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The REST error items (code, message, fields) when Salesforce sent some.
    pub fn api_errors(&self) -> &[ApiErrorItem] {
        match self {
            Error::Api { errors, .. } | Error::PreconditionFailed { errors } => errors,
            _ => &[],
        }
    }

    /// Every field named by the error items, once each, in order.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = Vec::new();
        for field in self.api_errors().iter().flat_map(|e| &e.fields) {
            if !fields.contains(&field.as_str()) {
                fields.push(field);
            }
        }
        fields
    }

    /// The access token expired or was revoked: refresh it and retry (reference §1.11).
    pub fn is_session_expired(&self) -> bool {
        matches!(self, Error::Api { status: 401, errors } if errors.iter().any(|e| e.error_code == "INVALID_SESSION_ID"))
    }

    /// The refresh token (or code) is no longer good: the user must sign in again.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Error::OAuth { body, .. } if body.error == "invalid_grant")
    }

    /// The error codes of an API error, if it is one.
    pub fn api_error_codes(&self) -> Vec<&str> {
        match self {
            Error::Api { errors, .. } => errors.iter().map(|e| e.error_code.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Salesforce could not be reached (connection, timeout, or 5xx without a parseable body).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unreachable(_) | Error::ConnectionLost(_) | Error::Timeout => true,
            Error::UnexpectedStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        // reqwest's Display names the URL; strip it so no query string (SOQL) or token URL leaks.
        if err.is_timeout() {
            return Error::Timeout;
        }
        if err.is_builder() {
            // Nothing was sent: e.g. a header value with a line break.
            return Error::InvalidInput("the request could not be built".into());
        }
        if err.is_connect() {
            // No connection, so the request was not sent.
            return Error::Unreachable("connection failed".into());
        }
        let kind = if err.is_decode() || err.is_body() {
            "reading the response failed"
        } else {
            "request failed"
        };
        Error::ConnectionLost(kind.to_string())
    }
}

/// Turn a non-success REST answer into a typed error.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Error {
    if status == 300 {
        return Error::MultipleMatches {
            records: serde_json::from_slice::<Vec<serde_json::Value>>(body)
                .map(|items| {
                    items
                        .into_iter()
                        .map(|v| {
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
    }
    if status == 412 {
        return Error::PreconditionFailed {
            errors: serde_json::from_slice(body).unwrap_or_default(),
        };
    }
    if let Ok(errors) = serde_json::from_slice::<Vec<ApiErrorItem>>(body) {
        if !errors.is_empty() {
            return Error::Api { status, errors };
        }
    }
    // Some endpoints (and proxies) answer an object instead of an array.
    if let Ok(item) = serde_json::from_slice::<ApiErrorItem>(body) {
        return Error::Api {
            status,
            errors: vec![item],
        };
    }
    if let Ok(body) = serde_json::from_slice::<OAuthErrorBody>(body) {
        return Error::OAuth { status, body };
    }
    Error::UnexpectedStatus {
        status,
        snippet: snippet(body),
    }
}

/// Turn a non-success OAuth answer into a typed error. Accepts JSON and, as revoke sends,
/// form-urlencoded bodies (reference §1.9).
pub(crate) fn oauth_error(status: u16, body: &[u8]) -> Error {
    if let Ok(body) = serde_json::from_slice::<OAuthErrorBody>(body) {
        return Error::OAuth { status, body };
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    if let Some((_, error)) = pairs.iter().find(|(k, _)| k == "error") {
        let error_description = pairs
            .iter()
            .find(|(k, _)| k == "error_description")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        return Error::OAuth {
            status,
            body: OAuthErrorBody {
                error: error.clone(),
                error_description,
            },
        };
    }
    Error::UnexpectedStatus {
        status,
        snippet: snippet(body),
    }
}

/// The first bytes of a body, for an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_expired_session_array() {
        let body =
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        let err = api_error(401, body);
        assert!(err.is_session_expired());
        assert_eq!(err.api_error_codes(), vec!["INVALID_SESSION_ID"]);
    }

    #[test]
    fn parses_field_errors() {
        let body = br#"[{"message":"Required fields are missing: [LastName, Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName","Company"]}]"#;
        match api_error(400, body) {
            Error::Api { status, errors } => {
                assert_eq!(status, 400);
                assert_eq!(errors[0].fields, vec!["LastName", "Company"]);
                assert_eq!(errors[0].error_code, "REQUIRED_FIELD_MISSING");
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn a_401_with_another_code_is_not_an_expired_session() {
        let body = br#"[{"message":"nope","errorCode":"INSUFFICIENT_ACCESS"}]"#;
        assert!(!api_error(401, body).is_session_expired());
        let body =
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(!api_error(403, body).is_session_expired());
    }

    #[test]
    fn parses_oauth_errors_json_and_form() {
        let err = oauth_error(
            400,
            br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert!(err.is_invalid_grant());
        assert!(err.to_string().contains("expired access/refresh token"));
        let err = oauth_error(
            400,
            b"error=unsupported_token_type&error_description=bad%20token",
        );
        match err {
            Error::OAuth { body, .. } => {
                assert_eq!(body.error, "unsupported_token_type");
                assert_eq!(body.error_description, "bad token");
            }
            other => panic!("expected an OAuth error, got {other:?}"),
        }
    }

    fn kind_of(status: u16, code: &str) -> ErrorKind {
        let body = format!(r#"[{{"message":"m","errorCode":"{code}","fields":["F"]}}]"#);
        api_error(status, body.as_bytes()).kind()
    }

    #[test]
    fn rest_errors_are_classified_for_the_gateway() {
        for code in [
            "REQUIRED_FIELD_MISSING",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "STRING_TOO_LONG",
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "MALFORMED_ID",
            "DUPLICATES_DETECTED",
        ] {
            assert_eq!(kind_of(400, code), ErrorKind::Validation, "{code}");
        }
        assert_eq!(kind_of(404, "NOT_FOUND"), ErrorKind::NotFound);
        assert_eq!(kind_of(404, "ENTITY_IS_DELETED"), ErrorKind::NotFound);
        assert_eq!(kind_of(400, "ENTITY_IS_DELETED"), ErrorKind::NotFound);
        assert_eq!(
            kind_of(403, "REQUEST_LIMIT_EXCEEDED"),
            ErrorKind::RateLimited
        );
        assert_eq!(kind_of(403, "INSUFFICIENT_ACCESS"), ErrorKind::Forbidden);
        assert_eq!(
            kind_of(401, "INVALID_SESSION_ID"),
            ErrorKind::SessionExpired
        );
        assert_eq!(kind_of(400, "UNABLE_TO_LOCK_ROW"), ErrorKind::Transient);
        assert_eq!(kind_of(500, "UNKNOWN_EXCEPTION"), ErrorKind::Transient);
        assert_eq!(kind_of(400, "MALFORMED_QUERY"), ErrorKind::BadRequest);
        assert_eq!(kind_of(400, "PROCESSING_HALTED"), ErrorKind::RolledBack);
        assert_eq!(
            classify(
                None,
                &[ApiErrorItem {
                    error_code: "ALL_OR_NONE_OPERATION_ROLLED_BACK".into(),
                    message: String::new(),
                    fields: vec![],
                }]
            ),
            ErrorKind::RolledBack
        );
        assert_eq!(
            kind_of(412, "PRECONDITION_FAILED"),
            ErrorKind::PreconditionFailed
        );
        assert!(matches!(
            api_error(412, b""),
            Error::PreconditionFailed { .. }
        ));
        assert_eq!(api_error(502, b"Bad Gateway").kind(), ErrorKind::Transient);
        assert_eq!(Error::Timeout.kind(), ErrorKind::Timeout);
        assert!(ErrorKind::Timeout.is_transient());
        let err = oauth_error(400, br#"{"error":"invalid_grant","error_description":"x"}"#);
        assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    }

    #[test]
    fn fields_are_listed_once() {
        let body = br#"[{"message":"a","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName","Company"]},
                        {"message":"b","errorCode":"STRING_TOO_LONG","fields":["LastName"]}]"#;
        assert_eq!(api_error(400, body).fields(), vec!["LastName", "Company"]);
    }

    #[test]
    fn several_matches_keep_the_record_urls() {
        let body = br#"["/services/data/v58.0/sobjects/Account/001D000000Kv3g5IAB","/services/data/v58.0/sobjects/Account/001D000000Kv3g6IAB"]"#;
        match api_error(300, body) {
            Error::MultipleMatches { records } => {
                assert_eq!(
                    records[1],
                    "/services/data/v58.0/sobjects/Account/001D000000Kv3g6IAB"
                )
            }
            other => panic!("expected several matches, got {other:?}"),
        }
    }

    #[test]
    fn html_error_page_is_kept_as_a_short_snippet() {
        let page = "<html>".repeat(100);
        let err = api_error(503, page.as_bytes());
        assert!(err.is_unavailable());
        assert!(err.to_string().len() < 300);
    }
}
