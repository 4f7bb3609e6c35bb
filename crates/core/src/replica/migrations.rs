//! The replica's schema, one migration per step, applied at open (tracked in `user_version`).
//! Append new steps; never edit a released one.

use rusqlite_migration::{Migrations, M};

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1_ACCOUNTS_CONTACTS_SEARCH)])
}

/// Accounts, contacts, per-object sync cursors, a key/value `meta` table, and an FTS5 index of
/// contacts (name, email, title, account name) kept current by triggers. The tokenizer folds
/// case and accents; `prefix` indexes make as-you-type prefix queries cheap.
const V1_ACCOUNTS_CONTACTS_SEARCH: &str = r#"
CREATE TABLE account (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    industry        TEXT,
    phone           TEXT,
    billing_city    TEXT,
    owner_id        TEXT NOT NULL,
    system_modstamp TEXT NOT NULL
);

CREATE TABLE contact (
    id              TEXT PRIMARY KEY NOT NULL,
    first_name      TEXT,
    last_name       TEXT NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    mobile_phone    TEXT,
    title           TEXT,
    account_id      TEXT,
    owner_id        TEXT NOT NULL,
    system_modstamp TEXT NOT NULL
);
CREATE INDEX contact_by_name ON contact (name COLLATE NOCASE, id);
CREATE INDEX contact_by_account ON contact (account_id);

-- The gateway's opaque cursor per object (`Account`, `Contact`).
CREATE TABLE sync_state (
    object TEXT PRIMARY KEY NOT NULL,
    cursor TEXT NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE VIRTUAL TABLE contact_fts USING fts5 (
    name, email, title, account_name,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE TRIGGER contact_fts_insert AFTER INSERT ON contact BEGIN
    INSERT INTO contact_fts (rowid, name, email, title, account_name)
    VALUES (new.rowid, new.name, new.email, new.title,
            (SELECT name FROM account WHERE id = new.account_id));
END;

CREATE TRIGGER contact_fts_delete AFTER DELETE ON contact BEGIN
    DELETE FROM contact_fts WHERE rowid = old.rowid;
END;

CREATE TRIGGER contact_fts_update AFTER UPDATE ON contact BEGIN
    DELETE FROM contact_fts WHERE rowid = old.rowid;
    INSERT INTO contact_fts (rowid, name, email, title, account_name)
    VALUES (new.rowid, new.name, new.email, new.title,
            (SELECT name FROM account WHERE id = new.account_id));
END;

-- A contact's page may arrive before its account's: fill the account name in when it does.
CREATE TRIGGER account_fts_insert AFTER INSERT ON account BEGIN
    UPDATE contact_fts SET account_name = new.name
    WHERE rowid IN (SELECT rowid FROM contact WHERE account_id = new.id);
END;

CREATE TRIGGER account_fts_update AFTER UPDATE OF name ON account BEGIN
    UPDATE contact_fts SET account_name = new.name
    WHERE rowid IN (SELECT rowid FROM contact WHERE account_id = new.id);
END;

CREATE TRIGGER account_fts_delete AFTER DELETE ON account BEGIN
    UPDATE contact_fts SET account_name = NULL
    WHERE rowid IN (SELECT rowid FROM contact WHERE account_id = old.id);
END;
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
