//! The on-device copy of the rep's Salesforce data: one SQLite file per org + user.

mod migrations;
mod search;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use companion_api::{Account, Contact, SyncResponse};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use crate::error::CoreError;
use crate::files;

/// One contact as the list and search screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactSummary {
    /// The Salesforce id.
    pub id: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub account_name: Option<String>,
}

/// How many records of each object one page changed (upserts + deletes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PageCounts {
    pub accounts: u64,
    pub contacts: u64,
}

/// Objects whose records this replica keeps (and so whose sync cursors it keeps).
const REPLICATED_OBJECTS: &[&str] = &["Account", "Contact"];

const LAST_SYNCED_AT: &str = "last_synced_at";

/// A replica: a writer connection (sync) and a reader connection (screens), so that reads go on
/// while a page is being applied (WAL).
pub(crate) struct Replica {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
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

    /// Opens (creating if needed) and migrates the replica at `path`. The only place a replica
    /// file is opened: issue 5's SQLCipher key (`PRAGMA key`) goes in `connect`.
    pub(crate) fn open(path: &Path) -> Result<Self, CoreError> {
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
        )?;
        // WAL: readers never wait for the writer; a crash loses at most the open transaction.
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CoreError::Storage(format!(
                "the replica could not switch to WAL (got {mode})"
            )));
        }
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite creates `-wal`/`-shm` with the database file's mode; ones left by an older
        // version may be looser.
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = PathBuf::from(side);
            if side.exists() {
                files::ensure_private_file(&side).map_err(|e| {
                    CoreError::storage(&format!("could not protect {}", side.display()), e)
                })?;
            }
        }
        migrations::migrations().to_latest(&mut writer)?;
        let reader = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
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

    /// Applies one page — upserts, deletes and the new cursors — in one transaction: after a
    /// crash or an error either all of it is there or none of it.
    pub(crate) fn apply_page(&self, page: &SyncResponse) -> Result<PageCounts, CoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = PageCounts::default();
        {
            let mut upsert_account = tx.prepare_cached(UPSERT_ACCOUNT)?;
            for account in &page.accounts {
                upsert_account.execute(account_params(account))?;
                counts.accounts += 1;
            }
            let mut upsert_contact = tx.prepare_cached(UPSERT_CONTACT)?;
            for contact in &page.contacts {
                upsert_contact.execute(contact_params(contact))?;
                counts.contacts += 1;
            }
            let mut delete_account = tx.prepare_cached("DELETE FROM account WHERE id = ?1")?;
            let mut delete_contact = tx.prepare_cached("DELETE FROM contact WHERE id = ?1")?;
            for deleted in &page.deleted {
                match deleted.object.as_str() {
                    "Account" => {
                        delete_account.execute([&deleted.id])?;
                        counts.accounts += 1;
                    }
                    "Contact" => {
                        delete_contact.execute([&deleted.id])?;
                        counts.contacts += 1;
                    }
                    other => tracing::debug!(
                        object = other,
                        "ignoring a delete of an object not replicated"
                    ),
                }
            }
            let mut save_cursor = tx.prepare_cached(
                "INSERT INTO sync_state (object, cursor) VALUES (?1, ?2)
                 ON CONFLICT (object) DO UPDATE SET cursor = excluded.cursor",
            )?;
            // A cursor is kept only for an object whose records are kept: a cursor without the
            // records would skip them for good once the replica learns the object.
            for (object, cursor) in &page.cursors {
                if REPLICATED_OBJECTS.contains(&object.as_str()) {
                    save_cursor.execute([object, cursor])?;
                }
            }
        }
        tx.commit()?;
        Ok(counts)
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

    /// Every contact sorted by name, or the best matches of `search` (word prefixes of name,
    /// email, title, account name; case and accents ignored).
    pub(crate) fn contacts(&self, search: Option<&str>) -> Result<Vec<ContactSummary>, CoreError> {
        let conn = self.reader();
        match search.and_then(search::fts_query) {
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {CONTACT_SUMMARY_COLUMNS}
                     FROM contact c LEFT JOIN account a ON a.id = c.account_id
                     ORDER BY c.name COLLATE NOCASE, c.id"
                ))?;
                let rows = stmt.query_map([], contact_summary)?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Some(query) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {CONTACT_SUMMARY_COLUMNS}
                     FROM contact_fts f
                     JOIN contact c ON c.rowid = f.rowid
                     LEFT JOIN account a ON a.id = c.account_id
                     WHERE contact_fts MATCH ?1
                     ORDER BY f.rank, c.name COLLATE NOCASE, c.id"
                ))?;
                let rows = stmt.query_map([query], contact_summary)?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
        }
    }
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, CoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| CoreError::storage(&format!("could not open {}", path.display()), e))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// An upsert never replaces a row with an older version of it: two processes syncing the same
/// replica at once may apply pages out of order. SystemModstamp comes as Salesforce writes it,
/// `2024-05-01T10:00:00.000+0000` (always UTC, fixed width), so text order is time order.
const UPSERT_ACCOUNT: &str = "
    INSERT INTO account (id, name, industry, phone, billing_city, owner_id, system_modstamp)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, industry = excluded.industry, phone = excluded.phone,
        billing_city = excluded.billing_city, owner_id = excluded.owner_id,
        system_modstamp = excluded.system_modstamp
    WHERE excluded.system_modstamp >= account.system_modstamp";

fn account_params(a: &Account) -> impl rusqlite::Params + '_ {
    (
        &a.id,
        &a.name,
        &a.industry,
        &a.phone,
        &a.billing_city,
        &a.owner_id,
        &a.system_modstamp,
    )
}

const UPSERT_CONTACT: &str = "
    INSERT INTO contact (id, first_name, last_name, name, email, phone, mobile_phone, title,
                         account_id, owner_id, system_modstamp)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name, name = excluded.name,
        email = excluded.email, phone = excluded.phone, mobile_phone = excluded.mobile_phone,
        title = excluded.title, account_id = excluded.account_id, owner_id = excluded.owner_id,
        system_modstamp = excluded.system_modstamp
    WHERE excluded.system_modstamp >= contact.system_modstamp";

fn contact_params(c: &Contact) -> impl rusqlite::Params + '_ {
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
    )
}

const CONTACT_SUMMARY_COLUMNS: &str =
    "c.id, c.name, c.first_name, c.last_name, c.email, c.phone, c.title, a.name";

fn contact_summary(row: &Row<'_>) -> rusqlite::Result<ContactSummary> {
    Ok(ContactSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        title: row.get(6)?,
        account_name: row.get(7)?,
    })
}

#[cfg(test)]
mod tests;
