//! `companion-gateway [--config FILE] [--dev]`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use companion_gateway::GatewayConfig;

/// Companion's backend: exchanges Salesforce sign-ins, keeps the tokens, serves /v1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Read the configuration from this TOML file instead of the environment.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Development mode: without a configured token key, generate one in the data dir.
    #[arg(long)]
    dev: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr; stdout's first line is the address, for scripts and tests.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => GatewayConfig::from_toml_file(path, args.dev),
        None => GatewayConfig::from_env(args.dev),
    };
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            eprintln!("companion-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    let gateway = match companion_gateway::start(config).await {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("companion-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "gateway listening on {}", gateway.base_url());
    let _ = stdout.flush();

    shutdown_signal().await;
    tracing::info!("shutting down");
    gateway.shutdown().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
