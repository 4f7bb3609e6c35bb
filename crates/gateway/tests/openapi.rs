//! `openapi.json` (the /v1 contract, in the repo) against the running gateway: every status the
//! gateway answers is documented, and every body it sends fits the documented schema.

mod support;

use companion_api::SyncRequest;
use serde_json::{json, Value};
use support::{Env, REP};

fn document() -> Value {
    let text = include_str!("../openapi.json");
    serde_json::from_str(text).expect("openapi.json is JSON")
}

/// Checks one answer: its status is documented for this operation, and its body (if the
/// documentation gives one) fits the schema.
async fn check(doc: &Value, method: &str, path: &str, response: reqwest::Response) -> Value {
    let status = response.status().as_u16().to_string();
    let body: Value = if response.content_length() == Some(0) {
        Value::Null
    } else {
        response.json().await.unwrap_or(Value::Null)
    };
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is documented");
    let mut documented = operation["responses"][&status].clone();
    assert!(
        documented.is_object(),
        "{method} {path} answered {status}, which is not documented: {body}"
    );
    if let Some(reference) = documented["$ref"].as_str() {
        documented = resolve(doc, reference);
    }
    let Some(reference) = documented["content"]["application/json"]["schema"]["$ref"].as_str()
    else {
        return body;
    };
    // The whole document is the root, so the schema's own `$ref`s resolve inside it.
    let mut schema = doc.clone();
    schema["$ref"] = json!(reference);
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not fit {reference}: {errors:?}\n{body}"
    );
    body
}

/// The outbound routes of a gateway with a secret (sfsim's org configured, a low rate so the
/// limit is reached): Ack, each refusal, the limit.
async fn outbound_answers_match(doc: &Value, env: &Env, message: &str) {
    const SECRET: &str = "openapi-outbound-secret-0123456789abc";
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = support::gateway_config(&env.sim.base_url(), data_dir.path());
    config.outbound_org_ids = vec![env.sim.org_id()];
    config.outbound_secret = Some(SECRET.into());
    config.outbound_rate_per_second = 2;
    let gateway = companion_gateway::start(config).await.unwrap();
    let post = |path: String, body: String| {
        env.http
            .post(format!("{}{path}", gateway.base_url()))
            .header("content-type", "text/xml; charset=utf-8")
            .body(body)
    };
    let with_secret = format!("/v1/salesforce/outbound/{SECRET}");
    let foreign = message.replace(&env.sim.org_id(), "00D7F00000107XsUAI");
    let answers = [
        (200, post(with_secret.clone(), message.to_string())),
        (403, post(with_secret.clone(), foreign)),
        (
            400,
            post(with_secret.clone(), format!("<!DOCTYPE x>{message}")),
        ),
        (413, post(with_secret.clone(), "x".repeat(2 * 1024 * 1024))),
        (
            404,
            post("/v1/salesforce/outbound/wrong".into(), message.into()),
        ),
    ];
    for (status, request) in answers {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status);
        check(doc, "post", "/v1/salesforce/outbound/{secret}", answer).await;
    }
    let basic = post("/v1/salesforce/outbound".into(), message.into())
        .basic_auth("salesforce", Some(SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    check(doc, "post", "/v1/salesforce/outbound", basic).await;
    // Two a second, bursts of eight: a few more attempts reach the limit.
    let mut limited = None;
    for _ in 0..40 {
        let answer = post(with_secret.clone(), message.into())
            .send()
            .await
            .unwrap();
        if answer.status() == 429 {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("the rate limit answers 429");
    check(doc, "post", "/v1/salesforce/outbound/{secret}", limited).await;
    gateway.shutdown().await;
}

fn resolve(doc: &Value, reference: &str) -> Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    doc.pointer(pointer).cloned().expect("the reference exists")
}

#[tokio::test]
async fn the_running_gateway_matches_its_openapi_document() {
    let doc = document();
    let env = Env::default().await;
    let http = &env.http;

    check(
        &doc,
        "get",
        "/healthz",
        http.get(env.url("/healthz")).send().await.unwrap(),
    )
    .await;
    check(
        &doc,
        "get",
        "/readyz",
        http.get(env.url("/readyz")).send().await.unwrap(),
    )
    .await;
    check(
        &doc,
        "get",
        "/metrics",
        http.get(env.url("/metrics")).send().await.unwrap(),
    )
    .await;
    check(
        &doc,
        "get",
        "/v1/auth/config",
        http.get(env.url("/v1/auth/config")).send().await.unwrap(),
    )
    .await;

    // Errors: missing session, malformed body, oversized body, a forged cursor.
    check(
        &doc,
        "get",
        "/v1/me",
        http.get(env.url("/v1/me")).send().await.unwrap(),
    )
    .await;
    let malformed = http
        .post(env.url("/v1/auth/exchange"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/auth/exchange", malformed).await;
    let oversized = http
        .post(env.url("/v1/auth/exchange"))
        .json(&json!({"code": "x".repeat(200 * 1024)}))
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/auth/exchange", oversized).await;

    // A real sign-in through sfsim's form, then every signed-in call.
    let (code, verifier) = env.authorize(REP).await;
    let exchange = http
        .post(env.url("/v1/auth/exchange"))
        .json(&json!({
            "code": code, "code_verifier": verifier,
            "redirect_uri": support::REDIRECT_URI, "login_host": env.sim.base_url()
        }))
        .send()
        .await
        .unwrap();
    let signed_in = check(&doc, "post", "/v1/auth/exchange", exchange).await;
    let session = signed_in["session_token"].as_str().unwrap().to_string();

    let me = http
        .get(env.url("/v1/me"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    check(&doc, "get", "/v1/me", me).await;

    let mut request = SyncRequest::default();
    loop {
        let page = env.sync_raw(&session, &request).await;
        let page = check(&doc, "post", "/v1/sync", page).await;
        request.cursors = serde_json::from_value(page["cursors"].clone()).unwrap();
        if page["more"] == false {
            break;
        }
    }
    // A lead converted since: a page with a Lead deletion (dated by its SystemModstamp).
    let rep_lead = env
        .sim
        .records("Lead")
        .into_iter()
        .find(|r| r["OwnerId"] == env.sim.user_id(REP).unwrap().as_str())
        .unwrap();
    env.sim
        .convert_lead(rep_lead["Id"].as_str().unwrap())
        .unwrap();
    let page = check(
        &doc,
        "post",
        "/v1/sync",
        env.sync_raw(&session, &request).await,
    )
    .await;
    assert_eq!(page["deleted"][0]["Id"], rep_lead["Id"]);
    request.cursors = serde_json::from_value(page["cursors"].clone()).unwrap();
    let mut forged = request.clone();
    for cursor in forged.cursors.values_mut() {
        cursor.push('x');
    }
    check(
        &doc,
        "post",
        "/v1/sync",
        env.sync_raw(&session, &forged).await,
    )
    .await;

    for object in ["Opportunity", "Task", "Widget"] {
        let describe = http
            .get(env.url(&format!("/v1/describe/{object}")))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap();
        check(&doc, "get", "/v1/describe/{object}", describe).await;
    }

    let counts = http
        .post(env.url("/v1/sync/counts"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/sync/counts", counts).await;
    for body in [
        json!({"object": "Contact"}),
        json!({"object": "Contact", "after": "not-an-id"}),
        json!({"object": "Lead"}),
    ] {
        let ids = http
            .post(env.url("/v1/sync/ids"))
            .bearer_auth(&session)
            .json(&body)
            .send()
            .await
            .unwrap();
        check(&doc, "post", "/v1/sync/ids", ids).await;
    }

    // Change hints and outbound messages: their errors (the hint stream itself never ends, and
    // its events are checked against ChangeHint in tests/outbound.rs).
    check(
        &doc,
        "get",
        "/v1/events",
        http.get(env.url("/v1/events")).send().await.unwrap(),
    )
    .await;
    let outbound = |body: String| {
        http.post(env.url("/v1/salesforce/outbound"))
            .header("content-type", "text/xml; charset=utf-8")
            .body(body)
            .send()
    };
    let message = format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{}</OrganizationId>
<Notification><Id>04l7F000008aeAyQAI</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/></Notification>
</notifications></soapenv:Body></soapenv:Envelope>"#,
        env.sim.org_id()
    );
    // No outbound secret is configured here: every message is 404, as an unknown path is.
    let answers = [
        outbound(message.clone()).await.unwrap(),
        outbound(format!("<!DOCTYPE x>{message}")).await.unwrap(),
        outbound("x".repeat(2 * 1024 * 1024)).await.unwrap(),
    ];
    for answer in answers {
        assert_eq!(answer.status(), 404);
        check(&doc, "post", "/v1/salesforce/outbound", answer).await;
    }
    outbound_answers_match(&doc, &env, &message).await;

    // Writes: a lead, a refused one, a task, an opportunity conflict, a batch.
    let lead = http
        .post(env.url("/v1/leads"))
        .bearer_auth(&session)
        .header("Idempotency-Key", "openapi-lead")
        .json(&json!({"FirstName": "Open", "LastName": "Api", "Company": "Docs"}))
        .send()
        .await
        .unwrap();
    let lead = check(&doc, "post", "/v1/leads", lead).await;
    let keyless = http
        .post(env.url("/v1/leads"))
        .bearer_auth(&session)
        .json(&json!({"LastName": "Api", "Company": "Docs"}))
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/leads", keyless).await;
    let task = http
        .post(env.url("/v1/tasks"))
        .bearer_auth(&session)
        .header("Idempotency-Key", "openapi-task")
        .json(&json!({"kind": "call", "fields": {"Subject": "Call", "WhoId": lead["Id"]}}))
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/tasks", task).await;
    let rep = env.sim.user_id(REP).unwrap();
    let opp = env
        .sim
        .records("Opportunity")
        .into_iter()
        .find(|r| r["OwnerId"] == rep.as_str())
        .unwrap();
    let stale = http
        .patch(env.url(&format!(
            "/v1/opportunities/{}",
            opp["Id"].as_str().unwrap()
        )))
        .bearer_auth(&session)
        .header("Idempotency-Key", "openapi-opp")
        .json(
            &json!({"seen_system_modstamp": "2001-01-01T00:00:00.000+0000",
                      "fields": {"StageName": "Closed Won"}}),
        )
        .send()
        .await
        .unwrap();
    let conflict = check(&doc, "patch", "/v1/opportunities/{id}", stale).await;
    assert_eq!(conflict["error"]["code"], "conflict");
    let contact = env
        .sim
        .records("Contact")
        .into_iter()
        .find(|r| r["OwnerId"] == rep.as_str())
        .unwrap();
    let contact_path = format!("/v1/contacts/{}", contact["Id"].as_str().unwrap());
    for (key, seen, status) in [
        ("openapi-c1", json!("2001-01-01T00:00:00.000+0000"), 409),
        ("openapi-c2", contact["SystemModstamp"].clone(), 200),
    ] {
        let answer = http
            .patch(env.url(&contact_path))
            .bearer_auth(&session)
            .header("Idempotency-Key", key)
            .json(&json!({"seen_system_modstamp": seen, "fields": {"Title": "Documented"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status);
        check(&doc, "patch", "/v1/contacts/{id}", answer).await;
    }
    let contact = env
        .sim
        .records("Contact")
        .into_iter()
        .find(|r| r["Id"] == contact["Id"])
        .unwrap();
    let batch = http
        .post(env.url("/v1/batch"))
        .bearer_auth(&session)
        .json(&json!({"writes": [
            {"kind": "create_lead", "idempotency_key": "openapi-b1",
             "body": {"LastName": "Batch", "Company": "Docs"}},
            {"kind": "create_lead", "idempotency_key": "openapi-b2", "body": {"LastName": "NoCompany"}},
            {"kind": "update_opportunity", "idempotency_key": "openapi-b3", "id": opp["Id"],
             "body": {"seen_system_modstamp": opp["SystemModstamp"], "fields": {"Amount": 1234, "NextStep": "Docs"}}},
            {"kind": "update_contact", "idempotency_key": "openapi-b4", "id": contact["Id"],
             "body": {"seen_system_modstamp": contact["SystemModstamp"], "fields": {"Phone": "+1 555 0100"}}},
            {"kind": "create_task", "idempotency_key": "openapi-b5",
             "body": {"kind": "follow_up", "fields": {"Subject": "Remind", "ActivityDate": "2031-01-01",
                      "IsReminderSet": true, "ReminderDateTime": "2031-01-01T09:00:00Z"}}}
        ]}))
        .send()
        .await
        .unwrap();
    let batch = check(&doc, "post", "/v1/batch", batch).await;
    let statuses: Vec<_> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 422, 200, 200, 201]);

    let logout = http
        .post(env.url("/v1/auth/logout"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    check(&doc, "post", "/v1/auth/logout", logout).await;
    env.shutdown().await;
}

/// The document says `additionalProperties: false` of every request body, and the gateway holds
/// to it: a property it does not know is refused (400 `bad_request`), even beside a request that
/// would otherwise pass, and nothing happens.
#[tokio::test]
async fn a_request_body_with_an_unknown_property_is_refused() {
    let doc = document();
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let (code, verifier) = env.authorize(REP).await;
    let requests = [
        (
            "/v1/auth/exchange",
            None,
            json!({"code": &code, "code_verifier": &verifier, "redirect_uri": support::REDIRECT_URI,
                   "login_host": env.sim.base_url(), "remember_me": true}),
        ),
        (
            "/v1/sync",
            Some(&session),
            json!({"cursors": {}, "page_size": 10}),
        ),
        (
            "/v1/sync/ids",
            Some(&session),
            json!({"object": "Contact", "limit": 5}),
        ),
    ];
    for (path, session, body) in requests {
        let mut request = env.http.post(env.url(path)).json(&body);
        if let Some(session) = session {
            request = request.bearer_auth(session);
        }
        let answer = check(&doc, "post", path, request.send().await.unwrap()).await;
        assert_eq!(answer["error"]["code"], "bad_request", "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("unknown field"), "{path}: {message}");
    }
    // Refused before Salesforce saw the code (a code is good once): without the unknown
    // property, the same code signs in.
    let fine = env
        .http
        .post(env.url("/v1/auth/exchange"))
        .json(&json!({"code": code, "code_verifier": verifier,
                      "redirect_uri": support::REDIRECT_URI, "login_host": env.sim.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
    env.shutdown().await;
}

#[test]
fn every_operation_in_the_document_documents_its_errors_in_the_one_shape() {
    let doc = document();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["$ref"], "#/components/responses/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// Every operation but the probes can be shed (503), and every one but the probes and the hint
/// stream can run past the request timeout (504).
#[test]
fn every_operation_behind_the_limits_documents_503_and_504() {
    let doc = document();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
            continue;
        }
        for (method, operation) in operations.as_object().unwrap() {
            let responses = &operation["responses"];
            assert!(responses["503"].is_object(), "{method} {path} 503");
            if path != "/v1/events" {
                assert!(responses["504"].is_object(), "{method} {path} 504");
            }
        }
    }
    let codes =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    assert!(codes
        .as_array()
        .unwrap()
        .contains(&json!(companion_api::code::UNAVAILABLE)));
}
