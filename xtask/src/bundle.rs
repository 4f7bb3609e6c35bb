//! `cargo xtask bundle`: the release app as Linux packages, built by Tauri's bundler (the npm
//! Tauri CLI pinned in `packaging/package.json`), then checked: no Salesforce client secret and
//! no token in the binary or the package, a desktop entry that hands `companion://` links to
//! the app (`%u`, tauri#15928), icons at the usual sizes, and dependencies that are exactly
//! what the binary links plus the programs it runs.
//!
//! Formats: `.deb` and `.rpm` (both written in Rust by the bundler, nothing downloaded). Not
//! AppImage: the bundler downloads AppRun and linuxdeploy from GitHub, which this machine cannot
//! reach (`tauri.conf.json` lists only deb and rpm, so a plain `tauri build` does not try).
//!
//! `cargo xtask test` packages the debug binary its Rust tests already built (`tauri bundle
//! --debug`: seconds, no compile), checks it the same way, installs it with apt-get, asks
//! `xdg-mime` who handles `x-scheme-handler/companion`, and removes it again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::install;
use crate::process::{self, command, in_dir};

/// The Debian package's name (`productName` in kebab case) and its desktop entry's file name.
pub const PACKAGE: &str = "companion";
pub const DESKTOP_FILE: &str = "Companion.desktop";
/// The URL scheme the sign-in callback uses.
pub const SCHEME_MIME: &str = "x-scheme-handler/companion";
/// Icon sizes a desktop looks for (hicolor theme).
const ICON_SIZES: &[u32] = &[32, 64, 128, 256, 512];
/// Depends entries that are programs the app runs, not libraries it links: xdg-open opens the
/// system browser for sign-in.
const RUNTIME_PROGRAMS: &[&str] = &["xdg-utils"];
/// Libraries every Debian/Ubuntu system has (priority required); never listed as dependencies.
const ALWAYS_THERE: &[&str] = &["libc6", "libgcc-s1"];

/// `cargo xtask bundle`: release build, packages, checks, paths and sizes.
pub fn run() -> Result<(), String> {
    let started = Instant::now();
    let mut packages = install::APP_PACKAGES.to_vec();
    // rpm2cpio and cpio unpack the .rpm for the same checks as the .deb.
    packages.extend(["dpkg-dev", "rpm", "cpio"]);
    install::system_packages(&packages)?;
    install::ui_packages()?;
    let tauri = tauri_cli()?;
    // beforeBuildCommand (tauri.conf.json) builds the UI; the CLI compiles with the
    // custom-protocol feature so ui/dist is embedded.
    process::run(in_dir(
        &mut command(path_str(&tauri)?, &["build", "--bundles", "deb,rpm"]),
        &crate::root().join("src-tauri"),
    ))?;
    let profile = crate::target_dir().join("release");
    let binary = profile.join("companion-app");
    let deb = newest(&profile.join("bundle/deb"), "deb")?;
    let rpm = newest(&profile.join("bundle/rpm"), "rpm")?;
    let checked = check_deb(&deb)?;
    let requires = check_rpm(&rpm)?;
    // The bundler's staging folders hold another copy of the binary.
    for format in ["deb", "rpm"] {
        let folder = profile.join("bundle").join(format);
        for staged in read_dir(&folder)?.into_iter().filter(|p| p.is_dir()) {
            let _ = std::fs::remove_dir_all(staged);
        }
    }
    scan(&binary, &secrets()?)?;
    println!(
        "\nxtask: packages built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("  binary  {}  {}", size(&binary)?, binary.display());
    println!("  deb     {}  {}", size(&deb)?, deb.display());
    println!("  rpm     {}  {}", size(&rpm)?, rpm.display());
    println!("  deb Depends: {}", checked.depends.join(", "));
    println!("  rpm Requires: {}", requires.join(", "));
    println!(
        "  not built: AppImage (the bundler downloads AppRun and linuxdeploy from GitHub)\n  \
         install: sudo apt-get install ./{}",
        deb.strip_prefix(crate::root()).unwrap_or(&deb).display()
    );
    Ok(())
}

/// The `.deb` of the debug binary `cargo test` built (with the same features as the release
/// build, so ui/dist is embedded): `tauri bundle` only packages, it compiles nothing.
pub fn debug_deb() -> Result<PathBuf, String> {
    let tauri = tauri_cli()?;
    process::run(in_dir(
        &mut command(
            path_str(&tauri)?,
            &["bundle", "--debug", "--bundles", "deb"],
        ),
        &crate::root().join("src-tauri"),
    ))?;
    let folder = crate::target_dir().join("debug/bundle/deb");
    // The bundler leaves its staging folder (a copy of the 70 MB debug binary) next to the .deb.
    for staged in read_dir(&folder)?.into_iter().filter(|p| p.is_dir()) {
        let _ = std::fs::remove_dir_all(staged);
    }
    newest(&folder, "deb")
}

/// The Tauri CLI from the npm registry (`packaging/package.json` pins the version of the
/// `tauri` crate); its prebuilt Linux binary comes as an optional npm dependency.
fn tauri_cli() -> Result<PathBuf, String> {
    let dir = crate::root().join("packaging");
    install::npm_packages(&dir)?;
    let cli = dir.join("node_modules/.bin/tauri");
    if cli.is_file() {
        Ok(cli)
    } else {
        Err(format!(
            "npm installed the Tauri CLI but {cli:?} is missing"
        ))
    }
}

/// What `check_deb` found.
pub struct Checked {
    pub depends: Vec<String>,
}

/// Unpacks the package and checks it: no secret or token in any file, the desktop entry, the
/// icons, the dependencies.
pub fn check_deb(deb: &Path) -> Result<Checked, String> {
    let unpacked = crate::target_dir().join("tmp/bundle-check");
    let _ = std::fs::remove_dir_all(&unpacked);
    let outcome = check_unpacked(deb, &unpacked);
    let _ = std::fs::remove_dir_all(&unpacked);
    outcome
}

fn check_unpacked(deb: &Path, unpacked: &Path) -> Result<Checked, String> {
    let data = unpacked.join("data");
    let control = unpacked.join("control");
    std::fs::create_dir_all(unpacked).map_err(|e| format!("cannot create {unpacked:?}: {e}"))?;
    let deb_str = path_str(deb)?;
    process::run_quiet(&mut command("dpkg-deb", &["-x", deb_str, path_str(&data)?]))?;
    process::run_quiet(&mut command(
        "dpkg-deb",
        &["-e", deb_str, path_str(&control)?],
    ))?;

    let secrets = secrets()?;
    let mut files = Vec::new();
    walk(unpacked, &mut files)?;
    scan(unpacked, &secrets)?;
    println!(
        "xtask: no client secret ({}) and no token in the {} files of {}",
        secrets.join(", "),
        files.len(),
        deb.display()
    );

    let binary_name = check_desktop_entry(&data)?;
    let binary = data.join("usr/bin").join(&binary_name);
    if !binary.is_file() {
        return Err(format!(
            "the desktop entry runs {binary_name}, which the package lacks"
        ));
    }
    check_icons(&data, &binary_name)?;
    let depends = check_depends(&control.join("control"), &binary)?;
    Ok(Checked { depends })
}

/// The same checks on the .rpm's files (unpacked with rpm2cpio | cpio); returns its Requires.
fn check_rpm(rpm: &Path) -> Result<Vec<String>, String> {
    let unpacked = crate::target_dir().join("tmp/bundle-check-rpm");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).map_err(|e| format!("cannot create {unpacked:?}: {e}"))?;
    let outcome = (|| {
        let script = "rpm2cpio \"$1\" | cpio -idm --quiet";
        process::run_quiet(in_dir(
            &mut command("sh", &["-c", script, "sh", path_str(rpm)?]),
            &unpacked,
        ))?;
        scan(&unpacked, &secrets()?)?;
        let binary_name = check_desktop_entry(&unpacked)?;
        check_icons(&unpacked, &binary_name)?;
        let requires =
            process::output("rpm", &["-qpR", path_str(rpm)?]).ok_or("rpm -qpR failed")?;
        Ok(requires
            .lines()
            .map(str::trim)
            .filter(|r| !r.is_empty() && !r.starts_with("rpmlib("))
            .map(String::from)
            .collect())
    })();
    let _ = std::fs::remove_dir_all(&unpacked);
    outcome
}

/// `Exec=<binary> %u` (the URL reaches the app) and `MimeType=…x-scheme-handler/companion;`.
/// Returns the binary's name (also the icon's name).
fn check_desktop_entry(data: &Path) -> Result<String, String> {
    let apps = data.join("usr/share/applications");
    let entries: Vec<PathBuf> = read_dir(&apps)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "desktop"))
        .collect();
    let [entry] = entries.as_slice() else {
        return Err(format!(
            "expected one desktop entry in {apps:?}, found {entries:?}"
        ));
    };
    if entry.file_name().and_then(|n| n.to_str()) != Some(DESKTOP_FILE) {
        return Err(format!(
            "the desktop entry is {entry:?}, expected {DESKTOP_FILE}"
        ));
    }
    let text = read_text(entry)?;
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let exec = value("Exec").ok_or_else(|| format!("{DESKTOP_FILE} has no Exec:\n{text}"))?;
    let mut words = exec.split_whitespace();
    let program = words.next().unwrap_or_default().to_string();
    if !words.any(|word| word == "%u" || word == "%U") {
        return Err(format!(
            "{DESKTOP_FILE} has `Exec={exec}` without %u: a companion:// link would start the \
             app without the link (tauri#15928)"
        ));
    }
    let mime = value("MimeType").unwrap_or_default();
    if !mime.split(';').any(|m| m == SCHEME_MIME) || !mime.ends_with(';') {
        return Err(format!(
            "{DESKTOP_FILE} has `MimeType={mime}`, expected a `;`-terminated list with {SCHEME_MIME}"
        ));
    }
    if value("Icon") != Some(program.as_str()) {
        return Err(format!("{DESKTOP_FILE}: Icon is not {program}:\n{text}"));
    }
    println!("xtask: {DESKTOP_FILE}: Exec={exec}, MimeType={mime}");
    Ok(program)
}

/// `usr/share/icons/hicolor/NxN/apps/<name>.png`, each a PNG of that size.
fn check_icons(data: &Path, name: &str) -> Result<(), String> {
    for &size in ICON_SIZES {
        let icon = data.join(format!(
            "usr/share/icons/hicolor/{size}x{size}/apps/{name}.png"
        ));
        let bytes = std::fs::read(&icon).map_err(|e| format!("icon {icon:?}: {e}"))?;
        // PNG signature, then the IHDR chunk: width and height, big-endian, at bytes 16..24.
        let dimension = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n")
            || dimension(16) != Some(size)
            || dimension(20) != Some(size)
        {
            return Err(format!("{icon:?} is not a {size}x{size} PNG"));
        }
    }
    println!("xtask: icons {ICON_SIZES:?} px present");
    Ok(())
}

/// Every library the binary links comes from a package in Depends or from one of their own
/// dependencies (or from libc6/libgcc-s1); every Depends entry provides a linked library or is
/// a program the app runs. So nothing is missing and nothing is extra.
fn check_depends(control: &Path, binary: &Path) -> Result<Vec<String>, String> {
    let text = read_text(control)?;
    let depends: Vec<String> = text
        .lines()
        .find_map(|line| line.strip_prefix("Depends:"))
        .unwrap_or_default()
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or_default().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    let objdump = process::output("objdump", &["-p", path_str(binary)?])
        .ok_or("objdump -p failed (binutils)")?;
    let needed: Vec<&str> = objdump
        .lines()
        .filter_map(|line| line.trim().strip_prefix("NEEDED"))
        .map(str::trim)
        .collect();
    let mut closure_args = vec![
        "depends",
        "--recurse",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
    ];
    closure_args.extend(depends.iter().map(String::as_str));
    let closure = process::output("apt-cache", &closure_args).ok_or("apt-cache depends failed")?;
    let in_closure = |package: &str| {
        closure.lines().any(|line| {
            let line = line.trim();
            let name = line.strip_prefix("Depends:").map(str::trim).unwrap_or(line);
            let name = name.trim_start_matches('|');
            name.split(':').next() == Some(package)
        })
    };
    let mut used = Vec::new();
    for (library, package) in needed.iter().zip(owners(&needed)?) {
        if ALWAYS_THERE.contains(&package.as_str()) {
            continue;
        }
        if !depends.contains(&package) && !in_closure(&package) {
            return Err(format!(
                "the binary links {library} from {package}, which Depends ({}) does not bring",
                depends.join(", ")
            ));
        }
        used.push(package);
    }
    for dependency in &depends {
        if !used.contains(dependency) && !RUNTIME_PROGRAMS.contains(&dependency.as_str()) {
            return Err(format!(
                "Depends lists {dependency}, but the binary links no library of it and runs \
                 no program of it"
            ));
        }
    }
    println!(
        "xtask: Depends: {} — covers the {} libraries the binary links",
        depends.join(", "),
        needed.len()
    );
    Ok(depends)
}

/// The installed Debian package each linked library (`libfoo.so.1`) comes from.
fn owners(libraries: &[&str]) -> Result<Vec<String>, String> {
    let cache = process::output("ldconfig", &["-p"]).unwrap_or_default();
    let mut paths = Vec::new();
    let mut candidates_of = Vec::new();
    for library in libraries {
        let found = cache
            .lines()
            .filter(|line| line.trim().starts_with(&format!("{library} ")))
            .filter(|line| line.contains("x86-64") || !cfg!(target_arch = "x86_64"))
            .find_map(|line| line.rsplit("=> ").next())
            .map(str::trim)
            .ok_or_else(|| format!("ldconfig does not know {library}"))?;
        // dpkg knows each file under the path its package ships (/lib or /usr/lib).
        let mut candidates = vec![found.to_string()];
        if let Ok(real) = std::fs::canonicalize(found) {
            candidates.push(real.display().to_string());
        }
        for path in candidates.clone() {
            match path.strip_prefix("/usr") {
                Some(rest) => candidates.push(rest.to_string()),
                None => candidates.push(format!("/usr{path}")),
            }
        }
        paths.extend(candidates.iter().cloned());
        candidates_of.push(candidates);
    }
    // One dpkg call: it prints `package: path` for the paths it knows (and fails for others).
    let out = Command::new("dpkg")
        .arg("-S")
        .args(&paths)
        .output()
        .map_err(|e| format!("could not run dpkg -S: {e}"))?;
    let said = String::from_utf8_lossy(&out.stdout);
    let owner_of = |path: &str| {
        said.lines().find_map(|line| {
            let (package, file) = line.split_once(": ")?;
            (file.trim() == path).then(|| package.split(':').next().unwrap_or(package).to_string())
        })
    };
    libraries
        .iter()
        .zip(&candidates_of)
        .map(|(library, candidates)| {
            candidates
                .iter()
                .find_map(|path| owner_of(path))
                .ok_or_else(|| format!("no installed package owns {library} ({candidates:?})"))
        })
        .collect()
}

/// The Salesforce client secrets the project uses anywhere (sfsim's demo connected app, the
/// demo, tests): string literals on lines that name a client secret, in the project's sources.
pub fn secrets() -> Result<Vec<String>, String> {
    let root = crate::root();
    let mut found: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    for dir in [
        "crates",
        "xtask",
        "tests",
        "src-tauri/src",
        "src-tauri/tests",
        "deploy",
        "examples",
    ] {
        let dir = root.join(dir);
        if dir.is_dir() {
            walk_sources(&dir, &mut sources)?;
        }
    }
    for file in &sources {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            let lower = line.to_ascii_lowercase();
            let names_secret = lower.contains("client_secret")
                || lower.contains("client-secret")
                || lower.contains("clientsecret");
            if !names_secret {
                continue;
            }
            for literal in literals(line) {
                // A value, not a name or a message: secret characters only, long enough, not
                // the field's own name.
                let key: String = literal
                    .to_ascii_lowercase()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                let secret_chars = literal
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b));
                if literal.len() >= 8
                    && secret_chars
                    && !key.contains("clientsecret")
                    && !found.iter().any(|f| f == literal)
                {
                    found.push(literal.to_string());
                }
            }
        }
    }
    // sfsim's DEMO_CLIENT_SECRET is the one the demo and most tests use: it must be found.
    let sfsim = read_text(&root.join("crates/sfsim/src/lib.rs"))?;
    let demo = sfsim
        .lines()
        .find(|line| line.contains("DEMO_CLIENT_SECRET: &str"))
        .and_then(|line| literals(line).into_iter().next())
        .ok_or("crates/sfsim/src/lib.rs has no DEMO_CLIENT_SECRET literal")?;
    if !found.iter().any(|f| f == demo) {
        found.push(demo.to_string());
    }
    Ok(found)
}

/// The "…" and '…' literals of one source line.
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let after = &rest[start + 1..];
        let Some(end) = after.find(quote) else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

fn walk_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for path in read_dir(dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "node_modules" && name != "target" && !name.starts_with('.') {
                walk_sources(&path, out)?;
            }
        } else if [
            ".rs", ".mjs", ".js", ".ts", ".toml", ".json", ".env", ".service", ".sh",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Token shapes (`grep -E`): a Salesforce access token (`00D` + org id + `!` + a long tail), a
/// Salesforce refresh token (`5Aep861…`, also what sfsim issues), a JWT (`eyJ….eyJ…`), an
/// `Authorization: Bearer` value. (The gateway's own session tokens are 43 random base64url
/// characters, indistinguishable from other bytes; the app keeps them in the OS keyring.)
const TOKEN_SHAPES: &[&str] = &[
    "00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{30,}",
    "5Aep861[A-Za-z0-9._-]{20,}",
    "eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}",
    "Bearer [A-Za-z0-9._-]{20,}",
];

/// Fails if a file (or any file under a folder) holds one of `secrets` or something shaped
/// like a token. GNU grep reads the bytes (`-a`), so a binary is searched like text.
pub fn scan(path: &Path, secrets: &[String]) -> Result<(), String> {
    let path = path_str(path)?;
    let mut fixed = command("grep", &["-r", "-a", "-o", "-F"]);
    for secret in secrets {
        fixed.args(["-e", secret]);
    }
    fixed.arg(path);
    if let Some(found) = grep(&mut fixed)? {
        return Err(format!(
            "a client secret is in the package or binary:\n{found}"
        ));
    }
    let mut shapes = command("grep", &["-r", "-a", "-o", "-E"]);
    for shape in TOKEN_SHAPES {
        shapes.args(["-e", shape]);
    }
    shapes.arg(path);
    if let Some(found) = grep(&mut shapes)? {
        return Err(format!(
            "something shaped like a token is in the package or binary:\n{found}"
        ));
    }
    Ok(())
}

/// The first matches grep printed, or None when nothing matched.
fn grep(grep: &mut Command) -> Result<Option<String>, String> {
    let out = grep
        .output()
        .map_err(|e| format!("could not run grep: {e}"))?;
    match out.status.code() {
        Some(1) => Ok(None),
        Some(0) => {
            let said = String::from_utf8_lossy(&out.stdout);
            Ok(Some(said.lines().take(5).collect::<Vec<_>>().join("\n")))
        }
        _ => Err(format!(
            "grep failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Installs the package system-wide (apt-get, as root or with sudo), runs `check` against the
/// installed app, and removes the package again — also when the check fails.
pub fn with_installed<T>(
    deb: &Path,
    check: impl FnOnce(&Installed) -> Result<T, String>,
) -> Result<T, String> {
    let deb = std::fs::canonicalize(deb).map_err(|e| format!("{deb:?}: {e}"))?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        path_str(&deb)?,
    ])?;
    let outcome = installed().and_then(|installed| check(&installed));
    let removed = apt(&["purge", "-y", "-qq", PACKAGE]);
    let value = outcome?;
    removed?;
    if Path::new("/usr/share/applications")
        .join(DESKTOP_FILE)
        .exists()
    {
        return Err(format!(
            "/usr/share/applications/{DESKTOP_FILE} is still there after removal"
        ));
    }
    Ok(value)
}

/// The installed package, for checks that run the app as a rep would.
pub struct Installed {
    /// The program the desktop entry starts (`/usr/bin/companion-app`).
    pub binary: PathBuf,
    /// The installed desktop entry.
    pub desktop_file: PathBuf,
}

fn installed() -> Result<Installed, String> {
    let files = process::output("dpkg", &["-L", PACKAGE])
        .ok_or_else(|| format!("dpkg -L {PACKAGE}: the package is not installed"))?;
    let find = |prefix: &str| {
        files
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with(prefix) && line.len() > prefix.len())
            .map(PathBuf::from)
            .ok_or_else(|| format!("the installed package has nothing under {prefix}"))
    };
    let installed = Installed {
        binary: find("/usr/bin/")?,
        desktop_file: find("/usr/share/applications/")?,
    };
    if !installed.binary.is_file() || !installed.desktop_file.is_file() {
        return Err(format!(
            "{:?} or {:?} is missing after installation",
            installed.binary, installed.desktop_file
        ));
    }
    Ok(installed)
}

/// What the desktop answers for `companion://` links: `xdg-mime query default` in a clean
/// home, so a handler a development build registered for this user does not count.
pub fn scheme_handler() -> Result<String, String> {
    let home = crate::target_dir().join("tmp/xdg-home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create {home:?}: {e}"))?;
    let mut xdg_mime = command("xdg-mime", &["query", "default", SCHEME_MIME]);
    xdg_mime
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_DIRS", "/etc/xdg")
        .env("XDG_DATA_DIRS", "/usr/local/share:/usr/share")
        .env_remove("XDG_CURRENT_DESKTOP")
        .env_remove("DESKTOP_SESSION");
    let out = xdg_mime
        .output()
        .map_err(|e| format!("could not run xdg-mime: {e}"))?;
    let _ = std::fs::remove_dir_all(&home);
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The step `cargo xtask test` runs: package the debug build, check the package, install it,
/// check that the desktop hands companion:// links to it, remove it.
pub fn test_step(tauri_driver: &Path) -> Result<(), String> {
    let deb = debug_deb()?;
    check_deb(&deb)?;
    scan(
        &crate::target_dir().join("debug/companion-app"),
        &secrets()?,
    )?;
    with_installed(&deb, |installed| {
        let handler = scheme_handler()?;
        if handler != DESKTOP_FILE {
            return Err(format!(
                "xdg-mime query default {SCHEME_MIME} says {handler:?}, expected {DESKTOP_FILE}"
            ));
        }
        println!(
            "xtask: installed {} and {}; xdg-mime: {SCHEME_MIME} -> {handler}",
            installed.binary.display(),
            installed.desktop_file.display()
        );
        // The installed binary under Xvfb against sfsim and a gateway: the rep chooses the
        // server, signs in, and the callback comes through `xdg-open companion://…`.
        let mut cargo =
            crate::test::real_app_tests(tauri_driver, &[crate::test::INSTALLED_APP_TEST]);
        cargo
            .env("COMPANION_INSTALLED_APP", &installed.binary)
            .env("COMPANION_INSTALLED_DESKTOP_FILE", &installed.desktop_file);
        crate::test::run_on_a_display(&cargo)
    })?;
    let after = scheme_handler()?;
    if after == DESKTOP_FILE {
        return Err(format!(
            "{SCHEME_MIME} still goes to {DESKTOP_FILE} after removal"
        ));
    }
    println!("xtask: removed {PACKAGE}; xdg-mime: {SCHEME_MIME} -> {after:?}");
    Ok(())
}

fn apt(args: &[&str]) -> Result<(), String> {
    let mut apt: Command = if process::is_root() {
        command("apt-get", args)
    } else {
        let mut sudo = command("sudo", &["apt-get"]);
        sudo.args(args);
        sudo
    };
    // Another apt-get (a test installing packages) may hold the lock for a moment.
    apt.args(["-o", "DPkg::Lock::Timeout=120"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    process::run_quiet(&mut apt)
}

fn newest(dir: &Path, extension: &str) -> Result<PathBuf, String> {
    read_dir(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| format!("no .{extension} in {dir:?}"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for path in read_dir(dir)? {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{path:?}: {e}"))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {dir:?}: {e}"))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path:?}: {e}"))
}

fn size(path: &Path) -> Result<String, String> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| format!("{path:?}: {e}"))?
        .len();
    Ok(format!(
        "{:>6.1} MiB ({bytes} bytes)",
        bytes as f64 / 1048576.0
    ))
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {path:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_secret_list_has_sfsims_demo_secret_and_no_names() {
        let secrets = secrets().unwrap();
        assert!(
            secrets.iter().any(|s| s == "companion-demo-secret"),
            "{secrets:?}"
        );
        assert!(
            secrets
                .iter()
                .all(|s| !s.to_ascii_lowercase().contains("client_secret")),
            "{secrets:?}"
        );
    }

    #[test]
    fn the_scan_finds_a_secret_or_a_token_inside_binary_bytes() {
        let secrets = vec!["companion-demo-secret".to_string()];
        let dir = folder("scan");
        let file = dir.join("usr/bin/app");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            b"\x00\x01plain bytes, ids like 00D7F00000107XsUAI\xff",
        )
        .unwrap();
        scan(&dir, &secrets).unwrap();
        let tokens: [&[u8]; 5] = [
            b"companion-demo-secret",
            b"00D7F00000107Xs!AR8AQJXg.abcdefghijklmnopqrstuvwxyz0123456789",
            b"5Aep861TZBHERFHW.aHGs_0123456789abcdefghijkl",
            b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIwMDV4eDAwMDAwMDFTdjEifQ.sig",
            b"Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        ];
        for token in tokens {
            let mut bytes = b"\x00\x7fELF".to_vec();
            bytes.extend_from_slice(token);
            bytes.push(0);
            std::fs::write(&file, &bytes).unwrap();
            let error = scan(&dir, &secrets).unwrap_err();
            assert!(error.contains("usr/bin/app"), "{error}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_desktop_entry_without_the_url_argument_is_refused() {
        let dir = folder("desktop");
        let apps = dir.join("usr/share/applications");
        std::fs::create_dir_all(&apps).unwrap();
        let entry = |exec: &str, mime: &str| {
            format!(
                "[Desktop Entry]\nExec={exec}\nIcon=companion-app\nName=Companion\n\
                 Type=Application\nMimeType={mime}\n"
            )
        };
        let file = apps.join(DESKTOP_FILE);
        // What Tauri's own template writes (tauri#15928).
        std::fs::write(&file, entry("companion-app", "x-scheme-handler/companion")).unwrap();
        let error = check_desktop_entry(&dir).unwrap_err();
        assert!(error.contains("without %u"), "{error}");
        std::fs::write(&file, entry("companion-app %u", "text/plain;")).unwrap();
        assert!(check_desktop_entry(&dir).is_err());
        std::fs::write(
            &file,
            entry("companion-app %u", "x-scheme-handler/companion;"),
        )
        .unwrap();
        assert_eq!(check_desktop_entry(&dir).unwrap(), "companion-app");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_template_in_the_repository_passes_the_entry_check() {
        // The template tauri.conf.json points both packages at, rendered as the bundler does.
        let template = read_text(&crate::root().join("packaging/linux/companion.desktop")).unwrap();
        let rendered: String = template
            .lines()
            .filter(|line| !line.starts_with("{{#if") && !line.starts_with("{{/if"))
            .map(|line| {
                line.replace("{{exec}}", "companion-app")
                    .replace("{{icon}}", "companion-app")
                    .replace("{{name}}", "Companion")
                    .replace("{{categories}}", "Office;")
                    .replace("{{comment}}", "c")
                    .replace("{{mime_type}}", "x-scheme-handler/companion")
                    + "\n"
            })
            .collect();
        let dir = folder("template");
        let apps = dir.join("usr/share/applications");
        std::fs::create_dir_all(&apps).unwrap();
        std::fs::write(apps.join(DESKTOP_FILE), rendered).unwrap();
        assert_eq!(check_desktop_entry(&dir).unwrap(), "companion-app");
        let conf = read_text(&crate::root().join("src-tauri/tauri.conf.json")).unwrap();
        assert_eq!(
            conf.matches("\"desktopTemplate\": \"../packaging/linux/companion.desktop\"")
                .count(),
            2,
            "deb and rpm both use the template"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
