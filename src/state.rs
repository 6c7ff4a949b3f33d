//! The state of one order (schema version 2), built from normalized records in any order, any
//! number of times.
//!
//! Stripe delivers webhooks at least once and in no particular order. The state keeps what each
//! Stripe object last said ([`ObjectState`] per PaymentIntent, Checkout Session, invoice,
//! invoice payment and charge, with why its latest failed report failed; [`Linked`] refunds,
//! disputes, fraud warnings and reviews by id). Merging a record is a join on those maps:
//! commutative, associative and idempotent, so every permutation of a set of records, with any
//! duplicates, ends in the same state.
//!
//! Everything else is derived from them after each merge ([`derive`](OrderState::merge)):
//! the objects are grouped into **payment attempts** (a PaymentIntent with its charges, the
//! Checkout Session and invoice that point at it; a session until it has a PaymentIntent; an
//! invoice; a charge without a PaymentIntent), each with its own status and amounts, and the
//! order-level view follows from the attempts, refunds and disputes by the contract documented
//! on [`OrderState`] and in the README ("Order state").

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{minor_to_decimal, Currency};
use crate::normalize::{Concern, Failure, Record, Status};

mod attempts;
mod upgrade;

pub use attempts::Attempt;

/// The version of the state's JSON written by this crate.
pub const SCHEMA_VERSION: u32 = 2;

/// Why a record could not be merged. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// The stored state is inconsistent (e.g. edited by hand), or an amount overflowed.
    InvalidState { reason: &'static str },
}

impl MergeError {
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::InvalidState { .. } => "invalid_state",
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::InvalidState { reason } => write!(f, "invalid order state: {reason}"),
        }
    }
}

impl std::error::Error for MergeError {}

const OVERFLOW: MergeError = MergeError::InvalidState {
    reason: "amounts overflow",
};

/// What one payment object (PaymentIntent, Checkout Session, invoice, invoice payment, charge)
/// last said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectState {
    /// `payment_intent`, `checkout.session`, `invoice`, `invoice_payment` or `charge`.
    pub object: String,
    /// The strongest status it reported (see the precedence in the README); `None` for a
    /// charge known only from another object's refund figure.
    pub status: Option<Status>,
    /// When it reported that status: the latest time for `pending`/`requires_action`/`failed`,
    /// the earliest for the others (so `paid` keeps the time the money was taken).
    pub at: i64,
    pub currency: Option<String>,
    /// The amount it asks for (the largest reported).
    pub amount_minor: Option<i64>,
    /// The money it took (the largest captured amount reported); 0 when none.
    pub captured_minor: i64,
    /// Charges: the cumulative `amount_refunded` it reported most recently, and when.
    pub refunded_minor: Option<i64>,
    pub refunded_at: Option<i64>,
    /// Stripe's fee and the net of its balance transaction, in `settlement_currency`.
    pub fee_minor: Option<i64>,
    pub net_minor: Option<i64>,
    pub settlement_currency: Option<String>,
    /// Radar's risk level (charges).
    pub risk_level: Option<String>,
    /// The other objects it names (its PaymentIntent, charge, invoice, session).
    pub links: BTreeSet<String>,
    /// Why its latest `failed` report failed: Stripe's code, message and the issuer's decline
    /// code (a PaymentIntent's `last_payment_error`, a charge's `failure_code`/`failure_message`;
    /// never payment method details). Kept after a later success; `None` when no failed report
    /// said why. Added within schema version 2: states without it read as `None`.
    pub failure: Option<Failure>,
    /// When that failed report was sent (the latest; equal times: the greatest failure wins).
    pub failed_at: Option<i64>,
}

/// A refund, a dispute, or a flag (early fraud warning, review): what it last said, and the
/// payment it names.
///
/// Refunds by stage (`pending` < `refunded` < `failed`/`canceled`: a refund can fail after it
/// succeeded); disputes by progress (`disputed` < `dispute_won` < `dispute_prevented` <
/// `dispute_lost`); flags with `review_closed` over `review_open`; later over earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Linked {
    pub status: Option<Status>,
    pub at: i64,
    pub amount_minor: i64,
    pub currency: Option<String>,
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    /// A dispute's reason, a fraud warning's fraud type, a review's (closing) reason.
    pub reason: Option<String>,
}

impl Linked {
    /// Whether a refund's money counts as refunded: pending or succeeded.
    pub fn counts(&self) -> bool {
        matches!(self.status, Some(Status::Pending | Status::Refunded))
    }

    fn rank(&self) -> u8 {
        use Status::*;
        match self.status {
            Some(Pending | Disputed | FraudWarning | ReviewOpen) => 1,
            Some(Refunded | DisputeWon | ReviewClosed) => 2,
            Some(DisputePrevented) => 3,
            Some(_) => 4,
            None => 0,
        }
    }

    /// Joins another observation of the same object: the stronger status (the whole value
    /// breaks ties, so equal times never let the arrival order decide); ids and reason joined.
    fn join(&mut self, seen: Linked) {
        let key = |x: &Linked| {
            let status = x.status.map(Status::as_str);
            (x.rank(), x.at, x.amount_minor, status, x.currency.clone())
        };
        if key(&seen) > key(self) {
            (self.status, self.at) = (seen.status, seen.at);
            (self.amount_minor, self.currency) = (seen.amount_minor, seen.currency);
        }
        self.charge = max_opt(self.charge.take(), seen.charge);
        self.payment_intent = max_opt(self.payment_intent.take(), seen.payment_intent);
        self.reason = max_opt(self.reason.take(), seen.reason);
    }
}

/// The amounts of an order in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// What the order asks: the largest amount any attempt asked for.
    pub requested_minor: i64,
    /// Money captured, summed over attempts (two payments count twice).
    pub paid_minor: i64,
    /// Refunds, each once by id, whose latest status is pending or succeeded.
    pub refunded_minor: i64,
    /// Taken back by lost disputes.
    pub dispute_lost_minor: i64,
    /// Returned to the customer in all: refunds, prevented disputes (counted once with the
    /// refund Stripe also makes), lost disputes.
    pub returned_minor: i64,
}

/// The state of one order. Store and pass back the whole object; everything below `objects`
/// is what Stripe said, everything above is derived from it after every merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "upgrade::Stored")]
pub struct OrderState {
    /// [`SCHEMA_VERSION`]. States written by version 1 (no `schema_version`) are upgraded
    /// when read.
    pub schema_version: u32,
    /// The order: the reference records name (the smallest, if they disagree; see `conflicts`).
    pub order_ref: Option<String>,
    /// The order-level status (see the README's contract).
    pub status: Option<Status>,
    /// The currency of the amounts below; `None` when the order has amounts in several
    /// currencies (then see `totals` and `conflicts`).
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_requested: Option<Decimal>,
    pub amount_requested_minor: Option<i64>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_paid: Option<Decimal>,
    pub amount_paid_minor: Option<i64>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_refunded: Option<Decimal>,
    pub amount_refunded_minor: Option<i64>,
    /// Per currency, when the order has any amount.
    pub totals: BTreeMap<String, Totals>,
    /// More captured than asked: paid twice (or more).
    pub overpaid: bool,
    /// An early fraud warning was issued on one of its payments.
    pub fraud_warning: bool,
    /// A Radar review of one of its payments is open.
    pub review_open: bool,
    /// The highest Radar risk level of its charges.
    pub risk_level: Option<String>,
    pub customer_id: Option<String>,
    /// A payment method type seen (the greatest, for a deterministic choice).
    pub payment_method_type: Option<String>,
    /// The earliest time money was taken.
    pub paid_at: Option<i64>,
    /// The charge that took the money (the smallest id if several did).
    pub paid_charge: Option<String>,
    /// Stripe's fee and net over the captured payments, when known in one settlement currency.
    pub fee_minor: Option<i64>,
    pub net_minor: Option<i64>,
    pub settlement_currency: Option<String>,
    /// The newest record merged (by event time, then id): the same whatever the order.
    pub last_event_at: Option<i64>,
    pub last_event_id: Option<String>,
    /// What disagrees between records, in words (`currencies: EUR, USD`, `order refs: A, B`).
    pub conflicts: Vec<String>,
    /// The payment attempts, by id.
    pub attempts: Vec<Attempt>,
    /// Every order reference the records named.
    pub order_refs: BTreeSet<String>,
    pub objects: BTreeMap<String, ObjectState>,
    pub refunds: BTreeMap<String, Linked>,
    pub disputes: BTreeMap<String, Linked>,
    /// Early fraud warnings and reviews, by id.
    pub flags: BTreeMap<String, Linked>,
    /// Customers named by records (the greatest becomes `customer_id`).
    pub customers: BTreeSet<String>,
    pub payment_method_types: BTreeSet<String>,
}

impl Default for OrderState {
    fn default() -> Self {
        OrderState {
            schema_version: SCHEMA_VERSION,
            order_ref: None,
            status: None,
            currency: None,
            amount_requested: None,
            amount_requested_minor: None,
            amount_paid: None,
            amount_paid_minor: None,
            amount_refunded: None,
            amount_refunded_minor: None,
            totals: BTreeMap::new(),
            overpaid: false,
            fraud_warning: false,
            review_open: false,
            risk_level: None,
            customer_id: None,
            payment_method_type: None,
            paid_at: None,
            paid_charge: None,
            fee_minor: None,
            net_minor: None,
            settlement_currency: None,
            last_event_at: None,
            last_event_id: None,
            conflicts: Vec::new(),
            attempts: Vec::new(),
            order_refs: BTreeSet::new(),
            objects: BTreeMap::new(),
            refunds: BTreeMap::new(),
            disputes: BTreeMap::new(),
            flags: BTreeMap::new(),
            customers: BTreeSet::new(),
            payment_method_types: BTreeSet::new(),
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The state changed.
    Changed,
    /// The record added nothing (a duplicate, a stale record, or an event that does not
    /// concern an order's payment).
    Unchanged,
}

/// The precedence of payment statuses within one object and one attempt: (tier, time for the
/// tier where the latest wins, rank). `None`: not an attempt status.
pub(crate) fn status_key(status: Status, at: i64) -> Option<(u8, i64, u8)> {
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
        _ => return None,
    };
    Some((tier, if timed { at } else { 0 }, rank))
}

/// Which of two (status, time) observations of one object wins: the higher key; among equal
/// keys, the earlier time.
fn stronger(a: (Status, i64), b: (Status, i64)) -> (Status, i64) {
    let key = |(s, at): (Status, i64)| {
        status_key(s, at).map(|(t, x, r)| (t, x, r, std::cmp::Reverse(at)))
    };
    if key(b) > key(a) {
        b
    } else {
        a
    }
}

fn risk_rank(level: Option<&str>) -> u8 {
    match level {
        Some("highest") => 4,
        Some("elevated") => 3,
        Some("normal") => 2,
        Some(_) => 1,
        None => 0,
    }
}

/// The higher of two Radar risk levels (by rank, then by name: never by arrival).
fn riskier(a: Option<String>, b: Option<String>) -> Option<String> {
    let key = |l: &Option<String>| (risk_rank(l.as_deref()), l.clone());
    if key(&b) > key(&a) {
        b
    } else {
        a
    }
}

/// The later of two failures: by time, then by the whole value (never by arrival).
pub(crate) fn later_failure(
    a: Option<(i64, Failure)>,
    b: Option<(i64, Failure)>,
) -> Option<(i64, Failure)> {
    fn key(x: &Option<(i64, Failure)>) -> Option<(i64, [Option<&str>; 3])> {
        x.as_ref().map(|(at, f)| {
            let text = [&f.code, &f.message, &f.decline_code].map(|t| t.as_deref());
            (*at, text)
        })
    }
    if key(&b) > key(&a) {
        b
    } else {
        a
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn join_into(map: &mut BTreeMap<String, Linked>, id: &str, seen: Linked) {
    match map.get_mut(id) {
        Some(slot) => slot.join(seen),
        None => {
            map.insert(id.to_owned(), seen);
        }
    }
}

/// Whether a record's money was captured, from its status (refunds and disputes on a charge or
/// payment imply it was).
fn captured(status: Status) -> bool {
    matches!(
        status,
        Status::Paid
            | Status::PartiallyRefunded
            | Status::Refunded
            | Status::Disputed
            | Status::DisputeWon
            | Status::DisputeLost
            | Status::DisputePrevented
    )
}

impl OrderState {
    /// An empty state for `order_ref`.
    pub fn new(order_ref: impl Into<String>) -> Self {
        let order_ref = order_ref.into();
        OrderState {
            order_ref: Some(order_ref.clone()),
            order_refs: std::iter::once(order_ref).collect(),
            ..OrderState::default()
        }
    }

    /// Merges `record` into the state. On error the state is unchanged.
    pub fn merge(&mut self, record: &Record) -> Result<MergeOutcome, MergeError> {
        if !record.status.is_order_payment() {
            return Ok(MergeOutcome::Unchanged);
        }
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

    /// The join of one record into the observations.
    fn apply(&mut self, r: &Record) -> Result<(), MergeError> {
        self.order_refs.extend(r.order_ref.clone());
        self.customers.extend(r.customer_id.clone());
        self.payment_method_types
            .extend(r.payment_method_type.clone());
        let newest = max_opt(
            self.last_event_at.zip(self.last_event_id.take()),
            Some((r.created, r.event_id.clone())),
        );
        (self.last_event_at, self.last_event_id) = newest.unzip();
        if r.status.concern() == Concern::Flag {
            self.apply_flag(r);
            return Ok(());
        }
        match r.object.as_deref() {
            Some("refund") => self.apply_refund(r),
            Some("dispute") => self.apply_dispute(r),
            Some(_) => self.apply_object(r),
            None => {}
        }
        Ok(())
    }

    /// What a refund, dispute or flag record says.
    fn linked(r: &Record, status: Status) -> Linked {
        Linked {
            status: Some(status),
            at: r.created,
            amount_minor: r.amount_minor.unwrap_or(0),
            currency: r.currency.clone(),
            charge: r.charge.clone(),
            payment_intent: r.payment_intent.clone(),
            reason: r.reason.clone(),
        }
    }

    fn apply_flag(&mut self, r: &Record) {
        if let Some(id) = &r.object_id {
            join_into(&mut self.flags, id, Self::linked(r, r.status));
        }
    }

    fn apply_refund(&mut self, r: &Record) {
        let (Some(id), Some(_)) = (&r.refund, r.amount_minor) else {
            return;
        };
        let status = match r.status {
            Status::Pending | Status::Refunded | Status::Canceled => r.status,
            _ => Status::Failed,
        };
        join_into(&mut self.refunds, id, Self::linked(r, status));
    }

    fn apply_dispute(&mut self, r: &Record) {
        if let Some(id) = &r.dispute {
            join_into(&mut self.disputes, id, Self::linked(r, r.status));
        }
    }

    fn apply_object(&mut self, r: &Record) {
        let Some(id) = r.object_id.clone() else {
            return;
        };
        let object = r.object.clone().unwrap_or_default();
        // A released authorization reports its amount as refunded: not a refund of money.
        let took = captured(r.status);
        let status = if took { Status::Paid } else { r.status };
        let links: Vec<String> = [
            &r.payment_intent,
            &r.charge,
            &r.invoice,
            &r.checkout_session,
        ]
        .into_iter()
        .flatten()
        .filter(|l| **l != id)
        .cloned()
        .collect();
        // The refunded figure of a charge reported inside a PaymentIntent belongs to the charge.
        let refund_floor = r.amount_refunded_minor.filter(|_| took);
        let floor_owner = match object.as_str() {
            "charge" => Some(id.clone()),
            "payment_intent" => r.charge.clone(),
            _ => None,
        };
        let slot = self.objects.entry(id).or_default();
        slot.object = object;
        slot.links.extend(links);
        let (status, at) = match slot.status {
            Some(seen) => stronger((seen, slot.at), (status, r.created)),
            None => (status, r.created),
        };
        (slot.status, slot.at) = (Some(status), at);
        slot.currency = max_opt(slot.currency.take(), r.currency.clone());
        slot.amount_minor = max_opt(slot.amount_minor, r.amount_minor);
        if took {
            slot.captured_minor = slot.captured_minor.max(r.amount_minor.unwrap_or(0));
        }
        if let (Some(fee), Some(net), Some(cur)) =
            (r.fee_minor, r.net_minor, &r.settlement_currency)
        {
            let seen = slot
                .fee_minor
                .zip(slot.net_minor)
                .zip(slot.settlement_currency.take());
            let ((fee, net), cur) =
                max_opt(seen, Some(((fee, net), cur.clone()))).unwrap_or(((fee, net), cur.clone()));
            (slot.fee_minor, slot.net_minor, slot.settlement_currency) =
                (Some(fee), Some(net), Some(cur));
        }
        slot.risk_level = riskier(slot.risk_level.take(), r.risk_level.clone());
        if let (Status::Failed, Some(failure)) = (r.status, &r.failure) {
            let seen = slot.failed_at.zip(slot.failure.take());
            (slot.failed_at, slot.failure) =
                later_failure(seen, Some((r.created, failure.clone()))).unzip();
        }
        if let (Some(amount), Some(owner)) = (refund_floor, floor_owner) {
            let charge = self.objects.entry(owner).or_default();
            if charge.object.is_empty() {
                charge.object = "charge".to_owned();
            }
            let seen = charge.refunded_at.zip(charge.refunded_minor);
            (charge.refunded_at, charge.refunded_minor) =
                max_opt(seen, Some((r.created, amount))).unzip();
            charge.currency = max_opt(charge.currency.take(), r.currency.clone());
        }
    }

    /// Recomputes everything derived from the observations.
    fn derive(&mut self) -> Result<(), MergeError> {
        self.schema_version = SCHEMA_VERSION;
        self.order_ref = self.order_refs.first().cloned();
        self.customer_id = self.customers.last().cloned();
        self.payment_method_type = self.payment_method_types.last().cloned();
        self.attempts = attempts::group(self)?;
        let view = attempts::OrderView::of(self)?;
        self.status = view.status;
        self.totals = view.totals;
        self.overpaid = self
            .totals
            .values()
            .any(|t| t.requested_minor > 0 && t.paid_minor > t.requested_minor);
        self.paid_at = view.paid_at;
        self.paid_charge = self
            .main_attempt()
            .and_then(|a| attempts::paid_charge(self, a));
        (self.fee_minor, self.net_minor, self.settlement_currency) = view.fee;
        self.fraud_warning = self.attempts.iter().any(|a| a.fraud_warning) || view.stray_warning;
        self.review_open = self.attempts.iter().any(|a| a.review_open) || view.stray_review;
        self.risk_level = self
            .attempts
            .iter()
            .filter_map(|a| a.risk_level.clone())
            .max_by_key(|l| risk_rank(Some(l)));
        self.conflicts = self.find_conflicts();
        self.set_amounts()
    }

    /// The single-currency amounts, as minor units and exact decimals.
    fn set_amounts(&mut self) -> Result<(), MergeError> {
        let single = match self.totals.len() {
            1 => self.totals.iter().next(),
            _ => None,
        };
        let Some((code, totals)) = single else {
            self.currency = None;
            (self.amount_requested_minor, self.amount_paid_minor) = (None, None);
            self.amount_refunded_minor = None;
            (
                self.amount_requested,
                self.amount_paid,
                self.amount_refunded,
            ) = (None, None, None);
            return Ok(());
        };
        let currency = Currency::new(code).map_err(|_| MergeError::InvalidState {
            reason: "a currency is not one Stripe supports",
        })?;
        let nonzero = |m: i64| (m != 0).then_some(m);
        self.currency = Some(code.clone());
        self.amount_requested_minor = nonzero(totals.requested_minor);
        self.amount_paid_minor = nonzero(totals.paid_minor);
        self.amount_refunded_minor = Some(totals.refunded_minor);
        let fmt = |m: Option<i64>| m.map(|m| minor_to_decimal(m, &currency));
        self.amount_requested = fmt(self.amount_requested_minor);
        self.amount_paid = fmt(self.amount_paid_minor);
        self.amount_refunded = fmt(self.amount_refunded_minor);
        Ok(())
    }

    fn find_conflicts(&self) -> Vec<String> {
        let mut conflicts = Vec::new();
        if self.order_refs.len() > 1 {
            let refs: Vec<&str> = self.order_refs.iter().map(String::as_str).collect();
            conflicts.push(format!("order refs: {}", refs.join(", ")));
        }
        if self.totals.len() > 1 {
            let codes: Vec<&str> = self.totals.keys().map(String::as_str).collect();
            conflicts.push(format!("currencies: {}", codes.join(", ")));
        }
        conflicts
    }
}

/// Accessors the target mappings read.
impl OrderState {
    /// The attempt that speaks for the order: one that took money (the smallest id), else one
    /// holding an authorization, else the most recently updated.
    pub fn main_attempt(&self) -> Option<&Attempt> {
        let first = |f: &dyn Fn(&Attempt) -> bool| self.attempts.iter().find(|a| f(a));
        first(&|a| a.amount_captured_minor > 0)
            .or_else(|| first(&|a| a.status == Some(Status::Authorized)))
            .or_else(|| {
                self.attempts
                    .iter()
                    .max_by(|a, b| (a.updated_at, &b.id).cmp(&(b.updated_at, &a.id)))
            })
    }

    /// The ids of the main attempt's objects of one kind (`payment_intent`, `charge`, ...).
    fn main_ids<'a>(&'a self, object: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.main_attempt()
            .into_iter()
            .flat_map(|a| a.objects.iter())
            .filter(move |id| attempts::kind_of(self, id) == object)
    }

    /// The main attempt's PaymentIntent.
    pub fn payment_intent(&self) -> Option<&str> {
        self.main_ids("payment_intent").next().map(String::as_str)
    }

    /// The main attempt's charge that took the money, else its charge.
    pub fn charge(&self) -> Option<&str> {
        self.paid_charge
            .as_deref()
            .or_else(|| self.main_ids("charge").next().map(String::as_str))
    }

    /// The main attempt's invoice.
    pub fn invoice(&self) -> Option<&str> {
        self.main_ids("invoice").next().map(String::as_str)
    }

    /// The refunds that count (pending or succeeded), by id.
    pub fn counted_refunds(&self) -> impl Iterator<Item = &String> {
        self.refunds
            .iter()
            .filter(|(_, r)| r.counts())
            .map(|(id, _)| id)
    }

    /// Whether any attempt holds an authorization or took money: such an order is never voided.
    pub fn holds_money(&self) -> bool {
        self.attempts
            .iter()
            .any(|a| a.amount_captured_minor > 0 || a.status == Some(Status::Authorized))
    }
}

#[cfg(test)]
mod tests;
