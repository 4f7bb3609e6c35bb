//! The background sync while the app is open: core's `keep_in_sync` (sync now, on every change
//! hint, back off while offline), its events forwarded to the UI. Started at launch when signed
//! in and after each sign-in; stopped at sign-out.

use companion_core::{BackgroundEvent, CoreEvent};
use tauri::{Emitter, Manager, Runtime};

use crate::{commands, AppState};

pub fn start<R: Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(core) = state.core_now() else {
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

/// Core's events become `outbox-changed` and `records-changed`, so a screen refreshes itself
/// after a Save, a push or a pull (and the status line's counts follow).
pub fn forward_core_events<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Ok(core) = app.state::<AppState>().core_now() else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn(core.forward_events(move |event| match event {
        CoreEvent::OutboxChanged => {
            let _ = app.emit("outbox-changed", ());
            commands::emit_status(&app);
        }
        CoreEvent::RecordsChanged => {
            let _ = app.emit("records-changed", ());
        }
    }));
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
