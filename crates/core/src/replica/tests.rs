use std::collections::{BTreeMap, BTreeSet};

use companion_api::{
    Account, Contact, DeletedRecord, DescribeResponse, ObjectProgress, Opportunity, PicklistEntry,
    SyncResponse, Task,
};

use super::*;

pub(super) const OWNER: &str = "005000000000001AAA";

fn account(id: &str, name: &str) -> Account {
    Account {
        id: id.into(),
        name: name.into(),
        industry: Some("Technology".into()),
        phone: None,
        website: Some("https://acme.example".into()),
        billing_street: Some("1 Rue de la République".into()),
        billing_city: Some("Lyon".into()),
        billing_state: None,
        billing_postal_code: Some("69002".into()),
        billing_country: Some("France".into()),
        owner_id: OWNER.into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

fn contact(
    id: &str,
    first: &str,
    last: &str,
    email: &str,
    title: &str,
    account_id: Option<&str>,
) -> Contact {
    Contact {
        id: id.into(),
        first_name: Some(first.into()),
        last_name: last.into(),
        name: format!("{first} {last}"),
        email: Some(email.into()),
        phone: Some("+33 4 72 00 00 00".into()),
        mobile_phone: None,
        title: Some(title.into()),
        account_id: account_id.map(Into::into),
        owner_id: OWNER.into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

/// Ada Lovelace, CTO at account 001A.
fn ada_at_acme() -> Contact {
    contact(
        "003A",
        "Ada",
        "Lovelace",
        "ada@acme.example",
        "CTO",
        Some("001A"),
    )
}

fn cursors(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn names(list: &[ContactSummary]) -> Vec<&str> {
    list.iter().map(|c| c.name.as_str()).collect()
}

/// One key for every test replica, so a test can reopen its file.
fn test_key() -> ReplicaKey {
    ReplicaKey::from_hex(&"5e".repeat(32)).unwrap()
}

/// A raw connection to a replica file, unlocked, for looking under the hood.
fn raw_connection(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&test_key().pragma()).unwrap();
    conn
}

pub(super) fn open_temp() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().unwrap();
    let path = Replica::path_for(dir.path(), "00D000000000001AAA", OWNER).unwrap();
    let replica = Replica::open(&path, &test_key()).unwrap();
    (dir, replica)
}

/// A small org: two accounts, four contacts.
fn seed(replica: &Replica) {
    replica
        .apply_page(&SyncResponse {
            accounts: vec![
                account("001A", "Acme Corporation"),
                account("001B", "Globex"),
            ],
            contacts: vec![
                ada_at_acme(),
                contact(
                    "003B",
                    "José",
                    "Álvarez",
                    "jose.alvarez@globex.example",
                    "Head of Sales",
                    Some("001B"),
                ),
                contact(
                    "003C",
                    "grace",
                    "Hopper",
                    "grace@navy.example",
                    "Rear Admiral",
                    None,
                ),
                contact(
                    "003D",
                    "Bob",
                    "O'Brien",
                    "bob.obrien@acme.example",
                    "Buyer",
                    Some("001A"),
                ),
            ],
            deleted: vec![],
            cursors: cursors(&[("Account", "a1"), ("Contact", "c1")]),
            more: false,
            ..Default::default()
        })
        .unwrap();
}

#[test]
fn opens_with_migrations_in_wal_mode_and_reopens() {
    let (dir, replica) = open_temp();
    let path = replica.path().to_owned();
    seed(&replica);
    drop(replica);

    let conn = raw_connection(&path);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7);
    drop(conn);

    // Reopening runs no migration twice and keeps the data.
    let again = Replica::open(&path, &test_key()).unwrap();
    assert_eq!(again.contacts(None).unwrap().len(), 4);
    assert_eq!(
        again.cursors().unwrap(),
        cursors(&[("Account", "a1"), ("Contact", "c1")])
    );
    assert!(path.starts_with(dir.path().join("replicas")));
}

/// A replica from before accounts kept their website and address: it opens with its records
/// and cursors, but the accounts' cursor is gone, so the next sync reads them again whole.
#[test]
fn an_older_replica_reads_its_accounts_again_for_their_address() {
    let dir = tempfile::tempdir().unwrap();
    let path = Replica::path_for(dir.path(), "00D000000000001AAA", OWNER).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let mut conn = raw_connection(&path);
        super::migrations::migrations()
            .to_version(&mut conn, 6)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO account (id, name, billing_city, owner_id, system_modstamp, pass)
             VALUES ('001A', 'Acme', 'Lyon', '005000000000001AAA', '2024-05-01T10:00:00.000+0000', 1);
             INSERT INTO sync_state (object, cursor) VALUES ('Account', 'a1'), ('Contact', 'c1');",
        )
        .unwrap();
    }
    let replica = Replica::open(&path, &test_key()).unwrap();
    assert_eq!(replica.cursors().unwrap(), cursors(&[("Contact", "c1")]));
    let acme = replica.account("001A").unwrap().unwrap();
    assert_eq!(acme.account.billing_city.as_deref(), Some("Lyon"));
    assert_eq!(acme.website, None);
}

#[test]
fn replica_files_are_per_org_and_user_and_ids_cannot_escape() {
    let dir = std::path::Path::new("/data");
    assert_eq!(
        Replica::path_for(dir, "00D000000000001AAA", "005000000000001AAA").unwrap(),
        dir.join("replicas/00D000000000001AAA_005000000000001AAA.sqlite3")
    );
    assert!(Replica::path_for(dir, "../../etc", "005000000000001AAA").is_err());
    assert!(Replica::path_for(dir, "00D000000000001AAA", "").is_err());
}

#[test]
fn contacts_are_sorted_by_name_with_their_account() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let all = replica.contacts(None).unwrap();
    assert_eq!(
        names(&all),
        [
            "Ada Lovelace",
            "Bob O'Brien",
            "grace Hopper",
            "José Álvarez"
        ]
    );
    assert_eq!(all[0].account_name.as_deref(), Some("Acme Corporation"));
    assert_eq!(all[0].email.as_deref(), Some("ada@acme.example"));
    assert_eq!(all[2].account_name, None);
}

#[test]
fn later_pages_update_and_delete() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let counts = replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001A", "Acme Holdings")],
            contacts: vec![contact(
                "003A",
                "Ada",
                "King",
                "ada.king@acme.example",
                "CTO",
                Some("001A"),
            )],
            deleted: vec![
                DeletedRecord {
                    object: "Contact".into(),
                    id: "003B".into(),
                    deleted_date: None,
                },
                DeletedRecord {
                    object: "Opportunity".into(),
                    id: "006A".into(),
                    deleted_date: None,
                },
            ],
            cursors: cursors(&[("Contact", "c2")]),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        counts,
        PageCounts {
            accounts: 1,
            contacts: 2,
            ..Default::default()
        }
    );
    let all = replica.contacts(None).unwrap();
    assert_eq!(names(&all), ["Ada King", "Bob O'Brien", "grace Hopper"]);
    assert_eq!(all[0].account_name.as_deref(), Some("Acme Holdings"));
    assert_eq!(
        replica.cursors().unwrap(),
        cursors(&[("Account", "a1"), ("Contact", "c2")])
    );
    // The index follows: old name and deleted contact are gone, the new account name is found.
    assert!(replica.contacts(Some("lovelace")).unwrap().is_empty());
    assert!(replica.contacts(Some("josé")).unwrap().is_empty());
    assert_eq!(
        names(&replica.contacts(Some("holdings")).unwrap()),
        ["Ada King", "Bob O'Brien"]
    );
}

#[test]
fn a_failed_page_leaves_nothing_of_itself_and_the_old_cursor() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    // Simulate a failure half-way through applying the page (disk full, crash…): the third
    // contact's insert aborts after two upserts and before deletes and cursors.
    replica
        .writer()
        .execute_batch(
            "CREATE TEMP TRIGGER fail_mid_page BEFORE INSERT ON main.contact WHEN new.id = '003Z'
             BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;",
        )
        .unwrap();
    let page = SyncResponse {
        accounts: vec![account("001C", "Initech")],
        contacts: vec![
            contact(
                "003X",
                "Peter",
                "Gibbons",
                "peter@initech.example",
                "Engineer",
                Some("001C"),
            ),
            contact(
                "003A",
                "Ada",
                "Renamed",
                "ada@acme.example",
                "CTO",
                Some("001A"),
            ),
            contact(
                "003Z",
                "Milton",
                "Waddams",
                "milton@initech.example",
                "Collator",
                Some("001C"),
            ),
        ],
        deleted: vec![DeletedRecord {
            object: "Contact".into(),
            id: "003C".into(),
            deleted_date: None,
        }],
        cursors: cursors(&[("Account", "a2"), ("Contact", "c2")]),
        more: true,
        ..Default::default()
    };
    let err = replica.apply_page(&page).unwrap_err();
    assert_eq!(err.kind(), "storage");

    assert_eq!(
        names(&replica.contacts(None).unwrap()),
        [
            "Ada Lovelace",
            "Bob O'Brien",
            "grace Hopper",
            "José Álvarez"
        ]
    );
    assert_eq!(
        replica.cursors().unwrap(),
        cursors(&[("Account", "a1"), ("Contact", "c1")])
    );
    assert!(replica.contacts(Some("initech")).unwrap().is_empty());
    assert!(replica.contacts(Some("peter")).unwrap().is_empty());

    // Once the fault is gone the same page applies in full.
    replica
        .writer()
        .execute_batch("DROP TRIGGER temp.fail_mid_page")
        .unwrap();
    replica.apply_page(&page).unwrap();
    assert_eq!(
        names(&replica.contacts(None).unwrap()),
        [
            "Ada Renamed",
            "Bob O'Brien",
            "José Álvarez",
            "Milton Waddams",
            "Peter Gibbons"
        ]
    );
    assert_eq!(
        replica.cursors().unwrap(),
        cursors(&[("Account", "a2"), ("Contact", "c2")])
    );
}

#[test]
fn search_finds_word_prefixes_in_name_email_title_and_account() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let search = |text: &str| {
        names(&replica.contacts(Some(text)).unwrap())
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(search("lov"), ["Ada Lovelace"]);
    assert_eq!(search("LOVELACE"), ["Ada Lovelace"]);
    assert_eq!(search("grace@navy"), ["grace Hopper"]);
    assert_eq!(search("admiral"), ["grace Hopper"]);
    assert_eq!(search("acme"), ["Ada Lovelace", "Bob O'Brien"]);
    assert_eq!(search("acme bob"), ["Bob O'Brien"]);
    assert_eq!(search("glob"), ["José Álvarez"]);
    // Accents are folded both ways.
    assert_eq!(search("jose alv"), ["José Álvarez"]);
    assert_eq!(search("ÁLVAREZ"), ["José Álvarez"]);
    assert!(search("zebra").is_empty());
}

#[test]
fn contact_arriving_before_its_account_gets_the_account_name_in_search() {
    let (_dir, replica) = open_temp();
    let page = |accounts, contacts| SyncResponse {
        accounts,
        contacts,
        deleted: vec![],
        cursors: BTreeMap::new(),
        more: false,
        ..Default::default()
    };
    replica
        .apply_page(&page(
            vec![],
            vec![contact(
                "003Q",
                "Quinn",
                "Doe",
                "q@x.example",
                "VP",
                Some("001Q"),
            )],
        ))
        .unwrap();
    assert!(replica.contacts(Some("umbrella")).unwrap().is_empty());
    replica
        .apply_page(&page(vec![account("001Q", "Umbrella Corp")], vec![]))
        .unwrap();
    let found = replica.contacts(Some("umbrella")).unwrap();
    assert_eq!(names(&found), ["Quinn Doe"]);
    assert_eq!(found[0].account_name.as_deref(), Some("Umbrella Corp"));
}

#[test]
fn odd_search_input_never_errors() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    for text in [
        "",
        " ",
        "\"",
        "\"\"",
        "*",
        "**",
        "ada*",
        "\"ada",
        "o'brien",
        "O'Bri",
        "-ada",
        "ada OR bob",
        "NEAR(ada bob)",
        "name:ada",
        "^ada",
        "(",
        ")",
        "AND",
        "NOT",
        "日本語",
        "🙂",
        "ada\u{0}",
        "a\"b\"c*",
        "%",
        "_",
        "\\",
        "'; DROP TABLE contact; --",
    ] {
        let result = replica.contacts(Some(text));
        assert!(result.is_ok(), "{text:?}: {result:?}");
    }
    assert_eq!(
        replica.contacts(Some("")).unwrap().len(),
        4,
        "empty search lists everything"
    );
    assert_eq!(
        replica.contacts(Some("*")).unwrap().len(),
        4,
        "punctuation only lists everything"
    );
    assert_eq!(
        names(&replica.contacts(Some("o'brien")).unwrap()),
        ["Bob O'Brien"]
    );
    assert_eq!(
        names(&replica.contacts(Some("\"ada")).unwrap()),
        ["Ada Lovelace"]
    );
    assert!(
        replica.contacts(Some("ada OR bob")).unwrap().is_empty(),
        "OR is a word, not an operator"
    );
    assert_eq!(replica.contacts(None).unwrap().len(), 4);
}

/// Two processes syncing the same replica can apply pages out of order: an older version of a
/// record applied after a newer one must not bring the old data back.
#[test]
fn an_older_version_never_overwrites_a_newer_one() {
    let (_dir, replica) = open_temp();
    let stamped_account = |name: &str, stamp: &str| Account {
        system_modstamp: stamp.into(),
        ..account("001A", name)
    };
    let stamped_contact = |last: &str, stamp: &str| Contact {
        system_modstamp: stamp.into(),
        ..contact("003A", "Ada", last, "ada@acme.example", "CTO", Some("001A"))
    };
    let page = |name: &str, last: &str, stamp: &str| SyncResponse {
        accounts: vec![stamped_account(name, stamp)],
        contacts: vec![stamped_contact(last, stamp)],
        deleted: vec![],
        cursors: BTreeMap::new(),
        more: false,
        ..Default::default()
    };
    // Newer first, then one a millisecond older, then one from the day before.
    replica
        .apply_page(&page("Acme New", "King", "2024-05-10T09:00:00.001+0000"))
        .unwrap();
    replica
        .apply_page(&page(
            "Acme Old",
            "Lovelace",
            "2024-05-10T09:00:00.000+0000",
        ))
        .unwrap();
    replica
        .apply_page(&page("Acme Older", "Byron", "2024-05-09T23:59:59.999+0000"))
        .unwrap();
    let all = replica.contacts(None).unwrap();
    assert_eq!(names(&all), ["Ada King"]);
    assert_eq!(all[0].account_name.as_deref(), Some("Acme New"));
    assert!(replica.contacts(Some("lovelace")).unwrap().is_empty());
    assert_eq!(
        names(&replica.contacts(Some("king")).unwrap()),
        ["Ada King"]
    );

    // The same or a newer version still applies.
    replica
        .apply_page(&page("Acme Same", "Same", "2024-05-10T09:00:00.001+0000"))
        .unwrap();
    assert_eq!(names(&replica.contacts(None).unwrap()), ["Ada Same"]);
    replica
        .apply_page(&page("Acme Next", "Next", "2024-11-01T00:00:00.000+0000"))
        .unwrap();
    let all = replica.contacts(None).unwrap();
    assert_eq!(names(&all), ["Ada Next"]);
    assert_eq!(all[0].account_name.as_deref(), Some("Acme Next"));
}

#[cfg(unix)]
#[test]
fn replica_folder_and_files_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, replica) = open_temp();
    seed(&replica);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("replicas")), 0o700);
    let db = replica.path().to_owned();
    assert_eq!(mode(&db), 0o600, "{}", db.display());
    for suffix in ["-wal", "-shm"] {
        let side = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert!(side.exists(), "{} exists while open", side.display());
        assert_eq!(mode(&side), 0o600, "{}", side.display());
    }

    // A replica left readable by an older version is tightened when opened.
    drop(replica);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(
        dir.path().join("replicas"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let again = Replica::open(&db, &test_key()).unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("replicas")), 0o700);
    assert_eq!(again.contacts(None).unwrap().len(), 4);
}

// ---- issue 5: encryption, all four objects, resets, reconciliation, reads, search ----

fn stamped<T>(mut record: T, set: impl FnOnce(&mut T)) -> T {
    set(&mut record);
    record
}

fn opportunity(
    id: &str,
    name: &str,
    stage: &str,
    amount: Option<f64>,
    close: &str,
    account_id: Option<&str>,
) -> Opportunity {
    let closed = stage.starts_with("Closed");
    Opportunity {
        id: id.into(),
        name: name.into(),
        stage_name: stage.into(),
        amount,
        close_date: close.into(),
        probability: Some(if closed { 100.0 } else { 20.0 }),
        is_closed: closed,
        is_won: stage == "Closed Won",
        account_id: account_id.map(Into::into),
        next_step: None,
        owner_id: OWNER.into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

fn task(
    id: &str,
    subject: &str,
    date: Option<&str>,
    who: Option<&str>,
    what: Option<&str>,
) -> Task {
    Task {
        id: id.into(),
        subject: Some(subject.into()),
        status: "Completed".into(),
        priority: Some("Normal".into()),
        task_subtype: Some("Call".into()),
        activity_date: date.map(Into::into),
        who_id: who.map(Into::into),
        what_id: what.map(Into::into),
        description: None,
        is_closed: true,
        owner_id: OWNER.into(),
        system_modstamp: "2024-05-01T10:00:00.000+0000".into(),
    }
}

fn deleted(object: &str, id: &str, date: Option<&str>) -> DeletedRecord {
    DeletedRecord {
        object: object.into(),
        id: id.into(),
        deleted_date: date.map(Into::into),
    }
}

fn progress(more: bool) -> ObjectProgress {
    ObjectProgress {
        records: 0,
        remaining: 0,
        more,
    }
}

fn all_done() -> BTreeMap<String, ObjectProgress> {
    ["Account", "Contact", "Opportunity", "Task"]
        .iter()
        .map(|o| (o.to_string(), progress(false)))
        .collect()
}

fn all_cursors(tag: &str) -> BTreeMap<String, String> {
    ["Account", "Contact", "Opportunity", "Task"]
        .iter()
        .map(|o| (o.to_string(), format!("{o}-{tag}")))
        .collect()
}

/// `seed` plus opportunities and tasks.
fn seed_all(replica: &Replica) {
    seed(replica);
    replica
        .apply_page(&SyncResponse {
            opportunities: vec![
                opportunity(
                    "006A",
                    "Acme renewal",
                    "Negotiation",
                    Some(50_000.0),
                    "2024-06-10",
                    Some("001A"),
                ),
                opportunity(
                    "006B",
                    "Acme expansion",
                    "Prospecting",
                    Some(120_000.0),
                    "2024-09-01",
                    Some("001A"),
                ),
                opportunity(
                    "006C",
                    "Acme pilot",
                    "Closed Won",
                    Some(10_000.0),
                    "2024-03-01",
                    Some("001A"),
                ),
                opportunity(
                    "006D",
                    "Globex rollout",
                    "Qualification",
                    None,
                    "2024-06-20",
                    Some("001B"),
                ),
            ],
            tasks: vec![
                task(
                    "00TA",
                    "Intro call",
                    Some("2024-04-01"),
                    Some("003A"),
                    Some("006A"),
                ),
                task(
                    "00TB",
                    "Demo",
                    Some("2024-05-02"),
                    Some("003A"),
                    Some("006A"),
                ),
                task("00TC", "Send pricing", None, Some("003A"), None),
                task(
                    "00TD",
                    "Call José",
                    Some("2024-05-03"),
                    Some("003B"),
                    Some("001B"),
                ),
            ],
            cursors: all_cursors("1"),
            objects: all_done(),
            more: false,
            ..Default::default()
        })
        .unwrap();
}

fn hit_ids(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// A long sync copies its WAL back into the file as it goes (the writer itself never does, so
/// that neither a page nor a Save holds the other up for a checkpoint): the file alone, without
/// its WAL, holds what the first pages brought.
#[test]
fn a_long_sync_copies_its_wal_back_into_the_file_as_it_goes() {
    let (dir, replica) = open_temp();
    let pages = PAGES_PER_CHECKPOINT as usize;
    for n in 0..pages {
        let mut objects = all_done();
        objects.insert("Contact".into(), progress(true));
        replica
            .apply_page(&SyncResponse {
                contacts: vec![contact(
                    &format!("003{n:03}"),
                    "Ada",
                    &format!("Page{n}"),
                    "ada@acme.example",
                    "CEO",
                    None,
                )],
                objects,
                cursors: all_cursors(&n.to_string()),
                more: true,
                ..Default::default()
            })
            .unwrap();
    }
    let file_alone = dir.path().join("file-alone.sqlite3");
    std::fs::copy(replica.path(), &file_alone).unwrap();
    let contacts: i64 = raw_connection(&file_alone)
        .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))
        .unwrap();
    assert_eq!(contacts, pages as i64);
}

#[test]
fn the_file_and_its_wal_hold_no_readable_contact_data() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let db = replica.path().to_owned();
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    // Before and after a checkpoint: the data lives in the WAL first, then in the file.
    for checkpoint in [false, true] {
        if checkpoint {
            replica
                .writer()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        }
        let mut bytes = std::fs::read(&db).unwrap();
        bytes.extend(std::fs::read(&wal).unwrap_or_default());
        assert!(
            bytes.len() > 4096,
            "the data is somewhere: {} bytes",
            bytes.len()
        );
        for needle in ["ada@acme.example", "Lovelace", "Acme", "SQLite format 3"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} readable in the replica files (checkpoint: {checkpoint})"
            );
        }
    }
    // While the replica itself reads it fine.
    assert_eq!(replica.contacts(Some("ada@acme")).unwrap().len(), 1);
}

#[test]
fn a_wrong_key_is_replica_unreadable_and_a_fresh_replica_can_replace_it() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let path = replica.path().to_owned();
    drop(replica);

    let err = Replica::open(&path, &ReplicaKey::generate()).unwrap_err();
    assert_eq!(err.kind(), "replica_unreadable");
    assert!(err.to_string().contains("Start fresh"), "{err}");
    // The failed open did not damage the file: the right key still opens it.
    assert_eq!(
        Replica::open(&path, &test_key())
            .unwrap()
            .contacts(None)
            .unwrap()
            .len(),
        4
    );

    // "Fresh sync": the files go, a new key makes a new, empty replica.
    Replica::destroy(&path).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        assert!(!std::path::Path::new(&format!("{}{suffix}", path.display())).exists());
    }
    Replica::destroy(&path).unwrap();
    let fresh = Replica::open(&path, &ReplicaKey::generate()).unwrap();
    assert!(fresh.contacts(None).unwrap().is_empty());
    assert!(fresh.cursors().unwrap().is_empty());
}

#[test]
fn a_file_that_is_not_a_replica_is_replica_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    // A plain, unencrypted SQLite database…
    let plain = dir.path().join("plain.sqlite3");
    let conn = Connection::open(&plain).unwrap();
    conn.execute_batch("CREATE TABLE contact (email TEXT); INSERT INTO contact VALUES ('a@b.c');")
        .unwrap();
    drop(conn);
    assert_eq!(
        Replica::open(&plain, &test_key()).unwrap_err().kind(),
        "replica_unreadable"
    );
    // …and a file of random bytes.
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(
        &junk,
        (0..8192u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(
        Replica::open(&junk, &test_key()).unwrap_err().kind(),
        "replica_unreadable"
    );
}

#[test]
fn one_page_applies_all_four_objects_and_counts_them() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let counts = replica
        .apply_page(&SyncResponse {
            opportunities: vec![opportunity(
                "006A",
                "Acme renewal",
                "Negotiation",
                Some(5.0),
                "2024-06-10",
                Some("001A"),
            )],
            tasks: vec![
                task("00TA", "Intro call", None, Some("003A"), None),
                task("00TB", "Demo", None, Some("003A"), None),
            ],
            deleted: vec![
                deleted("Contact", "003D", None),
                deleted("Account", "001Z", None),
            ],
            cursors: all_cursors("2"),
            objects: all_done(),
            more: false,
            ..Default::default()
        })
        .unwrap();
    // The delete of a record the replica never had changes nothing.
    assert_eq!(
        counts,
        PageCounts {
            accounts: 0,
            contacts: 1,
            opportunities: 1,
            tasks: 2,
            leads: 0
        }
    );
    assert_eq!(
        replica.counts().unwrap(),
        BTreeMap::from([
            ("Account".to_string(), 2),
            ("Contact".to_string(), 3),
            ("Opportunity".to_string(), 1),
            ("Task".to_string(), 2),
            ("Lead".to_string(), 0),
        ])
    );
    assert_eq!(replica.cursors().unwrap(), all_cursors("2"));
}

#[test]
fn cursors_are_kept_only_for_the_objects_it_keeps() {
    let (_dir, replica) = open_temp();
    let mut cursors = all_cursors("1");
    cursors.insert("Event".into(), "event-1".into());
    replica
        .apply_page(&SyncResponse {
            cursors,
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.cursors().unwrap(), all_cursors("1"));
}

#[test]
fn older_opportunity_and_task_versions_never_overwrite_newer_ones() {
    let (_dir, replica) = open_temp();
    let opp = |stage: &str, stamp: &str| {
        stamped(
            opportunity("006A", "Deal", stage, None, "2024-06-10", None),
            |o| o.system_modstamp = stamp.into(),
        )
    };
    let tsk = |subject: &str, stamp: &str| {
        stamped(task("00TA", subject, None, None, None), |t| {
            t.system_modstamp = stamp.into()
        })
    };
    let page = |stage, subject, stamp| SyncResponse {
        opportunities: vec![opp(stage, stamp)],
        tasks: vec![tsk(subject, stamp)],
        ..Default::default()
    };
    replica
        .apply_page(&page("Negotiation", "New", "2024-05-10T09:00:00.001+0000"))
        .unwrap();
    replica
        .apply_page(&page("Prospecting", "Old", "2024-05-10T09:00:00.000+0000"))
        .unwrap();
    let o = replica.opportunity("006A").unwrap().unwrap();
    assert_eq!(o.opportunity.stage_name, "Negotiation");
    assert_eq!(o.system_modstamp, "2024-05-10T09:00:00.001+0000");
    let conn = replica.reader();
    let subject: String = conn
        .query_row("SELECT subject FROM task", [], |r| r.get(0))
        .unwrap();
    assert_eq!(subject, "New");
}

/// Delete logs are read with overlap: a delete dated before the record's last change is of an
/// earlier life of a record that was undeleted since.
#[test]
fn a_delete_older_than_the_record_is_skipped() {
    let (_dir, replica) = open_temp();
    let restored = |c: Contact| {
        stamped(c, |c| {
            c.system_modstamp = "2024-05-02T08:00:00.000+0000".into()
        })
    };
    replica
        .apply_page(&SyncResponse {
            contacts: vec![
                restored(contact(
                    "003A",
                    "Ada",
                    "Lovelace",
                    "ada@acme.example",
                    "CTO",
                    None,
                )),
                contact("003B", "Bob", "Stone", "bob@acme.example", "Buyer", None),
                contact("003C", "Cy", "Twombly", "cy@acme.example", "Buyer", None),
            ],
            ..Default::default()
        })
        .unwrap();
    let counts = replica
        .apply_page(&SyncResponse {
            deleted: vec![
                // Deleted the day before it was restored (as the gateway writes the date).
                deleted("Contact", "003A", Some("2024-05-01T12:00:00Z")),
                // Deleted after its last change: goes.
                deleted("Contact", "003B", Some("2024-05-01T12:00:00Z")),
                // The same instant as its stamp: goes.
                deleted("Contact", "003C", Some("2024-05-01T10:00:00.000Z")),
            ],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(counts.contacts, 2);
    assert_eq!(names(&replica.contacts(None).unwrap()), ["Ada Lovelace"]);
}

/// The gateway restarts an object whose delete log no longer reaches the cursor: what it sends
/// from then on until the object's last page is everything the rep may see.
#[test]
fn a_reset_pass_drops_the_records_it_did_not_resend() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    // Page 1: Contact reset (no records yet), an Account change on the side.
    let mut objects = all_done();
    objects.insert("Contact".into(), progress(true));
    let counts = replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001B", "Globex Intl")],
            reset: vec!["Contact".into()],
            objects: objects.clone(),
            cursors: all_cursors("r1"),
            more: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(counts.contacts, 0);
    // Mid-pass the replica still shows everything it had.
    assert_eq!(replica.contacts(None).unwrap().len(), 4);
    // Page 2: two of the four contacts, one of them an older version than the one held.
    let older = stamped(
        contact(
            "003A",
            "Ada",
            "Older",
            "ada@acme.example",
            "CTO",
            Some("001A"),
        ),
        |c| c.system_modstamp = "2024-01-01T00:00:00.000+0000".into(),
    );
    replica
        .apply_page(&SyncResponse {
            contacts: vec![
                older,
                contact(
                    "003C",
                    "grace",
                    "Hopper",
                    "grace@navy.example",
                    "Rear Admiral",
                    None,
                ),
            ],
            objects: objects.clone(),
            cursors: all_cursors("r2"),
            more: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.contacts(None).unwrap().len(), 4);
    // Page 3: the last Contact page: the two not re-sent go.
    let counts = replica
        .apply_page(&SyncResponse {
            contacts: vec![contact(
                "003E",
                "Eve",
                "New",
                "eve@acme.example",
                "CFO",
                Some("001A"),
            )],
            objects: all_done(),
            cursors: all_cursors("r3"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(counts.contacts, 1 + 2, "one upsert, two dropped");
    assert_eq!(
        names(&replica.contacts(None).unwrap()),
        ["Ada Lovelace", "Eve New", "grace Hopper"],
        "the newer Ada is kept, Bob and José are gone"
    );
    assert!(replica.contacts(Some("josé")).unwrap().is_empty());
    // Other objects were not touched by the Contact reset.
    assert_eq!(replica.counts().unwrap()["Opportunity"], 4);
    assert_eq!(replica.counts().unwrap()["Account"], 2);

    // A later ordinary page drops nothing.
    replica
        .apply_page(&SyncResponse {
            contacts: vec![contact(
                "003F",
                "Fay",
                "Wray",
                "fay@acme.example",
                "CFO",
                None,
            )],
            objects: all_done(),
            cursors: all_cursors("r4"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.contacts(None).unwrap().len(), 4);
}

/// The pass state is stored with the page: a sync that stops mid-pass and resumes (a new
/// `Replica` on the same file) still drops the records the pass did not resend.
#[test]
fn a_reset_pass_survives_a_restart() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let mut objects = all_done();
    objects.insert("Task".into(), progress(true));
    replica
        .apply_page(&SyncResponse {
            tasks: vec![task(
                "00TB",
                "Demo",
                Some("2024-05-02"),
                Some("003A"),
                Some("006A"),
            )],
            reset: vec!["Task".into()],
            objects,
            cursors: all_cursors("r1"),
            more: true,
            ..Default::default()
        })
        .unwrap();
    let path = replica.path().to_owned();
    drop(replica);
    let replica = Replica::open(&path, &test_key()).unwrap();
    replica
        .apply_page(&SyncResponse {
            tasks: vec![task(
                "00TD",
                "Call José",
                Some("2024-05-03"),
                Some("003B"),
                Some("001B"),
            )],
            objects: all_done(),
            cursors: all_cursors("r2"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.ids("Task").unwrap(), ["00TB", "00TD"]);
}

/// A replica that lost its cursors but kept records: the first sync after is a pass too, so
/// records the rep no longer sees do not linger.
#[test]
fn a_first_sync_over_old_records_drops_the_ones_not_sent() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    replica
        .writer()
        .execute_batch("DELETE FROM sync_state")
        .unwrap();
    replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001A", "Acme Corporation")],
            contacts: vec![ada_at_acme()],
            objects: all_done(),
            cursors: all_cursors("1"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.ids("Contact").unwrap(), ["003A"]);
    assert_eq!(replica.ids("Account").unwrap(), ["001A"]);
}

#[test]
fn ids_and_retain_only_reconcile_with_what_the_rep_may_see() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    assert_eq!(
        replica.ids("Contact").unwrap(),
        ["003A", "003B", "003C", "003D"]
    );
    let keep: BTreeSet<String> = ["003B", "003D", "003X"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(replica.retain_only("Contact", &keep).unwrap(), 2);
    assert_eq!(replica.ids("Contact").unwrap(), ["003B", "003D"]);
    assert!(
        replica.contacts(Some("lovelace")).unwrap().is_empty(),
        "the index follows"
    );
    assert_eq!(replica.retain_only("Contact", &keep).unwrap(), 0);
    assert_eq!(replica.retain_only("Task", &BTreeSet::new()).unwrap(), 4);
    assert_eq!(replica.counts().unwrap()["Task"], 0);
    assert_eq!(replica.ids("Event").unwrap_err().kind(), "bad_input");
    assert_eq!(
        replica
            .retain_only("contact; --", &keep)
            .unwrap_err()
            .kind(),
        "bad_input"
    );
}

#[test]
fn picklists_are_stored_in_order_and_replaced_per_object() {
    let (_dir, replica) = open_temp();
    let entry = |value: &str, probability: Option<f64>, closed: Option<bool>| PicklistEntry {
        value: value.into(),
        label: value.into(),
        default: value == "Prospecting",
        probability,
        closed,
        won: closed.map(|_| value == "Closed Won"),
    };
    let stages = vec![
        entry("Prospecting", Some(10.0), Some(false)),
        entry("Negotiation", Some(90.0), Some(false)),
        entry("Closed Won", Some(100.0), Some(true)),
    ];
    let describe = |picklists: Vec<(&str, Vec<PicklistEntry>)>| DescribeResponse {
        object: "Opportunity".into(),
        picklists: picklists
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect(),
    };
    replica
        .store_describe(&describe(vec![
            ("StageName", stages.clone()),
            ("Type", vec![entry("New", None, None)]),
        ]))
        .unwrap();
    assert_eq!(
        replica.picklist("Opportunity", "StageName").unwrap(),
        stages
    );
    assert_eq!(replica.picklist("Opportunity", "Type").unwrap().len(), 1);
    assert!(replica.picklist("Task", "Status").unwrap().is_empty());
    // A new describe replaces the old values.
    replica
        .store_describe(&describe(vec![("StageName", stages[..1].to_vec())]))
        .unwrap();
    assert_eq!(
        replica.picklist("Opportunity", "StageName").unwrap(),
        stages[..1]
    );
    assert!(replica.picklist("Opportunity", "Type").unwrap().is_empty());
}

#[test]
fn contacts_page_through_in_name_order() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let page = |search: Option<&str>, limit, offset| {
        let found = replica
            .contacts_page(&ContactQuery {
                search: search.map(Into::into),
                limit,
                offset,
                ..Default::default()
            })
            .unwrap();
        found.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    assert_eq!(page(None, Some(2), 0), ["Ada Lovelace", "Bob O'Brien"]);
    assert_eq!(page(None, Some(2), 2), ["grace Hopper", "José Álvarez"]);
    assert!(page(None, Some(2), 4).is_empty());
    assert_eq!(page(None, None, 3), ["José Álvarez"]);
    assert_eq!(page(Some("acme"), Some(1), 0).len(), 1);
    assert_eq!(page(Some("acme"), Some(5), 1).len(), 1);

    // Keyset: the next page starts after the last contact shown, case ignored as in the list.
    let after = |name: &str, id: &str| {
        replica
            .contacts_page(&ContactQuery {
                limit: Some(2),
                after: Some(ContactKey {
                    name: name.into(),
                    id: id.into(),
                }),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    let second = replica
        .contacts_page(&ContactQuery {
            limit: Some(2),
            ..Default::default()
        })
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(second.name, "Bob O'Brien");
    assert_eq!(
        after(&second.name, &second.id),
        ["grace Hopper", "José Álvarez"]
    );
    assert_eq!(after("José Álvarez", &"~".repeat(18)), Vec::<String>::new());
}

/// The next page of the list is found through the name index, not by reading the list again
/// from its start.
#[test]
fn a_keyset_page_reads_from_the_name_index() {
    let (_dir, replica) = open_temp();
    let conn = raw_connection(replica.path());
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT c.id FROM contact c
             WHERE c.name COLLATE NOCASE >= 'm'
               AND (c.name COLLATE NOCASE > 'm' OR c.id > '')
             ORDER BY c.name COLLATE NOCASE, c.id LIMIT 50",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|step| step.contains("contact_by_name") && step.contains(">")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}

#[test]
fn contact_detail_has_account_open_opportunities_and_recent_tasks() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let ada = replica.contact("003A").unwrap().unwrap();
    assert_eq!(ada.name, "Ada Lovelace");
    assert_eq!(ada.email.as_deref(), Some("ada@acme.example"));
    assert_eq!(ada.account.as_ref().unwrap().name, "Acme Corporation");
    // Open ones only, soonest first.
    let opps: Vec<_> = ada
        .open_opportunities
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(opps, ["006A", "006B"]);
    assert_eq!(
        ada.open_opportunities[0].account_name.as_deref(),
        Some("Acme Corporation")
    );
    // Newest first; the undated one last.
    let tasks: Vec<_> = ada.recent_tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tasks, ["00TB", "00TA", "00TC"]);

    let grace = replica.contact("003C").unwrap().unwrap();
    assert!(
        grace.account.is_none()
            && grace.open_opportunities.is_empty()
            && grace.recent_tasks.is_empty()
    );
    assert!(replica.contact("003Z").unwrap().is_none());

    let json = serde_json::to_value(&ada).unwrap();
    assert_eq!(json["id"], "003A");
    assert_eq!(json["account"]["name"], "Acme Corporation");
    assert_eq!(json["recent_tasks"][0]["activity_date"], "2024-05-02");
}

#[test]
fn recent_tasks_stop_at_twenty_newest() {
    let (_dir, replica) = open_temp();
    seed(&replica);
    let tasks = (0..25)
        .map(|i| {
            stamped(
                task(
                    &format!("00T{i:02}"),
                    "Call",
                    Some("2024-05-01"),
                    Some("003A"),
                    None,
                ),
                |t| t.system_modstamp = format!("2024-05-01T10:00:{i:02}.000+0000"),
            )
        })
        .collect();
    replica
        .apply_page(&SyncResponse {
            tasks,
            ..Default::default()
        })
        .unwrap();
    let recent = replica.contact("003A").unwrap().unwrap().recent_tasks;
    assert_eq!(recent.len(), 20);
    assert_eq!(recent[0].id, "00T24");
    assert_eq!(recent[19].id, "00T05");
}

#[test]
fn accounts_are_sorted_and_paged_with_a_detail() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001C", "acme labs")],
            ..Default::default()
        })
        .unwrap();
    let names = |list: Vec<AccountSummary>| list.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(
        names(replica.accounts(None, 0).unwrap()),
        ["Acme Corporation", "acme labs", "Globex"]
    );
    assert_eq!(names(replica.accounts(Some(1), 1).unwrap()), ["acme labs"]);
    let acme = replica.account("001A").unwrap().unwrap();
    assert_eq!(acme.account.billing_city.as_deref(), Some("Lyon"));
    assert_eq!(acme.website.as_deref(), Some("https://acme.example"));
    assert_eq!(
        acme.billing_street.as_deref(),
        Some("1 Rue de la République")
    );
    assert_eq!(acme.billing_postal_code.as_deref(), Some("69002"));
    assert_eq!(acme.billing_country.as_deref(), Some("France"));
    assert_eq!(names_of(&acme.contacts), ["Ada Lovelace", "Bob O'Brien"]);
    assert_eq!(acme.open_opportunities.len(), 2);
    let globex = replica.account("001B").unwrap().unwrap();
    assert_eq!(globex.recent_tasks.len(), 1);
    assert!(replica.account("001Z").unwrap().is_none());
    let json = serde_json::to_value(&acme).unwrap();
    assert_eq!(json["id"], "001A");
    assert_eq!(json["name"], "Acme Corporation");
}

fn names_of(list: &[ContactSummary]) -> Vec<&str> {
    names(list)
}

#[test]
fn opportunities_filter_by_stage_closing_soon_and_amount_and_sort() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let today = time::macros::date!(2024 - 06 - 01);
    let ids = |query: OpportunityQuery| {
        replica
            .opportunities_as_of(&query, today)
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(OpportunityQuery::default()),
        ["006C", "006A", "006D", "006B"]
    );
    assert_eq!(
        ids(OpportunityQuery {
            sort: OpportunitySort::AmountDesc,
            ..Default::default()
        }),
        ["006B", "006A", "006C", "006D"],
        "no amount last"
    );
    assert_eq!(
        ids(OpportunityQuery {
            sort: OpportunitySort::Name,
            ..Default::default()
        }),
        ["006B", "006C", "006A", "006D"]
    );
    assert_eq!(
        ids(OpportunityQuery {
            stage: Some("Negotiation".into()),
            ..Default::default()
        }),
        ["006A"]
    );
    // Open, closing from today to today + 30 days: not the closed one, not September's.
    assert_eq!(
        ids(OpportunityQuery {
            closing_within_days: Some(30),
            ..Default::default()
        }),
        ["006A", "006D"]
    );
    assert_eq!(
        ids(OpportunityQuery {
            closing_within_days: Some(30),
            min_amount: Some(20_000.0),
            ..Default::default()
        }),
        ["006A"]
    );
    assert_eq!(
        ids(OpportunityQuery {
            min_amount: Some(10_000.0),
            limit: Some(2),
            offset: 1,
            sort: OpportunitySort::AmountDesc,
            ..Default::default()
        }),
        ["006A", "006C"]
    );
    let first = replica
        .opportunities_as_of(&OpportunityQuery::default(), today)
        .unwrap();
    assert_eq!(first[0].account_name.as_deref(), Some("Acme Corporation"));
    assert!(first[0].is_closed && first[0].is_won);
    assert_eq!(
        replica
            .opportunities(&OpportunityQuery {
                min_amount: Some(f64::NAN),
                ..Default::default()
            })
            .unwrap_err()
            .kind(),
        "bad_input"
    );
}

#[test]
fn opportunity_detail_has_account_and_recent_tasks() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let deal = replica.opportunity("006A").unwrap().unwrap();
    assert_eq!(deal.opportunity.name, "Acme renewal");
    assert_eq!(deal.opportunity.amount, Some(50_000.0));
    assert_eq!(deal.account.as_ref().unwrap().id, "001A");
    let tasks: Vec<_> = deal.recent_tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tasks, ["00TB", "00TA"]);
    assert!(replica.opportunity("006Z").unwrap().is_none());
    let json = serde_json::to_value(&deal).unwrap();
    assert_eq!(json["id"], "006A");
    assert_eq!(json["stage_name"], "Negotiation");
    assert_eq!(json["account"]["name"], "Acme Corporation");
}

#[test]
fn one_search_box_finds_contacts_accounts_and_opportunities() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    let hits = replica.search("acme", 50).unwrap();
    let mut found: Vec<(&str, &str)> = hits.iter().map(|h| (h.object, h.id.as_str())).collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("Account", "001A"),
            ("Contact", "003A"),
            ("Contact", "003D"),
            ("Opportunity", "006A"),
            ("Opportunity", "006B"),
            ("Opportunity", "006C"),
        ]
    );
    // The account named Acme ranks first: its name is the match.
    assert_eq!(hits[0].id, "001A");
    assert_eq!(hits[0].title, "Acme Corporation");
    assert_eq!(hits[0].subtitle.as_deref(), Some("Technology · Lyon"));
    let ada = hits.iter().find(|h| h.id == "003A").unwrap();
    assert_eq!(ada.subtitle.as_deref(), Some("CTO · Acme Corporation"));
    let renewal = hits.iter().find(|h| h.id == "006A").unwrap();
    assert_eq!(
        renewal.subtitle.as_deref(),
        Some("Acme Corporation · Negotiation · 2024-06-10")
    );

    // Case and accents ignored both ways; word prefixes of any word.
    assert_eq!(hit_ids(&replica.search("jose", 50).unwrap()), ["003B"]);
    assert_eq!(hit_ids(&replica.search("JOSÉ ÁLV", 50).unwrap()), ["003B"]);
    assert_eq!(hit_ids(&replica.search("alvarez", 50).unwrap()), ["003B"]);
    assert_eq!(hit_ids(&replica.search("rollout", 50).unwrap()), ["006D"]);
    assert_eq!(hit_ids(&replica.search("glob roll", 50).unwrap()), ["006D"]);
    assert_eq!(hit_ids(&replica.search("navy", 50).unwrap()), ["003C"]);
    assert!(replica.search("", 50).unwrap().is_empty());
    assert!(replica.search("zebra", 50).unwrap().is_empty());
    assert_eq!(replica.search("acme", 2).unwrap().len(), 2);
}

#[test]
fn an_exact_name_match_ranks_above_a_mention_in_a_title() {
    let (_dir, replica) = open_temp();
    replica
        .apply_page(&SyncResponse {
            contacts: vec![
                contact(
                    "003A",
                    "Ann",
                    "Miller",
                    "ann@x.example",
                    "Sales Director",
                    None,
                ),
                contact(
                    "003B",
                    "Bea",
                    "Cruz",
                    "bea@x.example",
                    "Director of Sales",
                    None,
                ),
                contact("003C", "Sales", "Smith", "s@x.example", "Engineer", None),
                contact(
                    "003D",
                    "Cat",
                    "Ng",
                    "cat@x.example",
                    "Head of Sales Operations",
                    None,
                ),
            ],
            ..Default::default()
        })
        .unwrap();
    let hits = replica.search("sales", 50).unwrap();
    assert_eq!(hits.len(), 4);
    assert_eq!(hits[0].id, "003C", "{hits:?}");
}

#[test]
fn phones_are_found_by_digits_with_or_without_punctuation() {
    let (_dir, replica) = open_temp();
    replica
        .apply_page(&SyncResponse {
            accounts: vec![stamped(account("001A", "Acme"), |a| {
                a.phone = Some("+1 (415) 555-2199".into())
            })],
            contacts: vec![
                stamped(
                    contact("003A", "Ada", "Lovelace", "ada@x.example", "CTO", None),
                    |c| {
                        c.phone = Some("(555) 010-1234".into());
                        c.mobile_phone = Some("06 12 34 56 78".into());
                    },
                ),
                stamped(
                    contact("003B", "Bob", "Stone", "bob@x.example", "CTO", None),
                    |c| c.phone = Some("(555) 999-0000".into()),
                ),
            ],
            ..Default::default()
        })
        .unwrap();
    let ids = |text: &str| {
        let mut ids: Vec<String> = replica
            .search(text, 50)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("555 01"), ["003A"]);
    assert_eq!(ids("55501"), ["003A"]);
    assert_eq!(ids("5550101234"), ["003A"]);
    assert_eq!(ids("(555) 010-12"), ["003A"]);
    assert_eq!(ids("555"), ["001A", "003A", "003B"]);
    assert_eq!(ids("0612"), ["003A"], "the mobile phone too");
    assert_eq!(ids("1415555"), ["001A"]);
    assert!(ids("55502").is_empty());
}

#[test]
fn renaming_an_account_renames_it_in_its_contacts_and_opportunities_search() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    replica
        .apply_page(&SyncResponse {
            accounts: vec![stamped(account("001B", "Initech"), |a| {
                a.system_modstamp = "2024-06-01T00:00:00.000+0000".into()
            })],
            ..Default::default()
        })
        .unwrap();
    let mut found: Vec<String> = replica
        .search("initech", 50)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    found.sort();
    assert_eq!(found, ["001B", "003B", "006D"]);
    // Only José's email and the opportunity's own name still say globex.
    let mut globex = hit_ids(&replica.search("globex", 50).unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    globex.sort();
    assert_eq!(globex, ["003B", "006D"]);
    // An account deleted: its name leaves its contacts' and opportunities' entries.
    replica
        .apply_page(&SyncResponse {
            deleted: vec![deleted("Account", "001B", None)],
            ..Default::default()
        })
        .unwrap();
    assert!(replica.search("initech", 50).unwrap().is_empty());
    // A record moved to another account is found by the new account's name.
    replica
        .apply_page(&SyncResponse {
            opportunities: vec![stamped(
                opportunity(
                    "006D",
                    "Globex rollout",
                    "Qualification",
                    None,
                    "2024-06-20",
                    Some("001A"),
                ),
                |o| o.system_modstamp = "2024-06-02T00:00:00.000+0000".into(),
            )],
            ..Default::default()
        })
        .unwrap();
    assert!(hit_ids(&replica.search("acme rollout", 50).unwrap()) == ["006D"]);
}

#[test]
fn search_input_that_looks_like_syntax_is_just_text() {
    let (_dir, replica) = open_temp();
    seed_all(&replica);
    for text in [
        "\"",
        "*",
        "ada*",
        "-ada",
        "ada OR bob",
        "NEAR(ada bob)",
        "name:ada",
        "{name email}: ada",
        "^ada",
        "(",
        "AND",
        "'; DROP TABLE contact; --",
        "ada\u{0}lov",
        "🙂",
        "%",
        "\\",
    ] {
        let result = replica.search(text, 50);
        assert!(result.is_ok(), "{text:?}: {result:?}");
    }
    assert!(replica.search("ada OR bob", 50).unwrap().is_empty());
    assert!(replica.search("name:ada", 50).unwrap().is_empty());
    assert_eq!(hit_ids(&replica.search("\"ada", 50).unwrap()), ["003A"]);
    assert_eq!(hit_ids(&replica.search("o'brien", 50).unwrap()), ["003D"]);
    assert_eq!(
        replica.counts().unwrap()["Contact"],
        4,
        "nothing was dropped"
    );
}

#[test]
fn search_stops_at_fifty() {
    let (_dir, replica) = open_temp();
    let contacts = (0..80)
        .map(|i| {
            contact(
                &format!("003{i:03}"),
                "Ada",
                &format!("Smith{i}"),
                "a@x.example",
                "CTO",
                None,
            )
        })
        .collect();
    replica
        .apply_page(&SyncResponse {
            contacts,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(replica.search("ada", 50).unwrap().len(), 50);
    assert_eq!(replica.search("ada", 500).unwrap().len(), 50);
    assert_eq!(replica.search("ada", 7).unwrap().len(), 7);
}

/// The contacts screen's search pages through every match exactly once: the best few hundred
/// ranked (a whole name first), the rest after them.
#[test]
fn the_contacts_search_pages_through_every_match_once_best_first() {
    let (_dir, replica) = open_temp();
    let mut contacts: Vec<Contact> = (0..700)
        .map(|i| {
            contact(
                &format!("003{i:015}"),
                "Ada",
                &format!("Smith{i}"),
                &format!("ada{i}@x.example"),
                "CTO",
                None,
            )
        })
        .collect();
    // Found 151st in index order: ranking brings it to the top.
    contacts.insert(
        150,
        contact(
            "003999999999999999",
            "Cto",
            "Cto",
            "c@x.example",
            "Buyer",
            None,
        ),
    );
    replica
        .apply_page(&SyncResponse {
            contacts,
            ..Default::default()
        })
        .unwrap();
    let page = |offset, limit| {
        replica
            .contacts_page(&ContactQuery {
                search: Some("cto".into()),
                limit: Some(limit),
                offset,
                ..Default::default()
            })
            .unwrap()
    };
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let items = page(offset, 90);
        if items.is_empty() {
            break;
        }
        offset += items.len() as u32;
        seen.extend(items.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len(), 701, "every match once");
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 701, "no match twice");
    assert_eq!(seen[0], "003999999999999999", "the name match first");
    // Asked in one go, the same order.
    let all = replica.contacts(Some("cto")).unwrap();
    assert_eq!(all.into_iter().map(|c| c.id).collect::<Vec<_>>(), seen);
}

/// Every index of the four record tables, with its definition.
fn record_indexes(path: &std::path::Path) -> BTreeMap<String, String> {
    let conn = raw_connection(path);
    let mut stmt = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name IN ('account', 'contact', 'lead', 'opportunity', 'task')",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// A first sync leaves an object's secondary indexes out while its pass runs (they are built
/// in one go at the end); a sync killed half-way finds them again when the pass ends after a
/// restart, exactly as they were, and reads work all along.
#[test]
fn indexes_left_out_during_a_pass_come_back_as_they_were_even_after_a_restart() {
    let (_dir, replica) = open_temp();
    let path = replica.path().to_owned();
    let before = record_indexes(&path);
    assert!(before.contains_key("contact_by_name"), "{before:?}");
    assert!(before.contains_key("opportunity_by_stage"), "{before:?}");

    let mut objects = all_done();
    objects.insert("Contact".into(), progress(true));
    replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001A", "Acme Corporation")],
            contacts: vec![contact(
                "003B",
                "Zoë",
                "Zeta",
                "zoe@acme.example",
                "CTO",
                Some("001A"),
            )],
            objects,
            cursors: all_cursors("p1"),
            more: true,
            ..Default::default()
        })
        .unwrap();
    let during = record_indexes(&path);
    assert!(
        !during.contains_key("contact_by_name") && !during.contains_key("contact_by_account"),
        "contact indexes wait for the end of the contact pass: {during:?}"
    );
    assert_eq!(
        hit_ids(&replica.search("zeta", 50).unwrap()),
        ["003B"],
        "a first sync indexes search page by page"
    );
    assert!(
        during.contains_key("account_by_name") && during.contains_key("opportunity_by_stage"),
        "objects whose pass ended have theirs back: {during:?}"
    );
    assert_eq!(names(&replica.contacts(None).unwrap()), ["Zoë Zeta"]);

    // Killed here: the next run resumes the pass and ends it.
    drop(replica);
    let replica = Replica::open(&path, &test_key()).unwrap();
    replica
        .apply_page(&SyncResponse {
            contacts: vec![ada_at_acme()],
            objects: all_done(),
            cursors: all_cursors("p2"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(record_indexes(&path), before);
    assert_eq!(
        names(&replica.contacts(None).unwrap()),
        ["Ada Lovelace", "Zoë Zeta"]
    );
    assert_eq!(hit_ids(&replica.search("acme", 50).unwrap()).len(), 3);
    let conn = raw_connection(&path);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Segments are not merged while a pass writes them (nor after: tidy_search merges), and
    // the crisis merge is back to its usual line.
    assert_eq!(search_config(&conn), ["automerge=0", "crisismerge=64"]);
}

/// Indexes are built again after the page that ends their pass commits, one per transaction
/// (a rep's Save gets in between); a process stopped between that commit and the builds has
/// them built when the replica opens next.
#[test]
fn indexes_a_stopped_process_left_unbuilt_are_built_at_the_next_open() {
    let (_dir, replica) = open_temp();
    let path = replica.path().to_owned();
    let before = record_indexes(&path);
    drop(replica);
    {
        // What the file holds when stopped right after the pass's last page committed.
        let conn = raw_connection(&path);
        conn.execute_batch(
            "INSERT INTO deferred_index (name, tbl_name, sql)
               SELECT name, tbl_name, sql FROM sqlite_schema
               WHERE type = 'index' AND tbl_name = 'contact' AND sql IS NOT NULL;
             DROP INDEX contact_by_name;
             DROP INDEX contact_by_account;",
        )
        .unwrap();
    }
    assert!(!record_indexes(&path).contains_key("contact_by_name"));

    let replica = Replica::open(&path, &test_key()).unwrap();
    assert_eq!(record_indexes(&path), before);
    let left: i64 = raw_connection(&path)
        .query_row("SELECT count(*) FROM deferred_index", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    drop(replica);
}

/// The search index's merge settings that a pass changes while it runs.
fn search_config(conn: &Connection) -> Vec<String> {
    conn.prepare(
        "SELECT k || '=' || v FROM search_config WHERE k IN ('automerge', 'crisismerge')
         ORDER BY k",
    )
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A replica written by the previous version (schema 2, the search index holding its own copy
/// of the text) opens with everything findable as before.
#[test]
fn a_replica_of_the_previous_schema_is_upgraded_with_its_search_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = Replica::path_for(dir.path(), "00D000000000001AAA", OWNER).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let mut conn = raw_connection(&path);
        conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
        migrations::migrations().to_version(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO account (id, name, owner_id, system_modstamp)
             VALUES ('001A', 'Acme Corporation', 'u', '2024-05-01T10:00:00.000+0000');
             INSERT INTO contact (id, first_name, last_name, name, email, phone, account_id,
                                  owner_id, system_modstamp)
             VALUES ('003A', 'Ada', 'Lovelace', 'Ada Lovelace', 'ada@acme.example',
                     '(555) 010-1234', '001A', 'u', '2024-05-01T10:00:00.000+0000');",
        )
        .unwrap();
    }
    let replica = Replica::open(&path, &test_key()).unwrap();
    for text in ["lov", "acme ada", "55501", "ada@acme"] {
        assert_eq!(
            hit_ids(&replica.search(text, 50).unwrap()),
            ["003A"],
            "{text}"
        );
    }
    assert_eq!(
        hit_ids(&replica.search("corp", 50).unwrap()),
        ["001A", "003A"]
    );
    // And the index follows later changes.
    replica
        .apply_page(&SyncResponse {
            accounts: vec![account("001A", "Initech")],
            cursors: cursors(&[("Account", "a2")]),
            ..Default::default()
        })
        .unwrap();
    assert!(replica.search("corp", 50).unwrap().is_empty());
    assert_eq!(
        hit_ids(&replica.search("initech ada", 50).unwrap()),
        ["003A"]
    );
}

/// An index made again while its table's pass ran (say by a later schema version) does not
/// make the pass's last page fail.
#[test]
fn an_index_made_again_during_a_pass_is_not_made_twice() {
    let (_dir, replica) = open_temp();
    let path = replica.path().to_owned();
    let before = record_indexes(&path);
    let mut objects = all_done();
    objects.insert("Contact".into(), progress(true));
    replica
        .apply_page(&SyncResponse {
            objects,
            cursors: all_cursors("p1"),
            more: true,
            ..Default::default()
        })
        .unwrap();
    raw_connection(&path)
        .execute_batch("CREATE INDEX contact_by_name ON contact (name COLLATE NOCASE, id)")
        .unwrap();
    replica
        .apply_page(&SyncResponse {
            objects: all_done(),
            cursors: all_cursors("p2"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(record_indexes(&path), before);
}

/// FTS5's own check of the search index passes, and the merge settings are back to normal
/// (no gradual merge at writes; the crisis merge at 64 segments a level).
fn search_index_is_sound_and_merges_again(replica: &Replica) {
    let conn = raw_connection(replica.path());
    conn.execute_batch("INSERT INTO search (search) VALUES ('integrity-check')")
        .unwrap();
    assert_eq!(search_config(&conn), ["automerge=0", "crisismerge=64"]);
}

/// Pages of a first sync whose `objects` say which passes go on after them.
fn first_sync_page(tag: &str, going_on: &[&str]) -> SyncResponse {
    let mut objects = all_done();
    for object in going_on {
        objects.insert(object.to_string(), progress(true));
    }
    SyncResponse {
        objects,
        cursors: all_cursors(tag),
        more: !going_on.is_empty(),
        ..Default::default()
    }
}

/// What the search box finds for a set of queries, to compare two replicas' indexes.
fn findings(replica: &Replica) -> Vec<(String, Vec<String>)> {
    [
        "acme",
        "industries",
        "corporation",
        "globex",
        "zeta",
        "zoe",
        "ada",
        "ceo",
        "cto",
        "hopper",
        "johnson",
        "turing",
        "linus",
        "big deal",
        "3347",
        "+33",
        "example",
    ]
    .iter()
    .map(|query| {
        let hits = replica.search(query, 50).unwrap();
        let ids = hit_ids(&hits).into_iter().map(String::from).collect();
        (query.to_string(), ids)
    })
    .collect()
}

/// A first sync on an empty replica indexes search page by page: a record is found as soon
/// as its page lands (a contact once its account is here, or once the accounts' pass has
/// ended), contacts re-sent or deleted during the pass are found as they now are, and the
/// sync ends with the index triggers would have built for the same records.
#[test]
fn a_first_sync_indexes_search_page_by_page_and_ends_as_the_triggers_would() {
    let (_dir, replica) = open_temp();
    let acme = account("001A", "Acme Corporation");
    let globex = account("001B", "Globex");
    let ada_promoted = stamped(
        contact(
            "003A",
            "Ada",
            "Lovelace",
            "ada@acme.example",
            "CEO",
            Some("001A"),
        ),
        |c| c.system_modstamp = "2024-05-02T10:00:00.000+0000".into(),
    );
    let zoe = contact(
        "003B",
        "Zoë",
        "Zeta",
        "zoe@globex.example",
        "CTO",
        Some("001B"),
    );
    // 001Z never comes: the rep cannot see that account.
    let grace = contact(
        "003C",
        "Grace",
        "Hopper",
        "grace@navy.example",
        "CTO",
        Some("001Z"),
    );
    let linus = contact(
        "003E",
        "Linus",
        "Torvalds",
        "linus@globex.example",
        "CTO",
        Some("001B"),
    );
    let katherine = contact(
        "003F",
        "Katherine",
        "Johnson",
        "kj@nasa.example",
        "CTO",
        Some("001Z"),
    );
    let deal = opportunity(
        "006A",
        "Big Deal",
        "Prospecting",
        None,
        "2024-09-01",
        Some("001B"),
    );

    let mut page = first_sync_page("1", &["Account", "Contact", "Opportunity"]);
    page.accounts = vec![acme.clone()];
    page.contacts = vec![
        ada_at_acme(),
        zoe.clone(),
        grace.clone(),
        contact("003D", "Alan", "Turing", "alan@example.org", "CTO", None),
    ];
    page.opportunities = vec![deal.clone()];
    replica.apply_page(&page).unwrap();
    assert_eq!(
        hit_ids(&replica.search("acme", 50).unwrap()),
        ["001A", "003A"]
    );
    assert_eq!(hit_ids(&replica.search("turing", 50).unwrap()), ["003D"]);
    assert!(
        replica.search("zeta", 50).unwrap().is_empty(),
        "Zoë waits for her account, whose name her entry carries"
    );
    assert!(replica.search("big", 50).unwrap().is_empty());

    let mut page = first_sync_page("2", &["Account", "Contact"]);
    page.accounts = vec![globex.clone()];
    page.contacts = vec![ada_promoted.clone(), linus.clone()];
    page.deleted = vec![deleted("Contact", "003D", None)];
    replica.apply_page(&page).unwrap();
    assert_eq!(
        hit_ids(&replica.search("globex", 50).unwrap()),
        ["001B", "003B", "003E", "006A"]
    );
    assert!(replica.search("turing", 50).unwrap().is_empty());
    assert_eq!(hit_ids(&replica.search("ceo", 50).unwrap()), ["003A"]);
    assert!(
        replica.search("hopper", 50).unwrap().is_empty(),
        "Grace's account may still come"
    );

    let mut page = first_sync_page("3", &[]);
    page.contacts = vec![katherine.clone()];
    replica.apply_page(&page).unwrap();
    assert_eq!(hit_ids(&replica.search("hopper", 50).unwrap()), ["003C"]);
    assert_eq!(hit_ids(&replica.search("johnson", 50).unwrap()), ["003F"]);

    // The same records written outside a pass, where the triggers keep the index.
    let (_other_dir, by_triggers) = open_temp();
    by_triggers
        .apply_page(&SyncResponse {
            accounts: vec![acme, globex],
            contacts: vec![ada_promoted, zoe, grace, linus, katherine],
            opportunities: vec![deal],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(findings(&replica), findings(&by_triggers));

    search_index_is_sound_and_merges_again(&replica);

    // The triggers are back: a rename after the sync reaches the contacts' entries.
    replica
        .apply_page(&SyncResponse {
            accounts: vec![stamped(account("001B", "Initech"), |a| {
                a.system_modstamp = "2024-05-03T10:00:00.000+0000".into()
            })],
            cursors: all_cursors("4"),
            objects: all_done(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        hit_ids(&replica.search("globex", 50).unwrap()),
        ["003B", "003E"],
        "their emails still say globex; the account and the deal no longer do"
    );
    assert_eq!(
        hit_ids(&replica.search("initech", 50).unwrap()),
        ["001B", "003B", "003E", "006A"]
    );

    // Merging the segments the pages wrote changes what is found in no way.
    let before = findings(&replica);
    let mut steps = 0;
    while replica.tidy_search().unwrap() {
        steps += 1;
        assert!(steps < 100, "tidying ends");
    }
    assert_eq!(findings(&replica), before);
}

/// Leads the rep saved before the first sync's first page landed, and during it, stay
/// findable, and the sync still indexes page by page: counting them as synced records made
/// the whole index wait for a rebuild at the end, one long transaction a Save waited for.
#[test]
fn leads_saved_before_and_during_a_first_sync_stay_findable_and_the_sync_indexes_page_by_page() {
    let (_dir, replica) = open_temp();
    let lead = |last_name: &str| {
        replica
            .save_new_lead(
                OWNER,
                &crate::writes::NewLead {
                    last_name: last_name.into(),
                    company: "Navy Labs".into(),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let upkeep = |replica: &Replica| search_upkeep::current(&replica.reader()).unwrap();
    let hopper = lead("Hopper");
    assert_eq!(hit_ids(&replica.search("hopper", 50).unwrap()), [&hopper]);

    let mut page = first_sync_page("1", &["Contact"]);
    page.accounts = vec![account("001A", "Acme Corporation")];
    page.contacts = vec![ada_at_acme()];
    replica.apply_page(&page).unwrap();
    assert_eq!(upkeep(&replica), search_upkeep::Upkeep::PageByPage);
    assert_eq!(
        hit_ids(&replica.search("acme", 50).unwrap()),
        ["001A", "003A"]
    );
    assert_eq!(hit_ids(&replica.search("hopper", 50).unwrap()), [&hopper]);

    let lamarr = lead("Lamarr");
    let mut page = first_sync_page("2", &[]);
    page.contacts = vec![contact(
        "003B",
        "Zoë",
        "Zeta",
        "zoe@acme.example",
        "CTO",
        Some("001A"),
    )];
    replica.apply_page(&page).unwrap();
    assert_eq!(upkeep(&replica), search_upkeep::Upkeep::Triggers);
    assert_eq!(
        hit_ids(&replica.search("navy", 50).unwrap()),
        [&hopper, &lamarr]
    );
    assert_eq!(hit_ids(&replica.search("zeta", 50).unwrap()), ["003B"]);
    search_index_is_sound_and_merges_again(&replica);
}

/// An account renamed while a first sync runs (it changed in Salesforce meanwhile, and came
/// again) is on its contacts' entries too: the index is rebuilt when the passes end.
#[test]
fn an_account_renamed_during_a_first_sync_is_searched_by_its_new_name() {
    let (_dir, replica) = open_temp();
    let mut page = first_sync_page("1", &["Account", "Contact"]);
    page.accounts = vec![account("001A", "Acme Corporation")];
    page.contacts = vec![ada_at_acme()];
    replica.apply_page(&page).unwrap();
    assert_eq!(
        hit_ids(&replica.search("corporation", 50).unwrap()),
        ["001A", "003A"]
    );

    let mut page = first_sync_page("2", &[]);
    page.accounts = vec![stamped(account("001A", "Acme Industries"), |a| {
        a.system_modstamp = "2024-05-02T10:00:00.000+0000".into()
    })];
    page.contacts = vec![contact(
        "003B",
        "Zoë",
        "Zeta",
        "zoe@acme.example",
        "CTO",
        Some("001A"),
    )];
    replica.apply_page(&page).unwrap();
    assert!(replica.search("corporation", 50).unwrap().is_empty());
    assert_eq!(
        hit_ids(&replica.search("industries", 50).unwrap()),
        ["001A", "003B", "003A"]
    );
    search_index_is_sound_and_merges_again(&replica);
}

/// A reset of contacts in the middle of a first sync (the replica now holds contacts) gives
/// up page-by-page indexing: the index is rebuilt when the passes end, without the contact
/// the reset did not send again.
#[test]
fn a_reset_during_a_first_sync_falls_back_to_a_rebuild_at_the_end() {
    let (_dir, replica) = open_temp();
    let mut page = first_sync_page("1", &["Account", "Contact"]);
    page.accounts = vec![account("001A", "Acme Corporation")];
    page.contacts = vec![
        ada_at_acme(),
        contact("003D", "Alan", "Turing", "alan@example.org", "CTO", None),
    ];
    replica.apply_page(&page).unwrap();
    assert_eq!(hit_ids(&replica.search("turing", 50).unwrap()), ["003D"]);

    let mut page = first_sync_page("2", &["Account"]);
    page.reset = vec!["Contact".into()];
    page.contacts = vec![ada_at_acme()];
    replica.apply_page(&page).unwrap();

    let mut page = first_sync_page("3", &[]);
    page.accounts = vec![account("001B", "Globex")];
    replica.apply_page(&page).unwrap();
    assert_eq!(replica.ids("Contact").unwrap(), ["003A"]);
    assert!(replica.search("turing", 50).unwrap().is_empty());
    assert_eq!(
        hit_ids(&replica.search("acme", 50).unwrap()),
        ["001A", "003A"]
    );
    assert_eq!(hit_ids(&replica.search("globex", 50).unwrap()), ["001B"]);
    search_index_is_sound_and_merges_again(&replica);
}
