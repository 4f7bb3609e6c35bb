//! `cargo xtask demo [--no-app]` and `cargo xtask test`: the project's two commands. Each installs
//! what a fresh Debian/Ubuntu machine with Rust is missing, builds, and runs.

mod bench;
mod bundle;
mod demo;
mod install;
mod postgres;
mod process;
mod soak;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  cargo xtask demo [--no-app]   install what is missing, build, start sfsim + gateway + the app
                                (--no-app: only sfsim and the gateway, for a machine without a display)
  cargo xtask test              install what the tests need and run every test: Rust, UI, real app
  cargo xtask test package      only the package step of `test` (the app built as `test` builds it)
  cargo xtask bundle            the release app as .deb and .rpm (target/release/bundle/), checked:
                                no secret or token inside, companion:// handler, icons, Depends
  cargo xtask bench sfsim|gateway|sync|push|app
                                benchmarks (release build), printing their figures; gateway:
                                calls and latency, then SQLite / PostgreSQL x1 / x2 under 20 and
                                200 clients (syncs/s, writes/s, p50/p99, Salesforce calls per op),
                                the instances sharing the machine, then each held to 0.5 core
                                (a cgroup; root; COMPANION_BENCH_INSTANCE_CPUS=N: only that)
  cargo xtask soak gateway [--minutes N] [--seed S]
                                two gateways on PostgreSQL for N minutes (default 2), one killed
                                every few seconds, sfsim faults on writes: every write must end
                                in Salesforce exactly once (release build)
  cargo xtask postgres -- CMD [ARGS...]
                                start a throwaway PostgreSQL, run CMD with
                                COMPANION_TEST_DATABASE_URL set to it, stop it, exit as CMD did
                                (e.g. cargo xtask postgres -- cargo test -p companion-gateway)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        // The only command whose exit status is another program's.
        ["postgres", "--", command @ ..] | ["postgres", command @ ..] => {
            return match postgres::run_command(command) {
                Ok(code) => code,
                Err(message) => fail(&message),
            };
        }
        ["demo"] => demo::run(demo::Options { app: true }),
        ["demo", "--no-app"] => demo::run(demo::Options { app: false }),
        ["test"] => test::run(),
        ["test", "package"] => test::package_only(),
        ["bundle"] => bundle::run(),
        ["bench", what] => bench::run(what),
        ["soak", rest @ ..] => soak::run(rest),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown arguments {args:?}\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("xtask: {message}");
    ExitCode::FAILURE
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        None => root().join("target"),
    }
}
