//! Which writes go next, and what Salesforce's answers do.
//!
//! A write may go when it is the earliest of its record still in the outbox (per record, in
//! Save order; a failed or conflicting write holds back the later ones of its record), when it
//! names no record still being created (a call about a lead made offline waits for the lead),
//! and, unless the rep asked to send now, when its backoff is over. Of those, the creates that
//! other writes wait for go first, so that their calls can go in the next request rather than
//! in one more; then Save order. Claimed writes are marked
//! `sending` in one transaction before the request, and each answer is applied in one
//! transaction after it: a crash in between leaves them `sending`, and they are sent again with
//! the same keys, which the gateway answers from what it remembers.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};

use super::save::same_value;
use super::{
    now_ms, row_by_key, rows_of_record, sorted, to_json, OutboxRow, CONFLICT, FAILED, SENDING,
    WAITING,
};
use crate::error::CoreError;
use crate::replica::{records, search_upkeep, Replica, TABLES};
use crate::writes::{WriteError, WriteKind};

/// A write on its way to the gateway.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Claimed {
    pub key: String,
    pub kind: WriteKind,
    pub record_id: String,
    pub fields: BTreeMap<String, Value>,
    pub base: Option<BTreeMap<String, Value>>,
    pub base_stamp: Option<String>,
    /// Tries so far, this one included.
    pub attempts: u32,
}

/// What the gateway's answer means for one write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Salesforce has it; `record` is the record as Salesforce has it now.
    Sent(Value),
    /// Someone changed the record since the rep saw it: `current` is Salesforce's record,
    /// `error.fields` the fields in conflict.
    Conflict { current: Value, error: WriteError },
    /// Refused by Salesforce (validation, deleted record, no access): the rep fixes or
    /// discards it.
    Failed(WriteError),
    /// Not now (offline, busy, limits): try again in `after_ms` at the earliest.
    Retry { after_ms: i64, error: WriteError },
}

impl Replica {
    /// Marks up to `max` writes that may go now as `sending` and returns them, in Save order.
    /// `force`: backoff or not; `exclude`: keys not to send (told to wait during this push).
    pub(crate) fn claim_batch(
        &self,
        force: bool,
        max: usize,
        exclude: &HashSet<String>,
    ) -> Result<Vec<Claimed>, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows: Vec<OutboxRow> = tx
            .prepare_cached(&format!(
                "SELECT {} FROM outbox o
                 WHERE o.state IN ('{WAITING}', '{SENDING}') AND o.depends_on IS NULL
                   AND (?1 OR o.next_attempt_at <= ?2)
                   AND NOT EXISTS (SELECT 1 FROM outbox p
                                   WHERE p.record_id = o.record_id AND p.seq < o.seq)
                 ORDER BY EXISTS (SELECT 1 FROM outbox d WHERE d.depends_on = o.record_id) DESC,
                          o.seq
                 LIMIT ?3",
                super::ROW_COLUMNS
                    .split(", ")
                    .map(|c| format!("o.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?
            .query_map(
                (force, now_ms(), (max + exclude.len()) as i64),
                OutboxRow::from_sql,
            )?
            .filter(|row| row.as_ref().map_or(true, |r| !exclude.contains(&r.key)))
            .take(max)
            .collect::<Result<_, _>>()?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            tx.prepare_cached(&format!(
                "UPDATE outbox SET state = '{SENDING}', attempts = attempts + 1 WHERE seq = ?1"
            ))?
            .execute([row.seq])?;
            claimed.push(Claimed {
                key: row.key,
                kind: row.kind,
                record_id: row.record_id,
                fields: sorted(&row.fields),
                base: row.base.as_ref().map(sorted),
                base_stamp: row.base_stamp,
                attempts: row.attempts + 1,
            });
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// The whole request failed (offline, timeout, the session ended): the writes wait again,
    /// not before `not_before_ms`.
    pub(crate) fn release(
        &self,
        keys: &[String],
        not_before_ms: i64,
        error: Option<&WriteError>,
    ) -> Result<(), CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let error = error.map(to_json).transpose()?;
        for key in keys {
            tx.prepare_cached(&format!(
                "UPDATE outbox SET state = '{WAITING}', next_attempt_at = ?2, error = ?3
                 WHERE idempotency_key = ?1 AND state = '{SENDING}'"
            ))?
            .execute((key, not_before_ms, &error))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies the gateway's answers, all in one transaction. A write Salesforce has leaves
    /// the outbox and its record in the replica becomes Salesforce's (a record made on this
    /// device takes its Salesforce id everywhere).
    pub(crate) fn settle(&self, outcomes: Vec<(String, Outcome)>) -> Result<(), CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (key, outcome) in outcomes {
            settle_one(&tx, &key, outcome)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// When the earliest write that waits for its backoff may go (ms since the epoch).
    pub(crate) fn next_attempt_at(&self) -> Result<Option<i64>, CoreError> {
        let conn = self.reader();
        let at = conn
            .prepare_cached(&format!(
                "SELECT min(next_attempt_at) FROM outbox o
                 WHERE o.state = '{WAITING}' AND o.depends_on IS NULL
                   AND NOT EXISTS (SELECT 1 FROM outbox p
                                   WHERE p.record_id = o.record_id AND p.seq < o.seq)"
            ))?
            .query_row([], |row| row.get(0))?;
        Ok(at)
    }

    /// Writes left `sending` by a process that stopped mid-request wait again (they are sent
    /// again with the same keys).
    pub(crate) fn requeue_interrupted(&self) -> Result<(), CoreError> {
        self.writer().execute(
            &format!("UPDATE outbox SET state = '{WAITING}' WHERE state = '{SENDING}'"),
            [],
        )?;
        Ok(())
    }
}

fn settle_one(conn: &Connection, key: &str, outcome: Outcome) -> Result<(), CoreError> {
    let row = match row_by_key(conn, key) {
        Ok(row) => row,
        Err(CoreError::BadInput(_)) => {
            // Not in the outbox any more (another process settled it). What Salesforce has
            // still belongs in the replica.
            if let Outcome::Sent(record) = &outcome {
                if let Some(object) = record_object(record) {
                    records::apply_server_record(conn, object, record)?;
                }
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let object = row.kind.object();
    match outcome {
        Outcome::Sent(record) => {
            conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
                .execute([row.seq])?;
            if row.kind.is_create() {
                let id = record["Id"].as_str().ok_or_else(|| CoreError::Gateway {
                    status: 200,
                    code: "bad_response".into(),
                    message: "the server's answer to a new record has no Id".into(),
                })?;
                take_salesforce_id(conn, object, &row.record_id, id)?;
            }
            records::apply_server_record(conn, object, &record)?;
            if !row.kind.is_create() {
                rebase(conn, &row.record_id, &record)?;
            }
        }
        Outcome::Conflict { current, error } => {
            conn.prepare_cached(&format!(
                "UPDATE outbox SET state = '{CONFLICT}', error = ?2, theirs = ?3,
                                   next_attempt_at = 0
                 WHERE seq = ?1"
            ))?
            .execute((row.seq, to_json(&error)?, to_json(&current)?))?;
            // What Salesforce has now, under the rep's pending values: changes to fields the
            // rep did not touch show at once (merged).
            if current.get("Id").is_some() {
                records::apply_server_record(conn, object, &current)?;
            }
        }
        Outcome::Failed(error) => {
            conn.prepare_cached(&format!(
                "UPDATE outbox SET state = '{FAILED}', error = ?2, next_attempt_at = 0
                 WHERE seq = ?1"
            ))?
            .execute((row.seq, to_json(&error)?))?;
        }
        Outcome::Retry { after_ms, error } => {
            conn.prepare_cached(&format!(
                "UPDATE outbox SET state = '{WAITING}', error = ?2, next_attempt_at = ?3
                 WHERE seq = ?1"
            ))?
            .execute((row.seq, to_json(&error)?, now_ms() + after_ms.max(0)))?;
        }
    }
    Ok(())
}

/// The object of a record in an answer, from its id's key prefix.
fn record_object(record: &Value) -> Option<&'static str> {
    match record["Id"].as_str().and_then(|id| id.get(..3))? {
        "00Q" => Some("Lead"),
        "00T" => Some("Task"),
        "003" => Some("Contact"),
        "006" => Some("Opportunity"),
        _ => None,
    }
}

/// A record made on this device (`local`) now exists in Salesforce as `salesforce_id`: every
/// use of the local id becomes the Salesforce id, in this transaction — the record itself,
/// the calls and tasks that name it, the writes waiting for it — and the local id keeps
/// resolving to it.
fn take_salesforce_id(
    conn: &Connection,
    object: &str,
    local: &str,
    salesforce_id: &str,
) -> Result<(), CoreError> {
    let table = match object {
        "Lead" => "lead",
        "Task" => "task",
        other => {
            return Err(CoreError::Storage(format!(
                "{other} is not made on the device"
            )))
        }
    };
    debug_assert!(TABLES.contains(&table));
    let already_here: bool = conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"
        ))?
        .query_row([salesforce_id], |row| row.get(0))?;
    if already_here {
        // A sync brought it before the answer was settled: one record, Salesforce's.
        let rowid: Option<i64> = conn
            .prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?
            .query_row([local], |row| row.get(0))
            .ok();
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
            .execute([local])?;
        if let Some(rowid) = rowid {
            search_upkeep::changed_outside_a_page(conn, table, rowid)?;
        }
    } else {
        conn.prepare_cached(&format!("UPDATE {table} SET id = ?2 WHERE id = ?1"))?
            .execute((local, salesforce_id))?;
    }
    conn.prepare_cached(
        "INSERT INTO local_id (local_id, salesforce_id) VALUES (?1, ?2)
         ON CONFLICT (local_id) DO UPDATE SET salesforce_id = excluded.salesforce_id",
    )?
    .execute((local, salesforce_id))?;
    conn.prepare_cached("UPDATE task SET who_id = ?2 WHERE who_id = ?1")?
        .execute((local, salesforce_id))?;
    conn.prepare_cached("UPDATE task SET what_id = ?2 WHERE what_id = ?1")?
        .execute((local, salesforce_id))?;
    conn.prepare_cached("UPDATE outbox SET record_id = ?2 WHERE record_id = ?1")?
        .execute((local, salesforce_id))?;
    let waiting: Vec<(i64, String)> = conn
        .prepare_cached("SELECT seq, fields FROM outbox WHERE depends_on = ?1")?
        .query_map([local], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (seq, fields) in waiting {
        let mut fields: Map<String, Value> = serde_json::from_str(&fields)
            .map_err(|e| CoreError::storage("a pending change is unreadable", e))?;
        for value in fields.values_mut() {
            if value.as_str() == Some(local) {
                *value = Value::from(salesforce_id);
            }
        }
        conn.prepare_cached("UPDATE outbox SET fields = ?2, depends_on = NULL WHERE seq = ?1")?
            .execute((seq, to_json(&sorted(&fields))?))?;
    }
    Ok(())
}

/// After one of the rep's updates of a record landed, the record's next updates (not sent yet)
/// were made from the rep's view, which included this change: they are based on the record as
/// Salesforce has it now, if it still has the values they saw (else they keep their older base,
/// and the gateway finds the conflict).
fn rebase(conn: &Connection, record_id: &str, record: &Value) -> Result<(), CoreError> {
    let Some(stamp) = record["SystemModstamp"].as_str() else {
        return Ok(());
    };
    for row in rows_of_record(conn, record_id)? {
        if row.kind.is_create() || row.attempts > 0 {
            continue;
        }
        let Some(base) = &row.base else { continue };
        let unchanged = base
            .iter()
            .all(|(field, seen)| same_value(record.get(field).unwrap_or(&Value::Null), seen));
        if unchanged {
            conn.prepare_cached("UPDATE outbox SET base_stamp = ?2 WHERE seq = ?1")?
                .execute((row.seq, stamp))?;
        }
    }
    Ok(())
}
