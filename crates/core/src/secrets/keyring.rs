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

// Tests: crates/core/tests/keyring.rs (they need a process of their own for the environment).
