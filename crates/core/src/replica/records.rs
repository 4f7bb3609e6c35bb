//! A record as Salesforce has it right after a write of the rep's (the gateway's answer), put in
//! the replica outside a sync page: the same upsert a page uses (never over a newer version),
//! the rep's other pending changes laid over again, the search index kept.

use companion_api::{Contact, Lead, Opportunity, Task};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::apply::{load_passes, UPSERT_CONTACT, UPSERT_LEAD, UPSERT_OPPORTUNITY, UPSERT_TASK};
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
            let n = conn.prepare_cached(UPSERT_LEAD)?.execute((
                &l.id,
                &l.first_name,
                &l.last_name,
                &l.name,
                &l.company,
                &l.title,
                &l.email,
                &l.phone,
                &l.mobile_phone,
                &l.lead_source,
                &l.status,
                &l.owner_id,
                &l.system_modstamp,
                pass,
            ))?;
            (l.id, n)
        }
        "Task" => {
            let t: Task = decode(object, record)?;
            let n = conn.prepare_cached(UPSERT_TASK)?.execute((
                &t.id,
                &t.subject,
                &t.status,
                &t.priority,
                &t.task_subtype,
                &t.activity_date,
                &t.who_id,
                &t.what_id,
                &t.description,
                t.is_closed,
                &t.owner_id,
                &t.system_modstamp,
                pass,
            ))?;
            (t.id, n)
        }
        "Contact" => {
            let c: Contact = decode(object, record)?;
            let n = conn.prepare_cached(UPSERT_CONTACT)?.execute((
                &c.id,
                &c.first_name,
                &c.last_name,
                &c.name,
                &c.email,
                &c.phone,
                &c.mobile_phone,
                &c.title,
                &c.account_id,
                &c.owner_id,
                &c.system_modstamp,
                pass,
            ))?;
            (c.id, n)
        }
        "Opportunity" => {
            let o: Opportunity = decode(object, record)?;
            let n = conn.prepare_cached(UPSERT_OPPORTUNITY)?.execute((
                &o.id,
                &o.name,
                &o.stage_name,
                o.amount,
                &o.close_date,
                o.probability,
                o.is_closed,
                o.is_won,
                &o.account_id,
                &o.owner_id,
                &o.system_modstamp,
                pass,
                &o.next_step,
            ))?;
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
