//! Writes through the gateway against sfsim, one at a time: leads, tasks, opportunity updates,
//! idempotency keys (replays, reuse, concurrent duplicates, lost answers), error mapping, the
//! audit log, and an injection corpus in every client-supplied string. Batches: `batch.rs`;
//! conflicts and merges: `conflicts.rs`.

mod support;
mod write_support;

use companion_api::{code, ErrorBody};
use serde_json::{json, Value};
use support::{error_of, Env, REP};
use write_support::*;

/// An open opportunity the rep owns, as the admin sees it in sfsim.
fn reps_opportunity(env: &Env, skip: usize) -> Record {
    reps(env, "Opportunity")
        .into_iter()
        .nth(skip)
        .expect("the rep owns open opportunities")
}

#[tokio::test]
async fn a_lead_is_created_and_answered_as_salesforce_has_it() {
    let (env, session) = env().await;
    let body = json!({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines",
                      "Email": "ada@example.com", "Title": "CTO"});
    let lead = json_of(
        post(&env, &session, "/v1/leads", "lead-1", &body).await,
        201,
    )
    .await;
    // Set by Salesforce, not sent: the default status, the full name, the owner, the stamp.
    assert_eq!(lead["Status"], "Open - Not Contacted");
    assert_eq!(lead["Name"], "Ada Lovelace");
    assert_eq!(lead["OwnerId"], env.sim.user_id(REP).unwrap());
    assert!(lead["SystemModstamp"].as_str().unwrap().ends_with("+0000"));
    assert!(lead.get("attributes").is_none() && lead.get("Companion_Key__c").is_none());
    let stored = leads_named(&env, "Lovelace");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["Id"], lead["Id"]);
    assert_eq!(stored[0]["Company"], "Analytical Engines");
    // The marker is a hash, not the key.
    let marker = stored[0]["Companion_Key__c"].as_str().unwrap();
    assert_eq!(marker.len(), 64);
    assert!(!marker.contains("lead-1"));
    env.shutdown().await;
}

#[tokio::test]
async fn a_write_without_a_good_idempotency_key_or_with_unknown_fields_is_refused() {
    let (env, session) = env().await;
    let body = json!({"LastName": "Keyless", "Company": "Acme"});
    let calls = env.sim.api_calls();
    let response = send(
        &env,
        &session,
        reqwest::Method::POST,
        "/v1/leads",
        None,
        &body,
    )
    .await;
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (400, code::BAD_REQUEST)
    );
    assert!(error.error.message.contains("Idempotency-Key"));
    for key in ["", &"k".repeat(201)] {
        let (status, _) = error_of(post(&env, &session, "/v1/leads", key, &body).await).await;
        assert_eq!(status, 400, "key {key:?}");
    }
    // A field outside the allow-list (the owner is not the rep's to choose) and a typed value.
    let body = json!({"LastName": "Sneaky", "Company": "Acme", "OwnerId": env.sim.user_id(ADMIN).unwrap(),
                      "Phone": 5551234});
    let (status, error) =
        error_of(post(&env, &session, "/v1/leads", "bad-fields", &body).await).await;
    assert_eq!(status, 400);
    let fields = error.error.fields.unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), vec!["OwnerId", "Phone"]);
    // None of it reached Salesforce.
    assert_eq!(env.sim.api_calls(), calls);
    assert!(leads_named(&env, "Sneaky").is_empty() && leads_named(&env, "Keyless").is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn salesforce_validation_errors_are_422_with_the_fields() {
    let (env, session) = env().await;
    let cases = [
        (
            json!({"FirstName": "No", "Company": "Acme"}),
            "LastName",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"LastName": "Picky", "Company": "Acme", "Status": "Hot"}),
            "Status",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            json!({"LastName": "Long", "Company": "Acme", "Title": "t".repeat(129)}),
            "Title",
            "STRING_TOO_LONG",
        ),
    ];
    for (i, (body, field, sf_code)) in cases.into_iter().enumerate() {
        let response = post(&env, &session, "/v1/leads", &format!("invalid-{i}"), &body).await;
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.error.code.as_str()),
            (422, code::VALIDATION),
            "{body}"
        );
        assert!(
            error.error.message.contains(sf_code),
            "{}",
            error.error.message
        );
        assert!(error.error.fields.unwrap().contains_key(field), "{field}");
    }
    env.shutdown().await;
}

#[tokio::test]
async fn a_replayed_key_answers_the_stored_result_without_calling_salesforce() {
    let (env, session) = env().await;
    let body = json!({"LastName": "Replay", "Company": "Acme"});
    let first = json_of(
        post(&env, &session, "/v1/leads", "replay-1", &body).await,
        201,
    )
    .await;
    let calls = env.sim.api_calls();
    // The same JSON in another key order is the same request.
    let again = post(
        &env,
        &session,
        "/v1/leads",
        "replay-1",
        &json!({"Company": "Acme", "LastName": "Replay"}),
    )
    .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again, 201).await, first);
    assert_eq!(
        env.sim.api_calls(),
        calls,
        "a replay costs no Salesforce call"
    );
    // The same key with another body.
    let other = json!({"LastName": "Replay", "Company": "Other"});
    let (status, error) =
        error_of(post(&env, &session, "/v1/leads", "replay-1", &other).await).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (422, code::IDEMPOTENCY_KEY_REUSED)
    );
    assert_eq!(env.sim.api_calls(), calls);
    assert_eq!(leads_named(&env, "Replay").len(), 1);
    // Keys are per user: the admin's "replay-1" is a new write.
    let admin = env.sign_in(ADMIN).await.session_token;
    json_of(
        post(&env, &admin, "/v1/leads", "replay-1", &body).await,
        201,
    )
    .await;
    assert_eq!(leads_named(&env, "Replay").len(), 2);
    env.shutdown().await;
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_lead() {
    let (env, session) = env().await;
    // Slow the create down so the duplicates arrive while it runs.
    fault(
        &env,
        json!({"delay_ms": 300, "path": "/services/data/v58.0/composite/graph"}),
    )
    .await;
    let body = json!({"LastName": "Concurrent", "Company": "Acme"});
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let request = env
                .http
                .post(env.url("/v1/leads"))
                .bearer_auth(&session)
                .header("Idempotency-Key", "same-key")
                .json(&body);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 409 {
            assert_eq!(body["error"]["code"], code::IDEMPOTENCY_IN_PROGRESS);
        }
        statuses.push(status);
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(leads_named(&env, "Concurrent").len(), 1);
    env.shutdown().await;
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_not_duplicated_on_retry() {
    let (env, session) = env().await;
    let body = json!({"LastName": "Dropped", "Company": "Acme"});
    // Salesforce makes the lead, then the connection closes without an answer.
    fault(&env, json!({"drop_connection": "after", "count": 1})).await;
    let (status, error) =
        error_of(post(&env, &session, "/v1/leads", "dropped-1", &body).await).await;
    assert!(status == 502 || status == 504, "{status}");
    assert!(
        error.error.message.contains("same Idempotency-Key"),
        "{}",
        error.error.message
    );
    assert_eq!(leads_named(&env, "Dropped").len(), 1, "the create landed");
    // The client sends it again with the same key: the gateway finds the lead by its marker.
    let lead = json_of(
        post(&env, &session, "/v1/leads", "dropped-1", &body).await,
        201,
    )
    .await;
    let stored = leads_named(&env, "Dropped");
    assert_eq!(stored.len(), 1, "no duplicate lead");
    assert_eq!(lead["Id"], stored[0]["Id"]);
    assert_eq!(lead["Status"], "Open - Not Contacted");
    let outcomes: Vec<String> = audit_rows(&env)
        .into_iter()
        .filter(|r| r.2 == "dropped-1")
        .map(|r| r.3)
        .collect();
    assert_eq!(outcomes, vec!["outcome_unknown", "recovered"]);

    // A lost answer of a create that did not land: the retry creates it, once.
    fault(&env, json!({"drop_connection": "before", "count": 1})).await;
    let body = json!({"LastName": "NeverLanded", "Company": "Acme"});
    let (status, _) = error_of(post(&env, &session, "/v1/leads", "dropped-2", &body).await).await;
    assert!(status == 502 || status == 504, "{status}");
    json_of(
        post(&env, &session, "/v1/leads", "dropped-2", &body).await,
        201,
    )
    .await;
    assert_eq!(leads_named(&env, "NeverLanded").len(), 1);
    env.shutdown().await;
}

#[tokio::test]
async fn an_opportunity_update_answers_the_fields_salesforce_derives() {
    let (env, session) = env().await;
    let opp = reps_opportunity(&env, 0);
    let id = opp["Id"].as_str().unwrap();
    let body = json!({"seen_system_modstamp": opp["SystemModstamp"], "fields": {"StageName": "Closed Won"}});
    let response = send(
        &env,
        &session,
        reqwest::Method::PATCH,
        &format!("/v1/opportunities/{id}"),
        Some("won-1"),
        &body,
    )
    .await;
    let record = json_of(response, 200).await;
    assert_eq!(record["Id"], id);
    assert_eq!(record["StageName"], "Closed Won");
    assert_eq!(
        (&record["IsClosed"], &record["IsWon"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(record["Probability"].as_f64(), Some(100.0));
    assert_ne!(record["SystemModstamp"], opp["SystemModstamp"]);
    env.shutdown().await;
}

#[tokio::test]
async fn an_opportunity_changed_by_someone_else_is_a_409_with_the_server_record() {
    let (env, session) = env().await;
    let opp = reps_opportunity(&env, 1);
    let id = opp["Id"].as_str().unwrap().to_string();
    let seen_stamp = opp["SystemModstamp"].clone();
    // The admin changes the amount after the rep saw the record.
    env.sim
        .update_record("Opportunity", &id, json!({"Amount": 4242}))
        .unwrap();
    let body = json!({"seen_system_modstamp": seen_stamp, "fields": {"Amount": 5000, "StageName": "Negotiation/Review"},
                      "seen_fields": {"Amount": opp["Amount"], "StageName": opp["StageName"]}});
    let calls = env.sim.api_calls();
    let response = send(
        &env,
        &session,
        reqwest::Method::PATCH,
        &format!("/v1/opportunities/{id}"),
        Some("conflict-1"),
        &body,
    )
    .await;
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.error.code.as_str()), (409, code::CONFLICT));
    let current = error.error.current.unwrap();
    assert_eq!(current["Amount"].as_f64(), Some(4242.0));
    assert_eq!(current["StageName"], opp["StageName"]);
    // Only the field the admin changed is named.
    assert_eq!(
        error.error.fields.unwrap().keys().collect::<Vec<_>>(),
        vec!["Amount"]
    );
    assert_eq!(
        env.sim.api_calls(),
        calls + 2,
        "the conditional write refused (412), then one read of the record"
    );
    let stored = env
        .sim
        .records("Opportunity")
        .into_iter()
        .find(|r| r["Id"] == id.as_str())
        .unwrap();
    assert_eq!(stored["StageName"], opp["StageName"], "nothing was written");
    env.shutdown().await;
}

#[tokio::test]
async fn record_ids_are_checked_before_any_use() {
    let (env, session) = env().await;
    let calls = env.sim.api_calls();
    let body = json!({"seen_system_modstamp": "2024-05-01T10:00:00.000+0000", "fields": {"StageName": "Closed Won"}});
    // Not an Opportunity id, as the document says: 400. Of its form but with a wrong checksum
    // suffix, it names no record: 404. Salesforce hears of neither.
    for (id, answer) in [
        ("0011U00000V0tkDQAR", (400, code::BAD_REQUEST)), // an Account id
        ("006", (400, code::BAD_REQUEST)),                // too short
        ("0067F000003pmd%27", (400, code::BAD_REQUEST)),  // a quote
        ("0067F000003pmdWQAA", (404, code::NOT_FOUND)),   // wrong checksum
    ] {
        let response = send(
            &env,
            &session,
            reqwest::Method::PATCH,
            &format!("/v1/opportunities/{id}"),
            Some("ids"),
            &body,
        )
        .await;
        let (status, error) = error_of(response).await;
        assert_eq!((status, error.error.code.as_str()), answer, "{id}");
    }
    assert_eq!(env.sim.api_calls(), calls);
    // A well-formed id of no record.
    let response = send(
        &env,
        &session,
        reqwest::Method::PATCH,
        "/v1/opportunities/0067F000003pmdWQAQ",
        Some("ids-2"),
        &body,
    )
    .await;
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.error.code.as_str()), (404, code::NOT_FOUND));
    // Ids in fields: a WhoId must be a Contact or Lead (400); a Contact id with a wrong checksum
    // suffix names no record (422, with the field named).
    let task = json!({"kind": "call", "fields": {"WhoId": "0067F000003pmdWQAQ"}});
    let (status, error) = error_of(post(&env, &session, "/v1/tasks", "ids-3", &task).await).await;
    assert_eq!(status, 400);
    assert!(error.error.fields.unwrap().contains_key("WhoId"));
    let task = json!({"kind": "call", "fields": {"WhoId": "0031U00000V0tkDAAA"}});
    let (status, error) = error_of(post(&env, &session, "/v1/tasks", "ids-4", &task).await).await;
    assert_eq!((status, error.error.code.as_str()), (422, code::VALIDATION));
    assert_eq!(
        error.error.fields.unwrap()["WhoId"],
        "no Contact or Lead has this id: its checksum suffix is wrong"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn tasks_log_calls_and_follow_ups() {
    let (env, session) = env().await;
    let lead = json_of(
        post(
            &env,
            &session,
            "/v1/leads",
            "task-lead",
            &json!({"LastName": "Caller", "Company": "Acme"}),
        )
        .await,
        201,
    )
    .await;
    let call = json!({"kind": "call", "fields": {"Subject": "Call", "WhoId": lead["Id"], "CallDurationInSeconds": 300}});
    let task = json_of(
        post(&env, &session, "/v1/tasks", "call-1", &call).await,
        201,
    )
    .await;
    assert_eq!(task["TaskSubtype"], "Call");
    assert_eq!(task["Status"], "Completed");
    assert_eq!(task["IsClosed"], true);
    assert_eq!(task["WhoId"], lead["Id"]);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(task["ActivityDate"], today.as_str());

    let follow_up = json!({"kind": "follow_up", "fields": {"Subject": "Send quote"}});
    let (status, error) =
        error_of(post(&env, &session, "/v1/tasks", "fu-1", &follow_up).await).await;
    assert_eq!(status, 400);
    assert!(error.error.fields.unwrap().contains_key("ActivityDate"));
    let follow_up = json!({"kind": "follow_up", "fields": {"Subject": "Send quote", "ActivityDate": "2031-02-03"}});
    let task = json_of(
        post(&env, &session, "/v1/tasks", "fu-2", &follow_up).await,
        201,
    )
    .await;
    assert_eq!(
        (&task["Status"], &task["TaskSubtype"]),
        (&json!("Not Started"), &json!("Task"))
    );
    assert_eq!(task["ActivityDate"], "2031-02-03");
    // The status is the gateway's to set.
    let bad = json!({"kind": "call", "fields": {"Status": "Deferred"}});
    assert_eq!(
        error_of(post(&env, &session, "/v1/tasks", "fu-3", &bad).await)
            .await
            .0,
        400
    );
    let bad = json!({"kind": "follow_up", "fields": {"ActivityDate": "03/02/2031"}});
    assert_eq!(
        error_of(post(&env, &session, "/v1/tasks", "fu-4", &bad).await)
            .await
            .0,
        400
    );
    env.shutdown().await;
}

#[tokio::test]
async fn the_api_limit_is_a_429_with_retry_after_and_the_key_can_be_sent_again() {
    let (env, session) = env().await;
    fault(&env, json!({"api_limit_exhausted": true})).await;
    let body = json!({"LastName": "Limited", "Company": "Acme"});
    let response = post(&env, &session, "/v1/leads", "limited-1", &body).await;
    assert_eq!(response.headers()["retry-after"], "60");
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.error.code.as_str()),
        (429, code::RATE_LIMITED)
    );
    fault(&env, json!({"api_limit_exhausted": false})).await;
    json_of(
        post(&env, &session, "/v1/leads", "limited-1", &body).await,
        201,
    )
    .await;
    assert_eq!(leads_named(&env, "Limited").len(), 1);
    env.shutdown().await;
}

#[tokio::test]
async fn the_audit_log_has_every_write_and_no_field_values() {
    let (env, session) = env().await;
    let body = json!({"LastName": "Audited-Secret-Name", "Company": "Acme"});
    let lead = json_of(
        post(&env, &session, "/v1/leads", "audit-1", &body).await,
        201,
    )
    .await;
    post(&env, &session, "/v1/leads", "audit-1", &body).await;
    post(
        &env,
        &session,
        "/v1/leads",
        "audit-2",
        &json!({"LastName": "x", "Company": "y", "Bogus": 1}),
    )
    .await;
    let rows = audit_rows(&env);
    assert_eq!(
        rows,
        vec![
            (
                "lead.create".into(),
                lead["Id"].as_str().map(String::from),
                "audit-1".into(),
                "created".into(),
                201
            ),
            (
                "lead.create".into(),
                lead["Id"].as_str().map(String::from),
                "audit-1".into(),
                "replayed".into(),
                201
            ),
            (
                "refused".into(),
                None,
                "audit-2".into(),
                "refused".into(),
                400
            ),
        ]
    );
    let conn =
        rusqlite::Connection::open(env.data_dir.path().join(companion_gateway::DATABASE_FILE))
            .unwrap();
    let user: String = conn
        .query_row("SELECT DISTINCT user_id FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user, env.sim.user_id(REP).unwrap());
    let dump: String = conn
        .query_row(
            "SELECT group_concat(action || record_id || idempotency_key || outcome) FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!dump.contains("Audited-Secret-Name"));
    env.shutdown().await;
}

/// Strings that break careless code: quotes, escapes, LIKE wildcards, SOQL keywords, unicode,
/// long strings, NUL.
fn corpus() -> Vec<String> {
    vec![
        "'".into(),
        "\\".into(),
        "%".into(),
        "_".into(),
        "' OR Name != '".into(),
        "x' OR LastName LIKE '%".into(),
        "SELECT Id FROM User".into(),
        "\\' OR Id != null --".into(),
        "Zoë 李 🚀".into(),
        "\u{202e}rtl".into(),
        "a\u{0}b".into(),
        "l".repeat(5000),
    ]
}

#[tokio::test]
async fn injection_corpus_in_every_client_string_is_refused_or_stored_verbatim() {
    let (env, session) = env().await;
    for (i, text) in corpus().into_iter().enumerate() {
        // As a field value: stored verbatim, or a clear 400/422.
        let body = json!({"LastName": format!("Inj{i}"), "Company": text, "Title": text});
        let response = post(
            &env,
            &session,
            "/v1/leads",
            &format!("inj-value-{i}"),
            &body,
        )
        .await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        match status {
            201 => {
                assert_eq!(answer["Company"], text.as_str());
                let stored = leads_named(&env, &format!("Inj{i}"));
                assert_eq!(stored[0]["Company"], text.as_str());
            }
            400 | 422 => {
                let _: ErrorBody = serde_json::from_value(answer).unwrap();
            }
            other => panic!("{text:?} as a value answered {other}"),
        }
        // As an idempotency key: printable ASCII is a key like any other (and never reaches SOQL).
        let body = json!({"LastName": format!("Key{i}"), "Company": "Acme"});
        let request = env
            .http
            .post(env.url("/v1/leads"))
            .bearer_auth(&session)
            .json(&body);
        let status = match reqwest::header::HeaderValue::from_bytes(text.as_bytes()) {
            Ok(value) => request
                .header("Idempotency-Key", value)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            Err(_) => 400, // not sendable as a header at all
        };
        let printable = !text.is_empty()
            && text.len() <= 200
            && text.bytes().all(|b| (b' '..=b'~').contains(&b));
        assert_eq!(status, if printable { 201 } else { 400 }, "key {text:?}");
        // As a record id, in the path and in a field: always 400.
        let path = format!("/v1/opportunities/{}", urlencode(&text));
        let update = json!({"seen_system_modstamp": "2024-05-01T10:00:00Z", "fields": {"StageName": "Closed Won"}});
        let response = send(
            &env,
            &session,
            reqwest::Method::PATCH,
            &path,
            Some("inj-id"),
            &update,
        )
        .await;
        let status = response.status().as_u16();
        assert!(
            status == 400 || status == 404 && text.is_empty(),
            "{text:?} as an id: {status}"
        );
        let task = json!({"kind": "call", "fields": {"WhatId": text}});
        let (status, _) =
            error_of(post(&env, &session, "/v1/tasks", &format!("inj-who-{i}"), &task).await).await;
        assert_eq!(status, 400, "{text:?} as WhatId");
        // As the seen stamp.
        let opp = reps_opportunity(&env, 0);
        let update = json!({"seen_system_modstamp": text, "fields": {"StageName": "Closed Won"}});
        let path = format!("/v1/opportunities/{}", opp["Id"].as_str().unwrap());
        let (status, _) = error_of(
            send(
                &env,
                &session,
                reqwest::Method::PATCH,
                &path,
                Some(&format!("inj-stamp-{i}")),
                &update,
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{text:?} as a stamp");
    }
    // Nothing changed the meaning of a query: each value lead exists once, nothing else appeared.
    let injected = env
        .sim
        .records("Lead")
        .into_iter()
        .filter(|r| r["LastName"].as_str().is_some_and(|n| n.starts_with("Inj")))
        .count();
    assert!(injected >= 9, "{injected}");
    env.shutdown().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_task_reminder_and_an_opportunity_next_step_are_written_and_read_back() {
    let (env, session) = env().await;
    let follow_up = json!({"kind": "follow_up", "fields": {"Subject": "Call back", "ActivityDate": "2031-02-03",
                           "IsReminderSet": true, "ReminderDateTime": "2031-02-03T09:30:00+02:00"}});
    let task = json_of(
        post(&env, &session, "/v1/tasks", "reminder-1", &follow_up).await,
        201,
    )
    .await;
    assert_eq!(task["IsReminderSet"], true);
    // Sent in UTC, answered in Salesforce's form.
    assert_eq!(task["ReminderDateTime"], "2031-02-03T07:30:00.000+0000");
    for (i, bad) in [
        json!({"IsReminderSet": "yes"}),
        json!({"ReminderDateTime": "2031-02-03 09:30"}),
        json!({"ReminderDateTime": "tomorrow"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut fields = json!({"Subject": "x", "ActivityDate": "2031-02-03"});
        fields
            .as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let body = json!({"kind": "follow_up", "fields": fields});
        let (status, error) = error_of(
            post(
                &env,
                &session,
                "/v1/tasks",
                &format!("reminder-bad-{i}"),
                &body,
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        let fields = error.error.fields.unwrap();
        let (field, problem) = fields.iter().next().unwrap();
        assert!(bad.get(field).is_some(), "{field}");
        assert!(problem.contains("must be"), "{problem}");
    }

    let opp = reps_opportunity(&env, 0);
    let body = update_body(&opp, json!({"NextStep": "Send the proposal"}));
    let id = opp["Id"].as_str().unwrap();
    let record = json_of(
        patch(
            &env,
            &session,
            &format!("/v1/opportunities/{id}"),
            "next-1",
            &body,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(record["NextStep"], "Send the proposal");
    assert_eq!(
        stored(&env, "Opportunity", id)["NextStep"],
        "Send the proposal"
    );
    env.shutdown().await;
}
