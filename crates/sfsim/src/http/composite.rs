//! `composite` (up to 25 subrequests with `@{ref.field}` references, `allOrNone`, one API call)
//! and sObject Collections `composite/sobjects` (up to 200 records, per-item results with
//! `statusCode`), reference §4.1–4.2.

use std::sync::Arc;

use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Extension, Path, Query, Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use super::{
    response::{self, api_error},
    rest::{self, ApiVersion, Caller, Subrequest},
};
use crate::{
    clock::format_datetime,
    dml::{self, ApiError},
    query,
    schema::{self, FieldDef, ObjectDef},
    state::AppState,
    store::{OrgUser, Record, Store},
};

const MAX_SUBREQUESTS: usize = 25;
/// Of those, at most this many queries or sObject Collections operations (reference §4.1).
const MAX_QUERY_OR_COLLECTION_SUBREQUESTS: usize = 5;

/// `…/query…`, `…/queryAll…` or `…/composite/sobjects…` after the API version.
fn is_query_or_collection(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    let after_version = path
        .trim_start_matches('/')
        .trim_start_matches("services/data/")
        .split_once('/')
        .map_or("", |(_, rest)| rest);
    after_version == "query"
        || after_version.starts_with("query/")
        || after_version == "queryAll"
        || after_version.starts_with("queryAll/")
        || after_version.starts_with("composite/sobjects")
}
const MAX_RECORDS: usize = 200;
/// Subrequest bodies are small JSON documents; this only bounds a runaway one.
const MAX_SUBRESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct CompositeRequest {
    #[serde(rename = "allOrNone", default)]
    all_or_none: bool,
    #[serde(rename = "compositeRequest")]
    requests: Vec<SubrequestSpec>,
}

/// One subrequest as the client wrote it (Composite's and Composite Graph's nodes alike).
#[derive(Deserialize, Clone)]
pub(super) struct SubrequestSpec {
    pub method: String,
    pub url: String,
    #[serde(rename = "referenceId")]
    pub reference_id: String,
    #[serde(default)]
    pub body: Option<Value>,
    /// Request headers of the subrequest (e.g. `If-Unmodified-Since`).
    #[serde(rename = "httpHeaders", default)]
    pub http_headers: Map<String, Value>,
}

/// What a subrequest answered. The body stays the text the subrequest wrote (a query page of
/// 2000 rows is copied into the answer, not parsed and written again); it is parsed only when
/// a later subrequest refers to it.
pub(super) struct Outcome {
    reference_id: String,
    status: u16,
    location: Option<String>,
    body: Box<RawValue>,
}

/// One entry of `compositeResponse`, in Salesforce's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OutcomeJson<'a> {
    body: &'a RawValue,
    http_headers: Value,
    http_status_code: u16,
    reference_id: &'a str,
}

impl Outcome {
    pub(super) fn to_json(&self) -> OutcomeJson<'_> {
        let headers = match &self.location {
            Some(location) => json!({"Location": location}),
            None => json!({}),
        };
        OutcomeJson {
            body: &self.body,
            http_headers: headers,
            http_status_code: self.status,
            reference_id: &self.reference_id,
        }
    }

    /// The size of the answer's body, to size the response buffer.
    pub(super) fn body_len(&self) -> usize {
        self.body.get().len()
    }

    /// The body as a JSON value (`null` if it was not JSON).
    fn body_value(&self) -> Value {
        serde_json::from_str(self.body.get()).unwrap_or(Value::Null)
    }

    pub(super) fn halted(reference_id: &str, message: &str) -> Self {
        Self {
            reference_id: reference_id.to_owned(),
            status: 400,
            location: None,
            body: raw(&json!([{"errorCode": "PROCESSING_HALTED", "message": message}])),
        }
    }
}

fn raw(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a JSON value always serialises")
}

/// A change a subrequest made, to be undone when `allOrNone` rolls back.
struct Undo {
    object: &'static ObjectDef,
    id: String,
    previous: Option<Record>,
}

pub(super) const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

fn bad_request(message: impl Into<String>) -> Response {
    api_error(&invalid_input(message))
}

/// A request refused before anything runs (wording unconfirmed).
pub(super) fn invalid_input(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "INVALID_INPUT", message)
}

/// Reference ids: a letter, then letters, digits and `_`; unique among `requests`.
pub(super) fn check_reference_ids(requests: &[SubrequestSpec]) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for sub in requests {
        let valid = sub
            .reference_id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && sub
                .reference_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(invalid_input(format!(
                "Invalid referenceId: '{}'",
                sub.reference_id
            )));
        }
        if !seen.insert(sub.reference_id.as_str()) {
            return Err(invalid_input(format!(
                "Duplicate referenceId: '{}'",
                sub.reference_id
            )));
        }
    }
    Ok(())
}

/// A subrequest's method, or the refusal of the whole request.
pub(super) fn parse_method(sub: &SubrequestSpec) -> Result<Method, ApiError> {
    Method::from_bytes(sub.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| invalid_input(format!("Invalid method: '{}'", sub.method)))
}

/// A subrequest's URL must be a REST path; checked before anything runs.
fn check_url(sub: &SubrequestSpec) -> Result<(), ApiError> {
    if sub.url.starts_with("/services/data/v") {
        Ok(())
    } else {
        Err(invalid_input(format!("Invalid url: '{}'", sub.url)))
    }
}

/// `POST /services/data/vXX.X/composite`.
pub async fn composite(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: CompositeRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return api_error(&ApiError::new(
                400,
                "JSON_PARSER_ERROR",
                format!("The composite request is malformed: {error}"),
            ))
        }
    };
    // Checked before anything runs (reference §4.1); wording of these refusals is unconfirmed.
    if request.requests.is_empty() || request.requests.len() > MAX_SUBREQUESTS {
        return bad_request(format!(
            "compositeRequest must hold between 1 and {MAX_SUBREQUESTS} subrequests"
        ));
    }
    let well_formed = check_reference_ids(&request.requests).and_then(|()| {
        request
            .requests
            .iter()
            .try_for_each(|sub| parse_method(sub).and_then(|_| check_url(sub)))
    });
    if let Err(refused) = well_formed {
        return api_error(&refused);
    }
    let heavy = request
        .requests
        .iter()
        .filter(|sub| is_query_or_collection(&sub.url))
        .count();
    if heavy > MAX_QUERY_OR_COLLECTION_SUBREQUESTS {
        return bad_request(format!(
            "A composite request can contain at most {MAX_QUERY_OR_COLLECTION_SUBREQUESTS} query or sObject Collections subrequests"
        ));
    }

    let runner = Runner::new(&state, &headers);
    let ran = runner.run(&request.requests, request.all_or_none).await;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CompositeJson<'a> {
        composite_response: Vec<OutcomeJson<'a>>,
    }
    let size: usize = ran.outcomes.iter().map(|o| o.body_len() + 128).sum();
    response::json_sized(
        StatusCode::OK,
        &CompositeJson {
            composite_response: ran.outcomes.iter().map(Outcome::to_json).collect(),
        },
        size + 32,
    )
}

/// Runs subrequests through the versioned REST routes as the calling user, none of them counted
/// as an API call of its own.
pub(super) struct Runner {
    state: Arc<AppState>,
    router: axum::Router,
    authorization: Option<axum::http::HeaderValue>,
}

/// The subrequests' answers, one each in order, and whether the changes were rolled back.
pub(super) struct Ran {
    pub outcomes: Vec<Outcome>,
    pub rolled_back: bool,
}

impl Runner {
    pub(super) fn new(state: &Arc<AppState>, headers: &HeaderMap) -> Self {
        Runner {
            state: state.clone(),
            router: rest::versioned_routes(state.clone()).with_state(state.clone()),
            authorization: headers.get(header::AUTHORIZATION).cloned(),
        }
    }

    /// Runs `requests` in order; later ones may refer to earlier answers (`@{ref.field}`).
    /// With `all_or_none` the first failure undoes every change made so far: the failing
    /// subrequest keeps its own error, every other one answers `PROCESSING_HALTED`.
    pub(super) async fn run(&self, requests: &[SubrequestSpec], all_or_none: bool) -> Ran {
        let state = &self.state;
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(requests.len());
        let mut undo: Vec<Undo> = Vec::new();
        let mut failed_at = None;
        for (index, sub) in requests.iter().enumerate() {
            let (url, body) = match resolve_references(sub, &outcomes) {
                Ok(resolved) => resolved,
                Err(reference) => {
                    let name = reference.split('.').next().unwrap_or_default();
                    outcomes.push(Outcome::halted(
                        &sub.reference_id,
                        &format!("Invalid reference specified. No value for {reference} found in {name}. Provided referenceId ('{name}') does not match any previous subrequest's referenceId, or the value is missing."),
                    ));
                    if all_or_none {
                        failed_at = Some(index);
                        break;
                    }
                    continue;
                }
            };
            // Callers check methods before running; a bad one here only fails its subrequest.
            let method = Method::from_bytes(sub.method.to_ascii_uppercase().as_bytes())
                .unwrap_or(Method::OPTIONS);
            let before = if all_or_none {
                snapshot(state, &method, &url)
            } else {
                None
            };
            let outcome = run_subrequest(
                &self.router,
                &method,
                &url,
                body,
                self.authorization.clone(),
                &sub.http_headers,
                &sub.reference_id,
            )
            .await;
            let failed = outcome.status >= 400;
            if all_or_none && !failed {
                if let Some(before) = before {
                    undo.push(before);
                } else if outcome.status == 201 {
                    if let Some((object, id)) = created_record(&outcome) {
                        undo.push(Undo {
                            object,
                            id,
                            previous: None,
                        });
                    }
                }
            }
            outcomes.push(outcome);
            if failed && all_or_none {
                failed_at = Some(index);
                break;
            }
        }

        let Some(failed) = failed_at else {
            return Ran {
                outcomes,
                rolled_back: false,
            };
        };
        {
            let mut org = state.org();
            for change in undo.into_iter().rev() {
                org.store
                    .restore(change.object, &change.id, change.previous);
            }
        }
        for (index, outcome) in outcomes.iter_mut().enumerate() {
            if index != failed {
                *outcome = Outcome::halted(&outcome.reference_id, ROLLED_BACK);
            }
        }
        for sub in &requests[outcomes.len()..] {
            outcomes.push(Outcome::halted(&sub.reference_id, ROLLED_BACK));
        }
        Ran {
            outcomes,
            rolled_back: true,
        }
    }
}

async fn run_subrequest(
    router: &axum::Router,
    method: &Method,
    url: &str,
    body: Option<Value>,
    authorization: Option<axum::http::HeaderValue>,
    http_headers: &Map<String, Value>,
    reference_id: &str,
) -> Outcome {
    let mut builder = Request::builder().method(method.clone()).uri(url);
    // The subrequest runs as the composite's caller whatever its own headers say.
    for (name, value) in http_headers {
        if let Some(value) = value.as_str() {
            if !name.eq_ignore_ascii_case("authorization") {
                builder = builder.header(name.as_str(), value);
            }
        }
    }
    if let Some(authorization) = authorization {
        builder = builder.header(header::AUTHORIZATION, authorization);
    }
    let payload = match body {
        Some(value) => Body::from(value.to_string()),
        None => Body::empty(),
    };
    let request = builder
        .header(header::CONTENT_TYPE, "application/json")
        .extension(Subrequest)
        .body(payload);
    let response = match request {
        Ok(request) => router.clone().oneshot(request).await,
        Err(_) => {
            return Outcome {
                reference_id: reference_id.to_owned(),
                status: 400,
                location: None,
                body: raw(
                    &json!([{"errorCode": "INVALID_INPUT", "message": format!("Invalid url: '{url}'")}]),
                ),
            }
        }
    };
    let Ok(response) = response;
    outcome_of(response, reference_id).await
}

async fn outcome_of(response: Response, reference_id: &str) -> Outcome {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = to_bytes(response.into_body(), MAX_SUBRESPONSE_BYTES)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| raw(&Value::Null));
    Outcome {
        reference_id: reference_id.to_owned(),
        status,
        location,
        body,
    }
}

/// The record a PATCH or DELETE of `/sobjects/{type}/{id}` (or of
/// `/sobjects/{type}/{externalIdField}/{value}`) is about to change, as it is now.
fn snapshot(state: &AppState, method: &Method, url: &str) -> Option<Undo> {
    if method != Method::PATCH && method != Method::DELETE {
        return None;
    }
    let path = url.split('?').next()?;
    let mut parts = path.trim_end_matches('/').split('/').skip(4);
    if parts.next()? != "sobjects" {
        return None;
    }
    let object = schema::object(parts.next()?)?;
    let segment = parts.next()?;
    let external_value = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let org = state.org();
    let previous = match external_value {
        None => org.store.get_any(object, segment)?,
        Some(value) => {
            let field = object.field(segment).filter(|f| f.external_id)?;
            let mut matches = org.store.all(object).filter(|r| {
                r.get(field.name)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            });
            // No match: the upsert creates (undone by its 201); several: it fails.
            let record = matches.next()?;
            if matches.next().is_some() {
                return None;
            }
            record
        }
    };
    let id = previous.get("Id").and_then(Value::as_str)?.to_owned();
    Some(Undo {
        object,
        id,
        previous: Some(previous.clone()),
    })
}

fn created_record(outcome: &Outcome) -> Option<(&'static ObjectDef, String)> {
    let body = outcome.body_value();
    let id = body.get("id")?.as_str()?;
    Some((schema::object_for_id(id)?, id.to_owned()))
}

/// Replaces `@{ref.path}` in the URL and (recursively) in body strings; `Err` names the
/// reference that has no value.
fn resolve_references(
    sub: &SubrequestSpec,
    outcomes: &[Outcome],
) -> Result<(String, Option<Value>), String> {
    let url = substitute(&sub.url, outcomes)?;
    let body = sub
        .body
        .as_ref()
        .map(|body| substitute_value(body, outcomes))
        .transpose()?;
    Ok((url, body))
}

fn substitute_value(value: &Value, outcomes: &[Outcome]) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => {
            // A string that is exactly one reference takes the referenced value's own type.
            if let Some(inner) = text.strip_prefix("@{").and_then(|t| t.strip_suffix('}')) {
                if !inner.contains('}') {
                    return lookup(inner, outcomes);
                }
            }
            Value::String(substitute(text, outcomes)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_value(v, outcomes))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_value(v, outcomes)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute(text: &str, outcomes: &[Outcome]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        match lookup(&after[..end], outcomes)? {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `refAccount.id`, `refQuery.records[0].Id`: a value of an earlier successful answer.
fn lookup(reference: &str, outcomes: &[Outcome]) -> Result<Value, String> {
    let missing = || reference.to_owned();
    let (name, path) = reference.split_once('.').unwrap_or((reference, ""));
    let outcome = outcomes
        .iter()
        .find(|o| o.reference_id == name && o.status < 400)
        .ok_or_else(missing)?;
    let body = outcome.body_value();
    let mut current = &body;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            current = current.get(key).ok_or_else(missing)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = index
                .strip_suffix(']')
                .and_then(|n| n.parse().ok())
                .ok_or_else(missing)?;
            current = current.get(n).ok_or_else(missing)?;
        }
    }
    if current.is_null() {
        return Err(missing());
    }
    Ok(current.clone())
}

// ---------------------------------------------------------------------------------------------
// sObject Collections

#[derive(Deserialize)]
struct CollectionRequest {
    #[serde(rename = "allOrNone", default)]
    all_or_none: bool,
    records: Vec<Value>,
}

/// One item's result: `statusCode` (not `errorCode`) and `fields` always present.
fn item_error(id: Option<&str>, error: &ApiError) -> Value {
    let errors: Vec<Value> = error
        .errors
        .iter()
        .map(|e| json!({"statusCode": e.code, "message": e.message, "fields": e.fields.clone().unwrap_or_default()}))
        .collect();
    let mut item = json!({"success": false, "errors": errors});
    // Create failures carry no id (reference §4.2); update/delete ones name the record.
    if let Some(id) = id {
        item["id"] = id.into();
    }
    item
}

fn item_ok(id: &str) -> Value {
    json!({"id": id, "success": true, "errors": []})
}

const ALL_OR_NONE_ROLLED_BACK: &str =
    "Record rolled back because not all records were valid and the request was using AllOrNone header";

#[derive(Clone, Copy)]
enum Write {
    Create,
    Update,
}

fn parse_collection(body: &[u8]) -> Result<CollectionRequest, ApiError> {
    let request: CollectionRequest = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            400,
            "JSON_PARSER_ERROR",
            format!("The request is malformed: {error}"),
        )
    })?;
    check_count(request.records.len())?;
    Ok(request)
}

fn check_count(count: usize) -> Result<(), ApiError> {
    // Code and wording for too many records are unconfirmed.
    if count > MAX_RECORDS {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!("record limit reached. cannot submit more than {MAX_RECORDS} records into this call"),
        ));
    }
    Ok(())
}

/// `POST /composite/sobjects` (create) and `PATCH /composite/sobjects` (update).
async fn write_collection(state: &AppState, user: &OrgUser, body: &[u8], write: Write) -> Response {
    let request = match parse_collection(body) {
        Ok(request) => request,
        Err(error) => return api_error(&error),
    };
    let now = format_datetime(state.clock.now());
    let mut org = state.org();
    let store = &mut org.store;
    let mut results = Vec::with_capacity(request.records.len());
    let mut undo: Vec<Undo> = Vec::new();
    let mut any_failed = false;
    for record in &request.records {
        let outcome = write_one(store, user, record, write, &now, &mut undo);
        any_failed |= outcome.is_err();
        results.push(outcome);
    }
    if request.all_or_none && any_failed {
        for change in undo.into_iter().rev() {
            store.restore(change.object, &change.id, change.previous);
        }
        let rolled_back = ApiError::new(
            400,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            ALL_OR_NONE_ROLLED_BACK,
        );
        let items: Vec<Value> = results
            .into_iter()
            .map(|result| match result {
                Ok(id) => match write {
                    Write::Create => item_error(None, &rolled_back),
                    Write::Update => item_error(Some(&id), &rolled_back),
                },
                Err((id, error)) => item_error(id.as_deref(), &error),
            })
            .collect();
        return response::json(StatusCode::OK, &items);
    }
    let items: Vec<Value> = results
        .into_iter()
        .map(|result| match result {
            Ok(id) => item_ok(&id),
            Err((id, error)) => item_error(id.as_deref(), &error),
        })
        .collect();
    response::json(StatusCode::OK, &items)
}

type ItemResult = Result<String, (Option<String>, ApiError)>;

fn write_one(
    store: &mut Store,
    user: &OrgUser,
    record: &Value,
    write: Write,
    now: &str,
    undo: &mut Vec<Undo>,
) -> ItemResult {
    let fields = record.as_object().cloned().unwrap_or_default();
    let given_id = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Id"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned);
    let type_name = fields
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let object = match (&type_name, &given_id) {
        (Some(name), _) => schema::object(name),
        (None, Some(id)) if matches!(write, Write::Update) => schema::object_for_id(id),
        _ => None,
    };
    let Some(object) = object else {
        return Err((
            given_id,
            ApiError::new(400, "INVALID_TYPE", "Must send a concrete entity type."),
        ));
    };
    match write {
        Write::Create => {
            let id = dml::create(store, object, user, &fields, now).map_err(|e| (None, e))?;
            undo.push(Undo {
                object,
                id: id.clone(),
                previous: None,
            });
            Ok(id)
        }
        Write::Update => {
            let Some(id) = given_id else {
                return Err((
                    None,
                    ApiError::new(
                        400,
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                    ),
                ));
            };
            let previous = store.get_any(object, &id).cloned();
            dml::update(store, object, user, &id, &fields, now)
                .map_err(|e| (Some(id.clone()), e))?;
            undo.push(Undo {
                object,
                id: id.clone(),
                previous,
            });
            // The 18-char form whatever was sent.
            let id18 = store
                .get_any(object, &id)
                .and_then(|r| r.get("Id"))
                .and_then(Value::as_str)
                .unwrap_or(&id)
                .to_owned();
            Ok(id18)
        }
    }
}

pub async fn create_collection(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    body: Bytes,
) -> Response {
    write_collection(&state, &user, &body, Write::Create).await
}

pub async fn update_collection(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    body: Bytes,
) -> Response {
    write_collection(&state, &user, &body, Write::Update).await
}

#[derive(Deserialize)]
pub struct IdsParams {
    ids: Option<String>,
    #[serde(rename = "allOrNone")]
    all_or_none: Option<String>,
    fields: Option<String>,
}

fn id_list(params: &IdsParams) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = params
        .ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::new(
            400,
            "MISSING_ARGUMENT",
            "ids parameter is required",
        ));
    }
    check_count(ids.len())?;
    Ok(ids)
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=…`.
pub async fn delete_collection(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Query(params): Query<IdsParams>,
) -> Response {
    let ids = match id_list(&params) {
        Ok(ids) => ids,
        Err(error) => return api_error(&error),
    };
    let all_or_none = params
        .all_or_none
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let now = format_datetime(state.clock.now());
    let mut org = state.org();
    let store = &mut org.store;
    let mut undo = Vec::new();
    let results: Vec<ItemResult> = ids
        .iter()
        .map(|id| {
            let object = schema::object_for_id(id).ok_or_else(|| {
                (
                    Some(id.clone()),
                    ApiError::new(400, "MALFORMED_ID", format!("malformed id {id}")),
                )
            })?;
            let previous = store.get_any(object, id).cloned();
            dml::delete(store, object, &user, id, &now).map_err(|e| (Some(id.clone()), e))?;
            undo.push(Undo {
                object,
                id: id.clone(),
                previous,
            });
            Ok(id.clone())
        })
        .collect();
    let any_failed = results.iter().any(Result::is_err);
    let rolled_back = ApiError::new(
        400,
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        ALL_OR_NONE_ROLLED_BACK,
    );
    if all_or_none && any_failed {
        for change in undo.into_iter().rev() {
            store.restore(change.object, &change.id, change.previous);
        }
    }
    let items: Vec<Value> = results
        .into_iter()
        .map(|result| match result {
            Ok(id) if all_or_none && any_failed => item_error(Some(&id), &rolled_back),
            Ok(id) => item_ok(&id),
            Err((id, error)) => item_error(id.as_deref(), &error),
        })
        .collect();
    response::json(StatusCode::OK, &items)
}

/// `GET /composite/sobjects/{type}?ids=…&fields=…`: rows in the order asked, `null` for ids not
/// found or not visible.
pub async fn retrieve_collection(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name)): Path<(String, String)>,
    Query(params): Query<IdsParams>,
) -> Response {
    let result = (|| {
        let object = schema::object(&name).ok_or_else(ApiError::not_found)?;
        let ids = id_list(&params)?;
        let fields: Vec<&'static FieldDef> = params
            .fields
            .as_deref()
            .ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "fields parameter is required"))?
            .split(',')
            .map(str::trim)
            .map(|f| {
                object.field(f).ok_or_else(|| {
                    ApiError::new(400, "INVALID_FIELD", format!("No such column '{f}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", object.name))
                })
            })
            .collect::<Result<_, _>>()?;
        let org = state.org();
        let rows: Vec<Value> = ids
            .iter()
            .map(|id| match dml::readable(&org.store, object, &user, id) {
                Ok(record) => {
                    serde_json::to_value(query::record_row(object, record, &fields, &version))
                        .unwrap_or(Value::Null)
                }
                Err(_) => Value::Null,
            })
            .collect();
        Ok(response::json(StatusCode::OK, &rows))
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}
