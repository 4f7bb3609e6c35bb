//! Several gateway instances on one PostgreSQL database, as a load balancer spreads a sales
//! force over them: two (or three) real `companion-gateway` processes against one sfsim, each
//! request free to land on either, and an instance killed with SIGKILL at the worst moment.
//!
//! Needs `COMPANION_TEST_DATABASE_URL` (an administrator URL; `cargo xtask test` starts a
//! throwaway server and sets it): without it these tests fail under CI and are skipped, saying
//! so, elsewhere.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use companion_api::{code, ExchangeRequest, ExchangeResponse, SyncRequest};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sfsim::{Sim, SimConfig};
use sqlx::{Connection, Executor, PgConnection};
use support::outbound::{message, notification_id, Hints};
use support::test_database::test_database;
use support::{authorize, error_of, start_sim, REDIRECT_URI, REP, TOKEN_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_companion-gateway");
const GRAPH: &str = "/services/data/v58.0/composite/graph";
/// In the kill tests Salesforce calls time out after two seconds, so the idempotency lease (ten
/// timeouts, the least the gateway takes) is short enough for a test to wait out.
const SHORT_UPSTREAM_TIMEOUT_SECS: u64 = 2;
const SHORT_LEASE_SECS: u64 = 10 * SHORT_UPSTREAM_TIMEOUT_SECS;
/// Elsewhere, room for a busy machine.
const UPSTREAM_TIMEOUT_SECS: u64 = 15;
/// The secret end of the outbound-message endpoint URL, the same on every instance.
const OUTBOUND_SECRET: &str = "instances-test-outbound-secret-0123456789";

/// One `companion-gateway` process on the shared database.
struct Instance {
    child: Child,
    url: String,
    _data_dir: tempfile::TempDir,
}

impl Instance {
    /// Start the binary on `port` (0: any) and wait for its first line, the address.
    fn start(database_url: &str, sim: &Sim, port: u16, upstream_timeout_secs: u64) -> Instance {
        let data_dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("COMPANION_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("SALESFORCE_LOGIN_URL", sim.base_url())
            .env("SALESFORCE_CLIENT_ID", sfsim::DEMO_CLIENT_ID)
            .env("SALESFORCE_CLIENT_SECRET", sfsim::DEMO_CLIENT_SECRET)
            .env("COMPANION_GATEWAY_DATA_DIR", data_dir.path())
            .env(
                "COMPANION_GATEWAY_TOKEN_KEY",
                base64::engine::general_purpose::STANDARD.encode(TOKEN_KEY),
            )
            .env("COMPANION_GATEWAY_DATABASE_URL", database_url)
            .env(
                "COMPANION_GATEWAY_UPSTREAM_TIMEOUT_SECS",
                upstream_timeout_secs.to_string(),
            )
            .env(
                "COMPANION_GATEWAY_IDEMPOTENCY_LEASE_SECS",
                (10 * upstream_timeout_secs).to_string(),
            )
            .env("COMPANION_GATEWAY_OUTBOUND_ORG_IDS", sim.org_id())
            .env("COMPANION_GATEWAY_OUTBOUND_SECRET", OUTBOUND_SECRET)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("the gateway binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim_end()
            .strip_prefix("gateway listening on ")
            .unwrap_or_else(|| panic!("the gateway did not start: {line:?}"))
            .to_string();
        Instance {
            child,
            url,
            _data_dir: data_dir,
        }
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL: no graceful anything.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// sfsim, a database, and a client.
struct Cluster {
    sim: Sim,
    database_url: String,
    http: reqwest::Client,
    upstream_timeout_secs: u64,
}

impl Cluster {
    async fn start(sim_config: SimConfig) -> Option<Cluster> {
        Cluster::with_upstream_timeout(sim_config, UPSTREAM_TIMEOUT_SECS).await
    }

    async fn with_upstream_timeout(
        sim_config: SimConfig,
        upstream_timeout_secs: u64,
    ) -> Option<Cluster> {
        let database_url = test_database().await?;
        Some(Cluster {
            sim: start_sim(sim_config).await,
            database_url,
            upstream_timeout_secs,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        })
    }

    /// `n` instances started together on the database.
    fn instances(&self, n: usize) -> Vec<Instance> {
        // Processes start in parallel (threads), as a deployment's do.
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n).map(|_| scope.spawn(|| self.instance(0))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// One more instance, on `port` (0: any).
    fn instance(&self, port: u16) -> Instance {
        Instance::start(
            &self.database_url,
            &self.sim,
            port,
            self.upstream_timeout_secs,
        )
    }

    async fn sign_in(&self, through: &Instance) -> ExchangeResponse {
        let (code, code_verifier) = authorize(&self.http, &self.sim.base_url(), REP).await;
        let response = self
            .http
            .post(format!("{}/v1/auth/exchange", through.url))
            .json(&ExchangeRequest {
                code,
                code_verifier,
                redirect_uri: REDIRECT_URI.into(),
                login_host: self.sim.base_url(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn query(&self, sql: &str) -> Vec<sqlx::postgres::PgRow> {
        let mut conn = PgConnection::connect(&self.database_url).await.unwrap();
        sqlx::query(sql).fetch_all(&mut conn).await.unwrap()
    }

    async fn token_generation(&self) -> i64 {
        use sqlx::Row;
        self.query("SELECT token_generation FROM users").await[0].get(0)
    }

    async fn key_state(&self, key: &str) -> Option<String> {
        use sqlx::Row;
        let mut conn = PgConnection::connect(&self.database_url).await.unwrap();
        sqlx::query("SELECT state FROM idempotency_keys WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&mut conn)
            .await
            .unwrap()
            .map(|row| row.get(0))
    }

    async fn sim_stats(&self) -> Value {
        support::sim_stats(&self.http, &self.sim.base_url()).await
    }

    async fn queue_fault(&self, fault: Value) {
        support::queue_fault(&self.http, &self.sim.base_url(), &fault).await;
    }

    fn leads_named(&self, last_name: &str) -> Vec<serde_json::Map<String, Value>> {
        self.sim
            .records("Lead")
            .into_iter()
            .filter(|l| l["LastName"] == last_name)
            .collect()
    }

    async fn create_lead(
        &self,
        on: &str,
        session: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{on}/v1/leads"))
            .bearer_auth(session)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
    }
}

/// Poll `check` until it holds, for at most `within`.
async fn wait_until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_requests_split_across_two_instances_at_expiry_refresh_once() {
    let Some(cluster) = Cluster::start(SimConfig {
        refresh_token_rotation: true,
        control: true,
        ..SimConfig::default()
    })
    .await
    else {
        return;
    };
    // Three instances start together on the empty database: each migrates or waits, none fails.
    let instances = cluster.instances(3);
    {
        use sqlx::Row;
        let applied = cluster
            .query("SELECT version FROM _sqlx_migrations WHERE success")
            .await;
        let versions: Vec<i64> = applied.iter().map(|row| row.get::<i64, _>(0)).collect();
        assert_eq!(versions, [1, 2], "each migration, applied once");
    }
    let (a, b) = (&instances[0], &instances[1]);
    let session = cluster.sign_in(a).await.session_token;
    let (http, token) = (cluster.http.clone(), session.clone());
    let sync = move |on: String| {
        let http = http.clone();
        let session = token.clone();
        async move {
            let response = http
                .post(format!("{on}/v1/sync"))
                .bearer_auth(&session)
                .json(&SyncRequest::default())
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    let (status, first) = sync(a.url.clone()).await;
    assert_eq!(status, 200, "{first}");
    let contacts = serde_json::from_str::<Value>(&first).unwrap()["contacts"]
        .as_array()
        .unwrap()
        .len();
    let refreshes = || async {
        cluster.sim_stats().await["token_requests"]["refresh_token"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = refreshes().await;
    assert_eq!(cluster.token_generation().await, 1);

    cluster.sim.expire_access_tokens();
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let on = [&a.url, &b.url][i % 2].clone();
            let barrier = barrier.clone();
            let sync = sync.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                sync(on).await
            })
        })
        .collect();
    for task in tasks {
        let (status, text) = task.await.unwrap();
        assert_eq!(status, 200, "{text}");
        let page: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(page["contacts"].as_array().unwrap().len(), contacts);
    }
    assert_eq!(
        refreshes().await - before,
        1,
        "one refresh grant at Salesforce for 50 requests on two instances"
    );
    assert_eq!(cluster.token_generation().await, 2);

    // The rotated refresh token was stored: the next expiry refreshes again, through B.
    cluster.sim.expire_access_tokens();
    let (status, text) = sync(b.url.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(refreshes().await - before, 2);
    assert_eq!(cluster.token_generation().await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_key_sent_to_both_instances_at_once_writes_once() {
    let Some(cluster) = Cluster::start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await
    else {
        return;
    };
    let instances = cluster.instances(2);
    let (a, b) = (&instances[0], &instances[1]);
    let session = cluster.sign_in(a).await.session_token;
    let body = json!({"LastName": "Twice-Sent", "Company": "Acme"});
    // Salesforce is slow to answer, so the two requests overlap.
    cluster
        .queue_fault(json!({"delay_ms": 500, "path": GRAPH}))
        .await;
    let graph_calls = || async {
        cluster.sim_stats().await["endpoints"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.contains("composite/graph"))
            .map(|(_, n)| n.as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let calls_before = graph_calls().await;
    let (on_a, on_b) = tokio::join!(
        cluster.create_lead(&a.url, &session, "same-key", &body),
        cluster.create_lead(&b.url, &session, "same-key", &body)
    );
    let mut answers = Vec::new();
    for response in [on_a.unwrap(), on_b.unwrap()] {
        let status = response.status();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let body: Value = response.json().await.unwrap();
        answers.push((status, replayed, body));
    }
    answers.sort_by_key(|(status, _, _)| *status);
    let (first, second) = (&answers[0], &answers[1]);
    assert_eq!(first.0, StatusCode::CREATED, "{answers:?}");
    assert!(
        second.0 == StatusCode::CONFLICT
            && second.2["error"]["code"] == code::IDEMPOTENCY_IN_PROGRESS
            || second.0 == StatusCode::CREATED && second.1,
        "the other answer is 409 in progress or the replay: {answers:?}"
    );
    assert_eq!(
        graph_calls().await - calls_before,
        1,
        "one Salesforce write"
    );
    assert_eq!(cluster.leads_named("Twice-Sent").len(), 1);

    // The same key with another body, on either instance: refused, nothing written.
    for on in [&a.url, &b.url] {
        let other = json!({"LastName": "Other-Body", "Company": "Acme"});
        let (status, error) = error_of(
            cluster
                .create_lead(on, &session, "same-key", &other)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, error.error.code.as_str()),
            (422, code::IDEMPOTENCY_KEY_REUSED)
        );
    }
    assert!(cluster.leads_named("Other-Body").is_empty());
}

/// Kill the instance writing `key` once `landed` holds, then retry on the other instance: it
/// answers 409 while the dead one's lease runs, then finds out and answers with one lead.
async fn killed_mid_write_then_retried_on_the_other(fault: Value, last_name: &str, landed: bool) {
    let Some(cluster) = Cluster::with_upstream_timeout(
        SimConfig {
            control: true,
            ..SimConfig::default()
        },
        SHORT_UPSTREAM_TIMEOUT_SECS,
    )
    .await
    else {
        return;
    };
    let mut instances = cluster.instances(2);
    let session = cluster.sign_in(&instances[0]).await.session_token;
    let body = json!({"LastName": last_name, "Company": "Acme"});
    cluster.queue_fault(fault).await;
    let doomed = {
        let (http, url, session, body) = (
            cluster.http.clone(),
            instances[0].url.clone(),
            session.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            http.post(format!("{url}/v1/leads"))
                .bearer_auth(&session)
                .header("Idempotency-Key", "kill-key")
                .json(&body)
                .send()
                .await
        })
    };
    // The key is claimed and the write is at Salesforce (landed, or held before it lands).
    wait_until(Duration::from_secs(10), "the key claimed", || async {
        cluster.key_state("kill-key").await.as_deref() == Some("in_progress")
    })
    .await;
    if landed {
        wait_until(Duration::from_secs(10), "the write landed", || async {
            cluster.leads_named(last_name).len() == 1
        })
        .await;
    } else {
        // Salesforce took the fault: the request is there, held before it is handled.
        wait_until(
            Duration::from_secs(10),
            "the write held at Salesforce",
            || async {
                let faults: Value = cluster
                    .http
                    .get(format!("{}/__sim/faults", cluster.sim.base_url()))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                faults["faults"].as_array().is_some_and(|f| f.is_empty())
            },
        )
        .await;
    }
    instances[0].kill();
    assert!(
        doomed.await.unwrap().is_err(),
        "the killed instance never answered"
    );

    let retried_at = Instant::now();
    let b = &instances[1];
    let created = loop {
        let response = cluster
            .create_lead(&b.url, &session, "kill-key", &body)
            .await
            .unwrap();
        match response.status() {
            StatusCode::CONFLICT => {
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(
                    retried_at.elapsed() < Duration::from_secs(SHORT_LEASE_SECS + 10),
                    "still in progress long after the lease"
                );
                tokio::time::sleep(Duration::from_secs(retry_after)).await;
            }
            StatusCode::CREATED => break response.json::<Value>().await.unwrap(),
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    };
    assert!(
        retried_at.elapsed() >= Duration::from_secs(SHORT_LEASE_SECS - 2),
        "taken over only after the lease"
    );
    let leads = cluster.leads_named(last_name);
    assert_eq!(leads.len(), 1, "one lead, never two");
    assert_eq!(created["Id"], leads[0]["Id"]);
    // The key is settled: a further retry replays, on either instance.
    instances[0] = cluster.instance(instances[0].port());
    for on in [&instances[0].url, &instances[1].url] {
        let again = cluster
            .create_lead(on, &session, "kill-key", &body)
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert!(again.headers().get("idempotent-replayed").is_some());
    }
    assert_eq!(cluster.leads_named(last_name).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_after_its_write_landed_is_recovered_not_repeated() {
    // Salesforce makes the write, then is slow to answer; the instance dies meanwhile.
    killed_mid_write_then_retried_on_the_other(
        json!({"delay_after_ms": 30_000, "path": GRAPH}),
        "Landed-Then-Killed",
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_before_its_write_landed_is_written_once() {
    // Salesforce holds the request before making the write; the instance dies meanwhile.
    killed_mid_write_then_retried_on_the_other(
        json!({"delay_ms": 5_000, "path": GRAPH}),
        "Killed-Before-Landing",
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ended_on_one_instance_is_refused_on_the_other_at_once() {
    let Some(cluster) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    let instances = cluster.instances(2);
    let (a, b) = (&instances[0], &instances[1]);
    let session = cluster.sign_in(a).await.session_token;
    let me = |on: &str| {
        cluster
            .http
            .get(format!("{on}/v1/me"))
            .bearer_auth(&session)
            .send()
    };
    assert_eq!(me(&b.url).await.unwrap().status(), 200);
    let logout = cluster
        .http
        .post(format!("{}/v1/auth/logout", a.url))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    // The very next request on the other instance, with no wait.
    let (status, error) = error_of(me(&b.url).await.unwrap()).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (401, code::REAUTH_REQUIRED)
    );
}

/// Post an outbound message to an instance as Salesforce does; it answers the Ack.
async fn deliver(cluster: &Cluster, on: &Instance, body: &str) {
    let response = cluster
        .http
        .post(format!(
            "{}/v1/salesforce/outbound/{OUTBOUND_SECRET}",
            on.url
        ))
        .header("content-type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(response.text().await.unwrap().contains("<Ack>true</Ack>"));
}

fn hint(objects: &[&str]) -> companion_api::ChangeHint {
    companion_api::ChangeHint {
        objects: objects.iter().map(|o| o.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_is_processed_once_heard_on_every_instance_and_a_lost_channel_resyncs() {
    let Some(cluster) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    let instances = cluster.instances(2);
    let (a, b) = (&instances[0], &instances[1]);
    let session = cluster.sign_in(a).await.session_token;
    let events = |on: &Instance| format!("{}/v1/events", on.url);
    let mut on_a = Hints::open(&cluster.http, &events(a), &session).await;
    let mut on_b = Hints::open(&cluster.http, &events(b), &session).await;
    let org = cluster.sim.org_id();

    // Salesforce delivers one notification to both instances at once: both acknowledge it…
    let contact = message(&org, &[(notification_id(1), "Contact")]);
    tokio::join!(
        deliver(&cluster, a, &contact),
        deliver(&cluster, b, &contact)
    );
    // …and each stream hears it once: the next hint after it is the next notification's,
    // delivered to one instance and heard on both.
    assert_eq!(on_a.next().await, hint(&["Contact"]));
    assert_eq!(on_b.next().await, hint(&["Contact"]));
    deliver(&cluster, b, &message(&org, &[(notification_id(2), "Lead")])).await;
    assert_eq!(on_a.next().await, hint(&["Lead"]));
    assert_eq!(on_b.next().await, hint(&["Lead"]));
    {
        use sqlx::Row;
        let remembered = cluster
            .query("SELECT count(*) FROM outbound_notifications")
            .await;
        assert_eq!(remembered[0].get::<i64, _>(0), 2);
    }

    // The instances lose their channel to each other's hints (the database ends the listening
    // connections): their streams end, so the apps sync and listen again…
    let mut admin = PgConnection::connect(&cluster.database_url).await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .await
        .unwrap();
    assert_eq!(on_b.next_data().await, None, "B's stream ended");
    assert_eq!(on_a.next_data().await, None, "A's stream ended");
    // …and, once the instance hears the others again, a new stream hears new hints. Until
    // then it answers 503 unavailable, never a stream that would miss them.
    let mut on_b = loop {
        let response = cluster
            .http
            .get(events(b))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => break Hints::from_response(response),
            StatusCode::SERVICE_UNAVAILABLE => {
                let (_, error) = error_of(response).await;
                assert_eq!(error.error.code, code::UNAVAILABLE);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("/v1/events answered {other}"),
        }
    };
    wait_until(Duration::from_secs(10), "A ready again", || async {
        cluster
            .http
            .get(format!("{}/readyz", a.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    deliver(
        &cluster,
        a,
        &message(&org, &[(notification_id(3), "Opportunity")]),
    )
    .await;
    assert_eq!(on_b.next().await, hint(&["Opportunity"]));
    // What an operator sees of it.
    let metrics = cluster
        .http
        .get(format!("{}/metrics", b.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "companion_store_backend{backend=\"postgres\"} 1",
        "companion_hint_channel_up 1",
        "companion_hint_channel_losses_total 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}
