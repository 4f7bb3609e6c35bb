//! `cargo xtask bench <what>`: benchmarks, in release builds, printing their figures. Goals are
//! checked by reading these figures, never by timed tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::postgres;
use crate::process::{self, command, in_dir};

pub const WHAT: &str = "sfsim, gateway, sync, push, app";

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
        // Salesforce calls per sync and the gateway's added latency (in-process), then the load
        // matrix: SQLite, PostgreSQL ×1 and ×2 as processes, 20 and 200 clients, no-change syncs
        // and lead creates.
        "gateway" => gateway(&root),
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
        // The app a rep uses: the release build under Xvfb on 50,000 contacts — cold start,
        // search keystrokes, opening a contact, scrolling the list, memory.
        "app" => app(&root),
        other => Err(format!("no benchmark named {other:?}; there are: {WHAT}")),
    }
}

/// The release binaries and examples the gateway bench and soak run.
pub fn build_gateway_binaries(root: &Path, examples: &[&str]) -> Result<Release, String> {
    let mut args = vec![
        "build",
        "--release",
        "--package",
        "sfsim",
        "--bin",
        "sfsim",
        "--package",
        "companion-gateway",
        "--bin",
        "companion-gateway",
    ];
    for example in examples {
        args.extend(["--example", example]);
    }
    process::run(in_dir(&mut command("cargo", &args), root))?;
    Ok(Release {
        dir: crate::target_dir().join("release"),
    })
}

/// Where the release build is.
pub struct Release {
    pub dir: PathBuf,
}

impl Release {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn example(&self, name: &str) -> Command {
        Command::new(self.dir.join("examples").join(name))
    }
}

/// The PostgreSQL the load bench and the soak run on: `fsync=on` with `synchronous_commit=off`,
/// the durability of the SQLite store's WAL with `synchronous=NORMAL` (a commit is on disk at the
/// next WAL flush, a crash may lose the last commits but never corrupts).
pub fn bench_postgres() -> Result<postgres::Postgres, String> {
    let options = postgres::Options {
        fsync: true,
        synchronous_commit: false,
        full_page_writes: true,
    };
    let server = postgres::start_with(&options)?;
    println!(
        "xtask: PostgreSQL with fsync=on, synchronous_commit=off, full_page_writes=on: comparable \
         to the SQLite store's WAL with synchronous=NORMAL"
    );
    Ok(server)
}

/// The variables the process-level examples read (`crates/gateway/examples/common/mod.rs`).
pub fn example_env(example: &mut Command, release: &Release, server: &postgres::Postgres) {
    example
        .env("COMPANION_SFSIM_BIN", release.bin("sfsim"))
        .env("COMPANION_GATEWAY_BIN", release.bin("companion-gateway"))
        .env("COMPANION_BENCH_DATABASE_URL", &server.url);
    // The postmaster's pid is the first line of postmaster.pid: the bench reports its CPU.
    if let Some(pid) = std::fs::read_to_string(server.dir.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next().map(|line| line.trim().to_string()))
    {
        example.env("COMPANION_BENCH_POSTGRES_PID", pid);
    }
}

fn gateway(root: &Path) -> Result<(), String> {
    let release = build_gateway_binaries(root, &["gateway_calls_bench", "gateway_bench"])?;
    process::run(in_dir(&mut release.example("gateway_calls_bench"), root))?;
    // Twice, unless COMPANION_BENCH_INSTANCE_CPUS says which: the instances sharing this
    // machine's cores with everything else, then each held to half a core (as a container's CPU
    // limit holds a deployed instance; the database, sfsim and the load generator outside it).
    let limits: Vec<Option<String>> = match std::env::var("COMPANION_BENCH_INSTANCE_CPUS") {
        Ok(cpus) => vec![Some(cpus)],
        Err(_) if process::is_root() => vec![None, Some(INSTANCE_CPUS.to_string())],
        Err(_) => {
            println!(
                "xtask: not root, so no run with a CPU limit per instance (a cgroup each); \
                 only the instances sharing the machine"
            );
            vec![None]
        }
    };
    for limit in limits {
        let server = bench_postgres()?;
        let mut bench = release.example("gateway_bench");
        example_env(&mut bench, &release, &server);
        match &limit {
            Some(cpus) => bench.env("COMPANION_BENCH_INSTANCE_CPUS", cpus),
            None => bench.env_remove("COMPANION_BENCH_INSTANCE_CPUS"),
        };
        let outcome = process::run(in_dir(&mut bench, root));
        drop(server);
        outcome?;
    }
    Ok(())
}

/// The CPU limit of each gateway instance in the bench's second run, in cores.
const INSTANCE_CPUS: &str = "0.5";

fn app(root: &std::path::Path) -> Result<(), String> {
    use crate::install;
    use crate::test::{copy_env, with_keyring_session, APP_FEATURES};
    let mut wanted = install::APP_PACKAGES.to_vec();
    wanted.extend_from_slice(install::TEST_PACKAGES);
    install::system_packages(&wanted)?;
    install::ui_packages()?;
    let tauri_driver = install::tauri_driver()?;
    process::run(in_dir(
        &mut command("npm", &["run", "build"]),
        &root.join("ui"),
    ))?;
    process::run(in_dir(
        &mut command(
            "cargo",
            &[
                "build",
                "--release",
                "--package",
                "companion-app",
                "--features",
                APP_FEATURES,
            ],
        ),
        root,
    ))?;
    process::run(in_dir(
        &mut command(
            "cargo",
            &[
                "build",
                "--release",
                "--package",
                "companion",
                "--example",
                "app_bench",
            ],
        ),
        root,
    ))?;
    let release = crate::target_dir().join("release");
    let mut bench = command(
        release
            .join("examples/app_bench")
            .to_str()
            .ok_or("target path is not UTF-8")?,
        &[],
    );
    bench
        .env("COMPANION_APP_BIN", release.join("companion-app"))
        .env("TAURI_DRIVER_BIN", &tauri_driver);
    let session = with_keyring_session(&bench)?;
    let mut display = command("xvfb-run", &["-a", "-s", "-screen 0 1280x800x24"]);
    display.arg(session.get_program()).args(session.get_args());
    copy_env(&session, &mut display);
    process::run(in_dir(&mut display, root))
}
