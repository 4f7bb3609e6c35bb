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
    /// Salesforce could not be reached, or did not answer in time.
    #[error("Salesforce is unreachable: {0}")]
    Unreachable(String),
    /// The OAuth endpoints refused the request.
    #[error("Salesforce OAuth error (HTTP {status}): {body}")]
    OAuth { status: u16, body: OAuthErrorBody },
    /// The REST API answered with an error array.
    #[error("Salesforce API error (HTTP {status}): {}", summary(.errors))]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
    },
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

impl Error {
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
            Error::Unreachable(_) => true,
            Error::UnexpectedStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        // reqwest's Display names the URL; strip it so no query string (SOQL) or token URL leaks.
        let kind = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_decode() || err.is_body() {
            "reading the response failed"
        } else {
            "request failed"
        };
        Error::Unreachable(kind.to_string())
    }
}

/// Turn a non-success REST answer into a typed error.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Error {
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

    #[test]
    fn html_error_page_is_kept_as_a_short_snippet() {
        let page = "<html>".repeat(100);
        let err = api_error(503, page.as_bytes());
        assert!(err.is_unavailable());
        assert!(err.to_string().len() < 300);
    }
}
