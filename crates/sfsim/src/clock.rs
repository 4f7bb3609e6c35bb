//! The simulator's notion of "now": the system clock plus an offset that tests can move forward
//! (the `/__sim/clock/advance` control of issue 3), and Salesforce's datetime rendering.

use std::sync::atomic::{AtomicI64, Ordering};

use time::{format_description::FormatItem, macros::format_description, Duration, OffsetDateTime};

/// `2024-05-01T10:00:00.000+0000`: always UTC, milliseconds, no colon in the offset (reference §2.2).
const SALESFORCE_DATETIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the simulated time forward (tokens and codes age; record stamps follow).
    #[allow(dead_code)] // used by the control API of issue 3
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }

    /// Back to the system clock (`/__sim/reset`).
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    /// Epoch milliseconds, as the token endpoint's `issued_at` wants them.
    pub fn now_epoch_ms(&self) -> i128 {
        self.now().unix_timestamp_nanos() / 1_000_000
    }
}

/// Renders a datetime the way the REST API does.
pub fn format_datetime(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(SALESFORCE_DATETIME)
        .expect("a UTC datetime always formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renders_utc_with_millis_and_no_colon_offset() {
        assert_eq!(
            format_datetime(datetime!(2024-05-01 12:00:00.5 +02:00)),
            "2024-05-01T10:00:00.500+0000"
        );
    }
}
