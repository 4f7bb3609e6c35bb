//! The CLI's secret store: the OS keyring, or — on a machine without one — a file in the data
//! folder readable only by the user, with a warning, as `gh` does. Chosen at first use, so
//! commands that need no secret (`contacts`) never touch the keyring.

use std::path::Path;
use std::sync::{Arc, Mutex};

use companion_core::{FileStore, KeyringStore, SecretError, SecretStore};

pub(crate) struct KeyringOrFile {
    file: Arc<FileStore>,
    chosen: Mutex<Option<Arc<dyn SecretStore>>>,
}

impl KeyringOrFile {
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            file: Arc::new(FileStore::in_data_dir(data_dir)),
            chosen: Mutex::new(None),
        }
    }

    fn run<T>(
        &self,
        op: impl Fn(&dyn SecretStore) -> Result<T, SecretError>,
    ) -> Result<T, SecretError> {
        let mut chosen = self.chosen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = chosen.as_ref() {
            return op(store.as_ref());
        }
        match op(&KeyringStore) {
            Err(SecretError::Unavailable(why)) => {
                tracing::debug!(%why, "no OS keyring");
                eprintln!(
                    "warning: no OS keyring available; keeping the session token and the data key in {} (readable only by you)",
                    self.file.path().display()
                );
                *chosen = Some(self.file.clone());
                op(self.file.as_ref())
            }
            other => {
                *chosen = Some(Arc::new(KeyringStore));
                other
            }
        }
    }
}

impl SecretStore for KeyringOrFile {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        self.run(|s| s.get(key))
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.run(|s| s.set(key, value))
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.run(|s| s.delete(key))
    }
}
