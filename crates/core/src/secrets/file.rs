use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{SecretError, SecretStore};
use crate::files;

/// Secrets in a JSON file readable only by the user (mode 0600 on unix). Only for the CLI on a
/// machine without a keyring service; the app never uses it.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    // Serialises read-modify-write cycles within this process.
    lock: Mutex<()>,
}

impl FileStore {
    /// The file name [`FileStore::in_data_dir`] uses.
    pub const FILE_NAME: &'static str = "secrets.json";

    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// `<data_dir>/secrets.json`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join(Self::FILE_NAME))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match files::read_json(&self.path) {
            Ok(Some(map)) => Ok(map),
            Ok(None) => Ok(BTreeMap::new()),
            Err(e) => Err(SecretError::Failed(format!("{}: {e}", self.path.display()))),
        }
    }

    fn save(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        files::write_json_private(&self.path, map)
            .map_err(|e| SecretError::Failed(format!("{}: {e}", self.path.display())))
    }
}

impl SecretStore for FileStore {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.load()?.get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut map = self.load()?;
        map.insert(key.to_owned(), value.to_owned());
        self.save(&map)
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut map = self.load()?;
        if map.remove(key).is_some() {
            self.save(&map)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_survives_a_new_instance() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::in_data_dir(dir.path());
        assert_eq!(store.get("session:o:u").unwrap(), None);
        store.set("session:o:u", "tok").unwrap();
        let again = FileStore::in_data_dir(dir.path());
        assert_eq!(again.get("session:o:u").unwrap().as_deref(), Some("tok"));
        again.delete("session:o:u").unwrap();
        assert_eq!(store.get("session:o:u").unwrap(), None);
        again.delete("never-set").unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn file_is_readable_only_by_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::in_data_dir(dir.path());
        store.set("k", "v").unwrap();
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::in_data_dir(dir.path());
        std::fs::write(store.path(), "not json").unwrap();
        assert!(matches!(store.get("k"), Err(SecretError::Failed(_))));
    }
}
