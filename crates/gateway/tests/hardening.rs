//! Requests the gateway must refuse before calling anyone, and what it keeps on disk.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use companion_api::{code, ExchangeRequest, SyncRequest};
use support::{error_of, Env, REDIRECT_URI, REP};

/// A TCP listener that only counts connections: a stand-in login host that must never be
/// contacted.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

fn exchange(login_host: &str, redirect_uri: &str) -> ExchangeRequest {
    ExchangeRequest {
        code: "aPrxshT49code".into(),
        code_verifier: "v".repeat(43),
        redirect_uri: redirect_uri.into(),
        login_host: login_host.into(),
    }
}

#[tokio::test]
async fn disallowed_login_host_or_redirect_uri_is_400_with_no_outbound_call() {
    // The configured login host is a counter; an attacker's host is another counter.
    let (configured, configured_hits) = counting_listener().await;
    let (attacker, attacker_hits) = counting_listener().await;
    let data_dir = tempfile::tempdir().unwrap();
    let gateway = companion_gateway::start(support::gateway_config(&configured, data_dir.path()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let post = |request: ExchangeRequest| {
        let http = http.clone();
        let url = format!("{}/v1/auth/exchange", gateway.base_url());
        async move { http.post(url).json(&request).send().await.unwrap() }
    };

    let cases = [
        exchange(&attacker, REDIRECT_URI),
        exchange(&format!("{configured}/"), REDIRECT_URI), // not exactly as configured
        exchange("http://169.254.169.254", REDIRECT_URI),
        exchange(&configured, "https://evil.example/callback"),
        exchange(&configured, "http://localhost:8080/callback"),
        exchange(&configured, "http://127.0.0.1:8080/callback?next=evil"),
        ExchangeRequest {
            code_verifier: "short".into(),
            ..exchange(&configured, REDIRECT_URI)
        },
    ];
    for request in cases {
        let (status, body) = error_of(post(request.clone()).await).await;
        assert_eq!(
            (status, body.error.code.as_str()),
            (400, code::BAD_REQUEST),
            "{request:?}"
        );
    }
    // Give any stray connection a moment to land before counting.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(configured_hits.load(Ordering::SeqCst), 0);
    assert_eq!(attacker_hits.load(Ordering::SeqCst), 0);

    // A good request does reach the configured host (so the counter works): it answers
    // nothing, so the gateway says Salesforce is unavailable.
    let (status, body) = error_of(post(exchange(&configured, REDIRECT_URI)).await).await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (502, code::UPSTREAM_UNAVAILABLE)
    );
    assert_eq!(configured_hits.load(Ordering::SeqCst), 1);
    gateway.shutdown().await;
}

#[tokio::test]
async fn unreachable_salesforce_at_exchange_is_502() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let data_dir = tempfile::tempdir().unwrap();
    let gateway = companion_gateway::start(support::gateway_config(&closed, data_dir.path()))
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/auth/exchange", gateway.base_url()))
        .json(&exchange(&closed, "companion://oauth/callback"))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (502, code::UPSTREAM_UNAVAILABLE)
    );
    gateway.shutdown().await;
}

#[tokio::test]
async fn the_store_holds_no_token_in_clear() {
    let env = Env::default().await;
    let signed_in = env.sign_in(REP).await;
    env.sim.expire_access_tokens();
    env.sync(&signed_in.session_token, &SyncRequest::default())
        .await;
    let session = signed_in.session_token.clone();
    let org15 = env.sim.org_id()[..15].to_string();
    let data_dir = env.data_dir.path().to_path_buf();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(REP.as_bytes()), "the store was read");
    assert!(!contains(session.as_bytes()), "session token in clear");
    // sfsim's access tokens, like real ones, start with the org id and '!'.
    assert!(
        !contains(format!("{org15}!").as_bytes()),
        "an access token in clear"
    );
    // …and its refresh tokens with `5Aep861`.
    assert!(!contains(b"5Aep861"), "a refresh token in clear");
    env.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_error_shape() {
    let env = Env::default().await;
    let huge = serde_json::json!({"code": "x".repeat(200 * 1024)});
    let response = env
        .http
        .post(env.url("/v1/auth/exchange"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(status, 413);
    assert_eq!(body.error.code, code::PAYLOAD_TOO_LARGE);
    env.shutdown().await;
}

#[tokio::test]
async fn a_session_over_its_rate_gets_429_with_retry_after_and_others_carry_on() {
    let tuning = companion_gateway::Tuning {
        session_rate: companion_gateway::SessionRate {
            per_second: 1,
            burst: 5,
        },
        ..Default::default()
    };
    let env = Env::start(sfsim::SimConfig::default(), tuning).await;
    let busy = env.sign_in(REP).await.session_token;
    let calm = env.sign_in("rep2@demo.example").await.session_token;
    let me = |session: String| {
        let request = env.http.get(env.url("/v1/me")).bearer_auth(session);
        async move { request.send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_eq!(me(busy.clone()).await.status(), 200, "the burst passes");
    }
    let refused = me(busy.clone()).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let (_, body) = error_of(refused).await;
    assert_eq!(body.error.code, code::RATE_LIMITED);
    assert_eq!(body.error.retry_after, Some(retry_after));
    assert_eq!(
        me(calm).await.status(),
        200,
        "another rep is not slowed down"
    );
    env.shutdown().await;
}

/// Strings an attacker (or a confused client) sends: SOQL and SQL metacharacters, URL and
/// path tricks, control characters, odd Unicode, a long one.
fn injection_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "'",
        "\\",
        "%",
        "_",
        "' OR Name != '",
        "\\' OR Id != null --",
        "SELECT Id FROM User",
        "0035g00000AbCdE' OR ''='",
        "../../services/data/v58.0/limits",
        "%2e%2e%2flimits",
        "a\u{0}b",
        "line\r\nInjected: header",
        "\u{202e}evil",
        "😀😀",
        "<script>alert(1)</script>",
        "${jndi:ldap://x}",
        "@{ref.id}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    corpus.push("x".repeat(5_000));
    corpus
}

#[tokio::test]
async fn an_injection_corpus_in_sign_in_session_and_sync_strings_is_refused_cleanly() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    for text in injection_corpus() {
        // Sign-in: as code, verifier, redirect URI and login host.
        for request in [
            ExchangeRequest {
                code: text.clone(),
                ..exchange(&env.sim.base_url(), REDIRECT_URI)
            },
            ExchangeRequest {
                code_verifier: text.clone(),
                ..exchange(&env.sim.base_url(), REDIRECT_URI)
            },
            exchange(&env.sim.base_url(), &text),
            exchange(&text, REDIRECT_URI),
        ] {
            let (status, body) = error_of(env.exchange_raw(&request).await).await;
            assert_eq!(status, 400, "{text:?}: {body:?}");
        }
        // As a session token.
        let response = env
            .http
            .get(env.url("/v1/me"))
            .header(
                "authorization",
                format!("Bearer {}", text.replace(['\r', '\n', '\0'], " ")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{text:?}");
        // As a cursor, an object to list, an id to list after, an object to describe.
        let mut cursors = std::collections::BTreeMap::new();
        cursors.insert("Contact".to_string(), text.clone());
        let (status, _) = error_of(env.sync_raw(&session, &SyncRequest { cursors }).await).await;
        assert_eq!(status, 400, "cursor {text:?}");
        for body in [
            serde_json::json!({"object": text}),
            serde_json::json!({"object": "Contact", "after": text}),
        ] {
            let response = env
                .http
                .post(env.url("/v1/sync/ids"))
                .bearer_auth(&session)
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, _) = error_of(response).await;
            assert_eq!(status, 400, "ids {body}");
        }
        let path: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        let response = env
            .http
            .get(env.url(&format!("/v1/describe/{path}")))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(matches!(status, 400 | 404), "describe {text:?}: {status}");
    }
    // Nothing of it reached the data: the rep's sync still answers as before.
    let page = env.sync(&session, &SyncRequest::default()).await;
    assert!(!page.contacts.is_empty());
    env.shutdown().await;
}
