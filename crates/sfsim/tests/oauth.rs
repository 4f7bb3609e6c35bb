//! OAuth 2.0 as a browser and a confidential client see it (reference §1).

mod common;

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use common::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sfsim::{SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD};
use sha2::Sha256;

const BAD_LOGIN: &str = "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

fn exchange_form<'a>(code: &'a str, verifier: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form
}

async fn error_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    (status, response.json().await.expect("JSON error"))
}

#[tokio::test]
async fn browser_login_shows_the_form_refuses_a_wrong_password_then_redirects_with_code_and_state()
{
    let sim = start(SimConfig::default()).await;
    let mut params = authorize_params("st-123", "api refresh_token");
    params.push(("login_hint".into(), "rep@demo.example".into()));
    params.push(("prompt".into(), "login".into()));

    let form = browser()
        .get(format!("{}/services/oauth2/authorize", sim.base_url()))
        .query(&params)
        .send()
        .await
        .expect("GET authorize");
    assert_eq!(form.status(), StatusCode::OK);
    assert!(content_type(&form).starts_with("text/html"));
    let html = form.text().await.expect("HTML");
    assert!(
        html.contains(r#"name="username" value="rep@demo.example""#),
        "login_hint prefills"
    );
    assert!(html.contains(r#"type="password""#));
    assert!(html.contains(r#"<input type="hidden" name="state" value="st-123">"#));
    assert!(html.contains(
        r#"<input type="hidden" name="redirect_uri" value="http://127.0.0.1:53682/callback">"#
    ));
    assert!(html.contains(r#"name="code_challenge""#));

    let wrong = post_login(&sim, &params, "rep@demo.example", "nope").await;
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(wrong.headers().get("location").is_none());
    let html = wrong.text().await.expect("HTML");
    assert!(html.contains(BAD_LOGIN), "error text shown: {html}");
    assert!(html.contains(r#"<form"#) && html.contains(r#"name="state" value="st-123""#));

    let unknown_user = post_login(&sim, &params, "nobody@demo.example", DEMO_PASSWORD).await;
    assert!(unknown_user.text().await.expect("HTML").contains(BAD_LOGIN));

    let ok = post_login(&sim, &params, "rep@demo.example", DEMO_PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::FOUND);
    let (url, pairs) = location_params(&ok);
    assert_eq!(
        format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
        REDIRECT
    );
    assert_eq!(
        pairs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["code", "state"]
    );
    assert_eq!(get(&pairs, "state"), Some("st-123"));
    assert!(get(&pairs, "code").is_some_and(|c| c.len() > 20));
    sim.shutdown().await;
}

#[tokio::test]
async fn state_is_only_echoed_when_given_and_custom_scheme_callbacks_work() {
    let sim = start(SimConfig::default()).await;
    let params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", "companion://oauth/callback"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ok = post_login(&sim, &params, "rep2@demo.example", DEMO_PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::FOUND);
    let location = ok.headers()["location"].to_str().expect("ASCII").to_owned();
    assert!(
        location.starts_with("companion://oauth/callback?code="),
        "{location}"
    );
    assert!(!location.contains("state="));
    sim.shutdown().await;
}

#[tokio::test]
async fn token_exchange_with_pkce_s256_answers_exactly_like_salesforce() {
    let sim = start(SimConfig::default()).await;
    let code = code_for(
        &sim,
        "rep@demo.example",
        &authorize_params("s", "refresh_token api"),
    )
    .await;
    let response = token_request(&sim, &exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    let body: Value = response.json().await.expect("JSON");
    let object = body.as_object().expect("an object");

    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "id",
            "instance_url",
            "issued_at",
            "refresh_token",
            "scope",
            "signature",
            "token_type"
        ]
    );
    assert!(object.get("expires_in").is_none());
    let org_id = sim.org_id();
    let user_id = sim.user_id("rep@demo.example").expect("rep exists");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "refresh_token api");
    assert_eq!(body["instance_url"], json!(sim.base_url()));
    assert_eq!(
        body["id"],
        json!(format!("{}/id/{org_id}/{user_id}", sim.base_url()))
    );
    let access = body["access_token"].as_str().expect("string");
    assert!(
        access.starts_with(&format!("{}!", &org_id[..15])),
        "{access}"
    );
    let issued_at = body["issued_at"].as_str().expect("issued_at is a string");
    assert_eq!(issued_at.len(), 13);
    assert!(issued_at.bytes().all(|b| b.is_ascii_digit()));

    // signature = base64(HMAC-SHA256(client_secret, id + issued_at))
    let mut mac = Hmac::<Sha256>::new_from_slice(DEMO_CLIENT_SECRET.as_bytes()).expect("key");
    mac.update(body["id"].as_str().expect("id").as_bytes());
    mac.update(issued_at.as_bytes());
    assert_eq!(
        body["signature"],
        json!(STANDARD.encode(mac.finalize().into_bytes()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_challenge_without_method_is_s256_and_plain_works_too() {
    let sim = start(SimConfig::default()).await;
    let mut params = authorize_params("s", "api");
    params.retain(|(k, _)| k != "code_challenge_method");
    let code = code_for(&sim, "rep@demo.example", &params).await;
    let response = token_request(&sim, &exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "missing method means S256"
    );
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh scope, no refresh token"
    );

    let mut params = authorize_params("s", "api");
    params.retain(|(k, _)| !k.starts_with("code_challenge"));
    params.push((
        "code_challenge".into(),
        "plain-verifier-0123456789-0123456789-0123456789".into(),
    ));
    params.push(("code_challenge_method".into(), "plain".into()));
    let code = code_for(&sim, "rep@demo.example", &params).await;
    let response = token_request(
        &sim,
        &exchange_form(
            &code,
            Some("plain-verifier-0123456789-0123456789-0123456789"),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn pkce_verifier_mismatch_and_missing_are_refused() {
    let sim = start(SimConfig::default()).await;
    let params = authorize_params("s", "api");

    let code = code_for(&sim, "rep@demo.example", &params).await;
    let (status, body) = error_body(
        token_request(
            &sim,
            &exchange_form(
                &code,
                Some("wrong-verifier-wrong-verifier-wrong-verifier-1"),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].is_string());

    let code = code_for(&sim, "rep@demo.example", &params).await;
    let (status, body) = error_body(token_request(&sim, &exchange_form(&code, None)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_code_works_once() {
    let sim = start(SimConfig::default()).await;
    let code = code_for(&sim, "rep@demo.example", &authorize_params("s", "api")).await;
    let first = token_request(&sim, &exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(first.status(), StatusCode::OK);
    let (status, body) =
        error_body(token_request(&sim, &exchange_form(&code, Some(VERIFIER))).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired authorization code"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn token_redirect_uri_must_equal_the_authorize_one() {
    let sim = start(SimConfig::default()).await;
    let code = code_for(&sim, "rep@demo.example", &authorize_params("s", "api")).await;
    let mut form = exchange_form(&code, Some(VERIFIER));
    form.retain(|(k, _)| *k != "redirect_uri");
    form.push(("redirect_uri", "http://127.0.0.1:9999/callback"));
    let (status, body) = error_body(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "redirect_uri_mismatch");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect() {
    let sim = start(SimConfig::default()).await;
    for redirect in [
        "https://evil.example/callback",
        "http://127.0.0.1:8080/callback/extra",
        "http://localhost:8080/callback",
    ] {
        let mut params = authorize_params("s", "api");
        params.retain(|(k, _)| k != "redirect_uri");
        params.push(("redirect_uri".into(), redirect.into()));
        let page = browser()
            .get(format!("{}/services/oauth2/authorize", sim.base_url()))
            .query(&params)
            .send()
            .await
            .expect("answers");
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(page.headers().get("location").is_none());
        assert!(page
            .text()
            .await
            .expect("HTML")
            .contains("redirect_uri_mismatch"));

        let posted = post_login(&sim, &params, "rep@demo.example", DEMO_PASSWORD).await;
        assert_eq!(posted.status(), StatusCode::BAD_REQUEST);
        assert!(posted.headers().get("location").is_none());
    }

    let mut params = authorize_params("s", "api");
    params.retain(|(k, _)| k != "client_id");
    params.push(("client_id".into(), "someone-else".into()));
    let page = browser()
        .get(format!("{}/services/oauth2/authorize", sim.base_url()))
        .query(&params)
        .send()
        .await
        .expect("answers");
    assert!(page.headers().get("location").is_none());
    let html = page.text().await.expect("HTML");
    assert!(html.contains("invalid_client_id") && html.contains("client identifier invalid"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_response_type_goes_back_to_a_registered_redirect() {
    let sim = start(SimConfig::default()).await;
    let mut params = authorize_params("keep-me", "api");
    params.retain(|(k, _)| k != "response_type");
    params.push(("response_type".into(), "token".into()));
    let response = browser()
        .get(format!("{}/services/oauth2/authorize", sim.base_url()))
        .query(&params)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FOUND);
    let (_, pairs) = location_params(&response);
    assert_eq!(get(&pairs, "error"), Some("unsupported_response_type"));
    assert_eq!(get(&pairs, "state"), Some("keep-me"));
    sim.shutdown().await;
}

#[tokio::test]
async fn client_authentication_errors_use_salesforces_strings() {
    let sim = start(SimConfig::default()).await;
    let code = code_for(&sim, "rep@demo.example", &authorize_params("s", "api")).await;

    let mut form = exchange_form(&code, Some(VERIFIER));
    form[2] = ("client_id", "unknown-app");
    let (status, body) = error_body(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_client_id", "error_description": "client identifier invalid"})
    );

    let mut form = exchange_form(&code, Some(VERIFIER));
    form[3] = ("client_secret", "wrong-secret");
    let (status, body) = error_body(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "invalid client credentials"})
    );

    let (status, body) = error_body(
        token_request(
            &sim,
            &[
                ("grant_type", "urn:weird"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"})
    );

    // The code was not spent by the refused attempts; HTTP Basic client authentication works.
    let response = browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

async fn refresh(sim: &sfsim::Sim, refresh_token: &str) -> reqwest::Response {
    // jsforce sends a code_verifier on every token request; it must be ignored.
    token_request(
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn rest_status(sim: &sfsim::Sim, access_token: &str) -> StatusCode {
    query(sim, access_token, "SELECT Id FROM Account LIMIT 1", None)
        .await
        .status()
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let sim = start(SimConfig::default()).await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh token");

    for _ in 0..2 {
        let response = refresh(&sim, refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("JSON");
        let mut keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "access_token",
                "id",
                "instance_url",
                "issued_at",
                "scope",
                "signature",
                "token_type"
            ]
        );
        assert_ne!(body["access_token"], tokens["access_token"]);
        assert_eq!(
            rest_status(&sim, body["access_token"].as_str().expect("token")).await,
            StatusCode::OK
        );
    }

    let (status, body) = error_body(refresh(&sim, "5Aep861not-a-real-token").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_reuse_revokes_the_family() {
    let sim = start(SimConfig {
        refresh_token_rotation: true,
        ..SimConfig::default()
    })
    .await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    let body: Value = refresh(&sim, &first).await.json().await.expect("JSON");
    let second = body["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_owned();
    assert_ne!(first, second);
    let access = body["access_token"].as_str().expect("access").to_owned();
    assert_eq!(rest_status(&sim, &access).await, StatusCode::OK);

    // Replaying the rotated-out token is refused and revokes everything of the family.
    let (status, body) = error_body(refresh(&sim, &first).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    let (_, body) = error_body(refresh(&sim, &second).await).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(rest_status(&sim, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rest_status(&sim, tokens["access_token"].as_str().expect("access")).await,
        StatusCode::UNAUTHORIZED
    );

    // Another sign-in is unaffected.
    assert_eq!(
        rest_status(&sim, &access_token(&sim, "rep@demo.example").await).await,
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_sessions_get_401_and_refresh_still_works() {
    let sim = start(SimConfig::default()).await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("access");
    assert_eq!(rest_status(&sim, access).await, StatusCode::OK);

    sim.expire_access_tokens();
    let response = query(&sim, access, "SELECT Id FROM Contact", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    assert!(response.headers().get("sforce-limit-info").is_some());
    assert_eq!(
        response.text().await.expect("body"),
        r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
    );

    let body: Value = refresh(&sim, tokens["refresh_token"].as_str().expect("refresh"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        rest_status(&sim, body["access_token"].as_str().expect("access")).await,
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn access_tokens_expire_after_the_session_timeout() {
    let sim = start(SimConfig {
        session_timeout: Duration::from_millis(600),
        ..SimConfig::default()
    })
    .await;
    let access = access_token(&sim, "rep@demo.example").await;
    assert_eq!(rest_status(&sim, &access).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(rest_status(&sim, &access).await, StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_tokens() {
    let sim = start(SimConfig::default()).await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("access");
    let revoke = browser()
        .post(format!("{}/services/oauth2/revoke", sim.base_url()))
        .form(&[("token", tokens["refresh_token"].as_str().expect("refresh"))])
        .send()
        .await
        .expect("answers");
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(rest_status(&sim, access).await, StatusCode::UNAUTHORIZED);
    let (status, _) =
        error_body(refresh(&sim, tokens["refresh_token"].as_str().expect("refresh")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // GET ?token= revokes an access token; an unknown token is a 400.
    let other = access_token(&sim, "rep2@demo.example").await;
    let revoke = browser()
        .get(format!("{}/services/oauth2/revoke", sim.base_url()))
        .query(&[("token", other.as_str())])
        .send()
        .await
        .expect("answers");
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(rest_status(&sim, &other).await, StatusCode::UNAUTHORIZED);
    let unknown = browser()
        .post(format!("{}/services/oauth2/revoke", sim.base_url()))
        .form(&[("token", "nope")])
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn identity_url_and_userinfo_describe_the_signed_in_user() {
    let sim = start(SimConfig::default()).await;
    let tokens = sign_in(&sim, "rep@demo.example").await;
    let access = tokens["access_token"].as_str().expect("access");
    let id_url = tokens["id"].as_str().expect("id");
    let org_id = sim.org_id();
    let user_id = sim.user_id("rep@demo.example").expect("rep");

    let response = browser()
        .get(id_url)
        .bearer_auth(access)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json;charset=UTF-8");
    let identity: Value = response.json().await.expect("JSON");
    assert_eq!(identity["id"], json!(id_url));
    assert_eq!(identity["user_id"], json!(user_id));
    assert_eq!(identity["organization_id"], json!(org_id));
    assert_eq!(identity["username"], "rep@demo.example");
    assert_eq!(identity["display_name"], "Riley Parker");
    assert_eq!(identity["first_name"], "Riley");
    assert_eq!(identity["last_name"], "Parker");
    assert_eq!(identity["email"], "rep@demo.example");
    assert_eq!(identity["active"], true);
    assert_eq!(identity["user_type"], "STANDARD");
    assert_eq!(
        identity["urls"]["rest"],
        json!(format!("{}/services/data/v{{version}}/", sim.base_url()))
    );
    assert_eq!(
        identity["urls"]["query"],
        json!(format!(
            "{}/services/data/v{{version}}/query/",
            sim.base_url()
        ))
    );

    let other = browser()
        .get(format!(
            "{}/id/{org_id}/{}",
            sim.base_url(),
            sim.user_id("rep2@demo.example").expect("rep2")
        ))
        .bearer_auth(access)
        .send()
        .await
        .expect("answers");
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let no_token = browser().get(id_url).send().await.expect("answers");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);

    let userinfo: Value = browser()
        .get(format!("{}/services/oauth2/userinfo", sim.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(userinfo["sub"], json!(id_url));
    assert_eq!(userinfo["preferred_username"], "rep@demo.example");
    assert_eq!(userinfo["name"], "Riley Parker");
    sim.shutdown().await;
}

#[tokio::test]
async fn password_grant_gives_no_refresh_token() {
    let sim = start(SimConfig::default()).await;
    let response = token_request(
        &sim,
        &[
            ("grant_type", "password"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("username", "admin@demo.example"),
            ("password", DEMO_PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("refresh_token").is_none());
    let (status, body) = error_body(
        token_request(
            &sim,
            &[
                ("grant_type", "password"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("username", "admin@demo.example"),
                ("password", "wrong"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "authentication failure"})
    );
    sim.shutdown().await;
}

fn sorted_keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
    keys.sort_unstable();
    keys
}

/// `Host: localhost:PORT` reaches the same socket but names the generic login host.
fn login_host(sim: &sfsim::Sim) -> String {
    let port = sim
        .base_url()
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    format!("localhost:{port}")
}

#[tokio::test]
async fn client_credentials_needs_a_run_as_user_and_the_my_domain_host() {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
    ];
    let sim = start(SimConfig::default()).await;
    let (status, body) = error_body(token_request(&sim, &form).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "no client credentials user enabled"})
    );
    sim.shutdown().await;

    let sim = start(SimConfig {
        client_credentials_user: Some("admin@demo.example".into()),
        ..SimConfig::default()
    })
    .await;
    let on_login_host = browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .header("Host", login_host(&sim))
        .form(&form)
        .send()
        .await
        .expect("answers");
    let (status, body) = error_body(on_login_host).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "request not supported on this domain"})
    );

    // HTTP Basic client authentication, on the My Domain host.
    let response = browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        sorted_keys(&body),
        [
            "access_token",
            "id",
            "instance_url",
            "issued_at",
            "scope",
            "signature",
            "token_type"
        ]
    );
    let admin = sim.user_id("admin@demo.example").expect("admin");
    assert_eq!(
        body["id"],
        json!(format!("{}/id/{}/{admin}", sim.base_url(), sim.org_id()))
    );
    assert_eq!(body["scope"], "api");
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(rest_status(&sim, token).await, StatusCode::OK);

    let mut wrong_secret = form.to_vec();
    wrong_secret[2] = ("client_secret", "nope");
    let (_, body) = error_body(token_request(&sim, &wrong_secret).await).await;
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "invalid client credentials"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn openid_scope_adds_an_rs256_id_token_verifiable_with_the_published_keys() {
    use rsa::{pkcs1v15::Signature, pkcs1v15::VerifyingKey, signature::Verifier, BigUint};
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let sim = start(SimConfig::default()).await;
    let mut params = authorize_params("s", "openid api");
    params.push(("nonce".into(), "n-0S6_WzA2Mj".into()));
    let code = code_for(&sim, "rep@demo.example", &params).await;
    let response = token_request(&sim, &exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh scope asked"
    );
    let id_token = body["id_token"].as_str().expect("an id_token");
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.claims.signature");
    let header: Value =
        serde_json::from_slice(&b64.decode(parts[0]).expect("base64url")).expect("JSON header");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    let claims: Value =
        serde_json::from_slice(&b64.decode(parts[1]).expect("base64url")).expect("JSON claims");
    assert_eq!(claims["sub"], body["id"]);
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);
    assert_eq!(claims["iss"], json!(sim.base_url()));
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!(claims["exp"].as_i64().expect("exp") > iat);
    let issued_at_ms: i64 = body["issued_at"]
        .as_str()
        .expect("ms")
        .parse()
        .expect("digits");
    assert!((issued_at_ms / 1000 - iat).abs() <= 1);
    // at_hash: base64url of the left half of SHA-256(access_token) (OpenID Connect Core 3.1.3.6).
    let digest = Sha256::digest(body["access_token"].as_str().expect("token").as_bytes());
    assert_eq!(claims["at_hash"], json!(b64.encode(&digest[..16])));

    let keys: Value = browser()
        .get(format!("{}/id/keys", sim.base_url()))
        .send()
        .await
        .expect("JWKS answers")
        .json()
        .await
        .expect("JSON");
    let key = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    assert_eq!(key["kty"], "RSA");
    let n = BigUint::from_bytes_be(&b64.decode(key["n"].as_str().expect("n")).expect("n"));
    let e = BigUint::from_bytes_be(&b64.decode(key["e"].as_str().expect("e")).expect("e"));
    let public = rsa::RsaPublicKey::new(n, e).expect("a valid RSA key");
    let verifier = VerifyingKey::<Sha256>::new(public);
    let signature =
        Signature::try_from(b64.decode(parts[2]).expect("sig").as_slice()).expect("signature");
    let signed = format!("{}.{}", parts[0], parts[1]);
    verifier
        .verify(signed.as_bytes(), &signature)
        .expect("the signature verifies");
    let mut tampered = signed.clone();
    tampered.push('x');
    assert!(verifier.verify(tampered.as_bytes(), &signature).is_err());

    // Without openid there is no id_token.
    let code = code_for(&sim, "rep@demo.example", &authorize_params("s", "api")).await;
    let body: Value = token_request(&sim, &exchange_form(&code, Some(VERIFIER)))
        .await
        .json()
        .await
        .expect("JSON");
    assert!(body.get("id_token").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn deny_goes_back_to_the_redirect_uri_with_access_denied_and_state() {
    let sim = start(SimConfig::default()).await;
    let mut form = authorize_params("st-9", "api");
    form.push(("deny".into(), "1".into()));
    let response = browser()
        .post(format!("{}/services/oauth2/authorize", sim.base_url()))
        .form(&form)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FOUND);
    let (url, pairs) = location_params(&response);
    assert!(url.as_str().starts_with(REDIRECT));
    assert_eq!(
        pairs,
        [
            ("error".to_owned(), "access_denied".to_owned()),
            (
                "error_description".to_owned(),
                "end-user denied authorization".to_owned()
            ),
            ("state".to_owned(), "st-9".to_owned()),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_deactivated_user_gets_inactive_user() {
    let sim = start(SimConfig::default()).await;
    let rep = sim.user_id("rep@demo.example").expect("rep");
    sim.update_record("User", &rep, json!({"IsActive": false}))
        .expect("deactivated");
    let (status, body) = error_body(
        token_request(
            &sim,
            &[
                ("grant_type", "password"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("username", "rep@demo.example"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "inactive_user", "error_description": "user is inactive"})
    );
    // The browser flow says so through the redirect URI.
    let response = post_login(
        &sim,
        &authorize_params("st", "api"),
        "rep@demo.example",
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let (_, pairs) = location_params(&response);
    assert_eq!(get(&pairs, "error"), Some("inactive_user"));
    assert_eq!(get(&pairs, "state"), Some("st"));
    sim.shutdown().await;
}

fn password_form() -> [(&'static str, &'static str); 5] {
    [
        ("grant_type", "password"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("username", "rep@demo.example"),
        ("password", DEMO_PASSWORD),
    ]
}

#[tokio::test]
async fn an_inactive_org_gets_inactive_org_until_it_is_active_again() {
    let sim = start(SimConfig {
        control: true,
        ..SimConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let set_active = |active: bool| {
        client
            .post(format!("{}/__sim/org", sim.base_url()))
            .json(&json!({ "active": active }))
            .send()
    };
    assert_eq!(set_active(false).await.expect("control").status(), 200);
    let (status, body) = error_body(token_request(&sim, &password_form()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "inactive_org", "error_description": "inactive organization"})
    );
    assert_eq!(set_active(true).await.expect("control").status(), 200);
    let response = token_request(&sim, &password_form()).await;
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn too_many_tokens_in_an_hour_get_rate_limit_exceeded_until_the_hour_passes() {
    let sim = start(SimConfig {
        control: true,
        token_requests_per_user_hour: 3,
        ..SimConfig::default()
    })
    .await;
    for _ in 0..3 {
        let response = token_request(&sim, &password_form()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, body) = error_body(token_request(&sim, &password_form()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "rate_limit_exceeded", "error_description": "rate limit exceeded"})
    );
    // Another user is not limited by the rep's requests.
    let admin = token_request(
        &sim,
        &[
            ("grant_type", "password"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("username", "admin@demo.example"),
            ("password", DEMO_PASSWORD),
        ],
    )
    .await;
    assert_eq!(admin.status(), StatusCode::OK);
    let advanced = reqwest::Client::new()
        .post(format!("{}/__sim/clock/advance", sim.base_url()))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .expect("control");
    assert_eq!(advanced.status(), 200);
    let response = token_request(&sim, &password_form()).await;
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}
