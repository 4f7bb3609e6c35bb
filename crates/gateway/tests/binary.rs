//! The `companion-gateway` binary: configuration from the environment, first stdout line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_companion-gateway");
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn command(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("COMPANION_GATEWAY_LISTEN", "127.0.0.1:0")
        .env("SALESFORCE_LOGIN_URL", "http://127.0.0.1:9")
        .env("SALESFORCE_CLIENT_ID", "companion-demo")
        .env("SALESFORCE_CLIENT_SECRET", "companion-demo-secret")
        .env("COMPANION_GATEWAY_DATA_DIR", data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn refuses_to_start_without_a_token_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("COMPANION_GATEWAY_TOKEN_KEY"), "{stderr}");
    assert!(stderr.contains("--dev"), "{stderr}");
    assert!(!stderr.contains("companion-demo-secret"));
    assert!(output.stdout.is_empty());
}

/// Starts the binary, reads the first stdout line, stops it.
fn first_line(mut command: Command) -> (String, String) {
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    (line, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn prints_its_address_first_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("COMPANION_GATEWAY_TOKEN_KEY", KEY);
    let (line, stderr) = first_line(cmd);
    let addr = line
        .trim_end()
        .strip_prefix("gateway listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    assert!(addr.parse::<u16>().unwrap() > 0);
    assert!(!stderr.contains("companion-demo-secret"));
    assert!(dir.path().join(companion_gateway::DATABASE_FILE).exists());
}

#[test]
fn dev_mode_makes_a_key_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.arg("--dev");
    let (line, stderr) = first_line(cmd);
    assert!(
        line.starts_with("gateway listening on http://127.0.0.1:"),
        "{line:?}"
    );
    assert!(stderr.contains("--dev"), "{stderr}");
    assert!(dir.path().join(companion_gateway::DEV_KEY_FILE).exists());
}
