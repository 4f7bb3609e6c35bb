//! `cargo xtask soak gateway [--minutes N] [--seed S]`: two gateway processes on one PostgreSQL,
//! clients writing with idempotency keys and retrying on the other instance, an instance killed
//! with SIGKILL every few seconds, sfsim faults on the write path; at the end every write must
//! exist in sfsim exactly once (`crates/gateway/examples/gateway_soak.rs`). Release build.

use crate::bench;
use crate::process::{self, in_dir};

pub const USAGE: &str = "cargo xtask soak gateway [--minutes N] [--seed S]";

pub fn run(args: &[&str]) -> Result<(), String> {
    let Some((&"gateway", options)) = args.split_first() else {
        return Err(format!("usage: {USAGE}"));
    };
    let mut minutes = "2".to_string();
    let mut seed = "1".to_string();
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{option} needs a value; usage: {USAGE}"))?;
        match *option {
            "--minutes" => match value.parse::<f64>() {
                Ok(m) if m > 0.0 && m.is_finite() => minutes = value.to_string(),
                _ => return Err(format!("--minutes takes a positive number, not {value:?}")),
            },
            "--seed" => match value.parse::<u64>() {
                Ok(_) => seed = value.to_string(),
                Err(_) => return Err(format!("--seed takes a whole number, not {value:?}")),
            },
            other => return Err(format!("unknown option {other:?}; usage: {USAGE}")),
        }
    }
    let root = crate::root();
    let release = bench::build_gateway_binaries(&root, &["gateway_soak"])?;
    let server = bench::bench_postgres()?;
    let mut soak = release.example("gateway_soak");
    bench::example_env(&mut soak, &release, &server);
    soak.env("COMPANION_SOAK_MINUTES", &minutes)
        .env("COMPANION_SOAK_SEED", &seed);
    let outcome = process::run(in_dir(&mut soak, &root));
    drop(server);
    outcome
}
