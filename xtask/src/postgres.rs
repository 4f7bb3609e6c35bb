//! A throwaway PostgreSQL server from Debian's package, for the tests and benchmarks that need
//! one: `start` initdb's a cluster in a temporary folder and starts it on a free port of
//! 127.0.0.1; dropping the returned guard stops it and deletes the folder.
//!
//! As root (CI), every server command runs as the `postgres` user through `runuser`, because
//! initdb and postgres refuse root; the data folder is under the system's temporary folder, not
//! under target/, so that user can reach it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::install;
use crate::process;

/// The variable the PostgreSQL tests read: an admin (superuser) URL of a running server.
pub const URL_VAR: &str = "COMPANION_TEST_DATABASE_URL";

/// The Debian packages that provide the server (on Debian 12, postgresql-15).
pub const PACKAGES: &[&str] = &["postgresql"];

/// Where Debian keeps each version's binaries, off PATH: `<here>/<version>/bin`.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";

/// The prefix of the data folders' names, `companion-pg-<pid>-<n>`.
const DIR_PREFIX: &str = "companion-pg-";

/// How many free ports are tried before giving up (another process may take the port between
/// our probe and the server's bind).
const START_ATTEMPTS: u32 = 3;

/// Durability settings. The default turns everything off, as a throwaway test cluster can; a
/// benchmark that wants realistic commits sets `fsync: true` (and maybe `full_page_writes`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub fsync: bool,
    pub synchronous_commit: bool,
    pub full_page_writes: bool,
}

/// A running server. Dropping it stops the server (`pg_ctl stop -m fast`) and deletes its data
/// folder, so a failed step still cleans up.
pub struct Postgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser, trusted without password.
    pub url: String,
    pub port: u16,
    /// The data folder; it also holds `server.log` and the Unix socket.
    pub dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
}

/// `start_with(&Options::default())`: fsync, synchronous_commit and full_page_writes off.
pub fn start() -> Result<Postgres, String> {
    start_with(&Options::default())
}

/// Installs PostgreSQL if missing, initdb's a fresh cluster and starts it.
pub fn start_with(options: &Options) -> Result<Postgres, String> {
    let started = Instant::now();
    let bin = match binaries() {
        Some(bin) => bin,
        None => {
            install::system_packages(PACKAGES)?;
            binaries().ok_or_else(|| {
                format!("PostgreSQL is installed but {DEBIAN_LIB}/<version>/bin/pg_ctl is missing")
            })?
        }
    };
    let as_root = process::is_root();
    remove_stale(&bin, as_root);

    let dir = create_dir()?;
    // From here on, dropping `server` deletes the folder (and stops a server if one runs).
    let mut server = Postgres {
        url: String::new(),
        port: 0,
        dir,
        bin,
        as_root,
    };
    let dir_text = server.dir_text()?.to_string();
    if as_root {
        process::run_quiet(Command::new("chown").args(["postgres:postgres", &dir_text]))?;
    }
    process::run_quiet(server.command("initdb").args([
        "-D",
        dir_text.as_str(),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]))?;

    let log = server.log();
    let mut failures = Vec::new();
    for attempt in 1..=START_ATTEMPTS {
        let port = free_port()?;
        let settings = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={dir_text} \
             -c fsync={} -c synchronous_commit={} -c full_page_writes={} -c max_connections=300",
            on_off(options.fsync),
            on_off(options.synchronous_commit),
            on_off(options.full_page_writes),
        );
        let start = process::run_quiet(
            server
                .command("pg_ctl")
                .args(["-D", dir_text.as_str(), "-l"])
                .arg(&log)
                .args(["-w", "-t", "30", "-o", settings.as_str(), "start"]),
        );
        match start {
            Ok(()) => {
                server.port = port;
                server.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
                println!(
                    "xtask: PostgreSQL {} ready at {} (data in {}, {:.1} s)",
                    server.version(),
                    server.url,
                    server.dir.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(server);
            }
            Err(error) => {
                // A start that timed out may leave a server behind.
                server.stop("immediate");
                failures.push(format!("attempt {attempt} (port {port}): {error}"));
            }
        }
    }
    Err(format!(
        "PostgreSQL did not start:\n{}\nlast lines of {}:\n{}",
        failures.join("\n"),
        log.display(),
        tail(&log, 30)
    ))
}

/// `cargo xtask postgres -- CMD ARGS…`: runs CMD with `COMPANION_TEST_DATABASE_URL` set to a
/// throwaway server, stops the server, and exits with CMD's status.
pub fn run_command(command: &[&str]) -> Result<ExitCode, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("usage: cargo xtask postgres -- COMMAND [ARGS…]".into());
    };
    let server = start()?;
    println!("$ {URL_VAR}={} {}", server.url, command.join(" "));
    let status = Command::new(program)
        .args(args)
        .env(URL_VAR, &server.url)
        .status();
    drop(server);
    let status = status.map_err(|e| format!("could not start `{program}`: {e}"))?;
    Ok(exit_code(status))
}

impl Postgres {
    /// The path of the server's log (`server.log` in the data folder).
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The major version, from the binaries' folder (`/usr/lib/postgresql/15/bin` → "15").
    fn version(&self) -> String {
        self.bin
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn dir_text(&self) -> Result<&str, String> {
        let text = self
            .dir
            .to_str()
            .ok_or_else(|| format!("temporary folder is not UTF-8: {:?}", self.dir))?;
        // The folder goes into pg_ctl's -o, which a shell splits.
        if text
            .chars()
            .any(|c| c.is_whitespace() || "'\"\\$`".contains(c))
        {
            return Err(format!(
                "temporary folder {text:?} has spaces or quotes; set TMPDIR to a plain path"
            ));
        }
        Ok(text)
    }

    /// A server binary, run as `postgres` when we are root, in the data folder.
    fn command(&self, program: &str) -> Command {
        server_command(&self.bin, program, self.as_root, &self.dir)
    }

    /// `pg_ctl stop -m MODE` when a server runs in the folder; failures are only printed.
    fn stop(&self, mode: &str) {
        if !self.dir.join("postmaster.pid").exists() {
            return;
        }
        let stop = process::run_quiet(
            self.command("pg_ctl")
                .arg("-D")
                .arg(&self.dir)
                .args(["-m", mode, "-w", "stop"]),
        );
        if let Err(error) = stop {
            eprintln!("xtask: could not stop PostgreSQL: {error}");
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop("fast");
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: could not remove {}: {error}", self.dir.display());
        }
    }
}

fn server_command(bin: &Path, program: &str, as_root: bool, dir: &Path) -> Command {
    let program = bin.join(program);
    let mut command = if as_root {
        let mut runuser = Command::new("runuser");
        runuser.args(["-u", "postgres", "--"]).arg(program);
        runuser
    } else {
        Command::new(program)
    };
    // The postgres user may not be allowed into our working folder.
    command.current_dir(dir);
    command
}

/// `/usr/lib/postgresql/<highest version>/bin`, if it has initdb and pg_ctl.
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(DEBIAN_LIB)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version: Vec<u32> = name
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A new, empty `<temp>/companion-pg-<pid>-<n>`, mode 0700.
fn create_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let temp = std::env::temp_dir();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = temp.join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
}

/// Stops and deletes what a killed xtask (Ctrl-C, SIGKILL) left: folders whose pid is gone.
fn remove_stale(bin: &Path, as_root: bool) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        println!(
            "xtask: removing {}, left by an xtask that is gone",
            dir.display()
        );
        if dir.join("postmaster.pid").exists() {
            let mut stop = server_command(bin, "pg_ctl", as_root, &dir);
            stop.arg("-D")
                .arg(&dir)
                .args(["-m", "immediate", "-w", "stop"]);
            if let Err(error) = process::run_quiet(&mut stop) {
                eprintln!("xtask: {error}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read it, let go.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The last `lines` lines of a file, or why it cannot be read.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

/// CMD's exit status as ours; killed by a signal becomes 128 + the signal, as in a shell.
fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(signal)) => ExitCode::from((128 + signal) as u8),
        (None, None) => ExitCode::FAILURE,
    }
}
