//! `Client::composite_graph`: the request as Salesforce documents it and typed answers, from a
//! small server answering hand-written JSON; a lost answer is an unknown outcome and is never
//! sent again; and the same calls against sfsim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use salesforce::{
    Client, ClientOptions, CompositeGraphRequest, ErrorKind, Graph, IdOrReference, OAuthApp,
    RecordId, RestSession, UpdateOptions,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::macros::datetime;

#[derive(Default)]
struct Server {
    /// Bodies received, in order.
    received: Vec<Value>,
    /// What to answer: status and body.
    answer: (u16, String),
}

type Shared = Arc<Mutex<Server>>;

async fn handle(State(state): State<Shared>, body: Bytes) -> Response {
    let mut state = state.lock().unwrap();
    state
        .received
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let (status, body) = state.answer.clone();
    (
        StatusCode::from_u16(status).unwrap(),
        [
            ("content-type", "application/json;charset=UTF-8"),
            ("sforce-limit-info", "api-usage=30/15000"),
        ],
        body,
    )
        .into_response()
}

async fn server(status: u16, answer: &str) -> (RestSession, Shared) {
    let state = Shared::new(Mutex::new(Server {
        received: Vec::new(),
        answer: (status, answer.to_string()),
    }));
    let app = Router::new()
        .route(
            "/services/data/v58.0/composite/graph",
            axum::routing::post(handle),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        RestSession::new(&format!("http://{addr}"), "at-1").unwrap(),
        state,
    )
}

fn client() -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .unwrap()
}

const OPPORTUNITY: &str = "0067F000003pmdWQAQ";

/// Graph `lead`: a lead and its read-back; graph `opp`: a conditional update and its read-back.
fn two_graphs() -> CompositeGraphRequest {
    let mut lead = Graph::new("lead").unwrap();
    lead.create(
        "newLead",
        "Lead",
        &json!({"LastName": "Smith", "Company": "Acme"}),
    )
    .unwrap()
    .get(
        "readLead",
        "Lead",
        IdOrReference::created_by("newLead").unwrap(),
        &["Id", "Name", "Status"],
    )
    .unwrap();
    let mut opp = Graph::new("opp").unwrap();
    let id = RecordId::parse(OPPORTUNITY).unwrap();
    opp.update(
        "editOpp",
        "Opportunity",
        &id,
        &json!({"StageName": "Closed Won"}),
        UpdateOptions {
            if_unmodified_since: Some(datetime!(2024-05-01 10:00:00.750 UTC)),
        },
    )
    .unwrap()
    .get("readOpp", "Opportunity", &id, &["Id", "StageName"])
    .unwrap();
    let mut request = CompositeGraphRequest::new();
    request.push(lead).unwrap().push(opp).unwrap();
    request
}

const ONE_COMMITTED_ONE_PRECONDITION_FAILED: &str = r#"{"graphs":[
  {"graphId":"lead","graphResponse":{"compositeResponse":[
    {"body":{"id":"00QB000000AbCdEMAV","success":true,"errors":[]},
     "httpHeaders":{"Location":"/services/data/v58.0/sobjects/Lead/00QB000000AbCdEMAV"},"httpStatusCode":201,"referenceId":"newLead"},
    {"body":{"attributes":{"type":"Lead","url":"/services/data/v58.0/sobjects/Lead/00QB000000AbCdEMAV"},
             "Id":"00QB000000AbCdEMAV","Name":"Smith","Status":"Open - Not Contacted"},
     "httpHeaders":{},"httpStatusCode":200,"referenceId":"readLead"}]},
   "isSuccessful":true},
  {"graphId":"opp","graphResponse":{"compositeResponse":[
    {"body":[{"errorCode":"PRECONDITION_FAILED","message":"The requested resource has been modified since the time given."}],
     "httpHeaders":{},"httpStatusCode":412,"referenceId":"editOpp"},
    {"body":[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}],
     "httpHeaders":{},"httpStatusCode":400,"referenceId":"readOpp"}]},
   "isSuccessful":false}]}"#;

#[tokio::test]
async fn graphs_are_sent_as_documented_and_answered_per_node() {
    let (session, state) = server(200, ONE_COMMITTED_ONE_PRECONDITION_FAILED).await;
    let response = client()
        .composite_graph(&session, &two_graphs())
        .await
        .unwrap();
    assert_eq!(
        state.lock().unwrap().received,
        vec![json!({"graphs": [
            {"graphId": "lead", "compositeRequest": [
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "newLead",
                 "body": {"LastName": "Smith", "Company": "Acme"}},
                {"method": "GET", "url": "/services/data/v58.0/sobjects/Lead/@{newLead.id}?fields=Id,Name,Status",
                 "referenceId": "readLead"}
            ]},
            {"graphId": "opp", "compositeRequest": [
                {"method": "PATCH", "url": "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ",
                 "referenceId": "editOpp", "body": {"StageName": "Closed Won"},
                 "httpHeaders": {"If-Unmodified-Since": "Wed, 01 May 2024 10:00:00 GMT"}},
                {"method": "GET", "url": "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ?fields=Id,StageName",
                 "referenceId": "readOpp"}
            ]}
        ]})]
    );
    let lead = response.graph("lead").unwrap();
    assert!(lead.is_successful);
    assert_eq!(lead.failures().count(), 0);
    let read: Value = lead.node("readLead").unwrap().json().unwrap();
    assert_eq!(read["Status"], "Open - Not Contacted");

    let opp = response.graph("opp").unwrap();
    assert!(!opp.is_successful);
    let failures: Vec<_> = opp.failures().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reference_id, "editOpp");
    assert_eq!(
        failures[0].error().unwrap().kind(),
        ErrorKind::PreconditionFailed
    );
    let read_back = opp.node("readOpp").unwrap();
    assert!(read_back.is_processing_halted());
    assert_eq!(read_back.error().unwrap().kind(), ErrorKind::RolledBack);
}

#[tokio::test]
async fn an_answer_that_does_not_match_the_graphs_sent_is_an_unknown_outcome() {
    let only_one = r#"{"graphs":[{"graphId":"lead","graphResponse":{"compositeResponse":[]},"isSuccessful":true}]}"#;
    let (session, state) = server(200, only_one).await;
    let error = client()
        .composite_graph(&session, &two_graphs())
        .await
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error}");
    assert_eq!(state.lock().unwrap().received.len(), 1);
}

#[tokio::test]
async fn a_server_error_is_an_unknown_outcome_and_the_graphs_are_not_sent_again() {
    let (session, state) = server(
        503,
        r#"[{"errorCode":"SERVER_UNAVAILABLE","message":"Server temporarily unavailable, please try again later."}]"#,
    )
    .await;
    let error = client()
        .composite_graph(&session, &two_graphs())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert!(error.outcome_unknown());
    assert_eq!(state.lock().unwrap().received.len(), 1, "sent once");
}

#[tokio::test]
async fn a_dropped_connection_is_an_unknown_outcome_and_the_graphs_are_not_sent_again() {
    // A server that reads the request and closes the connection without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            *counter.lock().unwrap() += 1;
            let mut buffer = vec![0u8; 64 * 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
            drop(socket);
        }
    });
    let session = RestSession::new(&format!("http://{addr}"), "at-1").unwrap();
    let error = client()
        .composite_graph(&session, &two_graphs())
        .await
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error}");
    assert_eq!(*accepted.lock().unwrap(), 1, "sent once");
}

#[tokio::test]
async fn an_empty_request_is_refused_before_sending() {
    let (session, state) = server(200, "{}").await;
    let error = client()
        .composite_graph(&session, &CompositeGraphRequest::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(!error.outcome_unknown());
    assert!(state.lock().unwrap().received.is_empty());
}

/// A session of `username` at sfsim, through the login form.
async fn sfsim_session(sim: &sfsim::Sim, username: &str) -> RestSession {
    let base = sim.base_url();
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "companion://oauth/callback";
    let answer = browser
        .post(format!("{base}/services/oauth2/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", sfsim::DEMO_CLIENT_ID),
            ("redirect_uri", redirect),
            ("scope", "api refresh_token"),
            ("code_challenge", &challenge),
            ("username", username),
            ("password", sfsim::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let token = client()
        .exchange_code(&base, &app, &query["code"], verifier, redirect)
        .await
        .unwrap();
    RestSession::from_token(&token).unwrap()
}

#[tokio::test]
async fn graphs_against_sfsim_commit_roll_back_and_check_preconditions() {
    let sim = sfsim::start(
        "127.0.0.1:0".parse().unwrap(),
        sfsim::SimConfig {
            control: true,
            ..sfsim::SimConfig::default()
        },
    )
    .await
    .unwrap();
    let session = sfsim_session(&sim, "rep@demo.example").await;
    let rep = sim.user_id("rep@demo.example").unwrap();
    let opportunity = sim
        .records("Opportunity")
        .into_iter()
        .find(|r| r["OwnerId"] == rep.as_str())
        .unwrap();
    let opp_id = RecordId::parse(opportunity["Id"].as_str().unwrap()).unwrap();
    let seen =
        salesforce::soql::parse_datetime(opportunity["SystemModstamp"].as_str().unwrap()).unwrap();

    // A lead with its read-back; the rep's unchanged opportunity updated if unchanged since
    // seen; a graph whose second create fails; an update of a record changed since.
    let mut created = Graph::new("created").unwrap();
    created
        .create(
            "lead",
            "Lead",
            &json!({"LastName": "Graphson", "Company": "Acme"}),
        )
        .unwrap()
        .get(
            "read",
            "Lead",
            IdOrReference::created_by("lead").unwrap(),
            &["Id", "Name", "Status"],
        )
        .unwrap();
    let mut updated = Graph::new("updated").unwrap();
    updated
        .update(
            "edit",
            "Opportunity",
            &opp_id,
            &json!({"NextStep": "Send the contract"}),
            UpdateOptions {
                if_unmodified_since: Some(seen),
            },
        )
        .unwrap()
        .get("read", "Opportunity", &opp_id, &["Id", "NextStep"])
        .unwrap();
    let mut failing = Graph::new("failing").unwrap();
    failing
        .create(
            "fine",
            "Lead",
            &json!({"LastName": "Rolledback", "Company": "Acme"}),
        )
        .unwrap()
        .create("invalid", "Lead", &json!({"LastName": "Rolledback"}))
        .unwrap();
    let mut stale = Graph::new("stale").unwrap();
    stale
        .update(
            "edit",
            "Opportunity",
            &opp_id,
            &json!({"NextStep": "Never written"}),
            UpdateOptions {
                if_unmodified_since: Some(datetime!(2001-01-01 00:00:00 UTC)),
            },
        )
        .unwrap();
    let mut request = CompositeGraphRequest::new();
    request
        .push(created)
        .unwrap()
        .push(updated)
        .unwrap()
        .push(failing)
        .unwrap()
        .push(stale)
        .unwrap();
    let calls = sim.api_calls();
    let response = client().composite_graph(&session, &request).await.unwrap();
    assert_eq!(sim.api_calls(), calls + 1, "one API call");

    let created = response.graph("created").unwrap();
    assert!(created.is_successful);
    let lead: Value = created.node("read").unwrap().json().unwrap();
    assert_eq!(
        (&lead["Name"], &lead["Status"]),
        (&json!("Graphson"), &json!("Open - Not Contacted"))
    );
    let updated = response.graph("updated").unwrap();
    assert!(updated.is_successful, "{:?}", updated.nodes);
    let opp: Value = updated.node("read").unwrap().json().unwrap();
    assert_eq!(opp["NextStep"], "Send the contract");

    let failing = response.graph("failing").unwrap();
    assert!(!failing.is_successful);
    let why: Vec<_> = failing
        .failures()
        .map(|n| n.reference_id.as_str())
        .collect();
    assert_eq!(why, vec!["invalid"]);
    assert_eq!(
        failing.node("invalid").unwrap().error().unwrap().fields(),
        vec!["Company"]
    );
    assert!(failing.node("fine").unwrap().is_processing_halted());
    assert!(sim
        .records("Lead")
        .iter()
        .all(|r| r["LastName"] != "Rolledback"));

    let stale = response.graph("stale").unwrap();
    assert_eq!(
        stale.node("edit").unwrap().error().unwrap().kind(),
        ErrorKind::PreconditionFailed
    );
    let stored = sim
        .records("Opportunity")
        .into_iter()
        .find(|r| r["Id"] == opp_id.as_str())
        .unwrap();
    assert_eq!(stored["NextStep"], "Send the contract");

    // sfsim drops the connection after the graph committed: unknown outcome, sent once.
    let faults = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"drop_connection": "after", "path": "/services/data/v58.0/composite/graph"}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());
    let mut one = Graph::new("one").unwrap();
    one.create(
        "lead",
        "Lead",
        &json!({"LastName": "Unanswered", "Company": "Acme"}),
    )
    .unwrap();
    let mut request = CompositeGraphRequest::new();
    request.push(one).unwrap();
    let calls = sim.api_calls();
    let error = client()
        .composite_graph(&session, &request)
        .await
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error}");
    assert_eq!(sim.api_calls(), calls + 1, "not sent again");
    assert_eq!(
        sim.records("Lead")
            .iter()
            .filter(|r| r["LastName"] == "Unanswered")
            .count(),
        1
    );
    sim.shutdown().await;
}
