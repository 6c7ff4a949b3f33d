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
use crate::mode::ModeGuard;
use crate::money::{minor_to_decimal, Currency};

/// The metadata keys searched for the order reference, in this order, before
/// `client_reference_id`.
pub const DEFAULT_ORDER_KEYS: &[&str] =
    &["order_id", "orderId", "order", "invoice_id", "order_guid"];

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
    /// A dispute prevented by Visa's Rapid Dispute Resolution: the cardholder was refunded
    /// automatically (money returned, never a win).
    DisputePrevented,
    Void,
    Uncollectible,
    PayoutPending,
    PayoutPaid,
    PayoutFailed,
    /// A payout was canceled (not an order's payment).
    PayoutCanceled,
    /// A customer was created or updated (not a payment status; used by CRM mappings).
    CustomerActive,
    /// A customer was deleted.
    CustomerDeleted,
    /// Radar's early fraud warning on a charge (a flag on the payment, not a payment status).
    FraudWarning,
    /// A Radar review of a payment was opened (a flag, not a payment status).
    ReviewOpen,
    /// A Radar review of a payment was closed.
    ReviewClosed,
    /// An event type stripe-bridge maps whose object could not be read (`reason` says which
    /// field); it never changes an order.
    Unreadable,
    /// A Reporting API report run succeeded: its file can be downloaded.
    ReportReady,
    /// A report run failed.
    ReportFailed,
    /// New data is available for a report type.
    ReportTypeUpdated,
    /// A file was uploaded or created (a report's file, a dispute's evidence...).
    FileCreated,
    /// An event type stripe-bridge does not map.
    Ignored,
}

/// What a status is about; the one place that says which statuses concern an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// The payment of an order: statuses of payment attempts, refunds and disputes.
    Payment,
    /// A flag on an order's payment (fraud warning, review) that leaves its status alone.
    Flag,
    Payout,
    Customer,
    /// Reporting API runs, report types and files: finance data to fetch, not an order's.
    Report,
    /// Nothing to apply: ignored and unreadable events.
    Nothing,
}

impl Concern {
    /// The snake_case name used in JSON and by the npm package's `statusConcern`.
    pub fn as_str(self) -> &'static str {
        match self {
            Concern::Payment => "payment",
            Concern::Flag => "flag",
            Concern::Payout => "payout",
            Concern::Customer => "customer",
            Concern::Report => "report",
            Concern::Nothing => "nothing",
        }
    }
}

impl Status {
    pub const ALL: [Status; 30] = [
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
        Status::DisputePrevented,
        Status::Void,
        Status::Uncollectible,
        Status::PayoutPending,
        Status::PayoutPaid,
        Status::PayoutFailed,
        Status::PayoutCanceled,
        Status::CustomerActive,
        Status::CustomerDeleted,
        Status::FraudWarning,
        Status::ReviewOpen,
        Status::ReviewClosed,
        Status::ReportReady,
        Status::ReportFailed,
        Status::ReportTypeUpdated,
        Status::FileCreated,
        Status::Unreadable,
        Status::Ignored,
    ];

    /// What the status is about.
    pub fn concern(self) -> Concern {
        use Status::*;
        match self {
            Pending | RequiresAction | Authorized | Paid | PartiallyRefunded | Refunded
            | Failed | Canceled | Expired | Disputed | DisputeWon | DisputeLost
            | DisputePrevented | Void | Uncollectible => Concern::Payment,
            FraudWarning | ReviewOpen | ReviewClosed => Concern::Flag,
            PayoutPending | PayoutPaid | PayoutFailed | PayoutCanceled => Concern::Payout,
            CustomerActive | CustomerDeleted => Concern::Customer,
            ReportReady | ReportFailed | ReportTypeUpdated | FileCreated => Concern::Report,
            Unreadable | Ignored => Concern::Nothing,
        }
    }

    /// Whether the status is about an order's payment (its status, or a flag on it).
    pub fn is_order_payment(self) -> bool {
        matches!(self.concern(), Concern::Payment | Concern::Flag)
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
            Status::DisputePrevented => "dispute_prevented",
            Status::Void => "void",
            Status::Uncollectible => "uncollectible",
            Status::PayoutPending => "payout_pending",
            Status::PayoutPaid => "payout_paid",
            Status::PayoutFailed => "payout_failed",
            Status::PayoutCanceled => "payout_canceled",
            Status::CustomerActive => "customer_active",
            Status::CustomerDeleted => "customer_deleted",
            Status::FraudWarning => "fraud_warning",
            Status::ReviewOpen => "review_open",
            Status::ReviewClosed => "review_closed",
            Status::ReportReady => "report_ready",
            Status::ReportFailed => "report_failed",
            Status::ReportTypeUpdated => "report_type_updated",
            Status::FileCreated => "file_created",
            Status::Unreadable => "unreadable",
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
    /// Refund, dispute or cancellation reason, an early fraud warning's fraud type; for an
    /// `unreadable` record, which field could not be read (never its value).
    pub reason: Option<String>,
    pub failure: Option<Failure>,
    /// Radar's risk level of the charge (`normal`, `elevated`, `highest`), when the event has it.
    pub risk_level: Option<String>,
    /// Payouts: expected arrival date, Unix seconds.
    pub arrival_date: Option<i64>,
    /// Reporting API: the report type of a run (`payout_reconciliation.itemized.5`), or the
    /// report type that has new data.
    pub report_type: Option<String>,
    /// A succeeded report run's file, or the file of `file.created`.
    pub file: Option<String>,
}

/// Options for [`normalize`].
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Metadata keys searched for the order reference, in order.
    pub order_keys: Vec<String>,
    /// The mode and accounts accepted; events of others are `ignored` with the reason.
    pub mode: ModeGuard,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            order_keys: DEFAULT_ORDER_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            mode: ModeGuard::default(),
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
            mode: ModeGuard::default(),
        }
    }
}

/// Why normalization failed: only an unreadable envelope (see [`Event::from_slice`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The JSON is not a readable Stripe event.
    Event(EventError),
}

impl NormalizeError {
    pub fn code(&self) -> &'static str {
        match self {
            NormalizeError::Event(e) => e.code(),
        }
    }
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::Event(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for NormalizeError {}

impl From<EventError> for NormalizeError {
    fn from(e: EventError) -> Self {
        NormalizeError::Event(e)
    }
}

/// Parses and normalizes an event from its JSON bytes. Refused only when the envelope cannot
/// be read; a mapped event whose object cannot be read gives an `unreadable` record.
pub fn normalize_json(json: &[u8], options: &NormalizeOptions) -> Result<Record, NormalizeError> {
    // One pass for a well-formed event; anything else (a shape that needs the lenient reader)
    // takes the full path, which decides the same record for well-formed events.
    if let Some((event, obj)) = Event::parse_with_object(json) {
        let Some((kind, rule)) = rule_for(&event.event_type) else {
            return Ok(Record::envelope(&event));
        };
        return Ok(match guarded(&event, options) {
            Some(record) => record,
            None => from_object(&event, kind, rule, &obj, options),
        });
    }
    Ok(normalize(&Event::from_slice(json)?, options))
}

/// The status an event type implies, and how the rest of the record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Fixed(Status),
    /// Read the status from the object's own state (`*.updated` events and the like).
    FromObject,
    /// charge.succeeded: authorized when not captured.
    ChargeSucceeded,
    /// charge.refunded: refunded or partially refunded by amount.
    ChargeRefunded,
}

/// The event-type table: every mapped type, the object it carries, and its rule. The one
/// source of `rule_for`, of [`mapped_event_types`] and (checked by a test) of the README table.
pub const EVENT_TYPES: &[(&str, &str, Rule)] = {
    use Rule::*;
    use Status::*;
    &[
        ("payment_intent.created", "payment_intent", Fixed(Pending)),
        (
            "payment_intent.processing",
            "payment_intent",
            Fixed(Pending),
        ),
        (
            "payment_intent.partially_funded",
            "payment_intent",
            Fixed(Pending),
        ),
        (
            "payment_intent.requires_action",
            "payment_intent",
            Fixed(RequiresAction),
        ),
        (
            "payment_intent.amount_capturable_updated",
            "payment_intent",
            Fixed(Authorized),
        ),
        ("payment_intent.succeeded", "payment_intent", Fixed(Paid)),
        (
            "payment_intent.payment_failed",
            "payment_intent",
            Fixed(Failed),
        ),
        ("payment_intent.canceled", "payment_intent", Fixed(Canceled)),
        ("charge.pending", "charge", Fixed(Pending)),
        ("charge.succeeded", "charge", ChargeSucceeded),
        ("charge.captured", "charge", Fixed(Paid)),
        ("charge.failed", "charge", Fixed(Failed)),
        ("charge.expired", "charge", Fixed(Expired)),
        ("charge.refunded", "charge", ChargeRefunded),
        ("charge.updated", "charge", FromObject),
        ("charge.refund.updated", "refund", FromObject),
        ("refund.created", "refund", FromObject),
        ("refund.updated", "refund", FromObject),
        ("refund.failed", "refund", Fixed(Failed)),
        ("charge.dispute.created", "dispute", Fixed(Disputed)),
        ("charge.dispute.funds_withdrawn", "dispute", Fixed(Disputed)),
        ("charge.dispute.updated", "dispute", FromObject),
        ("charge.dispute.closed", "dispute", FromObject),
        (
            "charge.dispute.funds_reinstated",
            "dispute",
            Fixed(DisputeWon),
        ),
        (
            "radar.early_fraud_warning.created",
            "radar.early_fraud_warning",
            Fixed(FraudWarning),
        ),
        (
            "radar.early_fraud_warning.updated",
            "radar.early_fraud_warning",
            Fixed(FraudWarning),
        ),
        ("review.opened", "review", Fixed(ReviewOpen)),
        ("review.closed", "review", Fixed(ReviewClosed)),
        ("checkout.session.completed", "checkout.session", FromObject),
        (
            "checkout.session.async_payment_succeeded",
            "checkout.session",
            Fixed(Paid),
        ),
        (
            "checkout.session.async_payment_failed",
            "checkout.session",
            Fixed(Failed),
        ),
        (
            "checkout.session.expired",
            "checkout.session",
            Fixed(Expired),
        ),
        ("invoice.created", "invoice", FromObject),
        ("invoice.updated", "invoice", FromObject),
        ("invoice.overdue", "invoice", FromObject),
        ("invoice.finalized", "invoice", Fixed(Pending)),
        ("invoice.paid", "invoice", Fixed(Paid)),
        ("invoice.payment_succeeded", "invoice", Fixed(Paid)),
        ("invoice.payment_failed", "invoice", Fixed(Failed)),
        (
            "invoice.payment_action_required",
            "invoice",
            Fixed(RequiresAction),
        ),
        ("invoice.voided", "invoice", Fixed(Void)),
        (
            "invoice.marked_uncollectible",
            "invoice",
            Fixed(Uncollectible),
        ),
        ("invoice.deleted", "invoice", Fixed(Canceled)),
        ("invoice_payment.paid", "invoice_payment", Fixed(Paid)),
        ("payout.created", "payout", Fixed(PayoutPending)),
        ("payout.updated", "payout", FromObject),
        ("payout.paid", "payout", Fixed(PayoutPaid)),
        (
            "payout.reconciliation_completed",
            "payout",
            Fixed(PayoutPaid),
        ),
        ("payout.failed", "payout", Fixed(PayoutFailed)),
        ("payout.canceled", "payout", Fixed(PayoutCanceled)),
        ("customer.created", "customer", Fixed(CustomerActive)),
        ("customer.updated", "customer", Fixed(CustomerActive)),
        ("customer.deleted", "customer", Fixed(CustomerDeleted)),
        ("file.created", "file", Fixed(FileCreated)),
        (
            "reporting.report_run.succeeded",
            "reporting.report_run",
            Fixed(ReportReady),
        ),
        (
            "reporting.report_run.failed",
            "reporting.report_run",
            Fixed(ReportFailed),
        ),
        (
            "reporting.report_type.updated",
            "reporting.report_type",
            Fixed(ReportTypeUpdated),
        ),
    ]
};

/// The fields whose value decides a record (status, amounts, currency, the order and the links
/// between objects). One of these with an unexpected type makes a mapped event `unreadable`;
/// any other field of an unexpected type is dropped.
pub const NEEDED_FIELDS: &[&str] = &[
    "id",
    "object",
    "status",
    "currency",
    "metadata",
    "amount",
    "amount_received",
    "amount_captured",
    "amount_refunded",
    "amount_total",
    "amount_paid",
    "amount_due",
    "amount_requested",
    "total",
    "captured",
    "refunded",
    "paid",
    "payment_status",
    "mode",
    "client_reference_id",
    "payment_intent",
    "charge",
    "latest_charge",
    "charges",
    "invoice",
    "payment",
    "payments",
    "parent",
    "subscription_details",
    "open",
];

/// The object kind and rule of a mapped event type; `None`: not mapped (`ignored`).
pub fn rule_for(event_type: &str) -> Option<(&'static str, Rule)> {
    EVENT_TYPES
        .iter()
        .find(|(t, _, _)| *t == event_type)
        .map(|(_, kind, rule)| (*kind, *rule))
}

/// Every event type with a mapping, with the status it yields (`None`: read from the object).
/// Used to document and test the table.
pub fn mapped_event_types() -> Vec<(&'static str, Option<Status>)> {
    EVENT_TYPES
        .iter()
        .map(|(t, _, rule)| match rule {
            Rule::Fixed(s) => (*t, Some(*s)),
            _ => (*t, None),
        })
        .collect()
}

impl Record {
    /// The record of an event with only its envelope: status `ignored`, everything else null.
    pub fn envelope(event: &Event) -> Record {
        Record {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            created: event.created,
            livemode: event.livemode,
            account: event.account.clone(),
            api_version: event.api_version.clone(),
            object: None,
            object_id: None,
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
            risk_level: None,
            arrival_date: None,
            report_type: None,
            file: None,
        }
    }

    /// The record of a mapped event whose object cannot be read.
    fn unreadable(event: &Event, reason: impl Into<String>) -> Record {
        Record {
            status: Status::Unreadable,
            reason: Some(reason.into()),
            ..Record::envelope(event)
        }
    }
}

/// Normalizes an event. Never fails: an event type that is not mapped gives `ignored`, a mapped
/// one whose object cannot be read gives `unreadable` with the reason.
pub fn normalize(event: &Event, options: &NormalizeOptions) -> Record {
    let Some((kind, rule)) = rule_for(&event.event_type) else {
        return Record::envelope(event);
    };
    if let Some(record) = guarded(event, options) {
        return record;
    }
    let obj = match event.read_object(NEEDED_FIELDS) {
        Ok(Some(obj)) => obj,
        Ok(None) => return Record::unreadable(event, "data.object is missing"),
        Err(e) => return Record::unreadable(event, e.reason),
    };
    from_object(event, kind, rule, &obj, options)
}

/// The record of an event of a mode or account the options do not accept (`ignored`, with the
/// reason), or `None`.
fn guarded(event: &Event, options: &NormalizeOptions) -> Option<Record> {
    let refusal = options
        .mode
        .refusal(event.livemode, event.account.as_deref())?;
    Some(Record {
        reason: Some(refusal),
        ..Record::envelope(event)
    })
}

/// The record of a mapped event from its object, read.
fn from_object(
    event: &Event,
    kind: &'static str,
    rule: Rule,
    obj: &StripeObject,
    options: &NormalizeOptions,
) -> Record {
    if obj.object.as_deref().is_some_and(|o| o != kind) {
        return Record::unreadable(
            event,
            format!("data.object.object is another kind than the {kind} the event type carries"),
        );
    }
    if obj.id.as_deref().is_none_or(str::is_empty) {
        return Record::unreadable(event, "data.object.id is missing");
    }
    let currency = match obj.currency.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => match Currency::new(code) {
            Ok(c) => Some(c),
            Err(_) => {
                return Record::unreadable(
                    event,
                    "data.object.currency is not a currency Stripe supports",
                )
            }
        },
        None => None,
    };
    let mut record = Record::envelope(event);
    record.object = Some(kind.to_owned());
    record.object_id = obj.id.clone();
    record.currency = currency.map(|c| c.code().to_owned());
    record.customer_id = id_of(&obj.customer);
    record.order_ref = order_ref(obj, &options.order_keys);

    let mut facts = Facts::default();
    read_kind(kind, obj, &mut record, &mut facts);
    record.status = match rule {
        // A setup-mode Checkout Session saves a payment method; no money moves.
        _ if kind == "checkout.session" && obj.mode.as_deref() == Some("setup") => Status::Ignored,
        Rule::Fixed(status) => status,
        Rule::FromObject => facts.object_status.unwrap_or(Status::Ignored),
        Rule::ChargeSucceeded if obj.captured == Some(false) => Status::Authorized,
        Rule::ChargeSucceeded => Status::Paid,
        Rule::ChargeRefunded => charge_refund_status(obj),
    };
    if record.status == Status::Ignored {
        // An object in a state we do not map: keep only the envelope.
        return Record::envelope(event);
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
    record
}

/// Reads the fields of one object kind into the record.
fn read_kind<'a>(kind: &str, obj: &'a StripeObject, record: &mut Record, facts: &mut Facts<'a>) {
    match kind {
        "payment_intent" => payment_intent(obj, record, facts),
        "charge" => charge(obj, record, facts),
        "refund" => refund(obj, record, facts),
        "dispute" => dispute(obj, record, facts),
        "invoice" => invoice(obj, record, facts),
        "invoice_payment" => invoice_payment(obj, record, facts),
        "checkout.session" => checkout_session(obj, record, facts),
        "payout" => payout(obj, record, facts),
        "customer" => customer(obj, record),
        "radar.early_fraud_warning" | "review" => radar(obj, record),
        "reporting.report_run" => report_run(obj, record),
        "reporting.report_type" => record.report_type = obj.id.clone(),
        "file" => record.file = obj.id.clone(),
        _ => {}
    }
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

impl Record {
    /// The balance transaction whose fee and net this record still lacks: a paid or authorized
    /// charge (or a PaymentIntent's charge) that names one without its amounts. Webhooks carry
    /// the id only; fetch it (`GET /v1/balance_transactions/{id}`) and give it to
    /// [`Record::with_balance_transaction`].
    pub fn missing_fee(&self) -> Option<&str> {
        let paid = matches!(
            self.status,
            Status::Paid | Status::PartiallyRefunded | Status::Refunded
        );
        let id = self.balance_transaction.as_deref()?;
        (paid && self.fee_minor.is_none() && id.starts_with("txn_")).then_some(id)
    }

    /// Fee, net and settlement currency from the record's balance transaction, read
    /// separately; a transaction with another id, or without amounts, changes nothing.
    pub fn with_balance_transaction(&mut self, bt: &crate::reconcile::BalanceTransaction) {
        if self.balance_transaction.as_deref() != Some(bt.id.as_str()) || bt.currency.is_empty() {
            return;
        }
        apply_balance(
            self,
            Balance {
                fee: bt.fee,
                net: bt.net,
                currency: &bt.currency,
            },
        );
    }
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
        f.amount_refunded = refunded_to_customer(
            charge.amount_refunded,
            charge.amount,
            charge.amount_captured,
            charge.captured,
        )
        .filter(|a| *a > 0);
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
    r.failure = failure(obj.failure_code.as_ref(), obj.failure_message.as_ref()).map(|mut f| {
        // A charge carries the issuer's decline code as its outcome's reason (the
        // PaymentIntent's `last_payment_error.decline_code` says the same).
        let outcome = obj.outcome.as_ref();
        if outcome.and_then(|o| o.outcome_type.as_deref()) == Some("issuer_declined") {
            f.decline_code = outcome.and_then(|o| o.reason.clone());
        }
        f
    });
    r.risk_level = obj.outcome.as_ref().and_then(|o| o.risk_level.clone());
    f.amount = charge_amount(obj);
    f.amount_refunded = charge_refunded(obj);
    f.balance = expanded_balance(&obj.balance_transaction);
    f.object_status = obj.status.as_deref().and_then(|s| match s {
        "succeeded" => Some(
            if charge_refunded(obj).unwrap_or(0) > 0 || obj.refunded == Some(true) {
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

/// What a charge gave back to the customer (see [`refunded_to_customer`]).
fn charge_refunded(obj: &StripeObject) -> Option<i64> {
    refunded_to_customer(
        obj.amount_refunded,
        obj.amount,
        obj.amount_captured,
        obj.captured,
    )
}

/// A charge's `amount_refunded` less the part of the authorization that a partial capture
/// released: Stripe counts that part as refunded too ("any additional amount will be
/// automatically refunded"), but the customer paid it back to no one, so it is no refund.
fn refunded_to_customer(
    amount_refunded: Option<i64>,
    amount: Option<i64>,
    amount_captured: Option<i64>,
    captured: Option<bool>,
) -> Option<i64> {
    let released = released_by_capture(amount, amount_captured, captured);
    Some(amount_refunded?.saturating_sub(released).max(0))
}

/// What a partial capture released of the authorization (0 unless captured for less than it
/// authorized).
fn released_by_capture(
    amount: Option<i64>,
    amount_captured: Option<i64>,
    captured: Option<bool>,
) -> i64 {
    match (captured, amount, amount_captured) {
        (Some(true), Some(amount), Some(took)) if took > 0 && took < amount => amount - took,
        _ => 0,
    }
}

/// A charge captured for less than it authorized.
fn partially_captured(obj: &StripeObject) -> bool {
    released_by_capture(obj.amount, obj.amount_captured, obj.captured) > 0
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
    let refunded = charge_refunded(obj);
    let full = match (refunded, charge_amount(obj)) {
        (Some(refunded), Some(amount)) => refunded >= amount,
        _ => false,
    };
    if full || obj.refunded == Some(true) {
        Status::Refunded
    } else if refunded == Some(0) && partially_captured(obj) {
        // Only the rest of a partial capture was released: nothing went back.
        Status::Paid
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
        "won" | "warning_closed" => Status::DisputeWon,
        "prevented" => Status::DisputePrevented,
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
        "canceled" => Some(Status::PayoutCanceled),
        _ => None,
    });
}

/// Report runs: the report type, the file once it succeeded, the payout a payout report is
/// about, and a failed run's error.
fn report_run(obj: &StripeObject, r: &mut Record) {
    r.report_type = obj.report_type.clone();
    r.file = id_of(&obj.result);
    let parameters = obj.parameters.as_ref();
    r.payout = parameters.and_then(|p| p.payout.clone());
    r.reason = obj.error.clone();
}

/// Early fraud warnings and reviews: the payment they are about, and why.
fn radar(obj: &StripeObject, r: &mut Record) {
    r.charge = id_of(&obj.charge);
    r.payment_intent = id_of(&obj.payment_intent);
    r.reason = obj
        .fraud_type
        .clone()
        .or_else(|| obj.closed_reason.clone())
        .or_else(|| obj.reason.clone());
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
    fn a_declined_charge_carries_the_issuers_decline_code() {
        let r = norm(&event(
            "charge.failed",
            r#"{"id":"ch_1","object":"charge","amount":1000,"currency":"eur","status":"failed",
                "payment_intent":"pi_1","failure_code":"card_declined","failure_message":"Declined.",
                "outcome":{"type":"issuer_declined","reason":"insufficient_funds","risk_level":"normal"}}"#,
        ));
        let f = r.failure.unwrap();
        assert_eq!(f.code.as_deref(), Some("card_declined"));
        assert_eq!(f.decline_code.as_deref(), Some("insufficient_funds"));
        let blocked = norm(&event(
            "charge.failed",
            r#"{"id":"ch_2","object":"charge","amount":1000,"currency":"eur","status":"failed",
                "failure_code":"card_declined","outcome":{"type":"blocked","reason":"highest_risk_level"}}"#,
        ));
        assert_eq!(
            blocked.failure.unwrap().decline_code,
            None,
            "Radar's reason is not a decline code"
        );
    }

    #[test]
    fn a_balance_transaction_read_later_gives_the_fee() {
        let mut r = norm(&event(
            "charge.succeeded",
            r#"{"id":"ch_1","object":"charge","amount":1000,"currency":"eur","status":"succeeded","captured":true,
                "payment_intent":"pi_1","balance_transaction":"txn_1"}"#,
        ));
        assert_eq!(r.missing_fee(), Some("txn_1"));
        let other: crate::reconcile::BalanceTransaction =
            serde_json::from_str(r#"{"id":"txn_2","fee":1,"net":2,"currency":"usd"}"#).unwrap();
        r.with_balance_transaction(&other);
        assert_eq!(r.fee_minor, None, "another transaction changes nothing");
        let bt: crate::reconcile::BalanceTransaction = serde_json::from_str(
            r#"{"id":"txn_1","amount":1085,"fee":62,"net":1023,"currency":"usd"}"#,
        )
        .unwrap();
        r.with_balance_transaction(&bt);
        assert_eq!((r.fee_minor, r.net_minor), (Some(62), Some(1023)));
        assert_eq!(r.fee.unwrap().to_string(), "0.62");
        assert_eq!(r.settlement_currency.as_deref(), Some("USD"));
        assert_eq!(r.missing_fee(), None);
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
    fn unreadable_objects_are_records_not_errors() {
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":1,"currency":"us"}"#,
        ));
        assert_eq!(r.status, Status::Unreadable);
        assert_eq!(
            r.reason.as_deref(),
            Some("data.object.currency is not a currency Stripe supports")
        );
        assert_eq!(r.amount, None);
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":"4242 4242","currency":"usd"}"#,
        ));
        assert_eq!(r.status, Status::Unreadable);
        assert_eq!(
            r.reason.as_deref(),
            Some("data.object.amount has an unexpected type")
        );
        // A field the record does not need may have any shape.
        let r = norm(&event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded",
                "description":{"x":1},"payment_method_types":"card","last_payment_error":7}"#,
        ));
        assert_eq!(r.status, Status::Paid);
        assert_eq!(r.amount_minor, Some(100));
        // Another object than the event type carries.
        let r = norm(&event(
            "charge.succeeded",
            r#"{"id":"cn_1","object":"credit_note","amount":100,"currency":"usd"}"#,
        ));
        assert_eq!(r.status, Status::Unreadable);
        assert!(r.reason.unwrap().contains("another kind than the charge"));
        // An array or an object without an id is not an object we can use.
        for object in [r#"["pi_1","payment_intent","succeeded","usd"]"#, "{}"] {
            let r = norm(&event("payment_intent.succeeded", object));
            assert_eq!(r.status, Status::Unreadable, "{object}");
        }
        // No object at all.
        let r = norm(r#"{"id":"evt_1","type":"charge.succeeded","created":1}"#);
        assert_eq!(r.status, Status::Unreadable);
        // Ignored types are never read.
        let r = norm(&event(
            "credit_note.created",
            r#"{"id":"cn_1","object":"credit_note","refunds":[{"refund":"re_1"}],"amount":{"value":1}}"#,
        ));
        assert_eq!(r.status, Status::Ignored);
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
    fn events_of_another_mode_or_account_are_ignored_with_the_reason() {
        let json = event(
            "payment_intent.succeeded",
            r#"{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded","metadata":{"order_id":"A"}}"#,
        );
        let live_only = NormalizeOptions {
            mode: ModeGuard::parse("live", "").unwrap(),
            ..NormalizeOptions::default()
        };
        let r = normalize_json(json.as_bytes(), &live_only).unwrap();
        assert_eq!(r.status, Status::Ignored);
        assert_eq!(r.order_ref, None);
        assert!(r.reason.unwrap().contains("test-mode"));
        let test_only = NormalizeOptions {
            mode: ModeGuard::parse("test", "platform").unwrap(),
            ..NormalizeOptions::default()
        };
        assert_eq!(
            normalize_json(json.as_bytes(), &test_only).unwrap().status,
            Status::Paid
        );
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
        for (t, _) in &table {
            assert!(rule_for(t).is_some(), "{t}");
        }
        let unique: std::collections::BTreeSet<_> = table.iter().map(|(t, _)| t).collect();
        assert_eq!(unique.len(), table.len(), "each event type once");
    }
}
