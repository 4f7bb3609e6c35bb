//! Seeding and paging benchmark: `cargo run --release -p sfsim --example sfsim_bench`.
//!
//! Prints `sfsim bench: <name> <value> <unit>` lines: the time to start an org seeded with
//! 100,000 contacts, and the time to serve a 2000-row Contact page with `Account.Name` (the
//! gateway's keyset query, and the first page of an unbounded query), median of several runs,
//! measured over HTTP on loopback until the last byte of the page has arrived.

use std::time::{Duration, Instant};

use serde_json::Value;
use sfsim::{SeedCounts, SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD};

const CONTACTS: usize = 100_000;
const RUNS: usize = 15;

// The allocator the sfsim binary runs with (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let config = SimConfig {
        seed: SeedCounts {
            accounts: 2_000,
            contacts: CONTACTS,
            opportunities: 5_000,
            tasks: 10_000,
        },
        daily_api_limit: 1_000_000,
        ..SimConfig::default()
    };
    let started = Instant::now();
    let sim = sfsim::start("127.0.0.1:0".parse().expect("address"), config)
        .await
        .expect("sfsim starts");
    let seeding = started.elapsed();
    report("seed_100k_contacts", seeding);

    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("username", "admin@demo.example"),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .expect("token endpoint answers")
        .json()
        .await
        .expect("JSON token");
    let token = token["access_token"]
        .as_str()
        .expect("password grant gives an access token")
        .to_owned();

    let keyset = "SELECT Id, Name, Email, Phone, Title, Account.Name, SystemModstamp FROM Contact \
                  WHERE SystemModstamp > 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000";
    let unbounded =
        "SELECT Id, Name, Email, Phone, Title, Account.Name, SystemModstamp FROM Contact";
    for (name, soql) in [
        ("page_2000_keyset", keyset),
        ("page_2000_first_of_100k", unbounded),
    ] {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            // Timed until the last byte arrives; parsing the JSON is the client's cost, not sfsim's.
            let begin = Instant::now();
            let bytes = client
                .get(format!("{}/services/data/v58.0/query", sim.base_url()))
                .query(&[("q", soql)])
                .bearer_auth(&token)
                .send()
                .await
                .expect("query answers")
                .bytes()
                .await
                .expect("a page");
            times.push(begin.elapsed());
            let body: Value = serde_json::from_slice(&bytes).expect("JSON page");
            let rows = body["records"].as_array().map_or(0, Vec::len);
            assert_eq!(rows, 2000, "{name}: a full page");
            assert!(
                body["records"][0]["Account"].is_object()
                    || body["records"][0]["Account"].is_null()
            );
        }
        times.sort();
        report(&format!("{name}_median"), times[RUNS / 2]);
        report(&format!("{name}_max"), times[RUNS - 1]);
    }
    sim.shutdown().await;
}

fn report(name: &str, elapsed: Duration) {
    println!(
        "sfsim bench: {name} {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
    );
}
