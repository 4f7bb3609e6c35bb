//! The outbox through `Companion` and a fake gateway: sending in dependency order, offline,
//! the session ending, signing out, another rep on the device. (Against the real gateway and
//! sfsim: `tests/write_path.rs`.)

use std::sync::Arc;

use super::tests::{closed_port_url, first_sync_pages, Fixture};
use super::*;
use crate::testing::{self, FakeGateway};
use crate::writes::{NewCall, NewLead, PendingState};

fn grace() -> NewLead {
    NewLead {
        first_name: Some("Grace".into()),
        last_name: "Hopper".into(),
        company: "Navy Labs".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_lead_and_a_call_about_it_go_in_order_and_the_local_id_keeps_working() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();

    let lead = companion.create_lead(grace()).unwrap();
    let local = lead.lead.id.clone();
    let call = companion
        .log_call(NewCall {
            about: local.clone(),
            subject: Some("Intro".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(call.who_id.as_deref(), Some(local.as_str()));
    assert_eq!(
        call.activity_date.as_deref(),
        Some(crate::writes::local_today().as_str()),
        "dated the rep's local today"
    );
    assert_eq!(companion.status().pending, 2);

    let report = companion.push_now().await.unwrap();
    assert_eq!(
        (report.sent, report.requests),
        (2, 2),
        "the call goes after its lead"
    );
    let batches = gateway.bodies_to("/v1/batch");
    assert_eq!(batches[0]["writes"][0]["kind"], "create_lead");
    let real = companion.lead(&local).unwrap().unwrap().lead.id;
    assert!(real.starts_with("00Q"), "{real}");
    assert_eq!(
        batches[1]["writes"][0]["body"]["fields"]["WhoId"],
        real.as_str()
    );
    assert!(companion.pending().unwrap().is_empty());
    assert_eq!(companion.status().pending, 0);
    // The local id still opens the lead, with its call.
    let RecordDetail::Lead(shown) = companion.show(&local).unwrap() else {
        panic!("a lead");
    };
    assert_eq!(shown.lead.id, real);
    assert_eq!(shown.recent_tasks.len(), 1);
    assert_eq!(shown.recent_tasks[0].pending, None);
    gateway.stop().await;
}

#[tokio::test]
async fn offline_a_save_needs_no_network_and_a_push_keeps_it_waiting() {
    let fx = Fixture::new();
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    drop(companion);
    gateway.stop().await;

    let companion = fx.open(&closed_port_url());
    companion.create_lead(grace()).unwrap();
    let err = companion.push_now().await.unwrap_err();
    assert_eq!(err.kind(), "offline");
    let pending = companion.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, PendingState::Waiting);
    assert_eq!(pending[0].attempts, 1);
    assert!(pending[0].next_attempt_at.is_some(), "it backs off");
    assert_eq!(companion.status().outbox.waiting, 1);
    assert_eq!(companion.leads(&Default::default()).unwrap().len(), 1);
}

#[tokio::test]
async fn when_the_session_ends_writes_wait_for_sign_in_and_go_after_it() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.create_lead(grace()).unwrap();

    gateway.require_reauth();
    let err = companion.push_now().await.unwrap_err();
    assert_eq!(err.kind(), "reauth_required");
    let status = companion.status();
    assert!(status.reauth_required);
    assert_eq!(status.outbox.waiting_for_sign_in, 1);
    assert_eq!(
        companion.pending().unwrap()[0].state,
        PendingState::WaitingForSignIn
    );
    let lead = &companion.leads(&Default::default()).unwrap()[0];
    assert_eq!(lead.pending, Some(PendingState::WaitingForSignIn));
    assert_eq!(gateway.written().len(), 0);

    // Signing in again as the same rep: the write goes, once.
    drop(companion);
    gateway.sign_in_as(testing::user(), "second-session");
    let companion = fx.signed_in(&gateway).await;
    assert!(!companion.status().reauth_required);
    let report = companion.push_now().await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(gateway.written().len(), 1);
    assert!(companion.pending().unwrap().is_empty());
    gateway.stop().await;
}

#[tokio::test]
async fn signing_out_with_pending_writes_is_refused_unless_the_rep_discards_them() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.create_lead(grace()).unwrap();
    companion
        .log_call(NewCall {
            about: "003000000000001AAA".into(),
            ..Default::default()
        })
        .unwrap();

    let err = companion.sign_out(false).await.unwrap_err();
    assert_eq!(err.kind(), "pending_changes");
    assert!(err.to_string().starts_with("2 changes"), "{err}");
    assert!(companion.current_user().is_some(), "still signed in");
    assert_eq!(companion.status().pending, 2);

    companion.sign_out(true).await.unwrap();
    assert!(companion.current_user().is_none());
    // Signing in again: the discarded changes are gone, the replica is not.
    let companion = fx.signed_in(&gateway).await;
    assert_eq!(companion.status().pending, 0);
    assert!(companion.leads(&Default::default()).unwrap().is_empty());
    assert_eq!(companion.contacts(None).unwrap().len(), 3);
    gateway.stop().await;
}

#[tokio::test]
async fn another_rep_on_the_device_never_sees_nor_sends_the_first_rep_s_writes() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.create_lead(grace()).unwrap();
    drop(companion);

    let mut other = testing::user();
    other.user_id = "005000000000002AAA".into();
    other.username = "rep2@demo.example".into();
    gateway.sign_in_as(other, "other-session");
    let companion = fx.signed_in(&gateway).await;
    assert!(companion.pending().unwrap().is_empty());
    assert!(companion.leads(&Default::default()).unwrap().is_empty());
    let report = companion.push_now().await.unwrap();
    assert_eq!(report.requests, 0);
    assert!(gateway.bodies_to("/v1/batch").is_empty());

    // The first rep, back: their write is still there and goes.
    drop(companion);
    gateway.sign_in_as(testing::user(), "first-again");
    let companion = fx.signed_in(&gateway).await;
    assert_eq!(companion.pending().unwrap().len(), 1);
    assert_eq!(companion.push_now().await.unwrap().sent, 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_refused_write_fails_with_salesforce_s_field_errors_and_is_fixed_and_resent() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.create_lead(grace()).unwrap();
    gateway.answer_writes_with(Some((
        422,
        serde_json::json!({"error": {"code": "validation",
            "message": "FIELD_CUSTOM_VALIDATION_EXCEPTION: Company must be registered",
            "fields": {"Company": "Company must be registered"}}}),
    )));
    let report = companion.push_now().await.unwrap();
    assert_eq!(report.failed, 1);
    let failed = &companion.pending().unwrap()[0];
    assert_eq!(failed.state, PendingState::Failed);
    assert_eq!(
        failed.error.as_ref().unwrap().fields["Company"],
        "Company must be registered"
    );
    assert_eq!(
        companion.status().outbox.failed,
        1,
        "counted as failed, not waiting"
    );

    gateway.answer_writes_with(None);
    companion
        .retry_write(
            &failed.key,
            vec![("Company".into(), serde_json::json!("Navy Labs Inc."))],
        )
        .unwrap();
    assert_eq!(companion.push_now().await.unwrap().sent, 1);
    let written: Vec<_> = gateway.written().into_values().collect();
    assert_eq!(written[0]["Company"], "Navy Labs Inc.");
    gateway.stop().await;
}

#[tokio::test]
async fn busy_answers_keep_writes_waiting_never_failed() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    companion.create_lead(grace()).unwrap();
    for (status, code) in [
        (429, "rate_limited"),
        (503, "upstream_unavailable"),
        (409, "idempotency_in_progress"),
        (504, "upstream_timeout"),
    ] {
        gateway.answer_writes_with(Some((
            status,
            serde_json::json!({"error": {"code": code, "message": "not now", "retry_after": 30}}),
        )));
        let report = companion.push_now().await.unwrap();
        assert_eq!(
            (report.sent, report.failed, report.waiting),
            (0, 0, 1),
            "{status}"
        );
        let pending = &companion.pending().unwrap()[0];
        assert_eq!(pending.state, PendingState::Waiting, "{status}");
        assert!(pending.next_attempt_at.is_some());
    }
    // The same key every time: a resend is the same request.
    let keys: std::collections::BTreeSet<String> = gateway
        .bodies_to("/v1/batch")
        .iter()
        .map(|b| {
            b["writes"][0]["idempotency_key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 1);
    gateway.answer_writes_with(None);
    assert_eq!(companion.push_now().await.unwrap().sent, 1);
    gateway.stop().await;
}

#[tokio::test]
async fn screens_hear_about_saves_pushes_and_pulls() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = Arc::new(fx.signed_in(&gateway).await);
    let mut events = companion.subscribe();
    companion.sync(|_| {}).await.unwrap();
    assert_eq!(events.recv().await.unwrap(), CoreEvent::RecordsChanged);
    companion.create_lead(grace()).unwrap();
    assert_eq!(events.recv().await.unwrap(), CoreEvent::OutboxChanged);
    assert_eq!(events.recv().await.unwrap(), CoreEvent::RecordsChanged);
    companion.push_now().await.unwrap();
    assert_eq!(events.recv().await.unwrap(), CoreEvent::OutboxChanged);
    assert_eq!(events.recv().await.unwrap(), CoreEvent::RecordsChanged);
    gateway.stop().await;
}

#[tokio::test]
async fn the_background_loop_pushes_right_after_a_save() {
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let fx = Fixture::new();
    let companion = Arc::new(fx.signed_in(&gateway).await);
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let background = tokio::spawn(crate::keep_in_sync(companion.clone(), move |event| {
        let _ = events.send(event);
    }));
    while received.recv().await != Some(crate::BackgroundEvent::Synced) {}

    // No hint, no refresh: the Save alone wakes the loop, long before its 15-minute interval.
    companion.create_lead(grace()).unwrap();
    let pushed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(crate::BackgroundEvent::Pushed(report)) = received.recv().await {
                return report;
            }
        }
    })
    .await
    .expect("a push follows the Save");
    assert_eq!(pushed.sent, 1);
    assert_eq!(gateway.written().len(), 1);
    assert!(companion.pending().unwrap().is_empty());
    background.abort();
    gateway.stop().await;
}

/// Offline, the loop waits for the network; the search entries of Saves made meanwhile are
/// still merged by it (a Save never merges them itself: FTS5's crisis merge waits for 64).
#[tokio::test]
async fn offline_the_background_loop_merges_the_search_entries_of_saves() {
    let fx = Fixture::new();
    let gateway = FakeGateway::start(first_sync_pages()).await;
    let companion = fx.signed_in(&gateway).await;
    companion.sync(|_| {}).await.unwrap();
    drop(companion);
    gateway.stop().await;

    let companion = Arc::new(fx.open(&closed_port_url()));
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let background = tokio::spawn(crate::keep_in_sync(companion.clone(), move |event| {
        let _ = events.send(event);
    }));
    while !matches!(
        received.recv().await,
        Some(crate::BackgroundEvent::Offline { .. })
    ) {}
    let before = companion.replica().unwrap().search_index_rows();
    for n in 0..20 {
        companion
            .create_lead(NewLead {
                last_name: format!("Visitor {n}"),
                company: "Trade Show Co".into(),
                ..Default::default()
            })
            .unwrap();
    }
    // Twenty Saves, twenty segments, until the loop merges them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rows = companion.replica().unwrap().search_index_rows();
        if rows <= before + 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{rows} rows, {before} before the Saves: not merged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(companion.search("trade show co").unwrap().len(), 20);
    background.abort();
}
