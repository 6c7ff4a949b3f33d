//! `stripe_bridge::actions` against an independent model of an order's money.
//!
//! Random orders in zero-, two- and three-decimal currencies with one to three payment
//! attempts (paid in full or in part, authorized, canceled; some disputed) are built as Stripe
//! would report them — synthetic events, normalized and merged like webhooks — and then asked
//! for random sequences of refunds. The model keeps captured, refunded and disputed money per
//! payment in plain integers and says, for each request, what must happen: which refusal
//! (field and code) or which refunds (payment and amount). Every refund accepted is applied
//! to the state by merging its `refund.created` event, and to the model, before the next.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};
use stripe_bridge::actions::{
    self, CancelInput, CaptureInput, OrderUpdate, RefundInput, ShopCustomer, CANCELLATION_REASONS,
    REFUND_REASONS,
};
use stripe_bridge::payment_request::StripeRequest;
use stripe_bridge::{normalize_json, NormalizeOptions, OrderState, Record};

const ORDER: &str = "R-1001";

#[derive(Debug, Clone, Copy)]
struct Cur {
    code: &'static str,
    exp: u32,
    /// Stripe's multiple of minor units (10 for three-decimal currencies).
    multiple: i64,
}

const CURS: [Cur; 5] = [
    Cur {
        code: "JPY",
        exp: 0,
        multiple: 1,
    },
    Cur {
        code: "USD",
        exp: 2,
        multiple: 1,
    },
    Cur {
        code: "EUR",
        exp: 2,
        multiple: 1,
    },
    Cur {
        code: "KWD",
        exp: 3,
        multiple: 10,
    },
    Cur {
        code: "BHD",
        exp: 3,
        multiple: 10,
    },
];

/// `minor` as a decimal string with `exp` decimals, written here without the crate's money
/// module.
fn decimal(minor: i64, exp: u32) -> String {
    if exp == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.abs();
    format!(
        "{sign}{}.{:0width$}",
        m / scale,
        m % scale,
        width = exp as usize
    )
}

// ---------------------------------------------------------------------------------------------
// Orders as Stripe reports them
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Paid,
    /// Captured this many permille of the amount (manual capture of less).
    PaidPart(u16),
    Authorized,
    Canceled,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DisputeEnd {
    Open,
    Lost,
    Won,
}

#[derive(Debug, Clone)]
struct AttemptPlan {
    amount: i64,
    outcome: Outcome,
    /// How it ends, and its share of the captured amount in permille.
    dispute: Option<(DisputeEnd, u16)>,
}

fn pi(i: usize) -> String {
    format!("pi_T{i}")
}
fn ch(i: usize) -> String {
    format!("ch_T{i}")
}

fn normalized(id: &str, ty: &str, created: i64, object: Value) -> Record {
    let event = json!({
        "id": id, "object": "event", "type": ty, "created": created, "livemode": false,
        "api_version": "2025-03-31.basil", "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "data": {"object": object},
    });
    normalize_json(
        &serde_json::to_vec(&event).unwrap(),
        &NormalizeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{ty}: {e}"))
}

fn captured_of(plan: &AttemptPlan, cur: Cur) -> i64 {
    match plan.outcome {
        Outcome::Paid => plan.amount,
        Outcome::PaidPart(p) => {
            let part = plan.amount * i64::from(p) / 1000 / cur.multiple * cur.multiple;
            part.max(cur.multiple)
        }
        Outcome::Authorized | Outcome::Canceled => 0,
    }
}

fn disputed_of(plan: &AttemptPlan, cur: Cur) -> (i64, Option<DisputeEnd>) {
    let captured = captured_of(plan, cur);
    match plan.dispute {
        Some((end, p)) if captured > 0 => {
            let amount = (captured * i64::from(p) / 1000 / cur.multiple * cur.multiple)
                .clamp(cur.multiple, captured);
            (amount, Some(end))
        }
        _ => (0, None),
    }
}

/// The events of one attempt, normalized.
fn attempt_records(i: usize, plan: &AttemptPlan, cur: Cur) -> Vec<Record> {
    let captured = captured_of(plan, cur);
    let (status, ty, received) = match plan.outcome {
        Outcome::Paid | Outcome::PaidPart(_) => ("succeeded", "payment_intent.succeeded", captured),
        Outcome::Authorized => (
            "requires_capture",
            "payment_intent.amount_capturable_updated",
            0,
        ),
        Outcome::Canceled => ("canceled", "payment_intent.canceled", 0),
    };
    let object = json!({
        "id": pi(i), "object": "payment_intent", "amount": plan.amount,
        "amount_received": received, "currency": cur.code.to_ascii_lowercase(),
        "status": status, "latest_charge": ch(i), "metadata": {"order_id": ORDER},
        "cancellation_reason": if status == "canceled" { json!("abandoned") } else { json!(null) },
    });
    let mut records = vec![normalized(
        &format!("evt_{i}"),
        ty,
        1_700_000_000 + i as i64,
        object,
    )];
    let (amount, end) = disputed_of(plan, cur);
    if let Some(end) = end {
        let dispute = |status: &str| {
            json!({
                "id": format!("dp_T{i}"), "object": "dispute", "amount": amount,
                "charge": ch(i), "payment_intent": pi(i), "status": status,
                "currency": cur.code.to_ascii_lowercase(), "reason": "fraudulent", "metadata": {},
            })
        };
        let t = 1_700_000_100 + i as i64;
        records.push(normalized(
            &format!("evt_dp{i}"),
            "charge.dispute.created",
            t,
            dispute("needs_response"),
        ));
        let closed = match end {
            DisputeEnd::Open => None,
            DisputeEnd::Lost => Some("lost"),
            DisputeEnd::Won => Some("won"),
        };
        if let Some(status) = closed {
            records.push(normalized(
                &format!("evt_dpc{i}"),
                "charge.dispute.closed",
                t + 1,
                dispute(status),
            ));
        }
    }
    records
}

fn refund_record(n: usize, i: usize, amount: i64, cur: Cur) -> Record {
    let object = json!({
        "id": format!("re_T{n}"), "object": "refund", "amount": amount, "charge": ch(i),
        "payment_intent": pi(i), "currency": cur.code.to_ascii_lowercase(),
        "status": "succeeded", "reason": "requested_by_customer", "metadata": {"order_id": ORDER},
    });
    normalized(
        &format!("evt_re{n}"),
        "refund.created",
        1_700_001_000 + n as i64,
        object,
    )
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// Money per payment, in minor units.
#[derive(Debug, Clone)]
struct Model {
    cur: Cur,
    captured: Vec<i64>,
    refunded: Vec<i64>,
    /// Held by open or lost disputes (won ones hold nothing).
    held: Vec<i64>,
}

impl Model {
    fn undisputed(&self, i: usize) -> i64 {
        (self.captured[i] - self.refunded[i]).max(0)
    }
    fn remaining(&self, i: usize) -> i64 {
        (self.undisputed(i) - self.held[i]).max(0)
    }
}

#[derive(Debug, Clone, Copy)]
enum Pay {
    Pi(usize),
    Charge(usize),
    Unknown,
    /// None given: the order's payments.
    Order,
}

#[derive(Debug, Clone, Copy)]
enum Amount {
    /// None: all that remains.
    All,
    /// This many permille of what remains (of the payment, or of the order).
    Share(u16),
    TooPrecise,
    NotAMultiple,
    Zero,
    Negative,
}

#[derive(Debug, Clone, Copy)]
struct Op {
    pay: Pay,
    amount: Amount,
    wrong_currency: bool,
    return_id: Option<u8>,
}

type Expected = Result<Vec<(usize, i64)>, (&'static str, &'static str)>;

/// What must happen, and the amount text sent.
fn oracle(m: &Model, op: Op) -> (Option<String>, Expected) {
    let cur = m.cur;
    let n = m.captured.len();
    let base = match op.pay {
        Pay::Pi(i) | Pay::Charge(i) if i < n => m.remaining(i).max(cur.multiple),
        Pay::Order => (0..n)
            .map(|i| m.remaining(i))
            .sum::<i64>()
            .max(cur.multiple),
        _ => 1000 * cur.multiple,
    };
    let share =
        |p: u16| (base * i64::from(p) / 1000 / cur.multiple * cur.multiple).max(cur.multiple);
    let (text, wanted) = match op.amount {
        Amount::All => (None, None),
        Amount::Share(p) if op.wrong_currency => {
            (Some((share(p) / cur.multiple).to_string()), Some(1))
        }
        Amount::Share(p) => (Some(decimal(share(p), cur.exp)), Some(share(p))),
        Amount::TooPrecise => {
            let t = if cur.exp == 0 {
                format!("{}.5", share(500))
            } else {
                format!("{}1", decimal(share(500), cur.exp))
            };
            return (Some(t), Err(("amount", "amount_too_precise")));
        }
        Amount::NotAMultiple if cur.multiple > 1 => {
            return (
                Some(decimal(share(500) + 5, cur.exp)),
                Err(("amount", "amount_not_a_multiple")),
            );
        }
        Amount::NotAMultiple | Amount::Zero => {
            return (Some("0".into()), Err(("amount", "amount_not_positive")))
        }
        Amount::Negative => {
            return (
                Some(decimal(-share(500), cur.exp)),
                Err(("amount", "amount_not_positive")),
            )
        }
    };
    (text, state_oracle(m, op, wanted))
}

/// The checks against the order's money.
fn state_oracle(m: &Model, op: Op, wanted: Option<i64>) -> Expected {
    let n = m.captured.len();
    // Too much: because of a dispute when the undisputed money would have been enough.
    let too_much = |wanted: i64, undisputed: i64, held: i64| {
        if held > 0 && wanted.max(1) <= undisputed {
            ("amount", "charge_disputed")
        } else {
            ("amount", "amount_too_large")
        }
    };
    let i = match op.pay {
        Pay::Unknown => return Err(("payment", "unknown_payment")),
        Pay::Pi(i) | Pay::Charge(i) if i >= n => return Err(("payment", "unknown_payment")),
        Pay::Pi(i) | Pay::Charge(i) => i,
        Pay::Order => {
            let paid: Vec<usize> = (0..n).filter(|&i| m.captured[i] > 0).collect();
            if paid.is_empty() {
                return Err(("payment", "not_captured"));
            }
            if op.wrong_currency {
                return Err(("currency", "currency_mismatch"));
            }
            let remaining: i64 = paid.iter().map(|&i| m.remaining(i)).sum();
            let undisputed: i64 = paid.iter().map(|&i| m.undisputed(i)).sum();
            let held: i64 = paid.iter().map(|&i| m.held[i]).sum();
            let wanted = wanted.unwrap_or(remaining);
            if wanted == 0 || wanted > remaining {
                return Err(too_much(wanted, undisputed, held));
            }
            let mut order = paid;
            order.sort_by_key(|&i| (std::cmp::Reverse(m.remaining(i)), pi(i)));
            let mut left = wanted;
            let mut parts = Vec::new();
            for i in order {
                let take = left.min(m.remaining(i));
                if take > 0 {
                    parts.push((i, take));
                    left -= take;
                }
            }
            return Ok(parts);
        }
    };
    if m.captured[i] == 0 {
        return Err(("payment", "not_captured"));
    }
    if op.wrong_currency {
        return Err(("currency", "currency_mismatch"));
    }
    let wanted = wanted.unwrap_or(m.remaining(i));
    if wanted == 0 || wanted > m.remaining(i) {
        return Err(too_much(wanted, m.undisputed(i), m.held[i]));
    }
    Ok(vec![(i, wanted)])
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

fn pairs(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn refund_input(op: Op, cur: Cur, amount: Option<String>) -> RefundInput {
    let currency = if op.wrong_currency {
        CURS.iter().find(|c| c.code != cur.code).unwrap().code
    } else {
        cur.code
    };
    RefundInput {
        order_id: ORDER.into(),
        payment: match op.pay {
            Pay::Pi(i) => Some(pi(i)),
            Pay::Charge(i) => Some(ch(i)),
            Pay::Unknown => Some("pi_Unknown".into()),
            Pay::Order => None,
        },
        amount,
        currency: currency.to_ascii_lowercase(),
        reason: Some("requested_by_customer".into()),
        return_id: op.return_id.map(|r| format!("rr_{r}")),
        credit_note_id: None,
        metadata: Default::default(),
    }
}

/// The payment index and amount of each request, checking its shape on the way.
fn parts_of(requests: &[StripeRequest], op: Op, cur: Cur) -> Vec<(usize, i64)> {
    requests
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method, r.path.as_str(), r.currency.as_str()),
                ("POST", "/v1/refunds", cur.code)
            );
            let body = pairs(&r.body);
            let (param, id) = &body[0];
            let expected_param = if matches!(op.pay, Pay::Charge(_)) {
                "charge"
            } else {
                "payment_intent"
            };
            assert_eq!(param, expected_param, "{}", r.body);
            let i: usize = id[4..].parse().unwrap();
            assert_eq!(body[1], ("amount".to_owned(), r.amount_minor.to_string()));
            assert!(body.contains(&("metadata[order_id]".to_owned(), ORDER.to_owned())));
            if let Some(r) = op.return_id {
                assert!(body.contains(&("metadata[return_id]".to_owned(), format!("rr_{r}"))));
            }
            assert!(r.idempotency_key.starts_with("sb-refund-"));
            (i, r.amount_minor)
        })
        .collect()
}

fn run(cur: Cur, plans: &[AttemptPlan], ops: &[Op]) -> Result<(), TestCaseError> {
    let records: Vec<Record> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, p)| attempt_records(i, p, cur))
        .collect();
    let mut state = OrderState::from_records(&records).unwrap();
    let mut model = Model {
        cur,
        captured: plans.iter().map(|p| captured_of(p, cur)).collect(),
        refunded: vec![0; plans.len()],
        held: plans
            .iter()
            .map(|p| match disputed_of(p, cur) {
                (amount, Some(DisputeEnd::Open | DisputeEnd::Lost)) => amount,
                _ => 0,
            })
            .collect(),
    };
    let mut keys: HashMap<String, (Option<u8>, usize, i64)> = HashMap::new();
    let mut refund_no = 0;
    for &op in ops {
        let (amount, expected) = oracle(&model, op);
        let input = refund_input(op, cur, amount);
        let got = actions::refunds(&input, &state);
        let requests = match (expected, got) {
            (Err(want), Err(e)) => {
                prop_assert_eq!((e.field.as_str(), e.code), want, "{:?} {}", op, e);
                continue;
            }
            (Ok(want), Ok(requests)) => {
                prop_assert_eq!(parts_of(&requests, op, cur), want, "{:?}", op);
                requests
            }
            (want, got) => {
                return Err(TestCaseError::fail(format!(
                    "{op:?}: expected {want:?}, got {got:?}\nmodel {model:?}"
                )))
            }
        };
        // Deterministic: the same input and state give the same requests and keys.
        prop_assert_eq!(&actions::refunds(&input, &state).unwrap(), &requests);
        for (r, (i, amount)) in requests.iter().zip(parts_of(&requests, op, cur)) {
            let id = (op.return_id, i, amount);
            if let Some(seen) = keys.insert(r.idempotency_key.clone(), id) {
                prop_assert_eq!(seen, id, "one key for two refunds");
            }
            state
                .merge(&refund_record(refund_no, i, amount, cur))
                .unwrap();
            refund_no += 1;
            model.refunded[i] += amount;
        }
        for (i, attempt) in state.attempts.iter().enumerate() {
            prop_assert_eq!(&attempt.id, &pi(i));
            prop_assert_eq!(attempt.amount_refunded_minor, model.refunded[i]);
            // Never more refunded than captured, nor than the disputes leave.
            prop_assert!(
                attempt.amount_refunded_minor + model.held[i] <= attempt.amount_captured_minor
            );
        }
    }
    // Distinct (return, payment, amount) never share a key.
    let mut by_id: HashMap<(Option<u8>, usize, i64), &String> = HashMap::new();
    for (key, id) in &keys {
        if let Some(other) = by_id.insert(*id, key) {
            prop_assert_eq!(other, key, "two keys for one refund");
        }
    }
    Ok(())
}

fn attempt_strategy() -> impl Strategy<Value = AttemptPlan> {
    let outcome = prop_oneof![
        3 => Just(Outcome::Paid),
        2 => (1u16..1000).prop_map(Outcome::PaidPart),
        1 => Just(Outcome::Authorized),
        1 => Just(Outcome::Canceled),
    ];
    let end = prop_oneof![
        Just(DisputeEnd::Open),
        Just(DisputeEnd::Lost),
        Just(DisputeEnd::Won)
    ];
    let dispute = prop_oneof![3 => Just(None), 1 => (end, 1u16..=1000).prop_map(Some)];
    (50i64..200_000, outcome, dispute).prop_map(|(units, outcome, dispute)| AttemptPlan {
        amount: units,
        outcome,
        dispute,
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let pay = prop_oneof![
        4 => (0usize..3).prop_map(Pay::Pi),
        2 => (0usize..3).prop_map(Pay::Charge),
        1 => Just(Pay::Unknown),
        4 => Just(Pay::Order),
    ];
    let amount = prop_oneof![
        3 => Just(Amount::All),
        6 => (1u16..=1000).prop_map(Amount::Share),
        2 => (1001u16..=1500).prop_map(Amount::Share),
        1 => Just(Amount::TooPrecise),
        1 => Just(Amount::NotAMultiple),
        1 => Just(Amount::Zero),
        1 => Just(Amount::Negative),
    ];
    let wrong = prop_oneof![9 => Just(false), 1 => Just(true)];
    (pay, amount, wrong, proptest::option::of(0u8..3)).prop_map(
        |(pay, amount, wrong_currency, return_id)| {
            // A wrong currency is tried with whole amounts (valid in every currency) or none.
            let amount = match amount {
                Amount::All | Amount::Share(_) => amount,
                _ if wrong_currency => Amount::Share(500),
                other => other,
            };
            Op {
                pay,
                amount,
                wrong_currency,
                return_id,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn refunds_never_exceed_what_was_captured(
        cur in 0usize..CURS.len(),
        plans in proptest::collection::vec(attempt_strategy(), 1..=3),
        ops in proptest::collection::vec(op_strategy(), 1..=12),
    ) {
        let cur = CURS[cur];
        let plans: Vec<AttemptPlan> = plans
            .into_iter()
            .map(|p| AttemptPlan { amount: p.amount * cur.multiple, ..p })
            .collect();
        run(cur, &plans, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Captures against random authorizations
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn captures_never_exceed_the_authorization(
        cur in 0usize..CURS.len(),
        units in 50i64..200_000,
        permille in 1u16..=1500,
        full in any::<bool>(),
        paid in any::<bool>(),
    ) {
        let cur = CURS[cur];
        let amount = units * cur.multiple;
        let outcome = if paid { Outcome::Paid } else { Outcome::Authorized };
        let plan = AttemptPlan { amount, outcome, dispute: None };
        let state = OrderState::from_records(&attempt_records(0, &plan, cur)).unwrap();
        let asked = (amount * i64::from(permille) / 1000 / cur.multiple * cur.multiple).max(cur.multiple);
        let input = CaptureInput {
            order_id: ORDER.into(),
            payment_intent: pi(0),
            amount: (!full).then(|| decimal(asked, cur.exp)),
            currency: cur.code.into(),
            metadata: Default::default(),
        };
        let got = actions::capture(&input, Some(&state));
        let expected = if paid {
            Err(("payment_intent", "not_authorized"))
        } else if !full && asked > amount {
            Err(("amount", "amount_too_large"))
        } else {
            Ok(if full { amount } else { asked })
        };
        match (expected, got) {
            (Ok(minor), Ok(r)) => {
                prop_assert_eq!(r.amount_minor, minor);
                let body = pairs(&r.body);
                let to_capture = body.iter().find(|(k, _)| k == "amount_to_capture").map(|(_, v)| v.clone());
                prop_assert_eq!(to_capture, (!full).then(|| asked.to_string()));
                prop_assert_eq!(r.path, format!("/v1/payment_intents/{}/capture", pi(0)));
            }
            (Err(want), Err(e)) => prop_assert_eq!((e.field.as_str(), e.code), want),
            (want, got) => return Err(TestCaseError::fail(format!("expected {want:?}, got {got:?}"))),
        }
        // Cancel: only what took no money.
        let cancel = CancelInput { order_id: ORDER.into(), payment_intent: pi(0), reason: None };
        prop_assert_eq!(actions::cancel(&cancel, Some(&state)).is_ok(), !paid);
    }
}

// ---------------------------------------------------------------------------------------------
// Every parameter sent is one Stripe's API description knows
// ---------------------------------------------------------------------------------------------

/// Stripe's OpenAPI description (API 2023-08-16) beside the repository, when it is there.
fn api_description() -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/stripe-openapi/spec3.json");
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap()),
        Err(_) => {
            eprintln!(
                "note: {} not found; API description checks skipped",
                path.display()
            );
            None
        }
    }
}

/// The form parameters of `POST {template}`.
fn form_params<'a>(spec: &'a Value, template: &str) -> &'a serde_json::Map<String, Value> {
    spec["paths"][template]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no form parameters for POST {template}"))
}

/// Checks every key of `request`'s body against the description of `template`.
fn check_against(spec: &Value, template: &str, request: &StripeRequest) {
    let params = form_params(spec, template);
    for (key, _) in pairs(&request.body) {
        let (top, rest) = key.split_once('[').unwrap_or((&key, ""));
        let param = params
            .get(top)
            .unwrap_or_else(|| panic!("POST {template}: {top} is not a parameter"));
        if top == "metadata" || rest.is_empty() {
            continue;
        }
        let sub = rest.trim_end_matches(']');
        let schema = param.get("anyOf").map_or(param, |any| &any[0]);
        assert!(
            schema["properties"].get(sub).is_some(),
            "POST {template}: {top}[{sub}]"
        );
    }
}

fn enum_of(spec: &Value, template: &str, param: &str) -> Vec<String> {
    let mut values: Vec<String> = form_params(spec, template)[param]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    values.sort();
    values
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn every_parameter_sent_is_in_the_api_description() {
    assert!(actions::NEWER_PARAMETERS.is_empty());
    let Some(spec) = api_description() else {
        return;
    };
    let plan = AttemptPlan {
        amount: 5000,
        outcome: Outcome::Paid,
        dispute: None,
    };
    let state = OrderState::from_records(&attempt_records(0, &plan, CURS[1])).unwrap();
    let mut refund = refund_input(
        Op {
            pay: Pay::Pi(0),
            amount: Amount::All,
            wrong_currency: false,
            return_id: Some(1),
        },
        CURS[1],
        Some("10.00".into()),
    );
    refund.credit_note_id = Some("CN-1".into());
    refund.metadata.insert("note".into(), "x".into());
    for r in actions::refunds(&refund, &state).unwrap() {
        check_against(&spec, "/v1/refunds", &r);
    }
    let capture = CaptureInput {
        order_id: ORDER.into(),
        payment_intent: pi(0),
        amount: Some("10.00".into()),
        currency: "usd".into(),
        metadata: [("a".to_owned(), "b".to_owned())].into(),
    };
    let capture = actions::capture(&capture, None).unwrap();
    check_against(&spec, "/v1/payment_intents/{intent}/capture", &capture);
    let cancel = CancelInput {
        order_id: ORDER.into(),
        payment_intent: pi(0),
        reason: Some("abandoned".into()),
    };
    check_against(
        &spec,
        "/v1/payment_intents/{intent}/cancel",
        &actions::cancel(&cancel, None).unwrap(),
    );
    let customer: ShopCustomer = serde_json::from_value(json!({
        "customer_id": "C-1", "email": "a@example.com", "name": "A", "phone": "+1 555",
        "description": "VIP", "metadata": {"tier": "gold"},
        "address": {"line1": "1 Main St", "line2": "Apt 2", "city": "Springfield",
                    "state": "IL", "postal_code": "62701", "country": "US"},
    }))
    .unwrap();
    check_against(
        &spec,
        "/v1/customers",
        &actions::create_customer(&customer).unwrap(),
    );
    let update = actions::update_customer("cus_1", &customer).unwrap();
    check_against(&spec, "/v1/customers/{customer}", &update);
    let order: OrderUpdate = serde_json::from_value(json!({
        "order_id": ORDER, "payment_intent": "pi_T0", "order_number": "SO-1",
        "order_status": "shipped", "description": "Order SO-1", "metadata": {"x": "y"},
    }))
    .unwrap();
    check_against(
        &spec,
        "/v1/payment_intents/{intent}",
        &actions::order_update(&order).unwrap(),
    );
    // The reasons are Stripe's.
    assert_eq!(
        enum_of(&spec, "/v1/refunds", "reason"),
        sorted(REFUND_REASONS)
    );
    let cancel_reasons = enum_of(
        &spec,
        "/v1/payment_intents/{intent}/cancel",
        "cancellation_reason",
    );
    assert_eq!(cancel_reasons, sorted(CANCELLATION_REASONS));
    // The search takes `query`; the limits are Stripe's.
    let search = &spec["paths"]["/v1/customers/search"]["get"]["parameters"];
    assert!(search
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "query" && p["in"] == "query"));
    let customers = form_params(&spec, "/v1/customers");
    for (param, max) in [
        ("name", actions::NAME_MAX_LEN),
        ("phone", actions::PHONE_MAX_LEN),
        ("description", actions::CUSTOMER_DESCRIPTION_MAX_LEN),
        ("email", 512),
    ] {
        assert_eq!(customers[param]["maxLength"], json!(max), "{param}");
    }
    let address = &customers["address"]["anyOf"][0]["properties"];
    assert_eq!(
        address["line1"]["maxLength"],
        json!(actions::ADDRESS_FIELD_MAX_LEN)
    );
    let pi_params = form_params(&spec, "/v1/payment_intents/{intent}");
    assert_eq!(
        pi_params["description"]["maxLength"],
        json!(stripe_bridge::payment_request::DESCRIPTION_MAX_LEN)
    );
}

#[test]
fn a_search_answer_names_the_customer_to_update() {
    let path = actions::customer_search_path("C-7'").unwrap();
    assert_eq!(
        path,
        "/v1/customers/search?query=metadata%5B%27customer_id%27%5D%3A%27C-7%5C%27%27"
    );
    let found = actions::found_customer(br#"{"object":"search_result","data":[{"id":"cus_Q1","created":5}],"has_more":false,"next_page":null,"url":"/v1/customers/search"}"#).unwrap();
    let customer: ShopCustomer = serde_json::from_value(json!({"customer_id": "C-7'"})).unwrap();
    let update = actions::update_customer(found.as_deref().unwrap(), &customer).unwrap();
    assert_eq!(
        (update.path.as_str(), update.body.as_str()),
        ("/v1/customers/cus_Q1", "metadata%5Bcustomer_id%5D=C-7%27")
    );
}
