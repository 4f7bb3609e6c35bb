//! Feeds outbound messages from the REST API: after a successful create (`201` with `Location`)
//! or update (`PATCH …/sobjects/{type}/{id}`), the saved record is handed to `crate::outbound`.
//! Composite and collection writes do not trigger outbound messages here (not modelled).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, Method},
    middleware::Next,
    response::Response,
};

use crate::{outbound, schema, state::AppState};

pub async fn notify_saved_records(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    if method != Method::POST && method != Method::PATCH {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok());
    if let Some((object, id)) = saved_record(&path, location) {
        outbound::record_saved(&state, object, &id);
    }
    response
}

/// `(object, id)` of the record a successful sObject write saved: the id from `Location`
/// (create, upsert-create) or from the path (`…/sobjects/{type}/{id}`).
fn saved_record(path: &str, location: Option<&str>) -> Option<(&'static str, String)> {
    let mut segments = path.trim_end_matches('/').split('/').skip(1);
    // services / data / vXX.X / sobjects / {type} [/ {id}]
    if segments.next()? != "services" || segments.next()? != "data" {
        return None;
    }
    segments.next()?.strip_prefix('v')?;
    if segments.next()? != "sobjects" {
        return None;
    }
    let object = schema::object(segments.next()?)?;
    let id = match location {
        Some(location) => location.rsplit('/').next()?.to_owned(),
        None => segments.next()?.to_owned(),
    };
    // Only a record id of this object (not `describe`, `updated`, an external-id field name…).
    let is_record = id.len() == 18
        && id.starts_with(object.key_prefix)
        && id.bytes().all(|b| b.is_ascii_alphanumeric());
    is_record.then_some((object.name, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_updates_name_their_record() {
        assert_eq!(
            saved_record(
                "/services/data/v58.0/sobjects/Contact/",
                Some("/services/data/v58.0/sobjects/Contact/003000000000001AAA")
            ),
            Some(("Contact", "003000000000001AAA".to_owned()))
        );
        assert_eq!(
            saved_record(
                "/services/data/v58.0/sobjects/Contact/003000000000001AAA",
                None
            ),
            Some(("Contact", "003000000000001AAA".to_owned()))
        );
        assert_eq!(
            saved_record("/services/data/v58.0/sobjects/Contact/describe", None),
            None
        );
        assert_eq!(
            saved_record(
                "/services/data/v58.0/sobjects/Account/001000000000001AAA",
                None
            ),
            Some(("Account", "001000000000001AAA".to_owned()))
        );
        assert_eq!(saved_record("/services/data/v58.0/composite", None), None);
    }
}
