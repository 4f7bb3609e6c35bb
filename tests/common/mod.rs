//! What the cross-crate tests share: a demo org in sfsim, a gateway in front of it, and a test
//! "browser" that signs in on sfsim's login form.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod app;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use companion_core::{Companion, Config, SecretStore};
use companion_gateway::{Gateway, GatewayConfig, LoginHostConfig};
use serde_json::Value;
use sfsim::{Sim, SimConfig};

pub const REP: &str = "rep@demo.example";
pub const REP2: &str = "rep2@demo.example";
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:45123/callback";
pub const PASSWORD: &str = sfsim::DEMO_PASSWORD;

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start_org() -> Sim {
    sfsim::start(loopback(), SimConfig::default())
        .await
        .expect("sfsim starts")
}

pub async fn start_gateway(sim: &Sim, data_dir: &Path) -> Gateway {
    start_gateway_at(sim, data_dir, loopback()).await
}

pub async fn start_gateway_at(sim: &Sim, data_dir: &Path, listen: SocketAddr) -> Gateway {
    companion_gateway::start(gateway_config(sim, data_dir, listen))
        .await
        .expect("gateway starts")
}

/// A gateway in front of `sim`'s demo org, keeping its data in `data_dir`.
pub fn gateway_config(sim: &Sim, data_dir: &Path, listen: SocketAddr) -> GatewayConfig {
    GatewayConfig {
        listen,
        login_hosts: vec![LoginHostConfig {
            label: "Demo org".into(),
            url: sim.base_url(),
        }],
        // Defaults for the rest (both redirect URIs, scopes `api refresh_token`).
        ..GatewayConfig::new(
            &sim.base_url(),
            sfsim::DEMO_CLIENT_ID,
            sfsim::DEMO_CLIENT_SECRET,
            data_dir,
            [7u8; 32],
        )
    }
}

/// What a browser does on sfsim's login page: load the form, post the credentials with the
/// original query parameters. Returns the answer to the post.
pub async fn post_login_form(
    authorize_url: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the login form is served");
    let html = page.text().await.unwrap();
    assert!(html.contains("<form"), "a login form: {html}");

    let url = url::Url::parse(authorize_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let action = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap(),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    ) + url.path();
    browser.post(action).form(&form).send().await.unwrap()
}

/// Signs in on the form and returns where Salesforce sends the browser back (the callback URL).
pub async fn browser_sign_in(authorize_url: &str, username: &str) -> String {
    let answer = post_login_form(authorize_url, username, PASSWORD).await;
    assert_eq!(
        answer.status(),
        302,
        "a good password redirects to the callback"
    );
    answer
        .headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Names of the contacts a user owns in the demo org, as Salesforce has them.
pub fn contact_names_owned_by(sim: &Sim, username: &str) -> Vec<String> {
    let owner = sim.user_id(username).expect("demo user exists");
    let mut names: Vec<String> = sim
        .records("Contact")
        .into_iter()
        .filter(|c| c["OwnerId"] == owner.as_str())
        .map(|c| c["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

pub async fn start_sim(config: SimConfig) -> Sim {
    sfsim::start(loopback(), config)
        .await
        .expect("sfsim starts")
}

pub fn open_core(gateway_url: &str, data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Companion {
    Companion::open(
        Config {
            gateway_url: gateway_url.parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
        },
        secrets,
    )
    .expect("core opens")
}

pub async fn sign_in(core: &Companion, username: &str) {
    let start = core.begin_login(LOOPBACK_REDIRECT).await.unwrap();
    let callback = browser_sign_in(&start.authorize_url, username).await;
    core.complete_login(&callback).await.unwrap();
}

/// An admin session straight at sfsim: the "other user" who edits the org.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    pub async fn sign_in(sim: &Sim) -> Admin {
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("{}/services/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "password"),
                ("client_id", sfsim::DEMO_CLIENT_ID),
                ("client_secret", sfsim::DEMO_CLIENT_SECRET),
                ("username", "admin@demo.example"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Admin {
            http,
            base: sim.base_url(),
            token: body["access_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/services/data/v58.0/{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

pub fn owned_by(sim: &Sim, object: &str, username: &str) -> Vec<String> {
    let owner = sim.user_id(username).unwrap();
    sim.records(object)
        .into_iter()
        .filter(|r| r["OwnerId"] == owner.as_str())
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

/// The `companion-cli` binary cargo built next to this test.
pub fn cli_binary() -> std::path::PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // deps
    dir.pop(); // debug
    let path = dir.join(format!("companion-cli{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "companion-cli is built: {}", path.display());
    path
}

pub fn cli(data_dir: &Path, gateway_url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(cli_binary());
    command
        .arg("--gateway")
        .arg(gateway_url)
        .arg("--data-dir")
        .arg(data_dir)
        // No session bus: the CLI uses its file store, where this test's core put the secrets.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/companion-test-bus",
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

pub fn integrity_ok(data_dir: &Path, gateway_url: &str) {
    let output = cli(data_dir, gateway_url).arg("check").output().unwrap();
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "ok",
        "integrity check: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
