//! A record as Salesforce has it right after a write of the rep's (the gateway's answer), put in
//! the replica outside a sync page: the same upsert a page uses (never over a newer version),
//! the rep's other pending changes laid over again, the search index kept.

use companion_api::{Contact, Lead, Opportunity, Task};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::apply::{
    contact_params, lead_params, load_passes, opportunity_params, task_params, UPSERT_CONTACT,
    UPSERT_LEAD, UPSERT_OPPORTUNITY, UPSERT_TASK,
};
use super::{overlay, search_upkeep, OBJECTS, TABLES};
use crate::error::CoreError;

/// Puts `record` (Salesforce field names, as the gateway answers) of `object` in the replica.
/// Returns the record's id.
pub(super) fn apply_server_record(
    conn: &Connection,
    object: &str,
    record: &Value,
) -> Result<String, CoreError> {
    let index = OBJECTS
        .iter()
        .position(|o| *o == object)
        .ok_or_else(|| CoreError::Storage(format!("{object} records are not kept here")))?;
    let table = TABLES[index];
    // Marked as seen in the object's current pass: Salesforce has it and the rep may see it.
    let pass = load_passes(conn)?[index].number;
    let (id, written) = match object {
        "Lead" => {
            let l: Lead = decode(object, record)?;
            let n = conn
                .prepare_cached(UPSERT_LEAD)?
                .execute(lead_params(&l, pass))?;
            (l.id, n)
        }
        "Task" => {
            let t: Task = decode(object, record)?;
            let n = conn
                .prepare_cached(UPSERT_TASK)?
                .execute(task_params(&t, pass))?;
            (t.id, n)
        }
        "Contact" => {
            let c: Contact = decode(object, record)?;
            let n = conn
                .prepare_cached(UPSERT_CONTACT)?
                .execute(contact_params(&c, pass))?;
            (c.id, n)
        }
        "Opportunity" => {
            let o: Opportunity = decode(object, record)?;
            let n = conn
                .prepare_cached(UPSERT_OPPORTUNITY)?
                .execute(opportunity_params(&o, pass))?;
            (o.id, n)
        }
        other => {
            return Err(CoreError::Storage(format!(
                "{other} records are not written by the rep"
            )))
        }
    };
    match overlay::table_for_updates(object) {
        // Its laid-over columns take Salesforce's values from the row, then the rep's other
        // pending values go over them again (and the search index follows).
        Some(table) if written > 0 => overlay::server_version_written(conn, table, &id)?,
        Some(table) => overlay::relay(conn, table, &id)?,
        None => {
            if written > 0 {
                let rowid: i64 = conn
                    .prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?
                    .query_row([&id], |row| row.get(0))?;
                search_upkeep::changed_outside_a_page(conn, table, rowid)?;
            }
        }
    }
    Ok(id)
}

fn decode<T: DeserializeOwned>(object: &str, record: &Value) -> Result<T, CoreError> {
    serde_json::from_value(record.clone()).map_err(|e| CoreError::Gateway {
        status: 200,
        code: "bad_response".into(),
        message: format!("the server's {object} record is not what was expected: {e}"),
    })
}
