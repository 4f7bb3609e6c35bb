//! `POST /v1/batch` against sfsim, counted in Salesforce calls: a batch of 200 mixed writes is
//! one call, 500 queued writes are three, a refused write costs one more call and holds no
//! other back; a batch whose answer was lost after Salesforce committed is sent again with the
//! same keys and nothing is written twice; the same batch twice at once writes once.

mod support;
mod write_support;

use companion_api::code;
use serde_json::{json, Value};
use support::{error_of, Env};
use write_support::*;

fn lead(key: &str, last_name: &str) -> Value {
    json!({"kind": "create_lead", "idempotency_key": key,
           "body": {"LastName": last_name, "Company": "Batch Co"}})
}

fn follow_up(key: &str, subject: &str) -> Value {
    json!({"kind": "create_task", "idempotency_key": key,
           "body": {"kind": "follow_up", "fields": {"Subject": subject, "ActivityDate": "2031-01-01"}}})
}

fn opportunity_update(key: &str, opp: &Record, fields: Value) -> Value {
    json!({"kind": "update_opportunity", "idempotency_key": key, "id": opp["Id"],
           "body": update_body(opp, fields)})
}

fn contact_update(key: &str, contact: &Record, fields: Value) -> Value {
    json!({"kind": "update_contact", "idempotency_key": key, "id": contact["Id"],
           "body": update_body(contact, fields)})
}

/// `count` writes of every kind, keys and names prefixed by `tag`: leads, follow-ups, and
/// updates of `opps` and `contacts` (one each).
fn mixed(tag: &str, count: usize, opps: &[Record], contacts: &[Record]) -> Vec<Value> {
    let mut writes = Vec::with_capacity(count);
    for (i, opp) in opps.iter().enumerate() {
        writes.push(opportunity_update(
            &format!("{tag}-opp-{i}"),
            opp,
            json!({"NextStep": format!("{tag} step {i}")}),
        ));
    }
    for (i, contact) in contacts.iter().enumerate() {
        writes.push(contact_update(
            &format!("{tag}-contact-{i}"),
            contact,
            json!({"Title": format!("{tag} title {i}")}),
        ));
    }
    let mut i = 0;
    while writes.len() < count {
        writes.push(if i % 4 == 3 {
            follow_up(&format!("{tag}-task-{i}"), &format!("{tag} task {i}"))
        } else {
            lead(&format!("{tag}-lead-{i}"), &format!("{tag}Lead{i}"))
        });
        i += 1;
    }
    writes
}

fn batch_leads(env: &Env) -> usize {
    env.sim
        .records("Lead")
        .iter()
        .filter(|r| r["Company"] == "Batch Co")
        .count()
}

#[tokio::test]
async fn a_batch_of_200_mixed_writes_is_one_salesforce_call_and_replays_for_free() {
    let (env, session) = env().await;
    let opps: Vec<Record> = reps(&env, "Opportunity").into_iter().take(5).collect();
    let contacts: Vec<Record> = reps(&env, "Contact").into_iter().take(10).collect();
    let mut writes = mixed("b", 199, &opps, &contacts);
    // One the gateway refuses itself: it costs nothing and holds nothing back.
    writes.push(json!({"kind": "create_lead", "idempotency_key": "b-bad-gw", "body": {"Nope": 1}}));
    let calls = env.sim.api_calls();
    let results = batch(&env, &session, &writes).await;
    assert_eq!(env.sim.api_calls() - calls, 1, "one Salesforce call");

    assert_eq!(results.len(), 200);
    for (result, write) in results.iter().zip(&writes) {
        assert_eq!(result["idempotency_key"], write["idempotency_key"]);
    }
    for (i, opp) in opps.iter().enumerate() {
        let result = &results[i];
        assert_eq!(result["status"], 200, "{result}");
        // The record as Salesforce has it after the write.
        assert_eq!(result["body"]["Id"], opp["Id"]);
        assert_eq!(result["body"]["NextStep"], format!("b step {i}"));
        assert_eq!(result["body"]["StageName"], opp["StageName"]);
        assert_ne!(result["body"]["SystemModstamp"], opp["SystemModstamp"]);
    }
    for (i, contact) in contacts.iter().enumerate() {
        let result = &results[opps.len() + i];
        assert_eq!(result["status"], 200, "{result}");
        assert_eq!(result["body"]["Title"], format!("b title {i}"));
        assert_eq!(result["body"]["LastName"], contact["LastName"]);
        assert_eq!(
            stored(&env, "Contact", contact["Id"].as_str().unwrap())["Title"],
            format!("b title {i}")
        );
    }
    for result in &results[15..199] {
        assert_eq!(result["status"], 201, "{result}");
        assert!(result["body"]["Id"].is_string() && result["body"]["SystemModstamp"].is_string());
        assert!(result["body"].get("attributes").is_none());
    }
    let tasks: Vec<&Value> = results[15..199]
        .iter()
        .filter(|r| r["body"]["TaskSubtype"] == "Task")
        .collect();
    assert!(!tasks.is_empty() && tasks.iter().all(|t| t["body"]["Status"] == "Not Started"));
    assert_eq!(results[199]["status"], 400);
    assert_eq!(batch_leads(&env), 184 - tasks.len());

    // The same batch again: every stored result, no Salesforce call.
    let calls = env.sim.api_calls();
    let again = batch(&env, &session, &writes).await;
    assert_eq!(env.sim.api_calls(), calls, "a replay costs no call");
    assert_eq!(again, results);

    // Over the limit: refused whole, before any call.
    let too_many: Vec<Value> = (0..201)
        .map(|i| lead(&format!("x-{i}"), "TooMany"))
        .collect();
    let response = env
        .http
        .post(env.url("/v1/batch"))
        .bearer_auth(&session)
        .json(&json!({"writes": too_many}))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (400, code::BAD_REQUEST)
    );
    assert_eq!(env.sim.api_calls(), calls);
    env.shutdown().await;
}

#[tokio::test]
async fn five_hundred_queued_writes_cost_three_salesforce_calls() {
    let (env, session) = env().await;
    let opps = reps(&env, "Opportunity");
    let contacts = reps(&env, "Contact");
    let calls = env.sim.api_calls();
    let batches = [
        mixed("q1", 200, &opps[0..8], &contacts[0..30]),
        mixed("q2", 200, &opps[8..16], &contacts[30..60]),
        mixed("q3", 100, &opps[16..20], &contacts[60..80]),
    ];
    let mut written = 0;
    for writes in &batches {
        let results = batch(&env, &session, writes).await;
        assert!(
            results
                .iter()
                .all(|r| r["status"] == 200 || r["status"] == 201),
            "{results:?}"
        );
        written += results.len();
    }
    assert_eq!(written, 500);
    assert_eq!(
        env.sim.api_calls() - calls,
        3,
        "one call per batch of up to 200"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_write_salesforce_refuses_fails_alone_and_costs_one_more_call() {
    let (env, session) = env().await;
    let opps: Vec<Record> = reps(&env, "Opportunity").into_iter().take(3).collect();
    let contacts: Vec<Record> = reps(&env, "Contact").into_iter().take(3).collect();
    let mut writes = mixed("v", 199, &opps, &contacts);
    // In the middle, so it shares a graph's transaction with others.
    writes.insert(
        100,
        json!({"kind": "create_lead", "idempotency_key": "v-no-company", "body": {"LastName": "NoCompany"}}),
    );
    let calls = env.sim.api_calls();
    let results = batch(&env, &session, &writes).await;
    assert!(
        env.sim.api_calls() - calls <= 2,
        "{} calls",
        env.sim.api_calls() - calls
    );

    let refused = &results[100];
    assert_eq!(refused["status"], 422);
    assert_eq!(refused["body"]["error"]["code"], code::VALIDATION);
    assert!(
        refused["body"]["error"]["fields"]["Company"].is_string(),
        "{refused}"
    );
    for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != 100) {
        assert!(
            result["status"] == 200 || result["status"] == 201,
            "{i}: {result}"
        );
    }
    // Every other write made exactly once (those rolled back beside the refused one went again).
    for write in &writes {
        if write["kind"] == "create_lead" && write["idempotency_key"] != "v-no-company" {
            let name = write["body"]["LastName"].as_str().unwrap();
            assert_eq!(leads_named(&env, name).len(), 1, "{name}");
        }
    }
    assert!(leads_named(&env, "NoCompany").is_empty());
    let subjects: Vec<String> = env
        .sim
        .records("Task")
        .into_iter()
        .filter_map(|t| t["Subject"].as_str().map(String::from))
        .filter(|s| s.starts_with("v task"))
        .collect();
    let mut unique = subjects.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(subjects.len(), unique.len(), "no task twice");
    env.shutdown().await;
}

#[tokio::test]
async fn a_malformed_write_is_answered_alone_and_a_malformed_key_refuses_the_batch() {
    let (env, session) = env().await;
    let opp = reps(&env, "Opportunity").into_iter().next().unwrap();
    let opp_id = opp["Id"].as_str().unwrap();
    let suffix = if opp_id.ends_with("ZZZ") {
        "AAA"
    } else {
        "ZZZ"
    };
    let no_such_opp = format!("{}{suffix}", &opp_id[..15]);
    // Everything but the envelope (kind, key, the outline of a body) is checked per write, as
    // the single endpoint checks it: the outbox's other writes go through.
    let writes = [
        lead("m-fine", "Malformed Neighbour"),
        json!({"kind": "create_lead", "idempotency_key": "m-unknown-field",
               "body": {"LastName": "X", "Company": "Y", "OwnerId": "005000000000001AAA"}}),
        json!({"kind": "create_task", "idempotency_key": "m-wrong-type",
               "body": {"kind": "call", "fields": {"CallDurationInSeconds": "long"}}}),
        json!({"kind": "create_task", "idempotency_key": "m-no-due-date",
               "body": {"kind": "follow_up", "fields": {"Subject": "When?"}}}),
        json!({"kind": "update_opportunity", "idempotency_key": "m-account-id",
               "id": "0011U00000V0tkDQAR", "body": update_body(&opp, json!({"NextStep": "x"}))}),
        json!({"kind": "update_opportunity", "idempotency_key": "m-no-such-opp",
               "id": no_such_opp, "body": update_body(&opp, json!({"NextStep": "x"}))}),
        json!({"kind": "update_opportunity", "idempotency_key": "m-nothing",
               "id": opp_id, "body": update_body(&opp, json!({}))}),
        lead("m-fine", "Twice"),
    ];
    let results = batch(&env, &session, &writes).await;
    let answers: Vec<(u64, &str)> = results
        .iter()
        .map(|r| {
            (
                r["status"].as_u64().unwrap(),
                r["body"]["error"]["code"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            (201, "-"),
            (400, code::BAD_REQUEST),
            (400, code::BAD_REQUEST),
            (400, code::BAD_REQUEST),
            (400, code::BAD_REQUEST),
            (404, code::NOT_FOUND),
            (400, code::BAD_REQUEST),
            (400, code::BAD_REQUEST),
        ],
        "{results:?}"
    );
    assert_eq!(leads_named(&env, "Malformed Neighbour").len(), 1);

    // A key of the wrong form is the envelope's: the batch is refused whole, nothing written.
    let response = env
        .http
        .post(env.url("/v1/batch"))
        .bearer_auth(&session)
        .json(&json!({"writes": [lead("m-held", "Held Back"), lead("tab\tkey", "Bad Key")]}))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (400, code::BAD_REQUEST)
    );
    assert_eq!(
        error.error.message,
        "writes[1].idempotency_key: an Idempotency-Key has only printable ASCII characters"
    );
    assert!(leads_named(&env, "Held Back").is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn a_batch_whose_answer_was_lost_is_sent_again_and_nothing_is_written_twice() {
    let (env, session) = env().await;
    let opps: Vec<Record> = reps(&env, "Opportunity").into_iter().take(2).collect();
    let contacts: Vec<Record> = reps(&env, "Contact").into_iter().take(2).collect();
    let writes = mixed("lost", 12, &opps, &contacts);
    // Salesforce commits the graph call, then the connection closes without an answer.
    fault(
        &env,
        json!({"drop_connection": "after", "path": "/services/data/v58.0/composite/graph"}),
    )
    .await;
    let first = batch(&env, &session, &writes).await;
    for result in &first {
        let status = result["status"].as_u64().unwrap();
        assert!(status == 502 || status == 504, "{result}");
        let message = result["body"]["error"]["message"].as_str().unwrap();
        assert!(message.contains("same Idempotency-Key"), "{message}");
    }

    // The device sends the same batch with the same keys: one query finds the creates by
    // their markers, the updates are sent again and refused as changed (412) since the rep saw
    // them, and one query shows they already have the asked values.
    let calls = env.sim.api_calls();
    let again = batch(&env, &session, &writes).await;
    assert_eq!(env.sim.api_calls() - calls, 3);
    for (result, write) in again.iter().zip(&writes) {
        let expected = if write["kind"].as_str().unwrap().starts_with("create") {
            201
        } else {
            200
        };
        assert_eq!(result["status"], expected, "{result}");
    }
    for write in &writes {
        match write["kind"].as_str().unwrap() {
            "create_lead" => {
                let name = write["body"]["LastName"].as_str().unwrap();
                assert_eq!(leads_named(&env, name).len(), 1, "{name} once");
            }
            "create_task" => {
                let subject = &write["body"]["fields"]["Subject"];
                let made = env
                    .sim
                    .records("Task")
                    .into_iter()
                    .filter(|t| &t["Subject"] == subject)
                    .count();
                assert_eq!(made, 1, "{subject} once");
            }
            _ => {}
        }
    }
    assert_eq!(again[0]["body"]["NextStep"], "lost step 0");
    assert_eq!(again[2]["body"]["Title"], "lost title 0");
    assert_eq!(
        outcomes_of(&env, "lost-lead-0"),
        vec!["outcome_unknown", "recovered"]
    );
    assert_eq!(
        outcomes_of(&env, "lost-opp-0"),
        vec!["outcome_unknown", "recovered"]
    );
    env.shutdown().await;
}

#[tokio::test]
async fn the_same_batch_twice_at_once_writes_each_record_once() {
    let (env, session) = env().await;
    let opps: Vec<Record> = reps(&env, "Opportunity").into_iter().take(1).collect();
    let writes = mixed("twice", 6, &opps, &[]);
    // Slow the graph call down so the second batch arrives while the first runs.
    fault(
        &env,
        json!({"delay_ms": 300, "path": "/services/data/v58.0/composite/graph"}),
    )
    .await;
    let (a, b) = tokio::join!(
        batch(&env, &session, &writes),
        batch(&env, &session, &writes)
    );
    for (x, y) in a.iter().zip(&b) {
        let statuses = [x["status"].as_u64().unwrap(), y["status"].as_u64().unwrap()];
        for (result, status) in [(x, statuses[0]), (y, statuses[1])] {
            match status {
                200 | 201 => {}
                409 => assert_eq!(
                    result["body"]["error"]["code"],
                    code::IDEMPOTENCY_IN_PROGRESS
                ),
                other => panic!("{other}: {result}"),
            }
        }
        assert!(
            statuses.iter().any(|s| *s != 409),
            "one of the two ran: {x} {y}"
        );
        if statuses.iter().all(|s| *s != 409) {
            assert_eq!(x["body"], y["body"], "the second is a replay");
        }
    }
    for write in writes.iter().filter(|w| w["kind"] == "create_lead") {
        let name = write["body"]["LastName"].as_str().unwrap();
        assert_eq!(leads_named(&env, name).len(), 1, "{name}");
    }
    env.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_batch_does_not_strand_its_writes() {
    let (env, session) = env().await;
    let writes: Vec<Value> = (0..3)
        .map(|i| lead(&format!("gone-{i}"), &format!("GoneLead{i}")))
        .collect();
    // Salesforce is slow; the client gives up (a killed app, a phone out of signal) long
    // before it answers.
    fault(
        &env,
        json!({"delay_ms": 1_500, "path": "/services/data/v58.0/composite/graph"}),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let gone = impatient
        .post(env.url("/v1/batch"))
        .bearer_auth(&session)
        .json(&json!({ "writes": writes }))
        .send()
        .await;
    assert!(gone.is_err(), "the client left before the answer");

    // The gateway finished the writes anyway: the resend is answered from what it stored as
    // soon as the slow call is over, not after the keys' five-minute lease.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let results = loop {
        let results = batch(&env, &session, &writes).await;
        if results.iter().all(|r| r["status"] == 201) {
            break results;
        }
        assert!(
            results.iter().all(|r| r["status"] == 409),
            "only 'in progress' while the first request runs: {results:?}"
        );
        assert!(std::time::Instant::now() < deadline, "{results:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(results.len(), 3);
    for i in 0..3 {
        assert_eq!(leads_named(&env, &format!("GoneLead{i}")).len(), 1);
    }
    env.shutdown().await;
}
