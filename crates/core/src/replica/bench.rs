//! Timings to print, not to assert (the machine decides them):
//! `cargo test --release -p companion-core --lib replica::bench -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use companion_api::{Account, Contact, Opportunity, SyncResponse, Task};

use super::tests::{open_temp, OWNER};

const FIRST: &[&str] = &[
    "Ada",
    "José",
    "Grace",
    "Linus",
    "Margaret",
    "Alan",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Hedy",
    "John",
    "Katherine",
    "Donald",
    "Radia",
    "Tim",
    "Sophie",
    "Élodie",
    "Müller",
    "Zoë",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Álvarez",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Turing",
    "Liskov",
    "Ritchie",
    "Allen",
    "Thompson",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Knuth",
    "Perlman",
    "Berners-Lee",
    "Wilson",
    "Dupont",
    "Schmidt",
    "Nakamura",
    "Smith",
    "Brown",
    "García",
    "Rossi",
    "Kowalski",
];
const TITLES: &[&str] = &[
    "CTO",
    "Head of Sales",
    "VP Engineering",
    "Buyer",
    "Procurement Manager",
    "CEO",
    "Director of Operations",
    "Account Executive",
    "Office Manager",
    "CFO",
];
const WORDS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Cyberdyne",
    "Tyrell",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Dynamic",
    "Oceanic",
    "Pied",
    "Piper",
    "Aperture",
];

fn stamp(i: usize) -> String {
    format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        1 + i % 12,
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 60) % 60,
        i % 1000
    )
}

fn id(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:015}")
}

fn account(i: usize) -> Account {
    Account {
        id: id("001", i),
        name: format!(
            "{} {} {i}",
            WORDS[i % WORDS.len()],
            WORDS[(i / 7) % WORDS.len()]
        ),
        industry: Some("Technology".into()),
        phone: Some(format!("(555) {:03}-{:04}", i % 1000, i % 10_000)),
        website: None,
        billing_street: None,
        billing_city: Some("Lyon".into()),
        billing_state: None,
        billing_postal_code: None,
        billing_country: None,
        owner_id: OWNER.into(),
        system_modstamp: stamp(i),
    }
}

fn contact(i: usize, accounts: usize) -> Contact {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    Contact {
        id: id("003", i),
        first_name: Some(first.into()),
        last_name: format!("{last}{}", i % 97),
        name: format!("{first} {last}{}", i % 97),
        email: Some(format!(
            "{}.{}{i}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        phone: Some(format!("+1 (555) {:03}-{:04}", i % 1000, i % 10_000)),
        mobile_phone: i
            .is_multiple_of(3)
            .then(|| format!("555-{:04}", i % 10_000)),
        title: Some(TITLES[i % TITLES.len()].into()),
        account_id: Some(id("001", i % accounts.max(1))),
        owner_id: OWNER.into(),
        system_modstamp: stamp(i),
    }
}

fn opportunity(i: usize, accounts: usize) -> Opportunity {
    Opportunity {
        id: id("006", i),
        name: format!("{} renewal {i}", WORDS[i % WORDS.len()]),
        stage_name: ["Prospecting", "Qualification", "Negotiation", "Closed Won"][i % 4].into(),
        amount: Some((i * 137 % 100_000) as f64),
        close_date: format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
        probability: Some(10.0),
        is_closed: i % 4 == 3,
        is_won: i % 4 == 3,
        account_id: Some(id("001", i % accounts.max(1))),
        next_step: None,
        owner_id: OWNER.into(),
        system_modstamp: stamp(i),
    }
}

fn task(i: usize, contacts: usize) -> Task {
    Task {
        id: id("00T", i),
        subject: Some(format!("Call {i}")),
        status: "Completed".into(),
        priority: Some("Normal".into()),
        task_subtype: Some("Call".into()),
        activity_date: Some(format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
        who_id: Some(id("003", i % contacts.max(1))),
        what_id: None,
        description: Some("Talked about the renewal and next quarter's volumes.".into()),
        is_closed: true,
        owner_id: OWNER.into(),
        system_modstamp: stamp(i),
    }
}

fn page(
    accounts: Vec<Account>,
    contacts: Vec<Contact>,
    opportunities: Vec<Opportunity>,
    tasks: Vec<Task>,
) -> SyncResponse {
    SyncResponse {
        accounts,
        contacts,
        opportunities,
        tasks,
        cursors: BTreeMap::new(),
        more: true,
        ..Default::default()
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
#[ignore = "prints timings; run in release"]
fn apply_8000_records() {
    for run in 0..5 {
        let (_dir, replica) = open_temp();
        let n = 2000;
        let first = page(
            (0..n).map(account).collect(),
            (0..n).map(|i| contact(i, n)).collect(),
            (0..n).map(|i| opportunity(i, n)).collect(),
            (0..n).map(|i| task(i, n)).collect(),
        );
        let start = Instant::now();
        let counts = replica.apply_page(&first).unwrap();
        let took = start.elapsed();
        assert_eq!(counts.total(), 8000);
        // The same records again, one version newer (a delta touching everything).
        let mut again = first.clone();
        for c in &mut again.contacts {
            c.system_modstamp = "2025-01-01T00:00:00.000+0000".into();
            c.title = Some("Changed".into());
        }
        let start = Instant::now();
        replica.apply_page(&again).unwrap();
        let took_again = start.elapsed();
        println!(
            "run {run}: apply 8000 new records: {:.1} ms; re-apply with 2000 changed contacts: {:.1} ms",
            millis(took),
            millis(took_again)
        );
    }
}

#[test]
#[ignore = "prints timings; run in release"]
fn search_over_100k_contacts() {
    let (_dir, replica) = open_temp();
    // BENCH_CONTACTS scales the run down for a quick look (default 100,000).
    let contacts: usize = std::env::var("BENCH_CONTACTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let accounts = contacts / 10;
    let start = Instant::now();
    for chunk in (0..accounts).collect::<Vec<_>>().chunks(2000) {
        replica
            .apply_page(&page(
                chunk.iter().map(|&i| account(i)).collect(),
                vec![],
                vec![],
                vec![],
            ))
            .unwrap();
    }
    println!("accounts seeded after {:.0} ms", millis(start.elapsed()));
    for chunk in (0..contacts).collect::<Vec<_>>().chunks(2000) {
        replica
            .apply_page(&page(
                vec![],
                chunk.iter().map(|&i| contact(i, accounts)).collect(),
                vec![],
                vec![],
            ))
            .unwrap();
    }
    println!("contacts seeded after {:.0} ms", millis(start.elapsed()));
    for chunk in (0..contacts / 5).collect::<Vec<_>>().chunks(2000) {
        replica
            .apply_page(&page(
                vec![],
                vec![],
                chunk.iter().map(|&i| opportunity(i, accounts)).collect(),
                vec![],
            ))
            .unwrap();
    }
    let seeded = start.elapsed();
    println!(
        "seeded {accounts} accounts + {contacts} contacts + {} opportunities in {:.0} ms ({:.0} records/s)",
        contacts / 5,
        millis(seeded),
        (accounts + contacts + contacts / 5) as f64 / seeded.as_secs_f64()
    );
    let queries = [
        "a",
        "j",
        "jo",
        "jos",
        "jose",
        "ada lov",
        "smith",
        "hopper12",
        "cto",
        "head of",
        "acme",
        "acme glob",
        "555",
        "555 01",
        "55501",
        "555-010",
        "elodie",
        "müll",
        "zoe",
        "ada@",
        "example",
        "renewal",
        "stark wayne",
        "knuth4",
        "procurement",
        "vp eng",
        "Directo",
        "garcia",
        "kowalski9",
        "x",
    ];
    let mut all = Vec::new();
    let mut by_query = Vec::new();
    for q in queries {
        let mut times = Vec::new();
        for _ in 0..40 {
            let start = Instant::now();
            let hits = replica.search(q, 50).unwrap();
            times.push(start.elapsed());
            std::hint::black_box(hits);
        }
        times.sort();
        by_query.push((q, times[times.len() / 2], times[times.len() - 1]));
        all.extend(times);
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    for (q, p50, max) in by_query {
        println!(
            "  {q:>12}: p50 {:.2} ms, max {:.2} ms",
            millis(p50),
            millis(max)
        );
    }
    println!(
        "search top-50 over {contacts} contacts: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} searches)",
        millis(pct(0.50)),
        millis(pct(0.99)),
        millis(all[all.len() - 1]),
        all.len()
    );

    // The contacts screen's search: its first page of matching contacts, as a keystroke asks.
    let mut all = Vec::new();
    for q in queries {
        let mut times = Vec::new();
        for _ in 0..40 {
            let start = Instant::now();
            let page = replica
                .contacts_page(&super::views::ContactQuery {
                    search: Some(q.into()),
                    limit: Some(50),
                    ..Default::default()
                })
                .unwrap();
            times.push(start.elapsed());
            std::hint::black_box(page);
        }
        times.sort();
        println!(
            "  contacts {q:>12}: p50 {:.2} ms, max {:.2} ms",
            millis(times[times.len() / 2]),
            millis(times[times.len() - 1])
        );
        all.extend(times);
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "contacts screen search, first 50 of {contacts} contacts: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} searches)",
        millis(pct(0.50)),
        millis(pct(0.99)),
        millis(all[all.len() - 1]),
        all.len()
    );
}

#[test]
#[ignore = "prints timings; run in release"]
fn apply_by_object() {
    let n = 2000;
    for variant in ["as is", "no search triggers", "no cipher"] {
        let (dir, replica) = open_temp();
        let replica = if variant == "no cipher" {
            drop(replica);
            let path = dir.path().join("plain.sqlite3");
            let conn = rusqlite::Connection::open(&path).unwrap();
            drop(conn);
            // Open without a key by opening through a plain connection and migrating.
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .unwrap();
            conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
            super::migrations::migrations()
                .to_latest(&mut conn)
                .unwrap();
            let reader = rusqlite::Connection::open(&path).unwrap();
            let checkpointer = rusqlite::Connection::open(&path).unwrap();
            super::Replica {
                path,
                writer: std::sync::Mutex::new(conn),
                reader: std::sync::Mutex::new(reader),
                checkpointer: std::sync::Mutex::new(checkpointer),
                pages_since_checkpoint: Default::default(),
                reauth_required: Default::default(),
            }
        } else {
            replica
        };
        if variant == "no search triggers" {
            let conn = replica.writer();
            for t in [
                "contact_search_insert",
                "account_search_insert",
                "opportunity_search_insert",
            ] {
                conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
            }
        }
        let time = |p: SyncResponse| {
            let start = Instant::now();
            replica.apply_page(&p).unwrap();
            millis(start.elapsed())
        };
        let a = time(page((0..n).map(account).collect(), vec![], vec![], vec![]));
        let c = time(page(
            vec![],
            (0..n).map(|i| contact(i, n)).collect(),
            vec![],
            vec![],
        ));
        let o = time(page(
            vec![],
            vec![],
            (0..n).map(|i| opportunity(i, n)).collect(),
            vec![],
        ));
        let t = time(page(
            vec![],
            vec![],
            vec![],
            (0..n).map(|i| task(i, n)).collect(),
        ));
        println!("{variant}: accounts {a:.1} ms, contacts {c:.1} ms, opportunities {o:.1} ms, tasks {t:.1} ms");
    }
}

/// The replica's share of `cargo xtask bench sync`'s first sync: 10,000 accounts, 50,000
/// contacts and 20,000 opportunities in the gateway's pages of 2000 per object, passes open.
#[test]
#[ignore = "prints timings; run in release"]
fn first_sync_80k() {
    use companion_api::ObjectProgress;
    let (_dir, replica) = open_temp();
    let (na, nc, no) = (10_000usize, 50_000usize, 20_000usize);
    let per = 2000;
    let pages = nc / per;
    let mut built = Vec::new();
    for k in 0..pages {
        let range = |n: usize| (k * per).min(n)..((k + 1) * per).min(n);
        let mut p = page(
            range(na).map(account).collect(),
            range(nc).map(|i| contact(i, na)).collect(),
            range(no).map(|i| opportunity(i, na)).collect(),
            vec![],
        );
        for (object, n) in [
            ("Account", na),
            ("Contact", nc),
            ("Opportunity", no),
            ("Task", 0),
        ] {
            p.cursors.insert(object.into(), format!("c{k}"));
            let done = ((k + 1) * per).min(n);
            p.objects.insert(
                object.into(),
                ObjectProgress {
                    records: 0,
                    remaining: (n - done) as u64,
                    more: done < n,
                },
            );
        }
        p.more = k + 1 < pages;
        built.push(p);
    }
    let start = Instant::now();
    let mut last = Duration::ZERO;
    for p in &built {
        let t = Instant::now();
        replica.apply_page(p).unwrap();
        last = t.elapsed();
    }
    let total = start.elapsed();
    println!(
        "first sync 80k: {:.0} ms ({:.0} records/s), last page {:.0} ms",
        millis(total),
        80_000.0 / total.as_secs_f64(),
        millis(last)
    );
}

/// Saves at the replica (the outbox row and the change laid over, one transaction each) on
/// 50,000 contacts: leads, calls and contact phones in turn. The app-level figure, with the
/// record each Save returns, is `cargo xtask bench push`.
#[test]
#[ignore = "prints timings; run in release"]
fn saves_on_50k_contacts() {
    let (_dir, replica) = open_temp();
    let (contacts, accounts) = (50_000, 5_000);
    for chunk in (0..accounts).collect::<Vec<_>>().chunks(2000) {
        replica
            .apply_page(&page(
                chunk.iter().map(|&i| account(i)).collect(),
                vec![],
                vec![],
                vec![],
            ))
            .unwrap();
    }
    let ids: Vec<usize> = (0..contacts).collect();
    let chunks: Vec<&[usize]> = ids.chunks(2000).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        let mut p = page(
            vec![],
            chunk.iter().map(|&i| contact(i, accounts)).collect(),
            vec![],
            vec![],
        );
        p.more = n + 1 < chunks.len();
        replica.apply_page(&p).unwrap();
    }
    // What the app's background loop does after a first sync.
    while replica.tidy_search().unwrap() {}
    replica.checkpoint().unwrap();
    let mut times = Vec::new();
    for n in 0..3000 {
        let begin = Instant::now();
        match n % 3 {
            0 => {
                replica
                    .save_new_lead(
                        OWNER,
                        &crate::writes::NewLead {
                            last_name: format!("Bench {n}"),
                            company: "Bench Co".into(),
                            ..Default::default()
                        },
                    )
                    .unwrap();
            }
            1 => {
                replica
                    .save_new_task(
                        OWNER,
                        crate::writes::WriteKind::LogCall,
                        &id("003", n * 13 % contacts),
                        None,
                        serde_json::Map::from_iter([(
                            "Subject".to_string(),
                            serde_json::json!(format!("Call {n}")),
                        )]),
                    )
                    .unwrap();
            }
            _ => {
                replica
                    .save_update(
                        crate::writes::WriteKind::UpdateContact,
                        &id("003", n * 7 % contacts),
                        vec![("Phone".into(), serde_json::json!(format!("+1 555 {n:04}")))],
                    )
                    .unwrap();
            }
        }
        times.push(begin.elapsed());
    }
    times.sort();
    println!(
        "3000 saves: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        millis(times[times.len() / 2]),
        millis(times[times.len() * 99 / 100]),
        millis(*times.last().unwrap())
    );
}
