//! Salesforce record ids: 15-char case-sensitive ids and their 18-char checksum form (reference §6).

/// Alphabet the three checksum characters are taken from.
const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Digits of the record-number part, in ASCII order so that a later number is a larger id byte-wise
/// (keyset paging on `Id` then follows creation order, as it does in a real org).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 3-char suffix that turns a 15-char id into its 18-char form.
/// Returns `None` when `id15` is not 15 ASCII alphanumerics.
pub fn checksum_suffix(id15: &str) -> Option<String> {
    if id15.len() != 15 || !id15.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let suffix = id15
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (j, _)| acc | (1 << j));
            CHECKSUM_ALPHABET[bits] as char
        })
        .collect();
    Some(suffix)
}

/// The 18-char form of a 15-char id.
pub fn to_18(id15: &str) -> Option<String> {
    checksum_suffix(id15).map(|suffix| format!("{id15}{suffix}"))
}

/// Normalises a 15- or 18-char id to its 15-char case-sensitive form, checking the checksum of an
/// 18-char one (its suffix is case-insensitive).
pub fn to_15(id: &str) -> Option<&str> {
    match id.len() {
        15 if id.bytes().all(|b| b.is_ascii_alphanumeric()) => Some(id),
        18 => {
            let (head, suffix) = id.split_at(15);
            let expected = checksum_suffix(head)?;
            expected.eq_ignore_ascii_case(suffix).then_some(head)
        }
        _ => None,
    }
}

/// Makes new 18-char ids for one key prefix: `<prefix><pod><10-char record number>`.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    prefix: &'static str,
    pod: &'static str,
    next: u64,
}

impl IdGenerator {
    /// `prefix` is the 3-char key prefix (e.g. `003`), `pod` the 2-char instance part, `start` the
    /// first record number (a large one gives ids that mix digits and both letter cases, as real ones do).
    pub fn new(prefix: &'static str, pod: &'static str, start: u64) -> Self {
        debug_assert_eq!(prefix.len(), 3);
        debug_assert_eq!(pod.len(), 2);
        Self {
            prefix,
            pod,
            next: start,
        }
    }

    pub fn next_id(&mut self) -> String {
        let number = self.next;
        self.next += 1;
        let mut digits = [b'0'; 10];
        let mut rest = number;
        for slot in digits.iter_mut().rev() {
            *slot = BASE62[(rest % 62) as usize];
            rest /= 62;
        }
        let id15 = format!(
            "{}{}{}",
            self.prefix,
            self.pod,
            std::str::from_utf8(&digits).expect("base62 digits are ASCII")
        );
        to_18(&id15).expect("generated ids are 15 alphanumerics")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_real_ids_from_the_reference() {
        for real in [
            "0011U00000V0tkDQAR",
            "0067F000003pmdWQAQ",
            "00D7F00000107XsUAI",
            "00TB0000003LgMzMAK",
            "04k7F0000008V3hQAE",
            "001D000000IqhSLIAZ",
            "003R000000ATjnCIAT",
        ] {
            assert_eq!(to_18(&real[..15]).as_deref(), Some(real), "{real}");
        }
    }

    #[test]
    fn documentation_example_with_a_bad_checksum_is_rejected() {
        assert_eq!(to_15("001R000000Z1Y0xYAA"), None);
        assert_eq!(to_15("001R000000Z1Y0xIAF"), Some("001R000000Z1Y0x"));
        // The suffix is case-insensitive.
        assert_eq!(to_15("001R000000Z1Y0xiaf"), Some("001R000000Z1Y0x"));
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert_eq!(checksum_suffix("short"), None);
        assert_eq!(checksum_suffix("001R000000Z1Y0-"), None);
        assert_eq!(to_15("001R000000Z1Y0xIAFX"), None);
    }

    #[test]
    fn generator_makes_valid_increasing_ids_with_the_prefix() {
        let mut generator = IdGenerator::new("003", "5g", 62u64.pow(6) * 9 + 12_345);
        let first = generator.next_id();
        let second = generator.next_id();
        assert!(first.starts_with("0035g"));
        assert_eq!(first.len(), 18);
        assert!(to_15(&first).is_some());
        assert!(first[..15] < second[..15]);
    }
}
