//! Composite (references, allOrNone, one API call) and sObject Collections (per-item results
//! with `statusCode`, allOrNone rollback), reference §4.1–4.2. Expected JSON written by hand.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sfsim::SimConfig;

#[tokio::test]
async fn composite_chains_references_and_counts_one_call() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let before = sim.api_calls();
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Acme"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact", "referenceId": "refContact",
             "body": {"LastName": "Zyxwright", "AccountId": "@{refAccount.id}"}},
            {"method": "GET", "url": "/services/data/v58.0/sobjects/Contact/@{refContact.id}?fields=Name,AccountId", "referenceId": "refRead"},
            {"method": "GET", "url": "/services/data/v58.0/query?q=SELECT+Id+FROM+Contact+WHERE+LastName+=+'Zyxwright'+AND+AccountId+!=+null", "referenceId": "refQuery"},
            {"method": "PATCH", "url": "/services/data/v58.0/sobjects/Contact/@{refQuery.records[0].Id}", "referenceId": "refUpdate", "body": {"Title": "Buyer"}}
        ]})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sim.api_calls(),
        before + 1,
        "a composite request is one API call"
    );
    let result = body(response).await;
    let items = result["compositeResponse"]
        .as_array()
        .expect("compositeResponse");
    assert_eq!(items.len(), 5);
    let account = items[0]["body"]["id"]
        .as_str()
        .expect("account id")
        .to_owned();
    let contact = items[1]["body"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    assert_eq!(
        items[0],
        json!({"body": {"id": account, "success": true, "errors": []},
               "httpHeaders": {"Location": format!("/services/data/v58.0/sobjects/Account/{account}")},
               "httpStatusCode": 201, "referenceId": "refAccount"})
    );
    assert_eq!(
        items[2],
        json!({"body": {"attributes": {"type": "Contact", "url": format!("/services/data/v58.0/sobjects/Contact/{contact}")},
                        "Name": "Zyxwright", "AccountId": account},
               "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "refRead"})
    );
    assert_eq!(
        items[4],
        json!({"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "refUpdate"})
    );
    let read = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Contact/{contact}?fields=Title"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(read["Title"], "Buyer");
    sim.shutdown().await;
}

#[tokio::test]
async fn composite_all_or_none_rolls_everything_back() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let existing = body(
        call(
            &sim,
            &token,
            Method::POST,
            "/sobjects/Contact",
            Some(json!({"LastName": "Keep", "Title": "Old"})),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Rollback Inc"}},
            {"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{existing}"), "referenceId": "refEdit", "body": {"Title": "New"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "refLead", "body": {"LastName": "NoCompany"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Contact", "referenceId": "refAfter", "body": {"LastName": "Never"}}
        ]})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let result = body(response).await;
    let halted = |reference: &str| {
        json!({"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
               "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference})
    };
    assert_eq!(
        result,
        json!({"compositeResponse": [
            halted("refAccount"),
            halted("refEdit"),
            {"body": [{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refLead"},
            halted("refAfter"),
        ]})
    );
    let accounts = query_json(
        &sim,
        &token,
        "SELECT Id FROM Account WHERE Name = 'Rollback Inc'",
    )
    .await;
    assert_eq!(accounts["totalSize"], 0, "the created account is gone");
    let kept = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Contact/{existing}?fields=Title"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(kept["Title"], "Old", "the edit is undone");

    // Without allOrNone the others stand and a reference to the failed item is refused.
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"compositeRequest": [
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "refLead", "body": {"LastName": "NoCompany"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Task", "referenceId": "refTask", "body": {"WhoId": "@{refLead.id}"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Stands Inc"}}
        ]})),
    )
    .await;
    let items = body(response).await["compositeResponse"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(items[1]["httpStatusCode"], 400);
    assert_eq!(items[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert!(items[1]["body"][0]["message"]
        .as_str()
        .expect("message")
        .starts_with("Invalid reference specified. No value for refLead.id found in refLead."));
    assert_eq!(items[2]["httpStatusCode"], 201);

    // More than 25 subrequests: refused before anything runs.
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "POST", "url": "/services/data/v58.0/sobjects/Account", "referenceId": format!("r{i}"), "body": {"Name": format!("Many {i}")}}))
        .collect();
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"compositeRequest": many})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let none = query_json(
        &sim,
        &token,
        "SELECT COUNT() FROM Account WHERE Name LIKE 'Many %'",
    )
    .await;
    assert_eq!(none["totalSize"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn collections_report_per_item_with_status_code() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite/sobjects",
        Some(json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "A", "Company": "X"},
            {"attributes": {"type": "Lead"}, "LastName": "B"}
        ]})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let items = body(response).await;
    let id = items[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        items,
        json!([
            {"id": id, "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]", "fields": ["Company"]}]}
        ])
    );

    let rolled = call(
        &sim,
        &token,
        Method::POST,
        "/composite/sobjects",
        Some(json!({"allOrNone": true, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "C", "Company": "Y"},
            {"attributes": {"type": "Lead"}, "LastName": "D"}
        ]})),
    )
    .await;
    assert_eq!(
        body(rolled).await,
        json!([
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]", "fields": ["Company"]}]}
        ])
    );
    assert_eq!(
        query_json(
            &sim,
            &token,
            "SELECT COUNT() FROM Lead WHERE LastName = 'C'"
        )
        .await["totalSize"],
        0
    );

    let update = call(
        &sim,
        &token,
        Method::PATCH,
        "/composite/sobjects",
        Some(json!({"records": [{"attributes": {"type": "Lead"}, "Id": id, "Title": "Buyer"}]})),
    )
    .await;
    assert_eq!(
        body(update).await,
        json!([{"id": id, "success": true, "errors": []}])
    );
    let fetched = call(
        &sim,
        &token,
        Method::GET,
        &format!("/composite/sobjects/Lead?ids={id},00Q000000000000AAA&fields=Id,Title"),
        None,
    )
    .await;
    assert_eq!(
        body(fetched).await,
        json!([
            {"attributes": {"type": "Lead", "url": format!("/services/data/v58.0/sobjects/Lead/{id}")}, "Id": id, "Title": "Buyer"},
            null
        ])
    );
    let deleted = call(
        &sim,
        &token,
        Method::DELETE,
        &format!("/composite/sobjects?ids={id}&allOrNone=false"),
        None,
    )
    .await;
    assert_eq!(
        body(deleted).await,
        json!([{"id": id, "success": true, "errors": []}])
    );

    let too_many: Vec<Value> = (0..201).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("L{i}"), "Company": "Z"})).collect();
    let refused = call(
        &sim,
        &token,
        Method::POST,
        "/composite/sobjects",
        Some(json!({"records": too_many})),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn composite_subrequest_headers_make_updates_conditional() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let id = body(
        call(
            &sim,
            &token,
            Method::POST,
            "/sobjects/Contact",
            Some(json!({"LastName": "Guarded"})),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"compositeRequest": [
            {"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{id}"), "referenceId": "stale",
             "httpHeaders": {"If-Unmodified-Since": "Tue, 10 Aug 2015 00:00:00 GMT"}, "body": {"Title": "Stale"}},
            {"method": "PATCH", "url": format!("/services/data/v58.0/sobjects/Contact/{id}"), "referenceId": "fresh",
             "httpHeaders": {"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}, "body": {"Title": "Fresh"}}
        ]})),
    )
    .await;
    let items = body(response).await["compositeResponse"].clone();
    assert_eq!(items[0]["httpStatusCode"], 412);
    assert_eq!(items[1]["httpStatusCode"], 204);
    let read = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Contact/{id}?fields=Title"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(read["Title"], "Fresh");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_sixth_query_in_one_composite_is_refused_before_anything_runs() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let query = |n: usize| json!({"method": "GET", "url": "/services/data/v58.0/query?q=SELECT+Id+FROM+Account", "referenceId": format!("q{n}")});
    let deleted = json!({"method": "GET",
        "url": "/services/data/v58.0/sobjects/Contact/deleted/?start=2024-01-01T00:00:00%2B00:00&end=2024-01-02T00:00:00%2B00:00",
        "referenceId": "deletes"});
    // Five queries and other reads: fine.
    let mut five: Vec<Value> = (0..5).map(query).collect();
    five.push(deleted.clone());
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"allOrNone": false, "compositeRequest": five})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A sixth query (here a create that should never happen comes first).
    let mut six: Vec<Value> = vec![
        json!({"method": "POST", "url": "/services/data/v58.0/sobjects/Lead",
        "referenceId": "lead", "body": {"LastName": "Neverland", "Company": "Nowhere"}}),
    ];
    six.extend((0..6).map(query));
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/composite",
        Some(json!({"allOrNone": false, "compositeRequest": six})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = body(response).await;
    assert_eq!(errors[0]["errorCode"], "INVALID_INPUT");
    assert!(sim
        .records("Lead")
        .iter()
        .all(|lead| lead["LastName"] != "Neverland"));
    sim.shutdown().await;
}
