//! `/sobjects`: describe, create, read, update, delete and upsert of single records, with
//! conditional requests (reference §2.3, §3.4). The rules live in [`crate::dml`]; this module
//! only speaks HTTP.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Extension, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{
    response::{self, api_error},
    rest::{ApiVersion, Caller},
};
use crate::{
    clock::format_datetime,
    dml::{self, ApiError, Upserted},
    query,
    schema::{self, FieldDef, ObjectDef},
    state::AppState,
};

/// The object named in the URL, or the 404 a real org gives for an unknown type.
pub fn object_from_path(name: &str) -> Result<&'static ObjectDef, ApiError> {
    schema::object(name).ok_or_else(ApiError::not_found)
}

/// A JSON object request body, or `JSON_PARSER_ERROR` (message shape of a real org, abridged).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of sobject from a value that is not a JSON object",
        )),
        Err(error) => Err(ApiError::new(
            400,
            "JSON_PARSER_ERROR",
            format!(
                "Unexpected character in JSON at [line:{}, column:{}]",
                error.line(),
                error.column()
            ),
        )),
    }
}

fn now_text(state: &AppState) -> String {
    format_datetime(state.clock.now())
}

fn sobject_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/v{version}/sobjects/{object}/{id}")
}

/// `GET /sobjects/`: describe global.
pub async fn describe_global(Extension(ApiVersion(version)): Extension<ApiVersion>) -> Response {
    let sobjects: Vec<Value> = schema::OBJECTS
        .iter()
        .map(|o| {
            let mut summary = object_summary(o, &version);
            summary["urls"] = object_urls(o, &version);
            summary
        })
        .collect();
    response::json(
        StatusCode::OK,
        &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}),
    )
}

fn object_summary(object: &ObjectDef, _version: &str) -> Value {
    json!({
        "activateable": false,
        "createable": object.createable,
        "custom": false,
        "customSetting": false,
        "deletable": object.createable,
        "deprecatedAndHidden": false,
        "feedEnabled": true,
        "keyPrefix": object.key_prefix,
        "label": object.label,
        "labelPlural": object.label_plural,
        "layoutable": true,
        "mergeable": matches!(object.name, "Account" | "Contact" | "Lead"),
        "mruEnabled": true,
        "name": object.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": object.createable,
        "updateable": true,
    })
}

fn object_urls(object: &ObjectDef, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    json!({
        "rowTemplate": format!("{base}/{{ID}}"),
        "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
        "describe": format!("{base}/describe"),
        "sobject": base,
    })
}

/// `GET /sobjects/{type}`: basic information and recent items (none are tracked here).
pub async fn basic_info(
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name)): Path<(String, String)>,
) -> Response {
    match object_from_path(&name) {
        Ok(object) => {
            let mut summary = object_summary(object, &version);
            summary["urls"] = object_urls(object, &version);
            response::json(
                StatusCode::OK,
                &json!({"objectDescribe": summary, "recentItems": []}),
            )
        }
        Err(error) => api_error(&error),
    }
}

/// `GET /sobjects/{type}/describe`.
pub async fn describe(
    State(state): State<Arc<AppState>>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let object = match object_from_path(&name) {
        Ok(object) => object,
        Err(error) => return api_error(&error),
    };
    // The schema never changes while the org runs: unchanged since the start.
    match conditions(&headers, state.started_at) {
        Ok(Precondition::NotModified) => return not_modified(),
        Ok(_) => {}
        Err(error) => return api_error(&error),
    }
    let mut body = object_summary(object, &version);
    body["fields"] = object.fields.iter().map(describe_field).collect();
    body["urls"] = object_urls(object, &version);
    body["childRelationships"] = json!([]);
    body["recordTypeInfos"] = json!([]);
    response::json(StatusCode::OK, &body)
}

fn describe_field(field: &FieldDef) -> Value {
    let (reference_to, relationship) = match field.kind {
        schema::FieldKind::Reference(r) => (json!(r.targets), json!(r.relationship)),
        _ => (json!([]), Value::Null),
    };
    let picklist: Vec<Value> = field
        .picklist
        .iter()
        .map(|value| {
            json!({
                "active": true,
                "defaultValue": field.default_on_create == Some(*value),
                "label": value,
                "validFor": null,
                "value": value,
            })
        })
        .collect();
    let is_number = matches!(field.kind, schema::FieldKind::Number);
    json!({
        "aggregatable": !matches!(field.ty, schema::FieldType::TextArea),
        "autoNumber": false,
        "byteLength": field.length * 3,
        "calculated": false,
        "caseSensitive": false,
        "createable": field.createable,
        "custom": field.name.ends_with("__c"),
        "defaultValue": field.default_on_create,
        "defaultedOnCreate": field.default_on_create.is_some()
            || matches!(field.name, "Id" | "OwnerId" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp" | "IsDeleted")
            || field.ty == schema::FieldType::Boolean,
        "dependentPicklist": false,
        "externalId": field.external_id,
        "filterable": true,
        "groupable": !is_number,
        "idLookup": field.name == "Id" || field.external_id || field.name == "Email",
        "label": field.label(),
        "length": field.length,
        "name": field.name,
        "nameField": field.name == "Name",
        "nillable": field.nillable,
        "picklistValues": picklist,
        "precision": if is_number { 18 } else { 0 },
        "referenceTo": reference_to,
        "relationshipName": relationship,
        "restrictedPicklist": field.restricted,
        "scale": if matches!(field.ty, schema::FieldType::Currency | schema::FieldType::Percent | schema::FieldType::Double) { 2 } else { 0 },
        "soapType": field.ty.soap_type(),
        "sortable": !matches!(field.ty, schema::FieldType::TextArea) || field.length <= 255,
        "type": field.ty.describe_name(),
        "unique": false,
        "updateable": field.updateable,
    })
}

/// `POST /sobjects/{type}/`: `201`, `Location`, `{id, success, errors}`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let object = object_from_path(&name)?;
        let fields = json_object(&body)?;
        let now = now_text(&state);
        let mut org = state.org();
        let id = dml::create(&mut org.store, object, &user, &fields, &now)?;
        Ok::<_, ApiError>((object, id))
    })();
    match result {
        Ok((object, id)) => created(&version, object.name, &id, None),
        Err(error) => api_error(&error),
    }
}

/// `201 Created` with `Location` and the save result (`created` for upserts, v46+).
fn created(version: &str, object: &str, id: &str, created_flag: Option<bool>) -> Response {
    let mut body = json!({"id": id, "success": true, "errors": []});
    if let Some(flag) = created_flag {
        body["created"] = flag.into();
    }
    let mut response = response::json(StatusCode::CREATED, &body);
    if let Ok(location) = HeaderValue::from_str(&sobject_url(version, object, id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[derive(Deserialize)]
pub struct FieldsParam {
    fields: Option<String>,
}

/// `GET /sobjects/{type}/{id}[?fields=A,B]`, honouring `If-Modified-Since`/`If-Unmodified-Since`.
pub async fn read(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name, id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
    headers: HeaderMap,
) -> Response {
    let org = state.org();
    let result = (|| {
        let object = object_from_path(&name)?;
        let record = dml::readable(&org.store, object, &user, &id)?;
        let modified = last_modified(record);
        match conditions(&headers, modified)? {
            Precondition::NotModified => return Ok(not_modified()),
            Precondition::Failed => return Ok(precondition_failed()),
            Precondition::Proceed => {}
        }
        let fields = selected_fields(object, params.fields.as_deref())?;
        let row = query::record_row(object, record, &fields, &version);
        Ok(response::json(StatusCode::OK, &row))
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

/// The `fields=` list, or every field; an unknown name is `INVALID_FIELD` (message as in SOQL).
fn selected_fields(
    object: &'static ObjectDef,
    list: Option<&str>,
) -> Result<Vec<&'static FieldDef>, ApiError> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(object.fields.iter().collect());
    };
    list.split(',')
        .map(str::trim)
        .map(|name| {
            object.field(name).ok_or_else(|| {
                ApiError::new(
                    400,
                    "INVALID_FIELD",
                    format!(
                        "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                        object.name
                    ),
                )
            })
        })
        .collect()
}

/// `PATCH /sobjects/{type}/{id}`: `204`; `If-Unmodified-Since` guards it (`412`).
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Path((_, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| {
        let object = object_from_path(&name)?;
        let fields = json_object(&body)?;
        let now = now_text(&state);
        let mut org = state.org();
        let record = dml::readable(&org.store, object, &user, &id)?;
        if let Precondition::Failed = unmodified_since(&headers, last_modified(record))? {
            return Ok(precondition_failed());
        }
        dml::update(&mut org.store, object, &user, &id, &fields, &now)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

/// `DELETE /sobjects/{type}/{id}`: `204`, the record goes to the recycle bin.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Response {
    let result = (|| {
        let object = object_from_path(&name)?;
        let now = now_text(&state);
        let mut org = state.org();
        dml::delete(&mut org.store, object, &user, &id, &now)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

/// `POST /sobjects/{type}/Id`: create (v37+), as `POST /sobjects/{type}/`.
pub async fn create_by_id_path(
    state: State<Arc<AppState>>,
    caller: Extension<Caller>,
    version: Extension<ApiVersion>,
    Path((v, name, segment)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if segment != "Id" {
        return api_error(&method_not_allowed("POST", "GET, PATCH, HEAD, DELETE"));
    }
    create(state, caller, version, Path((v, name)), body).await
}

/// `PATCH /sobjects/{type}/{field}/{value}`: upsert by an external id (reference §2.3).
pub async fn upsert(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name, field, value)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let object = object_from_path(&name)?;
        let fields = json_object(&body)?;
        let now = now_text(&state);
        let mut org = state.org();
        let outcome = dml::upsert(&mut org.store, object, &user, &field, &value, &fields, &now)?;
        Ok::<_, ApiError>((object, outcome))
    })();
    // v46.0 added `created` and the 200 for an update; older versions answer 201/204 without it.
    let modern = version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 46);
    match result {
        Ok((object, Upserted::Created(id))) => {
            created(&version, object.name, &id, modern.then_some(true))
        }
        Ok((_, Upserted::Updated(id))) if modern => response::json(
            StatusCode::OK,
            &json!({"id": id, "success": true, "errors": [], "created": false}),
        ),
        Ok((_, Upserted::Updated(_))) => StatusCode::NO_CONTENT.into_response(),
        Ok((object, Upserted::Ambiguous(ids))) => {
            let urls: Vec<String> = ids
                .iter()
                .map(|id| sobject_url(&version, object.name, id))
                .collect();
            response::json(StatusCode::MULTIPLE_CHOICES, &urls)
        }
        Err(error) => api_error(&error),
    }
}

/// `GET /sobjects/{type}/{field}/{value}`: the record with that external id.
pub async fn read_by_external_id(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, name, field, value)): Path<(String, String, String, String)>,
) -> Response {
    let org = state.org();
    let result = (|| {
        let object = object_from_path(&name)?;
        let key = object
            .field(&field)
            .filter(|f| f.external_id)
            .ok_or_else(|| ApiError::no_external_id_field(&field))?;
        let matches: Vec<_> = org
            .store
            .all(object)
            .filter(|r| org.store.can_read(object, r, &user))
            .filter(|r| {
                r.get(key.name)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(&value))
            })
            .collect();
        match matches.as_slice() {
            [] => Err(ApiError::not_found()),
            [record] => {
                let fields: Vec<&FieldDef> = object.fields.iter().collect();
                Ok(response::json(
                    StatusCode::OK,
                    &query::record_row(object, record, &fields, &version),
                ))
            }
            several => {
                let urls: Vec<String> = several
                    .iter()
                    .filter_map(|r| r.get("Id").and_then(Value::as_str))
                    .map(|id| sobject_url(&version, object.name, id))
                    .collect();
                Ok(response::json(StatusCode::MULTIPLE_CHOICES, &urls))
            }
        }
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

/// `405` in a real org's words.
pub fn method_not_allowed(method: &str, allowed: &str) -> ApiError {
    ApiError::new(
        405,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
}

fn last_modified(record: &Map<String, Value>) -> OffsetDateTime {
    record
        .get("LastModifiedDate")
        .and_then(Value::as_str)
        .and_then(dml::parse_datetime)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// HTTP dates have whole seconds: a record changed within the named second counts as unchanged.
fn changed_since(modified: OffsetDateTime, since: OffsetDateTime) -> bool {
    modified.unix_timestamp() > since.unix_timestamp()
}

fn http_date(headers: &HeaderMap, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(parse_http_date)
        .map(Some)
        // The error code for a bad conditional header is not documented here (unconfirmed).
        .ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_HEADER_VALUE",
                format!("{name} header value is not a valid date"),
            )
        })
}

/// `If-Modified-Since` (→ 304) and `If-Unmodified-Since` (→ 412) of a read.
fn conditions(headers: &HeaderMap, modified: OffsetDateTime) -> Result<Precondition, ApiError> {
    if let Precondition::Failed = unmodified_since(headers, modified)? {
        return Ok(Precondition::Failed);
    }
    match http_date(headers, "If-Modified-Since")? {
        Some(since) if !changed_since(modified, since) => Ok(Precondition::NotModified),
        _ => Ok(Precondition::Proceed),
    }
}

fn unmodified_since(
    headers: &HeaderMap,
    modified: OffsetDateTime,
) -> Result<Precondition, ApiError> {
    match http_date(headers, "If-Unmodified-Since")? {
        Some(since) if changed_since(modified, since) => Ok(Precondition::Failed),
        _ => Ok(Precondition::Proceed),
    }
}

/// `EEE, dd MMM yyyy HH:mm:ss z` (reference §3.4). The weekday is not checked: Salesforce
/// parses with Java's lenient date format, and the reference's own example
/// (`Tue, 10 Aug 2015`, a Monday) would fail a strict parser.
fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let (_, rest) = text.split_once(", ")?;
    let rest = rest.trim().strip_suffix("GMT")?.trim_end();
    let format = time::macros::format_description!(
        "[day] [month repr:short] [year] [hour]:[minute]:[second]"
    );
    time::PrimitiveDateTime::parse(rest, format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

fn not_modified() -> Response {
    StatusCode::NOT_MODIFIED.into_response()
}

/// The body of a failed precondition is not documented (reference §11); this shape is a guess
/// in the usual error-array form.
fn precondition_failed() -> Response {
    api_error(&ApiError::new(
        412,
        "PRECONDITION_FAILED",
        "The requested resource has been modified since the If-Unmodified-Since date",
    ))
}
