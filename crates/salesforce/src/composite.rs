//! Composite: up to 25 subrequests in one API call, later ones referring to earlier results
//! with `@{ref.field}` (reference §4.1).

use std::collections::HashMap;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use time::OffsetDateTime;

use crate::client::{Call, Idempotence};
use crate::error::{api_error, ApiErrorItem};
use crate::replication::{change_log_path, ChangeLog};
use crate::rest::{check_field_name, check_object_name, data_path, data_url};
use crate::rows::{check_id_for, http_date, record_body, UpdateOptions};
use crate::{Client, Error, RecordId, RestSession, Result};

/// Most subrequests in one composite request.
pub const MAX_SUBREQUESTS: usize = 25;
/// Most query (query, queryAll, next page) subrequests in one composite request.
pub const MAX_QUERY_SUBREQUESTS: usize = 5;

/// `@{reference_id.path}`: a value taken from an earlier subrequest's answer, e.g.
/// `reference("newAccount", "id")` or `reference("contacts", "records[0].Id")`.
pub fn reference(reference_id: &str, path: &str) -> Result<String> {
    check_reference_id(reference_id)?;
    let path_ok = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    if !path_ok {
        return Err(Error::InvalidInput(format!(
            "{:?} is not a reference path",
            path.chars().take(64).collect::<String>()
        )));
    }
    Ok(format!("@{{{reference_id}.{path}}}"))
}

pub(crate) fn check_reference_id(reference_id: &str) -> Result<()> {
    let mut chars = reference_id.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && reference_id.len() <= 80;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{:?} is not a reference id (a letter, then letters, digits, _)",
            reference_id.chars().take(64).collect::<String>()
        )))
    }
}

/// A record id for an update or delete subrequest: known, or taken from an earlier answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrReference {
    Id(RecordId),
    /// A value made by [`reference`].
    Reference(String),
}

impl IdOrReference {
    /// `@{reference_id.id}`: the id of the record an earlier create subrequest made.
    pub fn created_by(reference_id: &str) -> Result<Self> {
        Ok(IdOrReference::Reference(reference(reference_id, "id")?))
    }
}

impl From<RecordId> for IdOrReference {
    fn from(id: RecordId) -> Self {
        IdOrReference::Id(id)
    }
}

impl From<&RecordId> for IdOrReference {
    fn from(id: &RecordId) -> Self {
        IdOrReference::Id(id.clone())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Subrequest {
    method: &'static str,
    url: String,
    reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_headers: Option<HashMap<&'static str, String>>,
    #[serde(skip)]
    read: bool,
    #[serde(skip)]
    query: bool,
}

/// A composite request under construction. Every check (names, ids, counts, unique reference
/// ids) happens while adding, so a request that builds is well-formed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeRequest {
    all_or_none: bool,
    composite_request: Vec<Subrequest>,
}

impl CompositeRequest {
    /// `all_or_none`: one failing subrequest rolls back all of them (the others then answer
    /// `PROCESSING_HALTED`).
    pub fn new(all_or_none: bool) -> Self {
        CompositeRequest {
            all_or_none,
            composite_request: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.composite_request.len()
    }

    pub fn is_empty(&self) -> bool {
        self.composite_request.is_empty()
    }

    /// Only reads: the whole request may be retried after a transient failure.
    pub fn is_read_only(&self) -> bool {
        self.composite_request.iter().all(|s| s.read)
    }

    fn push(&mut self, sub: Subrequest) -> Result<&mut Self> {
        check_reference_id(&sub.reference_id)?;
        if self.composite_request.len() >= MAX_SUBREQUESTS {
            return Err(Error::InvalidInput(format!(
                "a composite request has at most {MAX_SUBREQUESTS} subrequests"
            )));
        }
        if sub.query
            && self.composite_request.iter().filter(|s| s.query).count() >= MAX_QUERY_SUBREQUESTS
        {
            return Err(Error::InvalidInput(format!(
                "a composite request has at most {MAX_QUERY_SUBREQUESTS} query subrequests"
            )));
        }
        if self
            .composite_request
            .iter()
            .any(|s| s.reference_id == sub.reference_id)
        {
            return Err(Error::InvalidInput(format!(
                "reference id {:?} is used twice",
                sub.reference_id
            )));
        }
        self.composite_request.push(sub);
        Ok(self)
    }

    fn read(&mut self, reference_id: &str, url: String, query: bool) -> Result<&mut Self> {
        self.push(Subrequest {
            method: "GET",
            url,
            reference_id: reference_id.to_string(),
            body: None,
            http_headers: None,
            read: true,
            query,
        })
    }

    /// A SOQL query (its first batch).
    pub fn query(&mut self, reference_id: &str, soql: &str) -> Result<&mut Self> {
        self.read(reference_id, data_path(&["query"], &[("q", soql)])?, true)
    }

    /// A queryAll (deleted and archived rows included).
    pub fn query_all(&mut self, reference_id: &str, soql: &str) -> Result<&mut Self> {
        self.read(
            reference_id,
            data_path(&["queryAll"], &[("q", soql)])?,
            true,
        )
    }

    /// The next batch of a query, from its `nextRecordsUrl`.
    pub fn query_more(&mut self, reference_id: &str, next_records_url: &str) -> Result<&mut Self> {
        if !next_records_url.starts_with("/services/data/")
            || next_records_url.contains("//")
            || next_records_url.contains("..")
        {
            return Err(Error::InvalidUrl(
                "nextRecordsUrl is not a path under /services/data/".into(),
            ));
        }
        self.read(reference_id, next_records_url.to_string(), true)
    }

    /// One record (known id, or `@{ref.id}` of a record created earlier in the request), with
    /// only `fields` when given: e.g. a create followed by a read of what Salesforce made of it.
    pub fn get(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
        fields: &[&str],
    ) -> Result<&mut Self> {
        for field in fields {
            check_field_name(field)?;
        }
        let mut url = record_path(object, &id.into())?;
        if !fields.is_empty() {
            url.push_str("?fields=");
            url.push_str(&fields.join(","));
        }
        self.read(reference_id, url, false)
    }

    /// Ids of records of `object` changed in `[start, end)` (`…/updated/`).
    pub fn updated(
        &mut self,
        reference_id: &str,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<&mut Self> {
        let url = change_log_path(ChangeLog::Updated, object, start, end)?;
        self.read(reference_id, url, false)
    }

    /// Records of `object` deleted in `[start, end)` (`…/deleted/`).
    pub fn deleted(
        &mut self,
        reference_id: &str,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<&mut Self> {
        let url = change_log_path(ChangeLog::Deleted, object, start, end)?;
        self.read(reference_id, url, false)
    }

    /// Create a record; later subrequests can use `@{reference_id.id}`.
    pub fn create(
        &mut self,
        reference_id: &str,
        object: &str,
        fields: &impl Serialize,
    ) -> Result<&mut Self> {
        check_object_name(object)?;
        let body = Value::Object(record_body(fields)?);
        self.push(Subrequest {
            method: "POST",
            url: data_path(&["sobjects", object], &[])?,
            reference_id: reference_id.to_string(),
            body: Some(body),
            http_headers: None,
            read: false,
            query: false,
        })
    }

    /// Update a record (known id, or `@{ref.id}` from [`reference`]).
    pub fn update(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
        fields: &impl Serialize,
    ) -> Result<&mut Self> {
        self.update_with(reference_id, object, id, fields, UpdateOptions::default())
    }

    /// [`CompositeRequest::update`] with options: `If-Unmodified-Since` goes in the
    /// subrequest's `httpHeaders`, and a changed record answers `412` in its slot.
    pub fn update_with(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
        fields: &impl Serialize,
        options: UpdateOptions,
    ) -> Result<&mut Self> {
        let url = record_path(object, &id.into())?;
        let body = Value::Object(record_body(fields)?);
        let http_headers = options
            .if_unmodified_since
            .map(|at| HashMap::from([("If-Unmodified-Since", http_date(at))]));
        self.push(Subrequest {
            method: "PATCH",
            url,
            reference_id: reference_id.to_string(),
            body: Some(body),
            http_headers,
            read: false,
            query: false,
        })
    }

    /// Delete a record.
    pub fn delete(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
    ) -> Result<&mut Self> {
        let url = record_path(object, &id.into())?;
        self.push(Subrequest {
            method: "DELETE",
            url,
            reference_id: reference_id.to_string(),
            body: None,
            http_headers: None,
            read: false,
            query: false,
        })
    }
}

pub(crate) fn record_path(object: &str, id: &IdOrReference) -> Result<String> {
    check_object_name(object)?;
    match id {
        IdOrReference::Id(id) => {
            check_id_for(object, id)?;
            data_path(&["sobjects", object, id.as_str()], &[])
        }
        IdOrReference::Reference(reference) => {
            // Only what `reference` makes: `@{name.path}`, inserted unencoded as Salesforce
            // expects.
            let inner = reference
                .strip_prefix("@{")
                .and_then(|r| r.strip_suffix('}'))
                .and_then(|r| r.split_once('.'))
                .ok_or_else(|| Error::InvalidInput("not a @{ref.field} reference".into()))?;
            crate::composite::reference(inner.0, inner.1)?;
            Ok(format!(
                "{}/{reference}",
                data_path(&["sobjects", object], &[])?
            ))
        }
    }
}

/// The answer to one subrequest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubResponse {
    /// The subrequest's own answer as Salesforce wrote it: a record, a query result, a save
    /// result, an error array, or nothing (a `204`). Kept as text and decoded straight into the
    /// caller's type: a sync page's thousands of rows never become a `Value` tree first.
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    pub http_headers: HashMap<String, String>,
    pub http_status_code: u16,
    pub reference_id: String,
}

impl SubResponse {
    /// The body as a JSON value (`null` when there was none).
    pub fn body(&self) -> Value {
        serde_json::from_str(self.body_text()).unwrap_or(Value::Null)
    }

    fn body_text(&self) -> &str {
        self.body.as_deref().map_or("null", RawValue::get)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status_code)
    }

    /// The error items of a failed subrequest (empty on success).
    pub fn errors(&self) -> Vec<ApiErrorItem> {
        if self.is_success() {
            return Vec::new();
        }
        serde_json::from_str(self.body_text()).unwrap_or_default()
    }

    /// Not run, or rolled back, because another subrequest failed (`PROCESSING_HALTED`).
    pub fn is_processing_halted(&self) -> bool {
        let errors = self.errors();
        !errors.is_empty() && errors.iter().all(|e| e.error_code == "PROCESSING_HALTED")
    }

    /// A failed subrequest as an [`Error`], classified like a direct call's.
    pub fn error(&self) -> Option<Error> {
        if self.is_success() {
            return None;
        }
        Some(api_error(
            self.http_status_code,
            self.body_text().as_bytes(),
        ))
    }

    /// The body decoded as `T`, or the subrequest's error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(error) = self.error() {
            return Err(error);
        }
        serde_json::from_str(self.body_text())
            .map_err(|e| Error::Decode(format!("subrequest {}: {e}", self.reference_id)))
    }
}

/// `{"compositeResponse":[…]}`, in request order.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResponse {
    pub composite_response: Vec<SubResponse>,
}

impl CompositeResponse {
    /// The answer to the subrequest with this reference id.
    pub fn get(&self, reference_id: &str) -> Option<&SubResponse> {
        self.composite_response
            .iter()
            .find(|r| r.reference_id == reference_id)
    }

    /// The answer with this reference id decoded as `T`; missing → a decode error.
    pub fn json<T: DeserializeOwned>(&self, reference_id: &str) -> Result<T> {
        self.get(reference_id)
            .ok_or_else(|| Error::Decode(format!("no answer for subrequest {reference_id}")))?
            .json()
    }
}

impl Client {
    /// `POST /composite`: all subrequests in one API call. A request made only of reads is
    /// retried on transient failures; one with any write is sent once.
    pub async fn composite(
        &self,
        session: &RestSession,
        request: &CompositeRequest,
    ) -> Result<CompositeResponse> {
        if request.is_empty() {
            return Err(Error::InvalidInput(
                "a composite request needs a subrequest".into(),
            ));
        }
        let body = serde_json::to_value(request)
            .map_err(|e| Error::InvalidInput(format!("composite request: {e}")))?;
        let url = data_url(session, &["composite"], &[])?;
        let mut call = Call::write(Method::POST, url, Some(&body))?;
        if request.is_read_only() {
            call.idempotence = Idempotence::Read;
        }
        let response: CompositeResponse = self.send(session, call).await?.json("composite")?;
        if response.composite_response.len() != request.len() {
            return Err(Error::Decode(format!(
                "composite answered {} of {} subrequests",
                response.composite_response.len(),
                request.len()
            )));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_and_names_are_checked_while_building() {
        let mut request = CompositeRequest::new(false);
        for i in 0..5 {
            request
                .query(&format!("q{i}"), "SELECT Id FROM Contact")
                .unwrap();
        }
        assert!(request.query("q5", "SELECT Id FROM Contact").is_err());
        for i in 5..MAX_SUBREQUESTS {
            request
                .create(&format!("c{i}"), "Lead", &json!({"LastName": "x"}))
                .unwrap();
        }
        assert_eq!(request.len(), MAX_SUBREQUESTS);
        assert!(request
            .create("one_more", "Lead", &json!({"LastName": "x"}))
            .is_err());

        let mut request = CompositeRequest::new(false);
        request.query("a", "SELECT Id FROM Contact").unwrap();
        assert!(request.query("a", "SELECT Id FROM Contact").is_err());
        assert!(request.query("bad ref", "SELECT Id FROM Contact").is_err());
        assert!(request.create("b", "Lead; DROP", &json!({})).is_err());
        assert!(reference("a", "records[0].Id}").is_err());
        assert!(request
            .update(
                "c",
                "Lead",
                IdOrReference::Reference("@{a.id}/../x".into()),
                &json!({})
            )
            .is_err());
    }
}
