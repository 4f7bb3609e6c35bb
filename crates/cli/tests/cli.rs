//! The `companion-cli` binary against a data folder prepared through core and core's fake
//! gateway. No OS keyring here: the session bus points nowhere, so the CLI falls back to its
//! file store, as it does on a headless machine.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use companion_core::api::{Account, Contact, SyncResponse};
use companion_core::testing::{self, FakeGateway};
use companion_core::{Companion, Config, FileStore, SecretStore};

const NO_BUS: &str = "unix:path=/nonexistent/companion-cli-test-bus";

fn contact(id: &str, first: &str, last: &str, email: &str) -> Contact {
    Contact {
        id: id.into(),
        first_name: Some(first.into()),
        last_name: last.into(),
        name: format!("{first} {last}"),
        email: Some(email.into()),
        phone: None,
        mobile_phone: None,
        title: Some("Engineer".into()),
        account_id: Some("001000000000001AAA".into()),
        owner_id: "005000000000001AAA".into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

fn pages() -> Vec<SyncResponse> {
    vec![SyncResponse {
        accounts: vec![Account {
            id: "001000000000001AAA".into(),
            name: "Acme".into(),
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
        }],
        contacts: vec![
            contact(
                "003000000000002AAA",
                "Grace",
                "Hopper",
                "grace@acme.example",
            ),
            contact("003000000000001AAA", "Ada", "Lovelace", "ada@acme.example"),
        ],
        ..Default::default()
    }]
}

/// Signs in and syncs through core, keeping the token where the CLI's fallback looks for it.
async fn prepare(data_dir: &Path, gateway: &FakeGateway) {
    let secrets: Arc<dyn SecretStore> = Arc::new(FileStore::in_data_dir(data_dir));
    let config = Config {
        gateway_url: gateway.url.clone(),
        data_dir: data_dir.to_owned(),
    };
    let companion = Companion::open(config, secrets).unwrap();
    let start = companion
        .begin_login("http://127.0.0.1:1/callback")
        .await
        .unwrap();
    companion
        .complete_login(&FakeGateway::callback_for(&start.authorize_url))
        .await
        .unwrap();
    companion.sync(|_| {}).await.unwrap();
}

fn cli(data_dir: &Path, gateway: &url::Url) -> Command {
    let mut cmd = Command::cargo_bin("companion-cli").unwrap();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .env_remove("BROWSER")
        .env_remove("COMPANION_GATEWAY_URL")
        .env_remove("COMPANION_DATA_DIR")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--gateway")
        .arg(gateway.as_str())
        .timeout(Duration::from_secs(60));
    cmd
}

fn closed_port_url() -> url::Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[tokio::test]
async fn contacts_json_is_one_array_with_id_name_email_even_offline() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    gateway.stop().await;

    let output = cli(dir.path(), &closed_port_url())
        .args(["contacts", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is one JSON value");
    let items = json.as_array().expect("a JSON array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], "003000000000001AAA");
    assert_eq!(items[0]["name"], "Ada Lovelace");
    assert_eq!(items[0]["email"], "ada@acme.example");
    assert_eq!(items[0]["account_name"], "Acme");
    assert_eq!(items[1]["name"], "Grace Hopper");
    // The replica is encrypted: listing reads its key (from the fallback file here) and says so.
    assert!(
        stderr(&output).contains("keeping the session token and the data key in"),
        "{}",
        stderr(&output)
    );

    let output = cli(dir.path(), &closed_port_url())
        .args(["contacts", "--search", "grace@", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["name"], "Grace Hopper");

    let output = cli(dir.path(), &closed_port_url())
        .args(["contacts", "--search", "zzz", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&output).trim(), "[]");
}

#[tokio::test]
async fn contacts_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    let output = cli(dir.path(), &gateway.url)
        .arg("contacts")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("EMAIL") && lines[0].contains("ACCOUNT")
    );
    assert!(
        lines[1].starts_with("Ada Lovelace")
            && lines[1].contains("ada@acme.example")
            && lines[1].contains("Acme")
    );
    assert!(lines[2].starts_with("Grace Hopper"));
    gateway.stop().await;
}

#[tokio::test]
async fn a_reader_that_stops_early_is_not_a_crash() {
    // `companion-cli contacts --json | head -1`: the pipe closes before the output is written.
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("companion-cli"))
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--gateway")
        .arg(gateway.url.as_str())
        .args(["contacts", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    gateway.stop().await;
}

#[test]
fn not_signed_in_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["contacts", "--json"][..], &["sync"][..]] {
        let output = cli(dir.path(), &closed_port_url())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(4), "{args:?}");
        assert_eq!(stdout(&output), "");
        assert!(
            stderr(&output).contains("error: You're not signed in. Sign in first."),
            "{}",
            stderr(&output)
        );
    }
}

#[tokio::test]
async fn sync_with_the_gateway_down_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    gateway.stop().await;
    let url = closed_port_url();
    let started = Instant::now();
    let output = cli(dir.path(), &url).arg("sync").output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains(&format!("error: Can't reach the Companion server at {url}")),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_pulls_new_changes_with_the_token_from_the_fallback_file() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    gateway.push_page(SyncResponse {
        contacts: vec![contact(
            "003000000000003AAA",
            "Alan",
            "Turing",
            "alan@acme.example",
        )],
        ..Default::default()
    });
    let mut cmd = cli(dir.path(), &gateway.url);
    let output = tokio::task::spawn_blocking(move || cmd.arg("sync").output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).trim(),
        "Synced 0 account changes, 1 contact change, 0 opportunity changes, 0 task changes and \
         0 lead changes; 0 records no longer yours (1 page)."
    );
    let err = stderr(&output);
    assert!(err.contains("Contact: 1 synced"), "{err}");
    assert!(
        err.contains(&format!(
            "warning: no OS keyring available; keeping the session token and the data key in {} (readable only by you)",
            dir.path().join("secrets.json").display()
        )),
        "{err}"
    );
    let output = cli(dir.path(), &gateway.url)
        .args(["contacts", "--search", "turing", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json[0]["name"], "Alan Turing");
    gateway.stop().await;
}

/// `$BROWSER` gets the authorize URL; the test plays the browser and Salesforce by loading the
/// loopback callback, and sees the page and the CLI's greeting.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn login_opens_browser_and_receives_the_loopback_redirect() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let gateway = FakeGateway::start(vec![]).await;
    let recorded = dir.path().join("browser-url.txt");
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\n",
            recorded.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut cmd = cli(&data_dir, &gateway.url);
    cmd.env("BROWSER", &script).arg("login");
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap());

    let deadline = Instant::now() + Duration::from_secs(30);
    while !recorded.exists() {
        assert!(Instant::now() < deadline, "BROWSER was not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let authorize_url = std::fs::read_to_string(&recorded).unwrap();
    assert!(
        authorize_url.starts_with(testing::LOGIN_HOST),
        "{authorize_url}"
    );
    let callback = FakeGateway::callback_for(&authorize_url);
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");

    let page = reqwest::get(&callback).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Signed in — you can close this tab"),
        "{html}"
    );

    let output = run.await.unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains(&authorize_url),
        "the URL is printed too: {out}"
    );
    assert!(
        out.contains("Signed in as Riley Rep (rep@demo.example)"),
        "{out}"
    );
    assert!(stderr(&output).contains("warning: no OS keyring available"));

    let secrets = data_dir.join("secrets.json");
    assert_eq!(
        std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        FileStore::new(&secrets)
            .get("session:00D000000000001AAA:005000000000001AAA")
            .unwrap()
            .as_deref(),
        Some(testing::SESSION_TOKEN)
    );
    gateway.stop().await;
}

/// Starts `companion-cli login` with no `$BROWSER`; returns the authorize URL it printed and
/// its exit status, stdout (after the URL) and stderr once it ends.
async fn spawn_login(
    data_dir: &Path,
    gateway: &url::Url,
) -> (
    String,
    tokio::task::JoinHandle<(std::process::ExitStatus, String, String)>,
) {
    let mut cmd = cli(data_dir, gateway);
    cmd.arg("login");
    let mut child = std::process::Command::new(cmd.get_program());
    child
        .args(cmd.get_args())
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .env_remove("BROWSER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = child.spawn().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    // Keeps reading stdout to the end, so the CLI never writes into a closed pipe.
    let waiter = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut child = child;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.trim_start().starts_with("https://") {
                url_tx.send(line.trim().to_string()).unwrap();
                break;
            }
        }
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        (status, rest.join("\n"), err)
    });
    let authorize_url =
        tokio::task::spawn_blocking(move || url_rx.recv_timeout(Duration::from_secs(30)).unwrap())
            .await
            .unwrap();
    (authorize_url, waiter)
}

/// Any web page can make the browser load the loopback address: requests without this login's
/// `state` are answered 400 and do not end `login`, and the gateway never sees their code; the
/// rep's own redirect then finishes the sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn login_ignores_callbacks_without_its_state_and_keeps_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let (authorize_url, waiter) = spawn_login(dir.path(), &gateway.url).await;
    let callback = FakeGateway::callback_for(&authorize_url);
    let base = callback.split('?').next().unwrap().to_string();
    let forged_code = callback.split("&state=").next().unwrap().to_string() + "&state=forged";
    for forged in [
        forged_code,
        format!("{base}?code={}", testing::CODE),
        format!("{base}?error=access_denied&error_description=Call%200900%20now"),
        format!("{base}?error=access_denied&error_description=Call%200900%20now&state=forged"),
    ] {
        let page = reqwest::get(&forged).await.unwrap();
        assert_eq!(page.status(), 400, "{forged}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("This sign-in link is not for this login."),
            "{forged}: {html}"
        );
        assert!(!html.contains("0900"), "{html}");
    }
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);

    // Still waiting: the real redirect signs in.
    let page = reqwest::get(&callback).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Signed in — you can close this tab"));
    let (status, out, err) = waiter.await.unwrap();
    assert!(status.success(), "{err}");
    assert!(
        out.contains("Signed in as Riley Rep (rep@demo.example)"),
        "{out}"
    );
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 1);
    gateway.stop().await;
}

/// A redirect with this login's `state` and Salesforce's error ends `login` with Salesforce's text.
#[tokio::test(flavor = "multi_thread")]
async fn login_reports_salesforces_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(vec![]).await;
    let (authorize_url, waiter) = spawn_login(dir.path(), &gateway.url).await;
    let state = url::Url::parse(&authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let base = FakeGateway::callback_for(&authorize_url)
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let refused = format!(
        "{base}?error=access_denied&error_description=end-user%20denied%20authorization&state={state}"
    );
    let page = reqwest::get(&refused).await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("end-user denied authorization"));
    let (status, _out, err) = waiter.await.unwrap();
    assert!(!status.success());
    assert!(
        err.contains("error: Salesforce refused the sign-in: end-user denied authorization"),
        "{err}"
    );
    assert_eq!(gateway.requests_to("/v1/auth/exchange"), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn accounts_opportunities_show_search_and_status_speak_json_offline() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = pages();
    first[0].opportunities = vec![companion_core::api::Opportunity {
        id: "006000000000001AAA".into(),
        name: "Acme renewal".into(),
        stage_name: "Negotiation/Review".into(),
        amount: Some(48_000.0),
        close_date: "2099-06-30".into(),
        probability: Some(90.0),
        is_closed: false,
        is_won: false,
        account_id: Some("001000000000001AAA".into()),
        next_step: None,
        owner_id: "005000000000001AAA".into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }];
    let gateway = FakeGateway::start(first).await;
    prepare(dir.path(), &gateway).await;
    gateway.stop().await;
    let offline = closed_port_url();
    let json = |args: &[&str]| -> serde_json::Value {
        let output = cli(dir.path(), &offline).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_str(&stdout(&output)).expect("one JSON value")
    };

    let accounts = json(&["accounts", "--json"]);
    assert_eq!(accounts[0]["id"], "001000000000001AAA");
    assert_eq!(accounts[0]["name"], "Acme");
    assert!(
        accounts[0].get("billing_city").is_some(),
        "snake_case fields"
    );

    let deals = json(&["opportunities", "--json", "--stage", "Negotiation/Review"]);
    assert_eq!(deals[0]["id"], "006000000000001AAA");
    assert_eq!(deals[0]["stage_name"], "Negotiation/Review");
    assert_eq!(deals[0]["account_name"], "Acme");
    let none = json(&["opportunities", "--json", "--min-amount", "50000"]);
    assert_eq!(none, serde_json::json!([]));

    let contact = json(&["show", "003000000000001AAA", "--json"]);
    assert_eq!(contact["object"], "Contact");
    assert_eq!(contact["name"], "Ada Lovelace");
    assert_eq!(contact["account"]["name"], "Acme");
    assert_eq!(contact["open_opportunities"][0]["id"], "006000000000001AAA");

    let hits = json(&["search", "acme", "--json"]);
    let objects: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["object"].as_str().unwrap())
        .collect();
    assert!(
        objects.contains(&"Account") && objects.contains(&"Opportunity"),
        "{hits}"
    );

    let status = json(&["status", "--json"]);
    assert_eq!(status["status"]["counts"]["Contact"], 2);
    assert_eq!(status["status"]["counts"]["Opportunity"], 1);
    assert_eq!(status["status"]["pending"], 0);
    assert_eq!(status["user"]["username"], "rep@demo.example");

    // A record not on the device, or not an id: a clear error, not a crash.
    for bad in ["003000000000009AAA", "not-an-id"] {
        let output = cli(dir.path(), &offline)
            .args(["show", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{bad}");
        let err = stderr(&output);
        assert!(err.lines().any(|l| l.starts_with("error: ")), "{err}");
    }
    // The plain-text forms print too.
    for args in [["accounts"], ["opportunities"], ["check"]] {
        let output = cli(dir.path(), &offline).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
    }
    let table = cli(dir.path(), &offline)
        .args(["search", "ada"])
        .output()
        .unwrap();
    assert!(stdout(&table).contains("Ada Lovelace"));
}

/// Runs the CLI and parses the one JSON value it prints; fails with its stderr otherwise.
fn json_of(data_dir: &Path, gateway: &url::Url, args: &[&str]) -> serde_json::Value {
    let output = cli(data_dir, gateway).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("stdout is one JSON value")
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_work_offline_speak_json_and_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = FakeGateway::start(pages()).await;
    prepare(dir.path(), &gateway).await;
    let offline = closed_port_url();
    let d = dir.path();

    let lead = json_of(
        d,
        &offline,
        &[
            "lead",
            "new",
            "--last-name",
            "Hopper",
            "--company",
            "Navy",
            "--json",
        ],
    );
    let local = lead["id"].as_str().unwrap().to_string();
    assert!(local.starts_with("local-00Q-"), "{lead}");
    assert_eq!(lead["pending"], "waiting");
    let call = json_of(
        d,
        &offline,
        &[
            "call",
            "log",
            "--about",
            &local,
            "--subject",
            "Hello",
            "--duration-seconds",
            "90",
            "--json",
        ],
    );
    assert_eq!(call["who_id"], local.as_str());
    // Dated the rep's local today, not UTC's: in a zone whose date differs from UTC's now.
    let (zone, offset_hours) = if time::OffsetDateTime::now_utc().hour() < 12 {
        ("<-12>12", -12)
    } else {
        ("<+14>-14", 14)
    };
    let output = cli(d, &offline)
        .env("TZ", zone)
        .args([
            "call",
            "log",
            "--about",
            &local,
            "--subject",
            "Late call",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let late_call: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let their_today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap())
        .date();
    assert_ne!(their_today, time::OffsetDateTime::now_utc().date());
    assert_eq!(late_call["activity_date"], their_today.to_string());
    let contact = json_of(
        d,
        &offline,
        &[
            "contact",
            "update",
            "003000000000001AAA",
            "--title",
            "CTO",
            "--json",
        ],
    );
    assert_eq!(
        (contact["title"].as_str(), contact["pending"].as_str()),
        (Some("CTO"), Some("waiting"))
    );
    let leads = json_of(d, &offline, &["leads", "--json"]);
    assert_eq!(leads[0]["id"], local.as_str());
    let pending = json_of(d, &offline, &["pending", "--json"]);
    let kinds: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["create_lead", "log_call", "log_call", "update_contact"]
    );
    assert_eq!(pending[1]["fields"]["CallDurationInSeconds"], 90);
    let status = json_of(d, &offline, &["status", "--json"]);
    assert_eq!(status["status"]["outbox"]["pending"], 4);

    // Bad input: a clear error, exit 1, nothing saved.
    for (args, says) in [
        (
            vec!["lead", "new", "--last-name", " ", "--company", "Navy"],
            "Last name is required",
        ),
        (
            vec![
                "task",
                "new",
                "--about",
                &local,
                "--subject",
                "x",
                "--due",
                "next week",
            ],
            "YYYY-MM-DD",
        ),
        (
            vec!["call", "log", "--about", "001ZZZ", "--subject", "x"],
            "No record",
        ),
        (
            vec!["resolve", "no-such-key", "--keep-mine"],
            "No pending change",
        ),
        (
            vec![
                "retry",
                pending[0]["key"].as_str().unwrap(),
                "--set",
                "Nope=1",
            ],
            "not a field",
        ),
        (vec!["discard", "no-such-key"], "No pending change"),
    ] {
        let output = cli(d, &offline).args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(
        json_of(d, &offline, &["pending", "--json"])
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Offline, push says so (exit 3) and keeps everything; signing out refuses.
    let output = cli(d, &offline).arg("push").output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let output = cli(d, &offline).arg("logout").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("4 changes"), "{}", stderr(&output));

    // Online: all four sent (the calls after their lead), the local id still opens the lead.
    let pushed = json_of(d, &gateway.url, &["push", "--json"]);
    assert_eq!(pushed["report"]["sent"], 4);
    assert!(json_of(d, &gateway.url, &["pending", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    let shown = json_of(d, &offline, &["show", &local, "--json"]);
    assert_eq!(shown["object"], "Lead");
    assert!(shown["id"].as_str().unwrap().starts_with("00Q"));
    let output = cli(d, &offline).args(["logout"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    gateway.stop().await;
}
