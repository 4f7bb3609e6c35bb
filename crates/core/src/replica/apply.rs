//! Applying one `/v1/sync` page: upserts, deletes, cursors and reset passes in one transaction.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use companion_api::{Contact, Lead, Opportunity, SyncResponse, Task};
use rusqlite::{Connection, OptionalExtension, Params, TransactionBehavior};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::overlay::Overlaid;
use super::search_upkeep::{self, PageIndex, Upkeep};
use super::{Replica, OBJECTS, PAGES_PER_CHECKPOINT, TABLES};
use crate::error::CoreError;

/// What one page changed, per object: records upserted plus records deleted (by the page's
/// delete list or by the end of a reset pass).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PageCounts {
    pub accounts: u64,
    pub contacts: u64,
    pub opportunities: u64,
    pub tasks: u64,
    pub leads: u64,
}

impl PageCounts {
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.accounts + self.contacts + self.opportunities + self.tasks + self.leads
    }

    fn slot(&mut self, object: usize) -> &mut u64 {
        match object {
            ACCOUNT => &mut self.accounts,
            CONTACT => &mut self.contacts,
            OPPORTUNITY => &mut self.opportunities,
            LEAD => &mut self.leads,
            _ => &mut self.tasks,
        }
    }
}

// Indexes into `OBJECTS`.
const ACCOUNT: usize = 0;
const CONTACT: usize = 1;
const OPPORTUNITY: usize = 2;
const TASK: usize = 3;
const LEAD: usize = 4;

/// The objects whose records the search index holds, by their index in `OBJECTS`, in the order
/// `search_upkeep` numbers them.
const SEARCHED: [usize; 4] = [ACCOUNT, CONTACT, OPPORTUNITY, LEAD];

/// `object`'s place among the searched objects, if it is one.
fn searched(object: usize) -> Option<usize> {
    SEARCHED.iter().position(|o| *o == object)
}

/// Each object's reset pass: its number, and whether it is still running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Pass {
    pub(super) number: i64,
    open: bool,
}

impl Replica {
    /// Applies one page — upserts, deletes, the new cursors, reset passes — in one transaction:
    /// after a crash or an error either all of it is there or none of it.
    ///
    /// An upsert never replaces a record with an older version of it; a delete older than the
    /// record's SystemModstamp is skipped (the record was undeleted since). For an object in
    /// `page.reset`, or one without a cursor yet, a new pass starts; when the object's last page
    /// (`objects[OBJECT].more == false`) is applied, its records not written during the pass
    /// are the ones the rep no longer sees, and go.
    pub(crate) fn apply_page(&self, page: &SyncResponse) -> Result<PageCounts, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = apply(&tx, page)?;
        tx.commit()?;
        drop(conn);
        self.restore_deferred_indexes()?;
        if self.pages_since_checkpoint.fetch_add(1, Ordering::Relaxed) + 1 >= PAGES_PER_CHECKPOINT {
            self.checkpoint()?;
        }
        Ok(counts)
    }

    /// Builds again, each in its own transaction, the indexes of tables whose pass has ended
    /// ([`defer_indexes`]). Between two builds a rep's Save gets the writer: the end of a first
    /// sync of 100,000 contacts built every index in one transaction, and a Save waited up to
    /// two seconds for it. Also at open, for builds a stopped process left undone.
    pub(crate) fn restore_deferred_indexes(&self) -> Result<(), CoreError> {
        loop {
            let mut conn = self.writer();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let next: Option<(String, String)> = tx
                .prepare_cached(
                    "SELECT d.name, d.sql FROM deferred_index d
                     WHERE NOT EXISTS (SELECT 1 FROM sync_pass p
                                       WHERE p.open AND lower(p.object) = d.tbl_name)
                     ORDER BY d.name LIMIT 1",
                )?
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let Some((name, sql)) = next else {
                return Ok(());
            };
            restore_index(&tx, &name, &sql)?;
            tx.commit()?;
        }
    }
}

fn apply(conn: &Connection, page: &SyncResponse) -> Result<PageCounts, CoreError> {
    let mut counts = PageCounts::default();
    let mut passes = load_passes(conn)?;
    let before = passes;
    let mut upkeep = search_upkeep::current(conn)?;
    let with_cursor: BTreeSet<String> = {
        let mut stmt = conn.prepare_cached("SELECT object FROM sync_state")?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for (i, object) in OBJECTS.iter().enumerate() {
        let reset = page.reset.iter().any(|r| r == object);
        // The page that brings an object's first cursor opens a pass too: harmless on an empty
        // replica, and it clears records left behind if the cursors were ever lost. (A page
        // without a cursor for the object leaves the next one to start over anyway.)
        let first =
            !with_cursor.contains(*object) && page.cursors.contains_key(*object) && !passes[i].open;
        if reset || first {
            passes[i] = Pass {
                number: passes[i].number + 1,
                open: true,
            };
            if searched(i).is_some() {
                upkeep = search_upkeep::pass_opens(conn, upkeep, TABLES[i])?;
            }
            defer_indexes(conn, TABLES[i])?;
        }
    }
    let mut page_index = match upkeep {
        Upkeep::PageByPage => Some(PageIndex::begin(conn)?),
        _ => None,
    };
    // Page by page, the rowids of records this page rewrote (new ones are found by rowid).
    let mut rewritten = page_index
        .as_ref()
        .map(|_| [Vec::new(), Vec::new(), Vec::new(), Vec::new()]);

    let overlaid = Overlaid::before_upserts(conn, page)?;
    counts.accounts += upsert_all(
        conn,
        rewritten.as_mut().map(|r| &mut r[0]),
        "account",
        UPSERT_ACCOUNT,
        passes[ACCOUNT],
        &page.accounts,
        |a| &a.id,
        |a, pass| {
            (
                &a.id,
                &a.name,
                &a.industry,
                &a.phone,
                &a.website,
                &a.billing_street,
                &a.billing_city,
                &a.billing_state,
                &a.billing_postal_code,
                &a.billing_country,
                &a.owner_id,
                &a.system_modstamp,
                pass,
            )
        },
    )?;
    counts.contacts += upsert_all(
        conn,
        rewritten.as_mut().map(|r| &mut r[1]),
        "contact",
        UPSERT_CONTACT,
        passes[CONTACT],
        &page.contacts,
        |c| &c.id,
        contact_params,
    )?;
    counts.opportunities += upsert_all(
        conn,
        rewritten.as_mut().map(|r| &mut r[2]),
        "opportunity",
        UPSERT_OPPORTUNITY,
        passes[OPPORTUNITY],
        &page.opportunities,
        |o| &o.id,
        opportunity_params,
    )?;
    counts.tasks += upsert_all(
        conn,
        None,
        "task",
        UPSERT_TASK,
        passes[TASK],
        &page.tasks,
        |t| &t.id,
        task_params,
    )?;

    counts.leads += upsert_all(
        conn,
        rewritten.as_mut().map(|r| &mut r[3]),
        "lead",
        UPSERT_LEAD,
        passes[LEAD],
        &page.leads,
        |l| &l.id,
        lead_params,
    )?;
    // The rep's pending changes stay laid over what the page brought.
    overlaid.after_upserts(conn)?;

    if let (Some(index), Some(rewritten)) = (&mut page_index, &rewritten) {
        for (object, rowids) in rewritten.iter().enumerate() {
            for rowid in rowids {
                index.written(conn, object, *rowid)?;
            }
        }
    }

    for deleted in &page.deleted {
        let Some(i) = OBJECTS.iter().position(|o| *o == deleted.object) else {
            tracing::debug!(object = %deleted.object, "ignoring a delete of an object not replicated");
            continue;
        };
        let deleted_at = deleted.deleted_date.as_deref().and_then(|d| {
            let stamp = salesforce_stamp(d);
            if stamp.is_none() {
                tracing::debug!(
                    date = d,
                    "unreadable deleted_date: deleting unconditionally"
                );
            }
            stamp
        });
        if let (Some(index), Some(slot)) = (&mut page_index, searched(i)) {
            index.deleting(conn, slot, &deleted.id)?;
        }
        let mut stmt = conn.prepare_cached(DELETE[i])?;
        *counts.slot(i) += stmt.execute((&deleted.id, deleted_at))? as u64;
    }

    {
        let mut save_cursor = conn.prepare_cached(
            "INSERT INTO sync_state (object, cursor) VALUES (?1, ?2)
             ON CONFLICT (object) DO UPDATE SET cursor = excluded.cursor",
        )?;
        // A cursor is kept only for an object whose records are kept: a cursor without the
        // records would skip them for good once the replica learns the object.
        for (object, cursor) in &page.cursors {
            if OBJECTS.contains(&object.as_str()) {
                save_cursor.execute([object, cursor])?;
            }
        }
    }

    let accounts_were_open = passes[ACCOUNT].open;
    for (i, object) in OBJECTS.iter().enumerate() {
        let finished = !page.more || page.objects.get(*object).is_some_and(|p| !p.more);
        if passes[i].open && finished {
            let mut stmt = conn.prepare_cached(END_PASS[i])?;
            let gone = stmt.execute([passes[i].number])? as u64;
            *counts.slot(i) += gone;
            passes[i].open = false;
            // Page by page, a pass begins on an empty table, so none of its records is older
            // than the pass; if some were, their entries are there: rebuild instead.
            if gone > 0 && searched(i).is_some() && upkeep == Upkeep::PageByPage {
                upkeep = search_upkeep::rebuild_at_end(conn)?;
            }
        }
    }
    if let Some(index) = page_index {
        upkeep = index.finish(
            conn,
            upkeep,
            passes[ACCOUNT].open,
            accounts_were_open && !passes[ACCOUNT].open,
        )?;
    }
    if SEARCHED.iter().all(|&i| !passes[i].open) {
        search_upkeep::passes_ended(conn, upkeep)?;
    }
    if passes != before {
        let mut save = conn.prepare_cached(
            "INSERT INTO sync_pass (object, pass, open) VALUES (?1, ?2, ?3)
             ON CONFLICT (object) DO UPDATE SET pass = excluded.pass, open = excluded.open",
        )?;
        for (object, pass) in OBJECTS.iter().zip(passes) {
            save.execute((object, pass.number, pass.open))?;
        }
    }
    Ok(counts)
}

/// A pass rewrites a whole table, so its secondary indexes are dropped while it runs and built
/// again in one sort when it ends ([`Replica::restore_deferred_indexes`]): inserting 50,000
/// records into five indexes row by row cost three times the records themselves. Their
/// definitions wait in `deferred_index`, in the same transaction, so a sync killed mid-pass
/// still restores them when the pass ends. Reads meanwhile stay correct, only sorted lists get
/// slower. The primary key's index stays: upserts need it.
fn defer_indexes(conn: &Connection, table: &str) -> Result<(), CoreError> {
    let indexes: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
        )?
        .query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, sql) in indexes {
        conn.prepare_cached(
            "INSERT INTO deferred_index (name, tbl_name, sql) VALUES (?1, ?2, ?3)",
        )?
        .execute((&name, table, &sql))?;
        // `name` comes from sqlite_schema, so quoting it is all it needs.
        conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
    }
    Ok(())
}

/// Builds again one index [`defer_indexes`] dropped.
fn restore_index(conn: &Connection, name: &str, sql: &str) -> Result<(), CoreError> {
    // One made again meanwhile (a later schema version) is not made twice: that error would
    // fail every page from here on.
    let exists: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
        )?
        .query_row([name], |row| row.get(0))?;
    if !exists {
        conn.execute_batch(sql)?;
    }
    conn.prepare_cached("DELETE FROM deferred_index WHERE name = ?1")?
        .execute([name])?;
    Ok(())
}

pub(super) fn load_passes(conn: &Connection) -> Result<[Pass; 5], CoreError> {
    let mut passes = [Pass::default(); 5];
    let mut stmt = conn.prepare_cached("SELECT object, pass, open FROM sync_pass")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let object: String = row.get(0)?;
        if let Some(i) = OBJECTS.iter().position(|o| *o == object) {
            passes[i] = Pass {
                number: row.get(1)?,
                open: row.get(2)?,
            };
        }
    }
    Ok(passes)
}

/// Upserts `records` with one cached statement; returns how many were given. A record whose
/// stored version is newer keeps its data but is still marked as seen in an open pass. With
/// `rewritten`, the rowids of records that were there already and were written go in it.
#[allow(clippy::too_many_arguments)]
fn upsert_all<'a, R, P: Params>(
    conn: &Connection,
    mut rewritten: Option<&mut Vec<i64>>,
    table: &str,
    upsert: &str,
    pass: Pass,
    records: &'a [R],
    id: impl Fn(&'a R) -> &'a String,
    params: impl Fn(&'a R, i64) -> P,
) -> Result<u64, CoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    let mut upsert = conn.prepare_cached(upsert)?;
    let mut mark_seen = pass
        .open
        .then(|| conn.prepare_cached(&format!("UPDATE {table} SET pass = ?2 WHERE id = ?1")))
        .transpose()?;
    let mut find_rowid = rewritten
        .is_some()
        .then(|| conn.prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1")))
        .transpose()?;
    for record in records {
        let last_inserted = conn.last_insert_rowid();
        let written = upsert.execute(params(record, pass.number))?;
        if written == 0 {
            if let Some(mark_seen) = mark_seen.as_mut() {
                mark_seen.execute((id(record), pass.number))?;
            }
        } else if let (Some(rewritten), Some(find_rowid)) =
            (rewritten.as_deref_mut(), find_rowid.as_mut())
        {
            // An upsert that updated leaves the last inserted rowid as it was (`RETURNING`
            // would say which rows, at a tenth of a page's time). An insert that happens to get
            // the same rowid is looked up too, and is told apart by the caller: it is new.
            if conn.last_insert_rowid() == last_inserted {
                rewritten.push(find_rowid.query_row([id(record)], |row| row.get(0))?);
            }
        }
    }
    Ok(records.len() as u64)
}

/// A Salesforce datetime in SystemModstamp's form, `2024-05-01T10:00:00.000+0000`, whose text
/// order is time order. Accepts that form and RFC 3339 (`2024-05-01T10:00:00Z`, as the
/// gateway writes `deleted_date`).
fn salesforce_stamp(text: &str) -> Option<String> {
    let rfc3339 = match text.strip_suffix("+0000") {
        Some(utc) => format!("{utc}Z"),
        None => text.to_owned(),
    };
    let at = OffsetDateTime::parse(&rfc3339, &Rfc3339)
        .ok()?
        .to_offset(UtcOffset::UTC);
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    ))
}

// An upsert never replaces a row with an older version of it: two processes syncing the same
// replica at once may apply pages out of order. SystemModstamp comes as Salesforce writes it,
// `2024-05-01T10:00:00.000+0000` (always UTC, fixed width), so text order is time order.

const UPSERT_ACCOUNT: &str = "
    INSERT INTO account (id, name, industry, phone, website, billing_street, billing_city,
                         billing_state, billing_postal_code, billing_country, owner_id,
                         system_modstamp, pass)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, industry = excluded.industry, phone = excluded.phone,
        website = excluded.website, billing_street = excluded.billing_street,
        billing_city = excluded.billing_city, billing_state = excluded.billing_state,
        billing_postal_code = excluded.billing_postal_code,
        billing_country = excluded.billing_country, owner_id = excluded.owner_id,
        system_modstamp = excluded.system_modstamp, pass = excluded.pass
    WHERE excluded.system_modstamp >= account.system_modstamp";

pub(super) const UPSERT_CONTACT: &str = "
    INSERT INTO contact (id, first_name, last_name, name, email, phone, mobile_phone, title,
                         account_id, owner_id, system_modstamp, pass)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name, name = excluded.name,
        email = excluded.email, phone = excluded.phone, mobile_phone = excluded.mobile_phone,
        title = excluded.title, account_id = excluded.account_id, owner_id = excluded.owner_id,
        system_modstamp = excluded.system_modstamp, pass = excluded.pass
    WHERE excluded.system_modstamp >= contact.system_modstamp";

pub(super) const UPSERT_OPPORTUNITY: &str = "
    INSERT INTO opportunity (id, name, stage_name, amount, close_date, probability, is_closed,
                             is_won, account_id, owner_id, system_modstamp, pass, next_step)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, stage_name = excluded.stage_name, amount = excluded.amount,
        close_date = excluded.close_date, probability = excluded.probability,
        is_closed = excluded.is_closed, is_won = excluded.is_won,
        account_id = excluded.account_id, owner_id = excluded.owner_id,
        system_modstamp = excluded.system_modstamp, pass = excluded.pass,
        next_step = excluded.next_step
    WHERE excluded.system_modstamp >= opportunity.system_modstamp";

pub(super) const UPSERT_TASK: &str = "
    INSERT INTO task (id, subject, status, priority, task_subtype, activity_date, who_id,
                      what_id, description, is_closed, owner_id, system_modstamp, pass)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (id) DO UPDATE SET
        subject = excluded.subject, status = excluded.status, priority = excluded.priority,
        task_subtype = excluded.task_subtype, activity_date = excluded.activity_date,
        who_id = excluded.who_id, what_id = excluded.what_id,
        description = excluded.description, is_closed = excluded.is_closed,
        owner_id = excluded.owner_id, system_modstamp = excluded.system_modstamp,
        pass = excluded.pass
    WHERE excluded.system_modstamp >= task.system_modstamp";

pub(super) const UPSERT_LEAD: &str = "
    INSERT INTO lead (id, first_name, last_name, name, company, title, email, phone, mobile_phone,
                      lead_source, status, owner_id, system_modstamp, pass)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name, name = excluded.name,
        company = excluded.company, title = excluded.title, email = excluded.email,
        phone = excluded.phone, mobile_phone = excluded.mobile_phone,
        lead_source = excluded.lead_source, status = excluded.status,
        owner_id = excluded.owner_id, system_modstamp = excluded.system_modstamp,
        pass = excluded.pass
    WHERE excluded.system_modstamp >= lead.system_modstamp";

// The parameters of the upserts above, for a page's records and for a record a write's answer
// brings (`records.rs`).

pub(super) fn contact_params(c: &Contact, pass: i64) -> impl Params + '_ {
    (
        &c.id,
        &c.first_name,
        &c.last_name,
        &c.name,
        &c.email,
        &c.phone,
        &c.mobile_phone,
        &c.title,
        &c.account_id,
        &c.owner_id,
        &c.system_modstamp,
        pass,
    )
}

pub(super) fn opportunity_params(o: &Opportunity, pass: i64) -> impl Params + '_ {
    (
        &o.id,
        &o.name,
        &o.stage_name,
        o.amount,
        &o.close_date,
        o.probability,
        o.is_closed,
        o.is_won,
        &o.account_id,
        &o.owner_id,
        &o.system_modstamp,
        pass,
        &o.next_step,
    )
}

pub(super) fn task_params(t: &Task, pass: i64) -> impl Params + '_ {
    (
        &t.id,
        &t.subject,
        &t.status,
        &t.priority,
        &t.task_subtype,
        &t.activity_date,
        &t.who_id,
        &t.what_id,
        &t.description,
        t.is_closed,
        &t.owner_id,
        &t.system_modstamp,
        pass,
    )
}

pub(super) fn lead_params(l: &Lead, pass: i64) -> impl Params + '_ {
    (
        &l.id,
        &l.first_name,
        &l.last_name,
        &l.name,
        &l.company,
        &l.title,
        &l.email,
        &l.phone,
        &l.mobile_phone,
        &l.lead_source,
        &l.status,
        &l.owner_id,
        &l.system_modstamp,
        pass,
    )
}

/// Per object (in `OBJECTS` order): delete unless the record was stamped after the deletion.
const DELETE: [&str; 5] = [
    "DELETE FROM account WHERE id = ?1 AND (?2 IS NULL OR system_modstamp <= ?2)",
    "DELETE FROM contact WHERE id = ?1 AND (?2 IS NULL OR system_modstamp <= ?2)",
    "DELETE FROM opportunity WHERE id = ?1 AND (?2 IS NULL OR system_modstamp <= ?2)",
    "DELETE FROM task WHERE id = ?1 AND (?2 IS NULL OR system_modstamp <= ?2)",
    "DELETE FROM lead WHERE id = ?1 AND (?2 IS NULL OR system_modstamp <= ?2)",
];

/// Per object: the records not written during the pass that just ended. A record made on this
/// device and not yet in Salesforce (a local id) is no pass's to drop.
const END_PASS: [&str; 5] = [
    "DELETE FROM account WHERE pass < ?1",
    "DELETE FROM contact WHERE pass < ?1",
    "DELETE FROM opportunity WHERE pass < ?1",
    "DELETE FROM task WHERE pass < ?1 AND id NOT LIKE 'local-%'",
    "DELETE FROM lead WHERE pass < ?1 AND id NOT LIKE 'local-%'",
];

#[cfg(test)]
mod tests {
    use super::salesforce_stamp;

    #[test]
    fn deleted_dates_compare_like_system_modstamps() {
        let stamp = |s: &str| salesforce_stamp(s).unwrap();
        assert_eq!(
            stamp("2024-05-01T10:00:00Z"),
            "2024-05-01T10:00:00.000+0000"
        );
        assert_eq!(
            stamp("2024-05-01T12:00:00.250+02:00"),
            "2024-05-01T10:00:00.250+0000"
        );
        assert_eq!(
            stamp("2024-05-01T10:00:00.000+0000"),
            "2024-05-01T10:00:00.000+0000"
        );
        assert_eq!(salesforce_stamp("yesterday"), None);
        assert_eq!(salesforce_stamp(""), None);
    }
}
