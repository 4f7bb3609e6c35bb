//! [`Companion`]: the one object the app shell and the CLI hold.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use companion_api::{ExchangeRequest, User};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::CoreError;
use crate::files;
use crate::gateway::GatewayClient;
use crate::login;
use crate::model::{CoreEvent, LoginStart, Status, SyncOptions, SyncProgress, SyncReport};
use crate::push::{self, PushMode};
use crate::replica::{
    AccountDetail, AccountSummary, ContactDetail, ContactPage, ContactQuery, ContactSummary,
    LeadDetail, LeadQuery, LeadSummary, OpportunityDetail, OpportunityQuery, OpportunitySummary,
    Replica, ReplicaKey, SearchHit, TaskSummary,
};
use crate::secrets::{SecretError, SecretStore};
use crate::server::{self, ServerCheck, ServerSetting, ServerSource};
use crate::sync;
use crate::writes::PushReport;
use companion_api::PicklistEntry;

/// The most results the search box shows.
const SEARCH_LIMIT: u32 = 50;

/// A record `show` found, with what goes with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "object")]
pub enum RecordDetail {
    Contact(ContactDetail),
    Account(AccountDetail),
    Opportunity(OpportunityDetail),
    Lead(LeadDetail),
    Task(TaskSummary),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The Companion gateway, e.g. `http://127.0.0.1:8710`.
    pub gateway_url: url::Url,
    /// Where the replicas and small state files live (the app's data folder).
    pub data_dir: PathBuf,
}

/// The app on a device: the server is the one the rep chose (remembered in `data_dir`), unless
/// `fixed_server` is set (a developer's `COMPANION_GATEWAY_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    pub data_dir: PathBuf,
    /// A server the rep cannot change.
    pub fixed_server: Option<url::Url>,
    /// The administrator's preset file (TOML, `server = "https://…"`), read to prefill the
    /// first screen; [`crate::DEFAULT_PRESET_FILE`] on an installed app.
    pub preset_file: Option<PathBuf>,
}

/// The server in use and its client.
struct ServerState {
    url: Option<url::Url>,
    source: ServerSource,
    gateway: Option<Arc<GatewayClient>>,
}

/// The signed-in user and their replica.
#[derive(Clone)]
struct Session {
    user: User,
    /// The open replica, or why it cannot be opened (a lost or wrong key: the rep is offered a
    /// fresh sync, [`Companion::start_fresh`]).
    replica: Result<Arc<Replica>, CoreError>,
}

/// Companion's state for one device. `Send + Sync`: share it behind an `Arc`.
pub struct Companion {
    data_dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
    server: RwLock<ServerState>,
    /// The administrator's preset, to prefill the first screen.
    preset: Option<String>,
    session: RwLock<Option<Session>>,
    /// The running sync — what it does, and its outcome for callers that arrive while it runs:
    /// one sync at a time, and a second request joins the running one when that one does at
    /// least what it asks (else it waits for it, then runs its own).
    running: Mutex<Option<(SyncOptions, SyncWatch)>>,
    syncing: AtomicBool,
    /// One push at a time: a write is never in two requests of this process at once.
    pushing: tokio::sync::Mutex<()>,
    /// Tells the app when the outbox or the records changed (see [`Companion::subscribe`]).
    events: tokio::sync::broadcast::Sender<CoreEvent>,
    /// Woken by every Save: the background loop pushes right after it.
    saved: tokio::sync::Notify,
}

type SyncOutcome = Option<Result<SyncReport, CoreError>>;
type SyncWatch = tokio::sync::watch::Receiver<SyncOutcome>;

impl Companion {
    /// Opens core on `config.data_dir` talking to `config.gateway_url` (fixed: the CLI, tests),
    /// reopening the last signed-in user's replica if any. Touches no network and no secret.
    pub fn open(config: Config, secrets: Arc<dyn SecretStore>) -> Result<Self, CoreError> {
        Self::open_device(
            DeviceConfig {
                data_dir: config.data_dir,
                fixed_server: Some(config.gateway_url),
                preset_file: None,
            },
            secrets,
        )
    }

    /// Opens core for the app on a device: the server is the fixed one if given, else the one
    /// the rep chose on this device, else none yet ([`Companion::set_server`]).
    pub fn open_device(
        config: DeviceConfig,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Self, CoreError> {
        let data_dir = config.data_dir;
        // 0700 on unix when we create it: it holds the rep's customer data.
        files::create_private_dir_all(&data_dir).map_err(|e| {
            CoreError::storage(
                &format!("could not create the data folder {}", data_dir.display()),
                e,
            )
        })?;
        let (url, source) = match config.fixed_server {
            Some(url) => (Some(url), ServerSource::Fixed),
            None => match server::load(&data_dir)? {
                Some(url) => (Some(url), ServerSource::Chosen),
                None => (None, ServerSource::None),
            },
        };
        let gateway = match &url {
            Some(url) => Some(Arc::new(GatewayClient::new(url.clone())?)),
            None => None,
        };
        let preset = config.preset_file.as_deref().and_then(server::read_preset);
        let session = match read_current_user(&data_dir)? {
            Some(user) => {
                let replica = open_replica(&data_dir, secrets.as_ref(), &user);
                if let Err(error) = &replica {
                    tracing::warn!(kind = error.kind(), error = %error, "the replica cannot be opened");
                }
                Some(Session { replica, user })
            }
            None => None,
        };
        Ok(Self {
            data_dir,
            secrets,
            server: RwLock::new(ServerState {
                url,
                source,
                gateway,
            }),
            preset,
            session: RwLock::new(session),
            running: Mutex::new(None),
            syncing: AtomicBool::new(false),
            pushing: tokio::sync::Mutex::new(()),
            events: tokio::sync::broadcast::channel(64).0,
            saved: tokio::sync::Notify::new(),
        })
    }

    /// Events that tell the app's screens to refresh themselves: the outbox changed, or a push
    /// or pull changed records.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<CoreEvent> {
        self.events.subscribe()
    }

    /// Calls `on_event` with every event from now on (see [`Companion::subscribe`]) until core
    /// is dropped. One that falls behind gets both events once: the screens refresh anyway.
    pub fn forward_events(
        &self,
        on_event: impl Fn(CoreEvent) + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut events = self.subscribe();
        async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(event) => on_event(event),
                    Err(RecvError::Lagged(_)) => {
                        on_event(CoreEvent::OutboxChanged);
                        on_event(CoreEvent::RecordsChanged);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        }
    }

    fn emit(&self, event: CoreEvent) {
        // No receiver is fine: nothing listens (the CLI).
        let _ = self.events.send(event);
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The gateway client, or [`CoreError::NoServer`] before a server is chosen.
    fn gateway(&self) -> Result<Arc<GatewayClient>, CoreError> {
        self.server
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .gateway
            .clone()
            .ok_or(CoreError::NoServer)
    }

    /// The server this device talks to, where it came from, the administrator's preset, and
    /// whether the rep may change it now.
    pub fn server(&self) -> ServerSetting {
        let state = self.server.read().unwrap_or_else(|e| e.into_inner());
        let signed_in = self.current_session().is_some();
        ServerSetting {
            url: state.url.as_ref().map(server::display),
            source: state.source,
            preset: self.preset.clone(),
            can_change: state.source != ServerSource::Fixed && (!signed_in || state.url.is_none()),
        }
    }

    /// Checks that `address` is a usable Companion server (address rules, then
    /// `/v1/auth/config`) without choosing it.
    pub async fn check_server(&self, address: &str) -> Result<ServerCheck, CoreError> {
        let url = server::parse_server_url(address)?;
        let config = server::check(&url).await?;
        Ok(ServerCheck {
            url: server::display(&url),
            login_hosts: config.login_hosts,
        })
    }

    /// Checks `address` like [`Companion::check_server`] and, if it answers as a Companion
    /// gateway, makes it this device's server and remembers it. Only while nobody is signed in
    /// (a session belongs to its server), and never over a fixed server. A sign-in begun with
    /// the previous server is forgotten.
    pub async fn set_server(&self, address: &str) -> Result<ServerCheck, CoreError> {
        self.ensure_server_can_change()?;
        let url = server::parse_server_url(address)?;
        let config = server::check(&url).await?;
        let gateway = Arc::new(GatewayClient::new(url.clone())?);
        self.ensure_server_can_change()?;
        server::save(&self.data_dir, &url)?;
        login::clear_pending(&self.data_dir)?;
        *self.server.write().unwrap_or_else(|e| e.into_inner()) = ServerState {
            url: Some(url.clone()),
            source: ServerSource::Chosen,
            gateway: Some(gateway),
        };
        tracing::info!(server = %server::display(&url), "server chosen");
        Ok(ServerCheck {
            url: server::display(&url),
            login_hosts: config.login_hosts,
        })
    }

    fn ensure_server_can_change(&self) -> Result<(), CoreError> {
        let setting = self.server();
        if setting.can_change {
            return Ok(());
        }
        Err(CoreError::ServerLocked(match setting.source {
            ServerSource::Fixed => {
                "This copy of Companion was started with a fixed server; it can't be changed here."
                    .into()
            }
            _ => "Sign out before changing the server.".into(),
        }))
    }

    /// The Salesforce login hosts the server allows (production, sandbox, My Domain), the
    /// default first: the sign-in screen offers a choice when there is more than one.
    pub async fn login_hosts(&self) -> Result<Vec<companion_api::LoginHost>, CoreError> {
        Ok(self.gateway()?.auth_config().await?.login_hosts)
    }

    /// Starts a sign-in: returns the Salesforce authorize URL to open in the system browser.
    /// `redirect_uri` is `companion://oauth/callback` (app) or a loopback URL (CLI).
    pub async fn begin_login(&self, redirect_uri: &str) -> Result<LoginStart, CoreError> {
        self.begin_login_at(redirect_uri, None).await
    }

    /// [`Companion::begin_login`] at one of the server's login hosts (its `url`); `None` is the
    /// server's default. A host the server does not list is refused.
    pub async fn begin_login_at(
        &self,
        redirect_uri: &str,
        login_host: Option<&str>,
    ) -> Result<LoginStart, CoreError> {
        let mut auth_config = self.gateway()?.auth_config().await?;
        if let Some(wanted) = login_host {
            let position = auth_config
                .login_hosts
                .iter()
                .position(|host| host.url == wanted)
                .ok_or_else(|| {
                    CoreError::BadInput(format!(
                        "The server does not allow signing in at {wanted}."
                    ))
                })?;
            let host = auth_config.login_hosts.remove(position);
            auth_config.login_hosts.insert(0, host);
        }
        let (pending, url) = login::start(&auth_config, redirect_uri)?;
        login::save_pending(&self.data_dir, &pending)?;
        tracing::info!(login_host = %pending.login_host, redirect_uri, "sign-in started");
        Ok(LoginStart {
            authorize_url: url.to_string(),
        })
    }

    /// Finishes a sign-in from the URL the browser was redirected to. A callback whose `state`
    /// is not the pending sign-in's is refused before anything is sent to the gateway.
    pub async fn complete_login(&self, callback_url: &str) -> Result<User, CoreError> {
        let pending = login::load_unexpired_pending(&self.data_dir, OffsetDateTime::now_utc())?;
        let code = login::code_from_callback(callback_url, pending.as_ref())?;
        let pending =
            pending.ok_or_else(|| CoreError::SignInFailed(login::SIGN_IN_FAILED.into()))?;
        let exchanged = self
            .gateway()?
            .exchange(&ExchangeRequest {
                code,
                code_verifier: pending.code_verifier.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                login_host: pending.login_host.clone(),
            })
            .await?;
        let user = exchanged.user;
        Replica::path_for(&self.data_dir, &user.org_id, &user.user_id)?;

        // Whoever was signed in before is signed out first (their replica file stays).
        if let Some(previous) = self.previous_user() {
            self.end_session(&previous, Some(&exchanged.session_token))
                .await?;
        }
        let key = session_key(&user);
        let token = exchanged.session_token;
        self.with_secrets(move |s| s.set(&key, &token)).await?;
        files::write_json_private(&current_user_path(&self.data_dir), &user)
            .map_err(|e| CoreError::storage("could not remember the signed-in user", e))?;
        let secrets = self.secrets.clone();
        let data_dir = self.data_dir.clone();
        let opening = user.clone();
        let replica = tokio::task::spawn_blocking(move || {
            open_replica(&data_dir, secrets.as_ref(), &opening)
        })
        .await
        .map_err(|e| CoreError::storage("opening the replica stopped", e))?;
        if let Ok(replica) = &replica {
            // Signed in again: what waited for sign-in goes now.
            replica.set_reauth_required(false)?;
        }
        *self.session.write().unwrap_or_else(|e| e.into_inner()) = Some(Session {
            user: user.clone(),
            replica,
        });
        login::clear_pending(&self.data_dir)?;
        tracing::info!(user_id = %user.user_id, org_id = %user.org_id, "signed in");
        Ok(user)
    }

    pub fn current_user(&self) -> Option<User> {
        self.current_session().map(|s| s.user)
    }

    /// Sends every change waiting in the outbox, then brings the replica up to date with
    /// Salesforce through the gateway and drops records that left the rep's view (what a rep's
    /// explicit refresh does: push, then pull). `on_progress` is called
    /// after each page with the object, records so far and the estimated total. Offline:
    /// [`CoreError::Offline`], and the replica keeps serving reads.
    pub async fn sync(
        &self,
        on_progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport, CoreError> {
        self.sync_with(
            SyncOptions {
                reconcile: true,
                push: PushMode::Now,
            },
            on_progress,
        )
        .await
    }

    /// [`Companion::sync`] with options. One sync runs at a time: a call made while one runs
    /// waits for it and returns its outcome (without its progress events).
    pub async fn sync_with(
        &self,
        options: SyncOptions,
        on_progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport, CoreError> {
        loop {
            // Decided under the lock, acted on after it (a std guard must not live across an
            // await).
            let decision = {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                match running.as_ref() {
                    Some((theirs, watch)) => Turn::Wait {
                        watch: watch.clone(),
                        covers: theirs.covers(&options),
                    },
                    None => {
                        let (outcome, watch) = tokio::sync::watch::channel(None);
                        *running = Some((options, watch));
                        Turn::Run(outcome)
                    }
                }
            };
            match decision {
                Turn::Run(outcome) => {
                    let _clear = ClearOnDrop(&self.running);
                    let result = self.run_sync(options, on_progress).await;
                    let _ = outcome.send(Some(result.clone()));
                    return result;
                }
                Turn::Wait { mut watch, covers } => {
                    let outcome = loop {
                        if let Some(result) = watch.borrow_and_update().clone() {
                            break Some(result);
                        }
                        if watch.changed().await.is_err() {
                            break None;
                        }
                    };
                    match outcome {
                        // It did what this request asks: its outcome is this one's.
                        Some(result) if covers => return result,
                        // It did less (a background sync that neither sent every waiting write
                        // nor looked for records that left the rep's view): now this one.
                        Some(_) => continue,
                        None if covers => {
                            return Err(CoreError::storage(
                                "the sync this request joined",
                                "stopped before it finished",
                            ))
                        }
                        None => continue,
                    }
                }
            }
        }
    }

    async fn run_sync(
        &self,
        options: SyncOptions,
        on_progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport, CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        let replica = session.replica.clone()?;
        let token = self.session_token(&session.user).await?;
        self.syncing.store(true, Ordering::SeqCst);
        let _done = ResetOnDrop(&self.syncing);
        // Push, then pull: the pull brings what the pushed writes changed, and a pull never
        // overwrites a change still pending.
        let pushed = self.push_with(&replica, &token, options.push).await?;
        let gateway = self.gateway()?;
        let pulled = sync::pull(
            &gateway,
            &replica,
            &token,
            sync::PullOptions {
                reconcile: options.reconcile,
            },
            &on_progress,
        )
        .await;
        if matches!(pulled, Err(CoreError::ReauthRequired)) {
            replica.set_reauth_required(true)?;
        }
        let mut report = pulled?;
        let changed = report.accounts
            + report.contacts
            + report.opportunities
            + report.tasks
            + report.leads
            + report.removed;
        if changed > 0 {
            self.emit(CoreEvent::RecordsChanged);
        }
        report.pushed = pushed;
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(|e| CoreError::storage("could not format the time", e))?;
        session.replica.clone()?.set_last_synced_at(&now)?;
        tracing::info!(
            pages = report.pages,
            accounts = report.accounts,
            contacts = report.contacts,
            opportunities = report.opportunities,
            tasks = report.tasks,
            leads = report.leads,
            removed = report.removed,
            sent = report.pushed.sent,
            "sync finished"
        );
        Ok(report)
    }

    /// Merges the search index's segments that a first sync left (one per page), a short
    /// transaction per step so the rep's writes go between them; returns the steps taken.
    /// Search is correct before, during and after; the background loop runs this after each
    /// sync (nothing to merge is one cheap step).
    pub async fn tidy_search(&self) -> Result<u32, CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        let replica = session.replica.clone()?;
        let mut steps = 0;
        loop {
            let writer = replica.clone();
            steps += 1;
            let more = tokio::task::spawn_blocking(move || writer.tidy_search())
                .await
                .map_err(|e| CoreError::storage("the search index tidy-up", e))??;
            if !more {
                break;
            }
        }
        // Off the rep's path, the WAL is copied back: reads of a short WAL look pages up in
        // fewer of its index blocks, and the next Save starts it over.
        let writer = replica.clone();
        tokio::task::spawn_blocking(move || writer.checkpoint())
            .await
            .map_err(|e| CoreError::storage("the checkpoint", e))??;
        Ok(steps)
    }

    /// Sends the outbox now (the rep's "Send now"): every write that may go, backoff or not.
    /// Writes Salesforce refuses wait for the rep (see [`Companion::pending`]); offline, the
    /// writes wait and this is [`CoreError::Offline`].
    pub async fn push_now(&self) -> Result<PushReport, CoreError> {
        self.push(PushMode::Now).await
    }

    /// Sends the outbox's writes `mode` says (the background loop: those whose backoff is over).
    pub async fn push(&self, mode: PushMode) -> Result<PushReport, CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        let replica = session.replica.clone()?;
        let token = self.session_token(&session.user).await?;
        self.push_with(&replica, &token, mode).await
    }

    async fn push_with(
        &self,
        replica: &Arc<Replica>,
        token: &str,
        mode: PushMode,
    ) -> Result<PushReport, CoreError> {
        if mode == PushMode::Skip {
            return Ok(PushReport::default());
        }
        let _one_at_a_time = self.pushing.lock().await;
        let gateway = self.gateway()?;
        let result = push::push(&gateway, replica, token, mode).await;
        match &result {
            Ok(report) if report.requests > 0 => {
                self.emit(CoreEvent::OutboxChanged);
                if report.sent + report.conflicts > 0 {
                    self.emit(CoreEvent::RecordsChanged);
                }
                tracing::info!(
                    sent = report.sent,
                    failed = report.failed,
                    conflicts = report.conflicts,
                    waiting = report.waiting,
                    requests = report.requests,
                    "push finished"
                );
            }
            Ok(_) => {}
            Err(error) => {
                self.emit(CoreEvent::OutboxChanged);
                tracing::info!(kind = error.kind(), "push stopped");
            }
        }
        result
    }

    /// The background loop's wake-up call after a Save.
    pub(crate) fn saved_notify(&self) -> &tokio::sync::Notify {
        &self.saved
    }

    async fn session_token(&self, user: &User) -> Result<String, CoreError> {
        let key = session_key(user);
        self.with_secrets(move |s| s.get(&key))
            .await?
            .ok_or(CoreError::ReauthRequired)
    }

    /// Whether the gateway answers now (a cheap probe, for coming back online).
    pub async fn gateway_answers(&self) -> bool {
        match self.gateway() {
            Ok(gateway) => gateway.ping().await,
            Err(_) => false,
        }
    }

    /// Listens to the gateway's change hints for the signed-in rep until the stream ends.
    pub async fn watch_changes(
        &self,
        on_hint: impl FnMut(companion_api::ChangeHint),
    ) -> Result<(), CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        let token = self.session_token(&session.user).await?;
        self.gateway()?.watch(&token, on_hint).await
    }

    /// The replica's contacts sorted by name, or the matches of `search` (word prefixes of
    /// name, email, title, account name). Never touches the network.
    pub fn contacts(&self, search: Option<&str>) -> Result<Vec<ContactSummary>, CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        session.replica?.contacts(search)
    }

    /// Accounts sorted by name (`limit` `None`: all).
    pub fn accounts(
        &self,
        limit: Option<u32>,
        offset: u32,
    ) -> Result<Vec<AccountSummary>, CoreError> {
        self.replica()?.accounts(limit, offset)
    }

    /// Opportunities filtered and sorted as asked, with their account names.
    pub fn opportunities(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<OpportunitySummary>, CoreError> {
        self.replica()?.opportunities(query)
    }

    pub fn contact(&self, id: &str) -> Result<Option<ContactDetail>, CoreError> {
        self.replica()?.contact(id)
    }

    pub fn account(&self, id: &str) -> Result<Option<AccountDetail>, CoreError> {
        self.replica()?.account(id)
    }

    pub fn opportunity(&self, id: &str) -> Result<Option<OpportunityDetail>, CoreError> {
        self.replica()?.opportunity(id)
    }

    /// A page of the contacts list (keyset paging with `query.after`), or of a search's
    /// matches, with the whole list's size when not searching.
    pub fn contacts_page(&self, query: &ContactQuery) -> Result<ContactPage, CoreError> {
        let replica = self.replica()?;
        let items = replica.contacts_page(query)?;
        let searching = query
            .search
            .as_deref()
            .is_some_and(crate::replica::is_a_search);
        let total = if searching {
            None
        } else {
            Some(replica.count_of("Contact")?)
        };
        Ok(ContactPage { items, total })
    }

    /// One record by id, whatever its object (told by the id's key prefix): a Salesforce id, or
    /// the local id of a record made on this device (before or after Salesforce made it).
    pub fn show(&self, id: &str) -> Result<RecordDetail, CoreError> {
        let given = id.trim();
        let is_salesforce_id = (given.len() == 15 || given.len() == 18)
            && given.chars().all(|c| c.is_ascii_alphanumeric());
        if !is_salesforce_id && !crate::replica::is_local_id(given) {
            return Err(CoreError::BadInput(format!(
                "{given:?} is not a Salesforce id (15 or 18 letters and digits) nor a local id."
            )));
        }
        let id = self.replica()?.resolve_id(given)?;
        let id = id.as_str();
        let not_found =
            || CoreError::BadInput(format!("No record with id {given} on this device."));
        match crate::replica::key_prefix(id).unwrap_or_default() {
            "003" => self
                .contact(id)?
                .map(RecordDetail::Contact)
                .ok_or_else(not_found),
            "001" => self
                .account(id)?
                .map(RecordDetail::Account)
                .ok_or_else(not_found),
            "006" => self
                .opportunity(id)?
                .map(RecordDetail::Opportunity)
                .ok_or_else(not_found),
            "00Q" => self.lead(id)?.map(RecordDetail::Lead).ok_or_else(not_found),
            "00T" => self.task(id)?.map(RecordDetail::Task).ok_or_else(not_found),
            _ => Err(not_found()),
        }
    }

    /// The rep's open leads (those made on this device included), sorted by name or the best
    /// matches of `query.search`; a page at a time.
    pub fn leads(&self, query: &LeadQuery) -> Result<Vec<LeadSummary>, CoreError> {
        self.replica()?.leads(query)
    }

    /// A lead by id (a local id too) with its recent activity.
    pub fn lead(&self, id: &str) -> Result<Option<LeadDetail>, CoreError> {
        let replica = self.replica()?;
        let id = replica.resolve_id(id.trim())?;
        replica.lead(&id)
    }

    /// A call or task by id (a local id too).
    pub fn task(&self, id: &str) -> Result<Option<TaskSummary>, CoreError> {
        let replica = self.replica()?;
        let id = replica.resolve_id(id.trim())?;
        replica.task(&id)
    }

    /// The search box: contacts, accounts, leads and opportunities whose name, email, phone,
    /// title or account name (a lead's company) has a word starting with each word typed; best
    /// first, at most 50.
    pub fn search(&self, text: &str) -> Result<Vec<SearchHit>, CoreError> {
        self.replica()?.search(text, SEARCH_LIMIT)
    }

    /// The picklist values of `object.field` as last synced (e.g. `Opportunity`, `StageName`).
    pub fn picklist(&self, object: &str, field: &str) -> Result<Vec<PicklistEntry>, CoreError> {
        self.replica()?.picklist(object, field)
    }

    /// Runs SQLite's integrity check on the replica.
    pub fn check_integrity(&self) -> Result<(), CoreError> {
        self.replica()?.check_integrity()
    }

    fn replica(&self) -> Result<Arc<Replica>, CoreError> {
        self.current_session()
            .ok_or(CoreError::NotSignedIn)?
            .replica
    }

    /// Every record of `object` on this device as `{SalesforceField: value}`, in id order.
    pub fn records(&self, object: &str) -> Result<Vec<serde_json::Value>, CoreError> {
        self.replica()?.records(object)
    }

    /// The space the signed-in rep's replica takes on this device: the file and its
    /// write-ahead log. `None` when signed out or before the first open.
    pub fn storage_bytes(&self) -> Option<u64> {
        let session = self.current_session()?;
        let path =
            Replica::path_for(&self.data_dir, &session.user.org_id, &session.user.user_id).ok()?;
        let main = std::fs::metadata(&path).ok()?.len();
        let mut wal = path.into_os_string();
        wal.push("-wal");
        Some(main + std::fs::metadata(&wal).map_or(0, |m| m.len()))
    }

    /// Drops this user's replica (and, if it could not be opened, its key) and starts an empty
    /// one: the next sync downloads a fresh copy. What a rep chooses when the data on the
    /// device cannot be opened.
    pub fn start_fresh(&self) -> Result<(), CoreError> {
        let mut slot = self.session.write().unwrap_or_else(|e| e.into_inner());
        let session = slot.as_mut().ok_or(CoreError::NotSignedIn)?;
        let path = Replica::path_for(&self.data_dir, &session.user.org_id, &session.user.user_id)?;
        let unreadable = session.replica.is_err();
        if let Ok(replica) = &session.replica {
            let pending = replica.outbox_counts()?.pending;
            if pending > 0 {
                return Err(CoreError::PendingChanges { count: pending });
            }
        }
        // Close it first: the file is removed under no open connection.
        session.replica = Err(CoreError::Storage(
            "the data on this device is being replaced".into(),
        ));
        Replica::destroy(&path)?;
        if unreadable {
            ReplicaKey::forget(
                self.secrets.as_ref(),
                &session.user.org_id,
                &session.user.user_id,
            )?;
        }
        session.replica = open_replica(&self.data_dir, self.secrets.as_ref(), &session.user);
        session.replica.clone().map(|_| ())
    }

    pub fn status(&self) -> Status {
        let session = self.current_session();
        let last_synced_at = session
            .as_ref()
            .and_then(|s| s.replica.as_ref().ok())
            .and_then(|replica| match replica.last_synced_at() {
                Ok(at) => at,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the last sync time");
                    None
                }
            });
        let counts = session
            .as_ref()
            .and_then(|s| s.replica.as_ref().ok())
            .and_then(|replica| match replica.counts() {
                Ok(counts) => Some(counts),
                Err(e) => {
                    tracing::warn!(error = %e, "could not count the records");
                    None
                }
            })
            .unwrap_or_default();
        let replica = session.as_ref().and_then(|s| s.replica.as_ref().ok());
        let outbox = replica
            .and_then(|replica| match replica.outbox_counts() {
                Ok(counts) => Some(counts),
                Err(e) => {
                    tracing::warn!(error = %e, "could not count the pending changes");
                    None
                }
            })
            .unwrap_or_default();
        Status {
            signed_in: session.is_some(),
            online: self.gateway().ok().and_then(|g| g.reachable()),
            last_synced_at,
            syncing: self.syncing.load(Ordering::SeqCst),
            counts,
            pending: outbox.pending,
            outbox,
            reauth_required: replica.is_some_and(|r| r.reauth_required()),
        }
    }

    /// Forgets the session on this device (token, current user, sign-in in progress) and tells
    /// the gateway, best effort. The replica file stays for when this user signs in again.
    ///
    /// With changes Salesforce does not have yet, it refuses ([`CoreError::PendingChanges`],
    /// naming how many) unless `discard_pending`, which discards them first.
    pub async fn sign_out(&self, discard_pending: bool) -> Result<(), CoreError> {
        if let Some(Ok(replica)) = self.current_session().map(|s| s.replica) {
            let pending = replica.outbox_counts()?.pending;
            if pending > 0 && !discard_pending {
                return Err(CoreError::PendingChanges { count: pending });
            }
            if pending > 0 {
                let discarded = replica.discard_all()?;
                tracing::info!(discarded, "pending changes discarded at sign-out");
                self.emit(CoreEvent::OutboxChanged);
            }
        }
        let session = self
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        files::remove_if_exists(&current_user_path(&self.data_dir))
            .map_err(|e| CoreError::storage("could not forget the signed-in user", e))?;
        login::clear_pending(&self.data_dir)?;
        if let Some(session) = session {
            self.end_session(&session.user, None).await?;
        }
        Ok(())
    }

    /// Whether `callback_url` carries the `state` of the sign-in in progress (compared in
    /// constant time). A loopback listener uses it to ignore stray or forged requests instead
    /// of letting them use up the sign-in; [`Companion::complete_login`] checks again anyway.
    pub fn callback_matches_pending(&self, callback_url: &str) -> bool {
        match login::load_pending(&self.data_dir) {
            Ok(pending) => login::callback_matches(callback_url, pending.as_ref()),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the sign-in in progress");
                false
            }
        }
    }

    /// The user signed in on this device before this sign-in: the one on disk (another
    /// process may have signed in since this one opened), else the one in memory.
    fn previous_user(&self) -> Option<User> {
        match read_current_user(&self.data_dir) {
            Ok(Some(user)) => Some(user),
            Ok(None) => self.current_user(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read who was signed in");
                self.current_user()
            }
        }
    }

    /// Deletes `user`'s session token and ends their gateway session, best effort. The token
    /// is not sent to the gateway if it is `keep_token` (the session just issued).
    async fn end_session(&self, user: &User, keep_token: Option<&str>) -> Result<(), CoreError> {
        let key = session_key(user);
        let lookup = key.clone();
        let token = self.with_secrets(move |s| s.get(&lookup)).await?;
        self.with_secrets(move |s| s.delete(&key)).await?;
        if let Some(token) = token.filter(|t| Some(t.as_str()) != keep_token) {
            let logout = match self.gateway() {
                Ok(gateway) => gateway.logout(&token).await,
                Err(e) => Err(e),
            };
            if let Err(e) = logout {
                tracing::info!(error = %e, "could not tell the gateway about the sign-out");
            }
        }
        tracing::info!(user_id = %user.user_id, "signed out");
        Ok(())
    }

    fn current_session(&self) -> Option<Session> {
        self.session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Keyring calls block (D-Bus, Keychain): keep them off the async workers.
    async fn with_secrets<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let secrets = self.secrets.clone();
        tokio::task::spawn_blocking(move || op(secrets.as_ref()))
            .await
            .map_err(|e| CoreError::SecretStore(SecretError::Failed(e.to_string())))?
            .map_err(CoreError::from)
    }
}

/// Opens `user`'s replica with its key from the secret store (made on first use).
fn open_replica(
    data_dir: &Path,
    secrets: &dyn SecretStore,
    user: &User,
) -> Result<Arc<Replica>, CoreError> {
    let path = Replica::path_for(data_dir, &user.org_id, &user.user_id)?;
    let has_data = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
    let key = ReplicaKey::for_user(secrets, &user.org_id, &user.user_id, has_data)?;
    let replica = Replica::open(&path, &key)?;
    // Writes a stopped process left mid-request wait again (resent with their keys).
    replica.requeue_interrupted()?;
    Ok(Arc::new(replica))
}

/// The secret-store key of a user's session token.
fn session_key(user: &User) -> String {
    format!("session:{}:{}", user.org_id, user.user_id)
}

fn current_user_path(data_dir: &Path) -> PathBuf {
    data_dir.join("current_user.json")
}

fn read_current_user(data_dir: &Path) -> Result<Option<User>, CoreError> {
    files::read_json(&current_user_path(data_dir))
        .map_err(|e| CoreError::storage("could not read who is signed in", e))
}

/// What a sync request does about a sync already running.
enum Turn {
    /// None runs: run, and tell those who join.
    Run(tokio::sync::watch::Sender<SyncOutcome>),
    /// One runs: wait for its outcome; `covers` when it does all this request asks.
    Wait { watch: SyncWatch, covers: bool },
}

/// Marks "no sync running" when the running sync ends, however it ends (even cancelled).
struct ClearOnDrop<'a>(&'a Mutex<Option<(SyncOptions, SyncWatch)>>);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Companion>();
}

mod outbox;
#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod tests;
