//! Calling Salesforce on a user's behalf: refresh-on-401 with one refresh per user at a time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use salesforce::{IdentityIds, OAuthApp, RestSession};

use crate::store::{SalesforceTokens, Store};
use crate::{now_unix, GatewayError};

pub struct Upstream {
    pub client: salesforce::Client,
    pub app: OAuthApp,
    store: Store,
    /// One async mutex per user: refreshes of one user are serialised (rotation makes a
    /// second, concurrent refresh with the same refresh token revoke the whole family).
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Upstream {
    pub fn new(client: salesforce::Client, app: OAuthApp, store: Store) -> Self {
        Upstream {
            client,
            app,
            store,
            refresh_locks: Mutex::new(HashMap::new()),
        }
    }

    /// Run `call` with the user's session; on `401 INVALID_SESSION_ID` refresh (or pick up a
    /// refresh another task just made) and run it once more.
    pub async fn call<T, F, Fut>(&self, user_id: &str, call: F) -> Result<T, GatewayError>
    where
        F: Fn(RestSession) -> Fut,
        Fut: Future<Output = Result<T, salesforce::Error>>,
    {
        let tokens = self.current_tokens(user_id).await?;
        match call(rest_session(&tokens)?).await {
            Err(e) if e.is_session_expired() => {
                tracing::debug!(user_id, "Salesforce session expired; refreshing");
                let fresh = self.refresh_after(user_id, tokens.generation).await?;
                Ok(call(rest_session(&fresh)?).await?)
            }
            other => Ok(other?),
        }
    }

    async fn current_tokens(&self, user_id: &str) -> Result<SalesforceTokens, GatewayError> {
        self.store
            .tokens(user_id)
            .await?
            .ok_or_else(|| GatewayError::ReauthRequired("sign in to Salesforce again".into()))
    }

    fn lock_for(&self, user_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.refresh_locks
            .lock()
            .expect("refresh lock map")
            .entry(user_id.to_string())
            .or_default()
            .clone()
    }

    /// Refresh the user's access token unless someone already did since `seen_generation`.
    /// One refresh per user at a time in this process (the lock map) and across instances
    /// (the store's token lock): with rotation on, a second refresh with the same refresh
    /// token would revoke the whole token family.
    async fn refresh_after(
        &self,
        user_id: &str,
        seen_generation: i64,
    ) -> Result<SalesforceTokens, GatewayError> {
        let lock = self.lock_for(user_id);
        let _guard = lock.lock().await;
        let held = self.store.lock_tokens(user_id).await?;
        let Some(current) = held.tokens().cloned() else {
            return Err(GatewayError::ReauthRequired(
                "sign in to Salesforce again".into(),
            ));
        };
        if current.generation != seen_generation {
            // Someone refreshed meanwhile; dropping the lock releases it.
            return Ok(current);
        }
        let Some(refresh_token) = current.refresh_token.as_deref() else {
            return Err(GatewayError::ReauthRequired(
                "the Salesforce session expired and there is no refresh token: sign in again"
                    .into(),
            ));
        };
        let token = match self
            .client
            .refresh_token(&current.login_host, &self.app, refresh_token)
            .await
        {
            Ok(token) => token,
            Err(e) if e.is_invalid_grant() => {
                tracing::info!(
                    user_id,
                    "Salesforce refused the refresh token; the user must sign in again"
                );
                held.forget().await?;
                return Err(GatewayError::ReauthRequired(
                    "Salesforce no longer accepts this sign-in: sign in again".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let ids = IdentityIds::from_identity_url(&token.id)?;
        if ids.user_id.as_str() != user_id {
            return Err(GatewayError::Internal(
                "a refresh answered for another user".into(),
            ));
        }
        held.store_refreshed(
            &token.instance_url,
            &token.access_token,
            token.refresh_token.as_deref(),
            now_unix(),
        )
        .await?;
        tracing::info!(
            user_id,
            rotated = token.refresh_token.is_some(),
            "refreshed the Salesforce session"
        );
        self.current_tokens(user_id).await
    }
}

fn rest_session(tokens: &SalesforceTokens) -> Result<RestSession, GatewayError> {
    Ok(RestSession::new(
        &tokens.instance_url,
        tokens.access_token.clone(),
    )?)
}
