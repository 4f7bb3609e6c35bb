//! The replica's schema, one migration per step, applied at open (tracked in `user_version`).
//! Append new steps; never edit a released one.

use std::sync::LazyLock;

use rusqlite_migration::{Migrations, M};

/// Rebuilds the whole search index from the tables (after a pass that deferred it). Segments
/// are not merged while it writes them (a handful of large ones, each already sorted; merging
/// them as they come cost an eighth of the rebuild). Since schema 5 no write merges as it
/// goes (`automerge` 0: a merge at a rep's Save made it take 20 ms instead of under one);
/// `Replica::tidy_search`, run by the background loop, merges. Leads (kind 0) since schema 5.
pub(crate) const REBUILD_SEARCH: &str = r#"
INSERT INTO search (search) VALUES ('delete-all');
INSERT INTO search (search, rank) VALUES ('automerge', 0);
INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
SELECT rowid * 4, name, email, concat_ws(' ', phone, mobile_phone), title, company,
       concat_ws(' ', DIGITS(phone), DIGITS(mobile_phone))
FROM lead;
INSERT INTO search (rowid, name, phone, phone_digits)
SELECT rowid * 4 + 1, name, phone, DIGITS(phone) FROM account;
INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title, a.name,
       concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
FROM contact c LEFT JOIN account a ON a.id = c.account_id;
INSERT INTO search (rowid, name, account_name)
SELECT o.rowid * 4 + 3, o.name, a.name FROM opportunity o LEFT JOIN account a ON a.id = o.account_id;
DELETE FROM search_deferred;
"#;

/// [`REBUILD_SEARCH`] as schema 3 ran it, before leads existed (frozen: a released step).
const REBUILD_SEARCH_V3: &str = r#"
INSERT INTO search (search) VALUES ('delete-all');
INSERT INTO search (search, rank) VALUES ('automerge', 0);
INSERT INTO search (rowid, name, phone, phone_digits)
SELECT rowid * 4 + 1, name, phone, DIGITS(phone) FROM account;
INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title, a.name,
       concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
FROM contact c LEFT JOIN account a ON a.id = c.account_id;
INSERT INTO search (rowid, name, account_name)
SELECT o.rowid * 4 + 3, o.name, a.name FROM opportunity o LEFT JOIN account a ON a.id = o.account_id;
INSERT INTO search (search, rank) VALUES ('automerge', 4);
DELETE FROM search_deferred;
"#;

pub(crate) fn migrations() -> Migrations<'static> {
    static V2: LazyLock<String> =
        LazyLock::new(|| expand_digits(V2_OPPORTUNITIES_TASKS_PICKLISTS_ONE_SEARCH));
    static V3: LazyLock<String> =
        LazyLock::new(|| expand_digits(&format!("{V3_CONTENTLESS_SEARCH}{REBUILD_SEARCH_V3}")));
    static V5: LazyLock<String> = LazyLock::new(|| expand_digits(V5_LEADS_OUTBOX));
    Migrations::new(vec![
        M::up(V1_ACCOUNTS_CONTACTS_SEARCH),
        M::up(&V2),
        M::up(&V3),
        M::up(V4_SEARCH_PAGE_BY_PAGE),
        M::up(&V5),
        M::up(V6_SAVES_DO_NOT_MERGE),
        M::up(V7_ACCOUNT_WEBSITE_ADDRESS),
    ])
}

/// Characters phone numbers are written with besides digits.
const PHONE_PUNCTUATION: &[char] = &[' ', '-', '(', ')', '.', '+', '/'];

/// Rewrites `DIGITS(expr)` into nested `replace()` calls that drop phone punctuation. Plain SQL
/// rather than an application-defined function, so the triggers also work in any SQLite shell
/// that holds the key (a trigger calling an unregistered function would fail every write).
/// `expr` must not contain parentheses.
pub(crate) fn expand_digits(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() * 2);
    let mut rest = sql;
    while let Some(start) = rest.find("DIGITS(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "DIGITS(".len()..];
        let end = after.find(')').expect("DIGITS( has a closing parenthesis");
        let mut expr = after[..end].to_string();
        for c in PHONE_PUNCTUATION {
            expr = format!("replace({expr}, '{c}', '')");
        }
        out.push_str(&expr);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
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

/// Opportunities, tasks, picklists, reset passes, and one search index for contacts, accounts
/// and opportunities that replaces V1's contact-only one.
///
/// Reset passes: every record carries the `pass` of its object it was last written in; a reset
/// (or a first sync) opens a new pass in `sync_pass`, and when the object's last page is applied
/// the records of older passes are the ones that left the rep's view.
///
/// `search` rowids are `record rowid * 4 + kind` (1 account, 2 contact, 3 opportunity), so one
/// FTS5 table ranks all three together. `phone_digits` holds phone numbers as digits only, so
/// "55501" finds "(555) 010-1234" as one token prefix. Triggers keep it current, including the
/// account name copied onto contacts and opportunities. Update triggers fire only when a
/// searched field changed: a re-sent, unchanged record costs no index work.
const V2_OPPORTUNITIES_TASKS_PICKLISTS_ONE_SEARCH: &str = r#"
ALTER TABLE account ADD COLUMN pass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contact ADD COLUMN pass INTEGER NOT NULL DEFAULT 0;
CREATE INDEX account_by_name ON account (name COLLATE NOCASE, id);

CREATE TABLE opportunity (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    stage_name      TEXT NOT NULL,
    amount          REAL,
    close_date      TEXT NOT NULL,
    probability     REAL,
    is_closed       INTEGER NOT NULL,
    is_won          INTEGER NOT NULL,
    account_id      TEXT,
    owner_id        TEXT NOT NULL,
    system_modstamp TEXT NOT NULL,
    pass            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX opportunity_by_name ON opportunity (name COLLATE NOCASE, id);
CREATE INDEX opportunity_by_close_date ON opportunity (close_date, id);
CREATE INDEX opportunity_by_stage ON opportunity (stage_name, close_date);
CREATE INDEX opportunity_by_amount ON opportunity (amount DESC);
CREATE INDEX opportunity_by_account ON opportunity (account_id, is_closed);

CREATE TABLE task (
    id              TEXT PRIMARY KEY NOT NULL,
    subject         TEXT,
    status          TEXT NOT NULL,
    priority        TEXT,
    task_subtype    TEXT,
    activity_date   TEXT,
    who_id          TEXT,
    what_id         TEXT,
    description     TEXT,
    is_closed       INTEGER NOT NULL,
    owner_id        TEXT NOT NULL,
    system_modstamp TEXT NOT NULL,
    pass            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_by_who ON task (who_id, activity_date DESC, system_modstamp DESC);
CREATE INDEX task_by_what ON task (what_id, activity_date DESC, system_modstamp DESC);

-- Active picklist values per object and field, in Salesforce's order (`GET /v1/describe`).
CREATE TABLE picklist (
    object      TEXT NOT NULL,
    field       TEXT NOT NULL,
    position    INTEGER NOT NULL,
    value       TEXT NOT NULL,
    label       TEXT NOT NULL,
    is_default  INTEGER NOT NULL,
    probability REAL,
    closed      INTEGER,
    won         INTEGER,
    PRIMARY KEY (object, field, position)
);

-- The current reset pass of each object, and whether it is still running.
CREATE TABLE sync_pass (
    object TEXT PRIMARY KEY NOT NULL,
    pass   INTEGER NOT NULL,
    open   INTEGER NOT NULL
);

DROP TRIGGER contact_fts_insert;
DROP TRIGGER contact_fts_delete;
DROP TRIGGER contact_fts_update;
DROP TRIGGER account_fts_insert;
DROP TRIGGER account_fts_update;
DROP TRIGGER account_fts_delete;
DROP TABLE contact_fts;

-- While a first sync or a reset pass runs, the triggers below leave the search index alone and
-- the pass's end rebuilds it in one go (`apply.rs`): row-by-row index upkeep cost three times
-- the inserts themselves. One row here = deferred.
CREATE TABLE search_deferred (one INTEGER PRIMARY KEY CHECK (one = 1));

CREATE VIRTUAL TABLE search USING fts5 (
    name, email, phone, title, account_name, phone_digits,
    tokenize = 'unicode61 remove_diacritics 2',
    -- Prefix indexes for 1 to 3 letters: as-you-type queries (and the last letter of an
    -- email typed so far, "yuki.m") read one index entry instead of merging every word's.
    prefix = '1 2 3'
);

-- Contacts.
CREATE TRIGGER contact_search_insert AFTER INSERT ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4 + 2, new.name, new.email,
            concat_ws(' ', new.phone, new.mobile_phone), new.title,
            (SELECT name FROM account WHERE id = new.account_id),
            concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;
CREATE TRIGGER contact_search_delete AFTER DELETE ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 2;
END;
CREATE TRIGGER contact_search_update AFTER UPDATE ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone
  OR old.mobile_phone IS NOT new.mobile_phone OR old.title IS NOT new.title
  OR old.account_id IS NOT new.account_id)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 2;
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4 + 2, new.name, new.email,
            concat_ws(' ', new.phone, new.mobile_phone), new.title,
            (SELECT name FROM account WHERE id = new.account_id),
            concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;

-- Opportunities.
CREATE TRIGGER opportunity_search_insert AFTER INSERT ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, account_name)
    VALUES (new.rowid * 4 + 3, new.name,
            (SELECT name FROM account WHERE id = new.account_id));
END;
CREATE TRIGGER opportunity_search_delete AFTER DELETE ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 3;
END;
CREATE TRIGGER opportunity_search_update AFTER UPDATE ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.account_id IS NOT new.account_id)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 3;
    INSERT INTO search (rowid, name, account_name)
    VALUES (new.rowid * 4 + 3, new.name,
            (SELECT name FROM account WHERE id = new.account_id));
END;

-- Accounts; a contact's or opportunity's page may come before its account's, so an account's
-- arrival, rename or removal also rewrites their account name.
CREATE TRIGGER account_search_insert AFTER INSERT ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, phone, phone_digits)
    VALUES (new.rowid * 4 + 1, new.name, new.phone, DIGITS(new.phone));
    UPDATE search SET account_name = new.name
    WHERE rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = new.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = new.id);
END;
CREATE TRIGGER account_search_delete AFTER DELETE ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 1;
    UPDATE search SET account_name = NULL
    WHERE rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = old.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = old.id);
END;
CREATE TRIGGER account_search_update AFTER UPDATE ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.phone IS NOT new.phone)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 1;
    INSERT INTO search (rowid, name, phone, phone_digits)
    VALUES (new.rowid * 4 + 1, new.name, new.phone, DIGITS(new.phone));
    UPDATE search SET account_name = new.name
    WHERE old.name IS NOT new.name
      AND rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = new.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = new.id);
END;

-- The contacts V1 indexed.
INSERT INTO search (rowid, name, phone, phone_digits)
SELECT rowid * 4 + 1, name, phone, DIGITS(phone) FROM account;
INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title, a.name,
       concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
FROM contact c LEFT JOIN account a ON a.id = c.account_id;
"#;

/// The search index without its own copy of the text (`content=''`): the tables are the
/// records, the index only needs the tokens. Half the work of building it after a first sync,
/// and a smaller file. `contentless_delete` lets triggers delete a record's entry by rowid; a
/// contentless table takes no partial `UPDATE`, so an account's arrival, rename or removal
/// re-inserts its contacts' and opportunities' entries whole. `hashsize`: tokens gathered in
/// memory before a segment is written — 16 MiB instead of 1 MiB means a rebuild of 80,000
/// records writes a few large segments instead of merging dozens of small ones.
const V3_CONTENTLESS_SEARCH: &str = r#"
DROP TRIGGER contact_search_insert;
DROP TRIGGER contact_search_delete;
DROP TRIGGER contact_search_update;
DROP TRIGGER opportunity_search_insert;
DROP TRIGGER opportunity_search_delete;
DROP TRIGGER opportunity_search_update;
DROP TRIGGER account_search_insert;
DROP TRIGGER account_search_delete;
DROP TRIGGER account_search_update;
DROP TABLE search;

CREATE VIRTUAL TABLE search USING fts5 (
    name, email, phone, title, account_name, phone_digits,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3',
    content = '',
    contentless_delete = 1
);
INSERT INTO search (search, rank) VALUES ('hashsize', 16777216);

-- Contacts.
CREATE TRIGGER contact_search_insert AFTER INSERT ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4 + 2, new.name, new.email,
            concat_ws(' ', new.phone, new.mobile_phone), new.title,
            (SELECT name FROM account WHERE id = new.account_id),
            concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;
CREATE TRIGGER contact_search_delete AFTER DELETE ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 2;
END;
CREATE TRIGGER contact_search_update AFTER UPDATE ON contact
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone
  OR old.mobile_phone IS NOT new.mobile_phone OR old.title IS NOT new.title
  OR old.account_id IS NOT new.account_id)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 2;
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4 + 2, new.name, new.email,
            concat_ws(' ', new.phone, new.mobile_phone), new.title,
            (SELECT name FROM account WHERE id = new.account_id),
            concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;

-- Opportunities.
CREATE TRIGGER opportunity_search_insert AFTER INSERT ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, account_name)
    VALUES (new.rowid * 4 + 3, new.name,
            (SELECT name FROM account WHERE id = new.account_id));
END;
CREATE TRIGGER opportunity_search_delete AFTER DELETE ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 3;
END;
CREATE TRIGGER opportunity_search_update AFTER UPDATE ON opportunity
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.account_id IS NOT new.account_id)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 3;
    INSERT INTO search (rowid, name, account_name)
    VALUES (new.rowid * 4 + 3, new.name,
            (SELECT name FROM account WHERE id = new.account_id));
END;

-- Accounts; a contact's or opportunity's page may come before its account's, so an account's
-- arrival, rename or removal re-indexes them with the account name they now have.
CREATE TRIGGER account_search_insert AFTER INSERT ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, phone, phone_digits)
    VALUES (new.rowid * 4 + 1, new.name, new.phone, DIGITS(new.phone));
    DELETE FROM search
    WHERE rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = new.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = new.id);
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title,
           new.name, concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
    FROM contact c WHERE c.account_id = new.id;
    INSERT INTO search (rowid, name, account_name)
    SELECT o.rowid * 4 + 3, o.name, new.name FROM opportunity o WHERE o.account_id = new.id;
END;
CREATE TRIGGER account_search_delete AFTER DELETE ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 1;
    DELETE FROM search
    WHERE rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = old.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = old.id);
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title,
           NULL, concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
    FROM contact c WHERE c.account_id = old.id;
    INSERT INTO search (rowid, name, account_name)
    SELECT o.rowid * 4 + 3, o.name, NULL FROM opportunity o WHERE o.account_id = old.id;
END;
CREATE TRIGGER account_search_update AFTER UPDATE ON account
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.phone IS NOT new.phone)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4 + 1;
    INSERT INTO search (rowid, name, phone, phone_digits)
    VALUES (new.rowid * 4 + 1, new.name, new.phone, DIGITS(new.phone));
    DELETE FROM search
    WHERE old.name IS NOT new.name
      AND rowid IN (SELECT rowid * 4 + 2 FROM contact WHERE account_id = new.id
                    UNION ALL
                    SELECT rowid * 4 + 3 FROM opportunity WHERE account_id = new.id);
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    SELECT c.rowid * 4 + 2, c.name, c.email, concat_ws(' ', c.phone, c.mobile_phone), c.title,
           new.name, concat_ws(' ', DIGITS(c.phone), DIGITS(c.mobile_phone))
    FROM contact c WHERE old.name IS NOT new.name AND c.account_id = new.id;
    INSERT INTO search (rowid, name, account_name)
    SELECT o.rowid * 4 + 3, o.name, new.name
    FROM opportunity o WHERE old.name IS NOT new.name AND o.account_id = new.id;
END;

-- Secondary indexes dropped while a reset pass rewrites their table, to be built again when
-- it ends (apply.rs).
CREATE TABLE deferred_index (
    name     TEXT PRIMARY KEY NOT NULL,
    tbl_name TEXT NOT NULL,
    sql      TEXT NOT NULL
);

-- Everything already here, indexed again below (REBUILD_SEARCH_V3).
"#;

/// How the search index follows a running pass (`search_upkeep.rs`): `page_by_page` = 1 when
/// the pass began on empty tables (a first sync) and each page indexes its own records, 0 when
/// the index is rebuilt when the pass ends (as every pass did before). `search_waiting`: the
/// contacts and opportunities (search rowids) not indexed yet because their account has not
/// arrived.
const V4_SEARCH_PAGE_BY_PAGE: &str = "
ALTER TABLE search_deferred ADD COLUMN page_by_page INTEGER NOT NULL DEFAULT 0;
CREATE TABLE search_waiting (
    account_id   TEXT NOT NULL,
    search_rowid INTEGER NOT NULL,
    PRIMARY KEY (account_id, search_rowid)
) WITHOUT ROWID;
";

/// The rep's open leads (search kind 0, `company` in the account-name column); opportunities'
/// next step; and the outbox — the rep's writes not yet in Salesforce — with what they lay over
/// the replica.
///
/// `outbox`: one row per Save, in Save order (`seq`: a rowid, so one more than the highest
/// still here — never below a row still waiting; without AUTOINCREMENT's extra page a Save). `record_id` is the record written (a
/// local id, `local-<key prefix>-<hex>`, for a record made on this device until Salesforce
/// answers), `fields` the Salesforce fields sent, `display` the replica columns it lays over the
/// record (an update; with what follows from it, e.g. a stage's probability), `base` and
/// `base_stamp` what the rep saw (an update), `depends_on` the local id of a record it names
/// that Salesforce has not made yet. A row leaves the outbox when Salesforce has the write, or
/// when the rep discards it. `state`: `waiting`, `sending`, `failed`, `conflict`.
///
/// `overlay`: per record and column laid over, the value Salesforce has (kept current by
/// pulls); the row itself shows the rep's value. `local_id`: a sent record's local id, so that
/// it keeps resolving.
///
/// The search index stops its gradual merge (`automerge` 0): it ran in the commit of whichever
/// write crossed its line — a rep's Save — and took 15–30 ms there. `Replica::tidy_search`, in
/// short steps the background loop runs, merges instead; FTS5's crisis merge (16 segments on a
/// level) still bounds the index's spread.
const V5_LEADS_OUTBOX: &str = r#"
INSERT INTO search (search, rank) VALUES ('automerge', 0);
ALTER TABLE opportunity ADD COLUMN next_step TEXT;

CREATE TABLE lead (
    id              TEXT PRIMARY KEY NOT NULL,
    first_name      TEXT,
    last_name       TEXT NOT NULL,
    name            TEXT NOT NULL,
    company         TEXT NOT NULL,
    title           TEXT,
    email           TEXT,
    phone           TEXT,
    mobile_phone    TEXT,
    lead_source     TEXT,
    status          TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    system_modstamp TEXT NOT NULL,
    pass            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lead_by_name ON lead (name COLLATE NOCASE, id);

CREATE TRIGGER lead_search_insert AFTER INSERT ON lead
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4, new.name, new.email, concat_ws(' ', new.phone, new.mobile_phone),
            new.title, new.company, concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;
CREATE TRIGGER lead_search_delete AFTER DELETE ON lead
WHEN NOT EXISTS (SELECT 1 FROM search_deferred)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4;
END;
CREATE TRIGGER lead_search_update AFTER UPDATE ON lead
WHEN NOT EXISTS (SELECT 1 FROM search_deferred) AND (old.name IS NOT new.name OR old.email IS NOT new.email
  OR old.phone IS NOT new.phone OR old.mobile_phone IS NOT new.mobile_phone
  OR old.title IS NOT new.title OR old.company IS NOT new.company)
BEGIN
    DELETE FROM search WHERE rowid = old.rowid * 4;
    INSERT INTO search (rowid, name, email, phone, title, account_name, phone_digits)
    VALUES (new.rowid * 4, new.name, new.email, concat_ws(' ', new.phone, new.mobile_phone),
            new.title, new.company, concat_ws(' ', DIGITS(new.phone), DIGITS(new.mobile_phone)));
END;

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    object          TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    fields          TEXT NOT NULL,
    display         TEXT NOT NULL DEFAULT '{}',
    base            TEXT,
    base_stamp      TEXT,
    depends_on      TEXT,
    state           TEXT NOT NULL DEFAULT 'waiting',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    theirs          TEXT,
    saved_at        TEXT NOT NULL
);
CREATE INDEX outbox_by_record ON outbox (record_id, seq);
CREATE INDEX outbox_by_dependency ON outbox (depends_on) WHERE depends_on IS NOT NULL;

CREATE TABLE overlay (
    record_id    TEXT NOT NULL,
    col          TEXT NOT NULL,
    object       TEXT NOT NULL,
    server_value,
    PRIMARY KEY (record_id, col)
) WITHOUT ROWID;
CREATE INDEX overlay_by_object ON overlay (object, record_id);

CREATE TABLE local_id (
    local_id      TEXT PRIMARY KEY NOT NULL,
    salesforce_id TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// A rep's Save does not run FTS5's crisis merge: at 16 segments a level (FTS5's default) every
/// sixteenth Save of a searched record merged them in its commit, a few times the Save's own
/// cost. The background loop's tidy-up merges after every push, online or offline; 64 bounds
/// the index's spread where nothing tidies (the CLI alone), and equals the line during a
/// page-by-page pass. Keep it equal to `search_upkeep::CRISIS_MERGE`.
const V6_SAVES_DO_NOT_MERGE: &str = "INSERT INTO search (search, rank) VALUES ('crisismerge', 64);";

/// The account screen shows the website and the billing address with a maps link. Accounts
/// synced before have them empty, so their cursor goes: the next sync reads every account again
/// (as a pass, which also drops any the rep no longer sees).
const V7_ACCOUNT_WEBSITE_ADDRESS: &str = "
ALTER TABLE account ADD COLUMN website TEXT;
ALTER TABLE account ADD COLUMN billing_street TEXT;
ALTER TABLE account ADD COLUMN billing_state TEXT;
ALTER TABLE account ADD COLUMN billing_postal_code TEXT;
ALTER TABLE account ADD COLUMN billing_country TEXT;
DELETE FROM sync_state WHERE object = 'Account';
";

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    #[test]
    fn digits_become_nested_replaces() {
        let sql = super::expand_digits("x DIGITS(new.phone) y");
        assert!(sql.starts_with("x replace(replace("), "{sql}");
        assert!(sql.contains("new.phone, ' ', '')"), "{sql}");
        assert!(sql.ends_with("'/', '') y"), "{sql}");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let digits: String = conn
            .query_row(
                &super::expand_digits("SELECT DIGITS(?1)"),
                ["+1 (555) 010-12.34/5"],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(digits, "15550101234".to_owned() + "5");
    }
}
