//! Outbound messages (reference §5): on create or update of a record that a rule watches, sfsim
//! POSTs Salesforce's SOAP `notifications` envelope to the rule's URL and retries with exponential
//! backoff until the listener answers `<Ack>true</Ack>`.
//!
//! Like Salesforce, delivery is at least once and unordered: every notification is sent on its
//! own, a failed one is retried later (so a newer change can arrive first), and a listener that
//! answers after the per-attempt timeout gets the same notification again.

use std::{
    str::FromStr,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::{
    ids::IdGenerator,
    schema::{self, FieldType, ObjectDef},
    state::AppState,
};

/// First retry after this long, doubling up to [`MAX_INTERVAL`] (Salesforce: "exponentially up to
/// a maximum of 2 hours"; the first interval is unconfirmed).
const FIRST_INTERVAL: Duration = Duration::from_secs(15);
const MAX_INTERVAL: Duration = Duration::from_secs(2 * 3600);
/// Salesforce gives up on a notification after 24 hours.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long one POST may take before it counts as failed (unconfirmed; scaled like the rest,
/// but never below [`MIN_TIMEOUT`] so a listener on a busy test machine can answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// API version of the SOAP URLs in the envelope.
const SOAP_VERSION: &str = "58.0";

/// `--outbound-message OBJECT:FIELD,FIELD:URL`: which records, which fields, where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRule {
    pub object: &'static str,
    /// API names as the schema spells them, `Id` not included (it is always sent first).
    pub fields: Vec<&'static str>,
    pub url: String,
}

impl FromStr for OutboundRule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (object, rest) = text
            .split_once(':')
            .ok_or("expected OBJECT:FIELD,FIELD:URL")?;
        let (fields, url) = rest
            .split_once(':')
            .ok_or("expected OBJECT:FIELD,FIELD:URL")?;
        let object =
            schema::object(object.trim()).ok_or_else(|| format!("unknown object '{object}'"))?;
        let mut names = Vec::new();
        for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let def = object
                .field(field)
                .ok_or_else(|| format!("no field '{field}' on {}", object.name))?;
            if def.name != "Id" && !names.contains(&def.name) {
                names.push(def.name);
            }
        }
        let parsed = url::Url::parse(url).map_err(|e| format!("bad URL '{url}': {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("URL must be http or https: '{url}'"));
        }
        Ok(Self {
            object: object.name,
            fields: names,
            url: url.to_owned(),
        })
    }
}

struct Rule {
    rule: OutboundRule,
    /// The outbound message definition's id (`04k…`).
    action_id: String,
}

/// One notification on its way.
struct Delivery {
    rule: usize,
    object: &'static ObjectDef,
    record_id: String,
    notification_id: String,
}

pub struct Outbound {
    rules: Vec<Rule>,
    client: reqwest::Client,
    time_scale: f64,
    notification_ids: Mutex<IdGenerator>,
    /// Bumped by reset and shutdown: deliveries of an older generation stop.
    generation: watch::Sender<u64>,
}

impl Outbound {
    pub fn new(rules: &[OutboundRule], time_scale: f64) -> Self {
        let mut action_ids = IdGenerator::new("04k", "8d", 9_000);
        let rules = rules
            .iter()
            .map(|rule| Rule {
                rule: rule.clone(),
                action_id: action_ids.next_id(),
            })
            .collect();
        Self {
            rules,
            client: reqwest::Client::new(),
            time_scale: if time_scale.is_finite() && time_scale > 0.0 {
                time_scale
            } else {
                1.0
            },
            notification_ids: Mutex::new(IdGenerator::new("04l", "8d", 700_000)),
            generation: watch::channel(0).0,
        }
    }

    fn scaled(&self, duration: Duration) -> Duration {
        duration.mul_f64(self.time_scale)
    }

    /// Stops every delivery under way (reset, shutdown).
    pub fn cancel_all(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    fn next_notification_id(&self) -> String {
        self.notification_ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .next_id()
    }
}

/// A record of `object` was created or updated: queue a notification for each matching rule.
pub fn record_saved(state: &Arc<AppState>, object: &str, record_id: &str) {
    let outbound = &state.outbound;
    if outbound.rules.is_empty() {
        return;
    }
    let Some(object) = schema::object(object) else {
        return;
    };
    // Sim::update_record may be called outside a runtime; there is nothing to deliver with then.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("outbound: no async runtime, notification not sent");
        return;
    };
    for (index, rule) in outbound.rules.iter().enumerate() {
        if rule.rule.object != object.name {
            continue;
        }
        let delivery = Delivery {
            rule: index,
            object,
            record_id: record_id.to_owned(),
            notification_id: outbound.next_notification_id(),
        };
        let generation = outbound.generation.subscribe();
        runtime.spawn(deliver(Arc::downgrade(state), delivery, generation));
    }
}

async fn deliver(state: Weak<AppState>, delivery: Delivery, mut generation: watch::Receiver<u64>) {
    let started = *generation.borrow_and_update();
    let mut interval = FIRST_INTERVAL;
    let mut waited = Duration::ZERO;
    loop {
        let Some(state) = state.upgrade() else {
            return;
        };
        if *generation.borrow() != started {
            return;
        }
        // The record as it is now: a retry carries the latest data (reference §5.3).
        let Some(envelope) = envelope_for(&state, &delivery) else {
            tracing::debug!("outbound: record gone, notification dropped");
            return;
        };
        let outbound = &state.outbound;
        let rule = &outbound.rules[delivery.rule].rule;
        let timeout = outbound.scaled(ATTEMPT_TIMEOUT).max(MIN_TIMEOUT);
        let acked = post(&outbound.client, &rule.url, envelope, timeout).await;
        state.control.count_outbound(acked);
        if acked {
            tracing::debug!(object = rule.object, "outbound message acknowledged");
            return;
        }
        let pause = outbound.scaled(interval);
        drop(state);
        waited += interval;
        if waited > GIVE_UP_AFTER {
            tracing::info!("outbound: notification dropped after 24 hours of retries");
            return;
        }
        interval = (interval * 2).min(MAX_INTERVAL);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = generation.changed() => return,
        }
    }
}

/// One POST; true only for `200` with `<Ack>true</Ack>` (reference §5.2).
async fn post(client: &reqwest::Client, url: &str, envelope: String, timeout: Duration) -> bool {
    let response = client
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(envelope)
        .timeout(timeout)
        .send()
        .await;
    let response = match response {
        Ok(response) if response.status() == reqwest::StatusCode::OK => response,
        Ok(response) => {
            tracing::info!(
                status = response.status().as_u16(),
                "outbound: not acknowledged"
            );
            return false;
        }
        Err(error) => {
            tracing::info!(%error, "outbound: delivery failed");
            return false;
        }
    };
    match response.text().await {
        Ok(body) => is_ack(&body),
        Err(_) => false,
    }
}

/// `<Ack>true</Ack>` in the answer, with or without a namespace prefix.
fn is_ack(body: &str) -> bool {
    let compact: String = body.split_whitespace().collect();
    compact.contains(">true</Ack>") && (compact.contains("<Ack>") || compact.contains(":Ack>"))
}

fn envelope_for(state: &AppState, delivery: &Delivery) -> Option<String> {
    let rule = &state.outbound.rules[delivery.rule];
    let org = state.org();
    let record = org.store.get(delivery.object, &delivery.record_id)?;
    Some(envelope(
        &org.store.org_id,
        &state.base_url,
        &rule.action_id,
        &delivery.notification_id,
        delivery.object,
        &rule.rule.fields,
        record,
    ))
}

/// XML text content: `&`, `<` and `>` escaped (what XML requires outside attributes).
fn xml_text(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// A field value as the enterprise WSDL types render it: doubles with a decimal point
/// (`120000.0`), dates as-is, datetimes in `Z` form, booleans as `true`/`false`.
fn soap_value(ty: FieldType, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match ty {
            FieldType::Currency | FieldType::Percent | FieldType::Double => {
                let f = n.as_f64().unwrap_or_default();
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            }
            _ => n.to_string(),
        }),
        Value::String(s) if ty == FieldType::DateTime => Some(xml_text(&s.replace("+0000", "Z"))),
        Value::String(s) => Some(xml_text(s)),
        other => Some(xml_text(&other.to_string())),
    }
}

/// The `notifications` envelope of reference §5.1, one `Notification`.
fn envelope(
    org_id: &str,
    base_url: &str,
    action_id: &str,
    notification_id: &str,
    object: &ObjectDef,
    fields: &[&str],
    record: &Map<String, Value>,
) -> String {
    let org15 = &org_id[..org_id.len().min(15)];
    // Fields in alphabetical order after Id, as in the captured message. Null fields are left out
    // (unconfirmed: the capture has none).
    let mut sorted: Vec<&str> = fields.to_vec();
    sorted.sort_unstable();
    let mut sobject = String::new();
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    sobject.push_str(&format!("     <sf:Id>{}</sf:Id>\n", xml_text(id)));
    for name in sorted {
        let Some(def) = object.field(name) else {
            continue;
        };
        if let Some(value) = record.get(name).and_then(|v| soap_value(def.ty, v)) {
            sobject.push_str(&format!("     <sf:{name}>{value}</sf:{name}>\n"));
        }
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org_id}</OrganizationId>
   <ActionId>{action_id}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>{base_url}/services/Soap/c/{SOAP_VERSION}/{org15}</EnterpriseUrl>
   <PartnerUrl>{base_url}/services/Soap/u/{SOAP_VERSION}/{org15}</PartnerUrl>
   <Notification>
    <Id>{notification_id}</Id>
    <sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
{sobject}    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"#,
        object = object.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_parse_with_urls_that_contain_colons() {
        let rule: OutboundRule = "Opportunity:StageName,amount,Name:http://127.0.0.1:9000/om"
            .parse()
            .expect("parses");
        assert_eq!(rule.object, "Opportunity");
        assert_eq!(rule.fields, ["StageName", "Amount", "Name"]);
        assert_eq!(rule.url, "http://127.0.0.1:9000/om");
        for bad in [
            "Opportunity",
            "Opportunity:Name",
            "Widget:Name:http://127.0.0.1:9/",
            "Contact:Nope:http://127.0.0.1:9/",
            "Contact:LastName:ftp://127.0.0.1/",
            "Contact:LastName:not a url",
        ] {
            assert!(bad.parse::<OutboundRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_envelope_is_the_captured_one() {
        // Reference §5.1, the captured Opportunity message, with sfsim's URLs.
        let record = json!({
            "Id": "0067F000003pmdWQAQ", "AccountId": "0017F000007ydJmQAI", "Amount": 120000,
            "CloseDate": "2017-04-03", "Name": "Express Logistics SLA",
            "StageName": "Perception Analysis", "Description": null,
        });
        let opportunity = schema::object("Opportunity").expect("Opportunity");
        let xml = envelope(
            "00D7F00000107XsUAI",
            "https://ap5.salesforce.com",
            "04k7F0000008V3hQAE",
            "04l7F000008aeAyQAI",
            opportunity,
            &["StageName", "Name", "Amount", "CloseDate", "AccountId"],
            record.as_object().expect("object"),
        );
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D7F00000107XsUAI</OrganizationId>
   <ActionId>04k7F0000008V3hQAE</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://ap5.salesforce.com/services/Soap/c/58.0/00D7F00000107Xs</EnterpriseUrl>
   <PartnerUrl>https://ap5.salesforce.com/services/Soap/u/58.0/00D7F00000107Xs</PartnerUrl>
   <Notification>
    <Id>04l7F000008aeAyQAI</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0067F000003pmdWQAQ</sf:Id>
     <sf:AccountId>0017F000007ydJmQAI</sf:AccountId>
     <sf:Amount>120000.0</sf:Amount>
     <sf:CloseDate>2017-04-03</sf:CloseDate>
     <sf:Name>Express Logistics SLA</sf:Name>
     <sf:StageName>Perception Analysis</sf:StageName>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"#;
        assert_eq!(xml, expected);
    }

    #[test]
    fn text_is_escaped_and_acks_are_recognised() {
        assert_eq!(
            soap_value(FieldType::String, &json!("A & B <C>")).as_deref(),
            Some("A &amp; B &lt;C&gt;")
        );
        assert_eq!(
            soap_value(FieldType::DateTime, &json!("2024-05-01T10:00:00.000+0000")).as_deref(),
            Some("2024-05-01T10:00:00.000Z")
        );
        assert!(is_ack(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#
        ));
        assert!(!is_ack("<Ack>false</Ack>"));
        assert!(!is_ack("ok"));
    }
}
