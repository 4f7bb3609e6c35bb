//! The UI's commands: each adapts one core call. JSON field names are snake_case.

use std::collections::BTreeMap;

use companion_api::{LoginHost, PicklistEntry, User};
use companion_core::{
    AccountSummary, Companion, ContactChanges, ContactDetail, ContactPage, ContactQuery,
    ContactSummary, CoreError, DiscardReport, LeadDetail, LeadQuery, LeadSummary, NewCall,
    NewFollowUp, NewLead, OpportunityChanges, OpportunityDetail, OpportunityQuery,
    OpportunitySummary, OutboxCounts, PendingWrite, PushReport, RecordDetail, Resolution,
    SearchHit, ServerCheck, ServerSetting, SyncReport, TaskSummary,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::{AppError, AppState, REDIRECT_URI};

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
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
    /// Records on this device per object (`Contact`, `Account`, …).
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    /// The space the rep's replica takes on this device, when it is open.
    #[ts(type = "number | null")]
    pub storage_bytes: Option<u64>,
    /// The Companion server: none yet on a first start (the rep is asked for it).
    pub server: ServerSetting,
}

fn status_of(core: &Companion) -> AppStatus {
    let status = core.status();
    AppStatus {
        signed_in: status.signed_in,
        user: core.current_user(),
        online: status.online,
        last_synced_at: status.last_synced_at,
        syncing: status.syncing,
        outbox: status.outbox,
        reauth_required: status.reauth_required,
        counts: status.counts,
        storage_bytes: core.storage_bytes(),
        server: core.server(),
    }
}

/// Tells the screens the status changed (counts, sign-in, sync), read off the event's thread.
pub fn emit_status<R: Runtime>(app: &AppHandle<R>) {
    let Ok(core) = app.state::<AppState>().core_now() else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let _ = app.emit("status-changed", status_of(&core));
    });
}

/// Runs a core call on a blocking thread: reads and Saves use SQLite, which must not hold up
/// the main thread or the async runtime.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&Companion) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, AppError> {
    let core = state.core().await?;
    tauri::async_runtime::spawn_blocking(move || call(&core))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn get_status(state: State<'_, AppState>) -> Result<AppStatus, AppError> {
    blocking(&state, |core| Ok(status_of(core))).await
}

/// Starts a sign-in in the system browser at `login_host` (one of [`list_login_hosts`]'s
/// `url`s; none: the server's default); the answer arrives as a deep link.
#[tauri::command]
pub async fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    login_host: Option<String>,
) -> Result<(), AppError> {
    let start = state
        .core()
        .await?
        .begin_login_at(REDIRECT_URI, login_host.as_deref())
        .await?;
    app.opener()
        .open_url(start.authorize_url, None::<&str>)
        .map_err(|e| AppError::Browser(e.to_string()))
}

#[tauri::command]
pub async fn list_contacts(
    state: State<'_, AppState>,
    search: Option<String>,
) -> Result<Vec<ContactSummary>, AppError> {
    blocking(&state, move |core| core.contacts(search.as_deref())).await
}

#[tauri::command]
pub async fn list_accounts(
    state: State<'_, AppState>,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<AccountSummary>, AppError> {
    blocking(&state, move |core| {
        core.accounts(limit, offset.unwrap_or(0))
    })
    .await
}

/// Opportunities by stage, closing soon, amount (the filters combine).
#[tauri::command]
pub async fn list_opportunities(
    state: State<'_, AppState>,
    query: Option<OpportunityQuery>,
) -> Result<Vec<OpportunitySummary>, AppError> {
    blocking(&state, move |core| {
        core.opportunities(&query.unwrap_or_default())
    })
    .await
}

/// A contact, account or opportunity with what goes with it, by Salesforce id.
#[tauri::command]
pub async fn get_record(state: State<'_, AppState>, id: String) -> Result<RecordDetail, AppError> {
    blocking(&state, move |core| core.show(&id)).await
}

/// The one search box: contacts, accounts and opportunities, best first, at most 50.
#[tauri::command]
pub async fn search(state: State<'_, AppState>, text: String) -> Result<Vec<SearchHit>, AppError> {
    blocking(&state, move |core| core.search(&text)).await
}

/// Pull-to-refresh: brings the replica up to date, reporting progress as `sync-progress` events.
#[tauri::command]
pub async fn sync_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<SyncReport, AppError> {
    let core = state.core().await?;
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
    let core = state.core().await?;
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
pub async fn list_leads(
    state: State<'_, AppState>,
    query: Option<LeadQuery>,
) -> Result<Vec<LeadSummary>, AppError> {
    blocking(&state, move |core| core.leads(&query.unwrap_or_default())).await
}

#[tauri::command]
pub async fn create_lead(
    state: State<'_, AppState>,
    lead: NewLead,
) -> Result<LeadDetail, AppError> {
    blocking(&state, move |core| core.create_lead(lead)).await
}

#[tauri::command]
pub async fn log_call(state: State<'_, AppState>, call: NewCall) -> Result<TaskSummary, AppError> {
    blocking(&state, move |core| core.log_call(call)).await
}

#[tauri::command]
pub async fn create_task(
    state: State<'_, AppState>,
    task: NewFollowUp,
) -> Result<TaskSummary, AppError> {
    blocking(&state, move |core| core.create_task(task)).await
}

#[tauri::command]
pub async fn update_opportunity(
    state: State<'_, AppState>,
    id: String,
    changes: OpportunityChanges,
) -> Result<OpportunityDetail, AppError> {
    blocking(&state, move |core| core.update_opportunity(&id, changes)).await
}

#[tauri::command]
pub async fn update_contact(
    state: State<'_, AppState>,
    id: String,
    changes: ContactChanges,
) -> Result<ContactDetail, AppError> {
    blocking(&state, move |core| core.update_contact(&id, changes)).await
}

/// Every change not yet in Salesforce, with its state, error and conflicting fields.
#[tauri::command]
pub async fn list_pending(state: State<'_, AppState>) -> Result<Vec<PendingWrite>, AppError> {
    blocking(&state, |core| core.pending()).await
}

/// Keep mine / use theirs for some fields of a conflict (all of them when `fields` is empty).
/// Returns the write's key from now on (`null` once nothing of it is left to send).
#[tauri::command]
pub async fn resolve_conflict(
    state: State<'_, AppState>,
    key: String,
    resolution: Resolution,
    fields: Option<Vec<String>>,
) -> Result<Option<String>, AppError> {
    blocking(&state, move |core| {
        core.resolve_conflict(&key, resolution, &fields.unwrap_or_default())
    })
    .await
}

/// Edits a failed change (Salesforce field → new value) and queues it again; returns its new key.
#[tauri::command]
pub async fn retry_write(
    state: State<'_, AppState>,
    key: String,
    changes: BTreeMap<String, serde_json::Value>,
) -> Result<String, AppError> {
    blocking(&state, move |core| {
        core.retry_write(&key, changes.into_iter().collect())
    })
    .await
}

#[tauri::command]
pub async fn discard_write(
    state: State<'_, AppState>,
    key: String,
) -> Result<DiscardReport, AppError> {
    blocking(&state, move |core| core.discard_write(&key)).await
}

/// "Send now": every change that may go, backoff or not.
#[tauri::command]
pub async fn push_now<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<PushReport, AppError> {
    let outcome = state.core().await?.push_now().await;
    emit_status(&app);
    Ok(outcome?)
}

/// The contacts list a page at a time (keyset paging), or a search's best matches.
#[tauri::command]
pub async fn list_contacts_page(
    state: State<'_, AppState>,
    query: ContactQuery,
) -> Result<ContactPage, AppError> {
    blocking(&state, move |core| core.contacts_page(&query)).await
}

/// The org's values of a picklist as last synced (`Opportunity`/`StageName`, `Lead`/`Status`, …).
#[tauri::command]
pub async fn get_picklist(
    state: State<'_, AppState>,
    object: String,
    field: String,
) -> Result<Vec<PicklistEntry>, AppError> {
    blocking(&state, move |core| core.picklist(&object, &field)).await
}

/// A replica that cannot be opened (`replica_unreadable`) is set aside for a new, empty one;
/// the next sync fills it.
#[tauri::command]
pub async fn start_fresh<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), AppError> {
    blocking(&state, |core| core.start_fresh()).await?;
    crate::background::start(&app);
    emit_status(&app);
    Ok(())
}

/// The Companion server, where it came from, the administrator's preset.
#[tauri::command]
pub async fn get_server(state: State<'_, AppState>) -> Result<ServerSetting, AppError> {
    Ok(state.core().await?.server())
}

/// Whether `url` is a Companion server (without choosing it).
#[tauri::command]
pub async fn check_server(
    state: State<'_, AppState>,
    url: String,
) -> Result<ServerCheck, AppError> {
    Ok(state.core().await?.check_server(&url).await?)
}

/// Checks `url` and makes it this device's server (only while signed out).
#[tauri::command]
pub async fn set_server<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    url: String,
) -> Result<ServerCheck, AppError> {
    let chosen = state.core().await?.set_server(&url).await?;
    emit_status(&app);
    Ok(chosen)
}

/// The Salesforce login hosts the server allows, the default first.
#[tauri::command]
pub async fn list_login_hosts(state: State<'_, AppState>) -> Result<Vec<LoginHost>, AppError> {
    Ok(state.core().await?.login_hosts().await?)
}
