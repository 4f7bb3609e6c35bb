//! Salesforce record ids: validation, the 18-character checksum, key prefixes (reference §6).

use std::fmt;

/// Key prefixes (first three characters) of the objects this project touches.
pub mod prefix {
    pub const ACCOUNT: &str = "001";
    pub const CONTACT: &str = "003";
    pub const USER: &str = "005";
    pub const OPPORTUNITY: &str = "006";
    pub const LEAD: &str = "00Q";
    pub const TASK: &str = "00T";
    pub const ORGANIZATION: &str = "00D";
}

/// The key prefix of an object by API name, for the objects in [`prefix`].
pub fn key_prefix_of(object: &str) -> Option<&'static str> {
    Some(match object {
        "Account" => prefix::ACCOUNT,
        "Contact" => prefix::CONTACT,
        "User" => prefix::USER,
        "Opportunity" => prefix::OPPORTUNITY,
        "Lead" => prefix::LEAD,
        "Task" => prefix::TASK,
        "Organization" => prefix::ORGANIZATION,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a record id has 15 or 18 characters, this one has {0}")]
    Length(usize),
    #[error("a record id has only letters and digits")]
    Charset,
    #[error("the record id's checksum suffix is wrong")]
    Checksum,
    #[error("the record id is not a {expected} id")]
    WrongObject { expected: String },
}

/// A validated record id, always held in its 18-character form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 3-character case-insensitive suffix of a 15-character id.
fn checksum_suffix(id15: &[u8]) -> [u8; 3] {
    let mut suffix = [0u8; 3];
    for (chunk_index, chunk) in id15.chunks(5).enumerate() {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (j, _)| acc | (1 << j));
        suffix[chunk_index] = SUFFIX_ALPHABET[bits];
    }
    suffix
}

impl RecordId {
    /// Accept a 15- or 18-character id; an 18-character one must carry the right checksum
    /// (compared case-insensitively, as Salesforce does).
    pub fn parse(id: &str) -> Result<Self, IdError> {
        let bytes = id.as_bytes();
        if bytes.len() != 15 && bytes.len() != 18 {
            return Err(IdError::Length(id.chars().count()));
        }
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::Charset);
        }
        let suffix = checksum_suffix(&bytes[..15]);
        if bytes.len() == 18 && !bytes[15..].eq_ignore_ascii_case(&suffix) {
            return Err(IdError::Checksum);
        }
        let mut full = id[..15].to_string();
        full.push_str(std::str::from_utf8(&suffix).expect("alphabet is ASCII"));
        Ok(RecordId(full))
    }

    /// [`RecordId::parse`], and the id must belong to `object` (by key prefix).
    pub fn parse_for(object: &str, id: &str) -> Result<Self, IdError> {
        let record_id = Self::parse(id)?;
        match key_prefix_of(object) {
            Some(p) if record_id.key_prefix() == p => Ok(record_id),
            _ => Err(IdError::WrongObject {
                expected: object.to_string(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-sensitive 15-character form.
    pub fn as_15(&self) -> &str {
        &self.0[..15]
    }

    /// The first three characters: the object type.
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Ids in Salesforce's answers are checked like any other: a malformed one is a decode error.
impl<'de> serde::Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        RecordId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for RecordId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real ids from reference §6, each verified there against its suffix.
    const REAL_IDS: &[&str] = &[
        "0011U00000V0tkDQAR",
        "0067F000003pmdWQAQ",
        "00D7F00000107XsUAI",
        "00TB0000003LgMzMAK",
        "04k7F0000008V3hQAE",
        "001D000000IqhSLIAZ",
    ];

    #[test]
    fn real_ids_verify() {
        for id in REAL_IDS {
            assert_eq!(RecordId::parse(id).unwrap().as_str(), *id);
        }
    }

    #[test]
    fn fifteen_char_id_gets_its_suffix() {
        assert_eq!(
            RecordId::parse("0011U00000V0tkD").unwrap().as_str(),
            "0011U00000V0tkDQAR"
        );
    }

    #[test]
    fn suffix_is_case_insensitive() {
        assert!(RecordId::parse("0011U00000V0tkDqar").is_ok());
    }

    #[test]
    fn wrong_checksum_is_refused() {
        // Documentation example with an invalid suffix (reference §2.2).
        assert_eq!(
            RecordId::parse("001R000000Z1Y0xYAA"),
            Err(IdError::Checksum)
        );
        // One case flip in the body changes the checksum.
        assert_eq!(
            RecordId::parse("0011u00000V0tkDQAR"),
            Err(IdError::Checksum)
        );
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert_eq!(RecordId::parse(""), Err(IdError::Length(0)));
        assert_eq!(RecordId::parse("0011U00000V0tk"), Err(IdError::Length(14)));
        assert_eq!(
            RecordId::parse("0011U00000V0t' OR"),
            Err(IdError::Length(17))
        );
        assert_eq!(RecordId::parse("0011U00000V0t'D"), Err(IdError::Charset));
        assert_eq!(RecordId::parse("0011U00000V0tkéQA"), Err(IdError::Charset));
    }

    #[test]
    fn key_prefix_is_checked() {
        assert!(RecordId::parse_for("Account", "0011U00000V0tkDQAR").is_ok());
        assert!(matches!(
            RecordId::parse_for("Contact", "0011U00000V0tkDQAR"),
            Err(IdError::WrongObject { .. })
        ));
        assert!(RecordId::parse_for("Opportunity", "0067F000003pmdWQAQ").is_ok());
    }
}
