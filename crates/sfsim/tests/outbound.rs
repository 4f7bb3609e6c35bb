//! Outbound messages as a listener sees them (reference §5): the SOAP envelope, retries until
//! `<Ack>true</Ack>`, at-least-once and out-of-order delivery.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::StatusCode, routing::post, Router};
use common::*;
use serde_json::json;
use sfsim::{OutboundRule, SimConfig};

const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>"#;

/// How the test listener answers a delivery.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Ack,
    Fail,
    /// Acknowledges, but only after sfsim has given up waiting.
    SlowAck,
}

#[derive(Default)]
struct Listener {
    /// Every body received, in arrival order.
    received: Mutex<Vec<String>>,
    /// Answers for the first deliveries, in order; then always `Ack`.
    script: Mutex<Vec<Answer>>,
    content_types: Mutex<Vec<String>>,
}

async fn receive(
    State(listener): State<Arc<Listener>>,
    headers: axum::http::HeaderMap,
    body: String,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    listener.received.lock().unwrap().push(body);
    listener.content_types.lock().unwrap().push(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    );
    let answer = {
        let mut script = listener.script.lock().unwrap();
        if script.is_empty() {
            Answer::Ack
        } else {
            script.remove(0)
        }
    };
    match answer {
        Answer::Ack => (StatusCode::OK, [("content-type", "text/xml")], ACK.into()),
        Answer::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/xml")],
            "busy".into(),
        ),
        Answer::SlowAck => {
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            (StatusCode::OK, [("content-type", "text/xml")], ACK.into())
        }
    }
}

async fn listen(script: Vec<Answer>) -> (Arc<Listener>, String) {
    let listener = Arc::new(Listener {
        script: Mutex::new(script),
        ..Listener::default()
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/outbound", socket.local_addr().expect("addr"));
    let app = Router::new()
        .route("/outbound", post(receive))
        .with_state(listener.clone());
    tokio::spawn(async move {
        let _ = axum::serve(socket, app).await;
    });
    (listener, url)
}

/// Waits (bounded) until the listener has received `n` bodies.
async fn wait_for(listener: &Listener, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let received = listener.received.lock().unwrap().clone();
        if received.len() >= n {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "only {} deliveries arrived",
        listener.received.lock().unwrap().len()
    );
}

fn tag<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).expect(name) + open.len();
    let end = start + xml[start..].find('<').expect("closing tag");
    &xml[start..end]
}

fn opportunity_rule(url: &str) -> OutboundRule {
    format!("Opportunity:Name,StageName,Amount:{url}")
        .parse()
        .expect("a valid rule")
}

#[tokio::test]
async fn an_update_posts_the_exact_envelope_and_an_ack_ends_it() {
    let (listener, url) = listen(vec![]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![opportunity_rule(&url)],
        outbound_time_scale: 0.001,
        control: true,
        ..SimConfig::default()
    })
    .await;
    let opportunity = sim.records("Opportunity")[0].clone();
    let id = opportunity["Id"].as_str().expect("id").to_owned();
    sim.update_record(
        "Opportunity",
        &id,
        json!({"Name": "Express & Logistics SLA", "StageName": "Perception Analysis", "Amount": 120000}),
    )
    .expect("updated");

    let received = wait_for(&listener, 1).await;
    let body = &received[0];
    let org = sim.org_id();
    let base = sim.base_url();
    let action = tag(body, "ActionId");
    let notification = tag(body, "Id");
    assert!(action.starts_with("04k") && action.len() == 18, "{action}");
    assert!(
        notification.starts_with("04l") && notification.len() == 18,
        "{notification}"
    );
    let expected = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org}</OrganizationId>
   <ActionId>{action}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>{base}/services/Soap/c/58.0/{org15}</EnterpriseUrl>
   <PartnerUrl>{base}/services/Soap/u/58.0/{org15}</PartnerUrl>
   <Notification>
    <Id>{notification}</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{id}</sf:Id>
     <sf:Amount>120000.0</sf:Amount>
     <sf:Name>Express &amp; Logistics SLA</sf:Name>
     <sf:StageName>Perception Analysis</sf:StageName>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"#,
        org15 = &org[..15],
    );
    assert_eq!(body, &expected);
    assert!(listener.content_types.lock().unwrap()[0].starts_with("text/xml"));

    // Acknowledged: no further delivery.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listener.received.lock().unwrap().len(), 1);
    // Other objects are not watched.
    let contact = sim.records("Contact")[0]["Id"]
        .as_str()
        .expect("id")
        .to_owned();
    sim.update_record("Contact", &contact, json!({"Title": "CEO"}))
        .expect("updated");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(listener.received.lock().unwrap().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn failures_are_retried_so_deliveries_arrive_out_of_order_with_the_latest_data() {
    // First delivery fails, the second (a later change) is acknowledged, then the retry comes.
    let (listener, url) = listen(vec![Answer::Fail]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![opportunity_rule(&url)],
        outbound_time_scale: 0.01,
        ..SimConfig::default()
    })
    .await;
    let records = sim.records("Opportunity");
    let first = records[0]["Id"].as_str().expect("id").to_owned();
    let second = records[1]["Id"].as_str().expect("id").to_owned();
    sim.update_record("Opportunity", &first, json!({"StageName": "Qualification"}))
        .expect("updated");
    wait_for(&listener, 1).await;
    sim.update_record("Opportunity", &second, json!({"StageName": "Closed Won"}))
        .expect("updated");
    // Before the retry (150 ms at this scale), the first record changes again.
    sim.update_record(
        "Opportunity",
        &first,
        json!({"Name": "Renamed before retry"}),
    )
    .expect("updated");
    let received = wait_for(&listener, 4).await;
    let ids: Vec<&str> = received.iter().map(|b| tag(b, "sf:Id")).collect();
    assert_eq!(ids[0], first, "the failed one");
    assert!(
        ids[1] == second || ids[1] == first,
        "a later change may overtake the retry: {ids:?}"
    );
    let retry = received
        .iter()
        .skip(1)
        .find(|b| tag(b, "Id") == tag(&received[0], "Id"))
        .expect("the failed notification is retried with the same Id");
    assert_eq!(
        tag(retry, "sf:Name"),
        "Renamed before retry",
        "a retry carries the record as it is now"
    );
    let second_at = ids
        .iter()
        .position(|i| *i == second)
        .expect("second arrived");
    let retry_at = received
        .iter()
        .position(|b| std::ptr::eq(b, retry))
        .expect("retry arrived");
    assert!(
        second_at < retry_at,
        "the retry arrives after the later change: {ids:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_listener_too_slow_to_ack_gets_the_same_notification_twice() {
    let (listener, url) = listen(vec![Answer::SlowAck]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![opportunity_rule(&url)],
        // Attempt timeout: max(60 s × 0.001, 1 s) = 1 s, shorter than the slow ack.
        outbound_time_scale: 0.001,
        control: true,
        ..SimConfig::default()
    })
    .await;
    let id = sim.records("Opportunity")[0]["Id"]
        .as_str()
        .expect("id")
        .to_owned();
    sim.update_record("Opportunity", &id, json!({"StageName": "Closed Lost"}))
        .expect("updated");
    let received = wait_for(&listener, 2).await;
    assert_eq!(
        tag(&received[0], "Id"),
        tag(&received[1], "Id"),
        "at least once: a duplicate, to be removed by Notification Id"
    );
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let stats: serde_json::Value = browser()
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["outbound_messages"]["acknowledged"], 1);
    assert!(stats["outbound_messages"]["attempts"].as_u64().expect("n") >= 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_rest_create_and_update_each_send_a_message() {
    let (listener, url) = listen(vec![]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![format!("Contact:LastName,Title:{url}")
            .parse()
            .expect("a valid rule")],
        outbound_time_scale: 0.001,
        ..SimConfig::default()
    })
    .await;
    let access = access_token(&sim, "rep@demo.example").await;
    let created = browser()
        .post(format!(
            "{}/services/data/v58.0/sobjects/Contact/",
            sim.base_url()
        ))
        .bearer_auth(&access)
        .json(&json!({"LastName": "Outbound", "Title": "Buyer"}))
        .send()
        .await
        .expect("create answers");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let id = created.json::<serde_json::Value>().await.expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let received = wait_for(&listener, 1).await;
    assert_eq!(tag(&received[0], "sf:Id"), id);
    assert_eq!(tag(&received[0], "sf:Title"), "Buyer");

    let updated = browser()
        .patch(format!(
            "{}/services/data/v58.0/sobjects/Contact/{id}",
            sim.base_url()
        ))
        .bearer_auth(&access)
        .json(&json!({"Title": "Chief Buyer"}))
        .send()
        .await
        .expect("update answers");
    assert_eq!(updated.status(), reqwest::StatusCode::NO_CONTENT);
    let received = wait_for(&listener, 2).await;
    assert_eq!(tag(&received[1], "sf:Title"), "Chief Buyer");
    assert_ne!(
        tag(&received[0], "Id"),
        tag(&received[1], "Id"),
        "each change is its own notification"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn collection_and_composite_writes_send_messages_too() {
    let (listener, url) = listen(vec![]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![format!("Contact:LastName,Title:{url}")
            .parse()
            .expect("a valid rule")],
        outbound_time_scale: 0.001,
        ..SimConfig::default()
    })
    .await;
    let access = access_token(&sim, "rep@demo.example").await;
    let post = |path: &str, body: serde_json::Value| {
        browser()
            .post(format!("{}/services/data/v58.0/{path}", sim.base_url()))
            .bearer_auth(&access)
            .json(&body)
            .send()
    };
    let collection = post(
        "composite/sobjects",
        json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "First of two"},
            {"attributes": {"type": "Contact"}, "LastName": "Second of two"},
            {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
        ]}),
    )
    .await
    .expect("collection answers");
    assert_eq!(collection.status(), reqwest::StatusCode::OK);
    let items: serde_json::Value = collection.json().await.expect("JSON");
    let first = items[0]["id"].as_str().expect("created").to_owned();
    let received = wait_for(&listener, 2).await;
    let mut names: Vec<&str> = received.iter().map(|b| tag(b, "sf:LastName")).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["First of two", "Second of two"],
        "the failed item sends nothing"
    );

    let composite = post(
        "composite",
        json!({"compositeRequest": [
            {"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{first}"),
             "referenceId": "renamed", "body": {"Title": "Patched in a composite"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact",
             "referenceId": "added", "body": {"LastName": "Made in a composite"}},
            {"method": "GET", "url": format!("/services/data/v58.0/sobjects/Contact/{first}"),
             "referenceId": "read"},
        ]}),
    )
    .await
    .expect("composite answers");
    assert_eq!(composite.status(), reqwest::StatusCode::OK);
    let received = wait_for(&listener, 4).await;
    let later: Vec<(&str, &str)> = received[2..]
        .iter()
        .map(|b| {
            let title = if b.contains("<sf:Title>") {
                tag(b, "sf:Title")
            } else {
                ""
            };
            (tag(b, "sf:LastName"), title)
        })
        .collect();
    assert!(
        later.contains(&("First of two", "Patched in a composite")),
        "the patch is sent with the new Title: {later:?}"
    );
    assert!(
        later.iter().any(|(name, _)| *name == "Made in a composite"),
        "{later:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        listener.received.lock().unwrap().len(),
        4,
        "the GET sends nothing"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn composite_graph_writes_send_messages_for_committed_graphs_only() {
    let (listener, url) = listen(vec![]).await;
    let sim = start(SimConfig {
        outbound_messages: vec![format!("Contact:LastName,Title:{url}")
            .parse()
            .expect("a valid rule")],
        outbound_time_scale: 0.001,
        ..SimConfig::default()
    })
    .await;
    let access = access_token(&sim, "rep@demo.example").await;
    let post = |path: &str, body: serde_json::Value| {
        browser()
            .post(format!("{}/services/data/v58.0/{path}", sim.base_url()))
            .bearer_auth(&access)
            .json(&body)
            .send()
    };
    let answer = post(
        "composite/graph",
        json!({"graphs": [
            {"graphId": "committed", "compositeRequest": [
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact",
                 "referenceId": "added", "body": {"LastName": "Made in a graph"}},
                {"method": "PATCH", "url": "/services/data/v58.0/sobjects/Contact/@{added.id}",
                 "referenceId": "titled", "body": {"Title": "Patched in a graph"}}
            ]},
            {"graphId": "rolledBack", "compositeRequest": [
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact",
                 "referenceId": "added", "body": {"LastName": "Rolled back"}},
                {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact",
                 "referenceId": "invalid", "body": {"FirstName": "No last name"}}
            ]}
        ]}),
    )
    .await
    .expect("graph answers");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    // A later write's message marks the end of what the graph call could have sent.
    let sentinel = post("sobjects/Contact", json!({"LastName": "Sentinel"}))
        .await
        .expect("create answers");
    assert_eq!(sentinel.status(), reqwest::StatusCode::CREATED);
    let received = wait_for(&listener, 3).await;
    let names: Vec<&str> = received.iter().map(|b| tag(b, "sf:LastName")).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "Made in a graph").count(),
        2,
        "the create and the patch each send one: {names:?}"
    );
    assert!(names.contains(&"Sentinel"), "{names:?}");
    assert!(!names.contains(&"Rolled back"), "{names:?}");
    sim.shutdown().await;
}
