//! The write path end to end (issue 11): `companion-cli` (the device) + the gateway + sfsim (the
//! org), on loopback. Writes made with the gateway down show everywhere as pending and reach
//! Salesforce with one sync, exactly once; a push killed with SIGKILL at random moments while
//! sfsim drops answers after committing still ends with every write in Salesforce exactly once;
//! faults leave writes sent or waiting, never doubled; conflicts, refusals and an ended session
//! are settled by the rep.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use companion_core::{Companion, FileStore, NewCall, NewFollowUp, NewLead, SecretStore};
use companion_gateway::Gateway;
use serde_json::{json, Value};
use sfsim::{Sim, SimConfig};

/// A device: its data folder (the CLI's and the test's core share it, and the secrets in it).
struct Device {
    dir: tempfile::TempDir,
    secrets: Arc<dyn SecretStore>,
}

impl Device {
    /// A device signed in as `username` through `gateway_url`, with a first sync done.
    async fn signed_in(gateway_url: &str, username: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(FileStore::in_data_dir(dir.path()));
        let core = open_core(gateway_url, dir.path(), secrets.clone());
        sign_in(&core, username).await;
        let device = Device { dir, secrets };
        device.run(gateway_url, &["sync"]);
        device
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn core(&self, gateway_url: &str) -> Companion {
        open_core(gateway_url, self.path(), self.secrets.clone())
    }

    /// Runs `companion-cli ARGS` (a new process each time: a restart of the app).
    fn output(&self, gateway_url: &str, args: &[&str]) -> Output {
        cli(self.path(), gateway_url).args(args).output().unwrap()
    }

    /// Runs it and expects success; returns stdout.
    fn run(&self, gateway_url: &str, args: &[&str]) -> String {
        let output = self.output(gateway_url, args);
        assert!(
            output.status.success(),
            "companion-cli {args:?}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs it with `--json` and parses what it prints.
    fn json(&self, gateway_url: &str, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.run(gateway_url, &args)).unwrap()
    }

    fn pending(&self, gateway_url: &str) -> Vec<Value> {
        self.json(gateway_url, &["pending"])
            .as_array()
            .unwrap()
            .clone()
    }

    /// Pushes until nothing is left waiting (writes that need the rep may stay), within a
    /// deadline: a write the gateway was still working on when its sender died answers "in
    /// progress" for a moment.
    fn push_until_settled(&self, gateway_url: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let output = self.output(gateway_url, &["push"]);
            if output.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "writes still waiting: {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Records of `object` in sfsim whose `field` is `value`.
fn in_org(
    sim: &Sim,
    object: &str,
    field: &str,
    value: &str,
) -> Vec<serde_json::Map<String, Value>> {
    sim.records(object)
        .into_iter()
        .filter(|r| r.get(field).and_then(Value::as_str) == Some(value))
        .collect()
}

/// An opportunity of the rep's that is still open.
fn open_deal(sim: &Sim) -> String {
    let owner = sim.user_id(REP).unwrap();
    sim.records("Opportunity")
        .into_iter()
        .find(|o| o["OwnerId"] == owner.as_str() && o["IsClosed"] == false)
        .map(|o| o["Id"].as_str().unwrap().to_string())
        .expect("the rep has an open opportunity")
}

/// sfsim, a gateway in front of it (its data folder kept), and a rep's device signed in with a
/// first sync done.
struct Org {
    sim: Sim,
    gateway: Gateway,
    _gateway_dir: tempfile::TempDir,
    url: String,
    device: Device,
}

impl Org {
    async fn start(config: SimConfig, upstream_timeout: Duration) -> Org {
        let sim = start_sim(config).await;
        let gateway_dir = tempfile::tempdir().unwrap();
        let mut gateway_config = gateway_config(&sim, gateway_dir.path(), loopback());
        gateway_config.upstream_timeout = upstream_timeout;
        let gateway = companion_gateway::start(gateway_config)
            .await
            .expect("gateway starts");
        let url = gateway.base_url();
        let device = Device::signed_in(&url, REP).await;
        Org {
            sim,
            gateway,
            _gateway_dir: gateway_dir,
            url,
            device,
        }
    }

    async fn shutdown(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
    }
}

async fn queue_fault(sim: &Sim, fault: Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{fault}");
}

async fn clear_faults(sim: &Sim) {
    reqwest::Client::new()
        .delete(format!("{}/__sim/faults", sim.base_url()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_gateway_stopped_writes_wait_and_one_sync_sends_each_exactly_once() {
    let sim = start_sim(SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let address = gateway.local_addr();
    let url = gateway.base_url();
    let device = Device::signed_in(&url, REP).await;
    let contact = owned_by(&sim, "Contact", REP)[0].clone();
    let deal = open_deal(&sim);
    gateway.shutdown().await;

    // No signal: a lead, a call about it (by its local id), a deal's stage, a new number, a
    // follow-up. Each command is a new process, as an app restarted between them.
    let lead = device.json(
        &url,
        &[
            "lead",
            "new",
            "--last-name",
            "Lamarr",
            "--first-name",
            "Hedy",
            "--company",
            "Offline Labs",
            "--email",
            "hedy@offline.example",
        ],
    );
    let local = lead["id"].as_str().unwrap().to_string();
    assert!(local.starts_with("local-00Q-"), "{lead}");
    assert_eq!(
        (lead["name"].as_str(), lead["pending"].as_str()),
        (Some("Hedy Lamarr"), Some("waiting"))
    );
    let call = device.json(
        &url,
        &[
            "call",
            "log",
            "--about",
            &local,
            "--subject",
            "Trade show intro",
        ],
    );
    assert_eq!(call["who_id"], local.as_str());
    let moved = device.json(
        &url,
        &[
            "opportunity",
            "update",
            &deal,
            "--stage",
            "Negotiation/Review",
        ],
    );
    assert_eq!(moved["stage_name"], "Negotiation/Review");
    assert_eq!(
        moved["probability"], 90.0,
        "the probability follows the stage"
    );
    assert_eq!(moved["pending"], "waiting");
    let phoned = device.json(
        &url,
        &["contact", "update", &contact, "--phone", "+1 555 0199"],
    );
    assert_eq!(
        (phoned["phone"].as_str(), phoned["pending"].as_str()),
        (Some("+1 555 0199"), Some("waiting"))
    );
    device.json(
        &url,
        &[
            "task",
            "new",
            "--about",
            &contact,
            "--subject",
            "Send the deck",
            "--due",
            "2030-01-15",
        ],
    );

    // Every read shows them, pending.
    let leads = device.json(&url, &["leads"]);
    assert!(leads
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == local.as_str() && l["pending"] == "waiting"));
    let hits = device.json(&url, &["search", "lamarr"]);
    assert_eq!(
        (hits[0]["object"].as_str(), hits[0]["pending"].as_str()),
        (Some("Lead"), Some("waiting"))
    );
    let shown = device.json(&url, &["show", &local]);
    assert_eq!(shown["object"], "Lead");
    assert_eq!(shown["recent_tasks"][0]["subject"], "Trade show intro");
    let shown = device.json(&url, &["show", &contact]);
    assert_eq!(shown["phone"], "+1 555 0199");
    assert!(shown["recent_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["subject"] == "Send the deck" && t["pending"] == "waiting"));
    let deals = device.json(&url, &["opportunities"]);
    assert!(deals
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == deal.as_str() && o["pending"] == "waiting"));
    let pending = device.pending(&url);
    assert_eq!(pending.len(), 5);
    assert!(
        pending.iter().all(|w| w["state"] == "waiting"),
        "{pending:?}"
    );
    let status = device.json(&url, &["status"]);
    assert_eq!(status["status"]["outbox"]["pending"], 5);
    // A sync with no gateway: offline (exit 3), nothing lost.
    let offline = device.output(&url, &["sync"]);
    assert_eq!(offline.status.code(), Some(3));
    assert_eq!(device.pending(&url).len(), 5);

    // The gateway is back: one sync.
    let gateway = start_gateway_at(&sim, gateway_dir.path(), address).await;
    device.run(&url, &["sync"]);
    let leads = in_org(&sim, "Lead", "Company", "Offline Labs");
    assert_eq!(leads.len(), 1, "exactly one such lead");
    let lead_id = leads[0]["Id"].as_str().unwrap();
    let calls = in_org(&sim, "Task", "Subject", "Trade show intro");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0]["WhoId"], lead_id,
        "the call names the lead's Salesforce id"
    );
    assert_eq!(calls[0]["TaskSubtype"], "Call");
    assert_eq!(calls[0]["Status"], "Completed");
    let deal_now = &in_org(&sim, "Opportunity", "Id", &deal)[0];
    assert_eq!(deal_now["StageName"], "Negotiation/Review");
    assert_eq!(deal_now["Probability"], 90.0);
    assert_eq!(
        in_org(&sim, "Contact", "Id", &contact)[0]["Phone"],
        "+1 555 0199"
    );
    let follow_ups = in_org(&sim, "Task", "Subject", "Send the deck");
    assert_eq!(follow_ups.len(), 1);
    assert_eq!(
        (
            follow_ups[0]["WhoId"].as_str(),
            follow_ups[0]["ActivityDate"].as_str(),
            follow_ups[0]["Status"].as_str()
        ),
        (
            Some(contact.as_str()),
            Some("2030-01-15"),
            Some("Not Started")
        )
    );
    assert!(device.pending(&url).is_empty());
    let shown = device.json(&url, &["show", &local]);
    assert_eq!(shown["id"], lead_id, "the local id still opens the lead");
    assert!(shown["pending"].is_null());
    integrity_ok(device.path(), &url);
    gateway.shutdown().await;
    sim.shutdown().await;
}

/// Saves `count` writes of mixed kinds (leads, calls about contacts, follow-ups about deals,
/// calls about the leads made here), each marked `crash-<n>` in its last name or subject.
fn save_marked_writes(core: &Companion, sim: &Sim, from: usize, count: usize) {
    let contacts = owned_by(sim, "Contact", REP);
    let deal = open_deal(sim);
    let mut last_lead = None;
    for n in from..from + count {
        let marker = format!("crash-{n}");
        match n % 4 {
            0 => {
                let lead = core
                    .create_lead(NewLead {
                        last_name: marker,
                        company: "Crash Test Co".into(),
                        ..Default::default()
                    })
                    .unwrap();
                last_lead = Some(lead.lead.id);
            }
            1 => {
                core.log_call(NewCall {
                    about: contacts[n % contacts.len()].clone(),
                    subject: Some(marker),
                    ..Default::default()
                })
                .unwrap();
            }
            2 => {
                core.create_task(NewFollowUp {
                    about: deal.clone(),
                    subject: marker,
                    due: "2030-02-01".into(),
                    ..Default::default()
                })
                .unwrap();
            }
            _ => {
                core.log_call(NewCall {
                    about: last_lead.clone().unwrap_or_else(|| contacts[0].clone()),
                    subject: Some(marker),
                    ..Default::default()
                })
                .unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_killed_at_random_moments_sends_every_write_exactly_once() {
    let org = Org::start(
        SimConfig {
            control: true,
            daily_api_limit: 1_000_000,
            ..SimConfig::default()
        },
        companion_gateway::UPSTREAM_TIMEOUT,
    )
    .await;
    let (sim, url, device) = (&org.sim, org.url.as_str(), &org.device);
    let mut saved = 0;
    {
        let core = device.core(url);
        save_marked_writes(&core, sim, saved, 1_000);
        saved += 1_000;
    }
    // Every Salesforce write call is slow, and one in four of them loses its answer after
    // Salesforce committed it.
    let mut slots = Vec::new();
    for i in 0..400 {
        slots.push(if i % 4 == 3 {
            json!({"drop_connection": "after", "path": "/services/data/v58.0/composite"})
        } else {
            json!({"delay_ms": 700, "path": "/services/data/v58.0/composite"})
        });
    }
    for slot in slots {
        queue_fault(sim, slot).await;
    }

    let mut rng = rand::thread_rng();
    let mut kills_mid_push = 0;
    let mut attempts = 0;
    while kills_mid_push < 20 {
        attempts += 1;
        assert!(attempts < 100, "could not interrupt 20 pushes");
        let mut child = cli(device.path(), url).arg("push").spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rand::Rng::gen_range(
            &mut rng,
            150..1_500,
        )));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills_mid_push += 1;
        }
        let _ = child.wait();
        integrity_ok(device.path(), url);
        // The rep keeps working: more writes while the pushes die.
        let core = device.core(url);
        save_marked_writes(&core, sim, saved, 40);
        saved += 40;
    }
    clear_faults(sim).await;
    device.push_until_settled(url);
    assert!(device.pending(url).is_empty(), "{:?}", device.pending(url));

    // Every write is in Salesforce exactly once, none is missing.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for lead in sim.records("Lead") {
        if let Some(marker) = lead["LastName"]
            .as_str()
            .filter(|m| m.starts_with("crash-"))
        {
            *seen.entry(marker.to_string()).or_default() += 1;
        }
    }
    let leads_by_marker: BTreeMap<String, String> = sim
        .records("Lead")
        .into_iter()
        .filter_map(|l| {
            Some((
                l["LastName"].as_str()?.to_string(),
                l["Id"].as_str()?.to_string(),
            ))
        })
        .collect();
    for task in sim.records("Task") {
        if let Some(marker) = task["Subject"].as_str().filter(|m| m.starts_with("crash-")) {
            *seen.entry(marker.to_string()).or_default() += 1;
            let n: usize = marker["crash-".len()..].parse().unwrap();
            if n % 4 == 3 {
                // A call about a lead made offline names that lead's Salesforce id.
                let lead = &leads_by_marker[&format!("crash-{}", n - 3)];
                assert_eq!(task["WhoId"], lead.as_str(), "{marker}");
            }
        }
    }
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    let missing: Vec<String> = (0..saved)
        .map(|n| format!("crash-{n}"))
        .filter(|m| !seen.contains_key(m))
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert!(kills_mid_push >= 20 && saved >= 1_000);
    integrity_ok(device.path(), url);
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_leave_every_write_sent_or_waiting_and_none_doubled() {
    // Salesforce calls time out after 2 s here, so a 3 s delay is one beyond the timeout.
    let org = Org::start(
        SimConfig {
            control: true,
            ..SimConfig::default()
        },
        Duration::from_secs(2),
    )
    .await;
    let (sim, url, device) = (&org.sim, org.url.as_str(), &org.device);
    let contact = owned_by(sim, "Contact", REP)[1].clone();
    let composite = "/services/data/v58.0/composite";
    let faults = [
        ("503", json!({"status": 503, "count": 3, "path": composite})),
        ("limits", json!({"api_limit_exhausted": true})),
        ("delay", json!({"delay_ms": 3_000, "path": composite})),
        (
            "drop-before",
            json!({"drop_connection": "before", "path": composite}),
        ),
        (
            "drop-after",
            json!({"drop_connection": "after", "path": composite}),
        ),
    ];
    for (name, fault) in faults {
        let core = device.core(url);
        let lead = core
            .create_lead(NewLead {
                last_name: format!("fault-{name}"),
                company: "Fault Co".into(),
                ..Default::default()
            })
            .unwrap();
        core.log_call(NewCall {
            about: lead.lead.id.clone(),
            subject: Some(format!("fault-{name}")),
            ..Default::default()
        })
        .unwrap();
        core.log_call(NewCall {
            about: contact.clone(),
            subject: Some(format!("fault-{name}-contact")),
            ..Default::default()
        })
        .unwrap();
        drop(core);
        queue_fault(sim, fault).await;
        let output = device.output(url, &["push"]);
        assert!(
            matches!(output.status.code(), Some(0) | Some(5)),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pending = device.pending(url);
        assert!(
            pending.iter().all(|w| w["state"] == "waiting"),
            "{name}: a fault is never a failure: {pending:?}"
        );
        if name == "limits" {
            let waiting = &pending[0];
            assert!(
                waiting["next_attempt_at"].is_string(),
                "Retry-After is kept: {waiting}"
            );
            assert_eq!(waiting["error"]["code"], "rate_limited");
            sim_limits_back(sim).await;
        }
        clear_faults(sim).await;
        device.push_until_settled(url);
        assert!(device.pending(url).is_empty(), "{name}");
        for subject in [format!("fault-{name}"), format!("fault-{name}-contact")] {
            assert_eq!(
                in_org(sim, "Task", "Subject", &subject).len(),
                1,
                "{subject}"
            );
        }
        assert_eq!(
            in_org(sim, "Lead", "LastName", &format!("fault-{name}")).len(),
            1
        );
    }
    org.shutdown().await;
}

/// Gives the org its API allocation back.
async fn sim_limits_back(sim: &Sim) {
    queue_fault(sim, json!({"api_limit_exhausted": false})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_on_the_stage_is_settled_keep_mine_and_the_amount_is_merged() {
    for keep_mine in [true, false] {
        let org = Org::start(SimConfig::default(), companion_gateway::UPSTREAM_TIMEOUT).await;
        let (sim, url, device) = (&org.sim, org.url.as_str(), &org.device);
        let deal = open_deal(sim);

        // The admin moves the deal and changes its amount; the rep, from the older view,
        // moves it elsewhere.
        let admin = Admin::sign_in(sim).await;
        admin
            .call(
                reqwest::Method::PATCH,
                &format!("sobjects/Opportunity/{deal}"),
                Some(json!({"StageName": "Value Proposition", "Amount": 77_000})),
            )
            .await;
        device.json(
            url,
            &[
                "opportunity",
                "update",
                &deal,
                "--stage",
                "Negotiation/Review",
            ],
        );
        device.run(url, &["push"]);
        let pending = device.pending(url);
        assert_eq!(pending.len(), 1);
        let conflict = &pending[0];
        assert_eq!(conflict["state"], "conflict");
        let fields: Vec<&str> = conflict["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["StageName"], "a conflict on the stage only");
        assert_eq!(conflict["conflicts"][0]["mine"], "Negotiation/Review");
        assert_eq!(conflict["conflicts"][0]["theirs"], "Value Proposition");
        let shown = device.json(url, &["show", &deal]);
        assert_eq!(shown["amount"], 77_000.0, "the admin's amount is merged");
        let key = conflict["key"].as_str().unwrap();

        if keep_mine {
            device.run(url, &["resolve", key, "--keep-mine"]);
            device.run(url, &["push"]);
            let now = &in_org(sim, "Opportunity", "Id", &deal)[0];
            assert_eq!(now["StageName"], "Negotiation/Review", "the rep's stage");
            assert_eq!(now["Amount"], 77_000.0, "the admin's amount");
        } else {
            device.run(
                url,
                &["resolve", key, "--use-theirs", "--field", "StageName"],
            );
            let now = &in_org(sim, "Opportunity", "Id", &deal)[0];
            assert_eq!(now["StageName"], "Value Proposition");
            let shown = device.json(url, &["show", &deal]);
            assert_eq!(
                shown["stage_name"], "Value Proposition",
                "the overlay is gone"
            );
            assert!(shown["pending"].is_null());
        }
        assert!(device.pending(url).is_empty());
        org.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_write_fails_with_field_errors_holds_back_its_record_only_and_is_fixed() {
    let org = Org::start(SimConfig::default(), companion_gateway::UPSTREAM_TIMEOUT).await;
    let (sim, url, device) = (&org.sim, org.url.as_str(), &org.device);
    let contacts = owned_by(sim, "Contact", REP);

    // Title is at most 128 characters in Salesforce.
    let long_title = "Vice President of ".repeat(10);
    device.json(
        url,
        &["contact", "update", &contacts[0], "--title", &long_title],
    );
    device.json(
        url,
        &["contact", "update", &contacts[0], "--phone", "+1 555 0123"],
    );
    device.json(
        url,
        &["contact", "update", &contacts[1], "--phone", "+1 555 0124"],
    );
    device.run(url, &["push"]);
    let pending = device.pending(url);
    assert_eq!(
        pending.len(),
        2,
        "the other record's write went: {pending:?}"
    );
    assert_eq!(pending[0]["state"], "failed");
    assert!(
        pending[0]["error"]["fields"]["Title"].is_string(),
        "{}",
        pending[0]
    );
    assert_eq!(pending[1]["state"], "waiting");
    assert!(pending[1]["waiting_for"]
        .as_str()
        .unwrap()
        .contains("failed"));
    assert_eq!(
        in_org(sim, "Contact", "Id", &contacts[1])[0]["Phone"],
        "+1 555 0124"
    );
    assert_ne!(
        in_org(sim, "Contact", "Id", &contacts[0])[0]["Phone"],
        "+1 555 0123"
    );

    let key = pending[0]["key"].as_str().unwrap();
    device.run(url, &["retry", key, "--set", "Title=VP of Sales"]);
    device.run(url, &["push"]);
    assert!(device.pending(url).is_empty());
    let now = &in_org(sim, "Contact", "Id", &contacts[0])[0];
    assert_eq!(
        (now["Title"].as_str(), now["Phone"].as_str()),
        (Some("VP of Sales"), Some("+1 555 0123"))
    );

    // Refused again, and discarded this time: the change goes from the device too.
    device.json(
        url,
        &["contact", "update", &contacts[2], "--title", &long_title],
    );
    device.run(url, &["push"]);
    let key = device.pending(url)[0]["key"].as_str().unwrap().to_string();
    device.run(url, &["discard", &key]);
    assert!(device.pending(url).is_empty());
    let shown = device.json(url, &["show", &contacts[2]]);
    assert_ne!(shown["title"], long_title.as_str());
    assert!(shown["pending"].is_null());
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ended_session_keeps_every_write_for_the_same_rep_and_another_rep_sees_none() {
    let org = Org::start(SimConfig::default(), companion_gateway::UPSTREAM_TIMEOUT).await;
    let (sim, url, device) = (&org.sim, org.url.as_str(), &org.device);
    let contact = owned_by(sim, "Contact", REP)[0].clone();
    let lead = device.json(
        url,
        &[
            "lead",
            "new",
            "--last-name",
            "Session",
            "--company",
            "Revoked Co",
        ],
    );
    let local = lead["id"].as_str().unwrap().to_string();
    device.json(
        url,
        &[
            "call",
            "log",
            "--about",
            &local,
            "--subject",
            "session-call",
        ],
    );
    device.json(
        url,
        &[
            "call",
            "log",
            "--about",
            &contact,
            "--subject",
            "session-call-2",
        ],
    );

    // The rep signs out on another device: the gateway revokes the refresh token at
    // Salesforce and ends every session of the rep, this device's too.
    let other = tempfile::tempdir().unwrap();
    let other_core = open_core(
        url,
        other.path(),
        Arc::new(FileStore::in_data_dir(other.path())),
    );
    sign_in(&other_core, REP).await;
    other_core.sign_out(false).await.unwrap();

    let output = device.output(url, &["push"]);
    assert_eq!(output.status.code(), Some(4), "sign-in needed");
    let status = device.json(url, &["status"]);
    assert_eq!(status["status"]["outbox"]["waiting_for_sign_in"], 3);
    assert!(device
        .pending(url)
        .iter()
        .all(|w| w["state"] == "waiting_for_sign_in"));
    let logout = device.output(url, &["logout"]);
    assert!(
        !logout.status.success(),
        "signing out would lose the writes"
    );
    assert!(String::from_utf8_lossy(&logout.stderr).contains("3 changes"));

    // rep2 on the same device: none of them, and none sent.
    {
        let core = device.core(url);
        sign_in(&core, REP2).await;
        assert!(core.pending().unwrap().is_empty());
        assert!(core
            .leads(&Default::default())
            .unwrap()
            .iter()
            .all(|l| l.company != "Revoked Co"));
        core.push_now().await.unwrap();
        core.sign_out(false).await.unwrap();
    }
    assert!(in_org(sim, "Lead", "Company", "Revoked Co").is_empty());

    // The rep signs in again: each write is sent once.
    {
        let core = device.core(url);
        sign_in(&core, REP).await;
    }
    device.run(url, &["sync"]);
    assert!(device.pending(url).is_empty());
    let leads = in_org(sim, "Lead", "Company", "Revoked Co");
    assert_eq!(leads.len(), 1);
    let calls = in_org(sim, "Task", "Subject", "session-call");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["WhoId"], leads[0]["Id"]);
    assert_eq!(in_org(sim, "Task", "Subject", "session-call-2").len(), 1);
    org.shutdown().await;
}
