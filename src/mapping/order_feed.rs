//! Order-payment feed (logistics / OMS style): one flat payment line per event.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::mapping::{iso8601, View};
use crate::normalize::{Concern, Status};

/// One payment line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedLine {
    pub profile: &'static str,
    pub order_ref: String,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    /// ISO 8601 UTC of the event.
    pub date: String,
    pub payment_method: Option<String>,
    /// The Stripe object that carries the money: refund, charge or PaymentIntent id.
    pub transaction_ref: Option<String>,
    /// The normalized status.
    pub status: Status,
    pub event_id: String,
}

/// The line for a record; `None` without an order reference or for non-payment records.
pub fn line_for(view: &View<'_>) -> Option<FeedLine> {
    let record = view.record;
    let status = view.status();
    // A payment line: flags (fraud warnings, reviews) are not payments.
    if status.concern() != Concern::Payment {
        return None;
    }
    Some(FeedLine {
        profile: "order-feed",
        order_ref: view.order_ref()?.to_owned(),
        amount: view.amount(),
        currency: record.currency.clone(),
        date: iso8601(view.last_event().1),
        payment_method: view.payment_method_type().map(str::to_owned),
        transaction_ref: record
            .refund
            .clone()
            .filter(|_| !view.consolidated() && record.object.as_deref() == Some("refund"))
            .or_else(|| view.charge().map(str::to_owned))
            .or_else(|| view.payment_intent().map(str::to_owned)),
        status,
        event_id: record.event_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    #[test]
    fn a_line_per_order_payment() {
        let r = normalize_json(
            br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1735689120,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":5000,"currency":"jpy","status":"succeeded","latest_charge":"ch_1","payment_method_types":["card"],"metadata":{"orderId":"JP-9"}}}}"#,
            &NormalizeOptions::default(),
        )
        .unwrap();
        let line = line_for(&View::new(&r, None)).unwrap();
        assert_eq!(line.order_ref, "JP-9");
        assert_eq!(line.amount.unwrap().to_string(), "5000");
        assert_eq!(line.date, "2024-12-31T23:52:00Z");
        assert_eq!(line.transaction_ref.as_deref(), Some("ch_1"));
        assert_eq!(line.payment_method.as_deref(), Some("card"));
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["status"], "paid");
    }
}
