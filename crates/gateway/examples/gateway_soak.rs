//! Gateway soak: `cargo xtask soak gateway [--minutes N] [--seed S]` (which builds the release
//! binaries, starts PostgreSQL and sets the variables of `common/mod.rs`, plus
//! `COMPANION_SOAK_MINUTES` and `COMPANION_SOAK_SEED`).
//!
//! Two gateway processes share one PostgreSQL database (upstream timeout 2 s, idempotency lease
//! 20 s, the least the gateway accepts for that timeout) in front of an sfsim process with
//! `--control --refresh-token-rotation`. For N minutes:
//! - 20 clients create leads, each with a key and body of its own. A client sends to one
//!   instance; on a transport error, a timeout, a 5xx or a 409 it sends **the same key and body**
//!   to the other instance, waiting `Retry-After` when the answer has one; it records every key
//!   acknowledged (201/200) with the record id it was given. A 401 signs the client in again.
//! - every 3-6 s (seeded) one instance is killed with SIGKILL and started again on its port;
//! - every 1-2 s one fault is queued at sfsim on the Composite Graph path (the write): a 503, a
//!   connection dropped before or after the write, or the answer held 3 s after the write landed
//!   (longer than the upstream timeout);
//! - every 30 s sfsim expires every access token, so refreshes (rotating the refresh token) happen
//!   among the kills.
//!
//! Then killing and faults stop, the clients finish the writes they have (bounded by the lease +
//! 60 s), and every lead's `Companion_Key__c` is read from sfsim as the admin. Every key's marker
//! must be there exactly once, with the id its client was given. A `reauth_required` is expected
//! only right after a kill (the holder of a refresh was killed after Salesforce rotated the token,
//! before it committed). Prints `soak gateway: writes W, acknowledged A, kills K, faults F,
//! duplicates D, missing M` and the details; exits non-zero on any duplicate, missing,
//! unacknowledged or wrong write, an unexpected `reauth_required`, or a gateway panic.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{GatewaySettings, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::watch;

const INSTANCES: usize = 2;
const CLIENTS: usize = 20;
const UPSTREAM_TIMEOUT_SECS: u64 = 2;
const LEASE_SECS: u64 = 20;
/// A client gives up on one attempt after this long (a write may wait for a token refresh,
/// recover, write and read back, each bounded by the upstream timeout).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between one client's writes, drawn uniformly (ms).
const THINK_MS: (u64, u64) = (50, 150);
const KILL_EVERY_MS: (u64, u64) = (3_000, 6_000);
const FAULT_EVERY_MS: (u64, u64) = (1_000, 2_000);
const EXPIRE_EVERY: Duration = Duration::from_secs(30);
/// A held answer longer than the upstream timeout.
const DELAY_AFTER_MS: u64 = 3_000;
/// A `reauth_required` this soon after a kill is the documented loss of a rotated refresh token.
const REAUTH_WINDOW: Duration = Duration::from_secs(10);
/// The drain: the lease (a killed instance's keys) and a minute more.
const DRAIN: Duration = Duration::from_secs(LEASE_SECS + 60);
/// Restarting a killed instance on its port may take this long at most.
const RESTART_WITHIN: Duration = Duration::from_secs(30);

/// What the clients, the killer and the checks share.
struct Shared {
    sim_url: String,
    urls: Vec<String>,
    http: reqwest::Client,
    /// No new writes once set; the clients finish the ones they have.
    stop_new: AtomicBool,
    /// After this, a client stops retrying.
    drain_deadline: OnceLock<Instant>,
    /// Answers that made a client send again, by kind.
    retries: Mutex<BTreeMap<String, u64>>,
    kills: Mutex<Vec<Instant>>,
    /// When a client was told `401` (and signed in again), and its code.
    reauths: Mutex<Vec<(Instant, String)>>,
}

impl Shared {
    fn count_retry(&self, what: String) {
        *lock(&self.retries).entry(what).or_default() += 1;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One write a client made: its key, and what became of it.
struct Written {
    user_id: String,
    key: String,
    /// The record id of the 201/200 answer.
    acknowledged: Option<String>,
    /// Why the client stopped without an acknowledgement.
    failure: Option<String>,
}

/// A client's session.
struct Session {
    token: String,
    user_id: String,
    username: &'static str,
}

#[tokio::main]
async fn main() -> ExitCode {
    let minutes: f64 = common::env_number("COMPANION_SOAK_MINUTES", 2.0);
    let seed: u64 = common::env_number("COMPANION_SOAK_SEED", 1);
    let sfsim_bin = common::binary(common::SFSIM_BIN_VAR);
    let gateway_bin = common::binary(common::GATEWAY_BIN_VAR);
    let admin_url = common::env_var(common::DATABASE_URL_VAR);
    let work = tempfile::tempdir().expect("a temporary folder");
    let run_for = Duration::from_secs_f64(minutes * 60.0);

    let sim = common::start_sfsim(
        &sfsim_bin,
        &[
            "--control".into(),
            "--refresh-token-rotation".into(),
            "--daily-api-limit".into(),
            "1000000000".into(),
            "--token-requests-per-hour".into(),
            "1000000".into(),
        ],
        &work.path().join("sfsim.log"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let database_url = common::create_database(&admin_url, "soak")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ports = Vec::new();
    while ports.len() < INSTANCES {
        let port = common::free_port();
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    let settings: Vec<GatewaySettings> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| GatewaySettings {
            sim_url: sim.url.clone(),
            listen: format!("127.0.0.1:{port}"),
            data_dir: work.path().join(format!("gateway-{i}")),
            database_url: Some(database_url.clone()),
            upstream_timeout_secs: Some(UPSTREAM_TIMEOUT_SECS),
            idempotency_lease_secs: Some(LEASE_SECS),
            database_max_connections: None,
            log_filter: "info,tower_http=warn".into(),
        })
        .collect();
    let logs: Vec<PathBuf> = (0..INSTANCES)
        .map(|i| work.path().join(format!("gateway-{i}.log")))
        .collect();
    let mut servers = Vec::new();
    for i in 0..INSTANCES {
        servers.push(Some(
            common::start_gateway(&gateway_bin, &settings[i], &logs[i])
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        ));
    }
    let urls: Vec<String> = servers
        .iter()
        .map(|s| s.as_ref().expect("started").url.clone())
        .collect();
    let shared = Arc::new(Shared {
        sim_url: sim.url.clone(),
        urls,
        http: common::http_client(CLIENT_TIMEOUT, 64),
        stop_new: AtomicBool::new(false),
        drain_deadline: OnceLock::new(),
        retries: Mutex::new(BTreeMap::new()),
        kills: Mutex::new(Vec::new()),
        reauths: Mutex::new(Vec::new()),
    });
    println!(
        "soak gateway: {minutes} min, seed {seed}: {INSTANCES} gateways on PostgreSQL \
         (upstream timeout {UPSTREAM_TIMEOUT_SECS} s, lease {LEASE_SECS} s), sfsim with refresh-token \
         rotation, {CLIENTS} clients; a SIGKILL every {}-{} s, a fault every {}-{} s, access tokens \
         expired every {} s",
        KILL_EVERY_MS.0 / 1000,
        KILL_EVERY_MS.1 / 1000,
        FAULT_EVERY_MS.0 / 1000,
        FAULT_EVERY_MS.1 / 1000,
        EXPIRE_EVERY.as_secs()
    );

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let username = common::USERS[c % common::USERS.len()];
        let session = sign_in_anywhere(&shared, username)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let shared = shared.clone();
        clients.push(tokio::spawn(client(shared, c, session, seed)));
    }
    let started = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let killer = tokio::spawn(killer(
        shared.clone(),
        gateway_bin.clone(),
        settings.clone(),
        logs.clone(),
        servers,
        seed,
        stopped.clone(),
    ));
    let faults = tokio::spawn(inject_faults(shared.clone(), seed, stopped.clone()));
    let expiries = tokio::spawn(expire_tokens(shared.clone(), stopped));

    tokio::time::sleep(run_for).await;
    let _ = stop.send(true);
    let servers = killer.await.expect("killer");
    let faults = faults.await.expect("fault injector");
    let expiries = expiries.await.expect("token expiry");
    let unused_faults = clear_faults(&shared).await;
    shared.stop_new.store(true, Ordering::SeqCst);
    let drain_started = Instant::now();
    let _ = shared.drain_deadline.set(drain_started + DRAIN);
    let mut written = Vec::new();
    for client in clients {
        written.extend(client.await.expect("client task"));
    }
    let drained_in = drain_started.elapsed();
    let ran_for = started.elapsed();

    let report = check(&shared, &written).await;
    let kills = lock(&shared.kills).clone();
    let reauths = lock(&shared.reauths).clone();
    let expected_reauths = reauths
        .iter()
        .filter(|(at, _)| {
            kills
                .iter()
                .any(|k| *k <= *at && at.duration_since(*k) <= REAUTH_WINDOW)
        })
        .count();
    let unexpected_reauths = reauths.len() - expected_reauths;
    let Logs {
        panics,
        errors,
        outcomes,
    } = scan_logs(&logs);
    let fault_total: u64 = faults.values().sum();
    let acknowledged = written.iter().filter(|w| w.acknowledged.is_some()).count();

    println!(
        "soak gateway: writes {}, acknowledged {acknowledged}, kills {}, faults {fault_total}, \
         duplicates {}, missing {}",
        written.len(),
        kills.len(),
        report.duplicates,
        report.missing
    );
    println!(
        "soak gateway: unacknowledged {} ({} of them in Salesforce), acknowledged with another \
         id {}, markers of no write {}",
        report.unacknowledged, report.unacknowledged_present, report.wrong_ids, report.strays
    );
    let mut failures: BTreeMap<&str, u64> = BTreeMap::new();
    for w in &written {
        if let Some(why) = &w.failure {
            *failures.entry(why.as_str()).or_default() += 1;
        }
    }
    if !failures.is_empty() {
        println!("soak gateway: writes given up: {failures:?}");
    }
    println!(
        "soak gateway: faults queued {faults:?} ({unused_faults} unused at the end, cleared); \
         access-token expiries {expiries}"
    );
    println!(
        "soak gateway: retries by answer {:?}",
        lock(&shared.retries)
    );
    println!(
        "soak gateway: reauth_required {} ({expected_reauths} within {} s of a kill, {unexpected_reauths} \
         not)",
        reauths.len(),
        REAUTH_WINDOW.as_secs()
    );
    println!(
        "soak gateway: ran {:.0} s, {:.1} writes/s acknowledged, drain {:.1} s; gateway logs: \
         {panics} panics, {errors} ERROR lines",
        ran_for.as_secs_f64(),
        acknowledged as f64 / ran_for.as_secs_f64(),
        drained_in.as_secs_f64()
    );
    println!("soak gateway: write answers by outcome (gateway logs): {outcomes:?}");

    for server in servers {
        server.kill().await;
    }
    sim.kill().await;
    let ok = report.duplicates == 0
        && report.missing == 0
        && report.unacknowledged == 0
        && report.wrong_ids == 0
        && report.strays == 0
        && unexpected_reauths == 0
        && panics == 0;
    if ok {
        ExitCode::SUCCESS
    } else {
        for (i, log) in logs.iter().enumerate() {
            println!(
                "soak gateway: last lines of gateway {i}'s log:\n{}",
                common::tail(log, 20)
            );
        }
        println!("soak gateway: FAILED");
        ExitCode::FAILURE
    }
}

/// Sign `username` in through whichever instance answers, until the deadline.
async fn sign_in_anywhere(shared: &Shared, username: &'static str) -> Result<Session, String> {
    let deadline = Instant::now() + RESTART_WITHIN;
    let mut last = String::new();
    let mut i = rand::thread_rng().gen_range(0..shared.urls.len());
    while Instant::now() < deadline {
        match common::sign_in(&shared.http, &shared.sim_url, &shared.urls[i], username).await {
            Ok(answer) => {
                return Ok(Session {
                    token: answer.session_token,
                    user_id: answer.user.user_id,
                    username,
                })
            }
            Err(e) => last = e,
        }
        i = (i + 1) % shared.urls.len();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "{username} could not sign in within {RESTART_WITHIN:?}: {last}"
    ))
}

/// One client: new leads until told to stop, each sent until acknowledged.
async fn client(shared: Arc<Shared>, c: usize, mut session: Session, seed: u64) -> Vec<Written> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(c as u64));
    let mut instance = c % shared.urls.len();
    let mut written = Vec::new();
    let mut n = 0u64;
    while !shared.stop_new.load(Ordering::SeqCst) {
        n += 1;
        let key = format!("soak-{seed}-{c}-{n}");
        let body = json!({
            "LastName": format!("Soak {c}-{n}"),
            "Company": format!("Soak {:08x}", rng.gen::<u32>()),
            "Title": format!("Buyer {}", rng.gen_range(1..1000)),
        });
        let (acknowledged, failure) =
            write_until_done(&shared, &mut session, &key, &body, &mut instance).await;
        written.push(Written {
            user_id: session.user_id.clone(),
            key,
            acknowledged,
            failure,
        });
        let think = rng.gen_range(THINK_MS.0..=THINK_MS.1);
        tokio::time::sleep(Duration::from_millis(think)).await;
    }
    written
}

/// Send one write until it is acknowledged (the record id), switching instances after a
/// failure; `Err` reasons end it only past the drain deadline or on an answer no retry fixes.
async fn write_until_done(
    shared: &Shared,
    session: &mut Session,
    key: &str,
    body: &Value,
    instance: &mut usize,
) -> (Option<String>, Option<String>) {
    loop {
        if shared
            .drain_deadline
            .get()
            .is_some_and(|deadline| Instant::now() > *deadline)
        {
            return (None, Some("not done by the drain deadline".into()));
        }
        let url = &shared.urls[*instance];
        let sent = shared
            .http
            .post(format!("{url}/v1/leads"))
            .bearer_auth(&session.token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        let (what, wait, switch) = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = common::retry_after(&response);
                let answer: Result<Value, _> = response.json().await;
                match (status, answer) {
                    (200 | 201, Ok(answer)) => match answer["Id"].as_str() {
                        Some(id) => return (Some(id.to_string()), None),
                        None => return (None, Some(format!("{status} without an Id: {answer}"))),
                    },
                    (_, Err(e)) => (
                        format!("{status} with its body cut ({})", kind_of(&e)),
                        Duration::from_millis(200),
                        true,
                    ),
                    (401, Ok(answer)) => {
                        let code = answer["error"]["code"].as_str().unwrap_or("?").to_string();
                        lock(&shared.reauths).push((Instant::now(), code));
                        match sign_in_anywhere(shared, session.username).await {
                            Ok(new) => *session = new,
                            Err(e) => return (None, Some(e)),
                        }
                        continue;
                    }
                    (409, Ok(answer))
                        if answer["error"]["code"]
                            == companion_api::code::IDEMPOTENCY_IN_PROGRESS =>
                    {
                        (
                            "409 idempotency_in_progress".to_string(),
                            seconds(retry_after.unwrap_or(1)),
                            true,
                        )
                    }
                    (429, Ok(_)) => ("429".to_string(), seconds(retry_after.unwrap_or(1)), false),
                    (500..=599, Ok(answer)) => (
                        format!(
                            "{status} {}",
                            answer["error"]["code"].as_str().unwrap_or("(no code)")
                        ),
                        retry_after.map_or(Duration::from_millis(200), seconds),
                        true,
                    ),
                    (_, Ok(answer)) => {
                        return (None, Some(format!("{status} {}", answer["error"]["code"])))
                    }
                }
            }
            Err(e) => (kind_of(&e).to_string(), Duration::from_millis(200), true),
        };
        shared.count_retry(what);
        if switch {
            *instance = (*instance + 1) % shared.urls.len();
        }
        tokio::time::sleep(wait).await;
    }
}

fn seconds(s: u64) -> Duration {
    // A long Retry-After would only stretch the soak; no answer here asks for more than 60.
    Duration::from_secs(s.min(5))
}

fn kind_of(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection refused"
    } else {
        "connection lost"
    }
}

/// Every 3-6 s, SIGKILL one instance and start it again on its port; returns the running
/// instances once told to stop.
async fn killer(
    shared: Arc<Shared>,
    bin: PathBuf,
    settings: Vec<GatewaySettings>,
    logs: Vec<PathBuf>,
    mut servers: Vec<Option<Server>>,
    seed: u64,
    mut stop: watch::Receiver<bool>,
) -> Vec<Server> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6b11_1e55);
    loop {
        let wait = Duration::from_millis(rng.gen_range(KILL_EVERY_MS.0..=KILL_EVERY_MS.1));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
        let i = rng.gen_range(0..servers.len());
        if let Some(server) = servers[i].take() {
            server.kill().await;
        }
        lock(&shared.kills).push(Instant::now());
        servers[i] = Some(restart(&bin, &settings[i], &logs[i]).await);
    }
    servers
        .into_iter()
        .map(|s| s.expect("every instance runs"))
        .collect()
}

/// Start an instance again on its port; the port may take a moment to be free.
async fn restart(
    bin: &std::path::Path,
    settings: &GatewaySettings,
    log: &std::path::Path,
) -> Server {
    let deadline = Instant::now() + RESTART_WITHIN;
    loop {
        match common::start_gateway(bin, settings, log).await {
            Ok(server) => return server,
            Err(e) if Instant::now() < deadline => {
                eprintln!(
                    "soak gateway: restart on {} failed, again: {e}",
                    settings.listen
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("instance on {} did not restart: {e}", settings.listen),
        }
    }
}

/// Every 1-2 s, queue one fault on the write path; returns how many of each.
async fn inject_faults(
    shared: Arc<Shared>,
    seed: u64,
    mut stop: watch::Receiver<bool>,
) -> BTreeMap<&'static str, u64> {
    let graph = format!(
        "/services/data/v{}/composite/graph",
        salesforce::API_VERSION
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
    let mut counts = BTreeMap::new();
    loop {
        let wait = Duration::from_millis(rng.gen_range(FAULT_EVERY_MS.0..=FAULT_EVERY_MS.1));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
        let (name, mut fault) = match rng.gen_range(0..4) {
            0 => ("503", json!({"status": 503})),
            1 => ("drop_before", json!({"drop_connection": "before"})),
            2 => ("drop_after", json!({"drop_connection": "after"})),
            _ => ("delay_after", json!({"delay_after_ms": DELAY_AFTER_MS})),
        };
        fault["path"] = json!(graph);
        let response = shared
            .http
            .post(format!("{}/__sim/faults", shared.sim_url))
            .json(&fault)
            .send()
            .await
            .expect("sfsim takes faults");
        assert!(
            response.status().is_success(),
            "fault {fault} refused: {}",
            response.status()
        );
        *counts.entry(name).or_default() += 1;
    }
    counts
}

/// Every 30 s, end every access token at sfsim; returns how many times.
async fn expire_tokens(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) -> u64 {
    let mut count = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EXPIRE_EVERY) => {}
            _ = stop.changed() => break,
        }
        let response = shared
            .http
            .post(format!("{}/__sim/sessions/expire", shared.sim_url))
            .send()
            .await
            .expect("sfsim expires tokens");
        assert!(
            response.status().is_success(),
            "expire: {}",
            response.status()
        );
        count += 1;
    }
    count
}

/// Drop the faults still queued; returns how many were left.
async fn clear_faults(shared: &Shared) -> u64 {
    let url = format!("{}/__sim/faults", shared.sim_url);
    let queued: Value = shared
        .http
        .get(&url)
        .send()
        .await
        .expect("sfsim lists faults")
        .json()
        .await
        .expect("faults JSON");
    let left = queued["faults"]
        .as_array()
        .map(|faults| faults.iter().filter_map(|f| f["remaining"].as_u64()).sum())
        .unwrap_or_default();
    let response = shared
        .http
        .delete(&url)
        .send()
        .await
        .expect("sfsim clears faults");
    assert!(
        response.status().is_success(),
        "clear faults: {}",
        response.status()
    );
    left
}

#[derive(Default)]
struct Report {
    duplicates: usize,
    missing: usize,
    unacknowledged: usize,
    unacknowledged_present: usize,
    wrong_ids: usize,
    strays: usize,
}

/// Every lead's `Companion_Key__c`, read as the admin, against the writes made.
async fn check(shared: &Shared, written: &[Written]) -> Report {
    let leads = common::query_all(
        &shared.http,
        &shared.sim_url,
        common::ADMIN,
        "SELECT Id, Companion_Key__c FROM Lead WHERE Companion_Key__c != null",
    )
    .await
    .unwrap_or_else(|e| panic!("reading the leads: {e}"));
    let mut by_marker: HashMap<String, Vec<String>> = HashMap::new();
    for lead in &leads {
        if let (Some(marker), Some(id)) = (lead["Companion_Key__c"].as_str(), lead["Id"].as_str()) {
            by_marker
                .entry(marker.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    let mut report = Report::default();
    let mut ours = std::collections::HashSet::new();
    for w in written {
        let marker = companion_gateway::marker(&w.user_id, &w.key);
        let ids = by_marker
            .get(&marker)
            .map(Vec::as_slice)
            .unwrap_or_default();
        ours.insert(marker);
        if ids.len() > 1 {
            report.duplicates += 1;
            println!(
                "soak gateway: duplicate: key {} is in {} leads {ids:?}",
                w.key,
                ids.len()
            );
        }
        match &w.acknowledged {
            Some(id) if ids.is_empty() => {
                report.missing += 1;
                println!(
                    "soak gateway: missing: key {} was acknowledged as {id}",
                    w.key
                );
            }
            Some(id) if !ids.contains(id) => {
                report.wrong_ids += 1;
                println!(
                    "soak gateway: key {} was acknowledged as {id} but is {ids:?}",
                    w.key
                );
            }
            Some(_) => {}
            None => {
                report.unacknowledged += 1;
                if !ids.is_empty() {
                    report.unacknowledged_present += 1;
                }
            }
        }
    }
    report.strays = by_marker.keys().filter(|m| !ours.contains(*m)).count();
    report
}

/// What the gateways' logs say: panics, ERROR lines, and the outcomes of the writes they
/// answered (`created`, `recovered` after a lost answer, `replayed`, …).
struct Logs {
    panics: usize,
    errors: usize,
    outcomes: BTreeMap<String, u64>,
}

/// The text without its ANSI colour sequences (`ESC [ … m`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn scan_logs(logs: &[PathBuf]) -> Logs {
    let mut found = Logs {
        panics: 0,
        errors: 0,
        outcomes: BTreeMap::new(),
    };
    for log in logs {
        let text = without_colours(&std::fs::read_to_string(log).unwrap_or_default());
        found.panics += text.matches("panicked at").count();
        for line in text.lines() {
            if line.contains(" ERROR ") {
                found.errors += 1;
            }
            if let Some((_, rest)) = line.split_once(" outcome=") {
                let outcome: String = rest
                    .trim_start_matches('"')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                *found.outcomes.entry(outcome).or_default() += 1;
            }
        }
    }
    found
}
