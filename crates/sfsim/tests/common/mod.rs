//! Helpers shared by the integration tests: a browser-like client and the OAuth dance.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::{redirect::Policy, Client, Method, Response, StatusCode};
use serde_json::Value;
use sfsim::{Sim, SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD};
use sha2::{Digest, Sha256};
use url::Url;

pub const REDIRECT: &str = "http://127.0.0.1:53682/callback";
pub const VERIFIER: &str = "k3Jv8sVt0QzH5rW2yN7pL4mX9bC6dF1gA8eT3uI0oP2qR5sZ7wY4xV6nM9jK1hG";

pub async fn start(config: SimConfig) -> Sim {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    sfsim::start(addr, config).await.expect("sfsim starts")
}

/// A client that does not follow redirects, like a test playing the browser.
pub fn browser() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client builds")
}

/// RFC 7636 S256, computed here independently of sfsim.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Authorize parameters for a PKCE S256 login of the demo app.
pub fn authorize_params(state: &str, scope: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", state),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Posts the login form with these authorize parameters and returns the redirect's `Location`.
pub async fn post_login(
    sim: &Sim,
    params: &[(String, String)],
    username: &str,
    password: &str,
) -> Response {
    let mut form = params.to_vec();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    browser()
        .post(format!("{}/services/oauth2/authorize", sim.base_url()))
        .form(&form)
        .send()
        .await
        .expect("authorize POST answers")
}

/// Query parameters of a `Location` header.
pub fn location_params(response: &Response) -> (Url, Vec<(String, String)>) {
    let location = response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ASCII Location");
    let url = Url::parse(location).expect("Location is a URL");
    let pairs = url.query_pairs().into_owned().collect();
    (url, pairs)
}

pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Logs in through the form and returns the (decoded) authorization code.
pub async fn code_for(sim: &Sim, username: &str, params: &[(String, String)]) -> String {
    let response = post_login(sim, params, username, DEMO_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let (_, pairs) = location_params(&response);
    get(&pairs, "code").expect("a code").to_owned()
}

pub async fn token_request(sim: &Sim, form: &[(&str, &str)]) -> Response {
    browser()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(form)
        .send()
        .await
        .expect("token endpoint answers")
}

/// The full sign-in: form, code, exchange with verifier and secret. Returns the token response.
pub async fn sign_in(sim: &Sim, username: &str) -> Value {
    let code = code_for(sim, username, &authorize_params("s", "api refresh_token")).await;
    let response = token_request(
        sim,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON token response")
}

pub async fn access_token(sim: &Sim, username: &str) -> String {
    sign_in(sim, username).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// `GET /services/data/v58.0/query?q=…`, optionally with a batch size.
pub async fn query(sim: &Sim, token: &str, soql: &str, batch: Option<u32>) -> Response {
    let mut request = browser()
        .get(format!("{}/services/data/v58.0/query", sim.base_url()))
        .query(&[("q", soql)])
        .bearer_auth(token);
    if let Some(n) = batch {
        request = request.header("Sforce-Query-Options", format!("batchSize={n}"));
    }
    request.send().await.expect("query answers")
}

pub async fn query_json(sim: &Sim, token: &str, soql: &str) -> Value {
    let response = query(sim, token, soql, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{soql}");
    response.json().await.expect("JSON body")
}

pub fn content_type(response: &Response) -> &str {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The REST API's base path in this version.
pub const V: &str = "/services/data/v58.0";

/// A REST call as the signed-in `token`, with an optional JSON body.
pub async fn call(
    sim: &Sim,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = browser()
        .request(method, format!("{}{V}{path}", sim.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("sfsim answers")
}

pub async fn body(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}
