//! The rep's pending changes laid over the replica. A record's row shows the rep's values; the
//! `overlay` table keeps, per record and column laid over, the value Salesforce has, kept
//! current by pulls. So every read (lists, details, search, counts) shows the records as the rep
//! changed them without knowing about the outbox, and a pull never overwrites a pending change:
//! what it brings for such a column goes to `overlay`, and the column is laid over again.
//!
//! The value a column shows is Salesforce's, then each pending write's value for it in Save
//! order ([`relay`]). A column no pending write touches any more shows Salesforce's value again
//! and leaves `overlay`.

use std::collections::{BTreeMap, HashMap, HashSet};

use companion_api::SyncResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::search_upkeep;
use crate::error::CoreError;

/// The columns a pending update may lay over, per table. Column names are written into SQL only
/// from here.
const LAID_OVER: [(&str, &[&str]); 2] = [
    ("contact", &["phone", "mobile_phone", "email", "title"]),
    (
        "opportunity",
        &[
            "stage_name",
            "probability",
            "is_closed",
            "is_won",
            "amount",
            "close_date",
            "next_step",
        ],
    ),
];

/// The replica table of a Salesforce object that can have pending updates.
pub(crate) fn table_for_updates(object: &str) -> Option<&'static str> {
    match object {
        "Contact" => Some("contact"),
        "Opportunity" => Some("opportunity"),
        _ => None,
    }
}

/// `column` of `table` as a name safe to write into SQL, if it may be laid over.
fn checked_column(table: &str, column: &str) -> Result<&'static str, CoreError> {
    LAID_OVER
        .iter()
        .find(|(t, _)| *t == table)
        .and_then(|(_, columns)| columns.iter().find(|c| **c == column))
        .copied()
        .ok_or_else(|| CoreError::Storage(format!("{table}.{column} cannot be laid over")))
}

fn checked_table(table: &str) -> Result<&'static str, CoreError> {
    LAID_OVER
        .iter()
        .map(|(t, _)| *t)
        .find(|t| *t == table)
        .ok_or_else(|| CoreError::Storage(format!("{table} has no pending updates")))
}

/// Starts laying `columns` over a record: the ones not laid over yet keep the value the row
/// shows now (Salesforce's) as theirs. Call before the row is changed.
pub(super) fn begin(
    conn: &Connection,
    object: &str,
    table: &str,
    id: &str,
    columns: impl IntoIterator<Item = String>,
) -> Result<(), CoreError> {
    let table = checked_table(table)?;
    for column in columns {
        let column = checked_column(table, &column)?;
        conn.prepare_cached(&format!(
            "INSERT OR IGNORE INTO overlay (record_id, col, object, server_value)
             SELECT id, '{column}', ?2, {column} FROM {table} WHERE id = ?1"
        ))?
        .execute((id, object))?;
    }
    Ok(())
}

/// Lays a record's pending writes over it again: each laid-over column shows Salesforce's
/// value, then every pending write's value for it in Save order. Columns no pending write
/// touches go back to Salesforce's value and leave `overlay`. Outside a sync page: the search
/// index follows.
pub(super) fn relay(conn: &Connection, table: &str, id: &str) -> Result<(), CoreError> {
    if let Some(rowid) = relay_in_page(conn, table, id)? {
        search_upkeep::changed_outside_a_page(conn, table, rowid)?;
    }
    Ok(())
}

/// [`relay`] for a record a sync page wrote (the page indexes it). Returns the row's rowid if
/// the record is here.
fn relay_in_page(conn: &Connection, table: &str, id: &str) -> Result<Option<i64>, CoreError> {
    let table = checked_table(table)?;
    let server: Vec<(String, SqlValue)> = conn
        .prepare_cached("SELECT col, server_value FROM overlay WHERE record_id = ?1")?
        .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if server.is_empty() {
        return Ok(None);
    }
    let displays: Vec<String> = conn
        .prepare_cached("SELECT display FROM outbox WHERE record_id = ?1 ORDER BY seq")?
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut shown: HashMap<String, SqlValue> = server.iter().cloned().collect();
    let mut pending: HashSet<String> = HashSet::new();
    for display in &displays {
        let display: BTreeMap<String, Value> = serde_json::from_str(display)
            .map_err(|e| CoreError::storage("a pending change is unreadable", e))?;
        for (column, value) in display {
            if shown.contains_key(&column) {
                shown.insert(column.clone(), sql_value(&value));
                pending.insert(column);
            }
        }
    }
    let rowid: Option<i64> = conn
        .prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?
        .query_row([id], |row| row.get(0))
        .optional()?;
    for (column, value) in shown {
        let column = checked_column(table, &column)?;
        if rowid.is_some() {
            conn.prepare_cached(&format!(
                "UPDATE {table} SET {column} = ?2 WHERE id = ?1 AND {column} IS NOT ?2"
            ))?
            .execute((id, &value))?;
        }
        if !pending.contains(column) {
            conn.prepare_cached("DELETE FROM overlay WHERE record_id = ?1 AND col = ?2")?
                .execute((id, column))?;
        }
    }
    Ok(rowid)
}

/// Salesforce's version of a record just replaced its row (a write's answer): its laid-over
/// columns take their new Salesforce values from the row, and the pending values are laid over
/// again.
pub(super) fn server_version_written(
    conn: &Connection,
    table: &str,
    id: &str,
) -> Result<(), CoreError> {
    if let Some(rowid) = capture_and_relay(conn, table, id)? {
        search_upkeep::changed_outside_a_page(conn, table, rowid)?;
    }
    Ok(())
}

fn capture_and_relay(conn: &Connection, table: &str, id: &str) -> Result<Option<i64>, CoreError> {
    let table = checked_table(table)?;
    let columns: Vec<String> = conn
        .prepare_cached("SELECT col FROM overlay WHERE record_id = ?1")?
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for column in columns {
        let column = checked_column(table, &column)?;
        conn.prepare_cached(&format!(
            "UPDATE overlay SET server_value = (SELECT {column} FROM {table} WHERE id = ?1)
             WHERE record_id = ?1 AND col = '{column}'"
        ))?
        .execute([id])?;
    }
    relay_in_page(conn, table, id)
}

/// A page's records of one object: (id, SystemModstamp).
type Versions<'a> = Vec<(&'a str, &'a str)>;

/// The pending updates a sync page meets: records of the page with columns laid over, and
/// whether the page's version replaces the row (it is not older than the row's).
pub(super) struct Overlaid {
    replaced: Vec<(&'static str, String)>,
}

impl Overlaid {
    /// Notes, before the page's upserts, which of its records have columns laid over and will
    /// be replaced by the page's version.
    pub(super) fn before_upserts(
        conn: &Connection,
        page: &SyncResponse,
    ) -> Result<Self, CoreError> {
        let mut replaced = Vec::new();
        let contacts = page
            .contacts
            .iter()
            .map(|c| (c.id.as_str(), c.system_modstamp.as_str()));
        let opportunities = page
            .opportunities
            .iter()
            .map(|o| (o.id.as_str(), o.system_modstamp.as_str()));
        let groups: [(&'static str, &str, Versions<'_>); 2] = [
            ("contact", "Contact", contacts.collect()),
            ("opportunity", "Opportunity", opportunities.collect()),
        ];
        for (table, object, records) in groups {
            if records.is_empty() {
                continue;
            }
            let laid_over: HashSet<String> = conn
                .prepare_cached("SELECT DISTINCT record_id FROM overlay WHERE object = ?1")?
                .query_map([object], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            if laid_over.is_empty() {
                continue;
            }
            for (id, stamp) in records {
                if !laid_over.contains(id) {
                    continue;
                }
                let stored: Option<String> = conn
                    .prepare_cached(&format!(
                        "SELECT system_modstamp FROM {table} WHERE id = ?1"
                    ))?
                    .query_row([id], |row| row.get(0))
                    .optional()?;
                // The upsert replaces a row with a version at least as new (apply.rs).
                if stored.is_none_or(|stored| stamp >= stored.as_str()) {
                    replaced.push((table, id.to_owned()));
                }
            }
        }
        Ok(Overlaid { replaced })
    }

    /// After the page's upserts: the replaced rows hold Salesforce's new values; keep them as
    /// Salesforce's and lay the pending values over again.
    pub(super) fn after_upserts(self, conn: &Connection) -> Result<(), CoreError> {
        for (table, id) in self.replaced {
            capture_and_relay(conn, table, &id)?;
        }
        Ok(())
    }
}

/// A JSON value from a `display` as the SQLite value the column holds (booleans as 0/1).
pub(super) fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}
