//! The rep settles a write Salesforce did not take: edit a failed one and send it again, choose
//! per field in a conflict, or discard. Every change of what a write sends gets a new
//! idempotency key (the gateway keeps the old key's answer, the refusal).

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};

use super::save::{
    check_email, check_picklist, display_of_update, write_local_lead, write_local_task,
};
use super::{new_key, row_by_key, sorted, to_json, OutboxRow, CONFLICT, FAILED, SENDING, WAITING};
use crate::error::CoreError;
use crate::replica::{overlay, search_upkeep, Replica};
use crate::writes::{Resolution, WriteKind};

impl Replica {
    /// Settles the conflict of write `key` for `fields` (all conflicting fields when empty):
    /// keep mine — the rep's value goes over what Salesforce has now; use theirs — the rep's
    /// change of the field is dropped. Once every conflicting field is settled the write waits
    /// to be sent again (based on Salesforce's record now, under a new key), or leaves the
    /// outbox if nothing of it is left. Returns the write's key from now on (`None`: gone).
    pub(crate) fn resolve_conflict(
        &self,
        key: &str,
        resolution: Resolution,
        fields: &[String],
    ) -> Result<Option<String>, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut row = row_by_key(&tx, key)?;
        if row.state != CONFLICT {
            return Err(CoreError::BadInput(format!(
                "Change {key} is not in conflict (it is {}).",
                row.state
            )));
        }
        let theirs = row.theirs.clone().unwrap_or(Value::Null);
        let mut error = row
            .error
            .clone()
            .unwrap_or_else(|| crate::writes::WriteError {
                code: "conflict".into(),
                message: String::new(),
                fields: Default::default(),
            });
        let conflicting: Vec<String> = error
            .fields
            .keys()
            .filter(|f| row.fields.contains_key(*f))
            .cloned()
            .collect();
        let chosen: Vec<String> = if fields.is_empty() {
            conflicting.clone()
        } else {
            fields
                .iter()
                .map(|f| {
                    conflicting
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(f))
                        .cloned()
                        .ok_or_else(|| {
                            CoreError::BadInput(format!(
                                "{f} is not in conflict in change {key}; fields in conflict: {}.",
                                conflicting.join(", ")
                            ))
                        })
                })
                .collect::<Result<_, _>>()?
        };
        let base = row.base.get_or_insert_with(Map::new);
        for field in &chosen {
            match resolution {
                Resolution::KeepMine => {
                    base.insert(
                        field.clone(),
                        theirs.get(field).cloned().unwrap_or(Value::Null),
                    );
                }
                Resolution::UseTheirs => {
                    row.fields.remove(field);
                    base.remove(field);
                }
            }
            error.fields.remove(field);
        }
        let object = row.kind.object();
        let table = overlay::table_for_updates(object)
            .ok_or_else(|| CoreError::Storage(format!("{object} has no conflicts")))?;
        let now_key = if row.fields.is_empty() {
            tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
                .execute([row.seq])?;
            None
        } else if error.fields.is_empty() {
            // Every conflict settled: sent again as a change of Salesforce's record as it is
            // now (every field it still changes is based on Salesforce's value).
            let mut base = Map::new();
            for field in row.fields.keys() {
                base.insert(
                    field.clone(),
                    theirs.get(field).cloned().unwrap_or(Value::Null),
                );
            }
            let display = display_of_update(&tx, object, &row.fields)?;
            let key = new_key();
            tx.prepare_cached(&format!(
                "UPDATE outbox SET idempotency_key = ?2, fields = ?3, display = ?4, base = ?5,
                                   base_stamp = ?6, state = '{WAITING}', attempts = 0,
                                   next_attempt_at = 0, error = NULL, theirs = NULL
                 WHERE seq = ?1"
            ))?
            .execute((
                row.seq,
                &key,
                to_json(&sorted(&row.fields))?,
                to_json(&sorted(&display))?,
                to_json(&sorted(&base))?,
                theirs["SystemModstamp"].as_str(),
            ))?;
            Some(key)
        } else {
            let display = display_of_update(&tx, object, &row.fields)?;
            tx.prepare_cached(
                "UPDATE outbox SET fields = ?2, display = ?3, base = ?4, error = ?5 WHERE seq = ?1",
            )?
            .execute((
                row.seq,
                to_json(&sorted(&row.fields))?,
                to_json(&sorted(&display))?,
                to_json(&sorted(row.base.as_ref().expect("set above")))?,
                to_json(&error)?,
            ))?;
            Some(row.key.clone())
        };
        overlay::relay(&tx, table, &row.record_id)?;
        tx.commit()?;
        Ok(now_key)
    }

    /// Edits a failed write (`changes`: Salesforce field → new value, `null` clears) and queues
    /// it to be sent again under a new key, which it returns.
    pub(crate) fn retry_write(
        &self,
        key: &str,
        changes: Vec<(String, Value)>,
    ) -> Result<String, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut row = row_by_key(&tx, key)?;
        if row.state != FAILED {
            return Err(CoreError::BadInput(format!(
                "Change {key} has not failed (it is {}); only a failed change is edited and sent again.",
                row.state
            )));
        }
        for (field, value) in changes {
            let value = crate::writes::check_json(row.kind, &field, &value)?;
            check_value(&tx, row.kind, &field, &value)?;
            if value.is_null() && row.kind.is_create() {
                row.fields.remove(&field);
            } else {
                row.fields.insert(field, value);
            }
        }
        let owner: String;
        let display = match row.kind {
            WriteKind::CreateLead => {
                for required in ["LastName", "Company"] {
                    let blank = row
                        .fields
                        .get(required)
                        .and_then(Value::as_str)
                        .is_none_or(|s| s.trim().is_empty());
                    if blank {
                        return Err(CoreError::BadInput(format!(
                            "{required} is required for a lead."
                        )));
                    }
                }
                owner = local_owner(&tx, "lead", &row.record_id)?;
                write_local_lead(&tx, &row.record_id, &owner, &row.fields)?;
                Map::new()
            }
            WriteKind::LogCall | WriteKind::NewTask => {
                owner = local_owner(&tx, "task", &row.record_id)?;
                write_local_task(&tx, &row.record_id, &owner, row.kind, &row.fields)?;
                Map::new()
            }
            WriteKind::UpdateOpportunity | WriteKind::UpdateContact => {
                display_of_update(&tx, row.kind.object(), &row.fields)?
            }
        };
        let now_key = new_key();
        tx.prepare_cached(&format!(
            "UPDATE outbox SET idempotency_key = ?2, fields = ?3, display = ?4, state = '{WAITING}',
                               attempts = 0, next_attempt_at = 0, error = NULL
             WHERE seq = ?1"
        ))?
        .execute((
            row.seq,
            &now_key,
            to_json(&sorted(&row.fields))?,
            to_json(&sorted(&display))?,
        ))?;
        if let Some(table) = overlay::table_for_updates(row.kind.object()) {
            if !row.kind.is_create() {
                // New columns laid over keep Salesforce's value as theirs.
                overlay::begin(
                    &tx,
                    row.kind.object(),
                    table,
                    &row.record_id,
                    display.keys().cloned(),
                )?;
                overlay::relay(&tx, table, &row.record_id)?;
            }
        }
        tx.commit()?;
        Ok(now_key)
    }

    /// Discards write `key`, and its change on the device: a record made on this device goes
    /// (with the calls and tasks about it that wait for it), an update's values give way to
    /// Salesforce's. Returns how many writes went.
    pub(crate) fn discard_write(&self, key: &str) -> Result<u64, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = row_by_key(&tx, key)?;
        if row.state == SENDING {
            return Err(CoreError::BadInput(format!(
                "Change {key} is being sent right now; wait for the answer, then discard it if it failed."
            )));
        }
        let discarded = discard(&tx, &row)?;
        tx.commit()?;
        Ok(discarded)
    }

    /// Discards every write in the outbox and its change on the device (signing out with
    /// changes the rep chose to give up). Returns how many went.
    pub(crate) fn discard_all(&self) -> Result<u64, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows: Vec<OutboxRow> = tx
            .prepare_cached(&format!(
                "SELECT {} FROM outbox ORDER BY seq DESC",
                super::ROW_COLUMNS
            ))?
            .query_map([], OutboxRow::from_sql)?
            .collect::<Result<_, _>>()?;
        let mut discarded = 0;
        for row in rows {
            // Those already gone with the record they waited for.
            let still_here: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE seq = ?1)")?
                .query_row([row.seq], |r| r.get(0))?;
            if still_here {
                discarded += discard(&tx, &row)?;
            }
        }
        tx.commit()?;
        Ok(discarded)
    }
}

fn discard(conn: &Connection, row: &OutboxRow) -> Result<u64, CoreError> {
    let mut discarded = 1;
    conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([row.seq])?;
    if row.kind.is_create() {
        let table = if row.kind == WriteKind::CreateLead {
            "lead"
        } else {
            "task"
        };
        delete_local(conn, table, &row.record_id)?;
        // Calls and tasks about a lead that will never exist cannot be sent either.
        let dependents: Vec<OutboxRow> = conn
            .prepare_cached(&format!(
                "SELECT {} FROM outbox WHERE depends_on = ?1",
                super::ROW_COLUMNS
            ))?
            .query_map([&row.record_id], OutboxRow::from_sql)?
            .collect::<Result<_, _>>()?;
        for dependent in dependents {
            discarded += discard(conn, &dependent)?;
        }
    } else if let Some(table) = overlay::table_for_updates(row.kind.object()) {
        overlay::relay(conn, table, &row.record_id)?;
    }
    Ok(discarded)
}

fn delete_local(conn: &Connection, table: &str, id: &str) -> Result<(), CoreError> {
    if !super::is_local_id(id) {
        return Ok(());
    }
    let rowid: Option<i64> = conn
        .prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?
        .query_row([id], |row| row.get(0))
        .ok();
    conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
        .execute([id])?;
    if let Some(rowid) = rowid {
        search_upkeep::changed_outside_a_page(conn, table, rowid)?;
    }
    Ok(())
}

fn local_owner(conn: &Connection, table: &str, id: &str) -> Result<String, CoreError> {
    conn.prepare_cached(&format!("SELECT owner_id FROM {table} WHERE id = ?1"))?
        .query_row([id], |row| row.get(0))
        .map_err(|_| CoreError::Storage(format!("the record {id} of this change is gone")))
}

/// A value the rep typed for a failed write, checked as at Save.
fn check_value(
    conn: &Connection,
    kind: WriteKind,
    field: &str,
    value: &Value,
) -> Result<(), CoreError> {
    if !kind.fields().iter().any(|(f, _)| *f == field) {
        return Err(CoreError::BadInput(format!(
            "{field} is not a field of this change."
        )));
    }
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    match (kind, field) {
        (_, "Email") => check_email(text),
        (WriteKind::CreateLead, "Status") => {
            check_picklist(conn, "Lead", "Status", "Lead status", text)
        }
        (WriteKind::CreateLead, "LeadSource") => {
            check_picklist(conn, "Lead", "LeadSource", "Lead source", text)
        }
        (WriteKind::NewTask, "Priority") => {
            check_picklist(conn, "Task", "Priority", "Priority", text)
        }
        (WriteKind::UpdateOpportunity, "StageName") => {
            check_picklist(conn, "Opportunity", "StageName", "Stage", text)
        }
        _ => Ok(()),
    }
}
