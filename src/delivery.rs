//! Reliable delivery of normalized records to a downstream system: the queue message, the
//! dedup state kept per Stripe event, and the retry policy. Pure: the Worker does the I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::normalize::Record;

/// Cloudflare Queues' limit per message.
pub const MAX_QUEUE_MESSAGE_BYTES: usize = 128 * 1024;

/// What goes through the queue: the event id (the downstream idempotency key) and the exact
/// body to POST. Never the raw Stripe event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardMessage {
    pub event_id: String,
    pub event_type: String,
    /// The JSON body to forward (the normalized record, or its mapping for the target).
    pub body: String,
}

/// A message that cannot be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub bytes: usize,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the forwarded body is {} bytes; queue messages are limited to {MAX_QUEUE_MESSAGE_BYTES}",
            self.bytes
        )
    }
}

impl std::error::Error for TooLarge {}

impl ForwardMessage {
    /// A message forwarding `body` for `record`'s event.
    pub fn new(record: &Record, body: String) -> Result<Self, TooLarge> {
        let message = ForwardMessage {
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            body,
        };
        // Ids, type and JSON framing are small; keep a margin for the queue's own encoding.
        let bytes = message
            .body
            .len()
            .saturating_add(message.event_id.len())
            .saturating_add(message.event_type.len())
            .saturating_add(256);
        if bytes > MAX_QUEUE_MESSAGE_BYTES {
            return Err(TooLarge { bytes });
        }
        Ok(message)
    }

    /// A message forwarding the normalized record itself.
    pub fn for_record(record: &Record) -> Result<Self, TooLarge> {
        // A Record always serializes (strings, numbers and decimals only).
        let body = serde_json::to_string(record).unwrap_or_default();
        ForwardMessage::new(record, body)
    }
}

/// Where an event is in its delivery, as kept in the dedup store (keyed by event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Verified, but an event type that is not forwarded.
    Ignored,
    /// In the forward queue.
    Enqueued,
    /// A delivery attempt failed; the queue retries it.
    Retrying,
    /// The downstream answered 2xx.
    Delivered,
    /// Out of retries: kept in the dead-letter store for listing and replay.
    DeadLettered,
    /// Taken from the dead-letter store and queued again.
    Replayed,
}

/// One dedup entry. Any entry makes a later delivery of the same event a duplicate: the event
/// was either ignored or safely queued before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupEntry {
    pub state: DeliveryState,
    pub event_type: String,
    /// When the state was recorded, Unix milliseconds.
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The key of an event in the dedup store.
pub fn dedup_key(event_id: &str) -> String {
    format!("evt:{event_id}")
}

/// The key of an event in the dead-letter store.
pub fn dead_letter_key(event_id: &str) -> String {
    format!("dl:{event_id}")
}

/// Exponential backoff from the time since the message was first queued: waiting as long again
/// as has already passed doubles the total each attempt (base, 2·base, 4·base, ...), capped.
pub fn retry_delay_secs(elapsed_secs: u64, base_secs: u32, max_secs: u32) -> u32 {
    let elapsed = u32::try_from(elapsed_secs).unwrap_or(u32::MAX);
    elapsed.max(base_secs).min(max_secs.max(base_secs))
}

/// Whether a downstream HTTP status means delivered (2xx); anything else is retried.
pub fn is_delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    fn record() -> Record {
        normalize_json(
            br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded"}}}"#,
            &NormalizeOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn message_carries_the_record_not_the_event() {
        let m = ForwardMessage::for_record(&record()).unwrap();
        assert_eq!(m.event_id, "evt_1");
        assert_eq!(m.event_type, "payment_intent.succeeded");
        let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(body["amount"], "1.00");
        assert!(body.get("data").is_none());
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = "x".repeat(MAX_QUEUE_MESSAGE_BYTES);
        assert!(ForwardMessage::new(&record(), big).is_err());
        assert!(ForwardMessage::new(&record(), "x".repeat(100_000)).is_ok());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        // Attempts at 0, 10, 20, 40, 80, ... seconds after queueing.
        let mut t = 0u64;
        let mut waits = vec![];
        for _ in 0..12 {
            let d = retry_delay_secs(t, 10, 3600);
            waits.push(d);
            t += u64::from(d);
        }
        assert_eq!(&waits[..6], &[10, 10, 20, 40, 80, 160]);
        assert_eq!(*waits.last().unwrap(), 3600);
        assert_eq!(retry_delay_secs(u64::MAX, 10, 3600), 3600);
        assert_eq!(retry_delay_secs(5, 0, 0), 0);
    }

    #[test]
    fn states_round_trip() {
        let e = DedupEntry {
            state: DeliveryState::DeadLettered,
            event_type: "x".into(),
            at_ms: 5,
            last_error: Some("HTTP 500".into()),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""state":"dead_lettered""#));
        assert_eq!(serde_json::from_str::<DedupEntry>(&json).unwrap(), e);
        assert!(is_delivered(204) && !is_delivered(302) && !is_delivered(500));
        assert_eq!(dedup_key("evt_1"), "evt:evt_1");
    }
}
