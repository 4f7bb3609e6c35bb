//! The replica's SQLCipher key: 256 random bits, kept in the OS keyring as hex.

use rand::rngs::OsRng;
use rand::RngCore;

use crate::error::CoreError;
use crate::secrets::SecretStore;

/// A raw SQLCipher key. Given to SQLCipher as `x'<hex>'`, so no passphrase derivation runs at
/// open (the key is already random; PBKDF2 would only slow every open down).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ReplicaKey([u8; 32]);

impl ReplicaKey {
    /// A new key from the operating system's random source.
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key as 64 lowercase hex digits, as stored in the keyring.
    pub(crate) fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Reads a key written by [`ReplicaKey::to_hex`] (either case). Anything else is a
    /// [`CoreError::ReplicaUnreadable`]: a mangled key cannot open the replica anyway.
    pub(crate) fn from_hex(hex: &str) -> Result<Self, CoreError> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return Err(CoreError::ReplicaUnreadable);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let nibble = |c: u8| {
                char::from(c)
                    .to_digit(16)
                    .ok_or(CoreError::ReplicaUnreadable)
            };
            *byte = u8::try_from(nibble(pair[0])? << 4 | nibble(pair[1])?)
                .map_err(|_| CoreError::ReplicaUnreadable)?;
        }
        Ok(Self(bytes))
    }

    /// The key of an org + user's replica from the secret store (the OS keyring), made and
    /// stored on first use — when no replica file holds data yet (`file_has_data` false). Kept
    /// when the rep signs out: their replica file stays too.
    ///
    /// A replica that holds data but whose key the store does not return (a keyring reset, a
    /// profile copied without its keyring) is [`CoreError::ReplicaUnreadable`]: a new key would
    /// silently leave the file unreadable, and with it the rep's unsent changes. The rep is told,
    /// and chooses to start fresh.
    pub(crate) fn for_user(
        secrets: &dyn SecretStore,
        org_id: &str,
        user_id: &str,
        file_has_data: bool,
    ) -> Result<Self, CoreError> {
        let name = format!("replica-key:{org_id}:{user_id}");
        if let Some(hex) = secrets.get(&name)? {
            return Self::from_hex(&hex);
        }
        if file_has_data {
            tracing::warn!("the replica's key is not in the secret store");
            return Err(CoreError::ReplicaUnreadable);
        }
        let key = Self::generate();
        secrets.set(&name, &key.to_hex())?;
        Ok(key)
    }

    /// Deletes the stored key (before a fresh replica gets a new one).
    pub(crate) fn forget(
        secrets: &dyn SecretStore,
        org_id: &str,
        user_id: &str,
    ) -> Result<(), CoreError> {
        secrets.delete(&format!("replica-key:{org_id}:{user_id}"))?;
        Ok(())
    }

    /// `PRAGMA key = "x'…'"`, the statement that unlocks a connection.
    pub(super) fn pragma(&self) -> String {
        format!("PRAGMA key = \"x'{}'\";", self.to_hex())
    }
}

/// Never prints the key.
impl std::fmt::Debug for ReplicaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplicaKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::ReplicaKey;

    #[test]
    fn hex_round_trips_and_keys_differ() {
        let key = ReplicaKey::generate();
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(ReplicaKey::from_hex(&hex).unwrap(), key);
        assert_eq!(ReplicaKey::from_hex(&hex.to_uppercase()).unwrap(), key);
        assert_ne!(ReplicaKey::generate(), key);
    }

    #[test]
    fn each_user_gets_a_key_that_is_kept() {
        let secrets = crate::secrets::MemoryStore::new();
        let ada = ReplicaKey::for_user(&secrets, "00D1", "0051", false).unwrap();
        assert_eq!(
            ReplicaKey::for_user(&secrets, "00D1", "0051", true).unwrap(),
            ada
        );
        assert_ne!(
            ReplicaKey::for_user(&secrets, "00D1", "0052", false).unwrap(),
            ada
        );
    }

    #[test]
    fn a_replica_with_data_never_gets_a_new_key() {
        let secrets = crate::secrets::MemoryStore::new();
        let err = ReplicaKey::for_user(&secrets, "00D1", "0051", true).unwrap_err();
        assert_eq!(err.kind(), "replica_unreadable");
        use crate::secrets::SecretStore;
        assert_eq!(secrets.get("replica-key:00D1:0051").unwrap(), None);
    }

    #[test]
    fn bad_hex_is_an_error_and_debug_hides_the_key() {
        for bad in ["", "abc", &"g".repeat(64), &"0".repeat(63), &"é".repeat(32)] {
            let err = ReplicaKey::from_hex(bad).unwrap_err();
            assert_eq!(err.kind(), "replica_unreadable", "{bad:?}");
        }
        let key = ReplicaKey::generate();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.to_hex()[..8]), "{shown}");
    }
}
