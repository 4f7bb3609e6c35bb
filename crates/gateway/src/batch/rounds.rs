//! Settling held writes with as few Salesforce calls as it takes: creates whose earlier outcome
//! is unknown are looked up by their marker first; then every write goes in one Composite
//! Graph call; writes rolled back beside a failing one go again; updates refused with `412`
//! are compared with the record as it is now (one query call) and merged, answered, or
//! refused as a conflict. At most [`MAX_FOLLOW_UP_CALLS`] calls follow the first graph call.

use std::collections::HashMap;

use axum::http::StatusCode;
use companion_api::User;
use salesforce::{soql, CompositeRequest, ErrorKind, QueryResult, RecordId};
use serde_json::Value;
use time::OffsetDateTime;

use super::answers::{self, clean};
use super::graph::{self, NodeOutcome, NodeWrite, Update};
use super::merge::{judge, Verdict};
use super::Held;
use crate::app::AppState;
use crate::record_fields::{WriteSpec, MARKER_FIELD};
use crate::write_types::{Answer, FinishKind};
use crate::GatewayError;

/// Calls after the first graph call: a query of the records that changed, a graph call for
/// the writes that go again, and one more of either. What is still unsettled then is
/// answered "send it again".
pub const MAX_FOLLOW_UP_CALLS: usize = 3;

/// One write on its way: which held write, and for an update the time it must be unchanged
/// since.
struct Attempt<'a> {
    held: &'a Held,
    unmodified_since: Option<OffsetDateTime>,
    /// Sent again after someone else changed other fields of the record.
    merged: bool,
}

/// Settles every held write; one answer per held write, by its index.
pub async fn settle(state: &AppState, user: &User, held: &[Held]) -> HashMap<usize, Answer> {
    let mut work = Work {
        state,
        user,
        answers: HashMap::new(),
    };
    work.recover_creates(held).await;
    let mut queue: Vec<Attempt<'_>> = held
        .iter()
        .filter(|h| !work.answers.contains_key(&h.index))
        .map(|held| Attempt {
            held,
            unmodified_since: held.write.seen_stamp,
            merged: false,
        })
        .collect();
    let mut follow_ups_left = MAX_FOLLOW_UP_CALLS;
    let mut first = true;
    while !queue.is_empty() {
        if !first {
            if follow_ups_left == 0 {
                break;
            }
            follow_ups_left -= 1;
        }
        first = false;
        let (mut again, changed) = work.write_round(queue).await;
        if !changed.is_empty() {
            if follow_ups_left == 0 {
                work.unsettled(&changed);
            } else {
                follow_ups_left -= 1;
                again.extend(work.check_changed(changed).await);
            }
        }
        // Queued order is kept: a later write of a record goes after an earlier one.
        again.sort_by_key(|a| a.held.index);
        queue = again;
    }
    work.unsettled(&queue);
    work.answers
}

struct Work<'a> {
    state: &'a AppState,
    user: &'a User,
    answers: HashMap<usize, Answer>,
}

impl<'a> Work<'a> {
    fn answer(&mut self, held: &Held, answer: Answer) {
        self.answers.insert(held.index, answer);
    }

    fn unsettled(&mut self, attempts: &[Attempt<'_>]) {
        for attempt in attempts {
            self.answer(attempt.held, answers::unsettled());
        }
    }

    /// Creates whose earlier outcome is unknown: one query per object for their markers (one
    /// Composite call), selecting what the answer needs. Those found are answered; the others
    /// go with the rest.
    async fn recover_creates(&mut self, held: &[Held]) {
        let recovering: Vec<&Held> = held
            .iter()
            .filter(|h| h.recover && h.write.action.is_create())
            .collect();
        if recovering.is_empty() {
            return;
        }
        let mut queries: Vec<(&'static WriteSpec, String)> = Vec::new();
        for h in &recovering {
            let spec = h.write.action.spec();
            if !queries.iter().any(|(s, _)| s.object == spec.object) {
                let markers: Vec<String> = recovering
                    .iter()
                    .filter(|other| other.write.action.spec().object == spec.object)
                    .map(|other| {
                        soql::string_literal(other.write.marker.as_deref().unwrap_or_default())
                    })
                    .collect();
                let soql = format!(
                    "SELECT {}, {MARKER_FIELD} FROM {} WHERE {MARKER_FIELD} IN ({})",
                    spec.read_back.join(", "),
                    spec.object,
                    markers.join(", ")
                );
                queries.push((spec, soql));
            }
        }
        let rows = match self.query(&queries).await {
            Ok(rows) => rows,
            Err(e) => {
                // Still unknown whether the earlier attempts landed.
                for h in recovering {
                    let answer =
                        answers::call_failed(&e, FinishKind::Unknown, Some(FinishKind::Unknown));
                    self.answer(h, answer);
                }
                return;
            }
        };
        for h in recovering {
            let marker = h.write.marker.as_deref().unwrap_or_default();
            let found = rows.iter().find(|row| {
                row[MARKER_FIELD]
                    .as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case(marker))
            });
            if let Some(row) = found {
                let mut record = clean(row.clone());
                if let Some(map) = record.as_object_mut() {
                    map.remove(MARKER_FIELD);
                }
                let id = record["Id"].as_str().unwrap_or_default().to_string();
                self.answer(
                    h,
                    Answer::record(StatusCode::CREATED, record, id, "recovered"),
                );
            }
        }
    }

    /// One Composite Graph call for `attempts`. Returns the writes that may go again (rolled
    /// back, not processed) and the updates refused because their record changed (`412`).
    async fn write_round(
        &mut self,
        attempts: Vec<Attempt<'a>>,
    ) -> (Vec<Attempt<'a>>, Vec<Attempt<'a>>) {
        let writes: Vec<NodeWrite<'_>> = attempts
            .iter()
            .map(|a| NodeWrite {
                spec: a.held.write.action.spec(),
                body: &a.held.write.body,
                update: a.held.write.target.as_ref().map(|id| Update {
                    id,
                    unmodified_since: a.unmodified_since.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                }),
            })
            .collect();
        let request = match graph::request(&writes) {
            Ok(request) => request,
            Err(e) => {
                let e = GatewayError::Salesforce(e);
                for a in &attempts {
                    let answer =
                        answers::call_failed(&e, FinishKind::Release, Some(FinishKind::Release));
                    self.answer(a.held, answer);
                }
                return (Vec::new(), Vec::new());
            }
        };
        let upstream = &self.state.upstream;
        let result = upstream
            .call(&self.user.user_id, |session| {
                let client = upstream.client.clone();
                let request = request.clone();
                async move { client.composite_graph(&session, &request).await }
            })
            .await;
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                for a in &attempts {
                    let answer = answers::call_failed(&e, FinishKind::Unknown, None);
                    self.answer(a.held, answer);
                }
                return (Vec::new(), Vec::new());
            }
        };
        let mut again = Vec::new();
        let mut changed = Vec::new();
        let outcomes = graph::outcomes(&response, attempts.len());
        for (attempt, outcome) in attempts.into_iter().zip(outcomes) {
            match outcome {
                NodeOutcome::Written { id, record } => {
                    let answer = written(&attempt, id, record);
                    self.answer(attempt.held, answer);
                }
                NodeOutcome::Failed(e)
                    if e.kind() == ErrorKind::PreconditionFailed
                        && attempt.held.write.target.is_some() =>
                {
                    changed.push(attempt)
                }
                NodeOutcome::Failed(e) => {
                    let answer = answers::refused(e.kind(), e.api_errors());
                    self.answer(attempt.held, answer);
                }
                NodeOutcome::NotRun => again.push(attempt),
            }
        }
        (again, changed)
    }

    /// The records of updates refused with `412`, as they are now (one query per object, one
    /// Composite call), and the three-way comparison for each. Returns the merges, to be
    /// written again conditional on the record as read.
    async fn check_changed(&mut self, changed: Vec<Attempt<'a>>) -> Vec<Attempt<'a>> {
        let mut queries: Vec<(&'static WriteSpec, String)> = Vec::new();
        for a in &changed {
            let spec = a.held.write.action.spec();
            if queries.iter().any(|(s, _)| s.object == spec.object) {
                continue;
            }
            let ids: Vec<String> = changed
                .iter()
                .filter(|other| other.held.write.action.spec().object == spec.object)
                .filter_map(|other| other.held.write.target.as_ref())
                .map(|id| soql::string_literal(id.as_str()))
                .collect();
            let soql = format!(
                "SELECT {} FROM {} WHERE Id IN ({})",
                spec.read_back.join(", "),
                spec.object,
                ids.join(", ")
            );
            queries.push((spec, soql));
        }
        let rows = match self.query(&queries).await {
            Ok(rows) => rows,
            Err(e) => {
                for a in &changed {
                    // Nothing was written by this request; an earlier attempt's outcome stays
                    // as unknown as it was.
                    let finish = if a.held.recover {
                        FinishKind::Unknown
                    } else {
                        FinishKind::Release
                    };
                    let answer = answers::call_failed(&e, finish, Some(finish));
                    self.answer(a.held, answer);
                }
                return Vec::new();
            }
        };
        let by_id: HashMap<String, &Value> = rows
            .iter()
            .filter_map(|row| Some((RecordId::parse(row["Id"].as_str()?).ok()?.to_string(), row)))
            .collect();
        let mut merges = Vec::new();
        for mut attempt in changed {
            let write = &attempt.held.write;
            let object = write.action.spec().object;
            let id = write.target.as_ref().expect("an update has a target");
            let Some(current) = by_id.get(id.as_str()) else {
                self.answer(attempt.held, answers::not_found(object));
                continue;
            };
            match judge(&write.body, write.seen_fields.as_ref(), current) {
                Verdict::Landed => {
                    let outcome = if attempt.held.recover {
                        "recovered"
                    } else {
                        "already_applied"
                    };
                    let answer = Answer::record(
                        StatusCode::OK,
                        clean((*current).clone()),
                        id.to_string(),
                        outcome,
                    );
                    self.answer(attempt.held, answer);
                }
                Verdict::Conflict(fields) => {
                    let answer = answers::conflict(object, fields, current, id.as_str());
                    self.answer(attempt.held, answer);
                }
                Verdict::Merge => {
                    let stamp = current["SystemModstamp"]
                        .as_str()
                        .and_then(|s| soql::parse_datetime(s).ok());
                    match stamp {
                        Some(stamp) => {
                            attempt.unmodified_since = Some(stamp);
                            attempt.merged = true;
                            merges.push(attempt);
                        }
                        None => self.answer(attempt.held, answers::unsettled()),
                    }
                }
            }
        }
        merges
    }

    /// Queries in one Composite call (at most 5); every row of every answer.
    async fn query(
        &self,
        queries: &[(&'static WriteSpec, String)],
    ) -> Result<Vec<Value>, GatewayError> {
        let mut request = CompositeRequest::new(false);
        for (spec, soql) in queries {
            request.query(spec.object, soql)?;
        }
        let upstream = &self.state.upstream;
        let response = upstream
            .call(&self.user.user_id, |session| {
                let client = upstream.client.clone();
                let request = request.clone();
                async move { client.composite(&session, &request).await }
            })
            .await?;
        let mut rows = Vec::new();
        for (spec, _) in queries {
            let page: QueryResult<Value> = response.json(spec.object)?;
            rows.extend(page.records);
        }
        Ok(rows)
    }
}

/// A write made: the record as read back, `201` for a create, `200` for an update.
fn written(attempt: &Attempt<'_>, id: Option<String>, record: Value) -> Answer {
    let write = &attempt.held.write;
    let id = record["Id"]
        .as_str()
        .map(String::from)
        .or(id)
        .or_else(|| write.target.as_ref().map(|t| t.to_string()))
        .unwrap_or_default();
    let record = match clean(record) {
        record @ Value::Object(_) => record,
        _ => serde_json::json!({ "Id": id }),
    };
    let (status, outcome) = match (write.action.is_create(), attempt.merged) {
        (true, _) => (StatusCode::CREATED, "created"),
        (false, true) => (StatusCode::OK, "merged"),
        (false, false) => (StatusCode::OK, "updated"),
    };
    Answer::record(status, record, id, outcome)
}
