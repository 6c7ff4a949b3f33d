//! The state of one order, built from normalized records in any order, any number of times.
//!
//! Stripe delivers webhooks at least once and in no particular order. [`OrderState::merge`] is
//! a join: merging is commutative, associative and idempotent, so every permutation of a set
//! of records, with any duplicates, ends in the same state. The rules:
//!
//! - **Payment status** by precedence: `pending`/`requires_action`/`failed` (the latest by event
//!   time wins among them; a retry after a failure can still succeed) < `authorized` <
//!   `canceled`/`expired`/`void`/`uncollectible` < `paid`. So a late `processing` never
//!   downgrades `paid`, and a late `created` never undoes `canceled`.
//! - **Refunds** accumulate by refund id (the same refund twice counts once; a refund that later
//!   fails stops counting), and the latest cumulative `amount_refunded` a charge reported is a
//!   floor. A refunded total covering the paid amount is `refunded`, else `partially_refunded`.
//! - **Disputes** by dispute id: `disputed` < `dispute_won` < `dispute_lost`. Any open dispute
//!   makes the order `disputed`; closed ones make it `dispute_won` / `dispute_lost`.
//! - Payout statuses: `payout_pending` < `canceled` < `payout_paid` < `payout_failed` (a payout
//!   can fail after it was reported paid).
//!
//! Records that say nothing about a payment (`ignored`, customer updates) leave the state as
//! it was. A record for another order, or in another currency, is refused with an error and
//! changes nothing.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{minor_to_decimal, Currency};
use crate::normalize::{Record, Status};

/// Why a record could not be merged. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// The record belongs to another order.
    OrderMismatch { state: String, record: String },
    /// The record is in another currency than the order.
    CurrencyMismatch { state: String, record: String },
    /// The stored state is inconsistent (e.g. edited by hand), or an amount overflowed.
    InvalidState { reason: &'static str },
}

impl MergeError {
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::OrderMismatch { .. } => "order_mismatch",
            MergeError::CurrencyMismatch { .. } => "currency_mismatch",
            MergeError::InvalidState { .. } => "invalid_state",
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::OrderMismatch { state, record } => write!(
                f,
                "record for order {record:?} cannot be merged into the state of order {state:?}"
            ),
            MergeError::CurrencyMismatch { state, record } => write!(
                f,
                "record in {record} cannot be merged into an order in {state}"
            ),
            MergeError::InvalidState { reason } => write!(f, "invalid order state: {reason}"),
        }
    }
}

impl std::error::Error for MergeError {}

/// The strongest payment status seen, with what decides between equals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatusKey {
    tier: u8,
    /// Event time, for tiers where the latest wins; 0 elsewhere.
    at: i64,
    rank: u8,
    status: Status,
}

/// A refund as seen so far.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RefundEntry {
    /// 1 pending, 2 succeeded, 3 failed or canceled (a refund can fail after it succeeded).
    pub stage: u8,
    /// Event time of that stage.
    pub at: i64,
    pub amount_minor: i64,
    /// The charge refunded, when known.
    pub charge: Option<String>,
}

impl RefundEntry {
    fn counts(&self) -> bool {
        self.stage <= 2
    }
}

/// The merged state of one order. The `status` and amount fields are derived from the others
/// after every merge; store and pass back the whole object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderState {
    pub order_ref: Option<String>,
    pub status: Option<Status>,
    pub currency: Option<String>,
    /// The largest payment amount seen (the order/payment total).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    pub amount_minor: Option<i64>,
    /// The largest amount reported as paid or authorized.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_paid: Option<Decimal>,
    pub amount_paid_minor: Option<i64>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_refunded: Option<Decimal>,
    pub amount_refunded_minor: i64,
    pub customer_id: Option<String>,
    pub payment_intents: BTreeSet<String>,
    pub charges: BTreeSet<String>,
    pub invoices: BTreeSet<String>,
    pub checkout_sessions: BTreeSet<String>,
    pub payouts: BTreeSet<String>,
    pub refunds: BTreeMap<String, RefundEntry>,
    pub disputes: BTreeMap<String, Status>,
    /// Event time of the newest record merged.
    pub last_event_at: Option<i64>,
    /// Id of the newest record merged (by event time, then id): the same whatever the order.
    pub last_event_id: Option<String>,
    /// The charge that took the money (of the paid records; the smallest id if several).
    pub paid_charge: Option<String>,
    /// Stripe's fee and the net of the payment's balance transaction, in its settlement
    /// currency, when an event carried it expanded.
    pub fee_minor: Option<i64>,
    pub net_minor: Option<i64>,
    pub settlement_currency: Option<String>,
    /// A payment method type seen (the greatest, for a deterministic choice).
    pub payment_method_type: Option<String>,
    /// Event time of the earliest record saying the money was taken (paid or later).
    pub paid_at: Option<i64>,
    /// Internal: the payment status key.
    pub base: Option<StatusKey>,
    /// Internal: per charge id, the latest cumulative refunded amount it reported, as
    /// (event time, amount).
    pub charge_refunded: BTreeMap<String, (i64, i64)>,
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The state changed.
    Changed,
    /// The record added nothing (a duplicate, a stale record, or an ignored event).
    Unchanged,
}

fn status_key(status: Status, at: i64) -> Option<StatusKey> {
    use Status::*;
    let (tier, timed, rank) = match status {
        Pending => (1, true, 0),
        RequiresAction => (1, true, 1),
        Failed => (1, true, 2),
        Authorized => (2, false, 0),
        Canceled => (3, false, 0),
        Expired => (3, false, 1),
        Uncollectible => (3, false, 2),
        Void => (3, false, 3),
        Paid => (4, false, 0),
        PayoutPending => (1, true, 3),
        PayoutPaid => (4, false, 1),
        PayoutFailed => (5, false, 0),
        // Refund, dispute and non-payment statuses are tracked elsewhere.
        PartiallyRefunded | Refunded | Disputed | DisputeWon | DisputeLost | CustomerActive
        | CustomerDeleted | Ignored => return None,
    };
    Some(StatusKey {
        tier,
        at: if timed { at } else { 0 },
        rank,
        status,
    })
}

fn dispute_rank(status: Status) -> u8 {
    match status {
        Status::DisputeLost => 3,
        Status::DisputeWon => 2,
        _ => 1,
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a record's `amount` is a payment amount (not a refund's, dispute's or payout's).
fn is_payment_object(record: &Record) -> bool {
    !matches!(
        record.object.as_deref(),
        Some("refund" | "dispute" | "payout" | "customer")
    )
}

impl OrderState {
    /// An empty state for `order_ref`.
    pub fn new(order_ref: impl Into<String>) -> Self {
        OrderState {
            order_ref: Some(order_ref.into()),
            ..OrderState::default()
        }
    }

    /// Merges `record` into the state. On error the state is unchanged.
    pub fn merge(&mut self, record: &Record) -> Result<MergeOutcome, MergeError> {
        let mut next = self.clone();
        next.apply(record)?;
        next.derive()?;
        if next == *self {
            return Ok(MergeOutcome::Unchanged);
        }
        *self = next;
        Ok(MergeOutcome::Changed)
    }

    /// A merged copy; `self` is untouched.
    pub fn merged(&self, record: &Record) -> Result<OrderState, MergeError> {
        let mut next = self.clone();
        next.merge(record)?;
        Ok(next)
    }

    fn apply(&mut self, r: &Record) -> Result<(), MergeError> {
        if matches!(
            r.status,
            Status::Ignored | Status::CustomerActive | Status::CustomerDeleted
        ) {
            return Ok(());
        }
        if let (Some(state), Some(record)) = (&self.order_ref, &r.order_ref) {
            if state != record {
                return Err(MergeError::OrderMismatch {
                    state: state.clone(),
                    record: record.clone(),
                });
            }
        }
        if let (Some(state), Some(record)) = (&self.currency, &r.currency) {
            if state != record {
                return Err(MergeError::CurrencyMismatch {
                    state: state.clone(),
                    record: record.clone(),
                });
            }
        }
        self.order_ref = self.order_ref.take().or_else(|| r.order_ref.clone());
        self.currency = self.currency.take().or_else(|| r.currency.clone());
        self.customer_id = max_opt(self.customer_id.take(), r.customer_id.clone());
        let newest = max_opt(
            self.last_event_at.zip(self.last_event_id.take()),
            Some((r.created, r.event_id.clone())),
        );
        (self.last_event_at, self.last_event_id) = newest.unzip();
        self.payment_method_type = max_opt(
            self.payment_method_type.take(),
            r.payment_method_type.clone(),
        );
        let ids = [
            (&mut self.payment_intents, &r.payment_intent),
            (&mut self.charges, &r.charge),
            (&mut self.invoices, &r.invoice),
            (&mut self.checkout_sessions, &r.checkout_session),
            (&mut self.payouts, &r.payout),
        ];
        for (set, id) in ids {
            if let Some(id) = id {
                set.insert(id.clone());
            }
        }

        let object = r.object.as_deref();
        match object {
            Some("refund") => {
                if let (Some(id), Some(amount)) = (&r.refund, r.amount_minor) {
                    let stage = match r.status {
                        Status::Pending => 1,
                        Status::Refunded => 2,
                        _ => 3,
                    };
                    let entry = RefundEntry {
                        stage,
                        at: r.created,
                        amount_minor: amount,
                        charge: r.charge.clone(),
                    };
                    match self.refunds.get_mut(id) {
                        Some(slot) if *slot >= entry => {}
                        Some(slot) => *slot = entry,
                        None => {
                            self.refunds.insert(id.clone(), entry);
                        }
                    }
                }
                return Ok(());
            }
            Some("dispute") => {
                if let Some(id) = &r.dispute {
                    let slot = self.disputes.entry(id.clone()).or_insert(r.status);
                    if dispute_rank(r.status) > dispute_rank(*slot) {
                        *slot = r.status;
                    }
                }
                return Ok(());
            }
            _ => {}
        }

        if is_payment_object(r) {
            self.amount_minor = max_opt(self.amount_minor, r.amount_minor);
            if let (Some(fee), Some(net), Some(cur)) =
                (r.fee_minor, r.net_minor, &r.settlement_currency)
            {
                let seen = self
                    .fee_minor
                    .zip(self.net_minor)
                    .zip(self.settlement_currency.take());
                let ((fee, net), cur) = max_opt(seen, Some(((fee, net), cur.clone())))
                    .unwrap_or(((fee, net), cur.clone()));
                (self.fee_minor, self.net_minor, self.settlement_currency) =
                    (Some(fee), Some(net), Some(cur));
            }
            // A released authorization reports its amount as refunded: not a refund of money.
            let captured = matches!(
                r.status,
                Status::Paid | Status::PartiallyRefunded | Status::Refunded
            );
            if let (Some(refunded), true) = (r.amount_refunded_minor, captured) {
                let key = r.charge.clone().unwrap_or_default();
                let seen = self.charge_refunded.get(&key).copied();
                if let Some(newer) = max_opt(seen, Some((r.created, refunded))) {
                    self.charge_refunded.insert(key, newer);
                }
            }
        }
        let status = match r.status {
            // A charge or payment reporting refunds was paid first.
            Status::Refunded | Status::PartiallyRefunded => Status::Paid,
            Status::Disputed | Status::DisputeWon | Status::DisputeLost => Status::Paid,
            other => other,
        };
        // Only money actually taken counts as paid (an authorization may be captured partially).
        if status == Status::Paid && is_payment_object(r) {
            self.amount_paid_minor = max_opt(self.amount_paid_minor, r.amount_minor);
            self.paid_at = Some(self.paid_at.map_or(r.created, |at| at.min(r.created)));
            if let Some(charge) = &r.charge {
                self.paid_charge = Some(match self.paid_charge.take() {
                    Some(seen) if seen <= *charge => seen,
                    _ => charge.clone(),
                });
            }
        }
        self.base = max_opt(self.base, status_key(status, r.created));
        Ok(())
    }

    /// Recomputes the derived fields from the others.
    fn derive(&mut self) -> Result<(), MergeError> {
        let overflow = MergeError::InvalidState {
            reason: "refund amounts overflow",
        };
        // Per charge: the refunds known one by one, or the charge's own cumulative figure minus
        // the refunds that failed after it reported it, whichever is more.
        // A refund that names no charge belongs to the order's only charge, if it has one.
        let only_charge = match self.charges.len() {
            1 => self.charges.first().map(String::as_str),
            _ => None,
        };
        let charge_of = |r: &RefundEntry| -> String {
            r.charge.as_deref().or(only_charge).unwrap_or("").to_owned()
        };
        let mut per_charge: BTreeMap<String, i64> = BTreeMap::new();
        for refund in self.refunds.values().filter(|r| r.counts()) {
            let slot = per_charge.entry(charge_of(refund)).or_insert(0);
            *slot = slot
                .checked_add(refund.amount_minor)
                .ok_or(overflow.clone())?;
        }
        for (charge, (at, amount)) in &self.charge_refunded {
            let failed_since = self
                .refunds
                .values()
                .filter(|r| !r.counts() && r.at > *at && charge_of(r) == *charge)
                .try_fold(0i64, |acc, r| acc.checked_add(r.amount_minor))
                .ok_or(overflow.clone())?;
            let floor = amount.saturating_sub(failed_since).max(0);
            let slot = per_charge.entry(charge.clone()).or_insert(0);
            *slot = (*slot).max(floor);
        }
        self.amount_refunded_minor = per_charge
            .values()
            .try_fold(0i64, |acc, v| acc.checked_add(*v))
            .ok_or(overflow)?;

        let base = self.base.map(|k| k.status);
        let open_dispute = self.disputes.values().any(|s| *s == Status::Disputed);
        let lost = self.disputes.values().any(|s| *s == Status::DisputeLost);
        self.status = if !self.disputes.is_empty() {
            Some(if open_dispute {
                Status::Disputed
            } else if lost {
                Status::DisputeLost
            } else {
                Status::DisputeWon
            })
        } else if self.amount_refunded_minor > 0 && !self.is_payout() {
            let total = self.amount_paid_minor.or(self.amount_minor);
            // Without a known paid amount, "partially" is the claim that can only grow.
            Some(match total {
                Some(total) if self.amount_refunded_minor >= total => Status::Refunded,
                _ => Status::PartiallyRefunded,
            })
        } else {
            base
        };

        let currency = match &self.currency {
            Some(code) => Some(Currency::new(code).map_err(|_| MergeError::InvalidState {
                reason: "the currency is not a three-letter code",
            })?),
            None => None,
        };
        let fmt = |minor: Option<i64>| Some(minor_to_decimal(minor?, currency.as_ref()?));
        self.amount = fmt(self.amount_minor);
        self.amount_paid = fmt(self.amount_paid_minor);
        self.amount_refunded = fmt(Some(self.amount_refunded_minor));
        Ok(())
    }

    fn is_payout(&self) -> bool {
        matches!(
            self.base.map(|k| k.status),
            Some(Status::PayoutPending | Status::PayoutPaid | Status::PayoutFailed)
        )
    }

    /// Folds records into a new state (convenience for tests and replays).
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<OrderState, MergeError> {
        let mut state = OrderState::default();
        for r in records {
            state.merge(r)?;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    fn rec(event_type: &str, created: i64, object: &str) -> Record {
        let json = format!(
            r#"{{"id":"evt_{created}_{event_type}","type":"{event_type}","created":{created},"data":{{"object":{object}}}}}"#
        );
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    fn pi(event_type: &str, created: i64, status: &str) -> Record {
        rec(
            event_type,
            created,
            &format!(
                r#"{{"id":"pi_1","object":"payment_intent","amount":5000,"amount_received":5000,"currency":"usd","status":"{status}","metadata":{{"order_id":"A-1"}}}}"#
            ),
        )
    }

    fn refund(id: &str, created: i64, amount: i64, status: &str) -> Record {
        let event = if status == "failed" {
            "refund.failed"
        } else {
            "refund.created"
        };
        rec(
            event,
            created,
            &format!(
                r#"{{"id":"{id}","object":"refund","amount":{amount},"currency":"usd","status":"{status}","charge":"ch_1","payment_intent":"pi_1"}}"#
            ),
        )
    }

    #[test]
    fn late_processing_never_downgrades_paid() {
        let mut s = OrderState::default();
        s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
            .unwrap();
        assert_eq!(s.status, Some(Status::Paid));
        let out = s
            .merge(&pi("payment_intent.processing", 10, "processing"))
            .unwrap();
        assert_eq!(s.status, Some(Status::Paid));
        assert_eq!(out, MergeOutcome::Unchanged);
        assert_eq!(s.amount_paid.unwrap().to_string(), "50.00");
        assert_eq!(s.order_ref.as_deref(), Some("A-1"));
    }

    #[test]
    fn latest_open_status_wins_and_retry_can_succeed() {
        let mut s = OrderState::default();
        s.merge(&pi(
            "payment_intent.payment_failed",
            10,
            "requires_payment_method",
        ))
        .unwrap();
        s.merge(&pi("payment_intent.requires_action", 20, "requires_action"))
            .unwrap();
        assert_eq!(s.status, Some(Status::RequiresAction));
        s.merge(&pi("payment_intent.created", 1, "requires_payment_method"))
            .unwrap();
        assert_eq!(s.status, Some(Status::RequiresAction));
        s.merge(&pi("payment_intent.succeeded", 30, "succeeded"))
            .unwrap();
        assert_eq!(s.status, Some(Status::Paid));
    }

    #[test]
    fn same_refund_twice_counts_once() {
        let mut s = OrderState::default();
        s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
            .unwrap();
        let r = refund("re_1", 30, 1000, "succeeded");
        s.merge(&r).unwrap();
        assert_eq!(s.merge(&r).unwrap(), MergeOutcome::Unchanged);
        assert_eq!(s.amount_refunded_minor, 1000);
        assert_eq!(s.status, Some(Status::PartiallyRefunded));
        s.merge(&refund("re_2", 40, 4000, "succeeded")).unwrap();
        assert_eq!(s.status, Some(Status::Refunded));
        assert_eq!(s.amount_refunded.unwrap().to_string(), "50.00");
        // re_2 fails later: it stops counting.
        s.merge(&refund("re_2", 50, 4000, "failed")).unwrap();
        assert_eq!(s.status, Some(Status::PartiallyRefunded));
        assert_eq!(s.amount_refunded_minor, 1000);
    }

    #[test]
    fn mismatches_are_errors_and_change_nothing() {
        let mut s = OrderState::new("B-2");
        s.merge(&pi("payment_intent.created", 1, "requires_payment_method"))
            .unwrap_err();
        assert_eq!(s, OrderState::new("B-2"));
        let mut s = OrderState::default();
        s.merge(&pi("payment_intent.created", 1, "requires_payment_method"))
            .unwrap();
        let before = s.clone();
        let eur = rec(
            "payment_intent.succeeded",
            2,
            r#"{"id":"pi_1","object":"payment_intent","amount":5000,"currency":"eur","status":"succeeded"}"#,
        );
        let err = s.merge(&eur).unwrap_err();
        assert_eq!(err.code(), "currency_mismatch");
        assert_eq!(s, before);
    }

    #[test]
    fn disputes_override_and_resolve() {
        let mut s = OrderState::default();
        s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
            .unwrap();
        let d = |t: &str, at: i64, st: &str| {
            rec(
                t,
                at,
                &format!(
                    r#"{{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd","status":"{st}","charge":"ch_1"}}"#
                ),
            )
        };
        s.merge(&d("charge.dispute.closed", 50, "won")).unwrap();
        s.merge(&d("charge.dispute.created", 30, "needs_response"))
            .unwrap();
        assert_eq!(s.status, Some(Status::DisputeWon));
    }

    fn charge(event_type: &str, at: i64, id: &str, fields: &str) -> Record {
        rec(
            event_type,
            at,
            &format!(
                r#"{{"id":"{id}","object":"charge","currency":"usd","payment_intent":"pi_1","metadata":{{"order_id":"A-1"}},{fields}}}"#
            ),
        )
    }

    #[test]
    fn partial_capture_refunded_in_full_is_refunded() {
        let records = [
            pi(
                "payment_intent.amount_capturable_updated",
                10,
                "requires_capture",
            ),
            charge(
                "charge.captured",
                20,
                "ch_1",
                r#""amount":5000,"amount_captured":3000,"captured":true,"status":"succeeded""#,
            ),
            charge(
                "charge.refunded",
                30,
                "ch_1",
                r#""amount":5000,"amount_captured":3000,"amount_refunded":3000,"refunded":true,"captured":true,"status":"succeeded""#,
            ),
        ];
        let s = OrderState::from_records(&records).unwrap();
        assert_eq!(s.amount_paid_minor, Some(3000));
        assert_eq!(s.status, Some(Status::Refunded));
    }

    #[test]
    fn released_authorization_is_canceled_not_refunded() {
        let records = [
            pi(
                "payment_intent.amount_capturable_updated",
                10,
                "requires_capture",
            ),
            pi("payment_intent.canceled", 20, "canceled"),
            charge(
                "charge.refunded",
                20,
                "ch_1",
                r#""amount":5000,"amount_captured":0,"amount_refunded":5000,"refunded":true,"captured":false,"status":"succeeded""#,
            ),
        ];
        assert_eq!(records[2].status, Status::Canceled);
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let s = OrderState::from_records(order.iter().map(|i| &records[*i])).unwrap();
            assert_eq!(s.status, Some(Status::Canceled), "{order:?}");
            assert_eq!(s.amount_paid_minor, None);
        }
    }

    #[test]
    fn refund_failing_after_the_charge_reported_it_stops_counting() {
        let s = OrderState::from_records(&[
            pi("payment_intent.succeeded", 10, "succeeded"),
            refund("re_1", 20, 1000, "succeeded"),
            charge(
                "charge.refunded",
                30,
                "ch_1",
                r#""amount":5000,"amount_refunded":1000,"captured":true,"status":"succeeded""#,
            ),
            refund("re_1", 40, 1000, "failed"),
        ])
        .unwrap();
        assert_eq!(s.amount_refunded_minor, 0);
        assert_eq!(s.status, Some(Status::Paid));
    }

    #[test]
    fn refunds_are_kept_per_charge() {
        let s = OrderState::from_records(&[
            charge(
                "charge.refunded",
                20,
                "ch_A",
                r#""amount":5000,"amount_refunded":5000,"refunded":true,"captured":true,"status":"succeeded""#,
            ),
            charge(
                "charge.succeeded",
                30,
                "ch_B",
                r#""amount":5000,"amount_refunded":0,"captured":true,"status":"succeeded""#,
            ),
        ])
        .unwrap();
        assert_eq!(s.amount_refunded_minor, 5000);
        assert_eq!(s.status, Some(Status::Refunded));
    }

    #[test]
    fn refund_without_known_payment_is_partial() {
        let s = OrderState::from_records(&[refund("re_1", 20, 100, "pending")]).unwrap();
        assert_eq!(s.status, Some(Status::PartiallyRefunded));
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut s = OrderState::default();
        s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
            .unwrap();
        s.merge(&refund("re_1", 30, 1000, "succeeded")).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: OrderState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["status"], "partially_refunded");
        assert_eq!(v["amount_refunded"], "10.00");
    }
}
