//! What the write tests share: a signed-in rep against sfsim with its control API, requests
//! with idempotency keys, sfsim faults and clock, and the org's records as sfsim has them.

#![allow(dead_code)]

use companion_gateway::Tuning;
use serde_json::{json, Map, Value};
use sfsim::SimConfig;

use crate::support::{Env, REP};

pub const ADMIN: &str = "admin@demo.example";

pub type Record = Map<String, Value>;

/// sfsim with `/__sim`, the gateway, and the rep's session token.
pub async fn env() -> (Env, String) {
    let env = Env::start(
        SimConfig {
            control: true,
            ..SimConfig::default()
        },
        Tuning::default(),
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    (env, session)
}

pub async fn send(
    env: &Env,
    session: &str,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = env
        .http
        .request(method, env.url(path))
        .bearer_auth(session)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

pub async fn post(
    env: &Env,
    session: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    send(env, session, reqwest::Method::POST, path, Some(key), body).await
}

pub async fn patch(
    env: &Env,
    session: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    send(env, session, reqwest::Method::PATCH, path, Some(key), body).await
}

/// `POST /v1/batch` with these writes; the answer's `results`.
pub async fn batch(env: &Env, session: &str, writes: &[Value]) -> Vec<Value> {
    let response = env
        .http
        .post(env.url("/v1/batch"))
        .bearer_auth(session)
        .json(&json!({ "writes": writes }))
        .send()
        .await
        .unwrap();
    let answer = json_of(response, 200).await;
    answer["results"].as_array().unwrap().clone()
}

/// The body of an answer with this status (the body is shown when the status differs).
pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Queue an sfsim fault (`/__sim/faults`).
pub async fn fault(env: &Env, body: Value) {
    crate::support::queue_fault(&env.http, &env.sim.base_url(), &body).await;
}

/// Move sfsim's clock on, so a change made next is in a later second than anything the rep
/// has seen (`If-Unmodified-Since` compares whole seconds, as Salesforce does).
pub async fn advance_clock(env: &Env, seconds: f64) {
    let response = env
        .http
        .post(format!("{}/__sim/clock/advance", env.sim.base_url()))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

pub fn leads_named(env: &Env, last_name: &str) -> Vec<Record> {
    env.sim
        .records("Lead")
        .into_iter()
        .filter(|r| r["LastName"] == last_name)
        .collect()
}

/// Records of `object` the rep owns, as sfsim stores them (open opportunities only).
pub fn reps(env: &Env, object: &str) -> Vec<Record> {
    let rep = env.sim.user_id(REP).unwrap();
    env.sim
        .records(object)
        .into_iter()
        .filter(|r| r["OwnerId"] == rep.as_str())
        .filter(|r| object != "Opportunity" || r["IsClosed"] == false)
        .collect()
}

/// One record as sfsim has it now.
pub fn stored(env: &Env, object: &str, id: &str) -> Record {
    env.sim
        .records(object)
        .into_iter()
        .find(|r| r["Id"] == id)
        .unwrap_or_else(|| panic!("{object} {id} exists"))
}

/// An update body as the device sends it: what it saw and what it changes.
pub fn update_body(record: &Record, fields: Value) -> Value {
    let seen: Map<String, Value> = fields
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (k.clone(), record.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    json!({"seen_system_modstamp": record["SystemModstamp"], "fields": fields, "seen_fields": seen})
}

/// The audit log: (action, record id, key, outcome, status), oldest first.
pub fn audit_rows(env: &Env) -> Vec<(String, Option<String>, String, String, i64)> {
    let conn =
        rusqlite::Connection::open(env.data_dir.path().join(companion_gateway::DATABASE_FILE))
            .unwrap();
    let mut statement = conn
        .prepare(
            "SELECT action, record_id, idempotency_key, outcome, status FROM audit_log ORDER BY id",
        )
        .unwrap();
    statement
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The audit outcomes of one key, oldest first.
pub fn outcomes_of(env: &Env, key: &str) -> Vec<String> {
    audit_rows(env)
        .into_iter()
        .filter(|r| r.2 == key)
        .map(|r| r.3)
        .collect()
}
