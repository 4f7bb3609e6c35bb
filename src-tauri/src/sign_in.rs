//! The end of a sign-in: the browser comes back to `companion://oauth/callback?code=…&state=…`.

use tauri::{Emitter, Manager, Runtime};
use url::Url;

use crate::{commands, AppError, AppState};

pub fn handle_callback<R: Runtime>(app: &tauri::AppHandle<R>, url: Url) {
    if !is_sign_in_callback(&url) {
        tracing::warn!(
            scheme = url.scheme(),
            "ignored a link that is not the sign-in callback"
        );
        return;
    }
    let state = app.state::<AppState>();
    if !state.first_sight_of(url.as_str()) {
        return;
    }
    show_main_window(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let outcome = match app.state::<AppState>().core().await {
            Ok(core) => core
                .complete_login(url.as_str())
                .await
                .map_err(AppError::from),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(user) => {
                tracing::info!("signed in");
                let _ = app.emit("sign-in-complete", &user);
                commands::emit_status(&app);
                crate::background::start(&app);
            }
            Err(error) => {
                tracing::warn!(kind = error.kind(), "sign-in failed");
                let _ = app.emit("sign-in-failed", &error);
            }
        }
    });
}

/// Anyone can start the binary with a URL: only our callback is acted on (and core checks its
/// `state`).
fn is_sign_in_callback(url: &Url) -> bool {
    url.scheme() == "companion" && url.host_str() == Some("oauth") && url.path() == "/callback"
}

pub fn show_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::is_sign_in_callback;

    fn callback(url: &str) -> bool {
        is_sign_in_callback(&url.parse().unwrap())
    }

    #[test]
    fn only_the_sign_in_callback_is_acted_on() {
        assert!(callback("companion://oauth/callback?code=abc&state=xyz"));
        assert!(!callback("companion://oauth/other?code=abc"));
        assert!(!callback("companion://evil/callback?code=abc"));
        assert!(!callback("https://oauth/callback?code=abc"));
        assert!(!callback("file:///etc/passwd"));
    }
}
