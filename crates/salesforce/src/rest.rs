//! REST data API calls (reference §2).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::client::{join, parse_base_url, Call, API_VERSION};
use crate::{soql, Client, Error, Result};

/// Who is calling and where: a user's instance URL and access token. `Debug` hides the token.
#[derive(Clone)]
pub struct RestSession {
    pub instance_url: Url,
    pub access_token: String,
}

impl RestSession {
    pub fn new(instance_url: &str, access_token: impl Into<String>) -> Result<Self> {
        Ok(RestSession {
            instance_url: parse_base_url(instance_url)?,
            access_token: access_token.into(),
        })
    }

    /// The session a token response opens (its `instance_url` and access token).
    pub fn from_token(token: &crate::TokenResponse) -> Result<Self> {
        Self::new(&token.instance_url, token.access_token.clone())
    }
}

impl std::fmt::Debug for RestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSession")
            .field("instance_url", &self.instance_url.as_str())
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// One page of a query (reference §2.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult<T> {
    pub total_size: u64,
    pub done: bool,
    /// Present while `done` is false: follow it with [`Client::query_more`].
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<T>,
}

/// Options of a query.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions {
    /// `Sforce-Query-Options: batchSize=N` (200–2000; Salesforce may send fewer).
    pub batch_size: Option<u32>,
}

/// The API name of an object (`Contact`, `Custom__c`): an identifier, no path. Checked before
/// it goes into a URL.
pub(crate) fn check_object_name(name: &str) -> Result<()> {
    if soql::is_identifier(name) && !name.contains('.') {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{:?} is not an object name",
            name.chars().take(64).collect::<String>()
        )))
    }
}

/// A field's API name (`LastName`, `Ext_Id__c`): an identifier, no relationship path.
pub(crate) fn check_field_name(name: &str) -> Result<()> {
    if soql::is_identifier(name) && !name.contains('.') {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{:?} is not a field name",
            name.chars().take(64).collect::<String>()
        )))
    }
}

/// The path `/services/data/vXX.X/<segments…>`, each segment percent-encoded, with an optional
/// query. Used for direct calls and for composite subrequest URLs.
pub(crate) fn data_path(segments: &[&str], query: &[(&str, &str)]) -> Result<String> {
    // A throwaway base: only the path and query of the result are used.
    let mut url = Url::parse("http://salesforce.invalid/services/data").expect("static URL");
    url.path_segments_mut()
        .map_err(|_| Error::InvalidUrl("base cannot have a path".into()))?
        .push(&format!("v{API_VERSION}"))
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}

/// The session's instance URL + [`data_path`].
pub(crate) fn data_url(
    session: &RestSession,
    segments: &[&str],
    query: &[(&str, &str)],
) -> Result<Url> {
    join(&session.instance_url, &data_path(segments, query)?)
}

/// Usage of one limit in `GET /limits` (reference §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LimitUsage {
    pub max: u64,
    pub remaining: u64,
}

/// The answer of `GET /services/data/vXX.X/limits`.
#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    #[serde(rename = "DailyApiRequests")]
    pub daily_api_requests: LimitUsage,
    /// Every other limit as Salesforce sent it.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Client {
    /// Run a SOQL query; returns the first batch.
    pub async fn query<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        soql: &str,
        options: QueryOptions,
    ) -> Result<QueryResult<T>> {
        let url = data_url(session, &["query"], &[("q", soql)])?;
        self.get_json(session, url, options).await
    }

    /// `queryAll`: like [`Client::query`] but deleted (`IsDeleted = true`) and archived rows are
    /// included. Its `nextRecordsUrl` says `/query/` yet continues the queryAll: follow it with
    /// [`Client::query_more`].
    pub async fn query_all<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        soql: &str,
        options: QueryOptions,
    ) -> Result<QueryResult<T>> {
        let url = data_url(session, &["queryAll"], &[("q", soql)])?;
        self.get_json(session, url, options).await
    }

    /// Follow a `nextRecordsUrl`. Only a path under `/services/data/` on the session's own
    /// instance is followed, never a URL to elsewhere.
    pub async fn query_more<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        next_records_url: &str,
        options: QueryOptions,
    ) -> Result<QueryResult<T>> {
        if !next_records_url.starts_with("/services/data/") || next_records_url.contains("//") {
            return Err(Error::InvalidUrl(
                "nextRecordsUrl is not a path under /services/data/".into(),
            ));
        }
        let url = join(&session.instance_url, next_records_url)?;
        self.get_json(session, url, options).await
    }

    /// Run a query and follow `nextRecordsUrl` until done. For bounded queries (with `LIMIT`).
    pub async fn query_all_batches<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        soql: &str,
        options: QueryOptions,
    ) -> Result<Vec<T>> {
        let mut page: QueryResult<T> = self.query(session, soql, options).await?;
        let mut records = std::mem::take(&mut page.records);
        while !page.done {
            let Some(next) = page.next_records_url.take() else {
                return Err(Error::Decode("done is false but no nextRecordsUrl".into()));
            };
            page = self.query_more(session, &next, options).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }

    /// The org's limits (`DailyApiRequests` and the rest).
    pub async fn limits(&self, session: &RestSession) -> Result<Limits> {
        let url = data_url(session, &["limits"], &[])?;
        self.send(session, Call::get(url)).await?.json("limits")
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        url: Url,
        options: QueryOptions,
    ) -> Result<T> {
        let mut call = Call::get(url);
        if let Some(size) = options.batch_size {
            call = call.header("sforce-query-options", &format!("batchSize={size}"))?;
        }
        self.send(session, call).await?.json("query result")
    }
}
