//! ERP documents: the status update of an order or invoice, with the payment reference and a
//! reconciliation reference linking the Stripe payment to the document.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::mapping::{iso8601, View};
use crate::normalize::Status;

/// An order or invoice status update for an ERP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErpDocument {
    pub profile: &'static str,
    /// `invoice` or `order`.
    pub document_type: &'static str,
    /// The ERP's reference: the order reference, else the Stripe invoice id.
    pub document_ref: String,
    /// `paid`, `failed`, `pending`, `refunded` or `credited` (partially refunded).
    pub status: &'static str,
    /// The Stripe charge (else PaymentIntent, refund) that moved the money.
    pub payment_reference: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_refunded: Option<Decimal>,
    pub currency: Option<String>,
    /// ISO 8601 UTC, when the status is `paid`.
    pub paid_at: Option<String>,
    /// `stripe:<payment_intent>:<charge>` (either may be empty), for matching bank and Stripe
    /// payouts to the document.
    pub reconciliation_ref: Option<String>,
    pub invoice: Option<String>,
    pub balance_transaction: Option<String>,
    pub event_id: String,
    pub event_type: String,
}

/// The ERP status for a record status (`None`: not a document status).
pub fn document_status(view: &View<'_>) -> Option<&'static str> {
    let refund_object = !view.consolidated() && view.record.object.as_deref() == Some("refund");
    Some(match view.status() {
        Status::Paid | Status::DisputeWon => "paid",
        Status::Pending | Status::RequiresAction | Status::Authorized | Status::Disputed => {
            "pending"
        }
        // A refund object says nothing about the whole document: it is a credit against it.
        Status::Refunded if refund_object => "credited",
        Status::Refunded | Status::DisputeLost => "refunded",
        Status::PartiallyRefunded | Status::DisputePrevented => "credited",
        Status::Failed if refund_object => return None,
        Status::Failed
        | Status::Canceled
        | Status::Expired
        | Status::Void
        | Status::Uncollectible => "failed",
        _ => return None,
    })
}

/// The document update for a record; `None` without a document reference or a document status.
pub fn document_for(view: &View<'_>) -> Option<ErpDocument> {
    let record = view.record;
    let status = document_status(view)?;
    let document_ref = view.order_ref().or(view.invoice())?.to_owned();
    let invoice_object = matches!(
        record.object.as_deref(),
        Some("invoice" | "invoice_payment")
    );
    let is_invoice = view.invoice().is_some()
        && (view.order_ref().is_none() || (!view.consolidated() && invoice_object));
    let reconciliation_ref = match (view.payment_intent(), view.charge()) {
        (None, None) => None,
        (pi, ch) => Some(format!(
            "stripe:{}:{}",
            pi.unwrap_or_default(),
            ch.unwrap_or_default()
        )),
    };
    Some(ErpDocument {
        profile: "erp",
        document_type: if is_invoice { "invoice" } else { "order" },
        document_ref,
        status,
        payment_reference: view
            .charge()
            .or(view.payment_intent())
            .map(str::to_owned)
            .or_else(|| record.refund.clone()),
        amount: view.amount(),
        amount_refunded: view.amount_refunded(),
        currency: record.currency.clone(),
        paid_at: if status == "paid" {
            view.paid_at().map(iso8601)
        } else {
            None
        },
        reconciliation_ref,
        invoice: view.invoice().map(str::to_owned),
        balance_transaction: if view.consolidated() {
            None
        } else {
            record.balance_transaction.clone()
        },
        event_id: record.event_id.clone(),
        event_type: record.event_type.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions, Record};

    fn document_for(record: &Record) -> Option<ErpDocument> {
        super::document_for(&View::new(record, None))
    }

    fn rec(json: &str) -> Record {
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    #[test]
    fn invoice_paid_and_order_refunds() {
        let inv = rec(
            r#"{"id":"evt_1","type":"invoice_payment.paid","created":1735689066,"data":{"object":{"id":"inpay_1","object":"invoice_payment","amount_paid":2000,"currency":"usd","invoice":"in_1","status":"paid","payment":{"type":"payment_intent","payment_intent":"pi_1"}}}}"#,
        );
        let d = document_for(&inv).unwrap();
        assert_eq!(
            (d.document_type, d.document_ref.as_str(), d.status),
            ("invoice", "in_1", "paid")
        );
        assert_eq!(d.paid_at.as_deref(), Some("2024-12-31T23:51:06Z"));
        assert_eq!(d.reconciliation_ref.as_deref(), Some("stripe:pi_1:"));
        let partial = rec(
            r#"{"id":"evt_2","type":"charge.refunded","created":2,"data":{"object":{"id":"ch_1","object":"charge","amount":2198,"amount_refunded":500,"captured":true,"currency":"usd","status":"succeeded","payment_intent":"pi_1","metadata":{"order_id":"1001"}}}}"#,
        );
        let d = document_for(&partial).unwrap();
        assert_eq!(
            (d.document_type, d.document_ref.as_str(), d.status),
            ("order", "1001", "credited")
        );
        assert_eq!(d.payment_reference.as_deref(), Some("ch_1"));
        assert_eq!(d.reconciliation_ref.as_deref(), Some("stripe:pi_1:ch_1"));
        assert_eq!(d.amount_refunded.unwrap().to_string(), "5.00");
        assert_eq!(d.paid_at, None);
    }

    #[test]
    fn no_document_without_a_reference() {
        let r = rec(
            r#"{"id":"evt_3","type":"payment_intent.succeeded","created":3,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded"}}}"#,
        );
        assert!(document_for(&r).is_none());
    }
}
