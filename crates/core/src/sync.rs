//! Pull sync: ask the gateway for pages of changes with the stored cursors and apply each page
//! with its new cursors in one transaction, until the gateway says there is no more. The next
//! page is fetched while the current one is being written (pipelining), and pages are applied
//! strictly in order. A sync killed at any instant resumes from the stored cursors.
//!
//! With `reconcile` (a rep's explicit refresh), the replica's counts are then compared with what
//! the rep may see now, and records that left the rep's view (an owner change, which no
//! Salesforce change feed reports) are dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use companion_api::{IdsRequest, SyncRequest, SyncResponse, SYNC_OBJECTS};
use tokio::task::JoinHandle;

use crate::error::CoreError;
use crate::gateway::GatewayClient;
use crate::model::{SyncProgress, SyncReport};
use crate::replica::{PageCounts, Replica};

/// Picklists the screens need (the stage list with probabilities, task and lead values).
const DESCRIBED_OBJECTS: &[&str] = &["Opportunity", "Task", "Lead"];

pub(crate) struct PullOptions {
    /// Also find records that left the rep's view (costs one more gateway call, more when
    /// something did leave).
    pub reconcile: bool,
}

pub(crate) async fn pull(
    gateway: &GatewayClient,
    replica: &Arc<Replica>,
    session_token: &str,
    options: PullOptions,
    on_progress: &(impl Fn(SyncProgress) + Send + Sync),
) -> Result<SyncReport, CoreError> {
    let mut report = SyncReport::default();
    let mut progress = Progress::default();
    // The stored cursors are the truth: a sync that died half-way resumes from them.
    let mut cursors = replica.cursors()?;
    let mut applying: Option<JoinHandle<Result<PageCounts, CoreError>>> = None;
    loop {
        let fetched = gateway
            .sync(
                session_token,
                &SyncRequest {
                    cursors: cursors.clone(),
                },
            )
            .await;
        // Whatever happened to the fetch, the page before it is finished first.
        let applied = finish(applying.take()).await;
        record(&mut report, applied?);
        let page = fetched?;
        if is_stalled(&page, &cursors) {
            return Err(CoreError::Gateway {
                status: 200,
                code: "sync_stalled".into(),
                message: "the server keeps saying there is more to sync but sends nothing new"
                    .into(),
            });
        }
        report.pages += 1;
        progress.update(&page, on_progress);
        cursors = page.cursors.clone();
        let more = page.more;
        let writer = replica.clone();
        applying = Some(tokio::task::spawn_blocking(move || {
            let applied = writer.apply_page(&page);
            // Tens of thousands of strings: freed on another thread, not the one that writes.
            tokio::spawn(async move { drop(page) });
            applied
        }));
        if !more {
            record(&mut report, finish(applying.take()).await?);
            break;
        }
    }
    if replica.picklist("Opportunity", "StageName")?.is_empty() {
        refresh_picklists(gateway, replica, session_token).await?;
    }
    if options.reconcile {
        report.removed = reconcile(gateway, replica, session_token).await?;
    }
    Ok(report)
}

async fn finish(
    applying: Option<JoinHandle<Result<PageCounts, CoreError>>>,
) -> Result<PageCounts, CoreError> {
    match applying {
        None => Ok(PageCounts::default()),
        Some(task) => task
            .await
            .map_err(|e| CoreError::storage("applying a sync page stopped", e))?,
    }
}

fn record(report: &mut SyncReport, counts: PageCounts) {
    report.accounts += counts.accounts;
    report.contacts += counts.contacts;
    report.opportunities += counts.opportunities;
    report.tasks += counts.tasks;
    report.leads += counts.leads;
}

/// More promised, nothing sent, cursors unchanged: asking again would loop forever.
fn is_stalled(page: &SyncResponse, cursors: &BTreeMap<String, String>) -> bool {
    page.more
        && page.accounts.is_empty()
        && page.contacts.is_empty()
        && page.opportunities.is_empty()
        && page.tasks.is_empty()
        && page.leads.is_empty()
        && page.deleted.is_empty()
        && page.reset.is_empty()
        && page
            .cursors
            .iter()
            .all(|(object, cursor)| cursors.get(object) == Some(cursor))
}

/// Records received per object in this run, and the estimate of the whole.
#[derive(Default)]
struct Progress {
    done: BTreeMap<String, u64>,
}

impl Progress {
    /// After each page: per object with records in it (or still more to come), records so far
    /// and, when the gateway gave one, the estimated total.
    fn update(&mut self, page: &SyncResponse, on_progress: &(impl Fn(SyncProgress) + Send + Sync)) {
        let received = [
            ("Account", page.accounts.len()),
            ("Contact", page.contacts.len()),
            ("Opportunity", page.opportunities.len()),
            ("Task", page.tasks.len()),
            ("Lead", page.leads.len()),
        ];
        for (object, count) in received {
            let standing = page.objects.get(object);
            let more = standing.is_some_and(|s| s.more);
            if count == 0 && !more {
                continue;
            }
            let done = self.done.entry(object.to_string()).or_default();
            *done += count as u64;
            on_progress(SyncProgress {
                object: object.to_string(),
                done: *done,
                total: standing.map(|s| *done + s.remaining),
            });
        }
    }
}

async fn refresh_picklists(
    gateway: &GatewayClient,
    replica: &Arc<Replica>,
    session_token: &str,
) -> Result<(), CoreError> {
    for object in DESCRIBED_OBJECTS {
        let described = gateway.describe(session_token, object).await?;
        let writer = replica.clone();
        tokio::task::spawn_blocking(move || writer.store_describe(&described))
            .await
            .map_err(|e| CoreError::storage("storing picklists stopped", e))??;
    }
    Ok(())
}

/// Drops the records of every object whose local count exceeds what the rep may see.
async fn reconcile(
    gateway: &GatewayClient,
    replica: &Arc<Replica>,
    session_token: &str,
) -> Result<u64, CoreError> {
    let visible = gateway.counts(session_token).await?.counts;
    let local = replica.counts()?;
    let mut removed = 0;
    for object in SYNC_OBJECTS {
        let here = local.get(*object).copied().unwrap_or(0);
        // An object the gateway did not count is left alone: "no answer" is not "none visible".
        let Some(&there) = visible.get(*object) else {
            continue;
        };
        if here <= there {
            continue;
        }
        tracing::info!(
            object,
            here,
            there,
            "records left the rep's view; reconciling"
        );
        let mut keep = BTreeSet::new();
        let mut after = None;
        loop {
            let page = gateway
                .ids(
                    session_token,
                    &IdsRequest {
                        object: object.to_string(),
                        after: after.clone(),
                    },
                )
                .await?;
            keep.extend(page.ids);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let writer = replica.clone();
        let object = object.to_string();
        removed += tokio::task::spawn_blocking(move || writer.retain_only(&object, &keep))
            .await
            .map_err(|e| CoreError::storage("dropping records stopped", e))??;
    }
    Ok(removed)
}
