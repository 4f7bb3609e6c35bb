//! The store's contract, run against both backends: SQLite (one process, so a second
//! "instance" is a clone of the first) and PostgreSQL (each instance its own pool, listener
//! and hub on one database). The PostgreSQL half needs `COMPANION_TEST_DATABASE_URL` (an
//! administrator URL; `cargo xtask test` starts a server and sets it): without it the tests
//! fail under CI and are skipped, saying so, elsewhere.

use std::sync::Arc;
use std::time::Duration;

use companion_api::{ChangeHint, User};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::{broadcast, OnceCell};

use super::test_database::test_database;
use super::*;
use crate::audit::AuditEntry;
use crate::idempotency::{Claim, ClaimRequest, Finish};

const ORG: &str = "00D7F00000107XsUAI";
const LEASE: i64 = 300;

fn user() -> User {
    User {
        user_id: "0057F000000abcdQAA".into(),
        org_id: ORG.into(),
        username: "rep@demo.example".into(),
        display_name: "Riley Rep".into(),
        email: "rep@demo.example".into(),
    }
}

fn cipher() -> TokenCipher {
    TokenCipher::new(&[3u8; 32])
}

/// Where the stores of a test live.
enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        store: Box<OnceCell<(Store, Arc<HintHub>)>>,
        path: std::path::PathBuf,
    },
    Postgres {
        url: String,
    },
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        Backend::Sqlite {
            path: dir.path().to_path_buf(),
            _dir: dir,
            store: Box::default(),
        }
    }

    async fn postgres() -> Option<Backend> {
        Some(Backend::Postgres {
            url: test_database().await?,
        })
    }

    /// The store of one more gateway instance, and its hint hub.
    async fn instance(&self) -> (Store, Arc<HintHub>) {
        match self {
            Backend::Sqlite { store, path, .. } => store
                .get_or_init(|| async {
                    let hub = Arc::new(HintHub::new());
                    let store = Store::Sqlite(sqlite::SqliteStore::open(path, cipher()).unwrap());
                    (store, hub)
                })
                .await
                .clone(),
            Backend::Postgres { url } => {
                let hub = Arc::new(HintHub::new());
                let store = postgres::PgStore::open(url, 10, cipher(), hub.clone())
                    .await
                    .expect("the store opens");
                (Store::Postgres(store), hub)
            }
        }
    }

    async fn store(&self) -> Store {
        self.instance().await.0
    }

    /// Audit lines of a user, as (action, idempotency key, outcome, status), oldest first.
    async fn audit_lines(&self, user_id: &str) -> Vec<(String, String, String, i64)> {
        const SQL: &str = "SELECT action, idempotency_key, outcome, status FROM audit_log
                           WHERE user_id = $1 ORDER BY id";
        match self {
            Backend::Sqlite { .. } => {
                let Store::Sqlite(store) = self.store().await else {
                    unreachable!()
                };
                let user_id = user_id.to_string();
                store
                    .with(move |conn, _| {
                        let mut statement = conn.prepare(&SQL.replace("$1", "?1"))?;
                        let rows = statement
                            .query_map([user_id], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                            })?
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(rows)
                    })
                    .await
                    .unwrap()
            }
            Backend::Postgres { url } => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                sqlx::query_as::<_, (String, String, String, i32)>(SQL)
                    .bind(user_id)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(a, k, o, s)| (a, k, o, i64::from(s)))
                    .collect()
            }
        }
    }
}

async fn sign_in(store: &Store, token_hash: u8, now: i64) {
    store
        .sign_in(
            NewSignIn {
                user: &user(),
                login_host: "http://127.0.0.1:8700",
                instance_url: "http://127.0.0.1:8700",
                access_token: "00D!ACCESS-TOKEN-ONE",
                refresh_token: Some("REFRESH-TOKEN-ONE"),
            },
            vec![token_hash; 32],
            now,
        )
        .await
        .unwrap();
}

fn claim(key: &str, body: &str) -> ClaimRequest {
    ClaimRequest {
        key: key.into(),
        request_hash: crate::idempotency::request_hash("lead.create", None, &body.into()),
    }
}

fn done(status: u16, id: &str) -> Finish {
    Finish::Done {
        status,
        body: serde_json::json!({"Id": id}),
        record_id: Some(id.into()),
    }
}

fn audit_line(key: &str) -> AuditEntry {
    AuditEntry {
        action: "lead.create",
        record_id: None,
        idempotency_key: key.into(),
        outcome: "created",
        status: 201,
    }
}

async fn tokens_round_trip_and_a_refresh_keeps_the_refresh_token_unless_rotated(b: &Backend) {
    let store = b.store().await;
    sign_in(&store, 1, 0).await;
    let first = store.tokens(&user().user_id).await.unwrap().unwrap();
    assert_eq!(first.access_token, "00D!ACCESS-TOKEN-ONE");
    assert_eq!(first.refresh_token.as_deref(), Some("REFRESH-TOKEN-ONE"));

    let lock = store.lock_tokens(&user().user_id).await.unwrap();
    assert_eq!(lock.tokens().unwrap().generation, first.generation);
    lock.store_refreshed("http://127.0.0.1:8700", "ACCESS-TWO", None, 5)
        .await
        .unwrap();
    let second = store.tokens(&user().user_id).await.unwrap().unwrap();
    assert!(second.generation > first.generation);
    assert_eq!(second.access_token, "ACCESS-TWO");
    assert_eq!(second.refresh_token.as_deref(), Some("REFRESH-TOKEN-ONE"));

    let lock = store.lock_tokens(&user().user_id).await.unwrap();
    lock.store_refreshed("http://127.0.0.1:8700", "ACCESS-3", Some("REFRESH-TWO"), 6)
        .await
        .unwrap();
    let third = store.tokens(&user().user_id).await.unwrap().unwrap();
    assert_eq!(third.refresh_token.as_deref(), Some("REFRESH-TWO"));

    // A lock let go without storing anything changes nothing.
    drop(store.lock_tokens(&user().user_id).await.unwrap());
    assert_eq!(
        store
            .tokens(&user().user_id)
            .await
            .unwrap()
            .unwrap()
            .generation,
        third.generation
    );
}

async fn sessions_expire_when_idle_and_absolutely(b: &Backend) {
    let store = b.store().await;
    sign_in(&store, 1, 0).await;
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

    sign_in(&store, 3, 0).await;
    assert!(store
        .session_user(vec![3; 32], SESSION_IDLE_SECS + 1)
        .await
        .unwrap()
        .is_none());
}

async fn a_session_ended_on_one_instance_is_refused_on_the_other_at_once(b: &Backend) {
    let (a, b) = (b.store().await, b.store().await);
    sign_in(&a, 1, 0).await;
    sign_in(&a, 2, 0).await;
    assert!(b.session_user(vec![1; 32], 1).await.unwrap().is_some());
    a.delete_session(vec![1; 32]).await.unwrap();
    assert!(b.session_user(vec![1; 32], 1).await.unwrap().is_none());
    assert!(b.session_user(vec![2; 32], 1).await.unwrap().is_some());

    // Salesforce refused the refresh token on `a`: every session of the user ends everywhere.
    a.lock_tokens(&user().user_id)
        .await
        .unwrap()
        .forget()
        .await
        .unwrap();
    assert!(b.session_user(vec![2; 32], 1).await.unwrap().is_none());
    assert!(b.tokens(&user().user_id).await.unwrap().is_none());
}

async fn keys_are_claimed_replayed_recovered_and_released(b: &Backend) {
    let store = b.store().await;
    let user_id = user().user_id;
    let claims = store
        .claim_keys(
            &user_id,
            vec![claim("k1", "a"), claim("k2", "b")],
            100,
            LEASE,
        )
        .await
        .unwrap();
    assert_eq!(claims, [Claim::Fresh, Claim::Fresh]);
    // While held: the same request waits, another request with the key is refused.
    let again = store
        .claim_keys(
            &user_id,
            vec![claim("k1", "a"), claim("k2", "other")],
            101,
            LEASE,
        )
        .await
        .unwrap();
    assert_eq!(again, [Claim::InProgress, Claim::Mismatch]);

    store
        .finish_keys(
            &user_id,
            vec![
                ("k1".into(), done(201, "00Q1")),
                ("k2".into(), Finish::Unknown),
            ],
            vec![audit_line("k1"), audit_line("k2")],
            102,
        )
        .await
        .unwrap();
    let line = |key: &str| {
        (
            "lead.create".to_string(),
            key.to_string(),
            "created".to_string(),
            201,
        )
    };
    assert_eq!(b.audit_lines(&user_id).await, [line("k1"), line("k2")]);
    let after = store
        .claim_keys(
            &user_id,
            vec![claim("k1", "a"), claim("k2", "b")],
            103,
            LEASE,
        )
        .await
        .unwrap();
    assert_eq!(
        after,
        [
            Claim::Replay {
                status: 201,
                body: serde_json::json!({"Id": "00Q1"})
            },
            Claim::Recover
        ]
    );
    // The recovering request holds k2 now: a third one waits.
    let third = store
        .claim_keys(&user_id, vec![claim("k2", "b")], 104, LEASE)
        .await
        .unwrap();
    assert_eq!(third, [Claim::InProgress]);
    // A key whose holder died is taken over once its lease has run out.
    let expired = store
        .claim_keys(&user_id, vec![claim("k2", "b")], 103 + LEASE + 1, LEASE)
        .await
        .unwrap();
    assert_eq!(expired, [Claim::Recover]);
    // Released: the key is new again, even for another body.
    store
        .finish_keys(&user_id, vec![("k2".into(), Finish::Release)], vec![], 500)
        .await
        .unwrap();
    let released = store
        .claim_keys(&user_id, vec![claim("k2", "new")], 501, LEASE)
        .await
        .unwrap();
    assert_eq!(released, [Claim::Fresh]);
    assert_eq!(
        b.audit_lines(&user_id).await.len(),
        2,
        "no audit lines asked"
    );
    // Keys are per user.
    let other_user = store
        .claim_keys("0057F000000zzzzQAA", vec![claim("k1", "x")], 502, LEASE)
        .await
        .unwrap();
    assert_eq!(other_user, [Claim::Fresh]);
}

async fn one_key_claimed_by_two_instances_at_once_is_held_by_one(b: &Backend) {
    let (a, b) = (b.store().await, b.store().await);
    let user_id = user().user_id;
    for round in 0..20 {
        // Overlapping keys in opposite orders: neither instance may deadlock the other.
        let keys_a = vec![
            claim(&format!("r{round}-x"), "1"),
            claim(&format!("r{round}-y"), "2"),
        ];
        let keys_b = vec![
            claim(&format!("r{round}-y"), "2"),
            claim(&format!("r{round}-x"), "1"),
        ];
        let (ca, cb) = tokio::join!(
            a.claim_keys(&user_id, keys_a, 100, LEASE),
            b.claim_keys(&user_id, keys_b, 100, LEASE)
        );
        let (ca, cb) = (ca.unwrap(), cb.unwrap());
        // x: a's first, b's second; y: a's second, b's first.
        for (mine, theirs) in [(&ca[0], &cb[1]), (&ca[1], &cb[0])] {
            let fresh = [mine, theirs]
                .iter()
                .filter(|c| ***c == Claim::Fresh)
                .count();
            assert_eq!(fresh, 1, "round {round}: {ca:?} {cb:?}");
            assert!(
                [mine, theirs].contains(&&Claim::InProgress),
                "round {round}: {ca:?} {cb:?}"
            );
        }
    }
    // An unknown key is recovered by exactly one of two instances.
    a.finish_keys(
        &user_id,
        vec![("r0-x".into(), Finish::Unknown)],
        vec![],
        101,
    )
    .await
    .unwrap();
    let (ra, rb) = tokio::join!(
        a.claim_keys(&user_id, vec![claim("r0-x", "1")], 102, LEASE),
        b.claim_keys(&user_id, vec![claim("r0-x", "1")], 102, LEASE)
    );
    let mut both = [ra.unwrap().remove(0), rb.unwrap().remove(0)];
    both.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(both, [Claim::InProgress, Claim::Recover]);
}

async fn a_refresh_waits_for_the_other_instances_refresh_and_sees_it(backend: &Backend) {
    let (a, b) = (backend.store().await, backend.store().await);
    sign_in(&a, 1, 0).await;
    let seen = a.tokens(&user().user_id).await.unwrap().unwrap().generation;
    let held = a.lock_tokens(&user().user_id).await.unwrap();
    if let Backend::Postgres { url } = backend {
        // The other instance's lock waits for this one…
        let waiting = tokio::spawn(async move {
            let lock = b.lock_tokens(&user().user_id).await.unwrap();
            lock.tokens().unwrap().generation
        });
        let mut admin = PgConnection::connect(url).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (waiters,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'",
            )
            .fetch_one(&mut admin)
            .await
            .unwrap();
            if waiters > 0 {
                break;
            }
            assert!(
                !waiting.is_finished() && std::time::Instant::now() < deadline,
                "two instances held one user's tokens at once"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!waiting.is_finished());
        held.store_refreshed("http://127.0.0.1:8700", "ACCESS-TWO", Some("R2"), 5)
            .await
            .unwrap();
        // …and then sees the refresh it waited for.
        assert_eq!(waiting.await.unwrap(), seen + 1);
    } else {
        // One process: the caller's lock (Upstream) keeps refreshes apart; the store's lock
        // reads the tokens as they are.
        assert_eq!(held.tokens().unwrap().generation, seen);
    }
}

async fn notifications_are_remembered_once_per_org(b: &Backend) {
    let store = b.store().await;
    let n = |list: &[&str]| {
        list.iter()
            .map(|id| (id.to_string(), "Contact".to_string()))
            .collect::<Vec<_>>()
    };
    let first = store
        .remember_notifications(ORG, n(&["04l7F000008aeAyQAI", "04l7F000008aeAzQAI"]), 100)
        .await
        .unwrap();
    assert_eq!(first, [true, true]);
    let again = store
        .remember_notifications(
            &ORG[..15],
            n(&[
                "04l7F000008aeAyQAI",
                "04l7F000008aeB0QAI",
                "04l7F000008aeB0QAI",
            ]),
            200,
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        [false, true, false],
        "the same org by its 15-character id"
    );
    let other_org = store
        .remember_notifications("00D5g000004ZzZzEAK", n(&["04l7F000008aeAyQAI"]), 300)
        .await
        .unwrap();
    assert_eq!(other_org, [true]);
    // A week later the id is forgotten (Salesforce stopped retrying long before).
    let later = store
        .remember_notifications(
            ORG,
            n(&["04l7F000008aeAyQAI"]),
            100 + REMEMBER_NOTIFICATIONS_SECS + 1,
        )
        .await
        .unwrap();
    assert_eq!(later, [true]);
}

/// The next hint on `receiver` within a few seconds.
async fn next_hint(receiver: &mut broadcast::Receiver<ChangeHint>) -> ChangeHint {
    tokio::time::timeout(Duration::from_secs(5), receiver.recv())
        .await
        .expect("a hint within 5 s")
        .expect("an open stream")
}

/// PostgreSQL only: a hint goes to every instance, once, and only for new notifications.
#[tokio::test(flavor = "multi_thread")]
async fn a_notification_remembered_by_one_instance_hints_every_instance_once() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let (a, hub_a) = backend.instance().await;
    let (b, hub_b) = backend.instance().await;
    let mut on_a = hub_a.subscribe(ORG).unwrap();
    let mut on_b = hub_b.subscribe(ORG).unwrap();
    let note = vec![("04l7F000008aeAyQAI".to_string(), "Lead".to_string())];
    // Delivered to both instances at once: remembered by one, hinted once on each.
    let (fa, fb) = tokio::join!(
        a.remember_notifications(ORG, note.clone(), 100),
        b.remember_notifications(ORG, note.clone(), 100)
    );
    let mut fresh = [fa.unwrap()[0], fb.unwrap()[0]];
    fresh.sort();
    assert_eq!(fresh, [false, true]);
    let lead = ChangeHint {
        objects: vec!["Lead".into()],
    };
    assert_eq!(next_hint(&mut on_a).await, lead);
    assert_eq!(next_hint(&mut on_b).await, lead);
    // The next hint each hears is the next notification's: the duplicate sent none.
    b.remember_notifications(
        ORG,
        vec![("04l7F000008aeAzQAI".into(), "Contact".into())],
        101,
    )
    .await
    .unwrap();
    let contact = ChangeHint {
        objects: vec!["Contact".into()],
    };
    assert_eq!(next_hint(&mut on_a).await, contact);
    assert_eq!(next_hint(&mut on_b).await, contact);
}

/// PostgreSQL only: an instance that loses its hint channel ends its streams (the apps sync)
/// and is not ready until it hears the others again.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_loses_its_hint_channel_ends_its_streams_and_recovers() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let Backend::Postgres { url } = &backend else {
        unreachable!()
    };
    let (a, _) = backend.instance().await;
    let (b, hub_b) = backend.instance().await;
    let mut stream = hub_b.subscribe(ORG).unwrap();
    assert!(b.hint_channel_up());
    // Cut every listening connection of the database (both instances' listeners).
    let mut admin = PgConnection::connect(url).await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND query ILIKE 'LISTEN%'",
        )
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.recv()).await;
    assert!(
        matches!(ended, Ok(Err(broadcast::error::RecvError::Closed))),
        "the stream ended: {ended:?}"
    );
    // Back within a few seconds, and hints flow again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !b.hint_channel_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "the channel came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stream = hub_b.subscribe(ORG).unwrap();
    a.remember_notifications(ORG, vec![("04l7F000008aeAyQAI".into(), "Lead".into())], 100)
        .await
        .unwrap();
    assert_eq!(
        next_hint(&mut stream).await,
        ChangeHint {
            objects: vec!["Lead".into()]
        }
    );
}

/// PostgreSQL only: instances starting together on an empty database migrate it once.
#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_together_migrate_once() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let Backend::Postgres { url } = &backend else {
        unreachable!()
    };
    let (one, two, three) =
        tokio::join!(backend.instance(), backend.instance(), backend.instance());
    for store in [&one.0, &two.0, &three.0] {
        store.ping().await.unwrap();
    }
    let mut conn = PgConnection::connect(url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, [(1, true), (2, true)]);
}

/// A store opened with another token key than the database was first used with refuses to
/// open, saying why; the first key still opens it.
async fn another_token_key_is_refused_at_start(backend: &Backend) {
    let other = TokenCipher::new(&[4u8; 32]);
    let refused = match backend {
        Backend::Sqlite { .. } => {
            // One process holds a data folder at a time: this test's own folder.
            let dir = tempfile::tempdir().unwrap();
            drop(sqlite::SqliteStore::open(dir.path(), cipher()).expect("first key opens"));
            let refused = sqlite::SqliteStore::open(dir.path(), other).map(|_| ());
            sqlite::SqliteStore::open(dir.path(), cipher()).expect("the first key still opens");
            refused
        }
        Backend::Postgres { url } => {
            let (store, _hub) = backend.instance().await;
            store.ping().await.unwrap();
            let hub = Arc::new(HintHub::new());
            let refused = postgres::PgStore::open(url, 2, other, hub)
                .await
                .map(|_| ());
            backend.instance().await.0.ping().await.unwrap();
            refused
        }
    };
    match refused {
        Err(GatewayError::Config(message)) => {
            assert!(message.contains("token_key"), "{message}")
        }
        other => panic!(
            "another token key was not refused: {:?}",
            other.map(|_| "opened")
        ),
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::$name(&super::Backend::sqlite()).await
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    if let Some(backend) = super::Backend::postgres().await {
                        super::$name(&backend).await
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    tokens_round_trip_and_a_refresh_keeps_the_refresh_token_unless_rotated,
    sessions_expire_when_idle_and_absolutely,
    a_session_ended_on_one_instance_is_refused_on_the_other_at_once,
    keys_are_claimed_replayed_recovered_and_released,
    one_key_claimed_by_two_instances_at_once_is_held_by_one,
    a_refresh_waits_for_the_other_instances_refresh_and_sees_it,
    notifications_are_remembered_once_per_org,
    another_token_key_is_refused_at_start,
);
