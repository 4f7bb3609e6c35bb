//! `/services/oauth2/authorize`, `/token` and `/revoke` (reference §1.3–1.9).

use std::{collections::HashMap, sync::Arc};

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Serialize;
use url::{form_urlencoded, Url};

use super::{login_page, response};
use crate::{
    id_token,
    oauth::{self, CodeGrant, OAuthError, Pkce, PkceMethod},
    state::AppState,
};

/// Form or query parameters in the order they came (the login form echoes all of them).
type Params = Vec<(String, String)>;

fn parse_params(raw: &[u8]) -> Params {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// A checked authorize request.
struct AuthorizeRequest {
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    pkce: Option<Pkce>,
    nonce: Option<String>,
}

/// Why an authorize request cannot go on.
enum AuthorizeRefusal {
    /// The redirect URI cannot be trusted: show a page, never redirect.
    Page(OAuthError),
    /// Tell the client through its (registered) redirect URI.
    Redirect(String),
}

impl IntoResponse for AuthorizeRefusal {
    fn into_response(self) -> Response {
        match self {
            AuthorizeRefusal::Page(error) => response::html(
                StatusCode::BAD_REQUEST,
                login_page::error_page(error.error, error.description),
            ),
            AuthorizeRefusal::Redirect(location) => found(&location),
        }
    }
}

/// `302 Found`, as Salesforce redirects to the callback (axum's `Redirect` only does 303/307/308).
fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Appends query parameters to a redirect URI (which may be a custom scheme such as `companion://`).
fn callback_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

/// `<redirect_uri>?error=…&error_description=…[&state=…]`.
fn error_callback(redirect_uri: &str, client_state: Option<&str>, error: OAuthError) -> String {
    let mut pairs = vec![
        ("error", error.error),
        ("error_description", error.description),
    ];
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    callback_url(redirect_uri, &pairs)
}

fn check_authorize(
    state: &AppState,
    params: &Params,
) -> Result<AuthorizeRequest, AuthorizeRefusal> {
    if param(params, "client_id") != Some(state.app.client_id) {
        return Err(AuthorizeRefusal::Page(oauth::INVALID_CLIENT_ID));
    }
    let redirect_uri = param(params, "redirect_uri").unwrap_or_default();
    if !state.app.accepts_redirect(redirect_uri) {
        return Err(AuthorizeRefusal::Page(oauth::REDIRECT_MISMATCH));
    }
    let client_state = param(params, "state").map(str::to_owned);
    let refuse = |error: OAuthError| {
        AuthorizeRefusal::Redirect(error_callback(redirect_uri, client_state.as_deref(), error))
    };
    if param(params, "response_type") != Some("code") {
        return Err(refuse(oauth::UNSUPPORTED_RESPONSE_TYPE));
    }
    let requested: Vec<String> = param(params, "scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested
        .iter()
        .any(|s| !state.app.scopes.contains(&s.as_str()))
    {
        return Err(refuse(oauth::INVALID_SCOPE));
    }
    // No scope asked for: the app's scopes are granted.
    let scopes = if requested.is_empty() {
        state.app.scopes.iter().map(|s| (*s).to_owned()).collect()
    } else {
        requested
    };
    let pkce = match param(params, "code_challenge") {
        Some(challenge) => {
            let method = PkceMethod::parse(param(params, "code_challenge_method"))
                .ok_or_else(|| refuse(oauth::INVALID_CHALLENGE_METHOD))?;
            Some(Pkce {
                challenge: challenge.to_owned(),
                method,
            })
        }
        None => None,
    };
    if scopes.iter().any(|s| s == "openid") {
        // The id_token key takes seconds to make in a debug build: start on it now.
        id_token::warm_up();
    }
    Ok(AuthorizeRequest {
        redirect_uri: redirect_uri.to_owned(),
        state: client_state,
        scopes,
        pkce,
        nonce: param(params, "nonce").map(str::to_owned),
    })
}

/// `GET /services/oauth2/authorize`: the login form (or an error).
pub async fn authorize_form(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_params(query.unwrap_or_default().as_bytes());
    if let Err(refusal) = check_authorize(&state, &params) {
        return refusal.into_response();
    }
    let username = param(&params, "login_hint").unwrap_or_default();
    response::html(
        StatusCode::OK,
        login_page::login_form(&params, username, None),
    )
}

/// `POST /services/oauth2/authorize`: checks the credentials and redirects with a code.
pub async fn authorize_login(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let params = parse_params(&body);
    let request = match check_authorize(&state, &params) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if param(&params, "deny").is_some() {
        tracing::info!("authorize: the user denied access");
        return found(&error_callback(
            &request.redirect_uri,
            request.state.as_deref(),
            oauth::ACCESS_DENIED,
        ));
    }
    let username = param(&params, "username").unwrap_or_default();
    let password = param(&params, "password").unwrap_or_default();
    let now = state.clock.now();
    let code = {
        let mut org = state.org();
        let user = org
            .store
            .user_by_username(username)
            .filter(|u| u.password == password)
            .map(|u| u.id.clone());
        if user.as_deref().is_some_and(|id| !user_is_active(&org, id)) {
            drop(org);
            return found(&error_callback(
                &request.redirect_uri,
                request.state.as_deref(),
                oauth::INACTIVE_USER,
            ));
        }
        let Some(user_id) = user else {
            drop(org);
            tracing::info!("authorize: wrong username or password");
            return response::html(
                StatusCode::OK,
                login_page::login_form(&params, username, Some(login_page::BAD_CREDENTIALS)),
            );
        };
        org.tokens.issue_code(
            CodeGrant {
                client_id: state.app.client_id.into(),
                redirect_uri: request.redirect_uri.clone(),
                pkce: request.pkce,
                user_id,
                scopes: request.scopes,
                nonce: request.nonce,
            },
            now,
        )
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    tracing::info!("authorize: code issued");
    found(&callback_url(&request.redirect_uri, &pairs))
}

/// A successful token response, fields in the order real orgs send them (reference §1.4).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    signature: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    instance_url: String,
    id: String,
    token_type: &'static str,
    issued_at: String,
}

#[derive(Serialize)]
struct TokenErrorBody {
    error: &'static str,
    error_description: &'static str,
}

fn token_error(error: OAuthError) -> Response {
    response::json(
        StatusCode::BAD_REQUEST,
        &TokenErrorBody {
            error: error.error,
            error_description: error.description,
        },
    )
}

/// Client id and secret from the body or from HTTP Basic.
fn client_credentials(headers: &HeaderMap, params: &Params) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    let id = param(params, "client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()));
    let secret = param(params, "client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, secret)| secret).filter(|s| !s.is_empty()));
    (id, secret)
}

/// `POST /services/oauth2/token`: every grant.
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parse_params(&body);
    let grant_type = param(&params, "grant_type").unwrap_or_default().to_owned();
    state.control.count_token_request(&grant_type);
    let issued = issue_tokens(&state, &headers, &params, &grant_type);
    let issued = match issued {
        Ok(issued) => add_id_token(&state, issued).await,
        Err(error) => Err(error),
    };
    match issued {
        Ok(body) => {
            tracing::info!(%grant_type, "token issued");
            response::json(StatusCode::OK, &body)
        }
        Err(error) => {
            tracing::info!(%grant_type, error = error.error, "token request refused");
            token_error(error)
        }
    }
}

/// A token response before the id_token (which needs an await for the key) is added.
struct Issued {
    body: TokenResponse,
    nonce: Option<String>,
}

/// Adds `id_token` when `openid` was granted (reference §1.4).
async fn add_id_token(state: &AppState, issued: Issued) -> Result<TokenResponse, OAuthError> {
    let Issued { mut body, nonce } = issued;
    if !body.scope.split(' ').any(|s| s == "openid") {
        return Ok(body);
    }
    let key = id_token::key().await.ok_or(oauth::UNKNOWN_ERROR)?;
    let issued_at_secs = body.issued_at.parse::<i64>().unwrap_or_default() / 1000;
    body.id_token = Some(key.sign(&id_token::Claims {
        issuer: &state.base_url,
        subject: &body.id,
        client_id: state.app.client_id,
        access_token: &body.access_token,
        issued_at_secs,
        nonce: nonce.as_deref(),
    }));
    Ok(body)
}

/// The request came to the My Domain host. sfsim is its own login host and My Domain host: a
/// request addressed to the base URL's `host:port` counts as My Domain; any other name for the
/// same socket (such as `localhost:PORT`) plays the generic login host (`login.salesforce.com`).
fn on_my_domain(state: &AppState, headers: &HeaderMap) -> bool {
    let my_domain = state
        .base_url
        .split_once("://")
        .map_or(state.base_url.as_str(), |(_, host)| host);
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(my_domain))
}

fn user_is_active(org: &crate::state::Org, user_id: &str) -> bool {
    org.store
        .get(&crate::schema::USER, user_id)
        .and_then(|user| user.get("IsActive"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
}

fn issue_tokens(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    grant_type: &str,
) -> Result<Issued, OAuthError> {
    let (client_id, secret) = client_credentials(headers, params);
    if client_id.as_deref() != Some(state.app.client_id) {
        return Err(oauth::INVALID_CLIENT_ID);
    }
    let client_id = state.app.client_id;
    let now = state.clock.now();
    let mut org = state.org();
    if !org.active {
        return Err(oauth::INACTIVE_ORG);
    }
    let granted = match grant_type {
        "authorization_code" => {
            // Public clients using PKCE send no secret (reference §1.3); with a verifier it may be omitted.
            let has_verifier = param(params, "code_verifier").is_some();
            state.app.check_secret(secret.as_deref(), has_verifier)?;
            let grant = org.tokens.redeem_code(
                param(params, "code").unwrap_or_default(),
                client_id,
                param(params, "redirect_uri"),
                param(params, "code_verifier"),
                now,
            )?;
            let wants_refresh = grant
                .scopes
                .iter()
                .any(|s| s == "refresh_token" || s == "offline_access");
            let (family, refresh_token) = if wants_refresh {
                let (family, token) =
                    org.tokens
                        .new_family(&grant.user_id, client_id, &grant.scopes);
                (Some(family), Some(token))
            } else {
                (None, None)
            };
            oauth::Granted {
                user_id: grant.user_id,
                scopes: grant.scopes,
                family,
                refresh_token,
                nonce: grant.nonce,
            }
        }
        "refresh_token" => {
            // The secret is optional on refresh (reference §1.5); an unexpected code_verifier is ignored.
            state.app.check_secret(secret.as_deref(), true)?;
            org.tokens.refresh(
                param(params, "refresh_token").unwrap_or_default(),
                client_id,
                state.app.refresh_token_rotation,
            )?
        }
        "password" => {
            state.app.check_secret(secret.as_deref(), false)?;
            // Loopback is a trusted IP range here, so no security token is appended to the password.
            let user = org
                .store
                .user_by_username(param(params, "username").unwrap_or_default())
                .filter(|u| Some(u.password.as_str()) == param(params, "password"))
                .ok_or(oauth::AUTHENTICATION_FAILURE)?;
            let user_id = user.id.clone();
            if !user_is_active(&org, &user_id) {
                return Err(oauth::INACTIVE_USER);
            }
            oauth::Granted {
                user_id,
                scopes: vec!["api".into(), "web".into(), "full".into()],
                family: None,
                refresh_token: None,
                nonce: None,
            }
        }
        "client_credentials" => {
            state.app.check_secret(secret.as_deref(), false)?;
            if !on_my_domain(state, headers) {
                return Err(oauth::NOT_ON_THIS_DOMAIN);
            }
            // The connected app's "Run As" user (`--client-credentials-user`).
            let user_id = state
                .config
                .client_credentials_user
                .as_deref()
                .and_then(|username| org.store.user_by_username(username))
                .map(|user| user.id.clone())
                .ok_or(oauth::NO_CLIENT_CREDENTIALS_USER)?;
            if !user_is_active(&org, &user_id) {
                return Err(oauth::INACTIVE_USER);
            }
            // No refresh token for this grant (reference §1.7).
            oauth::Granted {
                user_id,
                scopes: vec!["api".into()],
                family: None,
                refresh_token: None,
                nonce: None,
            }
        }
        _ => return Err(oauth::UNSUPPORTED_GRANT),
    };
    org.token_grants.admit(
        &granted.user_id,
        now,
        state.config.token_requests_per_user_hour,
    )?;
    let org_id15 = state.org_id15(&org);
    let access_token = org.tokens.issue_access(
        &org_id15,
        &granted.user_id,
        &granted.scopes,
        granted.family,
        now,
    );
    let id = format!(
        "{}/id/{}/{}",
        state.base_url, org.store.org_id, granted.user_id
    );
    let issued_at = state.clock.now_epoch_ms().to_string();
    Ok(Issued {
        body: TokenResponse {
            access_token,
            refresh_token: granted.refresh_token,
            signature: state.app.signature(&id, &issued_at),
            scope: granted.scopes.join(" "),
            id_token: None,
            instance_url: state.base_url.clone(),
            id,
            token_type: "Bearer",
            issued_at,
        },
        nonce: granted.nonce,
    })
}

/// `GET /id/keys`: the JSON Web Key Set that verifies id_tokens.
pub async fn jwks() -> Response {
    match id_token::key().await {
        Some(key) => response::json(StatusCode::OK, &key.jwks()),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// `POST /services/oauth2/revoke` (form `token=`) or `GET ?token=`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: HashMap<String, String> = parse_params(&body).into_iter().collect();
    params.extend(parse_params(query.unwrap_or_default().as_bytes()));
    let revoked = params
        .get("token")
        .is_some_and(|token| state.org().tokens.revoke(token));
    if revoked {
        StatusCode::OK.into_response()
    } else {
        // jsforce parses revoke errors as url-encoded (reference §1.9); the exact body is unconfirmed.
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            "error=invalid_token&error_description=invalid%20token",
        )
            .into_response()
    }
}
