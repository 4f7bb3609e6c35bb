//! `sobjects/{type}/updated/` and `sobjects/{type}/deleted/` (reference §3.1): ids changed or
//! deleted in a window, for replication. Seconds are ignored; `updated/` reaches back 30 days,
//! `deleted/` keeps 15 days of deletions.

use std::sync::Arc;

use axum::{
    extract::{Extension, Path, Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::{
    response::{self, api_error},
    rest::Caller,
    sobjects::object_from_path,
};
use crate::{clock::format_datetime, dml::parse_datetime, dml::ApiError, state::AppState};

const UPDATED_WINDOW: Duration = Duration::days(30);
const DELETED_WINDOW: Duration = Duration::days(15);
/// More ids than this in one answer → `EXCEEDED_ID_LIMIT`.
const MAX_IDS: usize = 600_000;

#[derive(Deserialize)]
pub struct Window {
    start: Option<String>,
    end: Option<String>,
}

/// The window `[start, end)` cut to whole minutes, checked as a real org checks it.
fn window(
    params: &Window,
    now: OffsetDateTime,
    reach: Duration,
    check_reach: bool,
) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    let parse = |name: &str, value: &Option<String>| {
        let text = value.as_deref().ok_or_else(|| {
            ApiError::new(400, "MISSING_ARGUMENT", format!("{name} was not specified"))
        })?;
        parse_datetime(text).map(to_minute).ok_or_else(|| {
            // A `+` left unencoded arrives as a space and lands here, as in a real org.
            ApiError::new(
                400,
                "INVALID_REPLICATION_DATE",
                format!("{name}: invalid date: {text}"),
            )
        })
    };
    let start = parse("start", &params.start)?;
    let end = parse("end", &params.end)?;
    if end <= start {
        return Err(ApiError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    if check_reach && start < to_minute(now - reach) {
        // Text of a real org's refusal is not in the reference (unconfirmed).
        return Err(ApiError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate cannot be more than 30 days ago",
        ));
    }
    Ok((start, end))
}

fn to_minute(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(at)
}

/// The last whole minute the answer covers: the end, unless that is still in the future.
fn latest_covered(end: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    end.min(to_minute(now))
}

/// `GET /sobjects/{type}/updated/?start=…&end=…` → `{ids, latestDateCovered}`.
pub async fn updated(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Path((_, name)): Path<(String, String)>,
    Query(params): Query<Window>,
) -> Response {
    let now = state.clock.now();
    let result = (|| {
        let object = object_from_path(&name)?;
        let (start, end) = window(&params, now, UPDATED_WINDOW, true)?;
        let (from, to) = (format_datetime(start), format_datetime(end));
        let org = state.org();
        // Based on SystemModstamp; records now in the recycle bin are reported by deleted/.
        let ids: Vec<&str> = org
            .store
            .all(object)
            .filter(|r| org.store.can_read(object, r, &user))
            .filter(|r| {
                r.get("SystemModstamp")
                    .and_then(Value::as_str)
                    .is_some_and(|stamp| stamp >= from.as_str() && stamp < to.as_str())
            })
            .filter_map(|r| r.get("Id").and_then(Value::as_str))
            .collect();
        too_many(ids.len())?;
        Ok(response::json(
            StatusCode::OK,
            &json!({"ids": ids, "latestDateCovered": format_datetime(latest_covered(end, now))}),
        ))
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

/// `GET /sobjects/{type}/deleted/?start=…&end=…` →
/// `{deletedRecords: [{id, deletedDate}], earliestDateAvailable, latestDateCovered}`.
pub async fn deleted(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Path((_, name)): Path<(String, String)>,
    Query(params): Query<Window>,
) -> Response {
    let now = state.clock.now();
    let result = (|| {
        let object = object_from_path(&name)?;
        // A start before the log's reach is answered; earliestDateAvailable tells the client
        // that it may have missed deletions (reference §3.1).
        let (start, end) = window(&params, now, DELETED_WINDOW, false)?;
        let earliest = to_minute(now - DELETED_WINDOW);
        let (from, to) = (format_datetime(start.max(earliest)), format_datetime(end));
        let org = state.org();
        let deleted: Vec<Value> = org
            .store
            .deletions(object)
            .filter(|d| d.deleted_date >= from && d.deleted_date < to)
            .filter(|d| {
                org.store
                    .get_any(object, &d.id)
                    .is_some_and(|r| org.store.can_read(object, r, &user))
            })
            .map(|d| json!({"id": d.id, "deletedDate": d.deleted_date}))
            .collect();
        too_many(deleted.len())?;
        Ok(response::json(
            StatusCode::OK,
            &json!({
                "deletedRecords": deleted,
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": format_datetime(latest_covered(end, now)),
            }),
        ))
    })();
    result.unwrap_or_else(|error: ApiError| api_error(&error))
}

fn too_many(count: usize) -> Result<(), ApiError> {
    if count > MAX_IDS {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!("The result exceeds the limit of {MAX_IDS} ids"),
        ));
    }
    Ok(())
}
