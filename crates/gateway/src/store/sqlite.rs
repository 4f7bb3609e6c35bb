//! The SQLite backend: one file in the data dir, one connection, one gateway process (a lock
//! file refuses a second process on the same data dir: several instances need PostgreSQL).

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use companion_api::User;
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use super::{
    context, session_ended, NewSignIn, SalesforceTokens, StoreResult, REMEMBER_NOTIFICATIONS_SECS,
    TOUCH_EVERY_SECS,
};
use crate::audit::AuditEntry;
use crate::crypto::TokenCipher;
use crate::hints::org_key;
use crate::idempotency::{Claim, ClaimRequest, Finish};
use crate::private_files;
use crate::GatewayError;

pub const DATABASE_FILE: &str = "gateway.sqlite3";
/// Held (an exclusive file lock) while a gateway process uses the data dir.
const LOCK_FILE: &str = "gateway.lock";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            username TEXT NOT NULL,
            display_name TEXT NOT NULL,
            email TEXT NOT NULL,
            login_host TEXT NOT NULL,
            instance_url TEXT NOT NULL,
            access_token BLOB,
            refresh_token BLOB,
            -- bumped on every token change; a task that saw an older one knows someone refreshed
            token_generation INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE sessions (
            token_hash BLOB PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL
        );
        CREATE INDEX sessions_by_user ON sessions(user_id);",
        ),
        // Outbound-message notification ids already handled (Salesforce delivers at least once).
        M::up(
            "CREATE TABLE outbound_notifications (
            org_id TEXT NOT NULL,
            notification_id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (org_id, notification_id)
        ) WITHOUT ROWID;
        CREATE INDEX outbound_notifications_by_age ON outbound_notifications(received_at);",
        ),
        // Writes: idempotency keys with their results, and the audit log (idempotency.rs, audit.rs).
        M::up(
            "CREATE TABLE idempotency_keys (
            user_id TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash BLOB NOT NULL,
            -- 'in_progress' (a request is calling Salesforce), 'unknown' (its outcome was lost),
            -- 'done' (status and body are the answer)
            state TEXT NOT NULL,
            status INTEGER,
            body TEXT,
            record_id TEXT,
            claimed_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, idempotency_key)
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            action TEXT NOT NULL,
            record_id TEXT,
            idempotency_key TEXT NOT NULL,
            outcome TEXT NOT NULL,
            status INTEGER NOT NULL
        );
        CREATE INDEX audit_log_by_user ON audit_log(user_id, at);",
        ),
        // A value sealed with the token key first used (mod.rs, check_token_key).
        M::up(
            "CREATE TABLE token_key_check (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sealed BLOB NOT NULL
        );",
        ),
    ])
}

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    cipher: TokenCipher,
    /// Holds the data dir's lock for as long as any clone of the store lives.
    _lock: Arc<File>,
}

impl SqliteStore {
    /// Open (or create) `data_dir/gateway.sqlite3`, WAL mode, migrations applied.
    pub fn open(data_dir: &Path, cipher: TokenCipher) -> Result<Self, GatewayError> {
        private_files::create_dir(data_dir)?;
        let lock = lock_data_dir(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        private_files::ensure_file(&path)?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|e| GatewayError::Store(format!("migrating the store: {e}")))?;
        conn.execute(
            "INSERT OR IGNORE INTO token_key_check (id, sealed) VALUES (1, ?1)",
            [super::seal_token_key_check(&cipher)],
        )?;
        let sealed: Vec<u8> = conn.query_row(
            "SELECT sealed FROM token_key_check WHERE id = 1",
            [],
            |row| row.get(0),
        )?;
        super::check_token_key(&cipher, &sealed)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            cipher,
            _lock: Arc::new(lock),
        })
    }

    /// Run `f` on the connection on the blocking pool.
    pub(crate) async fn with<T, F>(&self, f: F) -> Result<T, GatewayError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &TokenCipher) -> Result<T, GatewayError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let cipher = self.cipher.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| GatewayError::Internal("store lock poisoned".into()))?;
            f(&mut conn, &cipher)
        })
        .await
        .map_err(|e| GatewayError::Internal(format!("store task: {e}")))?
    }

    /// Whether the database answers a query (`/readyz`).
    pub(crate) async fn ping(&self) -> Result<(), GatewayError> {
        self.with(|conn, _| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    /// Store (or update) the user and their tokens, and create a session for `token_hash`,
    /// in one transaction.
    pub async fn sign_in(
        &self,
        sign_in: NewSignIn<'_>,
        token_hash: Vec<u8>,
        now: i64,
    ) -> Result<(), GatewayError> {
        let user = sign_in.user.clone();
        let login_host = sign_in.login_host.to_string();
        let instance_url = sign_in.instance_url.to_string();
        let access = sign_in.access_token.to_string();
        let refresh = sign_in.refresh_token.map(str::to_string);
        self.with(move |conn, cipher| {
            let access = cipher.seal(&access, &context(&user.user_id, "access"));
            let refresh = refresh.map(|r| cipher.seal(&r, &context(&user.user_id, "refresh")));
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO users (user_id, org_id, username, display_name, email, login_host, instance_url,
                                    access_token, refresh_token, token_generation, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10)
                 ON CONFLICT(user_id) DO UPDATE SET
                    org_id = excluded.org_id, username = excluded.username,
                    display_name = excluded.display_name, email = excluded.email,
                    login_host = excluded.login_host, instance_url = excluded.instance_url,
                    access_token = excluded.access_token,
                    refresh_token = COALESCE(excluded.refresh_token, users.refresh_token),
                    token_generation = users.token_generation + 1,
                    updated_at = excluded.updated_at",
                params![
                    user.user_id,
                    user.org_id,
                    user.username,
                    user.display_name,
                    user.email,
                    login_host,
                    instance_url,
                    access,
                    refresh,
                    now
                ],
            )?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
                params![token_hash, user.user_id, now],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The user of a live session, or `None` for an unknown or expired one (which is deleted).
    pub async fn session_user(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> Result<Option<User>, GatewayError> {
        self.with(move |conn, _| {
            let row = conn
                .query_row(
                    "SELECT s.created_at, s.last_seen_at, u.user_id, u.org_id, u.username, u.display_name, u.email
                     FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.token_hash = ?1",
                    params![token_hash],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            User {
                                user_id: r.get(2)?,
                                org_id: r.get(3)?,
                                username: r.get(4)?,
                                display_name: r.get(5)?,
                                email: r.get(6)?,
                            },
                        ))
                    },
                )
                .optional()?;
            let Some((created_at, last_seen_at, user)) = row else {
                return Ok(None);
            };
            if session_ended(created_at, last_seen_at, now) {
                conn.execute("DELETE FROM sessions WHERE token_hash = ?1", params![token_hash])?;
                return Ok(None);
            }
            if now - last_seen_at > TOUCH_EVERY_SECS {
                conn.execute(
                    "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
                    params![token_hash, now],
                )?;
            }
            Ok(Some(user))
        })
        .await
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> Result<(), GatewayError> {
        self.with(move |conn, _| {
            conn.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![token_hash],
            )?;
            Ok(())
        })
        .await
    }

    /// Forget a user's Salesforce tokens and end all their sessions (after logout, or when
    /// Salesforce refuses the refresh token).
    pub async fn forget_tokens(&self, user_id: &str) -> Result<(), GatewayError> {
        let user_id = user_id.to_string();
        self.with(move |conn, _| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", params![user_id])?;
            tx.execute(
                "UPDATE users SET access_token = NULL, refresh_token = NULL,
                     token_generation = token_generation + 1 WHERE user_id = ?1",
                params![user_id],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The user's Salesforce tokens, decrypted; `None` when there are none.
    pub async fn tokens(&self, user_id: &str) -> Result<Option<SalesforceTokens>, GatewayError> {
        let user_id = user_id.to_string();
        self.with(move |conn, cipher| {
            let row = conn
                .query_row(
                    "SELECT login_host, instance_url, access_token, refresh_token, token_generation
                     FROM users WHERE user_id = ?1",
                    params![user_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                            r.get::<_, Option<Vec<u8>>>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    },
                )
                .optional()?;
            let Some((login_host, instance_url, Some(access), refresh, generation)) = row else {
                return Ok(None);
            };
            Ok(Some(SalesforceTokens {
                login_host,
                instance_url,
                access_token: cipher.open(&access, &context(&user_id, "access"))?,
                refresh_token: refresh
                    .map(|r| cipher.open(&r, &context(&user_id, "refresh")))
                    .transpose()?,
                generation,
            }))
        })
        .await
    }

    /// Store refreshed tokens in one statement: the access token, the instance URL, and the new
    /// refresh token when rotation handed one out. Returns the new generation.
    async fn store_refreshed(
        &self,
        user_id: &str,
        instance_url: &str,
        access_token: &str,
        refresh_token: Option<&str>,
        now: i64,
    ) -> Result<i64, GatewayError> {
        let user_id = user_id.to_string();
        let instance_url = instance_url.to_string();
        let access = access_token.to_string();
        let refresh = refresh_token.map(str::to_string);
        self.with(move |conn, cipher| {
            let access = cipher.seal(&access, &context(&user_id, "access"));
            let refresh = refresh.map(|r| cipher.seal(&r, &context(&user_id, "refresh")));
            let generation = conn.query_row(
                "UPDATE users SET instance_url = ?2, access_token = ?3,
                     refresh_token = COALESCE(?4, refresh_token),
                     token_generation = token_generation + 1, updated_at = ?5
                 WHERE user_id = ?1 RETURNING token_generation",
                params![user_id, instance_url, access, refresh, now],
                |r| r.get(0),
            )?;
            Ok(generation)
        })
        .await
    }

    /// Read the tokens for a refresh. One process: the caller's per-user lock (in `Upstream`)
    /// is what keeps refreshes apart.
    pub async fn lock_tokens(&self, user_id: &str) -> StoreResult<SqliteTokenLock> {
        Ok(SqliteTokenLock {
            tokens: self.tokens(user_id).await?,
            store: self.clone(),
            user_id: user_id.to_string(),
        })
    }

    /// Claim every key of one request, in one transaction (the connection's mutex makes the
    /// read-then-write of each key atomic: there is one process).
    pub async fn claim_keys(
        &self,
        user_id: &str,
        requests: Vec<ClaimRequest>,
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<Vec<Claim>> {
        let user_id = user_id.to_string();
        self.with(move |conn, _| {
            let tx = conn.transaction()?;
            let mut claims = Vec::with_capacity(requests.len());
            for request in &requests {
                let row = tx
                    .query_row(
                        "SELECT request_hash, state, status, body, claimed_at FROM idempotency_keys
                         WHERE user_id = ?1 AND idempotency_key = ?2",
                        params![user_id, request.key],
                        |r| {
                            Ok(KeyRow {
                                request_hash: r.get(0)?,
                                state: r.get(1)?,
                                status: r.get(2)?,
                                body: r.get(3)?,
                                claimed_at: r.get(4)?,
                            })
                        },
                    )
                    .optional()?;
                let claim = match row {
                    None => {
                        tx.execute(
                            "INSERT INTO idempotency_keys
                                (user_id, idempotency_key, request_hash, state, claimed_at, updated_at)
                             VALUES (?1, ?2, ?3, 'in_progress', ?4, ?4)",
                            params![user_id, request.key, request.request_hash, now],
                        )?;
                        Claim::Fresh
                    }
                    Some(row) => {
                        let claim = row.claim(&request.request_hash, now, lease_secs)?;
                        if claim == Claim::Recover {
                            tx.execute(
                                "UPDATE idempotency_keys SET state = 'in_progress', claimed_at = ?3,
                                     updated_at = ?3
                                 WHERE user_id = ?1 AND idempotency_key = ?2",
                                params![user_id, request.key, now],
                            )?;
                        }
                        claim
                    }
                };
                claims.push(claim);
            }
            tx.commit()?;
            Ok(claims)
        })
        .await
    }

    /// End held keys and write the audit lines, in one transaction.
    pub async fn finish_keys(
        &self,
        user_id: &str,
        finished: Vec<(String, Finish)>,
        audit: Vec<AuditEntry>,
        now: i64,
    ) -> StoreResult<()> {
        let user_id = user_id.to_string();
        self.with(move |conn, _| {
            let tx = conn.transaction()?;
            for (key, finish) in &finished {
                match finish {
                    Finish::Done {
                        status,
                        body,
                        record_id,
                    } => {
                        tx.execute(
                            "UPDATE idempotency_keys SET state = 'done', status = ?3, body = ?4,
                                 record_id = ?5, updated_at = ?6
                             WHERE user_id = ?1 AND idempotency_key = ?2",
                            params![user_id, key, status, body.to_string(), record_id, now],
                        )?;
                    }
                    Finish::Unknown => {
                        tx.execute(
                            "UPDATE idempotency_keys SET state = 'unknown', updated_at = ?3
                             WHERE user_id = ?1 AND idempotency_key = ?2",
                            params![user_id, key, now],
                        )?;
                    }
                    Finish::Release => {
                        tx.execute(
                            "DELETE FROM idempotency_keys WHERE user_id = ?1 AND idempotency_key = ?2",
                            params![user_id, key],
                        )?;
                    }
                }
            }
            for entry in &audit {
                tx.execute(
                    "INSERT INTO audit_log (user_id, at, action, record_id, idempotency_key, outcome, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user_id,
                        now,
                        entry.action,
                        entry.record_id,
                        entry.idempotency_key,
                        entry.outcome,
                        entry.status
                    ],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Remember notification ids of `org_id`; for each, whether it is new.
    pub async fn remember_notifications(
        &self,
        org_id: &str,
        notifications: Vec<(String, String)>,
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        let org = org_key(org_id).to_string();
        self.with(move |conn, _| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM outbound_notifications WHERE received_at < ?1",
                params![now - REMEMBER_NOTIFICATIONS_SECS],
            )?;
            let mut fresh = Vec::with_capacity(notifications.len());
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO outbound_notifications (org_id, notification_id, received_at)
                     VALUES (?1, ?2, ?3)",
                )?;
                for (id, _) in &notifications {
                    fresh.push(insert.execute(params![org, id, now])? == 1);
                }
            }
            tx.commit()?;
            Ok(fresh)
        })
        .await
    }
}

/// A user's tokens read for a refresh (see [`SqliteStore::lock_tokens`]).
pub struct SqliteTokenLock {
    pub(super) tokens: Option<SalesforceTokens>,
    store: SqliteStore,
    user_id: String,
}

impl SqliteTokenLock {
    pub async fn store_refreshed(
        self,
        instance_url: &str,
        access_token: &str,
        refresh_token: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        self.store
            .store_refreshed(
                &self.user_id,
                instance_url,
                access_token,
                refresh_token,
                now,
            )
            .await?;
        Ok(())
    }

    pub async fn forget(self) -> StoreResult<()> {
        self.store.forget_tokens(&self.user_id).await
    }
}

/// An idempotency key's row as stored.
pub(super) struct KeyRow {
    pub request_hash: Vec<u8>,
    pub state: String,
    pub status: Option<u16>,
    pub body: Option<String>,
    pub claimed_at: i64,
}

impl KeyRow {
    /// What a request with `request_hash` finds in this row at `now`. `Recover` means the
    /// caller must take the key over (state back to `in_progress`, claimed now).
    pub fn claim(&self, request_hash: &[u8], now: i64, lease_secs: i64) -> StoreResult<Claim> {
        if self.request_hash != request_hash {
            return Ok(Claim::Mismatch);
        }
        Ok(match (self.state.as_str(), self.status, &self.body) {
            ("done", Some(status), Some(body)) => Claim::Replay {
                status,
                body: serde_json::from_str(body)
                    .map_err(|e| GatewayError::Store(format!("stored answer: {e}")))?,
            },
            ("unknown", _, _) => Claim::Recover,
            ("in_progress", _, _) if now - self.claimed_at > lease_secs => Claim::Recover,
            ("in_progress", _, _) => Claim::InProgress,
            (state, _, _) => {
                return Err(GatewayError::Store(format!(
                    "an idempotency key in state {state:?}"
                )))
            }
        })
    }
}

/// Take the data dir's lock, or say who has it.
fn lock_data_dir(data_dir: &Path) -> StoreResult<File> {
    let path = data_dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| GatewayError::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(GatewayError::Config(format!(
            "another gateway process uses the data folder {}; several instances need PostgreSQL \
             (COMPANION_GATEWAY_DATABASE_URL)",
            data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(GatewayError::io(format!("locking {}", path.display()), e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_not_in_the_file_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), TokenCipher::new(&[3u8; 32])).unwrap();
        let user = User {
            user_id: "0057F000000abcdQAA".into(),
            org_id: "00D7F00000107XsUAI".into(),
            username: "rep@demo.example".into(),
            display_name: "Riley Rep".into(),
            email: "rep@demo.example".into(),
        };
        store
            .sign_in(
                NewSignIn {
                    user: &user,
                    login_host: "http://127.0.0.1:8700",
                    instance_url: "http://127.0.0.1:8700",
                    access_token: "00D!ACCESS-TOKEN-ONE",
                    refresh_token: Some("REFRESH-TOKEN-ONE"),
                },
                vec![1; 32],
                1000,
            )
            .await
            .unwrap();
        drop(store);
        let mut bytes = std::fs::read(dir.path().join(DATABASE_FILE)).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join(format!("{DATABASE_FILE}-wal"))) {
            bytes.extend(wal);
        }
        for secret in [&b"ACCESS-TOKEN-ONE"[..], b"REFRESH-TOKEN-ONE"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        }
    }

    #[test]
    fn a_second_gateway_on_the_same_data_folder_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = SqliteStore::open(dir.path(), TokenCipher::new(&[3u8; 32])).unwrap();
        let second = first.clone();
        let Err(GatewayError::Config(message)) =
            SqliteStore::open(dir.path(), TokenCipher::new(&[3u8; 32]))
        else {
            panic!("a second store on the same folder opened");
        };
        assert!(
            message.contains("several instances need PostgreSQL"),
            "{message}"
        );
        drop(first);
        assert!(
            SqliteStore::open(dir.path(), TokenCipher::new(&[3u8; 32])).is_err(),
            "a clone still holds the folder"
        );
        drop(second);
        SqliteStore::open(dir.path(), TokenCipher::new(&[3u8; 32])).unwrap();
    }
}
