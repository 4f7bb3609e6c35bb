//! Response builders with Salesforce's exact content type.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Salesforce sends exactly this; jsforce only parses bodies whose type matches `^application/json(;|$)`.
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    json_sized(status, body, 128)
}

/// [`json`] into a buffer of `capacity` bytes up front: a large page then grows without the
/// repeated reallocations (and copies) that cost more than writing it.
pub fn json_sized<T: Serialize>(status: StatusCode, body: &T, capacity: usize) -> Response {
    let mut bytes = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
            bytes,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot serialise a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// One element of a REST error array; `fields` only for field-level errors.
#[derive(Serialize)]
pub struct RestErrorItem<'a> {
    pub message: &'a str,
    #[serde(rename = "errorCode")]
    pub error_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<&'a str>>,
}

/// A REST error: always a JSON array (reference §2.1).
pub fn rest_error(status: StatusCode, error_code: &str, message: &str) -> Response {
    json(
        status,
        &[RestErrorItem {
            message,
            error_code,
            fields: None,
        }],
    )
}

pub fn html(status: StatusCode, page: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html;charset=UTF-8"),
        )],
        page,
    )
        .into_response()
}

/// A refused REST operation as its error array (`fields` only where the error has them).
pub fn api_error(error: &crate::dml::ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    json(status, &error_items(error))
}

/// The JSON array of a REST error.
pub fn error_items(error: &crate::dml::ApiError) -> Vec<RestErrorItem<'_>> {
    error
        .errors
        .iter()
        .map(|item| RestErrorItem {
            message: &item.message,
            error_code: item.code,
            fields: item
                .fields
                .as_ref()
                .map(|fields| fields.iter().map(String::as_str).collect()),
        })
        .collect()
}
