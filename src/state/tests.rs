use super::*;
use crate::normalize::{normalize_json, NormalizeOptions};

fn rec(event_type: &str, created: i64, object: &str) -> Record {
    let json = format!(
        r#"{{"id":"evt_{created}_{event_type}","type":"{event_type}","created":{created},"data":{{"object":{object}}}}}"#
    );
    normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
}
fn pi(event_type: &str, created: i64, status: &str) -> Record {
    rec(
        event_type,
        created,
        &format!(
            r#"{{"id":"pi_1","object":"payment_intent","amount":5000,"amount_received":5000,"currency":"usd","status":"{status}","metadata":{{"order_id":"A-1"}}}}"#
        ),
    )
}

fn refund(id: &str, created: i64, amount: i64, status: &str) -> Record {
    let event = if status == "failed" {
        "refund.failed"
    } else {
        "refund.created"
    };
    rec(
        event,
        created,
        &format!(
            r#"{{"id":"{id}","object":"refund","amount":{amount},"currency":"usd","status":"{status}","charge":"ch_1","payment_intent":"pi_1"}}"#
        ),
    )
}

#[test]
fn late_processing_never_downgrades_paid() {
    let mut s = OrderState::default();
    s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
        .unwrap();
    assert_eq!(s.status, Some(Status::Paid));
    let out = s
        .merge(&pi("payment_intent.processing", 10, "processing"))
        .unwrap();
    assert_eq!(s.status, Some(Status::Paid));
    assert_eq!(out, MergeOutcome::Unchanged);
    assert_eq!(s.amount_paid.unwrap().to_string(), "50.00");
    assert_eq!(s.order_ref.as_deref(), Some("A-1"));
}

#[test]
fn latest_open_status_wins_and_retry_can_succeed() {
    let mut s = OrderState::default();
    s.merge(&pi(
        "payment_intent.payment_failed",
        10,
        "requires_payment_method",
    ))
    .unwrap();
    s.merge(&pi("payment_intent.requires_action", 20, "requires_action"))
        .unwrap();
    assert_eq!(s.status, Some(Status::RequiresAction));
    s.merge(&pi("payment_intent.created", 1, "requires_payment_method"))
        .unwrap();
    assert_eq!(s.status, Some(Status::RequiresAction));
    s.merge(&pi("payment_intent.succeeded", 30, "succeeded"))
        .unwrap();
    assert_eq!(s.status, Some(Status::Paid));
}

#[test]
fn same_refund_twice_counts_once() {
    let mut s = OrderState::default();
    s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
        .unwrap();
    let r = refund("re_1", 30, 1000, "succeeded");
    s.merge(&r).unwrap();
    assert_eq!(s.merge(&r).unwrap(), MergeOutcome::Unchanged);
    assert_eq!(s.amount_refunded_minor, Some(1000));
    assert_eq!(s.status, Some(Status::PartiallyRefunded));
    s.merge(&refund("re_2", 40, 4000, "succeeded")).unwrap();
    assert_eq!(s.status, Some(Status::Refunded));
    assert_eq!(s.amount_refunded.unwrap().to_string(), "50.00");
    // re_2 fails later: it stops counting.
    s.merge(&refund("re_2", 50, 4000, "failed")).unwrap();
    assert_eq!(s.status, Some(Status::PartiallyRefunded));
    assert_eq!(s.amount_refunded_minor, Some(1000));
}

#[test]
fn disagreeing_refs_and_currencies_are_kept_and_named_in_any_order() {
    let usd = pi("payment_intent.succeeded", 2, "succeeded");
    let eur = rec(
        "payment_intent.succeeded",
        3,
        r#"{"id":"pi_2","object":"payment_intent","amount":4000,"currency":"eur","status":"succeeded","metadata":{"order_id":"B-2"}}"#,
    );
    let a = OrderState::from_records([&usd, &eur]).unwrap();
    let b = OrderState::from_records([&eur, &usd]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.order_ref.as_deref(), Some("A-1"));
    assert_eq!(a.currency, None);
    assert_eq!(a.amount_paid_minor, None);
    assert_eq!(a.totals["USD"].paid_minor, 5000);
    assert_eq!(a.totals["EUR"].paid_minor, 4000);
    assert_eq!(
        a.conflicts,
        vec![
            "order refs: A-1, B-2".to_owned(),
            "currencies: EUR, USD".to_owned()
        ]
    );
    assert_eq!(a.status, Some(Status::Paid));
}

#[test]
fn disputes_override_and_resolve() {
    let mut s = OrderState::default();
    s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
        .unwrap();
    let d = |t: &str, at: i64, st: &str| {
        rec(
            t,
            at,
            &format!(
                r#"{{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd","status":"{st}","charge":"ch_1"}}"#
            ),
        )
    };
    s.merge(&d("charge.dispute.closed", 50, "won")).unwrap();
    s.merge(&d("charge.dispute.created", 30, "needs_response"))
        .unwrap();
    assert_eq!(s.status, Some(Status::DisputeWon));
}

fn charge(event_type: &str, at: i64, id: &str, fields: &str) -> Record {
    rec(
        event_type,
        at,
        &format!(
            r#"{{"id":"{id}","object":"charge","currency":"usd","payment_intent":"pi_1","metadata":{{"order_id":"A-1"}},{fields}}}"#
        ),
    )
}

#[test]
fn partial_capture_refunded_in_full_is_refunded() {
    let records = [
        pi(
            "payment_intent.amount_capturable_updated",
            10,
            "requires_capture",
        ),
        charge(
            "charge.captured",
            20,
            "ch_1",
            r#""amount":5000,"amount_captured":3000,"captured":true,"status":"succeeded""#,
        ),
        charge(
            "charge.refunded",
            30,
            "ch_1",
            r#""amount":5000,"amount_captured":3000,"amount_refunded":3000,"refunded":true,"captured":true,"status":"succeeded""#,
        ),
    ];
    let s = OrderState::from_records(&records).unwrap();
    assert_eq!(s.amount_paid_minor, Some(3000));
    assert_eq!(s.status, Some(Status::Refunded));
}

#[test]
fn released_authorization_is_canceled_not_refunded() {
    let records = [
        pi(
            "payment_intent.amount_capturable_updated",
            10,
            "requires_capture",
        ),
        pi("payment_intent.canceled", 20, "canceled"),
        charge(
            "charge.refunded",
            20,
            "ch_1",
            r#""amount":5000,"amount_captured":0,"amount_refunded":5000,"refunded":true,"captured":false,"status":"succeeded""#,
        ),
    ];
    assert_eq!(records[2].status, Status::Canceled);
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let s = OrderState::from_records(order.iter().map(|i| &records[*i])).unwrap();
        assert_eq!(s.status, Some(Status::Canceled), "{order:?}");
        assert_eq!(s.amount_paid_minor, None);
    }
}

#[test]
fn refund_failing_after_the_charge_reported_it_stops_counting() {
    let s = OrderState::from_records(&[
        pi("payment_intent.succeeded", 10, "succeeded"),
        refund("re_1", 20, 1000, "succeeded"),
        charge(
            "charge.refunded",
            30,
            "ch_1",
            r#""amount":5000,"amount_refunded":1000,"captured":true,"status":"succeeded""#,
        ),
        refund("re_1", 40, 1000, "failed"),
    ])
    .unwrap();
    assert_eq!(s.amount_refunded_minor, Some(0));
    assert_eq!(s.status, Some(Status::Paid));
}

#[test]
fn refunds_are_kept_per_charge() {
    let s = OrderState::from_records(&[
        charge(
            "charge.refunded",
            20,
            "ch_A",
            r#""amount":5000,"amount_refunded":5000,"refunded":true,"captured":true,"status":"succeeded""#,
        ),
        charge(
            "charge.succeeded",
            30,
            "ch_B",
            r#""amount":5000,"amount_refunded":0,"captured":true,"status":"succeeded""#,
        ),
    ])
    .unwrap();
    assert_eq!(s.amount_refunded_minor, Some(5000));
    assert_eq!(s.status, Some(Status::Refunded));
}

#[test]
fn refund_without_known_payment_is_partial() {
    let s = OrderState::from_records(&[refund("re_1", 20, 100, "pending")]).unwrap();
    assert_eq!(s.status, Some(Status::PartiallyRefunded));
}

#[test]
fn state_round_trips_through_json() {
    let mut s = OrderState::default();
    s.merge(&pi("payment_intent.succeeded", 20, "succeeded"))
        .unwrap();
    s.merge(&refund("re_1", 30, 1000, "succeeded")).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: OrderState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "partially_refunded");
    assert_eq!(v["amount_refunded"], "10.00");
}
