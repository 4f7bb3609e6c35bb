//! `GET /v1/describe/{object}`: the picklists the app needs, cached per org (picklists are org
//! metadata: the same for every rep of an org, and they change rarely).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use companion_api::{DescribeResponse, PicklistEntry, User, DESCRIBE_OBJECTS};
use salesforce::{FieldType, ObjectDescribe, OpportunityStage};

use crate::upstream::Upstream;
use crate::GatewayError;

/// How long an org's describe answer is served from memory.
const CACHE_TTL: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct DescribeCache {
    /// (org id, object) → when fetched and the answer.
    entries: Mutex<HashMap<(String, String), (Instant, DescribeResponse)>>,
}

impl DescribeCache {
    fn cached(&self, key: &(String, String)) -> Option<DescribeResponse> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, answer)| answer.clone())
    }

    fn store(&self, key: (String, String), answer: DescribeResponse) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (Instant::now(), answer));
    }
}

pub async fn describe(
    upstream: &Upstream,
    cache: &DescribeCache,
    user: &User,
    object: &str,
) -> Result<DescribeResponse, GatewayError> {
    let Some(object) = DESCRIBE_OBJECTS.iter().find(|o| **o == object) else {
        return Err(GatewayError::BadRequest(format!(
            "cannot describe {object:?}; objects are {}",
            DESCRIBE_OBJECTS.join(", ")
        )));
    };
    let key = (user.org_id.clone(), object.to_string());
    if let Some(answer) = cache.cached(&key) {
        return Ok(answer);
    }
    let described = upstream
        .call(&user.user_id, |session| {
            let client = upstream.client.clone();
            async move { client.describe(&session, object).await }
        })
        .await?;
    let stages = if *object == "Opportunity" {
        upstream
            .call(&user.user_id, |session| {
                let client = upstream.client.clone();
                async move { client.opportunity_stages(&session).await }
            })
            .await?
    } else {
        Vec::new()
    };
    let answer = picklists(&described, &stages);
    cache.store(key, answer.clone());
    Ok(answer)
}

/// The active values of every picklist field; `StageName` values carry their stage's meaning.
fn picklists(described: &ObjectDescribe, stages: &[OpportunityStage]) -> DescribeResponse {
    let mut picklists = BTreeMap::new();
    for field in &described.fields {
        if !matches!(
            field.field_type,
            FieldType::Picklist | FieldType::MultiPicklist
        ) {
            continue;
        }
        let entries = field
            .active_values()
            .map(|value| {
                let stage = (field.name == "StageName")
                    .then(|| stages.iter().find(|s| s.master_label == value.value))
                    .flatten();
                PicklistEntry {
                    value: value.value.clone(),
                    label: value.label.clone().unwrap_or_else(|| value.value.clone()),
                    default: value.default_value,
                    probability: stage.and_then(|s| s.default_probability),
                    closed: stage.map(|s| s.is_closed),
                    won: stage.map(|s| s.is_won),
                }
            })
            .collect();
        picklists.insert(field.name.clone(), entries);
    }
    DescribeResponse {
        object: described.name.clone(),
        picklists,
    }
}
