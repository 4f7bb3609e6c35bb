//! `POST /v1/sync`: a page of changes per object, keyset-paged on `(SystemModstamp, Id)`.
//!
//! Each object is planned (cursor → SOQL), fetched, then turned into records and a new cursor.
//! The fetch step is the one place that talks to Salesforce, so batching every object into one
//! Composite call and adding `…/deleted/` (issue 4) replaces only [`fetch_pages`].

use companion_api::{Account, Contact, SyncRequest, SyncResponse, User, SYNC_OBJECTS};
use salesforce::{soql, QueryOptions, RecordId};
use serde_json::Value;

use crate::cursor::{Cursor, CursorSigner, Position};
use crate::upstream::Upstream;
use crate::GatewayError;

/// Rows per object per sync call (default); a full page means there may be more.
pub const PAGE_SIZE: usize = 2000;

/// An object the gateway replicates, with the allow-listed fields it selects.
pub struct ObjectSpec {
    pub name: &'static str,
    pub fields: &'static [&'static str],
}

pub const ACCOUNT: ObjectSpec = ObjectSpec {
    name: "Account",
    fields: &[
        "Id",
        "Name",
        "Industry",
        "Phone",
        "BillingCity",
        "OwnerId",
        "SystemModstamp",
    ],
};

pub const CONTACT: ObjectSpec = ObjectSpec {
    name: "Contact",
    fields: &[
        "Id",
        "FirstName",
        "LastName",
        "Name",
        "Email",
        "Phone",
        "MobilePhone",
        "Title",
        "AccountId",
        "OwnerId",
        "SystemModstamp",
    ],
};

pub fn object_spec(name: &str) -> Option<&'static ObjectSpec> {
    [&ACCOUNT, &CONTACT]
        .into_iter()
        .find(|spec| spec.name == name)
}

/// The SOQL for the page after `after`. Built only from the allow-listed names above, the
/// datetime formatter and the one string-literal escaper, with an id that has been validated.
pub fn page_query(spec: &ObjectSpec, after: Option<&Position>, page_size: usize) -> String {
    let mut query = format!("SELECT {} FROM {}", spec.fields.join(", "), spec.name);
    if let Some(position) = after {
        let stamp = soql::datetime_literal(position.system_modstamp);
        let id = soql::string_literal(position.id.as_str());
        query.push_str(&format!(
            " WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {id})"
        ));
    }
    query.push_str(&format!(" ORDER BY SystemModstamp, Id LIMIT {page_size}"));
    query
}

/// One object's part of a sync: where it starts and the query that continues it.
struct Plan {
    spec: &'static ObjectSpec,
    cursor: Cursor,
    soql: String,
}

pub async fn sync(
    upstream: &Upstream,
    signer: &CursorSigner,
    page_size: usize,
    user: &User,
    request: SyncRequest,
) -> Result<SyncResponse, GatewayError> {
    if let Some(unknown) = request
        .cursors
        .keys()
        .find(|k| !SYNC_OBJECTS.contains(&k.as_str()))
    {
        return Err(GatewayError::BadRequest(format!(
            "cannot sync {unknown:?}; objects are {}",
            SYNC_OBJECTS.join(", ")
        )));
    }
    let mut plans = Vec::new();
    for name in SYNC_OBJECTS {
        let spec = object_spec(name).expect("every SYNC_OBJECTS entry has a spec");
        let cursor = match request.cursors.get(*name) {
            Some(text) => signer.decode(&user.org_id, name, text)?,
            None => Cursor {
                object: name.to_string(),
                after: None,
            },
        };
        let soql = page_query(spec, cursor.after.as_ref(), page_size);
        plans.push(Plan { spec, cursor, soql });
    }

    let pages = fetch_pages(upstream, &user.user_id, &plans).await?;

    let mut response = SyncResponse::default();
    for (plan, rows) in plans.iter().zip(pages) {
        response.more |= rows.len() >= page_size;
        let mut last = plan.cursor.after.clone();
        for row in rows {
            let position = row_position(plan.spec.name, &row)?;
            if last.as_ref().is_none_or(|l| {
                (&position.system_modstamp, &position.id) > (&l.system_modstamp, &l.id)
            }) {
                last = Some(position);
            }
            match plan.spec.name {
                "Account" => response.accounts.push(decode_row::<Account>(row)?),
                "Contact" => response.contacts.push(decode_row::<Contact>(row)?),
                other => unreachable!("no record type for {other}"),
            }
        }
        let cursor = Cursor {
            object: plan.spec.name.to_string(),
            after: last,
        };
        response.cursors.insert(
            plan.spec.name.to_string(),
            signer.encode(&user.org_id, &cursor),
        );
    }
    Ok(response)
}

/// Today: one query per object, following `nextRecordsUrl` until the page is complete.
async fn fetch_pages(
    upstream: &Upstream,
    user_id: &str,
    plans: &[Plan],
) -> Result<Vec<Vec<Value>>, GatewayError> {
    let mut pages = Vec::with_capacity(plans.len());
    for plan in plans {
        let rows = upstream
            .call(user_id, |session| {
                let client = upstream.client.clone();
                let soql = plan.soql.clone();
                async move {
                    client
                        .query_all_batches::<Value>(&session, &soql, QueryOptions::default())
                        .await
                }
            })
            .await?;
        pages.push(rows);
    }
    Ok(pages)
}

fn row_position(object: &str, row: &Value) -> Result<Position, GatewayError> {
    let bad = |what: &str| {
        GatewayError::Salesforce(salesforce::Error::Decode(format!("{object} row: {what}")))
    };
    let id = row
        .get("Id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no Id"))?;
    let stamp = row
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no SystemModstamp"))?;
    Ok(Position {
        id: RecordId::parse_for(object, id).map_err(|e| bad(&e.to_string()))?,
        system_modstamp: soql::parse_datetime(stamp).map_err(|e| bad(&e.to_string()))?,
    })
}

fn decode_row<T: serde::de::DeserializeOwned>(row: Value) -> Result<T, GatewayError> {
    serde_json::from_value(row)
        .map_err(|e| GatewayError::Salesforce(salesforce::Error::Decode(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn first_page_has_no_where_clause() {
        assert_eq!(
            page_query(&ACCOUNT, None, PAGE_SIZE),
            "SELECT Id, Name, Industry, Phone, BillingCity, OwnerId, SystemModstamp FROM Account \
             ORDER BY SystemModstamp, Id LIMIT 2000"
        );
    }

    #[test]
    fn next_page_is_keyset_on_stamp_and_id() {
        let after = Position {
            system_modstamp: datetime!(2024-05-01 10:00:00 UTC),
            id: RecordId::parse("0031U00000V0tkD").unwrap(),
        };
        assert_eq!(
            page_query(&CONTACT, Some(&after), PAGE_SIZE),
            "SELECT Id, FirstName, LastName, Name, Email, Phone, MobilePhone, Title, AccountId, OwnerId, \
             SystemModstamp FROM Contact WHERE SystemModstamp > 2024-05-01T10:00:00Z OR \
             (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0031U00000V0tkDQAR') \
             ORDER BY SystemModstamp, Id LIMIT 2000"
        );
    }

    #[test]
    fn every_selected_field_is_an_identifier() {
        for spec in [&ACCOUNT, &CONTACT] {
            assert!(spec.fields.iter().all(|f| soql::is_identifier(f)));
            assert!(spec.fields.contains(&"Id") && spec.fields.contains(&"SystemModstamp"));
        }
        for name in SYNC_OBJECTS {
            assert!(object_spec(name).is_some(), "{name}");
        }
    }

    #[test]
    fn rows_yield_positions_and_bad_rows_are_errors() {
        let row = serde_json::json!({"attributes":{"type":"Account"},"Id":"0011U00000V0tkDQAR",
            "SystemModstamp":"2024-05-01T10:00:00.000+0000"});
        let p = row_position("Account", &row).unwrap();
        assert_eq!(p.system_modstamp, datetime!(2024-05-01 10:00:00 UTC));
        assert!(
            row_position("Contact", &row).is_err(),
            "an Account id in a Contact row"
        );
        let row = serde_json::json!({"Id":"0011U00000V0tkDQAR","SystemModstamp":"yesterday"});
        assert!(row_position("Account", &row).is_err());
    }
}
