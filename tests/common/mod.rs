//! What the cross-crate tests share: a demo org in sfsim, a gateway in front of it, and a test
//! "browser" that signs in on sfsim's login form.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::net::SocketAddr;
use std::path::Path;

use companion_gateway::{Gateway, GatewayConfig, LoginHostConfig};
use sfsim::{Sim, SimConfig};

pub const REP: &str = "rep@demo.example";
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
