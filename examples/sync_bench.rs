//! End-to-end read-path benchmark: `cargo xtask bench sync` (builds the release CLI, then runs
//! `cargo run --release -p companion --example sync_bench`).
//!
//! sfsim (in-process, mimalloc like its binary) → the gateway (in-process) → the release
//! `companion-cli` binary writing its encrypted replica. Prints `sync bench: <name> <value> <unit>`:
//! - first sync of 10,000 accounts + 50,000 contacts + 20,000 opportunities, records/s, and the
//!   CLI's peak resident memory during it; then the merge of the search index's segments the
//!   app runs after it in the background;
//! - a no-change refresh (background kind, and the rep's pull-to-refresh that also looks for
//!   records that left their view), ms;
//! - the search box's top-50 latency p50/p99 over a replica of 100,000 contacts, right after
//!   its first sync and again once its index is tidied.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use companion_core::{Companion, Config, FileStore, PushMode, SecretStore, SyncOptions};
use sfsim::{SeedCounts, Sim, SimConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN: &str = "admin@demo.example";
const REDIRECT: &str = "http://127.0.0.1:45123/callback";

#[tokio::main]
async fn main() {
    let cli = cli_binary();

    // 1. First sync through the CLI, as a rep's device would do it.
    let sim = start(SeedCounts {
        accounts: 10_000,
        contacts: 50_000,
        opportunities: 20_000,
        tasks: 0,
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let url = gateway.base_url();
    let device = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(FileStore::in_data_dir(device.path()));
    sign_in(&url, device.path(), secrets.clone()).await;
    let started = Instant::now();
    let child = Command::new(&cli)
        .args(["--gateway", &url, "--data-dir"])
        .arg(device.path())
        .arg("sync")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bench-bus",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("companion-cli runs");
    // Waited for on a blocking thread: sfsim and the gateway keep serving meanwhile.
    let (succeeded, peak_rss, cpu) = tokio::task::spawn_blocking(move || wait_with_usage(child))
        .await
        .unwrap();
    let first_sync = started.elapsed();
    assert!(succeeded, "companion-cli sync failed");
    let core = open(&url, device.path(), secrets.clone());
    let counts = core.status().counts;
    let records: u64 = counts.values().sum();
    // The seeded records, and the demo org's 30 leads (the fifth object since the outbox).
    assert_eq!(
        (
            counts["Account"],
            counts["Contact"],
            counts["Opportunity"],
            counts["Lead"]
        ),
        (10_000, 50_000, 20_000, 30),
        "{counts:?}"
    );
    report("first_sync_records", records as f64, "records");
    report("first_sync_seconds", first_sync.as_secs_f64(), "s");
    report(
        "first_sync_records_per_second",
        records as f64 / first_sync.as_secs_f64(),
        "records/s",
    );
    report("first_sync_cli_peak_rss", peak_rss, "MiB");
    report("first_sync_cli_cpu_seconds", cpu, "s");
    // What the app's background loop does next, off the sync's path: merge the segments the
    // first sync's pages wrote into the search index.
    let begin = Instant::now();
    let steps = core.tidy_search().await.unwrap();
    report("search_tidy_after_first_sync", ms(begin.elapsed()), "ms");
    report("search_tidy_steps", steps as f64, "steps");

    // 2. No-change refreshes, in-process.
    let mut background = Vec::new();
    let mut pull_to_refresh = Vec::new();
    for _ in 0..20 {
        let begin = Instant::now();
        core.sync_with(
            SyncOptions {
                reconcile: false,
                push: PushMode::Skip,
            },
            |_| {},
        )
        .await
        .unwrap();
        background.push(begin.elapsed());
        let begin = Instant::now();
        core.sync(|_| {}).await.unwrap();
        pull_to_refresh.push(begin.elapsed());
    }
    report(
        "no_change_refresh_median",
        ms(median(&mut background)),
        "ms",
    );
    report(
        "no_change_pull_to_refresh_median",
        ms(median(&mut pull_to_refresh)),
        "ms",
    );
    drop(core);
    gateway.shutdown().await;
    sim.shutdown().await;

    // 3. Search over 100,000 contacts.
    let sim = start(SeedCounts {
        accounts: 2_000,
        contacts: 100_000,
        opportunities: 0,
        tasks: 0,
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let url = gateway.base_url();
    let device = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(companion_core::MemoryStore::default());
    sign_in(&url, device.path(), secrets.clone()).await;
    let core = open(&url, device.path(), secrets);
    core.sync_with(
        SyncOptions {
            reconcile: false,
            push: PushMode::Skip,
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(core.status().counts["Contact"], 100_000);
    // What reps type: first names, last names, starts of both, emails, phone digits, companies,
    // titles, single letters and two-letter starts (the slowest: they match the most).
    let contacts = core.contacts(None).unwrap();
    let mut queries: Vec<String> = Vec::new();
    for (i, c) in contacts.iter().step_by(contacts.len() / 200).enumerate() {
        let first = c.first_name.clone().unwrap_or_default();
        match i % 6 {
            0 => queries.push(c.name.clone()),
            1 => queries.push(c.last_name.chars().take(3).collect()),
            2 => queries.push(format!(
                "{} {}",
                first.chars().take(2).collect::<String>(),
                c.last_name.chars().take(2).collect::<String>()
            )),
            3 => queries.push(
                c.email
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(6)
                    .collect(),
            ),
            4 => queries.push(c.account_name.clone().unwrap_or_default()),
            _ => queries.push(c.title.clone().unwrap_or_default()),
        }
    }
    queries.extend(["a", "m", "jo", "sa", "555", "ex", "vp", "head of"].map(String::from));
    // Right after the first sync (the index as its pages wrote it), then once tidied.
    for tidied in ["", "_tidied"] {
        if !tidied.is_empty() {
            core.tidy_search().await.unwrap();
        }
        let mut times = Vec::new();
        for _ in 0..5 {
            for query in &queries {
                let begin = Instant::now();
                let hits = core.search(query).unwrap();
                times.push(begin.elapsed());
                assert!(hits.len() <= 50);
            }
        }
        times.sort();
        report(
            &format!("search{tidied}_queries"),
            times.len() as f64,
            "searches",
        );
        report(
            &format!("search{tidied}_top50_p50"),
            ms(times[times.len() / 2]),
            "ms",
        );
        report(
            &format!("search{tidied}_top50_p99"),
            ms(times[times.len() * 99 / 100]),
            "ms",
        );
        report(
            &format!("search{tidied}_top50_max"),
            ms(*times.last().unwrap()),
            "ms",
        );
    }
    gateway.shutdown().await;
    sim.shutdown().await;
}

async fn start(seed: SeedCounts) -> Sim {
    sfsim::start(
        loopback(),
        SimConfig {
            seed,
            daily_api_limit: 10_000_000,
            ..SimConfig::default()
        },
    )
    .await
    .expect("sfsim starts")
}

fn open(url: &str, data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Companion {
    Companion::open(
        Config {
            gateway_url: url.parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
        },
        secrets,
    )
    .expect("core opens")
}

async fn sign_in(url: &str, data_dir: &Path, secrets: Arc<dyn SecretStore>) {
    let core = open(url, data_dir, secrets);
    let login = core.begin_login(REDIRECT).await.unwrap();
    let callback = browser_sign_in(&login.authorize_url, ADMIN).await;
    core.complete_login(&callback).await.unwrap();
}

/// The release `companion-cli` next to this example (xtask builds it first).
fn cli_binary() -> std::path::PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // the example's own name
    dir.pop(); // examples
    let path = dir.join(format!("companion-cli{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: cargo build --release -p companion-cli",
        path.display()
    );
    path
}

/// Waits for `child`: whether it succeeded, its own peak resident set (MiB) and CPU time (s).
/// `wait4` gives that one process's usage (`cargo run` execs this example, so the children
/// totals of `getrusage` would include the compiler's).
fn wait_with_usage(child: std::process::Child) -> (bool, f64, f64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is our own child, not yet waited for; wait4 fills `status` and `usage`.
    let usage = unsafe {
        let waited = libc::wait4(pid, &mut status, 0, usage.as_mut_ptr());
        assert_eq!(waited, pid, "wait4 on the CLI");
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        usage.ru_maxrss as f64 / 1024.0, // kilobytes on Linux
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
    )
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, value: f64, unit: &str) {
    println!("sync bench: {name} {value:.2} {unit}");
}
