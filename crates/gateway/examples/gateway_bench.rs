//! Gateway load benchmark, part of `cargo xtask bench gateway` (which builds the release
//! binaries, starts PostgreSQL and sets the variables of `common/mod.rs`).
//!
//! sfsim and the gateways run as processes, as deployed. For each store — SQLite (one
//! instance), PostgreSQL with one instance, PostgreSQL with two (clients assigned round-robin)
//! — and each load — 20 and 200 concurrent clients — it measures, for a fixed time after a
//! warm-up:
//! - `sync`: `POST /v1/sync` with the cursors of a finished sync (nothing new);
//! - `lead`: `POST /v1/leads` with a fresh `Idempotency-Key` each time;
//!
//! and prints `gateway bench: <store> <instances> <clients> <op> rps=… p50=…ms p99=…ms
//! sf_calls_per_op=…` (Salesforce calls counted by sfsim), then the goal lines
//! `pg/sqlite per instance = x.xx (goal ≥ 0.75)` and `pg×2 / pg×1 = x.xx (goal > 1)`.
//!
//! Every client has its own sessions (two, used in turn), so the per-session rate limit (20/s)
//! is not what is measured. Settings: `COMPANION_BENCH_LATENCY_MS` (sfsim's added latency per
//! REST call, default 50), `COMPANION_BENCH_SECONDS` (measured time per row, default 10),
//! `COMPANION_BENCH_WARMUP_SECONDS` (default 2), `COMPANION_BENCH_STORES` (which of
//! `sqlite,pg1,pg2`, in order; default all), `COMPANION_BENCH_DATABASE_MAX_CONNECTIONS` (the
//! PostgreSQL pool of each instance; default the gateway's), `COMPANION_BENCH_INSTANCE_CPUS`
//! (each gateway process limited to this many cores, as a container's CPU limit does to a
//! deployed instance, through a cgroup of its own; root only; default no limit).
//!
//! Without a limit, one instance takes whatever CPU the machine has left, so a second instance
//! on the same cores cannot add any: only with each instance held to its own share, and the
//! database, sfsim and the load generator outside it, does "per instance" mean what it means
//! in a deployment (instances on machines of their own, the database on another).
//!
//! Under each row, where the CPU went: milliseconds per operation of the gateways, PostgreSQL
//! (postmaster and backends), sfsim and this load generator, and how busy the machine's cores
//! were, by these processes and by the rest (other processes, the kernel). Other processes
//! (builds, tests) take CPU from a CPU-bound row; the CPU per operation is the figure they
//! disturb least.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cpu_cap::CpuCap;
use common::{GatewaySettings, Server};
use serde_json::json;

const CLIENT_COUNTS: [usize; 2] = [20, 200];
const SESSIONS_PER_CLIENT: usize = 2;
/// Sign-ins running at once while the sessions are made.
const SIGN_IN_CONCURRENCY: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "sqlite",
            Store::Postgres => "pg",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Sync,
    Lead,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sync => "sync",
            Op::Lead => "lead",
        }
    }
}

struct Settings {
    sfsim_bin: std::path::PathBuf,
    gateway_bin: std::path::PathBuf,
    database_url: String,
    postgres_pid: Option<u32>,
    /// The stores and instance counts to run, in order.
    stores: Vec<(Store, usize)>,
    database_max_connections: Option<u32>,
    /// Each gateway process held to this many cores (a cgroup CPU quota).
    instance_cpus: Option<f64>,
    latency_ms: u64,
    measure: Duration,
    warmup: Duration,
}

/// One measured row.
struct Row {
    store: Store,
    instances: usize,
    clients: usize,
    op: Op,
    rps: f64,
    p50: Duration,
    p99: Duration,
    calls_per_op: f64,
    errors: BTreeMap<String, u64>,
    cpu: CpuUse,
}

/// The processes whose CPU time a row reports.
struct Pids {
    gateways: Vec<u32>,
    sfsim: u32,
    /// The PostgreSQL postmaster (its backends are its children), when known.
    postgres: Option<u32>,
}

/// CPU ticks at one moment.
#[derive(Clone, Copy, Default)]
struct CpuTicks {
    gateways: u64,
    postgres: u64,
    sfsim: u64,
    client: u64,
    machine_busy: u64,
    machine_all: u64,
}

impl CpuTicks {
    fn now(pids: &Pids, store: Store) -> CpuTicks {
        let (machine_busy, machine_all) = common::cpu::machine();
        CpuTicks {
            gateways: pids.gateways.iter().map(|p| common::cpu::of(*p)).sum(),
            postgres: match (store, pids.postgres) {
                (Store::Postgres, Some(pid)) => common::cpu::of_tree(pid),
                _ => 0,
            },
            sfsim: common::cpu::of(pids.sfsim),
            client: common::cpu::of(std::process::id()),
            machine_busy,
            machine_all,
        }
    }
}

/// Where a row's CPU went: milliseconds per operation, and cores busy.
#[derive(Default)]
struct CpuUse {
    gateways_ms: f64,
    postgres_ms: f64,
    sfsim_ms: f64,
    client_ms: f64,
    cores_busy: f64,
    cores_ours: f64,
}

impl CpuUse {
    fn between(before: CpuTicks, after: CpuTicks, ops: usize, seconds: f64) -> CpuUse {
        let ms = |a: u64, b: u64| {
            b.saturating_sub(a) as f64 / common::cpu::TICKS_PER_SECOND * 1000.0 / ops.max(1) as f64
        };
        let cores = |ticks: u64| ticks as f64 / common::cpu::TICKS_PER_SECOND / seconds;
        let ours = (after.gateways + after.postgres + after.sfsim + after.client)
            .saturating_sub(before.gateways + before.postgres + before.sfsim + before.client);
        let busy = after.machine_busy.saturating_sub(before.machine_busy);
        let all = after.machine_all.saturating_sub(before.machine_all);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        CpuUse {
            gateways_ms: ms(before.gateways, after.gateways),
            postgres_ms: ms(before.postgres, after.postgres),
            sfsim_ms: ms(before.sfsim, after.sfsim),
            client_ms: ms(before.client, after.client),
            // /proc/stat counts every core's ticks.
            cores_busy: if all == 0 {
                0.0
            } else {
                busy as f64 / all as f64 * cpus
            },
            cores_ours: cores(ours),
        }
    }
}

#[tokio::main]
async fn main() {
    let settings = Settings {
        sfsim_bin: common::binary(common::SFSIM_BIN_VAR),
        gateway_bin: common::binary(common::GATEWAY_BIN_VAR),
        database_url: common::env_var(common::DATABASE_URL_VAR),
        postgres_pid: std::env::var(common::POSTGRES_PID_VAR)
            .ok()
            .and_then(|pid| pid.trim().parse().ok()),
        stores: std::env::var("COMPANION_BENCH_STORES")
            .unwrap_or_else(|_| "sqlite,pg1,pg2".into())
            .split(',')
            .map(|name| match name.trim() {
                "sqlite" => (Store::Sqlite, 1),
                "pg1" => (Store::Postgres, 1),
                "pg2" => (Store::Postgres, 2),
                other => panic!("COMPANION_BENCH_STORES: {other:?} is not sqlite, pg1 or pg2"),
            })
            .collect(),
        database_max_connections: std::env::var("COMPANION_BENCH_DATABASE_MAX_CONNECTIONS")
            .ok()
            .map(|n| {
                n.trim().parse().unwrap_or_else(|_| {
                    panic!("COMPANION_BENCH_DATABASE_MAX_CONNECTIONS must be a whole number")
                })
            }),
        instance_cpus: std::env::var("COMPANION_BENCH_INSTANCE_CPUS")
            .ok()
            .filter(|text| !text.trim().is_empty())
            .map(|text| {
                text.trim().parse().unwrap_or_else(|_| {
                    panic!("COMPANION_BENCH_INSTANCE_CPUS must be a number of cores, like 0.5")
                })
            }),
        latency_ms: common::env_number("COMPANION_BENCH_LATENCY_MS", 50),
        measure: Duration::from_secs(common::env_number("COMPANION_BENCH_SECONDS", 10)),
        warmup: Duration::from_secs(common::env_number("COMPANION_BENCH_WARMUP_SECONDS", 2)),
    };
    let work = tempfile::tempdir().expect("a temporary folder");
    println!(
        "gateway bench: setup: sfsim --latency-ms {} (a constant delay per Salesforce REST call); \
         {} s measured per row after {} s of warm-up; every client has {SESSIONS_PER_CLIENT} \
         sessions of its own; gateways log at warn; PostgreSQL pool per instance: {}; CPU \
         per instance: {}",
        settings.latency_ms,
        settings.measure.as_secs(),
        settings.warmup.as_secs(),
        settings
            .database_max_connections
            .map_or("the gateway's default".to_string(), |n| n.to_string()),
        settings
            .instance_cpus
            .map_or("no limit (shares the machine)".to_string(), |cpus| format!(
                "{cpus} cores (a cgroup quota each)"
            ))
    );
    println!(
        "gateway bench: load average (1 min) before the runs: {}",
        common::cpu::load_average()
    );
    if settings.instance_cpus.is_none() {
        println!(
            "gateway bench: caveat: sfsim, PostgreSQL, the gateways and this load generator all \
             share this machine's {} cores; two instances can beat one only where an instance \
             is bound by its own limits or by Salesforce's latency, not by the CPU",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }

    let sim_log = work.path().join("sfsim.log");
    let sim = common::start_sfsim(
        &settings.sfsim_bin,
        &[
            "--control".into(),
            "--latency-ms".into(),
            settings.latency_ms.to_string(),
            "--daily-api-limit".into(),
            "1000000000".into(),
            "--token-requests-per-hour".into(),
            "1000000".into(),
        ],
        &sim_log,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let http = common::http_client(Duration::from_secs(60), 512);

    let mut rows = Vec::new();
    for (store, instances) in settings.stores.clone() {
        let gateways = start_gateways(&settings, store, instances, &sim.url, work.path()).await;
        let urls: Vec<String> = gateways.iter().map(|(g, _)| g.url.clone()).collect();
        let sessions = sign_in_all(&http, &sim.url, &urls).await;
        let cursors = finished_syncs(&http, &urls[0], &sessions).await;
        let pids = Pids {
            gateways: gateways.iter().filter_map(|(g, _)| g.child.id()).collect(),
            sfsim: sim.child.id().expect("sfsim runs"),
            postgres: settings.postgres_pid,
        };
        for op in [Op::Sync, Op::Lead] {
            for clients in CLIENT_COUNTS {
                let row = run_row(
                    &settings, &http, &sim.url, &urls, &pids, &sessions, &cursors, store, op,
                    clients,
                )
                .await;
                print_row(&row);
                rows.push(row);
            }
        }
        for (gateway, cap) in gateways {
            gateway.kill().await;
            drop(cap);
        }
    }
    sim.kill().await;
    print_goals(&rows, settings.instance_cpus);
    println!(
        "gateway bench: load average (1 min) after the runs: {}",
        common::cpu::load_average()
    );
}

async fn start_gateways(
    settings: &Settings,
    store: Store,
    instances: usize,
    sim_url: &str,
    work: &std::path::Path,
) -> Vec<(Server, Option<CpuCap>)> {
    let name = format!("{}x{instances}", store.name());
    let database_url = match store {
        Store::Sqlite => None,
        Store::Postgres => Some(
            common::create_database(&settings.database_url, &format!("bench_{name}"))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    };
    let mut gateways = Vec::new();
    for i in 0..instances {
        let gateway_settings = GatewaySettings {
            sim_url: sim_url.to_string(),
            listen: "127.0.0.1:0".into(),
            data_dir: work.join(format!("{name}-{i}")),
            database_url: database_url.clone(),
            upstream_timeout_secs: None,
            idempotency_lease_secs: None,
            database_max_connections: settings.database_max_connections,
            log_filter: "warn".into(),
        };
        let log = work.join(format!("gateway-{name}-{i}.log"));
        let gateway = common::start_gateway(&settings.gateway_bin, &gateway_settings, &log)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cap = settings.instance_cpus.map(|cpus| {
            CpuCap::apply(gateway.child.id().expect("the gateway runs"), cpus)
                .unwrap_or_else(|e| panic!("COMPANION_BENCH_INSTANCE_CPUS: {e}"))
        });
        gateways.push((gateway, cap));
    }
    gateways
}

/// A session for every client slot (the largest client count × sessions per client), users in
/// turn, signed in through the instances in turn.
async fn sign_in_all(
    http: &reqwest::Client,
    sim_url: &str,
    urls: &[String],
) -> Vec<(String, usize)> {
    let wanted = CLIENT_COUNTS.iter().max().copied().unwrap_or(1) * SESSIONS_PER_CLIENT;
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(SIGN_IN_CONCURRENCY));
    let mut tasks = Vec::new();
    for i in 0..wanted {
        let http = http.clone();
        let sim_url = sim_url.to_string();
        let gateway = urls[i % urls.len()].clone();
        let user = i % common::USERS.len();
        let limit = limit.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.expect("semaphore");
            let answer = common::sign_in(&http, &sim_url, &gateway, common::USERS[user])
                .await
                .unwrap_or_else(|e| panic!("sign-in: {e}"));
            (answer.session_token, user)
        }));
    }
    let mut sessions = Vec::new();
    for task in tasks {
        sessions.push(task.await.expect("sign-in task"));
    }
    println!(
        "gateway bench: {} sessions signed in through {} instance(s) in {:.1} s",
        sessions.len(),
        urls.len(),
        started.elapsed().as_secs_f64()
    );
    sessions
}

/// Each user's cursors after a finished sync (a first sync to its end).
async fn finished_syncs(
    http: &reqwest::Client,
    url: &str,
    sessions: &[(String, usize)],
) -> Vec<serde_json::Value> {
    let mut cursors = Vec::new();
    for user in 0..common::USERS.len() {
        let (session, _) = sessions
            .iter()
            .find(|(_, u)| *u == user)
            .expect("a session of every user");
        let mut request = json!({"cursors": {}});
        for page in 0.. {
            assert!(page < 1000, "a sync that does not end");
            let response = http
                .post(format!("{url}/v1/sync"))
                .bearer_auth(session)
                .json(&request)
                .send()
                .await
                .expect("sync answers");
            assert_eq!(response.status(), 200, "first sync");
            let body: serde_json::Value = response.json().await.expect("sync JSON");
            request = json!({"cursors": body["cursors"]});
            if body["more"] != true {
                break;
            }
        }
        cursors.push(request);
    }
    cursors
}

#[allow(clippy::too_many_arguments)]
async fn run_row(
    settings: &Settings,
    http: &reqwest::Client,
    sim_url: &str,
    urls: &[String],
    pids: &Pids,
    sessions: &[(String, usize)],
    cursors: &[serde_json::Value],
    store: Store,
    op: Op,
    clients: usize,
) -> Row {
    let instances = urls.len();
    let started = Instant::now();
    let measured_from = started + settings.warmup;
    let measured_to = measured_from + settings.measure;
    let run = format!("{}x{instances}-{clients}", store.name());
    let mut tasks = Vec::new();
    for client in 0..clients {
        let http = http.clone();
        let url = urls[client % instances].clone();
        let mine: Vec<(String, usize)> = (0..SESSIONS_PER_CLIENT)
            .map(|s| sessions[client * SESSIONS_PER_CLIENT + s].clone())
            .collect();
        let cursors = cursors.to_vec();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut n = 0usize;
            while Instant::now() < measured_to {
                let (session, user) = &mine[n % mine.len()];
                n += 1;
                let request = match op {
                    Op::Sync => http.post(format!("{url}/v1/sync")).json(&cursors[*user]),
                    Op::Lead => http
                        .post(format!("{url}/v1/leads"))
                        .header("Idempotency-Key", format!("bench-{run}-{client}-{n}"))
                        .json(&json!({
                            "LastName": format!("Bench {client}-{n}"),
                            "Company": "Bench Co",
                        })),
                };
                let begin = Instant::now();
                let outcome = match request.bearer_auth(session).send().await {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        if status.is_success() {
                            Ok(())
                        } else {
                            Err(status.as_u16().to_string())
                        }
                    }
                    Err(e) if e.is_timeout() => Err("timeout".to_string()),
                    Err(_) => Err("transport".to_string()),
                };
                let end = Instant::now();
                if begin >= measured_from && end <= measured_to {
                    match outcome {
                        Ok(()) => times.push(end - begin),
                        Err(what) => *errors.entry(what).or_default() += 1,
                    }
                }
            }
            (times, errors)
        }));
    }
    tokio::time::sleep_until(measured_from.into()).await;
    let calls_before = common::rest_calls(&common::sim_stats(http, sim_url).await);
    let cpu_before = CpuTicks::now(pids, store);
    tokio::time::sleep_until(measured_to.into()).await;
    let cpu_after = CpuTicks::now(pids, store);
    let calls_after = common::rest_calls(&common::sim_stats(http, sim_url).await);
    let mut times = Vec::new();
    let mut errors = BTreeMap::new();
    for task in tasks {
        let (t, e) = task.await.expect("client task");
        times.extend(t);
        for (what, count) in e {
            *errors.entry(what).or_default() += count;
        }
    }
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Row {
        store,
        instances,
        clients,
        op,
        rps: times.len() as f64 / settings.measure.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        calls_per_op: (calls_after - calls_before) as f64 / times.len().max(1) as f64,
        errors,
        cpu: CpuUse::between(
            cpu_before,
            cpu_after,
            times.len(),
            settings.measure.as_secs_f64(),
        ),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_row(row: &Row) {
    let errors = if row.errors.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = row.errors.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!(" errors={}", list.join(","))
    };
    println!(
        "gateway bench: {} {} {} {} rps={:.1} p50={:.1}ms p99={:.1}ms sf_calls_per_op={:.2}{errors}",
        row.store.name(),
        row.instances,
        row.clients,
        row.op.name(),
        row.rps,
        ms(row.p50),
        ms(row.p99),
        row.calls_per_op,
    );
    let cpu = &row.cpu;
    println!(
        "gateway bench:   cpu per op: gateways {:.2} ms, postgres {:.2} ms, sfsim {:.2} ms, \
         load generator {:.2} ms; cores busy {:.2} ({:.2} by these, the rest by other \
         processes and the kernel)",
        cpu.gateways_ms,
        cpu.postgres_ms,
        cpu.sfsim_ms,
        cpu.client_ms,
        cpu.cores_busy,
        cpu.cores_ours
    );
}

fn print_goals(rows: &[Row], instance_cpus: Option<f64>) {
    let limit = instance_cpus.map_or(", no CPU limit per instance".to_string(), |cpus| {
        format!(", each instance limited to {cpus} cores")
    });
    let row = |store: Store, instances: usize, clients: usize, op: Op| {
        rows.iter().find(|r| {
            r.store == store && r.instances == instances && r.clients == clients && r.op == op
        })
    };
    // The 200-client rows judge the goals; the 20-client ratios are for information.
    for clients in CLIENT_COUNTS.iter().rev() {
        let judged = if *clients == 200 {
            ""
        } else {
            " (information only)"
        };
        for op in [Op::Sync, Op::Lead] {
            let sqlite = row(Store::Sqlite, 1, *clients, op);
            let pg1 = row(Store::Postgres, 1, *clients, op);
            let pg2 = row(Store::Postgres, 2, *clients, op);
            if let (Some(sqlite), Some(pg1)) = (sqlite, pg1) {
                println!(
                    "gateway bench: pg/sqlite per instance = {:.2} (goal ≥ 0.75) [{} {clients} clients{limit}]{judged}",
                    pg1.rps / sqlite.rps,
                    op.name()
                );
            }
            if let (Some(pg1), Some(pg2)) = (pg1, pg2) {
                println!(
                    "gateway bench: pg×2 / pg×1 = {:.2} (goal > 1) [{} {clients} clients{limit}]{judged}",
                    pg2.rps / pg1.rps,
                    op.name()
                );
            }
        }
    }
    // Requests per second for each core these processes kept busy: what a row would do with
    // the machine to itself, when it is CPU-bound.
    for op in [Op::Sync, Op::Lead] {
        let per_core: Vec<String> = rows
            .iter()
            .filter(|r| r.op == op && r.clients == 200 && r.cpu.cores_ours > 0.0)
            .map(|r| {
                format!(
                    "{}×{} {:.0}",
                    r.store.name(),
                    r.instances,
                    r.rps / r.cpu.cores_ours
                )
            })
            .collect();
        println!(
            "gateway bench: {} at 200 clients, requests/s per core busy in these processes \
             (information, less disturbed by other load): {}",
            op.name(),
            per_core.join(", ")
        );
    }
}
