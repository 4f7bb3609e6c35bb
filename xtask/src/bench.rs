//! `cargo xtask bench <what>`: benchmarks, in release builds, printing their figures. Goals are
//! checked by reading these figures, never by timed tests.

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
        // The app a rep uses: the release build under Xvfb on 50,000 contacts — cold start,
        // search keystrokes, opening a contact, scrolling the list, memory.
        "app" => app(&root),
        other => Err(format!("no benchmark named {other:?}; there are: {WHAT}")),
    }
}

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
