//! A small in-process fake of the gateway's `/v1` API for unit tests of core and the CLI
//! (feature `test-support`). It follows the types in `companion-api`; the cross-crate tests in
//! `tests/` run the real gateway and sfsim instead.
//!
//! Sync model: the fake serves a list of pages; the cursor it hands out is `p<N>`, "next page
//! is N", so a later sync with the stored cursors gets only the pages added since.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;

use axum::extract::Path;
use companion_api::{
    AuthConfig, BatchRequest, BatchResponse, BatchResult, BatchWrite, CountsResponse,
    DescribeResponse, ErrorBody, ErrorDetail, ExchangeRequest, ExchangeResponse, IdsRequest,
    IdsResponse, LoginHost, PicklistEntry, SyncRequest, SyncResponse, TaskKind, User,
};
use serde_json::{json, Value};
use url::Url;

/// The only authorization code the fake accepts.
pub const CODE: &str = "fake-auth-code";
/// The session token the fake issues.
pub const SESSION_TOKEN: &str = "fake-session-token";
pub const LOGIN_HOST: &str = "https://login.fake.example";

pub fn user() -> User {
    User {
        user_id: "005000000000001AAA".into(),
        org_id: "00D000000000001AAA".into(),
        username: "rep@demo.example".into(),
        display_name: "Riley Rep".into(),
        email: "rep@demo.example".into(),
    }
}

#[derive(Default)]
struct FakeState {
    pages: Mutex<Vec<SyncResponse>>,
    /// Every request: (path, body).
    requests: Mutex<Vec<(String, serde_json::Value)>>,
    reauth_required: Mutex<bool>,
    /// Who the exchange signs in, and with which token; `None`: [`user`] and [`SESSION_TOKEN`].
    identity: Mutex<Option<(User, String)>>,
    /// The authorize URL `/v1/auth/config` advertises instead of the login host's.
    authorize_url: Mutex<Option<String>>,
    /// The login hosts `/v1/auth/config` advertises instead of the one production host.
    login_hosts: Mutex<Option<Vec<LoginHost>>>,
    /// Object → the ids the rep may see (`/v1/sync/counts`, `/v1/sync/ids`); an object not
    /// set here counts as "more than any replica holds".
    visible: Mutex<BTreeMap<String, Vec<String>>>,
    /// Records the fake's `/v1/batch` made or changed, by id (it starts from the pages'
    /// contacts and opportunities).
    records: Mutex<BTreeMap<String, Value>>,
    /// Ids handed out to created records.
    created: Mutex<u64>,
    /// When set, every write of a batch is answered with this status and body.
    write_answer: Mutex<Option<(u16, Value)>>,
}

impl FakeState {
    fn identity(&self) -> (User, String) {
        self.identity
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| (user(), SESSION_TOKEN.into()))
    }
}

pub struct FakeGateway {
    pub url: Url,
    state: Arc<FakeState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeGateway {
    /// Starts on `127.0.0.1:<free port>` serving `pages` to `/v1/sync`.
    pub async fn start(pages: Vec<SyncResponse>) -> Self {
        let state = Arc::new(FakeState {
            pages: Mutex::new(pages),
            ..Default::default()
        });
        let app = Router::new()
            .route("/v1/auth/config", get(auth_config))
            .route("/v1/auth/exchange", post(exchange))
            .route("/v1/sync", post(sync))
            .route("/v1/sync/counts", post(counts))
            .route("/v1/sync/ids", post(ids))
            .route("/v1/describe/{object}", get(describe))
            .route("/v1/auth/logout", post(logout))
            .route("/v1/batch", post(batch))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake gateway");
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .ok();
        });
        Self {
            url: Url::parse(&format!("http://{addr}")).unwrap(),
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops listening; afterwards the port refuses connections.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn push_page(&self, page: SyncResponse) {
        self.state.pages.lock().unwrap().push(page);
    }

    /// From now on the rep may see exactly `ids` of `object` (what `/v1/sync/counts` and
    /// `/v1/sync/ids` answer).
    pub fn set_visible(&self, object: &str, ids: &[&str]) {
        let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        ids.sort();
        self.state
            .visible
            .lock()
            .unwrap()
            .insert(object.to_string(), ids);
    }

    /// From now on `/v1/sync` and `/v1/batch` answer 401 `reauth_required`.
    pub fn require_reauth(&self) {
        *self.state.reauth_required.lock().unwrap() = true;
    }

    /// From now on every write of a batch is answered `status` with `body` (e.g. a 422
    /// validation error); `None`: the fake makes the writes again.
    pub fn answer_writes_with(&self, answer: Option<(u16, Value)>) {
        *self.state.write_answer.lock().unwrap() = answer;
    }

    /// The records `/v1/batch` made, by id.
    pub fn written(&self) -> BTreeMap<String, Value> {
        self.state.records.lock().unwrap().clone()
    }

    /// From now on the exchange signs in `user` and issues `session_token`; `/v1/sync` takes
    /// only that token (a session that works: an earlier [`FakeGateway::require_reauth`] ends).
    pub fn sign_in_as(&self, user: User, session_token: &str) {
        *self.state.identity.lock().unwrap() = Some((user, session_token.into()));
        *self.state.reauth_required.lock().unwrap() = false;
    }

    /// From now on `/v1/auth/config` advertises these login hosts (e.g. production and sandbox).
    pub fn advertise_login_hosts(&self, hosts: Vec<LoginHost>) {
        *self.state.login_hosts.lock().unwrap() = Some(hosts);
    }

    /// From now on `/v1/auth/config` advertises `authorize_url` (e.g. one that must be refused).
    pub fn advertise_authorize_url(&self, authorize_url: &str) {
        *self.state.authorize_url.lock().unwrap() = Some(authorize_url.into());
    }

    /// How many requests reached `path` (e.g. `/v1/auth/exchange`).
    pub fn requests_to(&self, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// Bodies of the requests to `path`, oldest first.
    pub fn bodies_to(&self, path: &str) -> Vec<serde_json::Value> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Plays the browser and Salesforce: the callback URL that Salesforce would redirect to
    /// after a good password, for the given authorize URL.
    pub fn callback_for(authorize_url: &str) -> String {
        let url = Url::parse(authorize_url).expect("authorize URL");
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let mut callback = Url::parse(&param("redirect_uri")).expect("redirect_uri");
        callback
            .query_pairs_mut()
            .append_pair("code", CODE)
            .append_pair("state", &param("state"));
        callback.to_string()
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message: message.into(),
            fields: None,
            retry_after: None,
            current: None,
        },
    };
    (status, Json(body)).into_response()
}

fn record(state: &FakeState, path: &str, body: serde_json::Value) {
    state.requests.lock().unwrap().push((path.into(), body));
}

async fn auth_config(State(state): State<Arc<FakeState>>) -> Json<AuthConfig> {
    record(&state, "/v1/auth/config", serde_json::Value::Null);
    let advertised = state.login_hosts.lock().unwrap().clone();
    Json(AuthConfig {
        login_hosts: advertised.unwrap_or_else(|| {
            vec![LoginHost {
                label: "Production".into(),
                url: LOGIN_HOST.into(),
                authorize_url: state
                    .authorize_url
                    .lock()
                    .unwrap()
                    .clone()
                    .unwrap_or_else(|| format!("{LOGIN_HOST}/services/oauth2/authorize")),
            }]
        }),
        client_id: "companion-demo".into(),
        scopes: vec!["api".into(), "refresh_token".into()],
        redirect_uris: vec![
            "companion://oauth/callback".into(),
            "http://127.0.0.1/callback".into(),
        ],
    })
}

async fn exchange(
    State(state): State<Arc<FakeState>>,
    Json(request): Json<ExchangeRequest>,
) -> Response {
    record(
        &state,
        "/v1/auth/exchange",
        serde_json::to_value(&request).unwrap(),
    );
    if request.code != CODE {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "invalid authorization code",
        );
    }
    let allowed = match state.login_hosts.lock().unwrap().as_ref() {
        Some(hosts) => hosts.iter().any(|h| h.url == request.login_host),
        None => request.login_host == LOGIN_HOST,
    };
    if !allowed {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "login host not allowed",
        );
    }
    let (user, session_token) = state.identity();
    Json(ExchangeResponse {
        session_token,
        user,
    })
    .into_response()
}

/// Recorded with the bearer token it ends, as `{"bearer": "..."}`.
async fn logout(State(state): State<Arc<FakeState>>, headers: HeaderMap) -> StatusCode {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    record(
        &state,
        "/v1/auth/logout",
        serde_json::json!({ "bearer": bearer }),
    );
    StatusCode::NO_CONTENT
}

async fn sync(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(request): Json<SyncRequest>,
) -> Response {
    record(&state, "/v1/sync", serde_json::to_value(&request).unwrap());
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let next: usize = request
        .cursors
        .get("Contact")
        .and_then(|c| c.strip_prefix('p'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let pages = state.pages.lock().unwrap();
    let mut page = pages.get(next).cloned().unwrap_or_default();
    let after = next.min(pages.len()) + usize::from(next < pages.len());
    page.cursors = ["Account", "Contact"]
        .iter()
        .map(|o| (o.to_string(), format!("p{after}")))
        .collect();
    page.more = after < pages.len();
    Json(page).into_response()
}

async fn counts(State(state): State<Arc<FakeState>>, headers: HeaderMap) -> Response {
    record(&state, "/v1/sync/counts", serde_json::Value::Null);
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let visible = state.visible.lock().unwrap();
    let counts = companion_api::SYNC_OBJECTS
        .iter()
        .map(|object| {
            let count = visible
                .get(*object)
                .map_or(1_000_000, |ids| ids.len() as u64);
            (object.to_string(), count)
        })
        .collect();
    Json(CountsResponse { counts }).into_response()
}

async fn ids(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(request): Json<IdsRequest>,
) -> Response {
    record(
        &state,
        "/v1/sync/ids",
        serde_json::to_value(&request).unwrap(),
    );
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let visible = state.visible.lock().unwrap();
    let ids = visible
        .get(&request.object)
        .map(|ids| {
            ids.iter()
                .filter(|id| request.after.as_ref().is_none_or(|after| *id > after))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Json(IdsResponse { ids, next: None }).into_response()
}

/// A stage picklist for `Opportunity`, nothing for the others.
async fn describe(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Path(object): Path<String>,
) -> Response {
    record(
        &state,
        &format!("/v1/describe/{object}"),
        serde_json::Value::Null,
    );
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let mut picklists = BTreeMap::new();
    if object == "Opportunity" {
        let stage = |value: &str, probability: f64, closed: bool, won: bool| PicklistEntry {
            value: value.into(),
            label: value.into(),
            default: false,
            probability: Some(probability),
            closed: Some(closed),
            won: Some(won),
        };
        picklists.insert(
            "StageName".to_string(),
            vec![
                stage("Prospecting", 10.0, false, false),
                stage("Closed Won", 100.0, true, true),
            ],
        );
    }
    Json(DescribeResponse { object, picklists }).into_response()
}

/// Makes each write like the gateway would (the record as "Salesforce" has it after it), or
/// answers every write as [`FakeGateway::answer_writes_with`] says. Updates are checked against
/// the record's SystemModstamp: another one is a 409 `conflict` with the current record.
async fn batch(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(request): Json<BatchRequest>,
) -> Response {
    record(&state, "/v1/batch", serde_json::to_value(&request).unwrap());
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    let (user, _) = state.identity();
    let stamp = "2030-01-01T00:00:00.000+0000";
    let results = request
        .writes
        .into_iter()
        .map(|write| {
            let key = write.idempotency_key().to_string();
            if let Some((status, body)) = state.write_answer.lock().unwrap().clone() {
                return BatchResult {
                    idempotency_key: key,
                    status,
                    body,
                };
            }
            let (status, body) = match write {
                BatchWrite::CreateLead { body, .. } => {
                    let id = next_id(&state, "00Q");
                    let mut lead = json!(body);
                    let name = [body.get("FirstName"), body.get("LastName")]
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ");
                    lead["Id"] = json!(id);
                    lead["Name"] = json!(name);
                    if lead.get("Status").is_none() {
                        lead["Status"] = json!("Open - Not Contacted");
                    }
                    lead["IsConverted"] = json!(false);
                    lead["OwnerId"] = json!(user.user_id);
                    lead["SystemModstamp"] = json!(stamp);
                    state.records.lock().unwrap().insert(id, lead.clone());
                    (201, lead)
                }
                BatchWrite::CreateTask { body, .. } => {
                    let id = next_id(&state, "00T");
                    let mut task = json!(body.fields);
                    let call = body.kind == TaskKind::Call;
                    task["Id"] = json!(id);
                    task["Status"] = json!(if call { "Completed" } else { "Not Started" });
                    task["TaskSubtype"] = json!(if call { "Call" } else { "Task" });
                    task["IsClosed"] = json!(call);
                    task["OwnerId"] = json!(user.user_id);
                    task["SystemModstamp"] = json!(stamp);
                    state.records.lock().unwrap().insert(id, task.clone());
                    (201, task)
                }
                BatchWrite::UpdateOpportunity { id, body, .. }
                | BatchWrite::UpdateContact { id, body, .. } => {
                    let current = state
                        .records
                        .lock()
                        .unwrap()
                        .get(&id)
                        .cloned()
                        .or_else(|| latest_in_pages(&state.pages.lock().unwrap(), &id));
                    match current {
                        None => (
                            404,
                            json!({"error": {"code": "not_found", "message": "no such record"}}),
                        ),
                        Some(current)
                            if current["SystemModstamp"].as_str()
                                != Some(body.seen_system_modstamp.as_str()) =>
                        {
                            let fields: BTreeMap<String, String> = body
                                .fields
                                .keys()
                                .map(|f| (f.clone(), format!("Salesforce now has {}", current[f])))
                                .collect();
                            (
                                409,
                                json!({"error": {"code": "conflict", "message": "changed",
                                                 "fields": fields, "current": current}}),
                            )
                        }
                        Some(mut current) => {
                            for (field, value) in body.fields {
                                current[field.as_str()] = value;
                            }
                            current["SystemModstamp"] = json!(stamp);
                            state.records.lock().unwrap().insert(id, current.clone());
                            (200, current)
                        }
                    }
                }
            };
            BatchResult {
                idempotency_key: key,
                status,
                body,
            }
        })
        .collect();
    Json(BatchResponse { results }).into_response()
}

fn next_id(state: &FakeState, prefix: &str) -> String {
    let mut created = state.created.lock().unwrap();
    *created += 1;
    format!("{prefix}{:012}AAA", *created)
}

/// The newest version of contact or opportunity `id` in the served pages, in Salesforce names.
fn latest_in_pages(pages: &[SyncResponse], id: &str) -> Option<Value> {
    pages.iter().rev().find_map(|page| {
        page.contacts
            .iter()
            .find(|c| c.id == id)
            .map(|c| json!(c))
            .or_else(|| {
                page.opportunities
                    .iter()
                    .find(|o| o.id == id)
                    .map(|o| json!(o))
            })
    })
}

/// 401 `reauth_required` unless the request carries the issued session token.
fn refuse(state: &FakeState, headers: &HeaderMap) -> Option<Response> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    let (_, token) = state.identity();
    (bearer != Some(&format!("Bearer {token}")) || *state.reauth_required.lock().unwrap())
        .then(|| error(StatusCode::UNAUTHORIZED, "reauth_required", "Sign in again"))
}
