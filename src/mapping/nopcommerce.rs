//! nopCommerce: its own payment and order status ids, and the guarded update of an order.
//!
//! Two levels:
//! - [`update_for`] (the `nopcommerce` profile): what one event asks of the order — target
//!   `PaymentStatusId`, the `OrderStatusId` that follows, amounts, Stripe ids, a note. It knows
//!   nothing of the order's current row.
//! - [`plan`]: the changes to make to a given order row, from the order's merged
//!   [`OrderState`], with the guards nopCommerce's own order processing and payment plugins
//!   use: mark paid only from Pending/Authorized and only when the paid amount covers the order
//!   total in the same currency; refunds from Paid/PartiallyRefunded only, `RefundedAmount` set
//!   from the refunds counted once per refund id; void only an authorization; never move a paid
//!   order back; Pending orders become Processing once authorized or paid; Cancelled and
//!   Complete orders keep their order status; while the order's payment is declined, a note says
//!   why ([`failure_note`]). Because it is computed from the merged state, it is the same
//!   whatever the delivery order, and a duplicate delivery changes nothing.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use crate::mapping::{iso8601, View};
use crate::money::{minor_to_decimal, parse_decimal, Currency};
use crate::normalize::{Record, Status};
use crate::state::{OrderState, Totals};

/// nopCommerce `PaymentStatus`.
pub mod payment_status {
    pub const PENDING: u8 = 10;
    pub const AUTHORIZED: u8 = 20;
    pub const PAID: u8 = 30;
    pub const PARTIALLY_REFUNDED: u8 = 35;
    pub const REFUNDED: u8 = 40;
    pub const VOIDED: u8 = 50;
}

/// nopCommerce `ShippingStatus`.
pub mod shipping_status {
    pub const NOT_REQUIRED: u8 = 10;
    pub const NOT_YET_SHIPPED: u8 = 20;
    pub const PARTIALLY_SHIPPED: u8 = 25;
    pub const SHIPPED: u8 = 30;
    pub const DELIVERED: u8 = 40;
}

/// nopCommerce `OrderStatus`.
pub mod order_status {
    pub const PENDING: u8 = 10;
    pub const PROCESSING: u8 = 20;
    pub const COMPLETE: u8 = 30;
    pub const CANCELLED: u8 = 40;
}

use order_status as os;
use payment_status as ps;

/// The nopCommerce payment status an event points to (`None`: note only).
pub fn payment_status_for(status: Status) -> Option<u8> {
    match status {
        Status::Pending | Status::RequiresAction | Status::Failed => Some(ps::PENDING),
        Status::Authorized => Some(ps::AUTHORIZED),
        Status::Paid => Some(ps::PAID),
        Status::PartiallyRefunded => Some(ps::PARTIALLY_REFUNDED),
        Status::Refunded => Some(ps::REFUNDED),
        Status::Canceled | Status::Expired | Status::Void => Some(ps::VOIDED),
        _ => None,
    }
}

/// The `nopcommerce` profile's output for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NopUpdate {
    pub profile: &'static str,
    pub event_id: String,
    pub event_type: String,
    /// The order reference (nopCommerce order id or custom order number).
    pub order_id: Option<String>,
    pub payment_status_id: Option<u8>,
    pub order_status_id: Option<u8>,
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub paid_amount: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub refunded_amount: Option<Decimal>,
    /// The refunds this update counts (this event's, or all counted in the merged state).
    pub refund_ids: Vec<String>,
    pub authorization_transaction_id: Option<String>,
    pub capture_transaction_id: Option<String>,
    pub paid_date_utc: Option<String>,
    pub order_note: String,
}

/// What an event asks of a nopCommerce order; `None` for events that are not about an order
/// payment (payouts, customers, ignored types).
pub fn update_for(view: &View<'_>) -> Option<NopUpdate> {
    let record = view.record;
    let status = view.status();
    if !status.is_order_payment() {
        return None;
    }
    // A refund object alone cannot say partial or full: that needs the order total (see plan).
    let payment_status_id = if !view.consolidated() && record.object.as_deref() == Some("refund") {
        None
    } else {
        payment_status_for(status)
    };
    let taken = matches!(
        status,
        Status::Paid | Status::PartiallyRefunded | Status::Refunded
    );
    let refund_ids = match view.state {
        Some(state) => state.counted_refunds().cloned().collect(),
        None => record.refund.iter().cloned().collect(),
    };
    Some(NopUpdate {
        profile: "nopcommerce",
        event_id: record.event_id.clone(),
        event_type: record.event_type.clone(),
        order_id: view.order_ref().map(str::to_owned),
        payment_status_id,
        order_status_id: match payment_status_id {
            Some(ps::AUTHORIZED | ps::PAID) => Some(os::PROCESSING),
            _ => None,
        },
        currency: record.currency.clone(),
        paid_amount: if status == Status::Paid || (taken && view.consolidated()) {
            view.amount()
        } else {
            None
        },
        refunded_amount: view.amount_refunded().filter(|a| !a.is_zero()),
        refund_ids,
        authorization_transaction_id: view.payment_intent().map(str::to_owned),
        capture_transaction_id: if taken {
            view.charge().or(view.payment_intent()).map(str::to_owned)
        } else {
            None
        },
        paid_date_utc: if taken {
            view.paid_at().map(iso8601)
        } else {
            None
        },
        order_note: event_note(record),
    })
}

/// One line describing an event, for the order's notes.
pub fn event_note(record: &Record) -> String {
    let money = |amount: Option<Decimal>| match (amount, &record.currency) {
        (Some(a), Some(c)) => format!(" {a} {c}"),
        _ => String::new(),
    };
    let what = match record.status {
        Status::Pending => "payment pending".to_owned(),
        Status::RequiresAction => "payment requires customer action".to_owned(),
        Status::Authorized => format!("payment of{} authorized", money(record.amount)),
        Status::Paid => format!("payment of{} received", money(record.amount)),
        Status::PartiallyRefunded | Status::Refunded
            if record.object.as_deref() != Some("refund") =>
        {
            format!("refunded{} in total", money(record.amount_refunded))
        }
        Status::Refunded => format!("refund of{} succeeded", money(record.amount)),
        Status::Failed if record.object.as_deref() == Some("refund") => {
            format!("refund of{} failed", money(record.amount))
        }
        Status::Failed => "payment failed".to_owned(),
        Status::Canceled => "payment canceled".to_owned(),
        Status::Expired => "payment expired".to_owned(),
        Status::Void => "invoice voided".to_owned(),
        Status::Uncollectible => "invoice marked uncollectible".to_owned(),
        Status::Disputed => format!("dispute of{} open", money(record.amount)),
        Status::DisputeWon => "dispute won".to_owned(),
        Status::DisputeLost => format!("dispute lost;{} withdrawn", money(record.amount)),
        Status::DisputePrevented => format!(
            "dispute prevented;{} refunded to the cardholder automatically",
            money(record.amount)
        ),
        Status::FraudWarning => "early fraud warning from the card issuer".to_owned(),
        Status::ReviewOpen => "payment placed in review".to_owned(),
        Status::ReviewClosed => "payment review closed".to_owned(),
        other => other.as_str().replace('_', " "),
    };
    let mut note = format!("Stripe {} ({}): {what}", record.event_type, record.event_id);
    let ids: Vec<&str> = [
        &record.payment_intent,
        &record.charge,
        &record.refund,
        &record.dispute,
        &record.invoice,
    ]
    .into_iter()
    .filter_map(|id| id.as_deref())
    .collect();
    if !ids.is_empty() {
        note.push_str(&format!(" [{}]", ids.join(", ")));
    }
    if let Some(reason) = &record.reason {
        note.push_str(&format!(", reason: {reason}"));
    }
    if let Some(failure) = &record.failure {
        let code = failure.code.as_deref().unwrap_or("error");
        match &failure.message {
            Some(message) => note.push_str(&format!(", {code}: {message}")),
            None => note.push_str(&format!(", {code}")),
        }
    }
    note
}

/// Why the order's payment failed, while the attempt that speaks for it
/// ([`OrderState::main_attempt`]) is `failed` and Stripe said why:
/// `Payment failed [pi_…]: card_declined (insufficient_funds): Your card has insufficient funds.`
/// (Stripe's code, the issuer's decline code when given, Stripe's message; `error` when Stripe
/// gave only a message). `None` once that attempt is retried, authorized or paid, or when a
/// newer attempt speaks for the order.
///
/// It depends on the state alone and names the failure, so the same failure always gives the
/// same text: a receiver that writes a plan only when the state changed writes it once per
/// change while the payment stays declined (a decline usually arrives as two changes,
/// `charge.failed` and `payment_intent.payment_failed`); one that skips notes the order already
/// has writes it once per failure.
pub fn failure_note(state: &OrderState) -> Option<String> {
    let attempt = state.main_attempt()?;
    let failure = attempt.failure.as_ref()?;
    let mut note = format!(
        "Payment failed [{}]: {}",
        attempt.id,
        failure.code.as_deref().unwrap_or("error")
    );
    if let Some(decline) = &failure.decline_code {
        note.push_str(&format!(" ({decline})"));
    }
    if let Some(message) = &failure.message {
        note.push_str(&format!(": {message}"));
    }
    Some(note)
}

/// The columns of a nopCommerce `Order` row the plan reads. Amounts may be JSON numbers or
/// decimal strings (PostgreSQL `numeric` arrives as text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NopOrder {
    pub id: i64,
    #[serde(deserialize_with = "decimal_text")]
    pub order_total: Decimal,
    /// The currency `order_total` is in (the store's primary currency); `None`: not checked.
    #[serde(default)]
    pub currency: Option<String>,
    /// nopCommerce's `CustomerCurrencyCode`: the currency the customer paid in, when it is not
    /// the primary one; the customer paid `order_total × currency_rate` in it.
    #[serde(default)]
    pub customer_currency_code: Option<String>,
    #[serde(default, deserialize_with = "decimal_text_opt")]
    pub currency_rate: Option<Decimal>,
    /// nopCommerce's `ShippingStatusId` (10 not required, 20 not yet shipped, 25 partially
    /// shipped, 30 shipped, 40 delivered); `None`: unknown, the order is not completed.
    #[serde(default)]
    pub shipping_status_id: Option<u8>,
    /// nopCommerce's `OrderSettings.CompleteOrderWhenDelivered` (a store setting; true on a new
    /// installation): a shipped order completes only once delivered.
    #[serde(default = "yes")]
    pub complete_order_when_delivered: bool,
    pub payment_status_id: u8,
    pub order_status_id: u8,
    #[serde(default, deserialize_with = "decimal_text")]
    pub refunded_amount: Decimal,
    #[serde(default)]
    pub paid_date_utc: Option<String>,
    #[serde(default)]
    pub authorization_transaction_id: Option<String>,
    #[serde(default)]
    pub capture_transaction_id: Option<String>,
}

fn yes() -> bool {
    true
}

fn decimal_text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let value = decimal_text(d)?;
    Ok((!value.is_zero()).then_some(value))
}

fn decimal_text<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(d)?;
    let text = match &value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Null => return Ok(Decimal::ZERO),
        _ => return Err(D::Error::custom("expected a decimal number or string")),
    };
    parse_decimal(text.trim()).map_err(D::Error::custom)
}

/// The changes to make to one order. `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NopPlan {
    pub order_id: i64,
    pub payment_status_id: Option<u8>,
    pub order_status_id: Option<u8>,
    /// ISO 8601 UTC.
    pub paid_date_utc: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub refunded_amount: Option<Decimal>,
    pub authorization_transaction_id: Option<String>,
    pub capture_transaction_id: Option<String>,
    /// `OrderNote` texts to insert, in order.
    pub notes: Vec<String>,
}

impl NopPlan {
    /// Whether the order row itself changes (notes aside).
    pub fn changes_order(&self) -> bool {
        self.payment_status_id.is_some()
            || self.order_status_id.is_some()
            || self.paid_date_utc.is_some()
            || self.refunded_amount.is_some()
            || self.authorization_transaction_id.is_some()
            || self.capture_transaction_id.is_some()
    }
}

const ORDER_STATUS_NAMES: [(u8, &str); 4] = [
    (os::PENDING, "Pending"),
    (os::PROCESSING, "Processing"),
    (os::COMPLETE, "Complete"),
    (os::CANCELLED, "Cancelled"),
];

/// What the customer was asked to pay, in the currency Stripe charged: `OrderTotal` in the
/// primary currency, or `OrderTotal × CurrencyRate` in `CustomerCurrencyCode` (rounded to the
/// currency's decimals half to even, as .NET's `Math.Round` does).
struct Charged {
    currency: Option<Currency>,
    /// The order total in `currency`.
    total: Decimal,
    /// Primary-currency units per charged unit (1 without a customer currency).
    rate: Decimal,
    text: String,
}

impl Charged {
    fn of(order: &NopOrder, state: &OrderState) -> Option<Charged> {
        let primary = order.currency.as_deref();
        let customer = order.customer_currency_code.as_deref();
        let (code, rate) = match (customer, order.currency_rate) {
            (Some(c), Some(rate)) if Some(c) != primary && !rate.is_zero() => (Some(c), rate),
            _ => (primary, Decimal::ONE),
        };
        let currency = match code {
            Some(code) => Some(Currency::new(code).ok()?),
            None => state
                .currency
                .as_deref()
                .and_then(|c| Currency::new(c).ok()),
        };
        let total = order.order_total.checked_mul(rate)?;
        let total = match &currency {
            Some(c) => total.round_dp_with_strategy(
                c.exponent(),
                rust_decimal::RoundingStrategy::MidpointNearestEven,
            ),
            None => total,
        };
        let text = match &currency {
            Some(c) => format!("{} {}", total.normalize(), c.code()),
            None => total.normalize().to_string(),
        };
        Some(Charged {
            currency,
            total,
            rate,
            text,
        })
    }

    /// The state's amounts in the charged currency (all zero when it has none there).
    fn totals(&self, state: &OrderState) -> Totals {
        let code = self.currency.as_ref().map(Currency::code);
        code.and_then(|c| state.totals.get(c))
            .cloned()
            .unwrap_or_default()
    }

    /// A currency other than the charged one in which the order took money, if any.
    fn other_paid<'s>(&self, state: &'s OrderState) -> Option<&'s str> {
        let code = self.currency.as_ref().map(Currency::code);
        state
            .totals
            .iter()
            .find(|(c, t)| Some(c.as_str()) != code && t.paid_minor > 0)
            .map(|(c, _)| c.as_str())
    }

    /// A minor amount of the state as a decimal of the charged currency.
    fn decimal(&self, minor: i64) -> Option<Decimal> {
        Some(minor_to_decimal(minor, self.currency.as_ref()?))
    }

    /// A charged amount in the primary currency (`RefundedAmount` is kept there), to 4 places.
    fn to_primary(&self, amount: Decimal) -> Decimal {
        if self.rate == Decimal::ONE {
            return amount;
        }
        let mut primary = amount
            .checked_div(self.rate)
            .unwrap_or(amount)
            .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointNearestEven);
        primary.rescale(4);
        primary
    }
}

/// The update of `order` after `record` was merged into the order's `state` (which must
/// already contain it). Call it only when the merge changed the state: a duplicate delivery
/// then never produces a second note.
///
/// Notes: the record's ([`event_note`]), then, while the order's payment is declined, why
/// ([`failure_note`], from the state alone), then what the plan changes.
pub fn plan(order: &NopOrder, state: &OrderState, record: &Record) -> NopPlan {
    let mut plan = NopPlan {
        order_id: order.id,
        notes: vec![event_note(record)],
        ..NopPlan::default()
    };
    plan.notes.extend(failure_note(state));
    let Some(charged) = Charged::of(order, state) else {
        plan.notes
            .push("The order's currency or rate is not usable: not changed".to_owned());
        return plan;
    };
    let mut payment = order.payment_status_id;
    let totals = charged.totals(state);
    if totals.paid_minor > 0 {
        payment = apply_payment(order, state, &charged, &totals, payment, &mut plan.notes);
        if matches!(payment, ps::PAID | ps::PARTIALLY_REFUNDED) {
            payment = apply_refunds(order, &charged, &totals, payment, &mut plan);
        }
    } else if let Some(other) = charged.other_paid(state) {
        plan.notes.push(format!(
            "Stripe took a payment in {other}, but the order is in {}: not marked as paid; review it",
            charged.text
        ));
    } else {
        payment = apply_authorization(order, state, &charged, payment, &mut plan.notes);
    }
    let order_status = next_order_status(order, payment, &mut plan.notes);
    if payment != order.payment_status_id {
        plan.payment_status_id = Some(payment);
    }
    if order_status != order.order_status_id {
        plan.order_status_id = Some(order_status);
    }
    set_transaction_fields(order, state, record, payment, &mut plan);
    plan
}

/// Mark paid (guarded): from Pending/Authorized, not cancelled, and only when the money taken
/// covers what the customer was asked in the charged currency.
fn apply_payment(
    order: &NopOrder,
    state: &OrderState,
    charged: &Charged,
    totals: &Totals,
    payment: u8,
    notes: &mut Vec<String>,
) -> u8 {
    let paid_minor = totals.paid_minor;
    let paid = charged.decimal(paid_minor);
    let paid_text = fmt_minor(paid_minor, charged);
    if payment == ps::VOIDED {
        notes.push(format!(
            "Payment of {paid_text} received for a voided order: not marked as paid; review it"
        ));
        return payment;
    }
    if !matches!(payment, ps::PENDING | ps::AUTHORIZED) {
        return payment;
    }
    if order.order_status_id == os::CANCELLED {
        notes.push(format!(
            "Payment of {paid_text} received for a cancelled order: not marked as paid; review it"
        ));
        return payment;
    }
    let covers = paid.is_some_and(|p| p >= charged.total);
    if !covers {
        notes.push(format!(
            "Payment of {paid_text} does not cover the order total {}: not marked as paid",
            charged.text
        ));
        return payment;
    }
    notes.push("Order has been marked as paid".to_owned());
    if state.overpaid {
        notes.push(format!(
            "Stripe took {paid_text} for this order, more than asked: it was paid more than once; refund the extra payment"
        ));
    }
    ps::PAID
}

/// Refunds from Paid/PartiallyRefunded: `RefundedAmount` (primary currency) set from the refunds
/// Stripe counts once per refund id; Refunded once they cover the total. Money taken beyond the
/// total (a second payment) is refunded first: refunding it leaves the order paid.
fn apply_refunds(
    order: &NopOrder,
    charged: &Charged,
    totals: &Totals,
    payment: u8,
    plan: &mut NopPlan,
) -> u8 {
    let refunded_minor = totals.refunded_minor;
    let (Some(refunded), Some(paid)) = (
        charged.decimal(refunded_minor),
        charged.decimal(totals.paid_minor),
    ) else {
        return payment;
    };
    let extra = paid
        .checked_sub(charged.total)
        .unwrap_or_default()
        .max(Decimal::ZERO);
    let refunded = refunded
        .checked_sub(extra)
        .unwrap_or_default()
        .max(Decimal::ZERO);
    let full = refunded >= charged.total;
    let primary = if full {
        order.order_total
    } else {
        charged.to_primary(refunded).min(order.order_total)
    };
    if primary < order.refunded_amount {
        plan.notes.push(format!(
            "Stripe now counts {} refunded, less than the order's RefundedAmount {}: a refund failed; adjust it by hand",
            fmt_minor(refunded_minor, charged),
            order.refunded_amount.normalize()
        ));
        return payment;
    }
    if primary == order.refunded_amount {
        return payment;
    }
    let Some(delta) = primary.checked_sub(order.refunded_amount) else {
        return payment;
    };
    plan.refunded_amount = Some(primary);
    plan.notes.push(format!(
        "Order has been marked as {}refunded. Amount = {}",
        if full { "" } else { "partially " },
        fmt_primary(delta, order)
    ));
    if full {
        ps::REFUNDED
    } else {
        ps::PARTIALLY_REFUNDED
    }
}

/// Without money taken: Authorized when an authorization covers the total; Voided only an
/// authorized order whose every attempt ended and none holds an authorization or money.
fn apply_authorization(
    order: &NopOrder,
    state: &OrderState,
    charged: &Charged,
    payment: u8,
    notes: &mut Vec<String>,
) -> u8 {
    let cancelled = order.order_status_id == os::CANCELLED;
    if state.status == Some(Status::Authorized) && payment == ps::PENDING && !cancelled {
        let code = charged.currency.as_ref().map(Currency::code);
        let authorized = state
            .attempts
            .iter()
            .filter(|a| a.status == Some(Status::Authorized) && a.currency.as_deref() == code)
            .filter_map(|a| a.amount_minor)
            .max()
            .unwrap_or(0);
        let covers = charged
            .decimal(authorized)
            .is_some_and(|a| a >= charged.total);
        if !covers {
            notes.push(format!(
                "Authorization of {} does not cover the order total {}: not marked as authorized",
                fmt_minor(authorized, charged),
                charged.text
            ));
            return payment;
        }
        notes.push("Order has been marked as authorized".to_owned());
        return ps::AUTHORIZED;
    }
    let ended = matches!(
        state.status,
        Some(Status::Canceled | Status::Expired | Status::Void)
    );
    if ended && payment == ps::AUTHORIZED && !state.holds_money() {
        notes.push("Order has been marked as voided".to_owned());
        return ps::VOIDED;
    }
    payment
}

/// The order status follows the payment, as nopCommerce's `CheckOrderStatus` does: Pending →
/// Processing once authorized or paid; a paid order that needs no shipping, or is delivered (or
/// shipped, when the store does not wait for delivery), → Complete. Cancelled and Complete
/// orders keep theirs.
fn next_order_status(order: &NopOrder, payment: u8, notes: &mut Vec<String>) -> u8 {
    use shipping_status as ss;
    let current = order.order_status_id;
    if matches!(current, os::CANCELLED | os::COMPLETE) {
        return current;
    }
    let shipped = match order.shipping_status_id {
        Some(ss::NOT_REQUIRED | ss::DELIVERED) => true,
        Some(ss::SHIPPED) => !order.complete_order_when_delivered,
        _ => false,
    };
    let reached = matches!(
        payment,
        ps::AUTHORIZED | ps::PAID | ps::PARTIALLY_REFUNDED | ps::REFUNDED
    );
    let next = if payment == ps::PAID && shipped {
        os::COMPLETE
    } else if current == os::PENDING && reached && payment != order.payment_status_id {
        os::PROCESSING
    } else {
        current
    };
    if next != current {
        let name = ORDER_STATUS_NAMES
            .iter()
            .find(|(id, _)| *id == next)
            .map_or("Processing", |(_, n)| *n);
        notes.push(format!("Order status has been changed to {name}"));
    }
    next
}

/// Once the money is taken: PaidDateUtc and the transaction ids come from the merged state (the
/// earliest paid event, the charge that took the money), corrected when a later-known event
/// refines them, so the row ends the same whatever the delivery order.
fn set_transaction_fields(
    order: &NopOrder,
    state: &OrderState,
    record: &Record,
    payment: u8,
    plan: &mut NopPlan,
) {
    let set_if_changed = |current: &Option<String>, wanted: Option<&str>| match wanted {
        Some(w) if current.as_deref() != Some(w) => Some(w.to_owned()),
        _ => None,
    };
    if matches!(payment, ps::PAID | ps::PARTIALLY_REFUNDED | ps::REFUNDED) {
        let paid_at = state
            .paid_at
            .or(state.last_event_at)
            .unwrap_or(record.created);
        let current = order
            .paid_date_utc
            .as_deref()
            .and_then(crate::event::parse_rfc3339);
        if current != Some(paid_at) {
            plan.paid_date_utc = Some(iso8601(paid_at));
        }
        let capture = state.charge().or(state.payment_intent());
        plan.capture_transaction_id = set_if_changed(&order.capture_transaction_id, capture);
    }
    if payment != ps::PENDING {
        plan.authorization_transaction_id =
            set_if_changed(&order.authorization_transaction_id, state.payment_intent());
    }
}

fn fmt_minor(minor: i64, charged: &Charged) -> String {
    match &charged.currency {
        Some(c) => format!("{} {}", minor_to_decimal(minor, c), c.code()),
        None => minor.to_string(),
    }
}

fn fmt_primary(amount: Decimal, order: &NopOrder) -> String {
    let currency = order
        .currency
        .as_deref()
        .and_then(|c| Currency::new(c).ok());
    fmt_decimal(amount, currency.as_ref())
}

fn fmt_decimal(amount: Decimal, currency: Option<&Currency>) -> String {
    match currency {
        Some(c) => format!("{} {}", amount.round_dp(c.exponent()), c.code()),
        None => amount.normalize().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    fn rec(event_type: &str, created: i64, object: &str) -> Record {
        let json = format!(
            r#"{{"id":"evt_{created}","type":"{event_type}","created":{created},"data":{{"object":{object}}}}}"#
        );
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    fn paid(amount: i64, currency: &str) -> Record {
        rec(
            "payment_intent.succeeded",
            100,
            &format!(
                r#"{{"id":"pi_1","object":"payment_intent","amount":{amount},"amount_received":{amount},"currency":"{currency}","status":"succeeded","latest_charge":"ch_1","metadata":{{"order_id":"7"}}}}"#
            ),
        )
    }

    fn refund(id: &str, amount: i64, at: i64, status: &str) -> Record {
        rec(
            if status == "failed" {
                "refund.failed"
            } else {
                "refund.created"
            },
            at,
            &format!(
                r#"{{"id":"{id}","object":"refund","amount":{amount},"currency":"usd","status":"{status}","charge":"ch_1","payment_intent":"pi_1"}}"#
            ),
        )
    }

    fn order(total: &str, payment: u8, order_status: u8, refunded: &str) -> NopOrder {
        // Rows past Pending already carry the ids a first payment event recorded.
        let ids = payment != ps::PENDING;
        let taken = matches!(payment, ps::PAID | ps::PARTIALLY_REFUNDED | ps::REFUNDED);
        serde_json::from_value(serde_json::json!({
            "id": 7, "order_total": total, "currency": "USD", "payment_status_id": payment,
            "order_status_id": order_status, "refunded_amount": refunded,
            "authorization_transaction_id": ids.then_some("pi_1"),
            "capture_transaction_id": ids.then_some("ch_1"),
            "paid_date_utc": taken.then_some("1970-01-01T00:01:40Z"),
        }))
        .unwrap()
    }

    fn state(records: &[Record]) -> OrderState {
        OrderState::from_records(records).unwrap()
    }

    #[test]
    fn profile_output() {
        let u = update_for(&View::new(&paid(2198, "usd"), None)).unwrap();
        assert_eq!(u.payment_status_id, Some(ps::PAID));
        assert_eq!(u.order_status_id, Some(os::PROCESSING));
        assert_eq!(u.paid_amount.unwrap().to_string(), "21.98");
        assert_eq!(u.capture_transaction_id.as_deref(), Some("ch_1"));
        assert_eq!(u.order_id.as_deref(), Some("7"));
        assert!(
            u.order_note.contains("payment of 21.98 USD received"),
            "{}",
            u.order_note
        );
        let re = refund("re_1", 500, 200, "succeeded");
        let r = update_for(&View::new(&re, None)).unwrap();
        assert_eq!(
            r.payment_status_id, None,
            "partial or full is decided against the order total"
        );
        assert_eq!(r.refunded_amount.unwrap().to_string(), "5.00");
        assert_eq!(r.refund_ids, vec!["re_1".to_owned()]);
        // With the order's merged state, the update speaks for the whole payment.
        let s = state(&[paid(2198, "usd"), re.clone()]);
        let c = update_for(&View::new(&re, Some(&s))).unwrap();
        assert_eq!(c.payment_status_id, Some(ps::PARTIALLY_REFUNDED));
        assert_eq!(c.paid_amount.unwrap().to_string(), "21.98");
        assert_eq!(c.order_id.as_deref(), Some("7"));
        assert!(
            r.order_note.contains("refund of 5.00 USD succeeded"),
            "{}",
            r.order_note
        );
    }

    #[test]
    fn paid_order_moves_to_paid_and_processing() {
        let p = paid(2198, "usd");
        let done = plan(
            &order("21.9800", ps::PENDING, os::PENDING, "0"),
            &state(std::slice::from_ref(&p)),
            &p,
        );
        assert_eq!(done.payment_status_id, Some(ps::PAID));
        assert_eq!(done.order_status_id, Some(os::PROCESSING));
        assert_eq!(done.paid_date_utc.as_deref(), Some("1970-01-01T00:01:40Z"));
        assert_eq!(done.capture_transaction_id.as_deref(), Some("ch_1"));
        assert_eq!(done.authorization_transaction_id.as_deref(), Some("pi_1"));
        assert_eq!(done.notes[1], "Order has been marked as paid");
        assert_eq!(done.notes[2], "Order status has been changed to Processing");
    }

    #[test]
    fn not_paid_when_the_amount_or_currency_does_not_cover_the_total() {
        let p = paid(2000, "usd");
        let short = plan(
            &order("21.98", ps::PENDING, os::PENDING, "0"),
            &state(std::slice::from_ref(&p)),
            &p,
        );
        assert_eq!(short.payment_status_id, None);
        assert!(
            short.notes[1].contains("does not cover the order total 21.98 USD"),
            "{:?}",
            short.notes
        );
        let e = paid(2198, "eur");
        let other = plan(
            &order("21.98", ps::PENDING, os::PENDING, "0"),
            &state(std::slice::from_ref(&e)),
            &e,
        );
        assert_eq!(other.payment_status_id, None);
    }

    #[test]
    fn refunds_set_the_refunded_amount_once() {
        let p = paid(2198, "usd");
        let r1 = refund("re_1", 500, 200, "succeeded");
        let s = state(&[p.clone(), r1.clone()]);
        let plan1 = plan(&order("21.98", ps::PAID, os::PROCESSING, "0"), &s, &r1);
        assert_eq!(plan1.payment_status_id, Some(ps::PARTIALLY_REFUNDED));
        assert_eq!(plan1.refunded_amount.unwrap().to_string(), "5.00");
        assert!(plan1.notes.contains(
            &"Order has been marked as partially refunded. Amount = 5.00 USD".to_owned()
        ));
        // Applied already: the same state gives no change.
        let again = plan(
            &order("21.98", ps::PARTIALLY_REFUNDED, os::PROCESSING, "5.0000"),
            &s,
            &r1,
        );
        assert!(!again.changes_order(), "{again:?}");
        let r2 = refund("re_2", 1698, 300, "succeeded");
        let s = state(&[p, r1, r2.clone()]);
        let full = plan(
            &order("21.98", ps::PARTIALLY_REFUNDED, os::PROCESSING, "5.00"),
            &s,
            &r2,
        );
        assert_eq!(full.payment_status_id, Some(ps::REFUNDED));
        assert_eq!(full.refunded_amount.unwrap().to_string(), "21.98");
        assert!(full
            .notes
            .contains(&"Order has been marked as refunded. Amount = 16.98 USD".to_owned()));
    }

    #[test]
    fn a_refund_before_its_payment_waits_for_it() {
        let r1 = refund("re_1", 500, 200, "succeeded");
        let early = plan(
            &order("21.98", ps::PENDING, os::PENDING, "0"),
            &state(std::slice::from_ref(&r1)),
            &r1,
        );
        assert!(!early.changes_order());
        let p = paid(2198, "usd");
        let both = plan(
            &order("21.98", ps::PENDING, os::PENDING, "0"),
            &state(&[r1, p.clone()]),
            &p,
        );
        assert_eq!(both.payment_status_id, Some(ps::PARTIALLY_REFUNDED));
        assert_eq!(both.order_status_id, Some(os::PROCESSING));
        assert_eq!(both.refunded_amount.unwrap().to_string(), "5.00");
    }

    #[test]
    fn never_moves_a_paid_order_back_and_voids_only_authorizations() {
        let pending = rec(
            "payment_intent.processing",
            50,
            r#"{"id":"pi_1","object":"payment_intent","amount":2198,"currency":"usd","status":"processing","metadata":{"order_id":"7"}}"#,
        );
        let s = state(std::slice::from_ref(&pending));
        let p = plan(&order("21.98", ps::PAID, os::PROCESSING, "0"), &s, &pending);
        assert_eq!(p.payment_status_id, None);
        let auth = rec(
            "payment_intent.amount_capturable_updated",
            60,
            r#"{"id":"pi_1","object":"payment_intent","amount":2198,"currency":"usd","status":"requires_capture","metadata":{"order_id":"7"}}"#,
        );
        let a = plan(
            &order("21.98", ps::PENDING, os::PENDING, "0"),
            &state(std::slice::from_ref(&auth)),
            &auth,
        );
        assert_eq!(a.payment_status_id, Some(ps::AUTHORIZED));
        assert_eq!(a.order_status_id, Some(os::PROCESSING));
        let cancel = rec(
            "payment_intent.canceled",
            70,
            r#"{"id":"pi_1","object":"payment_intent","amount":2198,"currency":"usd","status":"canceled","metadata":{"order_id":"7"}}"#,
        );
        let s = state(&[auth, cancel.clone()]);
        let v = plan(
            &order("21.98", ps::AUTHORIZED, os::PROCESSING, "0"),
            &s,
            &cancel,
        );
        assert_eq!(v.payment_status_id, Some(ps::VOIDED));
        let not_void = plan(&order("21.98", ps::PAID, os::PROCESSING, "0"), &s, &cancel);
        assert_eq!(not_void.payment_status_id, None);
    }

    #[test]
    fn cancelled_orders_are_not_marked_paid_and_disputes_are_notes() {
        let p = paid(2198, "usd");
        let c = plan(
            &order("21.98", ps::PENDING, os::CANCELLED, "0"),
            &state(std::slice::from_ref(&p)),
            &p,
        );
        assert_eq!(c.payment_status_id, None);
        assert!(c.notes[1].contains("cancelled order"));
        let d = rec(
            "charge.dispute.created",
            300,
            r#"{"id":"dp_1","object":"dispute","amount":2198,"currency":"usd","status":"needs_response","charge":"ch_1","reason":"fraudulent"}"#,
        );
        let s = state(&[p, d.clone()]);
        let disputed = plan(&order("21.98", ps::PAID, os::PROCESSING, "0"), &s, &d);
        assert!(!disputed.changes_order());
        assert_eq!(disputed.notes.len(), 1);
        assert!(
            disputed.notes[0].contains("dispute of 21.98 USD open"),
            "{:?}",
            disputed.notes
        );
        assert!(disputed.notes[0].contains("reason: fraudulent"));
    }

    fn nop(fields: serde_json::Value) -> NopOrder {
        let mut base = serde_json::json!({
            "id": 7, "order_total": "20.0000", "currency": "USD", "payment_status_id": ps::PENDING,
            "order_status_id": os::PENDING, "refunded_amount": "0",
        });
        if let (Some(b), Some(f)) = (base.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, failure_persistence: None, ..Default::default() })]
        /// Any order row (totals and rates at the limits of a decimal, any currency code) and
        /// any amounts Stripe reports: a plan, never a panic.
        #[test]
        fn extreme_orders_and_amounts_never_panic(
            total in proptest::sample::select(vec!["0", "0.0001", "20.0000", "79228162514264337593543950335", "-1", "7922816251426433759354395033.5"]),
            rate in proptest::sample::select(vec![None, Some("0.0000000000000000000000000001"), Some("1"), Some("79228162514264337593543950335"), Some("0"), Some("-3")]),
            refunded in proptest::sample::select(vec!["0", "79228162514264337593543950335", "-5", "0.00001"]),
            customer in proptest::sample::select(vec![None, Some("EUR"), Some("JPY"), Some("KWD"), Some("XXX")]),
            amount in proptest::prop_oneof![proptest::prelude::Just(i64::MAX), proptest::prelude::Just(1i64), 0i64..100_000_000],
            currency in proptest::sample::select(vec!["usd", "jpy", "kwd", "eur"]),
        ) {
            let row = nop(serde_json::json!({"order_total": total, "currency_rate": rate,
                "refunded_amount": refunded, "customer_currency_code": customer}));
            let r = paid(amount, currency);
            let s = state(std::slice::from_ref(&r));
            let p = plan(&row, &s, &r);
            proptest::prop_assert!(!p.notes.is_empty());
        }
    }

    #[test]
    fn customer_currency_is_compared_in_the_currency_stripe_charged() {
        let eur = paid(1800, "eur");
        let s = state(std::slice::from_ref(&eur));
        let row =
            nop(serde_json::json!({"customer_currency_code": "EUR", "currency_rate": "0.9000"}));
        let p = plan(&row, &s, &eur);
        assert_eq!(p.payment_status_id, Some(ps::PAID), "{:?}", p.notes);
        let short = paid(1799, "eur");
        let p = plan(&row, &state(std::slice::from_ref(&short)), &short);
        assert_eq!(p.payment_status_id, None);
        assert!(
            p.notes[1].contains("does not cover the order total 18 EUR"),
            "{:?}",
            p.notes
        );
        // A refund of half is kept in the primary currency: 9.00 EUR / 0.9 = 10.0000 USD.
        let r = rec(
            "refund.created",
            200,
            r#"{"id":"re_1","object":"refund","amount":900,"currency":"eur","status":"succeeded","charge":"ch_1","payment_intent":"pi_1"}"#,
        );
        let s = state(&[eur, r.clone()]);
        let paid_row = nop(
            serde_json::json!({"customer_currency_code": "EUR", "currency_rate": 0.9,
            "payment_status_id": ps::PAID, "order_status_id": os::PROCESSING}),
        );
        let p = plan(&paid_row, &s, &r);
        assert_eq!(p.refunded_amount.unwrap().to_string(), "10.0000");
        assert_eq!(p.payment_status_id, Some(ps::PARTIALLY_REFUNDED));
    }

    #[test]
    fn paid_orders_without_shipping_complete() {
        let p = paid(2000, "usd");
        let s = state(std::slice::from_ref(&p));
        for (shipping, expected) in [
            (10, os::COMPLETE),
            (30, os::PROCESSING),
            (40, os::COMPLETE),
            (20, os::PROCESSING),
            (25, os::PROCESSING),
        ] {
            let row = nop(serde_json::json!({"shipping_status_id": shipping}));
            let plan = plan(&row, &s, &p);
            assert_eq!(plan.order_status_id, Some(expected), "shipping {shipping}");
        }
        // A store that completes shipped orders without waiting for delivery.
        let row = nop(
            serde_json::json!({"shipping_status_id": 30, "complete_order_when_delivered": false}),
        );
        assert_eq!(plan(&row, &s, &p).order_status_id, Some(os::COMPLETE));
        // Unknown shipping status: Processing, as before.
        assert_eq!(
            plan(&nop(serde_json::json!({})), &s, &p).order_status_id,
            Some(os::PROCESSING)
        );
    }

    #[test]
    fn authorized_only_when_it_covers_the_total() {
        let auth = |amount: i64| {
            rec(
                "payment_intent.amount_capturable_updated",
                60,
                &format!(
                    r#"{{"id":"pi_1","object":"payment_intent","amount":{amount},"currency":"usd","status":"requires_capture","metadata":{{"order_id":"7"}}}}"#
                ),
            )
        };
        let low = auth(1500);
        let p = plan(
            &nop(serde_json::json!({})),
            &state(std::slice::from_ref(&low)),
            &low,
        );
        assert_eq!(p.payment_status_id, None);
        assert!(p.notes[1].contains("does not cover"), "{:?}", p.notes);
        let full = auth(2000);
        let p = plan(
            &nop(serde_json::json!({})),
            &state(std::slice::from_ref(&full)),
            &full,
        );
        assert_eq!(p.payment_status_id, Some(ps::AUTHORIZED));
    }

    #[test]
    fn an_abandoned_attempt_never_voids_an_order_holding_money() {
        let session = |id: &str, pi: &str, at: i64, event: &str, status: &str, pay: &str| {
            rec(
                event,
                at,
                &format!(
                    r#"{{"id":"{id}","object":"checkout.session","status":"{status}","payment_status":"{pay}","amount_total":2000,"currency":"usd","payment_intent":{pi},"client_reference_id":"7"}}"#
                ),
            )
        };
        let b_auth = rec(
            "payment_intent.amount_capturable_updated",
            50,
            r#"{"id":"pi_B","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_capture","metadata":{"order_id":"7"}}"#,
        );
        let a_expired = session(
            "cs_A",
            "null",
            90,
            "checkout.session.expired",
            "expired",
            "unpaid",
        );
        let s = state(&[b_auth, a_expired.clone()]);
        assert_eq!(s.status, Some(Status::Authorized));
        let row = nop(
            serde_json::json!({"payment_status_id": ps::AUTHORIZED, "order_status_id": os::PROCESSING}),
        );
        let p = plan(&row, &s, &a_expired);
        assert_eq!(p.payment_status_id, None, "{:?}", p.notes);
        // Paid with session B, A expires afterwards: stays paid.
        let b_paid = session(
            "cs_B",
            r#""pi_B""#,
            60,
            "checkout.session.completed",
            "complete",
            "paid",
        );
        let s = state(&[b_paid, a_expired.clone()]);
        assert_eq!(s.status, Some(Status::Paid));
        let row = nop(
            serde_json::json!({"payment_status_id": ps::PAID, "order_status_id": os::PROCESSING,
            "authorization_transaction_id": "pi_B", "capture_transaction_id": "pi_B", "paid_date_utc": "1970-01-01T00:01:00Z"}),
        );
        assert!(!plan(&row, &s, &a_expired).changes_order());
    }

    #[test]
    fn refunding_a_second_payment_leaves_the_order_paid() {
        let pi = |id: &str, ch: &str, at: i64| {
            rec(
                "payment_intent.succeeded",
                at,
                &format!(
                    r#"{{"id":"{id}","object":"payment_intent","amount":2000,"amount_received":2000,"currency":"usd","status":"succeeded","latest_charge":"{ch}","metadata":{{"order_id":"7"}}}}"#
                ),
            )
        };
        let re = |id: &str, ch: &str, pi: &str, amount: i64, at: i64| {
            rec(
                "refund.created",
                at,
                &format!(
                    r#"{{"id":"{id}","object":"refund","amount":{amount},"currency":"usd","status":"succeeded","charge":"{ch}","payment_intent":"{pi}"}}"#
                ),
            )
        };
        let (a, b) = (pi("pi_A", "ch_A", 10), pi("pi_B", "ch_B", 20));
        let extra = re("re_1", "ch_B", "pi_B", 2000, 30);
        let s = state(&[a.clone(), b.clone(), extra.clone()]);
        assert_eq!(s.status, Some(Status::PartiallyRefunded));
        let row = nop(
            serde_json::json!({"payment_status_id": ps::PAID, "order_status_id": os::PROCESSING}),
        );
        let p = plan(&row, &s, &extra);
        assert_eq!(p.payment_status_id, None, "{:?}", p.notes);
        assert_eq!(p.refunded_amount, None);
        // Then half of the remaining payment: partially refunded by 10.00.
        let half = re("re_2", "ch_A", "pi_A", 1000, 40);
        let s = state(&[a, b, extra, half.clone()]);
        let p = plan(&row, &s, &half);
        assert_eq!(p.payment_status_id, Some(ps::PARTIALLY_REFUNDED));
        assert_eq!(p.refunded_amount.unwrap().to_string(), "10.00");
        // The transaction ids name one attempt.
        assert_eq!(s.payment_intent(), Some("pi_A"));
        assert_eq!(s.charge(), Some("ch_A"));
    }

    #[test]
    fn a_payment_in_another_currency_or_for_a_voided_order_is_a_note() {
        let eur = paid(2000, "eur");
        let s = state(std::slice::from_ref(&eur));
        let p = plan(&nop(serde_json::json!({})), &s, &eur);
        assert_eq!(p.payment_status_id, None);
        assert!(p.notes[1].contains("payment in EUR"), "{:?}", p.notes);
        let usd = paid(2000, "usd");
        let s = state(std::slice::from_ref(&usd));
        let voided = nop(serde_json::json!({"payment_status_id": ps::VOIDED}));
        let p = plan(&voided, &s, &usd);
        assert_eq!(p.payment_status_id, None);
        assert!(p.notes[1].contains("voided order"), "{:?}", p.notes);
        // Absurd row amounts never panic.
        let weird = nop(
            serde_json::json!({"payment_status_id": ps::PAID, "refunded_amount": "-79228162514264337593543950335"}),
        );
        let r = refund("re_1", 500, 200, "succeeded");
        let _ = plan(&weird, &state(&[usd, r.clone()]), &r);
    }

    fn declined(at: i64, charge: &str, decline: &str, message: &str) -> Record {
        rec(
            "payment_intent.payment_failed",
            at,
            &format!(
                r#"{{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_payment_method","latest_charge":"{charge}",
                  "last_payment_error":{{"code":"card_declined","decline_code":"{decline}","message":"{message}","type":"card_error",
                  "payment_method":{{"id":"pm_1","type":"card","card":{{"last4":"4242"}}}}}},"metadata":{{"order_id":"7"}}}}"#
            ),
        )
    }

    fn charge_failed(at: i64, id: &str, message: &str) -> Record {
        rec(
            "charge.failed",
            at,
            &format!(
                r#"{{"id":"{id}","object":"charge","amount":2000,"currency":"usd","status":"failed","captured":false,"payment_intent":"pi_1",
                  "failure_code":"card_declined","failure_message":"{message}","metadata":{{"order_id":"7"}}}}"#
            ),
        )
    }

    /// The record a receiver of state forwards makes up for the first note (the nopCommerce
    /// proxy's `stateNoteRecord`): the state's status, no failure.
    fn state_record(state: &OrderState) -> Record {
        let mut r = paid(2000, "usd");
        r.event_type = "order.state".to_owned();
        r.event_id = state.last_event_id.clone().unwrap_or_default();
        r.status = state.status.unwrap_or(Status::Pending);
        (r.amount, r.amount_minor, r.failure) = (None, None, None);
        r
    }

    const INSUFFICIENT: &str =
        "Payment failed [pi_1]: card_declined (insufficient_funds): Your card has insufficient funds.";

    #[test]
    fn a_declined_payment_gets_a_note_saying_why_from_the_state() {
        let records = [
            rec(
                "payment_intent.created",
                10,
                r#"{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_payment_method","metadata":{"order_id":"7"}}"#,
            ),
            charge_failed(20, "ch_1", "Your card has insufficient funds."),
            declined(
                20,
                "ch_1",
                "insufficient_funds",
                "Your card has insufficient funds.",
            ),
        ];
        let row = nop(serde_json::json!({}));
        let s = state(&records);
        assert_eq!(s.status, Some(Status::Failed));
        let p = plan(&row, &s, &state_record(&s));
        assert_eq!(p.notes[1], INSUFFICIENT, "{:?}", p.notes);
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        assert!(!p.changes_order(), "the order stays Pending: {p:?}");
        assert!(!p
            .notes
            .iter()
            .any(|n| n.contains("4242") || n.contains("pm_1")));
        // The same state gives the same notes, whatever order the events came in.
        for order in [[2, 1, 0], [1, 2, 0], [0, 2, 1]] {
            let s2 = state(&order.map(|i| records[i].clone()));
            assert_eq!(s2, s);
            assert_eq!(plan(&row, &s2, &state_record(&s2)), p);
        }
        // From an event too (records forwarded one by one): after the event's own note.
        let by_event = plan(&row, &s, &records[2]);
        assert!(by_event.notes[0].contains("payment_intent.payment_failed"));
        assert_eq!(by_event.notes[1], INSUFFICIENT);
        // Only the charge's report so far: its code and message.
        let only_charge = state(&records[..2]);
        assert_eq!(
            failure_note(&only_charge).as_deref(),
            Some("Payment failed [pi_1]: card_declined: Your card has insufficient funds.")
        );
        // A second decline: the note names it.
        let again = declined(30, "ch_2", "expired_card", "Your card has expired.");
        let s3 = state(&[records[2].clone(), again]);
        assert_eq!(
            failure_note(&s3).as_deref(),
            Some("Payment failed [pi_1]: card_declined (expired_card): Your card has expired.")
        );
    }

    #[test]
    fn no_failure_note_once_the_payment_is_retried_or_paid() {
        let decline = declined(
            20,
            "ch_1",
            "insufficient_funds",
            "Your card has insufficient funds.",
        );
        let retry = rec(
            "payment_intent.requires_action",
            30,
            r#"{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd","status":"requires_action","metadata":{"order_id":"7"}}"#,
        );
        let s = state(&[decline.clone(), retry]);
        assert_eq!(failure_note(&s), None);
        let ok = paid(2000, "usd");
        let s = state(&[ok.clone(), decline.clone()]);
        let p = plan(&nop(serde_json::json!({})), &s, &state_record(&s));
        assert_eq!(p.payment_status_id, Some(ps::PAID));
        assert!(
            !p.notes.iter().any(|n| n.starts_with("Payment failed")),
            "{:?}",
            p.notes
        );
        // A newer attempt speaks for the order: the old decline is not repeated.
        let other = rec(
            "checkout.session.completed",
            40,
            r#"{"id":"cs_2","object":"checkout.session","status":"complete","payment_status":"unpaid","amount_total":2000,"currency":"usd","client_reference_id":"7"}"#,
        );
        let s = state(&[decline.clone(), other]);
        assert_eq!(s.main_attempt().map(|a| a.id.as_str()), Some("cs_2"));
        assert_eq!(failure_note(&s), None);
        // Stripe said only why in words: the code reads `error`.
        let mut words = decline;
        words.failure = Some(crate::normalize::Failure {
            code: None,
            message: Some("Declined.".to_owned()),
            decline_code: None,
        });
        assert_eq!(
            failure_note(&state(&[words])).as_deref(),
            Some("Payment failed [pi_1]: error: Declined.")
        );
    }

    #[test]
    fn order_rows_accept_numbers_or_text() {
        let o: NopOrder = serde_json::from_str(
            r#"{"id":1,"order_total":21.98,"payment_status_id":10,"order_status_id":10,"refunded_amount":null}"#,
        )
        .unwrap();
        assert_eq!(o.order_total.to_string(), "21.98");
        assert_eq!(o.refunded_amount, Decimal::ZERO);
        assert!(serde_json::from_str::<NopOrder>(
            r#"{"id":1,"order_total":"x","payment_status_id":10,"order_status_id":10}"#
        )
        .is_err());
    }
}
