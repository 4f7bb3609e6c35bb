//! The write endpoints: `POST /v1/leads`, `POST /v1/tasks`, `PATCH /v1/opportunities/{id}`,
//! `PATCH /v1/contacts/{id}` and `POST /v1/batch`. Each request is checked and turned into
//! [`Prepared`] writes here; the Salesforce side (one Composite Graph call for a whole batch
//! when nothing fails) is in `batch.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use companion_api::{
    BatchRequest, BatchResponse, BatchResult, BatchWrite, NewTask, RecordFields, RecordUpdate,
    TaskKind, User, MAX_BATCH_WRITES,
};
use salesforce::{IdError, RecordId};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::app::{json_body, AppState, SignedIn};
use crate::idempotency::{self, check_key, key_from_headers};
use crate::record_fields::{self, FieldProblems, Refused, MARKER_FIELD};
use crate::write_types::{Action, Answer, Prepared};
use crate::{batch, GatewayError};

fn refused_fields(refused: Refused) -> Answer {
    if refused.well_formed {
        Answer::invalid(
            "a value has its documented form but names no record or no time",
            refused.fields,
        )
    } else {
        Answer::refused(
            "the record has fields this endpoint does not take, or values of the wrong type",
            Some(refused.fields),
        )
    }
}

/// The record an update names: `400` for what is not an id of `object` (the document forbids
/// it), `404` for one of its form that names no record (a wrong checksum suffix).
fn update_target(object: &str, id: &str) -> Result<RecordId, Answer> {
    RecordId::parse_for(object, id).map_err(|e| {
        let of_the_form =
            matches!(e, IdError::Checksum) && RecordId::parse_for(object, &id[..15]).is_ok();
        if of_the_form {
            Answer::not_found(format!("no {object} has the id {id}"))
        } else {
            Answer::refused(format!("not the id of a {object}: {e}"), None)
        }
    })
}

/// Leave out `null`s of a create: an absent field is the same and Salesforce's defaults apply.
fn without_nulls(mut body: Map<String, Value>) -> Map<String, Value> {
    body.retain(|_, v| !v.is_null());
    body
}

pub fn prepare_lead(user: &User, key: String, fields: RecordFields) -> Result<Prepared, Answer> {
    let body = record_fields::check(&record_fields::LEAD, &fields).map_err(refused_fields)?;
    let request_hash = idempotency::request_hash(
        Action::CreateLead.name(),
        None,
        &serde_json::to_value(&fields).expect("serialisable"),
    );
    Ok(create(Action::CreateLead, user, key, request_hash, body))
}

pub fn prepare_task(user: &User, key: String, task: NewTask) -> Result<Prepared, Answer> {
    let mut body =
        record_fields::check(&record_fields::TASK, &task.fields).map_err(refused_fields)?;
    let (subtype, status) = match task.kind {
        TaskKind::Call => ("Call", "Completed"),
        TaskKind::FollowUp => ("Task", "Not Started"),
    };
    let has_date = body.get("ActivityDate").is_some_and(|v| !v.is_null());
    match task.kind {
        TaskKind::Call if !has_date => {
            let today = OffsetDateTime::now_utc().date().to_string();
            body.insert("ActivityDate".into(), today.into());
        }
        TaskKind::FollowUp if !has_date => {
            return Err(Answer::refused(
                "the record has fields this endpoint does not take, or values of the wrong type",
                Some(FieldProblems::from([(
                    "ActivityDate".to_string(),
                    "a follow-up task needs its due date".to_string(),
                )])),
            ));
        }
        _ => {}
    }
    body.insert("TaskSubtype".into(), subtype.into());
    body.insert("Status".into(), status.into());
    let request_hash = idempotency::request_hash(
        Action::CreateTask.name(),
        None,
        &serde_json::to_value(&task).expect("serialisable"),
    );
    Ok(create(Action::CreateTask, user, key, request_hash, body))
}

fn create(
    action: Action,
    user: &User,
    key: String,
    request_hash: Vec<u8>,
    body: Map<String, Value>,
) -> Prepared {
    let marker = idempotency::marker(&user.user_id, &key);
    let mut body = without_nulls(body);
    body.insert(MARKER_FIELD.into(), marker.clone().into());
    Prepared {
        action,
        key,
        request_hash,
        marker: Some(marker),
        body,
        target: None,
        seen_stamp: None,
        seen_fields: None,
    }
}

/// An update of `action`'s object: the id, the fields from its allow-list, the seen stamp.
pub fn prepare_update(
    action: Action,
    key: String,
    id: &str,
    update: RecordUpdate,
) -> Result<Prepared, Answer> {
    let spec = action.spec();
    let target = update_target(spec.object, id)?;
    if update.fields.is_empty() {
        return Err(Answer::refused(
            "fields: give at least one field to change",
            None,
        ));
    }
    let body = record_fields::check(spec, &update.fields).map_err(refused_fields)?;
    let seen_fields = update
        .seen_fields
        .as_ref()
        .map(|seen| record_fields::check(spec, seen))
        .transpose()
        .map_err(refused_fields)?;
    let seen_stamp =
        record_fields::parse_datetime(&update.seen_system_modstamp).ok_or_else(|| {
            Answer::refused(
                "seen_system_modstamp must be a datetime such as 2024-05-01T10:00:00.000+0000 \
                 (Salesforce's form) or 2024-05-01T10:00:00Z",
                None,
            )
        })?;
    let seen_stamp = record_fields::in_utc(seen_stamp).ok_or_else(|| {
        Answer::invalid(
            "seen_system_modstamp is not a time Salesforce can have",
            FieldProblems::from([(
                "seen_system_modstamp".to_string(),
                record_fields::OUT_OF_RANGE.to_string(),
            )]),
        )
    })?;
    let request_hash = idempotency::request_hash(
        action.name(),
        Some(target.as_str()),
        &serde_json::to_value(&update).expect("serialisable"),
    );
    Ok(Prepared {
        action,
        key,
        request_hash,
        marker: None,
        body,
        target: Some(target),
        seen_stamp: Some(seen_stamp),
        seen_fields,
    })
}

/// One write as a whole HTTP answer.
async fn single(
    state: &Arc<AppState>,
    user: &User,
    prepared: Result<Prepared, Answer>,
    key: &str,
) -> Result<Response, GatewayError> {
    let answer = batch::run_to_completion(
        state.clone(),
        user.clone(),
        vec![(key.to_string(), prepared)],
    )
    .await?
    .pop()
    .ok_or_else(|| GatewayError::Internal("a write without an answer".into()))?;
    let retry_after = answer.body["error"]["retry_after"].as_u64();
    let mut response = (answer.status, Json(answer.body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub async fn create_lead(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: Result<Json<RecordFields>, JsonRejection>,
) -> Result<Response, GatewayError> {
    let key = key_from_headers(&headers)?;
    let fields = json_body(body)?;
    let prepared = prepare_lead(&signed_in.user, key.clone(), fields);
    single(&state, &signed_in.user, prepared, &key).await
}

pub async fn create_task(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: Result<Json<NewTask>, JsonRejection>,
) -> Result<Response, GatewayError> {
    let key = key_from_headers(&headers)?;
    let task = json_body(body)?;
    let prepared = prepare_task(&signed_in.user, key.clone(), task);
    single(&state, &signed_in.user, prepared, &key).await
}

pub async fn update_opportunity(
    state: State<Arc<AppState>>,
    signed_in: SignedIn,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<RecordUpdate>, JsonRejection>,
) -> Result<Response, GatewayError> {
    update_record(
        Action::UpdateOpportunity,
        state,
        signed_in,
        id,
        headers,
        body,
    )
    .await
}

pub async fn update_contact(
    state: State<Arc<AppState>>,
    signed_in: SignedIn,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<RecordUpdate>, JsonRejection>,
) -> Result<Response, GatewayError> {
    update_record(Action::UpdateContact, state, signed_in, id, headers, body).await
}

async fn update_record(
    action: Action,
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<RecordUpdate>, JsonRejection>,
) -> Result<Response, GatewayError> {
    let object = action.spec().object;
    let Path(id) =
        id.map_err(|e| GatewayError::BadRequest(format!("record id: {}", e.body_text())))?;
    // The id is checked before anything else is looked at.
    if let Err(refused) = update_target(object, &id) {
        return Ok((refused.status, Json(refused.body)).into_response());
    }
    let key = key_from_headers(&headers)?;
    let update = json_body(body)?;
    let prepared = prepare_update(action, key.clone(), &id, update);
    single(&state, &signed_in.user, prepared, &key).await
}

pub async fn batch_handler(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    body: Result<Json<BatchRequest>, JsonRejection>,
) -> Result<Json<BatchResponse>, GatewayError> {
    let request = json_body(body)?;
    if request.writes.len() > MAX_BATCH_WRITES {
        return Err(GatewayError::BadRequest(format!(
            "a batch takes at most {MAX_BATCH_WRITES} writes, not {}",
            request.writes.len()
        )));
    }
    // A key is part of the envelope, as the document says: a malformed one refuses the batch
    // (its result could not be told apart). The bodies are checked per write.
    for (index, write) in request.writes.iter().enumerate() {
        check_key(write.idempotency_key()).map_err(|problem| {
            GatewayError::BadRequest(format!("writes[{index}].idempotency_key: {problem}"))
        })?;
    }
    let user = &signed_in.user;
    let mut seen_keys = HashSet::new();
    let items: Vec<(String, Result<Prepared, Answer>)> = request
        .writes
        .into_iter()
        .map(|write| {
            let key = write.idempotency_key().to_string();
            let prepared = if !seen_keys.insert(key.clone()) {
                Err(Answer::refused(
                    "idempotency_key: used twice in this batch",
                    None,
                ))
            } else {
                match write {
                    BatchWrite::CreateLead {
                        idempotency_key,
                        body,
                    } => prepare_lead(user, idempotency_key, body),
                    BatchWrite::CreateTask {
                        idempotency_key,
                        body,
                    } => prepare_task(user, idempotency_key, body),
                    BatchWrite::UpdateOpportunity {
                        idempotency_key,
                        id,
                        body,
                    } => prepare_update(Action::UpdateOpportunity, idempotency_key, &id, body),
                    BatchWrite::UpdateContact {
                        idempotency_key,
                        id,
                        body,
                    } => prepare_update(Action::UpdateContact, idempotency_key, &id, body),
                }
            };
            (key, prepared)
        })
        .collect();
    let answers = batch::run_to_completion(state.clone(), user.clone(), items.clone()).await?;
    Ok(Json(BatchResponse {
        results: items
            .into_iter()
            .zip(answers)
            .map(|((key, _), answer)| BatchResult {
                idempotency_key: key,
                status: answer.status.as_u16(),
                body: answer.body,
            })
            .collect(),
    }))
}
