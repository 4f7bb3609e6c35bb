//! `sfsim [--listen ADDR] [--control] [--session-timeout-secs N] [--refresh-token-rotation] …`
//! (`sfsim --help` lists every flag).

use std::{io::Write, net::SocketAddr, process::ExitCode, time::Duration};

use clap::Parser;
use sfsim::SimConfig;

// See the note on the `mimalloc` dependency; the bench example uses the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// REST calls allowed in any rolling 24 hours; more get `403 REQUEST_LIMIT_EXCEEDED`.
    #[arg(long, default_value_t = 15_000)]
    daily_api_limit: u64,
    /// Tokens one user may get in any hour; more get `rate_limit_exceeded`.
    #[arg(long, default_value_t = 3600)]
    token_requests_per_hour: u32,
    /// Accounts to seed (deterministic).
    #[arg(long, default_value_t = sfsim::SeedCounts::default().accounts)]
    accounts: usize,
    /// Contacts to seed (deterministic).
    #[arg(long, default_value_t = sfsim::SeedCounts::default().contacts)]
    contacts: usize,
    /// Opportunities to seed (deterministic).
    #[arg(long, default_value_t = sfsim::SeedCounts::default().opportunities)]
    opportunities: usize,
    /// Tasks to seed (deterministic).
    #[arg(long, default_value_t = sfsim::SeedCounts::default().tasks)]
    tasks: usize,
    /// Serve the `/__sim` control API (stats, sessions/expire, faults, clock/advance, reset).
    #[arg(long)]
    control: bool,
    /// Username of the connected app's "Run As" user; enables the client-credentials grant.
    #[arg(long, value_name = "USERNAME")]
    client_credentials_user: Option<String>,
    /// Outbound-message rule `OBJECT:FIELD,FIELD:URL` (repeatable), e.g.
    /// `Opportunity:Name,StageName:http://127.0.0.1:9000/om`.
    #[arg(long = "outbound-message", value_name = "OBJECT:FIELDS:URL")]
    outbound_messages: Vec<sfsim::OutboundRule>,
    /// Multiplies outbound retry intervals (15 s doubling up to 2 h) and timeouts.
    #[arg(long, default_value_t = 1.0, value_parser = positive_scale)]
    outbound_time_scale: f64,
    /// Request bodies longer than this many bytes get `413`.
    #[arg(long, default_value_t = SimConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Milliseconds added to every REST (`/services/data`) request, for benchmarks; OAuth and the
    /// control API are not delayed.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

/// A time scale must be a positive, finite number.
fn positive_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 => Ok(scale),
        _ => Err(format!("expected a positive number, got '{text}'")),
    }
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
        daily_api_limit: args.daily_api_limit,
        seed: sfsim::SeedCounts {
            accounts: args.accounts,
            contacts: args.contacts,
            opportunities: args.opportunities,
            tasks: args.tasks,
        },
        control: args.control,
        client_credentials_user: args.client_credentials_user,
        outbound_messages: args.outbound_messages,
        outbound_time_scale: args.outbound_time_scale,
        max_body_bytes: args.max_body_bytes,
        token_requests_per_user_hour: args.token_requests_per_hour,
        latency: Duration::from_millis(args.latency_ms),
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
