//! The sObjects the simulated org knows, their fields and how records are shared (reference §8).
//! Issue 3 adds Lead and Task here, and describe builds on the same tables.

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
    /// Target object.
    pub to: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Whether a user may set it (read-only fields are derived or system-maintained).
    pub updateable: bool,
}

/// Record-level access for non-admin users (org-wide defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Everybody reads every record.
    PublicRead,
    /// A user sees only what they own; the admin sees everything.
    Private,
}

#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub key_prefix: &'static str,
    pub sharing: Sharing,
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

const fn editable(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        updateable: true,
    }
}

const fn read_only(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        updateable: false,
    }
}

const OWNER: FieldDef = editable(
    "OwnerId",
    FieldKind::Reference(Reference {
        relationship: "Owner",
        to: "User",
    }),
);
const ACCOUNT_LOOKUP: FieldDef = editable(
    "AccountId",
    FieldKind::Reference(Reference {
        relationship: "Account",
        to: "Account",
    }),
);
const CREATED_DATE: FieldDef = read_only("CreatedDate", FieldKind::DateTime);
const LAST_MODIFIED_DATE: FieldDef = read_only("LastModifiedDate", FieldKind::DateTime);
const SYSTEM_MODSTAMP: FieldDef = read_only("SystemModstamp", FieldKind::DateTime);
const IS_DELETED: FieldDef = read_only("IsDeleted", FieldKind::Boolean);

pub static ACCOUNT: ObjectDef = ObjectDef {
    name: "Account",
    key_prefix: "001",
    sharing: Sharing::PublicRead,
    fields: &[
        read_only("Id", FieldKind::Id),
        editable("Name", FieldKind::Text),
        editable("Industry", FieldKind::Text),
        editable("Phone", FieldKind::Text),
        editable("Website", FieldKind::Text),
        editable("BillingStreet", FieldKind::Text),
        editable("BillingCity", FieldKind::Text),
        editable("BillingState", FieldKind::Text),
        editable("BillingPostalCode", FieldKind::Text),
        editable("BillingCountry", FieldKind::Text),
        editable("NumberOfEmployees", FieldKind::Number),
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static CONTACT: ObjectDef = ObjectDef {
    name: "Contact",
    key_prefix: "003",
    sharing: Sharing::Private,
    fields: &[
        read_only("Id", FieldKind::Id),
        editable("FirstName", FieldKind::Text),
        editable("LastName", FieldKind::Text),
        // Read-only concatenation of FirstName and LastName.
        read_only("Name", FieldKind::Text),
        editable("Email", FieldKind::Text),
        editable("Phone", FieldKind::Text),
        editable("MobilePhone", FieldKind::Text),
        editable("Title", FieldKind::Text),
        editable("Department", FieldKind::Text),
        editable("MailingCity", FieldKind::Text),
        editable("MailingCountry", FieldKind::Text),
        ACCOUNT_LOOKUP,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static OPPORTUNITY: ObjectDef = ObjectDef {
    name: "Opportunity",
    key_prefix: "006",
    sharing: Sharing::Private,
    fields: &[
        read_only("Id", FieldKind::Id),
        editable("Name", FieldKind::Text),
        editable("StageName", FieldKind::Text),
        editable("CloseDate", FieldKind::Date),
        editable("Amount", FieldKind::Number),
        editable("Probability", FieldKind::Number),
        read_only("ExpectedRevenue", FieldKind::Number),
        read_only("IsClosed", FieldKind::Boolean),
        read_only("IsWon", FieldKind::Boolean),
        read_only("ForecastCategoryName", FieldKind::Text),
        ACCOUNT_LOOKUP,
        OWNER,
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
        IS_DELETED,
    ],
};

pub static USER: ObjectDef = ObjectDef {
    name: "User",
    key_prefix: "005",
    sharing: Sharing::PublicRead,
    fields: &[
        read_only("Id", FieldKind::Id),
        editable("Username", FieldKind::Text),
        editable("FirstName", FieldKind::Text),
        editable("LastName", FieldKind::Text),
        read_only("Name", FieldKind::Text),
        editable("Alias", FieldKind::Text),
        editable("Email", FieldKind::Text),
        editable("Title", FieldKind::Text),
        editable("IsActive", FieldKind::Boolean),
        editable("TimeZoneSidKey", FieldKind::Text),
        editable("LocaleSidKey", FieldKind::Text),
        editable("LanguageLocaleKey", FieldKind::Text),
        read_only("UserType", FieldKind::Text),
        CREATED_DATE,
        LAST_MODIFIED_DATE,
        SYSTEM_MODSTAMP,
    ],
};

pub static OBJECTS: &[&ObjectDef] = &[&ACCOUNT, &CONTACT, &OPPORTUNITY, &USER];

/// Object names are case-insensitive in SOQL and URLs.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS
        .iter()
        .copied()
        .find(|o| o.name.eq_ignore_ascii_case(name))
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
}
