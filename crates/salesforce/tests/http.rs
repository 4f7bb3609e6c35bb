//! The client against a small HTTP server that answers with JSON written by hand from
//! shared/reference/salesforce-api.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use salesforce::{Client, ClientOptions, Error, OAuthApp, QueryOptions, RestSession};
use serde_json::Value;

const SECRET: &str = "companion-demo-secret";
/// HMAC-SHA256(id + issued_at, SECRET) for the token bodies below, computed with Python's hmac.
const SIGNATURE: &str = "fBMIqOfqCxnoUligPAzzPRPKM7rl5ZAVIlzn24g19co=";
const JSON: &str = "application/json;charset=UTF-8";

#[derive(Default)]
struct Seen {
    token_forms: Vec<HashMap<String, String>>,
    query_headers: Vec<(Option<String>, Option<String>)>,
    revoked: Vec<String>,
}

type Shared = Arc<Mutex<Seen>>;

fn token_body(signature: &str, with_refresh: bool) -> String {
    let refresh = if with_refresh {
        r#""refresh_token":"5Aep8613hy0tHCYdhxJMolio","#
    } else {
        ""
    };
    format!(
        r#"{{"access_token":"00D7F0000001I8v!ARgAQOG9W.wPt01Kwm",{refresh}"signature":"{signature}","scope":"refresh_token api","instance_url":"https://xxxx.my.salesforce.com","id":"https://login.salesforce.com/id/00D7F00000107XsUAI/0057F000000abcdQAA","token_type":"Bearer","issued_at":"1708058728442"}}"#
    )
}

async fn token(State(seen): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    seen.lock().unwrap().token_forms.push(form.clone());
    let json =
        |status: StatusCode, body: String| (status, [("content-type", JSON)], body).into_response();
    match (
        form.get("grant_type").map(String::as_str),
        form.get("code").map(String::as_str),
    ) {
        (Some("authorization_code"), Some("good-code")) => {
            json(StatusCode::OK, token_body(SIGNATURE, true))
        }
        (Some("authorization_code"), Some("forged")) => json(
            StatusCode::OK,
            token_body("FzsgawxKkt67WpcfgkWbwYdPWBcko27IS4IAmgrkAB4=", true),
        ),
        (Some("authorization_code"), Some("redirect")) => (
            StatusCode::FOUND,
            [("location", "http://example.invalid/steal")],
        )
            .into_response(),
        (Some("authorization_code"), _) => json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"authentication failure"}"#.into(),
        ),
        (Some("refresh_token"), _)
            if form.get("refresh_token").map(String::as_str) == Some("good-refresh") =>
        {
            json(StatusCode::OK, token_body(SIGNATURE, false))
        }
        (Some("client_credentials"), _)
            if form.get("client_secret").map(String::as_str) == Some(SECRET) =>
        {
            json(StatusCode::OK, token_body(SIGNATURE, false))
        }
        (Some("client_credentials"), _) => json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#.into(),
        ),
        (Some("refresh_token"), _) => json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#
                .into(),
        ),
        _ => json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"unsupported_grant_type","error_description":"grant type not supported"}"#
                .into(),
        ),
    }
}

async fn revoke(State(seen): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let token = form.get("token").cloned().unwrap_or_default();
    seen.lock().unwrap().revoked.push(token.clone());
    if token == "known" {
        StatusCode::OK.into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-www-form-urlencoded")],
            "error=invalid_token&error_description=invalid%20token",
        )
            .into_response()
    }
}

async fn identity(headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
        return expired();
    }
    (
        [("content-type", JSON)],
        r#"{"id":"https://login.salesforce.com/id/00D7F00000107XsUAI/0057F000000abcdQAA","asserted_user":true,
           "user_id":"0057F000000abcdQAA","organization_id":"00D7F00000107XsUAI","username":"rep@demo.example",
           "nick_name":"rep","display_name":"Riley Rep","email":"rep@demo.example","email_verified":true,
           "first_name":"Riley","last_name":"Rep","active":true,"user_type":"STANDARD","language":"en_US",
           "locale":"en_US","utcOffset":0,"last_modified_date":"2024-01-01T00:00:00.000+0000"}"#,
    )
        .into_response()
}

fn expired() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("content-type", JSON)],
        r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
    )
        .into_response()
}

async fn query(
    State(seen): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    seen.lock()
        .unwrap()
        .query_headers
        .push((header("sforce-query-options"), q.get("q").cloned()));
    if header("authorization").as_deref() != Some("Bearer at-1") {
        return expired();
    }
    if q.get("q").map(|s| s.contains("Bogus__c")).unwrap_or(false) {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", JSON)],
            r#"[{"message":"No such column 'Bogus__c' on entity 'Contact'.","errorCode":"INVALID_FIELD"}]"#,
        )
            .into_response();
    }
    (
        [("content-type", JSON), ("sforce-limit-info", "api-usage=12/15000")],
        r#"{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v58.0/query/01gD0000002HU6KIAW-2",
            "records":[
              {"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/003R000000ATjnCIAT"},"Id":"003R000000ATjnCIAT","Name":"Tim Barr"},
              {"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/0011U00000V0tkDQAR"},"Id":"0011U00000V0tkDQAR","Name":"Ada Lovelace"}]}"#,
    )
        .into_response()
}

async fn query_more(headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
        return expired();
    }
    (
        [("content-type", JSON), ("sforce-limit-info", "api-usage=13/15000")],
        r#"{"totalSize":3,"done":true,"records":[
            {"attributes":{"type":"Contact","url":"/services/data/v58.0/sobjects/Contact/001D000000IqhSLIAZ"},"Id":"001D000000IqhSLIAZ","Name":"Grace Hopper"}]}"#,
    )
        .into_response()
}

async fn hang() -> Response {
    tokio::time::sleep(Duration::from_secs(30)).await;
    StatusCode::OK.into_response()
}

async fn server() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/revoke", post(revoke))
        .route("/id/{org}/{user}", get(identity))
        .route("/services/data/v58.0/query", get(query))
        .route("/services/data/v58.0/query/{locator}", get(query_more))
        .route("/slow/services/oauth2/token", post(hang))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn client() -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(800),
        ..Default::default()
    })
    .unwrap()
}

fn app() -> OAuthApp {
    OAuthApp::new("companion-demo", SECRET)
}

#[tokio::test]
async fn code_exchange_sends_secret_and_verifier_and_checks_signature() {
    let (base, seen) = server().await;
    let token = client()
        .exchange_code(
            &base,
            &app(),
            "good-code",
            "verifier-123",
            "companion://oauth/callback",
        )
        .await
        .unwrap();
    assert_eq!(
        token.refresh_token.as_deref(),
        Some("5Aep8613hy0tHCYdhxJMolio")
    );
    assert_eq!(token.instance_url, "https://xxxx.my.salesforce.com");
    let ids = token.identity_ids().unwrap();
    assert_eq!(ids.user_id.as_str(), "0057F000000abcdQAA");

    let form = seen.lock().unwrap().token_forms[0].clone();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "good-code");
    assert_eq!(form["code_verifier"], "verifier-123");
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["client_id"], "companion-demo");
    assert_eq!(form["redirect_uri"], "companion://oauth/callback");
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_refused() {
    let (base, _) = server().await;
    let err = client()
        .exchange_code(&base, &app(), "forged", "v", "companion://oauth/callback")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err:?}");
}

#[tokio::test]
async fn invalid_grant_is_recognised_and_its_message_has_no_secret() {
    let (base, _) = server().await;
    let err = client()
        .exchange_code(
            &base,
            &app(),
            "used-code",
            "v",
            "companion://oauth/callback",
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant());
    assert!(err.to_string().contains("authentication failure"));
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn token_redirects_are_not_followed() {
    let (base, seen) = server().await;
    let err = client()
        .exchange_code(&base, &app(), "redirect", "v", "companion://oauth/callback")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(seen.lock().unwrap().token_forms.len(), 1);
}

#[tokio::test]
async fn refresh_returns_a_new_access_token_without_refresh_token() {
    let (base, seen) = server().await;
    let token = client()
        .refresh_token(&base, &app(), "good-refresh")
        .await
        .unwrap();
    assert!(token.refresh_token.is_none());
    let form = seen.lock().unwrap().token_forms[0].clone();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], "good-refresh");

    let err = client()
        .refresh_token(&base, &app(), "revoked")
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant());
}

#[tokio::test]
async fn client_credentials_sends_id_and_secret_and_gets_no_refresh_token() {
    let (base, seen) = server().await;
    let token = client().client_credentials(&base, &app()).await.unwrap();
    assert!(token.refresh_token.is_none());
    assert_eq!(
        token.identity_ids().unwrap().user_id.as_str(),
        "0057F000000abcdQAA"
    );
    let form = seen.lock().unwrap().token_forms[0].clone();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "companion-demo");
    assert_eq!(form["client_secret"], SECRET);

    let err = client()
        .client_credentials(&base, &OAuthApp::new("companion-demo", "wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { body, .. } if body.error == "invalid_client"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"));
}

#[tokio::test]
async fn revoke_accepts_200_and_parses_form_errors() {
    let (base, seen) = server().await;
    client().revoke_token(&base, "known").await.unwrap();
    let err = client().revoke_token(&base, "unknown").await.unwrap_err();
    match err {
        Error::OAuth { status, body } => {
            assert_eq!(status, 400);
            assert_eq!(body.error, "invalid_token");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen.lock().unwrap().revoked, vec!["known", "unknown"]);
}

#[tokio::test]
async fn identity_is_read_and_checked_against_its_url() {
    let (base, _) = server().await;
    let url = format!("{base}/id/00D7F00000107XsUAI/0057F000000abcdQAA");
    let identity = client().identity(&url, "at-1").await.unwrap();
    assert_eq!(identity.username, "rep@demo.example");
    assert_eq!(identity.display_name, "Riley Rep");
    assert_eq!(identity.email, "rep@demo.example");

    // The answer names user 0057F000000abcdQAA; a URL naming another user is refused.
    let other = format!("{base}/id/00D7F00000107XsUAI/0051U00000V0tkDQAR");
    assert!(matches!(
        client().identity(&other, "at-1").await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn query_pages_through_next_records_url_and_keeps_limit_info() {
    let (base, seen) = server().await;
    let client = client();
    let session = RestSession::new(&base, "at-1").unwrap();
    let soql = "SELECT Id, Name FROM Contact WHERE Name = 'O\\'Brien'";
    let records: Vec<Value> = client
        .query_all_batches(
            &session,
            soql,
            QueryOptions {
                batch_size: Some(500),
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Tim Barr", "Ada Lovelace", "Grace Hopper"]);
    let info = client.last_limit_info().unwrap();
    assert_eq!((info.used, info.max), (13, 15000));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.query_headers[0].0.as_deref(), Some("batchSize=500"));
    assert_eq!(seen.query_headers[0].1.as_deref(), Some(soql));
}

#[tokio::test]
async fn expired_session_is_recognised() {
    let (base, _) = server().await;
    let session = RestSession::new(&base, "stale").unwrap();
    let err = client()
        .query::<Value>(&session, "SELECT Id FROM Contact", QueryOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_session_expired(), "{err:?}");
}

#[tokio::test]
async fn query_errors_are_typed() {
    let (base, _) = server().await;
    let session = RestSession::new(&base, "at-1").unwrap();
    let err = client()
        .query::<Value>(
            &session,
            "SELECT Bogus__c FROM Contact",
            QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.api_error_codes(), vec!["INVALID_FIELD"]);
}

#[tokio::test]
async fn next_records_url_to_another_host_is_not_followed() {
    let (base, _) = server().await;
    let session = RestSession::new(&base, "at-1").unwrap();
    for bad in [
        "https://evil.example/services/data/v58.0/query/x",
        "//evil.example/services/data/",
        "/services/data//evil",
    ] {
        let err = client()
            .query_more::<Value>(&session, bad, QueryOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidUrl(_)), "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn unreachable_and_slow_hosts_fail_fast_and_clearly() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client()
        .refresh_token(&closed, &app(), "x")
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");

    let (base, _) = server().await;
    let started = std::time::Instant::now();
    let err = client()
        .refresh_token(&format!("{base}/slow"), &app(), "x")
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// An answer larger than the client's cap is refused as it arrives — a declared length over the
/// cap before reading, an endless chunked one once the cap is passed — never buffered whole.
#[tokio::test]
async fn answers_over_the_cap_are_refused_not_buffered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CAP: usize = 1 << 20;
    // A raw HTTP/1.1 server: `huge` answers a 4 MiB body with its length, anything else an
    // endless chunked body.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]).to_string();
                let chunk = vec![b'a'; 64 * 1024];
                if request.contains("Bearer huge") {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        4 * CAP
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    for _ in 0..64 {
                        if socket.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                } else {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    let _ = socket.write_all(head.as_bytes()).await;
                    loop {
                        let framed =
                            [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                        if socket.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let client = Client::new(ClientOptions {
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: CAP,
    })
    .unwrap()
    .with_retry(salesforce::RetryPolicy {
        max_attempts: 1,
        ..salesforce::RetryPolicy::default()
    });
    for token in ["huge", "endless"] {
        let session = RestSession::new(&base, token).unwrap();
        let started = std::time::Instant::now();
        let err = client
            .query::<Value>(&session, "SELECT Id FROM Contact", QueryOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode(m) if m.contains("over 1048576 bytes")),
            "{token}: {err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{token}");
    }
}
