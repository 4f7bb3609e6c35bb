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
