//! The PostgreSQL backend: any number of gateway instances on one database.
//!
//! What one process did with a mutex is done by the database here: a refresh holds the user's
//! row `FOR UPDATE` (one refresh grant per rotation, whichever instance asks), a key is claimed
//! by `INSERT … ON CONFLICT DO NOTHING` and taken over under `FOR UPDATE`, and a change hint
//! is sent with `pg_notify` in the transaction that remembers the notification, then heard by
//! every instance's listener (this one's too), which hands it to its hub.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use companion_api::{ChangeHint, User};
use serde::{Deserialize, Serialize};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Row, Transaction};

use super::sqlite::KeyRow;
use super::{
    context, session_ended, NewSignIn, SalesforceTokens, StoreResult, REMEMBER_NOTIFICATIONS_SECS,
    TOUCH_EVERY_SECS,
};
use crate::audit::AuditEntry;
use crate::crypto::TokenCipher;
use crate::hints::{org_key, HintHub};
use crate::idempotency::{Claim, ClaimRequest, Finish};
use crate::GatewayError;

/// The channel change hints travel on between instances.
const HINTS_CHANNEL: &str = "companion_hints";
/// PostgreSQL refuses a notification payload of 8,000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;
/// How long a refresh waits for another instance's refresh of the same user.
const TOKEN_LOCK_TIMEOUT: &str = "60s";
/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The migrations, in order; applied at start under sqlx's advisory lock, so instances that
/// start together apply each once. An edited migration (checksum) fails the start.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "token key check",
        include_str!("../../migrations/postgres/0002_token_key_check.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// The audit lines of `finish_keys`' statements ($1 user, $2 time, $8–$12 the lines' arrays),
/// written after the statement's CTEs; a macro so each statement stays one `&'static str`.
macro_rules! audit_insert {
    () => {
        "INSERT INTO audit_log (user_id, at, action, record_id, idempotency_key, outcome, status)
         SELECT $1, $2, a, r, k, o, s
         FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::int[])
              WITH ORDINALITY AS t(a, r, k, o, s, n)
         ORDER BY n"
    };
}

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    cipher: TokenCipher,
    listener: Arc<ListenerTask>,
}

/// The instance's hint listener: whether it is connected, and its task (ended with the store).
struct ListenerTask {
    up: Arc<AtomicBool>,
    losses: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A change hint as it travels between instances.
#[derive(Serialize, Deserialize)]
struct HintMessage {
    org: String,
    objects: Vec<String>,
}

impl From<sqlx::Error> for GatewayError {
    fn from(e: sqlx::Error) -> Self {
        GatewayError::Store(e.to_string())
    }
}

impl PgStore {
    /// Connect, migrate (once across instances), and start listening for other instances'
    /// hints, which go to `hints`.
    pub async fn open(
        url: &str,
        max_connections: u32,
        cipher: TokenCipher,
        hints: Arc<HintHub>,
    ) -> StoreResult<PgStore> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| GatewayError::Config(format!("database URL: {e}")))?;
        let options = options.application_name("companion-gateway");
        // Migrations run on a connection of their own: the advisory lock is per session.
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| GatewayError::Store(format!("connecting to PostgreSQL: {e}")))?;
        migrator()
            .run(&mut conn)
            .await
            .map_err(|e| GatewayError::Store(format!("migrating the store: {e}")))?;
        sqlx::query(
            "INSERT INTO token_key_check (id, sealed) VALUES (1, $1) ON CONFLICT DO NOTHING",
        )
        .bind(super::seal_token_key_check(&cipher))
        .execute(&mut conn)
        .await?;
        let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM token_key_check WHERE id = 1")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        super::check_token_key(&cipher, &sealed)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| GatewayError::Store(format!("connecting to PostgreSQL: {e}")))?;
        // Listening before serving: a hint sent after the start is never missed.
        let listener = listen(&pool).await?;
        let up = Arc::new(AtomicBool::new(true));
        let losses = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(relay_hints(
            listener,
            pool.clone(),
            hints,
            up.clone(),
            losses.clone(),
        ));
        Ok(PgStore {
            pool,
            cipher,
            listener: Arc::new(ListenerTask { up, losses, task }),
        })
    }

    pub fn hint_channel_up(&self) -> bool {
        self.listener.up.load(Ordering::Relaxed)
    }

    /// For `/metrics`: connections open and idle in the pool, and hint-channel losses so far.
    pub fn gauges(&self) -> (u32, usize, u64) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.listener.losses.load(Ordering::Relaxed),
        )
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn sign_in(
        &self,
        sign_in: NewSignIn<'_>,
        token_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<()> {
        let user = sign_in.user;
        let access = self
            .cipher
            .seal(sign_in.access_token, &context(&user.user_id, "access"));
        let refresh = sign_in
            .refresh_token
            .map(|r| self.cipher.seal(r, &context(&user.user_id, "refresh")));
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (user_id, org_id, username, display_name, email, login_host, instance_url,
                                access_token, refresh_token, token_generation, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)
             ON CONFLICT (user_id) DO UPDATE SET
                org_id = excluded.org_id, username = excluded.username,
                display_name = excluded.display_name, email = excluded.email,
                login_host = excluded.login_host, instance_url = excluded.instance_url,
                access_token = excluded.access_token,
                refresh_token = COALESCE(excluded.refresh_token, users.refresh_token),
                token_generation = users.token_generation + 1,
                updated_at = excluded.updated_at",
        )
        .bind(&user.user_id)
        .bind(&user.org_id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(sign_in.login_host)
        .bind(sign_in.instance_url)
        .bind(access)
        .bind(refresh)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(token_hash)
        .bind(&user.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT s.created_at, s.last_seen_at, u.user_id, u.org_id, u.username, u.display_name, u.email
             FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let created_at: i64 = row.try_get(0)?;
        let last_seen_at: i64 = row.try_get(1)?;
        if session_ended(created_at, last_seen_at, now) {
            self.delete_session(token_hash).await?;
            return Ok(None);
        }
        if now - last_seen_at > TOUCH_EVERY_SECS {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(&token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(User {
            user_id: row.try_get(2)?,
            org_id: row.try_get(3)?,
            username: row.try_get(4)?,
            display_name: row.try_get(5)?,
            email: row.try_get(6)?,
        }))
    }

    pub async fn delete_session(&self, token_hash: Vec<u8>) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn forget_tokens(&self, user_id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        forget_in(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tokens(&self, user_id: &str) -> StoreResult<Option<SalesforceTokens>> {
        let row = sqlx::query(
            "SELECT login_host, instance_url, access_token, refresh_token, token_generation
             FROM users WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        self.decrypt(user_id, row)
    }

    fn decrypt(
        &self,
        user_id: &str,
        row: Option<sqlx::postgres::PgRow>,
    ) -> StoreResult<Option<SalesforceTokens>> {
        let Some(row) = row else { return Ok(None) };
        let Some(access): Option<Vec<u8>> = row.try_get(2)? else {
            return Ok(None);
        };
        let refresh: Option<Vec<u8>> = row.try_get(3)?;
        Ok(Some(SalesforceTokens {
            login_host: row.try_get(0)?,
            instance_url: row.try_get(1)?,
            access_token: self.cipher.open(&access, &context(user_id, "access"))?,
            refresh_token: refresh
                .map(|r| self.cipher.open(&r, &context(user_id, "refresh")))
                .transpose()?,
            generation: row.try_get(4)?,
        }))
    }

    /// The user's row, locked `FOR UPDATE` in a transaction that lives as long as the lock: a
    /// refresh in another instance waits here, then sees the generation moved.
    pub async fn lock_tokens(&self, user_id: &str) -> StoreResult<PgTokenLock> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{TOKEN_LOCK_TIMEOUT}'"))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "SELECT login_host, instance_url, access_token, refresh_token, token_generation
             FROM users WHERE user_id = $1 FOR UPDATE",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(PgTokenLock {
            tokens: self.decrypt(user_id, row)?,
            tx,
            cipher: self.cipher.clone(),
            user_id: user_id.to_string(),
        })
    }

    /// Claim every key of one request. New keys are inserted by one autocommitted `INSERT …
    /// ON CONFLICT DO NOTHING` (a concurrent claimant of the same key, in any instance, waits
    /// for that commit, then finds the key taken): the usual write costs one round trip. Keys
    /// that were there are then read `FOR UPDATE` in a transaction, so exactly one claimant
    /// takes over an unknown or expired key. Keys go in sorted order, so two requests sharing
    /// keys cannot deadlock.
    pub async fn claim_keys(
        &self,
        user_id: &str,
        requests: Vec<ClaimRequest>,
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<Vec<Claim>> {
        let mut claims: Vec<Option<Claim>> = vec![None; requests.len()];
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by(|a, b| requests[*a].key.cmp(&requests[*b].key));
        let mut inserted_keys: Vec<String> = Vec::new();
        // A key released between our insert and our read is inserted again; a few rounds at most.
        for _round in 0..3 {
            let pending: Vec<usize> = order
                .iter()
                .copied()
                .filter(|i| claims[*i].is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            let keys: Vec<&str> = pending.iter().map(|i| requests[*i].key.as_str()).collect();
            let hashes: Vec<&[u8]> = pending
                .iter()
                .map(|i| requests[*i].request_hash.as_slice())
                .collect();
            let inserted: HashSet<String> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys
                    (user_id, idempotency_key, request_hash, state, claimed_at, updated_at)
                 SELECT $1, k, h, 'in_progress', $4, $4
                 FROM unnest($2::text[], $3::bytea[]) AS t(k, h) ORDER BY k
                 ON CONFLICT (user_id, idempotency_key) DO NOTHING
                 RETURNING idempotency_key",
            )
            .bind(user_id)
            .bind(&keys)
            .bind(&hashes)
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
            let mut existing = Vec::new();
            for i in pending {
                if inserted.contains(&requests[i].key) {
                    claims[i] = Some(Claim::Fresh);
                    inserted_keys.push(requests[i].key.clone());
                } else {
                    existing.push(i);
                }
            }
            if existing.is_empty() {
                break;
            }
            if let Err(e) = self
                .claim_existing(user_id, &requests, &existing, &mut claims, now, lease_secs)
                .await
            {
                // Keys this call inserted would wait out their lease: give them back.
                let _ = sqlx::query(
                    "DELETE FROM idempotency_keys
                     WHERE user_id = $1 AND idempotency_key = ANY($2) AND state = 'in_progress'
                       AND claimed_at = $3",
                )
                .bind(user_id)
                .bind(&inserted_keys)
                .bind(now)
                .persistent(false)
                .execute(&self.pool)
                .await;
                return Err(e);
            }
        }
        // Still unsettled after the rounds: another request keeps claiming and releasing it.
        Ok(claims
            .into_iter()
            .map(|c| c.unwrap_or(Claim::InProgress))
            .collect())
    }

    /// The claims of keys that were already there, decided under their row locks.
    async fn claim_existing(
        &self,
        user_id: &str,
        requests: &[ClaimRequest],
        existing: &[usize],
        claims: &mut [Option<Claim>],
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<()> {
        let keys: Vec<&str> = existing.iter().map(|i| requests[*i].key.as_str()).collect();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT idempotency_key, request_hash, state, status, body, claimed_at
             FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = ANY($2)
             ORDER BY idempotency_key FOR UPDATE",
        )
        .bind(user_id)
        .bind(&keys)
        // Planned for these keys (see finish_keys: a cached plan may scan all the user's keys).
        .persistent(false)
        .fetch_all(&mut *tx)
        .await?;
        let mut found = std::collections::HashMap::new();
        for row in rows {
            let key: String = row.try_get(0)?;
            let status: Option<i32> = row.try_get(3)?;
            found.insert(
                key,
                KeyRow {
                    request_hash: row.try_get(1)?,
                    state: row.try_get(2)?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    body: row.try_get(4)?,
                    claimed_at: row.try_get(5)?,
                },
            );
        }
        let mut recovered = Vec::new();
        for &i in existing {
            let request = &requests[i];
            // A key gone since the insert (released) stays undecided: the next round inserts it.
            if let Some(row) = found.get(&request.key) {
                let claim = row.claim(&request.request_hash, now, lease_secs)?;
                if claim == Claim::Recover {
                    recovered.push(request.key.as_str());
                }
                claims[i] = Some(claim);
            }
        }
        if !recovered.is_empty() {
            sqlx::query(
                "UPDATE idempotency_keys SET state = 'in_progress', claimed_at = $3, updated_at = $3
                 WHERE user_id = $1 AND idempotency_key = ANY($2)",
            )
            .bind(user_id)
            .bind(&recovered)
            .bind(now)
            .persistent(false)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// End held keys and write the audit lines in one statement (atomic like a transaction,
    /// one round trip). Several keys are planned for their arguments every time (an unnamed
    /// statement): a cached generic plan cannot know how many keys the arrays hold, and one
    /// made while the table was nearly empty kept scanning every key the user ever sent (2 ms
    /// a write after 15,000 writes).
    pub async fn finish_keys(
        &self,
        user_id: &str,
        finished: Vec<(String, Finish)>,
        audit: Vec<AuditEntry>,
        now: i64,
    ) -> StoreResult<()> {
        let mut keys: Vec<&str> = Vec::new();
        let mut states: Vec<&str> = Vec::new();
        let mut statuses: Vec<Option<i32>> = Vec::new();
        let mut bodies: Vec<Option<String>> = Vec::new();
        let mut records: Vec<Option<&str>> = Vec::new();
        for (key, finish) in &finished {
            keys.push(key);
            match finish {
                Finish::Done {
                    status,
                    body,
                    record_id,
                } => {
                    states.push("done");
                    statuses.push(Some(i32::from(*status)));
                    bodies.push(Some(body.to_string()));
                    records.push(record_id.as_deref());
                }
                Finish::Unknown | Finish::Release => {
                    states.push(if matches!(finish, Finish::Unknown) {
                        "unknown"
                    } else {
                        "release"
                    });
                    statuses.push(None);
                    bodies.push(None);
                    records.push(None);
                }
            }
        }
        let actions: Vec<&str> = audit.iter().map(|e| e.action).collect();
        let audit_records: Vec<Option<&str>> =
            audit.iter().map(|e| e.record_id.as_deref()).collect();
        let audit_keys: Vec<&str> = audit.iter().map(|e| e.idempotency_key.as_str()).collect();
        let outcomes: Vec<&str> = audit.iter().map(|e| e.outcome).collect();
        let audit_statuses: Vec<i32> = audit.iter().map(|e| i32::from(e.status)).collect();
        // The usual write ends one key: found by its primary key, a plan worth caching.
        if let ([key], [state], [status], [body], [record]) = (
            keys.as_slice(),
            states.as_slice(),
            statuses.as_slice(),
            bodies.as_slice(),
            records.as_slice(),
        ) {
            if *state != "release" {
                sqlx::query(concat!(
                    "WITH settled AS (
                         UPDATE idempotency_keys
                         SET state = $4, status = $5, body = $6, record_id = $7, updated_at = $2
                         WHERE user_id = $1 AND idempotency_key = $3
                         RETURNING 1
                     ) ",
                    audit_insert!()
                ))
                .bind(user_id)
                .bind(now)
                .bind(*key)
                .bind(*state)
                .bind(*status)
                .bind(body.as_deref())
                .bind(*record)
                .bind(&actions)
                .bind(&audit_records)
                .bind(&audit_keys)
                .bind(&outcomes)
                .bind(&audit_statuses)
                .execute(&self.pool)
                .await?;
                return Ok(());
            }
        }
        sqlx::query(concat!(
            "WITH finished AS (
                 SELECT * FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[])
                     AS f(idempotency_key, state, status, body, record_id)
             ), settled AS (
                 UPDATE idempotency_keys k
                 SET state = f.state, status = f.status, body = f.body, record_id = f.record_id,
                     updated_at = $2
                 FROM finished f
                 WHERE k.user_id = $1 AND k.idempotency_key = f.idempotency_key
                   AND f.state <> 'release'
                 RETURNING 1
             ), released AS (
                 DELETE FROM idempotency_keys k USING finished f
                 WHERE k.user_id = $1 AND k.idempotency_key = f.idempotency_key
                   AND f.state = 'release'
                 RETURNING 1
             ) ",
            audit_insert!()
        ))
        .bind(user_id)
        .bind(now)
        .bind(&keys)
        .bind(&states)
        .bind(&statuses)
        .bind(&bodies)
        .bind(&records)
        .bind(&actions)
        .bind(&audit_records)
        .bind(&audit_keys)
        .bind(&outcomes)
        .bind(&audit_statuses)
        .persistent(false)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Remember notification ids; the hint of the new ones goes to every instance with the
    /// commit (a crash before it leaves the ids unremembered, so Salesforce's retry brings it).
    pub async fn remember_notifications(
        &self,
        org_id: &str,
        notifications: Vec<(String, String)>,
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        let org = org_key(org_id);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM outbound_notifications WHERE received_at < $1")
            .bind(now - REMEMBER_NOTIFICATIONS_SECS)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<&str> = notifications.iter().map(|(id, _)| id.as_str()).collect();
        let mut inserted: HashSet<String> = sqlx::query_scalar(
            "INSERT INTO outbound_notifications (org_id, notification_id, received_at)
             SELECT $1, id, $3 FROM unnest($2::text[]) AS t(id)
             ON CONFLICT (org_id, notification_id) DO NOTHING
             RETURNING notification_id",
        )
        .bind(org)
        .bind(&ids)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        // Each new id counts once, however often the message repeats it.
        let fresh: Vec<bool> = ids.iter().map(|id| inserted.remove(*id)).collect();
        let objects: BTreeSet<&str> = notifications
            .iter()
            .zip(&fresh)
            .filter(|(_, fresh)| **fresh)
            .map(|((_, object), _)| object.as_str())
            .collect();
        for payload in hint_payloads(org, objects) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(HINTS_CHANNEL)
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }
}

/// Null the user's tokens (a new generation) and end their sessions, in `tx`.
async fn forget_in(tx: &mut Transaction<'static, Postgres>, user_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE users SET access_token = NULL, refresh_token = NULL,
             token_generation = token_generation + 1 WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The hint of `objects` as notification payloads, each under PostgreSQL's size limit.
fn hint_payloads(org: &str, objects: BTreeSet<&str>) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    let encode = |objects: &[String]| {
        serde_json::to_string(&HintMessage {
            org: org.to_string(),
            objects: objects.to_vec(),
        })
        .expect("a hint serialises")
    };
    for object in objects {
        batch.push(object.to_string());
        if encode(&batch).len() > MAX_PAYLOAD {
            let last = batch.pop().expect("just pushed");
            payloads.push(encode(&batch));
            batch = vec![last];
        }
    }
    if !batch.is_empty() {
        payloads.push(encode(&batch));
    }
    payloads
}

/// A user's row held for a refresh (see [`PgStore::lock_tokens`]); dropped, it rolls back.
pub struct PgTokenLock {
    pub(super) tokens: Option<SalesforceTokens>,
    tx: Transaction<'static, Postgres>,
    cipher: TokenCipher,
    user_id: String,
}

impl PgTokenLock {
    pub async fn store_refreshed(
        mut self,
        instance_url: &str,
        access_token: &str,
        refresh_token: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let access = self
            .cipher
            .seal(access_token, &context(&self.user_id, "access"));
        let refresh =
            refresh_token.map(|r| self.cipher.seal(r, &context(&self.user_id, "refresh")));
        sqlx::query(
            "UPDATE users SET instance_url = $2, access_token = $3,
                 refresh_token = COALESCE($4, refresh_token),
                 token_generation = token_generation + 1, updated_at = $5
             WHERE user_id = $1",
        )
        .bind(&self.user_id)
        .bind(instance_url)
        .bind(access)
        .bind(refresh)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn forget(mut self) -> StoreResult<()> {
        forget_in(&mut self.tx, &self.user_id).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// A listener on the hints channel, on a connection of the pool's own.
async fn listen(pool: &PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(HINTS_CHANNEL).await?;
    Ok(listener)
}

/// Hand every instance's hints to this instance's hub. When the connection is lost, hints sent
/// meanwhile are lost with it: every open stream is ended (the app syncs, then streams again)
/// and new streams are refused until the listener is back.
async fn relay_hints(
    mut listener: PgListener,
    pool: PgPool,
    hints: Arc<HintHub>,
    up: Arc<AtomicBool>,
    losses: Arc<AtomicU64>,
) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<HintMessage>(notification.payload()) {
                    Ok(message) => {
                        hints.publish(
                            &message.org,
                            ChangeHint {
                                objects: message.objects,
                            },
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "an unreadable change hint"),
                }
                continue;
            }
            Ok(None) => tracing::warn!("the hint channel's connection was lost"),
            Err(e) => tracing::warn!(error = %e, "the hint channel failed"),
        }
        up.store(false, Ordering::Relaxed);
        losses.fetch_add(1, Ordering::Relaxed);
        let ended = hints.reset();
        tracing::warn!(
            ended,
            "ended the open hint streams; their apps sync and connect again"
        );
        loop {
            tokio::time::sleep(RECONNECT_AFTER).await;
            match listen(&pool).await {
                Ok(fresh) => {
                    listener = fresh;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "the hint channel is still down"),
            }
        }
        up.store(true, Ordering::Relaxed);
        tracing::info!("the hint channel is back");
    }
}
