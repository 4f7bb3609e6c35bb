//! The UI's commands: each adapts one core call. JSON field names are snake_case.

use std::collections::BTreeMap;

use companion_api::User;
use companion_core::{
    AccountSummary, ContactChanges, ContactDetail, ContactSummary, DiscardReport, LeadDetail,
    LeadQuery, LeadSummary, NewCall, NewFollowUp, NewLead, OpportunityChanges, OpportunityDetail,
    OpportunityQuery, OpportunitySummary, OutboxCounts, PendingWrite, PushReport, RecordDetail,
    Resolution, SearchHit, SyncReport, TaskSummary,
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
    /// Changes made on this device that Salesforce does not have yet, by state.
    pub outbox: OutboxCounts,
    /// The session ended: the rep must sign in again (every pending change is kept).
    pub reauth_required: bool,
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
        outbox: status.outbox,
        reauth_required: status.reauth_required,
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

/// Signs out. With changes Salesforce does not have yet it refuses (`pending_changes`, naming
/// how many) unless `discard_pending` is true.
#[tauri::command]
pub async fn sign_out<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    discard_pending: Option<bool>,
) -> Result<(), AppError> {
    let core = state.core()?;
    // Checked before the background sync stops, so a refusal leaves everything running.
    let pending = core.status().pending;
    if pending > 0 && discard_pending != Some(true) {
        return Err(companion_core::CoreError::PendingChanges { count: pending }.into());
    }
    crate::background::stop(&app);
    core.sign_out(discard_pending.unwrap_or(false)).await?;
    emit_status(&app);
    Ok(())
}

/// The rep's open leads, those made on this device included; paged, or the matches of a search.
#[tauri::command]
pub fn list_leads(
    state: State<'_, AppState>,
    query: Option<LeadQuery>,
) -> Result<Vec<LeadSummary>, AppError> {
    Ok(state.core()?.leads(&query.unwrap_or_default())?)
}

#[tauri::command]
pub fn create_lead(state: State<'_, AppState>, lead: NewLead) -> Result<LeadDetail, AppError> {
    Ok(state.core()?.create_lead(lead)?)
}

#[tauri::command]
pub fn log_call(state: State<'_, AppState>, call: NewCall) -> Result<TaskSummary, AppError> {
    Ok(state.core()?.log_call(call)?)
}

#[tauri::command]
pub fn create_task(state: State<'_, AppState>, task: NewFollowUp) -> Result<TaskSummary, AppError> {
    Ok(state.core()?.create_task(task)?)
}

#[tauri::command]
pub fn update_opportunity(
    state: State<'_, AppState>,
    id: String,
    changes: OpportunityChanges,
) -> Result<OpportunityDetail, AppError> {
    Ok(state.core()?.update_opportunity(&id, changes)?)
}

#[tauri::command]
pub fn update_contact(
    state: State<'_, AppState>,
    id: String,
    changes: ContactChanges,
) -> Result<ContactDetail, AppError> {
    Ok(state.core()?.update_contact(&id, changes)?)
}

/// Every change not yet in Salesforce, with its state, error and conflicting fields.
#[tauri::command]
pub fn list_pending(state: State<'_, AppState>) -> Result<Vec<PendingWrite>, AppError> {
    Ok(state.core()?.pending()?)
}

/// Keep mine / use theirs for some fields of a conflict (all of them when `fields` is empty).
/// Returns the write's key from now on (`null` once nothing of it is left to send).
#[tauri::command]
pub fn resolve_conflict(
    state: State<'_, AppState>,
    key: String,
    resolution: Resolution,
    fields: Option<Vec<String>>,
) -> Result<Option<String>, AppError> {
    Ok(state
        .core()?
        .resolve_conflict(&key, resolution, &fields.unwrap_or_default())?)
}

/// Edits a failed change (Salesforce field → new value) and queues it again; returns its new key.
#[tauri::command]
pub fn retry_write(
    state: State<'_, AppState>,
    key: String,
    changes: BTreeMap<String, serde_json::Value>,
) -> Result<String, AppError> {
    Ok(state
        .core()?
        .retry_write(&key, changes.into_iter().collect())?)
}

#[tauri::command]
pub fn discard_write(state: State<'_, AppState>, key: String) -> Result<DiscardReport, AppError> {
    Ok(state.core()?.discard_write(&key)?)
}

/// "Send now": every change that may go, backoff or not.
#[tauri::command]
pub async fn push_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<PushReport, AppError> {
    let outcome = state.core()?.push_now().await;
    emit_status(&app);
    Ok(outcome?)
}
