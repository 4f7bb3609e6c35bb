//! sObject Collections: up to 200 records created, updated or deleted in one call, with a
//! result per record in request order (reference §4.2).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::Call;
use crate::rest::{check_field_name, check_object_name, data_url};
use crate::rows::{check_id_for, record_body, SaveResult};
use crate::{Client, Error, RecordId, RestSession, Result};

/// Most records in one collections call.
pub const MAX_COLLECTION_RECORDS: usize = 200;

/// A record for a collections create: its object and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    object: String,
    fields: Map<String, Value>,
}

impl NewRecord {
    pub fn new(object: &str, fields: &impl Serialize) -> Result<Self> {
        check_object_name(object)?;
        Ok(NewRecord {
            object: object.to_string(),
            fields: record_body(fields)?,
        })
    }
}

/// A record for a collections update: object, id and the fields to change.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    object: String,
    id: RecordId,
    fields: Map<String, Value>,
}

impl RecordUpdate {
    pub fn new(object: &str, id: &RecordId, fields: &impl Serialize) -> Result<Self> {
        check_object_name(object)?;
        check_id_for(object, id)?;
        let fields = record_body(fields)?;
        if fields.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
            return Err(Error::InvalidInput(
                "the id goes in RecordUpdate's id, not in its fields".into(),
            ));
        }
        Ok(RecordUpdate {
            object: object.to_string(),
            id: id.clone(),
            fields,
        })
    }
}

fn check_count(count: usize) -> Result<()> {
    if count > MAX_COLLECTION_RECORDS {
        return Err(Error::InvalidInput(format!(
            "a collections call takes at most {MAX_COLLECTION_RECORDS} records, not {count}"
        )));
    }
    Ok(())
}

fn with_attributes(object: &str, id: Option<&RecordId>, fields: &Map<String, Value>) -> Value {
    let mut record = Map::new();
    record.insert("attributes".into(), serde_json::json!({ "type": object }));
    if let Some(id) = id {
        record.insert("Id".into(), Value::String(id.to_string()));
    }
    record.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    Value::Object(record)
}

impl Client {
    /// `POST /composite/sobjects`: create up to 200 records (mixed objects allowed). One
    /// result per record, in order; with `all_or_none` either all are saved or none (the
    /// innocent ones then carry `ALL_OR_NONE_OPERATION_ROLLED_BACK`). Sent once.
    pub async fn create_records(
        &self,
        session: &RestSession,
        records: &[NewRecord],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>> {
        check_count(records.len())?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({
            "allOrNone": all_or_none,
            "records": records
                .iter()
                .map(|r| with_attributes(&r.object, None, &r.fields))
                .collect::<Vec<_>>(),
        });
        self.collection_call(session, Method::POST, &[], Some(&body), records.len())
            .await
    }

    /// `PATCH /composite/sobjects`: update up to 200 records. Sent once.
    pub async fn update_records(
        &self,
        session: &RestSession,
        records: &[RecordUpdate],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>> {
        check_count(records.len())?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({
            "allOrNone": all_or_none,
            "records": records
                .iter()
                .map(|r| with_attributes(&r.object, Some(&r.id), &r.fields))
                .collect::<Vec<_>>(),
        });
        self.collection_call(session, Method::PATCH, &[], Some(&body), records.len())
            .await
    }

    /// `PATCH /composite/sobjects/{object}/{external_id_field}` (v46+): create or update up to
    /// 200 records of one object by an external id each record carries. Each result says
    /// `created`. Matching by a key the caller wrote makes a repeated call harmless (no
    /// duplicate record). Sent once.
    pub async fn upsert_records(
        &self,
        session: &RestSession,
        object: &str,
        external_id_field: &str,
        records: &[NewRecord],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>> {
        check_object_name(object)?;
        check_field_name(external_id_field)?;
        check_count(records.len())?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        for record in records {
            if record.object != object {
                return Err(Error::InvalidInput(format!(
                    "an upsert takes {object} records only, not {}",
                    record.object
                )));
            }
            if !record.fields.contains_key(external_id_field) {
                return Err(Error::InvalidInput(format!(
                    "every record of the upsert needs {external_id_field}"
                )));
            }
        }
        let body = serde_json::json!({
            "allOrNone": all_or_none,
            "records": records
                .iter()
                .map(|r| with_attributes(&r.object, None, &r.fields))
                .collect::<Vec<_>>(),
        });
        let url = data_url(
            session,
            &["composite", "sobjects", object, external_id_field],
            &[],
        )?;
        self.collection_results(
            session,
            Call::write(Method::PATCH, url, Some(&body))?,
            records.len(),
        )
        .await
    }

    /// `GET /composite/sobjects/{object}?ids=…&fields=…`: read up to 200 records of one object
    /// in one call (e.g. the rows a batch of writes just made), in the order asked; `None`
    /// where an id is not found or not visible. A read: retried on transient failures.
    /// (Salesforce takes more ids per call; 200 keeps the URL short.)
    pub async fn retrieve_records<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        object: &str,
        ids: &[RecordId],
        fields: &[&str],
    ) -> Result<Vec<Option<T>>> {
        check_object_name(object)?;
        check_count(ids.len())?;
        if fields.is_empty() {
            return Err(Error::InvalidInput(
                "retrieving records needs at least one field".into(),
            ));
        }
        for field in fields {
            check_field_name(field)?;
        }
        for id in ids {
            check_id_for(object, id)?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let joined_ids = ids
            .iter()
            .map(RecordId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let joined_fields = fields.join(",");
        let url = data_url(
            session,
            &["composite", "sobjects", object],
            &[("ids", &joined_ids), ("fields", &joined_fields)],
        )?;
        let rows: Vec<Option<T>> = self.send(session, Call::get(url)).await?.json("records")?;
        if rows.len() != ids.len() {
            return Err(Error::Decode(format!(
                "{} rows for {} ids",
                rows.len(),
                ids.len()
            )));
        }
        Ok(rows)
    }

    /// `DELETE /composite/sobjects?ids=…&allOrNone=…`: delete up to 200 records. Sent once.
    pub async fn delete_records(
        &self,
        session: &RestSession,
        ids: &[RecordId],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>> {
        check_count(ids.len())?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let joined = ids
            .iter()
            .map(RecordId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let all_or_none = all_or_none.to_string();
        self.collection_call(
            session,
            Method::DELETE,
            &[("ids", &joined), ("allOrNone", &all_or_none)],
            None,
            ids.len(),
        )
        .await
    }

    async fn collection_call(
        &self,
        session: &RestSession,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&Value>,
        expected: usize,
    ) -> Result<Vec<SaveResult>> {
        let url = data_url(session, &["composite", "sobjects"], query)?;
        self.collection_results(session, Call::write(method, url, body)?, expected)
            .await
    }

    async fn collection_results(
        &self,
        session: &RestSession,
        call: Call,
        expected: usize,
    ) -> Result<Vec<SaveResult>> {
        let results: Vec<SaveResult> =
            self.send(session, call).await?.json("collection results")?;
        if results.len() != expected {
            return Err(Error::Decode(format!(
                "{} results for {expected} records",
                results.len()
            )));
        }
        Ok(results)
    }
}
