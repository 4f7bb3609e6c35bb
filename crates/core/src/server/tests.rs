use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use companion_api::LoginHost;

use super::*;
use crate::testing::{FakeGateway, LOGIN_HOST};
use crate::{Companion, DeviceConfig, MemoryStore};

fn kind(result: Result<Url, CoreError>) -> &'static str {
    result.expect_err("refused").kind()
}

#[test]
fn https_addresses_are_accepted_and_a_bare_host_means_https() {
    let url = parse_server_url("  companion.example.com ").unwrap();
    assert_eq!(url.as_str(), "https://companion.example.com/");
    assert_eq!(display(&url), "https://companion.example.com");
    let url = parse_server_url("https://gw.example.com:8443/companion/").unwrap();
    assert_eq!(display(&url), "https://gw.example.com:8443/companion/");
}

#[test]
fn plain_http_is_accepted_only_to_this_machine() {
    for ok in [
        "http://127.0.0.1:8710",
        "http://127.3.2.1",
        "http://[::1]:8710",
        "http://localhost:8710",
        "http://LocalHost",
    ] {
        assert!(parse_server_url(ok).is_ok(), "{ok}");
    }
    for insecure in [
        "http://companion.example.com",
        "http://192.168.1.5:8710",
        "http://10.0.0.1",
        "http://localhost.example.com",
        "http://[::2]",
        "http://128.0.0.1",
    ] {
        let error = parse_server_url(insecure).unwrap_err();
        assert_eq!(error.kind(), "insecure_url", "{insecure}");
        assert!(error.to_string().contains("https://"), "{error}");
    }
}

#[test]
fn what_is_not_a_server_address_is_said_plainly() {
    assert_eq!(kind(parse_server_url("")), "invalid_url");
    assert_eq!(kind(parse_server_url("   ")), "invalid_url");
    assert_eq!(
        kind(parse_server_url("ftp://companion.example.com")),
        "invalid_url"
    );
    assert_eq!(
        kind(parse_server_url("mailto:it@example.com")),
        "invalid_url"
    );
    assert_eq!(kind(parse_server_url("my company server")), "invalid_url");
    assert_eq!(kind(parse_server_url("https://")), "invalid_url");
    assert_eq!(
        kind(parse_server_url("https://bob:pw@companion.example.com")),
        "invalid_url"
    );
    assert_eq!(
        kind(parse_server_url("https://companion.example.com/?x=1")),
        "invalid_url"
    );
    assert_eq!(
        kind(parse_server_url("https://companion.example.com/#a")),
        "invalid_url"
    );
    let error = parse_server_url("my company server").unwrap_err();
    assert!(
        error.to_string().contains("is not a web address"),
        "{error}"
    );
}

/// A web server that is not a Companion gateway: `/v1/auth/config` answers whatever `answer`
/// makes.
async fn stub(answer: fn() -> axum::response::Response) -> (Url, tokio::task::JoinHandle<()>) {
    let app = Router::new().route("/v1/auth/config", get(move || async move { answer() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    (url, task)
}

#[tokio::test]
async fn a_companion_gateway_passes_the_check_with_its_login_hosts() {
    let gateway = FakeGateway::start(vec![]).await;
    let config = check(&gateway.url).await.unwrap();
    assert_eq!(config.login_hosts[0].url, LOGIN_HOST);
    assert_eq!(gateway.requests_to("/v1/auth/config"), 1);
}

#[tokio::test]
async fn a_server_that_is_not_a_gateway_is_named_as_such() {
    let answers: [fn() -> axum::response::Response; 5] = [
        || {
            (
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Welcome to nginx!</body></html>",
            )
                .into_response()
        },
        || StatusCode::NOT_FOUND.into_response(),
        || axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        || {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "https://elsewhere.example/")],
            )
                .into_response()
        },
        // Bigger than any auth config: refused rather than read whole.
        || "x".repeat(2 * MAX_CONFIG_BYTES).into_response(),
    ];
    for answer in answers {
        let (url, task) = stub(answer).await;
        let error = check(&url).await.unwrap_err();
        assert_eq!(error.kind(), "not_a_companion_server", "{error}");
        assert!(
            error.to_string().contains("is not a Companion server"),
            "{error}"
        );
        task.abort();
    }
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let error = check(&url).await.unwrap_err();
    assert_eq!(error.kind(), "unreachable");
    assert!(
        error
            .to_string()
            .contains("Nothing answered at http://127.0.0.1:"),
        "{error}"
    );
}

#[test]
fn the_administrators_preset_prefills_only_when_it_is_usable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("companion.toml");
    assert_eq!(read_preset(&file), None, "no file, no preset");
    std::fs::write(
        &file,
        "# set by IT\nserver = \"https://companion.example.com\"\n",
    )
    .unwrap();
    assert_eq!(
        read_preset(&file).as_deref(),
        Some("https://companion.example.com")
    );
    std::fs::write(&file, "server = \"http://companion.example.com\"\n").unwrap();
    assert_eq!(read_preset(&file), None, "insecure");
    std::fs::write(&file, "server = [not toml\n").unwrap();
    assert_eq!(read_preset(&file), None, "broken");
    std::fs::write(&file, "other = 1\n").unwrap();
    assert_eq!(read_preset(&file), None, "no server key");
}

fn device(dir: &Path, preset_file: Option<PathBuf>) -> Companion {
    Companion::open_device(
        DeviceConfig {
            data_dir: dir.to_owned(),
            fixed_server: None,
            preset_file,
        },
        Arc::new(MemoryStore::new()),
    )
    .unwrap()
}

#[tokio::test]
async fn first_start_asks_for_the_server_then_remembers_it_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("companion.toml");
    std::fs::write(&preset, "server = \"https://companion.example.com\"\n").unwrap();
    let data = dir.path().join("data");
    let core = device(&data, Some(preset.clone()));
    let setting = core.server();
    assert_eq!(setting.url, None);
    assert_eq!(setting.source, ServerSource::None);
    assert_eq!(
        setting.preset.as_deref(),
        Some("https://companion.example.com")
    );
    assert!(setting.can_change);
    let error = core
        .begin_login("companion://oauth/callback")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "no_server");
    assert_eq!(core.status().online, None);

    // A wrong address keeps asking; a gateway is accepted and remembered.
    let error = core
        .set_server("http://companion.example.com")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "insecure_url");
    assert_eq!(core.server().url, None);
    let gateway = FakeGateway::start(vec![]).await;
    let chosen = core.set_server(gateway.url.as_str()).await.unwrap();
    assert_eq!(chosen.url, display(&gateway.url));
    assert_eq!(chosen.login_hosts.len(), 1);
    assert_eq!(core.server().source, ServerSource::Chosen);
    drop(core);

    let core = device(&data, Some(preset));
    assert_eq!(core.server().url, Some(display(&gateway.url)));
    assert_eq!(core.server().source, ServerSource::Chosen);
    core.begin_login("companion://oauth/callback")
        .await
        .unwrap();
}

#[test]
fn a_damaged_choice_asks_again_instead_of_failing_to_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.json"), "{not json").unwrap();
    assert_eq!(device(dir.path(), None).server().url, None);
}

#[tokio::test]
async fn a_failed_check_keeps_the_server_chosen_before() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let core = device(dir.path(), None);
    core.set_server(gateway.url.as_str()).await.unwrap();
    let (other, task) = stub(|| StatusCode::NOT_FOUND.into_response()).await;
    let error = core.set_server(other.as_str()).await.unwrap_err();
    assert_eq!(error.kind(), "not_a_companion_server");
    assert_eq!(core.server().url, Some(display(&gateway.url)));
    assert_eq!(
        device(dir.path(), None).server().url,
        Some(display(&gateway.url))
    );
    task.abort();
}

#[tokio::test]
async fn the_server_can_change_only_while_signed_out() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let other = FakeGateway::start(vec![]).await;
    let core = device(dir.path(), None);
    core.set_server(gateway.url.as_str()).await.unwrap();
    let start = core
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    core.complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert!(!core.server().can_change);
    let error = core.set_server(other.url.as_str()).await.unwrap_err();
    assert_eq!(error.kind(), "server_locked");
    assert!(error.to_string().contains("Sign out"), "{error}");
    assert_eq!(other.requests_to("/v1/auth/config"), 0, "nothing asked");

    core.sign_out(false).await.unwrap();
    assert!(core.server().can_change);
    core.set_server(other.url.as_str()).await.unwrap();
    core.begin_login("companion://oauth/callback")
        .await
        .unwrap();
    assert_eq!(
        other.requests_to("/v1/auth/config"),
        2,
        "the check, then sign-in"
    );
}

#[tokio::test]
async fn a_fixed_server_cannot_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let core = Companion::open_device(
        DeviceConfig {
            data_dir: dir.path().to_owned(),
            fixed_server: Some(gateway.url.clone()),
            preset_file: None,
        },
        Arc::new(MemoryStore::new()),
    )
    .unwrap();
    let setting = core.server();
    assert_eq!(setting.source, ServerSource::Fixed);
    assert!(!setting.can_change);
    let error = core.set_server(gateway.url.as_str()).await.unwrap_err();
    assert_eq!(error.kind(), "server_locked");
}

#[tokio::test]
async fn the_rep_signs_in_at_the_login_host_they_pick() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let host = |label: &str, url: &str| LoginHost {
        label: label.into(),
        url: url.into(),
        authorize_url: format!("{url}/services/oauth2/authorize"),
    };
    gateway.advertise_login_hosts(vec![
        host("Production", "https://login.salesforce.com"),
        host("Sandbox", "https://test.salesforce.com"),
        host("Acme", "https://acme.my.salesforce.com"),
    ]);
    let core = device(dir.path(), None);
    let chosen = core.set_server(gateway.url.as_str()).await.unwrap();
    assert_eq!(chosen.login_hosts.len(), 3);
    assert_eq!(core.login_hosts().await.unwrap()[1].label, "Sandbox");

    let start = core
        .begin_login_at(
            "companion://oauth/callback",
            Some("https://test.salesforce.com"),
        )
        .await
        .unwrap();
    assert!(
        start
            .authorize_url
            .starts_with("https://test.salesforce.com/services/oauth2/authorize?"),
        "{}",
        start.authorize_url
    );
    core.complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(
        gateway.bodies_to("/v1/auth/exchange")[0]["login_host"],
        "https://test.salesforce.com"
    );

    let error = core
        .begin_login_at("companion://oauth/callback", Some("https://evil.example"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "bad_input");
}
