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

fn refund_of(id: &str, created: i64, amount: i64, charge: &str) -> Record {
    rec(
        "refund.created",
        created,
        &format!(
            r#"{{"id":"{id}","object":"refund","amount":{amount},"currency":"usd","status":"succeeded","charge":"{charge}","payment_intent":"pi_1","metadata":{{}}}}"#
        ),
    )
}

fn pi_with(event_type: &str, created: i64, fields: &str) -> Record {
    rec(
        event_type,
        created,
        &format!(
            r#"{{"id":"pi_1","object":"payment_intent","currency":"usd","metadata":{{"order_id":"A-1"}},{fields}}}"#
        ),
    )
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
        // Stripe's figure counts the 2000 the capture released as refunded too.
        charge(
            "charge.refunded",
            30,
            "ch_1",
            r#""amount":5000,"amount_captured":3000,"amount_refunded":5000,"refunded":true,"captured":true,"status":"succeeded""#,
        ),
    ];
    let s = OrderState::from_records(&records).unwrap();
    assert_eq!(s.amount_paid_minor, Some(3000));
    assert_eq!(s.amount_refunded_minor, Some(3000));
    assert_eq!(s.status, Some(Status::Refunded));
}

/// A partial capture releases the rest of the authorization, which Stripe reports in the
/// charge's `amount_refunded` ("any additional amount will be automatically refunded"): the
/// order is paid what was captured, and nothing was refunded until a refund takes some back.
#[test]
fn partial_capture_is_paid_not_refunded() {
    let captured = r#""amount":5000,"amount_captured":3000,"amount_refunded":2000,"refunded":false,"captured":true,"status":"succeeded""#;
    let embedded = r#""amount":5000,"amount_received":3000,"status":"succeeded","latest_charge":{"id":"ch_1","object":"charge","amount":5000,"amount_captured":3000,"captured":true,"amount_refunded":2000}"#;
    let records = [
        pi(
            "payment_intent.amount_capturable_updated",
            10,
            "requires_capture",
        ),
        charge("charge.captured", 20, "ch_1", captured),
        pi_with("payment_intent.succeeded", 21, embedded),
    ];
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let s = OrderState::from_records(&order.map(|i| records[i].clone())).unwrap();
        assert_eq!(s.amount_paid_minor, Some(3000), "{order:?}");
        assert_eq!(s.amount_refunded_minor.unwrap_or(0), 0, "{order:?}");
        assert_eq!(s.status, Some(Status::Paid), "{order:?}");
    }
    // Should Stripe report the release itself as charge.refunded, the record says paid.
    assert_eq!(
        charge("charge.refunded", 20, "ch_1", captured).status,
        Status::Paid
    );
    let refunded = charge(
        "charge.refunded",
        30,
        "ch_1",
        r#""amount":5000,"amount_captured":3000,"amount_refunded":3000,"refunded":false,"captured":true,"status":"succeeded""#,
    );
    assert_eq!(refunded.status, Status::PartiallyRefunded);
    let mut with_refund = records.to_vec();
    with_refund.push(refunded);
    let s = OrderState::from_records(&with_refund).unwrap();
    assert_eq!(s.amount_refunded_minor, Some(1000));
    assert_eq!(s.status, Some(Status::PartiallyRefunded));
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
    // The release's own refund object (Stripe: the cancel "refunds" what was capturable)
    // returns nothing either, in any order.
    let mut with_refund = records.to_vec();
    with_refund.push(refund_of("re_release", 20, 5000, "ch_1"));
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [3, 0, 1, 2], [1, 3, 2, 0]] {
        let s = OrderState::from_records(order.iter().map(|i| &with_refund[*i])).unwrap();
        assert_eq!(s.status, Some(Status::Canceled), "{order:?}");
        assert_eq!(s.amount_refunded_minor.unwrap_or(0), 0, "{order:?}");
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

/// A declined PaymentIntent (`last_payment_error`, with the payment method Stripe expands).
fn pi_declined(at: i64, charge: &str, decline: &str, message: &str) -> Record {
    rec(
        "payment_intent.payment_failed",
        at,
        &format!(
            r#"{{"id":"pi_1","object":"payment_intent","amount":5000,"currency":"usd","status":"requires_payment_method","latest_charge":"{charge}",
              "last_payment_error":{{"code":"card_declined","decline_code":"{decline}","message":"{message}","type":"card_error","charge":"{charge}",
              "payment_method":{{"id":"pm_1","type":"card","card":{{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}},
              "billing_details":{{"email":"jenny@example.com","name":"Jenny Rosen"}}}}}},"metadata":{{"order_id":"A-1"}}}}"#
        ),
    )
}

/// A failed charge (`failure_code`, `failure_message`; no decline code).
fn charge_failed(at: i64, id: &str, message: &str) -> Record {
    charge(
        "charge.failed",
        at,
        id,
        &format!(
            r#""amount":5000,"captured":false,"status":"failed","failure_code":"card_declined","failure_message":"{message}""#
        ),
    )
}

fn failure(code: &str, decline: Option<&str>, message: &str) -> Failure {
    Failure {
        code: Some(code.to_owned()),
        message: Some(message.to_owned()),
        decline_code: decline.map(str::to_owned),
    }
}

/// Every permutation of `0..n` (Heap's algorithm).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, a, out);
            a.swap(if k % 2 == 0 { i } else { 0 }, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(n, &mut (0..n).collect(), &mut out);
    out
}

/// Two declines of one PaymentIntent (each reported by its charge and by the PaymentIntent in
/// the same second) after its creation.
fn two_declines() -> Vec<Record> {
    vec![
        pi("payment_intent.created", 10, "requires_payment_method"),
        charge_failed(20, "ch_1", "Your card has insufficient funds."),
        pi_declined(
            20,
            "ch_1",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        charge_failed(30, "ch_2", "Your card was declined."),
        pi_declined(30, "ch_2", "generic_decline", "Your card was declined."),
    ]
}

fn check_two_declines(s: &OrderState, order: &[usize]) {
    assert_eq!(s.status, Some(Status::Failed), "{order:?}");
    let [a] = s.attempts.as_slice() else {
        panic!("one attempt: {:?}", s.attempts)
    };
    assert_eq!(
        a.failure,
        Some(failure(
            "card_declined",
            Some("generic_decline"),
            "Your card was declined."
        )),
        "{order:?}"
    );
    assert_eq!(a.failed_at, Some(30), "{order:?}");
    let object = |id: &str| {
        let o = &s.objects[id];
        (o.failed_at, o.failure.clone())
    };
    let first = failure("card_declined", None, "Your card has insufficient funds.");
    assert_eq!(object("ch_1"), (Some(20), Some(first)), "{order:?}");
    assert_eq!(object("pi_1").0, Some(30), "{order:?}");
}

#[test]
fn the_latest_failure_is_kept_under_every_delivery_order_with_duplicates() {
    let records = two_declines();
    let expected = OrderState::from_records(&records).unwrap();
    check_two_declines(&expected, &[0, 1, 2, 3, 4]);
    for order in permutations(records.len()) {
        // As delivered, then with the first and the last delivered again (before and after).
        let (first, last) = (order[0], order[order.len() - 1]);
        let with_duplicates: Vec<usize> = std::iter::once(last)
            .chain(order.iter().copied())
            .chain([first, last])
            .collect();
        for seq in [&order, &with_duplicates] {
            let s = OrderState::from_records(seq.iter().map(|i| &records[*i])).unwrap();
            check_two_declines(&s, seq);
            assert_eq!(s, expected, "{seq:?}");
        }
    }
}

#[test]
fn a_failure_joins_associatively_and_idempotently() {
    // Merging a state's records into another state that already holds some of them (in any
    // grouping) ends in the same state: what a replay onto a stored state does.
    let records = two_declines();
    let expected = OrderState::from_records(&records).unwrap();
    for split in 0..=records.len() {
        let mut s = OrderState::from_records(records[split..].iter().rev()).unwrap();
        for r in records.iter().take(split).chain(&records) {
            s.merge(r).unwrap();
        }
        assert_eq!(s, expected, "split at {split}");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<OrderState>(&json).unwrap(), s);
    }
}

#[test]
fn two_failures_at_the_same_second_keep_the_same_one_in_either_order() {
    let a = pi_declined(
        20,
        "ch_1",
        "insufficient_funds",
        "Your card has insufficient funds.",
    );
    let b = pi_declined(20, "ch_1", "do_not_honor", "Your card was declined.");
    let ab = OrderState::from_records([&a, &b]).unwrap();
    assert_eq!(ab, OrderState::from_records([&b, &a]).unwrap());
    // The whole value decides, never the arrival: the code (equal), then the message ("Your
    // card was declined." > "Your card has insufficient funds."), then the decline code.
    let want = failure(
        "card_declined",
        Some("do_not_honor"),
        "Your card was declined.",
    );
    assert_eq!(ab.attempts[0].failure, Some(want));
    // The charge's report of the same decline (no decline code) never hides the PaymentIntent's.
    let c = charge_failed(20, "ch_1", "Your card has insufficient funds.");
    let d = pi_declined(
        20,
        "ch_1",
        "insufficient_funds",
        "Your card has insufficient funds.",
    );
    for seq in [[&c, &d], [&d, &c]] {
        let s = OrderState::from_records(seq).unwrap();
        let f = s.attempts[0].failure.as_ref().unwrap();
        assert_eq!(f.decline_code.as_deref(), Some("insufficient_funds"));
    }
}

#[test]
fn a_later_success_or_retry_hides_the_failure_from_the_attempt() {
    let declined = pi_declined(
        20,
        "ch_1",
        "insufficient_funds",
        "Your card has insufficient funds.",
    );
    let kept = Some(failure(
        "card_declined",
        Some("insufficient_funds"),
        "Your card has insufficient funds.",
    ));
    let paid = pi("payment_intent.succeeded", 40, "succeeded");
    for seq in [[&declined, &paid], [&paid, &declined]] {
        let s = OrderState::from_records(seq).unwrap();
        assert_eq!(s.status, Some(Status::Paid));
        assert_eq!(s.attempts[0].failure, None);
        assert_eq!(s.attempts[0].failed_at, None);
        // The object keeps what it said.
        assert_eq!(s.objects["pi_1"].failure, kept);
        assert_eq!(s.objects["pi_1"].failed_at, Some(20));
    }
    // A retry that needs the customer (3-D Secure): live again, the decline is not shown; a
    // second decline shows the second one.
    let retry = pi("payment_intent.requires_action", 30, "requires_action");
    let mut s = OrderState::from_records([&retry, &declined]).unwrap();
    assert_eq!(s.status, Some(Status::RequiresAction));
    assert_eq!(s.attempts[0].failure, None);
    s.merge(&pi_declined(
        35,
        "ch_2",
        "authentication_required",
        "Your card was declined.",
    ))
    .unwrap();
    assert_eq!(s.status, Some(Status::Failed));
    let f = s.attempts[0].failure.as_ref().unwrap();
    assert_eq!(f.decline_code.as_deref(), Some("authentication_required"));
    assert_eq!(s.attempts[0].failed_at, Some(35));
    // A canceled attempt ended: no failure shown either.
    s.merge(&pi("payment_intent.canceled", 50, "canceled"))
        .unwrap();
    assert_eq!(s.status, Some(Status::Canceled));
    assert_eq!(s.attempts[0].failure, None);
}

#[test]
fn failures_keep_no_payment_method_details() {
    let s = OrderState::from_records(&two_declines()).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    for secret in ["pm_1", "4242", "visa", "jenny", "Jenny", "2030"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["attempts"][0]["failure"],
        serde_json::json!({"code": "card_declined", "message": "Your card was declined.", "decline_code": "generic_decline"})
    );
    assert_eq!(v["attempts"][0]["failed_at"], 30);
    assert_eq!(
        v["objects"]["ch_1"]["failure"]["decline_code"],
        serde_json::Value::Null
    );
    assert_eq!(v["objects"]["pi_1"]["failed_at"], 30);
}

#[test]
fn states_without_failures_read_as_before() {
    // Version 1: no failure anywhere.
    let s: OrderState = serde_json::from_str(V1_PARTIALLY_REFUNDED).unwrap();
    assert!(s
        .objects
        .values()
        .all(|o| o.failure.is_none() && o.failed_at.is_none()));
    assert!(s.attempts.iter().all(|a| a.failure.is_none()));
    let failed = r#"{"order_ref":"A-1","currency":"USD","amount_minor":5000,"payment_intents":["pi_1"],
      "base":{"tier":1,"at":20,"rank":2,"status":"failed"}}"#;
    let mut s: OrderState = serde_json::from_str(failed).unwrap();
    assert_eq!(s.attempts[0].status, Some(Status::Failed));
    assert_eq!(s.attempts[0].failure, None);
    // Then a decline with its reason arrives: shown.
    s.merge(&pi_declined(
        30,
        "ch_1",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ))
    .unwrap();
    assert_eq!(s.attempts[0].failed_at, Some(30));
    let f = s.attempts[0].failure.as_ref().unwrap();
    assert_eq!(f.decline_code.as_deref(), Some("insufficient_funds"));
    // Version 2 written before the field: the same state as with `failure: null`.
    let mut v = serde_json::to_value(OrderState::from_records(&two_declines()).unwrap()).unwrap();
    let with = serde_json::from_value::<OrderState>(v.clone()).unwrap();
    for o in v["objects"].as_object_mut().unwrap().values_mut() {
        let o = o.as_object_mut().unwrap();
        o.remove("failure");
        o.remove("failed_at");
    }
    for a in v["attempts"].as_array_mut().unwrap() {
        let a = a.as_object_mut().unwrap();
        a.remove("failure");
        a.remove("failed_at");
    }
    let without: OrderState = serde_json::from_value(v).unwrap();
    assert_eq!(without.schema_version, 2);
    assert_eq!(without.status, with.status);
    assert!(without.attempts.iter().all(|a| a.failure.is_none()));
    assert!(without.objects.values().all(|o| o.failure.is_none()));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 256, failure_persistence: None, ..Default::default()
    })]

    /// Declines, retries and a success of one order, shuffled and duplicated: one state.
    #[test]
    fn shuffled_and_duplicated_failures_converge(
        order in proptest::strategy::Strategy::prop_shuffle(proptest::strategy::Just((0..8usize).collect::<Vec<_>>())),
        dupes in proptest::collection::vec((0..8usize, 0..9usize), 0..6),
        paid in proptest::bool::ANY,
    ) {
        let mut records = two_declines();
        records.push(pi("payment_intent.requires_action", 25, "requires_action"));
        records.push(charge_failed(30, "ch_3", "Your card's security code is incorrect."));
        records.push(if paid {
            pi("payment_intent.succeeded", 40, "succeeded")
        } else {
            pi("payment_intent.processing", 5, "processing")
        });
        let expected = OrderState::from_records(&records).unwrap();
        let mut seq = order.clone();
        for (record, at) in dupes {
            seq.insert(at.min(seq.len()), record);
        }
        let s = OrderState::from_records(seq.iter().map(|i| &records[*i])).unwrap();
        proptest::prop_assert_eq!(&s, &expected, "{:?}", seq);
        let shown = s.attempts[0].failure.as_ref().map(|f| f.message.clone().unwrap_or_default());
        if paid {
            proptest::prop_assert_eq!(shown, None);
        } else {
            // ch_3's report at 30 wins over the PaymentIntent's by its message.
            proptest::prop_assert_eq!(shown.as_deref(), Some("Your card's security code is incorrect."));
        }
    }
}
