//! [`Companion`]: the one object the app shell and the CLI hold.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use companion_api::{ExchangeRequest, User};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::CoreError;
use crate::files;
use crate::gateway::GatewayClient;
use crate::login;
use crate::model::{LoginStart, Status, SyncProgress, SyncReport};
use crate::replica::{ContactSummary, Replica, ReplicaKey};
use crate::secrets::{SecretError, SecretStore};
use crate::sync;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The Companion gateway, e.g. `http://127.0.0.1:8710`.
    pub gateway_url: url::Url,
    /// Where the replicas and small state files live (the app's data folder).
    pub data_dir: PathBuf,
}

/// The signed-in user and their replica.
#[derive(Clone)]
struct Session {
    user: User,
    replica: Arc<Replica>,
}

/// Companion's state for one device. `Send + Sync`: share it behind an `Arc`.
pub struct Companion {
    config: Config,
    secrets: Arc<dyn SecretStore>,
    gateway: GatewayClient,
    session: RwLock<Option<Session>>,
    /// One sync at a time: a second caller waits for the running one, then finds little to do.
    sync_lock: tokio::sync::Mutex<()>,
    syncing: AtomicBool,
}

impl Companion {
    /// Opens core on `config.data_dir`, reopening the last signed-in user's replica if any.
    /// Touches no network and no secret.
    pub fn open(config: Config, secrets: Arc<dyn SecretStore>) -> Result<Self, CoreError> {
        // 0700 on unix when we create it: it holds the rep's customer data.
        files::create_private_dir_all(&config.data_dir).map_err(|e| {
            CoreError::storage(
                &format!(
                    "could not create the data folder {}",
                    config.data_dir.display()
                ),
                e,
            )
        })?;
        let gateway = GatewayClient::new(config.gateway_url.clone())?;
        let session = match read_current_user(&config.data_dir)? {
            Some(user) => {
                let path = Replica::path_for(&config.data_dir, &user.org_id, &user.user_id)?;
                let key = ReplicaKey::for_user(secrets.as_ref(), &user.org_id, &user.user_id)?;
                Some(Session {
                    replica: Arc::new(Replica::open(&path, &key)?),
                    user,
                })
            }
            None => None,
        };
        Ok(Self {
            config,
            secrets,
            gateway,
            session: RwLock::new(session),
            sync_lock: tokio::sync::Mutex::new(()),
            syncing: AtomicBool::new(false),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts a sign-in: returns the Salesforce authorize URL to open in the system browser.
    /// `redirect_uri` is `companion://oauth/callback` (app) or a loopback URL (CLI).
    pub async fn begin_login(&self, redirect_uri: &str) -> Result<LoginStart, CoreError> {
        let auth_config = self.gateway.auth_config().await?;
        let (pending, url) = login::start(&auth_config, redirect_uri)?;
        login::save_pending(&self.config.data_dir, &pending)?;
        tracing::info!(login_host = %pending.login_host, redirect_uri, "sign-in started");
        Ok(LoginStart {
            authorize_url: url.to_string(),
        })
    }

    /// Finishes a sign-in from the URL the browser was redirected to. A callback whose `state`
    /// is not the pending sign-in's is refused before anything is sent to the gateway.
    pub async fn complete_login(&self, callback_url: &str) -> Result<User, CoreError> {
        let pending =
            login::load_unexpired_pending(&self.config.data_dir, OffsetDateTime::now_utc())?;
        let code = login::code_from_callback(callback_url, pending.as_ref())?;
        let pending =
            pending.ok_or_else(|| CoreError::SignInFailed(login::SIGN_IN_FAILED.into()))?;
        let exchanged = self
            .gateway
            .exchange(&ExchangeRequest {
                code,
                code_verifier: pending.code_verifier.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                login_host: pending.login_host.clone(),
            })
            .await?;
        let user = exchanged.user;
        let replica_path = Replica::path_for(&self.config.data_dir, &user.org_id, &user.user_id)?;

        // Whoever was signed in before is signed out first (their replica file stays).
        if let Some(previous) = self.previous_user() {
            self.end_session(&previous, Some(&exchanged.session_token))
                .await?;
        }
        let key = session_key(&user);
        let token = exchanged.session_token;
        self.with_secrets(move |s| s.set(&key, &token)).await?;
        files::write_json_private(&current_user_path(&self.config.data_dir), &user)
            .map_err(|e| CoreError::storage("could not remember the signed-in user", e))?;
        let secrets = self.secrets.clone();
        let (org_id, user_id) = (user.org_id.clone(), user.user_id.clone());
        let replica = tokio::task::spawn_blocking(move || {
            let key = ReplicaKey::for_user(secrets.as_ref(), &org_id, &user_id)?;
            Replica::open(&replica_path, &key)
        })
        .await
        .map_err(|e| CoreError::storage("opening the replica stopped", e))??;
        *self.session.write().unwrap_or_else(|e| e.into_inner()) = Some(Session {
            user: user.clone(),
            replica: Arc::new(replica),
        });
        login::clear_pending(&self.config.data_dir)?;
        tracing::info!(user_id = %user.user_id, org_id = %user.org_id, "signed in");
        Ok(user)
    }

    pub fn current_user(&self) -> Option<User> {
        self.current_session().map(|s| s.user)
    }

    /// Brings the replica up to date with Salesforce through the gateway. `on_progress` is
    /// called after each applied page. Offline: [`CoreError::Offline`], and the replica keeps
    /// serving reads.
    pub async fn sync(
        &self,
        on_progress: impl Fn(SyncProgress) + Send + Sync,
    ) -> Result<SyncReport, CoreError> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        let key = session_key(&session.user);
        let token = self
            .with_secrets(move |s| s.get(&key))
            .await?
            .ok_or(CoreError::ReauthRequired)?;

        self.syncing.store(true, Ordering::SeqCst);
        let _done = ResetOnDrop(&self.syncing);
        let report = sync::pull(&self.gateway, &session.replica, &token, &on_progress).await?;
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(|e| CoreError::storage("could not format the time", e))?;
        session.replica.set_last_synced_at(&now)?;
        tracing::info!(
            pages = report.pages,
            accounts = report.accounts,
            contacts = report.contacts,
            "sync finished"
        );
        Ok(report)
    }

    /// The replica's contacts sorted by name, or the matches of `search` (word prefixes of
    /// name, email, title, account name). Never touches the network.
    pub fn contacts(&self, search: Option<&str>) -> Result<Vec<ContactSummary>, CoreError> {
        let session = self.current_session().ok_or(CoreError::NotSignedIn)?;
        session.replica.contacts(search)
    }

    pub fn status(&self) -> Status {
        let session = self.current_session();
        let last_synced_at = session
            .as_ref()
            .and_then(|s| match s.replica.last_synced_at() {
                Ok(at) => at,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the last sync time");
                    None
                }
            });
        Status {
            signed_in: session.is_some(),
            online: self.gateway.reachable(),
            last_synced_at,
            syncing: self.syncing.load(Ordering::SeqCst),
        }
    }

    /// Forgets the session on this device (token, current user, sign-in in progress) and tells
    /// the gateway, best effort. The replica file stays for when this user signs in again.
    pub async fn sign_out(&self) -> Result<(), CoreError> {
        let session = self
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        files::remove_if_exists(&current_user_path(&self.config.data_dir))
            .map_err(|e| CoreError::storage("could not forget the signed-in user", e))?;
        login::clear_pending(&self.config.data_dir)?;
        if let Some(session) = session {
            self.end_session(&session.user, None).await?;
        }
        Ok(())
    }

    /// Whether `callback_url` carries the `state` of the sign-in in progress (compared in
    /// constant time). A loopback listener uses it to ignore stray or forged requests instead
    /// of letting them use up the sign-in; [`Companion::complete_login`] checks again anyway.
    pub fn callback_matches_pending(&self, callback_url: &str) -> bool {
        match login::load_pending(&self.config.data_dir) {
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
        match read_current_user(&self.config.data_dir) {
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
            if let Err(e) = self.gateway.logout(&token).await {
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

#[cfg(test)]
mod tests;
