//! The pending writes as the rep sees them, and their counts.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::{
    key_prefix, now_ms, sorted, OutboxRow, CONFLICT, FAILED, ROW_COLUMNS, SENDING, WAITING,
};
use crate::error::CoreError;
use crate::replica::Replica;
use crate::writes::{FieldConflict, OutboxCounts, PendingState, PendingWrite};

/// The state a record shows when several of its writes wait: the one that needs the rep most.
/// `{ID}` is the record's id column.
pub(crate) const RECORD_PENDING_STATE: &str = "(SELECT state FROM outbox WHERE record_id = {ID}
     ORDER BY CASE state WHEN 'conflict' THEN 0 WHEN 'failed' THEN 1 WHEN 'sending' THEN 2
              ELSE 3 END LIMIT 1)";

/// A row's state as the rep sees it: while the session has ended, what waits, waits for sign-in.
pub(crate) fn shown_state(state: &str, reauth_required: bool) -> PendingState {
    match state {
        FAILED => PendingState::Failed,
        CONFLICT => PendingState::Conflict,
        _ if reauth_required => PendingState::WaitingForSignIn,
        SENDING => PendingState::Sending,
        _ => PendingState::Waiting,
    }
}

impl Replica {
    /// Every write not yet in Salesforce, in Save order.
    pub(crate) fn pending_writes(&self) -> Result<Vec<PendingWrite>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.reader();
        let rows: Vec<OutboxRow> = conn
            .prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM outbox ORDER BY seq"))?
            .query_map([], OutboxRow::from_sql)?
            .collect::<Result<_, _>>()?;
        let now = now_ms();
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            let conflicts = match (&row.theirs, row.state.as_str()) {
                (Some(theirs), CONFLICT) => row
                    .error
                    .iter()
                    .flat_map(|e| e.fields.keys())
                    .filter(|f| row.fields.contains_key(*f))
                    .map(|f| FieldConflict {
                        field: f.clone(),
                        base: row
                            .base
                            .as_ref()
                            .and_then(|b| b.get(f))
                            .cloned()
                            .unwrap_or(Value::Null),
                        mine: row.fields.get(f).cloned().unwrap_or(Value::Null),
                        theirs: theirs.get(f).cloned().unwrap_or(Value::Null),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let (waiting_for, held_back_by) = waiting_for(&conn, &row)?;
            let next_attempt_at = (row.state == WAITING && row.next_attempt_at > now)
                .then(|| rfc3339_of_ms(row.next_attempt_at))
                .flatten();
            pending.push(PendingWrite {
                record_name: record_name(&conn, &row.record_id)?,
                key: row.key,
                kind: row.kind,
                object: row.kind.object(),
                record_id: row.record_id,
                state: shown_state(&row.state, reauth),
                fields: sorted(&row.fields),
                base: row.base.as_ref().map(sorted),
                // A waiting write's last error says why it waits (offline, busy).
                error: row
                    .error
                    .filter(|_| row.state != CONFLICT || conflicts.is_empty()),
                conflicts,
                waiting_for,
                held_back_by,
                attempts: row.attempts,
                next_attempt_at,
                saved_at: row.saved_at,
            });
        }
        Ok(pending)
    }

    /// How many writes wait, fail, conflict.
    pub(crate) fn outbox_counts(&self) -> Result<OutboxCounts, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.reader();
        let mut counts = OutboxCounts::default();
        let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?;
        for row in rows {
            let (state, n) = row?;
            counts.pending += n;
            match state.as_str() {
                FAILED => counts.failed += n,
                CONFLICT => counts.conflicts += n,
                SENDING => counts.sending += n,
                _ => counts.waiting += n,
            }
        }
        if reauth {
            counts.waiting_for_sign_in = counts.waiting + counts.sending;
        }
        Ok(counts)
    }
}

/// Why a write cannot go yet, if it cannot — the record it names is still being created, or an
/// earlier write of its record goes first — and the key of the failed or conflicting write that
/// holds it back, if one does.
fn waiting_for(
    conn: &Connection,
    row: &OutboxRow,
) -> Result<(Option<String>, Option<String>), CoreError> {
    let first_of = |record_id: &str, before: i64| -> Result<Option<(String, String)>, CoreError> {
        Ok(conn
            .prepare_cached(
                "SELECT idempotency_key, state FROM outbox WHERE record_id = ?1 AND seq < ?2
                 ORDER BY seq LIMIT 1",
            )?
            .query_row((record_id, before), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    };
    let needs_the_rep = |(key, state): &(String, String)| {
        matches!(state.as_str(), FAILED | CONFLICT).then(|| key.clone())
    };
    if let Some(local) = &row.depends_on {
        let name = record_name(conn, local)?.unwrap_or_else(|| local.clone());
        let creation = first_of(local, i64::MAX)?;
        return Ok((
            Some(format!("{name} to reach Salesforce first")),
            creation.as_ref().and_then(needs_the_rep),
        ));
    }
    let Some(earlier) = first_of(&row.record_id, row.seq)? else {
        return Ok((None, None));
    };
    let held_back_by = needs_the_rep(&earlier);
    let (key, state) = earlier;
    let why = match state.as_str() {
        FAILED | CONFLICT => format!("an earlier change of this record ({key}), which is {state}"),
        _ => format!("an earlier change of this record ({key})"),
    };
    Ok((Some(why), held_back_by))
}

/// The name a rep knows a record by (a task: its subject).
fn record_name(conn: &Connection, id: &str) -> Result<Option<String>, CoreError> {
    let sql = match key_prefix(id) {
        Some("003") => "SELECT name FROM contact WHERE id = ?1",
        Some("00Q") => "SELECT name FROM lead WHERE id = ?1",
        Some("006") => "SELECT name FROM opportunity WHERE id = ?1",
        Some("001") => "SELECT name FROM account WHERE id = ?1",
        Some("00T") => "SELECT subject FROM task WHERE id = ?1",
        _ => return Ok(None),
    };
    let name: Option<Option<String>> = conn
        .prepare_cached(sql)?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(name.flatten())
}

fn rfc3339_of_ms(ms: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}
