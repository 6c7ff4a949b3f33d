//! Refunds of an order's payments (`POST /v1/refunds`), checked against the order's state.
//!
//! What one payment can still give back is its captured amount, less what was refunded
//! (refunds pending or succeeded, or the charge's own cumulative figure less the refunds that
//! failed since, whichever is more — or what a prevented dispute returned, if more), less what
//! open and lost disputes hold. The order's state can be behind Stripe (a refund made in the
//! Dashboard whose event has not arrived yet): Stripe's own check still applies when the
//! request is sent; these checks refuse what the state already shows to be wrong.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    attempt_of, check_currency, check_optional, check_order_id, check_same_order, currency,
    positive_amount, stripe_id,
};
use crate::money::{format_minor, Currency};
use crate::normalize::Status;
use crate::payment_request::{
    checked_metadata, hashed_key, Form, RequestError, StripeRequest, METADATA_MAX_VALUE_LEN,
};
use crate::state::{Attempt, OrderState};

/// Stripe's refund reasons (`reason` of `POST /v1/refunds`).
pub const REFUND_REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

/// Metadata keys stripe-bridge sets on a refund (the input's own metadata may not use them).
const RESERVED: &[&str] = &["order_id", "return_id", "credit_note_id"];

impl RefundInput {
    /// The same request again (a retry after a lost answer) has the same fingerprint: the
    /// Worker answers it with what Stripe did the first time, before checking the order's
    /// state (which by then counts the refund already made).
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        crate::payment_request::hashed_key("refund-request", &[&text])
    }
}

/// A refund the shop asks for (JSON field names are the public contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// The shop's order id (`metadata[order_id]`).
    pub order_id: String,
    /// The payment to refund: a PaymentIntent (`pi_…`) or a charge (`ch_…`, `py_…`) of the
    /// order. `None`: the order's payments, largest remaining first (one request per payment).
    #[serde(default)]
    pub payment: Option<String>,
    /// Decimal string in major units. `None`: all that remains refundable.
    #[serde(default)]
    pub amount: Option<String>,
    /// The currency of the payment (any case).
    pub currency: String,
    /// One of [`REFUND_REASONS`].
    #[serde(default)]
    pub reason: Option<String>,
    /// The shop's return request id (`metadata[return_id]`; part of the idempotency key).
    #[serde(default)]
    pub return_id: Option<String>,
    /// The shop's credit note id (`metadata[credit_note_id]`; part of the idempotency key).
    #[serde(default)]
    pub credit_note_id: Option<String>,
    /// More metadata for the refund.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Money of one payment, in minor units.
#[derive(Debug, Clone, Copy, Default)]
struct Money {
    captured: i64,
    /// Refunded, or returned by a prevented dispute.
    returned: i64,
    /// Held by open or lost disputes.
    disputed: i64,
}

/// What one payment, or several together, can give back, in minor units.
#[derive(Debug, Clone, Copy, Default)]
struct Refundable {
    captured: i64,
    returned: i64,
    disputed: i64,
    /// What can still be refunded.
    remaining: i64,
    /// What could be refunded were there no disputes.
    undisputed: i64,
}

impl Refundable {
    fn of(m: Money) -> Refundable {
        // A negative refunded or disputed figure (a signed event can carry any integer) never
        // makes more refundable than was captured (found by the `payment` fuzz target).
        let (returned, disputed) = (m.returned.max(0), m.disputed.max(0));
        let undisputed = m.captured.saturating_sub(returned).max(0);
        Refundable {
            captured: m.captured,
            returned,
            disputed,
            remaining: undisputed.saturating_sub(disputed).max(0),
            undisputed,
        }
    }

    /// Several payments: each one's figures summed (never one's excess against another).
    fn plus(self, other: Refundable) -> Refundable {
        Refundable {
            captured: self.captured.saturating_add(other.captured),
            returned: self.returned.saturating_add(other.returned),
            disputed: self.disputed.saturating_add(other.disputed),
            remaining: self.remaining.saturating_add(other.remaining),
            undisputed: self.undisputed.saturating_add(other.undisputed),
        }
    }
}

/// One payment of the order that took money, and how a refund names it.
struct Payment<'a> {
    attempt: &'a Attempt,
    /// `payment_intent` or `charge`, and the id sent; `None` when the attempt has neither.
    target: Option<(&'static str, String)>,
    money: Refundable,
}

/// Builds the refunds for `input` (one request per payment), checked against `state` (the
/// order's state, schema version 2). The input is checked on its own first (order id,
/// currency, reason, ids, metadata, amount), then against the state: the order, the payment
/// (`unknown_payment`, `not_captured`), its currency (`currency_mismatch`) and what remains
/// refundable (`amount_too_large`, `charge_disputed`).
pub fn refunds(
    input: &RefundInput,
    state: &OrderState,
) -> Result<Vec<StripeRequest>, RequestError> {
    check_input(input)?;
    let currency = currency(&input.currency)?;
    let metadata = metadata(input)?;
    let amount = input
        .amount
        .as_deref()
        .map(|a| positive_amount(a, &currency))
        .transpose()?;
    check_same_order(state, &input.order_id)?;
    let parts = match &input.payment {
        Some(id) => vec![one_payment(state, id, amount, &currency)?],
        None => split(state, amount, &currency)?,
    };
    let requests = parts
        .iter()
        .filter_map(|(payment, amount)| {
            let target = payment.target.as_ref()?;
            Some(request(
                input,
                &currency,
                &metadata,
                payment.attempt,
                target,
                *amount,
            ))
        })
        .collect();
    Ok(requests)
}

/// The input's own fields, before the state is read.
fn check_input(input: &RefundInput) -> Result<(), RequestError> {
    check_order_id(&input.order_id)?;
    if let Some(id) = &input.payment {
        stripe_id("payment", id, &["pi_", "ch_", "py_"])?;
    }
    if let Some(reason) = &input.reason {
        if !REFUND_REASONS.contains(&reason.as_str()) {
            return Err(RequestError::new(
                "reason",
                "invalid_reason",
                format!("must be one of {}", REFUND_REASONS.join(", ")),
            ));
        }
    }
    check_optional(
        "return_id",
        input.return_id.as_ref(),
        METADATA_MAX_VALUE_LEN,
    )?;
    check_optional(
        "credit_note_id",
        input.credit_note_id.as_ref(),
        METADATA_MAX_VALUE_LEN,
    )
}

/// `order_id`, `return_id`, `credit_note_id`, then the input's metadata.
fn metadata(input: &RefundInput) -> Result<Vec<(String, String)>, RequestError> {
    let mut ours = vec![("order_id".to_owned(), input.order_id.clone())];
    if let Some(id) = &input.return_id {
        ours.push(("return_id".to_owned(), id.clone()));
    }
    if let Some(id) = &input.credit_note_id {
        ours.push(("credit_note_id".to_owned(), id.clone()));
    }
    checked_metadata(ours, &input.metadata, RESERVED)
}

/// The refund of the payment the input names.
fn one_payment<'a>(
    state: &'a OrderState,
    id: &str,
    amount: Option<i64>,
    currency: &Currency,
) -> Result<(Payment<'a>, i64), RequestError> {
    let attempt = attempt_of(state, "payment", id)?;
    if attempt.amount_captured_minor <= 0 {
        return Err(not_captured(
            "the payment took no money (an authorization is canceled, not refunded)",
        ));
    }
    check_currency(attempt, currency)?;
    let param = if id.starts_with("pi_") {
        "payment_intent"
    } else {
        "charge"
    };
    let payment = Payment {
        target: Some((param, id.to_owned())),
        ..payment_of(state, attempt)
    };
    let amount = checked_amount(amount, payment.money, currency)?;
    Ok((payment, amount))
}

/// The refunds of the order's payments in `currency`, largest remaining first.
fn split<'a>(
    state: &'a OrderState,
    amount: Option<i64>,
    currency: &Currency,
) -> Result<Vec<(Payment<'a>, i64)>, RequestError> {
    let captured = || {
        state
            .attempts
            .iter()
            .filter(|a| a.amount_captured_minor > 0)
    };
    if captured().next().is_none() {
        return Err(not_captured("no payment of the order took money"));
    }
    let same_currency = |a: &&Attempt| {
        a.currency
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(currency.code()))
    };
    let mut payments: Vec<Payment<'a>> = captured()
        .filter(same_currency)
        .map(|a| payment_of(state, a))
        .filter(|p| p.target.is_some())
        .collect();
    if payments.is_empty() {
        return Err(RequestError::new(
            "currency",
            "currency_mismatch",
            format!("no payment of the order in {} took money", currency.code()),
        ));
    }
    payments.sort_by(|a, b| {
        let key = |p: &Payment<'_>| (std::cmp::Reverse(p.money.remaining), p.attempt.id.clone());
        key(a).cmp(&key(b))
    });
    let total = payments
        .iter()
        .fold(Refundable::default(), |sum, p| sum.plus(p.money));
    let mut left = checked_amount(amount, total, currency)?;
    let mut parts = Vec::new();
    for payment in payments {
        let take = left.min(payment.money.remaining);
        if take > 0 {
            left = left.saturating_sub(take);
            parts.push((payment, take));
        }
    }
    Ok(parts)
}

/// The amount to refund (all that remains when `None`), or why it cannot be.
fn checked_amount(
    amount: Option<i64>,
    money: Refundable,
    currency: &Currency,
) -> Result<i64, RequestError> {
    let remaining = money.remaining;
    let wanted = amount.unwrap_or(remaining);
    if wanted > 0 && wanted <= remaining {
        return Ok(wanted);
    }
    let fmt = |m: i64| format!("{} {}", format_minor(m, currency), currency.code());
    if money.disputed > 0 && wanted.max(1) <= money.undisputed {
        return Err(RequestError::new(
            "amount",
            "charge_disputed",
            format!(
                "{} is held by a dispute; {} can be refunded",
                fmt(money.disputed.min(money.undisputed)),
                fmt(remaining)
            ),
        ));
    }
    let message = if remaining == 0 {
        format!(
            "nothing remains refundable ({} captured, {} refunded)",
            fmt(money.captured),
            fmt(money.returned)
        )
    } else {
        format!("at most {} remains refundable", fmt(remaining))
    };
    Err(RequestError::new("amount", "amount_too_large", message))
}

fn not_captured(message: &str) -> RequestError {
    RequestError::new("payment", "not_captured", message)
}

/// An attempt's money and the id a refund of it names (its PaymentIntent, else the charge that
/// took the money).
fn payment_of<'a>(state: &'a OrderState, attempt: &'a Attempt) -> Payment<'a> {
    let kind = |id: &String| state.objects.get(id).map(|o| o.object.as_str());
    let is_charge =
        |id: &&String| kind(id) == Some("charge") || id.starts_with("ch_") || id.starts_with("py_");
    let paid = |id: &&String| state.objects.get(*id).and_then(|o| o.status) == Some(Status::Paid);
    let pi = attempt
        .objects
        .iter()
        .find(|id| kind(id) == Some("payment_intent") || id.starts_with("pi_"));
    let charge = || {
        let mut charges = attempt.objects.iter().filter(is_charge);
        charges.clone().find(paid).or_else(|| charges.next())
    };
    let target = match pi {
        Some(pi) => Some(("payment_intent", pi.clone())),
        None => charge().map(|ch| ("charge", ch.clone())),
    };
    Payment {
        attempt,
        target,
        money: Refundable::of(money_of(state, attempt)),
    }
}

/// Captured, returned and disputed money of an attempt.
fn money_of(state: &OrderState, attempt: &Attempt) -> Money {
    let mut charge_figures = 0i64;
    for id in &attempt.objects {
        let Some(object) = state.objects.get(id) else {
            continue;
        };
        let (Some(at), Some(refunded)) = (object.refunded_at, object.refunded_minor) else {
            continue;
        };
        let failed_since = attempt
            .refunds
            .iter()
            .filter_map(|r| state.refunds.get(r))
            .filter(|r| !r.counts() && r.at > at && r.charge.as_ref().is_none_or(|c| c == id))
            .fold(0i64, |sum, r| sum.saturating_add(r.amount_minor));
        charge_figures =
            charge_figures.saturating_add(refunded.saturating_sub(failed_since).max(0));
    }
    let (mut disputed, mut prevented) = (0i64, 0i64);
    for dispute in attempt
        .disputes
        .iter()
        .filter_map(|d| state.disputes.get(d))
    {
        match dispute.status {
            Some(Status::Disputed | Status::DisputeLost) => {
                disputed = disputed.saturating_add(dispute.amount_minor);
            }
            Some(Status::DisputePrevented) => {
                prevented = prevented.saturating_add(dispute.amount_minor);
            }
            _ => {}
        }
    }
    let refunded = attempt.amount_refunded_minor.max(charge_figures);
    Money {
        captured: attempt.amount_captured_minor,
        returned: refunded.max(prevented),
        disputed,
    }
}

/// The request for one payment's part.
fn request(
    input: &RefundInput,
    currency: &Currency,
    metadata: &[(String, String)],
    attempt: &Attempt,
    (param, id): &(&'static str, String),
    amount: i64,
) -> StripeRequest {
    let mut form = Form::default();
    form.add(*param, id.clone());
    form.add("amount", amount.to_string());
    if let Some(reason) = &input.reason {
        form.add("reason", reason.clone());
    }
    form.metadata("metadata", metadata);
    // Per attempt (not per id given): a PaymentIntent and its charge share one key, so Stripe
    // refuses the second of two such requests instead of refunding twice.
    let key = hashed_key(
        "refund",
        &[
            &input.order_id,
            input.return_id.as_deref().unwrap_or_default(),
            input.credit_note_id.as_deref().unwrap_or_default(),
            &attempt.id,
            &amount.to_string(),
            &currency.stripe_code(),
        ],
    );
    StripeRequest {
        method: "POST",
        path: "/v1/refunds".to_owned(),
        body: form.encode(),
        idempotency_key: key,
        amount_minor: amount,
        currency: currency.code().to_owned(),
    }
}
