//! Replication and limits: `updated/` and `deleted/` windows, `queryAll`, relative date literals,
//! OFFSET, query-locator expiry, `/limits` and the rolling daily API limit
//! (reference §2.2, §3.1, §3.3, §4.4). Expected JSON is written out by hand.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sfsim::{Sim, SimConfig};

async fn advance_clock(sim: &Sim, seconds: u64) {
    let response = browser()
        .post(format!("{}/__sim/clock/advance", sim.base_url()))
        .json(&json!({"seconds": seconds}))
        .send()
        .await
        .expect("control answers");
    assert!(response.status().is_success(), "{}", response.status());
}

/// `2026-11-22T09:13:27.123+0000` → `2026-11-22T09:13:00.000+0000`.
fn minute_of(stamp: &str) -> String {
    format!("{}:00.000+0000", &stamp[..16])
}

#[tokio::test]
async fn updated_and_deleted_report_changes_in_their_windows() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let created = call(
        &sim,
        &token,
        Method::POST,
        "/sobjects/Contact",
        Some(json!({"LastName": "Window"})),
    )
    .await;
    let id = body(created).await["id"].as_str().expect("id").to_owned();
    let record = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Contact/{id}?fields=SystemModstamp"),
            None,
        )
        .await,
    )
    .await;
    let stamp = record["SystemModstamp"].as_str().expect("stamp").to_owned();
    // `2026-11-22T09:13:27.123+0000` → a window from that minute to well after it, as ISO-8601 with `+00:00`.
    let start = format!("{}:00+00:00", &stamp[..16]);
    let end = "2100-01-01T00:00:00+00:00";

    let updated = browser()
        .get(format!("{}{V}/sobjects/Contact/updated/", sim.base_url()))
        .query(&[("start", start.as_str()), ("end", end)])
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = body(updated).await;
    assert_eq!(
        updated["ids"],
        json!([id]),
        "only the new contact changed since then"
    );
    let latest = updated["latestDateCovered"]
        .as_str()
        .expect("latestDateCovered");
    assert_eq!(latest, minute_of(latest), "whole minutes");
    assert!(latest >= minute_of(&stamp).as_str());

    let delete = call(
        &sim,
        &token,
        Method::DELETE,
        &format!("/sobjects/Contact/{id}"),
        None,
    )
    .await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let deleted = browser()
        .get(format!("{}{V}/sobjects/Contact/deleted/", sim.base_url()))
        .query(&[("start", start.as_str()), ("end", end)])
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(deleted.status(), StatusCode::OK);
    let deleted = body(deleted).await;
    let records = deleted["deletedRecords"]
        .as_array()
        .expect("deletedRecords");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], json!(id));
    assert!(records[0]["deletedDate"]
        .as_str()
        .expect("deletedDate")
        .ends_with("+0000"));
    let earliest = deleted["earliestDateAvailable"]
        .as_str()
        .expect("earliestDateAvailable");
    assert!(earliest < start.as_str(), "15 days of log: {earliest}");
    assert!(deleted["latestDateCovered"].is_string());

    // Another rep sees neither.
    let rep2 = access_token(&sim, "rep2@demo.example").await;
    let theirs = browser()
        .get(format!("{}{V}/sobjects/Contact/deleted/", sim.base_url()))
        .query(&[("start", start.as_str()), ("end", end)])
        .bearer_auth(&rep2)
        .send()
        .await
        .expect("answers");
    assert_eq!(body(theirs).await["deletedRecords"], json!([]));

    // Windows a real org refuses.
    for (start, end) in [
        ("2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("2001-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"),
        ("not-a-date", "2100-01-01T00:00:00+00:00"),
    ] {
        let response = browser()
            .get(format!("{}{V}/sobjects/Contact/updated/", sim.base_url()))
            .query(&[("start", start), ("end", end)])
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{start}");
        assert_eq!(
            body(response).await[0]["errorCode"],
            "INVALID_REPLICATION_DATE",
            "{start}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn relative_date_literals_and_offset() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let created = call(
        &sim,
        &token,
        Method::POST,
        "/sobjects/Contact",
        Some(json!({"LastName": "Fresh"})),
    )
    .await;
    let id = body(created).await["id"].as_str().expect("id").to_owned();
    let ids = |body: &Value| -> Vec<String> {
        body["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["Id"].as_str().expect("Id").to_owned())
            .collect()
    };
    // Created just now: today, within the last day, this week; not yesterday, not before today.
    for (condition, expected) in [
        ("CreatedDate = TODAY", true),
        ("CreatedDate = LAST_N_DAYS:1", true),
        ("CreatedDate = THIS_WEEK", true),
        ("CreatedDate = YESTERDAY", false),
        ("CreatedDate < TODAY", false),
        ("CreatedDate >= TODAY", true),
        ("CreatedDate > NEXT_N_DAYS:3", false),
        ("CreatedDate IN (YESTERDAY, TODAY)", true),
    ] {
        let soql = format!("SELECT Id FROM Contact WHERE LastName = 'Fresh' AND {condition}");
        let found = ids(&query_json(&sim, &token, &soql).await);
        assert_eq!(found == [id.clone()], expected, "{condition}: {found:?}");
    }
    let mismatch = query(
        &sim,
        &token,
        "SELECT Id FROM Contact WHERE LastName = TODAY",
        None,
    )
    .await;
    assert_eq!(body(mismatch).await[0]["errorCode"], "INVALID_FIELD");

    let all = ids(&query_json(&sim, &token, "SELECT Id FROM Account ORDER BY Name LIMIT 5").await);
    let skipped = ids(&query_json(
        &sim,
        &token,
        "SELECT Id FROM Account ORDER BY Name LIMIT 3 OFFSET 2",
    )
    .await);
    assert_eq!(skipped, all[2..5]);
    let too_far = query(&sim, &token, "SELECT Id FROM Account OFFSET 2001", None).await;
    assert_eq!(too_far.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body(too_far).await,
        json!([{"message": "Maximum SOQL offset allowed is 2000", "errorCode": "NUMBER_OUTSIDE_VALID_RANGE"}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_idle_query_locator_expires() {
    let sim = start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await;
    let token = access_token(&sim, "admin@demo.example").await;
    let first = body(query(&sim, &token, "SELECT Id FROM Contact", Some(200)).await).await;
    let next = first["nextRecordsUrl"]
        .as_str()
        .expect("nextRecordsUrl")
        .to_owned();
    let url = format!("{}{next}", sim.base_url());
    let again = browser()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(again.status(), StatusCode::OK);
    advance_clock(&sim, 16 * 60).await;
    let token = access_token(&sim, "admin@demo.example").await;
    let expired = browser()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body(expired).await,
        json!([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn limits_and_the_daily_allocation() {
    let sim = start(SimConfig {
        daily_api_limit: 3,
        ..SimConfig::default()
    })
    .await;
    let token = access_token(&sim, "rep@demo.example").await;
    let limits = call(&sim, &token, Method::GET, "/limits", None).await;
    assert_eq!(limits.headers()["sforce-limit-info"], "api-usage=1/3");
    let limits = body(limits).await;
    assert_eq!(
        limits["DailyApiRequests"],
        json!({"Max": 3, "Remaining": 2})
    );
    assert_eq!(
        query(&sim, &token, "SELECT Id FROM Account LIMIT 1", None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        query(&sim, &token, "SELECT Id FROM Account LIMIT 1", None)
            .await
            .status(),
        StatusCode::OK
    );
    let refused = query(&sim, &token, "SELECT Id FROM Account LIMIT 1", None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["sforce-limit-info"], "api-usage=3/3");
    assert_eq!(
        body(refused).await,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    sim.shutdown().await;
}
