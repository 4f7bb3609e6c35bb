//! The plain-text table `contacts` prints.

use companion_core::{
    AccountSummary, ContactSummary, LeadSummary, OpportunitySummary, PendingWrite, SearchHit,
};

const MAX_CELL: usize = 40;

pub(crate) fn contacts(contacts: &[ContactSummary]) -> String {
    let rows: Vec<[String; 4]> = contacts
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.email.clone().unwrap_or_default(),
                c.title.clone().unwrap_or_default(),
                c.account_name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    render(["NAME", "EMAIL", "TITLE", "ACCOUNT"], &rows)
}

pub(crate) fn accounts(accounts: &[AccountSummary]) -> String {
    let rows: Vec<[String; 4]> = accounts
        .iter()
        .map(|a| {
            [
                a.name.clone(),
                a.industry.clone().unwrap_or_default(),
                a.phone.clone().unwrap_or_default(),
                a.billing_city.clone().unwrap_or_default(),
            ]
        })
        .collect();
    render(["NAME", "INDUSTRY", "PHONE", "CITY"], &rows)
}

pub(crate) fn opportunities(opportunities: &[OpportunitySummary]) -> String {
    let rows: Vec<[String; 5]> = opportunities
        .iter()
        .map(|o| {
            [
                o.name.clone(),
                o.stage_name.clone(),
                o.amount.map(|a| format!("{a:.2}")).unwrap_or_default(),
                o.close_date.clone(),
                o.account_name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    render(["NAME", "STAGE", "AMOUNT", "CLOSE", "ACCOUNT"], &rows)
}

pub(crate) fn leads(leads: &[LeadSummary]) -> String {
    let rows: Vec<[String; 5]> = leads
        .iter()
        .map(|l| {
            [
                l.name.clone(),
                l.company.clone(),
                l.status.clone(),
                l.email.clone().unwrap_or_default(),
                pending_mark(l.pending),
            ]
        })
        .collect();
    render(["NAME", "COMPANY", "STATUS", "EMAIL", "PENDING"], &rows)
}

pub(crate) fn pending(writes: &[PendingWrite]) -> String {
    let rows: Vec<[String; 5]> = writes
        .iter()
        .map(|w| {
            let why = match (&w.error, w.conflicts.is_empty(), &w.waiting_for) {
                (_, false, _) => format!(
                    "conflict on {}",
                    w.conflicts
                        .iter()
                        .map(|c| c.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                (Some(e), _, _) => e.message.clone(),
                (None, _, Some(waiting)) => format!("waits for {waiting}"),
                _ => String::new(),
            };
            [
                w.key.clone(),
                w.kind.as_str().to_string(),
                w.record_name.clone().unwrap_or_else(|| w.record_id.clone()),
                serde_json::to_value(w.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                why,
            ]
        })
        .collect();
    render(["KEY", "KIND", "RECORD", "STATE", "DETAILS"], &rows)
}

fn pending_mark(pending: Option<companion_core::PendingState>) -> String {
    pending
        .and_then(|p| serde_json::to_value(p).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn search_hits(hits: &[SearchHit]) -> String {
    let rows: Vec<[String; 4]> = hits
        .iter()
        .map(|h| {
            [
                h.object.to_string(),
                h.title.clone(),
                h.subtitle.clone().unwrap_or_default(),
                pending_mark(h.pending),
            ]
        })
        .collect();
    render(["TYPE", "NAME", "DETAILS", "PENDING"], &rows)
}

fn render<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(String::from);
    let cells = |row: &[String; N]| row.clone().map(|cell| clip(&cell));
    let all: Vec<[String; N]> = std::iter::once(cells(&header))
        .chain(rows.iter().map(cells))
        .collect();
    let mut widths = [0usize; N];
    for row in &all {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &all {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Long cells are cut with an ellipsis; control characters (a newline in a title) become spaces.
fn clip(cell: &str) -> String {
    let clean: String = cell
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_CELL {
        clean
    } else {
        let mut cut: String = clean.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_long_cells_are_clipped() {
        let rows = [
            [
                "Ada Lovelace".to_string(),
                "ada@acme.example".into(),
                "CTO".into(),
                "Acme".into(),
            ],
            ["José Álvarez".into(), "".into(), "x".repeat(50), "".into()],
        ];
        let text = render(["NAME", "EMAIL", "TITLE", "ACCOUNT"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "NAME          EMAIL             TITLE{}ACCOUNT",
                " ".repeat(37)
            )
        );
        assert!(lines[1].starts_with("Ada Lovelace  ada@acme.example  CTO "));
        assert!(lines[2].starts_with("José Álvarez                    xxxx"));
        assert!(lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), 14 + 18 + 40);
    }
}
