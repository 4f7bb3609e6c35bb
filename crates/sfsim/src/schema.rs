//! The sObjects the simulated org knows, their fields and how records are shared (reference §8).
//! `describe`, validation and the query engine all read these tables.

/// How a field's values compare and render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// The record's own id: compared case-sensitively on its 15-char form.
    Id,
    /// A lookup to another object (also an id).
    Reference(Reference),
    /// Text-like: string, email, phone, picklist, url, textarea. Compared case-insensitively, as SOQL does.
    Text,
    Boolean,
    /// Currency, percent, double, int: JSON numbers.
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// Rendered `YYYY-MM-DDThh:mm:ss.SSS+0000`; that fixed-width UTC form sorts like the instant it names.
    DateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// Relationship name used in SOQL paths (`Account` for `AccountId`, `Owner` for `OwnerId`).
    pub relationship: &'static str,
    /// Target object a SOQL path follows.
    pub to: &'static str,
    /// Every object an id in this field may point at (more than one for polymorphic `WhoId`/`WhatId`).
    pub targets: &'static [&'static str],
}

/// The describe `type` of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    Reference,
    String,
    Email,
    Phone,
    Url,
    TextArea,
    Picklist,
    Combobox,
    Boolean,
    Currency,
    Percent,
    Double,
    Int,
    Date,
    DateTime,
}

impl FieldType {
    /// The name describe uses.
    pub fn describe_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Reference => "reference",
            FieldType::String => "string",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::TextArea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Combobox => "combobox",
            FieldType::Boolean => "boolean",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Double => "double",
            FieldType::Int => "int",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
        }
    }

    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Currency | FieldType::Percent | FieldType::Double => "xsd:double",
            FieldType::Int => "xsd:int",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::TextArea
                | FieldType::Picklist
                | FieldType::Combobox
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    pub ty: FieldType,
    /// Empty: derived from the name (`AccountId` → `Account ID`).
    label_override: &'static str,
    /// Maximum length of text values (0 for non-text fields).
    pub length: u32,
    /// Whether a user may change it on update (read-only fields are derived or system-maintained).
    pub updateable: bool,
    /// Whether a user may set it on create.
    pub createable: bool,
    /// Whether it may be null; a non-nillable createable field without a default is required.
    pub nillable: bool,
    /// Value set on create when none is given.
    pub default_on_create: Option<&'static str>,
    pub picklist: &'static [&'static str],
    /// Only the listed values are accepted.
    pub restricted: bool,
    /// Usable as the key of an upsert.
    pub external_id: bool,
}

impl FieldDef {
    /// SOQL field names are case-insensitive.
    pub fn label(&self) -> String {
        if !self.label_override.is_empty() {
            return self.label_override.to_owned();
        }
        let base = self.name.strip_suffix("__c").unwrap_or(self.name);
        let (base, id_suffix) = match base.strip_suffix("Id") {
            Some(head) if !head.is_empty() && self.kind != FieldKind::Id => (head, " ID"),
            _ => (base, ""),
        };
        let mut label = String::new();
        for (i, c) in base.chars().enumerate() {
            if i > 0 && c.is_ascii_uppercase() {
                label.push(' ');
            }
            label.push(if c == '_' { ' ' } else { c });
        }
        label + id_suffix
    }

    /// Must be given on create.
    pub fn required(&self) -> bool {
        !self.nillable
            && self.createable
            && self.default_on_create.is_none()
            && self.ty != FieldType::Boolean
    }

    const fn new(name: &'static str, ty: FieldType, kind: FieldKind, length: u32) -> Self {
        Self {
            name,
            kind,
            ty,
            label_override: "",
            length,
            updateable: true,
            createable: true,
            nillable: true,
            default_on_create: None,
            picklist: &[],
            restricted: false,
            external_id: false,
        }
    }

    const fn label_as(mut self, label: &'static str) -> Self {
        self.label_override = label;
        self
    }

    const fn read_only(mut self) -> Self {
        self.updateable = false;
        self.createable = false;
        self
    }

    const fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }

    const fn required_field(mut self) -> Self {
        self.nillable = false;
        self
    }

    const fn defaults_to(mut self, value: &'static str) -> Self {
        self.nillable = false;
        self.default_on_create = Some(value);
        self
    }

    const fn values(mut self, values: &'static [&'static str]) -> Self {
        self.picklist = values;
        self
    }

    const fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }

    const fn external_id(mut self) -> Self {
        self.external_id = true;
        self
    }
}

const fn id() -> FieldDef {
    FieldDef::new("Id", FieldType::Id, FieldKind::Id, 18)
        .read_only()
        .required_field()
}
const fn text(name: &'static str, ty: FieldType, length: u32) -> FieldDef {
    FieldDef::new(name, ty, FieldKind::Text, length)
}
const fn string(name: &'static str, length: u32) -> FieldDef {
    text(name, FieldType::String, length)
}
const fn picklist(name: &'static str, values: &'static [&'static str]) -> FieldDef {
    text(name, FieldType::Picklist, 255).values(values)
}
const fn number(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef::new(name, ty, FieldKind::Number, 0)
}
const fn boolean(name: &'static str) -> FieldDef {
    FieldDef::new(name, FieldType::Boolean, FieldKind::Boolean, 0).required_field()
}
const fn date(name: &'static str) -> FieldDef {
    FieldDef::new(name, FieldType::Date, FieldKind::Date, 0)
}
const fn datetime(name: &'static str) -> FieldDef {
    FieldDef::new(name, FieldType::DateTime, FieldKind::DateTime, 0)
}
const fn lookup(
    name: &'static str,
    relationship: &'static str,
    targets: &'static [&'static str],
) -> FieldDef {
    FieldDef::new(
        name,
        FieldType::Reference,
        FieldKind::Reference(Reference {
            relationship,
            to: targets[0],
            targets,
        }),
        18,
    )
}

/// Record-level access for non-admin users (org-wide defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Everybody reads every record; the owner (and the admin) edit it.
    PublicRead,
    /// A user sees and edits only what they own; the admin sees and edits everything.
    Private,
}

#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: &'static str,
    pub sharing: Sharing,
    /// Whether the API may create and delete records of this kind (not users, here).
    pub createable: bool,
    pub fields: &'static [FieldDef],
}

impl ObjectDef {
    /// SOQL field names are case-insensitive.
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The lookup field whose relationship name is `relationship` (`Account` → `AccountId`).
    pub fn relationship(&self, relationship: &str) -> Option<(&'static FieldDef, Reference)> {
        self.fields.iter().find_map(|f| match f.kind {
            FieldKind::Reference(r) if r.relationship.eq_ignore_ascii_case(relationship) => {
                Some((f, r))
            }
            _ => None,
        })
    }
}

const OWNER: FieldDef = lookup("OwnerId", "Owner", &["User"]).required_field();
const ACCOUNT_LOOKUP: FieldDef = lookup("AccountId", "Account", &["Account"]);
const CREATED_DATE: FieldDef =
    FieldDef::new("CreatedDate", FieldType::DateTime, FieldKind::DateTime, 0)
        .read_only()
        .required_field();
const LAST_MODIFIED_DATE: FieldDef = FieldDef::new(
    "LastModifiedDate",
    FieldType::DateTime,
    FieldKind::DateTime,
    0,
)
.read_only()
.required_field();
const SYSTEM_MODSTAMP: FieldDef = FieldDef::new(
    "SystemModstamp",
    FieldType::DateTime,
    FieldKind::DateTime,
    0,
)
.read_only()
.required_field();
const IS_DELETED: FieldDef = boolean("IsDeleted").label_as("Deleted").read_only();
/// A custom external-id field, as integrations add one (standard objects have none of their own).
const EXTERNAL_ID: FieldDef = string("External_Id__c", 64)
    .label_as("External Id")
    .external_id();
/// Companion's gateway writes a hash of each create's idempotency key here, so that after a
/// lost answer it can find out whether the create landed (a hidden integration field, as a
/// real org would add one for the gateway).
const COMPANION_KEY: FieldDef = string("Companion_Key__c", 64)
    .label_as("Companion Key")
    .external_id();

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
const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
pub const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
pub const TASK_STATUSES: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];
pub const TASK_PRIORITIES: &[&str] = &["High", "Normal", "Low"];
pub const TASK_SUBTYPES: &[&str] = &["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"];
const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Other",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];

pub static ACCOUNT: ObjectDef = ObjectDef {
    name: "Account",
    label: "Account",
    label_plural: "Accounts",
    key_prefix: "001",
    sharing: Sharing::PublicRead,
    createable: true,
    fields: &[
        id().label_as("Account ID"),
        string("Name", 255)
            .label_as("Account Name")
            .required_field(),
        picklist("Industry", INDUSTRIES),
        text("Phone", FieldType::Phone, 40).label_as("Account Phone"),
        text("Website", FieldType::Url, 255),
        text("BillingStreet", FieldType::TextArea, 255),
        string("BillingCity", 40),
        string("BillingState", 80).label_as("Billing State/Province"),
        string("BillingPostalCode", 20).label_as("Billing Zip/Postal Code"),
        string("BillingCountry", 80),
        number("NumberOfEmployees", FieldType::Int).label_as("Employees"),
        EXTERNAL_ID,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static CONTACT: ObjectDef = ObjectDef {
    name: "Contact",
    label: "Contact",
    label_plural: "Contacts",
    key_prefix: "003",
    sharing: Sharing::Private,
    createable: true,
    fields: &[
        id().label_as("Contact ID"),
        string("FirstName", 40),
        string("LastName", 80).required_field(),
        // Read-only concatenation of FirstName and LastName.
        string("Name", 121).label_as("Full Name").read_only(),
        text("Email", FieldType::Email, 80),
        text("Phone", FieldType::Phone, 40).label_as("Business Phone"),
        text("MobilePhone", FieldType::Phone, 40),
        string("Title", 128),
        string("Department", 80),
        string("MailingCity", 40),
        string("MailingCountry", 80),
        ACCOUNT_LOOKUP,
        EXTERNAL_ID,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static LEAD: ObjectDef = ObjectDef {
    name: "Lead",
    label: "Lead",
    label_plural: "Leads",
    key_prefix: "00Q",
    sharing: Sharing::Private,
    createable: true,
    fields: &[
        id().label_as("Lead ID"),
        string("FirstName", 40),
        string("LastName", 80).required_field(),
        string("Name", 121).label_as("Full Name").read_only(),
        string("Company", 255).required_field(),
        string("Title", 128),
        text("Email", FieldType::Email, 80),
        text("Phone", FieldType::Phone, 40),
        text("MobilePhone", FieldType::Phone, 40),
        // Lead Status is a standard value set; treated as restricted (unconfirmed).
        picklist("Status", LEAD_STATUSES)
            .defaults_to("Open - Not Contacted")
            .restricted(),
        picklist("LeadSource", LEAD_SOURCES),
        boolean("IsConverted").label_as("Converted").read_only(),
        lookup("ConvertedContactId", "ConvertedContact", &["Contact"]).read_only(),
        EXTERNAL_ID,
        COMPANION_KEY,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static OPPORTUNITY: ObjectDef = ObjectDef {
    name: "Opportunity",
    label: "Opportunity",
    label_plural: "Opportunities",
    key_prefix: "006",
    sharing: Sharing::Private,
    createable: true,
    fields: &[
        id().label_as("Opportunity ID"),
        string("Name", 120).required_field(),
        // Not restricted in a fresh org (reference §8, unconfirmed).
        picklist("StageName", STAGE_NAMES)
            .label_as("Stage")
            .required_field(),
        date("CloseDate").required_field(),
        number("Amount", FieldType::Currency),
        number("Probability", FieldType::Percent).label_as("Probability (%)"),
        number("ExpectedRevenue", FieldType::Currency)
            .label_as("Expected Amount")
            .read_only(),
        boolean("IsClosed").label_as("Closed").read_only(),
        boolean("IsWon").label_as("Won").read_only(),
        picklist(
            "ForecastCategoryName",
            &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
        )
        .label_as("Forecast Category")
        .read_only(),
        string("NextStep", 255).label_as("Next Step"),
        ACCOUNT_LOOKUP,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static TASK: ObjectDef = ObjectDef {
    name: "Task",
    label: "Task",
    label_plural: "Tasks",
    key_prefix: "00T",
    sharing: Sharing::Private,
    createable: true,
    fields: &[
        id().label_as("Activity ID"),
        text("Subject", FieldType::Combobox, 255).values(&[
            "Call",
            "Send Letter",
            "Send Quote",
            "Other",
        ]),
        lookup("WhoId", "Who", &["Contact", "Lead"]).label_as("Name ID"),
        lookup("WhatId", "What", &["Account", "Opportunity"]).label_as("Related To ID"),
        date("ActivityDate").label_as("Due Date Only"),
        picklist("Status", TASK_STATUSES)
            .defaults_to("Not Started")
            .restricted(),
        picklist("Priority", TASK_PRIORITIES)
            .defaults_to("Normal")
            .restricted(),
        picklist("TaskSubtype", TASK_SUBTYPES)
            .restricted()
            .create_only(),
        text("Description", FieldType::TextArea, 32_000).label_as("Comments"),
        picklist("CallType", &["Inbound", "Internal", "Outbound"]),
        number("CallDurationInSeconds", FieldType::Int).label_as("Call Duration"),
        string("CallDisposition", 255).label_as("Call Result"),
        // A checkbox: never null, false unless set.
        boolean("IsReminderSet").label_as("Reminder Set"),
        datetime("ReminderDateTime").label_as("Reminder Date/Time"),
        ACCOUNT_LOOKUP.read_only(),
        boolean("IsClosed").label_as("Closed").read_only(),
        COMPANION_KEY,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static USER: ObjectDef = ObjectDef {
    name: "User",
    label: "User",
    label_plural: "Users",
    key_prefix: "005",
    sharing: Sharing::PublicRead,
    createable: false,
    fields: &[
        id().label_as("User ID"),
        string("Username", 80).required_field(),
        string("FirstName", 40),
        string("LastName", 80).required_field(),
        string("Name", 121).label_as("Full Name").read_only(),
        string("Alias", 8).required_field(),
        text("Email", FieldType::Email, 128).required_field(),
        string("Title", 80),
        boolean("IsActive").label_as("Active"),
        picklist(
            "TimeZoneSidKey",
            &["America/Los_Angeles", "America/New_York", "Europe/London"],
        )
        .label_as("Time Zone")
        .required_field(),
        picklist("LocaleSidKey", &["en_US", "en_GB"])
            .label_as("Locale")
            .required_field(),
        picklist("LanguageLocaleKey", &["en_US"])
            .label_as("Language")
            .required_field(),
        picklist("UserType", &["Standard"]).read_only(),
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
    ],
};

/// The meaning of each `StageName` value: default probability, closed/won flags, forecast
/// category (describe carries none of this; clients read it from here).
pub static OPPORTUNITY_STAGE: ObjectDef = ObjectDef {
    name: "OpportunityStage",
    label: "Opportunity Stage",
    label_plural: "Opportunity Stages",
    key_prefix: "01J",
    sharing: Sharing::PublicRead,
    createable: false,
    fields: &[
        id().label_as("Opportunity Stage ID"),
        string("MasterLabel", 255)
            .label_as("Master Label")
            .read_only(),
        string("ApiName", 255).label_as("Api Name").read_only(),
        boolean("IsActive").label_as("Active").read_only(),
        number("SortOrder", FieldType::Int).read_only(),
        boolean("IsClosed").label_as("Closed").read_only(),
        boolean("IsWon").label_as("Won").read_only(),
        picklist(
            "ForecastCategoryName",
            &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
        )
        .label_as("Forecast Category")
        .read_only(),
        number("DefaultProbability", FieldType::Percent)
            .label_as("Probability (%)")
            .read_only(),
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
    ],
};

pub static OBJECTS: &[&ObjectDef] = &[
    &ACCOUNT,
    &CONTACT,
    &LEAD,
    &OPPORTUNITY,
    &TASK,
    &USER,
    &OPPORTUNITY_STAGE,
];

/// Object names are case-insensitive in SOQL and URLs.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS
        .iter()
        .copied()
        .find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object whose ids start with this key prefix.
pub fn object_for_id(id: &str) -> Option<&'static ObjectDef> {
    let prefix = id.get(..3)?;
    OBJECTS.iter().copied().find(|o| o.key_prefix == prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_relationships_resolve() {
        let contact = object("contact").expect("Contact exists");
        assert_eq!(contact.field("EMAIL").map(|f| f.name), Some("Email"));
        let (field, reference) = contact
            .relationship("account")
            .expect("Account relationship");
        assert_eq!(field.name, "AccountId");
        assert_eq!(reference.to, "Account");
        assert!(object("Widget").is_none());
    }

    #[test]
    fn labels_and_required_fields() {
        let field = |o: &ObjectDef, n: &str| *o.field(n).expect("field exists");
        assert_eq!(field(&CONTACT, "AccountId").label(), "Account ID");
        assert_eq!(field(&CONTACT, "FirstName").label(), "First Name");
        assert_eq!(field(&OPPORTUNITY, "StageName").label(), "Stage");
        assert_eq!(field(&ACCOUNT, "External_Id__c").label(), "External Id");
        assert_eq!(field(&OPPORTUNITY, "NextStep").label(), "Next Step");
        assert_eq!(field(&TASK, "IsReminderSet").label(), "Reminder Set");
        assert_eq!(
            field(&TASK, "ReminderDateTime").label(),
            "Reminder Date/Time"
        );
        assert_eq!(field(&TASK, "ReminderDateTime").kind, FieldKind::DateTime);
        let required = |o: &ObjectDef| {
            o.fields
                .iter()
                .filter(|f| f.required() && f.name != "OwnerId")
                .map(|f| f.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(required(&LEAD), ["LastName", "Company"]);
        assert_eq!(required(&OPPORTUNITY), ["Name", "StageName", "CloseDate"]);
        assert_eq!(required(&TASK), Vec::<&str>::new());
        assert_eq!(
            object_for_id("00Q8d0000000001").map(|o| o.name),
            Some("Lead")
        );
    }
}
