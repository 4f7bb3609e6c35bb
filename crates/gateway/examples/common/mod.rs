//! What the process-level examples (`gateway_bench`, `gateway_soak`) share: starting sfsim and
//! gateway binaries as processes, a database per run, signing in as a browser would, sfsim's
//! counters and its admin view.
//!
//! The binaries and the PostgreSQL server come from `cargo xtask bench gateway` / `cargo xtask
//! soak gateway`, through the environment variables named below.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use companion_api::{ExchangeRequest, ExchangeResponse};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `sfsim` binary (release build).
pub const SFSIM_BIN_VAR: &str = "COMPANION_SFSIM_BIN";
/// The `companion-gateway` binary (release build).
pub const GATEWAY_BIN_VAR: &str = "COMPANION_GATEWAY_BIN";
/// An admin URL of a PostgreSQL server the run may create databases on.
pub const DATABASE_URL_VAR: &str = "COMPANION_BENCH_DATABASE_URL";
/// The pid of that server's postmaster, if known: the bench reports its CPU time.
pub const POSTGRES_PID_VAR: &str = "COMPANION_BENCH_POSTGRES_PID";

/// The loopback callback the sign-ins use; any port is allowed by the gateway's defaults.
pub const REDIRECT_URI: &str = "http://127.0.0.1:53682/callback";
/// The gateways' token key (base64 of 32 bytes): every instance of a run shares it.
pub const TOKEN_KEY_B64: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
/// The seeded users of sfsim's demo org (two reps and the admin).
pub const USERS: [&str; 3] = [
    "rep@demo.example",
    "rep2@demo.example",
    "admin@demo.example",
];
pub const ADMIN: &str = "admin@demo.example";
/// How long a server may take to print its address.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A required environment variable.
pub fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this through cargo xtask (bench|soak) gateway")
    })
}

/// A number from the environment variable `var`, or `default` when it is not set.
pub fn env_number<T: std::str::FromStr>(var: &str, default: T) -> T {
    match std::env::var(var) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a number")),
        Err(_) => default,
    }
}

/// A binary named by an environment variable, which must exist.
pub fn binary(var: &str) -> PathBuf {
    let path = PathBuf::from(env_var(var));
    assert!(path.is_file(), "{var}={} is not a file", path.display());
    path
}

/// A server process whose first stdout line is `<name> listening on http://…`. stderr goes to
/// `log` (appended, so a restarted instance adds to it). Killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Start `command` and wait, with a deadline, for its address.
    pub async fn start(mut command: Command, name: &str, log: &Path) -> Result<Server, String> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("opening {}: {e}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = match tokio::time::timeout(START_WITHIN, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => {
                let status = child.wait().await.map(|s| s.to_string());
                return Err(format!(
                    "{name} exited before it was listening ({status:?}); log {}:\n{}",
                    log.display(),
                    tail(log, 15)
                ));
            }
            Err(_) => {
                let _ = child.kill().await;
                return Err(format!(
                    "{name} did not say where it listens within {START_WITHIN:?}; log {}:\n{}",
                    log.display(),
                    tail(log, 15)
                ));
            }
        };
        let prefix = format!("{name} listening on ");
        let url = first
            .strip_prefix(&prefix)
            .ok_or_else(|| format!("{name} said {first:?} instead of {prefix:?}…"))?
            .trim()
            .to_string();
        // Nothing more is expected on stdout; read it anyway so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            url,
            log: log.to_path_buf(),
        })
    }

    /// SIGKILL, then reap it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

/// sfsim as a process on a free port of 127.0.0.1, with `args` added.
pub async fn start_sfsim(bin: &Path, args: &[String], log: &Path) -> Result<Server, String> {
    let mut command = Command::new(bin);
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "sfsim=warn");
    Server::start(command, "sfsim", log).await
}

/// How one gateway process is configured (through its environment, as in production).
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    pub sim_url: String,
    /// `127.0.0.1:PORT`; port 0 picks one.
    pub listen: String,
    pub data_dir: PathBuf,
    /// `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub upstream_timeout_secs: Option<u64>,
    pub idempotency_lease_secs: Option<u64>,
    /// PostgreSQL connections per instance (the gateway's default when `None`).
    pub database_max_connections: Option<u32>,
    /// `RUST_LOG` for the gateway.
    pub log_filter: String,
}

pub fn gateway_command(bin: &Path, settings: &GatewaySettings) -> Command {
    let mut command = Command::new(bin);
    command
        .env_clear()
        .env("COMPANION_GATEWAY_LISTEN", &settings.listen)
        .env("SALESFORCE_LOGIN_URL", &settings.sim_url)
        .env("SALESFORCE_CLIENT_ID", sfsim::DEMO_CLIENT_ID)
        .env("SALESFORCE_CLIENT_SECRET", sfsim::DEMO_CLIENT_SECRET)
        .env("COMPANION_GATEWAY_DATA_DIR", &settings.data_dir)
        .env("COMPANION_GATEWAY_TOKEN_KEY", TOKEN_KEY_B64)
        .env("RUST_LOG", &settings.log_filter);
    if let Some(url) = &settings.database_url {
        command.env("COMPANION_GATEWAY_DATABASE_URL", url);
    }
    if let Some(secs) = settings.upstream_timeout_secs {
        command.env("COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS", secs.to_string());
    }
    if let Some(connections) = settings.database_max_connections {
        command.env(
            "COMPANION_GATEWAY_DATABASE_MAX_CONNECTIONS",
            connections.to_string(),
        );
    }
    if let Some(secs) = settings.idempotency_lease_secs {
        command.env("COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS", secs.to_string());
    }
    command
}

pub async fn start_gateway(
    bin: &Path,
    settings: &GatewaySettings,
    log: &Path,
) -> Result<Server, String> {
    Server::start(gateway_command(bin, settings), "gateway", log).await
}

/// A fresh, empty database `name` on the server of `admin_url`; returns its URL.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("connecting to PostgreSQL: {e}"))?;
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(&statement)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("{statement}: {e}"))?;
    }
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin_url).map_err(|e| format!("database URL: {e}"))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .expect("a free port")
        .port()
}

/// A client that does not follow redirects (the sign-in reads them).
pub fn http_client(timeout: Duration, pool: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(pool)
        .build()
        .expect("HTTP client")
}

/// Play the browser at sfsim's authorize page, then exchange the code at `gateway_url`: a new
/// gateway session of `username`.
pub async fn sign_in(
    http: &reqwest::Client,
    sim_url: &str,
    gateway_url: &str,
    username: &str,
) -> Result<ExchangeResponse, String> {
    let verifier =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let params = [
        ("response_type", "code"),
        ("client_id", sfsim::DEMO_CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "api refresh_token"),
        ("state", "bench"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let authorize = format!("{sim_url}/services/oauth2/authorize");
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("username", username));
    form.push(("password", sfsim::DEMO_PASSWORD));
    let answer = http
        .post(&authorize)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("login form: {e}"))?;
    if answer.status() != 302 {
        return Err(format!("login form answered {}", answer.status()));
    }
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("login redirect without a location")?;
    let query: HashMap<String, String> = url::Url::parse(location)
        .map_err(|e| format!("login redirect: {e}"))?
        .query_pairs()
        .into_owned()
        .collect();
    let code = query.get("code").ok_or("login redirect without a code")?;
    let response = http
        .post(format!("{gateway_url}/v1/auth/exchange"))
        .json(&ExchangeRequest {
            code: code.clone(),
            code_verifier: verifier,
            redirect_uri: REDIRECT_URI.into(),
            login_host: sim_url.to_string(),
        })
        .send()
        .await
        .map_err(|e| format!("exchange: {e}"))?;
    let status = response.status();
    if status != 200 {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("exchange answered {status}: {body}"));
    }
    response
        .json()
        .await
        .map_err(|e| format!("exchange answer: {e}"))
}

/// sfsim's counters (`GET /__sim/stats`, needs `--control`).
pub async fn sim_stats(http: &reqwest::Client, sim_url: &str) -> serde_json::Value {
    http.get(format!("{sim_url}/__sim/stats"))
        .send()
        .await
        .expect("sfsim stats")
        .json()
        .await
        .expect("sfsim stats JSON")
}

/// REST API calls (`/services/data/…`) in sfsim's counters: what Salesforce would count.
pub fn rest_calls(stats: &serde_json::Value) -> u64 {
    stats["endpoints"]
        .as_object()
        .map(|endpoints| {
            endpoints
                .iter()
                .filter(|(route, _)| route.contains("/services/data"))
                .filter_map(|(_, count)| count.as_u64())
                .sum()
        })
        .unwrap_or_default()
}

/// An access token of `username` straight from sfsim (password grant): `(instance_url, token)`.
pub async fn password_grant(
    http: &reqwest::Client,
    sim_url: &str,
    username: &str,
) -> Result<(String, String), String> {
    let token: serde_json::Value = http
        .post(format!("{sim_url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", sfsim::DEMO_CLIENT_ID),
            ("client_secret", sfsim::DEMO_CLIENT_SECRET),
            ("username", username),
            ("password", sfsim::DEMO_PASSWORD),
        ])
        .send()
        .await
        .map_err(|e| format!("token endpoint: {e}"))?
        .json()
        .await
        .map_err(|e| format!("token answer: {e}"))?;
    match (
        token["instance_url"].as_str(),
        token["access_token"].as_str(),
    ) {
        (Some(instance), Some(access)) => Ok((instance.to_string(), access.to_string())),
        _ => Err(format!("token answer without a token: {token}")),
    }
}

/// Every record of a SOQL query, following `nextRecordsUrl`, as `username` straight at sfsim.
pub async fn query_all(
    http: &reqwest::Client,
    sim_url: &str,
    username: &str,
    soql: &str,
) -> Result<Vec<serde_json::Value>, String> {
    let (instance, token) = password_grant(http, sim_url, username).await?;
    let mut url = url::Url::parse(&format!(
        "{instance}/services/data/v{}/query",
        salesforce::API_VERSION
    ))
    .map_err(|e| e.to_string())?;
    url.query_pairs_mut().append_pair("q", soql);
    let mut records = Vec::new();
    let mut next = Some(url.to_string());
    while let Some(page_url) = next.take() {
        let response = http
            .get(&page_url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| format!("query: {e}"))?;
        let status = response.status();
        let page: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("query answer: {e}"))?;
        if status != 200 {
            return Err(format!("query answered {status}: {page}"));
        }
        records.extend(page["records"].as_array().cloned().unwrap_or_default());
        if page["done"] == false {
            let more = page["nextRecordsUrl"]
                .as_str()
                .ok_or("a page that is not done has no nextRecordsUrl")?;
            next = Some(format!("{instance}{more}"));
        }
    }
    Ok(records)
}

/// The `Retry-After` of an answer in seconds, if it has one.
pub fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// CPU time from `/proc` (Linux), to show where a run's CPU went.
pub mod cpu {
    /// Clock ticks per second of `/proc`'s times (`getconf CLK_TCK`, 100 on Linux).
    pub const TICKS_PER_SECOND: f64 = 100.0;

    /// `(ppid, utime + stime, cutime + cstime)` of a process, in ticks.
    fn stat(pid: u32) -> Option<(u32, u64, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold spaces: the fields start after it.
        let fields: Vec<&str> = text.get(text.rfind(')')? + 2..)?.split(' ').collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        Some((
            number(1)? as u32,
            number(11)? + number(12)?,
            number(13)? + number(14)?,
        ))
    }

    /// CPU ticks a process has used.
    pub fn of(pid: u32) -> u64 {
        stat(pid).map_or(0, |(_, own, _)| own)
    }

    /// CPU ticks of a process, its live children and the children it has reaped (a
    /// PostgreSQL postmaster and its backends).
    pub fn of_tree(pid: u32) -> u64 {
        let Some((_, own, reaped)) = stat(pid) else {
            return 0;
        };
        let children: u64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(stat)
            .filter(|(ppid, _, _)| *ppid == pid)
            .map(|(_, own, _)| own)
            .sum();
        own + reaped + children
    }

    /// `(busy, all)` ticks of the whole machine, over every core (`/proc/stat`).
    pub fn machine() -> (u64, u64) {
        let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let Some(line) = text.lines().next() else {
            return (0, 0);
        };
        let values: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let all: u64 = values.iter().take(8).sum();
        // idle and iowait
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        (all - idle, all)
    }

    /// The load average over the last minute.
    pub fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    }
}

/// A CPU limit on one process, as a container's CPU limit puts one on a deployed instance:
/// its own cgroup with a CFS quota (`cpu.cfs_quota_us` under cgroup v1's `cpu` controller, or
/// `cpu.max` under cgroup v2). Linux, as root. A few writes to `/sys/fs/cgroup` need no crate.
pub mod cpu_cap {
    use std::path::PathBuf;

    const PERIOD_US: u64 = 100_000;

    /// The cgroup; removed when dropped (once the process in it has exited).
    pub struct CpuCap {
        dir: PathBuf,
    }

    impl CpuCap {
        /// Puts `pid` (all its threads) in a new cgroup allowed `cpus` cores' worth of time.
        pub fn apply(pid: u32, cpus: f64) -> Result<CpuCap, String> {
            if cpus.is_nan() || cpus <= 0.0 {
                return Err(format!("a CPU cap must be more than 0 cores, not {cpus}"));
            }
            let quota = (cpus * PERIOD_US as f64).round() as u64;
            let name = format!("companion-bench-{pid}");
            let v2 = PathBuf::from("/sys/fs/cgroup");
            let v1 = v2.join("cpu");
            let write = |path: PathBuf, text: String| {
                std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
            };
            let dir = if v1.join("cpu.cfs_quota_us").is_file() {
                let dir = v1.join(name);
                create(&dir)?;
                write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
                dir
            } else if std::fs::read_to_string(v2.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
            {
                // The cpu controller must be enabled for the root's children.
                write(v2.join("cgroup.subtree_control"), "+cpu".into())?;
                let dir = v2.join(name);
                create(&dir)?;
                write(dir.join("cpu.max"), format!("{quota} {PERIOD_US}"))?;
                dir
            } else {
                return Err("no cgroup cpu controller under /sys/fs/cgroup".into());
            };
            let cap = CpuCap { dir };
            write(cap.dir.join("cgroup.procs"), pid.to_string())?;
            Ok(cap)
        }
    }

    fn create(dir: &PathBuf) -> Result<(), String> {
        match std::fs::create_dir(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(format!(
                "creating the cgroup {} (as root?): {e}",
                dir.display()
            )),
        }
    }

    impl Drop for CpuCap {
        fn drop(&mut self) {
            // A cgroup goes once it holds no process; the killed instance may take a moment.
            for _ in 0..50 {
                if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}
