//! Change hints fan out per org: a tokio broadcast channel for each org that has a listener.

use std::collections::HashMap;
use std::sync::Mutex;

use companion_api::ChangeHint;
use tokio::sync::broadcast;

/// Hints one listener may fall behind by before its stream is ended (it reconnects and syncs).
const BACKLOG: usize = 64;

/// Orgs are keyed by the case-sensitive 15-character form of their id, so 15- and 18-character
/// spellings of one org meet.
pub(crate) fn org_key(org_id: &str) -> &str {
    org_id.get(..15).unwrap_or(org_id)
}

#[derive(Default)]
pub struct HintHub {
    /// `None` once closed (shutdown): no new listeners, every stream ended.
    channels: Mutex<Option<HashMap<String, broadcast::Sender<ChangeHint>>>>,
}

impl HintHub {
    pub fn new() -> Self {
        HintHub {
            channels: Mutex::new(Some(HashMap::new())),
        }
    }

    /// Listen to the hints of `org_id`; `None` after [`HintHub::close`].
    pub fn subscribe(&self, org_id: &str) -> Option<broadcast::Receiver<ChangeHint>> {
        let mut channels = self.channels.lock().expect("hint channels");
        let channels = channels.as_mut()?;
        // Drop channels nobody listens to any more, so the map stays as small as the audience.
        channels.retain(|_, sender| sender.receiver_count() > 0);
        Some(
            channels
                .entry(org_key(org_id).to_string())
                .or_insert_with(|| broadcast::channel(BACKLOG).0)
                .subscribe(),
        )
    }

    /// Send `hint` to the listeners of `org_id`; returns how many there are.
    pub fn publish(&self, org_id: &str, hint: ChangeHint) -> usize {
        let mut channels = self.channels.lock().expect("hint channels");
        let Some(channels) = channels.as_mut() else {
            return 0;
        };
        let key = org_key(org_id);
        let Some(sender) = channels.get(key) else {
            return 0;
        };
        match sender.send(hint) {
            Ok(listeners) => listeners,
            Err(_) => {
                channels.remove(key);
                0
            }
        }
    }

    /// End every open stream but keep taking new listeners (this instance missed hints: the
    /// apps sync, then listen again). Returns how many streams were ended.
    pub fn reset(&self) -> usize {
        let mut channels = self.channels.lock().expect("hint channels");
        let Some(channels) = channels.as_mut() else {
            return 0;
        };
        let ended = channels.values().map(|s| s.receiver_count()).sum();
        channels.clear();
        ended
    }

    /// End every stream and refuse new listeners (the gateway is shutting down).
    pub fn close(&self) {
        self.channels.lock().expect("hint channels").take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    const ORG_A: &str = "00D7F00000107XsUAI";
    const ORG_B: &str = "00D5g000004ZzZzEAK";

    fn hint(object: &str) -> ChangeHint {
        ChangeHint {
            objects: vec![object.into()],
        }
    }

    #[test]
    fn hints_reach_only_the_listeners_of_their_org() {
        let hub = HintHub::new();
        let mut a = hub.subscribe(ORG_A).unwrap();
        // The 15-character spelling of the same org is the same audience.
        let mut a15 = hub.subscribe(&ORG_A[..15]).unwrap();
        let mut b = hub.subscribe(ORG_B).unwrap();
        assert_eq!(hub.publish(ORG_A, hint("Contact")), 2);
        assert_eq!(a.try_recv().unwrap(), hint("Contact"));
        assert_eq!(a15.try_recv().unwrap(), hint("Contact"));
        assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
        // 15-character ids are case-sensitive: another case is another org.
        assert_eq!(hub.publish(&ORG_A.to_lowercase(), hint("Account")), 0);
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn an_org_without_listeners_costs_nothing_and_reset_or_close_end_streams() {
        let hub = HintHub::new();
        assert_eq!(hub.publish(ORG_A, hint("Contact")), 0);
        let listener = hub.subscribe(ORG_A).unwrap();
        drop(listener);
        assert_eq!(hub.publish(ORG_A, hint("Contact")), 0);
        assert!(hub.channels.lock().unwrap().as_ref().unwrap().is_empty());

        let mut reset = hub.subscribe(ORG_B).unwrap();
        assert_eq!(hub.reset(), 1);
        assert_eq!(reset.try_recv(), Err(TryRecvError::Closed));
        let mut after_reset = hub.subscribe(ORG_B).unwrap();
        assert_eq!(hub.publish(ORG_B, hint("Lead")), 1);
        assert_eq!(after_reset.try_recv().unwrap(), hint("Lead"));

        let mut open = hub.subscribe(ORG_B).unwrap();
        hub.close();
        assert_eq!(open.try_recv(), Err(TryRecvError::Closed));
        assert!(hub.subscribe(ORG_B).is_none());
        assert_eq!(hub.publish(ORG_B, hint("Contact")), 0);
    }
}
