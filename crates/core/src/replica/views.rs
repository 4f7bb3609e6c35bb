//! What the screens read: lists, details, filters. Every `id` is the Salesforce id; fields are
//! snake_case when serialized.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::{search, Replica};
use crate::error::CoreError;

/// One contact as the list and search screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// `Replica::contacts`: everything sorted by name, or the best matches of `search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactQuery {
    /// Word prefixes of name, email, phone, title, account name; `None` or blank lists all.
    pub search: Option<String>,
    /// `None`: no limit.
    pub limit: Option<u32>,
    pub offset: u32,
}

/// A contact with its account, the account's open opportunities and the contact's recent tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub account: Option<AccountSummary>,
    pub open_opportunities: Vec<OpportunitySummary>,
    /// Tasks whose WhoId is this contact, newest first (ActivityDate, then SystemModstamp), ≤ 20.
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub phone: Option<String>,
    pub billing_city: Option<String>,
}

/// An account with its contacts, open opportunities and recent tasks (WhatId = the account).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: AccountSummary,
    pub owner_id: String,
    pub system_modstamp: String,
    pub contacts: Vec<ContactSummary>,
    pub open_opportunities: Vec<OpportunitySummary>,
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// An opportunity with its account and recent tasks (WhatId = the opportunity). Contact roles
/// are not replicated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpportunityDetail {
    #[serde(flatten)]
    pub opportunity: OpportunitySummary,
    pub owner_id: String,
    pub system_modstamp: String,
    pub account: Option<AccountSummary>,
    pub recent_tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// `Contact`, `Account` or `Opportunity`.
    pub object: &'static str,
    pub id: String,
    pub title: String,
    /// E.g. a contact's title and account, an opportunity's account and stage.
    pub subtitle: Option<String>,
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
            limit: None,
            offset: 0,
        })
    }

    /// Contacts sorted by name (or by relevance when searching), a page at a time.
    pub(crate) fn contacts_page(
        &self,
        query: &ContactQuery,
    ) -> Result<Vec<ContactSummary>, CoreError> {
        let conn = self.reader();
        let (limit, offset) = (sql_limit(query.limit), i64::from(query.offset));
        match query.search.as_deref().and_then(search::fts_query) {
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {CONTACT_SUMMARY_COLUMNS}
                     FROM contact c LEFT JOIN account a ON a.id = c.account_id
                     ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt.query_map((limit, offset), contact_summary)?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            Some(fts) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {CONTACT_SUMMARY_COLUMNS}
                     FROM search s
                     JOIN contact c ON c.rowid = s.rowid / 4
                     LEFT JOIN account a ON a.id = c.account_id
                     WHERE search MATCH ?1 AND s.rowid % 4 = 2
                     ORDER BY {RANK}, c.name COLLATE NOCASE, c.id LIMIT ?2 OFFSET ?3",
                    RANK = search::RANK
                ))?;
                let rows = stmt.query_map((fts, limit, offset), contact_summary)?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
        }
    }

    pub(crate) fn contact(&self, id: &str) -> Result<Option<ContactDetail>, CoreError> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT id, name, first_name, last_name, email, phone, mobile_phone, title,
                        account_id, owner_id, system_modstamp
                 FROM contact WHERE id = ?1",
            )?
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
            contact.open_opportunities = open_opportunities(&conn, account_id)?;
        }
        contact.recent_tasks = recent_tasks(&conn, TaskLink::Who, id)?;
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
                "SELECT id, name, industry, phone, billing_city, owner_id, system_modstamp
                 FROM account WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((account_row(row)?, row.get(5)?, row.get(6)?))
            })
            .optional()?;
        let Some((account, owner_id, system_modstamp)) = found else {
            return Ok(None);
        };
        let contacts = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CONTACT_SUMMARY_COLUMNS}
                 FROM contact c LEFT JOIN account a ON a.id = c.account_id
                 WHERE c.account_id = ?1 ORDER BY c.name COLLATE NOCASE, c.id"
            ))?;
            let rows = stmt.query_map([id], contact_summary)?;
            rows.collect::<Result<_, _>>()?
        };
        Ok(Some(AccountDetail {
            account,
            owner_id,
            system_modstamp,
            contacts,
            open_opportunities: open_opportunities(&conn, id)?,
            recent_tasks: recent_tasks(&conn, TaskLink::What, id)?,
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
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {OPPORTUNITY_SUMMARY_COLUMNS}
             FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
             {filter} ORDER BY {order} LIMIT ? OFFSET ?"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), opportunity_summary)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn opportunity(&self, id: &str) -> Result<Option<OpportunityDetail>, CoreError> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(&format!(
                "SELECT {OPPORTUNITY_SUMMARY_COLUMNS}, o.owner_id, o.system_modstamp
                 FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
                 WHERE o.id = ?1"
            ))?
            .query_row([id], |row| {
                Ok((opportunity_summary(row)?, row.get(10)?, row.get(11)?))
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
            recent_tasks: recent_tasks(&conn, TaskLink::What, id)?,
        }))
    }
}

fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub(super) const CONTACT_SUMMARY_COLUMNS: &str =
    "c.id, c.name, c.first_name, c.last_name, c.email, c.phone, c.title, a.name";

pub(super) fn contact_summary(row: &Row<'_>) -> rusqlite::Result<ContactSummary> {
    Ok(ContactSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        title: row.get(6)?,
        account_name: row.get(7)?,
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

const OPPORTUNITY_SUMMARY_COLUMNS: &str = "o.id, o.name, o.stage_name, o.amount, o.close_date, \
     o.probability, o.is_closed, o.is_won, o.account_id, a.name";

fn opportunity_summary(row: &Row<'_>) -> rusqlite::Result<OpportunitySummary> {
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
    })
}

/// An account's open opportunities, soonest close date first.
fn open_opportunities(
    conn: &Connection,
    account_id: &str,
) -> Result<Vec<OpportunitySummary>, CoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OPPORTUNITY_SUMMARY_COLUMNS}
         FROM opportunity o LEFT JOIN account a ON a.id = o.account_id
         WHERE o.account_id = ?1 AND o.is_closed = 0
         ORDER BY o.close_date, o.name COLLATE NOCASE, o.id"
    ))?;
    let rows = stmt.query_map([account_id], opportunity_summary)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

enum TaskLink {
    Who,
    What,
}

/// Newest first: ActivityDate (none last), then SystemModstamp.
fn recent_tasks(
    conn: &Connection,
    link: TaskLink,
    id: &str,
) -> Result<Vec<TaskSummary>, CoreError> {
    let column = match link {
        TaskLink::Who => "who_id",
        TaskLink::What => "what_id",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, subject, status, priority, task_subtype, activity_date, who_id, what_id,
                description, is_closed
         FROM task WHERE {column} = ?1
         ORDER BY activity_date DESC, system_modstamp DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map((id, RECENT_TASKS), |row| {
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
