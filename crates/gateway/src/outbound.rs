//! `POST /v1/salesforce/outbound/{secret}`: Salesforce's SOAP outbound messages (reference §5)
//! become change hints for the reps of the org.
//!
//! Checked in this order, and nothing is remembered or sent unless all pass: the route's rate
//! limit (every attempt counts, a refused one too; 429); the secret, in the path or as the
//! password of HTTP Basic credentials on `/v1/salesforce/outbound` (an endpoint URL written
//! `https://user:SECRET@host/v1/salesforce/outbound`), compared by SHA-256 digest in constant
//! time: a wrong or missing one answers 404 like any unknown path, so probing finds nothing;
//! the body is XML without a DTD (so no entity is ever expanded), it is a `notifications`
//! envelope, its `OrganizationId` is configured. Then notifications already seen (Salesforce
//! delivers at least once) are dropped, the rest become one hint, and the answer is the Ack of
//! reference §5.2.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use companion_api::ChangeHint;
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use salesforce::RecordId;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::app::AppState;
use crate::hints::org_key;
use crate::rate_limit::RouteLimiter;
use crate::{now_unix, GatewayError};

/// The route without the secret: a request here must carry it as Basic credentials.
pub const PATH: &str = "/v1/salesforce/outbound";

/// Up to 100 notifications of a few fields each fit well under this.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Salesforce puts at most 100 notifications in one message (WSDL `maxOccurs=100`).
const MAX_NOTIFICATIONS: usize = 100;

const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The acknowledgement Salesforce expects, exactly as reference §5.2 gives it.
pub const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>"#;

/// What the gateway reads from a `notifications` message: whose it is, and per notification its
/// id and the sObject type. Record data is not read at all.
#[derive(Debug, PartialEq, Eq)]
pub struct OutboundMessage {
    pub organization_id: RecordId,
    pub notifications: Vec<Notification>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Notification {
    /// `04l…`, 18 characters.
    pub id: RecordId,
    /// The sObject's API name, from `xsi:type="sf:Contact"`.
    pub object: String,
}

/// Where the parser is, by element (namespace, local name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Envelope,
    Body,
    Notifications,
    OrganizationId,
    Notification,
    NotificationId,
    SObject,
    Other,
}

/// Parse a `notifications` envelope. Refuses a DTD outright: the parser never expands an entity
/// other than XML's five and character references, and an unknown entity is an error.
pub fn parse(body: &[u8]) -> Result<OutboundMessage, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    // quick-xml reports a DTD as an event (checked below) and never applies it; the scan also
    // catches declarations in places a lenient parser might skip.
    let upper = text.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err("DTDs and entity declarations are not accepted".into());
    }
    let mut reader = NsReader::from_str(text);
    let mut path: Vec<Element> = Vec::new();
    let mut organization_id: Option<String> = None;
    let mut notifications_seen = 0;
    let mut notifications: Vec<(String, Option<String>)> = Vec::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML: {e}"))?;
        let ns: Option<String> = match ns {
            ResolveResult::Bound(ns) => Some(ns.into_inner().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(format!("undeclared namespace prefix {prefix:?}"))
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let local = start.local_name();
                let element = child(path.last().copied(), ns.as_deref(), local.as_ref());
                match element {
                    Element::Notifications => notifications_seen += 1,
                    Element::Notification => {
                        if notifications.len() == MAX_NOTIFICATIONS {
                            return Err(format!(
                                "more than {MAX_NOTIFICATIONS} notifications in one message"
                            ));
                        }
                        notifications.push((String::new(), None));
                    }
                    Element::OrganizationId => {
                        organization_id.get_or_insert_with(String::new);
                    }
                    Element::SObject => {
                        let object = sobject_type(&reader, start)?;
                        if let Some(last) = notifications.last_mut() {
                            last.1 = Some(object);
                        }
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    path.push(element);
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(ref text) => capture(
                &path,
                &mut organization_id,
                &mut notifications,
                &text.xml10_content(),
            ),
            Event::CData(ref data) => capture(
                &path,
                &mut organization_id,
                &mut notifications,
                &data.xml10_content(),
            ),
            Event::GeneralRef(ref reference) => {
                let resolved = resolve_reference(reference)?;
                capture(&path, &mut organization_id, &mut notifications, &resolved);
            }
            Event::DocType(_) => return Err("DTDs are not accepted".into()),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if notifications_seen != 1 {
        return Err("expected one soapenv:Envelope/soapenv:Body/notifications element".into());
    }
    let organization_id = organization_id.ok_or("no OrganizationId")?;
    let organization_id = RecordId::parse_for("Organization", organization_id.trim())
        .map_err(|e| format!("OrganizationId: {e}"))?;
    if notifications.is_empty() {
        return Err("no Notification".into());
    }
    let notifications = notifications
        .into_iter()
        .map(|(id, object)| {
            let id = RecordId::parse(id.trim()).map_err(|e| format!("Notification Id: {e}"))?;
            if id.key_prefix() != "04l" {
                return Err("Notification Id is not a notification id (04l…)".to_string());
            }
            let object = object.ok_or("a Notification without an sObject type")?;
            Ok(Notification { id, object })
        })
        .collect::<Result<_, String>>()?;
    Ok(OutboundMessage {
        organization_id,
        notifications,
    })
}

/// The element a start tag opens, given its parent.
fn child(parent: Option<Element>, ns: Option<&str>, local: &str) -> Element {
    match (parent, ns, local) {
        (None, Some(SOAP_ENVELOPE_NS), "Envelope") => Element::Envelope,
        (Some(Element::Envelope), Some(SOAP_ENVELOPE_NS), "Body") => Element::Body,
        (Some(Element::Body), Some(OUTBOUND_NS), "notifications") => Element::Notifications,
        (Some(Element::Notifications), Some(OUTBOUND_NS), "OrganizationId") => {
            Element::OrganizationId
        }
        (Some(Element::Notifications), Some(OUTBOUND_NS), "Notification") => Element::Notification,
        (Some(Element::Notification), Some(OUTBOUND_NS), "Id") => Element::NotificationId,
        (Some(Element::Notification), Some(OUTBOUND_NS), "sObject") => Element::SObject,
        _ => Element::Other,
    }
}

/// Text inside `OrganizationId` or a `Notification`'s `Id` is kept; everything else is skipped.
fn capture(
    path: &[Element],
    organization_id: &mut Option<String>,
    notifications: &mut [(String, Option<String>)],
    text: &str,
) {
    match path.last() {
        Some(Element::OrganizationId) => {
            if let Some(id) = organization_id.as_mut() {
                id.push_str(text);
            }
        }
        Some(Element::NotificationId) => {
            if let Some((id, _)) = notifications.last_mut() {
                id.push_str(text);
            }
        }
        _ => {}
    }
}

/// XML's five predefined entities and character references; anything else would need a DTD.
fn resolve_reference(reference: &BytesRef) -> Result<String, String> {
    if let Some(ch) = reference
        .resolve_char_ref()
        .map_err(|e| format!("bad character reference: {e}"))?
    {
        return Ok(ch.to_string());
    }
    let name = reference.xml10_content();
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_string)
        .ok_or_else(|| format!("undefined entity &{name};"))
}

/// `xsi:type="sf:Contact"` → `Contact`, checked to be an API name.
fn sobject_type(
    reader: &NsReader<&[u8]>,
    start: &quick_xml::events::BytesStart,
) -> Result<String, String> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("malformed attribute: {e}"))?;
        let (ns, local) = reader.resolver().resolve_attribute(attribute.key);
        if !matches!(ns, ResolveResult::Bound(ns) if ns.as_ref() == XSI_NS)
            || local.as_ref() != "type"
        {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("malformed xsi:type: {e}"))?;
        let name = value.rsplit(':').next().unwrap_or_default();
        let is_api_name = (1..=80).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_api_name {
            return Err(format!("sObject type {value:?} is not an object API name"));
        }
        return Ok(name.to_string());
    }
    Err("an sObject without xsi:type".into())
}

/// What lets an outbound message in: the configured secret (kept only as its SHA-256 digest)
/// and the route's rate limit, shared by every sender.
pub struct OutboundGate {
    secret_digest: Option<[u8; 32]>,
    limiter: RouteLimiter,
}

impl OutboundGate {
    /// Bursts of four seconds' worth of messages pass at once.
    pub fn new(secret: Option<&str>, per_second: u32) -> Result<Self, GatewayError> {
        Ok(OutboundGate {
            secret_digest: secret.map(digest),
            limiter: RouteLimiter::new(per_second, per_second.saturating_mul(4))?,
        })
    }

    /// Whether `given` is the secret. No secret configured: nothing is.
    fn accepts(&self, given: Option<&str>) -> bool {
        match (&self.secret_digest, given) {
            (Some(expected), Some(given)) => digest(given).ct_eq(expected).into(),
            _ => false,
        }
    }
}

/// Equal-length digests, so the comparison's time says nothing about the secret's length or
/// its first differing character.
fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The password of `Authorization: Basic …` (any user name).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let (_user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(password.to_string())
}

/// `POST /v1/salesforce/outbound/{secret}`. No session: Salesforce calls it.
pub async fn receive_with_secret(
    State(state): State<Arc<AppState>>,
    secret: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, GatewayError> {
    let secret = secret.ok().map(|Path(secret)| secret);
    receive(state, secret, request).await
}

/// `POST /v1/salesforce/outbound` with the secret as the password of Basic credentials.
pub async fn receive_with_basic(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, GatewayError> {
    let secret = basic_password(request.headers());
    receive(state, secret, request).await
}

async fn receive(
    state: Arc<AppState>,
    secret: Option<String>,
    request: Request,
) -> Result<Response, GatewayError> {
    state.outbound.limiter.check()?;
    if !state.outbound.accepts(secret.as_deref()) {
        // Never the given secret itself: it may be the real one mistyped.
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.to_string());
        tracing::warn!(
            peer = peer.as_deref().unwrap_or("unknown"),
            secret_given = secret.is_some(),
            "refused an outbound message: wrong or missing secret"
        );
        return Err(GatewayError::NotFound);
    }
    // Read only now, so a caller without the secret costs no body (the route's
    // `DefaultBodyLimit` applies).
    let body = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            GatewayError::PayloadTooLarge
        } else {
            GatewayError::BadRequest(format!("unreadable body: {}", e.body_text()))
        }
    })?;
    let message = parse(&body).map_err(|e| {
        tracing::warn!(error = %e, "refused an outbound message");
        GatewayError::BadRequest(format!("not a Salesforce outbound message: {e}"))
    })?;
    let org = message.organization_id.as_15();
    if !state
        .config
        .outbound_org_ids
        .iter()
        .any(|allowed| org_key(allowed) == org)
    {
        tracing::warn!(org_id = %message.organization_id, "outbound message from an org that is not configured");
        return Err(GatewayError::Forbidden(
            "outbound messages from this organization are not accepted".into(),
        ));
    }
    let notifications = message
        .notifications
        .iter()
        .map(|n| (n.id.as_str().to_string(), n.object.clone()))
        .collect();
    let fresh = state
        .store
        .remember_notifications(org, notifications, now_unix())
        .await?;
    let objects: BTreeSet<&str> = message
        .notifications
        .iter()
        .zip(&fresh)
        .filter(|(_, fresh)| **fresh)
        .map(|(n, _)| n.object.as_str())
        .collect();
    let duplicates = fresh.iter().filter(|f| !**f).count();
    if !objects.is_empty() {
        let hint = ChangeHint {
            objects: objects.into_iter().map(str::to_string).collect(),
        };
        if state.store.shares_hints() {
            // Sent to every instance (this one too) with the commit that remembered the ids.
            tracing::debug!(
                org_id = org,
                duplicates,
                "change hint sent to every instance"
            );
        } else {
            let listeners = state.hints.publish(org, hint);
            tracing::debug!(org_id = org, listeners, duplicates, "change hint sent");
        }
    } else {
        tracing::debug!(
            org_id = org,
            duplicates,
            "outbound message held only duplicates"
        );
    }
    Ok(([(header::CONTENT_TYPE, "text/xml")], ACK).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §5.1, the captured message.
    const CAPTURED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D7F00000107XsUAI</OrganizationId>
   <ActionId>04k7F0000008V3hQAE</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://ap5.salesforce.com/services/Soap/c/47.0/00D7F00000107Xs</EnterpriseUrl>
   <PartnerUrl>https://ap5.salesforce.com/services/Soap/u/47.0/00D7F00000107Xs</PartnerUrl>
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
</soapenv:Envelope>"#;

    #[test]
    fn the_captured_message_is_read() {
        let message = parse(CAPTURED.as_bytes()).unwrap();
        assert_eq!(message.organization_id.as_str(), "00D7F00000107XsUAI");
        assert_eq!(
            message.notifications,
            vec![Notification {
                id: RecordId::parse("04l7F000008aeAyQAI").unwrap(),
                object: "Opportunity".into(),
            }]
        );
    }

    #[test]
    fn other_prefixes_and_entities_in_text_are_fine() {
        let xml = CAPTURED
            .replace("soapenv:", "s:")
            .replace("xmlns:soapenv", "xmlns:s")
            .replace("Express Logistics", "Express &amp; Logistics &#x263A;")
            .replace(
                "<Id>04l7F000008aeAyQAI</Id>",
                "<Id>04l7F000008ae&#65;yQAI</Id>",
            );
        let message = parse(xml.as_bytes()).unwrap();
        assert_eq!(message.notifications[0].id.as_str(), "04l7F000008aeAyQAI");
    }

    #[test]
    fn dtds_and_unknown_entities_are_refused() {
        let with_dtd = CAPTURED.replace(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        );
        assert!(parse(with_dtd.as_bytes()).unwrap_err().contains("DTD"));
        let lowercase = CAPTURED.replace(
            "<soapenv:Envelope",
            "<!doctype soapenv:Envelope><soapenv:Envelope",
        );
        assert!(parse(lowercase.as_bytes()).is_err());
        let entity = CAPTURED.replace("Express Logistics", "&xxe;");
        assert!(parse(entity.as_bytes())
            .unwrap_err()
            .contains("undefined entity"));
    }

    #[test]
    fn anything_but_a_notifications_envelope_is_refused() {
        let cases = [
            ("", "expected one"),
            ("{\"json\": true}", "expected one"),
            ("<a>", ""),
            (
                &CAPTURED.replace("http://soap.sforce.com/2005/09/outbound", "urn:other"),
                "expected one",
            ),
            (
                &CAPTURED.replace("00D7F00000107XsUAI", "00D7F00000107XsAAA"),
                "OrganizationId",
            ),
            (
                &CAPTURED.replace("00D7F00000107XsUAI", "0017F000007ydJmQAI"),
                "OrganizationId",
            ),
            (
                &CAPTURED.replace("04l7F000008aeAyQAI", "0067F000003pmdWQAQ"),
                "notification id",
            ),
            (
                &CAPTURED.replace(" xsi:type=\"sf:Opportunity\"", ""),
                "xsi:type",
            ),
            (
                &CAPTURED.replace("sf:Opportunity", "sf:Opp'); DROP"),
                "API name",
            ),
            (&CAPTURED.replace("</Notification>", ""), "malformed"),
            (
                &CAPTURED.replace("<SessionId", "<x:Unknown/><SessionId"),
                "undeclared namespace prefix",
            ),
        ];
        for (xml, expected) in cases {
            let err = parse(xml.as_bytes()).unwrap_err();
            assert!(err.contains(expected), "{xml:?}: {err}");
        }
        let extra = "<Notification><Id>04l7F000008aeAyQAI</Id><sObject xsi:type=\"sf:Contact\"/></Notification>"
            .repeat(100);
        let many = CAPTURED.replace("<Notification>", &format!("{extra}<Notification>"));
        assert!(parse(many.as_bytes())
            .unwrap_err()
            .contains("more than 100"));
    }
}
