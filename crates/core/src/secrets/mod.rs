//! Where the session token (and, later, the replica's encryption key) is kept.
//!
//! The app uses the OS keyring ([`KeyringStore`]). The CLI falls back to [`FileStore`] on a
//! machine with no keyring service, as `gh` does. Tests use [`MemoryStore`].

mod file;
mod keyring;
mod memory;

pub use file::FileStore;
pub use keyring::KeyringStore;
pub use memory::MemoryStore;

/// A small key → secret store. Implementations serialise their own access.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError>;
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError>;
    /// Deleting a key that is not there is not an error.
    fn delete(&self, key: &str) -> Result<(), SecretError>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// There is no usable secret store on this machine (no Secret Service on D-Bus, keyring
    /// locked and no way to unlock it…). The CLI falls back to a file on this error.
    #[error("No OS keyring is available: {0}")]
    Unavailable(String),
    /// The store is there but the operation failed.
    #[error("The keyring could not be used: {0}")]
    Failed(String),
}
