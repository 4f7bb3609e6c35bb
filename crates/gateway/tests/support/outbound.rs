//! Outbound messages by hand (reference §5.1) and a rep's change-hint stream, for the tests of
//! one gateway (`outbound.rs`) and of several (`instances.rs`).

use std::time::Duration;

use companion_api::{ChangeHint, CHANGE_EVENT};

/// A notification id (`04l…`, 18 characters with a valid checksum) numbered `n`.
pub fn notification_id(n: u32) -> String {
    salesforce::RecordId::parse(&format!("04l7F{n:010}"))
        .unwrap()
        .to_string()
}

/// A `notifications` message as reference §5.1 shows it, one `Notification` per (id, object).
pub fn message(org_id: &str, notifications: &[(String, &str)]) -> String {
    let org15 = &org_id[..15];
    let mut body = String::new();
    for (id, object) in notifications {
        body.push_str(&format!(
            r#"   <Notification>
    <Id>{id}</Id>
    <sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0037F000003pmdWQAQ</sf:Id>
     <sf:Name>Express &amp; Logistics</sf:Name>
    </sObject>
   </Notification>
"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org_id}</OrganizationId>
   <ActionId>04k7F0000008V3hQAE</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://ap5.salesforce.com/services/Soap/c/58.0/{org15}</EnterpriseUrl>
   <PartnerUrl>https://ap5.salesforce.com/services/Soap/u/58.0/{org15}</PartnerUrl>
{body}  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"#
    )
}

/// A rep's open `/v1/events` stream.
pub struct Hints {
    response: reqwest::Response,
    buffer: String,
}

impl Hints {
    pub async fn open(http: &reqwest::Client, events_url: &str, session: &str) -> Hints {
        let response = http
            .get(events_url)
            .bearer_auth(session)
            .send()
            .await
            .unwrap();
        Hints::from_response(response)
    }

    /// The stream of a `/v1/events` answer already received.
    pub fn from_response(response: reqwest::Response) -> Hints {
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Hints {
            response,
            buffer: String::new(),
        }
    }

    /// The next `change` event's raw data, or `None` when the gateway ends the stream. Waits at
    /// most 20 s, so a missing hint fails instead of hanging.
    pub async fn next_data(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let frame: String = self.buffer.drain(..end + 2).collect();
                    let mut event = None;
                    let mut data = None;
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = Some(v.trim().to_string());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data = Some(v.trim().to_string());
                        }
                        // Lines starting with ':' are keep-alive comments.
                    }
                    if event.as_deref() == Some(CHANGE_EVENT) {
                        return data;
                    }
                }
                match self.response.chunk().await.unwrap() {
                    Some(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                    None => return None,
                }
            }
        })
        .await
        .expect("a hint (or the end of the stream) within 20 s")
    }

    pub async fn next(&mut self) -> ChangeHint {
        let data = self.next_data().await.expect("the stream is open");
        serde_json::from_str(&data).unwrap()
    }
}
