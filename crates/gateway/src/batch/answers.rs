//! The answer a write gets from what Salesforce said: a record, a refusal mapped onto the
//! `/v1` error codes, a conflict, or "send it again".

use std::collections::BTreeMap;

use axum::http::StatusCode;
use companion_api::{code, ErrorDetail};
use salesforce::{ApiErrorItem, ErrorKind};
use serde_json::Value;

use crate::write_types::{Answer, FinishKind};
use crate::GatewayError;

/// A record as the answer carries it: without Salesforce's `attributes`.
pub fn clean(mut record: Value) -> Value {
    if let Some(map) = record.as_object_mut() {
        map.remove("attributes");
    }
    record
}

/// A refusal Salesforce gave for this write alone (a node of a graph, or a whole call).
pub fn refused(kind: ErrorKind, errors: &[ApiErrorItem]) -> Answer {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    let with_fields = |mut detail: ErrorDetail| {
        let fields: BTreeMap<String, String> = errors
            .iter()
            .flat_map(|e| e.fields.iter().map(move |f| (f.clone(), e.message.clone())))
            .collect();
        if !fields.is_empty() {
            detail.fields = Some(fields);
        }
        detail
    };
    let (status, error_code) = crate::error::salesforce_status(kind);
    let mut detail = Answer::detail(error_code, message);
    let (outcome, finish) = match kind {
        ErrorKind::Validation | ErrorKind::BadRequest => ("validation", FinishKind::Keep),
        ErrorKind::NotFound => ("not_found", FinishKind::Keep),
        ErrorKind::Forbidden => ("forbidden", FinishKind::Keep),
        ErrorKind::RateLimited => ("rate_limited", FinishKind::Release),
        ErrorKind::SessionExpired | ErrorKind::ReauthRequired => {
            ("reauth_required", FinishKind::Release)
        }
        _ => ("upstream_failed", FinishKind::Release),
    };
    match kind {
        ErrorKind::Validation | ErrorKind::BadRequest | ErrorKind::Forbidden => {
            detail = with_fields(detail);
        }
        // Salesforce's daily limit is rolling; a minute is a polite first wait.
        ErrorKind::RateLimited => detail.retry_after = Some(60),
        _ => {}
    }
    Answer::from_detail(status, detail, outcome, finish)
}

/// A whole Salesforce call failed. `if_lost` is what becomes of the key when the call's
/// outcome is unknown (a write whose answer was lost); `forced` overrides it in every case
/// (a read that was to settle an unknown outcome leaves it unknown).
pub fn call_failed(
    error: &GatewayError,
    if_lost: FinishKind,
    forced: Option<FinishKind>,
) -> Answer {
    let lost = matches!(error, GatewayError::Salesforce(e) if e.outcome_unknown());
    let mut answer = match error {
        GatewayError::Salesforce(e @ salesforce::Error::Api { errors, .. })
            if !lost && !matches!(e.kind(), ErrorKind::SessionExpired | ErrorKind::Transient) =>
        {
            refused(e.kind(), errors)
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

/// `409 conflict`: someone else changed `fields` since the rep saw the record; nothing was
/// written. `current` is the record as Salesforce has it.
pub fn conflict(object: &str, fields: Vec<String>, current: &Value, record_id: &str) -> Answer {
    let mut detail = Answer::detail(
        code::CONFLICT,
        format!("the {object} changed in Salesforce since you saw it; nothing was written"),
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
    answer.record_id = Some(record_id.to_string());
    answer
}

/// The record is gone or not visible to the rep.
pub fn not_found(object: &str) -> Answer {
    Answer::from_detail(
        StatusCode::NOT_FOUND,
        Answer::detail(
            code::NOT_FOUND,
            format!("no such {object}, or it is deleted, or not visible to you"),
        ),
        "not_found",
        FinishKind::Keep,
    )
}

/// Nothing was written, but the write did not settle within the calls a request may make
/// (rolled back beside another write's failure, or the record kept changing): the key is
/// released and the client sends the write again.
pub fn unsettled() -> Answer {
    let mut detail = Answer::detail(
        code::UPSTREAM_UNAVAILABLE,
        "Salesforce did not settle this write in time (it was rolled back beside another \
         write, or the record kept changing); nothing was written: send it again",
    );
    detail.retry_after = Some(1);
    Answer::from_detail(
        StatusCode::BAD_GATEWAY,
        detail,
        "unsettled",
        FinishKind::Release,
    )
}
