//! One object's live records in `(SystemModstamp, Id)` order: keyset sync asks for everything
//! after a `(stamp, id)` position in exactly this order, so a range of this index answers it
//! without scanning, filtering or sorting the table.
//!
//! Keys compare as SOQL compares them: the stamp as epoch milliseconds (the API's precision, the
//! same value a filter compares) and the id in its 15-char case-sensitive form, byte-wise (an
//! 18-char literal is compared by its 15-char head).

use std::{collections::BTreeMap, ops::Bound, sync::Arc};

use crate::store::Entry;

/// `(SystemModstamp ms, 15-char id)`.
pub type StampKey = (i64, Arc<str>);

/// Where a range of the index starts.
pub type StampStart = Bound<StampKey>;

/// The first key at or after `stamp` (any id sorts after the empty one).
pub fn at_stamp(stamp: i64) -> StampStart {
    Bound::Included((stamp, Arc::from("")))
}

/// Of two starts, the one that admits fewer keys.
pub fn later_start(a: StampStart, b: StampStart) -> StampStart {
    let point = |bound: &StampStart| match bound {
        Bound::Unbounded => None,
        // At an equal key an excluded bound starts later than an included one.
        Bound::Included(key) => Some((key.clone(), false)),
        Bound::Excluded(key) => Some((key.clone(), true)),
    };
    if point(&a) >= point(&b) {
        a
    } else {
        b
    }
}

/// A live record as the index holds it: enough to check sharing and to name the record.
#[derive(Debug, Clone, Copy)]
pub struct IndexedRow<'a> {
    pub id15: &'a Arc<str>,
    pub owner_id: Option<&'a str>,
}

/// Live (not deleted) records by `(stamp, id)`, valued by their owner so a private object's
/// sharing check needs no table lookup.
#[derive(Debug, Default)]
pub struct StampIndex {
    rows: BTreeMap<StampKey, Option<Arc<str>>>,
}

impl StampIndex {
    /// Records `entry` if it is live; call with the entry as it is stored.
    pub fn add(&mut self, entry: &Entry) {
        if !entry.deleted {
            self.rows.insert(key(entry), entry.owner_id.clone());
        }
    }

    /// Forgets `entry` (as it was stored: its old stamp); a deleted one was never recorded.
    pub fn remove(&mut self, entry: &Entry) {
        if !entry.deleted {
            self.rows.remove(&key(entry));
        }
    }

    /// Live records from `start` on, in `(stamp, id)` order.
    pub fn from(&self, start: StampStart) -> impl Iterator<Item = IndexedRow<'_>> {
        self.rows
            .range((start, Bound::Unbounded))
            .map(|((_, id15), owner_id)| IndexedRow {
                id15,
                owner_id: owner_id.as_deref(),
            })
    }

    /// Every key with its owner, for checking the index against the table in tests.
    #[cfg(test)]
    pub fn snapshot(&self) -> Vec<(StampKey, Option<Arc<str>>)> {
        self.rows
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn key(entry: &Entry) -> StampKey {
    (entry.system_modstamp_ms, entry.id15.clone())
}
