//! sObject rows: create, read, update, delete, upsert by external id (reference §2.3, §3.4).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::client::Call;
use crate::error::ApiErrorItem;
use crate::ids::{key_prefix_of, IdError};
use crate::rest::{check_field_name, check_object_name, data_url};
use crate::{Client, Error, RecordId, RestSession, Result};

/// The answer to a save: `{"id":"…","success":true,"errors":[]}` (create, upsert, and each
/// item of an sObject Collections call; there `id` is absent on failure and the errors carry
/// `statusCode`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaveResult {
    #[serde(default)]
    pub id: Option<RecordId>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
    /// Upserts (v46+): whether a record was created.
    #[serde(default)]
    pub created: Option<bool>,
}

impl SaveResult {
    /// This item failed only because another item of an all-or-none request did.
    pub fn is_rolled_back(&self) -> bool {
        !self.success
            && !self.errors.is_empty()
            && self
                .errors
                .iter()
                .all(|e| e.error_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
    }

    /// What kind of failure this item is (`None` when it succeeded).
    pub fn kind(&self) -> Option<crate::ErrorKind> {
        (!self.success).then(|| crate::error::classify(None, &self.errors))
    }

    /// The failure as an error value (with status 400: items carry no status of their own).
    pub fn error(&self) -> Option<Error> {
        (!self.success).then(|| Error::Api {
            status: 400,
            errors: self.errors.clone(),
        })
    }
}

/// A created record: its id and the `Location` header Salesforce sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: RecordId,
    pub location: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    /// `201`: no record had the external id; this one was made.
    Created(RecordId),
    /// `200` (v46+; `204` without a body before): the one matching record was updated. The id is
    /// absent only on a `204`.
    Updated(Option<RecordId>),
}

/// Options of [`Client::update_record`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOptions {
    /// Sent as `If-Unmodified-Since`: if the record changed after this instant Salesforce
    /// answers `412` ([`Error::PreconditionFailed`]) and changes nothing. Pass the
    /// `SystemModstamp` the user saw. HTTP dates have whole seconds: the time is truncated and
    /// the server compares at second resolution, so two changes within one second are not
    /// told apart.
    pub if_unmodified_since: Option<OffsetDateTime>,
}

/// `object`'s known key prefix must match the id's (for objects this crate knows).
pub(crate) fn check_id_for(object: &str, id: &RecordId) -> Result<()> {
    match key_prefix_of(object) {
        Some(prefix) if prefix != id.key_prefix() => Err(Error::InvalidId(IdError::WrongObject {
            expected: object.to_string(),
        })),
        _ => Ok(()),
    }
}

/// A record body: a JSON object whose keys are all field names. `attributes` is left out.
pub(crate) fn record_body(fields: &impl Serialize) -> Result<Map<String, Value>> {
    let value =
        serde_json::to_value(fields).map_err(|e| Error::InvalidInput(format!("record: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Error::InvalidInput(
            "a record must be a JSON object of fields".into(),
        ));
    };
    for name in map.keys() {
        check_field_name(name)?;
    }
    Ok(map)
}

/// `Tue, 10 Aug 2015 00:00:00 GMT` (reference §3.4).
pub(crate) fn http_date(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("a fixed format always renders")
}

impl Client {
    /// `POST /sobjects/{object}`: create a record; `201` with `Location` and
    /// `{"id","success","errors"}`. Sent once, never retried.
    pub async fn create_record(
        &self,
        session: &RestSession,
        object: &str,
        fields: &impl Serialize,
    ) -> Result<Created> {
        check_object_name(object)?;
        let body = Value::Object(record_body(fields)?);
        let url = data_url(session, &["sobjects", object], &[])?;
        let reply = self
            .send(session, Call::write(Method::POST, url, Some(&body))?)
            .await?;
        let result: SaveResult = reply.json("create result")?;
        if let Some(error) = result.error() {
            return Err(error);
        }
        let id = result
            .id
            .ok_or_else(|| Error::Decode("create result without an id".into()))?;
        Ok(Created {
            id,
            location: reply.header("location"),
        })
    }

    /// `GET /sobjects/{object}/{id}?fields=…`: one record, with only `fields` when given.
    pub async fn get_record<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        object: &str,
        id: &RecordId,
        fields: &[&str],
    ) -> Result<T> {
        check_object_name(object)?;
        check_id_for(object, id)?;
        for field in fields {
            check_field_name(field)?;
        }
        let joined = fields.join(",");
        let query: &[(&str, &str)] = if fields.is_empty() {
            &[]
        } else {
            &[("fields", joined.as_str())]
        };
        let url = data_url(session, &["sobjects", object, id.as_str()], query)?;
        self.send(session, Call::get(url)).await?.json("record")
    }

    /// `PATCH /sobjects/{object}/{id}`: change the given fields (`null` clears one); `204`.
    /// Sent once, never retried.
    pub async fn update_record(
        &self,
        session: &RestSession,
        object: &str,
        id: &RecordId,
        fields: &impl Serialize,
        options: UpdateOptions,
    ) -> Result<()> {
        check_object_name(object)?;
        check_id_for(object, id)?;
        let body = Value::Object(record_body(fields)?);
        let url = data_url(session, &["sobjects", object, id.as_str()], &[])?;
        let mut call = Call::write(Method::PATCH, url, Some(&body))?;
        if let Some(at) = options.if_unmodified_since {
            call = call.header("if-unmodified-since", &http_date(at))?;
        }
        self.send(session, call).await?;
        Ok(())
    }

    /// `DELETE /sobjects/{object}/{id}`; `204`. Sent once, never retried.
    pub async fn delete_record(
        &self,
        session: &RestSession,
        object: &str,
        id: &RecordId,
    ) -> Result<()> {
        check_object_name(object)?;
        check_id_for(object, id)?;
        let url = data_url(session, &["sobjects", object, id.as_str()], &[])?;
        self.send(session, Call::write(Method::DELETE, url, None)?)
            .await?;
        Ok(())
    }

    /// `PATCH /sobjects/{object}/{external_id_field}/{value}`: create or update by external id.
    /// Several matches → [`Error::MultipleMatches`]. Sent once, never retried.
    pub async fn upsert_record(
        &self,
        session: &RestSession,
        object: &str,
        external_id_field: &str,
        external_id: &str,
        fields: &impl Serialize,
    ) -> Result<Upserted> {
        check_object_name(object)?;
        check_field_name(external_id_field)?;
        if external_id.is_empty() || external_id.len() > 255 {
            return Err(Error::InvalidInput(
                "an external id value has 1 to 255 characters".into(),
            ));
        }
        let body = Value::Object(record_body(fields)?);
        // The value is one path segment, percent-encoded (a `/` in it stays inside).
        let url = data_url(
            session,
            &["sobjects", object, external_id_field, external_id],
            &[],
        )?;
        let reply = self
            .send(session, Call::write(Method::PATCH, url, Some(&body))?)
            .await?;
        if reply.status == 204 || reply.body.is_empty() {
            return Ok(Upserted::Updated(None));
        }
        let result: SaveResult = reply.json("upsert result")?;
        if let Some(error) = result.error() {
            return Err(error);
        }
        let id = result
            .id
            .ok_or_else(|| Error::Decode("upsert result without an id".into()))?;
        let created = result.created.unwrap_or(reply.status == 201);
        Ok(if created {
            Upserted::Created(id)
        } else {
            Upserted::Updated(Some(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(
            http_date(datetime!(2015-08-10 02:00:00 +02:00)),
            "Mon, 10 Aug 2015 00:00:00 GMT"
        );
    }

    #[test]
    fn record_bodies_take_only_field_names() {
        assert!(record_body(&serde_json::json!({"LastName": "Smith"})).is_ok());
        assert!(record_body(&serde_json::json!({"Name, Id": "x"})).is_err());
        assert!(record_body(&serde_json::json!({"Account.Name": "x"})).is_err());
        assert!(record_body(&serde_json::json!(["LastName"])).is_err());
    }
}
