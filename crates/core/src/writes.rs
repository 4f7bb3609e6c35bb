//! What a rep can write, online or offline, and what the outbox says about each write. The
//! inputs are checked here (required fields, types, dates); picklist values are checked
//! against the org's picklists when the replica saves them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::error::CoreError;

/// A lead met at a trade show. `last_name` and `company` are required; `status` defaults to the
/// org's default Lead Status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct NewLead {
    pub first_name: Option<String>,
    pub last_name: String,
    pub company: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub lead_source: Option<String>,
    pub status: Option<String>,
}

/// A call that happened, about a contact, a lead, an opportunity or an account (`about`: its
/// id, a local id too). `date` (`YYYY-MM-DD`) defaults to the rep's local today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct NewCall {
    pub about: String,
    /// Defaults to "Call".
    pub subject: Option<String>,
    pub comments: Option<String>,
    pub date: Option<String>,
    pub duration_seconds: Option<u32>,
    /// A call about an opportunity: the contact it was with.
    pub contact_id: Option<String>,
}

/// Something to do next, about the same kinds of record as a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct NewFollowUp {
    pub about: String,
    pub subject: String,
    /// Due date, `YYYY-MM-DD`.
    pub due: String,
    /// One of the org's Task priorities (default: the org's default, "Normal").
    pub priority: Option<String>,
    /// When to be reminded, RFC 3339 (e.g. `2025-03-01T09:00:00+01:00`).
    pub reminder_at: Option<String>,
    /// A task about an opportunity: the contact it concerns.
    pub contact_id: Option<String>,
}

/// Changes to an opportunity; `None` leaves a field as it is. A blank `next_step` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct OpportunityChanges {
    /// One of the org's stages; the probability follows it.
    pub stage: Option<String>,
    pub amount: Option<f64>,
    /// `YYYY-MM-DD`.
    pub close_date: Option<String>,
    pub next_step: Option<String>,
}

/// Changes to a contact; `None` leaves a field as it is, a blank value clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct ContactChanges {
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
}

/// What a queued write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    CreateLead,
    LogCall,
    NewTask,
    UpdateOpportunity,
    UpdateContact,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::CreateLead => "create_lead",
            WriteKind::LogCall => "log_call",
            WriteKind::NewTask => "new_task",
            WriteKind::UpdateOpportunity => "update_opportunity",
            WriteKind::UpdateContact => "update_contact",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        [
            WriteKind::CreateLead,
            WriteKind::LogCall,
            WriteKind::NewTask,
            WriteKind::UpdateOpportunity,
            WriteKind::UpdateContact,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| CoreError::Storage(format!("unknown kind of change {text:?}")))
    }

    /// The Salesforce object it writes.
    pub fn object(self) -> &'static str {
        match self {
            WriteKind::CreateLead => "Lead",
            WriteKind::LogCall | WriteKind::NewTask => "Task",
            WriteKind::UpdateOpportunity => "Opportunity",
            WriteKind::UpdateContact => "Contact",
        }
    }

    pub fn is_create(self) -> bool {
        matches!(
            self,
            WriteKind::CreateLead | WriteKind::LogCall | WriteKind::NewTask
        )
    }

    /// The Salesforce fields a rep may set on this kind of write, with their types.
    pub(crate) fn fields(self) -> &'static [(&'static str, FieldType)] {
        use FieldType::*;
        match self {
            WriteKind::CreateLead => &[
                ("FirstName", Text),
                ("LastName", Text),
                ("Company", Text),
                ("Title", Text),
                ("Email", Text),
                ("Phone", Text),
                ("MobilePhone", Text),
                ("LeadSource", Text),
                ("Status", Text),
            ],
            WriteKind::LogCall => &[
                ("Subject", Text),
                ("Description", Text),
                ("ActivityDate", Date),
                ("CallDurationInSeconds", Int),
            ],
            WriteKind::NewTask => &[
                ("Subject", Text),
                ("Description", Text),
                ("ActivityDate", Date),
                ("Priority", Text),
                ("IsReminderSet", Bool),
                ("ReminderDateTime", DateTime),
            ],
            WriteKind::UpdateOpportunity => &[
                ("StageName", Text),
                ("Amount", Number),
                ("CloseDate", Date),
                ("NextStep", Text),
            ],
            WriteKind::UpdateContact => &[
                ("Phone", Text),
                ("MobilePhone", Text),
                ("Email", Text),
                ("Title", Text),
            ],
        }
    }
}

/// How a field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Text,
    Number,
    Int,
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339, sent as Salesforce's `YYYY-MM-DDTHH:MM:SS.sssZ`.
    DateTime,
}

/// `FIELD=VALUE` as a rep types it (the CLI's `retry --set`), as the JSON value of the field
/// for a write of `kind`. An empty value clears a text field.
pub fn parse_field(
    kind: WriteKind,
    field: &str,
    value: &str,
) -> Result<(String, Value), CoreError> {
    let Some((name, ty)) = kind
        .fields()
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
    else {
        let names: Vec<&str> = kind.fields().iter().map(|(n, _)| *n).collect();
        return Err(CoreError::BadInput(format!(
            "{field} is not a field of this change; fields are {}",
            names.join(", ")
        )));
    };
    let value = value.trim();
    let bad = |what: &str| CoreError::BadInput(format!("{name}: {value:?} is not {what}"));
    let json = match ty {
        FieldType::Text if value.is_empty() => Value::Null,
        FieldType::Text => Value::from(value),
        FieldType::Number => value
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::from)
            .ok_or_else(|| bad("a number"))?,
        FieldType::Int => value
            .parse::<u32>()
            .map(Value::from)
            .map_err(|_| bad("a whole number"))?,
        FieldType::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        FieldType::Date => Value::from(parse_date(name, value)?),
        FieldType::DateTime => Value::from(parse_datetime(name, value)?),
    };
    Ok((name.to_string(), json))
}

/// A JSON value given for `field` of a write of `kind` (the app's retry form), checked against
/// the field's type and returned as it is sent (dates normalised). `null` clears a text field.
pub(crate) fn check_json(kind: WriteKind, field: &str, value: &Value) -> Result<Value, CoreError> {
    let Some((name, ty)) = kind.fields().iter().find(|(name, _)| *name == field) else {
        let names: Vec<&str> = kind.fields().iter().map(|(n, _)| *n).collect();
        return Err(CoreError::BadInput(format!(
            "{field} is not a field of this change; fields are {}",
            names.join(", ")
        )));
    };
    let bad = |what: &str| CoreError::BadInput(format!("{name}: {value} is not {what}"));
    match (ty, value) {
        (FieldType::Text, Value::Null) => Ok(Value::Null),
        (FieldType::Text, Value::String(s)) if s.trim().is_empty() => Ok(Value::Null),
        (FieldType::Text, Value::String(s)) => Ok(Value::from(s.trim())),
        (FieldType::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {
            Ok(value.clone())
        }
        (FieldType::Int, Value::Number(n))
            if n.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) =>
        {
            Ok(value.clone())
        }
        (FieldType::Bool, Value::Bool(_)) => Ok(value.clone()),
        (FieldType::Date, Value::String(s)) => Ok(Value::from(parse_date(name, s)?)),
        (FieldType::DateTime, Value::String(s)) => Ok(Value::from(parse_datetime(name, s)?)),
        (FieldType::Text, _) => Err(bad("text")),
        (FieldType::Number, _) => Err(bad("a number")),
        (FieldType::Int, _) => Err(bad("a whole number")),
        (FieldType::Bool, _) => Err(bad("true or false")),
        (FieldType::Date, _) => Err(bad("a date (YYYY-MM-DD)")),
        (FieldType::DateTime, _) => Err(bad("a date and time")),
    }
}

/// A `YYYY-MM-DD` date, checked.
pub(crate) fn parse_date(what: &str, text: &str) -> Result<String, CoreError> {
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format)
        .map(|d| d.format(format).expect("a date formats"))
        .map_err(|_| CoreError::BadInput(format!("{what}: {text:?} is not a date (YYYY-MM-DD)")))
}

/// An RFC 3339 moment as Salesforce takes it: `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC).
pub(crate) fn parse_datetime(what: &str, text: &str) -> Result<String, CoreError> {
    let at = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
        CoreError::BadInput(format!(
            "{what}: {text:?} is not a date and time (e.g. 2025-03-01T09:00:00+01:00)"
        ))
    })?;
    let at = at.to_offset(time::UtcOffset::UTC);
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    ))
}

/// The rep's local today, `YYYY-MM-DD`: a call logged at 8 pm in California is today's call,
/// not tomorrow's (UTC). From the system's time zone (`TZ` or /etc/localtime).
pub(crate) fn local_today() -> String {
    chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Where a queued write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Waiting to be sent (offline, backing off, or behind another write).
    Waiting,
    /// In a request to the server right now.
    Sending,
    /// Salesforce refused it; see its error. Edit and resend, or discard.
    Failed,
    /// Someone changed the record in Salesforce since the rep saw it; choose per field.
    Conflict,
    /// The session ended: it goes once the rep signs in again.
    WaitingForSignIn,
}

/// Why Salesforce refused a write: its message, and per field what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WriteError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[ts(as = "Option<BTreeMap<String, String>>", optional)]
    pub fields: BTreeMap<String, String>,
}

/// One field of a conflict: what the rep saw, what the rep set, what Salesforce has now.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct FieldConflict {
    pub field: String,
    pub base: Value,
    pub mine: Value,
    pub theirs: Value,
}

/// A change made on this device that Salesforce does not have yet.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct PendingWrite {
    /// The idempotency key: names the write in `resolve`, `retry` and `discard`.
    pub key: String,
    pub kind: WriteKind,
    pub object: &'static str,
    /// The record written (a local id for a record made on this device).
    pub record_id: String,
    /// The record's name, as the rep knows it.
    pub record_name: Option<String>,
    pub state: PendingState,
    /// The Salesforce fields it sets.
    pub fields: BTreeMap<String, Value>,
    /// An update: the values the rep saw for those fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub base: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<WriteError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<FieldConflict>>", optional)]
    pub conflicts: Vec<FieldConflict>,
    /// What it waits for before it can go, e.g. the lead it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub waiting_for: Option<String>,
    /// The key of a failed or conflicting write it cannot go before (an earlier write of its
    /// record, or the record it names): it goes once the rep settles that one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub held_back_by: Option<String>,
    pub attempts: u32,
    /// When it is tried again by itself (RFC 3339), if it is backing off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub next_attempt_at: Option<String>,
    pub saved_at: String,
}

/// How the rep settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The rep's value wins (over what Salesforce has now).
    KeepMine,
    /// Salesforce's value stays; the rep's change of the field is dropped.
    UseTheirs,
}

/// What one push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PushReport {
    /// Writes Salesforce now has.
    #[ts(type = "number")]
    pub sent: u64,
    /// Writes refused by Salesforce, waiting for the rep.
    #[ts(type = "number")]
    pub failed: u64,
    #[ts(type = "number")]
    pub conflicts: u64,
    /// Writes still waiting (offline, backing off, behind others).
    #[ts(type = "number")]
    pub waiting: u64,
    /// Requests made to the gateway.
    #[ts(type = "number")]
    pub requests: u64,
}

/// Counts of the outbox by state, for the status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct OutboxCounts {
    /// Every change not yet in Salesforce, whatever its state.
    #[ts(type = "number")]
    pub pending: u64,
    #[ts(type = "number")]
    pub waiting: u64,
    #[ts(type = "number")]
    pub sending: u64,
    #[ts(type = "number")]
    pub failed: u64,
    #[ts(type = "number")]
    pub conflicts: u64,
    /// Of `waiting` + `sending`: those that go once the rep signs in again.
    #[ts(type = "number")]
    pub waiting_for_sign_in: u64,
}

/// A discard: how many writes went (a lead's also takes the calls and tasks about it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DiscardReport {
    #[ts(type = "number")]
    pub discarded: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_parsed_by_their_type() {
        let (name, value) = parse_field(WriteKind::UpdateOpportunity, "amount", "1250.5").unwrap();
        assert_eq!((name.as_str(), value), ("Amount", Value::from(1250.5)));
        let (_, value) = parse_field(WriteKind::CreateLead, "Status", " Working ").unwrap();
        assert_eq!(value, Value::from("Working"));
        let (_, value) = parse_field(WriteKind::UpdateContact, "Phone", "").unwrap();
        assert_eq!(value, Value::Null);
        let err = parse_field(WriteKind::UpdateOpportunity, "Amount", "lots").unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");
        let err = parse_field(WriteKind::CreateLead, "OwnerId", "005").unwrap_err();
        assert!(err.to_string().contains("LastName"), "{err}");
        let err = parse_field(WriteKind::NewTask, "ActivityDate", "2025-02-30").unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn reminders_are_sent_in_utc() {
        assert_eq!(
            parse_datetime("Reminder", "2025-03-01T09:00:00+01:00").unwrap(),
            "2025-03-01T08:00:00.000Z"
        );
        assert!(parse_datetime("Reminder", "tomorrow 9am").is_err());
    }
}
