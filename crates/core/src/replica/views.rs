//! What the screens read: lists, details, filters. Every `id` is the Salesforce id (or the local
//! id of a record made on this device and not yet in Salesforce); fields are snake_case when
//! serialized. Records show the rep's pending changes (the outbox lays them over the replica),
//! and each item says whether changes of it wait to be sent (`pending`).

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::outbox::{shown_state, RECORD_PENDING_STATE};
use super::{is_a_search, search, Replica};
use crate::error::CoreError;
use crate::writes::PendingState;

/// One contact as the list and search screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ContactSummary {
    /// The Salesforce id.
    pub id: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub account_name: Option<String>,
    /// Changes of this contact not yet in Salesforce: where the most urgent stands.
    pub pending: Option<PendingState>,
}

/// `Replica::contacts`: everything sorted by name, or the best matches of `search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct ContactQuery {
    /// Word prefixes of name, email, phone, title, account name; `None` or blank lists all.
    pub search: Option<String>,
    /// `None`: no limit.
    pub limit: Option<u32>,
    pub offset: u32,
    /// The list without a search, from after this contact on (keyset paging: the next page
    /// costs the same wherever it starts); `offset` is then not used.
    pub after: Option<ContactKey>,
}

/// Where a contact sits in the list sorted by name: its name and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ContactKey {
    pub name: String,
    pub id: String,
}

/// A page of the contacts list, and how many contacts the whole list has (`None` when
/// searching: matches are ranked, the best first, and not counted).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ContactPage {
    pub items: Vec<ContactSummary>,
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

/// A contact with its account, the account's open opportunities and the contact's recent tasks.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ContactDetail {
    pub id: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub title: Option<String>,
    pub account_id: Option<String>,
    pub owner_id: String,
    pub system_modstamp: String,
    pub pending: Option<PendingState>,
    pub account: Option<AccountSummary>,
    pub open_opportunities: Vec<OpportunitySummary>,
    /// Tasks whose WhoId is this contact, newest first (ActivityDate, then SystemModstamp), ≤ 20.
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub phone: Option<String>,
    pub billing_city: Option<String>,
}

/// An account with its contacts, open opportunities and recent tasks (WhatId = the account).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: AccountSummary,
    pub website: Option<String>,
    /// The billing address besides its city (in `account`): street (may hold several lines),
    /// state, postal code, country.
    pub billing_street: Option<String>,
    pub billing_state: Option<String>,
    pub billing_postal_code: Option<String>,
    pub billing_country: Option<String>,
    pub owner_id: String,
    pub system_modstamp: String,
    pub contacts: Vec<ContactSummary>,
    pub open_opportunities: Vec<OpportunitySummary>,
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct OpportunitySummary {
    pub id: String,
    pub name: String,
    pub stage_name: String,
    pub amount: Option<f64>,
    /// `YYYY-MM-DD`.
    pub close_date: String,
    pub probability: Option<f64>,
    pub is_closed: bool,
    pub is_won: bool,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    pub next_step: Option<String>,
    pub pending: Option<PendingState>,
}

/// An opportunity with its account and recent tasks (WhatId = the opportunity). Contact roles
/// are not replicated.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct OpportunityDetail {
    #[serde(flatten)]
    pub opportunity: OpportunitySummary,
    pub owner_id: String,
    pub system_modstamp: String,
    pub account: Option<AccountSummary>,
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TaskSummary {
    pub id: String,
    pub subject: Option<String>,
    pub status: String,
    pub priority: Option<String>,
    pub task_subtype: Option<String>,
    /// Due date, `YYYY-MM-DD`.
    pub activity_date: Option<String>,
    pub who_id: Option<String>,
    pub what_id: Option<String>,
    pub description: Option<String>,
    pub is_closed: bool,
    /// A call or task made on this device and not yet in Salesforce.
    pub pending: Option<PendingState>,
}

/// One of the rep's open leads, as the leads list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LeadSummary {
    pub id: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub company: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub status: String,
    pub lead_source: Option<String>,
    pub pending: Option<PendingState>,
}

/// A lead with its recent activity (tasks whose WhoId is the lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadSummary,
    pub owner_id: String,
    /// Empty for a lead made on this device and not yet in Salesforce.
    pub system_modstamp: String,
    pub recent_tasks: Vec<TaskSummary>,
}

/// `Replica::leads`: sorted by name, or the best matches of `search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct LeadQuery {
    /// Word prefixes of name, email, phone, title, company; `None` or blank lists all.
    pub search: Option<String>,
    /// `None`: no limit.
    pub limit: Option<u32>,
    pub offset: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum OpportunitySort {
    /// Soonest close date first.
    #[default]
    CloseDate,
    /// Largest amount first; no amount last.
    AmountDesc,
    Name,
}

/// `Replica::opportunities`: filters combine (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct OpportunityQuery {
    /// Exact StageName.
    pub stage: Option<String>,
    /// Open opportunities closing between today and today + N days.
    pub closing_within_days: Option<u32>,
    pub min_amount: Option<f64>,
    pub sort: OpportunitySort,
    /// `None`: no limit.
    pub limit: Option<u32>,
    pub offset: u32,
}

/// One result of the search box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SearchHit {
    /// `Contact`, `Account`, `Opportunity` or `Lead`.
    pub object: &'static str,
    pub id: String,
    pub title: String,
    /// E.g. a contact's title and account, an opportunity's account and stage.
    pub subtitle: Option<String>,
    pub pending: Option<PendingState>,
}

/// Which connection a read goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The screens' connection.
    Reader,
    /// The writer's, for a record a Save just wrote: SQLite empties a connection's page cache
    /// whenever another connection has written, so the reader would read (and decrypt) every
    /// page of it again, while the writer's cache still holds them.
    Writer,
}

impl Replica {
    fn connection(&self, via: Via) -> std::sync::MutexGuard<'_, Connection> {
        match via {
            Via::Reader => self.reader(),
            Via::Writer => self.writer(),
        }
    }
}

/// Recent tasks listed on a detail screen.
const RECENT_TASKS: i64 = 20;

fn sql_limit(limit: Option<u32>) -> i64 {
    limit.map_or(-1, i64::from)
}

impl Replica {
    /// Every contact sorted by name, or the best matches of `search` (word prefixes of name,
    /// email, phone, title, account name; case and accents ignored).
    pub(crate) fn contacts(&self, search: Option<&str>) -> Result<Vec<ContactSummary>, CoreError> {
        self.contacts_page(&ContactQuery {
            search: search.map(str::to_owned),
            ..Default::default()
        })
    }

    /// Contacts sorted by name (or by relevance when searching), a page at a time.
    pub(crate) fn contacts_page(
        &self,
        query: &ContactQuery,
    ) -> Result<Vec<ContactSummary>, CoreError> {
        let (limit, offset) = (sql_limit(query.limit), i64::from(query.offset));
        if let Some(text) = query.search.as_deref().filter(|text| is_a_search(text)) {
            return self.contact_matches(text, limit, offset);
        }
        let reauth = self.reauth_required();
        let conn = self.reader();
        let columns = contact_summary_columns();
        match &query.after {
            Some(after) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {columns}
                     FROM contact c LEFT JOIN account a ON a.id = c.account_id
                     WHERE c.name COLLATE NOCASE >= ?1
                       AND (c.name COLLATE NOCASE > ?1 OR c.id > ?2)
                     ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?3"
                ))?;
                let rows = stmt.query_map((&after.name, &after.id, limit), |row| {
                    contact_summary(row, reauth)
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {columns}
                     FROM contact c LEFT JOIN account a ON a.id = c.account_id
                     ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt.query_map((limit, offset), |row| contact_summary(row, reauth))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
        }
    }

    pub(crate) fn contact(&self, id: &str) -> Result<Option<ContactDetail>, CoreError> {
        self.contact_via(Via::Reader, id)
    }

    pub(crate) fn contact_via(
        &self,
        via: Via,
        id: &str,
    ) -> Result<Option<ContactDetail>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.connection(via);
        let found = conn
            .prepare_cached(&format!(
                "SELECT id, name, first_name, last_name, email, phone, mobile_phone, title,
                        account_id, owner_id, system_modstamp, {}
                 FROM contact WHERE id = ?1",
                pending_of("contact.id")
            ))?
            .query_row([id], |row| {
                Ok(ContactDetail {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    first_name: row.get(2)?,
                    last_name: row.get(3)?,
                    email: row.get(4)?,
                    phone: row.get(5)?,
                    mobile_phone: row.get(6)?,
                    title: row.get(7)?,
                    account_id: row.get(8)?,
                    owner_id: row.get(9)?,
                    system_modstamp: row.get(10)?,
                    pending: pending_at(row, 11, reauth)?,
                    account: None,
                    open_opportunities: Vec::new(),
                    recent_tasks: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut contact) = found else {
            return Ok(None);
        };
        if let Some(account_id) = contact.account_id.as_deref() {
            contact.account = account_summary(&conn, account_id)?;
            contact.open_opportunities = open_opportunities(&conn, account_id, reauth)?;
        }
        contact.recent_tasks = recent_tasks(&conn, TaskLink::Who, id, reauth)?;
        Ok(Some(contact))
    }

    /// Accounts sorted by name.
    pub(crate) fn accounts(
        &self,
        limit: Option<u32>,
        offset: u32,
    ) -> Result<Vec<AccountSummary>, CoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, industry, phone, billing_city FROM account
             ORDER BY name COLLATE NOCASE, id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map((sql_limit(limit), i64::from(offset)), account_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn account(&self, id: &str) -> Result<Option<AccountDetail>, CoreError> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT id, name, industry, phone, billing_city, owner_id, system_modstamp,
                        website, billing_street, billing_state, billing_postal_code,
                        billing_country
                 FROM account WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    account_row(row)?,
                    row.get(5)?,
                    row.get(6)?,
                    [
                        row.get(7)?,
                        row.get(8)?,
                        row.get(9)?,
                        row.get(10)?,
                        row.get(11)?,
                    ],
                ))
            })
            .optional()?;
        let Some((account, owner_id, system_modstamp, more)) = found else {
            return Ok(None);
        };
        let [website, billing_street, billing_state, billing_postal_code, billing_country] = more;
        let reauth = self.reauth_required();
        let contacts = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {}
                 FROM contact c LEFT JOIN account a ON a.id = c.account_id
                 WHERE c.account_id = ?1 ORDER BY c.name COLLATE NOCASE, c.id",
                contact_summary_columns()
            ))?;
            let rows = stmt.query_map([id], |row| contact_summary(row, reauth))?;
            rows.collect::<Result<_, _>>()?
        };
        Ok(Some(AccountDetail {
            account,
            website,
            billing_street,
            billing_state,
            billing_postal_code,
            billing_country,
            owner_id,
            system_modstamp,
            contacts,
            open_opportunities: open_opportunities(&conn, id, reauth)?,
            recent_tasks: recent_tasks(&conn, TaskLink::What, id, reauth)?,
        }))
    }

    /// Opportunities filtered and sorted as asked, with their account name. "Closing within"
    /// counts from today (UTC).
    pub(crate) fn opportunities(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<OpportunitySummary>, CoreError> {
        self.opportunities_as_of(query, OffsetDateTime::now_utc().date())
    }

    pub(crate) fn opportunities_as_of(
        &self,
        query: &OpportunityQuery,
        today: Date,
    ) -> Result<Vec<OpportunitySummary>, CoreError> {
        let mut conditions: Vec<&str> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(stage) = &query.stage {
            params.push(Value::Text(stage.clone()));
            conditions.push("o.stage_name = ?");
        }
        if let Some(days) = query.closing_within_days {
            let until = today
                .checked_add(Duration::days(i64::from(days)))
                .unwrap_or(Date::MAX);
            params.push(Value::Text(iso_date(today)));
            params.push(Value::Text(iso_date(until)));
            conditions.push("o.is_closed = 0 AND o.close_date BETWEEN ? AND ?");
        }
        if let Some(min) = query.min_amount {
            if !min.is_finite() {
                return Err(CoreError::BadInput(format!("not an amount: {min}")));
            }
            params.push(Value::Real(min));
            conditions.push("o.amount >= ?");
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let order = match query.sort {
            OpportunitySort::CloseDate => "o.close_date, o.name COLLATE NOCASE, o.id",
            OpportunitySort::AmountDesc => "o.amount DESC NULLS LAST, o.name COLLATE NOCASE, o.id",
            OpportunitySort::Name => "o.name COLLATE NOCASE, o.id",
        };
        params.push(Value::Integer(sql_limit(query.limit)));
        params.push(Value::Integer(i64::from(query.offset)));
        let reauth = self.reauth_required();
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {}
             FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
             {filter} ORDER BY {order} LIMIT ? OFFSET ?",
            opportunity_summary_columns()
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            opportunity_summary(row, reauth)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn opportunity(&self, id: &str) -> Result<Option<OpportunityDetail>, CoreError> {
        self.opportunity_via(Via::Reader, id)
    }

    pub(crate) fn opportunity_via(
        &self,
        via: Via,
        id: &str,
    ) -> Result<Option<OpportunityDetail>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.connection(via);
        let found = conn
            .prepare_cached(&format!(
                "SELECT {}, o.owner_id, o.system_modstamp
                 FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
                 WHERE o.id = ?1",
                opportunity_summary_columns()
            ))?
            .query_row([id], |row| {
                Ok((
                    opportunity_summary(row, reauth)?,
                    row.get(OPPORTUNITY_SUMMARY_WIDTH)?,
                    row.get(OPPORTUNITY_SUMMARY_WIDTH + 1)?,
                ))
            })
            .optional()?;
        let Some((opportunity, owner_id, system_modstamp)) = found else {
            return Ok(None);
        };
        let account = match opportunity.account_id.as_deref() {
            Some(account_id) => account_summary(&conn, account_id)?,
            None => None,
        };
        Ok(Some(OpportunityDetail {
            opportunity,
            owner_id,
            system_modstamp,
            account,
            recent_tasks: recent_tasks(&conn, TaskLink::What, id, reauth)?,
        }))
    }

    /// The rep's open leads sorted by name (those made on this device included), or the best
    /// matches of `search` (word prefixes of name, email, phone, title, company).
    pub(crate) fn leads(&self, query: &LeadQuery) -> Result<Vec<LeadSummary>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.reader();
        let (limit, offset) = (sql_limit(query.limit), i64::from(query.offset));
        let columns = lead_summary_columns();
        match query.search.as_deref().and_then(search::fts_query) {
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {columns} FROM lead l
                     ORDER BY l.name COLLATE NOCASE, l.id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt.query_map((limit, offset), |row| lead_summary(row, reauth))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Some(fts) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {columns}
                     FROM search s JOIN lead l ON l.rowid = s.rowid / 4
                     WHERE search MATCH ?1 AND s.rowid % 4 = 0
                     ORDER BY {RANK}, l.name COLLATE NOCASE, l.id LIMIT ?2 OFFSET ?3",
                    RANK = search::RANK
                ))?;
                let rows = stmt.query_map((fts, limit, offset), |row| lead_summary(row, reauth))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
        }
    }

    /// A call or task by id.
    pub(crate) fn task(&self, id: &str) -> Result<Option<TaskSummary>, CoreError> {
        self.task_via(Via::Reader, id)
    }

    pub(crate) fn task_via(&self, via: Via, id: &str) -> Result<Option<TaskSummary>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.connection(via);
        let found = conn
            .prepare_cached(&format!(
                "SELECT {TASK_COLUMNS}, {} FROM task WHERE id = ?1",
                pending_of("task.id")
            ))?
            .query_row([id], |row| task_summary(row, reauth))
            .optional()?;
        Ok(found)
    }

    pub(crate) fn lead(&self, id: &str) -> Result<Option<LeadDetail>, CoreError> {
        self.lead_via(Via::Reader, id)
    }

    pub(crate) fn lead_via(&self, via: Via, id: &str) -> Result<Option<LeadDetail>, CoreError> {
        let reauth = self.reauth_required();
        let conn = self.connection(via);
        let found = conn
            .prepare_cached(&format!(
                "SELECT {}, l.owner_id, l.system_modstamp FROM lead l WHERE l.id = ?1",
                lead_summary_columns()
            ))?
            .query_row([id], |row| {
                Ok(LeadDetail {
                    lead: lead_summary(row, reauth)?,
                    owner_id: row.get(LEAD_SUMMARY_WIDTH)?,
                    system_modstamp: row.get(LEAD_SUMMARY_WIDTH + 1)?,
                    recent_tasks: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut lead) = found else {
            return Ok(None);
        };
        lead.recent_tasks = recent_tasks(&conn, TaskLink::Who, id, reauth)?;
        Ok(Some(lead))
    }
}

/// The pending state of the record whose id is `id_column`, as an SQL expression.
pub(super) fn pending_of(id_column: &str) -> String {
    RECORD_PENDING_STATE.replace("{ID}", id_column)
}

/// Sets each item's pending state (none when the outbox is empty, the usual case: one look).
pub(super) fn mark_pending<T>(
    conn: &Connection,
    items: &mut [T],
    id: impl Fn(&T) -> &str,
    set: impl Fn(&mut T, Option<PendingState>),
    reauth: bool,
) -> Result<(), CoreError> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox)")?
        .query_row([], |row| row.get(0))?;
    if !any {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(&format!("SELECT {}", pending_of("?1")))?;
    for item in items.iter_mut() {
        let state: Option<String> = stmt.query_row([id(item)], |row| row.get(0))?;
        set(item, state.map(|s| shown_state(&s, reauth)));
    }
    Ok(())
}

/// The pending state in column `index` of `row`, as the rep sees it.
pub(super) fn pending_at(
    row: &Row<'_>,
    index: usize,
    reauth_required: bool,
) -> rusqlite::Result<Option<PendingState>> {
    Ok(row
        .get::<_, Option<String>>(index)?
        .map(|state| shown_state(&state, reauth_required)))
}

const LEAD_SUMMARY_WIDTH: usize = 12;

fn lead_summary_columns() -> String {
    format!(
        "l.id, l.name, l.first_name, l.last_name, l.company, l.title, l.email, l.phone,
         l.mobile_phone, l.status, l.lead_source, {}",
        pending_of("l.id")
    )
}

fn lead_summary(row: &Row<'_>, reauth: bool) -> rusqlite::Result<LeadSummary> {
    Ok(LeadSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        company: row.get(4)?,
        title: row.get(5)?,
        email: row.get(6)?,
        phone: row.get(7)?,
        mobile_phone: row.get(8)?,
        status: row.get(9)?,
        lead_source: row.get(10)?,
        pending: pending_at(row, 11, reauth)?,
    })
}

fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub(super) fn contact_summary_columns() -> String {
    format!(
        "c.id, c.name, c.first_name, c.last_name, c.email, c.phone, c.title, a.name, {}",
        pending_of("c.id")
    )
}

pub(super) fn contact_summary(row: &Row<'_>, reauth: bool) -> rusqlite::Result<ContactSummary> {
    Ok(ContactSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        title: row.get(6)?,
        account_name: row.get(7)?,
        pending: pending_at(row, 8, reauth)?,
    })
}

fn account_row(row: &Row<'_>) -> rusqlite::Result<AccountSummary> {
    Ok(AccountSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        industry: row.get(2)?,
        phone: row.get(3)?,
        billing_city: row.get(4)?,
    })
}

fn account_summary(conn: &Connection, id: &str) -> Result<Option<AccountSummary>, CoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, industry, phone, billing_city FROM account WHERE id = ?1",
        )?
        .query_row([id], account_row)
        .optional()?)
}

const OPPORTUNITY_SUMMARY_WIDTH: usize = 12;

fn opportunity_summary_columns() -> String {
    format!(
        "o.id, o.name, o.stage_name, o.amount, o.close_date, o.probability, o.is_closed, \
         o.is_won, o.account_id, a.name, o.next_step, {}",
        pending_of("o.id")
    )
}

fn opportunity_summary(row: &Row<'_>, reauth: bool) -> rusqlite::Result<OpportunitySummary> {
    Ok(OpportunitySummary {
        id: row.get(0)?,
        name: row.get(1)?,
        stage_name: row.get(2)?,
        amount: row.get(3)?,
        close_date: row.get(4)?,
        probability: row.get(5)?,
        is_closed: row.get(6)?,
        is_won: row.get(7)?,
        account_id: row.get(8)?,
        account_name: row.get(9)?,
        next_step: row.get(10)?,
        pending: pending_at(row, 11, reauth)?,
    })
}

/// An account's open opportunities, soonest close date first.
fn open_opportunities(
    conn: &Connection,
    account_id: &str,
    reauth: bool,
) -> Result<Vec<OpportunitySummary>, CoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}
         FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
         WHERE o.account_id = ?1 AND o.is_closed = 0
         ORDER BY o.close_date, o.name COLLATE NOCASE, o.id",
        opportunity_summary_columns()
    ))?;
    let rows = stmt.query_map([account_id], |row| opportunity_summary(row, reauth))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

enum TaskLink {
    Who,
    What,
}

/// Newest first: ActivityDate (none last), then the ones made on this device (not stamped by
/// Salesforce yet), then SystemModstamp.
fn recent_tasks(
    conn: &Connection,
    link: TaskLink,
    id: &str,
    reauth: bool,
) -> Result<Vec<TaskSummary>, CoreError> {
    let column = match link {
        TaskLink::Who => "who_id",
        TaskLink::What => "what_id",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS}, {}
         FROM task WHERE {column} = ?1
         ORDER BY activity_date DESC, system_modstamp = '' DESC, system_modstamp DESC LIMIT ?2",
        pending_of("task.id")
    ))?;
    let rows = stmt.query_map((id, RECENT_TASKS), |row| task_summary(row, reauth))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const TASK_COLUMNS: &str = "id, subject, status, priority, task_subtype, activity_date, who_id, \
     what_id, description, is_closed";

fn task_summary(row: &Row<'_>, reauth: bool) -> rusqlite::Result<TaskSummary> {
    Ok(TaskSummary {
        id: row.get(0)?,
        subject: row.get(1)?,
        status: row.get(2)?,
        priority: row.get(3)?,
        task_subtype: row.get(4)?,
        activity_date: row.get(5)?,
        who_id: row.get(6)?,
        what_id: row.get(7)?,
        description: row.get(8)?,
        is_closed: row.get(9)?,
        pending: pending_at(row, 10, reauth)?,
    })
}
