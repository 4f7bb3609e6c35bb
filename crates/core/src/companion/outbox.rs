//! The rep's writes: Save (one local transaction, never the network), the outbox as the rep
//! sees it, and settling what Salesforce refused. Sending is `Companion::push*` and the sync.

use serde_json::{Map, Value};

use super::Companion;
use crate::error::CoreError;
use crate::model::CoreEvent;
use crate::replica::{ContactDetail, LeadDetail, OpportunityDetail, TaskSummary, Via};
use crate::writes::{
    local_today, parse_date, parse_datetime, ContactChanges, DiscardReport, NewCall, NewFollowUp,
    NewLead, OpportunityChanges, PendingWrite, Resolution, WriteKind,
};

impl Companion {
    /// Creates a lead, online or offline: it is on the device at once (with a local id, in
    /// the leads list and in search) and reaches Salesforce with the next push.
    pub fn create_lead(&self, lead: NewLead) -> Result<LeadDetail, CoreError> {
        let (user_id, replica) = self.writer_session()?;
        let id = replica.save_new_lead(&user_id, &lead)?;
        self.saved();
        replica
            .lead_via(Via::Writer, &id)?
            .ok_or_else(|| CoreError::Storage("the new lead is not on the device".into()))
    }

    /// Logs a call about a contact, lead, opportunity or account (a local id too): Status
    /// Completed, subtype Call, dated the rep's local today unless given.
    pub fn log_call(&self, call: NewCall) -> Result<TaskSummary, CoreError> {
        let mut fields = Map::new();
        let subject = call
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("Call");
        fields.insert("Subject".into(), Value::from(subject));
        if let Some(comments) = text(&call.comments) {
            fields.insert("Description".into(), Value::from(comments));
        }
        let date = match text(&call.date) {
            Some(date) => parse_date("Date", &date)?,
            None => local_today(),
        };
        fields.insert("ActivityDate".into(), Value::from(date));
        if let Some(seconds) = call.duration_seconds {
            fields.insert("CallDurationInSeconds".into(), Value::from(seconds));
        }
        self.save_task(
            WriteKind::LogCall,
            &call.about,
            call.contact_id.as_deref(),
            fields,
        )
    }

    /// Creates a follow-up task about a contact, lead, opportunity or account: subject, due
    /// date, priority, optionally a reminder.
    pub fn create_task(&self, task: NewFollowUp) -> Result<TaskSummary, CoreError> {
        let subject = task.subject.trim();
        if subject.is_empty() {
            return Err(CoreError::BadInput("A task needs a subject.".into()));
        }
        let mut fields = Map::new();
        fields.insert("Subject".into(), Value::from(subject));
        fields.insert(
            "ActivityDate".into(),
            Value::from(parse_date("Due date", &task.due)?),
        );
        if let Some(priority) = text(&task.priority) {
            fields.insert("Priority".into(), Value::from(priority));
        }
        if let Some(reminder) = text(&task.reminder_at) {
            fields.insert("IsReminderSet".into(), Value::Bool(true));
            fields.insert(
                "ReminderDateTime".into(),
                Value::from(parse_datetime("Reminder", &reminder)?),
            );
        }
        self.save_task(
            WriteKind::NewTask,
            &task.about,
            task.contact_id.as_deref(),
            fields,
        )
    }

    fn save_task(
        &self,
        kind: WriteKind,
        about: &str,
        contact_id: Option<&str>,
        fields: Map<String, Value>,
    ) -> Result<TaskSummary, CoreError> {
        let (user_id, replica) = self.writer_session()?;
        let id = replica.save_new_task(&user_id, kind, about, contact_id, fields)?;
        self.saved();
        replica
            .task_via(Via::Writer, &id)?
            .ok_or_else(|| CoreError::Storage("the new task is not on the device".into()))
    }

    /// Changes an opportunity (stage — the probability follows —, amount, close date, next
    /// step). The record shows the change at once; nothing is queued if nothing changed.
    pub fn update_opportunity(
        &self,
        id: &str,
        changes: OpportunityChanges,
    ) -> Result<OpportunityDetail, CoreError> {
        let mut fields: Vec<(String, Value)> = Vec::new();
        if let Some(stage) = text(&changes.stage) {
            fields.push(("StageName".into(), Value::from(stage)));
        }
        if let Some(amount) = changes.amount {
            if !amount.is_finite() {
                return Err(CoreError::BadInput(format!("{amount} is not an amount.")));
            }
            fields.push(("Amount".into(), Value::from(amount)));
        }
        if let Some(date) = &changes.close_date {
            fields.push((
                "CloseDate".into(),
                Value::from(parse_date("Close date", date)?),
            ));
        }
        if let Some(next_step) = &changes.next_step {
            fields.push(("NextStep".into(), clearable(next_step)));
        }
        let replica = self.replica()?;
        if replica
            .save_update(WriteKind::UpdateOpportunity, id, fields)?
            .is_some()
        {
            self.saved();
        }
        replica
            .opportunity_via(Via::Writer, id.trim())?
            .ok_or_else(|| {
                CoreError::BadInput(format!("No opportunity with id {id} on this device."))
            })
    }

    /// Changes a contact's phone, mobile, email or title (a blank value clears it).
    pub fn update_contact(
        &self,
        id: &str,
        changes: ContactChanges,
    ) -> Result<ContactDetail, CoreError> {
        let mut fields: Vec<(String, Value)> = Vec::new();
        for (field, value) in [
            ("Phone", &changes.phone),
            ("MobilePhone", &changes.mobile_phone),
            ("Email", &changes.email),
            ("Title", &changes.title),
        ] {
            if let Some(value) = value {
                fields.push((field.into(), clearable(value)));
            }
        }
        let replica = self.replica()?;
        if replica
            .save_update(WriteKind::UpdateContact, id, fields)?
            .is_some()
        {
            self.saved();
        }
        replica
            .contact_via(Via::Writer, id.trim())?
            .ok_or_else(|| CoreError::BadInput(format!("No contact with id {id} on this device.")))
    }

    /// When the earliest write waiting out its backoff may go (ms since the epoch), if any.
    pub(crate) fn next_write_due(&self) -> Result<Option<i64>, CoreError> {
        self.replica()?.next_attempt_at()
    }

    /// Every change made on this device that Salesforce does not have yet, in Save order.
    pub fn pending(&self) -> Result<Vec<PendingWrite>, CoreError> {
        self.replica()?.pending_writes()
    }

    /// Settles a conflict: keep mine or use theirs, for `fields` (all fields in conflict when
    /// empty). Once none is left the write goes with the next push, under a new key. Returns
    /// the write's key from now on; `None` when nothing of it is left to send.
    pub fn resolve_conflict(
        &self,
        key: &str,
        resolution: Resolution,
        fields: &[String],
    ) -> Result<Option<String>, CoreError> {
        let now = self.replica()?.resolve_conflict(key, resolution, fields)?;
        self.saved();
        Ok(now)
    }

    /// Edits a failed write (`changes`: Salesforce field and value, see [`crate::parse_field`])
    /// and sends it again with the next push, under the new key it returns.
    pub fn retry_write(
        &self,
        key: &str,
        changes: Vec<(String, Value)>,
    ) -> Result<String, CoreError> {
        let now = self.replica()?.retry_write(key, changes)?;
        self.saved();
        Ok(now)
    }

    /// Discards a write and its change on the device (a new record goes, with the calls and
    /// tasks about it; an update gives way to Salesforce's values).
    pub fn discard_write(&self, key: &str) -> Result<DiscardReport, CoreError> {
        let discarded = self.replica()?.discard_write(key)?;
        self.emit(CoreEvent::OutboxChanged);
        self.emit(CoreEvent::RecordsChanged);
        Ok(DiscardReport { discarded })
    }

    /// The signed-in user's id and replica, to write in.
    fn writer_session(
        &self,
    ) -> Result<(String, std::sync::Arc<crate::replica::Replica>), CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        Ok((session.user.user_id.clone(), session.replica?))
    }

    /// After a Save: the background loop pushes, the screens refresh.
    fn saved(&self) {
        self.saved_notify().notify_one();
        self.emit(CoreEvent::OutboxChanged);
        self.emit(CoreEvent::RecordsChanged);
    }
}

fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A text field's new value: blank clears it.
fn clearable(value: &str) -> Value {
    match value.trim() {
        "" => Value::Null,
        text => Value::from(text),
    }
}
