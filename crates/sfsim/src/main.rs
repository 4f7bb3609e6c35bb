//! `sfsim [--listen ADDR] [--session-timeout-secs N] [--refresh-token-rotation]`

use std::{io::Write, net::SocketAddr, process::ExitCode, time::Duration};

use clap::Parser;
use sfsim::SimConfig;

#[derive(Parser, Debug)]
#[command(
    name = "sfsim",
    about = "A simulated Salesforce org for tests and the demo"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
    /// Access tokens stop working this many seconds after they were issued.
    #[arg(long, default_value_t = 7200)]
    session_timeout_secs: u64,
    /// Turn on the connected app's refresh-token rotation policy.
    #[arg(long)]
    refresh_token_rotation: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sfsim=info".into()),
        )
        .init();
    let args = Args::parse();
    let config = SimConfig {
        session_timeout: Duration::from_secs(args.session_timeout_secs),
        refresh_token_rotation: args.refresh_token_rotation,
    };
    let sim = match sfsim::start(args.listen, config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("sfsim: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Scripts wait for this exact first line.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "sfsim listening on {}", sim.base_url());
    let _ = stdout.flush();

    wait_for_stop_signal().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
