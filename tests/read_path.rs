//! The read path end to end (issue 5): sfsim (the org) + the gateway + core, on loopback.
//! Another user edits the org; one refresh makes the replica equal, record for record and field
//! for field, to what sfsim shows the rep. A first sync killed with SIGKILL at random moments
//! resumes and ends equal, with a sound database every time. Faults of the org mid-sync end in a
//! finished sync or an offline report, never in wrong data.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use companion_core::{Companion, FileStore, SecretStore};
use serde_json::{json, Value};
use sfsim::{SeedCounts, Sim, SimConfig};

/// The fields the replica keeps, per object (Salesforce API names), as the gateway sends them.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "Account",
        &[
            "Id",
            "Name",
            "Industry",
            "Phone",
            "Website",
            "BillingStreet",
            "BillingCity",
            "BillingState",
            "BillingPostalCode",
            "BillingCountry",
            "OwnerId",
            "SystemModstamp",
        ],
    ),
    (
        "Contact",
        &[
            "Id",
            "FirstName",
            "LastName",
            "Name",
            "Email",
            "Phone",
            "MobilePhone",
            "Title",
            "AccountId",
            "OwnerId",
            "SystemModstamp",
        ],
    ),
    (
        "Opportunity",
        &[
            "Id",
            "Name",
            "StageName",
            "Amount",
            "CloseDate",
            "Probability",
            "IsClosed",
            "IsWon",
            "AccountId",
            "NextStep",
            "OwnerId",
            "SystemModstamp",
        ],
    ),
    (
        "Task",
        &[
            "Id",
            "Subject",
            "Status",
            "Priority",
            "TaskSubtype",
            "ActivityDate",
            "WhoId",
            "WhatId",
            "Description",
            "IsClosed",
            "OwnerId",
            "SystemModstamp",
        ],
    ),
    (
        "Lead",
        &[
            "Id",
            "FirstName",
            "LastName",
            "Name",
            "Company",
            "Title",
            "Email",
            "Phone",
            "MobilePhone",
            "LeadSource",
            "Status",
            "OwnerId",
            "SystemModstamp",
        ],
    ),
];

/// What sfsim shows `username`: every account; the contacts, opportunities, tasks and open
/// (not converted) leads they own; only the replicated fields; 18-character ids throughout.
fn org_view(sim: &Sim, username: &str) -> BTreeMap<String, BTreeMap<String, Value>> {
    let owner = sim.user_id(username).unwrap();
    let mut view = BTreeMap::new();
    for (object, fields) in FIELDS {
        let records = sim
            .records(object)
            .into_iter()
            .filter(|r| *object == "Account" || r["OwnerId"] == owner.as_str())
            .filter(|r| r.get("IsConverted") != Some(&Value::Bool(true)))
            .map(|r| {
                let id = r["Id"].as_str().unwrap().to_string();
                let kept: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|f| (f.to_string(), r.get(*f).cloned().unwrap_or(Value::Null)))
                    .collect();
                (id, Value::Object(kept))
            })
            .collect();
        view.insert(object.to_string(), records);
    }
    view
}

/// The replica, in the same shape.
fn replica_view(core: &Companion) -> BTreeMap<String, BTreeMap<String, Value>> {
    FIELDS
        .iter()
        .map(|(object, _)| {
            let records = core
                .records(object)
                .unwrap()
                .into_iter()
                .map(|r| (r["Id"].as_str().unwrap().to_string(), r))
                .collect();
            (object.to_string(), records)
        })
        .collect()
}

fn assert_same(
    replica: &BTreeMap<String, BTreeMap<String, Value>>,
    org: &BTreeMap<String, BTreeMap<String, Value>>,
) {
    for (object, expected) in org {
        let got = &replica[object];
        let missing: Vec<&String> = expected
            .keys()
            .filter(|id| !got.contains_key(*id))
            .collect();
        let extra: Vec<&String> = got
            .keys()
            .filter(|id| !expected.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{object}: missing {missing:?}, not the rep's {extra:?}"
        );
        for (id, record) in expected {
            assert_eq!(&got[id], record, "{object} {id} field for field");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_another_user_edits_the_org_one_refresh_makes_the_replica_equal() {
    let sim = start_sim(SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let device = tempfile::tempdir().unwrap();
    let core = open_core(
        &gateway.base_url(),
        device.path(),
        Arc::new(companion_core::MemoryStore::default()),
    );
    sign_in(&core, REP).await;
    let progress = std::sync::Mutex::new(Vec::new());
    core.sync(|p| progress.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_same(&replica_view(&core), &org_view(&sim, REP));
    // Progress: per object, records so far and the estimated total, ending complete.
    let progress = progress.into_inner().unwrap();
    for object in ["Account", "Contact", "Opportunity", "Task", "Lead"] {
        let last = progress.iter().rev().find(|p| p.object == object).unwrap();
        assert_eq!(Some(last.done), last.total, "{object}: {last:?}");
        assert_eq!(last.done as usize, org_view(&sim, REP)[object].len());
    }

    // The admin creates, edits, deletes and re-assigns.
    let admin = Admin::sign_in(&sim).await;
    let rep = sim.user_id(REP).unwrap();
    let rep2 = sim.user_id(REP2).unwrap();
    let contacts = owned_by(&sim, "Contact", REP);
    let deals = owned_by(&sim, "Opportunity", REP);
    let tasks = owned_by(&sim, "Task", REP);
    let rep2_contacts = owned_by(&sim, "Contact", REP2);
    use reqwest::Method;
    admin
        .call(
            Method::POST,
            "sobjects/Contact",
            Some(json!({"FirstName": "Zoë", "LastName": "Ñúñez", "Email": "zoe@new.example", "OwnerId": rep})),
        )
        .await;
    admin
        .call(
            Method::PATCH,
            &format!("sobjects/Contact/{}", contacts[0]),
            Some(json!({"Title": "Head of Everything", "Phone": null})),
        )
        .await;
    admin
        .call(
            Method::PATCH,
            &format!("sobjects/Opportunity/{}", deals[0]),
            Some(json!({"StageName": "Negotiation/Review", "Amount": 125000.5})),
        )
        .await;
    admin
        .call(
            Method::DELETE,
            &format!("sobjects/Contact/{}", contacts[1]),
            None,
        )
        .await;
    admin
        .call(Method::DELETE, &format!("sobjects/Task/{}", tasks[0]), None)
        .await;
    for (object, id) in [("Contact", &contacts[2]), ("Opportunity", &deals[1])] {
        admin
            .call(
                Method::PATCH,
                &format!("sobjects/{object}/{id}"),
                Some(json!({ "OwnerId": rep2 })),
            )
            .await;
    }
    admin
        .call(
            Method::PATCH,
            &format!("sobjects/Contact/{}", rep2_contacts[0]),
            Some(json!({ "OwnerId": rep })),
        )
        .await;
    // Leads: one converted, one deleted, one handed to rep2 (it leaves the rep's view).
    let leads = owned_by(&sim, "Lead", REP);
    sim.convert_lead(&leads[0]).unwrap();
    admin
        .call(Method::DELETE, &format!("sobjects/Lead/{}", leads[1]), None)
        .await;
    admin
        .call(
            Method::PATCH,
            &format!("sobjects/Lead/{}", leads[2]),
            Some(json!({ "OwnerId": rep2 })),
        )
        .await;
    let account = sim.records("Account")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    admin
        .call(
            Method::PATCH,
            &format!("sobjects/Account/{account}"),
            Some(json!({"Name": "Renamed Holdings"})),
        )
        .await;

    // One refresh.
    let report = core.sync(|_| {}).await.unwrap();
    assert!(report.removed >= 3, "{report:?}");
    for lead in &leads[..3] {
        assert!(
            core.lead(lead).unwrap().is_none(),
            "{lead} left the replica"
        );
    }
    assert_same(&replica_view(&core), &org_view(&sim, REP));
    // And the search index followed: the new contact by an accent-free prefix, the renamed
    // account by its new name, the re-assigned contact no more.
    let hits = core.search("zoe nunez").unwrap();
    assert_eq!(hits.first().map(|h| h.object), Some("Contact"), "{hits:?}");
    assert!(!core.search("renamed hold").unwrap().is_empty());
    gateway.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sync_killed_at_random_moments_resumes_and_ends_equal() {
    // 25,000 contacts: the rep owns about 20,000 of them.
    let sim = start_sim(SimConfig {
        seed: SeedCounts {
            accounts: 500,
            contacts: 25_000,
            opportunities: 1_000,
            tasks: 2_000,
        },
        daily_api_limit: 1_000_000,
        ..SimConfig::default()
    })
    .await;
    assert!(owned_by(&sim, "Contact", REP).len() >= 20_000);
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let url = gateway.base_url();
    let device = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(FileStore::in_data_dir(device.path()));
    {
        let core = open_core(&url, device.path(), secrets.clone());
        sign_in(&core, REP).await;
    }

    // How long an uninterrupted first sync takes, so kills land inside one.
    let started = Instant::now();
    let full = cli(device.path(), &url).arg("sync").output().unwrap();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let span = started.elapsed();
    let mut kills_mid_sync = 0;
    let mut attempts = 0;
    let mut rng = rand::thread_rng();
    while kills_mid_sync < 20 {
        attempts += 1;
        assert!(attempts < 200, "could not interrupt 20 syncs");
        // Start over: a first sync each time, killed at a random moment of it.
        wipe_replica(device.path(), &url, secrets.clone());
        let mut child = cli(device.path(), &url).arg("sync").spawn().unwrap();
        let at = span.mul_f64(rand::Rng::gen_range(&mut rng, 0.05..0.95));
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills_mid_sync += 1;
        }
        let _ = child.wait();
        integrity_ok(device.path(), &url);
        // Resume once in three, killed again: a resumed sync is interrupted too.
        if kills_mid_sync % 3 == 0 {
            let mut child = cli(device.path(), &url).arg("sync").spawn().unwrap();
            std::thread::sleep(span.mul_f64(rand::Rng::gen_range(&mut rng, 0.05..0.5)));
            let _ = child.kill();
            let _ = child.wait();
            integrity_ok(device.path(), &url);
        }
    }
    // The last one is left to resume and finish.
    let done = cli(device.path(), &url).arg("sync").output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    integrity_ok(device.path(), &url);
    let core = open_core(&url, device.path(), secrets.clone());
    assert_same(&replica_view(&core), &org_view(&sim, REP));
    gateway.shutdown().await;
    sim.shutdown().await;
}

/// Drops the replica file (as "fresh sync" does) so the next sync is a first sync.
fn wipe_replica(data_dir: &Path, gateway_url: &str, secrets: Arc<dyn SecretStore>) {
    let core = open_core(gateway_url, data_dir, secrets);
    core.start_fresh().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_of_the_org_during_sync_end_finished_or_offline_and_store_nothing_wrong() {
    let sim = start_sim(SimConfig {
        control: true,
        seed: SeedCounts {
            accounts: 100,
            contacts: 3_000,
            opportunities: 300,
            tasks: 500,
        },
        ..SimConfig::default()
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let device = tempfile::tempdir().unwrap();
    let core = open_core(
        &gateway.base_url(),
        device.path(),
        Arc::new(companion_core::MemoryStore::default()),
    );
    sign_in(&core, REP).await;
    let control = reqwest::Client::new();
    let faults = [
        json!({"status": 503, "count": 3}),
        json!({"drop_connection": "before", "count": 2}),
        json!({"drop_connection": "after", "count": 2}),
        json!({"delay_ms": 1500, "count": 2}),
        json!({"status": 500, "count": 50}),
    ];
    for fault in faults {
        core.start_fresh().unwrap();
        let answer = control
            .post(format!("{}/__sim/faults", sim.base_url()))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{fault}");
        match core.sync(|_| {}).await {
            Ok(_) => {}
            Err(error) => assert!(
                matches!(error.kind(), "offline" | "gateway"),
                "{fault}: {error:?}"
            ),
        }
        // Whatever happened, nothing wrong was stored: clear the faults, finish, compare.
        control
            .delete(format!("{}/__sim/faults", sim.base_url()))
            .send()
            .await
            .unwrap();
        core.sync(|_| {}).await.unwrap();
        assert_same(&replica_view(&core), &org_view(&sim, REP));
    }
    gateway.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_gateway_down_every_read_works_and_status_says_offline() {
    let sim = start_sim(SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let device = tempfile::tempdir().unwrap();
    let secrets = Arc::new(companion_core::MemoryStore::default());
    let url = gateway.base_url();
    let core = open_core(&url, device.path(), secrets.clone());
    sign_in(&core, REP).await;
    core.sync(|_| {}).await.unwrap();
    gateway.shutdown().await;

    let core = open_core(&url, device.path(), secrets);
    let error = core.sync(|_| {}).await.unwrap_err();
    assert_eq!(error.kind(), "offline");
    let status = core.status();
    assert_eq!(status.online, Some(false));
    assert!(status.counts["Contact"] > 0);
    let contacts = core.contacts(None).unwrap();
    let contact = core
        .contact(&contacts[0].id)
        .unwrap()
        .expect("contact detail");
    assert_eq!(contact.name, contacts[0].name);
    let accounts = core.accounts(None, 0).unwrap();
    assert!(core.account(&accounts[0].id).unwrap().is_some());
    let deals = core.opportunities(&Default::default()).unwrap();
    assert!(core.opportunity(&deals[0].id).unwrap().is_some());
    let word = contacts[0].last_name.clone();
    assert!(core
        .search(&word)
        .unwrap()
        .iter()
        .any(|hit| hit.id == contacts[0].id));
    assert!(!core
        .picklist("Opportunity", "StageName")
        .unwrap()
        .is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_hint_starts_a_delta_sync_while_the_app_is_open() {
    // The gateway's address goes into sfsim's outbound rule, so bind it first.
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let gateway_url = format!("http://{}", listener.local_addr().unwrap());
    // The secret the outbound message's endpoint URL ends with, as an admin sets it up.
    let outbound_secret = "read-path-outbound-secret-0123456789";
    let sim = start_sim(SimConfig {
        outbound_messages: vec![format!(
            "Contact:LastName,Title:{gateway_url}/v1/salesforce/outbound/{outbound_secret}"
        )
        .parse()
        .unwrap()],
        outbound_time_scale: 0.001,
        ..SimConfig::default()
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let mut config = gateway_config(&sim, gateway_dir.path(), loopback());
    config.outbound_org_ids = vec![sim.org_id()];
    config.outbound_secret = Some(outbound_secret.into());
    let gateway = companion_gateway::start_on(listener, config, Default::default())
        .await
        .expect("gateway starts");
    let device = tempfile::tempdir().unwrap();
    let core = Arc::new(open_core(
        &gateway_url,
        device.path(),
        Arc::new(companion_core::MemoryStore::default()),
    ));
    sign_in(&core, REP).await;

    // The app's background loop: a first sync, then it waits for hints (or 15 minutes).
    let synced = Arc::new(tokio::sync::Notify::new());
    let on_synced = synced.clone();
    let background = tokio::spawn(companion_core::keep_in_sync(core.clone(), move |event| {
        if event == companion_core::BackgroundEvent::Synced {
            on_synced.notify_one();
        }
    }));
    tokio::time::timeout(std::time::Duration::from_secs(30), synced.notified())
        .await
        .expect("the first sync");
    // Let the hint stream connect, then the admin edits one of the rep's contacts.
    let contact = owned_by(&sim, "Contact", REP)[0].clone();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // Edited again until the hint arrives: the stream may not have been open for the first.
        sim.update_record("Contact", &contact, json!({"Title": "Hinted Title"}))
            .unwrap();
        let woke = tokio::time::timeout(std::time::Duration::from_secs(3), synced.notified()).await;
        let detail = core.contact(&contact).unwrap().unwrap();
        if woke.is_ok() && detail.title.as_deref() == Some("Hinted Title") {
            break;
        }
        assert!(Instant::now() < deadline, "no delta sync followed the hint");
    }
    background.abort();
    gateway.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_the_background_loop_backs_off_and_syncs_and_sends_as_soon_as_the_gateway_answers()
{
    let sim = start_sim(SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let address = gateway.local_addr();
    let device = tempfile::tempdir().unwrap();
    let core = Arc::new(open_core(
        &gateway.base_url(),
        device.path(),
        Arc::new(companion_core::MemoryStore::default()),
    ));
    sign_in(&core, REP).await;
    gateway.shutdown().await;

    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let background = tokio::spawn(companion_core::keep_in_sync(core.clone(), move |event| {
        let _ = events.send(event);
    }));
    // Offline: the loop says so, with a growing, jittered wait.
    let mut waits = Vec::new();
    while waits.len() < 2 {
        match received.recv().await.unwrap() {
            companion_core::BackgroundEvent::Offline { retry_in_ms } => waits.push(retry_in_ms),
            companion_core::BackgroundEvent::Synced => panic!("synced with the gateway down"),
            _ => {}
        }
    }
    assert!(
        waits[0] <= 1_000 && waits[1] <= 2_000 && waits[1] >= 1_000,
        "{waits:?}"
    );
    assert_eq!(core.status().online, Some(false));
    // A lead met meanwhile waits on the device.
    core.create_lead(companion_core::NewLead {
        last_name: "Visitor".into(),
        company: "Offline Booth Ltd".into(),
        ..Default::default()
    })
    .unwrap();

    // The gateway is back on the same address: the next probe finds it, the lead goes and the
    // sync runs, with no refresh by the rep.
    let gateway = start_gateway_at(&sim, gateway_dir.path(), address).await;
    let synced = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if received.recv().await.unwrap() == companion_core::BackgroundEvent::Synced {
                return;
            }
        }
    })
    .await;
    assert!(synced.is_ok(), "no sync after the gateway came back");
    assert!(core.status().counts["Contact"] > 0);
    assert!(core.pending().unwrap().is_empty());
    let sent: Vec<_> = sim
        .records("Lead")
        .into_iter()
        .filter(|lead| lead["Company"] == "Offline Booth Ltd")
        .collect();
    assert_eq!(sent.len(), 1);
    background.abort();
    gateway.shutdown().await;
    sim.shutdown().await;
}
