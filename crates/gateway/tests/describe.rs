//! `GET /v1/describe/{object}` against sfsim: the picklists the screens offer, cached per org.

mod support;

use companion_api::{DescribeResponse, PicklistEntry};
use support::{error_of, Env, REP};

async fn describe(env: &Env, session: &str, object: &str) -> reqwest::Response {
    env.http
        .get(env.url(&format!("/v1/describe/{object}")))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
}

async fn described(env: &Env, session: &str, object: &str) -> DescribeResponse {
    let response = describe(env, session, object).await;
    assert_eq!(response.status(), 200, "{object}");
    response.json().await.unwrap()
}

fn values(entries: &[PicklistEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.value.as_str()).collect()
}

#[tokio::test]
async fn stages_come_with_probabilities_and_other_picklists_with_their_defaults() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;

    let opportunity = described(&env, &session, "Opportunity").await;
    // The reference's stage table: value, probability, closed, won.
    let expected = [
        ("Prospecting", 10.0, false, false),
        ("Qualification", 10.0, false, false),
        ("Needs Analysis", 20.0, false, false),
        ("Value Proposition", 50.0, false, false),
        ("Id. Decision Makers", 60.0, false, false),
        ("Perception Analysis", 70.0, false, false),
        ("Proposal/Price Quote", 75.0, false, false),
        ("Negotiation/Review", 90.0, false, false),
        ("Closed Won", 100.0, true, true),
        ("Closed Lost", 0.0, true, false),
    ];
    let stages: Vec<(&str, f64, bool, bool)> = opportunity.picklists["StageName"]
        .iter()
        .map(|s| {
            (
                s.value.as_str(),
                s.probability.expect("a stage has a probability"),
                s.closed.unwrap(),
                s.won.unwrap(),
            )
        })
        .collect();
    assert_eq!(stages, expected);

    let lead = described(&env, &session, "Lead").await;
    let status = &lead.picklists["Status"];
    assert_eq!(
        values(status),
        [
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted"
        ]
    );
    assert!(status[0].default && status.iter().skip(1).all(|s| !s.default));
    assert!(status.iter().all(|s| s.probability.is_none()));

    let task = described(&env, &session, "Task").await;
    assert_eq!(
        values(&task.picklists["Status"]),
        [
            "Not Started",
            "In Progress",
            "Completed",
            "Waiting on someone else",
            "Deferred"
        ]
    );
    assert_eq!(
        values(&task.picklists["Priority"]),
        ["High", "Normal", "Low"]
    );
    assert!(values(&task.picklists["TaskSubtype"]).contains(&"Call"));
    env.shutdown().await;
}

#[tokio::test]
async fn an_orgs_describe_is_fetched_once_for_all_its_reps() {
    let env = Env::default().await;
    let rep = env.sign_in(REP).await.session_token;
    let rep2 = env.sign_in("rep2@demo.example").await.session_token;
    let before = env.sim.api_calls();
    let first = described(&env, &rep, "Opportunity").await;
    assert_eq!(
        env.sim.api_calls() - before,
        2,
        "describe + the stage query"
    );
    let again = described(&env, &rep2, "Opportunity").await;
    assert_eq!(again, first);
    assert_eq!(env.sim.api_calls() - before, 2, "served from the cache");
    env.shutdown().await;
}

#[tokio::test]
async fn objects_outside_the_list_and_missing_sessions_are_refused() {
    let env = Env::default().await;
    let session = env.sign_in(REP).await.session_token;
    for object in [
        "User",
        "Account%27%20OR%201",
        "Contact..%2F..%2Flimits",
        "opportunity",
    ] {
        let (status, error) = error_of(describe(&env, &session, object).await).await;
        assert_eq!(
            (status, error.error.code.as_str()),
            (400, "bad_request"),
            "{object}"
        );
    }
    let response = env
        .http
        .get(env.url("/v1/describe/Contact"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    env.shutdown().await;
}

/// Salesforce's refusals keep their meaning: a describe Salesforce says is not there is 404,
/// the org's API allocation used up is 429 with a wait — not "Salesforce failed" (502).
#[tokio::test]
async fn salesforce_refusals_answer_as_what_they_are() {
    let env = Env::start(
        sfsim::SimConfig {
            control: true,
            ..sfsim::SimConfig::default()
        },
        companion_gateway::Tuning::default(),
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    let fault = |status: u16| {
        let url = format!("{}/__sim/faults", env.sim.base_url());
        let http = env.http.clone();
        async move {
            let response = http
                .post(url)
                .json(&serde_json::json!({"status": status, "path": "/services/data/"}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    };
    fault(404).await;
    let (status, error) = error_of(describe(&env, &session, "Contact").await).await;
    assert_eq!((status, error.error.code.as_str()), (404, "not_found"));
    fault(403).await;
    let response = describe(&env, &session, "Contact").await;
    assert_eq!(response.headers()["retry-after"], "60");
    let (status, error) = error_of(response).await;
    assert_eq!((status, error.error.code.as_str()), (429, "rate_limited"));
    // Nothing was cached from the refusals.
    described(&env, &session, "Contact").await;
    env.shutdown().await;
}
