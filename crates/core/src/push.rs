//! Push: send the outbox to the gateway's `POST /v1/batch`, up to 200 writes a request (at most
//! one Salesforce call each), and apply the answers. Writes Salesforce takes leave the outbox;
//! refused ones wait for the rep (failed, conflict); anything about the moment — offline, busy,
//! limits, a request still running at the gateway — waits and is tried again with backoff and
//! jitter, never counted as a failure. The same idempotency key goes with every resend, so a
//! request whose answer was lost is answered by the gateway from what it remembers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use companion_api::{
    code, BatchRequest, BatchResult, BatchWrite, ErrorBody, NewTask, RecordUpdate, TaskKind,
    MAX_BATCH_WRITES,
};
use rand::Rng;
use serde_json::Value;

use crate::error::CoreError;
use crate::gateway::GatewayClient;
use crate::replica::{now_ms, Claimed, Outcome, Replica};
use crate::writes::{PushReport, WriteError, WriteKind};

/// First wait after a write could not go; doubled per try up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Which writes a push sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PushMode {
    /// None (a pull only).
    Skip,
    /// Those whose backoff is over (the background loop).
    #[default]
    Due,
    /// All that may go, backoff or not (the rep's refresh, "Send now", the network is back).
    Now,
}

/// Sends what may go, request after request, until nothing more may go now: the writes a sent
/// create unblocks (a call about a lead made offline) go in the next request.
pub(crate) async fn push(
    gateway: &GatewayClient,
    replica: &Arc<Replica>,
    session_token: &str,
    mode: PushMode,
) -> Result<PushReport, CoreError> {
    let mut report = PushReport::default();
    if mode == PushMode::Skip {
        return Ok(report);
    }
    // Writes told to wait during this push are not tried again in it, even when sending now.
    let mut tried: HashSet<String> = HashSet::new();
    loop {
        let claimer = replica.clone();
        let exclude = tried.clone();
        let claimed = blocking(move || {
            claimer.claim_batch(mode == PushMode::Now, MAX_BATCH_WRITES, &exclude)
        })
        .await?;
        if claimed.is_empty() {
            break;
        }
        let request = BatchRequest {
            writes: claimed.iter().map(wire_write).collect(),
        };
        report.requests += 1;
        let keys: Vec<String> = claimed.iter().map(|c| c.key.clone()).collect();
        match gateway.batch(session_token, &request).await {
            Ok(response) => {
                let (outcomes, reauth) = outcomes_of(&claimed, response.results);
                for (key, outcome) in &outcomes {
                    match outcome {
                        Outcome::Sent(_) => report.sent += 1,
                        Outcome::Failed(_) => report.failed += 1,
                        Outcome::Conflict { .. } => report.conflicts += 1,
                        Outcome::Retry { .. } => {
                            tried.insert(key.clone());
                        }
                    }
                }
                let settler = replica.clone();
                blocking(move || settler.settle(outcomes)).await?;
                if reauth {
                    replica.set_reauth_required(true)?;
                    return Err(CoreError::ReauthRequired);
                }
            }
            Err(error) => {
                let (not_before, note) = match &error {
                    // Sent as soon as the rep has signed in again.
                    CoreError::ReauthRequired => (0, None),
                    CoreError::Offline { .. } => (now_ms() + backoff(&claimed, None), None),
                    other => (
                        now_ms() + backoff(&claimed, None),
                        Some(WriteError {
                            code: "gateway".into(),
                            message: other.to_string(),
                            fields: BTreeMap::new(),
                        }),
                    ),
                };
                let releaser = replica.clone();
                blocking(move || releaser.release(&keys, not_before, note.as_ref())).await?;
                if matches!(error, CoreError::ReauthRequired) {
                    replica.set_reauth_required(true)?;
                }
                return Err(error);
            }
        }
    }
    let counter = replica.clone();
    let counts = blocking(move || counter.outbox_counts()).await?;
    report.waiting = counts.waiting + counts.sending;
    Ok(report)
}

/// The wire form of a queued write: exactly what it was saved as, so a resend is the same
/// request the gateway remembers under the key.
fn wire_write(claimed: &Claimed) -> BatchWrite {
    let key = claimed.key.clone();
    let fields = claimed.fields.clone();
    let update = || RecordUpdate {
        seen_system_modstamp: claimed.base_stamp.clone().unwrap_or_default(),
        fields: claimed.fields.clone(),
        seen_fields: claimed.base.clone(),
    };
    match claimed.kind {
        WriteKind::CreateLead => BatchWrite::CreateLead {
            idempotency_key: key,
            body: fields,
        },
        WriteKind::LogCall => BatchWrite::CreateTask {
            idempotency_key: key,
            body: NewTask {
                kind: TaskKind::Call,
                fields,
            },
        },
        WriteKind::NewTask => BatchWrite::CreateTask {
            idempotency_key: key,
            body: NewTask {
                kind: TaskKind::FollowUp,
                fields,
            },
        },
        WriteKind::UpdateOpportunity => BatchWrite::UpdateOpportunity {
            idempotency_key: key,
            id: claimed.record_id.clone(),
            body: update(),
        },
        WriteKind::UpdateContact => BatchWrite::UpdateContact {
            idempotency_key: key,
            id: claimed.record_id.clone(),
            body: update(),
        },
    }
}

/// Each claimed write's outcome, from its result (by key); and whether the gateway said the
/// session ended.
fn outcomes_of(claimed: &[Claimed], results: Vec<BatchResult>) -> (Vec<(String, Outcome)>, bool) {
    let mut by_key: HashMap<String, BatchResult> = results
        .into_iter()
        .map(|r| (r.idempotency_key.clone(), r))
        .collect();
    let mut reauth = false;
    let outcomes = claimed
        .iter()
        .map(|c| {
            let outcome = match by_key.remove(&c.key) {
                Some(result) => {
                    let outcome = outcome_of(c, result);
                    if let Outcome::Retry { error, .. } = &outcome {
                        reauth |= error.code == code::REAUTH_REQUIRED;
                    }
                    outcome
                }
                None => Outcome::Retry {
                    after_ms: backoff(std::slice::from_ref(c), None),
                    error: WriteError {
                        code: "no_answer".into(),
                        message:
                            "The server's answer did not mention this change; it is sent again."
                                .into(),
                        fields: BTreeMap::new(),
                    },
                },
            };
            (c.key.clone(), outcome)
        })
        .collect();
    (outcomes, reauth)
}

fn outcome_of(claimed: &Claimed, result: BatchResult) -> Outcome {
    if (200..300).contains(&result.status) {
        return Outcome::Sent(result.body);
    }
    let detail = serde_json::from_value::<ErrorBody>(result.body.clone())
        .map(|b| b.error)
        .ok();
    let (code, message, fields, retry_after, current) = match detail {
        Some(d) => (
            d.code,
            d.message,
            d.fields.unwrap_or_default(),
            d.retry_after,
            d.current,
        ),
        None => (
            "http".to_string(),
            format!("The server answered {} for this change.", result.status),
            BTreeMap::new(),
            None,
            None,
        ),
    };
    let error = WriteError {
        code: code.clone(),
        message,
        fields,
    };
    let retry = |error: WriteError| Outcome::Retry {
        after_ms: backoff(std::slice::from_ref(claimed), retry_after),
        error,
    };
    match (result.status, code.as_str()) {
        (409, code::CONFLICT) => Outcome::Conflict {
            current: current.unwrap_or(Value::Null),
            error,
        },
        (409, _) | (429, _) | (500..=599, _) => retry(error),
        (401, _) => Outcome::Retry {
            after_ms: 0,
            error: WriteError {
                code: code::REAUTH_REQUIRED.into(),
                ..error
            },
        },
        (422, code::IDEMPOTENCY_KEY_REUSED) => Outcome::Failed(WriteError {
            message: "The server already had this change with other content under its key. \
                      Edit and send it again, or discard it."
                .into(),
            ..error
        }),
        (400..=499, _) => Outcome::Failed(error),
        _ => retry(error),
    }
}

/// How long a write waits before its next try: `retry_after` seconds when the server said,
/// else exponential in its tries (1 s … 5 min) with jitter in [d/2, d].
fn backoff(claimed: &[Claimed], retry_after: Option<u64>) -> i64 {
    let tries = claimed.iter().map(|c| c.attempts).max().unwrap_or(1).max(1);
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1u32 << (tries - 1).min(16))
        .min(MAX_BACKOFF);
    let millis = ceiling.as_millis() as i64;
    let jittered = rand::thread_rng().gen_range(millis / 2..=millis);
    match retry_after {
        Some(seconds) => jittered.max(seconds.saturating_mul(1000) as i64),
        None => jittered,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CoreError::storage("the outbox stopped", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(kind: WriteKind, attempts: u32) -> Claimed {
        Claimed {
            key: "k1".into(),
            kind,
            record_id: "006000000000001AAA".into(),
            fields: BTreeMap::from([("StageName".into(), Value::from("Closed Won"))]),
            base: Some(BTreeMap::from([(
                "StageName".into(),
                Value::from("Prospecting"),
            )])),
            base_stamp: Some("2024-05-01T10:00:00.000+0000".into()),
            attempts,
        }
    }

    fn result(status: u16, body: Value) -> BatchResult {
        BatchResult {
            idempotency_key: "k1".into(),
            status,
            body,
        }
    }

    #[test]
    fn an_update_goes_with_what_the_rep_saw() {
        let wire =
            serde_json::to_value(wire_write(&claimed(WriteKind::UpdateOpportunity, 1))).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({
                "kind": "update_opportunity",
                "idempotency_key": "k1",
                "id": "006000000000001AAA",
                "body": {
                    "seen_system_modstamp": "2024-05-01T10:00:00.000+0000",
                    "fields": {"StageName": "Closed Won"},
                    "seen_fields": {"StageName": "Prospecting"}
                }
            })
        );
    }

    #[test]
    fn answers_are_sorted_into_sent_refused_conflict_and_later() {
        let c = claimed(WriteKind::UpdateOpportunity, 1);
        let sent = outcome_of(
            &c,
            result(200, serde_json::json!({"Id": "006000000000001AAA"})),
        );
        assert!(matches!(sent, Outcome::Sent(_)));
        let refused = outcome_of(
            &c,
            result(
                422,
                serde_json::json!({"error": {"code": "validation", "message": "Bad stage",
                                             "fields": {"StageName": "bad value"}}}),
            ),
        );
        assert!(matches!(&refused, Outcome::Failed(e) if e.fields["StageName"] == "bad value"));
        let conflict = outcome_of(
            &c,
            result(
                409,
                serde_json::json!({"error": {"code": "conflict", "message": "changed",
                                             "fields": {"StageName": "now Closed Lost"},
                                             "current": {"Id": "006000000000001AAA"}}}),
            ),
        );
        assert!(matches!(conflict, Outcome::Conflict { .. }));
        for (status, code) in [
            (409, "idempotency_in_progress"),
            (429, "rate_limited"),
            (502, "upstream_unavailable"),
            (503, "upstream_unavailable"),
            (504, "upstream_timeout"),
        ] {
            let later = outcome_of(
                &c,
                result(
                    status,
                    serde_json::json!({"error": {"code": code, "message": "later",
                                                 "retry_after": 30}}),
                ),
            );
            assert!(
                matches!(later, Outcome::Retry { after_ms, .. } if after_ms >= 30_000),
                "{status} {code}: {later:?}"
            );
        }
    }

    #[test]
    fn backoff_grows_with_tries_and_is_capped() {
        let first = backoff(&[claimed(WriteKind::CreateLead, 1)], None);
        assert!((500..=1000).contains(&first), "{first}");
        let fourth = backoff(&[claimed(WriteKind::CreateLead, 4)], None);
        assert!((4000..=8000).contains(&fourth), "{fourth}");
        let many = backoff(&[claimed(WriteKind::CreateLead, 40)], None);
        assert!((150_000..=300_000).contains(&many), "{many}");
    }
}
