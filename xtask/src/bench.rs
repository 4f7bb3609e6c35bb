//! `cargo xtask bench <what>`: benchmarks, in release builds, printing their figures. Goals are
//! checked by reading these figures, never by timed tests.

use crate::process::{self, command, in_dir};

pub const WHAT: &str = "sfsim, gateway, sync, push";

pub fn run(what: &str) -> Result<(), String> {
    let root = crate::root();
    match what {
        // Seeding a large org and serving a full page of contacts with their account names.
        "sfsim" => process::run(in_dir(
            &mut command(
                "cargo",
                &[
                    "run",
                    "--release",
                    "--package",
                    "sfsim",
                    "--example",
                    "sfsim_bench",
                ],
            ),
            &root,
        )),
        // Salesforce calls per sync, the gateway's added latency, throughput at 20 clients.
        "gateway" => process::run(in_dir(
            &mut command(
                "cargo",
                &[
                    "run",
                    "--release",
                    "--package",
                    "companion-gateway",
                    "--example",
                    "gateway_bench",
                ],
            ),
            &root,
        )),
        // The read path end to end: first sync records/s and memory, refresh, search latency.
        "sync" => {
            process::run(in_dir(
                &mut command(
                    "cargo",
                    &["build", "--release", "--package", "companion-cli"],
                ),
                &root,
            ))?;
            process::run(in_dir(
                &mut command(
                    "cargo",
                    &[
                        "run",
                        "--release",
                        "--package",
                        "companion",
                        "--example",
                        "sync_bench",
                    ],
                ),
                &root,
            ))
        }
        // The write path: a Save's latency on 50,000 contacts, a push of 500 writes (Salesforce
        // calls and wall time), search with 500 writes pending.
        "push" => process::run(in_dir(
            &mut command(
                "cargo",
                &[
                    "run",
                    "--release",
                    "--package",
                    "companion",
                    "--example",
                    "push_bench",
                ],
            ),
            &root,
        )),
        other => Err(format!("no benchmark named {other:?}; there are: {WHAT}")),
    }
}
