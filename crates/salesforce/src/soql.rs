//! Building SOQL safely (reference §7 and §3.3): the one string-literal escaper, datetime
//! literals, and field-name allow-listing. Nothing else in the project quotes client text.

use time::format_description::well_known::Iso8601;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `value` as a SOQL string literal, quotes included: `O'Brien` → `'O\'Brien'`.
///
/// Escapes exactly the sequences SOQL defines (`\n \r \t \b \f \" \' \\`); other control
/// characters become `\uXXXX`, so the literal never spans lines or hides characters.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A SOQL dateTime literal in UTC: `2024-05-01T10:00:00Z`, or with milliseconds
/// (`2024-05-01T10:00:00.250Z`) when the instant has any, so a keyset bound stays exact.
pub fn datetime_literal(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let millis = utc.millisecond();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Salesforce dateTime: {0:?}")]
pub struct DateTimeError(pub String);

/// Parse a dateTime as Salesforce returns it (`2024-05-01T10:00:00.000+0000`); also accepts
/// RFC 3339 / ISO 8601 forms with `Z` or `+hh:mm`.
pub fn parse_datetime(value: &str) -> Result<OffsetDateTime, DateTimeError> {
    let salesforce = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(value, salesforce)
        .or_else(|_| OffsetDateTime::parse(value, &Iso8601::DEFAULT))
        .or_else(|_| {
            // Without an offset: Salesforce datetimes are UTC.
            PrimitiveDateTime::parse(value, &Iso8601::DEFAULT).map(|p| p.assume_utc())
        })
        .map_err(|_| DateTimeError(value.chars().take(64).collect()))
}

/// `true` when `name` may be used as a field or object name in SOQL: an identifier, optionally
/// with a relationship path (`Account.Name`). Callers still allow-list the names they use.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(string_literal("O'Brien"), r"'O\'Brien'");
        assert_eq!(string_literal(r"a\b"), r"'a\\b'");
        assert_eq!(string_literal("say \"hi\""), r#"'say \"hi\"'"#);
    }

    #[test]
    fn injection_attempt_stays_inside_the_literal() {
        let evil = "x' OR Name != '";
        let lit = string_literal(evil);
        assert_eq!(lit, r"'x\' OR Name != \''");
        // Every quote inside is preceded by a backslash: the literal cannot be closed early.
        let inner = &lit[1..lit.len() - 1];
        let bytes = inner.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\'' {
                assert_eq!(bytes[i - 1], b'\\');
            }
        }
        // A trailing backslash cannot escape the closing quote.
        assert_eq!(string_literal("abc\\"), r"'abc\\'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(string_literal("a\nb\r\tc"), r"'a\nb\r\tc'");
        assert_eq!(string_literal("\u{8}\u{c}"), r"'\b\f'");
        assert_eq!(string_literal("\u{0}"), r"'\u0000'");
        assert_eq!(string_literal("Zoë"), "'Zoë'");
    }

    #[test]
    fn datetime_literals_are_utc() {
        assert_eq!(
            datetime_literal(datetime!(2024-05-01 10:00:00 UTC)),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            datetime_literal(datetime!(2024-05-01 12:00:00.250 +02:00)),
            "2024-05-01T10:00:00.250Z"
        );
    }

    #[test]
    fn parses_salesforce_datetimes() {
        assert_eq!(
            parse_datetime("2021-04-08T18:39:16.000+0000").unwrap(),
            datetime!(2021-04-08 18:39:16 UTC)
        );
        assert_eq!(
            parse_datetime("2021-04-08T18:39:16.123+0000").unwrap(),
            datetime!(2021-04-08 18:39:16.123 UTC)
        );
        assert_eq!(
            parse_datetime("2021-04-08T18:39:16Z").unwrap(),
            datetime!(2021-04-08 18:39:16 UTC)
        );
        assert!(parse_datetime("2021-04-08 or 1=1").is_err());
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("SystemModstamp"));
        assert!(is_identifier("Account.Name"));
        assert!(is_identifier("Custom__c"));
        assert!(!is_identifier("Name, (SELECT Id FROM Contacts)"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("1Name"));
    }
}
