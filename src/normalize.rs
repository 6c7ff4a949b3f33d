//! One platform-neutral record per Stripe event.
//!
//! [`normalize`] turns an [`Event`] of any API version into a [`Record`]: the order it belongs
//! to, one [`Status`] vocabulary for every payment-like object, exact decimal amounts in the
//! right currency exponent, fees, and the ids of every related Stripe object.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::{
    BalanceTransaction, ChargeSummary, Event, EventError, Expandable, StripeObject,
};
use crate::money::{minor_to_decimal, Currency};

/// The metadata keys searched for the order reference, in this order, before
/// `client_reference_id`.
pub const DEFAULT_ORDER_KEYS: &[&str] = &["order_id", "orderId", "order", "invoice_id"];

/// The payment status vocabulary shared by all payment-like events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    RequiresAction,
    Authorized,
    Paid,
    PartiallyRefunded,
    Refunded,
    Failed,
    Canceled,
    Expired,
    Disputed,
    DisputeWon,
    DisputeLost,
    Void,
    Uncollectible,
    PayoutPending,
    PayoutPaid,
    PayoutFailed,
    /// A customer was created or updated (not a payment status; used by CRM mappings).
    CustomerActive,
    /// A customer was deleted.
    CustomerDeleted,
    /// An event type stripe-bridge does not map.
    Ignored,
}

impl Status {
    pub const ALL: [Status; 20] = [
        Status::Pending,
        Status::RequiresAction,
        Status::Authorized,
        Status::Paid,
        Status::PartiallyRefunded,
        Status::Refunded,
        Status::Failed,
        Status::Canceled,
        Status::Expired,
        Status::Disputed,
        Status::DisputeWon,
        Status::DisputeLost,
        Status::Void,
        Status::Uncollectible,
        Status::PayoutPending,
        Status::PayoutPaid,
        Status::PayoutFailed,
        Status::CustomerActive,
        Status::CustomerDeleted,
        Status::Ignored,
    ];

    /// Whether the status is about an order's payment (not a payout, a customer, or an
    /// ignored event type).
    pub fn is_order_payment(self) -> bool {
        !matches!(
            self,
            Status::Ignored
                | Status::CustomerActive
                | Status::CustomerDeleted
                | Status::PayoutPending
                | Status::PayoutPaid
                | Status::PayoutFailed
        )
    }

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::RequiresAction => "requires_action",
            Status::Authorized => "authorized",
            Status::Paid => "paid",
            Status::PartiallyRefunded => "partially_refunded",
            Status::Refunded => "refunded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::Expired => "expired",
            Status::Disputed => "disputed",
            Status::DisputeWon => "dispute_won",
            Status::DisputeLost => "dispute_lost",
            Status::Void => "void",
            Status::Uncollectible => "uncollectible",
            Status::PayoutPending => "payout_pending",
            Status::PayoutPaid => "payout_paid",
            Status::PayoutFailed => "payout_failed",
            Status::CustomerActive => "customer_active",
            Status::CustomerDeleted => "customer_deleted",
            Status::Ignored => "ignored",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a payment failed: Stripe's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: Option<String>,
    pub message: Option<String>,
    /// The card issuer's decline code, when Stripe gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
}

/// The normalized record. JSON field names are the public contract (CLI, npm, Worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub event_id: String,
    pub event_type: String,
    /// Event creation time, Unix seconds.
    pub created: i64,
    pub livemode: bool,
    /// The connected account (Connect), or null.
    pub account: Option<String>,
    pub api_version: Option<String>,
    /// Stripe object type of `data.object` (`payment_intent`, `charge`, `refund`, ...).
    pub object: Option<String>,
    pub object_id: Option<String>,
    pub status: Status,
    pub order_ref: Option<String>,
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    /// Upper-case ISO code.
    pub currency: Option<String>,
    /// Major units, exact, with the currency's decimals ("12.34", "500", "1.230").
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    pub amount_minor: Option<i64>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_refunded: Option<Decimal>,
    pub amount_refunded_minor: Option<i64>,
    /// Stripe's fee, from an expanded balance transaction, in `settlement_currency`.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub fee: Option<Decimal>,
    pub fee_minor: Option<i64>,
    /// What reaches the balance after fees, in `settlement_currency`.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net: Option<Decimal>,
    pub net_minor: Option<i64>,
    /// Currency of `fee` and `net` (the balance transaction's), when known.
    pub settlement_currency: Option<String>,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub refund: Option<String>,
    pub dispute: Option<String>,
    pub invoice: Option<String>,
    pub checkout_session: Option<String>,
    pub payout: Option<String>,
    pub subscription: Option<String>,
    pub balance_transaction: Option<String>,
    pub payment_method_type: Option<String>,
    /// Refund, dispute or cancellation reason.
    pub reason: Option<String>,
    pub failure: Option<Failure>,
    /// Payouts: expected arrival date, Unix seconds.
    pub arrival_date: Option<i64>,
}

/// Options for [`normalize`].
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Metadata keys searched for the order reference, in order.
    pub order_keys: Vec<String>,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            order_keys: DEFAULT_ORDER_KEYS.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

impl NormalizeOptions {
    /// Options with a custom list of metadata keys (e.g. from `--order-keys a,b`).
    pub fn with_order_keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NormalizeOptions {
            order_keys: keys.into_iter().map(Into::into).collect(),
        }
    }
}

/// Why normalization failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The JSON is not a readable Stripe event.
    Event(EventError),
    /// The event's currency is not a three-letter code.
    InvalidCurrency,
}

impl NormalizeError {
    pub fn code(&self) -> &'static str {
        match self {
            NormalizeError::Event(e) => e.code(),
            NormalizeError::InvalidCurrency => "invalid_currency",
        }
    }
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::Event(e) => e.fmt(f),
            NormalizeError::InvalidCurrency => {
                f.write_str("the event's currency is not a three-letter ISO code")
            }
        }
    }
}

impl std::error::Error for NormalizeError {}

impl From<EventError> for NormalizeError {
    fn from(e: EventError) -> Self {
        NormalizeError::Event(e)
    }
}

/// Parses and normalizes an event from its JSON bytes.
pub fn normalize_json(json: &[u8], options: &NormalizeOptions) -> Result<Record, NormalizeError> {
    normalize(&Event::from_slice(json)?, options)
}

/// The status an event type implies, and how the rest of the record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Fixed(Status),
    /// Read the status from the object's own state (`*.updated` events and the like).
    FromObject,
    /// charge.succeeded: authorized when not captured.
    ChargeSucceeded,
    /// charge.refunded: refunded or partially refunded by amount.
    ChargeRefunded,
    Ignore,
}

/// The event type -> status table (README documents it).
fn rule_for(event_type: &str) -> Rule {
    use Rule::*;
    use Status::*;
    match event_type {
        "payment_intent.created"
        | "payment_intent.processing"
        | "payment_intent.partially_funded" => Fixed(Pending),
        "payment_intent.requires_action" => Fixed(RequiresAction),
        "payment_intent.amount_capturable_updated" => Fixed(Authorized),
        "payment_intent.succeeded" => Fixed(Paid),
        "payment_intent.payment_failed" => Fixed(Failed),
        "payment_intent.canceled" => Fixed(Canceled),

        "charge.pending" => Fixed(Pending),
        "charge.succeeded" => ChargeSucceeded,
        "charge.captured" => Fixed(Paid),
        "charge.failed" => Fixed(Failed),
        "charge.expired" => Fixed(Expired),
        "charge.refunded" => ChargeRefunded,
        "charge.updated" | "charge.refund.updated" => FromObject,

        "refund.created" | "refund.updated" => FromObject,
        "refund.failed" => Fixed(Failed),

        "charge.dispute.created" | "charge.dispute.funds_withdrawn" => Fixed(Disputed),
        "charge.dispute.updated" | "charge.dispute.closed" => FromObject,
        "charge.dispute.funds_reinstated" => Fixed(DisputeWon),

        "checkout.session.completed" => FromObject,
        "checkout.session.async_payment_succeeded" => Fixed(Paid),
        "checkout.session.async_payment_failed" => Fixed(Failed),
        "checkout.session.expired" => Fixed(Expired),

        "invoice.created" | "invoice.updated" | "invoice.overdue" => FromObject,
        "invoice.finalized" => Fixed(Pending),
        "invoice.paid" | "invoice.payment_succeeded" => Fixed(Paid),
        "invoice.payment_failed" => Fixed(Failed),
        "invoice.payment_action_required" => Fixed(RequiresAction),
        "invoice.voided" => Fixed(Void),
        "invoice.marked_uncollectible" => Fixed(Uncollectible),
        "invoice.deleted" => Fixed(Canceled),
        "invoice_payment.paid" => Fixed(Paid),

        "payout.created" => Fixed(PayoutPending),
        "payout.updated" => FromObject,
        "payout.paid" | "payout.reconciliation_completed" => Fixed(PayoutPaid),
        "payout.failed" => Fixed(PayoutFailed),
        "payout.canceled" => Fixed(Canceled),

        "customer.created" | "customer.updated" => Fixed(CustomerActive),
        "customer.deleted" => Fixed(CustomerDeleted),

        _ => Ignore,
    }
}

/// Every event type with a mapping, with the status it yields (`None`: read from the object).
/// Used to document and test the table.
pub fn mapped_event_types() -> Vec<(&'static str, Option<Status>)> {
    const TYPES: &[&str] = &[
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.partially_funded",
        "payment_intent.requires_action",
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.pending",
        "charge.succeeded",
        "charge.captured",
        "charge.failed",
        "charge.expired",
        "charge.refunded",
        "charge.updated",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "invoice.created",
        "invoice.updated",
        "invoice.overdue",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoice.deleted",
        "invoice_payment.paid",
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.reconciliation_completed",
        "payout.failed",
        "payout.canceled",
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ];
    TYPES
        .iter()
        .map(|t| match rule_for(t) {
            Rule::Fixed(s) => (*t, Some(s)),
            _ => (*t, None),
        })
        .collect()
}

impl Record {
    /// The record of an event with only its envelope: status `ignored`, everything else null.
    pub fn envelope(event: &Event) -> Record {
        let obj = event.object();
        Record {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            created: event.created,
            livemode: event.livemode,
            account: event.account.clone(),
            api_version: event.api_version.clone(),
            object: obj.and_then(|o| o.object.clone()),
            object_id: obj.and_then(|o| o.id.clone()),
            status: Status::Ignored,
            order_ref: None,
            customer_id: None,
            customer_email: None,
            customer_name: None,
            currency: None,
            amount: None,
            amount_minor: None,
            amount_refunded: None,
            amount_refunded_minor: None,
            fee: None,
            fee_minor: None,
            net: None,
            net_minor: None,
            settlement_currency: None,
            payment_intent: None,
            charge: None,
            refund: None,
            dispute: None,
            invoice: None,
            checkout_session: None,
            payout: None,
            subscription: None,
            balance_transaction: None,
            payment_method_type: None,
            reason: None,
            failure: None,
            arrival_date: None,
        }
    }
}

/// Normalizes a parsed event.
pub fn normalize(event: &Event, options: &NormalizeOptions) -> Result<Record, NormalizeError> {
    let obj = event.object();
    let mut record = Record::envelope(event);
    let rule = rule_for(&event.event_type);
    let Some(obj) = obj else {
        return Ok(record);
    };
    if rule == Rule::Ignore {
        return Ok(record);
    }
    let kind = obj
        .object
        .as_deref()
        .unwrap_or_else(|| kind_from_event(&event.event_type));
    let currency = match obj.currency.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => Some(Currency::new(code).map_err(|_| NormalizeError::InvalidCurrency)?),
        None => None,
    };
    record.currency = currency.map(|c| c.code().to_owned());
    record.customer_id = id_of(&obj.customer);
    record.order_ref = order_ref(obj, &options.order_keys);

    let mut facts = Facts::default();
    match kind {
        "payment_intent" => payment_intent(obj, &mut record, &mut facts),
        "charge" => charge(obj, &mut record, &mut facts),
        "refund" => refund(obj, &mut record, &mut facts),
        "dispute" => dispute(obj, &mut record, &mut facts),
        "invoice" => invoice(obj, &mut record, &mut facts),
        "invoice_payment" => invoice_payment(obj, &mut record, &mut facts),
        "checkout.session" => checkout_session(obj, &mut record, &mut facts),
        "payout" => payout(obj, &mut record, &mut facts),
        "customer" => customer(obj, &mut record),
        _ => {}
    }

    let setup_session = kind == "checkout.session" && obj.mode.as_deref() == Some("setup");
    record.status = match rule {
        // A setup-mode Checkout Session saves a payment method; no money moves.
        _ if setup_session => Status::Ignored,
        Rule::Fixed(status) => status,
        Rule::FromObject => facts.object_status.unwrap_or(Status::Ignored),
        Rule::ChargeSucceeded => {
            if obj.captured == Some(false) {
                Status::Authorized
            } else {
                Status::Paid
            }
        }
        Rule::ChargeRefunded => charge_refund_status(obj),
        Rule::Ignore => Status::Ignored,
    };
    if record.status == Status::Ignored {
        // An object in a state we do not map: keep only the envelope.
        return Ok(Record::envelope(event));
    }

    if let Some(currency) = currency {
        let fmt = |minor: Option<i64>| minor.map(|m| minor_to_decimal(m, &currency));
        record.amount_minor = facts.amount;
        record.amount = fmt(facts.amount);
        record.amount_refunded_minor = facts.amount_refunded;
        record.amount_refunded = fmt(facts.amount_refunded);
    }
    if let Some(bt) = facts.balance {
        apply_balance(&mut record, bt);
    }
    Ok(record)
}

/// What the per-object readers found besides ids.
#[derive(Default)]
struct Facts<'a> {
    amount: Option<i64>,
    amount_refunded: Option<i64>,
    object_status: Option<Status>,
    balance: Option<Balance<'a>>,
}

/// Fee and net from one or more expanded balance transactions.
struct Balance<'a> {
    fee: i64,
    net: i64,
    currency: &'a str,
}

fn kind_from_event(event_type: &str) -> &str {
    if event_type.starts_with("checkout.session.") {
        return "checkout.session";
    }
    if event_type.starts_with("charge.dispute.") {
        return "dispute";
    }
    if event_type.starts_with("charge.refund.") {
        return "refund";
    }
    event_type.rsplit_once('.').map_or(event_type, |(k, _)| k)
}

fn id_of<T: crate::event::HasId>(field: &Option<Expandable<T>>) -> Option<String> {
    field.as_ref().and_then(Expandable::id).map(str::to_owned)
}

fn order_ref(obj: &StripeObject, keys: &[String]) -> Option<String> {
    fn from<'m>(meta: &'m crate::event::Metadata, keys: &[String]) -> Option<&'m str> {
        keys.iter().find_map(|k| meta.get(k))
    }
    let from = |meta| from(meta, keys);
    from(&obj.metadata)
        .or_else(|| {
            obj.subscription_details
                .as_ref()
                .and_then(|d| from(&d.metadata))
        })
        .or_else(|| {
            obj.parent
                .as_ref()
                .and_then(|p| p.subscription_details.as_ref())
                .and_then(|d| from(&d.metadata))
        })
        .or_else(|| {
            obj.client_reference_id
                .as_deref()
                .filter(|r| !r.trim().is_empty())
        })
        .map(str::to_owned)
}

fn failure(code: Option<&String>, message: Option<&String>) -> Option<Failure> {
    if code.is_none() && message.is_none() {
        return None;
    }
    Some(Failure {
        code: code.cloned(),
        message: message.cloned(),
        decline_code: None,
    })
}

fn expanded_balance(bt: &Option<Expandable<BalanceTransaction>>) -> Option<Balance<'_>> {
    let bt = bt.as_ref()?.expanded()?;
    Some(Balance {
        fee: bt.fee?,
        net: bt.net?,
        currency: bt.currency.as_deref()?,
    })
}

fn apply_balance(record: &mut Record, balance: Balance<'_>) {
    let Ok(currency) = Currency::new(balance.currency) else {
        return;
    };
    record.fee_minor = Some(balance.fee);
    record.fee = Some(minor_to_decimal(balance.fee, &currency));
    record.net_minor = Some(balance.net);
    record.net = Some(minor_to_decimal(balance.net, &currency));
    record.settlement_currency = Some(currency.code().to_owned());
}

/// The charge a PaymentIntent points at: `latest_charge` (2022-11-15+, and next to `charges`
/// in older payloads) or the newest entry of the `charges` list (older versions). Details come
/// from the expanded `latest_charge`, else from the matching (or newest) `charges` entry.
fn pi_charge(obj: &StripeObject) -> (Option<String>, Option<&ChargeSummary>) {
    let listed = obj
        .charges
        .as_ref()
        .map(|l| l.data.as_slice())
        .unwrap_or_default();
    match &obj.latest_charge {
        Some(latest) => {
            let id = latest.id();
            let details = latest.expanded().or_else(|| {
                listed
                    .iter()
                    .find(|c| c.id.as_deref() == id)
                    .or_else(|| listed.first())
            });
            (id.map(str::to_owned), details)
        }
        None => {
            let first = listed.first();
            (first.and_then(|c| c.id.clone()), first)
        }
    }
}

fn payment_intent<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.payment_intent = obj.id.clone();
    r.invoice = id_of(&obj.invoice);
    let (charge_id, charge) = pi_charge(obj);
    r.charge = charge_id;
    let received = obj.amount_received.filter(|a| *a > 0);
    f.amount = match obj.status.as_deref() {
        Some("succeeded") => received.or(obj.amount),
        _ => obj.amount,
    };
    r.reason = obj.cancellation_reason.clone();
    if let Some(charge) = charge {
        f.amount_refunded = charge.amount_refunded.filter(|a| *a > 0);
        f.balance = expanded_balance(&charge.balance_transaction);
        r.balance_transaction = id_of(&charge.balance_transaction);
        r.payment_method_type = charge
            .payment_method_details
            .as_ref()
            .and_then(|d| d.kind.clone());
    }
    if let Some(err) = &obj.last_payment_error {
        r.failure = Some(Failure {
            code: err.code.clone(),
            message: err.message.clone(),
            decline_code: err.decline_code.clone(),
        });
        if r.payment_method_type.is_none() {
            r.payment_method_type = err
                .payment_method
                .as_ref()
                .and_then(Expandable::expanded)
                .and_then(|pm| pm.kind.clone());
        }
    }
    if r.payment_method_type.is_none() {
        r.payment_method_type = single_type(obj);
    }
    f.object_status = obj.status.as_deref().map(|s| match s {
        "requires_action" => Status::RequiresAction,
        "requires_capture" => Status::Authorized,
        "succeeded" => Status::Paid,
        "canceled" => Status::Canceled,
        "requires_payment_method" if obj.last_payment_error.is_some() => Status::Failed,
        _ => Status::Pending,
    });
}

fn single_type(obj: &StripeObject) -> Option<String> {
    match obj.payment_method_types.as_deref() {
        Some([only]) => Some(only.clone()),
        _ => None,
    }
}

fn charge<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.charge = obj.id.clone();
    r.payment_intent = id_of(&obj.payment_intent);
    r.invoice = id_of(&obj.invoice);
    r.dispute = id_of(&obj.dispute);
    r.balance_transaction = id_of(&obj.balance_transaction);
    r.refund = obj
        .refunds
        .as_ref()
        .and_then(|l| l.data.first())
        .and_then(|re| re.id.clone());
    r.payment_method_type = obj
        .payment_method_details
        .as_ref()
        .and_then(|d| d.kind.clone());
    r.failure = failure(obj.failure_code.as_ref(), obj.failure_message.as_ref());
    f.amount = charge_amount(obj);
    f.amount_refunded = obj.amount_refunded;
    f.balance = expanded_balance(&obj.balance_transaction);
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "succeeded" => Some(
            if obj.amount_refunded.unwrap_or(0) > 0 || obj.refunded == Some(true) {
                charge_refund_status(obj)
            } else if obj.captured == Some(false) {
                Status::Authorized
            } else {
                Status::Paid
            },
        ),
        "pending" => Some(Status::Pending),
        "failed" => Some(Status::Failed),
        _ => None,
    });
}

/// What a charge took: the captured amount once captured (a partial capture takes less than
/// was authorized), else the authorized amount.
fn charge_amount(obj: &StripeObject) -> Option<i64> {
    match (obj.captured, obj.amount_captured) {
        (Some(true), Some(captured)) if captured > 0 => Some(captured),
        _ => obj.amount,
    }
}

/// Refunded when the whole captured amount went back, partially refunded otherwise. An
/// uncaptured charge that is "refunded" is a released authorization: canceled.
fn charge_refund_status(obj: &StripeObject) -> Status {
    if obj.captured == Some(false) {
        return Status::Canceled;
    }
    let full = match (obj.amount_refunded, charge_amount(obj)) {
        (Some(refunded), Some(amount)) => refunded >= amount,
        _ => false,
    };
    if full || obj.refunded == Some(true) {
        Status::Refunded
    } else {
        Status::PartiallyRefunded
    }
}

fn refund<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.refund = obj.id.clone();
    r.charge = id_of(&obj.charge);
    r.payment_intent = id_of(&obj.payment_intent);
    r.balance_transaction = id_of(&obj.balance_transaction);
    r.reason = obj.reason.clone();
    r.payment_method_type = obj
        .destination_details
        .as_ref()
        .and_then(|d| d.kind.clone());
    r.failure = failure(obj.failure_reason.as_ref(), None);
    f.amount = obj.amount;
    f.amount_refunded = obj.amount;
    f.balance = expanded_balance(&obj.balance_transaction);
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "succeeded" => Some(Status::Refunded),
        "pending" | "requires_action" => Some(Status::Pending),
        "failed" => Some(Status::Failed),
        "canceled" => Some(Status::Canceled),
        _ => None,
    });
}

fn dispute<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.dispute = obj.id.clone();
    r.charge = id_of(&obj.charge);
    r.payment_intent = id_of(&obj.payment_intent);
    r.reason = obj.reason.clone();
    f.amount = obj.amount;
    if let Some(bts) = obj.balance_transactions.as_ref().filter(|b| !b.is_empty()) {
        let currency = bts.first().and_then(|b| b.currency.as_deref());
        let same_currency = bts.iter().all(|b| b.currency.as_deref() == currency);
        let fee = bts.iter().try_fold(0i64, |acc, b| acc.checked_add(b.fee?));
        let net = bts.iter().try_fold(0i64, |acc, b| acc.checked_add(b.net?));
        if let (Some(currency), true, Some(fee), Some(net)) = (currency, same_currency, fee, net) {
            f.balance = Some(Balance { fee, net, currency });
        }
    }
    f.object_status = obj.status.as_deref().map(|s| match s {
        "won" | "warning_closed" | "prevented" => Status::DisputeWon,
        "lost" => Status::DisputeLost,
        _ => Status::Disputed,
    });
}

fn invoice<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.invoice = obj.id.clone();
    r.subscription = id_of(&obj.subscription).or_else(|| {
        obj.parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .and_then(|d| id_of(&d.subscription))
    });
    // 2020-era: charge / payment_intent on the invoice; basil: the default entry of payments.
    r.charge = id_of(&obj.charge);
    r.payment_intent = id_of(&obj.payment_intent);
    if let Some(payments) = &obj.payments {
        let chosen = payments
            .data
            .iter()
            .find(|p| p.is_default == Some(true))
            .or_else(|| {
                payments
                    .data
                    .iter()
                    .find(|p| p.status.as_deref() == Some("paid"))
            })
            .or_else(|| payments.data.first());
        if let Some(payment) = chosen.and_then(|p| p.payment.as_ref()) {
            r.charge = r.charge.take().or_else(|| id_of(&payment.charge));
            r.payment_intent = r
                .payment_intent
                .take()
                .or_else(|| id_of(&payment.payment_intent));
        }
    }
    let paid = obj.status.as_deref() == Some("paid");
    f.amount = if paid {
        obj.amount_paid.or(obj.total)
    } else {
        obj.amount_due.or(obj.total)
    };
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "draft" | "open" => Some(Status::Pending),
        "paid" => Some(Status::Paid),
        "void" => Some(Status::Void),
        "uncollectible" => Some(Status::Uncollectible),
        "deleted" => Some(Status::Canceled),
        _ => None,
    });
}

fn invoice_payment<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.invoice = id_of(&obj.invoice);
    // `payment: {type, payment_intent, charge}`; early previews put the ids at the top level.
    r.payment_intent = obj
        .payment
        .as_ref()
        .and_then(|p| id_of(&p.payment_intent))
        .or_else(|| id_of(&obj.payment_intent));
    r.charge = obj
        .payment
        .as_ref()
        .and_then(|p| id_of(&p.charge))
        .or_else(|| id_of(&obj.charge));
    let paid = obj.status.as_deref() == Some("paid");
    f.amount = if paid {
        obj.amount_paid.or(obj.amount_requested)
    } else {
        obj.amount_requested
    };
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "paid" => Some(Status::Paid),
        "open" => Some(Status::Pending),
        "canceled" => Some(Status::Canceled),
        _ => None,
    });
}

fn checkout_session<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.checkout_session = obj.id.clone();
    r.payment_intent = id_of(&obj.payment_intent);
    r.invoice = id_of(&obj.invoice);
    r.subscription = id_of(&obj.subscription);
    r.payment_method_type = single_type(obj);
    let details = obj.customer_details.as_ref();
    r.customer_email = details
        .and_then(|d| d.email.clone())
        .or_else(|| obj.customer_email.clone());
    r.customer_name = details.and_then(|d| d.name.clone());
    f.amount = obj.amount_total;
    f.object_status = match (obj.status.as_deref(), obj.payment_status.as_deref()) {
        (Some("expired"), _) => Some(Status::Expired),
        (_, Some("paid" | "no_payment_required")) => Some(Status::Paid),
        (Some("complete" | "open"), _) => Some(Status::Pending),
        _ => None,
    };
}

fn payout<'a>(obj: &'a StripeObject, r: &mut Record, f: &mut Facts<'a>) {
    r.payout = obj.id.clone();
    r.balance_transaction = id_of(&obj.balance_transaction);
    r.arrival_date = obj.arrival_date;
    r.failure = failure(obj.failure_code.as_ref(), obj.failure_message.as_ref());
    f.amount = obj.amount;
    f.balance = expanded_balance(&obj.balance_transaction);
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "pending" | "in_transit" => Some(Status::PayoutPending),
        "paid" => Some(Status::PayoutPaid),
        "failed" => Some(Status::PayoutFailed),
        "canceled" => Some(Status::Canceled),
        _ => None,
    });
}

fn customer(obj: &StripeObject, r: &mut Record) {
    r.customer_id = obj.id.clone();
    r.customer_email = obj.email.clone();
    r.customer_name = obj.name.clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(json: &str) -> Record {
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    fn event(event_type: &str, object: &str) -> String {
        format!(
            r#"{{"id":"evt_1","object":"event","type":"{event_type}","created":1700000000,"livemode":false,"api_version":"2025-03-31.basil","data":{{"object":{object}}}}}"#
        )
    }

    #[test]
    fn payment_intent_succeeded_current_shape() {
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":2000,"amount_received":2000,"currency":"eur","status":"succeeded",
                "customer":"cus_1","latest_charge":"ch_1","metadata":{"order_id":"ORD-7"},"payment_method_types":["card"]}"#,
        ));
        assert_eq!(r.status, Status::Paid);
        assert_eq!(r.order_ref.as_deref(), Some("ORD-7"));
        assert_eq!(r.currency.as_deref(), Some("EUR"));
        assert_eq!(r.amount.unwrap().to_string(), "20.00");
        assert_eq!(r.amount_minor, Some(2000));
        assert_eq!(r.charge.as_deref(), Some("ch_1"));
        assert_eq!(r.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(r.customer_id.as_deref(), Some("cus_1"));
        assert_eq!(r.payment_method_type.as_deref(), Some("card"));
        assert_eq!(r.object.as_deref(), Some("payment_intent"));
    }

    #[test]
    fn zero_and_three_decimal_amounts() {
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":500,"currency":"jpy","status":"succeeded"}"#,
        ));
        assert_eq!(r.amount.unwrap().to_string(), "500");
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":12340,"currency":"kwd","status":"succeeded"}"#,
        ));
        assert_eq!(r.amount.unwrap().to_string(), "12.340");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["amount"], "12.340");
        assert_eq!(json["amount_minor"], 12340);
    }

    #[test]
    fn expanded_balance_transaction_gives_fee_and_net_in_settlement_currency() {
        let r = norm(&event(
            "charge.succeeded",
            r#"{"id":"ch_1","object":"charge","amount":1000,"currency":"eur","status":"succeeded","captured":true,
                "payment_intent":"pi_1","payment_method_details":{"type":"sepa_debit"},
                "balance_transaction":{"id":"txn_1","object":"balance_transaction","amount":1085,"fee":62,"net":1023,"currency":"usd"}}"#,
        ));
        assert_eq!(r.status, Status::Paid);
        assert_eq!(r.fee.unwrap().to_string(), "0.62");
        assert_eq!(r.net.unwrap().to_string(), "10.23");
        assert_eq!(r.settlement_currency.as_deref(), Some("USD"));
        assert_eq!(r.balance_transaction.as_deref(), Some("txn_1"));
        assert_eq!(r.payment_method_type.as_deref(), Some("sepa_debit"));
    }

    #[test]
    fn uncaptured_charge_is_authorized() {
        let r = norm(&event(
            "charge.succeeded",
            r#"{"id":"ch_1","object":"charge","amount":1000,"currency":"usd","status":"succeeded","captured":false}"#,
        ));
        assert_eq!(r.status, Status::Authorized);
    }

    #[test]
    fn partial_and_full_refunds() {
        let partial = norm(&event(
            "charge.refunded",
            r#"{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":300,"refunded":false,"currency":"usd","status":"succeeded"}"#,
        ));
        assert_eq!(partial.status, Status::PartiallyRefunded);
        assert_eq!(partial.amount_refunded.unwrap().to_string(), "3.00");
        let full = norm(&event(
            "charge.refunded",
            r#"{"id":"ch_1","object":"charge","amount":1000,"amount_refunded":1000,"refunded":true,"currency":"usd","status":"succeeded"}"#,
        ));
        assert_eq!(full.status, Status::Refunded);
    }

    #[test]
    fn failures_carry_code_and_message() {
        let r = norm(&event(
            "payment_intent.payment_failed",
            r#"{"id":"pi_1","object":"payment_intent","amount":1000,"currency":"usd","status":"requires_payment_method",
                "last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","type":"card_error",
                "payment_method":{"id":"pm_1","type":"card"}}}"#,
        ));
        assert_eq!(r.status, Status::Failed);
        let f = r.failure.unwrap();
        assert_eq!(f.code.as_deref(), Some("card_declined"));
        assert_eq!(f.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(r.payment_method_type.as_deref(), Some("card"));
    }

    #[test]
    fn basil_invoice_reads_payments_and_parent() {
        let r = norm(&event(
            "invoice.paid",
            r#"{"id":"in_1","object":"invoice","status":"paid","currency":"usd","amount_due":1500,"amount_paid":1500,"total":1500,
                "customer":"cus_1","metadata":{},
                "parent":{"type":"subscription_details","subscription_details":{"metadata":{"order_id":"SUB-ORDER-1"},"subscription":"sub_1"}},
                "payments":{"object":"list","data":[{"id":"inpay_1","object":"invoice_payment","is_default":true,"status":"paid",
                    "payment":{"type":"payment_intent","payment_intent":"pi_9"}}]}}"#,
        ));
        assert_eq!(r.status, Status::Paid);
        assert_eq!(r.payment_intent.as_deref(), Some("pi_9"));
        assert_eq!(r.subscription.as_deref(), Some("sub_1"));
        assert_eq!(r.order_ref.as_deref(), Some("SUB-ORDER-1"));
        assert_eq!(r.amount.unwrap().to_string(), "15.00");
    }

    #[test]
    fn checkout_client_reference_and_custom_keys() {
        let json = event(
            "checkout.session.completed",
            r#"{"id":"cs_1","object":"checkout.session","status":"complete","payment_status":"unpaid","amount_total":999,
                "currency":"eur","client_reference_id":"REF-1","metadata":{"shop_order":"S-1"},
                "customer_details":{"email":"a@example.com","name":"A"}}"#,
        );
        let r = norm(&json);
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.order_ref.as_deref(), Some("REF-1"));
        assert_eq!(r.customer_email.as_deref(), Some("a@example.com"));
        let custom = normalize_json(
            json.as_bytes(),
            &NormalizeOptions::with_order_keys(["shop_order"]),
        )
        .unwrap();
        assert_eq!(custom.order_ref.as_deref(), Some("S-1"));
    }

    #[test]
    fn unknown_event_types_are_ignored_not_errors() {
        let r = norm(&event(
            "setup_intent.succeeded",
            r#"{"id":"seti_1","object":"setup_intent","status":"succeeded","metadata":{"order_id":"X"}}"#,
        ));
        assert_eq!(r.status, Status::Ignored);
        assert_eq!(r.event_id, "evt_1");
        assert_eq!(r.event_type, "setup_intent.succeeded");
        assert_eq!(r.order_ref, None);
        let thin = norm(
            r#"{"id":"evt_2","object":"v2.core.event","type":"v1.billing.meter.no_meter_found","created":"2024-09-17T06:20:52.246Z"}"#,
        );
        assert_eq!(thin.status, Status::Ignored);
    }

    #[test]
    fn invalid_currency_is_an_error() {
        let err = normalize_json(
            event(
                "payment_intent.succeeded",
                r#"{"id":"pi_1","object":"payment_intent","amount":1,"currency":"us"}"#,
            )
            .as_bytes(),
            &NormalizeOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_currency");
    }

    #[test]
    fn old_payment_intent_reads_charge_details_from_the_list() {
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":5000,"currency":"eur","status":"succeeded","latest_charge":"ch_1",
                "charges":{"object":"list","data":[{"id":"ch_1","amount_refunded":700,"payment_method_details":{"type":"sepa_debit"},
                "balance_transaction":{"id":"txn_1","fee":100,"net":4900,"currency":"eur"}}]}}"#,
        ));
        assert_eq!(r.charge.as_deref(), Some("ch_1"));
        assert_eq!(r.amount_refunded_minor, Some(700));
        assert_eq!(r.fee_minor, Some(100));
        assert_eq!(r.payment_method_type.as_deref(), Some("sepa_debit"));
    }

    #[test]
    fn setup_mode_checkout_is_not_a_payment() {
        let r = norm(&event(
            "checkout.session.completed",
            r#"{"id":"cs_1","object":"checkout.session","mode":"setup","status":"complete","payment_status":"no_payment_required","client_reference_id":"X"}"#,
        ));
        assert_eq!(r.status, Status::Ignored);
    }

    #[test]
    fn released_authorization_and_partial_capture() {
        let released = norm(&event(
            "charge.refunded",
            r#"{"id":"ch_1","object":"charge","amount":5000,"amount_captured":0,"amount_refunded":5000,"captured":false,"refunded":true,"currency":"usd","status":"succeeded"}"#,
        ));
        assert_eq!(released.status, Status::Canceled);
        let partial = norm(&event(
            "charge.captured",
            r#"{"id":"ch_1","object":"charge","amount":5000,"amount_captured":3000,"captured":true,"currency":"usd","status":"succeeded"}"#,
        ));
        assert_eq!(partial.amount_minor, Some(3000));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for (open, close) in [
            (r#"{"latest_charge":"#, "}"),
            (r#"{"charges":{"data":["#, "]}}"),
            (r#"{"metadata":{"x":"#, "}}"),
            ("[", "]"),
        ] {
            for depth in [100, 127, 5000] {
                let inner = format!("{}{{}}{}", open.repeat(depth), close.repeat(depth));
                let json = event("payment_intent.succeeded", &inner);
                // Accepted or refused, but never a crash.
                let _ = normalize_json(json.as_bytes(), &NormalizeOptions::default());
            }
        }
    }

    #[test]
    fn mapped_types_cover_every_rule() {
        let table = mapped_event_types();
        assert!(table.len() > 40);
        for (t, _) in table {
            assert_ne!(rule_for(t), Rule::Ignore, "{t}");
        }
    }
}
