//! An order's timeline for operators: each Stripe event applied to it and each forward of its
//! state, newest last, at most [`MAX_ENTRIES`]; and the index from a customer to their orders,
//! for search. Kept by the order book next to the order's entry (never the payload: ids,
//! types, statuses and amounts only).

use serde::{Deserialize, Serialize};

use crate::normalize::Record;

/// How many entries an order's timeline keeps (the oldest go first).
pub const MAX_ENTRIES: usize = 200;
/// How many orders the customer index keeps per customer (the newest).
pub const MAX_CUSTOMER_ORDERS: usize = 50;

/// The storage key of an order's timeline.
pub fn key(order_ref: &str) -> String {
    format!("tl:{order_ref}")
}

/// The storage key of a customer's orders.
pub fn customer_key(customer: &str) -> String {
    format!("cus:{customer}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Stripe event applied to the order.
    Event,
    /// A forward of the order (its state, or the event's record) to the backend.
    Forward,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// The Stripe event id, or the forward's webhook id.
    pub id: String,
    /// When the Worker applied or queued it (Unix ms).
    pub at_ms: u64,
    /// Events: their type; forwards: `order.state` or the event type forwarded.
    pub event_type: String,
    /// Events: Stripe's `created` (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Events: the record's status; forwards: the order's status after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Events: the exact amount in the currency's decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// State forwards: the order's sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

/// The entry of an applied event.
pub fn event(record: &Record, at_ms: u64) -> Entry {
    Entry {
        kind: Kind::Event,
        id: record.event_id.clone(),
        at_ms,
        event_type: record.event_type.clone(),
        created: Some(record.created),
        status: Some(record.status.as_str().to_owned()),
        object_id: record.object_id.clone().filter(|s| !s.is_empty()),
        amount: record.amount.map(|a| a.to_string()),
        currency: record.currency.clone(),
        sequence: None,
    }
}

/// The entry of a forward queued for the order.
pub fn forward(
    webhook_id: &str,
    event_type: &str,
    sequence: Option<u64>,
    order_status: Option<&str>,
    at_ms: u64,
) -> Entry {
    Entry {
        kind: Kind::Forward,
        id: webhook_id.to_owned(),
        at_ms,
        event_type: event_type.to_owned(),
        created: None,
        status: order_status.map(str::to_owned),
        object_id: None,
        amount: None,
        currency: None,
        sequence,
    }
}

/// Appends entries not already there (same kind and id), keeping the newest [`MAX_ENTRIES`].
pub fn append(timeline: &mut Vec<Entry>, entries: impl IntoIterator<Item = Entry>) {
    for entry in entries {
        if !timeline
            .iter()
            .any(|e| e.kind == entry.kind && e.id == entry.id)
        {
            timeline.push(entry);
        }
    }
    let excess = timeline.len().saturating_sub(MAX_ENTRIES);
    timeline.drain(..excess);
}

/// Adds an order to a customer's list (once; the newest [`MAX_CUSTOMER_ORDERS`] are kept).
/// Whether the list changed.
pub fn add_customer_order(orders: &mut Vec<String>, order_ref: &str) -> bool {
    if orders.iter().any(|o| o == order_ref) {
        return false;
    }
    orders.push(order_ref.to_owned());
    let excess = orders.len().saturating_sub(MAX_CUSTOMER_ORDERS);
    orders.drain(..excess);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    fn record() -> Record {
        let json = r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1700000000,"livemode":false,
          "data":{"object":{"id":"pi_1","object":"payment_intent","amount":1234,"amount_received":1234,
          "currency":"kwd","status":"succeeded","customer":"cus_1","metadata":{"order_id":"A1"}}}}"#;
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    #[test]
    fn an_event_entry_has_its_exact_amount_and_no_payload() {
        let e = event(&record(), 5);
        assert_eq!(e.kind, Kind::Event);
        assert_eq!(e.amount.as_deref(), Some("1.234"));
        assert_eq!(e.currency.as_deref(), Some("KWD"));
        assert_eq!(e.status.as_deref(), Some("paid"));
        assert_eq!(e.object_id.as_deref(), Some("pi_1"));
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            !text.contains("cus_1") && !text.contains("metadata"),
            "{text}"
        );
    }

    #[test]
    fn append_skips_repeats_and_keeps_the_newest() {
        let mut t = Vec::new();
        append(
            &mut t,
            [
                event(&record(), 1),
                forward("sb_x_1", "order.state", Some(1), Some("paid"), 2),
            ],
        );
        append(&mut t, [event(&record(), 3)]);
        assert_eq!(t.len(), 2, "the same event once");
        let many =
            (0..MAX_ENTRIES + 5).map(|i| forward(&format!("f{i}"), "order.state", None, None, 9));
        append(&mut t, many);
        assert_eq!(t.len(), MAX_ENTRIES);
        assert_eq!(t.last().unwrap().id, format!("f{}", MAX_ENTRIES + 4));
        assert_eq!(t.first().unwrap().id, "f5");
    }

    #[test]
    fn customer_orders_once_and_bounded() {
        let mut orders = Vec::new();
        assert!(add_customer_order(&mut orders, "A"));
        assert!(!add_customer_order(&mut orders, "A"));
        for i in 0..MAX_CUSTOMER_ORDERS + 3 {
            add_customer_order(&mut orders, &format!("o{i}"));
        }
        assert_eq!(orders.len(), MAX_CUSTOMER_ORDERS);
        assert!(!orders.contains(&"A".to_owned()));
    }
}
