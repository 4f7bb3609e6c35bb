//! `cargo xtask demo`: sfsim (a simulated Salesforce org) + the gateway + the app, wired together.

use std::process::Child;

use crate::install;
use crate::process::{self, command, in_dir};

pub struct Options {
    /// Start the desktop app too (needs a display).
    pub app: bool,
}

const SFSIM_LISTEN: &str = "127.0.0.1:8700";
const GATEWAY_LISTEN: &str = "127.0.0.1:8710";
// The demo org's connected app. These are sfsim's published demo credentials; they go only to
// the gateway, never to the app.
const DEMO_CLIENT_ID: &str = "companion-demo";
const DEMO_CLIENT_SECRET: &str = "companion-demo-secret";

pub fn run(options: Options) -> Result<(), String> {
    let root = crate::root();
    if options.app && !has_display() {
        return Err(
            "no display here (neither DISPLAY nor WAYLAND_DISPLAY is set): \
             run `cargo xtask demo --no-app` to start only sfsim and the gateway"
                .into(),
        );
    }
    let mut packages = vec!["build-essential", "pkg-config"];
    if options.app {
        packages.extend_from_slice(install::APP_PACKAGES);
    }
    install::system_packages(&packages)?;

    let mut build = vec![
        "build",
        "--package",
        "sfsim",
        "--package",
        "companion-gateway",
        "--package",
        "companion-cli",
    ];
    if options.app {
        install::ui_packages()?;
        process::run(in_dir(
            &mut command("npm", &["run", "build"]),
            &root.join("ui"),
        ))?;
        build.extend([
            "--package",
            "companion-app",
            "--features",
            "companion-app/custom-protocol",
        ]);
    }
    process::run(in_dir(&mut command("cargo", &build), &root))?;

    let bin = crate::target_dir().join("debug");
    let demo_dir = crate::target_dir().join("demo");
    let mut children = Children::default();

    let (sfsim, sfsim_url) = process::spawn_server(
        &mut command(path(&bin.join("sfsim"))?, &["--listen", SFSIM_LISTEN]),
        "sfsim",
    )?;
    children.0.push(sfsim);

    let mut gateway = command(path(&bin.join("companion-gateway"))?, &["--dev"]);
    gateway
        .env("COMPANION_GATEWAY_LISTEN", GATEWAY_LISTEN)
        .env("SALESFORCE_LOGIN_URL", &sfsim_url)
        .env("SALESFORCE_CLIENT_ID", DEMO_CLIENT_ID)
        .env("SALESFORCE_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env("COMPANION_GATEWAY_DATA_DIR", demo_dir.join("gateway"));
    let (gateway, gateway_url) = process::spawn_server(&mut gateway, "gateway")?;
    children.0.push(gateway);

    println!(
        "\n  Companion demo\n  \
         simulated Salesforce org  {sfsim_url}\n  \
         gateway                   {gateway_url}\n  \
         sign in as                rep@demo.example / demo1234 (also rep2@demo.example, admin@demo.example)\n  \
         headless client           {cli} --gateway {gateway_url} login | sync | contacts\n",
        cli = bin.join("companion-cli").display()
    );

    if options.app {
        println!("  Starting the app; close its window to end the demo.\n");
        let mut app = command(path(&bin.join("companion-app"))?, &[]);
        app.env("COMPANION_GATEWAY_URL", &gateway_url);
        process::run(&mut app)
    } else {
        println!("  Press Ctrl-C to stop.\n");
        let sfsim = &mut children.0[0];
        let status = sfsim.wait().map_err(|e| e.to_string())?;
        Err(format!("sfsim stopped ({status})"))
    }
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

fn path(path: &std::path::Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {path:?}"))
}

/// Stops the servers when the demo ends, however it ends.
#[derive(Default)]
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
