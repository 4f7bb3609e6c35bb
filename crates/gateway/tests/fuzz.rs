//! The gateway against its OpenAPI document, by a schema-driven fuzzer: schemathesis generates
//! requests from `openapi.json` (valid ones and ones the document forbids), sends them to a
//! running gateway (over sfsim, signed in), and checks every answer: no 5xx, no status or body
//! the document does not describe, no forbidden request accepted, no allowed request refused
//! for a reason the document does not state. Settings and the declared exceptions:
//! `tests/fuzz/schemathesis.toml`.
//!
//! Ignored by default: it needs schemathesis (a Python tool). `cargo xtask test` installs it in
//! `target/tools/schemathesis` and runs this test with `SCHEMATHESIS_BIN` pointing at its `st`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use companion_gateway::{SessionRate, Tuning};
use support::{Env, REP};

/// The `st` program: `SCHEMATHESIS_BIN`, else where `cargo xtask` installs it.
fn schemathesis(root: &Path) -> PathBuf {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS_BIN") {
        return PathBuf::from(bin);
    }
    let installed = root.join("target/tools/schemathesis/bin/st");
    assert!(
        installed.is_file(),
        "schemathesis is not installed: run `cargo xtask test`, or set SCHEMATHESIS_BIN to its `st`"
    );
    installed
}

/// `SCHEMATHESIS_ARGS`, split at spaces.
fn extra_args() -> Vec<String> {
    std::env::var("SCHEMATHESIS_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis; `cargo xtask test` installs it and runs this"]
async fn schemathesis_finds_nothing_the_document_does_not_describe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let st = schemathesis(&root);
    // The fuzzer sends thousands of requests on one session.
    let tuning = Tuning {
        session_rate: SessionRate {
            per_second: 100_000,
            burst: 100_000,
        },
        ..Default::default()
    };
    let env = Env::start(sfsim::SimConfig::default(), tuning).await;
    let session = env.sign_in(REP).await.session_token;
    // Signing out ends a session: that operation gets a session of its own (another rep's).
    let logout_session = env.sign_in("rep2@demo.example").await.session_token;
    // Updates go to records the rep owns, so that they reach Salesforce (merges, conflicts).
    let rep = env.sim.user_id(REP).unwrap();
    let owned = |object: &str| {
        env.sim
            .records(object)
            .into_iter()
            .find(|r| r["OwnerId"] == rep.as_str())
            .and_then(|r| r["Id"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("the rep owns a {object}"))
    };
    let (opportunity, contact) = (owned("Opportunity"), owned("Contact"));

    let mut command = Command::new(&st);
    command
        .current_dir(&root)
        .args([
            "--config-file",
            "crates/gateway/tests/fuzz/schemathesis.toml",
            "run",
            "crates/gateway/openapi.json",
            "--url",
            &env.gateway.base_url(),
            "-H",
            &format!("Authorization: Bearer {session}"),
            "--seed",
            "13",
            "--max-examples",
            "40",
        ])
        // More while looking into a failure, e.g. `--continue-on-failure`.
        .args(extra_args())
        .env("LOGOUT_SESSION", &logout_session)
        .env("OPPORTUNITY_ID", &opportunity)
        .env("CONTACT_ID", &contact)
        .env("NO_COLOR", "1");
    println!("$ {command:?}");
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot start {st:?}: {e}"));
    println!(
        "schemathesis ran {:.0} s and exited {status}",
        started.elapsed().as_secs_f64()
    );
    env.shutdown().await;
    assert!(
        status.success(),
        "schemathesis found answers the document does not describe (its report is above)"
    );
}
