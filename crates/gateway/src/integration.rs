//! Integration-user mode: server-side work as the connected app's "Run As" user, through the
//! `client_credentials` grant against the org's My Domain host (reference §1.7). Nothing of this
//! is exposed to reps; it is for the gateway's own jobs.

use salesforce::{IdentityIds, OAuthApp, RestSession};

use crate::config::GatewayConfig;
use crate::GatewayError;

/// Hosts where Salesforce refuses the `client_credentials` grant ("request not supported on this
/// domain"): the generic login hosts. A My Domain URL is needed.
const GENERIC_LOGIN_HOSTS: &[&str] = &["login.salesforce.com", "test.salesforce.com"];

/// Checks the integration settings of a config: when enabled, a My Domain URL is required.
pub(crate) fn validate_config(config: &GatewayConfig) -> Result<(), GatewayError> {
    let Some(host) = &config.integration_login_host else {
        if config.integration_enabled {
            return Err(GatewayError::Config(
                "integration-user mode is enabled but integration_login_host \
                 (COMPANION_GATEWAY_INTEGRATION_LOGIN_HOST) is not set"
                    .into(),
            ));
        }
        return Ok(());
    };
    let url = salesforce::parse_base_url(host)
        .map_err(|e| GatewayError::Config(format!("integration_login_host: {e}")))?;
    if url
        .host_str()
        .is_some_and(|h| GENERIC_LOGIN_HOSTS.contains(&h.to_ascii_lowercase().as_str()))
    {
        return Err(GatewayError::Config(format!(
            "integration_login_host must be the org's My Domain URL (https://NAME.my.salesforce.com), \
             not {host}: Salesforce refuses the client-credentials grant there"
        )));
    }
    Ok(())
}

/// A session of the integration user.
#[derive(Debug)]
pub struct IntegrationSession {
    pub rest: RestSession,
    pub ids: IdentityIds,
}

/// Gets integration-user sessions for the configured org.
pub struct IntegrationUser {
    client: salesforce::Client,
    app: OAuthApp,
    my_domain_url: String,
}

impl IntegrationUser {
    /// `None` when integration-user mode is off.
    pub fn from_config(
        config: &GatewayConfig,
        client: salesforce::Client,
    ) -> Result<Option<Self>, GatewayError> {
        validate_config(config)?;
        if !config.integration_enabled {
            return Ok(None);
        }
        let my_domain_url = config
            .integration_login_host
            .clone()
            .expect("validated: enabled implies a host");
        Ok(Some(IntegrationUser {
            client,
            app: OAuthApp::new(config.client_id.clone(), config.client_secret.clone()),
            my_domain_url,
        }))
    }

    /// A fresh access token of the "Run As" user (signature checked). There is no refresh token
    /// for this grant: when the session expires, call this again.
    pub async fn session(&self) -> Result<IntegrationSession, GatewayError> {
        let token = self
            .client
            .client_credentials(&self.my_domain_url, &self.app)
            .await?;
        let ids = token.identity_ids()?;
        tracing::info!(user_id = %ids.user_id, org_id = %ids.org_id, "integration user signed in");
        Ok(IntegrationSession {
            rest: RestSession::new(&token.instance_url, token.access_token)?,
            ids,
        })
    }

    pub fn client(&self) -> &salesforce::Client {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client() -> salesforce::Client {
        salesforce::Client::new(salesforce::ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .unwrap()
    }

    fn config(host: Option<&str>, enabled: bool) -> GatewayConfig {
        let mut config = GatewayConfig::new(
            "https://login.salesforce.com",
            sfsim::DEMO_CLIENT_ID,
            sfsim::DEMO_CLIENT_SECRET,
            "unused",
            [7; 32],
        );
        config.integration_login_host = host.map(str::to_string);
        config.integration_enabled = enabled;
        config
    }

    async fn sim(run_as: Option<&str>) -> sfsim::Sim {
        sfsim::start(
            "127.0.0.1:0".parse().unwrap(),
            sfsim::SimConfig {
                client_credentials_user: run_as.map(str::to_string),
                ..sfsim::SimConfig::default()
            },
        )
        .await
        .unwrap()
    }

    #[test]
    fn enabled_needs_a_my_domain_url() {
        assert!(validate_config(&config(None, false)).is_ok());
        let err = validate_config(&config(None, true)).unwrap_err();
        assert!(err.to_string().contains("integration_login_host"), "{err}");
        let err = validate_config(&config(Some("https://login.salesforce.com"), true)).unwrap_err();
        assert!(err.to_string().contains("My Domain"), "{err}");
        assert!(validate_config(&config(Some("not a url"), true)).is_err());
        assert!(validate_config(&config(Some("https://acme.my.salesforce.com"), true)).is_ok());
        assert!(IntegrationUser::from_config(&config(None, false), client())
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn the_run_as_user_gets_a_working_session_on_the_my_domain_host() {
        let sim = sim(Some("admin@demo.example")).await;
        let user = IntegrationUser::from_config(&config(Some(&sim.base_url()), true), client())
            .unwrap()
            .unwrap();
        let session = user.session().await.unwrap();
        assert_eq!(
            Some(session.ids.user_id.to_string()),
            sim.user_id("admin@demo.example")
        );
        assert_eq!(session.ids.org_id.to_string(), sim.org_id());
        // The token works for REST.
        let contacts: salesforce::QueryResult<serde_json::Value> = user
            .client()
            .query(
                &session.rest,
                "SELECT Id FROM Contact LIMIT 1",
                salesforce::QueryOptions::default(),
            )
            .await
            .unwrap();
        assert!(contacts.total_size > 0);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn the_grant_is_refused_off_my_domain_or_without_a_run_as_user() {
        let sim = sim(Some("admin@demo.example")).await;
        // Same socket under another name: sfsim plays the generic login host there.
        let generic = sim.base_url().replace("127.0.0.1", "localhost");
        let user = IntegrationUser::from_config(&config(Some(&generic), true), client())
            .unwrap()
            .unwrap();
        let err = user.session().await.unwrap_err().to_string();
        assert!(err.contains("not supported on this domain"), "{err}");
        sim.shutdown().await;

        let sim = sim_without_run_as().await;
        let user = IntegrationUser::from_config(&config(Some(&sim.base_url()), true), client())
            .unwrap()
            .unwrap();
        let err = user.session().await.unwrap_err().to_string();
        assert!(err.contains("no client credentials user"), "{err}");
        sim.shutdown().await;
    }

    async fn sim_without_run_as() -> sfsim::Sim {
        sim(None).await
    }
}
