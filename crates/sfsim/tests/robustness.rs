//! Speed and robustness: the SOQL parser never panics (a property test of 100,000 inputs, malformed
//! ones answered `MALFORMED_QUERY`), oversized bodies get `413`, 50 concurrent clients work.

mod common;

use std::time::Duration;

use common::*;
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use reqwest::StatusCode;
use serde_json::Value;
use sfsim::{SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD};

/// Pieces of SOQL, glued together at random: most results are malformed in interesting places
/// (deep inside WHERE, half an ORDER BY), some are valid.
const PIECES: &[&str] = &[
    "SELECT",
    "Id",
    "Name",
    "Account.Name",
    "Owner.Name",
    "COUNT()",
    "FROM",
    "Contact",
    "Account",
    "Opportunity",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "IN",
    "NOT IN",
    "null",
    "true",
    "false",
    "'a%'",
    "'it\\'s'",
    "'\\x'",
    "'open",
    "42",
    "-1.5",
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00+02:00",
    "TODAY",
    "LAST_N_DAYS:7",
    "LAST_N_DAYS:",
    "NEXT_N_DAYS:99999999999999999999",
    "THIS_WEEK",
    "ORDER BY",
    "ASC",
    "DESC",
    "NULLS FIRST",
    "NULLS LAST",
    "LIMIT",
    "OFFSET",
    "2000",
    "99999999999999999999",
    "Amount",
    "StageName",
    "SystemModstamp",
    "Email",
    ".",
    ":",
    "'",
    "\\",
    "%",
    "_",
    "é",
    "\n",
    "\u{0}",
];

fn soql_like() -> impl Strategy<Value = String> {
    prop_oneof![
        // Token soup.
        prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.join(" ")),
        // A valid query with one piece replaced or dropped.
        (
            prop::collection::vec(prop::sample::select(PIECES), 0..3),
            0usize..12,
        )
            .prop_map(|(extra, at)| {
                let mut words: Vec<&str> = "SELECT Id, Account.Name FROM Contact WHERE Name LIKE 'a%' AND CreatedDate = LAST_N_DAYS:30 ORDER BY Name DESC NULLS LAST LIMIT 10"
                    .split(' ')
                    .collect();
                let at = at.min(words.len() - 1);
                match extra.first() {
                    Some(piece) => words[at] = piece,
                    None => {
                        words.remove(at);
                    }
                }
                words.extend(extra.iter().skip(1));
                words.join(" ")
            }),
        // Anything at all.
        any::<String>(),
    ]
}

/// 100,000 generated inputs through the parser: each one parses or is refused with a position
/// inside the input, and never panics (a panic fails the property).
#[test]
fn the_soql_parser_never_panics_on_100_000_inputs() {
    let config = ProptestConfig {
        cases: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let refused = std::sync::atomic::AtomicU32::new(0);
    runner
        .run(&soql_like(), |source| {
            if let Err(error) = sfsim::soql::parse(&source) {
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert!(error.pos.row >= 1, "{source:?}: {error:?}");
                prop_assert!(error.pos.row <= source.lines().count().max(1) + 1);
                prop_assert!(!error.detail.is_empty());
            }
            Ok(())
        })
        .expect("the parser holds on every input");
    let refused = refused.into_inner();
    assert!(
        refused > 50_000,
        "most generated inputs are malformed: {refused}"
    );
}

/// A sample of the same inputs over HTTP: a parse error is `400 MALFORMED_QUERY` with Salesforce's
/// message layout; nothing gets a 5xx.
#[tokio::test]
async fn malformed_queries_over_http_get_malformed_query() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "admin@demo.example").await;
    let mut runner = TestRunner::deterministic();
    let strategy = soql_like();
    let mut malformed = 0;
    for _ in 0..1_500 {
        let source = strategy.new_tree(&mut runner).expect("a value").current();
        if source.trim().is_empty() || source.contains('\u{0}') {
            continue;
        }
        let response = query(&sim, &token, &source, None).await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert!(!status.is_server_error(), "{source:?} → {status}");
        if sfsim::soql::parse(&source).is_err() {
            malformed += 1;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{source:?}");
            assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY", "{source:?}");
            let message = body[0]["message"].as_str().expect("message");
            assert!(message.contains("ERROR at Row:"), "{message}");
        } else if status != StatusCode::OK {
            let code = body[0]["errorCode"].as_str().expect("an error code");
            assert!(
                [
                    "MALFORMED_QUERY",
                    "INVALID_FIELD",
                    "INVALID_TYPE",
                    "INVALID_QUERY_FILTER_OPERATOR"
                ]
                .contains(&code),
                "{source:?} → {code}"
            );
        }
    }
    assert!(malformed > 500, "{malformed}");
    sim.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let sim = start(SimConfig {
        max_body_bytes: 64 * 1024,
        ..SimConfig::default()
    })
    .await;
    let huge = "x".repeat(100 * 1024);
    let response = browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username={huge}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let token = access_token(&sim, "rep@demo.example").await;
    let response = browser()
        .post(format!(
            "{}/services/data/v58.0/sobjects/Contact/",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(r#"{{"LastName": "{huge}"}}"#))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("a JSON error array");
    assert_eq!(body[0]["errorCode"], "REQUEST_ENTITY_TOO_LARGE");

    // Just under the limit is read (and refused for what it says, not for its size).
    let response = browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&username={}",
            &huge[..60 * 1024]
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

/// A body without a declared length is cut off at the limit too (never read whole into memory).
#[tokio::test]
async fn a_chunked_body_over_the_limit_gets_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start(SimConfig {
        max_body_bytes: 16 * 1024,
        ..SimConfig::default()
    })
    .await;
    let address = sim.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let chunk = "x".repeat(32 * 1024);
    let request = format!(
        "POST /services/oauth2/token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    // The server may answer and close before it has read everything: ignore a failed write.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{}",
        answer.lines().next().unwrap_or_default()
    );
    sim.shutdown().await;
}

/// 50 clients, each with its own connection, sign in and page through every contact at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_sign_in_and_page_through_queries() {
    let sim = start(SimConfig::default()).await;
    let base = sim.base_url();
    let expected_total = sim.records("Contact").len();
    let mut clients = Vec::new();
    for n in 0..50 {
        let base = base.clone();
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client");
            let login: Value = client
                .post(format!("{base}/services/oauth2/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", DEMO_CLIENT_ID),
                    ("client_secret", DEMO_CLIENT_SECRET),
                    ("username", "admin@demo.example"),
                    ("password", DEMO_PASSWORD),
                ])
                .send()
                .await
                .expect("token answers")
                .json()
                .await
                .expect("token JSON");
            let token = login["access_token"].as_str().expect("token").to_owned();
            let mut url = format!(
                "{base}/services/data/v58.0/query?q=SELECT+Id,Name,Account.Name+FROM+Contact+ORDER+BY+Id"
            );
            let mut ids = Vec::new();
            loop {
                let response = client
                    .get(&url)
                    .bearer_auth(&token)
                    .header("Sforce-Query-Options", "batchSize=200")
                    .send()
                    .await
                    .expect("query answers");
                assert_eq!(response.status(), StatusCode::OK, "client {n}");
                let page: Value = response.json().await.expect("page JSON");
                for record in page["records"].as_array().expect("records") {
                    ids.push(record["Id"].as_str().expect("Id").to_owned());
                }
                match page["nextRecordsUrl"].as_str() {
                    Some(next) => url = format!("{base}{next}"),
                    None => break,
                }
            }
            ids
        }));
    }
    let mut first: Option<Vec<String>> = None;
    for client in clients {
        let ids = tokio::time::timeout(Duration::from_secs(120), client)
            .await
            .expect("every client finishes in time")
            .expect("no client panicked");
        assert_eq!(ids.len(), expected_total);
        match &first {
            Some(first) => assert_eq!(&ids, first, "every client sees the same rows"),
            None => first = Some(ids),
        }
    }
    sim.shutdown().await;
}
