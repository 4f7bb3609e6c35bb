//! The REST data API: versions, query shapes, paging, keyset sync queries, sharing, errors
//! (reference §2). Expected JSON is written out by hand from the reference.

mod common;

use std::process::Stdio;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sfsim::SimConfig;
use tokio::io::{AsyncBufReadExt, BufReader};

fn limit_info(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("sforce-limit-info")
        .expect("Sforce-Limit-Info header")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

fn text(record: &Map<String, Value>, field: &str) -> String {
    record[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn versions_list_includes_summer_23() {
    let sim = start(SimConfig::default()).await;
    for path in ["/services/data/", "/services/data"] {
        let response = browser()
            .get(format!("{}{path}", sim.base_url()))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_type(&response), "application/json;charset=UTF-8");
        let versions: Vec<Value> = response.json().await.expect("JSON array");
        assert!(versions.contains(
            &json!({"label": "Summer '23", "url": "/services/data/v58.0", "version": "58.0"})
        ));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn query_rows_carry_attributes_and_nested_parents_or_null() {
    let sim = start(SimConfig::default()).await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    let token = access_token(&sim, "rep@demo.example").await;
    let contacts = sim.records("Contact");
    let accounts = sim.records("Account");
    let with_account = contacts
        .iter()
        .find(|c| c["OwnerId"] == json!(rep) && c["AccountId"].is_string())
        .expect("rep has a contact with an account");
    let without_account = contacts
        .iter()
        .find(|c| c["OwnerId"] == json!(rep) && c["AccountId"].is_null())
        .expect("rep has a contact without an account");
    let account = accounts
        .iter()
        .find(|a| a["Id"] == with_account["AccountId"])
        .expect("the account exists");

    let (id1, id2) = (text(with_account, "Id"), text(without_account, "Id"));
    let response = query(
        &sim,
        &token,
        &format!("SELECT Id, Name, Email, Account.Name FROM Contact WHERE Id IN ('{id1}', '{}') ORDER BY Id", &id2[..15]),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    assert!(limit_info(&response).starts_with("api-usage="));
    let body: Value = response.json().await.expect("JSON");
    let account_id = text(account, "Id");
    let row = |id: &str, c: &Map<String, Value>, parent: Value| {
        json!({
            "attributes": {"type": "Contact", "url": format!("/services/data/v58.0/sobjects/Contact/{id}")},
            "Id": id,
            "Name": c["Name"],
            "Email": c["Email"],
            "Account": parent,
        })
    };
    let mut expected_rows = vec![
        (
            id1.clone(),
            row(
                &id1,
                with_account,
                json!({
                    "attributes": {"type": "Account", "url": format!("/services/data/v58.0/sobjects/Account/{account_id}")},
                    "Name": account["Name"],
                }),
            ),
        ),
        (id2.clone(), row(&id2, without_account, Value::Null)),
    ];
    expected_rows.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = json!({
        "totalSize": 2,
        "done": true,
        "records": expected_rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
    });
    assert_eq!(body, expected);
    // Name is first + last name; emails look like first.last@company-domain.
    let name = with_account["Name"].as_str().expect("name");
    assert_eq!(
        name,
        format!(
            "{} {}",
            text(with_account, "FirstName"),
            text(with_account, "LastName")
        )
    );
    assert!(text(with_account, "Email").contains('@'));
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_follows_next_records_url_with_batch_size_200() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "admin@demo.example").await;
    let first = query(&sim, &token, "SELECT Id, Name FROM Contact", Some(200)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("JSON");
    assert_eq!(first["totalSize"], 220);
    assert_eq!(first["done"], false);
    assert_eq!(first["records"].as_array().expect("records").len(), 200);
    let next = first["nextRecordsUrl"].as_str().expect("nextRecordsUrl");
    let locator = next
        .strip_prefix("/services/data/v58.0/query/")
        .expect("query path");
    let (locator_id, offset) = locator.split_once('-').expect("<id>-<offset>");
    assert!(
        locator_id.starts_with("01g") && locator_id.len() == 18,
        "{locator_id}"
    );
    assert_eq!(offset, "200");

    // Another user cannot read this cursor.
    let rep_token = access_token(&sim, "rep@demo.example").await;
    let foreign = browser()
        .get(format!("{}{next}", sim.base_url()))
        .bearer_auth(&rep_token)
        .send()
        .await
        .expect("answers");
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let foreign: Value = foreign.json().await.expect("JSON");
    assert_eq!(foreign[0]["errorCode"], "INVALID_QUERY_LOCATOR");

    let second = browser()
        .get(format!("{}{next}", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(second["totalSize"], 220);
    assert_eq!(second["done"], true);
    assert!(second.get("nextRecordsUrl").is_none());
    assert_eq!(second["records"].as_array().expect("records").len(), 20);

    let mut ids: Vec<&str> = first["records"]
        .as_array()
        .into_iter()
        .chain(second["records"].as_array())
        .flatten()
        .map(|r| r["Id"].as_str().expect("Id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 220);

    // Without the header the default batch is 2000: one page.
    let all: Value = query(&sim, &token, "SELECT Id FROM Contact", None)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(all["done"], true);
    assert!(all.get("nextRecordsUrl").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn keyset_query_resumes_inside_a_group_of_equal_stamps() {
    let sim = start(SimConfig::default()).await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    let token = access_token(&sim, "rep@demo.example").await;

    // What the rep may see, in (SystemModstamp, Id) order, computed from the admin view.
    let mut visible: Vec<(String, String)> = sim
        .records("Contact")
        .iter()
        .filter(|c| c["OwnerId"] == json!(rep))
        .map(|c| (text(c, "SystemModstamp"), text(c, "Id")))
        .collect();
    visible.sort();
    // Find a stamp shared by several records and resume after the second of them.
    let tie_start = visible
        .windows(3)
        .position(|w| w[0].0 == w[1].0 && w[1].0 == w[2].0)
        .expect("several contacts share one SystemModstamp");
    let (stamp, after_id) = visible[tie_start + 1].clone();
    let expected: Vec<&str> = visible[tie_start + 2..]
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(visible[tie_start + 2].0, stamp, "the next row is a tie");

    // 2024-03-15T09:30:00.000+0000 → 2024-03-15T09:30:00Z
    let literal = format!("{}Z", &stamp[..19]);
    let soql = format!(
        "SELECT Id, Name, SystemModstamp FROM Contact WHERE SystemModstamp > {literal} OR (SystemModstamp = {literal} AND Id > '{after_id}') ORDER BY SystemModstamp, Id LIMIT 2000"
    );
    let body = query_json(&sim, &token, &soql).await;
    let got: Vec<&str> = body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["Id"].as_str().expect("Id"))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(body["totalSize"], json!(expected.len()));

    // LIMIT cuts the same order; an offset literal means the same instant.
    let limited = query_json(
        &sim,
        &token,
        &format!("SELECT Id FROM Contact WHERE SystemModstamp >= {}+00:00 ORDER BY SystemModstamp, Id LIMIT 3", &stamp[..19]),
    )
    .await;
    let got: Vec<&str> = limited["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["Id"].as_str().expect("Id"))
        .collect();
    assert_eq!(
        got,
        visible[tie_start..tie_start + 3]
            .iter()
            .map(|(_, id)| id.as_str())
            .collect::<Vec<_>>()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sharing_private_contacts_and_opportunities_public_accounts() {
    let sim = start(SimConfig::default()).await;
    let count = |body: Value| body["totalSize"].as_u64().expect("totalSize");
    let mut seen = Vec::new();
    for user in [
        "rep@demo.example",
        "rep2@demo.example",
        "admin@demo.example",
    ] {
        let token = access_token(&sim, user).await;
        let contacts = count(query_json(&sim, &token, "SELECT COUNT() FROM Contact").await);
        let opportunities = count(query_json(&sim, &token, "SELECT Id FROM Opportunity").await);
        let accounts = count(query_json(&sim, &token, "SELECT Id FROM Account").await);
        seen.push((user, contacts, opportunities, accounts));
    }
    assert_eq!(
        seen,
        [
            ("rep@demo.example", 176, 48, 40),
            ("rep2@demo.example", 33, 9, 40),
            ("admin@demo.example", 220, 60, 40),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn count_query_shape() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let response = query(
        &sim,
        &token,
        "SELECT COUNT() FROM Contact WHERE AccountId = null",
        None,
    )
    .await;
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"totalSize":5,"done":true,"records":[]}"#
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_like_in_not_and_booleans_work() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "admin@demo.example").await;
    let names = |body: &Value| -> Vec<String> {
        body["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["Name"].as_str().expect("Name").to_owned())
            .collect()
    };
    let body = query_json(
        &sim,
        &token,
        "SELECT Name FROM Account WHERE Name LIKE 'north%' ORDER BY Name",
    )
    .await;
    assert_eq!(names(&body), ["Northwind Traders"]);
    let body = query_json(&sim, &token, "SELECT Name FROM Account WHERE Name IN ('Lumen Analytics', 'Juniper Software') ORDER BY Name DESC").await;
    assert_eq!(names(&body), ["Lumen Analytics", "Juniper Software"]);
    let body = query_json(
        &sim,
        &token,
        "SELECT Name FROM Account WHERE NOT (Industry != 'Energy') ORDER BY Name",
    )
    .await;
    assert_eq!(names(&body), ["Greenfield Energy", "Prairie Wind Farms"]);
    let won = query_json(
        &sim,
        &token,
        "SELECT Id, StageName FROM Opportunity WHERE IsWon = true",
    )
    .await;
    assert!(won["records"]
        .as_array()
        .expect("records")
        .iter()
        .all(|r| r["StageName"] == "Closed Won"));
    assert_eq!(won["totalSize"], 6);
    let owner = query_json(
        &sim,
        &token,
        "SELECT Id, Owner.Name FROM Contact WHERE Owner.Username = 'rep2@demo.example' LIMIT 1",
    )
    .await;
    assert_eq!(owner["records"][0]["Owner"]["Name"], "Jordan Ellis");
    sim.shutdown().await;
}

#[tokio::test]
async fn query_errors_are_arrays_with_salesforce_codes_and_messages() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;

    let response = query(&sim, &token, "SELECT Id, Nmae FROM Contact", None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    assert!(limit_info(&response).starts_with("api-usage="));
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!([{
            "message": "\nSELECT Id, Nmae FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nmae' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
            "errorCode": "INVALID_FIELD"
        }])
    );

    let body: Value = query(&sim, &token, "SELECT Id FORM Contact", None)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        body,
        json!([{"message": "\nSELECT Id FORM Contact\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'", "errorCode": "MALFORMED_QUERY"}])
    );

    let response = query(&sim, &token, "SELECT Id FROM Widget", None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body[0]["errorCode"], "INVALID_TYPE");
    assert!(body[0]["message"]
        .as_str()
        .expect("message")
        .contains("sObject type 'Widget' is not supported."));

    let body: Value = query(
        &sim,
        &token,
        "SELECT Id FROM Contact WHERE SystemModstamp > '2024-05-01'",
        None,
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    assert!(body[0]["message"].as_str().expect("message").ends_with(
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes"
    ));

    let body: Value = query(&sim, &token, "SELECT Id, Foo.Name FROM Contact", None)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
    assert!(body[0]["message"]
        .as_str()
        .expect("message")
        .contains("Didn't understand relationship 'Foo' in field path."));
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_or_garbage_bearer_is_401_and_unknown_paths_404() {
    let sim = start(SimConfig::default()).await;
    let expected =
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
    let url = format!(
        "{}/services/data/v58.0/query?q=SELECT+Id+FROM+Contact",
        sim.base_url()
    );
    let none = browser().get(&url).send().await.expect("answers");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.json::<Value>().await.expect("JSON"), expected);
    let garbage = browser()
        .get(&url)
        .bearer_auth("00Dxx!garbage")
        .send()
        .await
        .expect("answers");
    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.json::<Value>().await.expect("JSON"), expected);

    let token = access_token(&sim, "rep@demo.example").await;
    let unknown = browser()
        .get(format!(
            "{}/services/data/v58.0/nothing-here",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.headers().get("sforce-limit-info").is_some());
    assert_eq!(
        unknown.json::<Value>().await.expect("JSON"),
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );
    let trailing = browser()
        .get(format!("{}/services/data/v58.0/query/", sim.base_url()))
        .query(&[("q", "SELECT Id FROM Account LIMIT 2")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        trailing.status(),
        StatusCode::OK,
        "rustforce's /query/?q= form"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn every_rest_call_is_counted_in_sforce_limit_info() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    assert_eq!(sim.api_calls(), 0, "OAuth calls are not REST calls");
    for n in 1..=3 {
        let response = query(&sim, &token, "SELECT Id FROM Account LIMIT 1", None).await;
        assert_eq!(limit_info(&response), format!("api-usage={n}/15000"));
    }
    assert_eq!(sim.api_calls(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_edit_moves_the_record_past_the_sync_watermark() {
    let sim = start(SimConfig::default()).await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    let token = access_token(&sim, "rep@demo.example").await;
    let contacts = sim.records("Contact");
    let watermark = contacts
        .iter()
        .map(|c| text(c, "SystemModstamp"))
        .max()
        .expect("contacts exist");
    let contact = contacts
        .into_iter()
        .find(|c| c["OwnerId"] == json!(rep))
        .expect("a rep contact");
    let id = text(&contact, "Id");
    sim.update_record(
        "Contact",
        &id,
        json!({"FirstName": "Zelda", "Title": "Chief Dragon"}),
    )
    .expect("update works");
    let body = query_json(
        &sim,
        &token,
        &format!(
            "SELECT Id, Name, Title, SystemModstamp FROM Contact WHERE SystemModstamp > {}Z",
            &watermark[..19]
        ),
    )
    .await;
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Id"], json!(id));
    assert_eq!(
        body["records"][0]["Name"],
        json!(format!("Zelda {}", text(&contact, "LastName")))
    );
    assert_eq!(body["records"][0]["Title"], "Chief Dragon");
    assert!(
        sim.update_record("Contact", &id, json!({"Name": "x"}))
            .is_err(),
        "Name is read-only"
    );
    assert!(sim
        .update_record("Contact", "003000000000000AAA", json!({"Title": "x"}))
        .is_err());
    assert!(sim.update_record("Widget", &id, json!({})).is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_binary_prints_its_address_first_and_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfsim"))
        .args(["--listen", "127.0.0.1:0", "--session-timeout-secs", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sfsim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("first line in time")
    .expect("readable");
    let base = line
        .trim()
        .strip_prefix("sfsim listening on ")
        .expect("the announced line");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let response = reqwest::get(format!("{base}/services/data/"))
        .await
        .expect("serves");
    assert_eq!(response.status(), StatusCode::OK);
    child.kill().await.expect("stops");
}

#[tokio::test]
async fn opportunity_stages_carry_the_default_probabilities() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let body = query_json(
        &sim,
        &token,
        "SELECT MasterLabel, DefaultProbability, IsClosed, IsWon, ForecastCategoryName FROM OpportunityStage ORDER BY SortOrder",
    )
    .await;
    let rows: Vec<Value> = body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            json!([
                r["MasterLabel"],
                r["DefaultProbability"],
                r["IsClosed"],
                r["IsWon"],
                r["ForecastCategoryName"]
            ])
        })
        .collect();
    // The stage table of reference §8, typed out.
    assert_eq!(
        rows,
        [
            json!(["Prospecting", 10.0, false, false, "Pipeline"]),
            json!(["Qualification", 10.0, false, false, "Pipeline"]),
            json!(["Needs Analysis", 20.0, false, false, "Pipeline"]),
            json!(["Value Proposition", 50.0, false, false, "Pipeline"]),
            json!(["Id. Decision Makers", 60.0, false, false, "Pipeline"]),
            json!(["Perception Analysis", 70.0, false, false, "Pipeline"]),
            json!(["Proposal/Price Quote", 75.0, false, false, "Pipeline"]),
            json!(["Negotiation/Review", 90.0, false, false, "Pipeline"]),
            json!(["Closed Won", 100.0, true, true, "Closed"]),
            json!(["Closed Lost", 0.0, true, false, "Omitted"]),
        ]
    );
    sim.shutdown().await;
}
