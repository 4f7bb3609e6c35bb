//! `cargo xtask test`: every test the project has — Rust (unit + cross-crate), UI (Vitest and
//! Playwright with Chromium), and the real app driven through tauri-driver under Xvfb.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::install;
use crate::postgres;
use crate::process::{self, command, in_dir};

/// `cargo test` and `cargo clippy` build the app with the same features as the binary under
/// test, so one build of `tauri` serves them all.
pub(crate) const APP_FEATURES: &str = "companion-app/custom-protocol";

pub fn run() -> Result<(), String> {
    let root = crate::root();
    let ui = root.join("ui");
    let started = Instant::now();
    let mut steps = Steps::default();

    steps.run("install system packages", || {
        let mut wanted = install::APP_PACKAGES.to_vec();
        wanted.extend_from_slice(install::TEST_PACKAGES);
        wanted.extend_from_slice(postgres::PACKAGES);
        install::system_packages(&wanted)
    })?;
    steps.run("install UI packages", install::ui_packages)?;
    let tauri_driver = steps.run("install tauri-driver", install::tauri_driver)?;
    let schemathesis = steps.run("install schemathesis", install::schemathesis)?;
    steps.run("build the UI", || {
        process::run(in_dir(&mut command("npm", &["run", "build"]), &ui))
    })?;
    steps.run("cargo fmt --check", || {
        process::run(in_dir(
            &mut command("cargo", &["fmt", "--all", "--check"]),
            &root,
        ))
    })?;
    steps.run("cargo clippy", || {
        process::run(in_dir(
            &mut command(
                "cargo",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--features",
                    APP_FEATURES,
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
            &root,
        ))
    })?;
    steps.run("UI type check and unit tests", || {
        process::run(in_dir(&mut command("npm", &["run", "check"]), &ui))?;
        process::run(in_dir(&mut command("npm", &["test"]), &ui))
    })?;
    // Stopped (and its folder deleted) when dropped: after the last step, or on a failed one.
    let database = steps.run("start PostgreSQL", postgres::start)?;
    steps.run(
        "Rust tests (unit and cross-crate, with a real keyring)",
        || {
            let mut workspace = command(
                "cargo",
                &["test", "--workspace", "--features", APP_FEATURES],
            );
            workspace.env(postgres::URL_VAR, &database.url);
            process::run(in_dir(&mut with_keyring_session(&workspace)?, &root))?;
            // The OS-keyring round trip is ignored where no Secret Service runs; here one does.
            let mut keyring = ignored_tests("keyring");
            keyring.env(postgres::URL_VAR, &database.url);
            process::run(in_dir(&mut with_keyring_session(&keyring)?, &root))
        },
    )?;
    steps.run(
        "gateway against its OpenAPI document (schemathesis)",
        || {
            // An ignored test (crates/gateway/tests/fuzz.rs): it starts sfsim and the gateway
            // and runs schemathesis at them. Built as the step above built it: nothing compiles
            // again.
            let mut cargo = ignored_tests("fuzz");
            cargo.env("SCHEMATHESIS_BIN", &schemathesis);
            process::run(in_dir(&mut cargo, &root))
        },
    )?;
    steps.run("sfsim against an independent client (jsforce)", || {
        let suite = root.join("crates/sfsim/tests/jsforce");
        install::npm_packages(&suite)?;
        let mut npm = command("npm", &["test"]);
        npm.env("SFSIM_BIN", crate::target_dir().join("debug/sfsim"));
        process::run(in_dir(&mut npm, &suite))
    })?;
    steps.run("UI in Chromium (Playwright, mocked IPC)", || {
        process::run(in_dir(&mut command("npm", &["run", "test:e2e"]), &ui))
    })?;
    steps.run("real app (tauri-driver, WebKitWebDriver, Xvfb)", || {
        // `cargo test` above built the app (src-tauri's own tests need the binary) with the
        // same features, so nothing is compiled twice. The installed package's test runs in
        // the package step below, while it is installed.
        let mut cargo = real_app_tests(&tauri_driver, &["--skip", INSTALLED_APP_TEST]);
        cargo.env(
            "COMPANION_APP_BIN",
            crate::target_dir().join("debug/companion-app"),
        );
        run_on_a_display(&cargo)
    })?;
    drop(database);
    steps.run(
        "the .deb: no secret inside, installs, signs a rep in through xdg-open, removes",
        || crate::bundle::test_step(&tauri_driver),
    )?;

    steps.report();
    println!(
        "xtask: every test passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("steps: {} passed, 0 failed", steps.done.len());
    Ok(())
}

/// Only the package step, for working on it: builds the app as the Rust-tests step does.
pub fn package_only() -> Result<(), String> {
    let tauri_driver = install::tauri_driver()?;
    process::run(in_dir(
        &mut command(
            "cargo",
            &[
                "test",
                "--workspace",
                "--features",
                APP_FEATURES,
                "--no-run",
            ],
        ),
        &crate::root(),
    ))?;
    crate::bundle::test_step(&tauri_driver)
}

/// `cargo test` of the ignored tests of the integration-test target `target` (built with the
/// same features as the Rust-tests step, so nothing compiles again), their output shown.
fn ignored_tests(target: &str) -> Command {
    command(
        "cargo",
        &[
            "test",
            "--workspace",
            "--features",
            APP_FEATURES,
            "--test",
            target,
            "--",
            "--ignored",
            "--nocapture",
        ],
    )
}

/// The test in tests/app_e2e.rs that drives the installed package.
pub(crate) const INSTALLED_APP_TEST: &str = "installed_package_";

/// `cargo test` of the real-app tests (tests/app_e2e.rs) with `filter` (libtest arguments).
pub(crate) fn real_app_tests(tauri_driver: &Path, filter: &[&str]) -> Command {
    let mut cargo = ignored_tests("app_e2e");
    cargo
        .args(filter)
        .env("TAURI_DRIVER_BIN", tauri_driver)
        .env(
            "COMPANION_SCREENSHOT_DIR",
            crate::target_dir().join("app-screenshots"),
        );
    cargo
}

/// Runs `inner` on a virtual display (Xvfb) inside a keyring session, from the repository.
pub(crate) fn run_on_a_display(inner: &Command) -> Result<(), String> {
    let session = with_keyring_session(inner)?;
    let mut display = command("xvfb-run", &["-a", "-s", "-screen 0 1280x800x24"]);
    display.arg(session.get_program()).args(session.get_args());
    copy_env(&session, &mut display);
    process::run(in_dir(&mut display, &crate::root()))
}

/// Runs `inner` in a private D-Bus session with an unlocked gnome-keyring, so the OS keyring
/// (Secret Service) and single-instance work as on a desktop. The keyring lives in a throwaway
/// folder under target/.
pub(crate) fn with_keyring_session(inner: &Command) -> Result<Command, String> {
    let keyrings = crate::target_dir().join("test-keyring");
    let _ = std::fs::remove_dir_all(&keyrings);
    std::fs::create_dir_all(&keyrings).map_err(|e| format!("cannot create {keyrings:?}: {e}"))?;
    let script = "printf companion-test | XDG_DATA_HOME=\"$KEYRING_HOME\" \
                  gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null && exec \"$@\"";
    let mut session = command("dbus-run-session", &["--", "sh", "-c", script, "sh"]);
    session.arg(inner.get_program()).args(inner.get_args());
    copy_env(inner, &mut session);
    session.env("KEYRING_HOME", path_str(&keyrings)?);
    Ok(session)
}

pub(crate) fn copy_env(from: &Command, to: &mut Command) {
    for (key, value) in from.get_envs() {
        match value {
            Some(value) => to.env(key, value),
            None => to.env_remove(key),
        };
    }
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {path:?}"))
}

/// Names and times each step, so a failure says where and a pass says how long.
#[derive(Default)]
struct Steps {
    done: Vec<(String, f64)>,
}

impl Steps {
    fn run<T>(
        &mut self,
        name: &str,
        step: impl FnOnce() -> Result<T, String>,
    ) -> Result<T, String> {
        println!("\n==> {name}");
        let started = Instant::now();
        let outcome = step().map_err(|e| format!("step \"{name}\" failed: {e}"));
        let seconds = started.elapsed().as_secs_f64();
        if outcome.is_ok() {
            self.done.push((name.to_string(), seconds));
        } else {
            self.report();
            println!("steps: {} passed, 1 failed", self.done.len());
        }
        outcome
    }

    fn report(&self) {
        println!("\nxtask: time per step");
        for (name, seconds) in &self.done {
            println!("  {seconds:>7.1} s  {name}");
        }
    }
}
