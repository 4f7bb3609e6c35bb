//! `companion-cli`: Companion without a window, for scripts, benchmarks and crash tests.
//! A thin adapter over `companion-core`; everything with logic lives there.

mod browser;
mod loopback;
mod secrets;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use companion_core::{Companion, Config, CoreError};
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "companion-cli",
    version,
    about = "Companion from the command line: sign in, sync, look up contacts"
)]
struct Cli {
    /// The Companion gateway.
    #[arg(
        long,
        global = true,
        env = "COMPANION_GATEWAY_URL",
        default_value = "http://127.0.0.1:8710"
    )]
    gateway: Url,
    /// Where the replica and small state files live [default: the platform data folder/companion].
    #[arg(long, global = true, env = "COMPANION_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in with Salesforce in the browser (loopback redirect).
    Login,
    /// Bring the contacts on this device up to date.
    Sync,
    /// List the contacts on this device (works offline).
    Contacts {
        /// Only contacts whose name, email, title or account starts with these words.
        #[arg(long)]
        search: Option<String>,
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Who is signed in, last sync, online or not.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Forget the session on this device.
    Logout,
}

/// Errors of the CLI itself; core's errors pass through with their message.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Other(String),
    #[error("could not write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// Exit codes a script can branch on: 3 offline, 4 sign-in needed, 1 anything else.
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) if e.kind() == "offline" => 3,
            CliError::Core(e) if matches!(e.kind(), "not_signed_in" | "reauth_required") => 4,
            _ => 1,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COMPANION_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(cli, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        // `companion-cli contacts | head`: the reader left; that is not an error.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

async fn run(cli: Cli, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let secrets = Arc::new(secrets::KeyringOrFile::new(&data_dir));
    let companion = Arc::new(Companion::open(
        Config {
            gateway_url: cli.gateway,
            data_dir,
        },
        secrets,
    )?);

    match cli.command {
        Command::Login => {
            let user = loopback::login(companion).await?;
            writeln!(
                out,
                "Signed in as {} ({})",
                user.display_name, user.username
            )?;
        }
        Command::Sync => {
            let report = companion
                .sync(|p| eprintln!("{}: {} synced", p.object, p.done))
                .await?;
            let plural =
                |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            writeln!(
                out,
                "Synced {} and {} ({}).",
                plural(report.accounts, "account change"),
                plural(report.contacts, "contact change"),
                plural(report.pages, "page")
            )?;
        }
        Command::Contacts { search, json } => {
            let contacts = companion.contacts(search.as_deref())?;
            if json {
                writeln!(out, "{}", to_json(&contacts)?)?;
            } else if contacts.is_empty() {
                writeln!(out, "No contacts.")?;
            } else {
                write!(out, "{}", table::contacts(&contacts))?;
            }
        }
        Command::Status { json } => {
            let status = companion.status();
            let user = companion.current_user();
            if json {
                let value = serde_json::json!({ "user": user, "status": status });
                writeln!(out, "{}", to_json(&value)?)?;
            } else {
                match user {
                    Some(u) => writeln!(out, "Signed in as {} ({})", u.display_name, u.username)?,
                    None => writeln!(out, "Not signed in")?,
                }
                writeln!(
                    out,
                    "Last sync: {}",
                    status.last_synced_at.as_deref().unwrap_or("never")
                )?;
            }
        }
        Command::Logout => {
            companion.sign_out().await?;
            writeln!(out, "Signed out.")?;
        }
    }
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("could not write JSON: {e}")))
}

fn default_data_dir() -> Result<PathBuf, CliError> {
    directories::ProjectDirs::from("", "", "companion")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| CliError::Other("could not find a home folder; pass --data-dir".into()))
}
