//! sfsim: a simulated Salesforce org for tests and the demo.
//!
//! It serves the OAuth 2.0 endpoints (authorize with a login form, token, revoke, userinfo, the
//! identity URL) and a REST API subset (versions, SOQL query with paging) over a deterministic demo
//! org, with the shapes, statuses, headers and error strings described in
//! `shared/reference/salesforce-api.md`. It shares no code with the `salesforce` client crate on
//! purpose: a mistake made in both would cancel out.

mod clock;
mod control;
mod dml;
mod error;
mod http;
mod id_token;
pub mod ids;
mod limits;
mod locators;
mod oauth;
mod outbound;
mod query;
pub mod schema;
mod seed;
mod serve;
pub mod soql;
mod stamp_index;
mod state;
mod store;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde_json::{Map, Value};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use error::SimError;
pub use outbound::OutboundRule;
pub use seed::SeedCounts;
use state::AppState;

/// Password of every demo user.
pub const DEMO_PASSWORD: &str = "demo1234";
/// Consumer key of the demo org's connected app.
pub const DEMO_CLIENT_ID: &str = "companion-demo";
/// Consumer secret of the demo org's connected app.
pub const DEMO_CLIENT_SECRET: &str = "companion-demo-secret";

/// How the simulated org behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Access tokens stop working this long after they were issued (Salesforce default: 2 hours).
    pub session_timeout: Duration,
    /// The connected app's refresh-token rotation policy: a new refresh token on every refresh.
    pub refresh_token_rotation: bool,
    /// Records the org starts with (`--accounts N --contacts N --opportunities N --tasks N`).
    pub seed: SeedCounts,
    /// REST calls allowed in any rolling 24 hours (Developer Edition: 15,000; reference §4.4).
    pub daily_api_limit: u64,
    /// Serve the `/__sim` control API (`--control`). Off by default: it is not Salesforce.
    pub control: bool,
    /// Username of the connected app's "Run As" user for the client-credentials grant; `None`
    /// gives `no client credentials user enabled`.
    pub client_credentials_user: Option<String>,
    /// Outbound-message rules (`--outbound-message OBJECT:FIELD,FIELD:URL`).
    pub outbound_messages: Vec<OutboundRule>,
    /// Multiplies outbound retry intervals and timeouts (`0.001` turns 15 s into 15 ms).
    pub outbound_time_scale: f64,
    /// Request bodies longer than this get `413`.
    pub max_body_bytes: usize,
    /// Tokens one user may get in any hour before `rate_limit_exceeded` (`--token-requests-per-hour`).
    pub token_requests_per_user_hour: u32,
    /// Added to every `/services/data` request before it is handled, whatever its answer
    /// (`--latency-ms`), as if the org were far away: for benchmarks. The OAuth endpoints and the
    /// `/__sim` control API are not delayed. Zero (the default) adds nothing to the request path.
    pub latency: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(7200),
            refresh_token_rotation: false,
            seed: SeedCounts::default(),
            daily_api_limit: state::DAILY_API_LIMIT,
            control: false,
            client_credentials_user: None,
            outbound_messages: Vec::new(),
            outbound_time_scale: 1.0,
            // Salesforce's limit for a REST body is unconfirmed here; 50 MB is generous for JSON.
            max_body_bytes: 50 * 1024 * 1024,
            token_requests_per_user_hour: 3600,
            latency: Duration::ZERO,
        }
    }
}

/// The records the org starts with; also what `POST /__sim/reset` goes back to (seeded stamps
/// are relative to the moment of seeding).
fn initial_store(config: &SimConfig) -> store::Store {
    seed::org(time::OffsetDateTime::now_utc(), config.seed)
}

/// A running simulated org.
pub struct Sim {
    state: Arc<AppState>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

/// Binds `listen` (port 0 picks a free port) and serves the demo org until [`Sim::shutdown`].
pub async fn start(listen: SocketAddr, config: SimConfig) -> Result<Sim, SimError> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| SimError::Bind {
        addr: listen,
        source,
    })?;
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        match local.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        }
    };
    let base_url = format!("http://{host}:{}", local.port());
    let store = initial_store(&config);
    let state = Arc::new(AppState::new(base_url, config, store));
    let router = http::router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(listener, router, stopped));
    tracing::info!(base_url = %state.base_url, "sfsim started");
    Ok(Sim {
        state,
        stop,
        server,
    })
}

impl Sim {
    /// `http://127.0.0.1:PORT`, no trailing slash: the login host and the instance URL.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Ends every access token issued so far, as an admin clearing sessions; REST calls with them get
    /// `401 INVALID_SESSION_ID`. Refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.state.org().tokens.expire_access_tokens();
    }

    /// The 18-char id of a demo user, e.g. `rep@demo.example`.
    pub fn user_id(&self, username: &str) -> Option<String> {
        self.state
            .org()
            .store
            .user_by_username(username)
            .map(|u| u.id.clone())
    }

    /// The 18-char organization id (`00D…`).
    pub fn org_id(&self) -> String {
        self.state.org().store.org_id.clone()
    }

    /// Every live record of `object` (admin view), with API field names, as stored.
    /// Empty for an unknown object.
    pub fn records(&self, object: &str) -> Vec<Map<String, Value>> {
        let Some(object) = schema::object(object) else {
            return Vec::new();
        };
        self.state.org().store.all(object).cloned().collect()
    }

    /// Changes a record as a user edit would: the given fields, `LastModifiedDate` and
    /// `SystemModstamp` set to now, derived fields (such as `Name`) recomputed.
    pub fn update_record(&self, object: &str, id: &str, fields: Value) -> Result<(), SimError> {
        let object =
            schema::object(object).ok_or_else(|| SimError::UnknownObject(object.into()))?;
        let Value::Object(fields) = fields else {
            return Err(SimError::NotAnObject);
        };
        let now = clock::format_datetime(self.state.clock.now());
        self.state.org().store.update(object, id, &fields, &now)?;
        outbound::record_saved(&self.state, object.name, id);
        Ok(())
    }

    /// Converts a lead as Salesforce's Convert does (the REST API has no endpoint for it): an
    /// account named after the lead's company and a contact with the lead's name, title, email
    /// and phones, both owned by the lead's owner; the lead gets `IsConverted = true`, `Status`
    /// `Closed - Converted` and `ConvertedContactId`, and `SystemModstamp` now. Returns the
    /// contact's id.
    pub fn convert_lead(&self, lead_id: &str) -> Result<String, SimError> {
        let now = clock::format_datetime(self.state.clock.now());
        let (lead_id, account_id, contact_id) = {
            let mut org = self.state.org();
            let store = &mut org.store;
            let not_found = || SimError::RecordNotFound("Lead".into(), lead_id.into());
            let lead = ids::to_15(lead_id)
                .and_then(|id15| store.get(&schema::LEAD, id15))
                .ok_or_else(not_found)?
                .clone();
            if lead.get("IsConverted") == Some(&Value::Bool(true)) {
                return Err(SimError::LeadConverted(lead_id.into()));
            }
            let stamps = |record: &mut Map<String, Value>| {
                for field in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
                    record.insert(field.into(), now.clone().into());
                }
            };
            let account_id = store.next_id(&schema::ACCOUNT);
            let mut account = Map::new();
            account.insert("Id".into(), account_id.clone().into());
            account.insert("Name".into(), lead["Company"].clone());
            account.insert("OwnerId".into(), lead["OwnerId"].clone());
            stamps(&mut account);
            store.insert(&schema::ACCOUNT, account);
            let contact_id = store.next_id(&schema::CONTACT);
            let mut contact = Map::new();
            contact.insert("Id".into(), contact_id.clone().into());
            for field in [
                "FirstName",
                "LastName",
                "Title",
                "Email",
                "Phone",
                "MobilePhone",
                "OwnerId",
            ] {
                contact.insert(field.into(), lead[field].clone());
            }
            contact.insert("AccountId".into(), account_id.clone().into());
            stamps(&mut contact);
            store.insert(&schema::CONTACT, contact);
            let lead_id = lead["Id"].as_str().unwrap_or(lead_id).to_owned();
            let mut converted = Map::new();
            converted.insert("IsConverted".into(), true.into());
            converted.insert("Status".into(), "Closed - Converted".into());
            converted.insert("ConvertedContactId".into(), contact_id.clone().into());
            store.apply_update(&schema::LEAD, &lead_id, converted, &now);
            (lead_id, account_id, contact_id)
        };
        outbound::record_saved(&self.state, "Account", &account_id);
        outbound::record_saved(&self.state, "Contact", &contact_id);
        outbound::record_saved(&self.state, "Lead", &lead_id);
        Ok(contact_id)
    }

    /// REST API calls counted so far (the `N` of `Sforce-Limit-Info: api-usage=N/15000`).
    pub fn api_calls(&self) -> u64 {
        self.state.api_calls()
    }

    /// Stops serving; open connections get a moment to finish.
    pub async fn shutdown(self) {
        self.state.outbound.cancel_all();
        let _ = self.stop.send(());
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}
