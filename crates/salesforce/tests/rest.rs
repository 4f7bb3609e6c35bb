//! REST data calls (rows, describe, composite, collections, change logs, limits, errors,
//! retries) against a small HTTP server. Every Salesforce answer and every expected request
//! body below is written by hand from shared/reference/salesforce-api.md, not produced by the
//! client's own types.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use salesforce::{
    Client, ClientOptions, CompositeRequest, Error, ErrorKind, FieldType, NewRecord, QueryOptions,
    RecordId, RecordUpdate, RestSession, RetryPolicy, UpdateOptions, Upserted,
};
use serde_json::{json, Value};
use time::macros::datetime;

const JSON: &str = "application/json;charset=UTF-8";
const V: &str = "/services/data/v58.0";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    /// Path and query, as sent.
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct ServerState {
    seen: Vec<Seen>,
    /// The next this many requests get a 503 from a "proxy" (HTML body).
    fail_next: usize,
}

type Shared = Arc<Mutex<ServerState>>;

fn reply(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [
            ("content-type", JSON),
            ("sforce-limit-info", "api-usage=25/15000"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn no_content() -> Response {
    (
        StatusCode::NO_CONTENT,
        [("sforce-limit-info", "api-usage=26/15000")],
    )
        .into_response()
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            method: method.clone(),
            uri: path_and_query.clone(),
            headers: headers.clone(),
            body: body.clone(),
        });
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "text/html")],
                "<html><body>Service Unavailable</body></html>",
            )
                .into_response();
        }
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
        return reply(
            401,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
    }
    let path = uri.path().strip_prefix(V).unwrap_or("");
    let request_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (method.as_str(), path) {
        // --- rows (reference §2.3) ---
        ("POST", "/sobjects/Lead") => {
            if request_body.get("Company").is_none() {
                return reply(
                    400,
                    r#"[{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Company"]}]"#,
                );
            }
            (
                StatusCode::CREATED,
                [
                    ("content-type", JSON),
                    ("sforce-limit-info", "api-usage=12/15000"),
                    (
                        "location",
                        "/services/data/v58.0/sobjects/Lead/00QB000000AbCdEMAV",
                    ),
                ],
                r#"{"id":"00QB000000AbCdEMAV","success":true,"errors":[]}"#,
            )
                .into_response()
        }
        ("GET", "/sobjects/Contact/003R000000ATjnCIAT") => reply(
            200,
            r#"{"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},
               "Id":"003R000000ATjnCIAT","Name":"Tim Barr","Email":null}"#,
        ),
        ("GET", "/sobjects/Contact/003R000000ATjnDIAT") => reply(
            404,
            r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#,
        ),
        ("PATCH", "/sobjects/Opportunity/0067F000003pmdWQAQ") => {
            match headers
                .get("if-unmodified-since")
                .and_then(|v| v.to_str().ok())
            {
                Some("Mon, 01 Jan 2024 00:00:00 GMT") => reply(
                    412,
                    r#"[{"errorCode":"PRECONDITION_FAILED","message":"The requested resource has been modified since the time given."}]"#,
                ),
                _ if request_body.get("StageName") == Some(&json!("Bogus")) => reply(
                    400,
                    r#"[{"message":"Stage: bad value for restricted picklist field: Bogus","errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","fields":["StageName"]}]"#,
                ),
                _ => no_content(),
            }
        }
        ("PATCH", "/sobjects/Opportunity/0067F000003pmdXQAQ") => reply(
            500,
            r#"[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]"#,
        ),
        ("DELETE", "/sobjects/Task/00TB0000003LgMzMAK") => no_content(),
        ("DELETE", "/sobjects/Task/00TB0000003LgNaMAK") => reply(
            404,
            r#"[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED"}]"#,
        ),
        ("PATCH", "/sobjects/Account/Ext_Id__c/new-1") => reply(
            201,
            r#"{"id":"001D000000Kv3g6IAB","success":true,"errors":[],"created":true}"#,
        ),
        ("PATCH", "/sobjects/Account/Ext_Id__c/A%2F7") => reply(
            200,
            r#"{"id":"001D000000Kv3g5IAB","success":true,"errors":[],"created":false}"#,
        ),
        ("PATCH", "/sobjects/Account/Ext_Id__c/dup") => reply(
            300,
            r#"["/services/data/v58.0/sobjects/Account/001D000000Kv3g5IAB","/services/data/v58.0/sobjects/Account/001D000000Kv3g6IAB"]"#,
        ),
        // --- describe ---
        ("GET", "/sobjects/Opportunity/describe") => reply(200, OPPORTUNITY_DESCRIBE),
        ("GET", "/sobjects/Lead/describe") => reply(200, LEAD_DESCRIBE),
        ("GET", "/sobjects/Task/describe") => reply(200, TASK_DESCRIBE),
        ("GET", "/query") if uri.query().unwrap_or("").contains("OpportunityStage") => {
            reply(200, OPPORTUNITY_STAGES)
        }
        ("GET", "/query") if uri.query().unwrap_or("").contains("Locked") => reply(
            400,
            r#"[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]"#,
        ),
        ("GET", "/query") => reply(
            200,
            r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},"Id":"003R000000ATjnCIAT"}]}"#,
        ),
        ("GET", "/queryAll") => reply(
            200,
            r#"{"totalSize":2,"done":true,"records":[
              {"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},"Id":"003R000000ATjnCIAT","IsDeleted":false},
              {"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnDIAT"},"Id":"003R000000ATjnDIAT","IsDeleted":true}]}"#,
        ),
        ("GET", "/limits") => reply(
            200,
            r#"{"DailyApiRequests":{"Max":15000,"Remaining":14998},"DailyBulkApiRequests":{"Max":10000,"Remaining":10000}}"#,
        ),
        // --- change logs (reference §3.1) ---
        ("GET", "/sobjects/Contact/updated/") => reply(
            200,
            r#"{"ids":["003D000000Oh8ZzIAJ","003D000000Oh8a0IAB"],"latestDateCovered":"2013-05-08T21:20:00.000+0000"}"#,
        ),
        ("GET", "/sobjects/Contact/deleted/") => reply(
            200,
            r#"{"deletedRecords":[{"id":"003D000000Oh8ZzIAJ","deletedDate":"2013-05-07T22:07:19.000+0000"}],
                "earliestDateAvailable":"2013-05-03T15:57:00.000+0000","latestDateCovered":"2013-05-08T21:20:00.000+0000"}"#,
        ),
        ("POST", "/composite") => composite(&request_body),
        // --- collections (reference §4.2) ---
        ("POST", "/composite/sobjects") if request_body["allOrNone"] == json!(true) => reply(
            200,
            r#"[{"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header","fields":[]}]},
                {"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Company]","fields":["Company"]}]}]"#,
        ),
        ("POST", "/composite/sobjects") => reply(
            200,
            r#"[{"id":"00QB000000AbCdEMAV","success":true,"errors":[]},
                {"success":false,"errors":[{"statusCode":"DUPLICATES_DETECTED","message":"Use one of these records?","fields":[]}]}]"#,
        ),
        ("PATCH", "/composite/sobjects") => reply(
            200,
            r#"[{"id":"0067F000003pmdWQAQ","success":true,"errors":[]}]"#,
        ),
        ("PATCH", "/composite/sobjects/Lead/Companion_Key__c") => reply(
            200,
            r#"[{"id":"00QB000000AbCdEMAV","success":true,"errors":[],"created":true},
                {"id":"00QB000000AbCdFMAV","success":true,"errors":[],"created":false}]"#,
        ),
        ("GET", "/composite/sobjects/Contact") => reply(
            200,
            r#"[{"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},"Id":"003R000000ATjnCIAT","Name":"Tim Barr"},
                null]"#,
        ),
        ("DELETE", "/composite/sobjects") => reply(
            200,
            r#"[{"id":"00TB0000003LgMzMAK","success":true,"errors":[]},
                {"success":false,"errors":[{"statusCode":"ENTITY_IS_DELETED","message":"entity is deleted","fields":[]}]}]"#,
        ),
        _ => reply(
            404,
            r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#,
        ),
    }
}

/// The composite answers: a sync-shaped read of two objects, and an all-or-none write that
/// fails on its second item.
fn composite(request: &Value) -> Response {
    if request["allOrNone"] == json!(true) {
        return reply(
            200,
            r#"{"compositeResponse":[
              {"body":[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}],
               "httpHeaders":{},"httpStatusCode":400,"referenceId":"newLead"},
              {"body":[{"message":"Related To ID: id value of incorrect type: 006B000002nBrQ","errorCode":"MALFORMED_ID","fields":["WhatId"]}],
               "httpHeaders":{},"httpStatusCode":400,"referenceId":"callTask"}]}"#,
        );
    }
    reply(
        200,
        r#"{"compositeResponse":[
          {"body":{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},"Id":"003R000000ATjnCIAT","SystemModstamp":"2024-05-01T10:00:00.000+0000"}]},
           "httpHeaders":{},"httpStatusCode":200,"referenceId":"Contact"},
          {"body":{"deletedRecords":[],"earliestDateAvailable":"2024-04-20T00:00:00.000+0000","latestDateCovered":"2024-05-01T10:00:00.000+0000"},
           "httpHeaders":{},"httpStatusCode":200,"referenceId":"ContactDeleted"},
          {"body":[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}],
           "httpHeaders":{},"httpStatusCode":404,"referenceId":"opp"}]}"#,
    )
}

const OPPORTUNITY_DESCRIBE: &str = r#"{"name":"Opportunity","label":"Opportunity","keyPrefix":"006","createable":true,"updateable":true,"deletable":true,"queryable":true,
 "fields":[
  {"name":"Id","label":"Opportunity ID","type":"id","length":18,"nillable":false,"createable":false,"updateable":false,"defaultedOnCreate":true,"calculated":false,"custom":false,"restrictedPicklist":false,"picklistValues":[],"referenceTo":[],"relationshipName":null},
  {"name":"Name","label":"Name","type":"string","length":120,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":false,"picklistValues":[]},
  {"name":"StageName","label":"Stage","type":"picklist","length":255,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":false,"restrictedPicklist":false,
   "picklistValues":[
    {"active":true,"defaultValue":false,"label":"Prospecting","validFor":null,"value":"Prospecting"},
    {"active":true,"defaultValue":false,"label":"Closed Won","validFor":null,"value":"Closed Won"},
    {"active":false,"defaultValue":false,"label":"Old Stage","validFor":null,"value":"Old Stage"}]},
  {"name":"Probability","label":"Probability (%)","type":"percent","length":0,"nillable":true,"createable":true,"updateable":true,"defaultedOnCreate":false,"picklistValues":[]},
  {"name":"AccountId","label":"Account ID","type":"reference","length":18,"nillable":true,"createable":true,"updateable":true,"defaultedOnCreate":false,"picklistValues":[],"referenceTo":["Account"],"relationshipName":"Account"},
  {"name":"Geo__c","label":"Geo","type":"location","length":0,"nillable":true,"createable":true,"updateable":true,"defaultedOnCreate":false,"custom":true,"picklistValues":[]}]}"#;

const LEAD_DESCRIBE: &str = r#"{"name":"Lead","label":"Lead","keyPrefix":"00Q","createable":true,"updateable":true,"deletable":true,"queryable":true,
 "fields":[
  {"name":"LastName","label":"Last Name","type":"string","length":80,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":false,"picklistValues":[]},
  {"name":"Status","label":"Lead Status","type":"picklist","length":255,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":true,"restrictedPicklist":false,
   "picklistValues":[
    {"active":true,"defaultValue":true,"label":"Open - Not Contacted","validFor":null,"value":"Open - Not Contacted"},
    {"active":true,"defaultValue":false,"label":"Working - Contacted","validFor":null,"value":"Working - Contacted"},
    {"active":true,"defaultValue":false,"label":"Closed - Converted","validFor":null,"value":"Closed - Converted"},
    {"active":true,"defaultValue":false,"label":"Closed - Not Converted","validFor":null,"value":"Closed - Not Converted"}]}]}"#;

const TASK_DESCRIBE: &str = r#"{"name":"Task","label":"Task","keyPrefix":"00T","createable":true,"updateable":true,"deletable":true,"queryable":true,
 "fields":[
  {"name":"Subject","label":"Subject","type":"combobox","length":255,"nillable":true,"createable":true,"updateable":true,"defaultedOnCreate":false,
   "picklistValues":[{"active":true,"defaultValue":false,"label":"Call","validFor":null,"value":"Call"}]},
  {"name":"Status","label":"Status","type":"picklist","length":255,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":true,
   "picklistValues":[
    {"active":true,"defaultValue":true,"label":"Not Started","validFor":null,"value":"Not Started"},
    {"active":true,"defaultValue":false,"label":"In Progress","validFor":null,"value":"In Progress"},
    {"active":true,"defaultValue":false,"label":"Completed","validFor":null,"value":"Completed"},
    {"active":true,"defaultValue":false,"label":"Waiting on someone else","validFor":null,"value":"Waiting on someone else"},
    {"active":true,"defaultValue":false,"label":"Deferred","validFor":null,"value":"Deferred"}]},
  {"name":"Priority","label":"Priority","type":"picklist","length":40,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":true,
   "picklistValues":[
    {"active":true,"defaultValue":false,"label":"High","validFor":null,"value":"High"},
    {"active":true,"defaultValue":true,"label":"Normal","validFor":null,"value":"Normal"},
    {"active":true,"defaultValue":false,"label":"Low","validFor":null,"value":"Low"}]},
  {"name":"TaskSubtype","label":"Task Subtype","type":"picklist","length":40,"nillable":true,"createable":true,"updateable":false,"defaultedOnCreate":false,"restrictedPicklist":true,
   "picklistValues":[
    {"active":true,"defaultValue":false,"label":"Task","validFor":null,"value":"Task"},
    {"active":true,"defaultValue":false,"label":"Email","validFor":null,"value":"Email"},
    {"active":true,"defaultValue":false,"label":"Call","validFor":null,"value":"Call"}]},
  {"name":"ActivityDate","label":"Due Date Only","type":"date","length":0,"nillable":true,"createable":true,"updateable":true,"defaultedOnCreate":false,"picklistValues":[]}]}"#;

const OPPORTUNITY_STAGES: &str = r#"{"totalSize":2,"done":true,"records":[
 {"attributes":{"type":"OpportunityStage","url":"/services/data/v58.0/sobjects/OpportunityStage/01J000000000001AAA"},
  "MasterLabel":"Prospecting","DefaultProbability":10.0,"IsClosed":false,"IsWon":false,"ForecastCategoryName":"Pipeline"},
 {"attributes":{"type":"OpportunityStage","url":"/services/data/v58.0/sobjects/OpportunityStage/01J000000000002AAA"},
  "MasterLabel":"Closed Won","DefaultProbability":100.0,"IsClosed":true,"IsWon":true,"ForecastCategoryName":"Closed"}]}"#;

async fn server() -> (RestSession, Shared) {
    let state = Shared::default();
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        RestSession::new(&format!("http://{addr}"), "at-1").unwrap(),
        state,
    )
}

/// Quick retries so the tests do not wait.
fn client() -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .unwrap()
    .with_retry(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    })
}

fn id(text: &str) -> RecordId {
    RecordId::parse(text).unwrap()
}

fn seen(state: &Shared) -> Vec<Seen> {
    state.lock().unwrap().seen.clone()
}

#[tokio::test]
async fn create_sends_the_fields_and_returns_id_and_location() {
    let (session, state) = server().await;
    let client = client();
    let created = client
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .await
        .unwrap();
    assert_eq!(created.id.as_str(), "00QB000000AbCdEMAV");
    assert_eq!(
        created.location.as_deref(),
        Some("/services/data/v58.0/sobjects/Lead/00QB000000AbCdEMAV")
    );
    let request = &seen(&state)[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.uri, "/services/data/v58.0/sobjects/Lead");
    assert_eq!(
        request.json(),
        json!({"LastName": "Smith", "Company": "Acme"})
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(client.last_limit_info().unwrap().used, 12);
}

#[tokio::test]
async fn a_missing_required_field_is_a_validation_error_naming_the_field() {
    let (session, _) = server().await;
    let err = client()
        .create_record(&session, "Lead", &json!({"LastName": "Smith"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.fields(), vec!["Company"]);
    assert_eq!(err.api_errors()[0].error_code, "REQUIRED_FIELD_MISSING");
    assert!(
        !err.outcome_unknown(),
        "a 400 certainly did not save anything"
    );
}

#[tokio::test]
async fn bad_object_and_field_names_never_reach_the_server() {
    let (session, state) = server().await;
    let client = client();
    let contact = id("003R000000ATjnCIAT");
    let attempts = [
        client
            .create_record(&session, "Lead/../Account", &json!({"LastName": "x"}))
            .await
            .map(|_| ()),
        client
            .create_record(&session, "Lead", &json!({"LastName = 'x'": "x"}))
            .await
            .map(|_| ()),
        client
            .get_record::<Value>(
                &session,
                "Contact",
                &contact,
                &["Id", "Name,(SELECT Id FROM Cases)"],
            )
            .await
            .map(|_| ()),
        // An Account id where a Contact id belongs.
        client
            .get_record::<Value>(&session, "Contact", &id("0011U00000V0tkDQAR"), &[])
            .await
            .map(|_| ()),
        client
            .upsert_record(&session, "Account", "Ext Id", "x", &json!({}))
            .await
            .map(|_| ()),
    ];
    for result in attempts {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    }
    assert!(seen(&state).is_empty());
}

#[tokio::test]
async fn get_asks_for_the_given_fields_and_reports_not_found() {
    let (session, state) = server().await;
    let client = client();
    let record: Value = client
        .get_record(
            &session,
            "Contact",
            &id("003R000000ATjnCIAT"),
            &["Id", "Name", "Email"],
        )
        .await
        .unwrap();
    assert_eq!(record["Name"], "Tim Barr");
    assert_eq!(
        seen(&state)[0].uri,
        "/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT?fields=Id%2CName%2CEmail"
    );
    let err = client
        .get_record::<Value>(&session, "Contact", &id("003R000000ATjnDIAT"), &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn update_sends_patch_and_if_unmodified_since() {
    let (session, state) = server().await;
    let client = client();
    let opp = id("0067F000003pmdWQAQ");
    client
        .update_record(
            &session,
            "Opportunity",
            &opp,
            &json!({"StageName": "Closed Won", "Amount": null}),
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    let first = &seen(&state)[0];
    assert_eq!(first.method, Method::PATCH);
    assert_eq!(
        first.uri,
        "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ"
    );
    assert_eq!(
        first.json(),
        json!({"StageName": "Closed Won", "Amount": null})
    );
    assert_eq!(first.header("if-unmodified-since"), None);

    let err = client
        .update_record(
            &session,
            "Opportunity",
            &opp,
            &json!({"StageName": "Closed Won"}),
            UpdateOptions {
                if_unmodified_since: Some(datetime!(2024-01-01 00:00:00.250 UTC)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);

    let err = client
        .update_record(
            &session,
            "Opportunity",
            &opp,
            &json!({"StageName": "Bogus"}),
            UpdateOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.fields(), vec!["StageName"]);
}

#[tokio::test]
async fn delete_and_a_deleted_record() {
    let (session, state) = server().await;
    let client = client();
    client
        .delete_record(&session, "Task", &id("00TB0000003LgMzMAK"))
        .await
        .unwrap();
    assert_eq!(seen(&state)[0].method, Method::DELETE);
    let err = client
        .delete_record(&session, "Task", &id("00TB0000003LgNaMAK"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.api_errors()[0].error_code, "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn upsert_tells_created_from_updated_and_several_matches() {
    let (session, state) = server().await;
    let client = client();
    let created = client
        .upsert_record(
            &session,
            "Account",
            "Ext_Id__c",
            "new-1",
            &json!({"Name": "Acme"}),
        )
        .await
        .unwrap();
    assert_eq!(created, Upserted::Created(id("001D000000Kv3g6IAB")));
    // A `/` in the value stays inside its path segment.
    let updated = client
        .upsert_record(
            &session,
            "Account",
            "Ext_Id__c",
            "A/7",
            &json!({"Name": "Acme"}),
        )
        .await
        .unwrap();
    assert_eq!(updated, Upserted::Updated(Some(id("001D000000Kv3g5IAB"))));
    assert_eq!(
        seen(&state)[1].uri,
        "/services/data/v58.0/sobjects/Account/Ext_Id__c/A%2F7"
    );
    let err = client
        .upsert_record(
            &session,
            "Account",
            "Ext_Id__c",
            "dup",
            &json!({"Name": "Acme"}),
        )
        .await
        .unwrap_err();
    match &err {
        Error::MultipleMatches { records } => assert_eq!(records.len(), 2),
        other => panic!("expected several matches, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::MultipleMatches);
}

#[tokio::test]
async fn describe_gives_types_required_fields_and_picklists() {
    let (session, state) = server().await;
    let client = client();
    let opp = client.describe(&session, "Opportunity").await.unwrap();
    assert_eq!(
        seen(&state)[0].uri,
        "/services/data/v58.0/sobjects/Opportunity/describe"
    );
    assert_eq!(opp.key_prefix.as_deref(), Some("006"));
    let stage = opp.field("StageName").unwrap();
    assert_eq!(stage.field_type, FieldType::Picklist);
    assert!(stage.is_required_on_create());
    let active: Vec<&str> = stage.active_values().map(|v| v.value.as_str()).collect();
    assert_eq!(active, vec!["Prospecting", "Closed Won"]);
    assert_eq!(opp.field("Name").unwrap().length, 120);
    assert!(!opp.field("Id").unwrap().is_required_on_create());
    assert!(!opp.field("Probability").unwrap().is_required_on_create());
    assert_eq!(
        opp.field("AccountId").unwrap().reference_to,
        vec!["Account"]
    );
    assert_eq!(
        opp.field("Geo__c").unwrap().field_type,
        FieldType::Other("location".into())
    );

    let lead = client.describe(&session, "Lead").await.unwrap();
    let status = lead.field("Status").unwrap();
    assert!(!status.is_required_on_create(), "defaulted on create");
    assert_eq!(
        status.default_value().unwrap().value,
        "Open - Not Contacted"
    );
    assert!(lead.field("LastName").unwrap().is_required_on_create());

    let task = client.describe(&session, "Task").await.unwrap();
    assert_eq!(
        task.field("Subject").unwrap().field_type,
        FieldType::Combobox
    );
    assert_eq!(
        task.field("Status").unwrap().default_value().unwrap().value,
        "Not Started"
    );
    assert_eq!(
        task.field("Priority")
            .unwrap()
            .default_value()
            .unwrap()
            .value,
        "Normal"
    );
    let subtype = task.field("TaskSubtype").unwrap();
    assert!(subtype.restricted_picklist);
    assert!(subtype.createable && !subtype.updateable, "create-only");
    assert!(subtype.active_values().any(|v| v.value == "Call"));
    assert_eq!(
        task.field("ActivityDate").unwrap().field_type,
        FieldType::Date
    );
}

#[tokio::test]
async fn opportunity_stages_carry_probabilities() {
    let (session, state) = server().await;
    let stages = client().opportunity_stages(&session).await.unwrap();
    assert_eq!(
        seen(&state)[0].uri,
        "/services/data/v58.0/query?q=SELECT+MasterLabel%2C+DefaultProbability%2C+IsClosed%2C+IsWon%2C+ForecastCategoryName+FROM+OpportunityStage"
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].master_label, "Prospecting");
    assert_eq!(stages[0].default_probability, Some(10.0));
    assert!(stages[1].is_closed && stages[1].is_won);
    assert_eq!(stages[1].forecast_category_name.as_deref(), Some("Closed"));
}

#[tokio::test]
async fn composite_of_reads_is_one_call_with_typed_answers() {
    let (session, state) = server().await;
    let start = datetime!(2024-04-30 10:00:00 UTC);
    let end = datetime!(2024-05-01 10:05:00 UTC);
    let mut request = CompositeRequest::new(false);
    request
        .query(
            "Contact",
            "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id LIMIT 2000",
        )
        .unwrap()
        .deleted("ContactDeleted", "Contact", start, end)
        .unwrap()
        .get(
            "opp",
            "Opportunity",
            id("0067F000003pmdWQAQ"),
            &["Id", "StageName"],
        )
        .unwrap();
    assert!(request.is_read_only());
    let response = client().composite(&session, &request).await.unwrap();

    let sent = seen(&state);
    assert_eq!(sent.len(), 1, "one API call");
    assert_eq!(sent[0].uri, "/services/data/v58.0/composite");
    assert_eq!(
        sent[0].json(),
        json!({"allOrNone": false, "compositeRequest": [
            {"method": "GET", "referenceId": "Contact",
             "url": "/services/data/v58.0/query?q=SELECT+Id%2C+SystemModstamp+FROM+Contact+ORDER+BY+SystemModstamp%2C+Id+LIMIT+2000"},
            {"method": "GET", "referenceId": "ContactDeleted",
             "url": "/services/data/v58.0/sobjects/Contact/deleted/?start=2024-04-30T10%3A00%3A00%2B00%3A00&end=2024-05-01T10%3A05%3A00%2B00%3A00"},
            {"method": "GET", "referenceId": "opp",
             "url": "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ?fields=Id,StageName"}
        ]})
    );

    let contacts: salesforce::QueryResult<Value> = response.json("Contact").unwrap();
    assert_eq!(contacts.records[0]["Id"], "003R000000ATjnCIAT");
    let deleted: salesforce::DeletedRecords = response.json("ContactDeleted").unwrap();
    assert!(deleted.deleted_records.is_empty());
    assert!(deleted.covers(start));
    let opp = response.get("opp").unwrap();
    assert!(!opp.is_success());
    assert_eq!(opp.error().unwrap().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn composite_writes_with_references_and_processing_halted() {
    let (session, state) = server().await;
    let mut request = CompositeRequest::new(true);
    request
        .create(
            "newLead",
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .unwrap()
        .create(
            "callTask",
            "Task",
            &json!({
                "Subject": "Call",
                "TaskSubtype": "Call",
                "WhoId": salesforce::composite::reference("newLead", "id").unwrap(),
            }),
        )
        .unwrap();
    assert!(!request.is_read_only());
    let response = client().composite(&session, &request).await.unwrap();
    assert_eq!(
        seen(&state)[0].json(),
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Lead", "referenceId": "newLead",
             "body": {"LastName": "Smith", "Company": "Acme"}},
            {"method": "POST", "url": "/services/data/v58.0/sobjects/Task", "referenceId": "callTask",
             "body": {"Subject": "Call", "TaskSubtype": "Call", "WhoId": "@{newLead.id}"}}
        ]})
    );
    let lead = response.get("newLead").unwrap();
    assert!(lead.is_processing_halted());
    assert_eq!(lead.error().unwrap().kind(), ErrorKind::RolledBack);
    let task = response.get("callTask").unwrap();
    assert!(!task.is_processing_halted());
    let err = task.error().unwrap();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.fields(), vec!["WhatId"]);
}

#[tokio::test]
async fn collections_create_update_delete_with_per_item_results() {
    let (session, state) = server().await;
    let client = client();
    let records = vec![
        NewRecord::new("Lead", &json!({"LastName": "A", "Company": "X"})).unwrap(),
        NewRecord::new("Lead", &json!({"LastName": "B", "Company": "Y"})).unwrap(),
    ];
    let results = client
        .create_records(&session, &records, false)
        .await
        .unwrap();
    assert_eq!(
        seen(&state)[0].json(),
        json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "A", "Company": "X"},
            {"attributes": {"type": "Lead"}, "LastName": "B", "Company": "Y"}
        ]})
    );
    assert!(results[0].success);
    assert_eq!(results[0].id, Some(id("00QB000000AbCdEMAV")));
    assert!(!results[1].success);
    assert_eq!(results[1].errors[0].error_code, "DUPLICATES_DETECTED");
    assert_eq!(results[1].error().unwrap().kind(), ErrorKind::Validation);

    let results = client
        .create_records(&session, &records, true)
        .await
        .unwrap();
    assert!(results[0].is_rolled_back());
    assert!(!results[1].is_rolled_back());
    assert_eq!(results[1].errors[0].fields, vec!["Company"]);

    let update = RecordUpdate::new(
        "Opportunity",
        &id("0067F000003pmdWQAQ"),
        &json!({"StageName": "Closed Won"}),
    )
    .unwrap();
    let results = client
        .update_records(&session, &[update], false)
        .await
        .unwrap();
    assert!(results[0].success);
    let sent = seen(&state);
    assert_eq!(sent[2].method, Method::PATCH);
    assert_eq!(
        sent[2].json(),
        json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Opportunity"}, "Id": "0067F000003pmdWQAQ", "StageName": "Closed Won"}
        ]})
    );

    let results = client
        .delete_records(
            &session,
            &[id("00TB0000003LgMzMAK"), id("00TB0000003LgNaMAK")],
            false,
        )
        .await
        .unwrap();
    assert!(results[0].success);
    assert_eq!(results[1].error().unwrap().kind(), ErrorKind::NotFound);
    assert_eq!(
        seen(&state)[3].uri,
        "/services/data/v58.0/composite/sobjects?ids=00TB0000003LgMzMAK%2C00TB0000003LgNaMAK&allOrNone=false"
    );

    let too_many: Vec<RecordId> = (0..201).map(|_| id("00TB0000003LgMzMAK")).collect();
    let err = client
        .delete_records(&session, &too_many, false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(seen(&state).len(), 4);
}

#[tokio::test]
async fn updated_and_deleted_logs_and_query_all_and_limits() {
    let (session, state) = server().await;
    let client = client();
    let start = datetime!(2013-05-01 00:00:00 UTC);
    let end = datetime!(2013-05-09 00:00:00 UTC);
    let updated = client
        .updated_records(&session, "Contact", start, end)
        .await
        .unwrap();
    assert_eq!(
        updated.ids,
        vec![id("003D000000Oh8ZzIAJ"), id("003D000000Oh8a0IAB")]
    );
    assert_eq!(
        updated.latest_date_covered,
        datetime!(2013-05-08 21:20:00 UTC)
    );
    assert_eq!(
        seen(&state)[0].uri,
        "/services/data/v58.0/sobjects/Contact/updated/?start=2013-05-01T00%3A00%3A00%2B00%3A00&end=2013-05-09T00%3A00%3A00%2B00%3A00"
    );

    let deleted = client
        .deleted_records(&session, "Contact", start, end)
        .await
        .unwrap();
    assert_eq!(deleted.deleted_records[0].id, id("003D000000Oh8ZzIAJ"));
    assert_eq!(
        deleted.deleted_records[0].deleted_date,
        datetime!(2013-05-07 22:07:19 UTC)
    );
    assert_eq!(
        deleted.earliest_date_available,
        datetime!(2013-05-03 15:57:00 UTC)
    );
    assert!(
        !deleted.covers(start),
        "the log starts after the sync point: resync"
    );

    let all: salesforce::QueryResult<Value> = client
        .query_all(
            &session,
            "SELECT Id, IsDeleted FROM Contact",
            QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.records[1]["IsDeleted"], true);
    assert!(seen(&state)[2]
        .uri
        .starts_with("/services/data/v58.0/queryAll?q="));

    let limits = client.limits(&session).await.unwrap();
    assert_eq!(limits.daily_api_requests.max, 15000);
    assert_eq!(limits.daily_api_requests.remaining, 14998);
    assert!(limits.other.contains_key("DailyBulkApiRequests"));
}

#[tokio::test]
async fn a_read_is_retried_after_two_503s() {
    let (session, state) = server().await;
    state.lock().unwrap().fail_next = 2;
    let page: salesforce::QueryResult<Value> = client()
        .query(&session, "SELECT Id FROM Contact", QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(seen(&state).len(), 3);
}

#[tokio::test]
async fn reads_give_up_after_the_last_attempt() {
    let (session, state) = server().await;
    state.lock().unwrap().fail_next = 10;
    let err = client().limits(&session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(seen(&state).len(), 3, "max_attempts in all");
}

#[tokio::test]
async fn a_write_hit_by_a_503_is_not_sent_again() {
    let (session, state) = server().await;
    state.lock().unwrap().fail_next = 1;
    let err = client()
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        err.outcome_unknown(),
        "a 503 may come from behind a proxy after the save"
    );
    assert_eq!(seen(&state).len(), 1);

    // Nor a 500 on an update, nor a composite request with a write in it.
    let err = client()
        .update_record(
            &session,
            "Opportunity",
            &id("0067F000003pmdXQAQ"),
            &json!({"StageName": "Prospecting"}),
            UpdateOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(seen(&state).len(), 2);
    state.lock().unwrap().fail_next = 1;
    let mut request = CompositeRequest::new(true);
    request
        .create(
            "newLead",
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .unwrap();
    assert!(client().composite(&session, &request).await.is_err());
    assert_eq!(seen(&state).len(), 3);
}

#[tokio::test]
async fn a_composite_of_reads_is_retried() {
    let (session, state) = server().await;
    state.lock().unwrap().fail_next = 1;
    let mut request = CompositeRequest::new(false);
    request.query("Contact", "SELECT Id FROM Contact").unwrap();
    // The canned answer has three items; the request has one → a decode error, but only after
    // the retry got through.
    let err = client().composite(&session, &request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unexpected);
    assert_eq!(seen(&state).len(), 2);
}

#[tokio::test]
async fn row_lock_is_transient_and_limits_and_sessions_are_not_retried() {
    let (session, state) = server().await;
    let client = client();
    let err = client
        .query::<Value>(&session, "SELECT Id FROM Locked", QueryOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(
        seen(&state).len(),
        3,
        "UNABLE_TO_LOCK_ROW retried on a read"
    );

    let expired = RestSession::new(session.instance_url.as_str(), "old-token").unwrap();
    let err = client.limits(&expired).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SessionExpired);
    assert!(err.is_session_expired());
    assert_eq!(seen(&state).len(), 4, "an expired session is not retried");
}

#[tokio::test]
async fn request_limit_exceeded_is_rate_limited_and_not_retried() {
    let app = Router::new().fallback(|| async {
        reply(
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let session = RestSession::new(&format!("http://{addr}"), "at-1").unwrap();
    let client = client();
    let started = std::time::Instant::now();
    let err = client.limits(&session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(client.last_limit_info().unwrap().raw, "api-usage=25/15000");
}

#[tokio::test]
async fn a_slow_read_times_out_and_is_classified() {
    let app = Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        reply(200, "{}")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let session = RestSession::new(&format!("http://{addr}"), "at-1").unwrap();
    let client = Client::new(ClientOptions {
        timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .unwrap()
    .with_retry(RetryPolicy::none());
    let started = std::time::Instant::now();
    let err = client.limits(&session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.outcome_unknown());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_certainly_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let session = RestSession::new(&closed, "at-1").unwrap();
    let err = client()
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(!err.outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn collections_upsert_by_a_key_the_caller_wrote() {
    let (session, state) = server().await;
    let client = client();
    let records = vec![
        NewRecord::new(
            "Lead",
            &json!({"Companion_Key__c": "k-1", "LastName": "A", "Company": "X"}),
        )
        .unwrap(),
        NewRecord::new(
            "Lead",
            &json!({"Companion_Key__c": "k-2", "LastName": "B", "Company": "Y"}),
        )
        .unwrap(),
    ];
    let results = client
        .upsert_records(&session, "Lead", "Companion_Key__c", &records, false)
        .await
        .unwrap();
    assert_eq!(results[0].created, Some(true));
    assert_eq!(results[1].created, Some(false));
    let sent = &seen(&state)[0];
    assert_eq!(sent.method, Method::PATCH);
    assert_eq!(
        sent.uri,
        "/services/data/v58.0/composite/sobjects/Lead/Companion_Key__c"
    );
    assert_eq!(
        sent.json(),
        json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Lead"}, "Companion_Key__c": "k-1", "LastName": "A", "Company": "X"},
            {"attributes": {"type": "Lead"}, "Companion_Key__c": "k-2", "LastName": "B", "Company": "Y"}
        ]})
    );

    // A record without the key, or of another object, is refused before sending.
    let keyless = vec![NewRecord::new("Lead", &json!({"LastName": "C"})).unwrap()];
    let err = client
        .upsert_records(&session, "Lead", "Companion_Key__c", &keyless, false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(seen(&state).len(), 1);
}

#[tokio::test]
async fn composite_update_carries_if_unmodified_since_and_reads_back() {
    let (session, state) = server().await;
    let opp = id("0067F000003pmdWQAQ");
    let mut request = CompositeRequest::new(false);
    request
        .update_with(
            "change",
            "Opportunity",
            &opp,
            &json!({"StageName": "Closed Won"}),
            UpdateOptions {
                if_unmodified_since: Some(datetime!(2024-05-01 10:00:00.123 UTC)),
            },
        )
        .unwrap()
        .get(
            "after",
            "Opportunity",
            &opp,
            &["Id", "StageName", "SystemModstamp"],
        )
        .unwrap();
    let mut create_then_read = CompositeRequest::new(true);
    create_then_read
        .create(
            "newLead",
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .unwrap()
        .get(
            "readBack",
            "Lead",
            salesforce::IdOrReference::Reference(
                salesforce::composite::reference("newLead", "id").unwrap(),
            ),
            &["Id", "Status"],
        )
        .unwrap();
    // Only the request bodies matter here; the canned answers do not fit them.
    let client = client();
    let _ = client.composite(&session, &request).await;
    let _ = client.composite(&session, &create_then_read).await;
    let sent = seen(&state);
    assert_eq!(
        sent[0].json(),
        json!({"allOrNone": false, "compositeRequest": [
            {"method": "PATCH", "url": "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ",
             "referenceId": "change", "body": {"StageName": "Closed Won"},
             "httpHeaders": {"If-Unmodified-Since": "Wed, 01 May 2024 10:00:00 GMT"}},
            {"method": "GET", "url": "/services/data/v58.0/sobjects/Opportunity/0067F000003pmdWQAQ?fields=Id,StageName,SystemModstamp",
             "referenceId": "after"}
        ]})
    );
    assert_eq!(
        sent[1].json()["compositeRequest"][1],
        json!({"method": "GET", "url": "/services/data/v58.0/sobjects/Lead/@{newLead.id}?fields=Id,Status",
               "referenceId": "readBack"})
    );
}

#[tokio::test]
async fn a_read_stops_at_its_deadline_across_retries() {
    let app = Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        reply(200, "{}")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let session = RestSession::new(&format!("http://{addr}"), "at-1").unwrap();
    let client = Client::new(ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .unwrap()
    .with_retry(RetryPolicy {
        deadline: Duration::from_millis(300),
        ..RetryPolicy::default()
    });
    let started = std::time::Instant::now();
    let err = client.limits(&session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_token_that_cannot_be_a_header_is_refused_without_sending() {
    let (session, state) = server().await;
    let broken = RestSession::new(session.instance_url.as_str(), "at-1\r\nX-Evil: 1").unwrap();
    let err = client()
        .create_record(
            &broken,
            "Lead",
            &json!({"LastName": "Smith", "Company": "Acme"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    assert!(!err.outcome_unknown());
    assert!(seen(&state).is_empty());
}

#[tokio::test]
async fn collections_retrieve_keeps_order_and_marks_missing_rows() {
    let (session, state) = server().await;
    let rows: Vec<Option<Value>> = client()
        .retrieve_records(
            &session,
            "Contact",
            &[id("003R000000ATjnCIAT"), id("003R000000ATjnDIAT")],
            &["Id", "Name"],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].as_ref().unwrap()["Name"], "Tim Barr");
    assert!(rows[1].is_none());
    assert_eq!(
        seen(&state)[0].uri,
        "/services/data/v58.0/composite/sobjects/Contact?ids=003R000000ATjnCIAT%2C003R000000ATjnDIAT&fields=Id%2CName"
    );
}
