//! sObject rows: create, read, update, delete, upsert, describe, validation errors, derived
//! fields, sharing on writes and conditional requests (reference §2.3, §2.4, §3.4, §8).
//! Expected JSON is written out by hand from the reference.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sfsim::{Sim, SimConfig};

/// Creates a record and returns its id, asserting the 201 shape on the way.
async fn create(sim: &Sim, token: &str, object: &str, fields: Value) -> String {
    let response = call(
        sim,
        token,
        Method::POST,
        &format!("/sobjects/{object}/"),
        Some(fields),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let created = body(response).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("{V}/sobjects/{object}/{id}"));
    assert_eq!(created, json!({"id": id, "success": true, "errors": []}));
    id
}

#[tokio::test]
async fn lead_round_trip_create_read_update_delete_then_recycle_bin() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let id = create(
        &sim,
        &token,
        "Lead",
        json!({"LastName": "Smith", "Company": "Acme"}),
    )
    .await;
    assert!(id.starts_with("00Q") && id.len() == 18, "{id}");

    let read = call(
        &sim,
        &token,
        Method::GET,
        &format!("/sobjects/Lead/{id}?fields=Id,Name,Company,Status,IsConverted"),
        None,
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(content_type(&read), "application/json;charset=UTF-8");
    assert!(read.headers().get("sforce-limit-info").is_some());
    assert_eq!(
        body(read).await,
        json!({
            "attributes": {"type": "Lead", "url": format!("/services/data/v58.0/sobjects/Lead/{id}")},
            "Id": id, "Name": "Smith", "Company": "Acme",
            "Status": "Open - Not Contacted", "IsConverted": false
        })
    );

    let update = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Lead/{id}"),
        Some(json!({"FirstName": "Jo", "Title": null})),
    )
    .await;
    assert_eq!(update.status(), StatusCode::NO_CONTENT);
    assert_eq!(update.text().await.expect("body"), "");
    let full = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Lead/{id}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(full["Name"], "Jo Smith");
    assert_eq!(
        full["OwnerId"],
        json!(sim.user_id("rep@demo.example").expect("rep"))
    );
    assert!(full["CreatedDate"]
        .as_str()
        .expect("stamp")
        .ends_with("+0000"));
    assert!(
        full["LastModifiedDate"].as_str().expect("stamp")
            >= full["CreatedDate"].as_str().expect("stamp")
    );

    let delete = call(
        &sim,
        &token,
        Method::DELETE,
        &format!("/sobjects/Lead/{id}"),
        None,
    )
    .await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let gone = call(
        &sim,
        &token,
        Method::GET,
        &format!("/sobjects/Lead/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(gone).await,
        json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}])
    );
    let again = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Lead/{id}"),
        Some(json!({"FirstName": "X"})),
    )
    .await;
    assert_eq!(
        body(again).await,
        json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}])
    );

    let soql = format!("SELECT Id, IsDeleted FROM Lead WHERE Id = '{id}'");
    assert_eq!(
        query_json(&sim, &token, &soql).await,
        json!({"totalSize": 0, "done": true, "records": []})
    );
    let all = browser()
        .get(format!("{}{V}/queryAll", sim.base_url()))
        .query(&[("q", &soql)])
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        body(all).await,
        json!({"totalSize": 1, "done": true, "records": [{
            "attributes": {"type": "Lead", "url": format!("/services/data/v58.0/sobjects/Lead/{id}")},
            "Id": id, "IsDeleted": true
        }]})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_errors_are_the_ones_a_real_org_gives() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "Lead",
            json!({"FirstName": "Ann"}),
            json!([{"message": "Required fields are missing: [LastName, Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName", "Company"]}]),
        ),
        (
            "Lead",
            json!({"LastName": "Smith"}),
            json!([{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}]),
        ),
        (
            "Account",
            json!({"Id": "0011U00000V0tkDQAR", "Name": "Acme"}),
            json!([{"message": "The Id field should not be specified in the sobject data.", "errorCode": "INVALID_FIELD"}]),
        ),
        (
            "Contact",
            json!({"LastName": "Smith", "Name": "Jo Smith"}),
            json!([{"message": "Unable to create/update fields: Name. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["Name"]}]),
        ),
        (
            "Contact",
            json!({"LastName": "Smith", "Shoe_Size__c": 44}),
            json!([{"message": "No such column 'Shoe_Size__c' on sobject of type Contact", "errorCode": "INVALID_FIELD"}]),
        ),
        (
            "Contact",
            json!({"LastName": "x".repeat(81)}),
            json!([{"message": format!("Last Name: data value too large: {} (max length=80)", "x".repeat(81)), "errorCode": "STRING_TOO_LONG", "fields": ["LastName"]}]),
        ),
        (
            "Task",
            json!({"Subject": "Call", "TaskSubtype": "Fax"}),
            json!([{"message": "Task Subtype: bad value for restricted picklist field: Fax", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["TaskSubtype"]}]),
        ),
        (
            "Task",
            json!({"Subject": "Call", "WhatId": "006B000002nBrQ"}),
            json!([{"message": "Related To ID: id value of incorrect type: 006B000002nBrQ", "errorCode": "MALFORMED_ID", "fields": ["WhatId"]}]),
        ),
    ];
    for (object, fields, expected) in cases {
        let response = call(
            &sim,
            &token,
            Method::POST,
            &format!("/sobjects/{object}"),
            Some(fields.clone()),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{object} {fields}"
        );
        assert_eq!(body(response).await, expected, "{object} {fields}");
    }

    // A contact id where an account or opportunity belongs is of the wrong type.
    let contact = create(&sim, &token, "Contact", json!({"LastName": "Okafor"})).await;
    let wrong = call(
        &sim,
        &token,
        Method::POST,
        "/sobjects/Task",
        Some(json!({"WhatId": contact})),
    )
    .await;
    assert_eq!(
        body(wrong).await,
        json!([{"message": format!("Related To ID: id value of incorrect type: {contact}"), "errorCode": "MALFORMED_ID", "fields": ["WhatId"]}])
    );

    // Ids in the URL: not an id at all, and an id of nothing.
    let response = call(
        &sim,
        &token,
        Method::PATCH,
        "/sobjects/Account/001i000000xxxxxx",
        Some(json!({"Name": "x"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(response).await,
        json!([{"errorCode": "NOT_FOUND", "message": "Provided external ID field does not exist or is not accessible: 001i000000xxxxxx"}])
    );
    let response = call(
        &sim,
        &token,
        Method::GET,
        "/sobjects/Account/0011U00000V0tkDQAR",
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(response).await,
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    );

    // Unknown field in `fields=`, unknown object, a body that is not JSON.
    let response = call(
        &sim,
        &token,
        Method::GET,
        &format!("/sobjects/Contact/{contact}?fields=Id,Nmae"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(response).await[0]["errorCode"], "INVALID_FIELD");
    let response = call(
        &sim,
        &token,
        Method::POST,
        "/sobjects/Widget",
        Some(json!({})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = browser()
        .post(format!("{}{V}/sobjects/Contact", sim.base_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"LastName\": ")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(response).await[0]["errorCode"], "JSON_PARSER_ERROR");
    sim.shutdown().await;
}

#[tokio::test]
async fn opportunity_probability_and_flags_follow_the_stage() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let id = create(
        &sim,
        &token,
        "Opportunity",
        json!({"Name": "Acme - Pilot", "StageName": "Negotiation/Review", "CloseDate": "2026-12-01", "Amount": 50000}),
    )
    .await;
    let fields = format!("/sobjects/Opportunity/{id}?fields=StageName,Probability,IsClosed,IsWon,ForecastCategoryName,ExpectedRevenue");
    let read = body(call(&sim, &token, Method::GET, &fields, None).await).await;
    assert_eq!(
        (
            &read["Probability"],
            &read["IsClosed"],
            &read["IsWon"],
            &read["ForecastCategoryName"],
            &read["ExpectedRevenue"]
        ),
        (
            &json!(90.0),
            &json!(false),
            &json!(false),
            &json!("Pipeline"),
            &json!(45000.0)
        )
    );
    let won = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Opportunity/{id}"),
        Some(json!({"StageName": "Closed Won"})),
    )
    .await;
    assert_eq!(won.status(), StatusCode::NO_CONTENT);
    let read = body(call(&sim, &token, Method::GET, &fields, None).await).await;
    assert_eq!(
        (
            &read["Probability"],
            &read["IsClosed"],
            &read["IsWon"],
            &read["ForecastCategoryName"]
        ),
        (&json!(100.0), &json!(true), &json!(true), &json!("Closed"))
    );
    let readonly = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Opportunity/{id}"),
        Some(json!({"IsWon": false})),
    )
    .await;
    assert_eq!(
        body(readonly).await,
        json!([{"message": "Unable to create/update fields: IsWon. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["IsWon"]}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_record_given_to_another_owner_leaves_the_first_owners_view() {
    let sim = start(SimConfig::default()).await;
    let rep = access_token(&sim, "rep@demo.example").await;
    let rep2 = access_token(&sim, "rep2@demo.example").await;
    let admin = access_token(&sim, "admin@demo.example").await;
    let id = create(
        &sim,
        &rep,
        "Contact",
        json!({"LastName": "Handover", "Email": "h@example.com"}),
    )
    .await;

    let foreign = call(
        &sim,
        &rep2,
        Method::GET,
        &format!("/sobjects/Contact/{id}"),
        None,
    )
    .await;
    assert_eq!(
        foreign.status(),
        StatusCode::NOT_FOUND,
        "private: rep2 cannot see rep's contact"
    );
    let foreign_edit = call(
        &sim,
        &rep2,
        Method::PATCH,
        &format!("/sobjects/Contact/{id}"),
        Some(json!({"Title": "x"})),
    )
    .await;
    assert_eq!(foreign_edit.status(), StatusCode::NOT_FOUND);
    let admin_edit = call(
        &sim,
        &admin,
        Method::PATCH,
        &format!("/sobjects/Contact/{id}"),
        Some(json!({"Title": "CTO"})),
    )
    .await;
    assert_eq!(
        admin_edit.status(),
        StatusCode::NO_CONTENT,
        "the admin edits everything"
    );

    let rep2_id = sim.user_id("rep2@demo.example").expect("rep2");
    let handover = call(
        &sim,
        &rep,
        Method::PATCH,
        &format!("/sobjects/Contact/{id}"),
        Some(json!({"OwnerId": rep2_id})),
    )
    .await;
    assert_eq!(handover.status(), StatusCode::NO_CONTENT);
    let soql = "SELECT Id FROM Contact WHERE LastName = 'Handover'";
    assert_eq!(query_json(&sim, &rep, soql).await["totalSize"], 0);
    assert_eq!(
        query_json(&sim, &rep2, soql).await["records"][0]["Id"],
        json!(id)
    );
    let gone = call(
        &sim,
        &rep,
        Method::GET,
        &format!("/sobjects/Contact/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn conditional_requests_answer_304_and_412() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let id = create(&sim, &token, "Contact", json!({"LastName": "Stamp"})).await;
    let path = format!("{}{V}/sobjects/Contact/{id}", sim.base_url());
    let past = "Tue, 10 Aug 2015 00:00:00 GMT";
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";

    let unchanged = browser()
        .get(&path)
        .bearer_auth(&token)
        .header("If-Modified-Since", future)
        .send()
        .await
        .expect("answers");
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert!(unchanged.headers().get("sforce-limit-info").is_some());
    let changed = browser()
        .get(&path)
        .bearer_auth(&token)
        .header("If-Modified-Since", past)
        .send()
        .await
        .expect("answers");
    assert_eq!(changed.status(), StatusCode::OK);

    let stale = browser()
        .patch(&path)
        .bearer_auth(&token)
        .header("If-Unmodified-Since", past)
        .json(&json!({"Title": "x"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let record = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Contact/{id}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        record["Title"],
        Value::Null,
        "a refused update changes nothing"
    );
    let fresh = browser()
        .patch(&path)
        .bearer_auth(&token)
        .header("If-Unmodified-Since", future)
        .json(&json!({"Title": "x"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(fresh.status(), StatusCode::NO_CONTENT);

    let garbage = browser()
        .get(&path)
        .bearer_auth(&token)
        .header("If-Modified-Since", "yesterday")
        .send()
        .await
        .expect("answers");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let path = "/sobjects/Account/External_Id__c/ACME-1";
    let first = call(
        &sim,
        &token,
        Method::PATCH,
        path,
        Some(json!({"Name": "Acme"})),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = body(first).await;
    let id = first["id"].as_str().expect("id").to_owned();
    assert_eq!(
        first,
        json!({"id": id, "success": true, "errors": [], "created": true})
    );
    let second = call(
        &sim,
        &token,
        Method::PATCH,
        path,
        Some(json!({"Name": "Acme Corp"})),
    )
    .await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        body(second).await,
        json!({"id": id, "success": true, "errors": [], "created": false})
    );
    let read = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Account/{id}?fields=Name,External_Id__c"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (&read["Name"], &read["External_Id__c"]),
        (&json!("Acme Corp"), &json!("ACME-1"))
    );

    let unknown = call(
        &sim,
        &token,
        Method::PATCH,
        "/sobjects/Account/Shoe_Size__c/44",
        Some(json!({"Name": "x"})),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(unknown).await,
        json!([{"errorCode": "NOT_FOUND", "message": "Provided external ID field does not exist or is not accessible: Shoe_Size__c"}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn describe_lists_fields_types_lengths_and_picklists() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let field = |describe: &Value, name: &str| -> Value {
        describe["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no field {name}"))
    };
    let values = |f: &Value| -> Vec<String> {
        f["picklistValues"]
            .as_array()
            .expect("picklist")
            .iter()
            .map(|v| v["value"].as_str().expect("value").to_owned())
            .collect()
    };

    let opportunity = body(
        call(
            &sim,
            &token,
            Method::GET,
            "/sobjects/Opportunity/describe",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (&opportunity["name"], &opportunity["keyPrefix"]),
        (&json!("Opportunity"), &json!("006"))
    );
    let stage = field(&opportunity, "StageName");
    assert_eq!(
        (&stage["type"], &stage["nillable"], &stage["label"]),
        (&json!("picklist"), &json!(false), &json!("Stage"))
    );
    assert_eq!(
        values(&stage),
        [
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost"
        ]
    );
    assert_eq!(field(&opportunity, "IsWon")["updateable"], false);
    let next_step = field(&opportunity, "NextStep");
    assert_eq!(
        (
            &next_step["type"],
            &next_step["length"],
            &next_step["label"],
            &next_step["nillable"],
            &next_step["updateable"]
        ),
        (
            &json!("string"),
            &json!(255),
            &json!("Next Step"),
            &json!(true),
            &json!(true)
        )
    );

    let contact = body(
        call(
            &sim,
            &token,
            Method::GET,
            "/sobjects/Contact/describe/",
            None,
        )
        .await,
    )
    .await;
    let last_name = field(&contact, "LastName");
    assert_eq!(
        (
            &last_name["type"],
            &last_name["length"],
            &last_name["nillable"]
        ),
        (&json!("string"), &json!(80), &json!(false))
    );
    let account_id = field(&contact, "AccountId");
    assert_eq!(
        (
            &account_id["type"],
            &account_id["referenceTo"],
            &account_id["relationshipName"]
        ),
        (&json!("reference"), &json!(["Account"]), &json!("Account"))
    );

    let lead = body(call(&sim, &token, Method::GET, "/sobjects/Lead/describe", None).await).await;
    let status = field(&lead, "Status");
    assert_eq!(
        values(&status),
        [
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted"
        ]
    );
    assert_eq!(status["defaultValue"], "Open - Not Contacted");

    let task = body(call(&sim, &token, Method::GET, "/sobjects/Task/describe", None).await).await;
    let subtype = field(&task, "TaskSubtype");
    assert_eq!(
        (
            &subtype["restrictedPicklist"],
            &subtype["createable"],
            &subtype["updateable"]
        ),
        (&json!(true), &json!(true), &json!(false))
    );
    assert_eq!(
        values(&subtype),
        ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]
    );
    assert_eq!(values(&field(&task, "Priority")), ["High", "Normal", "Low"]);
    assert_eq!(
        values(&field(&task, "Status")),
        [
            "Not Started",
            "In Progress",
            "Completed",
            "Waiting on someone else",
            "Deferred"
        ]
    );
    assert_eq!(
        field(&task, "WhoId")["referenceTo"],
        json!(["Contact", "Lead"])
    );
    let reminder_set = field(&task, "IsReminderSet");
    assert_eq!(
        (
            &reminder_set["type"],
            &reminder_set["label"],
            &reminder_set["nillable"],
            &reminder_set["defaultedOnCreate"],
            &reminder_set["updateable"],
            &reminder_set["soapType"]
        ),
        (
            &json!("boolean"),
            &json!("Reminder Set"),
            &json!(false),
            &json!(true),
            &json!(true),
            &json!("xsd:boolean")
        )
    );
    let reminder_at = field(&task, "ReminderDateTime");
    assert_eq!(
        (
            &reminder_at["type"],
            &reminder_at["label"],
            &reminder_at["nillable"],
            &reminder_at["updateable"],
            &reminder_at["soapType"]
        ),
        (
            &json!("datetime"),
            &json!("Reminder Date/Time"),
            &json!(true),
            &json!(true),
            &json!("xsd:dateTime")
        )
    );

    let global = body(call(&sim, &token, Method::GET, "/sobjects/", None).await).await;
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .expect("sobjects")
        .iter()
        .map(|o| o["name"].as_str().expect("name"))
        .collect();
    for name in ["Account", "Contact", "Lead", "Opportunity", "Task", "User"] {
        assert!(names.contains(&name), "{name}");
    }
    let unknown = call(&sim, &token, Method::GET, "/sobjects/Widget/describe", None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    sim.shutdown().await;
}

#[tokio::test]
async fn task_reminders_take_salesforce_datetimes_and_render_them_in_utc() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let reminder = |id: &str| format!("/sobjects/Task/{id}?fields=IsReminderSet,ReminderDateTime");
    let read = |path: String| {
        let (sim, token) = (&sim, &token);
        async move { body(call(sim, token, Method::GET, &path, None).await).await }
    };
    let url = |id: &str| format!("/services/data/v58.0/sobjects/Task/{id}");

    // With an offset: stored and rendered as the same instant in UTC, with milliseconds.
    let id = create(
        &sim,
        &token,
        "Task",
        json!({"Subject": "Call", "IsReminderSet": true, "ReminderDateTime": "2026-11-20T09:30:00.000-05:00"}),
    )
    .await;
    assert_eq!(
        read(reminder(&id)).await,
        json!({
            "attributes": {"type": "Task", "url": url(&id)},
            "IsReminderSet": true, "ReminderDateTime": "2026-11-20T14:30:00.000+0000"
        })
    );
    // `Z`, no milliseconds.
    let update = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Task/{id}"),
        Some(json!({"ReminderDateTime": "2026-11-21T08:00:00Z"})),
    )
    .await;
    assert_eq!(update.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        read(reminder(&id)).await["ReminderDateTime"],
        "2026-11-21T08:00:00.000+0000"
    );
    // Filtered on in SOQL with datetime literals.
    let soql = format!(
        "SELECT Id, ReminderDateTime FROM Task WHERE IsReminderSet = true AND ReminderDateTime > 2026-11-21T07:59:59Z AND Id = '{id}'"
    );
    assert_eq!(
        query_json(&sim, &token, &soql).await,
        json!({"totalSize": 1, "done": true, "records": [{
            "attributes": {"type": "Task", "url": url(&id)},
            "Id": id, "ReminderDateTime": "2026-11-21T08:00:00.000+0000"
        }]})
    );

    // Not given: the checkbox is false, the time null.
    let plain = create(&sim, &token, "Task", json!({"Subject": "Other"})).await;
    assert_eq!(
        read(reminder(&plain)).await,
        json!({
            "attributes": {"type": "Task", "url": url(&plain)},
            "IsReminderSet": false, "ReminderDateTime": null
        })
    );

    // Not a datetime: the JSON binding error.
    let bad = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Task/{id}"),
        Some(json!({"ReminderDateTime": "tomorrow at nine"})),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body(bad).await,
        json!([{
            "message": "Cannot deserialize instance of datetime from VALUE_STRING value tomorrow at nine or request may be missing a required field",
            "errorCode": "JSON_PARSER_ERROR"
        }])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn opportunity_next_step_is_text_of_at_most_255() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    let deal = sim
        .records("Opportunity")
        .into_iter()
        .find(|o| o["OwnerId"] == json!(rep))
        .expect("a rep deal");
    let id = deal["Id"].as_str().expect("id").to_owned();
    let path = format!("/sobjects/Opportunity/{id}");
    let update = call(
        &sim,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"NextStep": "Send the revised quote"})),
    )
    .await;
    assert_eq!(update.status(), StatusCode::NO_CONTENT);
    let soql = format!("SELECT NextStep FROM Opportunity WHERE Id = '{id}'");
    assert_eq!(
        query_json(&sim, &token, &soql).await,
        json!({"totalSize": 1, "done": true, "records": [{
            "attributes": {"type": "Opportunity", "url": format!("/services/data/v58.0/sobjects/Opportunity/{id}")},
            "NextStep": "Send the revised quote"
        }]})
    );
    let long = "x".repeat(256);
    let refused = call(
        &sim,
        &token,
        Method::PATCH,
        &path,
        Some(json!({ "NextStep": long })),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body(refused).await,
        json!([{
            "message": format!("Next Step: data value too large: {long} (max length=255)"),
            "errorCode": "STRING_TOO_LONG",
            "fields": ["NextStep"]
        }])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_converted_lead_is_flagged_and_becomes_a_contact_at_an_account() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let id = create(
        &sim,
        &token,
        "Lead",
        json!({"FirstName": "Ada", "LastName": "Byron", "Company": "Engines Ltd", "Email": "ada@engines.example"}),
    )
    .await;
    let contact = sim.convert_lead(&id).expect("converts");
    let soql =
        format!("SELECT IsConverted, Status, ConvertedContactId FROM Lead WHERE Id = '{id}'");
    assert_eq!(
        query_json(&sim, &token, &soql).await["records"][0],
        json!({
            "attributes": {"type": "Lead", "url": format!("/services/data/v58.0/sobjects/Lead/{id}")},
            "IsConverted": true, "Status": "Closed - Converted", "ConvertedContactId": contact
        })
    );
    let soql = format!("SELECT Name, Email, Account.Name FROM Contact WHERE Id = '{contact}'");
    let row = &query_json(&sim, &token, &soql).await["records"][0];
    assert_eq!(
        (&row["Name"], &row["Email"], &row["Account"]["Name"]),
        (
            &json!("Ada Byron"),
            &json!("ada@engines.example"),
            &json!("Engines Ltd")
        )
    );
    assert!(sim.convert_lead(&id).is_err(), "a lead converts once");
    sim.shutdown().await;
}

#[tokio::test]
async fn task_logged_as_a_call_derives_closed_and_account() {
    let sim = start(SimConfig::default()).await;
    let token = access_token(&sim, "rep@demo.example").await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    let contact = sim
        .records("Contact")
        .into_iter()
        .find(|c| c["OwnerId"] == json!(rep) && c["AccountId"].is_string())
        .expect("a rep contact with an account");
    let id = create(
        &sim,
        &token,
        "Task",
        json!({"Subject": "Call", "WhoId": contact["Id"], "TaskSubtype": "Call", "Status": "Completed", "ActivityDate": "2026-11-20", "CallDurationInSeconds": 300}),
    )
    .await;
    let task = body(
        call(
            &sim,
            &token,
            Method::GET,
            &format!("/sobjects/Task/{id}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            &task["IsClosed"],
            &task["AccountId"],
            &task["Priority"],
            &task["TaskSubtype"]
        ),
        (
            &json!(true),
            &contact["AccountId"],
            &json!("Normal"),
            &json!("Call")
        )
    );
    let change = call(
        &sim,
        &token,
        Method::PATCH,
        &format!("/sobjects/Task/{id}"),
        Some(json!({"TaskSubtype": "Email"})),
    )
    .await;
    assert_eq!(
        body(change).await[0]["errorCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "TaskSubtype is create-only"
    );
    sim.shutdown().await;
}
