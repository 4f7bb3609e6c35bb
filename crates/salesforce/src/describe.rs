//! Object metadata: `GET /sobjects/{object}/describe`, and the Opportunity stage table that
//! describe does not carry (probabilities, closed/won, forecast category).

use serde::Deserialize;

use crate::client::Call;
use crate::rest::{check_object_name, data_url};
use crate::{Client, QueryOptions, RestSession, Result};

/// A field's data type as describe names it (`"type":"picklist"`). Types this crate does not
/// name are kept as [`FieldType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum FieldType {
    Id,
    Boolean,
    String,
    TextArea,
    Picklist,
    MultiPicklist,
    Combobox,
    Reference,
    Currency,
    Double,
    Percent,
    Int,
    Long,
    Phone,
    Email,
    Url,
    Date,
    DateTime,
    Time,
    Address,
    Other(String),
}

impl From<String> for FieldType {
    fn from(name: String) -> Self {
        match name.as_str() {
            "id" => FieldType::Id,
            "boolean" => FieldType::Boolean,
            "string" => FieldType::String,
            "textarea" => FieldType::TextArea,
            "picklist" => FieldType::Picklist,
            "multipicklist" => FieldType::MultiPicklist,
            "combobox" => FieldType::Combobox,
            "reference" => FieldType::Reference,
            "currency" => FieldType::Currency,
            "double" => FieldType::Double,
            "percent" => FieldType::Percent,
            "int" => FieldType::Int,
            "long" => FieldType::Long,
            "phone" => FieldType::Phone,
            "email" => FieldType::Email,
            "url" => FieldType::Url,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "time" => FieldType::Time,
            "address" => FieldType::Address,
            _ => FieldType::Other(name),
        }
    }
}

/// One value of a picklist: `{"active":true,"defaultValue":false,"label":"…","value":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub label: Option<String>,
    pub value: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

fn yes() -> bool {
    true
}

/// One field of a describe answer (the properties this project uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Maximum length for text fields (0 for others).
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
}

impl FieldDescribe {
    /// A create must set this field: createable, not nillable, and no default on create
    /// (so `Lead.LastName` is required, `Lead.Status` — defaulted — is not).
    pub fn is_required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }

    /// The active picklist values, in Salesforce's order.
    pub fn active_values(&self) -> impl Iterator<Item = &PicklistValue> {
        self.picklist_values.iter().filter(|v| v.active)
    }

    /// The value marked `defaultValue: true`, if any.
    pub fn default_value(&self) -> Option<&PicklistValue> {
        self.picklist_values
            .iter()
            .find(|v| v.active && v.default_value)
    }
}

/// The answer of `GET /sobjects/{object}/describe`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub queryable: bool,
    pub fields: Vec<FieldDescribe>,
}

impl ObjectDescribe {
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One row of `OpportunityStage`: what a stage means (reference §8's stage table).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpportunityStage {
    /// The `StageName` value.
    pub master_label: String,
    /// Percent, 0–100.
    #[serde(default)]
    pub default_probability: Option<f64>,
    pub is_closed: bool,
    pub is_won: bool,
    #[serde(default)]
    pub forecast_category_name: Option<String>,
}

/// The query [`Client::opportunity_stages`] runs.
pub const OPPORTUNITY_STAGE_SOQL: &str =
    "SELECT MasterLabel, DefaultProbability, IsClosed, IsWon, ForecastCategoryName FROM OpportunityStage";

impl Client {
    /// `GET /sobjects/{object}/describe` (a read: retried on transient failures).
    pub async fn describe(&self, session: &RestSession, object: &str) -> Result<ObjectDescribe> {
        check_object_name(object)?;
        let url = data_url(session, &["sobjects", object, "describe"], &[])?;
        self.send(session, Call::get(url))
            .await?
            .json("describe result")
    }

    /// The org's Opportunity stages with their default probabilities (describe has none).
    pub async fn opportunity_stages(&self, session: &RestSession) -> Result<Vec<OpportunityStage>> {
        self.query_all_batches(session, OPPORTUNITY_STAGE_SOQL, QueryOptions::default())
            .await
    }
}
