//! `companion-cli`: Companion without a window, for scripts, benchmarks and crash tests.
//! A thin adapter over `companion-core`; everything with logic lives there.

mod browser;
mod details;
mod loopback;
mod secrets;
mod table;
mod writes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use companion_core::{Companion, Config, CoreError, LeadQuery, OpportunityQuery, OpportunitySort};
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "companion-cli",
    version,
    about = "Companion from the command line: sign in, sync, look up and change records, offline too"
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
    /// Send the changes made here, then bring the records on this device up to date (and drop
    /// those you may no longer see).
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
    /// List the accounts on this device, by name (works offline).
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// List the opportunities on this device (works offline).
    Opportunities {
        /// Only this stage (exact StageName).
        #[arg(long)]
        stage: Option<String>,
        /// Only open ones closing within this many days.
        #[arg(long)]
        closing_within_days: Option<u32>,
        /// Only those with at least this amount.
        #[arg(long)]
        min_amount: Option<f64>,
        /// Order: close-date (default), amount (largest first) or name.
        #[arg(long, value_enum, default_value_t = SortArg::CloseDate)]
        sort: SortArg,
        #[arg(long)]
        json: bool,
    },
    /// List your open leads, those created on this device included (works offline).
    Leads {
        /// Only leads whose name, email, phone, title or company starts with these words.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Create leads.
    #[command(subcommand)]
    Lead(writes::LeadCommand),
    /// Change opportunities.
    #[command(subcommand)]
    Opportunity(writes::OpportunityCommand),
    /// Change contacts.
    #[command(subcommand)]
    Contact(writes::ContactCommand),
    /// Log calls.
    #[command(subcommand)]
    Call(writes::CallCommand),
    /// Create follow-up tasks.
    #[command(subcommand)]
    Task(writes::TaskCommand),
    /// The changes made here that Salesforce does not have yet: key, kind, record, state
    /// (waiting, sending, failed, conflict, waiting_for_sign_in), error, fields.
    Pending {
        #[arg(long)]
        json: bool,
    },
    /// Send the changes made here now. Exits 0 when nothing is left but changes that need you
    /// (failed, conflict), which it lists; 3 offline; 5 when some still wait.
    Push {
        #[arg(long)]
        json: bool,
    },
    /// Settle a conflict: keep your value or use Salesforce's, for some fields or all.
    Resolve {
        key: String,
        #[command(flatten)]
        choice: writes::Choice,
        /// A field in conflict (repeatable); without, every field in conflict.
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Print the change as it now stands (`null` once nothing of it is left).
        #[arg(long)]
        json: bool,
    },
    /// Edit a failed change and send it again.
    Retry {
        key: String,
        /// FIELD=VALUE, a Salesforce field of the change (repeatable); an empty value clears it.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Print the change as it now stands.
        #[arg(long)]
        json: bool,
    },
    /// Discard a change made here (a new lead goes with the calls and tasks about it).
    Discard {
        key: String,
        /// Print how many changes went.
        #[arg(long)]
        json: bool,
    },
    /// One record by its id (a Salesforce id or a local one): a contact, account, opportunity,
    /// lead or task with what goes with it.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Find contacts, accounts and opportunities by any word prefix (name, email, phone, title,
    /// account), best matches first.
    Search {
        text: String,
        #[arg(long)]
        json: bool,
    },
    /// Who is signed in, last sync, record counts, pending changes, online or not.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Check the on-device database (SQLite integrity check); prints `ok` when it is sound.
    Check,
    /// Forget the session on this device. Refuses while changes made here have not reached
    /// Salesforce, unless --discard-pending.
    Logout {
        /// Discard the changes Salesforce does not have yet.
        #[arg(long)]
        discard_pending: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SortArg {
    CloseDate,
    Amount,
    Name,
}

/// Errors of the CLI itself; core's errors pass through with their message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Other(String),
    #[error("could not write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0} change(s) still waiting to be sent (the server is busy or refused the moment); they go with the next push")]
    StillWaiting(usize),
}

impl CliError {
    /// Exit codes a script can branch on: 3 offline, 4 sign-in needed, 5 changes still
    /// waiting, 1 anything else.
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) if e.kind() == "offline" => 3,
            CliError::Core(e) if matches!(e.kind(), "not_signed_in" | "reauth_required") => 4,
            CliError::StillWaiting(_) => 5,
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
                .sync(|p| match p.total {
                    Some(total) => eprintln!("{}: {} of {total}", p.object, p.done),
                    None => eprintln!("{}: {} synced", p.object, p.done),
                })
                .await?;
            let plural =
                |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            if report.pushed.requests > 0 {
                writeln!(
                    out,
                    "Sent {} ({} failed, {} in conflict, {} waiting).",
                    plural(report.pushed.sent, "change"),
                    report.pushed.failed,
                    report.pushed.conflicts,
                    report.pushed.waiting
                )?;
            }
            writeln!(
                out,
                "Synced {}, {}, {}, {} and {}; {} no longer yours ({}).",
                plural(report.accounts, "account change"),
                plural(report.contacts, "contact change"),
                plural(report.opportunities, "opportunity change"),
                plural(report.tasks, "task change"),
                plural(report.leads, "lead change"),
                plural(report.removed, "record"),
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
        Command::Accounts { json } => {
            let accounts = companion.accounts(None, 0)?;
            if json {
                writeln!(out, "{}", to_json(&accounts)?)?;
            } else if accounts.is_empty() {
                writeln!(out, "No accounts.")?;
            } else {
                write!(out, "{}", table::accounts(&accounts))?;
            }
        }
        Command::Opportunities {
            stage,
            closing_within_days,
            min_amount,
            sort,
            json,
        } => {
            let opportunities = companion.opportunities(&OpportunityQuery {
                stage,
                closing_within_days,
                min_amount,
                sort: match sort {
                    SortArg::CloseDate => OpportunitySort::CloseDate,
                    SortArg::Amount => OpportunitySort::AmountDesc,
                    SortArg::Name => OpportunitySort::Name,
                },
                limit: None,
                offset: 0,
            })?;
            if json {
                writeln!(out, "{}", to_json(&opportunities)?)?;
            } else if opportunities.is_empty() {
                writeln!(out, "No opportunities.")?;
            } else {
                write!(out, "{}", table::opportunities(&opportunities))?;
            }
        }
        Command::Leads { search, json } => {
            let leads = companion.leads(&LeadQuery {
                search,
                limit: None,
                offset: 0,
            })?;
            if json {
                writeln!(out, "{}", to_json(&leads)?)?;
            } else if leads.is_empty() {
                writeln!(out, "No leads.")?;
            } else {
                write!(out, "{}", table::leads(&leads))?;
            }
        }
        Command::Lead(command) => writes::lead(&companion, command, out)?,
        Command::Opportunity(command) => writes::opportunity(&companion, command, out)?,
        Command::Contact(command) => writes::contact(&companion, command, out)?,
        Command::Call(command) => writes::call(&companion, command, out)?,
        Command::Task(command) => writes::task(&companion, command, out)?,
        Command::Pending { json } => writes::pending(&companion, json, out)?,
        Command::Push { json } => writes::push(&companion, json, out).await?,
        Command::Resolve {
            key,
            choice,
            fields,
            json,
        } => writes::resolve(&companion, &key, &choice, &fields, json, out)?,
        Command::Retry { key, sets, json } => writes::retry(&companion, &key, &sets, json, out)?,
        Command::Discard { key, json } => writes::discard(&companion, &key, json, out)?,
        Command::Show { id, json } => {
            let record = companion.show(&id)?;
            if json {
                writeln!(out, "{}", to_json(&record)?)?;
            } else {
                // The same fields, as readable indented text.
                let value = serde_json::to_value(&record)
                    .map_err(|e| CliError::Other(format!("could not show the record: {e}")))?;
                write!(out, "{}", details::render(&value))?;
            }
        }
        Command::Search { text, json } => {
            let hits = companion.search(&text)?;
            if json {
                writeln!(out, "{}", to_json(&hits)?)?;
            } else if hits.is_empty() {
                writeln!(out, "Nothing found.")?;
            } else {
                write!(out, "{}", table::search_hits(&hits))?;
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
                for (object, count) in &status.counts {
                    writeln!(out, "{object}: {count}")?;
                }
                let outbox = &status.outbox;
                writeln!(
                    out,
                    "Pending changes: {} ({} waiting, {} failed, {} in conflict{})",
                    outbox.pending,
                    outbox.waiting + outbox.sending,
                    outbox.failed,
                    outbox.conflicts,
                    if status.reauth_required {
                        format!(
                            "; {} waiting for you to sign in again",
                            outbox.waiting_for_sign_in
                        )
                    } else {
                        String::new()
                    }
                )?;
                writeln!(
                    out,
                    "Server: {}",
                    match status.online {
                        Some(true) => "online",
                        Some(false) => "offline",
                        None => "not tried yet",
                    }
                )?;
            }
        }
        Command::Check => {
            companion.check_integrity()?;
            writeln!(out, "ok")?;
        }
        Command::Logout { discard_pending } => {
            companion.sign_out(discard_pending).await?;
            writeln!(out, "Signed out.")?;
        }
    }
    Ok(())
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("could not write JSON: {e}")))
}

fn default_data_dir() -> Result<PathBuf, CliError> {
    directories::ProjectDirs::from("", "", "companion")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| CliError::Other("could not find a home folder; pass --data-dir".into()))
}
