//! Composite Graph (`POST …/composite/graph`): graphs of sObject nodes, each graph one
//! transaction, references within a graph, `httpHeaders`, the documented limits, halting after
//! 14 failed graphs, one API call for the whole payload. Expected JSON written by hand.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sfsim::SimConfig;

const REP: &str = "rep@demo.example";

async fn graph(sim: &sfsim::Sim, token: &str, graphs: Value) -> reqwest::Response {
    call(
        sim,
        token,
        Method::POST,
        "/composite/graph",
        Some(json!({ "graphs": graphs })),
    )
    .await
}

fn rolled_back(reference_id: &str) -> Value {
    json!({"body": [{"errorCode": "PROCESSING_HALTED",
                     "message": "The transaction was rolled back since another operation in the same transaction failed."}],
           "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference_id})
}

fn lead(reference_id: &str, last_name: &str) -> Value {
    json!({"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": reference_id,
           "body": {"LastName": last_name, "Company": "Graph Co"}})
}

fn leads_named(sim: &sfsim::Sim, last_name: &str) -> usize {
    sim.records("Lead")
        .iter()
        .filter(|r| r["LastName"] == last_name)
        .count()
}

async fn new_contact(sim: &sfsim::Sim, token: &str, last_name: &str, title: &str) -> String {
    let created = body(
        call(
            sim,
            token,
            Method::POST,
            "/sobjects/Contact",
            Some(json!({"LastName": last_name, "Title": title})),
        )
        .await,
    )
    .await;
    created["id"].as_str().expect("id").to_owned()
}

async fn title_of(sim: &sfsim::Sim, token: &str, id: &str) -> Value {
    body(
        call(
            sim,
            token,
            Method::GET,
            &format!("/sobjects/Contact/{id}?fields=Title"),
            None,
        )
        .await,
    )
    .await["Title"]
        .clone()
}

#[tokio::test]
async fn graphs_chain_references_read_back_and_count_one_call() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let before = sim.api_calls();
    let response = graph(
        &sim,
        &token,
        json!([
            {"graphId": "g1", "compositeRequest": [
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Account", "referenceId": "account", "body": {"Name": "Graph Holdings"}},
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact", "referenceId": "contact",
                 "body": {"LastName": "Nodewright", "AccountId": "@{account.id}"}},
                {"method": "GET", "url": "/services/data/v58.0/sobjects/Contact/@{contact.id}?fields=LastName,AccountId", "referenceId": "readContact"}
            ]},
            {"graphId": "g2", "compositeRequest": [
                lead("newLead", "Edgeworth"),
                {"method": "PATCH", "url": "/services/data/v58.0/sobjects/Lead/@{newLead.id}", "referenceId": "editLead", "body": {"Title": "CFO"}},
                {"method": "GET", "url": "/services/data/v58.0/sobjects/Lead/@{newLead.id}?fields=Title,Company", "referenceId": "readLead"}
            ]}
        ]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sim.api_calls(), before + 1, "the whole payload is one call");
    let answer = body(response).await;
    let id_of = |graph: usize, node: usize| {
        answer["graphs"][graph]["graphResponse"]["compositeResponse"][node]["body"]["id"]
            .as_str()
            .expect("a created id")
            .to_owned()
    };
    let (account, contact, lead_id) = (id_of(0, 0), id_of(0, 1), id_of(1, 0));
    assert_eq!(
        answer,
        json!({"graphs": [
            {"graphId": "g1", "graphResponse": {"compositeResponse": [
                {"body": {"id": account, "success": true, "errors": []},
                 "httpHeaders": {"Location": format!("/services/data/v58.0/sobjects/Account/{account}")},
                 "httpStatusCode": 201, "referenceId": "account"},
                {"body": {"id": contact, "success": true, "errors": []},
                 "httpHeaders": {"Location": format!("/services/data/v58.0/sobjects/Contact/{contact}")},
                 "httpStatusCode": 201, "referenceId": "contact"},
                {"body": {"attributes": {"type": "Contact", "url": format!("/services/data/v58.0/sobjects/Contact/{contact}")},
                          "LastName": "Nodewright", "AccountId": account},
                 "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "readContact"}
            ]}, "isSuccessful": true},
            {"graphId": "g2", "graphResponse": {"compositeResponse": [
                {"body": {"id": lead_id, "success": true, "errors": []},
                 "httpHeaders": {"Location": format!("/services/data/v58.0/sobjects/Lead/{lead_id}")},
                 "httpStatusCode": 201, "referenceId": "newLead"},
                {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "editLead"},
                {"body": {"attributes": {"type": "Lead", "url": format!("/services/data/v58.0/sobjects/Lead/{lead_id}")},
                          "Title": "CFO", "Company": "Graph Co"},
                 "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "readLead"}
            ]}, "isSuccessful": true}
        ]})
    );
    assert_eq!(leads_named(&sim, "Edgeworth"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_graph_is_rolled_back_while_the_others_commit() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let kept = new_contact(&sim, &token, "Steady", "Old").await;
    let response = graph(
        &sim,
        &token,
        json!([
            {"graphId": "before", "compositeRequest": [lead("one", "Firstgraph")]},
            {"graphId": "failing", "compositeRequest": [
                lead("doomed", "Doomed"),
                {"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{kept}"), "referenceId": "edit", "body": {"Title": "New"}},
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "invalid", "body": {"LastName": "NoCompany"}},
                lead("never", "Neverrun")
            ]},
            {"graphId": "after", "compositeRequest": [
                lead("two", "Lastgraph"),
                // A reference into another graph has no value here.
                {"method": "GET", "url": "/services/data/v58.0/sobjects/Lead/@{one.id}", "referenceId": "foreign"}
            ]},
            {"graphId": "last", "compositeRequest": [lead("three", "Thirdgraph")]}
        ]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = body(response).await;
    let graphs = answer["graphs"].as_array().expect("graphs");
    assert_eq!(graphs[0]["isSuccessful"], true);
    assert_eq!(
        graphs[1],
        json!({"graphId": "failing", "graphResponse": {"compositeResponse": [
            rolled_back("doomed"),
            rolled_back("edit"),
            {"body": [{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "invalid"},
            rolled_back("never")
        ]}, "isSuccessful": false})
    );
    assert_eq!(graphs[2]["isSuccessful"], false);
    assert_eq!(
        graphs[2]["graphResponse"]["compositeResponse"][0],
        rolled_back("two")
    );
    assert_eq!(
        graphs[2]["graphResponse"]["compositeResponse"][1]["body"][0]["errorCode"],
        "PROCESSING_HALTED"
    );
    assert_eq!(graphs[3]["isSuccessful"], true);
    assert_eq!(leads_named(&sim, "Firstgraph"), 1);
    assert_eq!(leads_named(&sim, "Thirdgraph"), 1);
    assert_eq!(leads_named(&sim, "Doomed"), 0);
    assert_eq!(leads_named(&sim, "Neverrun"), 0);
    assert_eq!(leads_named(&sim, "Lastgraph"), 0);
    assert_eq!(title_of(&sim, &token, &kept).await, "Old");
    sim.shutdown().await;
}

#[tokio::test]
async fn if_unmodified_since_in_a_graph_node_is_a_412_that_fails_its_graph() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let id = new_contact(&sim, &token, "Guarded", "Original").await;
    let patch = |reference_id: &str, since: &str, title: &str| {
        json!({"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{id}"), "referenceId": reference_id,
               "httpHeaders": {"If-Unmodified-Since": since}, "body": {"Title": title}})
    };
    let response = graph(
        &sim,
        &token,
        json!([
            {"graphId": "stale", "compositeRequest": [
                lead("sibling", "Siblingnode"),
                patch("old", "Tue, 10 Aug 2015 00:00:00 GMT", "Stale")
            ]},
            {"graphId": "fresh", "compositeRequest": [patch("new", "Fri, 01 Jan 2100 00:00:00 GMT", "Fresh")]}
        ]),
    )
    .await;
    let answer = body(response).await;
    assert_eq!(
        answer,
        json!({"graphs": [
            {"graphId": "stale", "graphResponse": {"compositeResponse": [
                rolled_back("sibling"),
                {"body": [{"message": "The requested resource has been modified since the If-Unmodified-Since date",
                           "errorCode": "PRECONDITION_FAILED"}],
                 "httpHeaders": {}, "httpStatusCode": 412, "referenceId": "old"}
            ]}, "isSuccessful": false},
            {"graphId": "fresh", "graphResponse": {"compositeResponse": [
                {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "new"}
            ]}, "isSuccessful": true}
        ]})
    );
    assert_eq!(title_of(&sim, &token, &id).await, "Fresh");
    assert_eq!(leads_named(&sim, "Siblingnode"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn payloads_over_the_limits_are_refused_before_anything_runs() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let one_graph = |i: usize| json!({"graphId": format!("g{i}"), "compositeRequest": [lead("n", "Overlimit")]});
    let object_names = ["Account", "Contact", "Lead", "Opportunity", "Task", "User"];
    let mut sixteen_kinds: Vec<Value> = Vec::new();
    for object in object_names {
        for method in ["POST", "GET", "PATCH"] {
            let url = if method == "POST" {
                format!("/services/data/v58.0/sobjects/{object}")
            } else {
                format!("/services/data/v58.0/sobjects/{object}/@{{n0.id}}")
            };
            sixteen_kinds.push(json!({"method": method, "url": url, "referenceId": format!("n{}", sixteen_kinds.len())}));
        }
    }
    sixteen_kinds.truncate(16);
    let cases = [
        (
            "76 graphs",
            "between 1 and 75 graphs",
            Value::Array((0..76).map(one_graph).collect()),
        ),
        (
            "501 nodes",
            "at most 500 nodes",
            json!([{"graphId": "big", "compositeRequest":
                (0..501).map(|i| lead(&format!("n{i}"), "Overlimit")).collect::<Vec<_>>()}]),
        ),
        (
            "501 nodes over two graphs",
            "at most 500 nodes",
            json!([
                {"graphId": "a", "compositeRequest": (0..300).map(|i| lead(&format!("n{i}"), "Overlimit")).collect::<Vec<_>>()},
                {"graphId": "b", "compositeRequest": (0..201).map(|i| lead(&format!("n{i}"), "Overlimit")).collect::<Vec<_>>()}
            ]),
        ),
        (
            "16 different nodes",
            "at most 15 different nodes",
            json!([{"graphId": "kinds", "compositeRequest": sixteen_kinds}]),
        ),
        (
            "a query as a node",
            "not an sObject resource",
            json!([{"graphId": "q", "compositeRequest": [
                lead("first", "Overlimit"),
                {"method": "GET", "url": "/services/data/v58.0/query?q=SELECT+Id+FROM+Lead", "referenceId": "query"}
            ]}]),
        ),
        (
            "a collection as a node",
            "not an sObject resource",
            json!([{"graphId": "c", "compositeRequest": [
                {"method": "POST", "url": "/services/data/v58.0/composite/sobjects", "referenceId": "many",
                 "body": {"records": [{"attributes": {"type": "Lead"}, "LastName": "Overlimit", "Company": "X"}]}}
            ]}]),
        ),
        (
            "two graphs with one id",
            "Duplicate graphId",
            json!([one_graph(1), one_graph(1)]),
        ),
        (
            "a graph 16 nodes deep",
            "deeper than 15",
            json!([{"graphId": "deep", "compositeRequest": (0..16).map(|i| if i == 0 {
                lead("n0", "Overlimit")
            } else {
                json!({"method": "GET", "url": format!("/services/data/v58.0/sobjects/Lead/@{{n{}.id}}", i - 1), "referenceId": format!("n{i}")})
            }).collect::<Vec<_>>()}]),
        ),
        ("no graphs", "between 1 and 75 graphs", json!([])),
    ];
    for (what, why, graphs) in cases {
        let response = graph(&sim, &token, graphs).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let errors = body(response).await;
        assert_eq!(errors[0]["errorCode"], "INVALID_INPUT", "{what}");
        let message = errors[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{what}: {message}");
    }
    assert_eq!(leads_named(&sim, "Overlimit"), 0, "nothing ran");

    // At the limits: 75 graphs and 500 nodes are fine.
    let at_limit: Vec<Value> = (0..75)
        .map(|i| {
            let nodes: Vec<Value> = (0..if i < 50 { 7 } else { 6 })
                .map(|n| lead(&format!("n{n}"), "Atlimit"))
                .collect();
            json!({"graphId": format!("g{i}"), "compositeRequest": nodes})
        })
        .collect();
    let response = graph(&sim, &token, Value::Array(at_limit)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(leads_named(&sim, "Atlimit"), 500);
    sim.shutdown().await;
}

#[tokio::test]
async fn after_fifteen_failed_graphs_the_rest_are_halted() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let failing = |i: usize| {
        json!({"graphId": format!("bad{i}"), "compositeRequest": [
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "lead", "body": {"LastName": "Nocompany"}}
        ]})
    };
    let good = |name: &str| json!({"graphId": name, "compositeRequest": [lead("lead", name)]});
    // Fourteen failures, a good graph (still processed), the fifteenth failure, then a good graph
    // that is halted.
    let mut graphs: Vec<Value> = (0..14).map(failing).collect();
    graphs.push(good("Runs"));
    graphs.push(failing(14));
    graphs.push(good("Halted"));
    let response = graph(&sim, &token, Value::Array(graphs)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = body(response).await;
    let graphs = answer["graphs"].as_array().expect("graphs");
    assert_eq!(graphs.len(), 17);
    assert_eq!(graphs[14]["isSuccessful"], true);
    assert_eq!(graphs[15]["isSuccessful"], false);
    assert_eq!(
        graphs[16],
        json!({"graphId": "Halted", "graphResponse": {"compositeResponse": [
            {"body": [{"errorCode": "PROCESSING_HALTED",
                       "message": "The graph was not processed because the number of failed graphs in this request exceeded the limit."}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "lead"}
        ]}, "isSuccessful": false})
    );
    assert_eq!(leads_named(&sim, "Runs"), 1);
    assert_eq!(leads_named(&sim, "Halted"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_graph_whose_answer_is_dropped_has_still_committed() {
    let sim = start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await;
    let token = access_token(&sim, REP).await;
    let fault = browser()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"drop_connection": "after", "path": "/services/data/v58.0/composite/graph"}))
        .send()
        .await
        .expect("faults answer");
    assert!(fault.status().is_success());
    let sent = browser()
        .post(format!("{}{V}/composite/graph", sim.base_url()))
        .bearer_auth(&token)
        .json(&json!({"graphs": [{"graphId": "g", "compositeRequest": [lead("lead", "Unanswered")]}]}))
        .send()
        .await;
    assert!(sent.is_err(), "the connection closes without an answer");
    assert_eq!(leads_named(&sim, "Unanswered"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn composite_graph_starts_at_api_version_50() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, REP).await;
    let response = browser()
        .post(format!(
            "{}/services/data/v49.0/composite/graph",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .json(
            &json!({"graphs": [{"graphId": "g", "compositeRequest": [lead("lead", "Tooearly")]}]}),
        )
        .send()
        .await
        .expect("sfsim answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(response).await,
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );
    assert_eq!(leads_named(&sim, "Tooearly"), 0);
    sim.shutdown().await;
}
