//! Companion's Tauri 2 shell. It only adapts `companion-core`: it resolves where the data lives,
//! registers the `companion://` deep link, opens the system browser, and turns core calls into
//! commands and events for the UI. Anything with logic belongs in core.

mod background;
#[cfg(test)]
mod bindings;
mod commands;
mod error;
mod sign_in;
mod state;

use std::path::PathBuf;
use std::sync::Arc;

use companion_core::{Companion, DeviceConfig, KeyringStore, DEFAULT_PRESET_FILE};
use tauri::{Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

pub use error::AppError;
pub use state::AppState;

/// Where Salesforce sends the browser back after sign-in (registered in the connected app).
pub const REDIRECT_URI: &str = "companion://oauth/callback";
/// A developer's fixed server (`cargo xtask demo`, the tests): the rep is not asked for one.
const GATEWAY_URL_VAR: &str = "COMPANION_GATEWAY_URL";
/// Another place for the administrator's preset than [`DEFAULT_PRESET_FILE`] (tests).
const PRESET_FILE_VAR: &str = "COMPANION_PRESET_FILE";

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_tracing();
    let context = tauri::generate_context!();
    if let Err(error) = builder(tauri::Builder::default()).run(context) {
        tracing::error!(%error, "Companion could not start");
        eprintln!("Companion could not start: {error}");
        std::process::exit(1);
    }
}

/// Plugins, state and commands, for any runtime (the real one in `run()`).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    // Single-instance must come first: a second process started with the callback URL hands it
    // to the running app (through the deep-link plugin) and exits.
    #[cfg(desktop)]
    let builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
        sign_in::show_main_window(app);
    }));
    builder
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            app.manage(AppState::opening());
            // The keyring and the replica's migrations can take a moment: the window paints
            // meanwhile, and commands wait for core.
            let handle = app.handle().clone();
            std::thread::Builder::new()
                .name("open-core".into())
                .spawn(move || {
                    // Commands wait for this outcome: even a panic while opening must give one.
                    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        open_core(&handle)
                    }))
                    .unwrap_or_else(|_| {
                        Err(AppError::Startup(
                            "opening the data on this device failed unexpectedly".into(),
                        ))
                    });
                    let ready = opened.is_ok();
                    handle.state::<AppState>().opened(opened);
                    if ready {
                        background::forward_core_events(&handle);
                        background::start(&handle);
                    }
                    commands::emit_status(&handle);
                })?;
            listen_for_deep_links(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_status,
            commands::sign_in,
            commands::list_contacts,
            commands::list_accounts,
            commands::list_opportunities,
            commands::get_record,
            commands::search,
            commands::sync_now,
            commands::sign_out,
            commands::list_leads,
            commands::create_lead,
            commands::log_call,
            commands::create_task,
            commands::update_opportunity,
            commands::update_contact,
            commands::list_pending,
            commands::resolve_conflict,
            commands::retry_write,
            commands::discard_write,
            commands::push_now,
            commands::list_contacts_page,
            commands::get_picklist,
            commands::start_fresh,
            commands::get_server,
            commands::check_server,
            commands::set_server,
            commands::list_login_hosts,
        ])
}

fn open_core<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<Arc<Companion>, AppError> {
    let opened = (|| -> Result<Companion, AppError> {
        let data_dir = match std::env::var_os("COMPANION_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => app
                .path()
                .app_data_dir()
                .map_err(|e| AppError::Startup(format!("no app data folder: {e}")))?,
        };
        let fixed_server = match std::env::var(GATEWAY_URL_VAR) {
            Ok(gateway) if !gateway.trim().is_empty() => Some(gateway.parse().map_err(|e| {
                AppError::Startup(format!("bad {GATEWAY_URL_VAR} {gateway:?}: {e}"))
            })?),
            _ => None,
        };
        let preset_file = std::env::var_os(PRESET_FILE_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PRESET_FILE));
        let secrets = Arc::new(KeyringStore::new());
        Ok(Companion::open_device(
            DeviceConfig {
                data_dir,
                fixed_server,
                preset_file: Some(preset_file),
            },
            secrets,
        )?)
    })();
    opened.map(Arc::new).inspect_err(|error| {
        tracing::error!(%error, "could not open the local data");
    })
}

/// The callback reaches us three ways: as the launch argument of a cold start (`get_current`),
/// forwarded from a second process by single-instance, or from the OS while running (mobile).
fn listen_for_deep_links<R: Runtime>(app: &tauri::AppHandle<R>) {
    // Dev builds and AppImages are not installed, so tell the desktop about the scheme ourselves.
    // An installed package's desktop entry already handles it: a per-user handler written on top
    // would shadow it and outlive the package.
    #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
    if !installed_by_a_package() {
        if let Err(error) = app.deep_link().register_all() {
            tracing::warn!(%error, "could not register the companion:// link handler");
        }
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            sign_in::handle_callback(&handle, url);
        }
    });
    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                sign_in::handle_callback(app, url);
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not read the launch link"),
    }
}

/// The .deb and .rpm install the app as `/usr/bin/companion-app` with the desktop entry
/// `/usr/share/applications/Companion.desktop` (the bundler names it after the product), which
/// handles `companion://`. A development build, an AppImage or a copy elsewhere has no entry.
#[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
fn installed_by_a_package() -> bool {
    cfg!(target_os = "linux")
        && std::env::current_exe()
            .is_ok_and(|exe| exe == std::path::Path::new("/usr/bin/companion-app"))
        && std::path::Path::new("/usr/share/applications/Companion.desktop").is_file()
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("COMPANION_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
