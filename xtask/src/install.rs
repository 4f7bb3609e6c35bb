//! Installs what is missing, and says what: Debian packages with apt-get (as root, else sudo),
//! the UI's npm packages, tauri-driver, and schemathesis.

use crate::process::{self, command};

/// What building and running the app needs (Tauri 2 on Debian 12 / Ubuntu).
pub const APP_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "librsvg2-dev",
    "libxdo-dev",
    "libssl-dev",
    "libdbus-1-dev",
    // deep-link registration on Linux runs xdg-mime and update-desktop-database; the opener
    // runs xdg-open.
    "xdg-utils",
    "desktop-file-utils",
];

/// What the tests need on top: a virtual display, the WebKit WebDriver, a session bus with a
/// keyring, and Chromium for the UI tests.
pub const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus-x11",
    "gnome-keyring",
    "chromium",
];

/// Debian packages that provide node and npm when the machine has none.
const NODE_PACKAGES: &[&str] = &["nodejs", "npm"];

const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// What a Python virtual environment needs on Debian.
const PYTHON_PACKAGES: &[&str] = &["python3-venv", "python3-pip"];

/// The schemathesis version the gateway's fuzz test runs (`crates/gateway/tests/fuzz/`
/// pins it and every package it uses).
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

pub fn system_packages(wanted: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|name| !is_installed(name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !process::has_program("apt-get") {
        return Err(format!(
            "these system packages are missing and this machine has no apt-get: {}",
            missing.join(" ")
        ));
    }
    println!("xtask: installing system packages: {}", missing.join(" "));
    let (program, prefix): (&str, &[&str]) = if process::is_root() {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    let run_apt = |args: &[&str]| {
        let mut full: Vec<&str> = prefix.to_vec();
        full.extend_from_slice(args);
        process::run(command(program, &full).env("DEBIAN_FRONTEND", "noninteractive"))
    };
    run_apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    run_apt(&install)
}

fn is_installed(package: &str) -> bool {
    process::output("dpkg-query", &["-W", "-f=${Status}", package])
        .is_some_and(|status| status.trim_end().ends_with("install ok installed"))
}

/// The oldest Node.js the UI's tool chain (Vite) supports.
const NODE_MINIMUM: (u32, u32) = (20, 19);

/// node and npm: from Debian when absent; when Debian's is too old (Debian 12 and Ubuntu 24.04
/// ship Node 18), a current Node from the npm registry's `node` package, put first on PATH.
pub fn node() -> Result<(), String> {
    if !(process::has_program("npm") && process::has_program("node")) {
        system_packages(NODE_PACKAGES)?;
    }
    if node_is_recent() {
        return Ok(());
    }
    let tools = crate::target_dir().join("tools/node");
    let bin = tools.join("node_modules/node/bin");
    if !bin.join("node").is_file() {
        println!(
            "xtask: this Node.js is older than {}.{}; installing Node 22 from the npm registry",
            NODE_MINIMUM.0, NODE_MINIMUM.1
        );
        std::fs::create_dir_all(&tools).map_err(|e| format!("cannot create {tools:?}: {e}"))?;
        let prefix = tools.to_str().ok_or("target path is not UTF-8")?;
        process::run(&mut command(
            "npm",
            &[
                "install",
                "--prefix",
                prefix,
                "--no-save",
                "--no-audit",
                "--no-fund",
                "node@22",
            ],
        ))?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let joined = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    // Every later step (npm, vite, playwright) is a child of this process and inherits PATH.
    std::env::set_var("PATH", joined);
    if node_is_recent() {
        Ok(())
    } else {
        Err("could not get a recent enough Node.js".into())
    }
}

fn node_is_recent() -> bool {
    let Some(version) = process::output("node", &["--version"]) else {
        return false;
    };
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= NODE_MINIMUM
}

/// `npm ci` in ui/ when its node_modules is missing or older than the lock file.
pub fn ui_packages() -> Result<(), String> {
    npm_packages(&crate::root().join("ui"))
}

/// `npm ci` in `dir` when its node_modules is missing or older than the lock file.
pub fn npm_packages(dir: &std::path::Path) -> Result<(), String> {
    node()?;
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    println!("xtask: installing npm packages in {}", dir.display());
    process::run(process::in_dir(
        &mut command("npm", &["ci", "--no-audit", "--no-fund"]),
        dir,
    ))
}

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// tauri-driver, the WebDriver bridge for the real-app test, from the crate registry.
pub fn tauri_driver() -> Result<std::path::PathBuf, String> {
    if let Some(path) = find_tauri_driver() {
        return Ok(path);
    }
    println!("xtask: installing tauri-driver {TAURI_DRIVER_VERSION}");
    process::run(&mut command(
        "cargo",
        &[
            "install",
            "tauri-driver",
            "--version",
            TAURI_DRIVER_VERSION,
            "--locked",
        ],
    ))?;
    find_tauri_driver().ok_or_else(|| "tauri-driver was installed but cannot be found".to_string())
}

fn find_tauri_driver() -> Option<std::path::PathBuf> {
    // `cargo install` puts it in $CARGO_HOME/bin, which need not be on PATH.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo"))
        });
    cargo_home
        .map(|home| home.join("bin/tauri-driver"))
        .filter(|installed| installed.is_file())
        .or_else(|| process::find_program("tauri-driver"))
}

/// schemathesis (the gateway's schema-driven fuzzer, from PyPI) in a virtual environment under
/// `target/tools/schemathesis`, at the versions `crates/gateway/tests/fuzz/requirements.txt`
/// pins; reinstalled when that list changes. Returns its `st` program.
pub fn schemathesis() -> Result<std::path::PathBuf, String> {
    let requirements = crate::root().join("crates/gateway/tests/fuzz/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {requirements:?}: {e}"))?;
    let pin = format!("schemathesis=={SCHEMATHESIS_VERSION}");
    if !wanted.lines().any(|line| line.trim() == pin) {
        return Err(format!("{requirements:?} does not pin {pin}"));
    }
    let venv = crate::target_dir().join("tools/schemathesis");
    let st = venv.join("bin/st");
    // A copy of the list it was installed from: the same list, nothing to do.
    let installed_from = venv.join("requirements.txt");
    if st.is_file() && std::fs::read_to_string(&installed_from).ok().as_deref() == Some(&wanted) {
        return Ok(st);
    }
    println!(
        "xtask: installing schemathesis {SCHEMATHESIS_VERSION} in {}",
        venv.display()
    );
    system_packages(PYTHON_PACKAGES)?;
    let venv_str = venv.to_str().ok_or("target path is not UTF-8")?;
    if !venv.join("bin/python").is_file() {
        process::run(&mut command("python3", &["-m", "venv", venv_str]))?;
    }
    let pip = venv.join("bin/pip");
    let list = requirements.to_str().ok_or("repo path is not UTF-8")?;
    process::run(&mut command(
        pip.to_str().ok_or("target path is not UTF-8")?,
        &[
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "-r",
            list,
        ],
    ))?;
    if !st.is_file() {
        return Err(format!("schemathesis was installed but {st:?} is missing"));
    }
    std::fs::write(&installed_from, &wanted)
        .map_err(|e| format!("cannot write {installed_from:?}: {e}"))?;
    Ok(st)
}
