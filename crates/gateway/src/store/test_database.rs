//! A PostgreSQL database of its own for one test, on the server `cargo xtask test` starts. One
//! file for the store's unit tests (`contract.rs`) and the integration tests (`tests/support`),
//! which cannot see `#[cfg(test)]` code: each includes it.

use sqlx::{Connection, Executor, PgConnection};

/// A fresh database's URL, or `None` (the test skips, saying so) without a server outside CI;
/// under CI a missing server fails the test. `COMPANION_TEST_DATABASE_URL` is an administrator
/// URL to the server.
pub async fn test_database() -> Option<String> {
    let Ok(admin) = std::env::var("COMPANION_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "COMPANION_TEST_DATABASE_URL is not set: the PostgreSQL tests run through \
                 `cargo xtask test` (or `cargo xtask postgres -- cargo test …`)"
            );
        }
        eprintln!("skipped: no PostgreSQL (run `cargo xtask postgres -- cargo test …`)");
        return None;
    };
    let name = format!(
        "gw_test_{}_{}",
        std::process::id(),
        rand::random::<u64>() % 1_000_000_000
    );
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("the test PostgreSQL answers");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("a test database");
    conn.close().await.ok();
    let (server, _) = admin.rsplit_once('/').expect("a database URL");
    Some(format!("{server}/{name}"))
}
