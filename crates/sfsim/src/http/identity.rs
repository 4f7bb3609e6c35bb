//! The identity URL `/id/<org>/<user>` and OpenID `userinfo` (reference §1.10).

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{json, Map, Value};

use super::response;
use crate::{ids, state::AppState};

/// The signed-in user's User record and the org id, for a live bearer token.
fn bearer_user(state: &AppState, headers: &HeaderMap) -> Option<(Map<String, Value>, String)> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let timeout =
        time::Duration::try_from(state.config.session_timeout).unwrap_or(time::Duration::MAX);
    let org = state.org();
    let session = org.tokens.session(token, state.clock.now(), timeout)?;
    let user = org
        .store
        .get(&crate::schema::USER, &session.user_id)?
        .clone();
    Some((user, org.store.org_id.clone()))
}

/// The identity service answers bad tokens and foreign ids with a bare 403 text
/// (`Bad_OAuth_Token`, `Bad_Id`): from client reports, unconfirmed in the reference.
fn forbidden(text: &'static str) -> Response {
    (StatusCode::FORBIDDEN, text).into_response()
}

fn text(user: &Map<String, Value>, field: &str) -> Value {
    user.get(field).cloned().unwrap_or(Value::Null)
}

/// `urls` with the literal `{version}` placeholder, as real identity responses have them.
fn urls(base: &str, org_id: &str, user_id: &str) -> Value {
    let org15 = &org_id[..15];
    let rest = format!("{base}/services/data/v{{version}}");
    json!({
        "enterprise": format!("{base}/services/Soap/c/{{version}}/{org15}"),
        "metadata": format!("{base}/services/Soap/m/{{version}}/{org15}"),
        "partner": format!("{base}/services/Soap/u/{{version}}/{org15}"),
        "rest": format!("{rest}/"),
        "sobjects": format!("{rest}/sobjects/"),
        "search": format!("{rest}/search/"),
        "query": format!("{rest}/query/"),
        "recent": format!("{rest}/recent/"),
        "tooling_soap": format!("{base}/services/Soap/T/{{version}}/{org15}"),
        "tooling_rest": format!("{rest}/tooling/"),
        "profile": format!("{base}/{user_id}"),
        "feeds": format!("{rest}/chatter/feeds"),
        "groups": format!("{rest}/chatter/groups"),
        "users": format!("{rest}/chatter/users"),
        "feed_items": format!("{rest}/chatter/feed-items"),
        "feed_elements": format!("{rest}/chatter/feed-elements"),
        "custom_domain": base,
    })
}

fn photos(base: &str) -> Value {
    json!({
        "picture": format!("{base}/profilephoto/005/F"),
        "thumbnail": format!("{base}/profilephoto/005/T"),
    })
}

/// `GET /id/<orgId>/<userId>` with a bearer token of that user.
pub async fn identity(
    State(state): State<Arc<AppState>>,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((user, org)) = bearer_user(&state, &headers) else {
        return forbidden("Bad_OAuth_Token");
    };
    let own_id = user["Id"].as_str().unwrap_or_default().to_owned();
    let same = |a: &str, b: &str| ids::to_15(a).is_some() && ids::to_15(a) == ids::to_15(b);
    if !same(&org_id, &org) || !same(&user_id, &own_id) {
        return forbidden("Bad_Id");
    }
    let base = &state.base_url;
    let body = json!({
        "id": format!("{base}/id/{org}/{own_id}"),
        "asserted_user": true,
        "user_id": own_id,
        "organization_id": org,
        "username": text(&user, "Username"),
        "nick_name": text(&user, "Alias"),
        "display_name": text(&user, "Name"),
        "email": text(&user, "Email"),
        "email_verified": true,
        "first_name": text(&user, "FirstName"),
        "last_name": text(&user, "LastName"),
        "timezone": text(&user, "TimeZoneSidKey"),
        "photos": photos(base),
        "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": "US", "addr_zip": null,
        "mobile_phone": null,
        "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": urls(base, &org, &own_id),
        "active": text(&user, "IsActive"),
        "user_type": "STANDARD",
        "language": text(&user, "LanguageLocaleKey"),
        "locale": text(&user, "LocaleSidKey"),
        "utcOffset": -28_800_000,
        "last_modified_date": text(&user, "LastModifiedDate"),
    });
    response::json(StatusCode::OK, &body)
}

/// `GET|POST /services/oauth2/userinfo`.
pub async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some((user, org)) = bearer_user(&state, &headers) else {
        return forbidden("Bad_OAuth_Token");
    };
    let own_id = user["Id"].as_str().unwrap_or_default().to_owned();
    let base = &state.base_url;
    let body = json!({
        "sub": format!("{base}/id/{org}/{own_id}"),
        "user_id": own_id,
        "organization_id": org,
        "preferred_username": text(&user, "Username"),
        "nickname": text(&user, "Alias"),
        "name": text(&user, "Name"),
        "email": text(&user, "Email"),
        "email_verified": true,
        "given_name": text(&user, "FirstName"),
        "family_name": text(&user, "LastName"),
        "zoneinfo": text(&user, "TimeZoneSidKey"),
        "photos": photos(base),
        "profile": format!("{base}/{own_id}"),
        "picture": format!("{base}/profilephoto/005/F"),
        "phone_number": null,
        "address": {"country": "US"},
        "is_salesforce_integration_user": false,
        "urls": urls(base, &org, &own_id),
        "active": text(&user, "IsActive"),
        "user_type": "STANDARD",
        "language": text(&user, "LanguageLocaleKey"),
        "locale": text(&user, "LocaleSidKey"),
        "utcOffset": -28_800_000,
        "updated_at": text(&user, "LastModifiedDate"),
    });
    response::json(StatusCode::OK, &body)
}
