//! REST data API calls (reference §2).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::client::{join, parse_base_url, API_VERSION};
use crate::error::api_error;
use crate::{Client, Error, Result};

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

impl Client {
    /// Run a SOQL query; returns the first batch.
    pub async fn query<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        soql: &str,
        options: QueryOptions,
    ) -> Result<QueryResult<T>> {
        let mut url = join(
            &session.instance_url,
            &format!("/services/data/v{API_VERSION}/query"),
        )?;
        url.query_pairs_mut().append_pair("q", soql);
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

    async fn get_json<T: DeserializeOwned>(
        &self,
        session: &RestSession,
        url: Url,
        options: QueryOptions,
    ) -> Result<T> {
        let mut request = self
            .http
            .get(url)
            .bearer_auth(&session.access_token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(size) = options.batch_size {
            request = request.header("Sforce-Query-Options", format!("batchSize={size}"));
        }
        let response = request.send().await.map_err(Error::from_transport)?;
        self.record_limit_info(response.headers());
        let status = response.status();
        let body = response.bytes().await.map_err(Error::from_transport)?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &body));
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }
}
