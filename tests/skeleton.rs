//! The walking skeleton end to end, in one process on loopback: sfsim (the org) + the gateway +
//! core. The test plays the browser on sfsim's login form.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use companion_core::{Companion, Config, CoreError, MemoryStore};

/// A loopback redirect, as the CLI uses (any port is accepted for loopback).
const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:45123/callback";

fn open_core(
    gateway_url: &str,
    data_dir: &std::path::Path,
    secrets: Arc<MemoryStore>,
) -> Companion {
    Companion::open(
        Config {
            gateway_url: gateway_url.parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
        },
        secrets,
    )
    .expect("core opens")
}

#[tokio::test(flavor = "multi_thread")]
async fn rep_signs_in_syncs_and_browses_contacts_even_with_the_gateway_down() {
    let sim = start_org().await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let device = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let core = open_core(&gateway.base_url(), device.path(), secrets.clone());
    assert!(core.current_user().is_none());

    // Sign in: core makes the authorize URL, the "browser" logs in and follows the redirect.
    let start = core.begin_login(LOOPBACK_REDIRECT).await.unwrap();
    let wrong = post_login_form(&start.authorize_url, REP, "not-the-password").await;
    assert_eq!(wrong.status(), 200, "a wrong password shows the form again");
    let page = wrong.text().await.unwrap();
    assert!(page.contains("<form") && page.contains("check your username and password"));
    let callback = browser_sign_in(&start.authorize_url, REP).await;
    assert!(callback.starts_with(LOOPBACK_REDIRECT), "{callback}");
    let user = core.complete_login(&callback).await.unwrap();
    assert_eq!(user.username, REP);
    assert_eq!(core.current_user().unwrap().username, REP);

    // First sync: every contact the rep owns, and only those.
    let report = core.sync(|_| {}).await.unwrap();
    let expected = contact_names_owned_by(&sim, REP);
    assert!(
        expected.len() > 100,
        "the demo org gives the rep most contacts"
    );
    assert_eq!(report.contacts as usize, expected.len());
    let listed: Vec<String> = core
        .contacts(None)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected);

    // Search finds a contact by the start of its last name.
    let someone = sim
        .records("Contact")
        .into_iter()
        .find(|c| c["OwnerId"] == sim.user_id(REP).unwrap().as_str())
        .unwrap();
    let last_name = someone["LastName"].as_str().unwrap();
    let found = core.contacts(Some(&last_name[..3])).unwrap();
    assert!(
        found
            .iter()
            .any(|c| c.id == someone["Id"].as_str().unwrap()),
        "searching {:?} finds {}",
        &last_name[..3],
        someone["Name"]
    );

    // The Salesforce session expires; the next sync refreshes it without the caller noticing,
    // and brings the change made in Salesforce meanwhile.
    sim.expire_access_tokens();
    let id = someone["Id"].as_str().unwrap();
    sim.update_record(
        "Contact",
        id,
        serde_json::json!({"Title": "VP of Moonshots"}),
    )
    .unwrap();
    let delta = core.sync(|_| {}).await.expect("refreshed transparently");
    assert_eq!(
        delta.contacts, 1,
        "a delta sync brings only the changed contact"
    );
    let changed = core.contacts(Some(last_name)).unwrap();
    assert!(changed
        .iter()
        .any(|c| c.id == id && c.title.as_deref() == Some("VP of Moonshots")));

    // The gateway goes away: contacts are still there, and the app knows it is offline.
    gateway.shutdown().await;
    let offline = core.sync(|_| {}).await.unwrap_err();
    assert_eq!(offline.kind(), "offline", "{offline}");
    assert_eq!(core.status().online, Some(false));
    assert_eq!(core.contacts(None).unwrap().len(), expected.len());

    // …and after a restart of the app, too.
    drop(core);
    let reopened = open_core("http://127.0.0.1:9", device.path(), secrets);
    assert_eq!(reopened.current_user().unwrap().username, REP);
    assert_eq!(reopened.contacts(None).unwrap().len(), expected.len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_with_another_state_is_refused() {
    let sim = start_org().await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let device = tempfile::tempdir().unwrap();
    let core = open_core(
        &gateway.base_url(),
        device.path(),
        Arc::new(MemoryStore::default()),
    );

    let start = core.begin_login(LOOPBACK_REDIRECT).await.unwrap();
    let callback = browser_sign_in(&start.authorize_url, REP).await;
    let mut forged = url::Url::parse(&callback).unwrap();
    let code = forged
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "someone-elses-state");
    let error = core.complete_login(forged.as_str()).await.unwrap_err();
    assert_eq!(error.kind(), "sign_in_failed");
    assert!(
        error.to_string().contains("Sign-in failed — try again"),
        "{error}"
    );
    assert!(core.current_user().is_none(), "nobody is signed in");
    gateway.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_gateway_at_sign_in_is_a_clear_error_not_a_hang() {
    // Nothing listens on port 9 of loopback.
    let device = tempfile::tempdir().unwrap();
    let core = open_core(
        "http://127.0.0.1:9",
        device.path(),
        Arc::new(MemoryStore::default()),
    );
    let started = Instant::now();
    let error: CoreError = core.begin_login(LOOPBACK_REDIRECT).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(error.kind(), "offline");
    assert!(
        error.to_string().contains("127.0.0.1:9"),
        "the message names the server: {error}"
    );
}
