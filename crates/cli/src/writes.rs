//! The write commands: leads, calls, tasks, updates, and the outbox (pending, push, resolve,
//! retry, discard). Each prints the record as the rep now sees it, or `--json`.

use clap::{Args, Subcommand};
use companion_core::{
    parse_field, Companion, ContactChanges, NewCall, NewFollowUp, NewLead, OpportunityChanges,
    PendingState, PendingWrite, Resolution,
};

use crate::{details, table, to_json, CliError};

#[derive(Debug, Subcommand)]
pub(crate) enum LeadCommand {
    /// Create a lead (works offline; it gets a local id until Salesforce has it).
    New {
        #[arg(long)]
        last_name: String,
        #[arg(long)]
        company: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        mobile_phone: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// One of the org's lead sources.
        #[arg(long)]
        lead_source: Option<String>,
        /// One of the org's lead statuses (default: the org's default).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OpportunityCommand {
    /// Change an opportunity: stage (the probability follows), amount, close date, next step.
    Update {
        id: String,
        #[arg(long)]
        stage: Option<String>,
        #[arg(long)]
        amount: Option<f64>,
        /// YYYY-MM-DD.
        #[arg(long)]
        close_date: Option<String>,
        /// An empty value clears it.
        #[arg(long)]
        next_step: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContactCommand {
    /// Change a contact's phone, mobile, email or title (an empty value clears it).
    Update {
        id: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        mobile_phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallCommand {
    /// Log a call about a contact, lead, opportunity or account (its id, or a local id).
    Log {
        #[arg(long)]
        about: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        comments: Option<String>,
        /// YYYY-MM-DD (default: today, in this computer's time zone).
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        duration_seconds: Option<u32>,
        /// For a call about an opportunity or account: the contact it was with.
        #[arg(long)]
        contact: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Create a follow-up task about a contact, lead, opportunity or account.
    New {
        #[arg(long)]
        about: String,
        #[arg(long)]
        subject: String,
        /// Due date, YYYY-MM-DD.
        #[arg(long)]
        due: String,
        /// One of the org's task priorities (default: the org's default).
        #[arg(long)]
        priority: Option<String>,
        /// A reminder, e.g. 2025-03-01T09:00:00+01:00.
        #[arg(long)]
        reminder_at: Option<String>,
        /// For a task about an opportunity or account: the contact it concerns.
        #[arg(long)]
        contact: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Choice {
    /// The rep's value goes over what Salesforce has now.
    #[arg(long)]
    keep_mine: bool,
    /// Salesforce's value stays; the rep's change of the field is dropped.
    #[arg(long)]
    use_theirs: bool,
}

pub(crate) fn lead(
    companion: &Companion,
    command: LeadCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let LeadCommand::New {
        last_name,
        company,
        first_name,
        email,
        phone,
        mobile_phone,
        title,
        lead_source,
        status,
        json,
    } = command;
    let lead = companion.create_lead(NewLead {
        first_name,
        last_name,
        company,
        title,
        email,
        phone,
        mobile_phone,
        lead_source,
        status,
    })?;
    print_record(out, &lead, json)
}

pub(crate) fn opportunity(
    companion: &Companion,
    command: OpportunityCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let OpportunityCommand::Update {
        id,
        stage,
        amount,
        close_date,
        next_step,
        json,
    } = command;
    let record = companion.update_opportunity(
        &id,
        OpportunityChanges {
            stage,
            amount,
            close_date,
            next_step,
        },
    )?;
    print_record(out, &record, json)
}

pub(crate) fn contact(
    companion: &Companion,
    command: ContactCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let ContactCommand::Update {
        id,
        phone,
        mobile_phone,
        email,
        title,
        json,
    } = command;
    let record = companion.update_contact(
        &id,
        ContactChanges {
            phone,
            mobile_phone,
            email,
            title,
        },
    )?;
    print_record(out, &record, json)
}

pub(crate) fn call(
    companion: &Companion,
    command: CallCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let CallCommand::Log {
        about,
        subject,
        comments,
        date,
        duration_seconds,
        contact,
        json,
    } = command;
    let task = companion.log_call(NewCall {
        about,
        subject: Some(subject),
        comments,
        date,
        duration_seconds,
        contact_id: contact,
    })?;
    print_record(out, &task, json)
}

pub(crate) fn task(
    companion: &Companion,
    command: TaskCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let TaskCommand::New {
        about,
        subject,
        due,
        priority,
        reminder_at,
        contact,
        json,
    } = command;
    let task = companion.create_task(NewFollowUp {
        about,
        subject,
        due,
        priority,
        reminder_at,
        contact_id: contact,
    })?;
    print_record(out, &task, json)
}

pub(crate) fn pending(
    companion: &Companion,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let pending = companion.pending()?;
    if json {
        writeln!(out, "{}", to_json(&pending)?)?;
    } else if pending.is_empty() {
        writeln!(
            out,
            "Nothing waiting: Salesforce has every change made here."
        )?;
    } else {
        write!(out, "{}", table::pending(&pending))?;
    }
    Ok(())
}

/// `push`: sends what may go. Exit 0 when nothing is left but writes that need the rep (failed,
/// conflict), which it lists; offline → exit 3; writes still waiting (busy, limits) → exit 5.
pub(crate) async fn push(
    companion: &Companion,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let report = companion.push_now().await?;
    let pending = companion.pending()?;
    // Failed and conflicting writes, and those that cannot go before them, wait for the rep.
    let needs_rep: Vec<&PendingWrite> = pending
        .iter()
        .filter(|w| {
            matches!(w.state, PendingState::Failed | PendingState::Conflict)
                || w.held_back_by.is_some()
        })
        .collect();
    let waiting = pending.len() - needs_rep.len();
    if json {
        let value = serde_json::json!({ "report": report, "needs_you": needs_rep });
        writeln!(out, "{}", to_json(&value)?)?;
    } else {
        writeln!(
            out,
            "Sent {} change{}; {} failed, {} in conflict, {} waiting for the network.",
            report.sent,
            if report.sent == 1 { "" } else { "s" },
            needs_rep
                .iter()
                .filter(|w| w.state == PendingState::Failed)
                .count(),
            needs_rep
                .iter()
                .filter(|w| w.state == PendingState::Conflict)
                .count(),
            waiting
        )?;
        if !needs_rep.is_empty() {
            let owned: Vec<PendingWrite> = needs_rep.iter().map(|w| (*w).clone()).collect();
            write!(out, "{}", table::pending(&owned))?;
        }
    }
    if waiting > 0 {
        return Err(CliError::StillWaiting(waiting));
    }
    Ok(())
}

pub(crate) fn resolve(
    companion: &Companion,
    key: &str,
    choice: &Choice,
    fields: &[String],
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let resolution = if choice.keep_mine {
        Resolution::KeepMine
    } else {
        Resolution::UseTheirs
    };
    let now_key = companion.resolve_conflict(key, resolution, fields)?;
    let now = match now_key {
        Some(key) => Some(find(companion, &key)?),
        None => None,
    };
    if json {
        writeln!(out, "{}", to_json(&now)?)?;
    } else {
        match &now {
            Some(write) if write.state == PendingState::Conflict => {
                writeln!(out, "Settled those fields; others are still in conflict.")?
            }
            Some(_) => writeln!(out, "Settled; the change goes with the next push or sync.")?,
            None => writeln!(out, "Settled; nothing of the change is left to send.")?,
        }
    }
    Ok(())
}

/// The pending write `key`, or a clear error.
fn find(companion: &Companion, key: &str) -> Result<PendingWrite, CliError> {
    companion
        .pending()?
        .into_iter()
        .find(|w| w.key == key)
        .ok_or_else(|| CliError::Other(format!("no pending change {key:?} on this device")))
}

pub(crate) fn retry(
    companion: &Companion,
    key: &str,
    sets: &[String],
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let write = find(companion, key)?;
    let mut changes = Vec::new();
    for set in sets {
        let (field, value) = set
            .split_once('=')
            .ok_or_else(|| CliError::Other(format!("--set takes FIELD=VALUE, not {set:?}")))?;
        changes.push(parse_field(write.kind, field.trim(), value)?);
    }
    let now_key = companion.retry_write(key, changes)?;
    if json {
        writeln!(out, "{}", to_json(&find(companion, &now_key)?)?)?;
    } else {
        writeln!(out, "Queued again; it goes with the next push or sync.")?;
    }
    Ok(())
}

pub(crate) fn discard(
    companion: &Companion,
    key: &str,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let report = companion.discard_write(key)?;
    if json {
        writeln!(out, "{}", to_json(&report)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "Discarded {} change{}.",
        report.discarded,
        if report.discarded == 1 { "" } else { "s" }
    )?;
    Ok(())
}

fn print_record(
    out: &mut impl std::io::Write,
    record: &impl serde::Serialize,
    json: bool,
) -> Result<(), CliError> {
    if json {
        writeln!(out, "{}", to_json(record)?)?;
    } else {
        let value = serde_json::to_value(record)
            .map_err(|e| CliError::Other(format!("could not show the record: {e}")))?;
        write!(out, "{}", details::render(&value))?;
    }
    Ok(())
}
