//! Per-session rate limits: one rep's runaway client cannot use up the org's API allocation
//! or the gateway; and one limit for a route every caller shares (outbound messages).
//! `governor`'s GCRA limiters do the bookkeeping (a well-kept crate made for exactly this;
//! hand-written token buckets get the refill arithmetic wrong).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota};

use crate::GatewayError;

/// How many requests one session may make: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRate {
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell (a pull-to-refresh fans out; 50 parallel
    /// requests at a session expiry must all pass).
    pub burst: u32,
}

impl Default for SessionRate {
    fn default() -> Self {
        SessionRate {
            per_second: 20,
            burst: 100,
        }
    }
}

/// Forget idle sessions' state once this many are tracked.
const TRACKED_SESSIONS_BEFORE_CLEANUP: usize = 10_000;

pub struct SessionLimiter {
    limiter: DefaultKeyedRateLimiter<Vec<u8>>,
    clock: DefaultClock,
}

impl SessionLimiter {
    pub fn new(rate: SessionRate) -> Result<Self, GatewayError> {
        let nonzero = |n: u32, what: &str| {
            NonZeroU32::new(n)
                .ok_or_else(|| GatewayError::Config(format!("session rate {what} must be > 0")))
        };
        let quota = Quota::per_second(nonzero(rate.per_second, "per_second")?)
            .allow_burst(nonzero(rate.burst, "burst")?);
        Ok(SessionLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        })
    }

    /// Counts one request of the session whose token hashes to `session`.
    pub fn check(&self, session: &[u8]) -> Result<(), GatewayError> {
        if self.limiter.len() > TRACKED_SESSIONS_BEFORE_CLEANUP {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&session.to_vec())
            .map_err(|not_until| rate_limited(&not_until, &self.clock))
    }
}

/// One limit for every caller of a route together: a sustained rate and a burst.
pub struct RouteLimiter {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl RouteLimiter {
    pub fn new(per_second: u32, burst: u32) -> Result<Self, GatewayError> {
        let nonzero = |n: u32, what: &str| {
            NonZeroU32::new(n)
                .ok_or_else(|| GatewayError::Config(format!("route rate {what} must be > 0")))
        };
        let quota = Quota::per_second(nonzero(per_second, "per second")?)
            .allow_burst(nonzero(burst, "burst")?);
        Ok(RouteLimiter {
            limiter: DefaultDirectRateLimiter::direct(quota),
            clock: DefaultClock::default(),
        })
    }

    /// Counts one request.
    pub fn check(&self) -> Result<(), GatewayError> {
        self.limiter
            .check()
            .map_err(|not_until| rate_limited(&not_until, &self.clock))
    }
}

fn rate_limited(
    not_until: &NotUntil<<DefaultClock as Clock>::Instant>,
    clock: &DefaultClock,
) -> GatewayError {
    let wait = not_until.wait_time_from(clock.now());
    GatewayError::RateLimited {
        // Whole seconds, rounded up: `Retry-After: 0` would invite a hot loop.
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_session_waits_and_others_do_not() {
        let limiter = SessionLimiter::new(SessionRate {
            per_second: 1,
            burst: 3,
        })
        .unwrap();
        for _ in 0..3 {
            limiter.check(b"rep").unwrap();
        }
        match limiter.check(b"rep") {
            Err(GatewayError::RateLimited { retry_after }) => {
                assert!((1..=2).contains(&retry_after))
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        limiter
            .check(b"another rep")
            .expect("limits are per session");
    }

    #[test]
    fn a_route_limit_is_shared_by_every_caller() {
        let limiter = RouteLimiter::new(1, 2).unwrap();
        limiter.check().unwrap();
        limiter.check().unwrap();
        match limiter.check() {
            Err(GatewayError::RateLimited { retry_after }) => {
                assert!((1..=2).contains(&retry_after))
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(RouteLimiter::new(0, 1).is_err());
    }

    #[test]
    fn a_zero_rate_is_a_configuration_error() {
        assert!(SessionLimiter::new(SessionRate {
            per_second: 0,
            burst: 1
        })
        .is_err());
    }
}
