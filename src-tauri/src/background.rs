//! The background sync while the app is open: core's `keep_in_sync` (sync now, on every change
//! hint, back off while offline), its events forwarded to the UI. Started at launch when signed
//! in and after each sign-in; stopped at sign-out.

use companion_core::BackgroundEvent;
use tauri::{Emitter, Manager, Runtime};

use crate::{commands, AppState};

pub fn start<R: Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(core) = state.core() else {
        return;
    };
    if core.current_user().is_none() {
        return;
    }
    let events = app.clone();
    let task = tauri::async_runtime::spawn(companion_core::keep_in_sync(core, move |event| {
        forward(&events, event)
    }));
    state.replace_background(Some(task));
}

pub fn stop<R: Runtime>(app: &tauri::AppHandle<R>) {
    app.state::<AppState>().replace_background(None);
}

fn forward<R: Runtime>(app: &tauri::AppHandle<R>, event: BackgroundEvent) {
    match event {
        BackgroundEvent::Progress(progress) => {
            let _ = app.emit("sync-progress", progress);
        }
        other => {
            let _ = app.emit("background-sync", &other);
            commands::emit_status(app);
        }
    }
}
