//! The edge's book of orders: which partition owns a record, which order it belongs to, and
//! what to forward when an order's state changes. Pure: the Worker's Durable Object does the
//! storage and the I/O around these decisions.
//!
//! Partitioning: one book per Stripe account and mode ([`partition`]: `platform:test`,
//! `acct_1:live`, ...). A book holds, in strongly consistent storage, every event id it accepted
//! (exact dedup), an index from the Stripe ids of payments (PaymentIntent, charge, Checkout
//! Session, invoice, refund, dispute) to their order, each order's [`OrderEntry`] (v2 state and
//! a sequence that only grows), and records waiting for their order (a refund that overtook
//! its payment). Records of one account are applied one at a time; accounts scale out.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mapping::{MappingError, Profile};
use crate::normalize::Record;
use crate::state::{MergeError, MergeOutcome, OrderState};

/// How many of an order's newest event ids its entry keeps (for operators; dedup is separate).
pub const MAX_EVENT_IDS: usize = 500;

/// The book a record belongs to: its Connect account (or `platform`) and its mode.
pub fn partition(record: &Record) -> String {
    partition_of(record.account.as_deref(), record.livemode)
}

/// The book of an event's account (`None`: the platform) and mode, as [`partition`] names it.
pub fn partition_of(account: Option<&str>, livemode: bool) -> String {
    let account = account.unwrap_or(crate::mode::PLATFORM);
    let mode = if livemode { "live" } else { "test" };
    format!("{account}:{mode}")
}

/// The Connect account a book is for, as Stripe's `Stripe-Account` header names it; `None` for
/// the platform's own books.
pub fn account_of(book: &str) -> Option<&str> {
    let (account, _mode) = book.rsplit_once(':')?;
    (!account.is_empty() && account != crate::mode::PLATFORM).then_some(account)
}

/// The Stripe ids that tie a record to its order's payments, for the index.
pub fn link_ids(record: &Record) -> Vec<String> {
    let mut ids: Vec<String> = [
        &record.payment_intent,
        &record.charge,
        &record.checkout_session,
        &record.invoice,
        &record.refund,
        &record.dispute,
    ]
    .into_iter()
    .flatten()
    .filter(|id| !id.is_empty())
    .cloned()
    .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Storage keys of a book.
pub mod keys {
    /// An accepted event (exact dedup).
    pub fn event(event_id: &str) -> String {
        format!("evt:{event_id}")
    }
    /// The order a Stripe payment id belongs to.
    pub fn index(stripe_id: &str) -> String {
        format!("idx:{stripe_id}")
    }
    /// An order's entry.
    pub fn order(order_ref: &str) -> String {
        format!("ord:{order_ref}")
    }
    /// The events waiting for the order of a Stripe id.
    pub fn waiting(stripe_id: &str) -> String {
        format!("wait:{stripe_id}")
    }
    /// A record kept while it waits for its order.
    pub fn orphan(event_id: &str) -> String {
        format!("orphan:{event_id}")
    }
}

/// One order in a book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEntry {
    pub order_ref: String,
    /// Grows by one with each change of the state that is forwarded.
    pub sequence: u64,
    pub state: OrderState,
    /// The newest event ids applied (at most [`MAX_EVENT_IDS`]), oldest first.
    pub event_ids: Vec<String>,
}

/// A forward of an order's state: the body to POST and its Standard Webhooks id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// Unique per forward: the order (hashed with its book) and the sequence.
    pub webhook_id: String,
    pub order_ref: String,
    pub sequence: u64,
    pub body: String,
}

/// The body of a state forward. `mapping` is the target profile's output computed from the
/// state (present only with a profile).
#[derive(Serialize)]
struct ForwardBody<'a> {
    /// The book (`account:mode`): sequences count per book, and the mode is visible.
    book: &'a str,
    order_ref: &'a str,
    sequence: u64,
    event_ids: &'a [String],
    state: &'a OrderState,
    #[serde(skip_serializing_if = "Option::is_none")]
    mapping: Option<Box<serde_json::value::RawValue>>,
}

/// Why a record could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookError {
    Merge(MergeError),
    Mapping(MappingError),
}

impl std::fmt::Display for BookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BookError::Merge(e) => e.fmt(f),
            BookError::Mapping(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BookError {}

impl OrderEntry {
    pub fn new(order_ref: impl Into<String>) -> Self {
        let order_ref = order_ref.into();
        OrderEntry {
            state: OrderState::new(order_ref.clone()),
            order_ref,
            sequence: 0,
            event_ids: Vec::new(),
        }
    }

    /// Applies records one at a time (an event, and the waiting ones it unblocks); when the
    /// state changed, the sequence grows and the forward of the new state is returned. On error
    /// the entry is unchanged.
    pub fn apply(
        &mut self,
        records: &[&Record],
        book: &str,
        profile: Option<&Profile>,
    ) -> Result<Option<Forward>, BookError> {
        let mut next = self.clone();
        let mut changed = Vec::new();
        for record in records {
            if next.state.merge(record).map_err(BookError::Merge)? == MergeOutcome::Changed {
                changed.push(record.event_id.clone());
            }
            if !next.event_ids.contains(&record.event_id) {
                next.event_ids.push(record.event_id.clone());
            }
        }
        let excess = next.event_ids.len().saturating_sub(MAX_EVENT_IDS);
        next.event_ids.drain(..excess);
        let last = records.last();
        let forward = match (changed.is_empty(), last) {
            (false, Some(last)) => {
                next.sequence = next.sequence.saturating_add(1);
                Some(next.forward(&changed, book, profile, last)?)
            }
            _ => None,
        };
        *self = next;
        Ok(forward)
    }

    /// The forward of the current state, for the events that changed it.
    fn forward(
        &self,
        event_ids: &[String],
        book: &str,
        profile: Option<&Profile>,
        record: &Record,
    ) -> Result<Forward, BookError> {
        let mapping = match profile {
            Some(profile) => profile
                .map_with_state(record, &self.state)
                .map_err(BookError::Mapping)?
                .and_then(|json| serde_json::value::RawValue::from_string(json).ok()),
            None => None,
        };
        let body = ForwardBody {
            book,
            order_ref: &self.order_ref,
            sequence: self.sequence,
            event_ids,
            state: &self.state,
            mapping,
        };
        Ok(Forward {
            webhook_id: webhook_id(book, &self.order_ref, self.sequence),
            order_ref: self.order_ref.clone(),
            sequence: self.sequence,
            // Plain data: serialization cannot fail.
            body: serde_json::to_string(&body).unwrap_or_default(),
        })
    }
}

/// `sb_<24 hex of sha256(book, order)>_<sequence>`: unique per forward, no order text in it.
pub fn webhook_id(book: &str, order_ref: &str, sequence: u64) -> String {
    let mut hash = Sha256::new();
    hash.update(book.as_bytes());
    hash.update([0]);
    hash.update(order_ref.as_bytes());
    let digest = hex::encode(hash.finalize());
    let short = digest.get(..24).unwrap_or(&digest);
    format!("sb_{short}_{sequence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions, Status};

    #[test]
    fn a_book_names_its_connect_account() {
        for (account, live) in [(Some("acct_1Nv0FG"), true), (Some("acct_2"), false)] {
            assert_eq!(account_of(&partition_of(account, live)), account);
        }
        assert_eq!(account_of(&partition_of(None, true)), None);
        assert_eq!(account_of("platform:test"), None);
        assert_eq!(account_of(""), None);
        assert_eq!(account_of(":live"), None);
    }

    fn rec(event_id: &str, event_type: &str, created: i64, object: &str) -> Record {
        let json = format!(
            r#"{{"id":"{event_id}","type":"{event_type}","created":{created},"livemode":false,"data":{{"object":{object}}}}}"#
        );
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    fn paid() -> Record {
        rec(
            "evt_paid",
            "payment_intent.succeeded",
            20,
            r#"{"id":"pi_1","object":"payment_intent","amount":2000,"amount_received":2000,"currency":"usd","status":"succeeded","latest_charge":"ch_1","metadata":{"order_id":"A-1"}}"#,
        )
    }

    fn created() -> Record {
        rec(
            "evt_created",
            "payment_intent.created",
            10,
            r#"{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_payment_method","metadata":{"order_id":"A-1"}}"#,
        )
    }

    #[test]
    fn partitions_and_links() {
        let r = paid();
        assert_eq!(partition(&r), "platform:test");
        assert_eq!(link_ids(&r), vec!["ch_1".to_owned(), "pi_1".to_owned()]);
    }

    #[test]
    fn sequences_grow_only_with_changes_and_bodies_carry_the_state() {
        let mut entry = OrderEntry::new("A-1");
        let first = entry
            .apply(&[&paid()], "platform:test", None)
            .unwrap()
            .unwrap();
        assert_eq!(first.sequence, 1);
        let body: serde_json::Value = serde_json::from_str(&first.body).unwrap();
        assert_eq!(body["order_ref"], "A-1");
        assert_eq!(body["book"], "platform:test");
        assert_eq!(body["sequence"], 1);
        assert_eq!(body["event_ids"], serde_json::json!(["evt_paid"]));
        assert_eq!(body["state"]["status"], "paid");
        assert!(body.get("mapping").is_none());
        // A late `created` changes nothing: no forward, same sequence; the id is still listed.
        assert_eq!(
            entry.apply(&[&created()], "platform:test", None).unwrap(),
            None
        );
        assert_eq!(entry.sequence, 1);
        assert_eq!(entry.event_ids, vec!["evt_paid", "evt_created"]);
        assert_eq!(entry.state.status, Some(Status::Paid));
        // Another book, another order: other webhook ids; the same order and sequence: the same.
        assert_ne!(
            webhook_id("platform:test", "A-1", 1),
            webhook_id("acct_1:test", "A-1", 1)
        );
        assert_eq!(first.webhook_id, webhook_id("platform:test", "A-1", 1));
    }

    #[test]
    fn a_profile_maps_the_state_not_the_event() {
        let mut entry = OrderEntry::new("A-1");
        let profile = Profile::parse("nopcommerce").unwrap();
        entry
            .apply(&[&paid()], "platform:test", Some(&profile))
            .unwrap();
        let forward = entry
            .apply(
                &[&rec(
                    "evt_refund",
                    "refund.created",
                    30,
                    r#"{"id":"re_1","object":"refund","amount":500,"currency":"usd","status":"succeeded","charge":"ch_1","payment_intent":"pi_1"}"#,
                )],
                "platform:test",
                Some(&profile),
            )
            .unwrap()
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&forward.body).unwrap();
        assert_eq!(body["sequence"], 2);
        assert_eq!(body["mapping"]["payment_status_id"], 35);
        assert_eq!(body["mapping"]["order_id"], "A-1");
    }
}
