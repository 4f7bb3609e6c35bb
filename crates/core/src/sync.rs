//! Pull sync: ask the gateway for pages of changes with the stored cursors, apply each page
//! with its new cursors in one transaction, until the gateway says there is no more.

use std::sync::Arc;

use companion_api::SyncRequest;

use crate::error::CoreError;
use crate::gateway::GatewayClient;
use crate::model::{SyncProgress, SyncReport};
use crate::replica::Replica;

pub(crate) async fn pull(
    gateway: &GatewayClient,
    replica: &Arc<Replica>,
    session_token: &str,
    on_progress: &(impl Fn(SyncProgress) + Send + Sync),
) -> Result<SyncReport, CoreError> {
    let mut report = SyncReport::default();
    loop {
        // The stored cursors are the truth: a sync that died half-way resumes from them.
        let cursors = replica.cursors()?;
        let page = gateway
            .sync(
                session_token,
                &SyncRequest {
                    cursors: cursors.clone(),
                },
            )
            .await?;
        let stalled = page.more
            && page.accounts.is_empty()
            && page.contacts.is_empty()
            && page.deleted.is_empty()
            && page
                .cursors
                .iter()
                .all(|(object, cursor)| cursors.get(object) == Some(cursor));
        if stalled {
            // Asking again would get the same answer forever.
            return Err(CoreError::Gateway {
                status: 200,
                code: "sync_stalled".into(),
                message: "the server keeps saying there is more to sync but sends nothing new"
                    .into(),
            });
        }

        let more = page.more;
        let writer = replica.clone();
        let counts = tokio::task::spawn_blocking(move || writer.apply_page(&page))
            .await
            .map_err(|e| CoreError::storage("applying a sync page stopped", e))??;
        report.pages += 1;
        report.accounts += counts.accounts;
        report.contacts += counts.contacts;
        tracing::debug!(
            page = report.pages,
            accounts = counts.accounts,
            contacts = counts.contacts,
            more,
            "applied sync page"
        );
        if counts.accounts > 0 {
            on_progress(SyncProgress {
                object: "Account".into(),
                done: report.accounts,
                total: None,
            });
        }
        if counts.contacts > 0 {
            on_progress(SyncProgress {
                object: "Contact".into(),
                done: report.contacts,
                total: None,
            });
        }
        if !more {
            return Ok(report);
        }
    }
}
