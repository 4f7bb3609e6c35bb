//! `POST /v1/sync`: a page of changes per object, keyset-paged on `(SystemModstamp, Id)`, and
//! the deletions since the last page, for every object in ONE Composite call (one API call).
//!
//! Each object is planned (cursor → a keyset query and a `…/deleted/` read), all plans go out as
//! one Composite request (5 queries + 5 delete-log reads: within Salesforce's 25 subrequests and
//! 5 queries), then each object's answers become records, deleted ids and a new cursor.
//! `POST /v1/sync/counts` and `POST /v1/sync/ids` let a client find records that left the rep's
//! view (an owner change) — nothing in Salesforce's change feeds reports those.
//!
//! Leads are replicated while open: a converted lead (`IsConverted`, which only ever turns true)
//! leaves the replica. A page that starts the object from scratch selects open leads only, so the
//! first page's `totalSize` counts what the replica will hold; a page continuing from a position
//! selects converted leads too (the same keyset) and sends each as a deletion dated by its
//! `SystemModstamp` — a conversion is an update, so no delete log reports it.

use std::collections::BTreeMap;

use companion_api::{
    Account, Contact, CountsResponse, DeletedRecord, IdsRequest, IdsResponse, Lead, ObjectProgress,
    Opportunity, SyncRequest, SyncResponse, Task, User, SYNC_OBJECTS,
};
use salesforce::{soql, CompositeRequest, CompositeResponse, DeletedRecords, RecordId};
use serde_json::Value;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::cursor::{Cursor, CursorSigner, Position};
use crate::upstream::Upstream;
use crate::GatewayError;

/// Rows per object per sync call (default); Salesforce's default query batch.
pub const PAGE_SIZE: usize = 2000;

/// Ids per `POST /v1/sync/ids` answer (one query batch, one API call).
pub const IDS_PAGE_SIZE: usize = 2000;

/// How far past its start a delete-log read reaches. Salesforce keeps 15 days of deletions; a
/// start older than that is a gap anyway. (A window ending in the future is answered with
/// `latestDateCovered` = now by sfsim; real orgs' handling of a future `end` is unconfirmed in
/// the reference.)
const DELETE_LOG_WINDOW: Duration = Duration::days(15);

/// An object the gateway replicates, with the allow-listed fields it selects.
pub struct ObjectSpec {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// A checkbox that takes a record out of the replica for good once true (a lead's
    /// `IsConverted`). Selected among `fields`; counts, id lists and pages that start the object
    /// from scratch ask for `= false` only; pages continuing from a position turn the records
    /// that have it into deletions.
    pub gone_when: Option<&'static str>,
}

pub const ACCOUNT: ObjectSpec = ObjectSpec {
    name: "Account",
    fields: &[
        "Id",
        "Name",
        "Industry",
        "Phone",
        "Website",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
        "OwnerId",
        "SystemModstamp",
    ],
    gone_when: None,
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
    gone_when: None,
};

pub const OPPORTUNITY: ObjectSpec = ObjectSpec {
    name: "Opportunity",
    fields: &[
        "Id",
        "Name",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "IsClosed",
        "IsWon",
        "AccountId",
        "NextStep",
        "OwnerId",
        "SystemModstamp",
    ],
    gone_when: None,
};

pub const TASK: ObjectSpec = ObjectSpec {
    name: "Task",
    fields: &[
        "Id",
        "Subject",
        "Status",
        "Priority",
        "TaskSubtype",
        "ActivityDate",
        "WhoId",
        "WhatId",
        "Description",
        "IsClosed",
        "OwnerId",
        "SystemModstamp",
    ],
    gone_when: None,
};

/// Exactly the fields of [`companion_api::Lead`], and `IsConverted`.
pub const LEAD: ObjectSpec = ObjectSpec {
    name: "Lead",
    fields: &[
        "Id",
        "FirstName",
        "LastName",
        "Name",
        "Company",
        "Title",
        "Email",
        "Phone",
        "MobilePhone",
        "LeadSource",
        "Status",
        "OwnerId",
        "SystemModstamp",
        "IsConverted",
    ],
    gone_when: Some("IsConverted"),
};

const SPECS: [&ObjectSpec; 5] = [&ACCOUNT, &CONTACT, &OPPORTUNITY, &TASK, &LEAD];

pub fn object_spec(name: &str) -> Option<&'static ObjectSpec> {
    SPECS.into_iter().find(|spec| spec.name == name)
}

/// The SOQL for everything after `after`, oldest change first. Without `limit` (a sync's first
/// page of the object) Salesforce answers the first batch (up to 2000 rows) and `totalSize`
/// counts all that remain, which sizes the client's progress bar; later pages ask for one page
/// and a row (`limit`), whether more remain, instead of having every remaining row counted again.
/// Without `after` (the object starts from scratch) records with the spec's `gone_when` are left
/// out; after a position they come too, to be sent as deletions.
/// Built only from the allow-listed names above, the datetime formatter and the one
/// string-literal escaper, with an id that has been validated.
pub fn page_query(spec: &ObjectSpec, after: Option<&Position>, limit: Option<usize>) -> String {
    let mut query = format!("SELECT {} FROM {}", spec.fields.join(", "), spec.name);
    match after {
        Some(position) => {
            let stamp = soql::datetime_literal(position.system_modstamp);
            let id = soql::string_literal(position.id.as_str());
            query.push_str(&format!(
                " WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {id})"
            ));
        }
        None => {
            if let Some(flag) = spec.gone_when {
                query.push_str(&format!(" WHERE {flag} = false"));
            }
        }
    }
    query.push_str(" ORDER BY SystemModstamp, Id");
    if let Some(limit) = limit {
        query.push_str(&format!(" LIMIT {limit}"));
    }
    query
}

/// One object's part of a sync: where it starts, the query that continues it and where its
/// delete-log read starts.
struct Plan {
    spec: &'static ObjectSpec,
    cursor: Cursor,
    soql: String,
    deletes_from: OffsetDateTime,
}

impl Plan {
    fn query_ref(&self) -> String {
        format!("q{}", self.spec.name)
    }

    fn deleted_ref(&self) -> String {
        format!("d{}", self.spec.name)
    }
}

/// A query subresponse's first batch, its rows decoded straight into the record type.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch<T> {
    total_size: u64,
    #[serde(default = "Vec::new")]
    records: Vec<T>,
}

/// A record type a sync page carries: what its keyset position is read from.
trait Replicated: serde::de::DeserializeOwned {
    fn id(&self) -> &str;
    fn system_modstamp(&self) -> &str;
}

macro_rules! replicated {
    ($($record:ty),*) => {$(
        impl Replicated for $record {
            fn id(&self) -> &str {
                &self.id
            }
            fn system_modstamp(&self) -> &str {
                &self.system_modstamp
            }
        }
    )*};
}
replicated!(Account, Contact, Opportunity, Task);

/// A lead row: the replicated record and whether it has been converted.
#[derive(serde::Deserialize)]
struct LeadRow {
    #[serde(flatten)]
    lead: Lead,
    #[serde(rename = "IsConverted")]
    is_converted: bool,
}

impl Replicated for LeadRow {
    fn id(&self) -> &str {
        &self.lead.id
    }
    fn system_modstamp(&self) -> &str {
        &self.lead.system_modstamp
    }
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
    // The first read of a delete log only fetches Salesforce's clock (`latestDateCovered`) as the
    // watermark; a day back keeps the window valid whatever the two clocks say.
    let first_read_from = crate::now_utc() - Duration::days(1);
    let mut plans = Vec::new();
    for name in SYNC_OBJECTS {
        let spec = object_spec(name).expect("every SYNC_OBJECTS entry has a spec");
        let cursor = match request.cursors.get(*name) {
            Some(text) => signer.decode(&user.org_id, name, text)?,
            None => Cursor {
                object: name.to_string(),
                after: None,
                deletes_since: None,
                remaining: None,
            },
        };
        // Mid-sync, the count carried by the cursor stands in for Salesforce's.
        let limit = cursor.remaining.map(|_| page_size + 1);
        plans.push(Plan {
            spec,
            soql: page_query(spec, cursor.after.as_ref(), limit),
            deletes_from: cursor.deletes_since.unwrap_or(first_read_from),
            cursor,
        });
    }

    let answers = fetch(upstream, &user.user_id, &plans).await?;

    let mut response = SyncResponse::default();
    for plan in &plans {
        let deletes: DeletedRecords = answers.json(&plan.deleted_ref())?;
        let name = plan.spec.name;
        if plan.cursor.deletes_since.is_some() && !deletes.covers(plan.deletes_from) {
            // Deletions were purged before this client read them: start the object over.
            tracing::info!(
                object = name,
                "delete log no longer reaches the cursor; resetting"
            );
            response.reset.push(name.to_string());
            response.objects.insert(
                name.to_string(),
                ObjectProgress {
                    records: 0,
                    remaining: 0,
                    more: true,
                },
            );
            response.more = true;
            let restart = Cursor {
                object: name.to_string(),
                after: None,
                deletes_since: Some(deletes.latest_date_covered),
                remaining: None,
            };
            response
                .cursors
                .insert(name.to_string(), signer.encode(&user.org_id, &restart));
            continue;
        }
        if plan.cursor.deletes_since.is_some() {
            response
                .deleted
                .extend(deletes.deleted_records.iter().map(|d| DeletedRecord {
                    object: name.to_string(),
                    id: d.id.to_string(),
                    deleted_date: Some(salesforce_datetime(d.deleted_date)),
                }));
        }

        let mut last = plan.cursor.after.clone();
        // Rows read (they move the position) and, of those, records sent.
        let (rows, records, total) = match name {
            "Account" => take_page(&answers, plan, page_size, &mut last, &mut response.accounts)
                .map(|(rows, total)| (rows, rows, total)),
            "Contact" => take_page(&answers, plan, page_size, &mut last, &mut response.contacts)
                .map(|(rows, total)| (rows, rows, total)),
            "Opportunity" => take_page(
                &answers,
                plan,
                page_size,
                &mut last,
                &mut response.opportunities,
            )
            .map(|(rows, total)| (rows, rows, total)),
            "Task" => take_page(&answers, plan, page_size, &mut last, &mut response.tasks)
                .map(|(rows, total)| (rows, rows, total)),
            "Lead" => {
                let mut leads: Vec<LeadRow> = Vec::new();
                take_page(&answers, plan, page_size, &mut last, &mut leads).map(|(rows, total)| {
                    let before = response.leads.len();
                    for row in leads {
                        if row.is_converted {
                            // Converted since the client saw it (or never seen: then a no-op).
                            response.deleted.push(DeletedRecord {
                                object: name.to_string(),
                                id: row.lead.id,
                                deleted_date: Some(row.lead.system_modstamp),
                            });
                        } else {
                            response.leads.push(row.lead);
                        }
                    }
                    (rows, (response.leads.len() - before) as u64, total)
                })
            }
            other => unreachable!("no record type for {other}"),
        }?;
        // `total` counts all that remain on an object's first page, and at most a page and a
        // row on later ones (then the cursor's count, less the records of this page, is the
        // estimate: the count left converted leads out, so they are not taken off it).
        let more = total > rows;
        let remaining = match plan.cursor.remaining {
            Some(before) if more => before.saturating_sub(records).max(total - rows),
            _ => total.saturating_sub(rows),
        };
        response.more |= more;
        response.objects.insert(
            name.to_string(),
            ObjectProgress {
                records,
                remaining,
                more,
            },
        );
        let cursor = Cursor {
            object: name.to_string(),
            after: last,
            deletes_since: Some(deletes.latest_date_covered),
            remaining: more.then_some(remaining),
        };
        response
            .cursors
            .insert(name.to_string(), signer.encode(&user.org_id, &cursor));
    }
    Ok(response)
}

/// Moves at most `page_size` rows of the plan's query answer into `records` and advances `last`
/// to the greatest position among them. Returns (rows kept, the query's total size).
fn take_page<T: Replicated>(
    answers: &CompositeResponse,
    plan: &Plan,
    page_size: usize,
    last: &mut Option<Position>,
    records: &mut Vec<T>,
) -> Result<(u64, u64), GatewayError> {
    let batch: Batch<T> = answers.json(&plan.query_ref())?;
    // Keyset paging makes any prefix of the ordered batch a valid page.
    let rows = batch.records.into_iter().take(page_size);
    let before = records.len();
    for row in rows {
        let position = row_position(plan.spec.name, row.id(), row.system_modstamp())?;
        if last
            .as_ref()
            .is_none_or(|l| (&position.system_modstamp, &position.id) > (&l.system_modstamp, &l.id))
        {
            *last = Some(position);
        }
        records.push(row);
    }
    Ok(((records.len() - before) as u64, batch.total_size))
}

/// Every object's query and delete-log read in one Composite call.
async fn fetch(
    upstream: &Upstream,
    user_id: &str,
    plans: &[Plan],
) -> Result<CompositeResponse, GatewayError> {
    let mut request = CompositeRequest::new(false);
    for plan in plans {
        let end = plan.deletes_from + DELETE_LOG_WINDOW;
        request.query(&plan.query_ref(), &plan.soql)?;
        request.deleted(&plan.deleted_ref(), plan.spec.name, plan.deletes_from, end)?;
    }
    composite(upstream, user_id, &request).await
}

async fn composite(
    upstream: &Upstream,
    user_id: &str,
    request: &CompositeRequest,
) -> Result<CompositeResponse, GatewayError> {
    upstream
        .call(user_id, |session| {
            let client = upstream.client.clone();
            let request = request.clone();
            async move { client.composite(&session, &request).await }
        })
        .await
}

/// `POST /v1/sync/counts`: one `COUNT()` per object that sharing can hide, in one Composite call
/// (5 objects: exactly Salesforce's 5 queries per Composite). Accounts are read by every rep in
/// this org model, but counting them too costs nothing extra. Leads: the open ones only.
pub async fn counts(upstream: &Upstream, user: &User) -> Result<CountsResponse, GatewayError> {
    let mut request = CompositeRequest::new(false);
    for name in SYNC_OBJECTS {
        let spec = object_spec(name).expect("every SYNC_OBJECTS entry has a spec");
        let mut soql = format!("SELECT COUNT() FROM {name}");
        if let Some(flag) = spec.gone_when {
            soql.push_str(&format!(" WHERE {flag} = false"));
        }
        request.query(&format!("n{name}"), &soql)?;
    }
    let answers = composite(upstream, &user.user_id, &request).await?;
    let mut counts = BTreeMap::new();
    for name in SYNC_OBJECTS {
        let batch: Batch<serde::de::IgnoredAny> = answers.json(&format!("n{name}"))?;
        counts.insert(name.to_string(), batch.total_size);
    }
    Ok(CountsResponse { counts })
}

/// `POST /v1/sync/ids`: the next page of ids the rep may see, in id order.
pub async fn ids(
    upstream: &Upstream,
    user: &User,
    request: IdsRequest,
) -> Result<IdsResponse, GatewayError> {
    let spec = object_spec(&request.object).ok_or_else(|| {
        GatewayError::BadRequest(format!(
            "cannot list {:?}; objects are {}",
            request.object,
            SYNC_OBJECTS.join(", ")
        ))
    })?;
    let after = match request.after.as_deref() {
        None => None,
        Some(text) => Some(
            id_position(text)
                .map_err(|e| GatewayError::BadRequest(format!("after is not a record id: {e}")))?,
        ),
    };
    let mut conditions = Vec::new();
    if let Some(flag) = spec.gone_when {
        conditions.push(format!("{flag} = false"));
    }
    if let Some(after) = &after {
        conditions.push(format!("Id > {}", soql::string_literal(after.as_str())));
    }
    let mut soql = format!("SELECT Id FROM {}", spec.name);
    if !conditions.is_empty() {
        soql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    soql.push_str(&format!(" ORDER BY Id LIMIT {IDS_PAGE_SIZE}"));
    let rows = upstream
        .call(&user.user_id, |session| {
            let client = upstream.client.clone();
            let soql = soql.clone();
            async move {
                client
                    .query::<Value>(&session, &soql, salesforce::QueryOptions::default())
                    .await
            }
        })
        .await?;
    let ids = rows
        .records
        .iter()
        .map(|row| {
            row.get("Id")
                .and_then(Value::as_str)
                .and_then(|id| RecordId::parse_for(spec.name, id).ok())
                .map(|id| id.to_string())
                .ok_or_else(|| {
                    GatewayError::Salesforce(salesforce::Error::Decode(format!(
                        "{} id row without a valid Id",
                        spec.name
                    )))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = (ids.len() >= IDS_PAGE_SIZE)
        .then(|| ids.last().cloned())
        .flatten();
    Ok(IdsResponse { ids, next })
}

/// A datetime as Salesforce renders one (`2024-05-01T10:00:00.000+0000`), as `SystemModstamp`
/// comes: so every `deleted_date` has one form.
fn salesforce_datetime(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    )
}

/// `after` of `POST /v1/sync/ids`: a place in id order, so any 15- or 18-character id will do,
/// whatever its object; an 18-character one with a wrong suffix stands for its first 15
/// characters.
fn id_position(text: &str) -> Result<RecordId, salesforce::IdError> {
    match RecordId::parse(text) {
        Err(salesforce::IdError::Checksum) => RecordId::parse(&text[..15]),
        other => other,
    }
}

fn row_position(object: &str, id: &str, stamp: &str) -> Result<Position, GatewayError> {
    let bad = |what: &str| {
        GatewayError::Salesforce(salesforce::Error::Decode(format!("{object} row: {what}")))
    };
    Ok(Position {
        id: RecordId::parse_for(object, id).map_err(|e| bad(&e.to_string()))?,
        system_modstamp: soql::parse_datetime(stamp).map_err(|e| bad(&e.to_string()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn any_well_formed_id_is_a_place_in_id_order() {
        let at = |text: &str| id_position(text).map(|id| id.to_string());
        assert_eq!(at("0031U00000V0tkD").unwrap(), "0031U00000V0tkDQAR");
        assert_eq!(at("0031U00000V0tkDQAR").unwrap(), "0031U00000V0tkDQAR");
        assert_eq!(at("0031U00000V0tkDAAA").unwrap(), "0031U00000V0tkDQAR");
        assert_eq!(at("000000000000000000").unwrap(), "000000000000000AAA");
        assert!(at("0031U00000V0tkDQA").is_err());
        assert!(at("0031U00000V0tk-QAR").is_err());
    }

    #[test]
    fn first_page_has_no_where_clause() {
        assert_eq!(
            page_query(&ACCOUNT, None, None),
            "SELECT Id, Name, Industry, Phone, Website, BillingStreet, BillingCity, BillingState, \
             BillingPostalCode, BillingCountry, OwnerId, SystemModstamp FROM Account \
             ORDER BY SystemModstamp, Id"
        );
    }

    #[test]
    fn next_page_is_keyset_on_stamp_and_id() {
        let after = Position {
            system_modstamp: datetime!(2024-05-01 10:00:00 UTC),
            id: RecordId::parse("0031U00000V0tkD").unwrap(),
        };
        assert_eq!(
            page_query(&CONTACT, Some(&after), None),
            "SELECT Id, FirstName, LastName, Name, Email, Phone, MobilePhone, Title, AccountId, OwnerId, \
             SystemModstamp FROM Contact WHERE SystemModstamp > 2024-05-01T10:00:00Z OR \
             (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0031U00000V0tkDQAR') \
             ORDER BY SystemModstamp, Id"
        );
        assert!(page_query(&CONTACT, Some(&after), Some(2001))
            .ends_with("ORDER BY SystemModstamp, Id LIMIT 2001"));
    }

    #[test]
    fn leads_from_scratch_are_the_open_ones_and_later_pages_see_conversions() {
        assert_eq!(
            page_query(&LEAD, None, None),
            "SELECT Id, FirstName, LastName, Name, Company, Title, Email, Phone, MobilePhone, \
             LeadSource, Status, OwnerId, SystemModstamp, IsConverted FROM Lead \
             WHERE IsConverted = false ORDER BY SystemModstamp, Id"
        );
        let after = Position {
            system_modstamp: datetime!(2024-05-01 10:00:00.250 UTC),
            id: RecordId::parse("00Q8d0000000001").unwrap(),
        };
        let later = page_query(&LEAD, Some(&after), Some(2001));
        assert!(
            later.ends_with(
                "FROM Lead WHERE SystemModstamp > 2024-05-01T10:00:00.250Z OR \
                 (SystemModstamp = 2024-05-01T10:00:00.250Z AND Id > '00Q8d0000000001EAA') \
                 ORDER BY SystemModstamp, Id LIMIT 2001"
            ),
            "{later}"
        );
    }

    #[test]
    fn deleted_dates_are_in_salesforces_form() {
        assert_eq!(
            salesforce_datetime(datetime!(2024-05-01 12:00:00.25 +02:00)),
            "2024-05-01T10:00:00.250+0000"
        );
        assert_eq!(
            salesforce_datetime(datetime!(2024-05-01 10:00:00 UTC)),
            "2024-05-01T10:00:00.000+0000"
        );
    }

    #[test]
    fn every_selected_field_is_an_identifier() {
        for spec in SPECS {
            assert!(spec.fields.iter().all(|f| soql::is_identifier(f)));
            assert!(spec.fields.contains(&"Id") && spec.fields.contains(&"SystemModstamp"));
        }
        for name in SYNC_OBJECTS {
            assert!(object_spec(name).is_some(), "{name}");
        }
    }

    #[test]
    fn rows_yield_positions_and_bad_rows_are_errors() {
        let id = "0011U00000V0tkDQAR";
        let p = row_position("Account", id, "2024-05-01T10:00:00.000+0000").unwrap();
        assert_eq!(p.system_modstamp, datetime!(2024-05-01 10:00:00 UTC));
        assert!(
            row_position("Contact", id, "2024-05-01T10:00:00.000+0000").is_err(),
            "an Account id in a Contact row"
        );
        assert!(row_position("Account", id, "yesterday").is_err());
    }
}
