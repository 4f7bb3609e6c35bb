//! The limits around every route: a request waits at most `request_timeout` (504), at most
//! `max_concurrent_requests` are served at once (more are shed: 503), hint streams have their
//! own cap (`max_event_streams`), and the probes answer whatever the load. Salesforce is made
//! slow with sfsim's `delay_ms` fault.

mod support;

use std::time::{Duration, Instant};

use companion_api::{code, SyncRequest};
use companion_gateway::{GatewayConfig, Tuning};
use serde_json::json;
use sfsim::SimConfig;
use support::{error_of, Env, REP};

/// sfsim with faults enabled, and a gateway with `configure`'s settings.
async fn start(configure: impl FnOnce(&mut GatewayConfig), tuning: Tuning) -> Env {
    let sim_config = SimConfig {
        control: true,
        ..SimConfig::default()
    };
    Env::start_configured(sim_config, tuning, configure).await
}

/// sfsim holds its next `count` REST calls for `ms` before handling them.
async fn delay_salesforce(env: &Env, ms: u64, count: u32) {
    let fault = json!({"delay_ms": ms, "count": count, "path": "/services/data/"});
    support::queue_fault(&env.http, &env.sim.base_url(), &fault).await;
}

/// One sample of `/metrics`, e.g. `companion_requests_in_flight`.
async fn metric(env: &Env, name: &str) -> u64 {
    let text = env
        .http
        .get(env.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in:\n{text}"))
        .parse()
        .unwrap()
}

/// Polls `/metrics` until `name` is `value` (at most 20 s).
async fn wait_for_metric(env: &Env, name: &str, value: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = metric(env, name).await;
        if now == value {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed {now}, not {value}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const IN_FLIGHT: &str = "companion_requests_in_flight";
const SHED: &str = "companion_requests_shed_total{limit=\"max_concurrent_requests\"}";
const STREAMS_SHED: &str = "companion_requests_shed_total{limit=\"max_event_streams\"}";
const STREAMS_OPEN: &str = "companion_event_streams_open";

#[tokio::test]
async fn over_the_concurrency_limit_a_request_is_shed_while_the_probes_answer() {
    let env = start(
        |config| config.max_concurrent_requests = 2,
        Tuning::default(),
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    assert_eq!(metric(&env, IN_FLIGHT).await, 0);

    // Salesforce holds the next two calls: two syncs take both places and keep them.
    delay_salesforce(&env, 5_000, 2).await;
    let syncs: Vec<_> = (0..2)
        .map(|_| {
            let request = env
                .http
                .post(env.url("/v1/sync"))
                .bearer_auth(&session)
                .json(&SyncRequest::default());
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    wait_for_metric(&env, IN_FLIGHT, 2).await;

    // A third is refused at once, in the error shape, with a wait.
    let third = env.sync_raw(&session, &SyncRequest::default()).await;
    assert_eq!(third.headers()["retry-after"], "1");
    let (status, body) = error_of(third).await;
    assert_eq!((status, body.error.code.as_str()), (503, code::UNAVAILABLE));
    assert_eq!(body.error.retry_after, Some(1));
    // The probes are outside the limit.
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let response = env.http.get(env.url(probe)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{probe}");
    }
    assert_eq!(metric(&env, SHED).await, 1);
    assert_eq!(metric(&env, IN_FLIGHT).await, 2, "still held");

    // The two finish as usual, and their places are free again.
    for sync in syncs {
        let response = sync.await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    assert_eq!(metric(&env, IN_FLIGHT).await, 0);
    env.sync(&session, &SyncRequest::default()).await;
    env.shutdown().await;
}

#[tokio::test]
async fn a_request_past_the_timeout_answers_504_in_the_error_shape() {
    let timeout = Duration::from_secs(2);
    let env = start(
        |_| {},
        Tuning {
            request_timeout: Some(timeout),
            ..Tuning::default()
        },
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    delay_salesforce(&env, 6_000, 1).await;
    let started = Instant::now();
    let response = env.sync_raw(&session, &SyncRequest::default()).await;
    let waited = started.elapsed();
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status, body.error.code.as_str()),
        (504, code::UPSTREAM_UNAVAILABLE)
    );
    assert!(body.error.message.contains("2 s"), "{}", body.error.message);
    assert!(
        waited >= timeout && waited < Duration::from_secs(5),
        "answered at the timeout, not when Salesforce did: {waited:?}"
    );
    // Its place is free, and the next sync (Salesforce no longer slow) answers.
    assert_eq!(metric(&env, IN_FLIGHT).await, 0);
    env.sync(&session, &SyncRequest::default()).await;
    env.shutdown().await;
}

#[tokio::test]
async fn hint_streams_have_their_own_cap_and_hold_no_request_place() {
    let env = start(
        |config| {
            config.max_concurrent_requests = 1;
            config.max_event_streams = 2;
        },
        Tuning::default(),
    )
    .await;
    let session = env.sign_in(REP).await.session_token;
    let open = || {
        env.http
            .get(env.url("/v1/events"))
            .bearer_auth(&session)
            .send()
    };
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open().await.unwrap();
    assert_eq!(third.headers()["retry-after"], "1");
    let (status, body) = error_of(third).await;
    assert_eq!((status, body.error.code.as_str()), (503, code::UNAVAILABLE));
    assert_eq!(metric(&env, STREAMS_OPEN).await, 2);
    assert_eq!(metric(&env, STREAMS_SHED).await, 1);

    // Two open streams and a one-request limit: requests still pass.
    let me = env
        .http
        .get(env.url("/v1/me"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(metric(&env, IN_FLIGHT).await, 0);
    assert_eq!(metric(&env, SHED).await, 0);
    env.shutdown().await;
    drop((first, second));
}
