//! The one error type of companion-core. Every variant's message is written for the rep, and
//! [`CoreError::kind`] gives the app a stable tag to branch on.

use serde::ser::SerializeStruct;

use crate::secrets::SecretError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    /// The gateway did not answer (no network, server down, timeout).
    #[error("Can't reach the Companion server at {url}. Check your connection; what is already on this device stays available.")]
    Offline { url: String },
    /// The gateway no longer accepts the session: the rep must sign in again. The replica is kept.
    #[error("Your Salesforce session has ended. Sign in again to keep syncing.")]
    ReauthRequired,
    /// The sign-in did not complete; the message says why (Salesforce's own text when it gave one).
    #[error("{0}")]
    SignInFailed(String),
    #[error("You're not signed in. Sign in first.")]
    NotSignedIn,
    /// The gateway answered with an error that is none of the above.
    #[error("The Companion server answered with an error: {message}")]
    Gateway {
        status: u16,
        code: String,
        message: String,
    },
    /// The local replica or a file in the data folder could not be read or written.
    #[error("Problem with the data stored on this device: {0}")]
    Storage(String),
    /// The replica file cannot be decrypted or is not a replica (wrong or lost key, damaged file).
    /// Offer a fresh start (`Companion::start_fresh`): it downloads everything again.
    #[error("The data on this device can't be opened (its key is missing or wrong). Start fresh to download a new copy from Salesforce; changes made on this device that were not sent yet are in the old copy and can't be recovered.")]
    ReplicaUnreadable,
    /// Signing out (or starting fresh) would discard changes Salesforce does not have yet.
    #[error("{count} change{s} made on this device {have} not reached Salesforce yet. Signing out now discards {them}; send {them} first, or confirm that you want to discard {them}.", s = if *count == 1 { "" } else { "s" }, have = if *count == 1 { "has" } else { "have" }, them = if *count == 1 { "it" } else { "them" })]
    PendingChanges { count: u64 },
    /// The server address typed is not a web address (or has parts a server address has not).
    #[error("{0}")]
    InvalidServerUrl(String),
    /// A plain `http://` server that is not this machine.
    #[error("{0}")]
    InsecureUrl(String),
    /// Something answered, but not as a Companion gateway does at `/v1/auth/config`.
    #[error("{url} answered, but it is not a Companion server. Check the address with your administrator.")]
    NotACompanionServer { url: String },
    /// Nothing answered while the rep was choosing a server.
    #[error("Nothing answered at {url}. Check the address and your connection, then try again.")]
    ServerUnreachable { url: String },
    /// No server has been chosen on this device yet.
    #[error("Choose your company's Companion server first.")]
    NoServer,
    /// The server cannot be changed now (a rep is signed in, or it was set for this app).
    #[error("{0}")]
    ServerLocked(String),
    #[error(transparent)]
    SecretStore(#[from] SecretError),
    #[error("{0}")]
    BadInput(String),
}

impl CoreError {
    /// A stable, machine-readable tag for the error.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::Offline { .. } => "offline",
            CoreError::ReauthRequired => "reauth_required",
            CoreError::SignInFailed(_) => "sign_in_failed",
            CoreError::NotSignedIn => "not_signed_in",
            CoreError::Gateway { .. } => "gateway",
            CoreError::Storage(_) => "storage",
            CoreError::ReplicaUnreadable => "replica_unreadable",
            CoreError::PendingChanges { .. } => "pending_changes",
            CoreError::InvalidServerUrl(_) => "invalid_url",
            CoreError::InsecureUrl(_) => "insecure_url",
            CoreError::NotACompanionServer { .. } => "not_a_companion_server",
            CoreError::ServerUnreachable { .. } => "unreachable",
            CoreError::NoServer => "no_server",
            CoreError::ServerLocked(_) => "server_locked",
            CoreError::SecretStore(_) => "secret_store",
            CoreError::BadInput(_) => "bad_input",
        }
    }

    pub(crate) fn storage(context: &str, err: impl std::fmt::Display) -> Self {
        CoreError::Storage(format!("{context}: {err}"))
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(err: rusqlite::Error) -> Self {
        CoreError::storage("database error", err)
    }
}

impl From<rusqlite_migration::Error> for CoreError {
    fn from(err: rusqlite_migration::Error) -> Self {
        CoreError::storage("could not upgrade the local database", err)
    }
}

/// `{"kind": "...", "message": "..."}`, what the app's UI receives.
impl serde::Serialize for CoreError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CoreError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_kind_and_message() {
        let err = CoreError::Offline {
            url: "http://127.0.0.1:8710/".into(),
        };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "offline");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .contains("Can't reach the Companion server at http://127.0.0.1:8710/"));
    }
}
