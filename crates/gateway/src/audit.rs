//! The audit log of writes: who, when, what action, which record, which idempotency key, and
//! how it ended. Never field values or tokens.

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
