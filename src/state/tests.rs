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

/// A state as version 1 wrote it (field names and shapes of that release).
const V1_PARTIALLY_REFUNDED: &str = r#"{"order_ref":"A-1","status":"partially_refunded","currency":"USD",
  "amount":"50.00","amount_minor":5000,"amount_paid":"50.00","amount_paid_minor":5000,"amount_refunded":"10.00",
  "amount_refunded_minor":1000,"customer_id":"cus_1","payment_intents":["pi_1"],"charges":["ch_1"],"invoices":[],
  "checkout_sessions":["cs_1"],"payouts":[],"refunds":{"re_1":{"stage":2,"at":30,"amount_minor":1000,"charge":"ch_1"},
  "re_2":{"stage":3,"at":40,"amount_minor":500,"charge":"ch_1"}},"disputes":{},"last_event_at":40,"last_event_id":"evt_4",
  "paid_charge":"ch_1","fee_minor":175,"net_minor":4825,"settlement_currency":"USD","payment_method_type":"card",
  "paid_at":20,"base":{"tier":4,"at":0,"rank":0,"status":"paid"},"charge_refunded":{"ch_1":[35,1500]}}"#;

#[test]
fn version_1_states_are_upgraded() {
    let s: OrderState = serde_json::from_str(V1_PARTIALLY_REFUNDED).unwrap();
    assert_eq!(s.schema_version, SCHEMA_VERSION);
    assert_eq!(s.status, Some(Status::PartiallyRefunded));
    assert_eq!(s.amount_paid_minor, Some(5000));
    // The charge reported 1500 at 35; re_2 (500) failed at 40, after it: 1000 count.
    assert_eq!(s.amount_refunded_minor, Some(1000));
    assert_eq!(s.order_ref.as_deref(), Some("A-1"));
    assert_eq!(s.paid_at, Some(20));
    assert_eq!(s.payment_intent(), Some("pi_1"));
    assert_eq!(s.charge(), Some("ch_1"));
    assert_eq!(s.attempts.len(), 1);
    // A redelivered refund changes nothing; the upgraded state merges on.
    let mut next = s.clone();
    next.merge(&refund("re_1", 30, 1000, "succeeded")).unwrap();
    assert_eq!(next.amount_refunded_minor, Some(1000));
    next.merge(&refund("re_3", 50, 4000, "succeeded")).unwrap();
    assert_eq!(next.status, Some(Status::Refunded));
    // A failed payment's time survives the upgrade: a late `created` does not undo it.
    let failed = r#"{"order_ref":"A-1","currency":"USD","amount_minor":5000,"payment_intents":["pi_1"],
      "base":{"tier":1,"at":20,"rank":2,"status":"failed"}}"#;
    let mut s: OrderState = serde_json::from_str(failed).unwrap();
    assert_eq!(s.status, Some(Status::Failed));
    s.merge(&pi("payment_intent.created", 10, "requires_payment_method"))
        .unwrap();
    assert_eq!(s.status, Some(Status::Failed));
    // A state from a newer version is refused, not misread.
    assert!(serde_json::from_str::<OrderState>(r#"{"schema_version":3}"#).is_err());
}

#[test]
fn records_of_one_object_at_the_same_second_merge_alike_in_any_order() {
    let failed = refund("re_1", 30, 1000, "failed");
    let canceled = rec(
        "refund.updated",
        30,
        r#"{"id":"re_1","object":"refund","amount":1000,"currency":"usd","status":"canceled","charge":"ch_1"}"#,
    );
    let d = |t: &str, fields: &str| {
        rec(
            t,
            40,
            &format!(
                r#"{{"id":"dp_1","object":"dispute","amount":5000,"currency":"usd","status":"needs_response",{fields}}}"#
            ),
        )
    };
    let d1 = d(
        "charge.dispute.created",
        r#""charge":"ch_1","reason":"fraudulent""#,
    );
    let d2 = d(
        "charge.dispute.funds_withdrawn",
        r#""charge":"ch_1","payment_intent":"pi_1","reason":"general""#,
    );
    for (a, b) in [(&failed, &canceled), (&d1, &d2)] {
        let ab = OrderState::from_records([a, b]).unwrap();
        let ba = OrderState::from_records([b, a]).unwrap();
        assert_eq!(
            serde_json::to_string(&ab).unwrap(),
            serde_json::to_string(&ba).unwrap()
        );
    }
}
