//! Feeds outbound messages from the REST API: after a successful write, each saved record is
//! handed to `crate::outbound`. Covers single-record creates and updates (`201` with `Location`,
//! `PATCH …/sobjects/{type}/{id}`), sObject Collections (`/composite/sobjects`: every item with
//! `success: true`), composite requests (each 2xx subrequest that created or patched a record)
//! and Composite Graph (the same, for each graph that succeeded).
//! Deletes send nothing, as in Salesforce (outbound messages fire on create and update).

use std::sync::Arc;

use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::{outbound, schema, state::AppState};

/// Which kind of write a request is, from its method and path.
#[derive(Debug, PartialEq, Eq)]
enum Write {
    /// `…/sobjects/{type}[/{id}]`
    Single,
    /// `…/composite/sobjects[…]`
    Collection,
    /// `…/composite`
    Composite,
    /// `…/composite/graph`
    Graph,
}

/// The path after `/services/data/vXX.X/`, when it is a REST path.
fn rest_tail(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/services/data/v")?;
    let (_, tail) = rest.split_once('/')?;
    Some(tail.trim_end_matches('/'))
}

fn classify(method: &Method, path: &str) -> Option<Write> {
    if method != Method::POST && method != Method::PATCH {
        return None;
    }
    let tail = rest_tail(path)?;
    if tail.starts_with("sobjects/") {
        Some(Write::Single)
    } else if tail == "composite/sobjects" || tail.starts_with("composite/sobjects/") {
        Some(Write::Collection)
    } else if tail == "composite" && method == Method::POST {
        Some(Write::Composite)
    } else if tail == "composite/graph" && method == Method::POST {
        Some(Write::Graph)
    } else {
        None
    }
}

pub async fn notify_saved_records(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let Some(write) = classify(request.method(), &path) else {
        return next.run(request).await;
    };
    match write {
        Write::Single => {
            let response = next.run(request).await;
            if response.status().is_success() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok());
                if let Some((object, id)) = saved_record(&path, location) {
                    outbound::record_saved(&state, object, &id);
                }
            }
            response
        }
        Write::Collection => {
            let response = next.run(request).await;
            let (response, body) = buffered(response).await;
            if response.status().is_success() {
                notify_items(&state, &body);
            }
            response
        }
        Write::Composite | Write::Graph => {
            // The subrequests' methods and URLs are in the request; their outcomes in the answer.
            let (parts, body) = request.into_parts();
            let Ok(request_body) = to_bytes(body, state.config.max_body_bytes).await else {
                return StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let sent: Value = serde_json::from_slice(&request_body).unwrap_or(Value::Null);
            let response = next
                .run(Request::from_parts(parts, Body::from(request_body)))
                .await;
            // Only reads (a sync page: queries and delete logs): nothing to notify, and a page of
            // thousands of rows is not worth parsing to find that out.
            if write == Write::Composite && reads_only(&sent["compositeRequest"]) {
                return response;
            }
            let (response, body) = buffered(response).await;
            if !response.status().is_success() {
                return response;
            }
            let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
                return response;
            };
            if write == Write::Composite {
                notify_composite(
                    &state,
                    &sent["compositeRequest"],
                    &answer["compositeResponse"],
                );
                return response;
            }
            let graphs_sent = sent["graphs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            for graph in answer["graphs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                if graph["isSuccessful"] != Value::Bool(true) {
                    continue;
                }
                let nodes = graphs_sent
                    .iter()
                    .find(|g| g["graphId"] == graph["graphId"])
                    .map_or(&Value::Null, |g| &g["compositeRequest"]);
                notify_composite(&state, nodes, &graph["graphResponse"]["compositeResponse"]);
            }
            response
        }
    }
}

fn reads_only(subrequests: &Value) -> bool {
    subrequests.as_array().is_some_and(|all| {
        all.iter().all(|s| {
            s["method"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("GET"))
        })
    })
}

/// The response's body as bytes, and the response rebuilt around them.
async fn buffered(response: Response) -> (Response, Bytes) {
    let (parts, body) = response.into_parts();
    // sfsim's own handlers produce in-memory bodies, so this cannot fail in practice.
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    (
        Response::from_parts(parts, Body::from(bytes.clone())),
        bytes,
    )
}

/// `[{"id": …, "success": true, …}, …]`: each saved record (object from the id's key prefix).
fn notify_items(state: &Arc<AppState>, body: &[u8]) {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    notify_item_values(state, &items);
}

fn notify_item_values(state: &Arc<AppState>, items: &[Value]) {
    for item in items {
        if item["success"] != Value::Bool(true) {
            continue;
        }
        if let Some(id) = item["id"].as_str() {
            if let Some(object) = schema::object_for_id(id) {
                outbound::record_saved(state, object.name, id);
            }
        }
    }
}

/// Composite (and one graph): a 2xx subrequest with a body `id` created or upserted that
/// record; a 2xx `PATCH` of `…/sobjects/{type}/{id}` updated it; a collection subrequest saved
/// its items. `subrequests` is what was sent, `results` what was answered.
fn notify_composite(state: &Arc<AppState>, subrequests: &Value, results: &Value) {
    let Some(results) = results.as_array() else {
        return;
    };
    let subrequests = subrequests.as_array();
    for result in results {
        let status = result["httpStatusCode"].as_u64().unwrap_or_default();
        if !(200..300).contains(&status) {
            continue;
        }
        let sent = subrequests.and_then(|all| {
            all.iter()
                .find(|s| s["referenceId"] == result["referenceId"])
        });
        let method = sent.and_then(|s| s["method"].as_str()).unwrap_or_default();
        let url = sent.and_then(|s| s["url"].as_str()).unwrap_or_default();
        let path = url.split('?').next().unwrap_or_default();
        if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("DELETE") {
            continue;
        }
        match &result["body"] {
            Value::Array(items) => notify_item_values(state, items),
            Value::Object(body) if body.get("id").and_then(Value::as_str).is_some() => {
                let id = body["id"].as_str().unwrap_or_default();
                if let Some(object) = schema::object_for_id(id) {
                    outbound::record_saved(state, object.name, id);
                }
            }
            _ if method.eq_ignore_ascii_case("PATCH") => {
                let path = with_created_id(path, results);
                if let Some((object, id)) = saved_record(&path, None) {
                    outbound::record_saved(state, object, &id);
                }
            }
            _ => {}
        }
    }
}

/// A path whose last segment is `@{ref.id}` with the id that subrequest `ref` answered (a
/// record created earlier in the same request), so the patched record can be named.
fn with_created_id(path: &str, results: &[Value]) -> String {
    let Some((head, last)) = path.rsplit_once('/') else {
        return path.to_owned();
    };
    let Some(name) = last.strip_prefix("@{").and_then(|r| r.strip_suffix(".id}")) else {
        return path.to_owned();
    };
    results
        .iter()
        .find(|r| r["referenceId"] == name)
        .and_then(|r| r["body"]["id"].as_str())
        .map_or_else(|| path.to_owned(), |id| format!("{head}/{id}"))
}

/// `(object, id)` of the record a successful sObject write saved: the id from `Location`
/// (create, upsert-create) or from the path (`…/sobjects/{type}/{id}`).
fn saved_record(path: &str, location: Option<&str>) -> Option<(&'static str, String)> {
    let mut segments = rest_tail(path)?.split('/');
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

    #[test]
    fn writes_are_told_apart_by_method_and_path() {
        let post = Method::POST;
        assert_eq!(
            classify(&post, "/services/data/v58.0/sobjects/Contact/"),
            Some(Write::Single)
        );
        assert_eq!(
            classify(&Method::PATCH, "/services/data/v58.0/composite/sobjects"),
            Some(Write::Collection)
        );
        assert_eq!(
            classify(&post, "/services/data/v58.0/composite/"),
            Some(Write::Composite)
        );
        assert_eq!(
            classify(&post, "/services/data/v58.0/composite/graph"),
            Some(Write::Graph)
        );
        assert_eq!(
            classify(&Method::GET, "/services/data/v58.0/sobjects/Contact/"),
            None
        );
        assert_eq!(
            classify(&Method::DELETE, "/services/data/v58.0/composite/sobjects"),
            None
        );
        assert_eq!(classify(&post, "/services/oauth2/token"), None);
        assert_eq!(classify(&post, "/services/data/v58.0/query"), None);
    }
}
