//! Carrying out prepared writes against Salesforce, for one write or a batch of up to 200:
//! claim the keys, then per batch at most
//! 1. one query per object for the markers of creates being recovered,
//! 2. one sObject Collections create for every create (leads and tasks together),
//! 3. one query of the opportunities being updated (the conflict check: their
//!    `SystemModstamp` must still be the one the rep saw),
//! 4. one sObject Collections update,
//! 5. one sObject Collections retrieve per object written, for the answers,
//!
//! then store each key's answer and write the audit log.

use std::collections::HashMap;

use axum::http::StatusCode;
use companion_api::{code, ErrorDetail, User};
use salesforce::{soql, ApiErrorItem, ErrorKind, NewRecord, QueryOptions, RecordId, RecordUpdate};
use serde_json::{Map, Value};

use crate::audit::AuditEntry;
use crate::http::AppState;
use crate::idempotency::{Claim, ClaimRequest, Finish};
use crate::record_fields::MARKER_FIELD;
use crate::writes::{Action, Answer, FinishKind, Prepared};
use crate::{now_unix, GatewayError};

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

    let held_indices: Vec<usize> = held.iter().map(|h| h.index).collect();
    let mut worked = Work::new(state, user, &held);
    worked.run().await;
    let mut finished = Vec::new();
    for (index, answer) in worked.answers {
        if let Some(h) = held.iter().find(|h| h.index == index) {
            finished.push((h.write.key.clone(), answer.key_finish()));
        }
        answers[index] = Some(answer);
    }
    // A held key always gets an answer; this is a bug guard, not a path.
    for index in held_indices {
        if answers[index].is_none() {
            let h = held.iter().find(|h| h.index == index).expect("held");
            finished.push((h.write.key.clone(), Finish::Unknown));
            answers[index] = Some(Answer::from_detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                Answer::detail(code::INTERNAL, "internal error"),
                "internal",
                FinishKind::Unknown,
            ));
        }
    }
    state
        .store
        .finish_keys(&user.user_id, finished, now_unix())
        .await?;

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
    state.store.audit(&user.user_id, audit, now_unix()).await?;
    for answer in &answers {
        tracing::info!(user_id = %user.user_id, status = answer.status.as_u16(), outcome = answer.outcome, "write");
    }
    Ok(answers)
}

struct Held {
    index: usize,
    write: Prepared,
    recover: bool,
}

/// A write Salesforce made, waiting to be read back.
struct Saved {
    index: usize,
    object: &'static str,
    id: RecordId,
    status: StatusCode,
    outcome: &'static str,
}

struct Work<'a> {
    state: &'a AppState,
    user: &'a User,
    held: &'a [Held],
    answers: HashMap<usize, Answer>,
    saved: Vec<Saved>,
}

impl<'a> Work<'a> {
    fn new(state: &'a AppState, user: &'a User, held: &'a [Held]) -> Self {
        Work {
            state,
            user,
            held,
            answers: HashMap::new(),
            saved: Vec::new(),
        }
    }

    async fn run(&mut self) {
        let held = self.held;
        let mut to_create: Vec<&Held> = held
            .iter()
            .filter(|h| h.write.action.is_create() && !h.recover)
            .collect();
        for object in ["Lead", "Task"] {
            let recovering: Vec<&Held> = held
                .iter()
                .filter(|h| {
                    h.recover
                        && h.write.action.is_create()
                        && h.write.action.spec().object == object
                })
                .collect();
            to_create.extend(self.recover_creates(object, &recovering).await);
        }
        self.create(&to_create).await;
        let updates: Vec<&Held> = held
            .iter()
            .filter(|h| !h.write.action.is_create())
            .collect();
        self.update(&updates).await;
        self.read_back().await;
    }

    /// Creates whose earlier outcome is unknown: the ones whose marker Salesforce has are
    /// done; the rest are returned, to be created.
    async fn recover_creates(
        &mut self,
        object: &'static str,
        recovering: &[&'a Held],
    ) -> Vec<&'a Held> {
        if recovering.is_empty() {
            return Vec::new();
        }
        let markers: Vec<String> = recovering
            .iter()
            .map(|h| soql::string_literal(h.write.marker.as_deref().unwrap_or_default()))
            .collect();
        let query = format!(
            "SELECT Id, {MARKER_FIELD} FROM {object} WHERE {MARKER_FIELD} IN ({})",
            markers.join(", ")
        );
        let rows = match self.query(&query).await {
            Ok(rows) => rows,
            Err(e) => {
                // Still unknown whether the earlier attempt landed.
                for h in recovering {
                    self.answers.insert(
                        h.index,
                        error_answer(&e, FinishKind::Unknown, Some(FinishKind::Unknown)),
                    );
                }
                return Vec::new();
            }
        };
        let mut found: HashMap<String, RecordId> = HashMap::new();
        for row in rows {
            if let (Some(marker), Some(id)) = (row[MARKER_FIELD].as_str(), row["Id"].as_str()) {
                if let Ok(id) = RecordId::parse_for(object, id) {
                    found.insert(marker.to_ascii_lowercase(), id);
                }
            }
        }
        let mut missing = Vec::new();
        for h in recovering {
            match found.get(h.write.marker.as_deref().unwrap_or_default()) {
                Some(id) => self.saved.push(Saved {
                    index: h.index,
                    object,
                    id: id.clone(),
                    status: StatusCode::CREATED,
                    outcome: "recovered",
                }),
                None => missing.push(*h),
            }
        }
        missing
    }

    /// One sObject Collections create for every create of the batch.
    async fn create(&mut self, creates: &[&Held]) {
        if creates.is_empty() {
            return;
        }
        let mut records = Vec::with_capacity(creates.len());
        for h in creates {
            match NewRecord::new(h.write.action.spec().object, &h.write.body) {
                Ok(record) => records.push(record),
                Err(e) => {
                    let e = GatewayError::Salesforce(e);
                    for h in creates {
                        self.answers.insert(
                            h.index,
                            error_answer(&e, FinishKind::Release, Some(FinishKind::Release)),
                        );
                    }
                    return;
                }
            }
        }
        let upstream = &self.state.upstream;
        let result = upstream
            .call(&self.user.user_id, |session| {
                let client = upstream.client.clone();
                let records = records.clone();
                async move { client.create_records(&session, &records, false).await }
            })
            .await;
        match result {
            Ok(results) => {
                for (h, result) in creates.iter().zip(results) {
                    let object = h.write.action.spec().object;
                    match result.id {
                        Some(id) if result.success => self.saved.push(Saved {
                            index: h.index,
                            object,
                            id,
                            status: StatusCode::CREATED,
                            outcome: "created",
                        }),
                        _ => {
                            self.answers.insert(h.index, item_error(&result.errors));
                        }
                    }
                }
            }
            Err(e) => {
                for h in creates {
                    self.answers
                        .insert(h.index, error_answer(&e, FinishKind::Unknown, None));
                }
            }
        }
    }

    /// The conflict check (one query of the records' current state), then one sObject
    /// Collections update for the writes that pass it.
    async fn update(&mut self, updates: &[&Held]) {
        if updates.is_empty() {
            return;
        }
        let spec = Action::UpdateOpportunity.spec();
        let ids: Vec<String> = updates
            .iter()
            .filter_map(|h| h.write.target.as_ref())
            .map(|id| soql::string_literal(id.as_str()))
            .collect();
        let query = format!(
            "SELECT {} FROM {} WHERE Id IN ({})",
            spec.read_back.join(", "),
            spec.object,
            ids.join(", ")
        );
        let rows = match self.query(&query).await {
            Ok(rows) => rows,
            Err(e) => {
                for h in updates {
                    let finish = if h.recover {
                        FinishKind::Unknown
                    } else {
                        FinishKind::Release
                    };
                    self.answers
                        .insert(h.index, error_answer(&e, finish, Some(finish)));
                }
                return;
            }
        };
        let by_id: HashMap<String, Value> = rows
            .into_iter()
            .filter_map(|row| {
                let id = RecordId::parse(row["Id"].as_str()?).ok()?;
                Some((id.to_string(), row))
            })
            .collect();
        let mut to_send: Vec<&Held> = Vec::new();
        for h in updates {
            let id = h.write.target.as_ref().expect("updates have a target");
            let Some(current) = by_id.get(id.as_str()) else {
                self.answers.insert(
                    h.index,
                    Answer::from_detail(
                        StatusCode::NOT_FOUND,
                        Answer::detail(
                            code::NOT_FOUND,
                            "no such Opportunity, or it is deleted, or not visible to you",
                        ),
                        "not_found",
                        FinishKind::Keep,
                    ),
                );
                continue;
            };
            let stamp = current["SystemModstamp"]
                .as_str()
                .and_then(|s| soql::parse_datetime(s).ok());
            if stamp == h.write.seen_stamp {
                to_send.push(h);
                continue;
            }
            let asked_differs = differing(current, &h.write.body);
            if h.recover && asked_differs.is_empty() {
                // The earlier attempt landed: the record has what was asked.
                self.answers.insert(
                    h.index,
                    Answer::record(
                        StatusCode::OK,
                        clean(current.clone()),
                        id.to_string(),
                        "recovered",
                    ),
                );
                continue;
            }
            let fields = match &h.write.seen_fields {
                Some(seen) => differing(current, seen),
                None => asked_differs,
            };
            let mut detail = Answer::detail(
                code::CONFLICT,
                "the Opportunity changed in Salesforce since you saw it; nothing was written",
            );
            detail.fields = Some(
                fields
                    .into_iter()
                    .map(|f| {
                        let now = current.get(&f).cloned().unwrap_or(Value::Null);
                        (f, format!("Salesforce now has {now}"))
                    })
                    .collect(),
            );
            detail.current = Some(clean(current.clone()));
            let mut answer =
                Answer::from_detail(StatusCode::CONFLICT, detail, "conflict", FinishKind::Keep);
            answer.record_id = Some(id.to_string());
            self.answers.insert(h.index, answer);
        }
        if to_send.is_empty() {
            return;
        }
        let records: Vec<RecordUpdate> = match to_send
            .iter()
            .map(|h| {
                RecordUpdate::new(
                    spec.object,
                    h.write.target.as_ref().expect("target"),
                    &h.write.body,
                )
            })
            .collect::<Result<_, _>>()
        {
            Ok(records) => records,
            Err(e) => {
                let e = GatewayError::Salesforce(e);
                for h in to_send {
                    self.answers.insert(
                        h.index,
                        error_answer(&e, FinishKind::Release, Some(FinishKind::Release)),
                    );
                }
                return;
            }
        };
        let upstream = &self.state.upstream;
        let result = upstream
            .call(&self.user.user_id, |session| {
                let client = upstream.client.clone();
                let records = records.clone();
                async move { client.update_records(&session, &records, false).await }
            })
            .await;
        match result {
            Ok(results) => {
                for (h, result) in to_send.iter().zip(results) {
                    if result.success {
                        self.saved.push(Saved {
                            index: h.index,
                            object: spec.object,
                            id: h.write.target.clone().expect("target"),
                            status: StatusCode::OK,
                            outcome: "updated",
                        });
                    } else {
                        self.answers.insert(h.index, item_error(&result.errors));
                    }
                }
            }
            Err(e) => {
                for h in to_send {
                    self.answers
                        .insert(h.index, error_answer(&e, FinishKind::Unknown, None));
                }
            }
        }
    }

    /// Read every written record back, one call per object.
    async fn read_back(&mut self) {
        let saved = std::mem::take(&mut self.saved);
        for object in ["Lead", "Task", "Opportunity"] {
            let group: Vec<&Saved> = saved.iter().filter(|s| s.object == object).collect();
            if group.is_empty() {
                continue;
            }
            let spec = match object {
                "Lead" => Action::CreateLead.spec(),
                "Task" => Action::CreateTask.spec(),
                _ => Action::UpdateOpportunity.spec(),
            };
            let ids: Vec<RecordId> = group.iter().map(|s| s.id.clone()).collect();
            let upstream = &self.state.upstream;
            let result = upstream
                .call(&self.user.user_id, |session| {
                    let client = upstream.client.clone();
                    let ids = ids.clone();
                    async move {
                        client
                            .retrieve_records::<Value>(&session, object, &ids, spec.read_back)
                            .await
                    }
                })
                .await;
            match result {
                Ok(rows) => {
                    for (s, row) in group.iter().zip(rows) {
                        let record = row
                            .map(clean)
                            .unwrap_or_else(|| serde_json::json!({ "Id": s.id.as_str() }));
                        self.answers.insert(
                            s.index,
                            Answer::record(s.status, record, s.id.to_string(), s.outcome),
                        );
                    }
                }
                Err(e) => {
                    // The write was made; the next try with the key finds it and reads it.
                    for s in group {
                        let mut answer =
                            error_answer(&e, FinishKind::Unknown, Some(FinishKind::Unknown));
                        answer.record_id = Some(s.id.to_string());
                        answer.outcome = "read_back_failed";
                        self.answers.insert(s.index, answer);
                    }
                }
            }
        }
    }

    async fn query(&self, soql: &str) -> Result<Vec<Value>, GatewayError> {
        let upstream = &self.state.upstream;
        upstream
            .call(&self.user.user_id, |session| {
                let client = upstream.client.clone();
                let soql = soql.to_string();
                async move {
                    client
                        .query_all_batches::<Value>(&session, &soql, QueryOptions::default())
                        .await
                }
            })
            .await
    }
}

/// A record as the answer carries it: without Salesforce's `attributes`.
fn clean(mut record: Value) -> Value {
    if let Some(map) = record.as_object_mut() {
        map.remove("attributes");
    }
    record
}

/// The names in `wanted` whose value in `current` is another.
fn differing(current: &Value, wanted: &Map<String, Value>) -> Vec<String> {
    wanted
        .iter()
        .filter(|(name, value)| {
            !same_value(current.get(name.as_str()).unwrap_or(&Value::Null), value)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// An item of a collections call that Salesforce refused.
fn item_error(errors: &[ApiErrorItem]) -> Answer {
    api_errors_answer(salesforce::classify(None, errors), errors)
}

fn api_errors_answer(kind: ErrorKind, errors: &[ApiErrorItem]) -> Answer {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    let with_fields = |mut detail: ErrorDetail| {
        let fields: std::collections::BTreeMap<String, String> = errors
            .iter()
            .flat_map(|e| e.fields.iter().map(move |f| (f.clone(), e.message.clone())))
            .collect();
        if !fields.is_empty() {
            detail.fields = Some(fields);
        }
        detail
    };
    let (status, detail, outcome, finish) = match kind {
        ErrorKind::Validation | ErrorKind::BadRequest => (
            StatusCode::UNPROCESSABLE_ENTITY,
            with_fields(Answer::detail(code::VALIDATION, message)),
            "validation",
            FinishKind::Keep,
        ),
        ErrorKind::NotFound => (
            StatusCode::NOT_FOUND,
            Answer::detail(code::NOT_FOUND, message),
            "not_found",
            FinishKind::Keep,
        ),
        ErrorKind::Forbidden => (
            StatusCode::FORBIDDEN,
            with_fields(Answer::detail(code::FORBIDDEN, message)),
            "forbidden",
            FinishKind::Keep,
        ),
        ErrorKind::RateLimited => {
            let mut detail = Answer::detail(code::RATE_LIMITED, message);
            detail.retry_after = Some(60);
            (
                StatusCode::TOO_MANY_REQUESTS,
                detail,
                "rate_limited",
                FinishKind::Release,
            )
        }
        _ => (
            StatusCode::BAD_GATEWAY,
            Answer::detail(code::UPSTREAM_UNAVAILABLE, message),
            "upstream_failed",
            FinishKind::Release,
        ),
    };
    Answer::from_detail(status, detail, outcome, finish)
}

/// A whole Salesforce call failed. `if_lost` is what becomes of the key when the call's
/// outcome is unknown (a write whose answer was lost); `forced` overrides it in every case
/// (a read that was to settle an unknown outcome leaves it unknown).
fn error_answer(error: &GatewayError, if_lost: FinishKind, forced: Option<FinishKind>) -> Answer {
    let lost = matches!(error, GatewayError::Salesforce(e) if e.outcome_unknown());
    let mut answer = match error {
        GatewayError::Salesforce(e @ salesforce::Error::Api { errors, .. })
            if !lost && !matches!(e.kind(), ErrorKind::SessionExpired | ErrorKind::Transient) =>
        {
            api_errors_answer(e.kind(), errors)
        }
        _ => {
            let (status, body) = error.to_error_body();
            let outcome = match status {
                StatusCode::TOO_MANY_REQUESTS => "rate_limited",
                StatusCode::UNAUTHORIZED => "reauth_required",
                _ => "upstream_failed",
            };
            Answer::from_detail(status, body.error, outcome, FinishKind::Release)
        }
    };
    let finish = forced.or(lost.then_some(if_lost));
    if finish == Some(FinishKind::Unknown) {
        tracing::warn!(error = %error, "a write's outcome is unknown");
        answer.outcome = "outcome_unknown";
        answer.body["error"]["message"] = Value::from(
            "Salesforce's answer was lost, so whether the write was made is unknown: \
             send the same request with the same Idempotency-Key again",
        );
    }
    if let Some(finish) = finish {
        answer.finish = finish;
    }
    answer
}
