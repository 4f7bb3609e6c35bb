//! Whole records as Salesforce names them, for tests that compare the replica with the org and
//! for support ("what does this device hold?"); and the database's integrity check.

use serde_json::{Map, Value};

use super::Replica;
use crate::error::CoreError;

/// (column, Salesforce field, kind) of one replicated field.
pub(super) type Column = (&'static str, &'static str, Kind);

/// Per object: the table and every replicated field.
pub(super) const COLUMNS: &[(&str, &str, &[Column])] = &[
    (
        "Account",
        "account",
        &[
            ("id", "Id", Kind::Text),
            ("name", "Name", Kind::Text),
            ("industry", "Industry", Kind::Text),
            ("phone", "Phone", Kind::Text),
            ("website", "Website", Kind::Text),
            ("billing_street", "BillingStreet", Kind::Text),
            ("billing_city", "BillingCity", Kind::Text),
            ("billing_state", "BillingState", Kind::Text),
            ("billing_postal_code", "BillingPostalCode", Kind::Text),
            ("billing_country", "BillingCountry", Kind::Text),
            ("owner_id", "OwnerId", Kind::Text),
            ("system_modstamp", "SystemModstamp", Kind::Text),
        ],
    ),
    (
        "Contact",
        "contact",
        &[
            ("id", "Id", Kind::Text),
            ("first_name", "FirstName", Kind::Text),
            ("last_name", "LastName", Kind::Text),
            ("name", "Name", Kind::Text),
            ("email", "Email", Kind::Text),
            ("phone", "Phone", Kind::Text),
            ("mobile_phone", "MobilePhone", Kind::Text),
            ("title", "Title", Kind::Text),
            ("account_id", "AccountId", Kind::Text),
            ("owner_id", "OwnerId", Kind::Text),
            ("system_modstamp", "SystemModstamp", Kind::Text),
        ],
    ),
    (
        "Opportunity",
        "opportunity",
        &[
            ("id", "Id", Kind::Text),
            ("name", "Name", Kind::Text),
            ("stage_name", "StageName", Kind::Text),
            ("amount", "Amount", Kind::Number),
            ("close_date", "CloseDate", Kind::Text),
            ("probability", "Probability", Kind::Number),
            ("is_closed", "IsClosed", Kind::Bool),
            ("is_won", "IsWon", Kind::Bool),
            ("account_id", "AccountId", Kind::Text),
            ("next_step", "NextStep", Kind::Text),
            ("owner_id", "OwnerId", Kind::Text),
            ("system_modstamp", "SystemModstamp", Kind::Text),
        ],
    ),
    (
        "Task",
        "task",
        &[
            ("id", "Id", Kind::Text),
            ("subject", "Subject", Kind::Text),
            ("status", "Status", Kind::Text),
            ("priority", "Priority", Kind::Text),
            ("task_subtype", "TaskSubtype", Kind::Text),
            ("activity_date", "ActivityDate", Kind::Text),
            ("who_id", "WhoId", Kind::Text),
            ("what_id", "WhatId", Kind::Text),
            ("description", "Description", Kind::Text),
            ("is_closed", "IsClosed", Kind::Bool),
            ("owner_id", "OwnerId", Kind::Text),
            ("system_modstamp", "SystemModstamp", Kind::Text),
        ],
    ),
    (
        "Lead",
        "lead",
        &[
            ("id", "Id", Kind::Text),
            ("first_name", "FirstName", Kind::Text),
            ("last_name", "LastName", Kind::Text),
            ("name", "Name", Kind::Text),
            ("company", "Company", Kind::Text),
            ("title", "Title", Kind::Text),
            ("email", "Email", Kind::Text),
            ("phone", "Phone", Kind::Text),
            ("mobile_phone", "MobilePhone", Kind::Text),
            ("lead_source", "LeadSource", Kind::Text),
            ("status", "Status", Kind::Text),
            ("owner_id", "OwnerId", Kind::Text),
            ("system_modstamp", "SystemModstamp", Kind::Text),
        ],
    ),
];

/// The column holding Salesforce field `field` of `object`, and how its values are kept.
pub(super) fn column_of(object: &str, field: &str) -> Option<(&'static str, Kind)> {
    COLUMNS
        .iter()
        .find(|(name, _, _)| *name == object)?
        .2
        .iter()
        .find(|(_, f, _)| *f == field)
        .map(|(column, _, kind)| (*column, *kind))
}

/// A column's SQLite value as the JSON value of its Salesforce field.
pub(super) fn json_of(value: rusqlite::types::Value, kind: Kind) -> Value {
    use rusqlite::types::Value as Sql;
    match (value, kind) {
        (Sql::Null, _) => Value::Null,
        (Sql::Integer(i), Kind::Bool) => Value::Bool(i != 0),
        (Sql::Integer(i), Kind::Number) => Value::from(i as f64),
        (Sql::Integer(i), Kind::Text) => Value::from(i.to_string()),
        (Sql::Real(r), _) => Value::from(r),
        (Sql::Text(t), _) => Value::from(t),
        (Sql::Blob(_), _) => Value::Null,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Number,
    Bool,
}

impl Replica {
    /// Every record of `object`, in id order, as `{SalesforceField: value}` (nulls included).
    pub(crate) fn records(&self, object: &str) -> Result<Vec<Value>, CoreError> {
        let (_, table, columns) = COLUMNS
            .iter()
            .find(|(name, _, _)| *name == object)
            .ok_or_else(|| CoreError::BadInput(format!("{object} is not kept on this device")))?;
        let names: Vec<&str> = columns.iter().map(|(column, _, _)| *column).collect();
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM {table} ORDER BY id",
            names.join(", ")
        ))?;
        let rows = stmt.query_map([], |row| {
            let mut record = Map::new();
            for (i, (_, field, kind)) in columns.iter().enumerate() {
                let value = match kind {
                    Kind::Text => row.get::<_, Option<String>>(i)?.map(Value::from),
                    Kind::Number => row.get::<_, Option<f64>>(i)?.map(Value::from),
                    Kind::Bool => row.get::<_, Option<bool>>(i)?.map(Value::from),
                };
                record.insert(field.to_string(), value.unwrap_or(Value::Null));
            }
            Ok(Value::Object(record))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `PRAGMA integrity_check`: `Ok` when SQLite finds the database sound.
    pub(crate) fn check_integrity(&self) -> Result<(), CoreError> {
        let conn = self.writer();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let problems: Vec<String> = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(CoreError::Storage(format!(
                "the database on this device is damaged: {}",
                problems.join("; ")
            )))
        }
    }
}
