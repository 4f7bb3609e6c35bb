//! Get Updated / Get Deleted: `sobjects/{object}/updated/` and `…/deleted/` (reference §3.1).

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

use crate::client::Call;
use crate::rest::{check_object_name, data_path};
use crate::{soql, Client, Error, RecordId, RestSession, Result};

/// `{"ids":[…],"latestDateCovered":"…"}`: use `latest_date_covered` as the next `start`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedRecords {
    pub ids: Vec<RecordId>,
    #[serde(deserialize_with = "datetime")]
    pub latest_date_covered: OffsetDateTime,
}

/// One entry of `deletedRecords`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: RecordId,
    #[serde(deserialize_with = "datetime")]
    pub deleted_date: OffsetDateTime,
}

/// `{"deletedRecords":[…],"earliestDateAvailable":"…","latestDateCovered":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    pub deleted_records: Vec<DeletedRecord>,
    /// The delete log reaches back to here. Later than the caller's last sync point means
    /// deletions were lost: a full resync is needed ([`DeletedRecords::covers`]).
    #[serde(deserialize_with = "datetime")]
    pub earliest_date_available: OffsetDateTime,
    #[serde(deserialize_with = "datetime")]
    pub latest_date_covered: OffsetDateTime,
}

impl DeletedRecords {
    /// Whether the delete log still reaches back to `since`.
    pub fn covers(&self, since: OffsetDateTime) -> bool {
        self.earliest_date_available <= since
    }
}

fn datetime<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    soql::parse_datetime(&text).map_err(serde::de::Error::custom)
}

/// Which change log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeLog {
    Updated,
    Deleted,
}

/// `2023-06-01T00:00:00+00:00`, the form the reference's examples send (seconds are ignored
/// by Salesforce).
fn replication_time(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("a fixed format always renders")
}

/// `/services/data/vXX.X/sobjects/{object}/{updated|deleted}/?start=…&end=…`.
pub(crate) fn change_log_path(
    log: ChangeLog,
    object: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<String> {
    check_object_name(object)?;
    if start >= end {
        return Err(Error::InvalidInput(
            "the start of a change-log window must be before its end".into(),
        ));
    }
    let name = match log {
        ChangeLog::Updated => "updated",
        ChangeLog::Deleted => "deleted",
    };
    data_path(
        // The empty last segment gives the documented trailing slash.
        &["sobjects", object, name, ""],
        &[
            ("start", &replication_time(start)),
            ("end", &replication_time(end)),
        ],
    )
}

impl Client {
    /// Ids of `object` records changed (by `SystemModstamp`) in `[start, end)`; at most 30 days
    /// back. A read: retried on transient failures.
    pub async fn updated_records(
        &self,
        session: &RestSession,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<UpdatedRecords> {
        let path = change_log_path(ChangeLog::Updated, object, start, end)?;
        let url = crate::client::join(&session.instance_url, &path)?;
        self.send(session, Call::get(url))
            .await?
            .json("updated records")
    }

    /// `object` records deleted in `[start, end)`; the log covers about 15 days. A read.
    pub async fn deleted_records(
        &self,
        session: &RestSession,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<DeletedRecords> {
        let path = change_log_path(ChangeLog::Deleted, object, start, end)?;
        let url = crate::client::join(&session.instance_url, &path)?;
        self.send(session, Call::get(url))
            .await?
            .json("deleted records")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn window_is_encoded_with_utc_offsets() {
        let path = change_log_path(
            ChangeLog::Deleted,
            "Contact",
            datetime!(2023-06-01 02:00:00 +02:00),
            datetime!(2023-06-02 00:00:00 UTC),
        )
        .unwrap();
        assert_eq!(
            path,
            "/services/data/v58.0/sobjects/Contact/deleted/?start=2023-06-01T00%3A00%3A00%2B00%3A00&end=2023-06-02T00%3A00%3A00%2B00%3A00"
        );
    }

    #[test]
    fn empty_or_reversed_windows_and_bad_names_are_refused() {
        let t = datetime!(2023-06-01 00:00:00 UTC);
        assert!(change_log_path(ChangeLog::Updated, "Contact", t, t).is_err());
        assert!(change_log_path(
            ChangeLog::Updated,
            "Contact/../x",
            t,
            t + time::Duration::DAY
        )
        .is_err());
    }
}
