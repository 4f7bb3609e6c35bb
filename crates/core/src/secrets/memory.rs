use std::collections::HashMap;
use std::sync::Mutex;

use super::{SecretError, SecretStore};

/// Secrets in memory only, for tests. Forgotten when dropped. Its `Debug` names the keys only.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<&String> = secrets.keys().collect();
        keys.sort();
        f.debug_struct("MemoryStore").field("keys", &keys).finish()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        Ok(self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_the_keys_never_the_secrets() {
        let store = MemoryStore::new();
        store.set("session:rep", "sEsSiOn-token-value").unwrap();
        let shown = format!("{store:?}");
        assert!(shown.contains("session:rep"), "{shown}");
        assert!(!shown.contains("sEsSiOn-token-value"), "{shown}");
    }
}
