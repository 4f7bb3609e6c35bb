//! Gateway calls and latency benchmark, the first part of `cargo xtask bench gateway` (=
//! `cargo run --release -p companion-gateway --example gateway_calls_bench`); the load matrix
//! (requests per second by store, instances and clients) is `gateway_bench.rs`.
//!
//! Against an in-process sfsim seeded with 50,000 contacts (the admin user sees all of them),
//! prints `gateway bench: <name> <value> <unit>` lines:
//! - Salesforce API calls of a first sync of 50,000 contacts (goal ≤ 26) and of a no-change sync
//!   (goal 1), counted by sfsim;
//! - `POST /v1/sync` with nothing new: p50/p99 through the gateway, and p50/p99 of the same
//!   Composite request sent straight to sfsim in the same run, with their ratio.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use companion_api::SyncRequest;
use companion_gateway::{SessionRate, Tuning};
use salesforce::{ClientOptions, CompositeRequest, RestSession};
use sfsim::{SeedCounts, SimConfig};
use support::Env;

// The allocator the sfsim binary runs with, so sfsim's figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN: &str = "admin@demo.example";
const CONTACTS: usize = 50_000;
const LATENCY_RUNS: usize = 300;

#[tokio::main]
async fn main() {
    let sim_config = SimConfig {
        seed: SeedCounts {
            accounts: 2_000,
            contacts: CONTACTS,
            opportunities: 5_000,
            tasks: 10_000,
        },
        daily_api_limit: 10_000_000,
        ..SimConfig::default()
    };
    let tuning = Tuning {
        // The latency runs send one request after another on one session; the per-session
        // limit is not what is measured.
        session_rate: SessionRate {
            per_second: 1_000_000,
            burst: 1_000_000,
        },
        ..Tuning::default()
    };
    let env = Env::start(sim_config, tuning).await;
    let session = env.sign_in(ADMIN).await.session_token;

    // First sync of everything the admin sees.
    let before = env.sim.api_calls();
    let started = Instant::now();
    let pages = env.sync_all(&session, SyncRequest::default()).await;
    let first_sync = started.elapsed();
    let contacts: usize = pages.iter().map(|p| p.contacts.len()).sum();
    assert_eq!(contacts, CONTACTS, "every contact arrives once");
    let records: usize = pages
        .iter()
        .map(|p| p.accounts.len() + p.contacts.len() + p.opportunities.len() + p.tasks.len())
        .sum();
    report(
        "first_sync_50k_contacts_salesforce_calls",
        (env.sim.api_calls() - before) as f64,
        "calls",
    );
    report("first_sync_pages", pages.len() as f64, "pages");
    report(
        "first_sync_records_per_second",
        records as f64 / first_sync.as_secs_f64(),
        "records/s",
    );
    let cursors = SyncRequest {
        cursors: pages.last().unwrap().cursors.clone(),
    };

    // No-change sync: calls, then latency through the gateway.
    let before = env.sim.api_calls();
    let quiet = env.sync(&session, &cursors).await;
    assert!(!quiet.more && quiet.contacts.is_empty());
    report(
        "no_change_sync_salesforce_calls",
        (env.sim.api_calls() - before) as f64,
        "calls",
    );
    let mut through_gateway = Vec::with_capacity(LATENCY_RUNS);
    for _ in 0..LATENCY_RUNS {
        let begin = Instant::now();
        let response = env.sync_raw(&session, &cursors).await;
        let _ = response.bytes().await.expect("a body");
        through_gateway.push(begin.elapsed());
    }

    // The same Composite request straight at sfsim, as the admin.
    let direct = direct_composite(&env).await;
    let mut straight = Vec::with_capacity(LATENCY_RUNS);
    for _ in 0..LATENCY_RUNS {
        let begin = Instant::now();
        direct().await;
        straight.push(begin.elapsed());
    }
    let (gateway_p50, gateway_p99) = percentiles(&mut through_gateway);
    let (direct_p50, direct_p99) = percentiles(&mut straight);
    report("no_change_sync_gateway_p50", ms(gateway_p50), "ms");
    report("no_change_sync_gateway_p99", ms(gateway_p99), "ms");
    report("no_change_sync_direct_sfsim_p50", ms(direct_p50), "ms");
    report("no_change_sync_direct_sfsim_p99", ms(direct_p99), "ms");
    report(
        "no_change_sync_added_p50",
        ms(gateway_p50.saturating_sub(direct_p50)),
        "ms",
    );
    report(
        "no_change_sync_added_p99",
        ms(gateway_p99.saturating_sub(direct_p99)),
        "ms",
    );
    report(
        "no_change_sync_ratio_p50",
        gateway_p50.as_secs_f64() / direct_p50.as_secs_f64(),
        "x",
    );
    report(
        "no_change_sync_ratio_p99",
        gateway_p99.as_secs_f64() / direct_p99.as_secs_f64(),
        "x",
    );
}

/// A closure that sends the no-change sync's Composite request (4 keyset queries from now, 4
/// delete-log reads) straight to sfsim with an admin token.
type Call = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

async fn direct_composite(env: &Env) -> impl Fn() -> Call {
    let client = salesforce::Client::new(ClientOptions {
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        ..Default::default()
    })
    .expect("client");
    let token = env.password_grant(ADMIN).await;
    let session = RestSession::new(
        token["instance_url"].as_str().expect("instance_url"),
        token["access_token"]
            .as_str()
            .expect("access_token")
            .to_string(),
    )
    .expect("session");
    let now = time::OffsetDateTime::now_utc();
    let mut request = CompositeRequest::new(false);
    for object in ["Account", "Contact", "Opportunity", "Task"] {
        let soql = format!(
            "SELECT Id, Name, OwnerId, SystemModstamp FROM {object} WHERE SystemModstamp > {} \
             ORDER BY SystemModstamp, Id",
            salesforce::soql::datetime_literal(now + time::Duration::minutes(1))
        );
        request.query(&format!("q{object}"), &soql).expect("query");
        request
            .deleted(
                &format!("d{object}"),
                object,
                now - time::Duration::minutes(5),
                now + time::Duration::days(15),
            )
            .expect("deleted");
    }
    move || {
        let client = client.clone();
        let session = session.clone();
        let request = request.clone();
        Box::pin(async move {
            client
                .composite(&session, &request)
                .await
                .expect("composite answers");
        })
    }
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, value: f64, unit: &str) {
    println!("gateway bench: {name} {value:.2} {unit}");
}
