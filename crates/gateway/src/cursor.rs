//! Sync cursors: opaque to clients, signed by the gateway (HMAC-SHA256), carrying the last
//! `(SystemModstamp, Id)` a client has of one object and how far it has read the delete log.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use salesforce::RecordId;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::crypto::derive_key;
use crate::GatewayError;

const VERSION: u8 = 1;

/// Where a client is in one object's change stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub system_modstamp: OffsetDateTime,
    pub id: RecordId,
}

/// A decoded cursor: `after` is `None` until the client has seen a record of the object;
/// `deletes_since` is `None` until the gateway has read the object's delete log once;
/// `remaining` is set while a sync's pages of the object are under way: how many records were
/// still to come after `after` (the next page then asks Salesforce for one page, not a count
/// of everything left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub object: String,
    pub after: Option<Position>,
    /// Salesforce's `latestDateCovered` of the last `…/deleted/` read: the next read starts here.
    pub deletes_since: Option<OffsetDateTime>,
    pub remaining: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u8,
    /// The org the cursor belongs to: a cursor of one org is refused in another.
    org: String,
    obj: String,
    /// Unix time in milliseconds and the record id.
    after: Option<(i64, String)>,
    /// Unix time in milliseconds (absent in cursors of the first release: read as `None`).
    #[serde(default)]
    del: Option<i64>,
    /// Records still to come (absent in older cursors, and once an object is caught up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rem: Option<u64>,
}

#[derive(Clone)]
pub struct CursorSigner {
    key: [u8; 32],
}

impl CursorSigner {
    pub fn new(token_key: &[u8; 32]) -> Self {
        CursorSigner {
            key: derive_key(token_key, "sync-cursor-signing-v1"),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length")
    }

    pub fn encode(&self, org_id: &str, cursor: &Cursor) -> String {
        let payload = Payload {
            v: VERSION,
            org: org_id.to_string(),
            obj: cursor.object.clone(),
            after: cursor
                .after
                .as_ref()
                .map(|p| (unix_millis(p.system_modstamp), p.id.to_string())),
            del: cursor.deletes_since.map(unix_millis),
            rem: cursor.remaining,
        };
        let body = B64.encode(serde_json::to_vec(&payload).expect("serializable"));
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let tag = B64.encode(mac.finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// Check the signature, then the contents; anything off is a 400 for the client.
    pub fn decode(&self, org_id: &str, object: &str, text: &str) -> Result<Cursor, GatewayError> {
        let bad = || {
            GatewayError::BadRequest(format!(
                "the {object} cursor is not one this gateway issued"
            ))
        };
        let (body, tag) = text.split_once('.').ok_or_else(bad)?;
        let tag = B64.decode(tag).map_err(|_| bad())?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).map_err(|_| bad())?;
        let payload: Payload =
            serde_json::from_slice(&B64.decode(body).map_err(|_| bad())?).map_err(|_| bad())?;
        if payload.v != VERSION || payload.obj != object || payload.org != org_id {
            return Err(bad());
        }
        let after = match payload.after {
            None => None,
            Some((millis, id)) => Some(Position {
                system_modstamp: from_unix_millis(millis).ok_or_else(bad)?,
                id: RecordId::parse_for(object, &id).map_err(|_| bad())?,
            }),
        };
        let deletes_since = match payload.del {
            None => None,
            Some(millis) => Some(from_unix_millis(millis).ok_or_else(bad)?),
        };
        Ok(Cursor {
            object: object.to_string(),
            after,
            deletes_since,
            remaining: payload.rem,
        })
    }
}

fn unix_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_unix_millis(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ORG: &str = "00D7F00000107XsUAI";

    fn cursor() -> Cursor {
        Cursor {
            object: "Account".into(),
            after: Some(Position {
                system_modstamp: datetime!(2024-05-01 10:00:00.250 UTC),
                id: RecordId::parse("0011U00000V0tkDQAR").unwrap(),
            }),
            deletes_since: Some(datetime!(2024-05-01 10:00:00 UTC)),
            remaining: Some(48_000),
        }
    }

    #[test]
    fn round_trips() {
        let signer = CursorSigner::new(&[9u8; 32]);
        let text = signer.encode(ORG, &cursor());
        assert_eq!(signer.decode(ORG, "Account", &text).unwrap(), cursor());
        let empty = Cursor {
            object: "Contact".into(),
            after: None,
            deletes_since: None,
            remaining: None,
        };
        let text = signer.encode(ORG, &empty);
        assert_eq!(signer.decode(ORG, "Contact", &text).unwrap(), empty);
    }

    #[test]
    fn forged_corrupt_or_misplaced_cursors_are_refused() {
        let signer = CursorSigner::new(&[9u8; 32]);
        let text = signer.encode(ORG, &cursor());
        let (body, tag) = text.split_once('.').unwrap();

        // Another key.
        assert!(CursorSigner::new(&[1u8; 32])
            .decode(ORG, "Account", &text)
            .is_err());
        // Another object or org.
        assert!(signer.decode(ORG, "Contact", &text).is_err());
        assert!(signer
            .decode("00D000000000001AAA", "Account", &text)
            .is_err());
        // A payload rewritten by hand with the old tag.
        let forged =
            B64.encode(br#"{"v":1,"org":"00D7F00000107XsUAI","obj":"Account","after":null}"#);
        assert!(signer
            .decode(ORG, "Account", &format!("{forged}.{tag}"))
            .is_err());
        // Truncated, garbage, empty.
        for bad in [
            &text[..text.len() - 2],
            body,
            "",
            "....",
            "not-a-cursor",
            "a.b",
        ] {
            let err = signer.decode(ORG, "Account", bad).unwrap_err();
            assert!(matches!(err, GatewayError::BadRequest(_)), "{bad}");
        }
    }
}
