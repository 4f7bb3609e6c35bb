//! The client against the simulated org: the full OAuth round and query paging.

use std::collections::HashMap;

use base64::Engine as _;
use salesforce::{Client, ClientOptions, OAuthApp, QueryOptions, RecordId, RestSession};
use serde_json::Value;
use sha2::{Digest, Sha256};

const REDIRECT_URI: &str = "companion://oauth/callback";

/// Play the browser on sfsim's login form; returns (code, verifier).
async fn authorize(base: &str, username: &str) -> (String, String) {
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789".to_string();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [
        ("response_type", "code"),
        ("client_id", sfsim::DEMO_CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "api refresh_token"),
        ("code_challenge", &challenge),
        ("username", username),
        ("password", sfsim::DEMO_PASSWORD),
    ];
    let answer = browser
        .post(format!("{base}/services/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    (query["code"].clone(), verifier)
}

#[tokio::test]
async fn sign_in_identity_paged_query_refresh_and_revoke() {
    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);

    let (code, verifier) = authorize(&base, "admin@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .expect("signature verifies with the demo secret");
    let ids = token.identity_ids().unwrap();
    assert_eq!(ids.org_id.as_str(), sim.org_id());
    assert_eq!(
        Some(ids.user_id.to_string()),
        sim.user_id("admin@demo.example")
    );
    let identity = client
        .identity(&token.id, &token.access_token)
        .await
        .unwrap();
    assert_eq!(identity.username, "admin@demo.example");

    // The admin sees every contact; batches of 200 make the client follow nextRecordsUrl.
    let session = RestSession::new(&token.instance_url, token.access_token.clone()).unwrap();
    let rows: Vec<Value> = client
        .query_all_batches(
            &session,
            "SELECT Id, Name FROM Contact ORDER BY Id",
            QueryOptions {
                batch_size: Some(200),
            },
        )
        .await
        .unwrap();
    let all = sim.records("Contact");
    assert!(
        all.len() > 200,
        "the demo org has more contacts than one batch"
    );
    assert_eq!(rows.len(), all.len());
    for row in &rows {
        RecordId::parse_for("Contact", row["Id"].as_str().unwrap()).unwrap();
    }
    let usage = client.last_limit_info().expect("Sforce-Limit-Info kept");
    assert_eq!(usage.used, sim.api_calls());

    // Expiry → INVALID_SESSION_ID; refresh → a new access token that works.
    sim.expire_access_tokens();
    let err = client
        .query::<Value>(&session, "SELECT Id FROM Account", QueryOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_session_expired(), "{err:?}");
    let refresh_token = token.refresh_token.clone().unwrap();
    let fresh = client
        .refresh_token(&base, &app, &refresh_token)
        .await
        .unwrap();
    let session = RestSession::new(&fresh.instance_url, fresh.access_token.clone()).unwrap();
    client
        .query::<Value>(&session, "SELECT Id FROM Account", QueryOptions::default())
        .await
        .unwrap();

    // Revoked: the refresh token is refused with invalid_grant.
    client.revoke_token(&base, &refresh_token).await.unwrap();
    let err = client
        .refresh_token(&base, &app, &refresh_token)
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");

    // The wrong secret: sfsim refuses the client (or the signature would not verify).
    let (code, verifier) = authorize(&base, "rep@demo.example").await;
    let wrong = OAuthApp::new(sfsim::DEMO_CLIENT_ID, "not-the-secret");
    assert!(client
        .exchange_code(&base, &wrong, &code, &verifier, REDIRECT_URI)
        .await
        .is_err());
    sim.shutdown().await;
}

/// Rows, describe, stages, change logs, queryAll and limits against the simulated org: the two
/// were written apart from the same reference, so agreement here is a fidelity check.
#[tokio::test]
async fn rows_describe_change_logs_and_limits() {
    use salesforce::{ErrorKind, UpdateOptions};
    use serde_json::json;

    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let (code, verifier) = authorize(&base, "admin@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    let session = RestSession::new(&token.instance_url, token.access_token.clone()).unwrap();

    // Create; Status is defaulted on create.
    let created = client
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Fidelity", "Company": "Acme"}),
        )
        .await
        .unwrap();
    assert_eq!(created.id.key_prefix(), "00Q");
    assert!(created
        .location
        .as_deref()
        .unwrap()
        .ends_with(&format!("/sobjects/Lead/{}", created.id)));
    let lead: Value = client
        .get_record(
            &session,
            "Lead",
            &created.id,
            &["Id", "Company", "Status", "SystemModstamp"],
        )
        .await
        .unwrap();
    assert_eq!(lead["Company"], "Acme");
    assert_eq!(lead["Status"], "Open - Not Contacted");

    let err = client
        .create_record(&session, "Lead", &json!({"LastName": "NoCompany"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err:?}");
    assert!(err.fields().contains(&"Company"), "{err:?}");

    // Update, then an update conditional on a time before the record's last change.
    client
        .update_record(
            &session,
            "Lead",
            &created.id,
            &json!({"Company": "Acme Two"}),
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    let lead: Value = client
        .get_record(
            &session,
            "Lead",
            &created.id,
            &["Company", "SystemModstamp"],
        )
        .await
        .unwrap();
    assert_eq!(lead["Company"], "Acme Two");
    let modstamp =
        salesforce::soql::parse_datetime(lead["SystemModstamp"].as_str().unwrap()).unwrap();
    // Conditional on the SystemModstamp just read (milliseconds and all): nothing changed
    // since, so it goes through.
    client
        .update_record(
            &session,
            "Lead",
            &created.id,
            &json!({"Title": "Buyer"}),
            UpdateOptions {
                if_unmodified_since: Some(modstamp),
            },
        )
        .await
        .unwrap();
    let err = client
        .update_record(
            &session,
            "Lead",
            &created.id,
            &json!({"Company": "Stale"}),
            UpdateOptions {
                if_unmodified_since: Some(modstamp - time::Duration::hours(1)),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err:?}");

    // Describe and the stage table.
    let opportunity = client.describe(&session, "Opportunity").await.unwrap();
    let stage = opportunity.field("StageName").unwrap();
    assert!(stage.active_values().any(|v| v.value == "Prospecting"));
    let lead_describe = client.describe(&session, "Lead").await.unwrap();
    assert_eq!(
        lead_describe
            .field("Status")
            .unwrap()
            .default_value()
            .map(|v| v.value.as_str()),
        Some("Open - Not Contacted")
    );
    // Delete: gone for reads, in the delete log and in queryAll.
    client
        .delete_record(&session, "Lead", &created.id)
        .await
        .unwrap();
    let err = client
        .get_record::<Value>(&session, "Lead", &created.id, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    let deleted = client
        .deleted_records(
            &session,
            "Lead",
            modstamp - time::Duration::hours(1),
            modstamp + time::Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(
        deleted.deleted_records.iter().any(|d| d.id == created.id),
        "{deleted:?}"
    );
    let all: salesforce::QueryResult<Value> = client
        .query_all(
            &session,
            &format!(
                "SELECT Id, IsDeleted FROM Lead WHERE Id = {}",
                salesforce::soql::string_literal(created.id.as_str())
            ),
            QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.records.len(), 1);
    assert_eq!(all.records[0]["IsDeleted"], true);

    let limits = client.limits(&session).await.unwrap();
    assert!(limits.daily_api_requests.max > 0);
    assert!(limits.daily_api_requests.remaining < limits.daily_api_requests.max);
    sim.shutdown().await;
}

/// The stage table the app shows probabilities from (describe carries none).
#[tokio::test]
async fn opportunity_stages_from_sfsim() {
    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let (code, verifier) = authorize(&base, "rep@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    let session = RestSession::new(&token.instance_url, token.access_token.clone()).unwrap();
    let stages = client.opportunity_stages(&session).await.unwrap();
    let won = stages
        .iter()
        .find(|s| s.master_label == "Closed Won")
        .unwrap();
    assert_eq!(won.default_probability, Some(100.0));
    assert!(won.is_closed && won.is_won);
    let prospecting = stages
        .iter()
        .find(|s| s.master_label == "Prospecting")
        .unwrap();
    assert_eq!(prospecting.default_probability, Some(10.0));
    assert!(!prospecting.is_closed);
    sim.shutdown().await;
}

/// Integration-user mode: the client-credentials grant gives a signed token for the Run-As user
/// and no refresh token; without a Run-As user it is `invalid_grant`.
#[tokio::test]
async fn client_credentials_against_sfsim() {
    let config = sfsim::SimConfig {
        client_credentials_user: Some("admin@demo.example".into()),
        ..sfsim::SimConfig::default()
    };
    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let token = client
        .client_credentials(&sim.base_url(), &app)
        .await
        .expect("signature verifies");
    assert!(token.refresh_token.is_none());
    assert_eq!(
        Some(token.identity_ids().unwrap().user_id.to_string()),
        sim.user_id("admin@demo.example")
    );
    let session = RestSession::from_token(&token).unwrap();
    client.limits(&session).await.unwrap();
    sim.shutdown().await;

    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let err = client
        .client_credentials(&sim.base_url(), &app)
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    sim.shutdown().await;
}

/// sfsim's fault injection: a read survives two 503s; a write whose answer is lost reports an
/// unknown outcome (and did land); a write hit by a 503 is not sent again; an exhausted API
/// allocation is `RateLimited`.
#[tokio::test]
async fn faults_retries_and_unknown_outcomes_against_sfsim() {
    use salesforce::{ErrorKind, RetryPolicy};
    use serde_json::json;
    use std::time::Duration;

    let config = sfsim::SimConfig {
        control: true,
        ..sfsim::SimConfig::default()
    };
    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions {
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
    });
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let (code, verifier) = authorize(&base, "admin@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    let session = RestSession::new(&token.instance_url, token.access_token.clone()).unwrap();
    let control = reqwest::Client::new();
    let fault = |body: Value| {
        let control = control.clone();
        let url = format!("{base}/__sim/faults");
        async move {
            let answer = control.post(url).json(&body).send().await.unwrap();
            assert!(
                answer.status().is_success(),
                "{}",
                answer.text().await.unwrap()
            );
        }
    };

    fault(json!({"status": 503, "count": 2})).await;
    client
        .limits(&session)
        .await
        .expect("third attempt succeeds");

    let leads_before = sim.records("Lead").len();
    fault(json!({"drop_connection": "after"})).await;
    let err = client
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Lost", "Company": "Acme"}),
        )
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(sim.records("Lead").len(), leads_before + 1, "it landed");

    fault(json!({"status": 503})).await;
    let err = client
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Once", "Company": "Acme"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(
        sim.records("Lead").len(),
        leads_before + 1,
        "not sent again"
    );

    fault(json!({"api_limit_exhausted": true})).await;
    let err = client.limits(&session).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err:?}");
    sim.shutdown().await;
}

/// Composite and sObject Collections against the simulated org: one API call for several
/// reads, references between subrequests, allOrNone rollback, per-item results.
#[tokio::test]
async fn composite_and_collections_against_sfsim() {
    use salesforce::{
        composite::reference, CompositeRequest, ErrorKind, IdOrReference, NewRecord, RecordUpdate,
    };
    use serde_json::json;

    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let (code, verifier) = authorize(&base, "admin@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    let session = RestSession::from_token(&token).unwrap();
    let opportunity =
        RecordId::parse(sim.records("Opportunity")[0]["Id"].as_str().unwrap()).unwrap();

    // Several reads, one API call (what a no-change sync costs).
    let now = time::OffsetDateTime::now_utc();
    let mut reads = CompositeRequest::new(false);
    reads
        .query(
            "Contact",
            "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id LIMIT 5",
        )
        .unwrap()
        .deleted(
            "ContactDeleted",
            "Contact",
            now - time::Duration::hours(1),
            now,
        )
        .unwrap()
        .get("opp", "Opportunity", &opportunity, &["Id", "StageName"])
        .unwrap();
    let calls_before = sim.api_calls();
    let answer = client.composite(&session, &reads).await.unwrap();
    assert_eq!(sim.api_calls(), calls_before + 1, "one API call");
    let contacts: salesforce::QueryResult<Value> = answer.json("Contact").unwrap();
    assert_eq!(contacts.records.len(), 5);
    let deleted: salesforce::DeletedRecords = answer.json("ContactDeleted").unwrap();
    assert!(deleted.latest_date_covered <= now + time::Duration::minutes(1));
    let opp: Value = answer.json("opp").unwrap();
    assert_eq!(opp["Id"], opportunity.as_str());

    // A lead and a call logged on it, the task referring to the new lead; read back.
    let mut writes = CompositeRequest::new(true);
    writes
        .create(
            "newLead",
            "Lead",
            &json!({"LastName": "Composite", "Company": "Acme"}),
        )
        .unwrap()
        .create(
            "call",
            "Task",
            &json!({"Subject": "Call", "TaskSubtype": "Call", "Status": "Completed",
                    "WhoId": reference("newLead", "id").unwrap()}),
        )
        .unwrap()
        .get(
            "readBack",
            "Lead",
            IdOrReference::Reference(reference("newLead", "id").unwrap()),
            &["Id", "Status"],
        )
        .unwrap();
    let answer = client.composite(&session, &writes).await.unwrap();
    let lead: salesforce::SaveResult = answer.json("newLead").unwrap();
    let lead_id = lead.id.unwrap();
    let read_back: Value = answer.json("readBack").unwrap();
    assert_eq!(read_back["Status"], "Open - Not Contacted");
    let task: salesforce::SaveResult = answer.json("call").unwrap();
    let task_id = task.id.unwrap();

    // All or none: the invalid lead fails, the valid one is rolled back.
    let leads_before = sim.records("Lead").len();
    let mut failing = CompositeRequest::new(true);
    failing
        .create(
            "good",
            "Lead",
            &json!({"LastName": "Good", "Company": "Acme"}),
        )
        .unwrap()
        .create("bad", "Lead", &json!({"LastName": "Bad"}))
        .unwrap();
    let answer = client.composite(&session, &failing).await.unwrap();
    assert!(answer.get("good").unwrap().is_processing_halted());
    let bad = answer.get("bad").unwrap().error().unwrap();
    assert_eq!(bad.kind(), ErrorKind::Validation);
    assert_eq!(sim.records("Lead").len(), leads_before);

    // Collections: per-item results, then all-or-none.
    let records = [
        NewRecord::new("Lead", &json!({"LastName": "C1", "Company": "Acme"})).unwrap(),
        NewRecord::new("Lead", &json!({"LastName": "C2"})).unwrap(),
    ];
    let results = client
        .create_records(&session, &records, false)
        .await
        .unwrap();
    assert!(results[0].success);
    assert_eq!(results[1].kind(), Some(ErrorKind::Validation));
    assert!(results[1].errors[0].fields.contains(&"Company".to_string()));
    let rolled = client
        .create_records(&session, &records, true)
        .await
        .unwrap();
    assert!(rolled[0].is_rolled_back(), "{rolled:?}");
    assert!(!rolled[1].success && !rolled[1].is_rolled_back());

    let created = results[0].id.clone().unwrap();
    let rows: Vec<Option<Value>> = client
        .retrieve_records(
            &session,
            "Lead",
            std::slice::from_ref(&created),
            &["Id", "LastName", "Status"],
        )
        .await
        .unwrap();
    let row = rows[0].as_ref().unwrap();
    assert_eq!(row["LastName"], "C1");
    assert_eq!(row["Status"], "Open - Not Contacted");
    let updates = [RecordUpdate::new("Lead", &created, &json!({"Title": "Buyer"})).unwrap()];
    let updated = client
        .update_records(&session, &updates, false)
        .await
        .unwrap();
    assert!(updated[0].success, "{updated:?}");
    let removed = client
        .delete_records(&session, &[created.clone(), task_id, lead_id], false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.success), "{removed:?}");
    let again = client
        .delete_records(&session, &[created], false)
        .await
        .unwrap();
    assert_eq!(again[0].kind(), Some(ErrorKind::NotFound), "{again:?}");
    sim.shutdown().await;
}

/// A conditional update inside a composite request: `If-Unmodified-Since` travels in the
/// subrequest's `httpHeaders` (a documented Composite Subrequest property).
#[tokio::test]
async fn composite_conditional_update_against_sfsim() {
    use salesforce::{CompositeRequest, ErrorKind, UpdateOptions};
    use serde_json::json;

    let sim = sfsim::start("127.0.0.1:0".parse().unwrap(), sfsim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let client = Client::new(ClientOptions::default()).unwrap();
    let app = OAuthApp::new(sfsim::DEMO_CLIENT_ID, sfsim::DEMO_CLIENT_SECRET);
    let (code, verifier) = authorize(&base, "admin@demo.example").await;
    let token = client
        .exchange_code(&base, &app, &code, &verifier, REDIRECT_URI)
        .await
        .unwrap();
    let session = RestSession::from_token(&token).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let lead_id = client
        .create_record(
            &session,
            "Lead",
            &json!({"LastName": "Guarded", "Company": "Acme"}),
        )
        .await
        .unwrap()
        .id;
    // A conditional update that lost the race answers 412 in its slot; the read beside it
    // still gives the record as it is now.
    let mut guarded = CompositeRequest::new(false);
    guarded
        .update_with(
            "change",
            "Lead",
            &lead_id,
            &json!({"Company": "Stale"}),
            UpdateOptions {
                if_unmodified_since: Some(now - time::Duration::days(1)),
            },
        )
        .unwrap()
        .get("current", "Lead", &lead_id, &["Company"])
        .unwrap();
    let answer = client.composite(&session, &guarded).await.unwrap();
    let change = answer.get("change").unwrap();
    assert_eq!(change.http_status_code, 412);
    assert_eq!(
        change.error().unwrap().kind(),
        ErrorKind::PreconditionFailed
    );
    let current: Value = answer.json("current").unwrap();
    assert_eq!(current["Company"], "Acme");

    sim.shutdown().await;
}
