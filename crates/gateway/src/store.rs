//! The gateway's SQLite store: users with their (encrypted) Salesforce tokens, and sessions.

use std::path::Path;
use std::sync::{Arc, Mutex};

use companion_api::User;
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use crate::crypto::TokenCipher;
use crate::private_files;
use crate::GatewayError;

pub const DATABASE_FILE: &str = "gateway.sqlite3";

/// A session stops working after this long without use…
pub const SESSION_IDLE_SECS: i64 = 30 * 24 * 3600;
/// …and this long after sign-in, whatever the use.
pub const SESSION_ABSOLUTE_SECS: i64 = 90 * 24 * 3600;
/// `last_seen_at` is written at most this often, so reads stay reads.
const TOUCH_EVERY_SECS: i64 = 60;

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
    ])
}

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

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    cipher: TokenCipher,
}

impl Store {
    /// Open (or create) `data_dir/gateway.sqlite3`, WAL mode, migrations applied.
    pub fn open(data_dir: &Path, cipher: TokenCipher) -> Result<Self, GatewayError> {
        private_files::create_dir(data_dir)?;
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
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            cipher,
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
            if now - last_seen_at > SESSION_IDLE_SECS || now - created_at > SESSION_ABSOLUTE_SECS {
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
    pub async fn store_refreshed(
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
}

/// Associated data binding a ciphertext to its row and column.
fn context(user_id: &str, column: &str) -> String {
    format!("users/{user_id}/{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            user_id: "0057F000000abcdQAA".into(),
            org_id: "00D7F00000107XsUAI".into(),
            username: "rep@demo.example".into(),
            display_name: "Riley Rep".into(),
            email: "rep@demo.example".into(),
        }
    }

    async fn signed_in(dir: &Path, now: i64) -> Store {
        let store = Store::open(dir, TokenCipher::new(&[3u8; 32])).unwrap();
        store
            .sign_in(
                NewSignIn {
                    user: &user(),
                    login_host: "http://127.0.0.1:8700",
                    instance_url: "http://127.0.0.1:8700",
                    access_token: "00D!ACCESS-TOKEN-ONE",
                    refresh_token: Some("REFRESH-TOKEN-ONE"),
                },
                vec![1; 32],
                now,
            )
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn tokens_round_trip_and_are_not_in_the_file_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), 1000).await;
        let tokens = store.tokens(&user().user_id).await.unwrap().unwrap();
        assert_eq!(tokens.access_token, "00D!ACCESS-TOKEN-ONE");
        assert_eq!(tokens.refresh_token.as_deref(), Some("REFRESH-TOKEN-ONE"));
        drop(store);
        let mut bytes = std::fs::read(dir.path().join(DATABASE_FILE)).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join(format!("{DATABASE_FILE}-wal"))) {
            bytes.extend(wal);
        }
        for secret in [&b"ACCESS-TOKEN-ONE"[..], b"REFRESH-TOKEN-ONE"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        }
    }

    #[tokio::test]
    async fn sessions_expire_when_idle_and_absolutely() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), 0).await;
        assert_eq!(
            store.session_user(vec![1; 32], 10).await.unwrap(),
            Some(user())
        );
        assert_eq!(store.session_user(vec![2; 32], 10).await.unwrap(), None);
        // Used every 20 days: stays alive past the idle limit, until the absolute limit.
        let mut t = 0;
        while t + 20 * 86400 < SESSION_ABSOLUTE_SECS {
            t += 20 * 86400;
            assert!(
                store.session_user(vec![1; 32], t).await.unwrap().is_some(),
                "day {}",
                t / 86400
            );
        }
        assert!(store
            .session_user(vec![1; 32], SESSION_ABSOLUTE_SECS + 1)
            .await
            .unwrap()
            .is_none());

        let store = signed_in(tempfile::tempdir().unwrap().path(), 0).await;
        assert!(store
            .session_user(vec![1; 32], SESSION_IDLE_SECS + 1)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn refresh_keeps_the_refresh_token_unless_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), 0).await;
        let g1 = store
            .tokens(&user().user_id)
            .await
            .unwrap()
            .unwrap()
            .generation;
        let g2 = store
            .store_refreshed(
                &user().user_id,
                "http://127.0.0.1:8700",
                "ACCESS-TWO",
                None,
                5,
            )
            .await
            .unwrap();
        assert!(g2 > g1);
        let t = store.tokens(&user().user_id).await.unwrap().unwrap();
        assert_eq!(t.access_token, "ACCESS-TWO");
        assert_eq!(t.refresh_token.as_deref(), Some("REFRESH-TOKEN-ONE"));
        store
            .store_refreshed(
                &user().user_id,
                "http://127.0.0.1:8700",
                "ACCESS-3",
                Some("REFRESH-TWO"),
                6,
            )
            .await
            .unwrap();
        let t = store.tokens(&user().user_id).await.unwrap().unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("REFRESH-TWO"));
    }

    #[tokio::test]
    async fn forgetting_tokens_ends_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), 0).await;
        store.forget_tokens(&user().user_id).await.unwrap();
        assert!(store.tokens(&user().user_id).await.unwrap().is_none());
        assert!(store.session_user(vec![1; 32], 1).await.unwrap().is_none());
    }
}
