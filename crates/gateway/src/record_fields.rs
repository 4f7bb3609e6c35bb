//! Per-endpoint allow-lists of writable fields, the type check of each value, and the fields
//! read back after a write. Only names from these lists ever reach Salesforce.

use companion_api::RecordFields;
use salesforce::RecordId;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a writable field's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A JSON string without control characters other than tab and line breaks.
    Text,
    /// A finite JSON number.
    Number,
    /// A whole JSON number that fits in 64 bits (`i64`); `300.0` is `300`.
    Int,
    /// `YYYY-MM-DD`.
    Date,
    /// A JSON `true` or `false`.
    Bool,
    /// `YYYY-MM-DDTHH:MM:SS`, optionally `.s` to `.sss`, then `Z` or an offset (`+02:00`,
    /// `+0200`); sent to Salesforce in UTC.
    DateTime,
    /// A Salesforce id of one of these objects: 15 or 18 letters and digits starting with one
    /// of their key prefixes. An id of that form whose checksum suffix is wrong names no record:
    /// `422`, not `400`.
    Id(&'static [&'static str]),
}

pub struct FieldSpec {
    pub name: &'static str,
    pub ty: ValueType,
}

const fn field(name: &'static str, ty: ValueType) -> FieldSpec {
    FieldSpec { name, ty }
}

/// What one endpoint may write, and what it reads back afterwards.
pub struct WriteSpec {
    pub object: &'static str,
    pub writable: &'static [FieldSpec],
    /// Selected after the write: the answer is the record as Salesforce has it.
    pub read_back: &'static [&'static str],
}

pub const LEAD: WriteSpec = WriteSpec {
    object: "Lead",
    writable: &[
        field("FirstName", ValueType::Text),
        field("LastName", ValueType::Text),
        field("Company", ValueType::Text),
        field("Title", ValueType::Text),
        field("Email", ValueType::Text),
        field("Phone", ValueType::Text),
        field("MobilePhone", ValueType::Text),
        field("LeadSource", ValueType::Text),
        field("Status", ValueType::Text),
    ],
    read_back: &[
        "Id",
        "FirstName",
        "LastName",
        "Name",
        "Company",
        "Title",
        "Email",
        "Phone",
        "MobilePhone",
        "LeadSource",
        "Status",
        "IsConverted",
        "OwnerId",
        "CreatedDate",
        "SystemModstamp",
    ],
};

pub const TASK: WriteSpec = WriteSpec {
    object: "Task",
    writable: &[
        field("Subject", ValueType::Text),
        field("WhoId", ValueType::Id(&["Contact", "Lead"])),
        field("WhatId", ValueType::Id(&["Account", "Opportunity"])),
        field("ActivityDate", ValueType::Date),
        field("Description", ValueType::Text),
        field("Priority", ValueType::Text),
        field("CallType", ValueType::Text),
        field("CallDurationInSeconds", ValueType::Int),
        field("CallDisposition", ValueType::Text),
        field("IsReminderSet", ValueType::Bool),
        field("ReminderDateTime", ValueType::DateTime),
    ],
    read_back: &[
        "Id",
        "Subject",
        "WhoId",
        "WhatId",
        "ActivityDate",
        "Status",
        "Priority",
        "TaskSubtype",
        "Description",
        "CallType",
        "CallDurationInSeconds",
        "CallDisposition",
        "IsReminderSet",
        "ReminderDateTime",
        "AccountId",
        "IsClosed",
        "OwnerId",
        "CreatedDate",
        "SystemModstamp",
    ],
};

pub const OPPORTUNITY: WriteSpec = WriteSpec {
    object: "Opportunity",
    writable: &[
        field("Name", ValueType::Text),
        field("StageName", ValueType::Text),
        field("CloseDate", ValueType::Date),
        field("Amount", ValueType::Number),
        field("Probability", ValueType::Number),
        field("NextStep", ValueType::Text),
    ],
    read_back: &[
        "Id",
        "Name",
        "StageName",
        "CloseDate",
        "Amount",
        "Probability",
        "NextStep",
        "ExpectedRevenue",
        "IsClosed",
        "IsWon",
        "ForecastCategoryName",
        "AccountId",
        "OwnerId",
        "CreatedDate",
        "SystemModstamp",
    ],
};

pub const CONTACT: WriteSpec = WriteSpec {
    object: "Contact",
    writable: &[
        field("Phone", ValueType::Text),
        field("MobilePhone", ValueType::Text),
        field("Email", ValueType::Text),
        field("Title", ValueType::Text),
    ],
    read_back: &[
        "Id",
        "FirstName",
        "LastName",
        "Name",
        "Email",
        "Phone",
        "MobilePhone",
        "Title",
        "AccountId",
        "OwnerId",
        "CreatedDate",
        "SystemModstamp",
    ],
};

/// The hidden field a create carries its idempotency marker in (see `idempotency::marker`).
pub const MARKER_FIELD: &str = "Companion_Key__c";

/// Field name → what is wrong with its value.
pub type FieldProblems = BTreeMap<String, String>;

/// Why [`check`] refused the fields of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub fields: FieldProblems,
    /// Every value has its documented form, but one is impossible (an id whose checksum suffix
    /// is wrong names no record; a time past the year 9999 in UTC): answered `422 validation`,
    /// not `400` (a request the document allows is never `400`).
    pub well_formed: bool,
}

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// Not of the field's documented form.
    Malformed(String),
    /// Of its form, but impossible: an id that names no record, a time outside the calendar.
    Impossible(String),
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Problem::Malformed(text)
    }
}

impl From<&str> for Problem {
    fn from(text: &str) -> Self {
        Problem::Malformed(text.to_string())
    }
}

/// Check `fields` against `spec`: every name allow-listed, every value of its type. Returns the
/// body to send (ids in their 18-character form).
pub fn check(spec: &WriteSpec, fields: &RecordFields) -> Result<Map<String, Value>, Refused> {
    let mut problems = FieldProblems::new();
    let mut well_formed = true;
    let mut body = Map::new();
    for (name, value) in fields {
        let Some(field) = spec.writable.iter().find(|f| f.name == name) else {
            well_formed = false;
            problems.insert(
                name.clone(),
                format!(
                    "not a field this endpoint writes; fields are {}",
                    spec.writable
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        match check_value(field.ty, value) {
            Ok(value) => {
                body.insert(field.name.to_string(), value);
            }
            Err(Problem::Malformed(problem)) => {
                well_formed = false;
                problems.insert(name.clone(), problem);
            }
            Err(Problem::Impossible(problem)) => {
                problems.insert(name.clone(), problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(body)
    } else {
        Err(Refused {
            fields: problems,
            well_formed,
        })
    }
}

fn check_value(ty: ValueType, value: &Value) -> Result<Value, Problem> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        ValueType::Text => match value.as_str() {
            Some(text)
                if text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
            {
                Err("text must not contain control characters".into())
            }
            Some(_) => Ok(value.clone()),
            None => Err("must be a string".into()),
        },
        ValueType::Number => match value.as_f64() {
            Some(n) if n.is_finite() => Ok(value.clone()),
            _ => Err("must be a number".into()),
        },
        // JSON has one kind of number: `300.0` is as whole as `300`, and is sent as `300`.
        ValueType::Int => match value {
            Value::Number(n) if n.is_i64() => Ok(value.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && (-(2f64.powi(63))..2f64.powi(63)).contains(&f) => {
                    Ok(Value::from(f as i64))
                }
                _ => Err("must be a whole number".into()),
            },
            _ => Err("must be a whole number".into()),
        },
        ValueType::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match value.as_str() {
                Some(text) if text.len() == 10 && time::Date::parse(text, &format).is_ok() => {
                    Ok(value.clone())
                }
                _ => Err("must be a date YYYY-MM-DD".into()),
            }
        }
        ValueType::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err("must be true or false".into()),
        },
        ValueType::DateTime => {
            let at = value.as_str().and_then(parse_datetime).ok_or(
                "must be a date and time such as 2024-05-01T10:00:00Z or 2024-05-01T12:00:00+02:00",
            )?;
            let at = in_utc(at).ok_or_else(|| Problem::Impossible(OUT_OF_RANGE.into()))?;
            Ok(Value::String(salesforce_datetime(at)))
        }
        ValueType::Id(objects) => {
            let text = value.as_str().ok_or("must be a record id (a string)")?;
            let mut checksum_wrong = false;
            for object in objects {
                match RecordId::parse_for(object, text) {
                    Ok(id) => return Ok(Value::String(id.to_string())),
                    // The suffix is checked before the prefix: of the object's form only when
                    // the first 15 characters are an id of that object.
                    Err(salesforce::IdError::Checksum) => {
                        checksum_wrong |= RecordId::parse_for(object, &text[..15]).is_ok();
                    }
                    Err(_) => {}
                }
            }
            let wanted = objects.join(" or ");
            if checksum_wrong {
                Err(Problem::Impossible(format!(
                    "no {wanted} has this id: its checksum suffix is wrong"
                )))
            } else {
                Err(format!("must be the id of a {wanted}").into())
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.s{1,3}](Z|±HH:MM|±HHMM)`, nothing else: the datetimes a write takes (a
/// field of type [`ValueType::DateTime`], an update's `seen_system_modstamp`). Salesforce's own
/// form (`2024-05-01T10:00:00.000+0000`) is one of them.
pub fn parse_datetime(text: &str) -> Option<time::OffsetDateTime> {
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let (head, rest) = (text.get(..19)?, text.get(19..)?);
    let at = time::PrimitiveDateTime::parse(head, &local).ok()?;
    let (millis, zone) = match rest.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=3).contains(&digits) {
                return None;
            }
            let value: u16 = fraction[..digits].parse().ok()?;
            (value * 10u16.pow(3 - digits as u32), &fraction[digits..])
        }
        None => (0, rest),
    };
    let offset = match zone {
        "Z" => time::UtcOffset::UTC,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            // `±HH:MM` or `±HHMM`.
            let digits = match (zone.len(), zone.as_bytes().get(3)) {
                (6, Some(b':')) => format!("{}{}", zone.get(1..3)?, zone.get(4..)?),
                (5, _) => zone.get(1..)?.to_string(),
                _ => return None,
            };
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i8 = digits[..2].parse().ok()?;
            let minutes: i8 = digits[2..].parse().ok()?;
            time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    let at = at.replace_millisecond(millis).ok()?.assume_offset(offset);
    Some(at)
}

/// What is wrong with a datetime that [`in_utc`] cannot take.
pub const OUT_OF_RANGE: &str = "in UTC this time is past the year 9999";

/// `at` in UTC, unless that is past the year 9999 (`9999-12-31T23:00:00-02:00`).
pub fn in_utc(at: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
    at.checked_to_offset(time::UtcOffset::UTC)
}

/// `2024-05-01T10:00:00.000Z`: one form, in UTC, that Salesforce takes.
fn salesforce_datetime(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("a UTC datetime always formats")
}

/// The allow-lists in `companion_api` and here must name the same fields.
#[cfg(test)]
mod tests {
    use super::*;
    use companion_api::{
        CONTACT_UPDATE_FIELDS, LEAD_CREATE_FIELDS, OPPORTUNITY_UPDATE_FIELDS, TASK_CREATE_FIELDS,
    };

    fn names(spec: &WriteSpec) -> Vec<&'static str> {
        spec.writable.iter().map(|f| f.name).collect()
    }

    #[test]
    fn api_allow_lists_match() {
        assert_eq!(names(&LEAD), LEAD_CREATE_FIELDS);
        assert_eq!(names(&TASK), TASK_CREATE_FIELDS);
        assert_eq!(names(&OPPORTUNITY), OPPORTUNITY_UPDATE_FIELDS);
        assert_eq!(names(&CONTACT), CONTACT_UPDATE_FIELDS);
        for spec in [&LEAD, &TASK, &OPPORTUNITY, &CONTACT] {
            assert!(spec
                .read_back
                .iter()
                .chain(spec.writable.iter().map(|f| &f.name))
                .all(|f| salesforce::soql::is_identifier(f)));
            assert!(spec.read_back.contains(&"SystemModstamp"));
            // Every writable field is read back: a conflict compares them with the server's.
            assert!(spec
                .writable
                .iter()
                .all(|f| spec.read_back.contains(&f.name)));
        }
    }

    #[test]
    fn booleans_and_datetimes_are_checked_and_datetimes_sent_in_utc() {
        let check = |ty, v: Value| check_value(ty, &v);
        assert_eq!(check(ValueType::Bool, true.into()), Ok(Value::Bool(true)));
        assert!(check(ValueType::Bool, "true".into()).is_err());
        assert!(check(ValueType::Bool, 1.into()).is_err());
        for (given, sent) in [
            ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000Z"),
            ("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500Z"),
            ("2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123Z"),
            ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000Z"),
            ("2024-05-01T12:00:00.250+0200", "2024-05-01T10:00:00.250Z"),
            ("2024-04-30T23:30:00-01:00", "2024-05-01T00:30:00.000Z"),
        ] {
            assert_eq!(
                check(ValueType::DateTime, given.into()),
                Ok(Value::from(sent)),
                "{given}"
            );
        }
        for refused in [
            "2024-05-01",
            "2024-05-01T10:00:00",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00Z",
            "2024-05-01T10:00:00.1234Z",
            "2024-05-01T10:00:00.Z",
            "2024-02-30T10:00:00Z",
            "2024-05-01T10:00:00+2:00",
            "2024-05-01T10:00:00+02:0",
            "2024-05-01T10:00:00 GMT",
            "2024-05-01T10:00:00Zjunk",
            "1714557600",
        ] {
            assert!(
                check(ValueType::DateTime, refused.into()).is_err(),
                "{refused}"
            );
        }
        assert!(check(ValueType::DateTime, 1714557600.into()).is_err());
    }

    #[test]
    fn values_are_type_checked() {
        let ok = |ty, v: Value| check_value(ty, &v);
        assert!(ok(ValueType::Date, "2024-02-29".into()).is_ok());
        assert!(ok(ValueType::Date, "2023-02-29".into()).is_err());
        assert!(ok(ValueType::Date, "2024-05-01T10:00:00Z".into()).is_err());
        assert!(ok(ValueType::Int, 3.into()).is_ok());
        assert!(ok(ValueType::Int, 3.5.into()).is_err());
        assert_eq!(ok(ValueType::Int, 300.0.into()), Ok(Value::from(300)));
        assert!(ok(ValueType::Number, "3".into()).is_err());
        assert!(ok(ValueType::Text, 3.into()).is_err());
        assert!(ok(ValueType::Text, "a\u{0}b".into()).is_err());
        assert!(ok(ValueType::Text, "O'Brien\n".into()).is_ok());
        assert_eq!(
            ok(
                ValueType::Id(&["Account", "Opportunity"]),
                "0067F000003pmdW".into()
            )
            .unwrap(),
            Value::from("0067F000003pmdWQAQ")
        );
        assert!(ok(
            ValueType::Id(&["Contact", "Lead"]),
            "0067F000003pmdWQAQ".into()
        )
        .is_err());
    }

    #[test]
    fn unknown_fields_are_named() {
        let mut fields = RecordFields::new();
        fields.insert("LastName".into(), "Smith".into());
        fields.insert("OwnerId".into(), "005000000000001AAA".into());
        let refused = check(&LEAD, &fields).unwrap_err();
        assert_eq!(refused.fields.keys().collect::<Vec<_>>(), vec!["OwnerId"]);
        assert!(!refused.well_formed);
    }

    #[test]
    fn an_id_of_its_form_that_names_no_record_is_impossible_not_malformed() {
        let task = |who: &str| {
            let mut fields = RecordFields::new();
            fields.insert("WhoId".into(), who.into());
            check(&TASK, &fields)
        };
        assert!(task("0031U00000V0tkDQAR").is_ok());
        let refused = task("0031U00000V0tkDAAA").unwrap_err();
        assert!(refused.well_formed, "{refused:?}");
        assert_eq!(
            refused.fields["WhoId"],
            "no Contact or Lead has this id: its checksum suffix is wrong"
        );
        // Another object's id, wrong suffix or not, is not of the field's form.
        for other in ["0061U00000V0tkDQAR", "0061U00000V0tkDAAA", "0031U00000V0tk"] {
            assert!(!task(other).unwrap_err().well_formed, "{other}");
        }
    }

    /// An object's key prefix (the first three characters of its ids).
    fn key_prefix(object: &str) -> &'static str {
        let prefix = match object {
            "Account" => "001",
            "Contact" => "003",
            "Lead" => "00Q",
            "Opportunity" => "006",
            other => panic!("no key prefix for {other}"),
        };
        assert!(RecordId::parse_for(object, &format!("{prefix}1U00000V0tkD")).is_ok());
        prefix
    }

    /// `openapi.json`'s schema of a field of an endpoint's allow-list, by its type.
    fn documented(ty: ValueType) -> Value {
        let nullable = |name: &str| {
            serde_json::json!({"anyOf": [
                {"$ref": format!("#/components/schemas/{name}")}, {"type": "null"}
            ]})
        };
        match ty {
            ValueType::Text => nullable("Text"),
            ValueType::Date => nullable("Date"),
            ValueType::DateTime => nullable("DateTime"),
            ValueType::Number => serde_json::json!({"type": ["number", "null"]}),
            ValueType::Int => serde_json::json!({"anyOf": [
                {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}, {"type": "null"}
            ]}),
            ValueType::Bool => serde_json::json!({"type": ["boolean", "null"]}),
            ValueType::Id(objects) => {
                let prefixes: Vec<&str> = objects.iter().map(|o| key_prefix(o)).collect();
                serde_json::json!({
                    "type": ["string", "null"],
                    "pattern": format!(
                        "^({})[a-zA-Z0-9]{{12}}([a-zA-Z0-9]{{3}})?$",
                        prefixes.join("|")
                    )
                })
            }
        }
    }

    fn document() -> Value {
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
    }

    #[test]
    fn the_openapi_document_names_each_allow_list_with_its_types() {
        let doc = document();
        for (schema, spec) in [
            ("LeadFields", &LEAD),
            ("TaskFields", &TASK),
            ("OpportunityFields", &OPPORTUNITY),
            ("ContactFields", &CONTACT),
        ] {
            let documented_fields = &doc["components"]["schemas"][schema];
            assert_eq!(documented_fields["type"], "object", "{schema}");
            assert_eq!(documented_fields["additionalProperties"], false, "{schema}");
            let properties = documented_fields["properties"].as_object().unwrap();
            let mut in_document: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut here = names(spec);
            in_document.sort_unstable();
            here.sort_unstable();
            assert_eq!(in_document, here, "{schema}");
            for field in spec.writable {
                let mut schema_of_field = properties[field.name].clone();
                schema_of_field
                    .as_object_mut()
                    .unwrap()
                    .remove("description");
                assert_eq!(
                    schema_of_field,
                    documented(field.ty),
                    "{schema}.{}",
                    field.name
                );
            }
        }
    }

    /// On values of every kind, the document's schema of each type admits exactly what the
    /// gateway takes or answers `422` (impossible but of the documented form), and refuses
    /// exactly what the gateway answers `400`.
    #[test]
    fn the_openapi_document_admits_what_the_gateway_takes() {
        let doc = document();
        let contact = RecordId::parse("0031U00000V0tkD").unwrap().to_string();
        let lead = RecordId::parse("00Q1U00000V0tkD").unwrap().to_string();
        let account = RecordId::parse("0011U00000V0tkD").unwrap().to_string();
        let opportunity = RecordId::parse("0061U00000V0tkD").unwrap().to_string();
        let mut corpus: Vec<Value> = vec![
            Value::Null,
            true.into(),
            0.into(),
            (-3).into(),
            3.5.into(),
            1e300.into(),
            i64::MAX.into(),
            i64::MIN.into(),
            (i64::MAX as u64 + 1).into(),
            300.0.into(),
            (-121716204400.0).into(),
            (-(2f64.powi(63))).into(),
            2f64.powi(63).into(),
            f64::MAX.into(),
            serde_json::json!({}),
            serde_json::json!(["x"]),
        ];
        let texts = [
            "",
            "Ada",
            "O'Brien\n",
            "tab\there\r\n",
            "a\u{0}b",
            "bell\u{7}",
            "\u{b}",
            "\u{1f}",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{a0}Zoë 👋",
            "2024-02-29",
            "2023-02-29",
            "2000-02-29",
            "1900-02-29",
            "0000-02-29",
            "2024-04-30",
            "2024-04-31",
            "2024-12-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "24-05-01",
            "2024-5-1",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.5Z",
            "2024-05-01T10:00:00.123+0200",
            "2024-05-01T10:00:00.000+0000",
            "2024-05-01T12:00:00-01:30",
            "2024-05-01T10:00:00+25:59",
            "2024-05-01T10:00:00+26:00",
            "2024-05-01T10:00:00+02:60",
            "2024-05-01T10:00:00.1234Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:60:00Z",
            "2024-05-01T10:00:60Z",
            "2023-02-29T10:00:00Z",
            "2024-05-01t10:00:00z",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00:00Z\n",
            "9999-12-31T23:00:00-02:00",
            "0000-01-01T00:00:00+25:00",
            "0031U00000V0tkDAAA",
            "0061U00000V0tkDAAA",
            "0031U00000V0tk",
            "0031U00000V0tkD\n",
            "0031U00000V0tk-QAR",
        ];
        corpus.extend(texts.iter().map(|t| Value::from(*t)));
        for id in [&contact, &lead, &account, &opportunity] {
            corpus.push(id.as_str().into());
            corpus.push(id[..15].into());
            corpus.push(id.to_lowercase().into());
        }
        let types = [
            ValueType::Text,
            ValueType::Number,
            ValueType::Int,
            ValueType::Date,
            ValueType::Bool,
            ValueType::DateTime,
            ValueType::Id(&["Contact", "Lead"]),
            ValueType::Id(&["Account", "Opportunity"]),
            ValueType::Id(&["Opportunity"]),
        ];
        for ty in types {
            // The whole document is the root, so the `$ref`s resolve inside it.
            let mut schema = doc.clone();
            for (key, value) in documented(ty).as_object().unwrap() {
                schema[key] = value.clone();
            }
            let validator = jsonschema::validator_for(&schema).expect("a valid schema");
            for value in &corpus {
                let takes = !matches!(check_value(ty, value), Err(Problem::Malformed(_)));
                assert_eq!(
                    validator.is_valid(value),
                    takes,
                    "{ty:?} {value}: the gateway says {:?}",
                    check_value(ty, value)
                );
            }
        }
    }
}
