//! Write-path benchmark: `cargo xtask bench push` (runs
//! `cargo run --release -p companion --example push_bench`).
//!
//! sfsim (in-process, mimalloc like its binary) → the gateway (in-process) → core (in-process,
//! its encrypted replica on disk), timing what the app's screens call. Prints
//! `push bench: <name> <value> <unit>`:
//! - a Save (queue one write — a lead, a call, a follow-up, a contact's phone, a deal's stage —
//!   with the record it returns) on a replica of 50,000 contacts: p50/p99;
//! - a push of 500 queued writes of mixed kinds (some calls about leads made offline, which go
//!   after their lead): Salesforce calls counted by sfsim, requests to the gateway, wall time;
//! - the search box's top-50 p50/p99 over 100,000 contacts with 500 writes pending;
//! - a Save (a new lead) while a first sync of 100,000 contacts is being written: p50/p99/max
//!   (a Save never waits for a sync, only for the page being written at that moment).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use companion_core::{
    Companion, ContactChanges, MemoryStore, NewCall, NewFollowUp, NewLead, OpportunityChanges,
    PushMode, SecretStore, SyncOptions,
};
use sfsim::{SeedCounts, Sim, SimConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN: &str = "admin@demo.example";
const REDIRECT: &str = "http://127.0.0.1:45123/callback";
/// Writes queued and pushed.
const WRITES: usize = 500;

#[tokio::main]
async fn main() {
    // 1. Saves on a 50,000-contact replica, then the push of what they queued.
    let (sim, gateway, _dirs, core) = replica_of(SeedCounts {
        accounts: 5_000,
        contacts: 50_000,
        opportunities: 2_000,
        tasks: 0,
    })
    .await;
    // What the app's background loop does right after a first sync; then the rep works (the
    // sync's memory is handed back meanwhile, on this 2-core machine's other threads).
    core.tidy_search().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut saves = queue_mixed(&core);
    for (k, kind) in KINDS.iter().enumerate() {
        let mut of: Vec<Duration> = saves.iter().skip(k).step_by(KINDS.len()).copied().collect();
        of.sort();
        report(&format!("save_{kind}_p50"), ms(of[of.len() / 2]), "ms");
        report(
            &format!("save_{kind}_p99"),
            ms(of[of.len() * 99 / 100]),
            "ms",
        );
    }
    // The first Save of each kind in a session also prepares its statements (kept after).
    let first_of_kind = saves[..KINDS.len()].iter().max().copied().unwrap();
    let mut warm = saves[KINDS.len()..].to_vec();
    warm.sort();
    saves.sort();
    report("save_samples", saves.len() as f64, "saves");
    report("save_p50", ms(saves[saves.len() / 2]), "ms");
    report("save_p99", ms(saves[saves.len() * 99 / 100]), "ms");
    report("save_max", ms(*saves.last().unwrap()), "ms");
    report("save_first_of_each_kind_max", ms(first_of_kind), "ms");
    report(
        "save_after_first_of_kind_p99",
        ms(warm[warm.len() * 99 / 100]),
        "ms",
    );
    assert_eq!(core.status().pending, WRITES as u64);

    let calls_before = sim.api_calls();
    let started = Instant::now();
    let pushed = core.push_now().await.unwrap();
    let wall = started.elapsed();
    let calls = sim.api_calls() - calls_before;
    assert_eq!(pushed.sent, WRITES as u64, "{pushed:?}");
    assert_eq!(core.status().pending, 0);
    report("push_writes", pushed.sent as f64, "writes");
    report("push_gateway_requests", pushed.requests as f64, "requests");
    report("push_salesforce_calls", calls as f64, "calls");
    report("push_wall", ms(wall), "ms");
    report(
        "push_writes_per_second",
        WRITES as f64 / wall.as_secs_f64(),
        "writes/s",
    );
    drop(core);
    gateway.shutdown().await;
    sim.shutdown().await;

    // 2. Search over 100,000 contacts with 500 writes pending.
    let (sim, gateway, _dirs, core) = replica_of(SeedCounts {
        accounts: 2_000,
        contacts: 100_000,
        opportunities: 1_000,
        tasks: 0,
    })
    .await;
    core.tidy_search().await.unwrap();
    queue_mixed(&core);
    assert_eq!(core.status().pending, WRITES as u64);
    let contacts = core.contacts(None).unwrap();
    let mut queries: Vec<String> = Vec::new();
    for (i, c) in contacts.iter().step_by(contacts.len() / 200).enumerate() {
        match i % 4 {
            0 => queries.push(c.name.clone()),
            1 => queries.push(c.last_name.chars().take(3).collect()),
            2 => queries.push(
                c.email
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(6)
                    .collect(),
            ),
            _ => queries.push(c.account_name.clone().unwrap_or_default()),
        }
    }
    // The leads and calls just made, and the numbers just changed, are found too.
    queries.extend(["bench lead", "benchmark co", "+1 555 07", "a", "jo", "555"].map(String::from));
    let mut times = Vec::new();
    for _ in 0..5 {
        for query in &queries {
            let begin = Instant::now();
            let hits = core.search(query).unwrap();
            times.push(begin.elapsed());
            assert!(hits.len() <= 50);
        }
    }
    assert!(!core.search("benchmark co").unwrap().is_empty());
    times.sort();
    report("search_pending_queries", times.len() as f64, "searches");
    report("search_pending_top50_p50", ms(times[times.len() / 2]), "ms");
    report(
        "search_pending_top50_p99",
        ms(times[times.len() * 99 / 100]),
        "ms",
    );
    gateway.shutdown().await;
    sim.shutdown().await;

    // 3. Saves while a first sync of 100,000 contacts is written.
    let (sim, gateway, _dirs, core) = signed_in(SeedCounts {
        accounts: 2_000,
        contacts: 100_000,
        opportunities: 0,
        tasks: 0,
    })
    .await;
    let core = Arc::new(core);
    let syncing = core.clone();
    let sync = tokio::spawn(async move {
        syncing
            .sync_with(
                SyncOptions {
                    reconcile: false,
                    push: PushMode::Skip,
                },
                |_| {},
            )
            .await
    });
    let mut during = Vec::new();
    while !sync.is_finished() {
        let saver = core.clone();
        let n = during.len();
        let took = tokio::task::spawn_blocking(move || {
            let begin = Instant::now();
            saver
                .create_lead(NewLead {
                    last_name: format!("During sync {n}"),
                    company: "Benchmark Co".into(),
                    ..Default::default()
                })
                .unwrap();
            begin.elapsed()
        })
        .await
        .unwrap();
        during.push(took);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sync.await.unwrap().unwrap();
    during.sort();
    report(
        "save_during_first_sync_samples",
        during.len() as f64,
        "saves",
    );
    report(
        "save_during_first_sync_p50",
        ms(during[during.len() / 2]),
        "ms",
    );
    report(
        "save_during_first_sync_p99",
        ms(during[during.len() * 99 / 100]),
        "ms",
    );
    report(
        "save_during_first_sync_max",
        ms(*during.last().unwrap()),
        "ms",
    );
    gateway.shutdown().await;
    sim.shutdown().await;
}

type Signed = (
    Sim,
    companion_gateway::Gateway,
    (tempfile::TempDir, tempfile::TempDir),
    Companion,
);

/// An org seeded with `seed`, a gateway, and core signed in as the admin (who sees it all)
/// with its first sync done.
async fn replica_of(seed: SeedCounts) -> Signed {
    let (sim, gateway, dirs, core) = signed_in(seed).await;
    core.sync_with(
        SyncOptions {
            reconcile: false,
            push: PushMode::Skip,
        },
        |_| {},
    )
    .await
    .unwrap();
    (sim, gateway, dirs, core)
}

/// An org seeded with `seed`, a gateway, and core signed in as the admin, nothing synced yet.
async fn signed_in(seed: SeedCounts) -> Signed {
    let sim = sfsim::start(
        loopback(),
        SimConfig {
            seed,
            daily_api_limit: 10_000_000,
            ..SimConfig::default()
        },
    )
    .await
    .expect("sfsim starts");
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let url = gateway.base_url();
    let device = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let core = open_core(&url, device.path(), secrets);
    let login = core.begin_login(REDIRECT).await.unwrap();
    let callback = browser_sign_in(&login.authorize_url, ADMIN).await;
    core.complete_login(&callback).await.unwrap();
    (sim, gateway, (gateway_dir, device), core)
}

/// Queues [`WRITES`] writes, a fifth of each kind, as the screens' Save does (each returns the
/// record as the rep now sees it); a quarter of the calls are about leads made here. Returns
/// each Save's time.
fn queue_mixed(core: &Companion) -> Vec<Duration> {
    let contacts = core.contacts(Some("a")).unwrap();
    let deals: Vec<String> = core
        .opportunities(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|o| !o.is_closed)
        .map(|o| o.id)
        .collect();
    let mut times = Vec::with_capacity(WRITES);
    let mut lead = None;
    for n in 0..WRITES {
        let contact = &contacts[n % contacts.len()].id;
        let begin = Instant::now();
        match n % 5 {
            0 => {
                lead = Some(
                    core.create_lead(NewLead {
                        first_name: Some("Bench".into()),
                        last_name: format!("Lead {n}"),
                        company: "Benchmark Co".into(),
                        ..Default::default()
                    })
                    .unwrap()
                    .lead
                    .id,
                );
            }
            1 => {
                let about = if n % 4 == 1 {
                    lead.clone().unwrap()
                } else {
                    contact.clone()
                };
                core.log_call(NewCall {
                    about,
                    subject: Some(format!("Bench call {n}")),
                    ..Default::default()
                })
                .unwrap();
            }
            2 => {
                core.create_task(NewFollowUp {
                    about: contact.clone(),
                    subject: format!("Bench follow-up {n}"),
                    due: "2031-01-15".into(),
                    ..Default::default()
                })
                .unwrap();
            }
            3 => {
                core.update_contact(
                    contact,
                    ContactChanges {
                        phone: Some(format!("+1 555 07{n:02}")),
                        ..Default::default()
                    },
                )
                .unwrap();
            }
            _ => {
                core.update_opportunity(
                    &deals[n % deals.len()],
                    OpportunityChanges {
                        next_step: Some(format!("Bench step {n}")),
                        ..Default::default()
                    },
                )
                .unwrap();
            }
        }
        times.push(begin.elapsed());
    }
    times
}

/// The Saves of [`queue_mixed`] by kind, in its order.
const KINDS: [&str; 5] = [
    "lead",
    "call",
    "follow_up",
    "contact_update",
    "opportunity_update",
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, value: f64, unit: &str) {
    println!("push bench: {name} {value:.2} {unit}");
}
