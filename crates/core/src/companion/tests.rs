use std::sync::Mutex;
use std::time::{Duration, Instant};

use companion_api::{Account, Contact, DeletedRecord, SyncResponse};

use super::*;
use crate::secrets::MemoryStore;
use crate::testing::{self, FakeGateway};

fn account(id: &str, name: &str) -> Account {
    Account {
        id: id.into(),
        name: name.into(),
        industry: None,
        phone: None,
        website: None,
        billing_street: None,
        billing_city: None,
        billing_state: None,
        billing_postal_code: None,
        billing_country: None,
        owner_id: "005000000000001AAA".into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

fn contact(id: &str, first: &str, last: &str, email: &str, account_id: &str) -> Contact {
    Contact {
        id: id.into(),
        first_name: Some(first.into()),
        last_name: last.into(),
        name: format!("{first} {last}"),
        email: Some(email.into()),
        phone: None,
        mobile_phone: None,
        title: Some("Buyer".into()),
        account_id: Some(account_id.into()),
        owner_id: "005000000000001AAA".into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

/// Two pages: accounts and two contacts, then one more contact.
pub(super) fn first_sync_pages() -> Vec<SyncResponse> {
    vec![
        SyncResponse {
            accounts: vec![
                account("001000000000001AAA", "Acme"),
                account("001000000000002AAA", "Globex"),
            ],
            contacts: vec![
                contact(
                    "003000000000001AAA",
                    "Ada",
                    "Lovelace",
                    "ada@acme.example",
                    "001000000000001AAA",
                ),
                contact(
                    "003000000000002AAA",
                    "Grace",
                    "Hopper",
                    "grace@globex.example",
                    "001000000000002AAA",
                ),
            ],
            ..Default::default()
        },
        SyncResponse {
            contacts: vec![contact(
                "003000000000003AAA",
                "Alan",
                "Turing",
                "alan@acme.example",
                "001000000000001AAA",
            )],
            ..Default::default()
        },
    ]
}

pub(super) struct Fixture {
    dir: tempfile::TempDir,
    pub(super) secrets: Arc<MemoryStore>,
}

impl Fixture {
    pub(super) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            secrets: Arc::new(MemoryStore::new()),
        }
    }

    pub(super) fn open(&self, gateway: &url::Url) -> Companion {
        let config = Config {
            gateway_url: gateway.clone(),
            data_dir: self.dir.path().to_owned(),
        };
        Companion::open(config, self.secrets.clone()).unwrap()
    }

    pub(super) async fn signed_in(&self, gateway: &FakeGateway) -> Companion {
        let companion = self.open(&gateway.url);
        let start = companion
            .begin_login("companion://oauth/callback")
            .await
            .unwrap();
        companion
            .complete_login(&FakeGateway::callback_for(&start.authorize_url))
            .await
            .unwrap();
        companion
    }
}

fn names(list: &[ContactSummary]) -> Vec<&str> {
    list.iter().map(|c| c.name.as_str()).collect()
}

/// A loopback port nothing listens on.
pub(super) fn closed_port_url() -> url::Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()
}

#[tokio::test]
async fn sign_in_exchanges_the_code_with_the_verifier_and_keeps_the_token_secret() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    assert!(!companion.status().signed_in);

    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    assert!(start.authorize_url.starts_with(&format!(
        "{}/services/oauth2/authorize?",
        testing::LOGIN_HOST
    )));
    let user = companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(user, testing::user());
    assert_eq!(companion.current_user(), Some(testing::user()));
    assert!(companion.status().signed_in);

    let exchange = &gateway.bodies_to("/v1/auth/exchange")[0];
    assert_eq!(exchange["code"], testing::CODE);
    assert_eq!(exchange["redirect_uri"], "companion://oauth/callback");
    assert_eq!(exchange["login_host"], testing::LOGIN_HOST);
    // The verifier sent is the one whose S256 challenge went to the authorize URL.
    use base64::Engine;
    use sha2::Digest;
    let verifier = exchange["code_verifier"].as_str().unwrap();
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    assert!(start
        .authorize_url
        .contains(&format!("code_challenge={challenge}")));

    // The token is in the secret store, not in any file of the data folder.
    assert_eq!(
        fx.secrets
            .get("session:00D000000000001AAA:005000000000001AAA")
            .unwrap()
            .as_deref(),
        Some(testing::SESSION_TOKEN)
    );
    for entry in walk(fx.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let needle = testing::SESSION_TOKEN.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "token found in {}",
            entry.display()
        );
    }
    assert!(
        !login::pending_path(fx.dir.path()).exists(),
        "finished sign-in is forgotten"
    );
    gateway.stop().await;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn callback_with_wrong_state_is_refused_without_calling_the_gateway() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();

    let forged = format!(
        "companion://oauth/callback?code={}&state=attacker-state",
        testing::CODE
    );
    let err = companion.complete_login(&forged).await.unwrap_err();
    assert_eq!(err.kind(), "sign_in_failed");
    assert_eq!(err.to_string(), "Sign-in failed — try again");
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    assert!(!companion.status().signed_in);

    // The rep's own sign-in is still pending and can finish.
    companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn callback_without_a_pending_sign_in_is_refused() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let err = companion
        .complete_login(&format!(
            "companion://oauth/callback?code={}&state=x",
            testing::CODE
        ))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Sign-in failed — try again");
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn callback_with_an_error_shows_salesforces_text() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    let state = url::Url::parse(&start.authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = format!(
        "companion://oauth/callback?error=access_denied&error_description=end-user%20denied%20authorization&state={state}"
    );
    let err = companion.complete_login(&callback).await.unwrap_err();
    assert_eq!(err.kind(), "sign_in_failed");
    assert!(
        err.to_string().contains("end-user denied authorization"),
        "{err}"
    );
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn a_code_the_gateway_rejects_is_a_sign_in_failure() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    let callback =
        FakeGateway::callback_for(&start.authorize_url).replace(testing::CODE, "used-code");
    let err = companion.complete_login(&callback).await.unwrap_err();
    assert_eq!(err.kind(), "sign_in_failed");
    assert!(
        err.to_string().contains("invalid authorization code"),
        "{err}"
    );
    assert!(!companion.status().signed_in);
    gateway.stop().await;
}

#[tokio::test]
async fn pending_sign_in_survives_the_app_being_killed() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let start = {
        let companion = fx.open(&gateway.url);
        companion
            .begin_login("companion://oauth/callback")
            .await
            .unwrap()
    };
    // A fresh process receives the deep link.
    let companion = fx.open(&gateway.url);
    let user = companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(user.username, "rep@demo.example");
    gateway.stop().await;
}

#[tokio::test]
async fn sync_applies_every_page_reports_progress_and_resumes_from_cursors() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;

    let progress = Mutex::new(vec![]);
    let report = companion
        .sync(|p| progress.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(
        report,
        SyncReport {
            accounts: 2,
            contacts: 3,
            pages: 2,
            ..Default::default()
        }
    );
    let progress = progress.into_inner().unwrap();
    assert_eq!(
        progress,
        vec![
            SyncProgress {
                object: "Account".into(),
                done: 2,
                total: None
            },
            SyncProgress {
                object: "Contact".into(),
                done: 2,
                total: None
            },
            SyncProgress {
                object: "Contact".into(),
                done: 3,
                total: None
            },
        ]
    );
    let all = companion.contacts(None).unwrap();
    assert_eq!(names(&all), ["Ada Lovelace", "Alan Turing", "Grace Hopper"]);
    assert_eq!(all[0].account_name.as_deref(), Some("Acme"));
    let status = companion.status();
    assert_eq!(status.online, Some(true));
    assert!(!status.syncing);
    let synced_at = status.last_synced_at.expect("last sync recorded");
    OffsetDateTime::parse(&synced_at, &Rfc3339).unwrap();

    // First request had no cursors; the next carried the ones the first page returned.
    let bodies = gateway.bodies_to("/v1/sync");
    assert_eq!(bodies[0]["cursors"], serde_json::json!({}));
    assert_eq!(bodies[1]["cursors"]["Contact"], "p1");

    // A delta: one change and one delete since last time.
    gateway.push_page(SyncResponse {
        contacts: vec![contact(
            "003000000000004AAA",
            "Katherine",
            "Johnson",
            "kj@globex.example",
            "001000000000002AAA",
        )],
        deleted: vec![DeletedRecord {
            object: "Contact".into(),
            id: "003000000000002AAA".into(),
            deleted_date: None,
        }],
        ..Default::default()
    });
    let report = companion.sync(|_| {}).await.unwrap();
    assert_eq!(
        report,
        SyncReport {
            accounts: 0,
            contacts: 2,
            pages: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        names(&companion.contacts(None).unwrap()),
        ["Ada Lovelace", "Alan Turing", "Katherine Johnson"]
    );
    assert_eq!(
        names(&companion.contacts(Some("glob")).unwrap()),
        ["Katherine Johnson"]
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_second_sync_joins_the_running_one() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    let (a, b) = tokio::join!(companion.sync(|_| {}), companion.sync(|_| {}));
    let (a, b) = (a.unwrap(), b.unwrap());
    // The second joined the first: one run, one outcome, each page fetched once.
    assert_eq!(a, b);
    assert_eq!(a.contacts, 3, "{a:?}");
    assert_eq!(gateway.requests_to("/v1/sync"), 2);
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    gateway.stop().await;
}

#[tokio::test]
async fn a_refresh_arriving_during_a_background_sync_still_gets_what_it_asked_for() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    let background = SyncOptions {
        reconcile: false,
        push: PushMode::Due,
    };
    let (a, b) = tokio::join!(
        companion.sync_with(background, |_| {}),
        companion.sync(|_| {})
    );
    a.unwrap();
    b.unwrap();
    // The refresh did not take the background sync's outcome: it also asked the gateway which
    // records the rep may see (the background kind does not).
    assert_eq!(gateway.requests_to("/v1/sync/counts"), 1);
    // A second background request during a refresh joins it (the refresh does more).
    let (a, b) = tokio::join!(
        companion.sync(|_| {}),
        companion.sync_with(background, |_| {})
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(gateway.requests_to("/v1/sync/counts"), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn with_the_gateway_down_contacts_are_still_listed_and_status_says_offline() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let url = gateway.url.clone();
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    gateway.stop().await;

    let started = Instant::now();
    let err = companion.sync(|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), "offline");
    assert!(
        err.to_string()
            .contains(&format!("Can't reach the Companion server at {url}")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(companion.status().online, Some(false));
    assert!(!companion.status().syncing);
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    drop(companion);

    // Restarted with the gateway still down.
    let companion = fx.open(&url);
    assert!(companion.status().signed_in);
    assert_eq!(companion.status().online, None);
    assert!(companion.status().last_synced_at.is_some());
    assert_eq!(
        names(&companion.contacts(Some("ada")).unwrap()),
        ["Ada Lovelace"]
    );
}

#[tokio::test]
async fn unreachable_gateway_at_sign_in_is_offline_quickly() {
    let fx = Fixture::new();
    let url = closed_port_url();
    let companion = fx.open(&url);
    let started = Instant::now();
    let err = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "offline");
    assert!(
        err.to_string()
            .starts_with("Can't reach the Companion server at http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(companion.status().online, Some(false));
}

#[tokio::test]
async fn reauth_required_keeps_the_replica() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    gateway.require_reauth();
    let err = companion.sync(|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), "reauth_required");
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    assert_eq!(companion.status().online, Some(true));
    gateway.stop().await;
}

#[tokio::test]
async fn missing_token_asks_for_sign_in_again() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    fx.secrets
        .delete("session:00D000000000001AAA:005000000000001AAA")
        .unwrap();
    assert_eq!(
        companion.sync(|_| {}).await.unwrap_err().kind(),
        "reauth_required"
    );
    assert_eq!(gateway.requests_to("/v1/sync"), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn not_signed_in_is_a_clear_error() {
    let fx = Fixture::new();
    let companion = fx.open(&closed_port_url());
    let err = companion.contacts(None).unwrap_err();
    assert_eq!(err.kind(), "not_signed_in");
    assert_eq!(err.to_string(), "You're not signed in. Sign in first.");
    assert_eq!(
        companion.sync(|_| {}).await.unwrap_err().kind(),
        "not_signed_in"
    );
    assert_eq!(companion.current_user(), None);
}

#[tokio::test]
async fn sign_out_forgets_the_session_but_keeps_the_replica_file() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.sign_out(false).await.unwrap();

    assert!(!companion.status().signed_in);
    assert_eq!(
        companion.contacts(None).unwrap_err().kind(),
        "not_signed_in"
    );
    assert_eq!(
        fx.secrets
            .get("session:00D000000000001AAA:005000000000001AAA")
            .unwrap(),
        None
    );
    assert_eq!(gateway.requests_to("/v1/auth/logout"), 1);
    assert!(
        !fx.open(&gateway.url).status().signed_in,
        "still signed out after a restart"
    );

    // Signing in again finds the replica as it was.
    let companion = fx.signed_in(&gateway).await;
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    gateway.stop().await;
}

#[test]
fn a_bad_gateway_url_is_bad_input() {
    let fx = Fixture::new();
    let config = Config {
        gateway_url: url::Url::parse("mailto:x@y").unwrap(),
        data_dir: fx.dir.path().to_owned(),
    };
    let err = Companion::open(config, fx.secrets.clone()).err().unwrap();
    assert_eq!(err.kind(), "bad_input");
}

#[tokio::test]
async fn an_authorize_url_that_is_not_https_is_refused_and_nothing_is_kept() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    for advertised in [
        "file:///etc/passwd",
        "javascript:alert(document.cookie)",
        "http://login.fake.example/services/oauth2/authorize",
    ] {
        gateway.advertise_authorize_url(advertised);
        let err = companion
            .begin_login("companion://oauth/callback")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "gateway", "{advertised}");
        assert!(
            err.to_string().contains("only https addresses are allowed"),
            "{advertised}: {err}"
        );
        assert!(
            !login::pending_path(fx.dir.path()).exists(),
            "no sign-in kept for {advertised}"
        );
    }
    // The simulated org on this machine is fine over plain http.
    gateway.advertise_authorize_url("http://127.0.0.1:8700/services/oauth2/authorize");
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    assert!(start
        .authorize_url
        .starts_with("http://127.0.0.1:8700/services/oauth2/authorize?"));
    gateway.stop().await;
}

#[tokio::test]
async fn a_sign_in_finished_after_30_minutes_is_refused_and_forgotten() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    let mut pending = login::load_pending(fx.dir.path()).unwrap().unwrap();
    pending.created_at = OffsetDateTime::now_utc() - time::Duration::minutes(31);
    login::save_pending(fx.dir.path(), &pending).unwrap();

    let err = companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "sign_in_failed");
    assert_eq!(err.to_string(), "Sign-in took too long — try again");
    assert!(!login::pending_path(fx.dir.path()).exists());
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    assert!(!companion.status().signed_in);

    // Trying again works.
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    gateway.stop().await;
}

#[tokio::test]
async fn an_error_link_without_our_state_shows_no_text_of_its_own() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    for forged in [
        "companion://oauth/callback?error=x&error_description=Call%20support%20at%200900",
        "companion://oauth/callback?error=x&error_description=Call%20support%20at%200900&state=guess",
    ] {
        let err = companion.complete_login(forged).await.unwrap_err();
        assert_eq!(err.kind(), "sign_in_failed");
        assert_eq!(err.to_string(), "Sign-in failed — try again");
    }
    // The real sign-in is still pending and finishes.
    companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    gateway.stop().await;
}

#[tokio::test]
async fn callback_matches_pending_only_for_this_sign_ins_state() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.open(&gateway.url);
    let good_shape = "http://127.0.0.1:5555/callback?code=c&state=whatever";
    assert!(
        !companion.callback_matches_pending(good_shape),
        "nothing pending"
    );
    let start = companion
        .begin_login("http://127.0.0.1:5555/callback")
        .await
        .unwrap();
    let ours = FakeGateway::callback_for(&start.authorize_url);
    assert!(companion.callback_matches_pending(&ours));
    assert!(!companion.callback_matches_pending(good_shape));
    assert!(!companion.callback_matches_pending("http://127.0.0.1:5555/callback?error=x"));
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    companion.complete_login(&ours).await.unwrap();
    assert!(
        !companion.callback_matches_pending(&ours),
        "a finished sign-in matches nothing"
    );
    gateway.stop().await;
}

#[cfg(unix)]
#[test]
fn a_new_data_folder_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let data_dir = fx.dir.path().join("nested").join("companion");
    let config = Config {
        gateway_url: closed_port_url(),
        data_dir: data_dir.clone(),
    };
    Companion::open(config, fx.secrets.clone()).unwrap();
    let mode = std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

fn second_user() -> User {
    User {
        user_id: "005000000000002AAA".into(),
        org_id: "00D000000000001AAA".into(),
        username: "second@demo.example".into(),
        display_name: "Sam Second".into(),
        email: "second@demo.example".into(),
    }
}

#[tokio::test]
async fn signing_in_as_someone_else_signs_the_first_user_out() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    let first_replica = companion
        .current_session()
        .unwrap()
        .replica
        .unwrap()
        .path()
        .to_owned();
    let first_key = "session:00D000000000001AAA:005000000000001AAA";
    assert!(fx.secrets.get(first_key).unwrap().is_some());

    gateway.sign_in_as(second_user(), "second-session-token");
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    let user = companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(user, second_user());
    assert_eq!(companion.current_user(), Some(second_user()));

    // The first user's token is gone from the device and their gateway session ended.
    assert_eq!(fx.secrets.get(first_key).unwrap(), None);
    assert_eq!(
        fx.secrets
            .get("session:00D000000000001AAA:005000000000002AAA")
            .unwrap()
            .as_deref(),
        Some("second-session-token")
    );
    let logouts = gateway.bodies_to("/v1/auth/logout");
    assert_eq!(logouts.len(), 1);
    assert_eq!(logouts[0]["bearer"], testing::SESSION_TOKEN);

    // Each rep keeps their own replica: the second starts empty, the first's file stays.
    let second_replica = companion
        .current_session()
        .unwrap()
        .replica
        .unwrap()
        .path()
        .to_owned();
    assert_ne!(second_replica, first_replica);
    assert!(first_replica.exists());
    assert!(companion.contacts(None).unwrap().is_empty());

    // After a restart the second user is the one signed in.
    assert_eq!(fx.open(&gateway.url).current_user(), Some(second_user()));
    gateway.stop().await;
}

#[tokio::test]
async fn signing_in_again_as_the_same_user_ends_the_old_gateway_session_only() {
    let gateway = FakeGateway::start(vec![]).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    gateway.sign_in_as(testing::user(), "fresh-session-token");
    let start = companion
        .begin_login("companion://oauth/callback")
        .await
        .unwrap();
    companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    assert_eq!(
        fx.secrets
            .get("session:00D000000000001AAA:005000000000001AAA")
            .unwrap()
            .as_deref(),
        Some("fresh-session-token")
    );
    let logouts = gateway.bodies_to("/v1/auth/logout");
    assert_eq!(logouts.len(), 1);
    assert_eq!(logouts[0]["bearer"], testing::SESSION_TOKEN);
    gateway.stop().await;
}

#[tokio::test]
async fn a_lost_replica_key_is_a_clear_error_and_a_fresh_start_recovers() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    drop(companion);

    // The keyring lost the replica's key (a restored phone, a wiped keychain).
    let user = testing::user();
    fx.secrets
        .delete(&format!("replica-key:{}:{}", user.org_id, user.user_id))
        .unwrap();
    let companion = fx.open(&gateway.url);
    assert_eq!(
        companion.current_user().as_ref(),
        Some(&user),
        "still signed in"
    );
    let error = companion.contacts(None).unwrap_err();
    assert_eq!(error.kind(), "replica_unreadable");
    assert!(error.to_string().contains("Start fresh"), "{error}");
    assert!(
        error.to_string().contains("not sent yet"),
        "the rep is told what starting fresh loses: {error}"
    );
    // No new key was made for the old file behind the rep's back.
    assert_eq!(
        fx.secrets
            .get(&format!("replica-key:{}:{}", user.org_id, user.user_id))
            .unwrap(),
        None
    );
    let status = companion.status();
    assert!(status.signed_in && status.counts.is_empty());

    // The rep takes the offer: a fresh, empty replica, filled again by the next sync.
    companion.start_fresh().unwrap();
    assert!(companion.contacts(None).unwrap().is_empty());
    companion.sync(|_| {}).await.unwrap();
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    gateway.stop().await;
}
