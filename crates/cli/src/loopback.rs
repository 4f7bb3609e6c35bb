//! `login`: sign-in with a loopback redirect (RFC 8252 §7.3). A one-shot HTTP listener on
//! 127.0.0.1 receives the browser's redirect, hands it to core, and shows the outcome in the tab.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use companion_core::api::User;
use companion_core::{Companion, CoreError};
use tokio::sync::{mpsc, Mutex};

use crate::{browser, CliError};

/// How long the rep has to finish in the browser.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

struct CallbackState {
    companion: Arc<Companion>,
    redirect_uri: String,
    /// Taken by the first callback carrying this login's `state`: one sign-in per run.
    done: Mutex<Option<mpsc::Sender<Result<User, CoreError>>>>,
}

pub(crate) async fn login(companion: Arc<Companion>) -> Result<User, CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| {
            CliError::Other(format!(
                "could not listen on 127.0.0.1 for the sign-in redirect: {e}"
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::Other(format!("could not read the listener's port: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let start = companion.begin_login(&redirect_uri).await?;

    println!(
        "Open this address in your browser to sign in:\n\n  {}\n",
        start.authorize_url
    );
    let browser_var = std::env::var("BROWSER").unwrap_or_default();
    if !browser_var.trim().is_empty() && !browser::open(&browser_var, &start.authorize_url) {
        eprintln!("warning: could not start $BROWSER; open the address above yourself");
    }
    println!("Waiting for the browser to come back (Ctrl-C to give up)…");

    let (tx, mut rx) = mpsc::channel(1);
    let state = Arc::new(CallbackState {
        companion,
        redirect_uri,
        done: Mutex::new(Some(tx)),
    });
    let app = Router::new()
        .route("/callback", get(callback))
        .with_state(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let outcome = tokio::select! {
        result = rx.recv() => match result {
            Some(result) => result.map_err(CliError::from),
            None => Err(CliError::Other("the sign-in listener stopped".into())),
        },
        _ = tokio::time::sleep(SIGN_IN_TIMEOUT) => {
            Err(CliError::Other("Sign-in timed out: the browser did not come back within 5 minutes.".into()))
        }
        _ = tokio::signal::ctrl_c() => Err(CliError::Other("Sign-in cancelled.".into())),
    };

    // Let the page reach the browser, but never wait long for a lingering connection.
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    outcome
}

async fn callback(State(state): State<Arc<CallbackState>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let is_redirect =
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "code" || k == "error");
    if !is_redirect {
        return page(
            StatusCode::BAD_REQUEST,
            "Nothing to do here",
            "This address only receives the sign-in.",
        );
    }
    // Any page the rep visits can make the browser GET this address: only the redirect that
    // carries this login's `state` may finish (and so use up) the sign-in.
    let callback_url = format!("{}?{query}", state.redirect_uri);
    if !state.companion.callback_matches_pending(&callback_url) {
        tracing::warn!("ignored a loopback request that is not this sign-in's redirect");
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "This sign-in link is not for this login.",
        );
    }
    let Some(done) = state.done.lock().await.take() else {
        return page(
            StatusCode::CONFLICT,
            "Already handled",
            "This sign-in has already finished. You can close this tab.",
        );
    };
    let result = state.companion.complete_login(&callback_url).await;
    let response = match &result {
        Ok(user) => page(
            StatusCode::OK,
            "Signed in — you can close this tab",
            &format!(
                "Companion is signed in as {} ({}).",
                user.display_name, user.username
            ),
        ),
        Err(err) => page(StatusCode::BAD_REQUEST, "Sign-in failed", &err.to_string()),
    };
    let _ = done.send(result).await;
    response
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Companion</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}</style>\
         </head><body><h1>{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(message)
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
