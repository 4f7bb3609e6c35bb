//! `POST /v1/sync` against sfsim: every object in one Salesforce call, progress, deletions,
//! a delete log that no longer reaches back, and records that leave the rep's view.

mod support;

use std::collections::BTreeSet;

use companion_api::{CountsResponse, IdsResponse, SyncRequest, SyncResponse, SYNC_OBJECTS};
use companion_gateway::Tuning;
use serde_json::{json, Value};
use sfsim::SimConfig;
use support::{error_of, Env, REP};

const REP2: &str = "rep2@demo.example";

/// What rep may see in sfsim: every account; the contacts, opportunities and tasks rep owns.
fn visible_ids(env: &Env, object: &str) -> BTreeSet<String> {
    let rep = env.sim.user_id(REP).unwrap();
    env.sim
        .records(object)
        .into_iter()
        .filter(|r| object == "Account" || r["OwnerId"] == rep.as_str())
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

fn synced_ids(pages: &[SyncResponse], object: &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| -> Vec<String> {
            match object {
                "Account" => p.accounts.iter().map(|r| r.id.clone()).collect(),
                "Contact" => p.contacts.iter().map(|r| r.id.clone()).collect(),
                "Opportunity" => p.opportunities.iter().map(|r| r.id.clone()).collect(),
                "Task" => p.tasks.iter().map(|r| r.id.clone()).collect(),
                other => panic!("{other}"),
            }
        })
        .collect()
}

async fn admin_call(env: &Env, method: reqwest::Method, path: &str, body: Option<Value>) {
    let token = env.password_grant("admin@demo.example").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut request = env
        .http
        .request(
            method,
            format!("{}/services/data/v58.0/{path}", env.sim.base_url()),
        )
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "admin {path}: {}",
        response.text().await.unwrap()
    );
}

async fn post<T: serde::de::DeserializeOwned>(
    env: &Env,
    session: &str,
    path: &str,
    body: Value,
) -> T {
    let response = env
        .http
        .post(env.url(path))
        .bearer_auth(session)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn one_salesforce_call_per_sync_and_every_object_the_rep_may_see() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;

    let before = env.sim.api_calls();
    let first = env.sync(&session, &SyncRequest::default()).await;
    assert_eq!(env.sim.api_calls() - before, 1, "a first page is one call");
    assert!(!first.more, "the demo org fits one page");
    for object in SYNC_OBJECTS {
        let got: BTreeSet<String> = synced_ids(std::slice::from_ref(&first), object)
            .into_iter()
            .collect();
        assert_eq!(got, visible_ids(&env, object), "{object}");
        assert!(!got.is_empty(), "{object}: the demo org has some");
        let progress = first.objects[*object];
        assert_eq!(progress.records as usize, got.len());
        assert_eq!((progress.remaining, progress.more), (0, false));
    }
    // Opportunity fields Salesforce derives arrive as Salesforce has them.
    // (Salesforce's default stage probabilities, from the reference.)
    let probability = |stage: &str| match stage {
        "Prospecting" | "Qualification" => 10.0,
        "Needs Analysis" => 20.0,
        "Value Proposition" => 50.0,
        "Id. Decision Makers" => 60.0,
        "Perception Analysis" => 70.0,
        "Proposal/Price Quote" => 75.0,
        "Negotiation/Review" => 90.0,
        "Closed Won" => 100.0,
        "Closed Lost" => 0.0,
        other => panic!("unknown stage {other}"),
    };
    for deal in &first.opportunities {
        assert_eq!(deal.probability, Some(probability(&deal.stage_name)));
        assert_eq!(deal.is_closed, deal.stage_name.starts_with("Closed"));
        assert_eq!(deal.is_won, deal.stage_name == "Closed Won");
    }

    // Nothing new: exactly one call, nothing in the answer.
    let cursors = SyncRequest {
        cursors: first.cursors.clone(),
    };
    let before = env.sim.api_calls();
    let quiet = env.sync(&session, &cursors).await;
    assert_eq!(
        env.sim.api_calls() - before,
        1,
        "a no-change sync is one call"
    );
    assert!(quiet.contacts.is_empty() && quiet.opportunities.is_empty());
    assert!(quiet.tasks.is_empty() && quiet.accounts.is_empty());
    assert!(quiet.deleted.is_empty() && quiet.reset.is_empty() && !quiet.more);
    env.shutdown().await;
}

#[tokio::test]
async fn a_first_sync_reports_progress_and_costs_one_call_per_page() {
    let env = Env::start(
        SimConfig::default(),
        Tuning {
            sync_page_size: 50,
            ..Tuning::default()
        },
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    let total_contacts = visible_ids(&env, "Contact").len() as u64;
    let before = env.sim.api_calls();
    let pages = env.sync_all(&session, SyncRequest::default()).await;
    assert_eq!(env.sim.api_calls() - before, pages.len() as u64);
    let first = pages[0].objects["Contact"];
    assert_eq!(first.records, 50);
    assert_eq!(first.records + first.remaining, total_contacts);
    let mut done = 0;
    for page in &pages {
        let progress = page.objects["Contact"];
        done += progress.records;
        assert_eq!(
            done + progress.remaining,
            total_contacts,
            "progress adds up"
        );
    }
    let contacts = synced_ids(&pages, "Contact");
    assert_eq!(contacts.len() as u64, total_contacts, "no contact twice");
    env.shutdown().await;
}

#[tokio::test]
async fn deletions_come_with_their_date_and_records_that_left_the_reps_view_are_found() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let first = env.sync(&session, &SyncRequest::default()).await;
    let cursors = SyncRequest {
        cursors: first.cursors.clone(),
    };
    let deleted = first.contacts[3].id.clone();
    let moved = first.contacts[4].id.clone();
    let lost_deal = first.opportunities[0].id.clone();
    admin_call(
        &env,
        reqwest::Method::DELETE,
        &format!("sobjects/Contact/{deleted}"),
        None,
    )
    .await;
    let rep2 = env.sim.user_id(REP2).unwrap();
    for (object, id) in [("Contact", &moved), ("Opportunity", &lost_deal)] {
        admin_call(
            &env,
            reqwest::Method::PATCH,
            &format!("sobjects/{object}/{id}"),
            Some(json!({ "OwnerId": rep2 })),
        )
        .await;
    }

    let delta = env.sync(&session, &cursors).await;
    assert_eq!(delta.deleted.len(), 1, "{:?}", delta.deleted);
    assert_eq!(
        (
            delta.deleted[0].object.as_str(),
            delta.deleted[0].id.as_str()
        ),
        ("Contact", deleted.as_str())
    );
    assert!(delta.deleted[0].deleted_date.is_some());
    // Salesforce's change feeds say nothing about the re-assigned records …
    assert!(delta.contacts.is_empty() && delta.opportunities.is_empty());

    // … so a client compares counts, and lists ids where they differ.
    let counts: CountsResponse = post(&env, &session, "/v1/sync/counts", json!({})).await;
    let replica_contacts = first.contacts.len() as u64 - 1; // the deletion applied
    assert_eq!(counts.counts["Contact"], replica_contacts - 1);
    assert_eq!(
        counts.counts["Opportunity"],
        first.opportunities.len() as u64 - 1
    );
    assert_eq!(counts.counts["Account"], first.accounts.len() as u64);
    let listed: IdsResponse =
        post(&env, &session, "/v1/sync/ids", json!({"object": "Contact"})).await;
    let listed: BTreeSet<String> = listed.ids.into_iter().collect();
    assert_eq!(listed, visible_ids(&env, "Contact"));
    assert!(!listed.contains(&moved) && !listed.contains(&deleted));
    env.shutdown().await;
}

#[tokio::test]
async fn ids_are_paged_in_order_and_bad_requests_are_400() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let all: IdsResponse = post(&env, &session, "/v1/sync/ids", json!({"object": "Task"})).await;
    assert!(all.next.is_none(), "the demo org fits one page");
    let mut sorted = all.ids.clone();
    sorted.sort();
    assert_eq!(all.ids, sorted);
    let after: IdsResponse = post(
        &env,
        &session,
        "/v1/sync/ids",
        json!({"object": "Task", "after": all.ids[9]}),
    )
    .await;
    assert_eq!(after.ids, all.ids[10..].to_vec());

    for body in [
        json!({"object": "Lead"}),
        json!({"object": "Task", "after": "00T' OR Id != '"}),
        json!({"object": "Task", "after": first_contact_id(&env)}),
        json!({"object": "Contact WHERE Id != null"}),
        json!({}),
    ] {
        let response = env
            .http
            .post(env.url("/v1/sync/ids"))
            .bearer_auth(&session)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!(status, 400, "{body}: {error:?}");
    }
    env.shutdown().await;
}

fn first_contact_id(env: &Env) -> String {
    env.sim.records("Contact")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn when_the_delete_log_no_longer_reaches_back_the_objects_start_over() {
    let env = Env::start(
        SimConfig {
            control: true,
            ..SimConfig::default()
        },
        Tuning::default(),
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    let first = env.sync(&session, &SyncRequest::default()).await;
    // Sixteen days offline: Salesforce's delete log keeps fifteen.
    let advanced = env
        .http
        .post(format!("{}/__sim/clock/advance", env.sim.base_url()))
        .json(&json!({"seconds": 16 * 86_400}))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);
    // The access token has expired meanwhile; the gateway refreshes it on the way.
    let reset = env
        .sync(
            &session,
            &SyncRequest {
                cursors: first.cursors.clone(),
            },
        )
        .await;
    let objects: BTreeSet<&str> = reset.reset.iter().map(String::as_str).collect();
    assert_eq!(objects, SYNC_OBJECTS.iter().copied().collect());
    assert!(reset.more && reset.contacts.is_empty());
    let pass = env
        .sync_all(
            &session,
            SyncRequest {
                cursors: reset.cursors.clone(),
            },
        )
        .await;
    for object in SYNC_OBJECTS {
        let got: BTreeSet<String> = synced_ids(&pass, object).into_iter().collect();
        assert_eq!(
            got,
            visible_ids(&env, object),
            "{object}: the whole set again"
        );
    }
    assert!(pass.iter().all(|p| p.reset.is_empty()));
    env.shutdown().await;
}
