//! The types a write is carried in, from the endpoint that checks it (`writes.rs`) to the
//! batch that sends it (`batch.rs`): what it does, what is sent, and how it is answered.

use axum::http::StatusCode;
use companion_api::{code, ErrorBody, ErrorDetail};
use salesforce::RecordId;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::idempotency::Finish;
use crate::record_fields::{self, FieldProblems, WriteSpec};

/// What a write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateLead,
    CreateTask,
    UpdateOpportunity,
    UpdateContact,
}

impl Action {
    /// The action's name in the audit log and in request hashes.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateLead => "lead.create",
            Action::CreateTask => "task.create",
            Action::UpdateOpportunity => "opportunity.update",
            Action::UpdateContact => "contact.update",
        }
    }

    pub fn spec(self) -> &'static WriteSpec {
        match self {
            Action::CreateLead => &record_fields::LEAD,
            Action::CreateTask => &record_fields::TASK,
            Action::UpdateOpportunity => &record_fields::OPPORTUNITY,
            Action::UpdateContact => &record_fields::CONTACT,
        }
    }

    pub fn is_create(self) -> bool {
        matches!(self, Action::CreateLead | Action::CreateTask)
    }
}

/// A checked write, ready for Salesforce.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub action: Action,
    pub key: String,
    pub request_hash: Vec<u8>,
    /// Creates: the marker written into `Companion_Key__c`.
    pub marker: Option<String>,
    /// The fields to send (creates: with the marker).
    pub body: Map<String, Value>,
    /// Updates: the record.
    pub target: Option<RecordId>,
    /// Updates: the record's `SystemModstamp` when the rep saw it.
    pub seen_stamp: Option<OffsetDateTime>,
    /// Updates: the values the rep saw (the base of the three-way comparison).
    pub seen_fields: Option<Map<String, Value>>,
}

/// The answer to one write, and what becomes of its key.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub record_id: Option<String>,
    /// For the audit log.
    pub outcome: &'static str,
    /// What becomes of the key (see [`Answer::key_finish`]).
    pub finish: FinishKind,
    /// Answered from the stored result.
    pub replayed: bool,
}

impl Answer {
    pub fn detail(code: &str, message: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            code: code.to_string(),
            message: message.into(),
            fields: None,
            retry_after: None,
            current: None,
        }
    }

    /// An error answer; `finish` says whether its key keeps it.
    pub fn from_detail(
        status: StatusCode,
        detail: ErrorDetail,
        outcome: &'static str,
        finish: FinishKind,
    ) -> Answer {
        let body = serde_json::to_value(ErrorBody { error: detail }).expect("serialisable");
        Answer {
            status,
            body,
            record_id: None,
            outcome,
            finish,
            replayed: false,
        }
    }

    /// How the key of this answer ends in the store.
    pub fn key_finish(&self) -> Finish {
        match self.finish {
            FinishKind::Keep => Finish::Done {
                status: self.status.as_u16(),
                body: self.body.clone(),
                record_id: self.record_id.clone(),
            },
            FinishKind::Unknown => Finish::Unknown,
            FinishKind::Release => Finish::Release,
        }
    }

    /// A `400` before anything was claimed or sent.
    pub fn refused(message: impl Into<String>, fields: Option<FieldProblems>) -> Answer {
        let mut detail = Answer::detail(code::BAD_REQUEST, message);
        detail.fields = fields;
        Answer::from_detail(
            StatusCode::BAD_REQUEST,
            detail,
            "refused",
            FinishKind::Release,
        )
    }

    /// A `422 validation` before anything was claimed or sent: the values have their documented
    /// form but say something impossible (an id that names no record).
    pub fn invalid(message: impl Into<String>, fields: FieldProblems) -> Answer {
        let mut detail = Answer::detail(code::VALIDATION, message);
        detail.fields = Some(fields);
        Answer::from_detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            detail,
            "refused",
            FinishKind::Release,
        )
    }

    /// A `404 not_found` before anything was claimed or sent: the id of the record to update
    /// has its documented form but names no record.
    pub fn not_found(message: impl Into<String>) -> Answer {
        Answer::from_detail(
            StatusCode::NOT_FOUND,
            Answer::detail(code::NOT_FOUND, message),
            "refused",
            FinishKind::Release,
        )
    }

    /// A success: the record as Salesforce has it.
    pub fn record(
        status: StatusCode,
        record: Value,
        record_id: String,
        outcome: &'static str,
    ) -> Answer {
        Answer {
            status,
            finish: FinishKind::Keep,
            body: record,
            record_id: Some(record_id),
            outcome,
            replayed: false,
        }
    }
}

/// What becomes of a key after an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishKind {
    /// The answer is final for this request (validation, not found, conflict).
    Keep,
    /// Whether Salesforce made the write is unknown.
    Unknown,
    /// Nothing was written and the answer is about the moment (rate limit, outage).
    Release,
}
