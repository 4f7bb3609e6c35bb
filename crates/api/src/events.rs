//! `GET /v1/events`: the gateway's server-sent change hints.

use serde::{Deserialize, Serialize};

/// SSE event name of a [`ChangeHint`] (`event: change`).
pub const CHANGE_EVENT: &str = "change";

/// Something changed in Salesforce for these objects: sync them soon. Carries object API names
/// only, never record data or ids; the app reads the records through `POST /v1/sync`.
///
/// A hint stream starts with nothing missed only from the moment it is open: after (re)connecting,
/// sync once, then sync on hints. The gateway ends a stream whose reader fell too far behind, so
/// a reconnect (and its sync) covers whatever was dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeHint {
    /// Salesforce object API names, e.g. `["Contact"]`, sorted, without repeats.
    pub objects: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_object_names_only() {
        let hint = ChangeHint {
            objects: vec!["Contact".into()],
        };
        assert_eq!(
            serde_json::to_string(&hint).unwrap(),
            r#"{"objects":["Contact"]}"#
        );
    }
}
