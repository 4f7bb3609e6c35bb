//! The org's records, kept as JSON maps under their API field names, and the org's users.
//! Writes (issue 3: create, delete, recycle bin) go through here so derived fields stay right.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::{
    error::SimError,
    ids,
    schema::{self, ObjectDef, Sharing},
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

#[derive(Debug, Default)]
pub struct Store {
    pub org_id: String,
    pub users: Vec<OrgUser>,
    /// Object name → records keyed by the 15-char id (byte order = id order).
    tables: HashMap<&'static str, BTreeMap<String, Record>>,
}

impl Store {
    pub fn new(org_id: String) -> Self {
        Self {
            org_id,
            users: Vec::new(),
            tables: schema::OBJECTS
                .iter()
                .map(|o| (o.name, BTreeMap::new()))
                .collect(),
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

    /// Adds a record (its `Id` must be set), deriving read-only fields.
    pub fn insert(&mut self, object: &ObjectDef, mut record: Record) {
        derive_fields(object, &mut record);
        let id = record
            .get("Id")
            .and_then(Value::as_str)
            .and_then(ids::to_15)
            .expect("records are inserted with a valid Id")
            .to_owned();
        self.table_mut(object).insert(id, record);
    }

    pub fn get(&self, object: &ObjectDef, id: &str) -> Option<&Record> {
        self.tables.get(object.name)?.get(ids::to_15(id)?)
    }

    /// All records of an object, in id order.
    pub fn all(&self, object: &ObjectDef) -> impl Iterator<Item = &Record> {
        self.tables
            .get(object.name)
            .into_iter()
            .flat_map(|table| table.values())
    }

    /// Whether `user` may see `record` under the object's sharing model.
    pub fn can_read(&self, object: &ObjectDef, record: &Record, user: &OrgUser) -> bool {
        match object.sharing {
            Sharing::PublicRead => true,
            Sharing::Private => {
                user.is_admin || record.get("OwnerId").and_then(Value::as_str) == Some(&user.id)
            }
        }
    }

    /// A user's edit: sets the given fields, stamps `LastModifiedDate`/`SystemModstamp` with `now`
    /// and re-derives read-only fields.
    pub fn update(
        &mut self,
        object: &ObjectDef,
        id: &str,
        fields: &Map<String, Value>,
        now: &str,
    ) -> Result<(), SimError> {
        let mut changes = Vec::with_capacity(fields.len());
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
            changes.push((field.name, value.clone()));
        }
        let record = ids::to_15(id)
            .and_then(|id15| self.table_mut(object).get_mut(id15))
            .ok_or_else(|| SimError::RecordNotFound(object.name.into(), id.into()))?;
        for (name, value) in changes {
            record.insert(name.into(), value);
        }
        record.insert("LastModifiedDate".into(), now.into());
        record.insert("SystemModstamp".into(), now.into());
        derive_fields(object, record);
        Ok(())
    }

    fn table_mut(&mut self, object: &ObjectDef) -> &mut BTreeMap<String, Record> {
        self.tables.entry(object.name).or_default()
    }
}

/// Opportunity stages of a fresh org: (StageName, default Probability, IsClosed, IsWon, ForecastCategoryName).
pub const OPPORTUNITY_STAGES: &[(&str, f64, bool, bool, &str)] = &[
    ("Prospecting", 10.0, false, false, "Pipeline"),
    ("Qualification", 10.0, false, false, "Pipeline"),
    ("Needs Analysis", 20.0, false, false, "Pipeline"),
    ("Value Proposition", 50.0, false, false, "Pipeline"),
    ("Id. Decision Makers", 60.0, false, false, "Pipeline"),
    ("Perception Analysis", 70.0, false, false, "Pipeline"),
    ("Proposal/Price Quote", 75.0, false, false, "Pipeline"),
    ("Negotiation/Review", 90.0, false, false, "Pipeline"),
    ("Closed Won", 100.0, true, true, "Closed"),
    ("Closed Lost", 0.0, true, false, "Omitted"),
];

/// Fields a real org computes: `Name` of people, and an opportunity's stage-driven flags.
fn derive_fields(object: &ObjectDef, record: &mut Record) {
    // Every declared field is present (null when unset), as the API renders them.
    for field in object.fields {
        record.entry(field.name).or_insert(Value::Null);
    }
    match object.name {
        "Contact" | "User" => {
            let first = record
                .get("FirstName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let last = record.get("LastName").and_then(Value::as_str).unwrap_or("");
            let name = [first, last]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            record.insert("Name".into(), name.into());
        }
        "Opportunity" => {
            let stage = record
                .get("StageName")
                .and_then(Value::as_str)
                .unwrap_or("");
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
        _ => {}
    }
    if record.get("IsDeleted") == Some(&Value::Null) {
        record.insert("IsDeleted".into(), false.into());
    }
}
