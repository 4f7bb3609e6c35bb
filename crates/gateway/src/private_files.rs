//! Files and folders only the gateway's own user may read: the store holds user emails,
//! session hashes and (encrypted) Salesforce tokens.

use std::path::Path;

use crate::error::GatewayError;

/// Creates `dir` (and its parents) if missing; a folder this creates is `0700` on unix.
/// An existing folder is left as the operator set it up.
pub fn create_dir(dir: &Path) -> Result<(), GatewayError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| GatewayError::io(format!("creating data dir {}", dir.display()), e))
}

/// Makes sure `path` exists and, if this creates it, that it is `0600` on unix. SQLite gives
/// its `-wal` and `-shm` files the mode of the database file.
pub fn ensure_file(path: &Path) -> Result<(), GatewayError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|e| GatewayError::io(format!("creating {}", path.display()), e))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn new_folders_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        super::create_dir(&dir).unwrap();
        let file = dir.join("store.sqlite3");
        super::ensure_file(&file).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
    }
}
