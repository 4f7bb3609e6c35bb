//! The UI's commands: each adapts one core call. JSON field names are snake_case.

use companion_api::User;
use companion_core::{
    AccountSummary, ContactSummary, OpportunityQuery, OpportunitySummary, RecordDetail, SearchHit,
    SyncReport,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::{AppError, AppState, REDIRECT_URI};

#[derive(Debug, Clone, Serialize)]
pub struct AppStatus {
    pub signed_in: bool,
    pub user: Option<User>,
    /// `None` until the gateway has been tried.
    pub online: Option<bool>,
    pub last_synced_at: Option<String>,
    pub syncing: bool,
}

fn status_of(state: &AppState) -> Result<AppStatus, AppError> {
    let core = state.core()?;
    let status = core.status();
    Ok(AppStatus {
        signed_in: status.signed_in,
        user: core.current_user(),
        online: status.online,
        last_synced_at: status.last_synced_at,
        syncing: status.syncing,
    })
}

pub fn emit_status<R: Runtime>(app: &AppHandle<R>) {
    if let Ok(status) = status_of(&app.state::<AppState>()) {
        let _ = app.emit("status-changed", status);
    }
}

#[tauri::command]
pub fn get_status(state: State<'_, AppState>) -> Result<AppStatus, AppError> {
    status_of(&state)
}

/// Starts a sign-in in the system browser; the answer arrives as a deep link.
#[tauri::command]
pub async fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), AppError> {
    let start = state.core()?.begin_login(REDIRECT_URI).await?;
    app.opener()
        .open_url(start.authorize_url, None::<&str>)
        .map_err(|e| AppError::Browser(e.to_string()))
}

#[tauri::command]
pub fn list_contacts(
    state: State<'_, AppState>,
    search: Option<String>,
) -> Result<Vec<ContactSummary>, AppError> {
    Ok(state.core()?.contacts(search.as_deref())?)
}

#[tauri::command]
pub fn list_accounts(
    state: State<'_, AppState>,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<AccountSummary>, AppError> {
    Ok(state.core()?.accounts(limit, offset.unwrap_or(0))?)
}

/// Opportunities by stage, closing soon, amount (the filters combine).
#[tauri::command]
pub fn list_opportunities(
    state: State<'_, AppState>,
    query: Option<OpportunityQuery>,
) -> Result<Vec<OpportunitySummary>, AppError> {
    Ok(state.core()?.opportunities(&query.unwrap_or_default())?)
}

/// A contact, account or opportunity with what goes with it, by Salesforce id.
#[tauri::command]
pub fn get_record(state: State<'_, AppState>, id: String) -> Result<RecordDetail, AppError> {
    Ok(state.core()?.show(&id)?)
}

/// The one search box: contacts, accounts and opportunities, best first, at most 50.
#[tauri::command]
pub fn search(state: State<'_, AppState>, text: String) -> Result<Vec<SearchHit>, AppError> {
    Ok(state.core()?.search(&text)?)
}

/// Pull-to-refresh: brings the replica up to date, reporting progress as `sync-progress` events.
#[tauri::command]
pub async fn sync_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<SyncReport, AppError> {
    let core = state.core()?;
    let progress_app = app.clone();
    let outcome = core
        .sync(move |progress| {
            let _ = progress_app.emit("sync-progress", progress);
        })
        .await;
    emit_status(&app);
    Ok(outcome?)
}

#[tauri::command]
pub async fn sign_out<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), AppError> {
    crate::background::stop(&app);
    state.core()?.sign_out().await?;
    emit_status(&app);
    Ok(())
}
