//! The real app, driven like a person would: the built `companion-app` (custom-protocol build)
//! under Xvfb, through tauri-driver and Debian's WebKitWebDriver, against a real gateway and sfsim.
//!
//! Run by `cargo xtask test`, which builds the app and provides a display, a session bus with an
//! unlocked keyring, and these variables: COMPANION_APP_BIN, TAURI_DRIVER_BIN,
//! COMPANION_SCREENSHOT_DIR. Ignored in a plain `cargo test`, which has none of them.

mod common;

use std::path::PathBuf;

use common::app::{AppSession, Desktop, SystemPreset, TauriDriver, PATIENCE};
use common::*;

/// The app as installed: no server fixed. The first screen asks for the company's server,
/// prefilled with the administrator's preset; an address that answers but is not a Companion
/// server (sfsim) is refused with a clear message; the gateway is accepted, and the rep signs in
/// through it. After a restart the server is remembered.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the built app, tauri-driver and a display: run by `cargo xtask test`"]
async fn a_rep_chooses_the_companion_server_on_the_first_screen() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app_bin = PathBuf::from(env("COMPANION_APP_BIN"));
    let driver_bin = PathBuf::from(env("TAURI_DRIVER_BIN"));
    let shot = screenshots("server-");

    let sim = start_sim(sfsim::SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let desktop = Desktop::choosing_server(&gateway.base_url());
    let driver = TauriDriver::start(&driver_bin, &desktop);
    let app = driver.launch(&app_bin).await;

    // The first screen: the preset is there; sfsim answers, but not as a Companion server.
    app.wait_for_text_containing("h1", "Your company's Companion server")
        .await;
    app.wait_for_value("[data-testid=server-address]", &gateway.base_url())
        .await;
    app.type_into("[data-testid=server-address]", &sim.base_url())
        .await;
    app.click("[data-testid=server-continue]").await;
    let error = app
        .wait_for_text_containing("[data-testid=server-error]", "isn't a Companion server")
        .await;
    assert!(error.contains(&sim.base_url()), "{error}");
    assert!(app.elements("[data-testid=sign-in]").await.is_empty());
    app.screenshot(&shot("01-not-a-companion-server")).await;

    // The gateway is accepted; the sign-in screen names it.
    app.type_into("[data-testid=server-address]", &gateway.base_url())
        .await;
    app.click("[data-testid=server-continue]").await;
    app.wait_for_text_containing("[data-testid=server-info]", &gateway.base_url())
        .await;
    app.screenshot(&shot("02-sign-in-through-it")).await;
    app.click("[data-testid=sign-in]").await;
    let authorize_url = desktop.wait_for_browser_url(1).await;
    assert!(
        authorize_url.starts_with(&format!("{}/services/oauth2/authorize", sim.base_url())),
        "{authorize_url}"
    );
    let callback = browser_sign_in(&authorize_url, REP).await;
    desktop.deliver_link(&app_bin, &callback);
    app.wait_for("[data-testid=contact-row]").await;
    app.screenshot(&shot("03-contacts")).await;
    app.quit().await;

    // Started again, the app remembers the server: no first screen, the rep is still in.
    let app = driver.launch(&app_bin).await;
    app.wait_for("[data-testid=contact-row]").await;
    assert!(app
        .elements("[data-testid=server-address]")
        .await
        .is_empty());
    app.quit().await;
}

/// The app as a rep gets it: `apt install ./companion_….deb`, then started from the desktop.
/// The installed binary asks for the server on its first screen, prefilled from the
/// administrator's `/etc/companion/companion.toml` (nothing fixed); the rep signs in in the browser (played by the test), and Salesforce's redirect to
/// `companion://oauth/callback?…` goes through `xdg-open`, exactly as the desktop does: the MIME
/// database names the package's desktop entry, whose `Exec` line starts `companion-app %u`,
/// which hands the link to the running app. The rep's contacts appear.
///
/// Run by `cargo xtask test` while the package is installed (its ".deb" step), with
/// COMPANION_INSTALLED_APP and COMPANION_INSTALLED_DESKTOP_FILE as `dpkg -L` lists them.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the installed package, tauri-driver and a display: run by `cargo xtask test`"]
async fn installed_package_a_rep_chooses_the_server_and_signs_in_through_xdg_open() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app_bin = PathBuf::from(env("COMPANION_INSTALLED_APP"));
    let desktop_file = PathBuf::from(env("COMPANION_INSTALLED_DESKTOP_FILE"));
    let driver_bin = PathBuf::from(env("TAURI_DRIVER_BIN"));
    let shot = screenshots("installed-");

    let sim = start_sim(sfsim::SimConfig::default()).await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let desktop = Desktop::with_installed_entry(&desktop_file);
    let entry_name = desktop_file.file_name().unwrap().to_string_lossy();
    assert_eq!(
        desktop.default_handler("x-scheme-handler/companion"),
        entry_name,
        "the installed desktop entry must handle companion:// links"
    );

    // The first screen: the server the administrator preset in /etc/companion is there; the
    // rep takes it.
    let _preset = SystemPreset::set(&gateway.base_url());
    let driver = TauriDriver::start(&driver_bin, &desktop);
    let app = driver.launch(&app_bin).await;
    app.wait_for_text_containing("h1", "Your company's Companion server")
        .await;
    app.wait_for_value("[data-testid=server-address]", &gateway.base_url())
        .await;
    app.screenshot(&shot("01-first-screen")).await;
    app.click("[data-testid=server-continue]").await;
    app.wait_for_text_containing("[data-testid=server-info]", &gateway.base_url())
        .await;
    app.click("[data-testid=sign-in]").await;
    let authorize_url = desktop.wait_for_browser_url(1).await;
    assert!(
        authorize_url.starts_with(&format!("{}/services/oauth2/authorize", sim.base_url())),
        "{authorize_url}"
    );

    // The browser signs in; its redirect to companion:// is opened as the desktop opens it.
    let callback = browser_sign_in(&authorize_url, REP).await;
    assert!(
        callback.starts_with("companion://oauth/callback?"),
        "{callback}"
    );
    desktop.xdg_open(&callback);
    let expected = contact_names_owned_by(&sim, REP);
    app.wait_for_text_containing("[data-testid=contact-count]", &expected.len().to_string())
        .await;
    app.wait_for("[data-testid=contact-row]").await;
    let rows = app.texts("[data-testid=contact-row]").await;
    assert!(
        rows.iter()
            .all(|row| expected.iter().any(|name| row.contains(name.as_str()))),
        "rows that are none of the rep's contacts: {rows:?}"
    );
    app.screenshot(&shot("02-contacts")).await;
    app.quit().await;

    // The installed app left the link to the package: no handler of its own for this user.
    assert_eq!(
        desktop.handlers_registered_by_the_app(),
        Vec::<String>::new()
    );
    drop(driver);
    gateway.shutdown().await;
    sim.shutdown().await;
}

/// One app on the display at a time: a second would hand its links to the first
/// (single-instance), and the tests of this file run in parallel threads.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the built app, tauri-driver and a display: run by `cargo xtask test`"]
async fn a_rep_signs_in_works_offline_and_every_change_reaches_salesforce_once() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app_bin = PathBuf::from(env("COMPANION_APP_BIN"));
    let driver_bin = PathBuf::from(env("TAURI_DRIVER_BIN"));
    let shot = screenshots("");

    let sim = start_sim(sfsim::SimConfig {
        control: true,
        ..Default::default()
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let address = gateway.local_addr();
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
    app.screenshot(&shot("01-sign-in-refused")).await;

    // The rep signs in; Salesforce sends the browser to companion://, and Linux starts a second
    // process with that URL, which hands it to the running app.
    let callback = browser_sign_in(&authorize_url, REP).await;
    assert!(
        callback.starts_with("companion://oauth/callback?"),
        "{callback}"
    );
    desktop.deliver_link(&app_bin, &callback);

    // The list counts the rep's contacts (it draws only the rows on screen); search finds one.
    let expected = contact_names_owned_by(&sim, REP);
    app.wait_for_text_containing("[data-testid=contact-count]", &expected.len().to_string())
        .await;
    app.wait_for("[data-testid=contact-row]").await;
    app.screenshot(&shot("02-contacts")).await;
    let ada = &expected[expected.len() / 2];
    app.type_into("[data-testid=search]", ada).await;
    app.wait_for_text_containing("[data-testid=contact-row]", ada)
        .await;
    app.screenshot(&shot("03-search")).await;

    // Open the contact and log a call: it reaches Salesforce by itself.
    app.click_visible("[data-testid=contact-row]").await;
    app.wait_for_text_containing(
        "[data-testid=contact-detail] h1, [data-testid=contact-detail] h2",
        ada,
    )
    .await;
    // Call hands the number to the system's dialler (the opener takes tel: links out).
    app.click_visible("[data-testid=contact-detail] [data-testid=call]")
        .await;
    let dialled = desktop.wait_for_browser_url(2).await;
    assert!(dialled.starts_with("tel:"), "Call opened {dialled}");
    app.click_visible("[data-testid=contact-detail] [data-testid=log-call]")
        .await;
    app.type_into("[data-testid=field-subject]", "Intro call (e2e)")
        .await;
    app.click_visible("[data-testid=log-call-form] [data-testid=save]")
        .await;
    app.wait_for_text_containing("[data-testid=contact-detail]", "Intro call (e2e)")
        .await;
    wait_until("the call is in Salesforce", || {
        in_org(&sim, "Task", "Subject", "Intro call (e2e)").len() == 1
    })
    .await;
    app.screenshot(&shot("04-call-logged")).await;

    // The network goes: a lead at a trade show, a call about it, a deal's next stage.
    gateway.shutdown().await;
    app.click_visible("[data-testid=new-lead]").await;
    app.type_into("[data-testid=field-last_name]", "Booth")
        .await;
    app.type_into("[data-testid=field-company]", "Trade Show Ltd (e2e)")
        .await;
    app.click_visible("[data-testid=lead-form] [data-testid=save]")
        .await;
    app.wait_for_text_containing("[data-testid=lead-detail]", "Trade Show Ltd (e2e)")
        .await;
    app.click_visible("[data-testid=lead-detail] [data-testid=log-call]")
        .await;
    app.type_into("[data-testid=field-subject]", "Met at the booth (e2e)")
        .await;
    app.click_visible("[data-testid=log-call-form] [data-testid=save]")
        .await;
    app.wait_for_text_containing("[data-testid=lead-detail]", "Met at the booth (e2e)")
        .await;
    app.screenshot(&shot("05-offline-lead-and-call")).await;

    app.click_visible("[data-testid=nav-opportunities]").await;
    app.click_visible("[data-testid=opportunity-row]").await;
    app.wait_for("[data-testid=opportunity-detail]").await;
    let deal_name = app
        .texts("[data-testid=opportunity-detail] h1, [data-testid=opportunity-detail] h2")
        .await;
    let (deal, stage_before) = deal_named(&sim, &deal_name);
    let new_stage = next_open_stage(&app, &stage_before).await;
    move_to_stage(&app, &new_stage).await;
    app.screenshot(&shot("06-offline-stage")).await;

    // Pending shows the three, and they outlive a restart.
    app.click_visible("[data-testid=nav-pending]").await;
    app.wait_for_count("[data-testid=pending-row]", 3).await;
    app.wait_for_text_containing("[data-testid=pending-count]", "3")
        .await;
    app.screenshot(&shot("07-pending-three")).await;
    app.quit().await;
    let app = driver.launch(&app_bin).await;
    let banner = app.wait_for_text("[data-testid=offline-banner]").await;
    assert!(banner.to_lowercase().contains("offline"), "{banner}");
    app.click_visible("[data-testid=nav-pending]").await;
    app.wait_for_count("[data-testid=pending-row]", 3).await;
    app.screenshot(&shot("08-pending-after-restart")).await;

    // The network is back: refresh, and everything is sent once.
    let gateway = start_gateway_at(&sim, gateway_dir.path(), address).await;
    app.click_visible("[data-testid=nav-contacts]").await;
    app.click_visible("[data-testid=refresh]").await;
    app.click_visible("[data-testid=nav-pending]").await;
    app.wait_for_count("[data-testid=pending-row]", 0).await;
    let leads = in_org(&sim, "Lead", "Company", "Trade Show Ltd (e2e)");
    assert_eq!(leads.len(), 1, "exactly one lead");
    let calls = in_org(&sim, "Task", "Subject", "Met at the booth (e2e)");
    assert_eq!(calls.len(), 1, "exactly one call about it");
    assert_eq!(calls[0]["WhoId"], leads[0]["Id"], "linked to the lead");
    assert_eq!(
        in_org(&sim, "Opportunity", "Id", &deal)[0]["StageName"],
        new_stage.as_str()
    );
    app.screenshot(&shot("09-pending-sent")).await;

    // A conflict: offline again, the admin moves the deal in Salesforce, the rep moves it from
    // the older view; back online, the rep keeps their stage.
    gateway.shutdown().await;
    // The admin edits a little later than the rep's last view: `If-Unmodified-Since` compares
    // whole seconds, as HTTP dates do, so sfsim's clock moves on two.
    let advanced = reqwest::Client::new()
        .post(format!("{}/__sim/clock/advance", sim.base_url()))
        .json(&serde_json::json!({"seconds": 2}))
        .send()
        .await
        .unwrap();
    assert!(advanced.status().is_success());
    let admin = Admin::sign_in(&sim).await;
    admin
        .call(
            reqwest::Method::PATCH,
            &format!("sobjects/Opportunity/{deal}"),
            Some(serde_json::json!({"StageName": "Value Proposition"})),
        )
        .await;
    app.click_visible("[data-testid=nav-opportunities]").await;
    app.click_visible(&format!("[data-testid=opportunity-row][href*='{deal}']"))
        .await;
    app.wait_for("[data-testid=opportunity-detail]").await;
    let mine = next_open_stage(&app, &new_stage).await;
    assert_ne!(mine, "Value Proposition");
    move_to_stage(&app, &mine).await;
    let gateway = start_gateway_at(&sim, gateway_dir.path(), address).await;
    app.click_visible("[data-testid=nav-pending]").await;
    app.click_visible("[data-testid=send-now]").await;
    // The rep opens the change once it shows the conflict (opened while it is still being
    // sent, the list may be redrawn under the click on a loaded machine).
    app.click_visible("[data-testid=pending-row][data-state=conflict]")
        .await;
    app.wait_for("[data-testid=conflict-field]").await;
    app.wait_for_text_containing("[data-testid=theirs]", "Value Proposition")
        .await;
    app.screenshot(&shot("10-conflict")).await;
    app.click_visible("[data-testid=keep-mine]").await;
    wait_until("the rep's stage is in Salesforce", || {
        in_org(&sim, "Opportunity", "Id", &deal)[0]["StageName"] == mine.as_str()
    })
    .await;
    app.click_visible("[data-testid=nav-pending]").await;
    app.wait_for_count("[data-testid=pending-row]", 0).await;
    app.screenshot(&shot("11-conflict-kept-mine")).await;
    app.quit().await;

    drop(driver);
    gateway.shutdown().await;
    sim.shutdown().await;
}

/// Records of `object` in sfsim whose `field` is `value`.
fn in_org(sim: &sfsim::Sim, object: &str, field: &str, value: &str) -> Vec<serde_json::Value> {
    sim.records(object)
        .into_iter()
        .filter(|r| r.get(field).and_then(|v| v.as_str()) == Some(value))
        .map(serde_json::Value::Object)
        .collect()
}

/// The deal whose name a heading shows: its id and stage in Salesforce.
fn deal_named(sim: &sfsim::Sim, headings: &[String]) -> (String, String) {
    sim.records("Opportunity")
        .into_iter()
        .find(|r| {
            let name = r["Name"].as_str().unwrap_or_default();
            headings.iter().any(|h| h.trim() == name)
        })
        .map(|r| {
            (
                r["Id"].as_str().unwrap().to_owned(),
                r["StageName"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap_or_else(|| panic!("no deal is named {headings:?}"))
}

/// An open stage of the path other than `current` (and than the admin's "Value Proposition").
async fn next_open_stage(app: &AppSession, current: &str) -> String {
    let stages = app.attributes("[data-testid=stage]", "data-stage").await;
    stages
        .into_iter()
        .find(|s| s != current && s != "Value Proposition" && !s.starts_with("Closed"))
        .expect("an open stage to move to")
}

/// Taps `stage` on the deal's path (confirming if asked) and waits for the deal to show it.
async fn move_to_stage(app: &AppSession, stage: &str) {
    app.click_visible(&format!("[data-testid=stage][data-stage='{stage}']"))
        .await;
    if !app.elements("[data-testid=confirm]").await.is_empty() {
        app.click_visible("[data-testid=confirm]").await;
    }
    app.wait_for_text_containing("[data-testid=stage-name]", stage)
        .await;
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Where a test's screenshots go: `COMPANION_SCREENSHOT_DIR/<prefix><name>.png`.
fn screenshots(prefix: &'static str) -> impl Fn(&str) -> PathBuf {
    let dir = PathBuf::from(env("COMPANION_SCREENSHOT_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    move |name| dir.join(format!("{prefix}{name}.png"))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `cargo xtask test`"))
}
