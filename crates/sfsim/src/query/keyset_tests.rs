//! The stamp index answers keyset queries exactly as a scan of the whole table does: same rows,
//! same order, same counts, for every user, through edits that move stamps, deletes, owner
//! changes, rollbacks and a reset.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::{
    clock::format_datetime,
    seed::{self, SeedCounts},
};

const NOW: time::OffsetDateTime = time::macros::datetime!(2024-05-01 10:00:00 UTC);

/// The objects the gateway syncs.
const SYNCED: [&ObjectDef; 4] = [
    &schema::ACCOUNT,
    &schema::CONTACT,
    &schema::OPPORTUNITY,
    &schema::TASK,
];

fn small_org() -> Store {
    seed::org(
        NOW,
        SeedCounts {
            accounts: 12,
            contacts: 60,
            opportunities: 16,
            tasks: 20,
        },
    )
}

fn options() -> Options<'static> {
    Options {
        api_version: "58.0",
        include_deleted: false,
        now: NOW,
    }
}

/// `2024-05-0{day}T00:00:00.{ms}+0000`: a few stamps shared by many records.
fn stamp(day: u8, ms: u16) -> String {
    format!("2024-05-0{day}T00:00:00.{ms:03}+0000")
}

/// The same query both ways; the answers must be equal (and the query accepted).
fn assert_same_answer(store: &Store, user: &OrgUser, soql: &str) -> QueryOutput {
    let indexed = run_with(
        store,
        user,
        soql,
        &options(),
        Access::StampIndexWherePossible,
    )
    .unwrap_or_else(|e| panic!("{soql}: {e:?}"));
    let scanned = run_with(store, user, soql, &options(), Access::TableScan)
        .unwrap_or_else(|e| panic!("{soql}: {e:?}"));
    assert_eq!(
        (indexed.total_size, &indexed.ids),
        (scanned.total_size, &scanned.ids),
        "{soql} as {}",
        user.username
    );
    indexed
}

/// Keyset-shaped WHEREs (and near misses) after `(stamp, id)`.
fn wheres(stamp: &str, id: &str, owner: &str) -> Vec<String> {
    let t = stamp.replace("+0000", "Z");
    vec![
        format!("SystemModstamp > {t} OR (SystemModstamp = {t} AND Id > '{id}')"),
        format!("(Id > '{id}' AND SystemModstamp = {t}) OR SystemModstamp > {t}"),
        format!("SystemModstamp > {t}"),
        format!("SystemModstamp >= {t}"),
        format!("SystemModstamp = {t}"),
        format!("SystemModstamp = {t} AND Id > '{id}'"),
        format!(
            "(SystemModstamp > {t} OR (SystemModstamp = {t} AND Id > '{id}')) AND OwnerId = '{owner}'"
        ),
        format!("SystemModstamp >= {t} AND Id != '{id}'"),
        // Not the keyset shape (different stamps): a scan, still the same answer.
        format!("SystemModstamp > {t} OR (SystemModstamp = 2024-05-03T00:00:00Z AND Id > '{id}')"),
    ]
}

const TAILS: [&str; 4] = ["", " LIMIT 3", " LIMIT 4 OFFSET 2", " LIMIT 2000"];

/// Every keyset query from a sample of positions (each record's own, one millisecond either
/// side, its 15- and 18-char id) answers the same both ways, for the admin and two reps.
fn check_org(store: &Store) {
    assert!(store.stamp_indexes_are_exact());
    let users: Vec<&OrgUser> = store.users.iter().take(3).collect();
    assert!(users.iter().any(|u| u.is_admin) && users.iter().any(|u| !u.is_admin));
    let mut nonempty = 0;
    for object in SYNCED {
        let fields = if object.name == "Task" {
            "Id, Subject"
        } else {
            "Id, Name"
        };
        let positions: Vec<(i64, String)> = store
            .entries(object, true)
            .step_by(5)
            .map(|e| {
                let id18 = e.record["Id"].as_str().expect("id").to_owned();
                (e.system_modstamp_ms, id18)
            })
            .collect();
        for (i, (ms, id18)) in positions.iter().enumerate() {
            let id = if i % 2 == 0 { &id18[..15] } else { id18 };
            let owner = &users[i % users.len()].id;
            for shift in [-1, 0, 1] {
                let at = time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(ms + shift) * 1_000_000,
                )
                .expect("stamp in range");
                let at = format_datetime(at);
                for filter in wheres(&at, id, owner) {
                    for tail in TAILS {
                        for user in &users {
                            let soql = format!(
                                "SELECT {fields} FROM {} WHERE {filter} ORDER BY SystemModstamp, Id{tail}",
                                object.name
                            );
                            if assert_same_answer(store, user, &soql).total_size > 0 {
                                nonempty += 1;
                            }
                            let count = format!(
                                "SELECT COUNT() FROM {} WHERE {filter} ORDER BY SystemModstamp{tail}",
                                object.name
                            );
                            assert_same_answer(store, user, &count);
                        }
                    }
                }
            }
        }
        for user in &users {
            let soql = format!(
                "SELECT Id FROM {} ORDER BY SystemModstamp ASC, Id ASC",
                object.name
            );
            assert_same_answer(store, user, &soql);
        }
    }
    assert!(nonempty > 100, "the queries find records ({nonempty})");
}

fn set(fields: Value) -> Map<String, Value> {
    fields.as_object().expect("an object").clone()
}

fn contact_ids(store: &Store) -> Vec<String> {
    store
        .all(&schema::CONTACT)
        .map(|r| r["Id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn keyset_queries_answer_as_a_scan_does_through_edits_and_a_reset() {
    let mut store = small_org();
    let rep = store
        .user_by_username("rep@demo.example")
        .expect("rep")
        .id
        .clone();
    let rep2 = store
        .user_by_username("rep2@demo.example")
        .expect("rep2")
        .id
        .clone();
    let ids = contact_ids(&store);

    // Many records on the same few stamps: the id must break the ties.
    for (i, id) in ids.iter().enumerate() {
        let at = stamp(2 + (i % 3) as u8, 0);
        store
            .update(&schema::CONTACT, id, &set(json!({"Title": "Buyer"})), &at)
            .expect("update");
    }
    check_org(&store);

    // Edits move stamps forward and back.
    for id in ids.iter().step_by(4) {
        store
            .update(
                &schema::CONTACT,
                id,
                &set(json!({"Title": "Lead"})),
                &stamp(5, 7),
            )
            .expect("update");
    }
    for id in ids.iter().skip(1).step_by(6) {
        store
            .update(
                &schema::CONTACT,
                id,
                &set(json!({"Title": "Old"})),
                &stamp(1, 0),
            )
            .expect("update");
    }
    check_org(&store);

    // Deleted records leave the index (and the answers).
    for id in ids.iter().skip(2).step_by(5) {
        store.delete(&schema::CONTACT, id, &stamp(6, 0));
    }
    let live = store.all(&schema::CONTACT).count();
    assert!(live < ids.len());
    check_org(&store);

    // Owner changes: a rep's private records move to another rep.
    let owned: Vec<String> = store
        .all(&schema::CONTACT)
        .filter(|r| r["OwnerId"] == rep.as_str())
        .map(|r| r["Id"].as_str().expect("id").to_owned())
        .collect();
    assert!(!owned.is_empty());
    for id in &owned {
        store
            .update(
                &schema::CONTACT,
                id,
                &set(json!({"OwnerId": rep2})),
                &stamp(3, 0),
            )
            .expect("owner change");
    }
    check_org(&store);

    // Rollbacks: an edit undone, a delete undone, a created record removed again.
    let edited = &owned[0];
    let before = store.get_any(&schema::CONTACT, edited).cloned();
    store
        .update(
            &schema::CONTACT,
            edited,
            &set(json!({"OwnerId": rep})),
            &stamp(7, 0),
        )
        .expect("update");
    store.restore(&schema::CONTACT, edited, before);
    let deleted = &ids[2];
    let before_delete = store.get_any(&schema::CONTACT, deleted).cloned();
    let mut undeleted = before_delete.expect("deleted record stays in the bin");
    undeleted.insert("IsDeleted".into(), false.into());
    store.restore(&schema::CONTACT, deleted, Some(undeleted));
    let created = store.next_id(&schema::CONTACT);
    store.insert(
        &schema::CONTACT,
        set(json!({
            "Id": created, "LastName": "Temp", "OwnerId": rep,
            "CreatedDate": stamp(3, 0), "LastModifiedDate": stamp(3, 0), "SystemModstamp": stamp(3, 0),
        })),
    );
    check_org(&store);
    store.restore(&schema::CONTACT, &created, None);
    check_org(&store);

    // A reset builds the org afresh.
    store = small_org();
    check_org(&store);
}

/// What the property test does to an org before querying it.
#[derive(Debug, Clone)]
enum Edit {
    /// The n-th contact gets a new title at stamp `day`/`ms`.
    Touch {
        n: usize,
        day: u8,
        ms: u16,
    },
    /// The n-th contact moves to the k-th user.
    Reassign {
        n: usize,
        k: usize,
        day: u8,
        ms: u16,
    },
    Delete {
        n: usize,
        day: u8,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..200usize, 1..4u8, 0..3u16).prop_map(|(n, day, ms)| Edit::Touch { n, day, ms }),
        (0..200usize, 0..4usize, 1..4u8, 0..3u16).prop_map(|(n, k, day, ms)| Edit::Reassign {
            n,
            k,
            day,
            ms
        }),
        (0..200usize, 1..4u8).prop_map(|(n, day)| Edit::Delete { n, day }),
    ]
}

/// A query: which WHERE shape, at which position (a record's, or a stamp from the edits' small
/// set), with which tail, as which user.
#[derive(Debug, Clone)]
struct Probe {
    shape: usize,
    record: usize,
    /// `None`: the record's own stamp; else a stamp from the edits' set.
    stamp: Option<(u8, u16)>,
    id_18: bool,
    tail: usize,
    user: usize,
}

fn probe() -> impl Strategy<Value = Probe> {
    (
        0..9usize,
        0..200usize,
        proptest::option::of((1..4u8, 0..3u16)),
        any::<bool>(),
        0..TAILS.len(),
        0..4usize,
    )
        .prop_map(|(shape, record, stamp, id_18, tail, user)| Probe {
            shape,
            record,
            stamp,
            id_18,
            tail,
            user,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random edits (many records on few stamps), then random keyset queries: the index and
    /// the scan give the same rows in the same order.
    #[test]
    fn index_and_scan_agree_on_random_orgs_and_bounds(
        edits in proptest::collection::vec(edit(), 0..60),
        probes in proptest::collection::vec(probe(), 1..40),
    ) {
        let mut store = small_org();
        let ids = contact_ids(&store);
        let user_ids: Vec<String> = store.users.iter().map(|u| u.id.clone()).collect();
        for edit in edits {
            match edit {
                Edit::Touch { n, day, ms } => {
                    let id = &ids[n % ids.len()];
                    let _ = store.update(
                        &schema::CONTACT, id, &set(json!({"Title": "T"})), &stamp(day, ms),
                    );
                }
                Edit::Reassign { n, k, day, ms } => {
                    let id = &ids[n % ids.len()];
                    let owner = &user_ids[k % user_ids.len()];
                    let _ = store.update(
                        &schema::CONTACT, id, &set(json!({"OwnerId": owner})), &stamp(day, ms),
                    );
                }
                Edit::Delete { n, day } => {
                    let id = &ids[n % ids.len()];
                    if store.get(&schema::CONTACT, id).is_some() {
                        store.delete(&schema::CONTACT, id, &stamp(day, 0));
                    }
                }
            }
        }
        prop_assert!(store.stamp_indexes_are_exact());
        let positions: Vec<(i64, String)> = store
            .entries(&schema::CONTACT, true)
            .map(|e| (e.system_modstamp_ms, e.record["Id"].as_str().expect("id").to_owned()))
            .collect();
        for probe in probes {
            let (ms, id18) = &positions[probe.record % positions.len()];
            let at = match probe.stamp {
                Some((day, ms)) => stamp(day, ms),
                None => format_datetime(
                    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms) * 1_000_000)
                        .expect("stamp in range"),
                ),
            };
            let id = if probe.id_18 { id18.as_str() } else { &id18[..15] };
            let user = &store.users[probe.user % store.users.len()];
            let filter = &wheres(&at, id, &user_ids[probe.user % user_ids.len()])[probe.shape];
            let soql = format!(
                "SELECT Id, Name FROM Contact WHERE {filter} ORDER BY SystemModstamp, Id{}",
                TAILS[probe.tail]
            );
            assert_same_answer(&store, user, &soql);
        }
    }
}

/// The keyset shapes the gateway sends take the index without running the filter; other shapes
/// that bound the stamp take it with the filter; the rest scan.
#[test]
fn keyset_shapes_are_recognised() {
    let checker = Checker {
        source: "",
        today: NOW.date(),
    };
    let start = |filter: &str| {
        let soql = format!("SELECT Id FROM Contact WHERE {filter}");
        let query = soql::parse(&soql).expect("parses");
        let condition = query.filter.expect("has a WHERE");
        let filter = checker
            .filter(&schema::CONTACT, &condition)
            .expect("resolves");
        KeysetStart::of(Some(&filter)).map(|k| (k.start, k.exact))
    };
    let t = 1_714_557_600_000; // 2024-05-01T10:00:00Z
    let id: Arc<str> = Arc::from("0038d00D00034vH");
    let sync = "SystemModstamp > 2024-05-01T10:00:00Z OR (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0038d00D00034vHAEQ')";
    assert_eq!(start(sync), Some((Bound::Excluded((t, id.clone())), true)));
    assert_eq!(
        start("SystemModstamp > 2024-05-01T10:00:00Z"),
        Some((at_stamp(t + 1), true))
    );
    assert_eq!(
        start("SystemModstamp >= 2024-05-01T10:00:00Z"),
        Some((at_stamp(t), true))
    );
    assert_eq!(
        start(&format!("({sync}) AND LastName = 'x'")),
        Some((Bound::Excluded((t, id)), false))
    );
    assert_eq!(
        start("SystemModstamp >= 2024-05-01T10:00:00Z AND SystemModstamp > 2024-05-01T10:00:00Z"),
        Some((at_stamp(t + 1), false))
    );
    assert_eq!(start("SystemModstamp < 2024-05-01T10:00:00Z"), None);
    assert_eq!(
        start("LastName = 'x' OR SystemModstamp > 2024-05-01T10:00:00Z"),
        None
    );
    assert_eq!(start("Account.SystemModstamp > 2024-05-01T10:00:00Z"), None);
}
