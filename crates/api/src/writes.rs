//! Writes: `POST /v1/leads`, `POST /v1/tasks`, `PATCH /v1/opportunities/{id}`,
//! `PATCH /v1/contacts/{id}`, `POST /v1/batch`.
//!
//! Every write carries an [`IDEMPOTENCY_KEY`] header (a batch: a key per item). The gateway
//! keeps the key, a hash of the request and the answer: the same key with the same request
//! answers the stored result without calling Salesforce again; the same key with another
//! request is `422` ([`crate::code::IDEMPOTENCY_KEY_REUSED`]); while the first request with a
//! key is still running, another with the key gets `409`
//! ([`crate::code::IDEMPOTENCY_IN_PROGRESS`], with `retry_after`). Results that say nothing about
//! the record (429, 502 with the write certainly not sent) are not kept: the same key may be
//! sent again. After a `504`, or a `502` whose message says the outcome is unknown, send the
//! same request with the same key again: the gateway finds out whether the write landed before
//! it writes anything.
//!
//! Record fields keep their Salesforce API names; each endpoint accepts only its allow-list
//! below (anything else is `400`). Values: text as JSON strings without control characters
//! (tab and line breaks allowed), numbers as JSON numbers, booleans as JSON booleans, dates as
//! `YYYY-MM-DD`, datetimes as `YYYY-MM-DDTHH:MM:SS` (with optional `.sss`) and `Z` or an offset
//! (`+02:00`, `+0200`), ids as 15/18-character Salesforce ids of the right object (one whose
//! checksum suffix is wrong names no record: `422`). A success answer
//! is the record as Salesforce has it after the write (its allow-listed fields plus `Id`, `Name`
//! where the object has one, derived fields, `OwnerId`, `CreatedDate`, `SystemModstamp`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::object::object_only;

object_only!(NewTask, RecordUpdate, BatchRequest, BatchWrite);

/// Request header carrying the client's key for one write: 1–200 printable ASCII characters
/// (`!`..=`~` and space).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;
/// Most writes in one `POST /v1/batch` (more → `400`).
pub const MAX_BATCH_WRITES: usize = 200;

/// Record fields by Salesforce API name. On an update `null` clears a field.
pub type RecordFields = BTreeMap<String, serde_json::Value>;

/// `POST /v1/leads` takes a [`RecordFields`] with these fields (`LastName` and `Company` are
/// required by Salesforce; `Status` defaults to `Open - Not Contacted`).
pub const LEAD_CREATE_FIELDS: &[&str] = &[
    "FirstName",
    "LastName",
    "Company",
    "Title",
    "Email",
    "Phone",
    "MobilePhone",
    "LeadSource",
    "Status",
];

/// Fields of [`NewTask::fields`]. `Status` and `TaskSubtype` are set by the gateway from
/// [`NewTask::kind`]; `WhoId` is a Contact or Lead id, `WhatId` an Account or Opportunity id;
/// `IsReminderSet` a boolean, `ReminderDateTime` a datetime (sent to Salesforce in UTC and
/// answered in Salesforce's form, `2024-05-01T10:00:00.000+0000`).
pub const TASK_CREATE_FIELDS: &[&str] = &[
    "Subject",
    "WhoId",
    "WhatId",
    "ActivityDate",
    "Description",
    "Priority",
    "CallType",
    "CallDurationInSeconds",
    "CallDisposition",
    "IsReminderSet",
    "ReminderDateTime",
];

/// Fields of an opportunity's [`RecordUpdate::fields`]. `Probability`, `IsClosed`, `IsWon` and
/// `ForecastCategoryName` follow `StageName` in Salesforce and come back in the answer.
pub const OPPORTUNITY_UPDATE_FIELDS: &[&str] = &[
    "Name",
    "StageName",
    "CloseDate",
    "Amount",
    "Probability",
    "NextStep",
];

/// Fields of a contact's [`RecordUpdate::fields`] (`PATCH /v1/contacts/{id}`): what a rep
/// learns in a meeting.
pub const CONTACT_UPDATE_FIELDS: &[&str] = &["Phone", "MobilePhone", "Email", "Title"];

/// `POST /v1/tasks`: `{"kind": "call", "fields": {"Subject": "Call", "WhoId": "003…"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct NewTask {
    pub kind: TaskKind,
    #[serde(default)]
    pub fields: RecordFields,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A call that happened: `TaskSubtype` `Call`, `Status` `Completed`, `ActivityDate` the
    /// gateway's (UTC) today unless given.
    Call,
    /// Something to do: `TaskSubtype` `Task`, `Status` `Not Started`; `ActivityDate` (the due
    /// date) is required.
    FollowUp,
}

/// `PATCH /v1/opportunities/{id}` and `PATCH /v1/contacts/{id}`:
/// `{"seen_system_modstamp": "2024-05-01T10:00:00.000+0000", "fields": {"StageName": "Closed Won"},
///   "seen_fields": {"StageName": "Prospecting"}}`.
///
/// The check and the write are one step at Salesforce: the write is conditional on the record
/// being unchanged since `seen_system_modstamp` (`If-Unmodified-Since`, which Salesforce
/// compares to the second). When someone else changed the record since:
/// - if every field of `fields` still has its `seen_fields` value, or already the asked one
///   (the change was to other fields), the write is made anyway — the other changes are kept
///   (merged);
/// - if the record already has every value of `fields` (this write, or the same change made by
///   someone else, landed before), nothing more is written and the answer is the record;
/// - otherwise nothing is written and the answer is `409` `conflict` with
///   [`crate::ErrorDetail::current`] (the record as Salesforce has it) and
///   [`crate::ErrorDetail::fields`] naming each field of `fields` whose server value is neither
///   the seen one nor the one asked for (without `seen_fields`: each field of `fields` whose
///   server value is not the one asked for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct RecordUpdate {
    /// The record's `SystemModstamp` when the rep saw it (any Salesforce datetime form).
    pub seen_system_modstamp: String,
    /// The changes, from the object's allow-list ([`OPPORTUNITY_UPDATE_FIELDS`],
    /// [`CONTACT_UPDATE_FIELDS`]); at least one.
    pub fields: RecordFields,
    /// The values the rep saw for the changed fields (the base of a three-way comparison).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_fields: Option<RecordFields>,
}

/// `PATCH /v1/opportunities/{id}`.
pub type OpportunityUpdate = RecordUpdate;
/// `PATCH /v1/contacts/{id}`.
pub type ContactUpdate = RecordUpdate;

/// `POST /v1/batch`: queued writes, each with its own idempotency key (no header). A key that is
/// not 1–200 printable ASCII characters refuses the whole batch (`400`), as does a write that
/// is not of [`BatchWrite`]'s shape; a write's id, field names and values are checked per write
/// and answered in its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct BatchRequest {
    /// At most [`MAX_BATCH_WRITES`]; keys must differ within one batch.
    pub writes: Vec<BatchWrite>,
}

/// One write of a batch: the body is what the single endpoint takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum BatchWrite {
    /// As `POST /v1/leads`.
    CreateLead {
        idempotency_key: String,
        body: RecordFields,
    },
    /// As `POST /v1/tasks`.
    CreateTask {
        idempotency_key: String,
        body: NewTask,
    },
    /// As `PATCH /v1/opportunities/{id}`.
    UpdateOpportunity {
        idempotency_key: String,
        id: String,
        body: RecordUpdate,
    },
    /// As `PATCH /v1/contacts/{id}`.
    UpdateContact {
        idempotency_key: String,
        id: String,
        body: RecordUpdate,
    },
}

impl BatchWrite {
    pub fn idempotency_key(&self) -> &str {
        match self {
            BatchWrite::CreateLead {
                idempotency_key, ..
            }
            | BatchWrite::CreateTask {
                idempotency_key, ..
            }
            | BatchWrite::UpdateOpportunity {
                idempotency_key, ..
            }
            | BatchWrite::UpdateContact {
                idempotency_key, ..
            } => idempotency_key,
        }
    }
}

/// The answer to `POST /v1/batch` (HTTP 200): one result per write, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

/// What the single endpoint would have answered for this write: its status and body (the
/// record on success, an [`crate::ErrorBody`] otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub idempotency_key: String,
    pub status: u16,
    pub body: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_writes_are_tagged_by_kind() {
        let json = r#"{"writes":[
            {"kind":"create_lead","idempotency_key":"k1","body":{"LastName":"Smith","Company":"Acme"}},
            {"kind":"create_task","idempotency_key":"k2","body":{"kind":"follow_up","fields":{"ActivityDate":"2024-05-01"}}},
            {"kind":"update_opportunity","idempotency_key":"k3","id":"0067F000003pmdWQAQ",
             "body":{"seen_system_modstamp":"2024-05-01T10:00:00.000+0000","fields":{"StageName":"Closed Won"}}}]}"#;
        let batch: BatchRequest = serde_json::from_str(json).unwrap();
        assert_eq!(batch.writes.len(), 3);
        assert_eq!(batch.writes[2].idempotency_key(), "k3");
        assert!(matches!(
            &batch.writes[1],
            BatchWrite::CreateTask { body, .. } if body.kind == TaskKind::FollowUp
        ));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let json = r#"{"kind":"call","fields":{},"Status":"Completed"}"#;
        assert!(serde_json::from_str::<NewTask>(json).is_err());
        let json = r#"{"kind":"create_lead","idempotency_key":"k","body":{},"extra":1}"#;
        assert!(serde_json::from_str::<BatchWrite>(json).is_err());
    }
}
