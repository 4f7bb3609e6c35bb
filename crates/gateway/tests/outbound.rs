//! Outbound messages and change hints, end to end: sfsim (or a hand-written message from reference
//! §5.1) posts to the gateway's `/v1/salesforce/outbound/{secret}` (or with the secret as Basic
//! credentials), a rep listens on `/v1/events`.

mod support;

use std::time::Duration;

use companion_api::ChangeHint;
use companion_gateway::Tuning;
use serde_json::{json, Value};
use sfsim::SimConfig;
use support::outbound::{message, notification_id, Hints};
use support::{error_of, start_sim, Env, REP};

/// Another org (the reference's captured one); never sfsim's.
const OTHER_ORG: &str = "00D7F00000107XsUAI";

/// The gateway's outbound secret; sfsim's rule posts to `…/v1/salesforce/outbound/SECRET`.
const SECRET: &str = "outbound-secret-for-tests-0123456789";

/// Reference §5.2, byte for byte.
const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>"#;

/// What a test needs: sfsim with an outbound rule for Contacts pointing at the gateway (its
/// path with the secret), and a gateway that accepts the org ids `org_ids` gives for sfsim's org
/// id.
async fn start(org_ids: impl FnOnce(String) -> Vec<String>, tuning: Tuning) -> Env {
    start_with(
        org_ids,
        |gateway| format!("http://{gateway}/v1/salesforce/outbound/{SECRET}"),
        |_| {},
        tuning,
    )
    .await
}

/// [`start`] with sfsim's endpoint URL made from the gateway's `HOST:PORT`, and the gateway's
/// config changed by `configure`.
async fn start_with(
    org_ids: impl FnOnce(String) -> Vec<String>,
    endpoint: impl FnOnce(std::net::SocketAddr) -> String,
    configure: impl FnOnce(&mut companion_gateway::GatewayConfig),
    tuning: Tuning,
) -> Env {
    // The gateway's address goes into sfsim's rule, so bind it before either starts.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = endpoint(listener.local_addr().unwrap());
    let sim = start_sim(SimConfig {
        outbound_messages: vec![format!("Contact:LastName,Title:{endpoint}")
            .parse()
            .unwrap()],
        outbound_time_scale: 0.001,
        control: true,
        ..SimConfig::default()
    })
    .await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = support::gateway_config(&sim.base_url(), data_dir.path());
    config.outbound_org_ids = org_ids(sim.org_id());
    config.outbound_secret = Some(SECRET.into());
    configure(&mut config);
    let gateway = companion_gateway::start_on(listener, config, tuning)
        .await
        .expect("gateway starts");
    Env {
        sim,
        gateway,
        data_dir,
        // No overall timeout: a hint stream stays open; reads are bounded in `Hints::next_data`.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

async fn post_message(env: &Env, body: String) -> reqwest::Response {
    post_message_to(env, &format!("/v1/salesforce/outbound/{SECRET}"), body).await
}

async fn post_message_to(env: &Env, path: &str, body: String) -> reqwest::Response {
    env.http
        .post(env.url(path))
        .header("content-type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Posts and checks the answer is the exact Ack.
async fn deliver(env: &Env, body: String) {
    let response = post_message(env, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml");
    assert_eq!(response.text().await.unwrap(), ACK);
}

fn hint(objects: &[&str]) -> ChangeHint {
    ChangeHint {
        objects: objects.iter().map(|o| o.to_string()).collect(),
    }
}

/// sfsim's outbound-message counters, polled (bounded) until `done` holds.
async fn sim_outbound_stats(env: &Env, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let stats = env.sim_stats().await;
        if done(&stats["outbound_messages"]) {
            return stats["outbound_messages"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("sfsim's outbound counters never got there");
}

/// An event's data fits `ChangeHint` of openapi.json.
fn fits_the_documented_change_hint(data: &str) {
    let mut schema: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    schema["$ref"] = json!("#/components/schemas/ChangeHint");
    let validator = jsonschema::validator_for(&schema).unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    assert!(validator.is_valid(&data), "{data}");
    assert!(!validator.is_valid(&json!({"objects": ["Contact"], "Id": "003…"})));
}

#[tokio::test]
async fn a_rep_hears_of_an_admin_edit_by_object_name_only() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;

    let contact = env.sim.records("Contact")[0].clone();
    let id = contact["Id"].as_str().unwrap();
    env.sim
        .update_record("Contact", id, json!({"Title": "Chief Secret Officer"}))
        .unwrap();
    let data = hints.next_data().await.unwrap();
    assert_eq!(data, r#"{"objects":["Contact"]}"#);
    fits_the_documented_change_hint(&data);
    assert!(!data.contains(id) && !data.contains("Secret"));
    // sfsim took the gateway's answer as its Ack: acknowledged, not retried.
    sim_outbound_stats(&env, |s| s["acknowledged"] == 1).await;

    // Shutting down with the stream still open ends it instead of waiting for it.
    env.shutdown().await;
    assert_eq!(hints.next_data().await, None);
}

#[tokio::test]
async fn sfsim_messages_from_an_org_not_configured_are_refused() {
    let env = start(|_| vec![OTHER_ORG.into()], Tuning::default()).await;
    let contact = env.sim.records("Contact")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    env.sim
        .update_record("Contact", &contact, json!({"Title": "CEO"}))
        .unwrap();
    let stats = sim_outbound_stats(&env, |s| s["attempts"].as_u64() >= Some(2)).await;
    assert_eq!(
        stats["acknowledged"], 0,
        "refused, so sfsim retries: {stats}"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_foreign_org_id_is_refused_and_produces_no_hint() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;

    let foreign = post_message(
        &env,
        message(OTHER_ORG, &[(notification_id(1), "Opportunity")]),
    )
    .await;
    let (status, body) = error_of(foreign).await;
    assert_eq!((status, body.error.code.as_str()), (403, "forbidden"));

    // The next hint the rep hears is the next accepted message's: the refused one made none.
    let org = env.sim.org_id();
    deliver(&env, message(&org, &[(notification_id(2), "Contact")])).await;
    assert_eq!(hints.next().await, hint(&["Contact"]));
    env.shutdown().await;
}

#[tokio::test]
async fn a_message_with_a_dtd_is_refused_and_nothing_is_remembered() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let org = env.sim.org_id();
    let clean = message(&org, &[(notification_id(7), "Account")]);

    let with_dtd = clean.replace(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
    );
    let with_dtd = with_dtd.replace("Express &amp; Logistics", "&xxe;");
    let (status, body) = error_of(post_message(&env, with_dtd).await).await;
    assert_eq!((status, body.error.code.as_str()), (400, "bad_request"));
    assert!(body.error.message.contains("DTD"), "{}", body.error.message);
    assert!(!body.error.message.contains("root:"), "nothing was read");

    // An entity without a DTD is an error too, not an empty string.
    let undefined = clean.replace("Express &amp; Logistics", "&xxe;");
    let (status, _) = error_of(post_message(&env, undefined).await).await;
    assert_eq!(status, 400);

    // The same notification id, now clean, is new: the refused ones were not remembered.
    deliver(&env, clean).await;
    assert_eq!(hints.next().await, hint(&["Account"]));
    env.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_notification_is_acknowledged_and_heard_once() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let org = env.sim.org_id();

    let first = message(&org, &[(notification_id(10), "Contact")]);
    deliver(&env, first.clone()).await;
    deliver(&env, first).await;
    // A message with a seen and a new notification: only the new one's object is hinted.
    deliver(
        &env,
        message(
            &org,
            &[
                (notification_id(10), "Contact"),
                (notification_id(11), "Opportunity"),
            ],
        ),
    )
    .await;
    assert_eq!(hints.next().await, hint(&["Contact"]));
    assert_eq!(hints.next().await, hint(&["Opportunity"]));

    // Several new notifications make one hint, object names sorted and without repeats.
    deliver(
        &env,
        message(
            &org,
            &[
                (notification_id(12), "Contact"),
                (notification_id(13), "Account"),
                (notification_id(14), "Contact"),
            ],
        ),
    )
    .await;
    assert_eq!(hints.next().await, hint(&["Account", "Contact"]));
    env.shutdown().await;
}

#[tokio::test]
async fn notification_ids_survive_a_gateway_restart() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let org = env.sim.org_id();
    deliver(&env, message(&org, &[(notification_id(20), "Contact")])).await;

    // A new gateway on the same data dir.
    let Env {
        sim,
        gateway,
        data_dir,
        http,
    } = env;
    gateway.shutdown().await;
    let mut config = support::gateway_config(&sim.base_url(), data_dir.path());
    config.outbound_org_ids = vec![org[..15].to_string()];
    config.outbound_secret = Some(SECRET.into());
    let gateway = companion_gateway::start(config).await.unwrap();
    let env = Env {
        sim,
        gateway,
        data_dir,
        http,
    };
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    deliver(&env, message(&org, &[(notification_id(20), "Contact")])).await;
    deliver(&env, message(&org, &[(notification_id(21), "Account")])).await;
    assert_eq!(
        hints.next().await,
        hint(&["Account"]),
        "the redelivery after the restart made no hint"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_rep_hears_only_of_their_own_org() {
    // Both orgs are configured; the rep belongs to sfsim's.
    let env = start(|sim| vec![sim, OTHER_ORG.into()], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    assert_ne!(rep.user.org_id[..15], OTHER_ORG[..15]);
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;

    deliver(
        &env,
        message(OTHER_ORG, &[(notification_id(30), "Opportunity")]),
    )
    .await;
    deliver(
        &env,
        message(&env.sim.org_id(), &[(notification_id(31), "Contact")]),
    )
    .await;
    assert_eq!(
        hints.next().await,
        hint(&["Contact"]),
        "the other org's hint did not reach this rep"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn events_need_a_live_session_and_end_with_it() {
    let env = start(
        |sim| vec![sim],
        Tuning {
            events_session_recheck: Duration::ZERO,
            ..Tuning::default()
        },
    )
    .await;
    let (status, body) = error_of(env.http.get(env.url("/v1/events")).send().await.unwrap()).await;
    assert_eq!((status, body.error.code.as_str()), (401, "unauthenticated"));
    let unknown = env
        .http
        .get(env.url("/v1/events"))
        .bearer_auth("not-a-session")
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(unknown).await;
    assert_eq!((status, body.error.code.as_str()), (401, "reauth_required"));

    // Signed out while listening: the next hint is not delivered, the stream ends.
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let logout = env
        .http
        .post(env.url("/v1/auth/logout"))
        .bearer_auth(&rep.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    deliver(
        &env,
        message(&env.sim.org_id(), &[(notification_id(40), "Contact")]),
    )
    .await;
    assert_eq!(hints.next_data().await, None);
    env.shutdown().await;
}

#[tokio::test]
async fn an_oversized_or_non_soap_body_is_refused_in_the_error_shape() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let org = env.sim.org_id();
    let huge = message(&org, &[(notification_id(50), "Contact")])
        .replace("Express &amp; Logistics", &"x".repeat(2 * 1024 * 1024));
    let (status, body) = error_of(post_message(&env, huge).await).await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (413, "payload_too_large")
    );

    for bad in [
        String::new(),
        "{\"objects\":[\"Contact\"]}".to_string(),
        message(&org, &[]),
        message(&org, &[(notification_id(51), "Contact")]).replace("</notifications>", ""),
        message(&org, &[("0037F000003pmdWQAQ".into(), "Contact")]),
    ] {
        let (status, body) = error_of(post_message(&env, bad.clone()).await).await;
        assert_eq!(
            (status, body.error.code.as_str()),
            (400, "bad_request"),
            "{bad}"
        );
    }
    env.shutdown().await;
}

/// `Authorization: Basic …` for `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_an_unknown_path_and_leaves_no_trace() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let org = env.sim.org_id();
    // What a path that does not exist answers: a refused message answers exactly that.
    let (status, unknown) = error_of(
        env.http
            .post(env.url("/v1/no-such-route"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, unknown.error.code.as_str()), (404, "not_found"));

    let refused = message(&org, &[(notification_id(60), "Opportunity")]);
    let one_off = format!("{}X", &SECRET[..SECRET.len() - 1]);
    assert_eq!(one_off.len(), SECRET.len());
    assert_ne!(one_off, SECRET);
    for path in [
        "/v1/salesforce/outbound".to_string(),
        "/v1/salesforce/outbound/".to_string(),
        format!("/v1/salesforce/outbound/{one_off}"),
        format!("/v1/salesforce/outbound/{}", &SECRET[..SECRET.len() - 1]),
        format!("/v1/salesforce/outbound/{SECRET}X"),
        format!("/v1/salesforce/outbound/{}", SECRET.to_uppercase()),
        format!("/v1/salesforce/outbound/{SECRET}/"),
    ] {
        let (status, body) = error_of(post_message_to(&env, &path, refused.clone()).await).await;
        assert_eq!((status, &body), (404, &unknown), "{path}");
    }
    // Credentials that are not the secret as a Basic password.
    for authorization in [
        basic("salesforce", &one_off),
        basic(SECRET, "salesforce"),
        basic("salesforce", ""),
        format!("Bearer {SECRET}"),
        format!("Basic {SECRET}"),
    ] {
        let response = env
            .http
            .post(env.url("/v1/salesforce/outbound"))
            .header("authorization", &authorization)
            .header("content-type", "text/xml; charset=utf-8")
            .body(refused.clone())
            .send()
            .await
            .unwrap();
        let (status, body) = error_of(response).await;
        assert_eq!((status, &body), (404, &unknown), "{authorization}");
    }
    // Another method, even with the right secret, does not tell the route apart either.
    let get = env
        .http
        .get(env.url(&format!("/v1/salesforce/outbound/{SECRET}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(get).await, (404, unknown.clone()));

    // The same notification id, now with the secret, is new (nothing was remembered), and its
    // hint is the first the rep hears (no refused message made one).
    deliver(&env, message(&org, &[(notification_id(60), "Contact")])).await;
    assert_eq!(hints.next().await, hint(&["Contact"]));
    env.shutdown().await;
}

#[tokio::test]
async fn the_secret_as_basic_credentials_on_the_plain_path_is_accepted() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let response = env
        .http
        .post(env.url("/v1/salesforce/outbound"))
        .basic_auth("any-user-name", Some(SECRET))
        .header("content-type", "text/xml; charset=utf-8")
        .body(message(
            &env.sim.org_id(),
            &[(notification_id(61), "Account")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), ACK);
    assert_eq!(hints.next().await, hint(&["Account"]));
    env.shutdown().await;
}

/// An endpoint URL written `http://user:SECRET@host/v1/salesforce/outbound`: the sender turns
/// the credentials into a Basic header, as Salesforce does.
#[tokio::test]
async fn sfsim_with_the_secret_in_its_endpoint_urls_credentials_is_acknowledged() {
    let env = start_with(
        |sim| vec![sim],
        |gateway| format!("http://salesforce:{SECRET}@{gateway}/v1/salesforce/outbound"),
        |_| {},
        Tuning::default(),
    )
    .await;
    let rep = env.sign_in(REP).await;
    let mut hints = Hints::open(&env.http, &env.url("/v1/events"), &rep.session_token).await;
    let contact = env.sim.records("Contact")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    env.sim
        .update_record("Contact", &contact, json!({"Title": "VP Basics"}))
        .unwrap();
    assert_eq!(hints.next().await, hint(&["Contact"]));
    sim_outbound_stats(&env, |s| s["acknowledged"] == 1).await;
    env.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_messages_is_answered_429_with_retry_after() {
    let env = start(|sim| vec![sim], Tuning::default()).await;
    let body = message(&env.sim.org_id(), &[(notification_id(70), "Contact")]);
    let url = env.url(&format!("/v1/salesforce/outbound/{SECRET}"));
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let request = env
            .http
            .post(&url)
            .header("content-type", "text/xml; charset=utf-8")
            .body(body.clone());
        posts.spawn(async move { request.send().await.unwrap() });
    }
    let mut acknowledged = 0;
    let mut limited = Vec::new();
    while let Some(response) = posts.join_next().await {
        let response = response.unwrap();
        match response.status().as_u16() {
            200 => acknowledged += 1,
            429 => limited.push(response),
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(
        acknowledged >= 200,
        "the burst of 200 passes: {acknowledged}"
    );
    assert!(
        !limited.is_empty(),
        "300 at once are over 50/s with bursts of 200"
    );
    for response in limited {
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        let (status, body) = error_of(response).await;
        assert_eq!((status, body.error.code.as_str()), (429, "rate_limited"));
        assert_eq!(body.error.retry_after, Some(retry_after));
    }
    env.shutdown().await;
}

#[tokio::test]
async fn refused_attempts_count_toward_the_rate_limit() {
    // One a second, bursts of four: a dozen attempts at once cannot all be answered 404.
    let env = start_with(
        |sim| vec![sim],
        |gateway| format!("http://{gateway}/v1/salesforce/outbound/{SECRET}"),
        |config| config.outbound_rate_per_second = 1,
        Tuning::default(),
    )
    .await;
    let url = env.url("/v1/salesforce/outbound/not-the-secret");
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let request = env.http.post(&url).body("<x/>");
        posts.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = posts.join_next().await {
        statuses.push(status.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 404 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 404).count() >= 4,
        "{statuses:?}"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn org_ids_without_a_long_enough_secret_do_not_start() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = support::gateway_config("https://login.salesforce.com", data_dir.path());
    config.outbound_org_ids = vec![OTHER_ORG.into()];
    for (secret, expected) in [
        (None, "COMPANION_GATEWAY_OUTBOUND_SECRET"),
        (Some("short-secret"), "at least 32 characters"),
    ] {
        config.outbound_secret = secret.map(String::from);
        match companion_gateway::start(config.clone()).await {
            Err(companion_gateway::GatewayError::Config(message)) => {
                assert!(message.contains(expected), "{message}")
            }
            Err(other) => panic!("expected a configuration error, got {other}"),
            Ok(_) => panic!("started with outbound secret {secret:?}"),
        }
    }
}
