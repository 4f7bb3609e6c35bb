//! The search index while a pass runs (a first sync, or a reset after the delete log stopped
//! reaching back). Outside passes the triggers keep it current record by record. A pass
//! rewrites whole tables, and upkeep row by row cost several times the rows themselves, so
//! during one the triggers stand aside (a row in `search_deferred`) and the index follows in
//! one of two ways:
//!
//! - **Page by page**, when the pass began on empty tables (a first sync, a fresh start): each
//!   page indexes the records it brought, in bulk and in rowid order, in its own transaction.
//!   The first sync ends with its index built, and search finds records as their pages land.
//!   A contact or opportunity is indexed once its account is here (the account's name is part
//!   of its entry; until then it waits in `search_waiting`) or once the accounts' pass has
//!   ended (then it has none).
//! - **Rebuilt at the end**, when the pass rewrites tables that held records: nothing is
//!   indexed while it runs, and the whole index is rebuilt from the tables when the last pass
//!   ends. What page-by-page indexing does not expect falls back to this: an account changed
//!   or deleted during the pass (its contacts' entries carry its name), records of an older
//!   pass left at its end, records removed by a reconciliation.
//!
//! FTS5 never merges as it writes (`automerge` 0, schema 5): page by page, merging the segment
//! each page's commit writes doubled the index's cost on the sync's path; outside passes, a
//! merge ran in the commit of a rep's Save. [`Replica::tidy_search`] merges afterwards, a step
//! at a time, in the background; FTS5's crisis merge waits for [`CRISIS_MERGE`] segments on a
//! level (schema 6), which the tidy-up never lets a rep's Saves reach.

use rusqlite::{Connection, OptionalExtension};

use super::Replica;
use crate::error::CoreError;

/// The searched tables, by kind: a search rowid is `record rowid * 4 + kind` (see schema 2;
/// leads since schema 5).
const SEARCHED: [(&str, i64); 4] = [
    ("account", 1),
    ("contact", 2),
    ("opportunity", 3),
    ("lead", 0),
];

/// Leaf pages merged per [`Replica::tidy_search`] step: about a megabyte, a few milliseconds.
const TIDY_STEP_PAGES: i64 = 256;

/// Segments on one level at which FTS5 merges them in the commit that adds the last: the
/// background loop's tidy-up merges long before, so a rep's Save does not (schema 6 sets it).
const CRISIS_MERGE: i64 = 64;

/// How the search index follows the replica right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upkeep {
    /// No pass of a searched object runs: triggers keep the index current.
    Triggers,
    /// A pass that began on empty tables: each page indexes its records ([`PageIndex`]).
    PageByPage,
    /// Any other pass: the index is rebuilt from the tables when the last pass ends.
    RebuildAtEnd,
}

pub(super) fn current(conn: &Connection) -> Result<Upkeep, CoreError> {
    let page_by_page: Option<bool> = conn
        .prepare_cached("SELECT page_by_page FROM search_deferred")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(match page_by_page {
        None => Upkeep::Triggers,
        Some(true) => Upkeep::PageByPage,
        Some(false) => Upkeep::RebuildAtEnd,
    })
}

/// A pass of the searched `table` opens.
pub(super) fn pass_opens(
    conn: &Connection,
    upkeep: Upkeep,
    table: &str,
) -> Result<Upkeep, CoreError> {
    match upkeep {
        Upkeep::Triggers => {
            let mut empty = true;
            for (searched, _) in SEARCHED {
                empty &= !holds_synced_records(conn, searched)?;
            }
            conn.prepare_cached("INSERT INTO search_deferred (one, page_by_page) VALUES (1, ?1)")?
                .execute([empty])?;
            if !empty {
                return Ok(Upkeep::RebuildAtEnd);
            }
            // Nothing synced, so an index of only what the rep made here (`delete-all` makes
            // sure of it, cheaply). A sync of more than CRISIS_MERGE pages merges a level's
            // segments as it goes, in a page's commit.
            conn.execute_batch(
                "INSERT INTO search (search) VALUES ('delete-all');
                 INSERT INTO search (search, rank) VALUES ('automerge', 0);",
            )?;
            index_records_made_here(conn)?;
            Ok(Upkeep::PageByPage)
        }
        Upkeep::PageByPage if holds_synced_records(conn, table)? => rebuild_at_end(conn),
        other => Ok(other),
    }
}

/// Gives up page-by-page indexing for this pass: the index is rebuilt when it ends.
pub(super) fn rebuild_at_end(conn: &Connection) -> Result<Upkeep, CoreError> {
    conn.prepare_cached("UPDATE search_deferred SET page_by_page = 0")?
        .execute([])?;
    Ok(Upkeep::RebuildAtEnd)
}

/// `removed` records of `table` went outside a page (records that left the rep's view): the
/// triggers took their entries, unless they stand aside for page-by-page indexing, which
/// does not see this — then the index is rebuilt when the pass ends.
pub(super) fn removed_outside_a_page(
    conn: &Connection,
    table: &str,
    removed: u64,
) -> Result<(), CoreError> {
    let searched = SEARCHED.iter().any(|(t, _)| *t == table);
    if searched && removed > 0 && current(conn)? == Upkeep::PageByPage {
        rebuild_at_end(conn)?;
    }
    Ok(())
}

/// Every pass of a searched object has ended: the triggers take over again.
pub(super) fn passes_ended(conn: &Connection, upkeep: Upkeep) -> Result<(), CoreError> {
    match upkeep {
        Upkeep::Triggers => return Ok(()),
        Upkeep::PageByPage => conn.execute_batch("DELETE FROM search_deferred;")?,
        Upkeep::RebuildAtEnd => conn.execute_batch(&REBUILD_SEARCH)?,
    }
    conn.execute_batch("DELETE FROM search_waiting")?;
    Ok(())
}

/// [`super::migrations::REBUILD_SEARCH`] with its `DIGITS()` spelled out.
static REBUILD_SEARCH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    super::migrations::expand_digits(super::migrations::REBUILD_SEARCH)
});

/// Whether `table` holds records a sync wrote. Those the rep made here (a lead saved before
/// the first page landed) do not count: a pass never rewrites them, and [`pass_opens`] and
/// [`changed_outside_a_page`] index them. Counting them made a lead saved in the first
/// seconds after sign-in cost the whole first sync a rebuild of its index at the end, in one
/// transaction the rep's next Save waited for.
fn holds_synced_records(conn: &Connection, table: &str) -> Result<bool, CoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE id NOT LIKE 'local-%')"
        ))?
        .query_row([], |row| row.get::<_, bool>(0))?)
}

/// Writes the entries of the records made here, which `delete-all` took.
fn index_records_made_here(conn: &Connection) -> Result<(), CoreError> {
    for (slot, (table, _)) in SEARCHED.iter().enumerate() {
        let rowids: Vec<i64> = conn
            .prepare_cached(&format!(
                "SELECT rowid FROM {table} WHERE id LIKE 'local-%' ORDER BY rowid"
            ))?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for rowid in rowids {
            conn.prepare_cached(&ONE_ENTRY[slot])?.execute([rowid])?;
        }
    }
    Ok(())
}

/// One page's share of page-by-page indexing. New rows are found by rowid (above the
/// table's highest before the page); rows the page rewrote or deleted, and those whose wait
/// for an account ended, are noted in `temp.search_todo` (search rowids) as the page applies.
/// [`PageIndex::finish`] deletes the noted rows' entries and writes the entries of both, each
/// in rowid order — FTS5 writes a segment whenever a rowid comes out of order.
pub(super) struct PageIndex {
    /// The highest rowid of each searched table before the page.
    before: [i64; 4],
    /// The page did what page-by-page indexing does not follow.
    gave_up: bool,
}

impl PageIndex {
    pub(super) fn begin(conn: &Connection) -> Result<Self, CoreError> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS search_todo (rowid INTEGER PRIMARY KEY);
             DELETE FROM temp.search_todo;",
        )?;
        let mut before = [0; 4];
        for ((table, _), highest) in SEARCHED.iter().zip(&mut before) {
            *highest = conn
                .prepare_cached(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"))?
                .query_row([], |row| row.get(0))?;
        }
        Ok(PageIndex {
            before,
            gave_up: false,
        })
    }

    /// The page wrote the record at `rowid` of searched table `object` (0 account, 1 contact,
    /// 2 opportunity, 3 lead). A rewritten contact, opportunity or lead has its entry replaced;
    /// a rewritten account ends page-by-page indexing.
    pub(super) fn written(
        &mut self,
        conn: &Connection,
        object: usize,
        rowid: i64,
    ) -> Result<(), CoreError> {
        if rowid > self.before[object] || self.gave_up {
            return Ok(());
        }
        if object == 0 {
            return self.give_up(conn);
        }
        conn.prepare_cached("INSERT OR IGNORE INTO temp.search_todo (rowid) VALUES (?1)")?
            .execute([rowid * 4 + SEARCHED[object].1])?;
        Ok(())
    }

    /// The page is about to delete record `id` of searched table `object`: its entry goes. An
    /// account's deletion ends page-by-page indexing.
    pub(super) fn deleting(
        &mut self,
        conn: &Connection,
        object: usize,
        id: &str,
    ) -> Result<(), CoreError> {
        if self.gave_up {
            return Ok(());
        }
        if object == 0 {
            let here: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM account WHERE id = ?1)")?
                .query_row([id], |row| row.get(0))?;
            return if here { self.give_up(conn) } else { Ok(()) };
        }
        let (table, kind) = SEARCHED[object];
        conn.prepare_cached(&format!(
            "INSERT OR IGNORE INTO temp.search_todo (rowid)
             SELECT rowid * 4 + {kind} FROM {table} WHERE id = ?1"
        ))?
        .execute([id])?;
        Ok(())
    }

    fn give_up(&mut self, conn: &Connection) -> Result<(), CoreError> {
        rebuild_at_end(conn)?;
        self.gave_up = true;
        Ok(())
    }

    /// Writes the entries of everything the page changed, and says how the index follows the
    /// pass from here. `accounts_open`: the accounts' pass still runs after this page (a
    /// contact whose account is not here yet waits for it); `accounts_ended`: it ended with
    /// this page (whoever waited is indexed now, without an account name).
    pub(super) fn finish(
        self,
        conn: &Connection,
        upkeep: Upkeep,
        accounts_open: bool,
        accounts_ended: bool,
    ) -> Result<Upkeep, CoreError> {
        if self.gave_up || upkeep != Upkeep::PageByPage {
            conn.prepare_cached("DELETE FROM temp.search_todo")?
                .execute([])?;
            return Ok(Upkeep::RebuildAtEnd);
        }
        // Those waiting for an account that came, or for the accounts' pass that ended. One
        // rewritten since it began waiting may have an entry already: noted like the others.
        if accounts_ended {
            conn.execute_batch(
                "INSERT OR IGNORE INTO temp.search_todo (rowid)
                 SELECT search_rowid FROM search_waiting;
                 DELETE FROM search_waiting;",
            )?;
        } else {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO temp.search_todo (rowid)
                 SELECT w.search_rowid
                 FROM account a JOIN search_waiting w ON w.account_id = a.id
                 WHERE a.rowid > ?1",
            )?
            .execute([self.before[0]])?;
            conn.prepare_cached(
                "DELETE FROM search_waiting
                 WHERE account_id IN (SELECT id FROM account WHERE rowid > ?1)",
            )?
            .execute([self.before[0]])?;
        }
        // Deleting an entry that is not there costs a lookup and changes nothing.
        let noted: Vec<i64> = conn
            .prepare_cached("SELECT rowid FROM temp.search_todo ORDER BY rowid")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut delete = conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?;
        for rowid in noted {
            delete.execute([rowid])?;
        }
        let [accounts, contacts, opportunities, leads] = self.before;
        if accounts_open {
            conn.prepare_cached(&START_WAITING)?
                .execute((contacts, opportunities))?;
        }
        conn.prepare_cached(&INDEX_PAGE)?.execute((
            accounts_open,
            accounts,
            contacts,
            opportunities,
            leads,
        ))?;
        conn.prepare_cached("DELETE FROM temp.search_todo")?
            .execute([])?;
        Ok(Upkeep::PageByPage)
    }
}

/// The records of a searched table a page indexes, as `FROM … WHERE …` over `x`: its new rows
/// (rowid above `?before`), and its noted ones.
fn page_records(table: &str, kind: i64, before: &str) -> [(String, String); 2] {
    [
        (format!("FROM {table} x"), format!("x.rowid > {before}")),
        (
            format!("FROM temp.search_todo t JOIN {table} x ON x.rowid = t.rowid / 4"),
            format!("t.rowid % 4 = {kind} AND x.rowid <= {before}"),
        ),
    ]
}

/// The page's contacts and opportunities whose account is not here (yet) start waiting for
/// it. `?1`, `?2`: the highest contact and opportunity rowids before the page.
static START_WAITING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut parts = Vec::new();
    for (table, kind, before) in [("contact", 2, "?1"), ("opportunity", 3, "?2")] {
        for (from, condition) in page_records(table, kind, before) {
            parts.push(format!(
                "SELECT x.account_id, x.rowid * 4 + {kind} {from}
                 WHERE {condition} AND x.account_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM account WHERE id = x.account_id)"
            ));
        }
    }
    format!(
        "INSERT OR IGNORE INTO search_waiting (account_id, search_rowid) {}",
        parts.join(" UNION ALL ")
    )
});

/// The entries of a page's records that exist and may be indexed, in rowid order, with the
/// fields the triggers of schemas 3 and 5 write. `?1`: the accounts' pass still runs (a contact
/// or opportunity whose account is not here waits); `?2`–`?5`: the highest account, contact,
/// opportunity and lead rowids before the page.
static INDEX_PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut parts = Vec::new();
    for (from, condition) in page_records("lead", 0, "?5") {
        parts.push(format!(
            "SELECT x.rowid * 4, {LEAD_ENTRY} {from} WHERE {condition}"
        ));
    }
    for (from, condition) in page_records("account", 1, "?2") {
        parts.push(format!(
            "SELECT x.rowid * 4 + 1, x.name, NULL, x.phone, NULL, NULL, DIGITS(x.phone)
             {from} WHERE {condition}"
        ));
    }
    for (from, condition) in page_records("contact", 2, "?3") {
        parts.push(format!(
            "SELECT x.rowid * 4 + 2, x.name, x.email, concat_ws(' ', x.phone, x.mobile_phone),
                    x.title, a.name, concat_ws(' ', DIGITS(x.phone), DIGITS(x.mobile_phone))
             {from} LEFT JOIN account a ON a.id = x.account_id
             WHERE {condition} AND (x.account_id IS NULL OR a.id IS NOT NULL OR NOT ?1)"
        ));
    }
    for (from, condition) in page_records("opportunity", 3, "?4") {
        parts.push(format!(
            "SELECT x.rowid * 4 + 3, x.name, NULL, NULL, NULL, a.name, NULL
             {from} LEFT JOIN account a ON a.id = x.account_id
             WHERE {condition} AND (x.account_id IS NULL OR a.id IS NOT NULL OR NOT ?1)"
        ));
    }
    super::migrations::expand_digits(&format!(
        "INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
         {} ORDER BY 1",
        parts.join(" UNION ALL ")
    ))
});

/// A lead's searched fields after its search rowid, as the triggers of schema 5 write them.
const LEAD_ENTRY: &str = "x.name, x.email, concat_ws(' ', x.phone, x.mobile_phone), x.title, \
     x.company, concat_ws(' ', DIGITS(x.phone), DIGITS(x.mobile_phone))";

/// One record's entry, as the page-by-page indexing writes it, by searched table; `?1` is the
/// record's rowid.
static ONE_ENTRY: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| {
    let insert =
        "INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)";
    [
        format!(
            "{insert} SELECT x.rowid * 4 + 1, x.name, NULL, x.phone, NULL, NULL, DIGITS(x.phone)
             FROM account x WHERE x.rowid = ?1"
        ),
        format!(
            "{insert} SELECT x.rowid * 4 + 2, x.name, x.email,
                    concat_ws(' ', x.phone, x.mobile_phone), x.title, a.name,
                    concat_ws(' ', DIGITS(x.phone), DIGITS(x.mobile_phone))
             FROM contact x LEFT JOIN account a ON a.id = x.account_id WHERE x.rowid = ?1"
        ),
        format!(
            "{insert} SELECT x.rowid * 4 + 3, x.name, NULL, NULL, NULL, a.name, NULL
             FROM opportunity x LEFT JOIN account a ON a.id = x.account_id WHERE x.rowid = ?1"
        ),
        format!("{insert} SELECT x.rowid * 4, {LEAD_ENTRY} FROM lead x WHERE x.rowid = ?1"),
    ]
    .map(|sql| super::migrations::expand_digits(&sql))
});

/// The record at `rowid` of `table` was written, inserted or deleted outside a sync page (a
/// Save, a write Salesforce answered, a discard). Triggers keep its entry current, except
/// while a pass indexes page by page: then its entry is written here, for a page indexes only
/// its own records. (A pass that rebuilds at its end picks it up then; a contact waiting for
/// its account is indexed when the account comes.)
pub(super) fn changed_outside_a_page(
    conn: &Connection,
    table: &str,
    rowid: i64,
) -> Result<(), CoreError> {
    let Some(slot) = SEARCHED.iter().position(|(t, _)| *t == table) else {
        return Ok(());
    };
    if current(conn)? != Upkeep::PageByPage {
        return Ok(());
    }
    let search_rowid = rowid * 4 + SEARCHED[slot].1;
    let waiting: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_waiting WHERE search_rowid = ?1)")?
        .query_row([search_rowid], |row| row.get(0))?;
    if waiting {
        return Ok(());
    }
    // Each write adds a segment, and the write that brings a level to the crisis line merges
    // the level's CRISIS_MERGE segments, for half a second on a first sync of 100,000 contacts. The
    // sync's next page does that, not the rep's Save.
    conn.prepare_cached("INSERT INTO search (search, rank) VALUES ('crisismerge', 1000)")?
        .execute([])?;
    conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute([search_rowid])?;
    conn.prepare_cached(&ONE_ENTRY[slot])?.execute([rowid])?;
    conn.prepare_cached("INSERT INTO search (search, rank) VALUES ('crisismerge', ?1)")?
        .execute([CRISIS_MERGE])?;
    Ok(())
}

impl Replica {
    /// Merges a step's worth of the search index's segments (a first sync leaves one per
    /// page). Returns whether there is more to merge. Each step is its own short
    /// transaction, so a background loop can run them between the rep's writes; search is
    /// correct throughout, and a little faster after.
    pub(crate) fn tidy_search(&self) -> Result<bool, CoreError> {
        let conn = self.writer();
        let before = conn.total_changes();
        conn.prepare_cached("INSERT INTO search (search, rank) VALUES ('merge', ?1)")?
            .execute([TIDY_STEP_PAGES])?;
        // FTS5's documented signal: a step that merged nothing changes fewer than 2 rows.
        Ok(conn.total_changes() - before >= 2)
    }

    /// Rows of the search index's own table: each Save of a searched record adds a segment
    /// (a row for a short one), a merge turns several into one.
    #[cfg(test)]
    pub(crate) fn search_index_rows(&self) -> i64 {
        self.writer()
            .query_row("SELECT count(*) FROM search_data", [], |row| row.get(0))
            .unwrap()
    }
}
