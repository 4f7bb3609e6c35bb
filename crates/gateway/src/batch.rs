//! Carrying out prepared writes against Salesforce, for one write or a batch of up to 200:
//! claim the keys; settle the writes (`rounds.rs`): when nothing fails, **one** Composite
//! Graph call writes every one and reads each back (`graph.rs`), an update's check that the
//! record is unchanged since the rep saw it riding in the same node (`If-Unmodified-Since`);
//! writes rolled back beside a failing one go again, changed records are compared three ways
//! (`merge.rs`); then store each key's answer (`answers.rs`) and write the audit log.

mod answers;
mod graph;
mod merge;
mod rounds;

pub(crate) use rounds::MAX_FOLLOW_UP_CALLS;

use axum::http::StatusCode;
use companion_api::{code, User};

use crate::app::AppState;
use crate::audit::AuditEntry;
use crate::idempotency::{Claim, ClaimRequest, Finish};
use crate::write_types::{Answer, FinishKind, Prepared};
use crate::{now_unix, GatewayError};

/// [`run`] in a task of its own: a client that goes away mid-request (a killed app, a phone out
/// of signal) does not cancel writes half done. The keys are settled and the answers stored
/// either way, so the client's resend is answered from them instead of waiting out the lease
/// of keys left `in_progress`.
pub async fn run_to_completion(
    state: std::sync::Arc<AppState>,
    user: User,
    items: Vec<(String, Result<Prepared, Answer>)>,
) -> Result<Vec<Answer>, GatewayError> {
    tokio::spawn(async move { run(&state, &user, items).await })
        .await
        .map_err(|e| GatewayError::Internal(format!("a batch of writes stopped: {e}")))?
}

/// Run `items` (each the key it came with, and the write or its refusal); one answer per item,
/// in order.
pub async fn run(
    state: &AppState,
    user: &User,
    items: Vec<(String, Result<Prepared, Answer>)>,
) -> Result<Vec<Answer>, GatewayError> {
    let now = now_unix();
    let mut answers: Vec<Option<Answer>> = vec![None; items.len()];
    let mut prepared: Vec<(usize, Prepared)> = Vec::new();
    for (i, (_, item)) in items.iter().enumerate() {
        match item {
            Ok(p) => prepared.push((i, p.clone())),
            Err(answer) => answers[i] = Some(answer.clone()),
        }
    }
    let claims = state
        .store
        .claim_keys(
            &user.user_id,
            prepared
                .iter()
                .map(|(_, p)| ClaimRequest {
                    key: p.key.clone(),
                    request_hash: p.request_hash.clone(),
                })
                .collect(),
            now,
            state.config.idempotency_lease_secs,
        )
        .await?;
    let mut held: Vec<Held> = Vec::new();
    for ((i, write), claim) in prepared.into_iter().zip(claims) {
        match claim {
            Claim::Fresh => held.push(Held { index: i, write, recover: false }),
            Claim::Recover => held.push(Held { index: i, write, recover: true }),
            Claim::Replay { status, body } => {
                answers[i] = Some(Answer {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    record_id: body["Id"].as_str().map(String::from),
                    body,
                    outcome: "replayed",
                    finish: FinishKind::Release,
                    replayed: true,
                })
            }
            Claim::Mismatch => {
                answers[i] = Some(Answer::from_detail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Answer::detail(
                        code::IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was used with another request; use a new key for a new write",
                    ),
                    "key_reused",
                    FinishKind::Release,
                ))
            }
            Claim::InProgress => {
                let mut detail = Answer::detail(
                    code::IDEMPOTENCY_IN_PROGRESS,
                    "a request with this Idempotency-Key is still running; send it again in a moment",
                );
                detail.retry_after = Some(1);
                answers[i] = Some(Answer::from_detail(
                    StatusCode::CONFLICT,
                    detail,
                    "in_progress",
                    FinishKind::Release,
                ))
            }
        }
    }

    let mut settled = rounds::settle(state, user, &held).await;
    let mut finished = Vec::new();
    for h in &held {
        if let Some(answer) = settled.remove(&h.index) {
            finished.push((h.write.key.clone(), answer.key_finish()));
            answers[h.index] = Some(answer);
        } else {
            // A held key always gets an answer; this is a bug guard, not a path.
            finished.push((h.write.key.clone(), Finish::Unknown));
            answers[h.index] = Some(Answer::from_detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                Answer::detail(code::INTERNAL, "internal error"),
                "internal",
                FinishKind::Unknown,
            ));
        }
    }
    let answers: Vec<Answer> = answers
        .into_iter()
        .map(|a| a.expect("every item answered"))
        .collect();
    let audit = items
        .iter()
        .zip(&answers)
        .map(|((key, item), answer)| AuditEntry {
            action: match item {
                Ok(p) => p.action.name(),
                Err(_) => "refused",
            },
            record_id: answer.record_id.clone().or_else(|| {
                item.as_ref()
                    .ok()
                    .and_then(|p| p.target.as_ref().map(|t| t.to_string()))
            }),
            // A refused key may be anything; the log keeps only well-formed ones.
            idempotency_key: if crate::idempotency::check_key(key).is_ok() {
                key.clone()
            } else {
                String::new()
            },
            outcome: answer.outcome,
            status: answer.status.as_u16(),
        })
        .collect();
    // The keys' ends and the audit lines commit together: no settled write goes unlogged.
    state
        .store
        .finish_keys(&user.user_id, finished, audit, now_unix())
        .await?;
    for answer in &answers {
        tracing::info!(user_id = %user.user_id, status = answer.status.as_u16(), outcome = answer.outcome, "write");
    }
    Ok(answers)
}

/// A write whose key this request holds.
struct Held {
    /// Its place in the request.
    index: usize,
    write: Prepared,
    /// An earlier attempt's outcome is unknown.
    recover: bool,
}
