//! The real app, driven like a person would: the built `companion-app` (custom-protocol build)
//! under Xvfb, through tauri-driver and Debian's WebKitWebDriver, against a real gateway and sfsim.
//!
//! Run by `cargo xtask test`, which builds the app and provides a display, a session bus with an
//! unlocked keyring, and these variables: COMPANION_APP_BIN, TAURI_DRIVER_BIN,
//! COMPANION_SCREENSHOT_DIR. Ignored in a plain `cargo test`, which has none of them.

mod common;

use std::path::PathBuf;

use common::app::{Desktop, TauriDriver};
use common::*;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the built app, tauri-driver and a display: run by `cargo xtask test`"]
async fn rep_signs_in_through_the_system_browser_and_sees_contacts_also_offline() {
    let app_bin = PathBuf::from(env("COMPANION_APP_BIN"));
    let driver_bin = PathBuf::from(env("TAURI_DRIVER_BIN"));
    let screenshots = PathBuf::from(env("COMPANION_SCREENSHOT_DIR"));
    std::fs::create_dir_all(&screenshots).unwrap();

    let sim = start_org().await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let desktop = Desktop::new(&gateway.base_url());

    // Launch the app and press Sign in.
    let driver = TauriDriver::start(&driver_bin, &desktop);
    let app = driver.launch(&app_bin).await;
    app.wait_for("[data-testid=sign-in]").await;
    app.click("[data-testid=sign-in]").await;
    let authorize_url = desktop.wait_for_browser_url(1).await;
    assert!(
        authorize_url.contains("/services/oauth2/authorize"),
        "{authorize_url}"
    );
    assert!(
        authorize_url.contains("code_challenge="),
        "PKCE: {authorize_url}"
    );

    // A callback that is not the answer to our sign-in is refused, visibly.
    desktop.deliver_link(
        &app_bin,
        "companion://oauth/callback?code=forged&state=not-ours",
    );
    let error = app.wait_for_text("[data-testid=sign-in-error]").await;
    assert!(error.contains("Sign-in failed — try again"), "{error}");

    // The rep signs in; Salesforce sends the browser to companion://, and Linux starts a second
    // process with that URL, which hands it to the running app.
    let callback = browser_sign_in(&authorize_url, REP).await;
    assert!(
        callback.starts_with("companion://oauth/callback?"),
        "{callback}"
    );
    desktop.deliver_link(&app_bin, &callback);

    let expected = contact_names_owned_by(&sim, REP);
    let rows = app.wait_for_rows(expected.len()).await;
    app.screenshot(&screenshots.join("contacts.png")).await;
    for name in &expected {
        assert!(
            rows.iter().any(|row| row.contains(name.as_str())),
            "{name} is listed"
        );
    }
    app.quit().await;

    // Restarted with the gateway down: the contacts are there, and the app says it is offline.
    gateway.shutdown().await;
    let app = driver.launch(&app_bin).await;
    let rows = app.wait_for_rows(expected.len()).await;
    assert!(rows.iter().any(|row| row.contains(expected[0].as_str())));
    let banner = app.wait_for_text("[data-testid=offline-banner]").await;
    assert!(banner.to_lowercase().contains("offline"), "{banner}");
    app.screenshot(&screenshots.join("contacts-offline.png"))
        .await;
    app.quit().await;

    drop(driver);
    sim.shutdown().await;
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `cargo xtask test`"))
}
