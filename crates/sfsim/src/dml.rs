//! Record writes as the REST API performs them: id checks, sharing, validation with a real org's
//! error codes and messages (reference §2.3–2.4, §8), defaults, then the store write. HTTP-free,
//! so single-record routes, sObject Collections and composite share it.

use serde_json::{Map, Value};
use time::{format_description::well_known::Rfc3339, macros::format_description, Date};

use crate::{
    clock::format_datetime,
    ids,
    schema::{self, FieldDef, FieldKind, FieldType, ObjectDef, OPPORTUNITY_STAGES},
    store::{is_deleted, OrgUser, Record, Store},
};

/// One element of a REST error array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorItem {
    pub code: &'static str,
    pub message: String,
    /// `None` for errors that are not about fields (the key is then absent).
    pub fields: Option<Vec<String>>,
}

/// A refused operation: its HTTP status and error array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub errors: Vec<ErrorItem>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                code,
                message: message.into(),
                fields: None,
            }],
        }
    }

    pub fn with_fields(
        status: u16,
        code: &'static str,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                code,
                message: message.into(),
                fields: Some(fields),
            }],
        }
    }

    pub fn not_found() -> Self {
        Self::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    /// A path segment that is no id is taken for an external-id field name (reference §2.3).
    pub fn no_external_id_field(name: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {name}"),
        )
    }
}

/// Checks a record id from a URL against the object: its 15-char form.
pub fn parse_id<'a>(object: &ObjectDef, raw: &'a str) -> Result<&'a str, ApiError> {
    let id15 = ids::to_15(raw).ok_or_else(|| ApiError::no_external_id_field(raw))?;
    if !id15.starts_with(object.key_prefix) {
        return Err(ApiError::with_fields(
            400,
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {raw}", object.label),
            vec!["Id".into()],
        ));
    }
    Ok(id15)
}

/// A record the user may read; deleted ones give `ENTITY_IS_DELETED` (404, status unconfirmed).
pub fn readable<'s>(
    store: &'s Store,
    object: &ObjectDef,
    user: &OrgUser,
    raw_id: &str,
) -> Result<&'s Record, ApiError> {
    let id15 = parse_id(object, raw_id)?;
    let record = store
        .get_any(object, id15)
        .ok_or_else(ApiError::not_found)?;
    // No sharing access looks exactly like no record (reference §2.1: 404).
    if !store.can_read(object, record, user) {
        return Err(ApiError::not_found());
    }
    if is_deleted(record) {
        return Err(ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted"));
    }
    Ok(record)
}

/// A record the user may change or delete.
fn editable<'s>(
    store: &'s Store,
    object: &ObjectDef,
    user: &OrgUser,
    raw_id: &str,
) -> Result<&'s Record, ApiError> {
    let record = readable(store, object, user, raw_id)?;
    if !object.createable {
        return Err(ApiError::new(
            403,
            "INSUFFICIENT_ACCESS",
            "insufficient access rights on object id",
        ));
    }
    if !store.can_edit(record, user) {
        // Code and text of a real org for a visible but read-only record (unconfirmed here).
        return Err(ApiError::with_fields(
            400,
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
            Vec::new(),
        ));
    }
    Ok(record)
}

/// `POST /sobjects/{type}/`: validates, applies defaults, stores; returns the new 18-char id.
pub fn create(
    store: &mut Store,
    object: &'static ObjectDef,
    user: &OrgUser,
    body: &Map<String, Value>,
    now: &str,
) -> Result<String, ApiError> {
    if !object.createable {
        return Err(ApiError::new(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type {} does not support create", object.name),
        ));
    }
    if body.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
        return Err(ApiError::new(
            400,
            "INVALID_FIELD",
            "The Id field should not be specified in the sobject data.",
        ));
    }
    let mut record = validate(store, object, user, body, Operation::Create)?;
    for field in object.fields {
        if let Some(default) = field.default_on_create {
            if record.get(field.name).is_none_or(Value::is_null) {
                record.insert(field.name.into(), default.into());
            }
        }
    }
    if record.get("OwnerId").is_none_or(Value::is_null) && object.field("OwnerId").is_some() {
        record.insert("OwnerId".into(), user.id.clone().into());
    }
    if object.name == "Opportunity" && record.get("Probability").is_none_or(Value::is_null) {
        let stage = record.get("StageName").and_then(Value::as_str);
        if let Some(s) = OPPORTUNITY_STAGES.iter().find(|s| Some(s.0) == stage) {
            record.insert("Probability".into(), s.1.into());
        }
    }
    let missing: Vec<String> = object
        .fields
        .iter()
        .filter(|f| f.required() && record.get(f.name).is_none_or(Value::is_null))
        .map(|f| f.name.to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(required_missing(missing));
    }
    let id = store.next_id(object);
    record.insert("Id".into(), id.clone().into());
    record.insert("CreatedDate".into(), now.into());
    record.insert("LastModifiedDate".into(), now.into());
    record.insert("SystemModstamp".into(), now.into());
    store.insert(object, record);
    Ok(id)
}

/// `PATCH /sobjects/{type}/{id}`: only the given fields change; `null` clears one.
pub fn update(
    store: &mut Store,
    object: &'static ObjectDef,
    user: &OrgUser,
    raw_id: &str,
    body: &Map<String, Value>,
    now: &str,
) -> Result<(), ApiError> {
    let id = editable(store, object, user, raw_id)?["Id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some((_, given)) = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("Id")) {
        // Collections name the record in the body; any other id there is an error.
        if given.as_str().and_then(ids::to_15) != ids::to_15(&id) {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                "The Id field should not be specified in the sobject data.",
            ));
        }
    }
    let changes = validate(store, object, user, body, Operation::Update)?;
    let cleared: Vec<String> = changes
        .iter()
        .filter(|(name, value)| value.is_null() && object.field(name).is_some_and(|f| !f.nillable))
        .map(|(name, _)| name.clone())
        .collect();
    if !cleared.is_empty() {
        return Err(required_missing(cleared));
    }
    store.apply_update(object, &id, changes, now);
    Ok(())
}

/// `DELETE /sobjects/{type}/{id}`: to the recycle bin.
pub fn delete(
    store: &mut Store,
    object: &'static ObjectDef,
    user: &OrgUser,
    raw_id: &str,
    now: &str,
) -> Result<(), ApiError> {
    let id = editable(store, object, user, raw_id)?["Id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    store.delete(object, &id, now);
    Ok(())
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    Created(String),
    Updated(String),
    /// Several records carry the key: nothing changed (HTTP 300).
    Ambiguous(Vec<String>),
}

/// `PATCH /sobjects/{type}/{field}/{value}`.
pub fn upsert(
    store: &mut Store,
    object: &'static ObjectDef,
    user: &OrgUser,
    field_name: &str,
    value: &str,
    body: &Map<String, Value>,
    now: &str,
) -> Result<Upserted, ApiError> {
    if field_name.eq_ignore_ascii_case("Id") {
        update(store, object, user, value, body, now)?;
        let id = readable(store, object, user, value)?["Id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return Ok(Upserted::Updated(id));
    }
    let field = object
        .field(field_name)
        .filter(|f| f.external_id)
        .ok_or_else(|| ApiError::no_external_id_field(field_name))?;
    let matches: Vec<String> = store
        .all(object)
        .filter(|r| store.can_read(object, r, user))
        .filter(|r| {
            r.get(field.name)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
        .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    match matches.as_slice() {
        [] => {
            let mut body = body.clone();
            body.insert(field.name.into(), value.into());
            create(store, object, user, &body, now).map(Upserted::Created)
        }
        [id] => {
            update(store, object, user, id, body, now)?;
            Ok(Upserted::Updated(id.clone()))
        }
        _ => Ok(Upserted::Ambiguous(matches)),
    }
}

fn required_missing(fields: Vec<String>) -> ApiError {
    ApiError::with_fields(
        400,
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
        fields,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Update,
}

/// Checks every given field and converts values to their stored form; returns the changes
/// under canonical field names. The first kind of problem found is reported, as a real org does.
fn validate(
    store: &Store,
    object: &'static ObjectDef,
    user: &OrgUser,
    body: &Map<String, Value>,
    operation: Operation,
) -> Result<Record, ApiError> {
    let mut fields = Vec::new();
    for (name, value) in body {
        if name == "attributes" || name.eq_ignore_ascii_case("Id") {
            continue;
        }
        let field = object.field(name).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", object.name),
            )
        })?;
        fields.push((field, value));
    }
    let not_writable: Vec<String> = fields
        .iter()
        .filter(|(f, _)| match operation {
            Operation::Create => !f.createable,
            Operation::Update => !f.updateable,
        })
        .map(|(f, _)| f.name.to_owned())
        .collect();
    if !not_writable.is_empty() {
        return Err(ApiError::with_fields(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                not_writable.join(", ")
            ),
            not_writable,
        ));
    }
    let mut record = Record::new();
    for (field, value) in fields {
        let converted = convert(store, user, field, value)?;
        record.insert(field.name.into(), converted);
    }
    Ok(record)
}

/// One value, checked and put in the form the API renders.
fn convert(
    store: &Store,
    user: &OrgUser,
    field: &'static FieldDef,
    value: &Value,
) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let field_error = |code: &'static str, message: String| {
        ApiError::with_fields(400, code, message, vec![field.name.to_owned()])
    };
    match field.kind {
        FieldKind::Text => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return Err(parser_error("String", value)),
            };
            if text.chars().count() > field.length as usize {
                return Err(field_error(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {text} (max length={})",
                        field.label(),
                        field.length
                    ),
                ));
            }
            if field.restricted {
                let canonical = field
                    .picklist
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(&text))
                    .ok_or_else(|| {
                        field_error(
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            format!(
                                "{}: bad value for restricted picklist field: {text}",
                                field.label()
                            ),
                        )
                    })?;
                return Ok(Value::from(*canonical));
            }
            if field.ty == FieldType::Email && !looks_like_email(&text) {
                return Err(field_error(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {text}", field.label()),
                ));
            }
            Ok(Value::from(text))
        }
        FieldKind::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true.into()),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false.into()),
            _ => Err(parser_error("boolean", value)),
        },
        FieldKind::Number => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or_else(|| parser_error("double", value))?;
            if field.ty == FieldType::Int {
                if number.fract() != 0.0 {
                    return Err(parser_error("int", value));
                }
                return Ok(Value::from(number as i64));
            }
            Ok(Value::from(number))
        }
        FieldKind::Date => {
            let text = value.as_str().ok_or_else(|| parser_error("date", value))?;
            // A datetime is accepted for a date field and cut to its date.
            let date = Date::parse(text, format_description!("[year]-[month]-[day]"))
                .ok()
                .or_else(|| parse_datetime(text).map(|dt| dt.date()))
                .ok_or_else(|| parser_error("date", value))?;
            Ok(Value::from(date.to_string()))
        }
        FieldKind::DateTime => {
            let text = value
                .as_str()
                .ok_or_else(|| parser_error("datetime", value))?;
            let at = parse_datetime(text).ok_or_else(|| parser_error("datetime", value))?;
            Ok(Value::from(format_datetime(at)))
        }
        FieldKind::Id => Err(parser_error("id", value)),
        FieldKind::Reference(reference) => {
            let text = value
                .as_str()
                .ok_or_else(|| parser_error("String", value))?;
            let incorrect = || {
                field_error(
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {text}", field.label()),
                )
            };
            let id15 = ids::to_15(text).ok_or_else(incorrect)?;
            let target = schema::object_for_id(id15)
                .filter(|o| reference.targets.contains(&o.name))
                .ok_or_else(incorrect)?;
            let record = store.get(target, id15).ok_or_else(|| {
                // Wording of a real org for a well-formed id with no record (unconfirmed).
                field_error(
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("{}: id value of incorrect type: {text}", field.label())
                        .replace("id value of incorrect type", "invalid cross reference id"),
                )
            })?;
            if target.name != "User" && !store.can_read(target, record, user) {
                return Err(field_error(
                    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                    format!("insufficient access rights on cross-reference id: {text}"),
                ));
            }
            // Ids are stored in their 18-char form whatever was sent.
            Ok(record.get("Id").cloned().unwrap_or(Value::Null))
        }
    }
}

/// The REST API's JSON-binding error for a value of the wrong type (position suffix left out).
fn parser_error(expected: &str, value: &Value) -> ApiError {
    let (token, shown) = match value {
        Value::String(s) => ("VALUE_STRING", s.clone()),
        Value::Number(n) if n.is_f64() => ("VALUE_NUMBER_FLOAT", n.to_string()),
        Value::Number(n) => ("VALUE_NUMBER_INT", n.to_string()),
        Value::Bool(true) => ("VALUE_TRUE", "true".into()),
        Value::Bool(false) => ("VALUE_FALSE", "false".into()),
        Value::Array(_) => ("START_ARRAY", "[".into()),
        Value::Object(_) => ("START_OBJECT", "{".into()),
        Value::Null => ("VALUE_NULL", "null".into()),
    };
    ApiError::new(
        400,
        "JSON_PARSER_ERROR",
        format!("Cannot deserialize instance of {expected} from {token} value {shown} or request may be missing a required field"),
    )
}

/// REST input datetimes: `…Z`, `…+hh:mm` (reference §3.3) and the API's own `…+0000` output form.
pub fn parse_datetime(text: &str) -> Option<time::OffsetDateTime> {
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    // `+0000` → `+00:00`.
    let (head, zone) = text.split_at(text.len().checked_sub(5)?);
    if zone.starts_with(['+', '-']) && zone[1..].bytes().all(|b| b.is_ascii_digit()) {
        let fixed = format!("{head}{}:{}", &zone[..3], &zone[3..]);
        return time::OffsetDateTime::parse(&fixed, &Rfc3339).ok();
    }
    None
}

fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_every_documented_form() {
        let expected = time::macros::datetime!(2024-05-01 10:00:00 UTC);
        for text in [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.000Z",
            "2024-05-01T12:00:00.000+02:00",
            "2024-05-01T10:00:00.000+0000",
        ] {
            assert_eq!(parse_datetime(text), Some(expected), "{text}");
        }
        assert_eq!(parse_datetime("2024-05-01"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
