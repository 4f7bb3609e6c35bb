//! State of the `/__sim` control API (not Salesforce): request statistics and queued faults.
//! `http::control` maps requests onto it; nothing here knows HTTP beyond status codes.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex, MutexGuard,
    },
};

use serde::{Deserialize, Serialize};

/// When a dropped connection is closed relative to the request's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DropWhen {
    /// Closed before the request is handled: nothing happened.
    Before,
    /// The request takes effect, then the connection closes with no response (the case that
    /// makes careless clients create duplicates).
    After,
}

/// One misbehaviour, applied to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answers this status at once, in the endpoint's error shape; nothing happens.
    Status(u16),
    /// Closes the connection without an answer, before or after the request takes effect.
    DropConnection(DropWhen),
    /// Holds the request this many ms, then handles it. A client that hangs up during the hold
    /// drops the handler with its connection: nothing happens.
    DelayMs(u64),
    /// Handles the request to its end (the write lands even if the client hangs up meanwhile),
    /// then holds the answer this many ms: how a client is killed after its write landed but
    /// before it heard the answer.
    DelayAfterMs(u64),
}

/// `POST /__sim/faults` body: exactly one kind (`status`, `drop_connection`, `delay_ms`,
/// `delay_after_ms`, `api_limit_exhausted`), an optional `count` (default 1) and an optional
/// `path` prefix limiting which requests it hits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub status: Option<u16>,
    pub drop_connection: Option<DropWhen>,
    pub delay_ms: Option<u64>,
    pub delay_after_ms: Option<u64>,
    pub api_limit_exhausted: Option<bool>,
    pub count: Option<u32>,
    pub path: Option<String>,
}

/// Longest delay a fault may ask for: a test that wants longer is waiting for nothing.
const MAX_DELAY_MS: u64 = 120_000;

#[derive(Debug, Clone, Serialize)]
pub struct QueuedFault {
    pub fault: Fault,
    pub remaining: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What a fault request asks for, once checked.
#[derive(Debug)]
pub enum FaultOrder {
    Queue(QueuedFault),
    ApiLimitExhausted(bool),
}

impl FaultRequest {
    pub fn check(self) -> Result<FaultOrder, String> {
        let kinds = [
            self.status.is_some(),
            self.drop_connection.is_some(),
            self.delay_ms.is_some(),
            self.delay_after_ms.is_some(),
            self.api_limit_exhausted.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "give exactly one of status, drop_connection, delay_ms, delay_after_ms, \
                 api_limit_exhausted"
                    .into(),
            );
        }
        if let Some(exhausted) = self.api_limit_exhausted {
            if self.count.is_some() || self.path.is_some() {
                return Err("api_limit_exhausted takes no count or path".into());
            }
            return Ok(FaultOrder::ApiLimitExhausted(exhausted));
        }
        let fault = if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err("status must be 400 to 599".into());
            }
            Fault::Status(status)
        } else if let Some(when) = self.drop_connection {
            Fault::DropConnection(when)
        } else if let Some(ms) = self.delay_after_ms {
            if ms > MAX_DELAY_MS {
                return Err(format!("delay_after_ms must be at most {MAX_DELAY_MS}"));
            }
            Fault::DelayAfterMs(ms)
        } else {
            let ms = self.delay_ms.unwrap_or_default();
            if ms > MAX_DELAY_MS {
                return Err(format!("delay_ms must be at most {MAX_DELAY_MS}"));
            }
            Fault::DelayMs(ms)
        };
        let remaining = self.count.unwrap_or(1);
        if remaining == 0 {
            return Err("count must be at least 1".into());
        }
        if self.path.as_deref().is_some_and(|p| !p.starts_with('/')) {
            return Err("path must start with /".into());
        }
        Ok(FaultOrder::Queue(QueuedFault {
            fault,
            remaining,
            path: self.path,
        }))
    }
}

/// Counters behind `GET /__sim/stats`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    /// Token-endpoint requests by `grant_type` (refused ones included).
    pub token_requests: BTreeMap<String, u64>,
    /// Requests by `METHOD /route/{pattern}`.
    pub endpoints: BTreeMap<String, u64>,
    /// Outbound-message deliveries: POSTs made and acknowledgements received.
    pub outbound_attempts: u64,
    pub outbound_acks: u64,
}

#[derive(Default)]
pub struct Control {
    stats: Mutex<Stats>,
    faults: Mutex<VecDeque<QueuedFault>>,
    api_limit_exhausted: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay usable after a panic elsewhere.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Control {
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn count_token_request(&self, grant_type: &str) {
        // Whatever a client sends becomes a key, so keep it short; no grant_type at all is `(none)`.
        let key: String = if grant_type.is_empty() {
            "(none)".to_owned()
        } else {
            grant_type.chars().take(64).collect()
        };
        *lock(&self.stats).token_requests.entry(key).or_default() += 1;
    }

    pub fn count_endpoint(&self, method: &str, route: &str) {
        *lock(&self.stats)
            .endpoints
            .entry(format!("{method} {route}"))
            .or_default() += 1;
    }

    pub fn count_outbound(&self, acknowledged: bool) {
        let mut stats = lock(&self.stats);
        stats.outbound_attempts += 1;
        if acknowledged {
            stats.outbound_acks += 1;
        }
    }

    pub fn queue_fault(&self, fault: QueuedFault) {
        lock(&self.faults).push_back(fault);
    }

    pub fn queued_faults(&self) -> Vec<QueuedFault> {
        lock(&self.faults).iter().cloned().collect()
    }

    /// The first queued fault that applies to `path`, used up by one.
    pub fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|f| f.path.as_deref().is_none_or(|p| path.starts_with(p)))?;
        let entry = &mut faults[index];
        let fault = entry.fault;
        entry.remaining -= 1;
        if entry.remaining == 0 {
            faults.remove(index);
        }
        Some(fault)
    }

    pub fn set_api_limit_exhausted(&self, exhausted: bool) {
        self.api_limit_exhausted.store(exhausted, Ordering::Relaxed);
    }

    pub fn api_limit_exhausted(&self) -> bool {
        self.api_limit_exhausted.load(Ordering::Relaxed)
    }

    pub fn reset_faults(&self) {
        lock(&self.faults).clear();
        self.set_api_limit_exhausted(false);
    }

    /// Back to a fresh start: no counts, no faults.
    pub fn reset(&self) {
        *lock(&self.stats) = Stats::default();
        self.reset_faults();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<FaultOrder, String> {
        serde_json::from_str::<FaultRequest>(json)
            .map_err(|e| e.to_string())?
            .check()
    }

    #[test]
    fn fault_requests_are_checked() {
        assert!(matches!(
            request(r#"{"status": 503, "count": 2}"#),
            Ok(FaultOrder::Queue(QueuedFault {
                fault: Fault::Status(503),
                remaining: 2,
                ..
            }))
        ));
        assert!(matches!(
            request(r#"{"drop_connection": "after"}"#),
            Ok(FaultOrder::Queue(QueuedFault {
                fault: Fault::DropConnection(DropWhen::After),
                remaining: 1,
                ..
            }))
        ));
        assert!(matches!(
            request(r#"{"api_limit_exhausted": true}"#),
            Ok(FaultOrder::ApiLimitExhausted(true))
        ));
        for bad in [
            r#"{}"#,
            r#"{"status": 200}"#,
            r#"{"status": 503, "delay_ms": 5}"#,
            r#"{"status": 503, "count": 0}"#,
            r#"{"drop_connection": "during"}"#,
            r#"{"delay_ms": 999999999}"#,
            r#"{"status": 500, "path": "services"}"#,
            r#"{"status": 500, "colour": "red"}"#,
            r#"{"delay_after_ms": 999999999}"#,
            r#"{"delay_after_ms": 5, "drop_connection": "after"}"#,
            r#"{"delay_after_ms": 5, "count": 0}"#,
            r#"{"delay_after_ms": -5}"#,
        ] {
            assert!(request(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delay_after_is_checked_like_the_other_faults() {
        let graph = "/services/data/v58.0/composite/graph";
        let order = request(&format!(
            r#"{{"delay_after_ms": 30000, "path": "{graph}"}}"#
        ));
        let Ok(FaultOrder::Queue(queued)) = order else {
            panic!("queued: {order:?}");
        };
        assert_eq!(queued.fault, Fault::DelayAfterMs(30000));
        assert_eq!(queued.remaining, 1);
        assert_eq!(queued.path.as_deref(), Some(graph));
        // The stats and fault list show it in the shape it was asked for.
        assert_eq!(
            serde_json::to_value(&queued).expect("serializes"),
            serde_json::json!({"fault": {"delay_after_ms": 30000}, "remaining": 1, "path": graph})
        );
        assert!(matches!(
            request(r#"{"delay_after_ms": 120000, "count": 3}"#),
            Ok(FaultOrder::Queue(QueuedFault {
                fault: Fault::DelayAfterMs(120_000),
                remaining: 3,
                path: None,
            }))
        ));
        assert_eq!(
            request(r#"{"delay_after_ms": 120001}"#).unwrap_err(),
            "delay_after_ms must be at most 120000"
        );
        assert_eq!(
            request(r#"{"delay_ms": 5, "delay_after_ms": 5}"#).unwrap_err(),
            "give exactly one of status, drop_connection, delay_ms, delay_after_ms, \
             api_limit_exhausted"
        );
    }

    #[test]
    fn faults_are_used_up_in_order_and_by_path() {
        let control = Control::default();
        control.queue_fault(QueuedFault {
            fault: Fault::Status(500),
            remaining: 1,
            path: Some("/services/data".into()),
        });
        control.queue_fault(QueuedFault {
            fault: Fault::DelayMs(5),
            remaining: 2,
            path: None,
        });
        assert_eq!(
            control.take_fault("/services/oauth2/token"),
            Some(Fault::DelayMs(5))
        );
        assert_eq!(
            control.take_fault("/services/data/v58.0/query"),
            Some(Fault::Status(500))
        );
        assert_eq!(
            control.take_fault("/services/data/v58.0/query"),
            Some(Fault::DelayMs(5))
        );
        assert_eq!(control.take_fault("/services/data/v58.0/query"), None);
    }
}
