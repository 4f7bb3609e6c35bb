//! The rolling daily API request allocation (reference §4.4): calls are counted per minute of the
//! simulated clock and the usage is the sum over the last 24 hours.

use std::{collections::VecDeque, sync::Mutex};

use time::OffsetDateTime;

const WINDOW_MINUTES: i64 = 24 * 60;

#[derive(Debug)]
pub struct ApiUsage {
    limit: u64,
    /// (minute since the epoch, calls in it), oldest first.
    minutes: Mutex<VecDeque<(i64, u64)>>,
}

impl ApiUsage {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            minutes: Mutex::new(VecDeque::new()),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts one call unless the allocation is used up; `Err` carries the usage.
    pub fn try_count(&self, now: OffsetDateTime) -> Result<u64, u64> {
        let minute = now.unix_timestamp().div_euclid(60);
        let mut minutes = self.lock();
        let used = Self::prune(&mut minutes, minute);
        if used >= self.limit {
            return Err(used);
        }
        match minutes.back_mut() {
            Some((m, calls)) if *m == minute => *calls += 1,
            _ => minutes.push_back((minute, 1)),
        }
        Ok(used + 1)
    }

    /// Calls counted in the last 24 hours.
    pub fn used(&self, now: OffsetDateTime) -> u64 {
        let minute = now.unix_timestamp().div_euclid(60);
        Self::prune(&mut self.lock(), minute)
    }

    /// Forgets every counted call (`POST /__sim/reset`).
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// Forgets calls older than the window and returns the sum of the rest.
    fn prune(minutes: &mut VecDeque<(i64, u64)>, minute: i64) -> u64 {
        while minutes
            .front()
            .is_some_and(|(m, _)| *m <= minute - WINDOW_MINUTES)
        {
            minutes.pop_front();
        }
        minutes.iter().map(|(_, calls)| calls).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(i64, u64)>> {
        self.minutes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{macros::datetime, Duration};

    #[test]
    fn refuses_at_the_limit_and_frees_calls_after_24_hours() {
        let usage = ApiUsage::new(3);
        let start = datetime!(2026-01-01 08:00:00 UTC);
        assert_eq!(usage.try_count(start), Ok(1));
        assert_eq!(usage.try_count(start + Duration::hours(1)), Ok(2));
        assert_eq!(usage.try_count(start + Duration::hours(2)), Ok(3));
        assert_eq!(usage.try_count(start + Duration::hours(3)), Err(3));
        // The first call leaves the window 24 hours later.
        assert_eq!(usage.used(start + Duration::hours(24)), 2);
        assert_eq!(usage.try_count(start + Duration::hours(24)), Ok(3));
    }
}
