//! The audit log of writes: who, when, what action, which record, which idempotency key, and
//! how it ended. Never field values or tokens.

use rusqlite::params;

use crate::store::Store;
use crate::GatewayError;

/// One line of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// `lead.create`, `task.create`, `opportunity.update`, `contact.update`, `refused`.
    pub action: &'static str,
    pub record_id: Option<String>,
    pub idempotency_key: String,
    /// `created`, `updated`, `merged` (written after someone else changed other fields),
    /// `already_applied` (the record already had the asked values), `replayed`, `recovered`,
    /// `conflict`, `validation`, `not_found`, `refused`, `key_reused`, `in_progress`,
    /// `rate_limited`, `upstream_failed`, `unsettled`, `outcome_unknown`, …
    pub outcome: &'static str,
    pub status: u16,
}

impl Store {
    pub async fn audit(
        &self,
        user_id: &str,
        entries: Vec<AuditEntry>,
        now: i64,
    ) -> Result<(), GatewayError> {
        let user_id = user_id.to_string();
        self.with(move |conn, _| {
            let tx = conn.transaction()?;
            for entry in &entries {
                tx.execute(
                    "INSERT INTO audit_log (user_id, at, action, record_id, idempotency_key, outcome, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user_id,
                        now,
                        entry.action,
                        entry.record_id,
                        entry.idempotency_key,
                        entry.outcome,
                        entry.status
                    ],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
