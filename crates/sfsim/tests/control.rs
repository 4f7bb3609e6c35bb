//! The `/__sim` control API: stats, session expiry, faults, the clock and reset.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sfsim::{Sim, SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

async fn controlled() -> Sim {
    start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await
}

async fn control_post(sim: &Sim, path: &str, body: Value) -> reqwest::Response {
    browser()
        .post(format!("{}/__sim/{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control answers")
}

async fn stats(sim: &Sim) -> Value {
    browser()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .expect("stats answers")
        .json()
        .await
        .expect("JSON stats")
}

async fn fault(sim: &Sim, body: Value) {
    let response = control_post(sim, "faults", body.clone()).await;
    assert_eq!(response.status(), StatusCode::OK, "{body}");
}

const ACCOUNTS: &str = "SELECT Id FROM Account LIMIT 1";

async fn refresh(sim: &Sim, refresh_token: &str) -> reqwest::Response {
    token_request(
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ],
    )
    .await
}

#[tokio::test]
async fn the_control_api_is_off_unless_asked_for() {
    let sim = start(SimConfig::default()).await;
    let response = browser()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = control_post(&sim, "reset", json!({})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn stats_count_api_calls_token_requests_by_grant_and_endpoints() {
    let sim = controlled().await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("token");
    assert_eq!(
        refresh(&sim, tokens["refresh_token"].as_str().expect("refresh"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        refresh(&sim, "5Aep861nonsense").await.status(),
        StatusCode::BAD_REQUEST
    );
    for _ in 0..2 {
        let response = query(&sim, access, ACCOUNTS, None).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let stats = stats(&sim).await;
    assert_eq!(stats["api_calls"], 2);
    assert_eq!(
        stats["token_requests"],
        json!({"authorization_code": 1, "refresh_token": 2})
    );
    assert_eq!(stats["endpoints"]["GET /services/data/{version}/query"], 2);
    assert_eq!(stats["endpoints"]["POST /services/oauth2/token"], 3);
    assert_eq!(stats["endpoints"]["POST /services/oauth2/authorize"], 1);
    assert!(
        stats["endpoints"]
            .as_object()
            .expect("object")
            .keys()
            .all(|k| !k.contains("__sim")),
        "the control API does not count itself"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn expiring_sessions_gives_401_and_the_refresh_token_still_works() {
    let sim = controlled().await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("token");
    let response = control_post(&sim, "sessions/expire", json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = query(&sim, access, ACCOUNTS, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let renewed: Value = refresh(&sim, tokens["refresh_token"].as_str().expect("refresh"))
        .await
        .json()
        .await
        .expect("JSON");
    let access = renewed["access_token"].as_str().expect("new token");
    assert_eq!(
        query(&sim, access, ACCOUNTS, None).await.status(),
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn status_faults_answer_count_requests_in_salesforces_shapes_then_stop() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    fault(
        &sim,
        json!({"status": 503, "count": 2, "path": "/services/data"}),
    )
    .await;
    for _ in 0..2 {
        let response = query(&sim, &access, ACCOUNTS, None).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("sforce-limit-info"));
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");
    }
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::OK
    );

    // On the token endpoint a fault speaks OAuth: the reference's `unknown_error`.
    fault(&sim, json!({"status": 500})).await;
    let response = token_request(&sim, &[("grant_type", "password")]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"error": "unknown_error", "error_description": "retry your request"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_before_and_after_the_request_takes_effect() {
    let sim = controlled().await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("token").to_owned();
    let calls = sfsim::Sim::api_calls(&sim);

    // Before: no answer, and nothing happened (the call was not even counted).
    fault(&sim, json!({"drop_connection": "before"})).await;
    let outcome = browser()
        .get(format!("{}/services/data/v58.0/query", sim.base_url()))
        .query(&[("q", ACCOUNTS)])
        .bearer_auth(&access)
        .send()
        .await;
    assert!(outcome.is_err(), "no response: {outcome:?}");
    assert_eq!(sim.api_calls(), calls);

    // After: the revoke takes effect but the client hears nothing — the access token is dead.
    fault(&sim, json!({"drop_connection": "after"})).await;
    let outcome = browser()
        .post(format!("{}/services/oauth2/revoke", sim.base_url()))
        .form(&[("token", tokens["refresh_token"].as_str().expect("refresh"))])
        .send()
        .await;
    assert!(outcome.is_err(), "no response: {outcome:?}");
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn delays_and_an_exhausted_api_limit() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    fault(&sim, json!({"delay_ms": 400})).await;
    let started = Instant::now();
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(400));

    fault(&sim, json!({"api_limit_exhausted": true})).await;
    let response = query(&sim, &access, ACCOUNTS, None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["sforce-limit-info"],
        "api-usage=15000/15000"
    );
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    fault(&sim, json!({"api_limit_exhausted": false})).await;
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_control_requests_are_refused_with_a_reason() {
    let sim = controlled().await;
    for body in [
        json!({"status": 200}),
        json!({"status": 503, "delay_ms": 10}),
        json!({"drop_connection": "sometimes"}),
        json!({"delay_ms": 10, "count": 0}),
        json!({"delay_after_ms": 10, "count": 0}),
        json!({}),
    ] {
        let response = control_post(&sim, "faults", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let reason: Value = response.json().await.expect("JSON");
        assert!(reason["error"].is_string(), "{body}: {reason}");
    }
    for (body, reason) in [
        (
            json!({"delay_after_ms": 120_001, "path": "/services/data"}),
            "delay_after_ms must be at most 120000",
        ),
        (
            json!({"delay_ms": 10, "delay_after_ms": 10}),
            "give exactly one of status, drop_connection, delay_ms, delay_after_ms, \
             api_limit_exhausted",
        ),
        (
            json!({"drop_connection": "after", "delay_after_ms": 10}),
            "give exactly one of status, drop_connection, delay_ms, delay_after_ms, \
             api_limit_exhausted",
        ),
    ] {
        let response = control_post(&sim, "faults", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let refusal: Value = response.json().await.expect("JSON");
        assert_eq!(refusal, json!({ "error": reason }), "{body}");
    }
    for body in [json!({"seconds": -1}), json!({"minutes": 5}), json!("soon")] {
        let response = control_post(&sim, "clock/advance", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let faults: Value = browser()
        .get(format!("{}/__sim/faults", sim.base_url()))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(faults, json!({"faults": []}), "nothing was queued");
    sim.shutdown().await;
}

#[tokio::test]
async fn advancing_the_clock_ages_sessions_and_codes() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    let code = code_for(&sim, "rep@demo.example", &authorize_params("s", "api")).await;
    let response = control_post(&sim, "clock/advance", json!({"seconds": 7201})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let now: Value = response.json().await.expect("JSON");
    assert!(now["now"].as_str().expect("now").ends_with("+0000"));
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = token_request(
        &sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_grant", "the 15-minute code expired");
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_forgets_tokens_faults_counts_and_edits() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    let account = sim.records("Account")[0]["Id"]
        .as_str()
        .expect("an account")
        .to_owned();
    let original_name = sim.records("Account")[0]["Name"].clone();
    sim.update_record("Account", &account, json!({"Name": "Renamed Ltd"}))
        .expect("renamed");
    fault(&sim, json!({"status": 500, "count": 5, "path": "/nowhere"})).await;
    control_post(&sim, "clock/advance", json!({"seconds": 60})).await;

    let response = control_post(&sim, "reset", json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::UNAUTHORIZED,
        "tokens from before the reset are gone"
    );
    let renamed_back = sim
        .records("Account")
        .into_iter()
        .find(|r| r["Id"] == json!(account))
        .expect("the account is back");
    assert_eq!(renamed_back["Name"], original_name);
    let stats = stats(&sim).await;
    assert_eq!(stats["faults"], json!([]));
    assert_eq!(stats["token_requests"], json!({}));
    sim.shutdown().await;
}

/// The case that makes careless clients create duplicates: the create happens, the answer is lost,
/// the client sends it again.
#[tokio::test]
async fn a_create_whose_answer_is_lost_still_happens_and_a_blind_retry_duplicates_it() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    let create = || {
        browser()
            .post(format!(
                "{}/services/data/v58.0/sobjects/Contact/",
                sim.base_url()
            ))
            .bearer_auth(&access)
            .json(&json!({"FirstName": "Lost", "LastName": "Answer"}))
            .send()
    };
    let named = |sim: &Sim| {
        sim.records("Contact")
            .into_iter()
            .filter(|r| r["LastName"] == "Answer")
            .count()
    };
    fault(
        &sim,
        json!({"drop_connection": "after", "path": "/services/data/v58.0/sobjects"}),
    )
    .await;
    assert!(create().await.is_err(), "the client hears nothing");
    assert_eq!(named(&sim), 1, "but the record was created");
    let retry = create().await.expect("answers this time");
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(named(&sim), 2, "a blind retry makes a duplicate");
    sim.shutdown().await;
}

/// `delay_after_ms`: the write lands, then the answer is held — a client that gives up (or is
/// killed) meanwhile never hears that its write happened.
#[tokio::test]
async fn delay_after_lands_the_write_then_holds_the_answer() {
    let sim = controlled().await;
    let access = access_token(&sim, "rep@demo.example").await;
    let sobjects = "/services/data/v58.0/sobjects";
    let create = |last_name: &'static str, timeout: Duration| {
        browser()
            .post(format!("{}{sobjects}/Contact/", sim.base_url()))
            .bearer_auth(&access)
            .timeout(timeout)
            .json(&json!({"FirstName": "Delayed", "LastName": last_name}))
            .send()
    };
    let named = |sim: &Sim, last_name: &str| {
        sim.records("Contact")
            .into_iter()
            .filter(|r| r["LastName"] == last_name)
            .count()
    };

    // A client that waits gets its answer, no sooner than the hold.
    let hold = Duration::from_millis(400);
    fault(&sim, json!({"delay_after_ms": 400, "path": sobjects})).await;
    let faults = stats(&sim).await["faults"].clone();
    assert_eq!(
        faults,
        json!([{"fault": {"delay_after_ms": 400}, "remaining": 1, "path": sobjects}])
    );
    let started = Instant::now();
    let response = create("Waited", Duration::from_secs(30))
        .await
        .expect("answers after the hold");
    assert!(started.elapsed() >= hold, "{:?}", started.elapsed());
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("JSON");
    let id = created["id"].as_str().expect("an id");
    assert!(sim.records("Contact").iter().any(|r| r["Id"] == id));

    // A client that gives up during the hold hears nothing, yet the record is there — long before
    // the hold would have ended.
    let hold = Duration::from_secs(20);
    fault(&sim, json!({"delay_after_ms": 20_000, "path": sobjects})).await;
    let started = Instant::now();
    let outcome = create("GaveUp", Duration::from_millis(300)).await;
    assert!(
        outcome.as_ref().is_err_and(|e| e.is_timeout()),
        "the client gave up: {outcome:?}"
    );
    while named(&sim, "GaveUp") == 0 {
        assert!(
            started.elapsed() < hold,
            "the create landed while the answer was held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(named(&sim, "GaveUp"), 1);
    assert_eq!(
        stats(&sim).await["faults"],
        json!([]),
        "the fault is used up"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_slows_every_rest_call_but_not_oauth_or_control() {
    let latency = Duration::from_millis(1_000);
    let sim = start(SimConfig {
        control: true,
        latency,
        ..SimConfig::default()
    })
    .await;
    let started = Instant::now();
    let access = access_token(&sim, "rep@demo.example").await;
    assert!(started.elapsed() < latency, "OAuth is not delayed");

    let started = Instant::now();
    assert_eq!(
        query(&sim, &access, ACCOUNTS, None).await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    let started = Instant::now();
    let versions = browser()
        .get(format!("{}/services/data", sim.base_url()))
        .send()
        .await
        .expect("versions answer");
    assert_eq!(versions.status(), StatusCode::OK);
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());

    let started = Instant::now();
    assert_eq!(stats(&sim).await["api_calls"], 1);
    assert!(
        started.elapsed() < latency,
        "the control API is not delayed"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_binary_takes_the_control_oauth_and_latency_flags_and_refuses_a_bad_outbound_rule() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfsim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--control",
            "--client-credentials-user",
            "admin@demo.example",
            "--outbound-message",
            "Opportunity:Name,StageName:http://127.0.0.1:9/om",
            "--outbound-time-scale",
            "0.001",
            "--latency-ms",
            "250",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sfsim starts");
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line),
    )
    .await
    .expect("a first line in time")
    .expect("readable");
    let base = line
        .trim()
        .strip_prefix("sfsim listening on ")
        .expect("the address line")
        .to_owned();
    let stats = browser()
        .get(format!("{base}/__sim/stats"))
        .send()
        .await
        .expect("control API on");
    assert_eq!(stats.status(), StatusCode::OK);
    let token = browser()
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token answers");
    assert_eq!(token.status(), StatusCode::OK, "the run-as user is set");
    let token: Value = token.json().await.expect("JSON token");
    let started = Instant::now();
    let answer = browser()
        .get(format!("{base}/services/data/v58.0/query"))
        .query(&[("q", ACCOUNTS)])
        .bearer_auth(token["access_token"].as_str().expect("access token"))
        .send()
        .await
        .expect("query answers");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "--latency-ms: {:?}",
        started.elapsed()
    );
    child.kill().await.expect("stopped");

    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfsim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--outbound-message",
            "Widget:Name:http://127.0.0.1:9/om",
        ])
        .output()
        .await
        .expect("runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("unknown object 'Widget'"), "{stderr}");

    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfsim"))
        .args(["--listen", "127.0.0.1:0", "--outbound-time-scale", "0"])
        .output()
        .await
        .expect("runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("expected a positive number"), "{stderr}");
}
