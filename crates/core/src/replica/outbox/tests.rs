//! The outbox in the replica: Saves laid over every read, pulls that keep them, the order writes
//! go in, and what each answer does. (Sending through a gateway: `companion/tests.rs` and the
//! cross-crate tests.)

use std::collections::{BTreeMap, BTreeSet, HashSet};

use companion_api::{
    Contact, DescribeResponse, ObjectProgress, Opportunity, PicklistEntry, SyncResponse,
};
use serde_json::{json, Value};

use super::{Claimed, Outcome};
use crate::replica::tests::{open_temp, OWNER};
use crate::replica::Replica;
use crate::writes::{NewLead, PendingState, Resolution, WriteError, WriteKind};

const STAMP: &str = "2024-05-01T10:00:00.000+0000";
const LATER: &str = "2024-05-02T10:00:00.000+0000";

fn contact(id: &str, phone: &str, title: &str, stamp: &str) -> Contact {
    Contact {
        id: id.into(),
        first_name: Some("Ada".into()),
        last_name: "Lovelace".into(),
        name: "Ada Lovelace".into(),
        email: Some("ada@acme.example".into()),
        phone: Some(phone.into()),
        mobile_phone: None,
        title: Some(title.into()),
        account_id: None,
        owner_id: OWNER.into(),
        system_modstamp: stamp.into(),
    }
}

fn opportunity(id: &str, stage: &str, amount: f64, stamp: &str) -> Opportunity {
    Opportunity {
        id: id.into(),
        name: "Acme renewal".into(),
        stage_name: stage.into(),
        amount: Some(amount),
        close_date: "2099-06-30".into(),
        probability: Some(10.0),
        is_closed: false,
        is_won: false,
        account_id: None,
        next_step: None,
        owner_id: OWNER.into(),
        system_modstamp: stamp.into(),
    }
}

fn stage(value: &str, probability: f64, closed: bool, won: bool) -> PicklistEntry {
    PicklistEntry {
        value: value.into(),
        label: value.into(),
        default: false,
        probability: Some(probability),
        closed: Some(closed),
        won: Some(won),
    }
}

fn done() -> BTreeMap<String, ObjectProgress> {
    ["Account", "Contact", "Opportunity", "Task", "Lead"]
        .iter()
        .map(|o| (o.to_string(), ObjectProgress::default()))
        .collect()
}

fn cursors(tag: &str) -> BTreeMap<String, String> {
    ["Account", "Contact", "Opportunity", "Task", "Lead"]
        .iter()
        .map(|o| (o.to_string(), format!("{o}-{tag}")))
        .collect()
}

/// A replica holding Ada (003A), an opportunity (006A) and the org's stages.
fn seeded() -> (tempfile::TempDir, Replica) {
    let (dir, replica) = open_temp();
    replica
        .apply_page(&SyncResponse {
            contacts: vec![contact("003A", "+1 555 0100", "CTO", STAMP)],
            opportunities: vec![opportunity("006A", "Prospecting", 1000.0, STAMP)],
            objects: done(),
            cursors: cursors("1"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    replica
        .store_describe(&DescribeResponse {
            object: "Opportunity".into(),
            picklists: BTreeMap::from([(
                "StageName".into(),
                vec![
                    stage("Prospecting", 10.0, false, false),
                    stage("Negotiation/Review", 90.0, false, false),
                    stage("Closed Won", 100.0, true, true),
                ],
            )]),
        })
        .unwrap();
    (dir, replica)
}

/// Saves the lead Hopper at Navy Labs; returns its local id.
fn save_hopper(replica: &Replica) -> String {
    replica
        .save_new_lead(
            OWNER,
            &NewLead {
                last_name: "Hopper".into(),
                company: "Navy Labs".into(),
                ..Default::default()
            },
        )
        .unwrap()
}

fn claim(replica: &Replica) -> Vec<Claimed> {
    replica.claim_batch(true, 200, &HashSet::new()).unwrap()
}

fn keys_of(claimed: &[Claimed]) -> Vec<(WriteKind, String)> {
    claimed
        .iter()
        .map(|c| (c.kind, c.record_id.clone()))
        .collect()
}

fn refusal(message: &str, field: &str) -> WriteError {
    WriteError {
        code: "validation".into(),
        message: message.into(),
        fields: BTreeMap::from([(field.to_string(), message.to_string())]),
    }
}

fn update(replica: &Replica, kind: WriteKind, id: &str, changes: &[(&str, Value)]) -> String {
    replica
        .save_update(
            kind,
            id,
            changes
                .iter()
                .map(|(f, v)| (f.to_string(), v.clone()))
                .collect(),
        )
        .unwrap()
        .expect("a change")
}

#[test]
fn a_save_shows_in_every_read_and_a_pull_never_overwrites_it() {
    let (_dir, replica) = seeded();
    update(
        &replica,
        WriteKind::UpdateContact,
        "003A",
        &[("Phone", json!("+1 555 0199"))],
    );
    update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Negotiation/Review"))],
    );

    let ada = replica.contact("003A").unwrap().unwrap();
    assert_eq!(ada.phone.as_deref(), Some("+1 555 0199"));
    assert_eq!(ada.pending, Some(PendingState::Waiting));
    assert_eq!(
        replica.contacts(None).unwrap()[0].pending,
        Some(PendingState::Waiting)
    );
    let hits = replica.search("15550199", 50).unwrap();
    assert_eq!(hits.len(), 1, "search finds the new number");
    assert_eq!(hits[0].pending, Some(PendingState::Waiting));
    assert!(replica.search("15550100", 50).unwrap().is_empty());
    let deal = replica.opportunity("006A").unwrap().unwrap().opportunity;
    assert_eq!(deal.stage_name, "Negotiation/Review");
    assert_eq!(
        deal.probability,
        Some(90.0),
        "the probability follows the stage"
    );

    // Someone else changed Ada's title and phone; the pull brings both: the title shows, the
    // phone stays the rep's until the rep's write is settled.
    replica
        .apply_page(&SyncResponse {
            contacts: vec![contact(
                "003A",
                "+1 555 0142",
                "Chief Technology Officer",
                LATER,
            )],
            objects: done(),
            cursors: cursors("2"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    let ada = replica.contact("003A").unwrap().unwrap();
    assert_eq!(ada.title.as_deref(), Some("Chief Technology Officer"));
    assert_eq!(ada.phone.as_deref(), Some("+1 555 0199"));
    assert_eq!(ada.system_modstamp, LATER);

    // Discarded: Salesforce's phone, as the pull brought it.
    let key = replica.pending_writes().unwrap()[0].key.clone();
    assert_eq!(replica.discard_write(&key).unwrap(), 1);
    let ada = replica.contact("003A").unwrap().unwrap();
    assert_eq!(ada.phone.as_deref(), Some("+1 555 0142"));
    assert_eq!(ada.pending, None);
    assert_eq!(replica.search("15550142", 50).unwrap().len(), 1);
    assert!(replica.search("15550199", 50).unwrap().is_empty());
}

#[test]
fn a_lead_made_offline_is_everywhere_and_takes_its_salesforce_id_when_sent() {
    let (_dir, replica) = seeded();
    let local = replica
        .save_new_lead(
            OWNER,
            &NewLead {
                first_name: Some("Grace".into()),
                last_name: "Hopper".into(),
                company: "Navy Labs".into(),
                email: Some("grace@navy.example".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(local.starts_with("local-00Q-"), "{local}");
    let lead = replica.lead(&local).unwrap().unwrap();
    assert_eq!(lead.lead.name, "Grace Hopper");
    assert_eq!(lead.lead.status, "Open - Not Contacted");
    assert_eq!(lead.lead.pending, Some(PendingState::Waiting));
    assert_eq!(replica.counts().unwrap()["Lead"], 1);
    assert_eq!(replica.search("navy", 50).unwrap()[0].id, local);

    let call = replica
        .save_new_task(
            OWNER,
            WriteKind::LogCall,
            &local,
            None,
            serde_json::Map::from_iter([
                ("Subject".to_string(), json!("Intro call")),
                ("ActivityDate".to_string(), json!("2024-05-03")),
            ]),
        )
        .unwrap();
    let activity = replica.lead(&local).unwrap().unwrap().recent_tasks;
    assert_eq!(activity.len(), 1);
    assert_eq!(activity[0].id, call);
    assert_eq!(activity[0].pending, Some(PendingState::Waiting));

    // The call names a lead Salesforce has not made: only the lead goes.
    let first = claim(&replica);
    assert_eq!(keys_of(&first), [(WriteKind::CreateLead, local.clone())]);
    let waiting = replica.pending_writes().unwrap();
    assert!(waiting[1]
        .waiting_for
        .as_deref()
        .unwrap()
        .contains("Grace Hopper"));

    let real = "00Q000000000042AAA";
    replica
        .settle(vec![(
            first[0].key.clone(),
            Outcome::Sent(json!({
                "Id": real, "FirstName": "Grace", "LastName": "Hopper", "Name": "Grace Hopper",
                "Company": "Navy Labs", "Email": "grace@navy.example",
                "Status": "Open - Not Contacted", "IsConverted": false, "OwnerId": OWNER,
                "CreatedDate": LATER, "SystemModstamp": LATER
            })),
        )])
        .unwrap();
    assert!(
        replica.lead(&local).unwrap().is_none(),
        "one record, under its new id"
    );
    let lead = replica.lead(real).unwrap().unwrap();
    assert_eq!(lead.lead.pending, None);
    assert_eq!(lead.recent_tasks[0].who_id.as_deref(), Some(real));
    assert_eq!(replica.resolve_id(&local).unwrap(), real);
    assert_eq!(replica.search("navy", 50).unwrap()[0].id, real);

    // Now the call goes, naming the lead by its Salesforce id.
    let second = claim(&replica);
    assert_eq!(keys_of(&second), [(WriteKind::LogCall, call.clone())]);
    assert_eq!(second[0].fields["WhoId"], json!(real));
}

#[test]
fn writes_go_per_record_in_save_order_and_a_failed_one_holds_back_only_its_record() {
    let (_dir, replica) = seeded();
    let first_stage = update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Negotiation/Review"))],
    );
    update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("Amount", json!(2500))],
    );
    update(
        &replica,
        WriteKind::UpdateContact,
        "003A",
        &[("Title", json!("CEO"))],
    );
    let claimed = claim(&replica);
    assert_eq!(
        keys_of(&claimed),
        [
            (WriteKind::UpdateOpportunity, "006A".into()),
            (WriteKind::UpdateContact, "003A".into())
        ],
        "one write per record per request, the earliest first"
    );
    assert_eq!(claimed[0].key, first_stage);
    assert_eq!(claimed[0].base_stamp.as_deref(), Some(STAMP));
    assert_eq!(
        claimed[0].base.as_ref().unwrap()["StageName"],
        json!("Prospecting")
    );

    replica
        .settle(vec![
            (
                claimed[0].key.clone(),
                Outcome::Failed(refusal("Stage is locked", "StageName")),
            ),
            (
                claimed[1].key.clone(),
                Outcome::Retry {
                    after_ms: 60_000,
                    error: WriteError {
                        code: "upstream_unavailable".into(),
                        message: "Salesforce is busy".into(),
                        fields: BTreeMap::new(),
                    },
                },
            ),
        ])
        .unwrap();
    let pending = replica.pending_writes().unwrap();
    assert_eq!(pending[0].state, PendingState::Failed);
    assert_eq!(
        pending[0].error.as_ref().unwrap().fields["StageName"],
        "Stage is locked"
    );
    assert!(pending[1]
        .waiting_for
        .as_deref()
        .unwrap()
        .contains("failed"));
    assert_eq!(pending[2].state, PendingState::Waiting);
    assert!(pending[2].next_attempt_at.is_some());
    // Forced, the contact's write goes again; the opportunity's second write stays behind.
    assert_eq!(
        keys_of(&claim(&replica)),
        [(WriteKind::UpdateContact, "003A".into())]
    );
    // Not forced, nothing is due before its backoff ends.
    replica.requeue_interrupted().unwrap();
    assert!(replica
        .claim_batch(false, 200, &HashSet::new())
        .unwrap()
        .is_empty());
}

#[test]
fn a_conflict_keeps_base_mine_and_theirs_and_merges_the_rest() {
    let (_dir, replica) = seeded();
    let key = update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Negotiation/Review"))],
    );
    let claimed = claim(&replica);
    let current = json!({
        "Id": "006A", "Name": "Acme renewal", "StageName": "Closed Won", "Amount": 7000.0,
        "CloseDate": "2099-06-30", "Probability": 100.0, "IsClosed": true, "IsWon": true,
        "OwnerId": OWNER, "SystemModstamp": LATER
    });
    replica
        .settle(vec![(
            claimed[0].key.clone(),
            Outcome::Conflict {
                current: current.clone(),
                error: WriteError {
                    code: "conflict".into(),
                    message: "changed in Salesforce".into(),
                    fields: BTreeMap::from([("StageName".into(), "now Closed Won".into())]),
                },
            },
        )])
        .unwrap();
    let deal = replica.opportunity("006A").unwrap().unwrap().opportunity;
    assert_eq!(
        deal.amount,
        Some(7000.0),
        "the admin's amount is merged at once"
    );
    assert_eq!(
        deal.stage_name, "Negotiation/Review",
        "the rep's stage still shows"
    );
    assert_eq!(deal.pending, Some(PendingState::Conflict));
    let pending = &replica.pending_writes().unwrap()[0];
    assert_eq!(pending.state, PendingState::Conflict);
    assert_eq!(pending.conflicts.len(), 1);
    let conflict = &pending.conflicts[0];
    assert_eq!(
        (
            &conflict.field,
            &conflict.base,
            &conflict.mine,
            &conflict.theirs
        ),
        (
            &"StageName".to_string(),
            &json!("Prospecting"),
            &json!("Negotiation/Review"),
            &json!("Closed Won")
        )
    );
    // Conflicts wait for the rep.
    assert!(claim(&replica).is_empty());

    replica
        .resolve_conflict(&key, Resolution::KeepMine, &[])
        .unwrap();
    let again = claim(&replica);
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].key, key, "a changed write has a new key");
    assert_eq!(again[0].base_stamp.as_deref(), Some(LATER));
    assert_eq!(
        again[0].base.as_ref().unwrap()["StageName"],
        json!("Closed Won")
    );
    assert_eq!(again[0].fields["StageName"], json!("Negotiation/Review"));
}

#[test]
fn using_theirs_drops_the_change_and_its_overlay() {
    let (_dir, replica) = seeded();
    let key = update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Negotiation/Review"))],
    );
    let claimed = claim(&replica);
    replica
        .settle(vec![(
            claimed[0].key.clone(),
            Outcome::Conflict {
                current: json!({
                    "Id": "006A", "Name": "Acme renewal", "StageName": "Closed Won",
                    "Amount": 1000.0, "CloseDate": "2099-06-30", "Probability": 100.0,
                    "IsClosed": true, "IsWon": true, "OwnerId": OWNER, "SystemModstamp": LATER
                }),
                error: refusal("now Closed Won", "StageName"),
            },
        )])
        .unwrap();
    replica
        .resolve_conflict(&key, Resolution::UseTheirs, &["stagename".into()])
        .unwrap();
    assert!(replica.pending_writes().unwrap().is_empty());
    let deal = replica.opportunity("006A").unwrap().unwrap().opportunity;
    assert_eq!(
        (
            deal.stage_name.as_str(),
            deal.probability,
            deal.is_won,
            deal.pending
        ),
        ("Closed Won", Some(100.0), true, None)
    );
}

#[test]
fn a_sent_update_brings_salesforce_s_record_and_rebases_the_next_one() {
    let (_dir, replica) = seeded();
    update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Negotiation/Review"))],
    );
    // Made from the rep's view, which shows the first change.
    update(
        &replica,
        WriteKind::UpdateOpportunity,
        "006A",
        &[("StageName", json!("Closed Won"))],
    );
    let first = claim(&replica);
    replica
        .settle(vec![(
            first[0].key.clone(),
            Outcome::Sent(json!({
                "Id": "006A", "Name": "Acme renewal", "StageName": "Negotiation/Review",
                "Amount": 1000.0, "CloseDate": "2099-06-30", "Probability": 90.0,
                "ExpectedRevenue": 900.0, "IsClosed": false, "IsWon": false,
                "OwnerId": OWNER, "SystemModstamp": LATER
            })),
        )])
        .unwrap();
    let deal = replica.opportunity("006A").unwrap().unwrap();
    assert_eq!(deal.system_modstamp, LATER);
    assert_eq!(
        deal.opportunity.stage_name, "Closed Won",
        "the next change still shows"
    );
    let second = claim(&replica);
    assert_eq!(
        second[0].base.as_ref().unwrap()["StageName"],
        json!("Negotiation/Review")
    );
    assert_eq!(
        second[0].base_stamp.as_deref(),
        Some(LATER),
        "based on the record Salesforce answered, not on the older one"
    );
}

#[test]
fn a_lead_pulled_before_its_answer_was_settled_stays_one_record() {
    let (_dir, replica) = seeded();
    let local = save_hopper(&replica);
    let claimed = claim(&replica);
    let real = "00Q000000000042AAA";
    let record = json!({
        "Id": real, "LastName": "Hopper", "Name": "Hopper", "Company": "Navy Labs",
        "Status": "Open - Not Contacted", "OwnerId": OWNER, "SystemModstamp": LATER
    });
    // The answer was lost; a pull brought the lead before the resend was answered.
    replica
        .apply_page(&SyncResponse {
            leads: vec![serde_json::from_value(record.clone()).unwrap()],
            objects: done(),
            cursors: cursors("2"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    replica
        .settle(vec![(claimed[0].key.clone(), Outcome::Sent(record))])
        .unwrap();
    let ids: Vec<String> = replica
        .leads(&Default::default())
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, [real]);
    assert_eq!(replica.resolve_id(&local).unwrap(), real);
    assert_eq!(replica.search("hopper", 50).unwrap().len(), 1);
}

#[test]
fn records_made_on_this_device_survive_a_reset_pass_and_a_reconciliation() {
    let (_dir, replica) = seeded();
    let local = save_hopper(&replica);
    replica
        .apply_page(&SyncResponse {
            reset: vec!["Lead".into(), "Task".into()],
            objects: done(),
            cursors: cursors("3"),
            more: false,
            ..Default::default()
        })
        .unwrap();
    assert!(replica.lead(&local).unwrap().is_some());
    replica.retain_only("Lead", &BTreeSet::new()).unwrap();
    assert!(replica.lead(&local).unwrap().is_some());
}

#[test]
fn discarding_a_lead_takes_the_calls_about_it() {
    let (_dir, replica) = seeded();
    let local = save_hopper(&replica);
    replica
        .save_new_task(
            OWNER,
            WriteKind::LogCall,
            &local,
            None,
            serde_json::Map::from_iter([("Subject".to_string(), json!("Call"))]),
        )
        .unwrap();
    let key = replica.pending_writes().unwrap()[0].key.clone();
    assert_eq!(replica.discard_write(&key).unwrap(), 2);
    assert!(replica.pending_writes().unwrap().is_empty());
    assert_eq!(replica.counts().unwrap()["Lead"], 0);
    assert_eq!(replica.counts().unwrap()["Task"], 0);
    assert!(replica.search("hopper", 50).unwrap().is_empty());
}

#[test]
fn a_failed_write_is_edited_and_queued_again_under_a_new_key() {
    let (_dir, replica) = seeded();
    replica
        .save_new_lead(
            OWNER,
            &NewLead {
                last_name: "Hopper".into(),
                company: "Navy Labs".into(),
                title: Some("Rear Admiral".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let claimed = claim(&replica);
    replica
        .settle(vec![(
            claimed[0].key.clone(),
            Outcome::Failed(refusal("Title: data value too large", "Title")),
        )])
        .unwrap();
    assert!(
        claim(&replica).is_empty(),
        "a failed write waits for the rep"
    );
    let err = replica
        .retry_write(&claimed[0].key, vec![("Company".into(), json!(""))])
        .unwrap_err();
    assert!(err.to_string().contains("Company"), "{err}");
    replica
        .retry_write(&claimed[0].key, vec![("Title".into(), json!("Admiral"))])
        .unwrap();
    let again = claim(&replica);
    assert_ne!(again[0].key, claimed[0].key);
    assert_eq!(again[0].fields["Title"], json!("Admiral"));
    let lead = replica.lead(&again[0].record_id).unwrap().unwrap();
    assert_eq!(lead.lead.title.as_deref(), Some("Admiral"));
}

#[test]
fn bad_input_is_refused_before_anything_is_saved() {
    let (_dir, replica) = seeded();
    let err = replica
        .save_new_lead(OWNER, &NewLead::default())
        .unwrap_err();
    assert_eq!(err.kind(), "bad_input");
    assert!(
        err.to_string()
            .contains("Last name and Company are required"),
        "{err}"
    );
    let err = replica
        .save_update(
            WriteKind::UpdateOpportunity,
            "006A",
            vec![("StageName".into(), json!("Won-ish"))],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("Closed Won"),
        "the stages are named: {err}"
    );
    let err = replica
        .save_new_task(OWNER, WriteKind::LogCall, "001ZZ", None, Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("No record"), "{err}");
    assert!(
        replica
            .save_update(
                WriteKind::UpdateContact,
                "003A",
                vec![("Phone".into(), json!("+1 555 0100"))]
            )
            .unwrap()
            .is_none(),
        "nothing changed, nothing queued"
    );
    assert!(replica.pending_writes().unwrap().is_empty());
}

#[test]
fn a_call_about_an_opportunity_names_the_deal_and_the_contact_picked() {
    let (_dir, replica) = seeded();
    let call = replica
        .save_new_task(
            OWNER,
            WriteKind::LogCall,
            "006A",
            Some("003A"),
            serde_json::Map::from_iter([("Subject".to_string(), json!("Pricing call"))]),
        )
        .unwrap();
    let task = replica.task(&call).unwrap().unwrap();
    assert_eq!(
        (task.what_id.as_deref(), task.who_id.as_deref()),
        (Some("006A"), Some("003A"))
    );
    assert_eq!(
        replica.opportunity("006A").unwrap().unwrap().recent_tasks[0].id,
        call
    );
    assert_eq!(
        replica.contact("003A").unwrap().unwrap().recent_tasks[0].id,
        call
    );
    let sent = claim(&replica);
    assert_eq!(sent[0].fields["WhatId"], json!("006A"));
    assert_eq!(sent[0].fields["WhoId"], json!("003A"));
    // A contact is named only beside a deal or an account.
    let err = replica
        .save_new_task(
            OWNER,
            WriteKind::LogCall,
            "003A",
            Some("003A"),
            Default::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), "bad_input");
}
