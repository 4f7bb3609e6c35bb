//! Companion's backend: token exchange, sessions, Salesforce proxy.
//!
//! The only place that holds the connected app's client secret and the reps' Salesforce
//! tokens (encrypted at rest). Serves the `/v1` API of `companion-api`.
//!
//! ```no_run
//! # async fn run() -> Result<(), companion_gateway::GatewayError> {
//! let config = companion_gateway::GatewayConfig::from_env(false)?;
//! let gateway = companion_gateway::start(config).await?;
//! println!("gateway listening on {}", gateway.base_url());
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```

mod app;
mod audit;
mod batch;
mod config;
mod crypto;
mod cursor;
mod describe;
mod error;
mod events;
mod hints;
mod http;
mod idempotency;
mod integration;
mod outbound;
mod private_files;
mod rate_limit;
mod record_fields;
mod redirect;
mod store;
mod sync;
mod upstream;
mod write_types;
mod writes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    GatewayConfig, LoginHostConfig, APP_REDIRECT_URI, DEFAULT_LISTEN, DEFAULT_SCOPES, DEV_KEY_FILE,
    LOOPBACK_REDIRECT_URI,
};
pub use error::GatewayError;
/// The value a created record carries in `Companion_Key__c` for (user, key): for the soak run
/// (`examples/gateway_soak.rs`), which checks that every write exists exactly once.
#[doc(hidden)]
pub use idempotency::marker;
pub use integration::{IntegrationSession, IntegrationUser};
pub use rate_limit::SessionRate;
pub use store::{DATABASE_FILE, SESSION_ABSOLUTE_SECS, SESSION_IDLE_SECS};
pub use sync::PAGE_SIZE;

/// Timeout of every outbound Salesforce request unless `upstream_timeout_secs` says otherwise.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    hints: Arc<hints::HintHub>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

/// Knobs that are not configuration a deployment sets, but that tests and benchmarks turn.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Rows per object per `POST /v1/sync` answer (default [`PAGE_SIZE`]).
    pub sync_page_size: usize,
    /// Requests one session may make (default 20/s, bursts of 100).
    pub session_rate: SessionRate,
    /// How often an open `/v1/events` stream re-checks that its session still lives (default a
    /// minute); checked when a hint is about to be sent.
    pub events_session_recheck: Duration,
    /// Replaces `config.request_timeout`, below its lower bound too (a test of the timeout
    /// need not wait minutes). `None`: the config's.
    pub request_timeout: Option<Duration>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sync_page_size: PAGE_SIZE,
            session_rate: SessionRate::default(),
            events_session_recheck: Duration::from_secs(60),
            request_timeout: None,
        }
    }
}

/// Check the config, open the store, bind `config.listen` (port 0 picks one) and serve until
/// [`Gateway::shutdown`].
pub async fn start(config: GatewayConfig) -> Result<Gateway, GatewayError> {
    start_with(config, Tuning::default()).await
}

/// [`start`] with non-default [`Tuning`].
pub async fn start_with(config: GatewayConfig, tuning: Tuning) -> Result<Gateway, GatewayError> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| GatewayError::io(format!("binding {}", config.listen), e))?;
    start_on(listener, config, tuning).await
}

/// [`start_with`] on a socket bound already (`config.listen` is not used): for a caller that
/// must know the gateway's address first, e.g. to point Salesforce's outbound messages at it.
pub async fn start_on(
    listener: tokio::net::TcpListener,
    config: GatewayConfig,
    tuning: Tuning,
) -> Result<Gateway, GatewayError> {
    config.validate()?;
    if !(1..=PAGE_SIZE).contains(&tuning.sync_page_size) {
        return Err(GatewayError::Config(format!(
            "sync page size must be 1..={PAGE_SIZE}"
        )));
    }
    let hints = Arc::new(hints::HintHub::new());
    let store = store::Store::open(
        &config,
        crypto::TokenCipher::new(&config.token_key),
        hints.clone(),
    )
    .await?;
    let client = salesforce::Client::new(salesforce::ClientOptions {
        timeout: config.upstream_timeout,
        connect_timeout: Duration::from_secs(10),
        ..Default::default()
    })?;
    let app = salesforce::OAuthApp::new(config.client_id.clone(), config.client_secret.clone());
    let addr = listener
        .local_addr()
        .map_err(|e| GatewayError::io("reading the bound address", e))?;
    let state = Arc::new(app::AppState {
        signer: cursor::CursorSigner::new(&config.token_key),
        sync_page_size: tuning.sync_page_size,
        session_limiter: rate_limit::SessionLimiter::new(tuning.session_rate)?,
        describe_cache: describe::DescribeCache::default(),
        hints: hints.clone(),
        events_session_recheck: tuning.events_session_recheck,
        outbound: outbound::OutboundGate::new(
            config.outbound_secret.as_deref(),
            config.outbound_rate_per_second,
        )?,
        limits: app::Limits::new(
            config.max_concurrent_requests,
            config.max_event_streams,
            tuning.request_timeout.unwrap_or(config.request_timeout),
        ),
        upstream: upstream::Upstream::new(client, app, store.clone()),
        store,
        config,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    // The peer's address is known to handlers (an outbound message with a wrong secret is
    // logged with it).
    let service = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "gateway server stopped");
        }
    });
    Ok(Gateway {
        addr,
        hints,
        stop,
        server,
    })
}

impl Gateway {
    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting connections, finish the requests in flight, and return.
    pub async fn shutdown(self) {
        // Hint streams never end by themselves; graceful shutdown would wait for them forever.
        self.hints.close();
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn now_utc() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
