//! The OS keyring store against a real Secret Service (ignored unless asked for) and against
//! no session bus at all.
//!
//! The round trip needs an unlocked keyring; `cargo xtask test` runs it inside
//! `dbus-run-session` with gnome-keyring-daemon:
//! `cargo test -p companion-core --test keyring -- --ignored`.

use companion_core::{KeyringStore, SecretError, SecretStore};

#[test]
#[ignore = "needs a Secret Service: run by cargo xtask test"]
fn round_trip_in_the_os_keyring() {
    let store = KeyringStore::new();
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

/// Set in the child process that runs the real check of [`no_secret_service_is_unavailable`].
#[cfg(target_os = "linux")]
const CHILD_FLAG: &str = "COMPANION_KEYRING_TEST_CHILD";

/// With no session bus at all, the store says `Unavailable` (the CLI's cue to fall back to a
/// file) rather than failing some other way or hanging.
///
/// The bus address must be wrong from the start of the process, and changing the environment
/// of a running multi-threaded test process is unsound: so this test runs itself again as a
/// child process with the variable set, and the child does the check.
#[cfg(target_os = "linux")]
#[test]
fn no_secret_service_is_unavailable() {
    if std::env::var_os(CHILD_FLAG).is_some() {
        let started = std::time::Instant::now();
        let err = KeyringStore::new().get("session:test").unwrap_err();
        assert!(matches!(err, SecretError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_secret_service_is_unavailable",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FLAG, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/companion-test-bus",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The child really ran the check, not zero tests.
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
}
