//! The TypeScript types of every command and event, generated from the Rust types with ts-rs
//! into `ui/src/lib/bindings/` (one file per type) and `ui/src/lib/generated.ts` (the command
//! and event maps). `the_ui_types_are_the_rust_types` fails when they drift;
//! `UPDATE_BINDINGS=1 cargo test -p companion-app bindings` writes them again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use companion_api::{LoginHost, PicklistEntry, User};
use companion_core::{
    BackgroundEvent, ContactChanges, ContactDetail, ContactPage, ContactQuery, ContactSummary,
    DiscardReport, LeadDetail, LeadQuery, LeadSummary, NewCall, NewFollowUp, NewLead,
    OpportunityChanges, OpportunityDetail, OpportunityQuery, OpportunitySummary, PendingWrite,
    PushReport, RecordDetail, Resolution, SearchHit, ServerCheck, ServerSetting, SyncProgress,
    SyncReport, TaskSummary,
};
use ts_rs::TS;

use crate::commands::AppStatus;

/// What every command's error is on the UI's side (see `AppError`'s `Serialize`).
#[derive(TS)]
#[ts(rename = "AppError")]
#[allow(dead_code)]
struct AppErrorShape {
    /// What went wrong, for the UI to switch on (`offline`, `reauth_required`, …).
    kind: String,
    /// For the rep.
    message: String,
}

/// A command: its name, its arguments as the UI passes them (Tauri's camelCase), its result.
struct Command {
    name: &'static str,
    args: Vec<(&'static str, String)>,
    result: String,
}

fn command(name: &'static str, args: Vec<(&'static str, String)>, result: String) -> Command {
    Command { name, args, result }
}

fn optional<T: TS>() -> String {
    format!("{} | null", T::name())
}

/// Every command of `lib.rs`'s handler, with the types of `commands.rs`.
fn commands() -> Vec<Command> {
    let string = String::name;
    vec![
        command("get_status", vec![], AppStatus::name()),
        command(
            "sign_in",
            vec![("loginHost", optional::<String>())],
            "null".into(),
        ),
        command(
            "sign_out",
            vec![("discardPending", optional::<bool>())],
            "null".into(),
        ),
        command(
            "list_contacts",
            vec![("search", optional::<String>())],
            Vec::<ContactSummary>::name(),
        ),
        command(
            "list_contacts_page",
            vec![("query", ContactQuery::name())],
            ContactPage::name(),
        ),
        command(
            "list_accounts",
            vec![("limit", optional::<u32>()), ("offset", optional::<u32>())],
            Vec::<companion_core::AccountSummary>::name(),
        ),
        command(
            "list_opportunities",
            vec![("query", optional::<OpportunityQuery>())],
            Vec::<OpportunitySummary>::name(),
        ),
        command("get_record", vec![("id", string())], RecordDetail::name()),
        command("search", vec![("text", string())], Vec::<SearchHit>::name()),
        command("sync_now", vec![], SyncReport::name()),
        command(
            "list_leads",
            vec![("query", optional::<LeadQuery>())],
            Vec::<LeadSummary>::name(),
        ),
        command(
            "create_lead",
            vec![("lead", NewLead::name())],
            LeadDetail::name(),
        ),
        command(
            "log_call",
            vec![("call", NewCall::name())],
            TaskSummary::name(),
        ),
        command(
            "create_task",
            vec![("task", NewFollowUp::name())],
            TaskSummary::name(),
        ),
        command(
            "update_opportunity",
            vec![("id", string()), ("changes", OpportunityChanges::name())],
            OpportunityDetail::name(),
        ),
        command(
            "update_contact",
            vec![("id", string()), ("changes", ContactChanges::name())],
            ContactDetail::name(),
        ),
        command("list_pending", vec![], Vec::<PendingWrite>::name()),
        command(
            "resolve_conflict",
            vec![
                ("key", string()),
                ("resolution", Resolution::name()),
                ("fields", optional::<Vec<String>>()),
            ],
            optional::<String>(),
        ),
        command(
            "retry_write",
            vec![
                ("key", string()),
                ("changes", "Record<string, JsonValue>".into()),
            ],
            string(),
        ),
        command(
            "discard_write",
            vec![("key", string())],
            DiscardReport::name(),
        ),
        command("push_now", vec![], PushReport::name()),
        command(
            "get_picklist",
            vec![("object", string()), ("field", string())],
            Vec::<PicklistEntry>::name(),
        ),
        command("start_fresh", vec![], "null".into()),
        command("get_server", vec![], ServerSetting::name()),
        command("check_server", vec![("url", string())], ServerCheck::name()),
        command("set_server", vec![("url", string())], ServerCheck::name()),
        command("list_login_hosts", vec![], Vec::<LoginHost>::name()),
    ]
}

/// Every event the shell emits, with its payload.
fn events() -> Vec<(&'static str, String)> {
    vec![
        ("sign-in-complete", User::name()),
        ("sign-in-failed", AppErrorShape::name()),
        ("status-changed", AppStatus::name()),
        ("sync-progress", SyncProgress::name()),
        ("background-sync", BackgroundEvent::name()),
        ("outbox-changed", "null".into()),
        ("records-changed", "null".into()),
    ]
}

/// Writes every type file and the maps into `ui_lib` (`ui/src/lib` or a stand-in).
fn write_bindings(ui_lib: &Path) -> Result<(), ts_rs::ExportError> {
    let types = ui_lib.join("bindings");
    AppStatus::export_all_to(&types)?;
    ServerCheck::export_all_to(&types)?;
    AppErrorShape::export_all_to(&types)?;
    ContactPage::export_all_to(&types)?;
    ContactQuery::export_all_to(&types)?;
    companion_core::AccountSummary::export_all_to(&types)?;
    OpportunityQuery::export_all_to(&types)?;
    RecordDetail::export_all_to(&types)?;
    SearchHit::export_all_to(&types)?;
    SyncReport::export_all_to(&types)?;
    LeadQuery::export_all_to(&types)?;
    LeadSummary::export_all_to(&types)?;
    NewLead::export_all_to(&types)?;
    NewCall::export_all_to(&types)?;
    NewFollowUp::export_all_to(&types)?;
    OpportunityChanges::export_all_to(&types)?;
    ContactChanges::export_all_to(&types)?;
    PendingWrite::export_all_to(&types)?;
    Resolution::export_all_to(&types)?;
    DiscardReport::export_all_to(&types)?;
    PushReport::export_all_to(&types)?;
    PicklistEntry::export_all_to(&types)?;
    User::export_all_to(&types)?;
    SyncProgress::export_all_to(&types)?;
    BackgroundEvent::export_all_to(&types)?;
    serde_json::Value::export_all_to(&types)?;

    let mut names: Vec<String> = std::fs::read_dir(&types)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .filter(|name| name.ends_with(".ts"))
        .collect();
    names.sort();
    let mut maps = String::from(
        "\n/** Every command: the arguments `invoke` takes and what it resolves to. */\n\
         export interface Commands {\n",
    );
    for c in commands() {
        let args: Vec<String> = c
            .args
            .iter()
            .map(|(name, ty)| match ty.strip_suffix(" | null") {
                Some(_) => format!("{name}?: {ty}"),
                None => format!("{name}: {ty}"),
            })
            .collect();
        maps += &format!(
            "  {}: {{ args: {{ {} }}; result: {} }};\n",
            c.name,
            args.join("; "),
            c.result
        );
    }
    maps +=
        "}\n\n/** Every event the shell emits, with its payload. */\nexport interface Events {\n";
    for (name, payload) in events() {
        maps += &format!("  '{name}': {payload};\n");
    }
    maps += "}\n";

    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs): do not edit.\n\
         // `UPDATE_BINDINGS=1 cargo test -p companion-app bindings` writes it again.\n\n",
    );
    let files: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            let stem = name.trim_end_matches(".ts").to_owned();
            (stem.clone(), format!("./bindings/{stem}"))
        })
        .chain([("JsonValue".into(), "./bindings/serde_json/JsonValue".into())])
        .collect();
    let used = |stem: &str| {
        maps.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .any(|word| word == stem)
    };
    for (stem, path) in files.iter().filter(|(stem, _)| used(stem)) {
        out += &format!("import type {{ {stem} }} from '{path}';\n");
    }
    out += "\n";
    for (stem, path) in &files {
        out += &format!("export type {{ {stem} }} from '{path}';\n");
    }
    out += &maps;
    std::fs::write(ui_lib.join("generated.ts"), out)?;
    Ok(())
}

/// Every file under `dir`, by path relative to it.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_owned();
                files.insert(relative, std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    files
}

#[test]
fn the_ui_types_are_the_rust_types() {
    let ui_lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(ui_lib.join("bindings"));
        write_bindings(&ui_lib).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    write_bindings(fresh.path()).unwrap();
    let generated = files_under(fresh.path());
    let mut committed = files_under(&ui_lib.join("bindings"))
        .into_iter()
        .map(|(path, text)| (Path::new("bindings").join(path), text))
        .collect::<BTreeMap<_, _>>();
    committed.insert(
        PathBuf::from("generated.ts"),
        std::fs::read_to_string(ui_lib.join("generated.ts")).unwrap_or_default(),
    );
    for (path, text) in &generated {
        assert!(
            !text.contains("bigint"),
            "{path:?} has a bigint: JSON numbers are numbers (#[ts(type = \"number\")])"
        );
        assert_eq!(
            committed.get(path),
            Some(text),
            "ui/src/lib/{} is not what the Rust types say; run \
             `UPDATE_BINDINGS=1 cargo test -p companion-app bindings`",
            path.display()
        );
    }
    let stale: Vec<_> = committed
        .keys()
        .filter(|p| !generated.contains_key(*p))
        .collect();
    assert!(stale.is_empty(), "no Rust type for {stale:?} any more");
}
