//! Tests of the actions: order states built from synthetic Stripe events (normalized and
//! merged as webhooks would be), and the refunds checked against them.

use serde_json::{json, Value};

use super::*;
use crate::payment_request::StripeRequest;
use crate::{normalize_json, NormalizeOptions, Record};

/// A Stripe event around `object`, normalized.
fn event(id: &str, ty: &str, created: i64, object: Value) -> Record {
    let event = json!({
        "id": id, "object": "event", "type": ty, "created": created, "livemode": false,
        "api_version": "2025-03-31.basil", "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": object},
    });
    normalize_json(
        &serde_json::to_vec(&event).unwrap(),
        &NormalizeOptions::default(),
    )
    .unwrap()
}

fn pi_object(
    pi: &str,
    ch: &str,
    amount: i64,
    received: i64,
    currency: &str,
    status: &str,
) -> Value {
    json!({
        "id": pi, "object": "payment_intent", "amount": amount, "amount_received": received,
        "amount_capturable": if status == "requires_capture" { amount } else { 0 },
        "currency": currency.to_ascii_lowercase(), "status": status, "latest_charge": ch,
        "capture_method": if status == "requires_capture" { "manual" } else { "automatic" },
        "metadata": {"order_id": "1001"},
    })
}

/// `payment_intent.succeeded`: `captured` of `amount` taken.
pub(super) fn paid(pi: &str, ch: &str, amount: i64, captured: i64, currency: &str) -> Record {
    let object = pi_object(pi, ch, amount, captured, currency, "succeeded");
    event(
        &format!("evt_paid_{pi}"),
        "payment_intent.succeeded",
        1_700_000_100,
        object,
    )
}

/// `payment_intent.amount_capturable_updated`: `amount` authorized.
pub(super) fn authorized(pi: &str, ch: &str, amount: i64, currency: &str) -> Record {
    let object = pi_object(pi, ch, amount, 0, currency, "requires_capture");
    let ty = "payment_intent.amount_capturable_updated";
    event(&format!("evt_auth_{pi}"), ty, 1_700_000_050, object)
}

/// `refund.created` of a succeeded refund.
pub(super) fn refunded(re: &str, pi: &str, ch: &str, amount: i64, currency: &str) -> Record {
    let object = json!({
        "id": re, "object": "refund", "amount": amount, "charge": ch, "payment_intent": pi,
        "currency": currency.to_ascii_lowercase(), "status": "succeeded", "metadata": {},
        "reason": "requested_by_customer",
    });
    event(
        &format!("evt_{re}"),
        "refund.created",
        1_700_000_200,
        object,
    )
}

/// `charge.dispute.created` (`needs_response`) or `charge.dispute.closed` (`won`, `lost`).
pub(super) fn disputed(
    dp: &str,
    pi: &str,
    ch: &str,
    amount: i64,
    currency: &str,
    status: &str,
) -> Record {
    let ty = if status == "needs_response" {
        "charge.dispute.created"
    } else {
        "charge.dispute.closed"
    };
    let object = json!({
        "id": dp, "object": "dispute", "amount": amount, "charge": ch, "payment_intent": pi,
        "currency": currency.to_ascii_lowercase(), "status": status, "reason": "fraudulent",
        "metadata": {},
    });
    event(&format!("evt_{dp}_{status}"), ty, 1_700_000_300, object)
}

pub(super) fn state(records: &[Record]) -> OrderState {
    OrderState::from_records(records).unwrap()
}

fn input(payment: Option<&str>, amount: Option<&str>, currency: &str) -> RefundInput {
    RefundInput {
        order_id: "1001".into(),
        payment: payment.map(Into::into),
        amount: amount.map(Into::into),
        currency: currency.into(),
        reason: Some("requested_by_customer".into()),
        return_id: Some("rr_7".into()),
        credit_note_id: None,
        metadata: Default::default(),
    }
}

fn code(result: Result<Vec<StripeRequest>, RequestError>) -> (String, &'static str) {
    let e = result.unwrap_err();
    (e.field, e.code)
}

#[test]
fn one_partial_refund_of_a_named_payment() {
    let s = state(&[paid("pi_A", "ch_A", 5040, 5040, "usd")]);
    let r = refunds(&input(Some("pi_A"), Some("10.00"), "USD"), &s).unwrap();
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!((r.method, r.path.as_str()), ("POST", "/v1/refunds"));
    assert_eq!((r.amount_minor, r.currency.as_str()), (1000, "USD"));
    assert_eq!(
        r.body,
        "payment_intent=pi_A&amount=1000&reason=requested_by_customer\
         &metadata%5Border_id%5D=1001&metadata%5Breturn_id%5D=rr_7"
    );
    assert!(r.idempotency_key.starts_with("sb-refund-") && r.idempotency_key.len() == 50);
    // A charge of the payment is refunded as such; same attempt, same key.
    let by_charge = refunds(&input(Some("ch_A"), Some("10.00"), "usd"), &s).unwrap();
    assert!(by_charge[0].body.starts_with("charge=ch_A&amount=1000&"));
    assert_eq!(by_charge[0].idempotency_key, r.idempotency_key);
}

/// A partial capture: 3000 of 5040 taken, the rest released (Stripe reports it in the charge's
/// `amount_refunded`); all 3000 remain refundable, and a refund of 1000 leaves 2000.
#[test]
fn a_partial_capture_refunds_what_was_captured() {
    let charge = |refunded: i64| {
        json!({
            "id": "ch_A", "object": "charge", "amount": 5040, "amount_captured": 3000,
            "amount_refunded": refunded, "captured": true, "refunded": false, "currency": "usd",
            "status": "succeeded", "payment_intent": "pi_A", "metadata": {"order_id": "1001"},
        })
    };
    let s = state(&[
        authorized("pi_A", "ch_A", 5040, "usd"),
        event("evt_cap", "charge.captured", 1_700_000_100, charge(2040)),
    ]);
    let r = refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap();
    assert_eq!(r[0].amount_minor, 3000);
    let s = s
        .merged(&event(
            "evt_ref",
            "charge.refunded",
            1_700_000_200,
            charge(3040),
        ))
        .unwrap();
    let r = refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap();
    assert_eq!(r[0].amount_minor, 2000);
}

#[test]
fn without_amount_all_that_remains_is_refunded() {
    let s = state(&[
        paid("pi_A", "ch_A", 5040, 5040, "usd"),
        refunded("re_1", "pi_A", "ch_A", 1000, "usd"),
    ]);
    let r = refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap();
    assert_eq!(r[0].amount_minor, 4040);
    let s = s
        .merged(&refunded("re_2", "pi_A", "ch_A", 4040, "usd"))
        .unwrap();
    let e = refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap_err();
    assert_eq!(e.code, "amount_too_large");
    assert!(e.message.contains("nothing remains"), "{e}");
}

#[test]
fn without_payment_the_largest_remaining_goes_first() {
    let s = state(&[
        paid("pi_A", "ch_A", 3000, 3000, "eur"),
        paid("pi_B", "ch_B", 3000, 3000, "eur"),
        refunded("re_1", "pi_A", "ch_A", 2000, "eur"),
    ]);
    let r = refunds(&input(None, Some("35.00"), "eur"), &s).unwrap();
    let parts: Vec<(&str, i64)> = r
        .iter()
        .map(|r| (r.body.split('&').next().unwrap(), r.amount_minor))
        .collect();
    assert_eq!(
        parts,
        [("payment_intent=pi_B", 3000), ("payment_intent=pi_A", 500)]
    );
    assert_ne!(r[0].idempotency_key, r[1].idempotency_key);
    let all = refunds(&input(None, None, "eur"), &s).unwrap();
    assert_eq!(
        all.iter().map(|r| r.amount_minor).collect::<Vec<_>>(),
        [3000, 1000]
    );
    assert_eq!(
        code(refunds(&input(None, Some("40.01"), "eur"), &s)),
        ("amount".into(), "amount_too_large")
    );
}

#[test]
fn refusals_name_the_field_and_the_reason() {
    let s = state(&[
        paid("pi_A", "ch_A", 5000, 5000, "usd"),
        authorized("pi_H", "ch_H", 2000, "usd"),
    ]);
    let cases: Vec<(RefundInput, &str, &str)> = vec![
        (
            input(Some("pi_X"), Some("1.00"), "usd"),
            "payment",
            "unknown_payment",
        ),
        (
            input(Some("pi_H"), Some("1.00"), "usd"),
            "payment",
            "not_captured",
        ),
        (
            input(Some("pi_A"), Some("1.00"), "eur"),
            "currency",
            "currency_mismatch",
        ),
        (
            input(Some("pi_A"), Some("50.01"), "usd"),
            "amount",
            "amount_too_large",
        ),
        (
            input(Some("pi_A"), Some("0"), "usd"),
            "amount",
            "amount_not_positive",
        ),
        (
            input(Some("pi_A"), Some("-1.00"), "usd"),
            "amount",
            "amount_not_positive",
        ),
        (
            input(Some("pi_A"), Some("1.001"), "usd"),
            "amount",
            "amount_too_precise",
        ),
        (
            input(Some("pi_A"), Some("1,00"), "usd"),
            "amount",
            "invalid_amount",
        ),
        (
            input(Some("../x"), Some("1.00"), "usd"),
            "payment",
            "invalid_id",
        ),
        (
            input(Some("cs_A"), Some("1.00"), "usd"),
            "payment",
            "invalid_id",
        ),
        (
            input(Some("pi_A"), Some("1.00"), "xau"),
            "currency",
            "unknown_currency",
        ),
    ];
    for (i, field, code_) in cases {
        assert_eq!(code(refunds(&i, &s)), (field.to_owned(), code_), "{i:?}");
    }
    let mut i = input(Some("pi_A"), None, "usd");
    i.reason = Some("changed_mind".into());
    assert_eq!(code(refunds(&i, &s)), ("reason".into(), "invalid_reason"));
    let mut i = input(Some("pi_A"), None, "usd");
    i.metadata.insert("return_id".into(), "x".into());
    assert_eq!(
        code(refunds(&i, &s)),
        ("metadata.return_id".into(), "reserved_key")
    );
    let mut i = input(Some("pi_A"), None, "usd");
    i.order_id = "1002".into();
    assert_eq!(code(refunds(&i, &s)), ("order_id".into(), "order_mismatch"));
    let only_auth = state(&[authorized("pi_H", "ch_H", 2000, "usd")]);
    assert_eq!(
        code(refunds(&input(None, None, "usd"), &only_auth)),
        ("payment".into(), "not_captured")
    );
    assert_eq!(
        code(refunds(&input(None, None, "eur"), &s)),
        ("currency".into(), "currency_mismatch")
    );
}

#[test]
fn disputed_money_is_not_refunded() {
    let s = state(&[
        paid("pi_A", "ch_A", 5000, 5000, "usd"),
        disputed("dp_1", "pi_A", "ch_A", 3000, "usd", "needs_response"),
    ]);
    let r = refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap();
    assert_eq!(r[0].amount_minor, 2000);
    assert_eq!(
        code(refunds(&input(Some("pi_A"), Some("20.01"), "usd"), &s)),
        ("amount".into(), "charge_disputed")
    );
    assert_eq!(
        code(refunds(&input(Some("pi_A"), Some("50.01"), "usd"), &s)),
        ("amount".into(), "amount_too_large")
    );
    // Won: the money came back and can be refunded.
    let won = s
        .merged(&disputed("dp_1", "pi_A", "ch_A", 3000, "usd", "won"))
        .unwrap();
    assert_eq!(
        refunds(&input(Some("pi_A"), None, "usd"), &won).unwrap()[0].amount_minor,
        5000
    );
    // The whole payment disputed: nothing to refund, because of the dispute.
    let all = state(&[
        paid("pi_A", "ch_A", 5000, 5000, "usd"),
        disputed("dp_1", "pi_A", "ch_A", 5000, "usd", "lost"),
    ]);
    assert_eq!(
        code(refunds(&input(Some("pi_A"), None, "usd"), &all)),
        ("amount".into(), "charge_disputed")
    );
}

/// Found by the `payment` fuzz target: a lost dispute with a negative amount made the
/// remaining refundable money larger than the payment (4.6e18 minor units of a 649.24 USD
/// charge).
#[test]
fn negative_dispute_or_refund_amounts_never_add_refundable_money() {
    for extra in [
        disputed(
            "dp_1",
            "pi_A",
            "ch_A",
            -4_629_771_061_636_907_163,
            "usd",
            "lost",
        ),
        disputed("dp_1", "pi_A", "ch_A", -100, "usd", "needs_response"),
        refunded("re_neg", "pi_A", "ch_A", -100, "usd"),
    ] {
        let s = state(&[paid("pi_A", "ch_A", 64924, 64924, "usd"), extra]);
        if let Ok(r) = refunds(&input(None, None, "usd"), &s) {
            let total: i64 = r.iter().map(|r| r.amount_minor).sum();
            assert!(total <= 64924, "{total}");
        }
        assert_eq!(
            code(refunds(&input(Some("pi_A"), Some("649.25"), "usd"), &s)).1,
            "amount_too_large"
        );
    }
}

#[test]
fn zero_and_three_decimal_currencies() {
    let s = state(&[paid("pi_J", "ch_J", 5000, 5000, "jpy")]);
    let r = refunds(&input(Some("pi_J"), Some("500"), "JPY"), &s).unwrap();
    assert_eq!(r[0].amount_minor, 500);
    assert!(r[0].body.contains("amount=500&"));
    assert_eq!(
        code(refunds(&input(Some("pi_J"), Some("500.5"), "jpy"), &s)).1,
        "amount_too_precise"
    );
    let s = state(&[paid("pi_K", "ch_K", 12340, 12340, "kwd")]);
    let r = refunds(&input(Some("pi_K"), Some("1.230"), "kwd"), &s).unwrap();
    assert_eq!((r[0].amount_minor, r[0].currency.as_str()), (1230, "KWD"));
    assert_eq!(
        code(refunds(&input(Some("pi_K"), Some("1.235"), "kwd"), &s)).1,
        "amount_not_a_multiple"
    );
}

#[test]
fn idempotency_keys_follow_return_payment_and_amount() {
    let s = state(&[paid("pi_A", "ch_A", 5000, 5000, "usd")]);
    let key = |i: &RefundInput| refunds(i, &s).unwrap()[0].idempotency_key.clone();
    let base = input(Some("pi_A"), Some("10.00"), "usd");
    assert_eq!(key(&base), key(&base.clone()));
    let mut other_return = base.clone();
    other_return.return_id = Some("rr_8".into());
    let mut credit_note = base.clone();
    credit_note.return_id = None;
    credit_note.credit_note_id = Some("rr_7".into());
    let mut other_amount = base.clone();
    other_amount.amount = Some("10.01".into());
    let keys = [
        key(&base),
        key(&other_return),
        key(&credit_note),
        key(&other_amount),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in keys.iter().skip(i + 1) {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn a_charge_refunded_figure_counts_when_refund_events_are_missing() {
    let mut charge_refunded = paid("pi_A", "ch_A", 5000, 5000, "usd");
    charge_refunded.amount_refunded_minor = Some(1500);
    charge_refunded.event_id = "evt_refunded".into();
    charge_refunded.created = 1_700_000_400;
    let s = state(&[charge_refunded]);
    assert_eq!(
        refunds(&input(Some("pi_A"), None, "usd"), &s).unwrap()[0].amount_minor,
        3500
    );
}

#[test]
fn ids_in_paths_are_checked() {
    for bad in ["../x", "pi_", "pi_a/b", "pi_a?x=1", "ch_1", "", "pi_a b"] {
        assert_eq!(
            stripe_id("payment_intent", bad, &["pi_"]).unwrap_err().code,
            "invalid_id",
            "{bad:?}"
        );
    }
    assert_eq!(
        stripe_id("payment_intent", "pi_3Qb_x9", &["pi_"]).unwrap(),
        "pi_3Qb_x9"
    );
}

#[test]
fn every_parameter_sent_is_in_the_api_description() {
    // The one place for parameters newer than the 2023-08-16 description: none today.
    assert!(NEWER_PARAMETERS.is_empty());
}

#[test]
fn unknown_input_fields_are_refused() {
    let e = serde_json::from_value::<RefundInput>(
        json!({"order_id": "1", "currency": "usd", "ammount": "1"}),
    );
    assert!(e.unwrap_err().to_string().contains("ammount"));
}

#[test]
fn a_refund_request_has_one_fingerprint() {
    let input = |amount: &str| -> RefundInput {
        serde_json::from_value(serde_json::json!({"order_id": "1", "currency": "usd",
            "amount": amount, "return_id": "rr_1"}))
        .unwrap()
    };
    assert_eq!(input("1.00").fingerprint(), input("1.00").fingerprint());
    assert_ne!(input("1.00").fingerprint(), input("2.00").fingerprint());
    assert!(input("1.00")
        .fingerprint()
        .starts_with("sb-refund-request-"));
}
