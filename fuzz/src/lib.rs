//! Structure-aware inputs shared by the fuzz targets: realistic Stripe events of one or two
//! orders (PaymentIntents, charges, refunds, disputes, sessions, invoices, fraud warnings) built
//! from the fuzzer's bytes, normalized by the crate into records.

use arbitrary::Arbitrary;
use serde_json::{json, Value};
use stripe_bridge::{normalize_json, NormalizeOptions, Record};

/// An amount: mostly small realistic values, sometimes any `i64` (overflow edges).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Amount {
    Small(u16),
    Any(i64),
    Zero,
}

impl Amount {
    pub fn value(self) -> i64 {
        match self {
            Amount::Small(v) => i64::from(v),
            Amount::Any(v) => v,
            Amount::Zero => 0,
        }
    }
}

pub const CURRENCIES: &[&str] = &["usd", "eur", "jpy", "kwd", "huf", "isk", "USD", "xyz", ""];

/// One Stripe event about an order, in a shape Stripe sends.
#[derive(Arbitrary, Debug, Clone)]
pub struct EventSpec {
    pub kind: u8,
    pub variant: u8,
    pub id: u8,
    pub pi: Option<u8>,
    pub charge: Option<u8>,
    pub amount: Amount,
    pub second: Amount,
    pub currency: u8,
    pub created: u16,
    pub order: u8,
    pub fee: Option<(u16, u16)>,
    pub risk: u8,
    pub failure: Option<u8>,
    pub livemode: bool,
}

fn pick<'a>(items: &[&'a str], i: u8) -> &'a str {
    items
        .get(usize::from(i) % items.len().max(1))
        .copied()
        .unwrap_or("")
}

impl EventSpec {
    /// The event's JSON (what Stripe would POST).
    pub fn json(&self, seq: usize) -> Value {
        let cur = pick(CURRENCIES, self.currency);
        let amount = self.amount.value();
        let second = self.second.value();
        let pi = self.pi.map(|n| format!("pi_{}", n % 3));
        let ch = self.charge.map(|n| format!("ch_{}", n % 3));
        let order = pick(&["A-1", "A-1", "A-1", "B-2"], self.order);
        let meta = json!({ "order_id": order });
        let risk = pick(&["normal", "elevated", "highest", "unknown"], self.risk);
        let failure = self.failure.map(|f| {
            (
                pick(&["card_declined", "expired_card", "incorrect_cvc"], f),
                pick(
                    &["Your card was declined.", "Your card has expired."],
                    f / 3,
                ),
                pick(&["insufficient_funds", "generic_decline"], f / 7),
            )
        });
        let bt = self.fee.map(|(fee, net)| {
            json!({"id": format!("txn_{}", self.id % 4), "object": "balance_transaction",
                   "fee": fee, "net": net, "currency": cur, "amount": amount})
        });
        let (event_type, object) = match self.kind % 8 {
            0 => {
                let (t, status) = match self.variant % 7 {
                    0 => ("payment_intent.succeeded", "succeeded"),
                    1 => ("payment_intent.processing", "processing"),
                    2 => ("payment_intent.payment_failed", "requires_payment_method"),
                    3 => ("payment_intent.requires_action", "requires_action"),
                    4 => ("payment_intent.canceled", "canceled"),
                    5 => ("payment_intent.created", "requires_payment_method"),
                    _ => (
                        "payment_intent.amount_capturable_updated",
                        "requires_capture",
                    ),
                };
                let id = pi.clone().unwrap_or_else(|| format!("pi_{}", self.id % 3));
                let mut o = json!({"id": id, "object": "payment_intent", "amount": amount,
                    "amount_received": if status == "succeeded" { amount } else { 0 },
                    "currency": cur, "status": status, "metadata": meta, "latest_charge": ch});
                if let Some((code, message, decline)) = failure {
                    o["last_payment_error"] =
                        json!({"code": code, "message": message, "decline_code": decline});
                }
                (t, o)
            }
            1 => {
                let (t, status, captured, refunded) = match self.variant % 6 {
                    0 => ("charge.succeeded", "succeeded", true, 0),
                    1 => ("charge.failed", "failed", false, 0),
                    2 => ("charge.refunded", "succeeded", true, second),
                    3 => ("charge.captured", "succeeded", true, 0),
                    4 => ("charge.expired", "succeeded", false, amount),
                    _ => ("charge.updated", "succeeded", true, second),
                };
                let id = ch.clone().unwrap_or_else(|| format!("ch_{}", self.id % 3));
                let mut o = json!({"id": id, "object": "charge", "amount": amount,
                    "amount_captured": if captured { amount } else { 0 }, "amount_refunded": refunded,
                    "captured": captured, "refunded": refunded != 0 && refunded == amount,
                    "currency": cur, "status": status, "payment_intent": pi, "metadata": meta,
                    "outcome": {"risk_level": risk, "type": "authorized"},
                    "balance_transaction": bt});
                if let Some((code, message, _)) = failure {
                    o["failure_code"] = json!(code);
                    o["failure_message"] = json!(message);
                }
                (t, o)
            }
            2 => {
                let (t, status) = match self.variant % 5 {
                    0 => ("refund.created", "succeeded"),
                    1 => ("refund.created", "pending"),
                    2 => ("refund.failed", "failed"),
                    3 => ("refund.updated", "canceled"),
                    _ => ("charge.refund.updated", "succeeded"),
                };
                (
                    t,
                    json!({"id": format!("re_{}", self.id % 4), "object": "refund", "amount": amount,
                    "currency": cur, "status": status, "charge": ch, "payment_intent": pi,
                    "metadata": meta, "reason": "requested_by_customer"}),
                )
            }
            3 => {
                let (t, status) = match self.variant % 5 {
                    0 => ("charge.dispute.created", "needs_response"),
                    1 => ("charge.dispute.closed", "won"),
                    2 => ("charge.dispute.closed", "lost"),
                    3 => ("charge.dispute.funds_withdrawn", "needs_response"),
                    _ => ("charge.dispute.closed", "prevented"),
                };
                (
                    t,
                    json!({"id": format!("du_{}", self.id % 2), "object": "dispute", "amount": amount,
                    "currency": cur, "status": status, "charge": ch, "payment_intent": pi,
                    "reason": "fraudulent"}),
                )
            }
            4 => {
                let (t, status, paid) = match self.variant % 4 {
                    0 => ("checkout.session.completed", "complete", "paid"),
                    1 => ("checkout.session.expired", "expired", "unpaid"),
                    2 => (
                        "checkout.session.async_payment_failed",
                        "complete",
                        "unpaid",
                    ),
                    _ => (
                        "checkout.session.async_payment_succeeded",
                        "complete",
                        "paid",
                    ),
                };
                (
                    t,
                    json!({"id": format!("cs_{}", self.id % 2), "object": "checkout.session",
                    "amount_total": amount, "currency": cur, "status": status, "payment_status": paid,
                    "payment_intent": pi, "client_reference_id": order, "metadata": meta}),
                )
            }
            5 => {
                let (t, status) = match self.variant % 3 {
                    0 => ("invoice.paid", "paid"),
                    1 => ("invoice.payment_failed", "open"),
                    _ => ("invoice.voided", "void"),
                };
                (
                    t,
                    json!({"id": format!("in_{}", self.id % 2), "object": "invoice",
                    "amount_due": amount, "amount_paid": if status == "paid" { amount } else { 0 },
                    "currency": cur, "status": status, "payment_intent": pi, "charge": ch,
                    "metadata": meta}),
                )
            }
            6 => (
                "radar.early_fraud_warning.created",
                json!({"id": format!("issfr_{}", self.id % 2), "object": "radar.early_fraud_warning",
                    "charge": ch, "payment_intent": pi, "fraud_type": "made_with_stolen_card",
                    "actionable": true}),
            ),
            _ => {
                let (t, open) = match self.variant % 2 {
                    0 => ("review.opened", true),
                    _ => ("review.closed", false),
                };
                (
                    t,
                    json!({"id": format!("prv_{}", self.id % 2), "object": "review", "open": open,
                    "charge": ch, "payment_intent": pi, "reason": if open { "rule" } else { "approved" }}),
                )
            }
        };
        json!({
            "id": format!("evt_{seq}_{}", self.id),
            "object": "event",
            "type": event_type,
            "created": 1_700_000_000i64 + i64::from(self.created),
            "livemode": self.livemode,
            "api_version": "2025-03-31.basil",
            "data": {"object": object},
        })
    }

    /// The record the crate makes of the event.
    pub fn record(&self, seq: usize) -> Option<Record> {
        let bytes = serde_json::to_vec(&self.json(seq)).ok()?;
        normalize_json(&bytes, &NormalizeOptions::default()).ok()
    }
}

/// Whether two HMAC keys are the same key: HMAC pads a key of up to one block (64 bytes) with
/// zeros, so `k` and `k\0` sign alike (a property of HMAC, not a bug of the crate).
pub fn same_hmac_key(a: &[u8], b: &[u8]) -> bool {
    fn trimmed(k: &[u8]) -> &[u8] {
        let end = k.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        &k[..end]
    }
    if a.len() <= 64 && b.len() <= 64 {
        trimmed(a) == trimmed(b)
    } else {
        a == b
    }
}
