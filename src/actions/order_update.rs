//! The shop's order number and status on the PaymentIntent (`POST /v1/payment_intents/{intent}`),
//! so they show in Stripe's Dashboard and travel with every later event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check_optional, check_order_id, stripe_id};
use crate::payment_request::{
    checked_metadata, hashed_key, Form, RequestError, StripeRequest, DESCRIPTION_MAX_LEN,
    METADATA_MAX_VALUE_LEN,
};

/// Metadata keys stripe-bridge sets on the PaymentIntent (the input's own may not use them).
const RESERVED: &[&str] = &["order_id", "order_number", "order_status"];

/// What the shop says about an order (JSON field names are the public contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderUpdate {
    /// The shop's order id (`metadata[order_id]`).
    pub order_id: String,
    /// The order's PaymentIntent (`pi_…`).
    pub payment_intent: String,
    /// The shop's order number (`metadata[order_number]`).
    #[serde(default)]
    pub order_number: Option<String>,
    /// The shop's order status (`metadata[order_status]`).
    #[serde(default)]
    pub order_status: Option<String>,
    /// The PaymentIntent's `description` (at most 1000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// More metadata for the PaymentIntent (an empty value removes that key in Stripe).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `POST /v1/payment_intents/{pi}`: `description`, `metadata[order_id]`,
/// `metadata[order_number]`, `metadata[order_status]`, then the input's metadata. Key per
/// (pi, body): the same update is sent once, a changed one again.
pub fn order_update(update: &OrderUpdate) -> Result<StripeRequest, RequestError> {
    check_order_id(&update.order_id)?;
    let pi = stripe_id("payment_intent", &update.payment_intent, &["pi_"])?;
    let max = METADATA_MAX_VALUE_LEN;
    check_optional("order_number", update.order_number.as_ref(), max)?;
    check_optional("order_status", update.order_status.as_ref(), max)?;
    check_optional(
        "description",
        update.description.as_ref(),
        DESCRIPTION_MAX_LEN,
    )?;
    let mut ours = vec![("order_id".to_owned(), update.order_id.clone())];
    for (key, value) in [
        ("order_number", &update.order_number),
        ("order_status", &update.order_status),
    ] {
        if let Some(value) = value {
            ours.push((key.to_owned(), value.clone()));
        }
    }
    let metadata = checked_metadata(ours, &update.metadata, RESERVED)?;
    let mut form = Form::default();
    if let Some(description) = &update.description {
        form.add("description", description.clone());
    }
    form.metadata("metadata", &metadata);
    let body = form.encode();
    Ok(StripeRequest {
        method: "POST",
        path: format!("/v1/payment_intents/{pi}"),
        idempotency_key: hashed_key("update", &[pi, &body]),
        body,
        amount_minor: 0,
        currency: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update() -> OrderUpdate {
        OrderUpdate {
            order_id: "1001".into(),
            payment_intent: "pi_3QbasilOrder1001".into(),
            order_number: Some("SO-1001".into()),
            order_status: Some("shipped".into()),
            description: Some("Order SO-1001 (2 items)".into()),
            metadata: BTreeMap::from([("carrier".to_owned(), "DHL".to_owned())]),
        }
    }

    #[test]
    fn body_and_key() {
        let r = order_update(&update()).unwrap();
        assert_eq!(
            (
                r.method,
                r.path.as_str(),
                r.amount_minor,
                r.currency.as_str()
            ),
            ("POST", "/v1/payment_intents/pi_3QbasilOrder1001", 0, "")
        );
        assert_eq!(
            r.body,
            "description=Order+SO-1001+%282+items%29&metadata%5Border_id%5D=1001\
             &metadata%5Border_number%5D=SO-1001&metadata%5Border_status%5D=shipped\
             &metadata%5Bcarrier%5D=DHL"
        );
        assert!(r.idempotency_key.starts_with("sb-update-"));
        assert_eq!(
            order_update(&update()).unwrap().idempotency_key,
            r.idempotency_key
        );
        let mut delivered = update();
        delivered.order_status = Some("delivered".into());
        assert_ne!(
            order_update(&delivered).unwrap().idempotency_key,
            r.idempotency_key
        );
    }

    #[test]
    fn refusals() {
        type Change = fn(&mut OrderUpdate);
        let cases: Vec<(Change, &str, &str)> = vec![
            (
                |u| u.payment_intent = "../x".into(),
                "payment_intent",
                "invalid_id",
            ),
            (
                |u| u.payment_intent = "ch_1".into(),
                "payment_intent",
                "invalid_id",
            ),
            (
                |u| u.description = Some("d".repeat(1001)),
                "description",
                "too_long",
            ),
            (
                |u| u.order_status = Some("".into()),
                "order_status",
                "required",
            ),
            (|u| u.order_id = "o".repeat(501), "order_id", "too_long"),
            (
                |u| {
                    u.metadata.insert("order_number".into(), "2".into());
                },
                "metadata.order_number",
                "reserved_key",
            ),
            (
                |u| {
                    u.metadata.insert("a[b]".into(), "2".into());
                },
                "metadata.a[b]",
                "invalid_metadata_key",
            ),
            (
                |u| {
                    for i in 0..47 {
                        u.metadata.insert(format!("k{i}"), "v".into());
                    }
                },
                "metadata",
                "too_many_metadata_keys",
            ),
        ];
        for (change, field, code) in cases {
            let mut u = update();
            change(&mut u);
            let e = order_update(&u).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (field, code), "{e}");
        }
    }
}
