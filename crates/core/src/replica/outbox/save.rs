//! A Save: one local transaction holding the outbox row and the change it lays over the replica.
//! It never needs the network.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};

use super::{is_local_id, key_prefix, new_key, new_local_id, resolve, sorted, to_json};
use crate::error::CoreError;
use crate::replica::export::{column_of, json_of};
use crate::replica::{overlay, search_upkeep, Replica};
use crate::writes::{NewLead, WriteKind};

/// The default Lead Status of a fresh org, when the org's picklists are not on the device yet.
const DEFAULT_LEAD_STATUS: &str = "Open - Not Contacted";

impl Replica {
    /// Saves a new lead: a local record (its local id is returned) and the write that creates it
    /// in Salesforce.
    pub(crate) fn save_new_lead(
        &self,
        owner_id: &str,
        lead: &NewLead,
    ) -> Result<String, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let last_name = lead.last_name.trim();
        let company = lead.company.trim();
        let mut missing = Vec::new();
        if last_name.is_empty() {
            missing.push("Last name");
        }
        if company.is_empty() {
            missing.push("Company");
        }
        if !missing.is_empty() {
            return Err(CoreError::BadInput(format!(
                "{} {} required for a lead.",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" }
            )));
        }
        let email = text(&lead.email);
        if let Some(email) = &email {
            check_email(email)?;
        }
        let lead_source = text(&lead.lead_source);
        if let Some(source) = &lead_source {
            check_picklist(&tx, "Lead", "LeadSource", "Lead source", source)?;
        }
        let status = match text(&lead.status) {
            Some(status) => {
                check_picklist(&tx, "Lead", "Status", "Lead status", &status)?;
                Some(status)
            }
            None => picklist_default(&tx, "Lead", "Status")?,
        };
        let first_name = text(&lead.first_name);
        let mut fields = Map::new();
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                fields.insert(name.to_owned(), Value::from(value.as_str()));
            }
        };
        put("FirstName", &first_name);
        put("LastName", &Some(last_name.to_owned()));
        put("Company", &Some(company.to_owned()));
        put("Title", &text(&lead.title));
        put("Email", &email);
        put("Phone", &text(&lead.phone));
        put("MobilePhone", &text(&lead.mobile_phone));
        put("LeadSource", &lead_source);
        put("Status", &status);

        let id = new_local_id("00Q");
        write_local_lead(&tx, &id, owner_id, &fields)?;
        insert_row(
            &tx,
            WriteKind::CreateLead,
            &id,
            &fields,
            &Map::new(),
            None,
            None,
            None,
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Saves a new call or follow-up task about `about` (a contact, lead, opportunity or
    /// account; a local id too), optionally naming the contact of an opportunity's or
    /// account's call. `fields` are the task's own fields (Subject, dates, …).
    pub(crate) fn save_new_task(
        &self,
        owner_id: &str,
        kind: WriteKind,
        about: &str,
        contact_id: Option<&str>,
        mut fields: Map<String, Value>,
    ) -> Result<String, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let about = resolve(&tx, about.trim())?;
        let (link, table) = match key_prefix(&about) {
            Some("003") => ("WhoId", "contact"),
            Some("00Q") => ("WhoId", "lead"),
            Some("006") => ("WhatId", "opportunity"),
            Some("001") => ("WhatId", "account"),
            _ => {
                return Err(CoreError::BadInput(format!(
                    "A call or a task is about a contact, a lead, an opportunity or an account; {about:?} is none of these."
                )))
            }
        };
        record_must_exist(&tx, table, &about)?;
        fields.insert(link.to_owned(), Value::from(about.as_str()));
        if let Some(contact) = contact_id.map(str::trim).filter(|c| !c.is_empty()) {
            if link == "WhoId" {
                return Err(CoreError::BadInput(
                    "A contact can be named only for a call or task about an opportunity or an account.".into(),
                ));
            }
            if key_prefix(contact) != Some("003") || is_local_id(contact) {
                return Err(CoreError::BadInput(format!(
                    "{contact:?} is not a contact id."
                )));
            }
            record_must_exist(&tx, "contact", contact)?;
            fields.insert("WhoId".into(), Value::from(contact));
        }
        if kind == WriteKind::NewTask {
            match fields
                .get("Priority")
                .and_then(Value::as_str)
                .map(str::to_owned)
            {
                Some(priority) => check_picklist(&tx, "Task", "Priority", "Priority", &priority)?,
                None => {
                    if let Some(default) = picklist_default(&tx, "Task", "Priority")? {
                        fields.insert("Priority".into(), Value::from(default));
                    }
                }
            }
        }
        let depends_on = ["WhoId", "WhatId"]
            .iter()
            .filter_map(|f| fields.get(*f).and_then(Value::as_str))
            .find(|id| is_local_id(id))
            .map(str::to_owned);
        let id = new_local_id("00T");
        write_local_task(&tx, &id, owner_id, kind, &fields)?;
        insert_row(
            &tx,
            kind,
            &id,
            &fields,
            &Map::new(),
            None,
            None,
            depends_on.as_deref(),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Saves an update of a contact or an opportunity: the fields whose value the rep changed
    /// (others are left out), what the rep saw for them and the record's SystemModstamp, laid
    /// over the record. Returns the write's key, or `None` when nothing changed.
    pub(crate) fn save_update(
        &self,
        kind: WriteKind,
        id: &str,
        changes: Vec<(String, Value)>,
    ) -> Result<Option<String>, CoreError> {
        let object = kind.object();
        let table = overlay::table_for_updates(object)
            .filter(|_| !kind.is_create())
            .ok_or_else(|| CoreError::Storage(format!("{object} cannot be updated")))?;
        let id = id.trim();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stamp: String = tx
            .prepare_cached(&format!(
                "SELECT system_modstamp FROM {table} WHERE id = ?1"
            ))?
            .query_row([id], |row| row.get(0))
            .optional()?
            .ok_or_else(|| {
                CoreError::BadInput(format!("No {object} with id {id} on this device."))
            })?;
        let mut fields = Map::new();
        let mut base = Map::new();
        for (field, value) in changes {
            let (column, column_kind) = column_of(object, &field)
                .filter(|_| kind.fields().iter().any(|(f, _)| *f == field))
                .ok_or_else(|| CoreError::BadInput(format!("{field} cannot be changed here.")))?;
            if field == "Email" {
                if let Some(email) = value.as_str() {
                    check_email(email)?;
                }
            }
            if field == "StageName" {
                let stage = value.as_str().ok_or_else(|| {
                    CoreError::BadInput("An opportunity always has a stage.".into())
                })?;
                check_picklist(&tx, "Opportunity", "StageName", "Stage", stage)?;
            }
            let shown: rusqlite::types::Value = tx
                .prepare_cached(&format!("SELECT {column} FROM {table} WHERE id = ?1"))?
                .query_row([id], |row| row.get(0))?;
            let shown = json_of(shown, column_kind);
            if !same_value(&shown, &value) {
                base.insert(field.clone(), shown);
                fields.insert(field, value);
            }
        }
        if fields.is_empty() {
            return Ok(None);
        }
        let display = display_of_update(&tx, object, &fields)?;
        overlay::begin(&tx, object, table, id, display.keys().cloned())?;
        let key = insert_row(
            &tx,
            kind,
            id,
            &fields,
            &display,
            Some(&base),
            Some(&stamp),
            None,
        )?;
        overlay::relay(&tx, table, id)?;
        tx.commit()?;
        Ok(Some(key))
    }
}

/// Appends a row to the outbox with a new idempotency key; returns the key.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_row(
    conn: &Connection,
    kind: WriteKind,
    record_id: &str,
    fields: &Map<String, Value>,
    display: &Map<String, Value>,
    base: Option<&Map<String, Value>>,
    base_stamp: Option<&str>,
    depends_on: Option<&str>,
) -> Result<String, CoreError> {
    let key = new_key();
    let saved_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| CoreError::storage("could not format the time", e))?;
    conn.prepare_cached(
        "INSERT INTO outbox (idempotency_key, kind, object, record_id, fields, display, base,
                             base_stamp, depends_on, saved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute((
        &key,
        kind.as_str(),
        kind.object(),
        record_id,
        to_json(&sorted(fields))?,
        to_json(&sorted(display))?,
        base.map(|b| to_json(&sorted(b))).transpose()?,
        base_stamp,
        depends_on,
        saved_at,
    ))?;
    Ok(key)
}

/// The replica columns an update lays over the record: its fields' columns, and for a new stage
/// what follows from it (probability, closed, won) as the org's stage picklist says.
pub(super) fn display_of_update(
    conn: &Connection,
    object: &str,
    fields: &Map<String, Value>,
) -> Result<Map<String, Value>, CoreError> {
    let mut display = Map::new();
    for (field, value) in fields {
        let (column, _) = column_of(object, field)
            .ok_or_else(|| CoreError::Storage(format!("{object}.{field} has no column")))?;
        display.insert(column.to_owned(), value.clone());
        if field == "StageName" {
            let stage: Option<(Option<f64>, Option<bool>, Option<bool>)> = conn
                .prepare_cached(
                    "SELECT probability, closed, won FROM picklist
                     WHERE object = 'Opportunity' AND field = 'StageName' AND value = ?1",
                )?
                .query_row([value.as_str().unwrap_or_default()], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            if let Some((probability, closed, won)) = stage {
                if let Some(p) = probability {
                    display.insert("probability".into(), Value::from(p));
                }
                if let Some(closed) = closed {
                    display.insert("is_closed".into(), Value::Bool(closed));
                }
                if let Some(won) = won {
                    display.insert("is_won".into(), Value::Bool(won));
                }
            }
        }
    }
    Ok(display)
}

/// Writes the local record of a lead made on this device from its fields (insert or rewrite).
pub(super) fn write_local_lead(
    conn: &Connection,
    id: &str,
    owner_id: &str,
    fields: &Map<String, Value>,
) -> Result<(), CoreError> {
    let get = |f: &str| fields.get(f).and_then(Value::as_str).map(str::to_owned);
    let last_name = get("LastName").unwrap_or_default();
    // Salesforce's Name of a lead: first and last name.
    let name = match get("FirstName") {
        Some(first) => format!("{first} {last_name}"),
        None => last_name.clone(),
    };
    conn.prepare_cached(
        "INSERT INTO lead (id, first_name, last_name, name, company, title, email, phone,
                           mobile_phone, lead_source, status, owner_id, system_modstamp, pass)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '', 0)
         ON CONFLICT (id) DO UPDATE SET
             first_name = excluded.first_name, last_name = excluded.last_name,
             name = excluded.name, company = excluded.company, title = excluded.title,
             email = excluded.email, phone = excluded.phone,
             mobile_phone = excluded.mobile_phone, lead_source = excluded.lead_source,
             status = excluded.status",
    )?
    .execute((
        id,
        get("FirstName"),
        &last_name,
        &name,
        get("Company").unwrap_or_default(),
        get("Title"),
        get("Email"),
        get("Phone"),
        get("MobilePhone"),
        get("LeadSource"),
        get("Status").unwrap_or_else(|| DEFAULT_LEAD_STATUS.to_owned()),
        owner_id,
    ))?;
    let rowid: i64 = conn
        .prepare_cached("SELECT rowid FROM lead WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?;
    search_upkeep::changed_outside_a_page(conn, "lead", rowid)
}

/// Writes the local record of a call or task made on this device from its fields.
pub(super) fn write_local_task(
    conn: &Connection,
    id: &str,
    owner_id: &str,
    kind: WriteKind,
    fields: &Map<String, Value>,
) -> Result<(), CoreError> {
    let get = |f: &str| fields.get(f).and_then(Value::as_str).map(str::to_owned);
    // What the gateway sets for each kind (`TaskSubtype`, `Status`).
    let (subtype, status, closed) = match kind {
        WriteKind::LogCall => ("Call", "Completed", true),
        _ => ("Task", "Not Started", false),
    };
    conn.prepare_cached(
        "INSERT INTO task (id, subject, status, priority, task_subtype, activity_date, who_id,
                           what_id, description, is_closed, owner_id, system_modstamp, pass)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, '', 0)
         ON CONFLICT (id) DO UPDATE SET
             subject = excluded.subject, priority = excluded.priority,
             activity_date = excluded.activity_date, who_id = excluded.who_id,
             what_id = excluded.what_id, description = excluded.description",
    )?
    .execute((
        id,
        get("Subject"),
        status,
        get("Priority").unwrap_or_else(|| "Normal".into()),
        subtype,
        get("ActivityDate"),
        get("WhoId"),
        get("WhatId"),
        get("Description"),
        closed,
        owner_id,
    ))?;
    Ok(())
}

fn record_must_exist(conn: &Connection, table: &str, id: &str) -> Result<(), CoreError> {
    let here: bool = conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"
        ))?
        .query_row([id], |row| row.get(0))?;
    if here {
        Ok(())
    } else {
        Err(CoreError::BadInput(format!(
            "No record with id {id} on this device."
        )))
    }
}

/// A value must be one of the org's active values of the picklist, when the device has them.
pub(super) fn check_picklist(
    conn: &Connection,
    object: &str,
    field: &str,
    label: &str,
    value: &str,
) -> Result<(), CoreError> {
    let values: Vec<String> = conn
        .prepare_cached(
            "SELECT value FROM picklist WHERE object = ?1 AND field = ?2 ORDER BY position",
        )?
        .query_map([object, field], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if values.is_empty() || values.iter().any(|v| v == value) {
        Ok(())
    } else {
        Err(CoreError::BadInput(format!(
            "{label} {value:?} is not one of this org's values: {}.",
            values.join(", ")
        )))
    }
}

fn picklist_default(
    conn: &Connection,
    object: &str,
    field: &str,
) -> Result<Option<String>, CoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT value FROM picklist WHERE object = ?1 AND field = ?2 AND is_default
             ORDER BY position LIMIT 1",
        )?
        .query_row([object, field], |row| row.get(0))
        .optional()?)
}

/// A light check of an email address (Salesforce checks it fully): something@domain.
pub(super) fn check_email(email: &str) -> Result<(), CoreError> {
    let ok = email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !domain.starts_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(CoreError::BadInput(format!(
            "{email:?} is not an email address."
        )))
    }
}

/// Numbers compare by value (12 = 12.0); everything else exactly.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
