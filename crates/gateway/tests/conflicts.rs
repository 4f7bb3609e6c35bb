//! Updates of a record someone else changed since the rep saw it, against sfsim: a change to
//! a field the rep also changed is a `409 conflict` naming that field, with the record as
//! Salesforce has it, and nothing written; after the rep resolves it the resend is written; a
//! change to other fields only is merged without asking; the same rules for opportunities and
//! contacts, single and in a batch.

mod support;
mod write_support;

use companion_api::code;
use serde_json::{json, Value};
use support::{error_of, Env};
use write_support::*;

const SEEN_LATER: f64 = 2.0;

async fn patch_record(
    env: &Env,
    session: &str,
    object_path: &str,
    record: &Record,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    let id = record["Id"].as_str().unwrap();
    patch(env, session, &format!("/v1/{object_path}/{id}"), key, body).await
}

/// Another user changes the record in Salesforce, in a second after anything the rep saw.
async fn someone_else_changes(env: &Env, object: &str, record: &Record, fields: Value) {
    advance_clock(env, SEEN_LATER).await;
    env.sim
        .update_record(object, record["Id"].as_str().unwrap(), fields)
        .unwrap();
}

#[tokio::test]
async fn a_field_both_changed_is_a_conflict_and_the_resolved_resend_is_written() {
    let (env, session) = env().await;
    let opp = reps(&env, "Opportunity").remove(0);
    let id = opp["Id"].as_str().unwrap().to_string();
    let old_stage = opp["StageName"].as_str().unwrap().to_string();
    let admins_stage = if old_stage == "Negotiation/Review" {
        "Proposal/Price Quote"
    } else {
        "Negotiation/Review"
    };
    someone_else_changes(
        &env,
        "Opportunity",
        &opp,
        json!({"StageName": admins_stage, "Amount": 424242}),
    )
    .await;

    // The rep, from the old view, moves the stage.
    let calls = env.sim.api_calls();
    let body = update_body(&opp, json!({"StageName": "Closed Won"}));
    let response = patch_record(&env, &session, "opportunities", &opp, "stage-1", &body).await;
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.error.code.as_str()), (409, code::CONFLICT));
    assert_eq!(
        error
            .error
            .fields
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["StageName"],
        "only the field the rep changed is named"
    );
    let current = error.error.current.unwrap();
    assert_eq!(current["StageName"], admins_stage);
    assert_eq!(current["Amount"].as_f64(), Some(424242.0));
    assert_eq!(
        env.sim.api_calls() - calls,
        2,
        "the conditional write (refused, 412) and one read"
    );
    let now = stored(&env, "Opportunity", &id);
    assert_eq!(now["StageName"], admins_stage, "nothing was written");

    // The rep keeps their stage: a new key, the stamp and values of the record now.
    let resolved = json!({"seen_system_modstamp": current["SystemModstamp"],
                          "fields": {"StageName": "Closed Won"},
                          "seen_fields": {"StageName": admins_stage}});
    let calls = env.sim.api_calls();
    let response = patch_record(&env, &session, "opportunities", &opp, "stage-2", &resolved).await;
    let record = json_of(response, 200).await;
    assert_eq!(env.sim.api_calls() - calls, 1);
    assert_eq!(record["StageName"], "Closed Won");
    assert_eq!(
        record["Amount"].as_f64(),
        Some(424242.0),
        "the admin's amount stays"
    );
    let now = stored(&env, "Opportunity", &id);
    assert_eq!(now["StageName"], "Closed Won");
    assert_eq!(now["Amount"].as_f64(), Some(424242.0));
    assert_eq!(outcomes_of(&env, "stage-1"), vec!["conflict"]);
    assert_eq!(outcomes_of(&env, "stage-2"), vec!["updated"]);
    env.shutdown().await;
}

#[tokio::test]
async fn a_change_to_other_fields_is_merged_without_asking() {
    let (env, session) = env().await;
    let opp = reps(&env, "Opportunity").remove(1);
    let id = opp["Id"].as_str().unwrap().to_string();
    someone_else_changes(&env, "Opportunity", &opp, json!({"Amount": 777000})).await;

    let calls = env.sim.api_calls();
    let body = update_body(
        &opp,
        json!({"StageName": "Closed Lost", "NextStep": "Debrief"}),
    );
    let response = patch_record(&env, &session, "opportunities", &opp, "merge-1", &body).await;
    let record = json_of(response, 200).await;
    assert_eq!(
        env.sim.api_calls() - calls,
        3,
        "refused as changed (412), one read, written again"
    );
    assert_eq!(record["StageName"], "Closed Lost");
    assert_eq!(record["IsClosed"], true);
    assert_eq!(record["NextStep"], "Debrief");
    assert_eq!(record["Amount"].as_f64(), Some(777000.0));
    let now = stored(&env, "Opportunity", &id);
    assert_eq!(now["StageName"], "Closed Lost");
    assert_eq!(
        now["Amount"].as_f64(),
        Some(777000.0),
        "the admin's amount stays"
    );
    assert_eq!(outcomes_of(&env, "merge-1"), vec!["merged"]);
    env.shutdown().await;
}

#[tokio::test]
async fn contacts_follow_the_same_rules() {
    let (env, session) = env().await;
    let contacts = reps(&env, "Contact");

    // Unchanged since seen: written, answered as Salesforce has it.
    let fresh = &contacts[0];
    let body = update_body(
        fresh,
        json!({"Phone": "+1 555 0100", "MobilePhone": "+1 555 0101",
               "Email": "new.address@example.com", "Title": "VP Sales"}),
    );
    let record = json_of(
        patch_record(&env, &session, "contacts", fresh, "contact-1", &body).await,
        200,
    )
    .await;
    assert_eq!(record["Id"], fresh["Id"]);
    assert_eq!(record["Email"], "new.address@example.com");
    assert_eq!(record["Title"], "VP Sales");
    assert_eq!(record["Name"], fresh["Name"]);
    assert!(record.get("attributes").is_none());

    // The admin changed the title and the phone; the rep changes the title: conflict.
    let clashing = &contacts[1];
    someone_else_changes(
        &env,
        "Contact",
        clashing,
        json!({"Title": "Admin's title", "Phone": "+1 555 0199"}),
    )
    .await;
    let body = update_body(clashing, json!({"Title": "Rep's title"}));
    let response = patch_record(&env, &session, "contacts", clashing, "contact-2", &body).await;
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.error.code.as_str()), (409, code::CONFLICT));
    assert_eq!(
        error
            .error
            .fields
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["Title"]
    );
    let current = error.error.current.unwrap();
    assert_eq!(current["Title"], "Admin's title");
    assert_eq!(current["Phone"], "+1 555 0199");
    let id = clashing["Id"].as_str().unwrap();
    assert_eq!(stored(&env, "Contact", id)["Title"], "Admin's title");

    // The admin changed the phone only; the rep changes the title: merged.
    let merging = &contacts[2];
    someone_else_changes(&env, "Contact", merging, json!({"Phone": "+1 555 0142"})).await;
    let body = update_body(merging, json!({"Title": "Merged title"}));
    let record = json_of(
        patch_record(&env, &session, "contacts", merging, "contact-3", &body).await,
        200,
    )
    .await;
    assert_eq!(record["Title"], "Merged title");
    assert_eq!(record["Phone"], "+1 555 0142");

    // The admin already made the very change the rep asks for: answered, nothing more written.
    let same = &contacts[3];
    someone_else_changes(&env, "Contact", same, json!({"Email": "same@example.com"})).await;
    let stamp_before =
        stored(&env, "Contact", same["Id"].as_str().unwrap())["SystemModstamp"].clone();
    let body = update_body(same, json!({"Email": "same@example.com"}));
    let record = json_of(
        patch_record(&env, &session, "contacts", same, "contact-4", &body).await,
        200,
    )
    .await;
    assert_eq!(record["Email"], "same@example.com");
    assert_eq!(record["SystemModstamp"], stamp_before, "not written again");
    assert_eq!(outcomes_of(&env, "contact-4"), vec!["already_applied"]);

    // Outside the allow-list, or a wrong value type: 400 before any call.
    let calls = env.sim.api_calls();
    for fields in [json!({"LastName": "Renamed"}), json!({"Phone": 5550100})] {
        let body = update_body(fresh, fields);
        let (status, _) =
            error_of(patch_record(&env, &session, "contacts", fresh, "contact-5", &body).await)
                .await;
        assert_eq!(status, 400);
    }
    let response = patch(
        &env,
        &session,
        &format!(
            "/v1/contacts/{}",
            reps(&env, "Opportunity")[0]["Id"].as_str().unwrap()
        ),
        "contact-6",
        &json!({"seen_system_modstamp": "2024-05-01T10:00:00Z", "fields": {"Title": "x"}}),
    )
    .await;
    assert_eq!(
        error_of(response).await.0,
        400,
        "an opportunity id is not a contact id"
    );
    assert_eq!(env.sim.api_calls(), calls);
    let actions: Vec<String> = audit_rows(&env)
        .into_iter()
        .filter(|r| r.2 == "contact-1")
        .map(|r| r.0)
        .collect();
    assert_eq!(actions, vec!["contact.update"]);
    env.shutdown().await;
}

#[tokio::test]
async fn a_batch_settles_conflicts_merges_and_plain_writes_together() {
    let (env, session) = env().await;
    let opps = reps(&env, "Opportunity");
    let contacts = reps(&env, "Contact");
    someone_else_changes(&env, "Opportunity", &opps[0], json!({"Amount": 1111})).await;
    someone_else_changes(&env, "Contact", &contacts[0], json!({"Title": "Admin's"})).await;
    let writes = vec![
        // Merged: the admin changed the amount, the rep the next step.
        json!({"kind": "update_opportunity", "idempotency_key": "mix-merge", "id": opps[0]["Id"],
               "body": update_body(&opps[0], json!({"NextStep": "Sign"}))}),
        // Conflict: both changed the title.
        json!({"kind": "update_contact", "idempotency_key": "mix-conflict", "id": contacts[0]["Id"],
               "body": update_body(&contacts[0], json!({"Title": "Rep's"}))}),
        // Plain writes, sharing graphs with the two above.
        json!({"kind": "update_contact", "idempotency_key": "mix-plain", "id": contacts[1]["Id"],
               "body": update_body(&contacts[1], json!({"Title": "Plain"}))}),
        json!({"kind": "create_lead", "idempotency_key": "mix-lead",
               "body": {"LastName": "Mixwell", "Company": "Acme"}}),
    ];
    let calls = env.sim.api_calls();
    let results = batch(&env, &session, &writes).await;
    assert_eq!(
        env.sim.api_calls() - calls,
        3,
        "graph, read of the changed, graph"
    );
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[0]["body"]["NextStep"], "Sign");
    assert_eq!(results[0]["body"]["Amount"].as_f64(), Some(1111.0));
    assert_eq!(results[1]["status"], 409);
    assert_eq!(results[1]["body"]["error"]["current"]["Title"], "Admin's");
    assert_eq!(results[2]["status"], 200);
    assert_eq!(results[3]["status"], 201);
    assert_eq!(leads_named(&env, "Mixwell").len(), 1);
    env.shutdown().await;
}
