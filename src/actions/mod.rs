//! Shop → Stripe: the requests a shop sends after the payment, checked before anything is sent.
//!
//! - [`refunds`]: refunds of an order (a return, a credit note, or everything that remains),
//!   checked against the order's state: the payment must be the order's and have taken money,
//!   the currency must be the payment's, and the amount must not exceed what remains refundable
//!   (captured − refunded − disputed) — over several payments when none is named;
//! - [`capture`] and [`cancel`]: an authorization taken or released;
//! - [`customer_search_path`], [`found_customer`], [`create_customer`], [`update_customer`]: the
//!   shop's customer as a Stripe Customer, found by `metadata['customer_id']`;
//! - [`order_update`]: the shop's order number and status on the PaymentIntent.
//!
//! Every builder returns a [`StripeRequest`](crate::payment_request::StripeRequest) (method,
//! path, form body in Stripe's bracket notation, a deterministic `Idempotency-Key`) or a
//! [`RequestError`] naming the field, the reason's code and a message; nothing partial is
//! produced. Inputs are JSON objects with snake_case fields; unknown fields are refused.
//! Amounts are exact decimal strings in major units (`"12.34"`, JPY `"500"`, KWD `"1.230"`).
//!
//! ```
//! use stripe_bridge::actions::{order_update, OrderUpdate};
//!
//! let update: OrderUpdate = serde_json::from_str(
//!     r#"{"order_id":"1001","payment_intent":"pi_3Q","order_number":"SO-1001","order_status":"shipped"}"#,
//! ).unwrap();
//! let request = order_update(&update).unwrap();
//! assert_eq!(request.path, "/v1/payment_intents/pi_3Q");
//! assert_eq!(
//!     request.body,
//!     "metadata%5Border_id%5D=1001&metadata%5Border_number%5D=SO-1001&metadata%5Border_status%5D=shipped"
//! );
//! assert!(request.idempotency_key.starts_with("sb-update-"));
//! ```

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod authorization;
mod customer;
mod order_update;
mod refund;

pub use authorization::{cancel, capture, CancelInput, CaptureInput, CANCELLATION_REASONS};
pub use customer::{
    create_customer, customer_search_path, found_customer, update_customer, Address, ShopCustomer,
    ADDRESS_FIELD_MAX_LEN, CUSTOMER_DESCRIPTION_MAX_LEN, NAME_MAX_LEN, PHONE_MAX_LEN,
};
pub use order_update::{order_update, OrderUpdate};
pub use refund::{refunds, RefundInput, REFUND_REASONS};

use crate::money::{to_minor, Currency, MoneyError};
use crate::payment_request::{check_text, RequestError, METADATA_MAX_VALUE_LEN};
use crate::state::{Attempt, OrderState};

/// Form parameters sent here that Stripe's API description of 2023-08-16 (the OpenAPI
/// `spec3.json` the bodies were checked against) does not know yet, each with the changelog
/// entry that added it. Empty: every parameter the actions send is in that description
/// (`POST /v1/refunds`: `payment_intent`, `charge`, `amount`, `reason`, `metadata`;
/// `POST /v1/payment_intents/{intent}/capture`: `amount_to_capture`, `metadata`;
/// `POST /v1/payment_intents/{intent}/cancel`: `cancellation_reason`; `POST /v1/customers` and
/// `POST /v1/customers/{customer}`: `email`, `name`, `phone`, `description`, `address[...]`,
/// `metadata`; `POST /v1/payment_intents/{intent}`: `description`, `metadata`;
/// `GET /v1/customers/search`: `query`).
pub const NEWER_PARAMETERS: &[(&str, &str)] = &[];

/// Stripe ids are letters, digits and `_` (as [`crate::reconcile::fetch`] checks them), and
/// start with one of `prefixes`: anything else would change the request's path or name another
/// kind of object.
pub(crate) fn stripe_id<'a>(
    field: &str,
    id: &'a str,
    prefixes: &[&str],
) -> Result<&'a str, RequestError> {
    let ok = crate::stripe_api::is_path_id(id)
        && prefixes.iter().any(|p| {
            id.strip_prefix(p)
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('_'))
        });
    if ok {
        Ok(id)
    } else {
        Err(RequestError::new(
            field,
            "invalid_id",
            format!(
                "must be a Stripe id starting with {} (letters, digits and _)",
                prefixes.join(" or ")
            ),
        ))
    }
}

/// The shop's order id: a metadata value.
fn check_order_id(order_id: &str) -> Result<(), RequestError> {
    check_text("order_id", order_id, METADATA_MAX_VALUE_LEN)
}

/// An optional text: when given, as [`check_text`].
fn check_optional(field: &str, value: Option<&String>, max: usize) -> Result<(), RequestError> {
    value.map_or(Ok(()), |v| check_text(field, v, max))
}

/// A currency Stripe charges in.
fn currency(code: &str) -> Result<Currency, RequestError> {
    Currency::new(code).map_err(|e| RequestError::money("currency", e))
}

/// A positive amount representable in `currency`, in minor units.
fn positive_amount(text: &str, currency: &Currency) -> Result<i64, RequestError> {
    let minor = to_minor(text, currency.code()).map_err(|e| RequestError::money("amount", e))?;
    if minor <= 0 {
        let e = MoneyError::NotPositive {
            amount: text.chars().take(40).collect(),
        };
        return Err(RequestError::money("amount", e));
    }
    Ok(minor)
}

/// When the state names the order, it must be `order_id`.
fn check_same_order(state: &OrderState, order_id: &str) -> Result<(), RequestError> {
    if state.order_refs.is_empty() || state.order_refs.contains(order_id) {
        return Ok(());
    }
    let refs: Vec<&str> = state.order_refs.iter().map(String::as_str).collect();
    Err(RequestError::new(
        "order_id",
        "order_mismatch",
        format!("the order state is of order {}", refs.join(", ")),
    ))
}

/// The attempt of the order that `id` (a PaymentIntent or a charge) belongs to.
fn attempt_of<'a>(
    state: &'a OrderState,
    field: &str,
    id: &str,
) -> Result<&'a Attempt, RequestError> {
    state
        .attempts
        .iter()
        .find(|a| a.objects.contains(id))
        .ok_or_else(|| {
            RequestError::new(
                field,
                "unknown_payment",
                "is not a payment of this order (as far as its state knows)",
            )
        })
}

/// The payment's currency must be the one asked for.
fn check_currency(attempt: &Attempt, currency: &Currency) -> Result<(), RequestError> {
    match attempt.currency.as_deref() {
        Some(code) if code.eq_ignore_ascii_case(currency.code()) => Ok(()),
        Some(code) => Err(RequestError::new(
            "currency",
            "currency_mismatch",
            format!("the payment is in {code}, not {}", currency.code()),
        )),
        None => Err(RequestError::new(
            "currency",
            "currency_mismatch",
            "the payment's currency is not known from the order state",
        )),
    }
}

#[cfg(test)]
mod tests;
