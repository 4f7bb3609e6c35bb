//! The on-device copy of the rep's Salesforce data: one SQLCipher-encrypted SQLite file per
//! org + user.

// Companion and the CLI wire the read API up as issue 5's commands land (the lead's side); until
// then parts of it are used by the tests only.

mod apply;
mod export;
mod key;
mod migrations;
mod outbox;
mod overlay;
mod records;
mod search;
mod search_upkeep;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use companion_api::{DescribeResponse, PicklistEntry};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::CoreError;
use crate::files;

pub(crate) use apply::PageCounts;
pub(crate) use key::ReplicaKey;
pub(crate) use outbox::{is_local_id, key_prefix, now_ms, Claimed, Outcome};
pub(crate) use views::Via;
pub use views::{
    AccountDetail, AccountSummary, ContactDetail, ContactKey, ContactPage, ContactQuery,
    ContactSummary, LeadDetail, LeadQuery, LeadSummary, OpportunityDetail, OpportunityQuery,
    OpportunitySort, OpportunitySummary, SearchHit, TaskSummary,
};

/// Objects whose records this replica keeps (and so whose sync cursors it keeps), by
/// Salesforce API name, with their tables.
const OBJECTS: [&str; 5] = ["Account", "Contact", "Opportunity", "Task", "Lead"];
const TABLES: [&str; 5] = ["account", "contact", "opportunity", "task", "lead"];

const LAST_SYNCED_AT: &str = "last_synced_at";
/// Sync pages applied between two checkpoints of the WAL ([`Replica::checkpoint`]): with pages
/// of 2,000 records, about 30 MiB of WAL, a few fsyncs per first sync instead of dozens.
const PAGES_PER_CHECKPOINT: u32 = 8;
/// `meta` key: `1` while the gateway refuses the session (the rep must sign in again).
const REAUTH_REQUIRED: &str = "reauth_required";

/// A replica: a writer connection (sync, Saves), a reader connection (screens), so that reads
/// go on while a page is being applied (WAL), and a third that copies the WAL back into the
/// database (checkpoints) without holding up the writer.
pub(crate) struct Replica {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    checkpointer: Mutex<Connection>,
    /// Sync pages applied since the last checkpoint.
    pages_since_checkpoint: AtomicU32,
    /// Mirrors `meta.reauth_required`, read by every listing of pending states.
    reauth_required: AtomicBool,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// The file of an org + user under `data_dir`. Salesforce ids are alphanumeric; anything
    /// else is refused so an id can never walk out of the folder.
    pub(crate) fn path_for(
        data_dir: &Path,
        org_id: &str,
        user_id: &str,
    ) -> Result<PathBuf, CoreError> {
        let valid = |id: &str| {
            !id.is_empty() && id.len() <= 18 && id.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !valid(org_id) || !valid(user_id) {
            return Err(CoreError::BadInput(format!(
                "not a Salesforce id: {org_id:?} / {user_id:?}"
            )));
        }
        Ok(data_dir
            .join("replicas")
            .join(format!("{org_id}_{user_id}.sqlite3")))
    }

    /// Opens (creating if needed) and migrates the replica at `path`, encrypted with `key`. A
    /// wrong key, or a file that is not a replica, is [`CoreError::ReplicaUnreadable`]: offer a
    /// fresh sync ([`Replica::destroy`], then open again).
    pub(crate) fn open(path: &Path, key: &ReplicaKey) -> Result<Self, CoreError> {
        // The replica holds the rep's customer data: folder 0700 and files 0600 on unix.
        if let Some(dir) = path.parent() {
            files::create_private_dir_all(dir)
                .and_then(|()| files::make_dir_private(dir))
                .map_err(|e| CoreError::storage("could not create the replica folder", e))?;
        }
        files::ensure_private_file(path)
            .map_err(|e| CoreError::storage(&format!("could not create {}", path.display()), e))?;
        let mut writer = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            key,
        )?;
        // WAL: readers never wait for the writer; a crash loses at most the open transaction.
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CoreError::Storage(format!(
                "the replica could not switch to WAL (got {mode})"
            )));
        }
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        // A first sync writes tens of megabytes: a 64 MiB page cache spares re-reading (and
        // decrypting) index pages it just wrote; the sorts that build indexes after a pass stay
        // in memory. The cache is only filled as far as the replica is large. No commit of the
        // writer checkpoints: one lands on whichever commit crosses the line and holds the
        // writer meanwhile — 60–80 ms in a Save instead of under one, 750 ms in a sync page a
        // Save then waited for. The checkpointer does it instead ([`Replica::checkpoint`]), and
        // the WAL is cut back to 64 MiB when it starts over.
        writer.execute_batch(
            "PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA temp_store = MEMORY;",
        )?;
        // SQLite creates `-wal`/`-shm` with the database file's mode; ones left by an older
        // version may be looser.
        for side in side_files(path) {
            if side.exists() {
                files::ensure_private_file(&side).map_err(|e| {
                    CoreError::storage(&format!("could not protect {}", side.display()), e)
                })?;
            }
        }
        migrations::migrations().to_latest(&mut writer)?;
        let reauth_required: bool = writer
            .query_row(
                "SELECT value = '1' FROM meta WHERE key = ?1",
                [REAUTH_REQUIRED],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(false);
        let reader = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY, key)?;
        // Screens and the search box read records all over the file; every page that falls out
        // of the cache is read and decrypted again. 32 MiB keeps a large replica's hot pages.
        reader.execute_batch("PRAGMA cache_size = -32768")?;
        // Copies pages from the WAL to the file; its own cache holds next to nothing.
        let checkpointer = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE, key)?;
        checkpointer.execute_batch("PRAGMA cache_size = -1024")?;
        let replica = Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            checkpointer: Mutex::new(checkpointer),
            pages_since_checkpoint: AtomicU32::new(0),
            reauth_required: AtomicBool::new(reauth_required),
        };
        // Index builds a stopped process left undone after its pass ended.
        replica.restore_deferred_indexes()?;
        Ok(replica)
    }

    /// Removes the replica file at `path` and its `-wal`/`-shm`, for a fresh sync. Drop every
    /// `Replica` open on it first. A file already gone is fine.
    pub(crate) fn destroy(path: &Path) -> Result<(), CoreError> {
        for file in std::iter::once(path.to_owned()).chain(side_files(path)) {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(CoreError::storage(
                        &format!("could not remove {}", file.display()),
                        e,
                    ))
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cursor per object, as last stored with an applied page.
    pub(crate) fn cursors(&self) -> Result<BTreeMap<String, String>, CoreError> {
        let conn = self.writer();
        let mut stmt = conn.prepare_cached("SELECT object, cursor FROM sync_state")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn last_synced_at(&self) -> Result<Option<String>, CoreError> {
        let conn = self.reader();
        let value = conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [LAST_SYNCED_AT],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value)
    }

    pub(crate) fn set_last_synced_at(&self, rfc3339: &str) -> Result<(), CoreError> {
        self.writer().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [LAST_SYNCED_AT, rfc3339],
        )?;
        Ok(())
    }

    /// Copies the WAL back into the database now, on the checkpointer: the writer goes on
    /// meanwhile (a Save does not wait for it). PASSIVE: never waits for readers; what a reader
    /// still uses is copied next time.
    pub(crate) fn checkpoint(&self) -> Result<(), CoreError> {
        self.pages_since_checkpoint.store(0, Ordering::Relaxed);
        self.checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// What `id` names now: a local id of a record Salesforce has made is its Salesforce id.
    pub(crate) fn resolve_id(&self, id: &str) -> Result<String, CoreError> {
        outbox::resolve(&self.reader(), id)
    }

    /// Whether the gateway refused the session last time (writes wait for the rep to sign in).
    pub(crate) fn reauth_required(&self) -> bool {
        self.reauth_required.load(Ordering::SeqCst)
    }

    pub(crate) fn set_reauth_required(&self, required: bool) -> Result<(), CoreError> {
        if self.reauth_required.swap(required, Ordering::SeqCst) == required {
            return Ok(());
        }
        self.writer().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [REAUTH_REQUIRED, if required { "1" } else { "0" }],
        )?;
        Ok(())
    }

    /// How many records of each object (`Account`, `Contact`, `Opportunity`, `Task`, `Lead`)
    /// are here (records made on this device included).
    pub(crate) fn counts(&self) -> Result<BTreeMap<String, u64>, CoreError> {
        let conn = self.reader();
        let mut counts = BTreeMap::new();
        for (object, table) in OBJECTS.iter().zip(TABLES) {
            let n: i64 = conn
                .prepare_cached(&format!("SELECT count(*) FROM {table}"))?
                .query_row([], |row| row.get(0))?;
            counts.insert(object.to_string(), n.max(0) as u64);
        }
        Ok(counts)
    }

    /// How many records of `object` are held here.
    pub(crate) fn count_of(&self, object: &str) -> Result<u64, CoreError> {
        let table = table_of(object)?;
        let n: i64 = self
            .reader()
            .prepare_cached(&format!("SELECT count(*) FROM {table}"))?
            .query_row([], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Every id of `object` held here, ascending.
    #[cfg(test)]
    pub(crate) fn ids(&self, object: &str) -> Result<Vec<String>, CoreError> {
        let table = table_of(object)?;
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT id FROM {table} ORDER BY id"))?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes every record of `object` whose id is not in `keep` (the ids the rep may still
    /// see), in one transaction. Returns how many went.
    pub(crate) fn retain_only(
        &self,
        object: &str,
        keep: &BTreeSet<String>,
    ) -> Result<u64, CoreError> {
        let table = table_of(object)?;
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut removed = 0;
        {
            let mut ids = tx.prepare_cached(&format!("SELECT id FROM {table}"))?;
            let gone: Vec<String> = ids
                .query_map([], |row| row.get::<_, String>(0))?
                // A record made on this device is not Salesforce's to take away.
                .filter(|id| {
                    id.as_ref()
                        .map_or(true, |id| !keep.contains(id) && !is_local_id(id))
                })
                .collect::<Result<_, _>>()?;
            let mut delete = tx.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?;
            for id in &gone {
                removed += delete.execute([id])? as u64;
            }
        }
        search_upkeep::removed_outside_a_page(&tx, table, removed)?;
        tx.commit()?;
        Ok(removed)
    }

    /// Replaces the stored picklists of `describe.object` with these.
    pub(crate) fn store_describe(&self, describe: &DescribeResponse) -> Result<(), CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM picklist WHERE object = ?1")?
            .execute([&describe.object])?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO picklist (object, field, position, value, label, is_default,
                                       probability, closed, won)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (field, entries) in &describe.picklists {
                for (position, e) in entries.iter().enumerate() {
                    insert.execute((
                        &describe.object,
                        field,
                        position as i64,
                        &e.value,
                        &e.label,
                        e.default,
                        e.probability,
                        e.closed,
                        e.won,
                    ))?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The active values of a picklist in Salesforce's order; empty when not described yet.
    pub(crate) fn picklist(
        &self,
        object: &str,
        field: &str,
    ) -> Result<Vec<PicklistEntry>, CoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT value, label, is_default, probability, closed, won FROM picklist
             WHERE object = ?1 AND field = ?2 ORDER BY position",
        )?;
        let rows = stmt.query_map([object, field], |row| {
            Ok(PicklistEntry {
                value: row.get(0)?,
                label: row.get(1)?,
                default: row.get(2)?,
                probability: row.get(3)?,
                closed: row.get(4)?,
                won: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether `text` in a search box searches (words to look for) rather than lists everything.
pub(crate) fn is_a_search(text: &str) -> bool {
    search::fts_query(text).is_some()
}

fn table_of(object: &str) -> Result<&'static str, CoreError> {
    OBJECTS
        .iter()
        .position(|o| *o == object)
        .map(|i| TABLES[i])
        .ok_or_else(|| {
            CoreError::BadInput(format!(
                "the replica keeps no {object:?}; objects are {}",
                OBJECTS.join(", ")
            ))
        })
}

fn side_files(path: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        PathBuf::from(side)
    })
}

/// Opens a connection and unlocks it with `key` before anything else touches the file, then
/// reads the schema to check the key fits: SQLCipher only notices a wrong key on first read.
fn connect(path: &Path, flags: OpenFlags, key: &ReplicaKey) -> Result<Connection, CoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| CoreError::storage(&format!("could not open {}", path.display()), e))?;
    conn.execute_batch(&key.pragma())?;
    let check = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    match check {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) =>
        {
            tracing::warn!(path = %path.display(), "the replica cannot be decrypted");
            return Err(CoreError::ReplicaUnreadable);
        }
        Err(e) => return Err(e.into()),
    }
    conn.busy_timeout(Duration::from_secs(5))?;
    // Every statement core runs is cached (`prepare_cached`), and a Save alone runs a few
    // dozen: with rusqlite's default of 16 they pushed each other out, and a third of a Save
    // went to parsing SQL again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Prepared statements kept per connection (see [`connect`]).
const STATEMENT_CACHE: usize = 256;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;
