//! The OS keyring through keyring-core and one platform store per `target_os`:
//! Secret Service (Linux/BSD), Keychain (macOS), Protected Data (iOS), Credential Manager
//! (Windows), Keystore-backed SharedPreferences (Android; Tauri Mobile initialises the
//! ndk-context it needs).

use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Error};

use super::{SecretError, SecretStore};

/// The keyring "service" every Companion secret is filed under.
pub const SERVICE: &str = "companion";

/// Secrets in the OS keyring, service name `companion`, one entry per key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyringStore;

/// One platform store per process, behind one lock: platform keyrings (Secret Service above
/// all) misbehave when one process talks to them from several threads at once. `None` until
/// a connection succeeds, so a keyring daemon that starts later is still picked up.
static STORE: Mutex<Option<Arc<CredentialStore>>> = Mutex::new(None);

impl KeyringStore {
    pub fn new() -> Self {
        KeyringStore
    }

    /// Connects to the platform store (if not yet) and runs `op` with an entry for `key`,
    /// all under the one lock.
    fn with_entry<T>(
        &self,
        key: &str,
        op: impl FnOnce(&keyring_core::Entry) -> keyring_core::Result<T>,
    ) -> Result<T, SecretError> {
        let mut guard = STORE.lock().unwrap_or_else(|e| e.into_inner());
        let store = match guard.as_ref() {
            Some(store) => store.clone(),
            None => {
                let store =
                    platform_store().map_err(|e| SecretError::Unavailable(e.to_string()))?;
                *guard = Some(store.clone());
                store
            }
        };
        let entry = store.build(SERVICE, key, None).map_err(map_error)?;
        op(&entry).map_err(map_error)
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        self.with_entry(key, |entry| match entry.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.with_entry(key, |entry| entry.set_password(value))
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.with_entry(key, |entry| match entry.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
    }
}

/// Errors that mean "there is no keyring to use here" become `Unavailable`, so the CLI can
/// fall back to a file; the rest are failures of a keyring that is there.
fn map_error(err: Error) -> SecretError {
    match err {
        Error::NoDefaultStore
        | Error::NoStorageAccess(_)
        | Error::PlatformFailure(_)
        | Error::NotSupportedByStore(_) => SecretError::Unavailable(err.to_string()),
        other => SecretError::Failed(other.to_string()),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "ios")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::protected::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(target_os = "android")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(android_native_keyring_store::Store::new()?)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "android"
)))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(Error::NotSupportedByStore(
        "this platform has no supported OS keyring".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no session bus at all, the store says `Unavailable` (the CLI's cue to fall back)
    /// rather than failing some other way or hanging.
    #[cfg(target_os = "linux")]
    #[test]
    fn no_secret_service_is_unavailable() {
        if std::env::var("COMPANION_KEYRING_TESTS").as_deref() == Ok("1") {
            return; // this process talks to a real keyring
        }
        // Only this test in this process touches the keyring or this variable.
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/companion-test-bus",
        );
        let started = std::time::Instant::now();
        let err = KeyringStore.get("session:test").unwrap_err();
        assert!(matches!(err, SecretError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    /// Needs a running keyring (the lead runs it under dbus-run-session + gnome-keyring-daemon):
    /// `COMPANION_KEYRING_TESTS=1 cargo test -p companion-core keyring`.
    #[test]
    fn round_trip_in_the_os_keyring() {
        if std::env::var("COMPANION_KEYRING_TESTS").as_deref() != Ok("1") {
            eprintln!("skipped: set COMPANION_KEYRING_TESTS=1 to run against the OS keyring");
            return;
        }
        let store = KeyringStore;
        let key = format!("test:{}", std::process::id());
        assert_eq!(store.get(&key).unwrap(), None);
        store.set(&key, "s3cret-token").unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some("s3cret-token"));
        store.set(&key, "rotated").unwrap();
        assert_eq!(
            KeyringStore::new().get(&key).unwrap().as_deref(),
            Some("rotated")
        );
        store.delete(&key).unwrap();
        assert_eq!(store.get(&key).unwrap(), None);
        store.delete(&key).unwrap();
    }
}
