//! Open query cursors: the rows of a query not yet fetched, addressed by `nextRecordsUrl`.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use time::{Duration, OffsetDateTime};

use crate::{ids::IdGenerator, query::Plan};

/// A cursor not read for this long is gone (`INVALID_QUERY_LOCATOR`), as in a real org.
const IDLE_EXPIRY: Duration = Duration::minutes(15);

/// How many cursors stay open before the oldest is dropped (real orgs cap open cursors per user;
/// the exact number is not modelled).
const MAX_OPEN: usize = 100;

pub struct Cursor {
    pub user_id: String,
    /// The matching records' 15-char ids, in order; pages are rendered when fetched.
    pub ids: Arc<Vec<Arc<str>>>,
    pub plan: Arc<Plan>,
    pub batch_size: usize,
    /// When the cursor was opened or last read (simulated clock).
    pub last_used: OffsetDateTime,
}

pub struct Locators {
    ids: IdGenerator,
    open: HashMap<String, Cursor>,
    order: VecDeque<String>,
}

impl Default for Locators {
    fn default() -> Self {
        Self {
            ids: IdGenerator::new("01g", "8d", 62u64.pow(7) * 2 + 5_555),
            open: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl Locators {
    /// Opens a cursor and returns its locator id (an 18-char `01g…` id).
    pub fn open(&mut self, cursor: Cursor) -> String {
        let id = self.ids.next_id();
        self.open.insert(id.clone(), cursor);
        self.order.push_back(id.clone());
        while self.order.len() > MAX_OPEN {
            if let Some(oldest) = self.order.pop_front() {
                self.open.remove(&oldest);
            }
        }
        id
    }

    /// The cursor if it has not expired; reading it keeps it alive.
    pub fn get(&mut self, id: &str, now: OffsetDateTime) -> Option<&Cursor> {
        if now - self.open.get(id)?.last_used > IDLE_EXPIRY {
            self.open.remove(id);
            self.order.retain(|open| open != id);
            return None;
        }
        let cursor = self.open.get_mut(id)?;
        cursor.last_used = now;
        Some(cursor)
    }
}
