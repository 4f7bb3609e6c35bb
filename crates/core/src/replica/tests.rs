use std::collections::BTreeMap;

use companion_api::{Account, Contact, DeletedRecord, SyncResponse};

use super::*;

const OWNER: &str = "005000000000001AAA";

fn account(id: &str, name: &str) -> Account {
    Account {
        id: id.into(),
        name: name.into(),
        industry: Some("Technology".into()),
        phone: None,
        billing_city: Some("Lyon".into()),
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

fn open_temp() -> (tempfile::TempDir, Replica) {
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
                contact(
                    "003A",
                    "Ada",
                    "Lovelace",
                    "ada@acme.example",
                    "CTO",
                    Some("001A"),
                ),
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
    assert_eq!(version, 2);
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
