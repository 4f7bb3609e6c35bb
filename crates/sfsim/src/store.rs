//! The org's records, kept as JSON maps under their API field names, and the org's users.
//! Every write goes through here so derived fields (`Name`, `IsClosed`, …) and stamps stay right;
//! deleted records stay in their table with `IsDeleted = true` (the recycle bin) and in a log that
//! `sobjects/{type}/deleted/` reads.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
    sync::Arc,
};

use serde_json::{Map, Value};

use crate::{
    error::SimError,
    ids::{self, IdGenerator},
    schema::{self, ObjectDef, Sharing, OPPORTUNITY_STAGES},
    stamp_index::{IndexedRow, StampIndex, StampKey},
};

pub type Record = Map<String, Value>;

/// Someone who can sign in.
#[derive(Debug, Clone)]
pub struct OrgUser {
    pub id: String,
    pub username: String,
    pub password: String,
    /// Sees and edits every record ("View All Data").
    pub is_admin: bool,
}

/// One entry of the deleted-records log.
#[derive(Debug, Clone)]
pub struct Deletion {
    pub object: &'static str,
    pub id: String,
    /// Salesforce datetime text.
    pub deleted_date: String,
}

/// A record with the values every query reads copied out of its map: a map lookup costs several
/// cache misses, and a scan of 100,000 records would pay them 100,000 times.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The 15-char id (the table key); shared, so query cursors hold ids without copying them.
    pub id15: Arc<str>,
    pub deleted: bool,
    /// Shared with the stamp index, which checks sharing without the table.
    pub owner_id: Option<Arc<str>>,
    /// `SystemModstamp` as epoch milliseconds: sorting 100,000 of these touches no other memory.
    pub system_modstamp_ms: i64,
    pub record: Record,
}

impl Entry {
    fn new(id15: String, record: Record) -> Self {
        let text = |name: &str| record.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            deleted: is_deleted(&record),
            owner_id: text("OwnerId").map(Arc::from),
            system_modstamp_ms: text("SystemModstamp")
                .as_deref()
                .and_then(stamp_millis)
                .unwrap_or(i64::MIN),
            id15: id15.into(),
            record,
        }
    }
}

/// One object's records, and the same records' live part in `(SystemModstamp, Id)` order. Every
/// change goes through [`Table::put`] and [`Table::take`], which keep the two exact.
#[derive(Debug, Default)]
struct Table {
    /// Keyed by the 15-char id (byte order = id order), deleted ones included.
    by_id: BTreeMap<String, Entry>,
    by_stamp: StampIndex,
}

impl Table {
    /// Stores `entry`, replacing the one with its id.
    fn put(&mut self, entry: Entry) {
        self.take(&entry.id15);
        self.by_stamp.add(&entry);
        self.by_id.insert(entry.id15.to_string(), entry);
    }

    fn take(&mut self, id15: &str) -> Option<Entry> {
        let entry = self.by_id.remove(id15)?;
        self.by_stamp.remove(&entry);
        Some(entry)
    }
}

#[derive(Debug, Default)]
pub struct Store {
    pub org_id: String,
    pub users: Vec<OrgUser>,
    /// Object name → its records.
    tables: HashMap<&'static str, Table>,
    /// Object name → ids for records created through the API.
    id_generators: HashMap<&'static str, IdGenerator>,
    deletions: Vec<Deletion>,
}

impl Store {
    pub fn new(org_id: String) -> Self {
        Self {
            org_id,
            users: Vec::new(),
            tables: schema::OBJECTS
                .iter()
                .map(|o| (o.name, Table::default()))
                .collect(),
            // Above every seeded record number, so API-created ids sort after seeded ones.
            id_generators: schema::OBJECTS
                .iter()
                .map(|o| {
                    (
                        o.name,
                        IdGenerator::new(o.key_prefix, "8d", 62u64.pow(7) * 41),
                    )
                })
                .collect(),
            deletions: Vec::new(),
        }
    }

    pub fn user_by_username(&self, username: &str) -> Option<&OrgUser> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn user_by_id(&self, id: &str) -> Option<&OrgUser> {
        let id15 = ids::to_15(id)?;
        self.users.iter().find(|u| u.id.starts_with(id15))
    }

    /// A fresh 18-char id for a new record of `object`.
    pub fn next_id(&mut self, object: &ObjectDef) -> String {
        self.id_generators
            .entry(object.name)
            .or_insert_with(|| IdGenerator::new(object.key_prefix, "8d", 62u64.pow(7) * 41))
            .next_id()
    }

    /// Adds a record (its `Id` must be set), deriving read-only fields.
    pub fn insert(&mut self, object: &ObjectDef, mut record: Record) {
        derive_fields(self, object, &mut record);
        let id = record
            .get("Id")
            .and_then(Value::as_str)
            .and_then(ids::to_15)
            .expect("records are inserted with a valid Id")
            .to_owned();
        self.table_mut(object).put(Entry::new(id, record));
    }

    /// A record by 15- or 18-char id, deleted or not.
    pub fn get_any(&self, object: &ObjectDef, id: &str) -> Option<&Record> {
        self.entry(object, id).map(|e| &e.record)
    }

    /// A record with its copied-out values, deleted or not.
    pub fn entry(&self, object: &ObjectDef, id: &str) -> Option<&Entry> {
        // Ids from outside are checked (checksum included) before they get here; lookups
        // follow stored ids, so the 15-char head is the key.
        let id15 = match id.len() {
            15 | 18 => id.get(..15)?,
            _ => return None,
        };
        self.tables.get(object.name)?.by_id.get(id15)
    }

    /// The records of an object in id order, with the recycle bin when `include_deleted`.
    pub fn entries(
        &self,
        object: &ObjectDef,
        include_deleted: bool,
    ) -> impl Iterator<Item = &Entry> {
        self.tables
            .get(object.name)
            .into_iter()
            .flat_map(|table| table.by_id.values())
            .filter(move |e| include_deleted || !e.deleted)
    }

    /// How many records an object has, deleted ones included.
    pub fn table_len(&self, object: &ObjectDef) -> usize {
        self.tables.get(object.name).map_or(0, |t| t.by_id.len())
    }

    /// Live records of an object from `start` on, in `(SystemModstamp, Id)` order.
    pub fn live_by_stamp(
        &self,
        object: &ObjectDef,
        start: Bound<StampKey>,
    ) -> impl Iterator<Item = IndexedRow<'_>> {
        self.tables
            .get(object.name)
            .into_iter()
            .flat_map(move |table| table.by_stamp.from(start.clone()))
    }

    /// [`Store::can_read`] on an entry, without touching the record's map.
    pub fn can_read_entry(&self, object: &ObjectDef, entry: &Entry, user: &OrgUser) -> bool {
        match object.sharing {
            Sharing::PublicRead => true,
            Sharing::Private => user.is_admin || entry.owner_id.as_deref() == Some(&user.id),
        }
    }

    /// [`Store::can_read`] on a row of the stamp index.
    pub fn can_read_row(&self, object: &ObjectDef, row: &IndexedRow<'_>, user: &OrgUser) -> bool {
        match object.sharing {
            Sharing::PublicRead => true,
            Sharing::Private => user.is_admin || row.owner_id == Some(&user.id),
        }
    }

    /// A live (not deleted) record.
    pub fn get(&self, object: &ObjectDef, id: &str) -> Option<&Record> {
        self.get_any(object, id).filter(|r| !is_deleted(r))
    }

    /// All live records of an object, in id order.
    pub fn all(&self, object: &ObjectDef) -> impl Iterator<Item = &Record> {
        self.all_with_deleted(object).filter(|r| !is_deleted(r))
    }

    /// All records including those in the recycle bin (what `queryAll` sees).
    pub fn all_with_deleted(&self, object: &ObjectDef) -> impl Iterator<Item = &Record> {
        self.entries(object, true).map(|e| &e.record)
    }

    /// Whether `user` may see `record` under the object's sharing model.
    pub fn can_read(&self, object: &ObjectDef, record: &Record, user: &OrgUser) -> bool {
        match object.sharing {
            Sharing::PublicRead => true,
            Sharing::Private => user.is_admin || owns(record, user),
        }
    }

    /// Whether `user` may change or delete `record`.
    pub fn can_edit(&self, record: &Record, user: &OrgUser) -> bool {
        user.is_admin || owns(record, user)
    }

    /// A user's edit without validation (the [`crate::Sim::update_record`] back door): sets the
    /// given fields, stamps `LastModifiedDate`/`SystemModstamp` with `now` and re-derives fields.
    pub fn update(
        &mut self,
        object: &ObjectDef,
        id: &str,
        fields: &Map<String, Value>,
        now: &str,
    ) -> Result<(), SimError> {
        let mut changes = Map::new();
        for (name, value) in fields {
            let field = object
                .field(name)
                .ok_or_else(|| SimError::UnknownField(object.name.into(), name.clone()))?;
            if !field.updateable {
                return Err(SimError::ReadOnlyField(
                    object.name.into(),
                    field.name.into(),
                ));
            }
            changes.insert(field.name.into(), value.clone());
        }
        if self.get(object, id).is_none() {
            return Err(SimError::RecordNotFound(object.name.into(), id.into()));
        }
        self.apply_update(object, id, changes, now);
        Ok(())
    }

    /// Writes already-validated changes (canonical field names) and stamps the record.
    pub fn apply_update(&mut self, object: &ObjectDef, id: &str, changes: Record, now: &str) {
        let Some(mut record) = ids::to_15(id)
            .and_then(|id15| self.tables.get_mut(object.name)?.take(id15))
            .map(|entry| entry.record)
        else {
            return;
        };
        // A new stage brings its default probability unless the same edit sets one.
        if object.name == "Opportunity"
            && changes.contains_key("StageName")
            && !changes.contains_key("Probability")
        {
            if let Some(stage) = changes.get("StageName").and_then(Value::as_str) {
                if let Some(s) = OPPORTUNITY_STAGES.iter().find(|s| s.0 == stage) {
                    record.insert("Probability".into(), s.1.into());
                }
            }
        }
        for (name, value) in changes {
            record.insert(name, value);
        }
        record.insert("LastModifiedDate".into(), now.into());
        record.insert("SystemModstamp".into(), now.into());
        self.insert(object, record);
    }

    /// Moves a record to the recycle bin and logs the deletion.
    pub fn delete(&mut self, object: &'static ObjectDef, id: &str, now: &str) {
        let Some(table) = self.tables.get_mut(object.name) else {
            return;
        };
        // Taken out and put back, so the stamp index drops it.
        let Some(mut entry) = ids::to_15(id).and_then(|id15| table.take(id15)) else {
            return;
        };
        entry.record.insert("IsDeleted".into(), true.into());
        entry.record.insert("SystemModstamp".into(), now.into());
        entry.deleted = true;
        entry.system_modstamp_ms = stamp_millis(now).unwrap_or(i64::MIN);
        let id18 = entry
            .record
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        table.put(entry);
        self.deletions.push(Deletion {
            object: object.name,
            id: id18,
            deleted_date: now.to_owned(),
        });
    }

    /// The deletion log of one object.
    pub fn deletions<'a>(&'a self, object: &'a ObjectDef) -> impl Iterator<Item = &'a Deletion> {
        self.deletions
            .iter()
            .filter(move |d| d.object == object.name)
    }

    /// Undo support for `allOrNone`: puts back a record exactly as it was (or removes it when
    /// `previous` is `None`), dropping any deletion logged for it since.
    pub fn restore(&mut self, object: &'static ObjectDef, id: &str, previous: Option<Record>) {
        let Some(id15) = ids::to_15(id).map(str::to_owned) else {
            return;
        };
        let was_deleted = previous.as_ref().is_some_and(is_deleted);
        if !was_deleted {
            if let Some(at) = self
                .deletions
                .iter()
                .rposition(|d| d.object == object.name && d.id.starts_with(&id15))
            {
                self.deletions.remove(at);
            }
        }
        let table = self.table_mut(object);
        match previous {
            Some(record) => {
                table.put(Entry::new(id15, record));
            }
            None => {
                table.take(&id15);
            }
        }
    }

    fn table_mut(&mut self, object: &ObjectDef) -> &mut Table {
        self.tables.entry(object.name).or_default()
    }

    /// Whether every object's stamp index holds exactly its live records, keyed and owned as
    /// the table says.
    #[cfg(test)]
    pub fn stamp_indexes_are_exact(&self) -> bool {
        self.tables.values().all(|table| {
            let mut expected: Vec<(StampKey, Option<Arc<str>>)> = table
                .by_id
                .values()
                .filter(|e| !e.deleted)
                .map(|e| ((e.system_modstamp_ms, e.id15.clone()), e.owner_id.clone()))
                .collect();
            expected.sort();
            table.by_stamp.snapshot() == expected
        })
    }
}

/// `2024-05-01T10:00:00.000+0000` (the API's own datetime form) as epoch milliseconds.
pub fn stamp_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 28 || &b[23..] != b"+0000" || b[10] != b'T' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        std::str::from_utf8(&b[from..to]).ok()?.parse::<i64>().ok()
    };
    let month = time::Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(number(8, 10)?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(number(0, 4)?).ok()?, month, day).ok()?;
    let days = i64::from(date.to_julian_day()) - 2_440_588; // 1970-01-01
    let seconds = days * 86_400 + number(11, 13)? * 3_600 + number(14, 16)? * 60 + number(17, 19)?;
    Some(seconds * 1_000 + number(20, 23)?)
}

fn owns(record: &Record, user: &OrgUser) -> bool {
    record.get("OwnerId").and_then(Value::as_str) == Some(&user.id)
}

pub fn is_deleted(record: &Record) -> bool {
    record.get("IsDeleted") == Some(&Value::Bool(true))
}

/// Fields a real org computes: `Name` of people, an opportunity's stage-driven flags, a task's
/// `IsClosed` and `AccountId`.
fn derive_fields(store: &Store, object: &ObjectDef, record: &mut Record) {
    // Every declared field is present (null when unset), as the API renders them.
    for field in object.fields {
        let unset = record.get(field.name).is_none_or(Value::is_null);
        if unset {
            // Checkboxes are never null: unset means false.
            let value = if field.ty == schema::FieldType::Boolean {
                Value::Bool(false)
            } else {
                Value::Null
            };
            record.insert(field.name.into(), value);
        }
    }
    let text = |record: &Record, name: &str| -> String {
        record
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match object.name {
        "Contact" | "User" | "Lead" => {
            let (first, last) = (text(record, "FirstName"), text(record, "LastName"));
            let name = if first.is_empty() {
                last
            } else if last.is_empty() {
                first
            } else {
                format!("{first} {last}")
            };
            record.insert("Name".into(), name.into());
        }
        "Opportunity" => {
            let stage = text(record, "StageName");
            let (closed, won, forecast) = OPPORTUNITY_STAGES
                .iter()
                .find(|s| s.0 == stage)
                .map(|s| (s.2, s.3, Value::from(s.4)))
                // An unknown stage has no mapping (reference §8).
                .unwrap_or((false, false, Value::Null));
            record.insert("IsClosed".into(), closed.into());
            record.insert("IsWon".into(), won.into());
            record.insert("ForecastCategoryName".into(), forecast);
            let expected = match (
                record.get("Amount").and_then(Value::as_f64),
                record.get("Probability").and_then(Value::as_f64),
            ) {
                (Some(amount), Some(probability)) => Value::from(amount * probability / 100.0),
                _ => Value::Null,
            };
            record.insert("ExpectedRevenue".into(), expected);
        }
        "Task" => {
            let closed = text(record, "Status") == "Completed";
            record.insert("IsClosed".into(), closed.into());
            // AccountId follows WhatId (an account, or an opportunity's account), else the contact's.
            let what = text(record, "WhatId");
            let who = text(record, "WhoId");
            let account = if what.starts_with("001") {
                Some(Value::from(what))
            } else if what.starts_with("006") {
                store
                    .get_any(&schema::OPPORTUNITY, &what)
                    .and_then(|o| o.get("AccountId").cloned())
            } else if who.starts_with("003") {
                store
                    .get_any(&schema::CONTACT, &who)
                    .and_then(|c| c.get("AccountId").cloned())
            } else {
                None
            };
            record.insert("AccountId".into(), account.unwrap_or(Value::Null));
        }
        _ => {}
    }
}
