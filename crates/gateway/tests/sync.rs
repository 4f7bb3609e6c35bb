//! `POST /v1/sync` against sfsim: every object in one Salesforce call, progress, deletions,
//! a delete log that no longer reaches back, records that leave the rep's view, and leads, which
//! leave the replica when converted.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use companion_api::{CountsResponse, IdsResponse, SyncRequest, SyncResponse, SYNC_OBJECTS};
use companion_gateway::Tuning;
use serde_json::{json, Value};
use sfsim::SimConfig;
use support::{error_of, Env, REP};

const REP2: &str = "rep2@demo.example";

/// What rep may see in sfsim: every account; the contacts, opportunities and tasks rep owns;
/// the leads rep owns that are not converted.
fn visible_ids(env: &Env, object: &str) -> BTreeSet<String> {
    let rep = env.sim.user_id(REP).unwrap();
    env.sim
        .records(object)
        .into_iter()
        .filter(|r| object == "Account" || r["OwnerId"] == rep.as_str())
        .filter(|r| r.get("IsConverted") != Some(&Value::Bool(true)))
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
                "Lead" => p.leads.iter().map(|r| r.id.clone()).collect(),
                other => panic!("{other}"),
            }
        })
        .collect()
}

async fn admin_call(env: &Env, method: reqwest::Method, path: &str, body: Option<Value>) {
    call_as(env, "admin@demo.example", method, path, body).await;
}

/// A REST call straight at sfsim as `username`; its JSON answer (`null` for a 204).
async fn call_as(
    env: &Env,
    username: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let token = env.password_grant(username).await["access_token"]
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
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{username} {path}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
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
    assert!(quiet.tasks.is_empty() && quiet.accounts.is_empty() && quiet.leads.is_empty());
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
    // Any 15- or 18-character id is a place in id order: of another object (every Contact id,
    // 003…, sorts before every Task id, 00T…), or with a wrong checksum suffix (its first 15
    // characters count).
    let from_a_contact: IdsResponse = post(
        &env,
        &session,
        "/v1/sync/ids",
        json!({"object": "Task", "after": first_contact_id(&env)}),
    )
    .await;
    assert_eq!(from_a_contact.ids, all.ids);
    let suffix = if all.ids[9].ends_with("ZZZ") {
        "AAA"
    } else {
        "ZZZ"
    };
    let wrong_suffix = format!("{}{suffix}", &all.ids[9][..15]);
    let after_wrong_suffix: IdsResponse = post(
        &env,
        &session,
        "/v1/sync/ids",
        json!({"object": "Task", "after": wrong_suffix}),
    )
    .await;
    assert_eq!(after_wrong_suffix.ids, all.ids[10..].to_vec());

    for body in [
        json!({"object": "User"}),
        json!({"object": "Task", "after": "00T' OR Id != '"}),
        json!({"object": "Task", "after": &all.ids[9][..17]}),
        json!({"object": "Contact WHERE Id != null"}),
        json!({}),
        json!({"object": "Task", "cursor": "unknown properties are refused"}),
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

/// One `POST /v1/sync` page as the wire has it.
async fn sync_json(env: &Env, session: &str, cursors: &BTreeMap<String, String>) -> Value {
    let response = env
        .sync_raw(
            session,
            &SyncRequest {
                cursors: cursors.clone(),
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids_of(records: &Value) -> BTreeSet<String> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of `owner`'s leads in sfsim, in id order.
fn leads_owned_by(env: &Env, owner: &str) -> Vec<String> {
    let owner = env.sim.user_id(owner).unwrap();
    env.sim
        .records("Lead")
        .into_iter()
        .filter(|l| l["OwnerId"] == owner.as_str())
        .map(|l| l["Id"].as_str().unwrap().to_string())
        .collect()
}

/// A record's `SystemModstamp` as sfsim has it now.
fn stamp_of(env: &Env, object: &str, id: &str) -> String {
    env.sim
        .records(object)
        .into_iter()
        .find(|r| r["Id"] == id)
        .unwrap_or_else(|| panic!("{object} {id} exists"))["SystemModstamp"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_first_sync_brings_the_reps_open_leads_and_no_converted_or_other_reps_lead() {
    let env = Env::default().await;
    let mine = leads_owned_by(&env, REP);
    let theirs = leads_owned_by(&env, REP2);
    assert_eq!((mine.len(), theirs.len()), (24, 4), "the demo org's leads");
    let converted = mine[0].clone();
    let contact = env.sim.convert_lead(&converted).unwrap();
    let created = call_as(
        &env,
        REP,
        reqwest::Method::POST,
        "sobjects/Lead/",
        Some(json!({
            "FirstName": "Grace", "LastName": "Hopper", "Company": "Cobol Systems",
            "Title": "Rear Admiral", "Email": "grace@cobol.example", "MobilePhone": "(555) 010-0199",
            "LeadSource": "Web", "Status": "Working - Contacted"
        })),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rep = env.sim.user_id(REP).unwrap();
    let session = env.sign_in(REP).await.session_token;

    let page = sync_json(&env, &session, &BTreeMap::new()).await;
    let leads = ids_of(&page["leads"]);
    assert!(
        !leads.contains(&converted),
        "a converted lead is not replicated"
    );
    assert!(
        theirs.iter().all(|id| !leads.contains(id)),
        "another rep's leads are private"
    );
    let expected: BTreeSet<String> = mine[1..].iter().cloned().chain([created.clone()]).collect();
    assert_eq!(leads, expected);
    // The progress bar's total counts the open leads only.
    assert_eq!(
        page["objects"]["Lead"],
        json!({"records": 24, "remaining": 0, "more": false})
    );
    assert_eq!(page["deleted"], json!([]));
    // A lead arrives with exactly the fields the app keeps.
    let grace = page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["Id"] == created.as_str())
        .unwrap();
    assert_eq!(
        grace,
        &json!({
            "Id": created, "FirstName": "Grace", "LastName": "Hopper", "Name": "Grace Hopper",
            "Company": "Cobol Systems", "Title": "Rear Admiral", "Email": "grace@cobol.example",
            "Phone": null, "MobilePhone": "(555) 010-0199", "LeadSource": "Web",
            "Status": "Working - Contacted", "OwnerId": rep,
            "SystemModstamp": stamp_of(&env, "Lead", &created)
        })
    );
    // The conversion made a contact, which rep sees.
    assert!(ids_of(&page["contacts"]).contains(&contact));

    // Opportunities carry their next step.
    let deals = page["opportunities"].as_array().unwrap();
    let sim_deals = env.sim.records("Opportunity");
    for deal in deals {
        let in_sim = sim_deals.iter().find(|d| d["Id"] == deal["Id"]).unwrap();
        assert_eq!(deal["NextStep"], in_sim["NextStep"], "{}", deal["Id"]);
    }
    let first_with_a_step = deals.iter().find(|d| d["NextStep"].is_string()).unwrap();
    assert_eq!(first_with_a_step["NextStep"], "Schedule discovery call");
    assert!(deals
        .iter()
        .filter(|d| d["IsClosed"] == true)
        .all(|d| d["NextStep"].is_null()));
    env.shutdown().await;
}

#[tokio::test]
async fn leads_created_converted_or_deleted_after_the_cursor_reach_the_replica_on_the_next_sync() {
    let env = Env::default().await;
    let rep = env.sim.user_id(REP).unwrap();
    let session = env.sign_in(REP).await.session_token;
    let first = env.sync(&session, &SyncRequest::default()).await;
    let converted = first.leads[0].id.clone();
    let deleted = first.leads[1].id.clone();
    let deleted_stamp = first.leads[1].system_modstamp.clone();
    let deal = first
        .opportunities
        .iter()
        .find(|d| !d.is_closed && d.next_step.is_none())
        .expect("an open deal without a next step")
        .id
        .clone();

    let created = call_as(
        &env,
        REP,
        reqwest::Method::POST,
        "sobjects/Lead/",
        Some(json!({"LastName": "Hopper", "Company": "Cobol Systems"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let contact = env.sim.convert_lead(&converted).unwrap();
    admin_call(
        &env,
        reqwest::Method::DELETE,
        &format!("sobjects/Lead/{deleted}"),
        None,
    )
    .await;
    call_as(
        &env,
        REP,
        reqwest::Method::PATCH,
        &format!("sobjects/Opportunity/{deal}"),
        Some(json!({"NextStep": "Call the CFO on Friday"})),
    )
    .await;

    let before = env.sim.api_calls();
    let delta = sync_json(&env, &session, &first.cursors).await;
    assert_eq!(env.sim.api_calls() - before, 1, "still one call");
    assert_eq!(
        delta["leads"],
        json!([{
            "Id": created, "FirstName": null, "LastName": "Hopper", "Name": "Hopper",
            "Company": "Cobol Systems", "Title": null, "Email": null, "Phone": null,
            "MobilePhone": null, "LeadSource": null, "Status": "Open - Not Contacted",
            "OwnerId": rep, "SystemModstamp": stamp_of(&env, "Lead", &created)
        }])
    );
    let lead_deletions: Vec<&Value> = delta["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["object"] == "Lead")
        .collect();
    assert_eq!(lead_deletions.len(), 2, "{lead_deletions:?}");
    // The converted lead leaves, dated by its conversion (an older copy than that is dropped).
    let conversion = lead_deletions
        .iter()
        .find(|d| d["Id"] == converted.as_str())
        .expect("the converted lead comes as a deletion");
    assert_eq!(
        **conversion,
        json!({"object": "Lead", "Id": converted, "deleted_date": stamp_of(&env, "Lead", &converted)})
    );
    // The deleted one comes from the delete log, dated in the same form.
    let deletion = lead_deletions
        .iter()
        .find(|d| d["Id"] == deleted.as_str())
        .expect("the deleted lead comes as a deletion");
    let date = deletion["deleted_date"].as_str().unwrap();
    assert!(
        date.len() == 28 && date.ends_with("+0000") && date > deleted_stamp.as_str(),
        "{date}"
    );
    // What the conversion made comes too, and the next step rep wrote.
    assert!(ids_of(&delta["contacts"]).contains(&contact));
    let deals = delta["opportunities"].as_array().unwrap();
    assert_eq!(deals.len(), 1);
    assert_eq!(
        (&deals[0]["Id"], &deals[0]["NextStep"]),
        (&json!(deal), &json!("Call the CFO on Friday"))
    );

    // Once applied, the conversion is behind the cursor: the next sync brings nothing of it.
    let cursors = serde_json::from_value(delta["cursors"].clone()).unwrap();
    let before = env.sim.api_calls();
    let quiet = sync_json(&env, &session, &cursors).await;
    assert_eq!(env.sim.api_calls() - before, 1);
    assert_eq!(quiet["leads"], json!([]));
    assert!(quiet["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["Id"] != converted.as_str()));
    assert_eq!(quiet["more"], false);
    env.shutdown().await;
}

#[tokio::test]
async fn counts_and_ids_include_the_reps_open_leads_only() {
    let env = Env::default().await;
    let mine = leads_owned_by(&env, REP);
    let converted = mine[3].clone();
    env.sim.convert_lead(&converted).unwrap();
    let session = env.sign_in(REP).await.session_token;

    let before = env.sim.api_calls();
    let counts: CountsResponse = post(&env, &session, "/v1/sync/counts", json!({})).await;
    assert_eq!(env.sim.api_calls() - before, 1, "five counts, one call");
    assert_eq!(
        counts.counts.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Account", "Contact", "Lead", "Opportunity", "Task"]
    );
    assert_eq!(
        counts.counts["Lead"], 23,
        "24 of rep's leads, one converted"
    );

    let listed: IdsResponse = post(&env, &session, "/v1/sync/ids", json!({"object": "Lead"})).await;
    assert!(listed.next.is_none());
    let expected: Vec<String> = mine
        .iter()
        .filter(|id| **id != converted)
        .cloned()
        .collect();
    assert_eq!(listed.ids, expected, "rep's open leads, in id order");
    let after: IdsResponse = post(
        &env,
        &session,
        "/v1/sync/ids",
        json!({"object": "Lead", "after": mine[1]}),
    )
    .await;
    assert_eq!(after.ids, expected[2..].to_vec());
    env.shutdown().await;
}

#[tokio::test]
async fn a_paged_first_sync_sizes_progress_by_open_leads() {
    let env = Env::start(
        SimConfig::default(),
        Tuning {
            sync_page_size: 5,
            ..Tuning::default()
        },
    )
    .await;
    let mine = leads_owned_by(&env, REP);
    let converted: BTreeSet<String> = mine[..3].iter().cloned().collect();
    for id in &converted {
        env.sim.convert_lead(id).unwrap();
    }
    let session = env.sign_in(REP).await.session_token;
    let before = env.sim.api_calls();
    let pages = env.sync_all(&session, SyncRequest::default()).await;
    assert_eq!(env.sim.api_calls() - before, pages.len() as u64);

    let open = 21;
    let first = pages[0].objects["Lead"];
    assert_eq!((first.records, first.remaining), (5, open - 5));
    let mut done = 0;
    for page in &pages {
        let progress = page.objects["Lead"];
        done += progress.records;
        assert_eq!(done + progress.remaining, open, "progress adds up");
    }
    let leads = synced_ids(&pages, "Lead");
    assert_eq!(leads.len() as u64, open, "no lead twice");
    let leads: BTreeSet<String> = leads.into_iter().collect();
    assert_eq!(leads, mine[3..].iter().cloned().collect());
    // Converted while the pages were read past them: sent as deletions, which a client that
    // never had them has nothing to do with.
    let deletions: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| &p.deleted)
        .filter(|d| d.object == "Lead")
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(deletions, converted);
    env.shutdown().await;
}
