//! An authorization taken (`POST /v1/payment_intents/{intent}/capture`) or released
//! (`POST /v1/payment_intents/{intent}/cancel`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    attempt_of, check_currency, check_order_id, check_same_order, currency, positive_amount,
    stripe_id,
};
use crate::money::{format_minor, Currency};
use crate::normalize::Status;
use crate::payment_request::{checked_metadata, hashed_key, Form, RequestError, StripeRequest};
use crate::state::OrderState;

/// Stripe's reasons for canceling a PaymentIntent (`cancellation_reason`).
pub const CANCELLATION_REASONS: &[&str] = &[
    "abandoned",
    "duplicate",
    "fraudulent",
    "requested_by_customer",
];

/// A capture the shop asks for (JSON field names are the public contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureInput {
    /// The shop's order id (`metadata[order_id]`).
    pub order_id: String,
    /// The PaymentIntent holding the authorization (`pi_…`).
    pub payment_intent: String,
    /// Decimal string in major units: capture less than authorized (Stripe releases the rest).
    /// `None`: all that is authorized.
    #[serde(default)]
    pub amount: Option<String>,
    pub currency: String,
    /// More metadata for the PaymentIntent.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A cancellation the shop asks for (JSON field names are the public contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// The shop's order id (part of the idempotency key).
    pub order_id: String,
    /// The PaymentIntent to cancel (`pi_…`).
    pub payment_intent: String,
    /// One of [`CANCELLATION_REASONS`].
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/payment_intents/{pi}/capture`: `amount_to_capture` when an amount is given, then
/// `metadata[order_id]` and the input's metadata. With the order's state: the PaymentIntent
/// must be the order's (`unknown_payment`) and hold an authorization (`not_authorized`) in
/// the input's currency (`currency_mismatch`), and the amount must not exceed it
/// (`amount_too_large`). Key per (order, pi): one capture per PaymentIntent.
pub fn capture(
    input: &CaptureInput,
    state: Option<&OrderState>,
) -> Result<StripeRequest, RequestError> {
    check_order_id(&input.order_id)?;
    let pi = stripe_id("payment_intent", &input.payment_intent, &["pi_"])?;
    let currency = currency(&input.currency)?;
    let amount = input
        .amount
        .as_deref()
        .map(|a| positive_amount(a, &currency))
        .transpose()?;
    let ours = vec![("order_id".to_owned(), input.order_id.clone())];
    let metadata = checked_metadata(ours, &input.metadata, &["order_id"])?;
    let authorized = match state {
        Some(state) => authorized(state, input, &currency, amount)?,
        None => None,
    };
    let mut form = Form::default();
    if let Some(amount) = amount {
        form.add("amount_to_capture", amount.to_string());
    }
    form.metadata("metadata", &metadata);
    Ok(StripeRequest {
        method: "POST",
        path: format!("/v1/payment_intents/{pi}/capture"),
        body: form.encode(),
        idempotency_key: hashed_key("capture", &[&input.order_id, pi]),
        amount_minor: amount.or(authorized).unwrap_or(0),
        currency: currency.code().to_owned(),
    })
}

/// The checks of a capture against the state; the amount authorized, when known.
fn authorized(
    state: &OrderState,
    input: &CaptureInput,
    currency: &Currency,
    amount: Option<i64>,
) -> Result<Option<i64>, RequestError> {
    check_same_order(state, &input.order_id)?;
    let attempt = attempt_of(state, "payment_intent", &input.payment_intent)?;
    if attempt.status != Some(Status::Authorized) {
        let message = if attempt.amount_captured_minor > 0 {
            "the payment was already captured".to_owned()
        } else {
            let status = attempt.status.map_or("unknown", Status::as_str);
            format!("the payment holds no authorization (its status is {status})")
        };
        return Err(RequestError::new(
            "payment_intent",
            "not_authorized",
            message,
        ));
    }
    check_currency(attempt, currency)?;
    if let (Some(amount), Some(authorized)) = (amount, attempt.amount_minor) {
        if amount > authorized {
            return Err(RequestError::new(
                "amount",
                "amount_too_large",
                format!(
                    "at most {} {} is authorized",
                    format_minor(authorized, currency),
                    currency.code()
                ),
            ));
        }
    }
    Ok(attempt.amount_minor)
}

/// `POST /v1/payment_intents/{pi}/cancel`: `cancellation_reason` when given. With the order's
/// state: the PaymentIntent must be the order's (`unknown_payment`) and must not have taken
/// money (`already_captured`: refund it instead). Key per (order, pi).
pub fn cancel(
    input: &CancelInput,
    state: Option<&OrderState>,
) -> Result<StripeRequest, RequestError> {
    check_order_id(&input.order_id)?;
    let pi = stripe_id("payment_intent", &input.payment_intent, &["pi_"])?;
    if let Some(reason) = &input.reason {
        if !CANCELLATION_REASONS.contains(&reason.as_str()) {
            return Err(RequestError::new(
                "reason",
                "invalid_reason",
                format!("must be one of {}", CANCELLATION_REASONS.join(", ")),
            ));
        }
    }
    if let Some(state) = state {
        check_same_order(state, &input.order_id)?;
        let attempt = attempt_of(state, "payment_intent", pi)?;
        if attempt.amount_captured_minor > 0 || attempt.status == Some(Status::Paid) {
            return Err(RequestError::new(
                "payment_intent",
                "already_captured",
                "the payment took money: refund it instead",
            ));
        }
    }
    let mut form = Form::default();
    if let Some(reason) = &input.reason {
        form.add("cancellation_reason", reason.clone());
    }
    Ok(StripeRequest {
        method: "POST",
        path: format!("/v1/payment_intents/{pi}/cancel"),
        body: form.encode(),
        idempotency_key: hashed_key("cancel", &[&input.order_id, pi]),
        amount_minor: 0,
        currency: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{authorized, paid, state};
    use super::*;

    fn capture_input(amount: Option<&str>) -> CaptureInput {
        CaptureInput {
            order_id: "1001".into(),
            payment_intent: "pi_H".into(),
            amount: amount.map(Into::into),
            currency: "usd".into(),
            metadata: BTreeMap::from([("warehouse".to_owned(), "B".to_owned())]),
        }
    }

    #[test]
    fn capture_bodies() {
        let full = capture(&capture_input(None), None).unwrap();
        assert_eq!(
            (
                full.method,
                full.path.as_str(),
                full.amount_minor,
                full.currency.as_str()
            ),
            ("POST", "/v1/payment_intents/pi_H/capture", 0, "USD")
        );
        assert_eq!(
            full.body,
            "metadata%5Border_id%5D=1001&metadata%5Bwarehouse%5D=B"
        );
        assert!(full.idempotency_key.starts_with("sb-capture-"));
        let part = capture(&capture_input(Some("15.00")), None).unwrap();
        assert_eq!(
            part.body,
            "amount_to_capture=1500&metadata%5Border_id%5D=1001&metadata%5Bwarehouse%5D=B"
        );
        assert_eq!(part.amount_minor, 1500);
        // One capture per PaymentIntent: the key does not follow the amount.
        assert_eq!(part.idempotency_key, full.idempotency_key);
    }

    #[test]
    fn capture_checks_against_the_state() {
        let s = state(&[authorized("pi_H", "ch_H", 2000, "usd")]);
        let full = capture(&capture_input(None), Some(&s)).unwrap();
        assert_eq!(full.amount_minor, 2000);
        let err = |i: &CaptureInput, s: &OrderState| {
            let e = capture(i, Some(s)).unwrap_err();
            (e.field, e.code)
        };
        assert_eq!(
            err(&capture_input(Some("20.01")), &s),
            ("amount".into(), "amount_too_large")
        );
        let mut eur = capture_input(None);
        eur.currency = "eur".into();
        assert_eq!(err(&eur, &s), ("currency".into(), "currency_mismatch"));
        let mut other = capture_input(None);
        other.payment_intent = "pi_X".into();
        assert_eq!(
            err(&other, &s),
            ("payment_intent".into(), "unknown_payment")
        );
        let captured = state(&[paid("pi_H", "ch_H", 2000, 2000, "usd")]);
        assert_eq!(
            err(&capture_input(None), &captured),
            ("payment_intent".into(), "not_authorized")
        );
        let mut bad = capture_input(None);
        bad.payment_intent = "../x".into();
        assert_eq!(capture(&bad, None).unwrap_err().code, "invalid_id");
        let mut reserved = capture_input(None);
        reserved.metadata.insert("order_id".into(), "2".into());
        assert_eq!(capture(&reserved, None).unwrap_err().code, "reserved_key");
    }

    #[test]
    fn cancel_bodies_and_checks() {
        let input = CancelInput {
            order_id: "1001".into(),
            payment_intent: "pi_H".into(),
            reason: Some("abandoned".into()),
        };
        let r = cancel(&input, None).unwrap();
        assert_eq!(
            (
                r.path.as_str(),
                r.body.as_str(),
                r.amount_minor,
                r.currency.as_str()
            ),
            (
                "/v1/payment_intents/pi_H/cancel",
                "cancellation_reason=abandoned",
                0,
                ""
            )
        );
        assert!(r.idempotency_key.starts_with("sb-cancel-"));
        let no_reason = CancelInput {
            reason: None,
            ..input.clone()
        };
        assert_eq!(cancel(&no_reason, None).unwrap().body, "");
        let s = state(&[authorized("pi_H", "ch_H", 2000, "usd")]);
        assert!(cancel(&input, Some(&s)).is_ok());
        let paid_state = state(&[paid("pi_H", "ch_H", 2000, 2000, "usd")]);
        assert_eq!(
            cancel(&input, Some(&paid_state)).unwrap_err().code,
            "already_captured"
        );
        let bad_reason = CancelInput {
            reason: Some("expired".into()),
            ..input.clone()
        };
        assert_eq!(
            cancel(&bad_reason, None).unwrap_err().code,
            "invalid_reason"
        );
        let bad_id = CancelInput {
            payment_intent: "pi_H/../../v1/refunds".into(),
            ..input
        };
        assert_eq!(cancel(&bad_id, None).unwrap_err().code, "invalid_id");
    }
}
