//! The gateway's store: users with their (encrypted) Salesforce tokens, sessions, idempotency
//! keys, the audit log and the outbound-message ids already handled.
//!
//! One interface, two backends: SQLite in the data dir (the embedded default, one instance) and
//! PostgreSQL (`database_url = "postgres://…"`, any number of instances on one database). Every
//! caller goes through [`Store`]; the same contract tests (`contract.rs`) run against both.

mod postgres;
mod sqlite;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod test_database;

use std::sync::Arc;

use companion_api::User;

use crate::audit::AuditEntry;
use crate::config::GatewayConfig;
use crate::crypto::TokenCipher;
use crate::hints::HintHub;
use crate::idempotency::{Claim, ClaimRequest, Finish};
use crate::GatewayError;

#[cfg(test)]
pub(crate) use sqlite::SqliteStore;
pub use sqlite::DATABASE_FILE;

/// A session stops working after this long without use…
pub const SESSION_IDLE_SECS: i64 = 30 * 24 * 3600;
/// …and this long after sign-in, whatever the use.
pub const SESSION_ABSOLUTE_SECS: i64 = 90 * 24 * 3600;
/// `last_seen_at` is written at most this often, so reads stay reads.
const TOUCH_EVERY_SECS: i64 = 60;
/// Outbound-message ids are remembered this long (Salesforce retries for at most 24 hours).
pub const REMEMBER_NOTIFICATIONS_SECS: i64 = 7 * 24 * 3600;

pub type StoreResult<T> = Result<T, GatewayError>;

/// The Salesforce side of a user: where to call and with what. `Debug` hides the tokens.
#[derive(Clone)]
pub struct SalesforceTokens {
    pub login_host: String,
    pub instance_url: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub generation: i64,
}

impl std::fmt::Debug for SalesforceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceTokens")
            .field("login_host", &self.login_host)
            .field("instance_url", &self.instance_url)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A new sign-in, to be stored.
pub struct NewSignIn<'a> {
    pub user: &'a User,
    pub login_host: &'a str,
    pub instance_url: &'a str,
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
}

/// The store of one gateway instance.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

/// What [`check_token_key`] seals and opens, and the context it is bound to.
const TOKEN_KEY_CHECK: &str = "companion token key check";

/// A fresh sealing of the check value, for a database that has none yet.
fn seal_token_key_check(cipher: &TokenCipher) -> Vec<u8> {
    cipher.seal(TOKEN_KEY_CHECK, TOKEN_KEY_CHECK)
}

/// Refuses a token key other than the one the database was first used with: tokens and sync
/// cursors made with one key are useless with another, and instances with different keys
/// would fail each other's reps one request at a time instead of at start.
fn check_token_key(cipher: &TokenCipher, sealed: &[u8]) -> StoreResult<()> {
    match cipher.open(sealed, TOKEN_KEY_CHECK) {
        Ok(value) if value == TOKEN_KEY_CHECK => Ok(()),
        _ => Err(GatewayError::Config(
            "token_key is not the key this database was first used with: every instance needs \
             the same token_key (see the README on running several gateways)"
                .into(),
        )),
    }
}

impl Store {
    /// Open the configured store: PostgreSQL when `database_url` is set (migrations applied once
    /// however many instances start together), else SQLite in `data_dir`. `hints` is the
    /// instance's hub, which a PostgreSQL store feeds with every instance's change hints.
    pub async fn open(
        config: &GatewayConfig,
        cipher: TokenCipher,
        hints: Arc<HintHub>,
    ) -> StoreResult<Store> {
        match &config.database_url {
            Some(url) => Ok(Store::Postgres(
                postgres::PgStore::open(url, config.database_max_connections, cipher, hints)
                    .await?,
            )),
            None => Ok(Store::Sqlite(sqlite::SqliteStore::open(
                &config.data_dir,
                cipher,
            )?)),
        }
    }

    /// Whether change hints travel through the database to every instance (PostgreSQL); else
    /// the instance that received an outbound message publishes them to its own hub.
    pub fn shares_hints(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Whether this instance hears the other instances (PostgreSQL: its listener is connected;
    /// SQLite: there are no others).
    pub fn hint_channel_up(&self) -> bool {
        match self {
            Store::Sqlite(_) => true,
            Store::Postgres(store) => store.hint_channel_up(),
        }
    }

    /// `/metrics` lines about the store: which backend, and on PostgreSQL the pool and the
    /// hint channel.
    pub fn metrics(&self) -> String {
        match self {
            Store::Sqlite(_) => "# HELP companion_store_backend The store this instance uses.\n\
                 # TYPE companion_store_backend gauge\n\
                 companion_store_backend{backend=\"sqlite\"} 1\n"
                .to_string(),
            Store::Postgres(store) => {
                let (open, idle, losses) = store.gauges();
                format!(
                    "# HELP companion_store_backend The store this instance uses.\n\
                     # TYPE companion_store_backend gauge\n\
                     companion_store_backend{{backend=\"postgres\"}} 1\n\
                     # HELP companion_store_pool_connections PostgreSQL connections of this instance.\n\
                     # TYPE companion_store_pool_connections gauge\n\
                     companion_store_pool_connections{{state=\"idle\"}} {idle}\n\
                     companion_store_pool_connections{{state=\"in_use\"}} {}\n\
                     # HELP companion_hint_channel_up 1 while this instance hears the other instances' change hints.\n\
                     # TYPE companion_hint_channel_up gauge\n\
                     companion_hint_channel_up {}\n\
                     # HELP companion_hint_channel_losses_total Times the change-hint channel was lost (its streams were ended).\n\
                     # TYPE companion_hint_channel_losses_total counter\n\
                     companion_hint_channel_losses_total {losses}\n",
                    (open as usize).saturating_sub(idle),
                    u8::from(store.hint_channel_up()),
                )
            }
        }
    }

    /// Whether the database answers a query (`/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, s => s.ping().await)
    }

    /// Store (or update) the user and their tokens, and create a session for `token_hash`, in
    /// one transaction.
    pub async fn sign_in(
        &self,
        sign_in: NewSignIn<'_>,
        token_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.sign_in(sign_in, token_hash, now).await)
    }

    /// The user of a live session, or `None` for an unknown or expired one (which is deleted).
    pub async fn session_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<User>> {
        dispatch!(self, s => s.session_user(token_hash, now).await)
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> StoreResult<()> {
        dispatch!(self, s => s.delete_session(token_hash).await)
    }

    /// Forget a user's Salesforce tokens and end all their sessions (after logout, or when
    /// Salesforce refuses the refresh token).
    pub async fn forget_tokens(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self, s => s.forget_tokens(user_id).await)
    }

    /// The user's Salesforce tokens, decrypted; `None` when there are none.
    pub async fn tokens(&self, user_id: &str) -> StoreResult<Option<SalesforceTokens>> {
        dispatch!(self, s => s.tokens(user_id).await)
    }

    /// Hold the user's tokens against every other refresh, in any instance, until the lock is
    /// finished or dropped (SQLite: the caller's in-process lock is enough, there is one
    /// process; PostgreSQL: the user's row is locked `FOR UPDATE` in an open transaction).
    pub async fn lock_tokens(&self, user_id: &str) -> StoreResult<TokenLock> {
        match self {
            Store::Sqlite(s) => Ok(TokenLock::Sqlite(s.lock_tokens(user_id).await?)),
            Store::Postgres(s) => Ok(TokenLock::Postgres(s.lock_tokens(user_id).await?)),
        }
    }

    /// Claim every key of one request, in one transaction. A key `in_progress` for longer than
    /// `lease_secs` (its claimant died) is taken over like an `unknown` one.
    pub async fn claim_keys(
        &self,
        user_id: &str,
        requests: Vec<ClaimRequest>,
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<Vec<Claim>> {
        dispatch!(self, s => s.claim_keys(user_id, requests, now, lease_secs).await)
    }

    /// End held keys (keep the answer, mark unknown, or release each) and write the request's
    /// audit lines, in one transaction.
    pub async fn finish_keys(
        &self,
        user_id: &str,
        finished: Vec<(String, Finish)>,
        audit: Vec<AuditEntry>,
        now: i64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.finish_keys(user_id, finished, audit, now).await)
    }

    /// Remember these outbound-message notifications (id and object) of `org_id`; returns, for
    /// each, whether it is new. On PostgreSQL the change hint of the new ones is published to
    /// every instance in the same transaction. Ids older than a week are forgotten on the way.
    pub async fn remember_notifications(
        &self,
        org_id: &str,
        notifications: Vec<(String, String)>,
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        dispatch!(self, s => s.remember_notifications(org_id, notifications, now).await)
    }
}

/// The tokens of a user, held against concurrent refreshes (see [`Store::lock_tokens`]).
pub enum TokenLock {
    Sqlite(sqlite::SqliteTokenLock),
    Postgres(postgres::PgTokenLock),
}

impl TokenLock {
    /// The tokens as they are under the lock; `None` when the user has none.
    pub fn tokens(&self) -> Option<&SalesforceTokens> {
        match self {
            TokenLock::Sqlite(lock) => lock.tokens.as_ref(),
            TokenLock::Postgres(lock) => lock.tokens.as_ref(),
        }
    }

    /// Store refreshed tokens (the refresh token only when rotation handed out a new one) and
    /// release the lock.
    pub async fn store_refreshed(
        self,
        instance_url: &str,
        access_token: &str,
        refresh_token: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        match self {
            TokenLock::Sqlite(lock) => {
                lock.store_refreshed(instance_url, access_token, refresh_token, now)
                    .await
            }
            TokenLock::Postgres(lock) => {
                lock.store_refreshed(instance_url, access_token, refresh_token, now)
                    .await
            }
        }
    }

    /// Salesforce refused the refresh token: forget the tokens, end the user's sessions, and
    /// release the lock.
    pub async fn forget(self) -> StoreResult<()> {
        match self {
            TokenLock::Sqlite(lock) => lock.forget().await,
            TokenLock::Postgres(lock) => lock.forget().await,
        }
    }
}

/// Associated data binding a ciphertext to its row and column.
fn context(user_id: &str, column: &str) -> String {
    format!("users/{user_id}/{column}")
}

/// Whether a session last seen at `last_seen_at`, created at `created_at`, has ended by `now`.
fn session_ended(created_at: i64, last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at > SESSION_IDLE_SECS || now - created_at > SESSION_ABSOLUTE_SECS
}
