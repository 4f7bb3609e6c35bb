//! `/services/data`: versions, query and query paging (reference §2.1–2.2), plus what every REST
//! response shares: bearer authentication, API-call counting and `Sforce-Limit-Info`.

use std::sync::Arc;

use axum::{
    extract::{Extension, Path, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    composite, composite_graph,
    response::{self, rest_error},
    sobjects, sync_resources,
};
use crate::{
    locators::Cursor,
    query::{self, Plan, RowView},
    state::AppState,
    store::{OrgUser, Store},
};

/// API versions this org serves: 20.0 up to Spring '24 (60.0).
const VERSIONS: std::ops::RangeInclusive<u32> = 20..=60;
const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;
const MAX_BATCH: usize = 2000;

/// Every versioned REST route (`/services/data/vXX.X/…`), behind [`authenticated`].
/// Composite requests run their subrequests through this same router.
pub fn versioned_routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    const V: &str = "/services/data/{version}";
    let route = |path: &str| format!("{V}{path}");
    Router::new()
        .route(&route(""), get(resources))
        .route(&route("/"), get(resources))
        .route(&route("/query"), get(query))
        .route(&route("/query/"), get(query))
        .route(&route("/query/{locator}"), get(query_more))
        .route(&route("/queryAll"), get(query_all))
        .route(&route("/queryAll/"), get(query_all))
        .route(&route("/queryAll/{locator}"), get(query_more))
        .route(&route("/limits"), get(limits))
        .route(&route("/limits/"), get(limits))
        .route(&route("/sobjects"), get(sobjects::describe_global))
        .route(&route("/sobjects/"), get(sobjects::describe_global))
        .route(
            &route("/sobjects/{object}"),
            get(sobjects::basic_info).post(sobjects::create),
        )
        .route(
            &route("/sobjects/{object}/"),
            get(sobjects::basic_info).post(sobjects::create),
        )
        .route(
            &route("/sobjects/{object}/describe"),
            get(sobjects::describe),
        )
        .route(
            &route("/sobjects/{object}/updated"),
            get(sync_resources::updated),
        )
        .route(
            &route("/sobjects/{object}/updated/"),
            get(sync_resources::updated),
        )
        .route(
            &route("/sobjects/{object}/deleted"),
            get(sync_resources::deleted),
        )
        .route(
            &route("/sobjects/{object}/deleted/"),
            get(sync_resources::deleted),
        )
        .route(
            &route("/sobjects/{object}/describe/"),
            get(sobjects::describe),
        )
        .route(
            &route("/sobjects/{object}/{id}"),
            get(sobjects::read)
                .patch(sobjects::update)
                .delete(sobjects::delete)
                .post(sobjects::create_by_id_path),
        )
        .route(
            &route("/sobjects/{object}/{field}/{value}"),
            get(sobjects::read_by_external_id).patch(sobjects::upsert),
        )
        .route(&route("/composite"), post(composite::composite))
        .route(&route("/composite/"), post(composite::composite))
        .route(
            &route("/composite/graph"),
            post(composite_graph::composite_graph),
        )
        .route(
            &route("/composite/sobjects"),
            post(composite::create_collection)
                .patch(composite::update_collection)
                .delete(composite::delete_collection),
        )
        .route(
            &route("/composite/sobjects/{object}"),
            get(composite::retrieve_collection),
        )
        .layer(middleware::from_fn_with_state(state, authenticated))
}

/// `GET /services/data/vXX.X/`: the resources of a version.
async fn resources(Extension(ApiVersion(version)): Extension<ApiVersion>) -> Response {
    let base = format!("/services/data/v{version}");
    let names = [
        "sobjects",
        "query",
        "queryAll",
        "limits",
        "composite",
        "search",
        "tooling",
        "recent",
    ];
    let body: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|name| ((*name).to_owned(), format!("{base}/{name}").into()))
        .collect();
    response::json(StatusCode::OK, &body)
}

/// `GET /services/data/vXX.X/limits` (reference §4.4): the daily API allocation is live; the
/// other entries are a Developer Edition's usual values.
async fn limits(State(state): State<Arc<AppState>>) -> Response {
    let max = state.api_usage.limit();
    let remaining = max.saturating_sub(state.api_calls());
    let fixed = |max: u64| json!({"Max": max, "Remaining": max});
    response::json(
        StatusCode::OK,
        &json!({
            "ConcurrentAsyncGetReportInstances": fixed(200),
            "ConcurrentSyncReportRuns": fixed(20),
            "DailyApiRequests": {"Max": max, "Remaining": remaining},
            "DailyAsyncApexExecutions": fixed(250_000),
            "DailyBulkApiBatches": fixed(15_000),
            "DailyBulkV2QueryFileStorageMB": fixed(976_562),
            "DailyBulkV2QueryJobs": fixed(10_000),
            "DailyGenericStreamingApiEvents": fixed(10_000),
            "DailyStreamingApiEvents": fixed(10_000),
            "DataStorageMB": fixed(5),
            "FileStorageMB": fixed(20),
            "HourlyODataCallout": fixed(20_000),
            "HourlyTimeBasedWorkflow": fixed(50),
            "MassEmail": fixed(10),
            "SingleEmail": fixed(15),
        }),
    )
}

/// Adds `Sforce-Limit-Info: api-usage=N/M` to every REST response.
pub async fn limit_info(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert("Sforce-Limit-Info", limit_header(&state));
    response
}

fn limit_header(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "api-usage={}/{}",
        state.api_calls(),
        state.api_usage.limit()
    ))
    .expect("digits and ASCII make a valid header value")
}

/// Why a REST call is refused before it reaches its handler.
#[derive(Debug, Clone, Copy)]
pub enum Unauthorized {
    SessionInvalid,
    NotForRestApi,
    /// The rolling daily allocation is used up (reference §4.4).
    LimitExceeded,
}

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Unauthorized::SessionInvalid => (
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            ),
            Unauthorized::NotForRestApi => (
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "This session is not valid for use with the REST API",
            ),
            Unauthorized::LimitExceeded => (
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ),
        };
        rest_error(status, code, message)
    }
}

/// The signed-in user of a REST request, put there by [`authenticated`].
#[derive(Clone)]
pub struct Caller(pub OrgUser);

/// The API version of a REST request (`58.0`), put there by [`authenticated`].
#[derive(Clone)]
pub struct ApiVersion(pub String);

/// Marks a composite subrequest: authenticated like any request, but not counted again.
#[derive(Clone, Copy)]
pub struct Subrequest;

/// Middleware of every versioned REST route: checks the version and the bearer token, counts the
/// call against the daily limit (once per composite request), and hands the user to the handler.
pub async fn authenticated(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let version = request
        .uri()
        .path()
        .strip_prefix("/services/data/")
        .and_then(|rest| rest.split('/').next())
        .and_then(api_version);
    let Some(version) = version else {
        return not_found_response();
    };
    let count = request.extensions().get::<Subrequest>().is_none();
    match authenticate_inner(&state, request.headers(), count) {
        Ok(user) => {
            request.extensions_mut().insert(Caller(user));
            request.extensions_mut().insert(ApiVersion(version));
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}

/// The user behind `Authorization: Bearer <token>` (or the legacy `OAuth <token>`), counting the
/// call against the daily limit when `count`; otherwise the 401 or 403 a real org gives.
fn authenticate_inner(
    state: &AppState,
    headers: &HeaderMap,
    count: bool,
) -> Result<OrgUser, Unauthorized> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim);
    let now = state.clock.now();
    let timeout =
        time::Duration::try_from(state.config.session_timeout).unwrap_or(time::Duration::MAX);
    let session = {
        let org = state.org();
        token
            .and_then(|t| org.tokens.session(t, now, timeout))
            .and_then(|session| {
                let user = org.store.user_by_id(&session.user_id).cloned()?;
                Some((user, session.scopes))
            })
    };
    let Some((user, scopes)) = session else {
        return Err(Unauthorized::SessionInvalid);
    };
    // A session without `api` (or `full`) is refused by the REST API (reference §1.11).
    if !scopes.iter().any(|s| s == "api" || s == "full") {
        return Err(Unauthorized::NotForRestApi);
    }
    if count && state.count_api_call().is_none() {
        return Err(Unauthorized::LimitExceeded);
    }
    Ok(user)
}

/// `v58.0` → `58.0` when this org serves that version.
pub fn api_version(segment: &str) -> Option<String> {
    let number: u32 = segment
        .strip_prefix('v')?
        .strip_suffix(".0")?
        .parse()
        .ok()?;
    VERSIONS.contains(&number).then(|| format!("{number}.0"))
}

pub fn not_found_response() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

/// Unknown paths: under `/services/data` the REST 404 array (with the limit header), else a bare 404.
pub async fn fallback(State(state): State<Arc<AppState>>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/services/data") {
        let mut response = not_found_response();
        response
            .headers_mut()
            .insert("Sforce-Limit-Info", limit_header(&state));
        response
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Release name of an API version: 58.0 is Summer '23, three releases a year (label text unconfirmed).
fn release_label(version: u32) -> String {
    let steps = version as i64 - 58;
    let season = ["Summer", "Winter", "Spring"][steps.rem_euclid(3) as usize];
    // Winter releases carry the next year's name.
    let year = 23 + (steps + 2).div_euclid(3);
    format!("{season} '{year:02}")
}

/// `GET /services/data/`: unauthenticated list of versions.
pub async fn versions() -> Response {
    let list: Vec<_> = VERSIONS
        .map(|v| {
            json!({
                "label": release_label(v),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect();
    response::json(StatusCode::OK, &list)
}

#[derive(Deserialize)]
pub struct QueryParams {
    q: Option<String>,
}

#[derive(Serialize)]
struct QueryPage<'a> {
    #[serde(rename = "totalSize")]
    total_size: usize,
    done: bool,
    #[serde(rename = "nextRecordsUrl", skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: &'a [RowView<'a>],
}

/// `Sforce-Query-Options: batchSize=N`, kept within 200–2000 (a request, not a promise).
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("Sforce-Query-Options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|option| option.trim().split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, MAX_BATCH))
}

/// One page of a cursor, rendered now, with `nextRecordsUrl` while rows remain.
fn page(
    store: &Store,
    version: &str,
    locator: &str,
    ids: &[Arc<str>],
    plan: &Plan,
    offset: usize,
    batch: usize,
) -> Response {
    let end = ids.len().min(offset + batch);
    let done = end >= ids.len();
    let rows = query::render_page(store, plan, &ids[offset.min(end)..end]);
    let body = QueryPage {
        total_size: ids.len(),
        done,
        next_records_url: (!done)
            .then(|| format!("/services/data/v{version}/query/{locator}-{end}")),
        records: &rows,
    };
    // About 400 bytes a row with one parent; a guess too small only costs a regrowth.
    response::json_sized(StatusCode::OK, &body, 512 * rows.len() + 256)
}

/// `GET /services/data/vXX.X/query?q=…`.
pub async fn query(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Response {
    run_query(&state, &user, &version, params, &headers, false)
}

/// `GET /services/data/vXX.X/queryAll?q=…`: deleted records too (reference §2.2).
pub async fn query_all(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Response {
    run_query(&state, &user, &version, params, &headers, true)
}

fn run_query(
    state: &AppState,
    user: &OrgUser,
    version: &str,
    params: QueryParams,
    headers: &HeaderMap,
    include_deleted: bool,
) -> Response {
    let Some(soql) = params.q.filter(|q| !q.trim().is_empty()) else {
        // Wording unconfirmed.
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    let now = state.clock.now();
    let options = query::Options {
        api_version: version,
        include_deleted,
        now,
    };
    let mut org = state.org();
    let output = match query::run(&org.store, user, &soql, &options) {
        Ok(output) => output,
        Err(error) => return rest_error(StatusCode::BAD_REQUEST, error.error_code, &error.message),
    };
    if output.ids.is_empty() {
        // COUNT() or no rows: only the total.
        let body = QueryPage {
            total_size: output.total_size,
            done: true,
            next_records_url: None,
            records: &[],
        };
        return response::json(StatusCode::OK, &body);
    }
    let batch = batch_size(headers);
    let ids = Arc::new(output.ids);
    let locator = if ids.len() > batch {
        org.locators.open(Cursor {
            user_id: user.id.clone(),
            ids: ids.clone(),
            plan: output.plan.clone(),
            batch_size: batch,
            last_used: now,
        })
    } else {
        String::new()
    };
    page(&org.store, version, &locator, &ids, &output.plan, 0, batch)
}

/// `GET /services/data/vXX.X/query/<locator>-<offset>`: the next page (queryAll's too).
pub async fn query_more(
    State(state): State<Arc<AppState>>,
    Extension(Caller(user)): Extension<Caller>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    Path((_, locator)): Path<(String, String)>,
) -> Response {
    let now = state.clock.now();
    let mut org = state.org();
    let cursor = locator.split_once('-').and_then(|(id, offset)| {
        let offset: usize = offset.parse().ok()?;
        let cursor = org.locators.get(id, now)?;
        (cursor.user_id == user.id && offset < cursor.ids.len()).then(|| {
            (
                id.to_owned(),
                offset,
                cursor.ids.clone(),
                cursor.plan.clone(),
                cursor.batch_size,
            )
        })
    });
    match cursor {
        Some((id, offset, ids, plan, batch)) => {
            page(&org.store, &version, &id, &ids, &plan, offset, batch)
        }
        // Wording unconfirmed; the error code is the documented one.
        None => {
            drop(org);
            rest_error(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels() {
        assert_eq!(release_label(58), "Summer '23");
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(release_label(60), "Spring '24");
        assert_eq!(release_label(57), "Spring '23");
        assert_eq!(release_label(56), "Winter '23");
        assert_eq!(release_label(55), "Summer '22");
    }

    #[test]
    fn versions_in_paths() {
        assert_eq!(api_version("v58.0").as_deref(), Some("58.0"));
        assert_eq!(api_version("v99.0"), None);
        assert_eq!(api_version("58.0"), None);
    }
}
