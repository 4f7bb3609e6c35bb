//! The outbox: the rep's writes not yet in Salesforce, in the replica's file so that a Save is one
//! local transaction with the change it lays over the replica.
//!
//! - `save`: a Save — the outbox row, an idempotency key made now and reused on every resend,
//!   and the change laid over the replica (a new record made with a local id).
//! - `send`: which writes go next (Save order per record; a write naming a record still being
//!   created waits for it), and what Salesforce's answers do to the replica and the outbox.
//! - `fix`: the rep settles a failed or conflicting write (edit and resend, keep mine / use
//!   theirs, discard).
//! - `list`: the pending writes and their counts.

mod fix;
mod list;
mod save;
mod send;

use std::collections::BTreeMap;

use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, Row as SqlRow};
use serde_json::{Map, Value};

pub(crate) use list::{shown_state, RECORD_PENDING_STATE};
pub(crate) use send::{Claimed, Outcome};

use crate::error::CoreError;
use crate::writes::{WriteError, WriteKind};

/// Row states (`outbox.state`).
const WAITING: &str = "waiting";
const SENDING: &str = "sending";
const FAILED: &str = "failed";
const CONFLICT: &str = "conflict";

/// One outbox row.
#[derive(Debug, Clone)]
struct OutboxRow {
    seq: i64,
    key: String,
    kind: WriteKind,
    record_id: String,
    fields: Map<String, Value>,
    base: Option<Map<String, Value>>,
    base_stamp: Option<String>,
    depends_on: Option<String>,
    state: String,
    attempts: u32,
    next_attempt_at: i64,
    error: Option<WriteError>,
    theirs: Option<Value>,
    saved_at: String,
}

const ROW_COLUMNS: &str = "seq, idempotency_key, kind, record_id, fields, base, base_stamp, \
     depends_on, state, attempts, next_attempt_at, error, theirs, saved_at";

impl OutboxRow {
    fn from_sql(row: &SqlRow<'_>) -> rusqlite::Result<Self> {
        let json_map = |text: Option<String>| -> rusqlite::Result<Option<Map<String, Value>>> {
            text.map(|t| {
                serde_json::from_str(&t).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })
            })
            .transpose()
        };
        let kind: String = row.get(2)?;
        Ok(OutboxRow {
            seq: row.get(0)?,
            key: row.get(1)?,
            kind: WriteKind::parse(&kind).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
            })?,
            record_id: row.get(3)?,
            fields: json_map(row.get(4)?)?.unwrap_or_default(),
            base: json_map(row.get(5)?)?,
            base_stamp: row.get(6)?,
            depends_on: row.get(7)?,
            state: row.get(8)?,
            attempts: row.get(9)?,
            next_attempt_at: row.get(10)?,
            error: row
                .get::<_, Option<String>>(11)?
                .and_then(|t| serde_json::from_str(&t).ok()),
            theirs: row
                .get::<_, Option<String>>(12)?
                .and_then(|t| serde_json::from_str(&t).ok()),
            saved_at: row.get(13)?,
        })
    }
}

/// The outbox row with idempotency key `key`; a key not in the outbox is a clear error.
fn row_by_key(conn: &Connection, key: &str) -> Result<OutboxRow, CoreError> {
    conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM outbox WHERE idempotency_key = ?1"
    ))?
    .query_row([key], OutboxRow::from_sql)
    .optional()?
    .ok_or_else(|| {
        CoreError::BadInput(format!(
            "No pending change {key:?} on this device (it may have been sent or discarded)."
        ))
    })
}

fn rows_of_record(conn: &Connection, record_id: &str) -> Result<Vec<OutboxRow>, CoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM outbox WHERE record_id = ?1 ORDER BY seq"
        ))?
        .query_map([record_id], OutboxRow::from_sql)?
        .collect::<Result<_, _>>()?)
}

/// A new idempotency key: a random (version 4) UUID.
pub(crate) fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Local ids: `local-<key prefix>-<16 hex digits>`. The `-` can never be in a Salesforce id, so
/// a local id is never taken for one, and it is never sent: a write naming one waits until
/// Salesforce has made the record.
const LOCAL_PREFIX: &str = "local-";

pub(crate) fn is_local_id(id: &str) -> bool {
    id.starts_with(LOCAL_PREFIX)
}

fn new_local_id(key_prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{LOCAL_PREFIX}{key_prefix}-{hex}")
}

/// The key prefix an id (a Salesforce id or a local id) carries, e.g. `003` for a contact.
pub(crate) fn key_prefix(id: &str) -> Option<&str> {
    let id = id.strip_prefix(LOCAL_PREFIX).unwrap_or(id);
    id.get(..3)
}

/// What an id names now: a local id whose record Salesforce has made resolves to its Salesforce
/// id; anything else is itself.
pub(super) fn resolve(conn: &Connection, id: &str) -> Result<String, CoreError> {
    if !is_local_id(id) {
        return Ok(id.to_owned());
    }
    Ok(conn
        .prepare_cached("SELECT salesforce_id FROM local_id WHERE local_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .unwrap_or_else(|| id.to_owned()))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, CoreError> {
    serde_json::to_string(value).map_err(|e| CoreError::storage("could not save a change", e))
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `{field: value}` as kept in the outbox, sorted (for stable wire bodies).
fn sorted(map: &Map<String, Value>) -> BTreeMap<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests;
