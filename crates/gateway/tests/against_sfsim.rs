//! The real gateway against the real sfsim: sign-in, sessions, sync, refresh.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use companion_api::{code, AuthConfig, ExchangeRequest, SyncRequest, User};
use companion_gateway::Tuning;
use sfsim::SimConfig;
use support::{error_of, Env, REDIRECT_URI, REP};

fn tuning_with_page(size: usize) -> Tuning {
    Tuning {
        sync_page_size: size,
        ..Tuning::default()
    }
}

#[tokio::test]
async fn auth_config_lists_the_login_host_and_client() {
    let env = Env::default().await;
    let config: AuthConfig = env
        .http
        .get(env.url("/v1/auth/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config.client_id, sfsim::DEMO_CLIENT_ID);
    assert_eq!(config.login_hosts.len(), 1);
    assert_eq!(config.login_hosts[0].url, env.sim.base_url());
    assert_eq!(
        config.login_hosts[0].authorize_url,
        format!("{}/services/oauth2/authorize", env.sim.base_url())
    );
    assert_eq!(config.scopes, vec!["api", "refresh_token"]);
    let health = env.http.get(env.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    env.shutdown().await;
}

#[tokio::test]
async fn sign_in_through_the_form_then_me() {
    let env = Env::default().await;
    let signed_in = env.sign_in(REP).await;
    let expected = User {
        user_id: env.sim.user_id(REP).unwrap(),
        org_id: env.sim.org_id(),
        username: REP.into(),
        display_name: signed_in.user.display_name.clone(),
        email: REP.into(),
    };
    assert_eq!(signed_in.user, expected);
    assert!(!signed_in.user.display_name.is_empty());
    assert_eq!(signed_in.session_token.len(), 43);

    let me: User = env
        .http
        .get(env.url("/v1/me"))
        .bearer_auth(&signed_in.session_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, expected);

    // Unknown session → reauth_required; no header → unauthenticated.
    let (status, body) = error_of(
        env.http
            .get(env.url("/v1/me"))
            .bearer_auth("not-a-session")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (401, code::REAUTH_REQUIRED)
    );
    let (status, body) = error_of(env.http.get(env.url("/v1/me")).send().await.unwrap()).await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (401, code::UNAUTHENTICATED)
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_used_or_wrong_code_is_a_clear_400() {
    let env = Env::default().await;
    let (code_value, verifier) = env.authorize(REP).await;
    let request = ExchangeRequest {
        code: code_value,
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI.into(),
        login_host: env.sim.base_url(),
    };
    assert_eq!(env.exchange_raw(&request).await.status(), 200);
    // The same code again.
    let (status, body) = error_of(env.exchange_raw(&request).await).await;
    assert_eq!((status, body.error.code.as_str()), (400, code::BAD_REQUEST));
    assert!(
        body.error.message.contains("invalid_grant"),
        "{}",
        body.error.message
    );
    assert!(!body.error.message.contains(sfsim::DEMO_CLIENT_SECRET));
    env.shutdown().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let response = env
        .http
        .post(env.url("/v1/auth/logout"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, body) = error_of(
        env.http
            .get(env.url("/v1/me"))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (401, code::REAUTH_REQUIRED)
    );
    env.shutdown().await;
}

fn ids<T>(records: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    records.iter().map(|r| id(r).to_string()).collect()
}

/// What rep may see in sfsim: every account, and the contacts rep owns.
fn visible_ids(env: &Env, object: &str) -> BTreeSet<String> {
    let rep = env.sim.user_id(REP).unwrap();
    env.sim
        .records(object)
        .into_iter()
        .filter(|r| object == "Account" || r["OwnerId"] == rep.as_str())
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn first_sync_pages_through_all_of_reps_records_without_loss_or_duplicates() {
    // A small page makes the keyset walk many pages, across the seed's many records that share
    // one SystemModstamp (an import).
    let env = Env::start(SimConfig::default(), tuning_with_page(7)).await;
    let session = env.sign_in(REP).await.session_token;
    let pages = env.sync_all(&session, SyncRequest::default()).await;
    assert!(pages.len() > 10, "expected many pages, got {}", pages.len());

    let accounts: Vec<String> = pages
        .iter()
        .flat_map(|p| ids(&p.accounts, |a| &a.id))
        .collect();
    let contacts: Vec<String> = pages
        .iter()
        .flat_map(|p| ids(&p.contacts, |c| &c.id))
        .collect();
    let account_set: BTreeSet<String> = accounts.iter().cloned().collect();
    let contact_set: BTreeSet<String> = contacts.iter().cloned().collect();
    assert_eq!(account_set.len(), accounts.len(), "an account came twice");
    assert_eq!(contact_set.len(), contacts.len(), "a contact came twice");
    assert_eq!(account_set, visible_ids(&env, "Account"));
    assert_eq!(contact_set, visible_ids(&env, "Contact"));
    assert!(!contact_set.is_empty());

    // Ties really were crossed: some stamp is shared by more records than a page holds.
    let mut per_stamp: BTreeMap<String, usize> = BTreeMap::new();
    for page in &pages {
        for c in &page.contacts {
            *per_stamp.entry(c.system_modstamp.clone()).or_default() += 1;
        }
    }
    assert!(
        per_stamp.values().any(|n| *n > 7),
        "no tie larger than a page in the seed"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn delta_sync_returns_just_the_changed_contact() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let pages = env.sync_all(&session, SyncRequest::default()).await;
    let cursors = pages.last().unwrap().cursors.clone();
    assert_eq!(pages.len(), 1, "the demo org fits one default page");
    let contact = pages[0].contacts[5].clone();

    // Nothing changed: nothing comes, and the cursors stay as they were.
    let quiet = env
        .sync(
            &session,
            &SyncRequest {
                cursors: cursors.clone(),
            },
        )
        .await;
    assert!(quiet.accounts.is_empty() && quiet.contacts.is_empty() && !quiet.more);

    env.sim
        .update_record(
            "Contact",
            &contact.id,
            serde_json::json!({"Title": "Chief Wombat Officer"}),
        )
        .unwrap();
    let delta = env
        .sync(
            &session,
            &SyncRequest {
                cursors: cursors.clone(),
            },
        )
        .await;
    assert_eq!(ids(&delta.contacts, |c| &c.id), vec![contact.id.clone()]);
    assert_eq!(
        delta.contacts[0].title.as_deref(),
        Some("Chief Wombat Officer")
    );
    assert!(delta.accounts.is_empty());
    assert!(!delta.more);

    let after = env
        .sync(
            &session,
            &SyncRequest {
                cursors: delta.cursors.clone(),
            },
        )
        .await;
    assert!(after.contacts.is_empty() && after.accounts.is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn forged_or_foreign_cursors_are_400() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    let first = env.sync(&session, &SyncRequest::default()).await;
    let good = first.cursors["Contact"].clone();

    let mut forged = good.clone();
    let flip = if forged.ends_with('A') { "B" } else { "A" };
    forged.replace_range(forged.len() - 1.., flip);
    let cases = [
        ("Contact", forged),
        ("Contact", "garbage".to_string()),
        ("Account", good.clone()), // a Contact cursor used for Account
        ("Opportunity", good.clone()),
    ];
    for (object, cursor) in cases {
        let request = SyncRequest {
            cursors: BTreeMap::from([(object.to_string(), cursor.clone())]),
        };
        let (status, body) = error_of(env.sync_raw(&session, &request).await).await;
        assert_eq!(
            (status, body.error.code.as_str()),
            (400, code::BAD_REQUEST),
            "{object} {cursor}"
        );
    }
    // Not JSON at all.
    let response = env
        .http
        .post(env.url("/v1/sync"))
        .bearer_auth(&session)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!((status, body.error.code.as_str()), (400, code::BAD_REQUEST));
    env.shutdown().await;
}

#[tokio::test]
async fn an_expired_salesforce_session_is_refreshed_transparently() {
    let env = Env::default().await;
    let signed_in = env.sign_in(REP).await;
    let first = env
        .sync(&signed_in.session_token, &SyncRequest::default())
        .await;
    assert_eq!(env.token_generation(&signed_in.user.user_id), 1);

    env.sim.expire_access_tokens();
    let again = env
        .sync(&signed_in.session_token, &SyncRequest::default())
        .await;
    assert_eq!(again.contacts.len(), first.contacts.len());
    assert_eq!(
        env.token_generation(&signed_in.user.user_id),
        2,
        "one refresh"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn fifty_concurrent_requests_after_expiry_cause_one_refresh_with_rotation() {
    let env = Arc::new(
        Env::start(
            SimConfig {
                refresh_token_rotation: true,
                control: true,
                ..SimConfig::default()
            },
            Tuning::default(),
        )
        .await,
    );
    let signed_in = env.sign_in(REP).await;
    let refreshes = || async {
        let stats = env.sim_stats().await;
        stats["token_requests"]["refresh_token"]
            .as_u64()
            .unwrap_or(0)
    };
    let expected = env
        .sync(&signed_in.session_token, &SyncRequest::default())
        .await
        .contacts
        .len();
    env.sim.expire_access_tokens();

    let before = refreshes().await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let env = env.clone();
        let session = signed_in.session_token.clone();
        tasks.push(tokio::spawn(async move {
            let response = env.sync_raw(&session, &SyncRequest::default()).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            (status, text)
        }));
    }
    for task in tasks {
        let (status, text) = task.await.unwrap();
        assert_eq!(status, 200, "{text}");
        let page: companion_api::SyncResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(page.contacts.len(), expected);
    }
    assert_eq!(
        refreshes().await - before,
        1,
        "exactly one refresh at Salesforce"
    );
    assert_eq!(
        env.token_generation(&signed_in.user.user_id),
        2,
        "one new set of tokens stored"
    );

    // With rotation, the rotated token still works for the next expiry.
    env.sim.expire_access_tokens();
    env.sync(&signed_in.session_token, &SyncRequest::default())
        .await;
    assert_eq!(env.token_generation(&signed_in.user.user_id), 3);
    let env = Arc::into_inner(env).expect("tasks done");
    env.shutdown().await;
}

#[tokio::test]
async fn a_refused_refresh_token_means_reauth_required() {
    let env = Env::default().await;
    let signed_in = env.sign_in(REP).await;
    env.sync(&signed_in.session_token, &SyncRequest::default())
        .await;
    // The org forgets every token: the access token gets 401, the refresh gets invalid_grant.
    let env = env.restart_sim().await;
    let (status, body) = error_of(
        env.sync_raw(&signed_in.session_token, &SyncRequest::default())
            .await,
    )
    .await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (401, code::REAUTH_REQUIRED),
        "{}",
        body.error.message
    );
    // The session is over too; signing in again works.
    let (status, _) = error_of(
        env.http
            .get(env.url("/v1/me"))
            .bearer_auth(&signed_in.session_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let again = env.sign_in(REP).await;
    env.sync(&again.session_token, &SyncRequest::default())
        .await;
    env.shutdown().await;
}

#[tokio::test]
async fn logout_of_one_device_ends_the_users_other_sessions() {
    let env = Env::default().await;
    let first = env.sign_in(REP).await;
    let second = env.sign_in(REP).await;
    let response = env
        .http
        .post(env.url("/v1/auth/logout"))
        .bearer_auth(&second.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // The refresh token both shared is revoked at Salesforce: the other session must sign in again.
    let (status, body) = error_of(
        env.sync_raw(&first.session_token, &SyncRequest::default())
            .await,
    )
    .await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (401, code::REAUTH_REQUIRED)
    );
    env.shutdown().await;
}

#[tokio::test]
async fn metrics_show_the_orgs_api_usage_as_salesforce_last_reported_it() {
    let env = Env::default().await;
    let metrics = |env: &Env| {
        let request = env.http.get(env.url("/metrics"));
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert!(
        !metrics(&env)
            .await
            .contains("companion_salesforce_api_usage"),
        "nothing is known before the first Salesforce call"
    );
    let session = env.sign_in(REP).await.session_token;
    env.sync_all(&session, SyncRequest::default()).await;
    let text = metrics(&env).await;
    let used = env.sim.api_calls();
    assert!(
        text.lines()
            .any(|line| line == format!("companion_salesforce_api_usage {used}")),
        "usage {used} in:\n{text}"
    );
    assert!(text
        .lines()
        .any(|line| line == "companion_salesforce_api_limit 15000"));
    env.shutdown().await;
}
