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
    /// A whole JSON number.
    Int,
    /// `YYYY-MM-DD`.
    Date,
    /// A JSON `true` or `false`.
    Bool,
    /// `YYYY-MM-DDTHH:MM:SS`, optionally `.s` to `.sss`, then `Z` or an offset (`+02:00`,
    /// `+0200`); sent to Salesforce in UTC.
    DateTime,
    /// A Salesforce id of one of these objects.
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

/// Check `fields` against `spec`: every name allow-listed, every value of its type. Returns the
/// body to send (ids in their 18-character form).
pub fn check(spec: &WriteSpec, fields: &RecordFields) -> Result<Map<String, Value>, FieldProblems> {
    let mut problems = FieldProblems::new();
    let mut body = Map::new();
    for (name, value) in fields {
        let Some(field) = spec.writable.iter().find(|f| f.name == name) else {
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
            Err(problem) => {
                problems.insert(name.clone(), problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(body)
    } else {
        Err(problems)
    }
}

fn check_value(ty: ValueType, value: &Value) -> Result<Value, String> {
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
        ValueType::Int => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
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
        ValueType::DateTime => value
            .as_str()
            .and_then(parse_datetime)
            .map(|at| Value::String(salesforce_datetime(at)))
            .ok_or_else(|| {
                "must be a date and time such as 2024-05-01T10:00:00Z or 2024-05-01T12:00:00+02:00"
                    .to_string()
            }),
        ValueType::Id(objects) => {
            let text = value.as_str().ok_or("must be a record id (a string)")?;
            objects
                .iter()
                .find_map(|object| RecordId::parse_for(object, text).ok())
                .map(|id| Value::String(id.to_string()))
                .ok_or_else(|| format!("must be the id of a {}", objects.join(" or ")))
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.s{1,3}](Z|±HH:MM|±HHMM)`, nothing else.
fn parse_datetime(text: &str) -> Option<time::OffsetDateTime> {
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
        let problems = check(&LEAD, &fields).unwrap_err();
        assert_eq!(problems.keys().collect::<Vec<_>>(), vec!["OwnerId"]);
    }
}
