//! Runs the real gateway against the real sfsim on loopback, and plays the browser.

#![allow(dead_code)]

pub mod outbound;
#[path = "../../src/store/test_database.rs"]
pub mod test_database;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use companion_api::{ErrorBody, ExchangeRequest, ExchangeResponse, SyncRequest, SyncResponse};
use companion_gateway::{Gateway, GatewayConfig, Tuning};
use sfsim::{Sim, SimConfig};
use sha2::{Digest, Sha256};

pub const REDIRECT_URI: &str = "http://127.0.0.1:53682/callback";
pub const REP: &str = "rep@demo.example";
pub const TOKEN_KEY: [u8; 32] = [42; 32];

pub struct Env {
    pub sim: Sim,
    pub gateway: Gateway,
    pub data_dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub async fn start_sim(config: SimConfig) -> Sim {
    sfsim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), config)
        .await
        .expect("sfsim starts")
}

pub fn gateway_config(login_url: &str, data_dir: &std::path::Path) -> GatewayConfig {
    GatewayConfig::new(
        login_url,
        sfsim::DEMO_CLIENT_ID,
        sfsim::DEMO_CLIENT_SECRET,
        data_dir,
        TOKEN_KEY,
    )
}

impl Env {
    pub async fn start(sim_config: SimConfig, tuning: Tuning) -> Env {
        Env::start_configured(sim_config, tuning, |_| {}).await
    }

    /// [`Env::start`] with `configure`'s gateway settings.
    pub async fn start_configured(
        sim_config: SimConfig,
        tuning: Tuning,
        configure: impl FnOnce(&mut GatewayConfig),
    ) -> Env {
        let sim = start_sim(sim_config).await;
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = gateway_config(&sim.base_url(), data_dir.path());
        configure(&mut config);
        let gateway = companion_gateway::start_with(config, tuning)
            .await
            .expect("gateway starts");
        Env {
            sim,
            gateway,
            data_dir,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub async fn default() -> Env {
        Env::start(SimConfig::default(), Tuning::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base_url())
    }

    /// Play the browser at sfsim; see [`authorize`].
    pub async fn authorize(&self, username: &str) -> (String, String) {
        authorize(&self.http, &self.sim.base_url(), username).await
    }

    pub async fn exchange_raw(&self, request: &ExchangeRequest) -> reqwest::Response {
        self.http
            .post(self.url("/v1/auth/exchange"))
            .json(request)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, username: &str) -> ExchangeResponse {
        let (code, code_verifier) = self.authorize(username).await;
        let response = self
            .exchange_raw(&ExchangeRequest {
                code,
                code_verifier,
                redirect_uri: REDIRECT_URI.into(),
                login_host: self.sim.base_url(),
            })
            .await;
        assert_eq!(
            response.status(),
            200,
            "exchange: {}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    /// A session of `username` straight at sfsim (password grant), as the org's other users
    /// and the benchmarks' direct calls use it: the token endpoint's JSON answer.
    pub async fn password_grant(&self, username: &str) -> serde_json::Value {
        self.http
            .post(format!("{}/services/oauth2/token", self.sim.base_url()))
            .form(&[
                ("grant_type", "password"),
                ("client_id", sfsim::DEMO_CLIENT_ID),
                ("client_secret", sfsim::DEMO_CLIENT_SECRET),
                ("username", username),
                ("password", sfsim::DEMO_PASSWORD),
            ])
            .send()
            .await
            .expect("token endpoint answers")
            .json()
            .await
            .expect("token JSON")
    }

    pub async fn sync_raw(&self, session: &str, request: &SyncRequest) -> reqwest::Response {
        self.http
            .post(self.url("/v1/sync"))
            .bearer_auth(session)
            .json(request)
            .send()
            .await
            .unwrap()
    }

    pub async fn sync(&self, session: &str, request: &SyncRequest) -> SyncResponse {
        let response = self.sync_raw(session, request).await;
        assert_eq!(
            response.status(),
            200,
            "sync: {}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    /// Sync until `more` is false, as a client would; returns every page.
    pub async fn sync_all(&self, session: &str, mut request: SyncRequest) -> Vec<SyncResponse> {
        let mut pages = Vec::new();
        loop {
            let page = self.sync(session, &request).await;
            request.cursors = page.cursors.clone();
            let more = page.more;
            pages.push(page);
            if !more {
                return pages;
            }
            assert!(pages.len() < 1000, "sync does not end");
        }
    }

    /// sfsim's counters (`GET /__sim/stats`): token requests by grant, endpoints, outbound messages.
    pub async fn sim_stats(&self) -> serde_json::Value {
        sim_stats(&self.http, &self.sim.base_url()).await
    }

    /// How many times the gateway stored new Salesforce tokens for `user_id` (1 = sign-in only),
    /// read from its SQLite file.
    pub fn token_generation(&self, user_id: &str) -> i64 {
        let conn =
            rusqlite::Connection::open(self.data_dir.path().join(companion_gateway::DATABASE_FILE))
                .unwrap();
        conn.query_row(
            "SELECT token_generation FROM users WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// Restart sfsim on the same address: same org and data, but it has forgotten every token
    /// it issued, as if an admin had revoked them all.
    pub async fn restart_sim(self) -> Env {
        let Env {
            sim,
            gateway,
            data_dir,
            http,
        } = self;
        let addr: SocketAddr = sim
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        sim.shutdown().await;
        let sim = sfsim::start(addr, SimConfig::default())
            .await
            .expect("sfsim restarts");
        Env {
            sim,
            gateway,
            data_dir,
            http,
        }
    }

    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
    }
}

pub async fn error_of(response: reqwest::Response) -> (u16, ErrorBody) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let parsed = serde_json::from_str(&body).unwrap_or_else(|e| panic!("error body {body:?}: {e}"));
    (status, parsed)
}

fn rand_bytes() -> [u8; 32] {
    rand::random()
}

/// Play the browser: open sfsim's authorize URL, post the login form, read the redirect.
/// Returns the code and the PKCE verifier that goes with it.
pub async fn authorize(http: &reqwest::Client, sim_url: &str, username: &str) -> (String, String) {
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let params = [
        ("response_type", "code"),
        ("client_id", sfsim::DEMO_CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "api refresh_token"),
        ("state", "state-123"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    let authorize = format!("{sim_url}/services/oauth2/authorize");
    let form_page = http.get(&authorize).query(&params).send().await.unwrap();
    assert_eq!(form_page.status(), 200, "login form");
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("username", username));
    form.push(("password", sfsim::DEMO_PASSWORD));
    let answer = http.post(&authorize).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 302, "login redirects");
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&location).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "state-123");
    (query["code"].clone(), verifier)
}

/// sfsim's counters (`GET /__sim/stats`).
pub async fn sim_stats(http: &reqwest::Client, sim_url: &str) -> serde_json::Value {
    http.get(format!("{sim_url}/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Queue an sfsim fault (`POST /__sim/faults`).
pub async fn queue_fault(http: &reqwest::Client, sim_url: &str, fault: &serde_json::Value) {
    let response = http
        .post(format!("{sim_url}/__sim/faults"))
        .json(fault)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "fault {fault}");
}
