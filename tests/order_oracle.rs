//! An independent oracle for the order state.
//!
//! A generator draws a whole order *scenario* (1-3 payment attempts with their outcomes,
//! refunds, disputes, an early fraud warning, a Radar review), builds the Stripe events each
//! step sends (realistic JSON of the current API shapes), normalizes them and delivers them
//! shuffled and with duplicates. The expected state is computed from the scenario alone by the
//! order contract below, never from the events nor from the merge code:
//!
//! - `amount_paid_minor`: sum of the captured money of every attempt (a double payment counts
//!   twice); `amount_requested_minor`: the largest amount an attempt asked for; `overpaid`:
//!   paid > requested.
//! - `amount_refunded_minor`: every refund once (by id) whose latest status is pending or
//!   succeeded.
//! - `status`: `disputed` while a dispute is open; else, with money captured: `dispute_lost`,
//!   `refunded` (returned >= paid), `partially_refunded` (returned > 0), `dispute_won`, `paid`,
//!   where returned = counted refunds + lost disputes, and per charge max(prevented dispute,
//!   counted refunds) when a prevented dispute exists; with nothing captured: `authorized`, else
//!   `pending` while an attempt is processing, else the outcome of the most recent attempt.
//! - Early fraud warnings and reviews never change the status; they set `fraud_warning` and
//!   `review_open` (open iff the review's latest event is `review.opened`).

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use serde_json::{json, Value};
use stripe_bridge::{normalize_json, NormalizeOptions, OrderState, Record, Status};

// ---------------------------------------------------------------------------------------------
// Currencies
// ---------------------------------------------------------------------------------------------

/// A currency with the granularity of its minor amounts and a realistic range of order totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cur {
    code: &'static str,
    /// Minor amounts must be multiples of this (10 for three-decimal, 100 for ISK).
    gran: i64,
    /// Smallest and largest order total, minor units.
    min: i64,
    max: i64,
}

const CURRENCIES: [Cur; 9] = [
    // zero-decimal
    Cur {
        code: "JPY",
        gran: 1,
        min: 50,
        max: 300_000,
    },
    Cur {
        code: "KRW",
        gran: 1,
        min: 1_000,
        max: 3_000_000,
    },
    // two-decimal
    Cur {
        code: "USD",
        gran: 1,
        min: 50,
        max: 500_000,
    },
    Cur {
        code: "EUR",
        gran: 1,
        min: 50,
        max: 500_000,
    },
    Cur {
        code: "GBP",
        gran: 1,
        min: 30,
        max: 400_000,
    },
    // three-decimal: the last digit of the minor amount is 0
    Cur {
        code: "KWD",
        gran: 10,
        min: 500,
        max: 200_000,
    },
    Cur {
        code: "BHD",
        gran: 10,
        min: 500,
        max: 200_000,
    },
    // special: HUF charges with two decimals (min 175 Ft), ISK in whole units only
    Cur {
        code: "HUF",
        gran: 1,
        min: 17_500,
        max: 20_000_000,
    },
    Cur {
        code: "ISK",
        gran: 100,
        min: 10_000,
        max: 50_000_000,
    },
];

const API_VERSIONS: [&str; 3] = ["2025-03-31.basil", "2025-08-27.basil", "2025-09-30.clover"];

/// Rounds down to the currency's granularity.
fn down(amount: i64, gran: i64) -> i64 {
    amount / gran * gran
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PaidHow {
    /// Automatic capture by card.
    Card,
    /// SEPA Direct Debit: processing for days, then succeeded.
    Sepa,
    /// Manual capture of the whole authorization.
    Manual,
    /// Manual capture of part of the authorization (per mille of the total).
    ManualPartial(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailHow {
    Card,
    /// SEPA debit that bounced after processing.
    SepaAsync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CancelHow {
    /// The PaymentIntent was canceled before any money moved.
    Plain,
    /// An authorization released by canceling the PaymentIntent.
    ReleasedAuth,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpireHow {
    /// A Checkout Session that expired before it created a PaymentIntent.
    SessionNoPi,
    /// A Checkout Session that expired; Stripe cancels its PaymentIntent.
    SessionWithPi,
    /// An uncaptured authorization that expired after 7 days.
    AuthExpiry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Paid(PaidHow),
    Authorized,
    Processing,
    Failed(FailHow),
    Canceled(CancelHow),
    Expired(ExpireHow),
}

impl Outcome {
    fn is_paid(self) -> bool {
        matches!(self, Outcome::Paid(_))
    }
    /// Whether the attempt ends with a successful (captured or held) card/SEPA charge.
    fn has_good_charge(self) -> bool {
        matches!(self, Outcome::Paid(_) | Outcome::Authorized)
    }
    fn is_sepa(self) -> bool {
        matches!(
            self,
            Outcome::Paid(PaidHow::Sepa)
                | Outcome::Processing
                | Outcome::Failed(FailHow::SepaAsync)
        )
    }
    fn manual_capture(self) -> bool {
        matches!(
            self,
            Outcome::Authorized
                | Outcome::Paid(PaidHow::Manual | PaidHow::ManualPartial(_))
                | Outcome::Canceled(CancelHow::ReleasedAuth)
                | Outcome::Expired(ExpireHow::AuthExpiry)
        )
    }
    fn checkout_required(self) -> bool {
        matches!(
            self,
            Outcome::Expired(ExpireHow::SessionNoPi | ExpireHow::SessionWithPi)
        )
    }
    fn checkout_allowed(self) -> bool {
        self.checkout_required()
            || matches!(
                self,
                Outcome::Paid(PaidHow::Card | PaidHow::Sepa)
                    | Outcome::Processing
                    | Outcome::Failed(_)
            )
    }
    /// Whether a Checkout Session event of this attempt names the PaymentIntent.
    fn session_names_pi(self) -> bool {
        matches!(
            self,
            Outcome::Paid(PaidHow::Card | PaidHow::Sepa)
                | Outcome::Processing
                | Outcome::Failed(FailHow::SepaAsync)
                | Outcome::Expired(ExpireHow::SessionWithPi)
        )
    }
    /// Outcomes whose final events may arrive after a later attempt's (an abandoned session
    /// expires 24 hours later; a forgotten PaymentIntent is canceled by a cleanup job).
    fn may_end_late(self) -> bool {
        matches!(
            self,
            Outcome::Canceled(CancelHow::Plain)
                | Outcome::Expired(ExpireHow::SessionNoPi | ExpireHow::SessionWithPi)
        )
    }
    /// Whether the attempt still counts as live money (captured, held or processing).
    fn is_live(self) -> bool {
        matches!(
            self,
            Outcome::Paid(_) | Outcome::Authorized | Outcome::Processing
        )
    }
}

/// A refund's life, by the statuses its events carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefundLife {
    Succeeded,
    Pending,
    PendingSucceeded,
    /// Pending, then `refund.failed` (and/or `refund.updated` with status failed).
    PendingFailed,
    /// Succeeded, then failed (a card refund that the issuer could not deliver).
    SucceededFailed,
    /// Requires action, then canceled.
    Canceled,
}

impl RefundLife {
    fn counts(self) -> bool {
        matches!(
            self,
            RefundLife::Succeeded | RefundLife::Pending | RefundLife::PendingSucceeded
        )
    }
}

#[derive(Clone, Debug)]
struct RefundPlan {
    amount: i64,
    life: RefundLife,
    /// Stripe also sends `charge.refunded` when the refund is created.
    charge_refunded: bool,
    /// How a failure is announced: 0 `refund.failed`, 1 `refund.updated`, 2 both.
    fail_events: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DisputeEnd {
    Open,
    Won,
    Lost,
    Prevented,
}

#[derive(Clone, Debug)]
struct DisputePlan {
    amount: i64,
    end: DisputeEnd,
    /// `charge.dispute.funds_withdrawn` / `charge.dispute.updated` while open.
    updates: bool,
    /// `charge.dispute.funds_reinstated` after a win.
    reinstated: bool,
    /// A prevented dispute: `charge.dispute.created` before `charge.dispute.closed`.
    created_event: bool,
    /// A prevented dispute: Stripe's automatic refund of the same amount, if sent.
    rdr_refund: Option<RdrRefund>,
}

#[derive(Clone, Copy, Debug)]
struct RdrRefund {
    before_dispute: bool,
    charge_refunded: bool,
}

#[derive(Clone, Debug)]
struct AttemptPlan {
    outcome: Outcome,
    checkout: bool,
    requires_action: bool,
    /// A declined charge on the same PaymentIntent before its real outcome.
    failed_first: bool,
    send_created: bool,
    /// PaymentIntent (and charge) metadata carry `order_id`; otherwise the attempt joins the
    /// order only through its Checkout Session.
    pi_metadata: bool,
    /// The session carries `metadata.order_id` as well as `client_reference_id`.
    session_metadata: bool,
    /// The final events (cancel / expiry) arrive after a later attempt's events.
    late: bool,
    /// The success events (charge, PaymentIntent, session) share one `created` second.
    same_second: bool,
    charge_updated: bool,
    /// Session expiry: the PaymentIntent cancellation comes first.
    cancel_before_expiry: bool,
    captured: i64,
    refunds: Vec<RefundPlan>,
    /// All refunds are created before any of them changes status.
    refunds_interleaved: bool,
    dispute: Option<DisputePlan>,
}

#[derive(Clone, Debug)]
struct FlagPlan {
    attempt: usize,
    /// EFW: also names the PaymentIntent; review: names the charge (else only the PI).
    both_ids: bool,
    /// EFW: an `.updated` event follows; review: closed afterwards.
    second_event: bool,
}

#[derive(Clone, Debug)]
struct Plan {
    cur: Cur,
    total: i64,
    order: String,
    tag: String,
    api: &'static str,
    attempts: Vec<AttemptPlan>,
    fraud: Option<FlagPlan>,
    review: Option<FlagPlan>,
}

impl AttemptPlan {
    /// An attempt with plain defaults (for hand-written cases).
    fn new(outcome: Outcome) -> Self {
        AttemptPlan {
            outcome,
            checkout: outcome.checkout_required(),
            requires_action: false,
            failed_first: false,
            send_created: true,
            pi_metadata: true,
            session_metadata: false,
            late: false,
            same_second: false,
            charge_updated: false,
            cancel_before_expiry: false,
            captured: 0,
            refunds: Vec::new(),
            refunds_interleaved: false,
            dispute: None,
        }
    }

    fn checkout(mut self) -> Self {
        assert!(self.outcome.checkout_allowed());
        self.checkout = true;
        self
    }
}

impl Plan {
    /// A plan of hand-written attempts: captured amounts filled in.
    fn new(cur: Cur, total: i64, attempts: Vec<AttemptPlan>) -> Plan {
        let mut plan = Plan {
            cur,
            total,
            order: "ORD-7001".to_owned(),
            tag: "Reg7001".to_owned(),
            api: API_VERSIONS[0],
            attempts,
            fraud: None,
            review: None,
        };
        for a in &mut plan.attempts {
            if a.outcome.is_paid() && a.captured == 0 {
                a.captured = captured_amount(a.outcome, total, cur);
            }
        }
        plan
    }

    fn pi(&self, i: usize) -> String {
        format!("pi_3P{}A{i}", self.tag)
    }
    fn ch(&self, i: usize) -> String {
        format!("ch_3P{}A{i}", self.tag)
    }
    fn declined_ch(&self, i: usize) -> String {
        format!("ch_3P{}D{i}", self.tag)
    }
    fn cs(&self, i: usize) -> String {
        format!("cs_test_a1{}S{i}", self.tag)
    }
    fn re(&self, i: usize, k: usize) -> String {
        format!("re_3P{}A{i}R{k}", self.tag)
    }
    fn rdr_re(&self, i: usize) -> String {
        format!("re_3P{}A{i}Rdr", self.tag)
    }
    fn dp(&self, i: usize) -> String {
        format!("dp_1P{}A{i}", self.tag)
    }
    fn lc(&self) -> String {
        self.cur.code.to_ascii_lowercase()
    }
}

fn captured_amount(outcome: Outcome, total: i64, cur: Cur) -> i64 {
    match outcome {
        Outcome::Paid(PaidHow::ManualPartial(permille)) => {
            down(total * i64::from(permille) / 1000, cur.gran).max(cur.gran)
        }
        Outcome::Paid(_) => total,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle: the contract, from the scenario alone
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Expect {
    status: Option<Status>,
    currency: String,
    paid: Option<i64>,
    requested: Option<i64>,
    refunded: Option<i64>,
    overpaid: bool,
    fraud_warning: bool,
    review_open: bool,
}

fn nonzero(x: i64) -> Option<i64> {
    (x != 0).then_some(x)
}

fn oracle(plan: &Plan) -> Expect {
    let paid: i64 = plan.attempts.iter().map(|a| a.captured).sum();
    // Every attempt asks for the order total.
    let requested = plan.total;
    let mut refunded = 0;
    let mut returned = 0;
    let (mut open, mut lost, mut won, mut prevented) = (false, false, false, false);
    for a in &plan.attempts {
        let counted: i64 = a
            .refunds
            .iter()
            .filter(|r| r.life.counts())
            .map(|r| r.amount)
            .sum();
        let rdr: i64 = match &a.dispute {
            Some(d) if d.rdr_refund.is_some() => d.amount,
            _ => 0,
        };
        refunded += counted + rdr;
        let mut charge_returned = counted + rdr;
        if let Some(d) = &a.dispute {
            match d.end {
                DisputeEnd::Open => open = true,
                DisputeEnd::Won => won = true,
                DisputeEnd::Lost => {
                    lost = true;
                    charge_returned += d.amount;
                }
                DisputeEnd::Prevented => {
                    prevented = true;
                    charge_returned = charge_returned.max(d.amount);
                }
            }
        }
        returned += charge_returned;
    }
    let status = if open {
        Status::Disputed
    } else if paid > 0 || refunded > 0 || lost || prevented {
        if lost {
            Status::DisputeLost
        } else if returned >= paid {
            Status::Refunded
        } else if returned > 0 {
            Status::PartiallyRefunded
        } else if won {
            Status::DisputeWon
        } else {
            Status::Paid
        }
    } else if plan
        .attempts
        .iter()
        .any(|a| a.outcome == Outcome::Authorized)
    {
        Status::Authorized
    } else if plan
        .attempts
        .iter()
        .any(|a| a.outcome == Outcome::Processing)
    {
        Status::Pending
    } else {
        // Late endings only happen before a live attempt, so the last attempt is the most
        // recent one here.
        match plan.attempts.last().map(|a| a.outcome) {
            Some(Outcome::Failed(_)) => Status::Failed,
            Some(Outcome::Canceled(_)) => Status::Canceled,
            Some(Outcome::Expired(_)) => Status::Expired,
            other => unreachable!("{other:?}"),
        }
    };
    let review_open = plan.review.as_ref().is_some_and(|r| !r.second_event);
    Expect {
        status: Some(status),
        currency: plan.cur.code.to_owned(),
        paid: nonzero(paid),
        requested: nonzero(requested),
        refunded: Some(refunded),
        overpaid: paid > requested,
        fraud_warning: plan.fraud.is_some(),
        review_open,
    }
}

fn observed(state: &OrderState) -> Expect {
    Expect {
        status: state.status,
        currency: state.currency.clone().unwrap_or_default(),
        paid: state.amount_paid_minor,
        requested: state.amount_requested_minor,
        refunded: state.amount_refunded_minor,
        overpaid: state.overpaid,
        fraud_warning: state.fraud_warning,
        review_open: state.review_open,
    }
}

// ---------------------------------------------------------------------------------------------
// Stripe objects
// ---------------------------------------------------------------------------------------------

/// Object `created` placeholder, filled with the time of the object's first event.
const CREATED: i64 = 0;

#[derive(Clone, Copy)]
enum PiState<'a> {
    RequiresPaymentMethod,
    RequiresAction,
    /// requires_payment_method with last_payment_error from this declined charge.
    Declined(&'a str),
    Processing(&'a str),
    RequiresCapture(&'a str),
    Succeeded(&'a str, i64),
    Canceled(&'a str, Option<&'a str>),
}

fn pi_obj(plan: &Plan, i: usize, state: PiState<'_>) -> Value {
    let a = &plan.attempts[i];
    let sepa = a.outcome.is_sepa();
    let manual = a.outcome.manual_capture();
    let metadata = if a.pi_metadata {
        json!({"order_id": plan.order})
    } else {
        json!({})
    };
    let pm_types = if sepa {
        json!(["sepa_debit"])
    } else if a.checkout {
        json!(["card"])
    } else {
        json!(["card", "link"])
    };
    let mut o = json!({
        "id": plan.pi(i),
        "object": "payment_intent",
        "amount": plan.total,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "automatic_payment_methods": if a.checkout { Value::Null } else { json!({"enabled": true}) },
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": if manual { "manual" } else { "automatic_async" },
        "client_secret": format!("{}_secret_redacted", plan.pi(i)),
        "confirmation_method": "automatic",
        "created": CREATED,
        "currency": plan.lc(),
        "customer": format!("cus_{}", plan.tag),
        "description": format!("Order {}", plan.order),
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": metadata,
        "next_action": null,
        "payment_method": null,
        "payment_method_types": pm_types,
        "processing": null,
        "receipt_email": "jenny.rosen@example.com",
        "status": "requires_payment_method",
    });
    let pm = if sepa {
        "pm_sepa_debit"
    } else {
        "pm_card_visa"
    };
    match state {
        PiState::RequiresPaymentMethod => {}
        PiState::RequiresAction => {
            o["status"] = json!("requires_action");
            o["payment_method"] = json!(pm);
            o["next_action"] = json!({"type": "use_stripe_sdk", "use_stripe_sdk": {}});
        }
        PiState::Declined(charge) => {
            o["latest_charge"] = json!(charge);
            o["last_payment_error"] = if sepa {
                json!({"type": "invalid_request_error", "code": "payment_method_not_available",
                       "message": "The debit was returned by the customer's bank.", "charge": charge,
                       "payment_method": {"id": "pm_sepa_debit", "object": "payment_method", "type": "sepa_debit"}})
            } else {
                json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                       "message": "Your card has insufficient funds.", "charge": charge,
                       "payment_method": {"id": "pm_card_visa", "object": "payment_method", "type": "card"}})
            };
        }
        PiState::Processing(charge) => {
            o["status"] = json!("processing");
            o["payment_method"] = json!(pm);
            o["latest_charge"] = json!(charge);
            o["processing"] = json!({"type": "sepa_debit"});
        }
        PiState::RequiresCapture(charge) => {
            o["status"] = json!("requires_capture");
            o["payment_method"] = json!(pm);
            o["latest_charge"] = json!(charge);
            o["amount_capturable"] = json!(plan.total);
        }
        PiState::Succeeded(charge, received) => {
            o["status"] = json!("succeeded");
            o["payment_method"] = json!(pm);
            o["latest_charge"] = json!(charge);
            o["amount_received"] = json!(received);
        }
        PiState::Canceled(reason, charge) => {
            o["status"] = json!("canceled");
            o["canceled_at"] = json!(1);
            o["cancellation_reason"] = json!(reason);
            o["latest_charge"] = json!(charge);
        }
    }
    o
}

#[derive(Clone, Copy)]
struct ChargeState<'a> {
    id: &'a str,
    status: &'a str,
    captured: bool,
    amount_captured: i64,
    amount_refunded: i64,
    refunded: bool,
    failure: Option<(&'a str, &'a str)>,
    disputed: bool,
}

impl<'a> ChargeState<'a> {
    fn new(id: &'a str, status: &'a str) -> Self {
        ChargeState {
            id,
            status,
            captured: false,
            amount_captured: 0,
            amount_refunded: 0,
            refunded: false,
            failure: None,
            disputed: false,
        }
    }
    fn captured(mut self, amount: i64) -> Self {
        self.captured = true;
        self.amount_captured = amount;
        self
    }
}

fn charge_obj(plan: &Plan, i: usize, c: ChargeState<'_>) -> Value {
    let a = &plan.attempts[i];
    let sepa = a.outcome.is_sepa();
    let metadata = if a.pi_metadata {
        json!({"order_id": plan.order})
    } else {
        json!({})
    };
    let details = if sepa {
        json!({"sepa_debit": {"bank_code": "37040044", "country": "DE", "last4": "3000"}, "type": "sepa_debit"})
    } else {
        json!({"card": {"brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2030,
                         "funding": "credit", "last4": "4242", "network": "visa"}, "type": "card"})
    };
    let outcome = match (c.status, c.failure) {
        ("failed", _) => {
            json!({"network_status": "declined_by_network", "reason": "insufficient_funds",
                               "risk_level": "normal", "seller_message": "The bank declined the payment.",
                               "type": "issuer_declined"})
        }
        _ => {
            json!({"network_status": "approved_by_network", "reason": null, "risk_level": "normal",
                    "seller_message": "Payment complete.", "type": "authorized"})
        }
    };
    json!({
        "id": c.id,
        "object": "charge",
        "amount": plan.total,
        "amount_captured": c.amount_captured,
        "amount_refunded": c.amount_refunded,
        "balance_transaction": if c.captured { json!(format!("txn_{}", c.id)) } else { Value::Null },
        "billing_details": {"email": null, "name": "Jenny Rosen"},
        "captured": c.captured,
        "created": CREATED,
        "currency": plan.lc(),
        "customer": format!("cus_{}", plan.tag),
        "description": format!("Order {}", plan.order),
        "disputed": c.disputed,
        "failure_code": c.failure.map(|f| f.0),
        "failure_message": c.failure.map(|f| f.1),
        "livemode": false,
        "metadata": metadata,
        "outcome": outcome,
        "paid": c.status == "succeeded",
        "payment_intent": plan.pi(i),
        "payment_method": if sepa { "pm_sepa_debit" } else { "pm_card_visa" },
        "payment_method_details": details,
        "receipt_url": null,
        "refunded": c.refunded,
        "status": c.status,
    })
}

fn session_obj(plan: &Plan, i: usize, status: &str, payment_status: &str, pi: bool) -> Value {
    let a = &plan.attempts[i];
    let metadata = if a.session_metadata {
        json!({"order_id": plan.order})
    } else {
        json!({"customer_id": "C-77"})
    };
    json!({
        "id": plan.cs(i),
        "object": "checkout.session",
        "amount_subtotal": plan.total,
        "amount_total": plan.total,
        "client_reference_id": plan.order,
        "created": CREATED,
        "currency": plan.lc(),
        "customer": null,
        "customer_creation": "if_required",
        "customer_details": if status == "complete" {
            json!({"email": "jenny.rosen@example.com", "name": "Jenny Rosen", "phone": null, "tax_exempt": "none", "tax_ids": []})
        } else { Value::Null },
        "customer_email": null,
        "expires_at": 1,
        "invoice": null,
        "livemode": false,
        "locale": null,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": if pi { json!(plan.pi(i)) } else { Value::Null },
        "payment_method_types": if a.outcome.is_sepa() { json!(["sepa_debit"]) } else { json!(["card"]) },
        "payment_status": payment_status,
        "status": status,
        "success_url": format!("https://shop.example.com/orders/{}/thanks", plan.order),
        "ui_mode": "hosted",
        "url": null,
    })
}

fn refund_obj(plan: &Plan, i: usize, id: &str, amount: i64, status: &str, reason: &str) -> Value {
    let sepa = plan.attempts[i].outcome.is_sepa();
    let mut o = json!({
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": format!("txn_{id}"),
        "charge": plan.ch(i),
        "created": CREATED,
        "currency": plan.lc(),
        "destination_details": if sepa {
            json!({"sepa_bank_transfer": {"reference": null, "reference_status": "pending"}, "type": "sepa_bank_transfer"})
        } else {
            json!({"card": {"reference_status": "pending", "type": "refund"}, "type": "card"})
        },
        "metadata": {},
        "payment_intent": plan.pi(i),
        "reason": reason,
        "receipt_number": null,
        "status": status,
    });
    if status == "failed" {
        o["failure_reason"] = json!("expired_or_canceled_card");
    }
    if status == "requires_action" {
        o["next_action"] = json!({"type": "display_details"});
    }
    o
}

fn dispute_obj(plan: &Plan, i: usize, amount: i64, status: &str) -> Value {
    json!({
        "id": plan.dp(i),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": plan.ch(i),
        "created": CREATED,
        "currency": plan.lc(),
        "evidence_details": {"due_by": 1, "has_evidence": false, "past_due": false, "submission_count": 0},
        "is_charge_refundable": false,
        "livemode": false,
        "metadata": {},
        "payment_intent": plan.pi(i),
        "reason": "fraudulent",
        "status": status,
    })
}

// ---------------------------------------------------------------------------------------------
// Events along the scenario's timeline
// ---------------------------------------------------------------------------------------------

struct Ev {
    ty: &'static str,
    obj: Value,
    /// Same `created` second as the previous event.
    tie: bool,
}

#[derive(Default)]
struct Timeline {
    evs: Vec<Ev>,
}

impl Timeline {
    fn push(&mut self, ty: &'static str, obj: Value) {
        self.evs.push(Ev {
            ty,
            obj,
            tie: false,
        });
    }
    fn push_tied(&mut self, ty: &'static str, obj: Value, tie: bool) {
        self.evs.push(Ev { ty, obj, tie });
    }
}

/// The events of one attempt up to its outcome; events that end it late go to `late`.
fn attempt_events(plan: &Plan, i: usize, tl: &mut Timeline, late: &mut Timeline) {
    let a = &plan.attempts[i];
    let ch = plan.ch(i);
    let declined = plan.declined_ch(i);
    let tie = a.same_second;
    let session = |status: &str, ps: &str| session_obj(plan, i, status, ps, true);
    let start = |tl: &mut Timeline| {
        if a.send_created {
            tl.push(
                "payment_intent.created",
                pi_obj(plan, i, PiState::RequiresPaymentMethod),
            );
        }
        if a.requires_action {
            tl.push(
                "payment_intent.requires_action",
                pi_obj(plan, i, PiState::RequiresAction),
            );
        }
        if a.failed_first {
            tl.push(
                "charge.failed",
                charge_obj(
                    plan,
                    i,
                    ChargeState {
                        failure: Some(("card_declined", "Your card has insufficient funds.")),
                        ..ChargeState::new(&declined, "failed")
                    },
                ),
            );
            tl.push_tied(
                "payment_intent.payment_failed",
                pi_obj(plan, i, PiState::Declined(&declined)),
                tie,
            );
        }
    };
    let authorize = |tl: &mut Timeline| {
        tl.push(
            "charge.succeeded",
            charge_obj(plan, i, ChargeState::new(&ch, "succeeded")),
        );
        tl.push_tied(
            "payment_intent.amount_capturable_updated",
            pi_obj(plan, i, PiState::RequiresCapture(&ch)),
            tie,
        );
    };
    let sepa_processing = |tl: &mut Timeline| {
        tl.push(
            "payment_intent.processing",
            pi_obj(plan, i, PiState::Processing(&ch)),
        );
        tl.push_tied(
            "charge.pending",
            charge_obj(plan, i, ChargeState::new(&ch, "pending")),
            tie,
        );
        if a.checkout {
            tl.push_tied(
                "checkout.session.completed",
                session("complete", "unpaid"),
                tie,
            );
        }
    };
    match a.outcome {
        Outcome::Paid(how) => {
            match how {
                PaidHow::Card => start(tl),
                PaidHow::Sepa => {
                    if a.send_created {
                        tl.push(
                            "payment_intent.created",
                            pi_obj(plan, i, PiState::RequiresPaymentMethod),
                        );
                    }
                    sepa_processing(tl);
                }
                PaidHow::Manual | PaidHow::ManualPartial(_) => {
                    start(tl);
                    authorize(tl);
                }
            }
            let charge = ChargeState::new(&ch, "succeeded").captured(a.captured);
            if matches!(how, PaidHow::Manual | PaidHow::ManualPartial(_)) {
                tl.push("charge.captured", charge_obj(plan, i, charge));
            } else {
                tl.push("charge.succeeded", charge_obj(plan, i, charge));
            }
            tl.push_tied(
                "payment_intent.succeeded",
                pi_obj(plan, i, PiState::Succeeded(&ch, a.captured)),
                tie,
            );
            if a.checkout {
                if how == PaidHow::Sepa {
                    tl.push_tied(
                        "checkout.session.async_payment_succeeded",
                        session("complete", "paid"),
                        tie,
                    );
                } else {
                    tl.push_tied(
                        "checkout.session.completed",
                        session("complete", "paid"),
                        tie,
                    );
                }
            }
            if a.charge_updated {
                let mut o = charge_obj(plan, i, charge);
                o["balance_transaction"] = json!({
                    "id": format!("txn_{ch}"), "object": "balance_transaction", "amount": a.captured,
                    "currency": plan.lc(), "fee": 0, "net": a.captured, "type": "charge"});
                tl.push("charge.updated", o);
            }
        }
        Outcome::Authorized => {
            start(tl);
            authorize(tl);
        }
        Outcome::Processing => {
            if a.send_created {
                tl.push(
                    "payment_intent.created",
                    pi_obj(plan, i, PiState::RequiresPaymentMethod),
                );
            }
            sepa_processing(tl);
        }
        Outcome::Failed(FailHow::Card) => {
            if a.send_created {
                tl.push(
                    "payment_intent.created",
                    pi_obj(plan, i, PiState::RequiresPaymentMethod),
                );
            }
            if a.requires_action {
                tl.push(
                    "payment_intent.requires_action",
                    pi_obj(plan, i, PiState::RequiresAction),
                );
            }
            tl.push(
                "charge.failed",
                charge_obj(
                    plan,
                    i,
                    ChargeState {
                        failure: Some(("card_declined", "Your card has insufficient funds.")),
                        ..ChargeState::new(&declined, "failed")
                    },
                ),
            );
            tl.push_tied(
                "payment_intent.payment_failed",
                pi_obj(plan, i, PiState::Declined(&declined)),
                tie,
            );
        }
        Outcome::Failed(FailHow::SepaAsync) => {
            if a.send_created {
                tl.push(
                    "payment_intent.created",
                    pi_obj(plan, i, PiState::RequiresPaymentMethod),
                );
            }
            sepa_processing(tl);
            tl.push(
                "charge.failed",
                charge_obj(
                    plan,
                    i,
                    ChargeState {
                        failure: Some(("insufficient_funds", "The debit was returned.")),
                        ..ChargeState::new(&ch, "failed")
                    },
                ),
            );
            tl.push_tied(
                "payment_intent.payment_failed",
                pi_obj(plan, i, PiState::Declined(&ch)),
                tie,
            );
            if a.checkout {
                tl.push_tied(
                    "checkout.session.async_payment_failed",
                    session("complete", "unpaid"),
                    tie,
                );
            }
        }
        Outcome::Canceled(CancelHow::Plain) => {
            start(tl);
            let reason = if a.failed_first {
                "abandoned"
            } else {
                "requested_by_customer"
            };
            let latest = a.failed_first.then_some(declined.as_str());
            let end = if a.late { late } else { tl };
            end.push(
                "payment_intent.canceled",
                pi_obj(plan, i, PiState::Canceled(reason, latest)),
            );
        }
        Outcome::Canceled(CancelHow::ReleasedAuth) => {
            start(tl);
            authorize(tl);
            tl.push(
                "payment_intent.canceled",
                pi_obj(
                    plan,
                    i,
                    PiState::Canceled("requested_by_customer", Some(&ch)),
                ),
            );
            tl.push_tied(
                "charge.refunded",
                charge_obj(
                    plan,
                    i,
                    ChargeState {
                        amount_refunded: plan.total,
                        refunded: true,
                        ..ChargeState::new(&ch, "succeeded")
                    },
                ),
                tie,
            );
        }
        Outcome::Expired(ExpireHow::SessionNoPi) => {
            let end = if a.late { late } else { tl };
            end.push(
                "checkout.session.expired",
                session_obj(plan, i, "expired", "unpaid", false),
            );
        }
        Outcome::Expired(ExpireHow::SessionWithPi) => {
            start(tl);
            let latest = a.failed_first.then_some(declined.as_str());
            let end = if a.late { late } else { tl };
            let expired = session("expired", "unpaid");
            let canceled = pi_obj(plan, i, PiState::Canceled("abandoned", latest));
            if a.cancel_before_expiry {
                end.push("payment_intent.canceled", canceled);
                end.push_tied("checkout.session.expired", expired, tie);
            } else {
                end.push("checkout.session.expired", expired);
                end.push_tied("payment_intent.canceled", canceled, tie);
            }
        }
        Outcome::Expired(ExpireHow::AuthExpiry) => {
            start(tl);
            authorize(tl);
            tl.push(
                "charge.expired",
                charge_obj(plan, i, ChargeState::new(&ch, "failed")),
            );
            tl.push_tied(
                "payment_intent.canceled",
                pi_obj(plan, i, PiState::Canceled("expired", Some(&ch))),
                tie,
            );
        }
    }
}

/// Refunds and the dispute of a paid attempt's charge, after the payments.
fn money_back_events(plan: &Plan, i: usize, tl: &mut Timeline) {
    let a = &plan.attempts[i];
    let ch = plan.ch(i);
    let charge = ChargeState::new(&ch, "succeeded").captured(a.captured);
    // Refunded so far on the charge, as Stripe's `amount_refunded` shows it.
    let mut on_charge = 0;
    let charge_refunded = |tl: &mut Timeline, on_charge: i64, disputed: bool| {
        tl.push_tied(
            "charge.refunded",
            charge_obj(
                plan,
                i,
                ChargeState {
                    amount_refunded: on_charge,
                    refunded: on_charge >= a.captured,
                    disputed,
                    ..charge
                },
            ),
            a.same_second,
        );
    };
    let rdr = |tl: &mut Timeline, on_charge: &mut i64, disputed: bool| {
        if let Some(d) = &a.dispute {
            if let Some(r) = d.rdr_refund {
                let id = plan.rdr_re(i);
                tl.push(
                    "refund.created",
                    refund_obj(plan, i, &id, d.amount, "succeeded", "fraudulent"),
                );
                *on_charge += d.amount;
                if r.charge_refunded {
                    charge_refunded(tl, *on_charge, disputed);
                }
            }
        }
    };
    // Creation and later changes of the ordinary refunds.
    let mut changes: Vec<(usize, RefundLife)> = Vec::new();
    for (k, r) in a.refunds.iter().enumerate() {
        let id = plan.re(i, k);
        let first = match r.life {
            RefundLife::Succeeded | RefundLife::SucceededFailed => "succeeded",
            RefundLife::Canceled => "requires_action",
            _ => "pending",
        };
        tl.push(
            "refund.created",
            refund_obj(plan, i, &id, r.amount, first, "requested_by_customer"),
        );
        on_charge += r.amount;
        if r.charge_refunded {
            charge_refunded(tl, on_charge, false);
        }
        if a.refunds_interleaved {
            changes.push((k, r.life));
        } else {
            on_charge -= refund_change(plan, i, k, tl);
        }
    }
    for (k, _) in changes {
        on_charge -= refund_change(plan, i, k, tl);
    }
    let Some(d) = &a.dispute else { return };
    if d.rdr_refund.is_some_and(|r| r.before_dispute) {
        rdr(tl, &mut on_charge, false);
    }
    let dp = |status: &str| dispute_obj(plan, i, d.amount, status);
    match d.end {
        DisputeEnd::Prevented => {
            if d.created_event {
                tl.push("charge.dispute.created", dp("prevented"));
            }
            tl.push("charge.dispute.closed", dp("prevented"));
        }
        end => {
            tl.push("charge.dispute.created", dp("needs_response"));
            if d.updates {
                tl.push_tied("charge.dispute.funds_withdrawn", dp("needs_response"), true);
                tl.push("charge.dispute.updated", dp("under_review"));
            }
            match end {
                DisputeEnd::Won => {
                    tl.push("charge.dispute.closed", dp("won"));
                    if d.reinstated {
                        tl.push_tied("charge.dispute.funds_reinstated", dp("won"), true);
                    }
                }
                DisputeEnd::Lost => tl.push("charge.dispute.closed", dp("lost")),
                _ => {}
            }
        }
    }
    if d.rdr_refund.is_some_and(|r| !r.before_dispute) {
        rdr(tl, &mut on_charge, true);
    }
}

/// The second event of a refund's life, if any; returns the amount it takes back off the
/// charge's `amount_refunded`.
fn refund_change(plan: &Plan, i: usize, k: usize, tl: &mut Timeline) -> i64 {
    let r = &plan.attempts[i].refunds[k];
    let id = plan.re(i, k);
    let obj = |status: &str| refund_obj(plan, i, &id, r.amount, status, "requested_by_customer");
    match r.life {
        RefundLife::Succeeded | RefundLife::Pending => 0,
        RefundLife::PendingSucceeded => {
            tl.push("refund.updated", obj("succeeded"));
            0
        }
        RefundLife::PendingFailed | RefundLife::SucceededFailed => {
            match r.fail_events % 3 {
                0 => tl.push("refund.failed", obj("failed")),
                1 => tl.push("refund.updated", obj("failed")),
                _ => {
                    tl.push("refund.updated", obj("failed"));
                    tl.push_tied("refund.failed", obj("failed"), true);
                }
            }
            r.amount
        }
        RefundLife::Canceled => {
            tl.push("refund.updated", obj("canceled"));
            r.amount
        }
    }
}

/// Every event of the scenario, in the order Stripe creates them, as JSON bytes.
fn build_events(plan: &Plan) -> Vec<(String, Vec<u8>)> {
    let mut tl = Timeline::default();
    let mut late = Timeline::default();
    let mut closes = Timeline::default();
    for i in 0..plan.attempts.len() {
        attempt_events(plan, i, &mut tl, &mut late);
        let charge_ids = |both: bool| {
            (
                json!(plan.ch(i)),
                if both { json!(plan.pi(i)) } else { Value::Null },
            )
        };
        if let Some(f) = plan.fraud.as_ref().filter(|f| f.attempt == i) {
            let (charge, pi) = charge_ids(f.both_ids);
            let obj = |actionable: bool| {
                json!({"id": format!("issfr_1P{}", plan.tag), "object": "radar.early_fraud_warning",
                       "actionable": actionable, "charge": charge, "created": CREATED,
                       "fraud_type": "made_with_stolen_card", "livemode": false, "payment_intent": pi})
            };
            tl.push("radar.early_fraud_warning.created", obj(true));
            if f.second_event {
                closes.push("radar.early_fraud_warning.updated", obj(false));
            }
        }
        if let Some(r) = plan.review.as_ref().filter(|r| r.attempt == i) {
            let charge = if r.both_ids {
                json!(plan.ch(i))
            } else {
                Value::Null
            };
            let obj = |open: bool| {
                json!({"id": format!("prv_1P{}", plan.tag), "object": "review", "billing_zip": null,
                       "charge": charge, "closed_reason": if open { Value::Null } else { json!("approved") },
                       "created": CREATED, "ip_address": null, "ip_address_location": null, "livemode": false,
                       "open": open, "opened_reason": "rule", "payment_intent": plan.pi(i),
                       "reason": if open { "rule" } else { "approved" }, "session": null})
            };
            tl.push("review.opened", obj(true));
            if r.second_event {
                closes.push("review.closed", obj(false));
            }
        }
    }
    let mut rest = Timeline::default();
    for i in 0..plan.attempts.len() {
        if plan.attempts[i].outcome.is_paid() {
            money_back_events(plan, i, &mut rest);
        }
    }
    // Reviews are closed and warnings updated before money goes back; late endings last.
    let all = tl
        .evs
        .into_iter()
        .chain(closes.evs)
        .chain(rest.evs)
        .chain(late.evs);
    let mut t = 1_740_000_000i64;
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::new();
    for (n, mut ev) in all.enumerate() {
        if !ev.tie || n == 0 {
            t += 17 + (n as i64 * 53) % 400;
        }
        let id = ev.obj["id"].as_str().unwrap_or_default().to_owned();
        let born = *first_seen.entry(id).or_insert(t);
        if ev.obj.get("created") == Some(&json!(CREATED)) {
            ev.obj["created"] = json!(born);
        }
        if ev.obj.get("canceled_at") == Some(&json!(1)) {
            ev.obj["canceled_at"] = json!(t);
        }
        let event = json!({
            "id": format!("evt_3P{}E{n:03}", plan.tag),
            "object": "event",
            "api_version": plan.api,
            "created": t,
            "data": {"object": ev.obj},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": ev.ty,
        });
        out.push((ev.ty.to_owned(), serde_json::to_vec(&event).unwrap()));
    }
    out
}

fn normalize_all(events: &[(String, Vec<u8>)]) -> Vec<Record> {
    events
        .iter()
        .map(|(ty, bytes)| {
            let r = normalize_json(bytes, &NormalizeOptions::default())
                .unwrap_or_else(|e| panic!("{ty}: {e}"));
            assert!(
                !matches!(r.status, Status::Ignored | Status::Unreadable),
                "{ty} normalized to {:?}: {:?}\n{}",
                r.status,
                r.reason,
                String::from_utf8_lossy(bytes)
            );
            r
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Delivery: shuffled, with duplicates
// ---------------------------------------------------------------------------------------------

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random permutation of the records with up to half as many duplicates inserted anywhere.
fn deliver(records: &[Record], seed: u64) -> Vec<Record> {
    let mut rng = SplitMix(seed);
    let mut v = records.to_vec();
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    let dups = rng.below(records.len() / 2 + 2);
    for _ in 0..dups {
        let r = records[rng.below(records.len())].clone();
        let at = rng.below(v.len() + 1);
        v.insert(at, r);
    }
    v
}

fn fold(records: &[Record]) -> OrderState {
    OrderState::from_records(records).unwrap_or_else(|e| panic!("merge refused: {e:?}"))
}

fn describe(plan: &Plan, events: &[(String, Vec<u8>)], records: &[Record]) -> String {
    let mut s = format!("{plan:#?}\nevents in Stripe's order:\n");
    for ((ty, _), r) in events.iter().zip(records) {
        let _ = writeln!(
            s,
            "  {} {ty:<42} {:<22} status={:<18} amount={:?} refunded={:?} pi={:?} ch={:?}",
            r.created,
            r.object_id.as_deref().unwrap_or("-"),
            r.status.as_str(),
            r.amount_minor,
            r.amount_refunded_minor,
            r.payment_intent,
            r.charge
        );
    }
    s
}

/// Checks one scenario: the in-order state against the oracle, and every delivery against the
/// in-order state. `Err` carries a readable report.
fn check(plan: &Plan, seeds: &[u64]) -> Result<(), String> {
    let events = build_events(plan);
    let records = normalize_all(&events);
    let want = oracle(plan);
    let in_order = fold(&records);
    let got = observed(&in_order);
    if got != want {
        return Err(format!(
            "in-order state differs from the contract\nexpected {want:#?}\nactual   {got:#?}\nstate {in_order:#?}\n{}",
            describe(plan, &events, &records)
        ));
    }
    for &seed in seeds {
        let seq = deliver(&records, seed);
        let state = fold(&seq);
        if state != in_order {
            let order: Vec<String> = seq
                .iter()
                .map(|r| format!("{} {}", r.event_id, r.event_type))
                .collect();
            return Err(format!(
                "delivery seed {seed} differs from in-order delivery\nexpected (contract) {want:#?}\nshuffled {:#?}\nin-order state {in_order:#?}\nshuffled state {state:#?}\ndelivered: {order:#?}\n{}",
                observed(&state),
                describe(plan, &events, &records)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

fn outcome_strategy() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        6 => prop_oneof![
            4 => Just(Outcome::Paid(PaidHow::Card)),
            1 => Just(Outcome::Paid(PaidHow::Sepa)),
            1 => Just(Outcome::Paid(PaidHow::Manual)),
            1 => (300u16..1000).prop_map(|p| Outcome::Paid(PaidHow::ManualPartial(p))),
        ],
        1 => Just(Outcome::Authorized),
        1 => Just(Outcome::Processing),
        2 => prop_oneof![Just(Outcome::Failed(FailHow::Card)), Just(Outcome::Failed(FailHow::SepaAsync))],
        1 => prop_oneof![Just(Outcome::Canceled(CancelHow::Plain)), Just(Outcome::Canceled(CancelHow::ReleasedAuth))],
        2 => prop_oneof![
            Just(Outcome::Expired(ExpireHow::SessionNoPi)),
            Just(Outcome::Expired(ExpireHow::SessionWithPi)),
            Just(Outcome::Expired(ExpireHow::AuthExpiry)),
        ],
    ]
}

fn refund_life_strategy() -> impl Strategy<Value = RefundLife> {
    prop_oneof![
        3 => Just(RefundLife::Succeeded),
        1 => Just(RefundLife::Pending),
        2 => Just(RefundLife::PendingSucceeded),
        2 => Just(RefundLife::PendingFailed),
        1 => Just(RefundLife::SucceededFailed),
        1 => Just(RefundLife::Canceled),
    ]
}

fn dispute_end_strategy() -> impl Strategy<Value = DisputeEnd> {
    prop_oneof![
        Just(DisputeEnd::Open),
        Just(DisputeEnd::Won),
        Just(DisputeEnd::Lost),
        Just(DisputeEnd::Prevented),
    ]
}

/// A refund's share of the captured amount in per mille (1000: all that is left).
type RawRefund = (u16, RefundLife, bool, u8);
/// Share, end, flags.
type RawDispute = (u16, DisputeEnd, u8);

#[derive(Clone, Debug)]
struct RawAttempt {
    outcome: Outcome,
    flags: u16,
    refunds: Vec<RawRefund>,
    dispute: Option<RawDispute>,
}

fn raw_attempt_strategy() -> impl Strategy<Value = RawAttempt> {
    (
        outcome_strategy(),
        any::<u16>(),
        prop::collection::vec(
            (
                prop_oneof![1 => Just(1000u16), 3 => 1u16..1000],
                refund_life_strategy(),
                any::<bool>(),
                0u8..3,
            ),
            0..=3,
        ),
        prop::option::weighted(
            0.45,
            (
                prop_oneof![1 => Just(1000u16), 2 => 1u16..1000],
                dispute_end_strategy(),
                any::<u8>(),
            ),
        ),
    )
        .prop_map(|(outcome, flags, refunds, dispute)| RawAttempt {
            outcome,
            flags,
            refunds,
            dispute,
        })
}

/// The share of `of` in per mille, on the currency's granularity, at least one step.
fn share(of: i64, permille: u16, gran: i64) -> i64 {
    if permille >= 1000 {
        of
    } else {
        down(of * i64::from(permille) / 1000, gran).max(gran)
    }
}

fn materialize(
    cur: Cur,
    amount_pick: u32,
    api: usize,
    order_no: u32,
    raws: Vec<RawAttempt>,
    fraud: Option<(u8, bool, bool)>,
    review: Option<(u8, bool, bool)>,
) -> Plan {
    let steps = (cur.max - cur.min) / cur.gran + 1;
    let total = cur.min + (i64::from(amount_pick) % steps) * cur.gran;
    let n = raws.len();
    let outcomes: Vec<Outcome> = raws.iter().map(|r| r.outcome).collect();
    let mut attempts = Vec::new();
    for (i, raw) in raws.into_iter().enumerate() {
        let o = raw.outcome;
        let bit = |b: u16| raw.flags & (1 << b) != 0;
        let checkout = o.checkout_required() || (o.checkout_allowed() && bit(0));
        let card_flow = !o.is_sepa();
        let later_live = outcomes[i + 1..].iter().any(|x| x.is_live());
        let mut a = AttemptPlan {
            outcome: o,
            checkout,
            requires_action: card_flow && bit(1),
            failed_first: card_flow && o != Outcome::Failed(FailHow::Card) && bit(2),
            send_created: !bit(3),
            pi_metadata: !(checkout && o.session_names_pi() && bit(4)),
            session_metadata: bit(12),
            late: i + 1 < n && o.may_end_late() && later_live && (bit(5) || bit(13)),
            same_second: bit(6),
            charge_updated: bit(7),
            cancel_before_expiry: bit(9),
            captured: captured_amount(o, total, cur),
            refunds: Vec::new(),
            refunds_interleaved: bit(8),
            dispute: None,
        };
        if o.is_paid() {
            let mut left = a.captured;
            for (permille, life, charge_refunded, fail_events) in raw.refunds {
                if left < cur.gran {
                    break;
                }
                let amount = share(a.captured, permille, cur.gran).min(left);
                left -= amount;
                a.refunds.push(RefundPlan {
                    amount,
                    life,
                    charge_refunded,
                    fail_events,
                });
            }
            let counted: i64 = a
                .refunds
                .iter()
                .filter(|r| r.life.counts())
                .map(|r| r.amount)
                .sum();
            // Never more than the refunds that count left on the charge.
            let disputable = a.captured - counted;
            if let Some((permille, end, f)) = raw.dispute {
                if disputable >= cur.gran {
                    let amount = share(disputable, permille, cur.gran);
                    let fb = |b: u8| f & (1 << b) != 0;
                    a.dispute = Some(DisputePlan {
                        amount,
                        end,
                        updates: fb(0),
                        reinstated: fb(1),
                        created_event: fb(2),
                        rdr_refund: (end == DisputeEnd::Prevented && fb(3)).then_some(RdrRefund {
                            before_dispute: fb(4),
                            charge_refunded: fb(5),
                        }),
                    });
                }
            }
        }
        attempts.push(a);
    }
    let pick = |choice: Option<(u8, bool, bool)>| {
        let targets: Vec<usize> = (0..n).filter(|i| outcomes[*i].has_good_charge()).collect();
        let (k, both_ids, second_event) = choice?;
        let attempt = *targets.get(usize::from(k) % targets.len().max(1))?;
        Some(FlagPlan {
            attempt,
            both_ids,
            second_event,
        })
    };
    Plan {
        cur,
        total,
        order: format!("ORD-{order_no}"),
        tag: format!("Ox{order_no}"),
        api: API_VERSIONS[api],
        attempts,
        fraud: pick(fraud),
        review: pick(review),
    }
}

fn plan_strategy() -> impl Strategy<Value = Plan> {
    (
        0..CURRENCIES.len(),
        any::<u32>(),
        0..API_VERSIONS.len(),
        1000u32..100_000,
        prop::collection::vec(raw_attempt_strategy(), 1..=3),
        prop::option::weighted(0.25, (any::<u8>(), any::<bool>(), any::<bool>())),
        prop::option::weighted(0.25, (any::<u8>(), any::<bool>(), any::<bool>())),
    )
        .prop_map(|(c, amount, api, order_no, raws, fraud, review)| {
            materialize(CURRENCIES[c], amount, api, order_no, raws, fraud, review)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_orders_match_the_contract_in_any_delivery(
        plan in plan_strategy(),
        seeds in prop::collection::vec(any::<u64>(), 3),
    ) {
        if let Err(report) = check(&plan, &seeds) {
            prop_assert!(false, "{}", report);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Named regressions
// ---------------------------------------------------------------------------------------------

const USD: Cur = CURRENCIES[2];
const EUR: Cur = CURRENCIES[3];
const JPY: Cur = CURRENCIES[0];
const KWD: Cur = CURRENCIES[5];

/// Checks a hand-written plan in order, reversed and in 64 shuffled deliveries, and that the
/// contract says `status`.
fn check_named(plan: &Plan, status: Status) -> Expect {
    let want = oracle(plan);
    assert_eq!(want.status, Some(status), "the oracle itself: {plan:#?}");
    let seeds: Vec<u64> = (0..64).map(|k| 0x5eed_0000 + k).collect();
    if let Err(report) = check(plan, &seeds) {
        panic!("{report}");
    }
    let records = normalize_all(&build_events(plan));
    let mut reversed = records.clone();
    reversed.reverse();
    assert_eq!(fold(&reversed), fold(&records), "reversed delivery");
    want
}

fn late(mut a: AttemptPlan) -> AttemptPlan {
    a.late = true;
    a
}

#[test]
fn abandoned_session_expiring_after_another_session_paid_is_paid() {
    for how in [ExpireHow::SessionNoPi, ExpireHow::SessionWithPi] {
        let plan = Plan::new(
            EUR,
            4_990,
            vec![
                late(AttemptPlan::new(Outcome::Expired(how))),
                AttemptPlan::new(Outcome::Paid(PaidHow::Card)).checkout(),
            ],
        );
        let e = check_named(&plan, Status::Paid);
        assert_eq!(e.paid, Some(4_990));
        assert!(!e.overpaid);
    }
}

#[test]
fn abandoned_session_expiring_after_another_attempt_authorized_is_authorized() {
    for how in [ExpireHow::SessionNoPi, ExpireHow::SessionWithPi] {
        let plan = Plan::new(
            USD,
            12_000,
            vec![
                late(AttemptPlan::new(Outcome::Expired(how))),
                AttemptPlan::new(Outcome::Authorized),
            ],
        );
        let e = check_named(&plan, Status::Authorized);
        assert_eq!(e.paid, None);
        assert_eq!(e.requested, Some(12_000));
    }
}

#[test]
fn canceled_attempt_ending_after_a_processing_sepa_debit_is_pending() {
    let plan = Plan::new(
        EUR,
        25_000,
        vec![
            late(AttemptPlan::new(Outcome::Canceled(CancelHow::Plain))),
            AttemptPlan::new(Outcome::Processing).checkout(),
        ],
    );
    let e = check_named(&plan, Status::Pending);
    assert_eq!(e.paid, None);
}

#[test]
fn paid_twice_then_one_payment_refunded_in_full_is_partially_refunded_and_overpaid() {
    for (cur, total) in [(USD, 2_198), (JPY, 5_500), (KWD, 12_340)] {
        let mut second = AttemptPlan::new(Outcome::Paid(PaidHow::Card)).checkout();
        second.refunds.push(RefundPlan {
            amount: total,
            life: RefundLife::Succeeded,
            charge_refunded: true,
            fail_events: 0,
        });
        let plan = Plan::new(
            cur,
            total,
            vec![AttemptPlan::new(Outcome::Paid(PaidHow::Card)), second],
        );
        let e = check_named(&plan, Status::PartiallyRefunded);
        assert_eq!(e.paid, Some(2 * total));
        assert_eq!(e.refunded, Some(total));
        assert_eq!(e.requested, Some(total));
        assert!(e.overpaid);
    }
}

fn prevented(amount: i64, rdr_refund: Option<RdrRefund>) -> DisputePlan {
    DisputePlan {
        amount,
        end: DisputeEnd::Prevented,
        updates: false,
        reinstated: false,
        created_event: true,
        rdr_refund,
    }
}

#[test]
fn prevented_dispute_with_its_refund_counts_once_and_is_never_won() {
    for before_dispute in [false, true] {
        for charge_refunded in [false, true] {
            let rdr = Some(RdrRefund {
                before_dispute,
                charge_refunded,
            });
            // Covering the whole payment: refunded, the money once.
            let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
            a.dispute = Some(prevented(7_500, rdr));
            let plan = Plan::new(USD, 7_500, vec![a]);
            let e = check_named(&plan, Status::Refunded);
            assert_eq!(e.refunded, Some(7_500));
            // Part of it: partially refunded, never dispute_won.
            let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
            a.dispute = Some(prevented(2_500, rdr));
            let plan = Plan::new(USD, 7_500, vec![a]);
            let e = check_named(&plan, Status::PartiallyRefunded);
            assert_eq!(e.refunded, Some(2_500));
        }
    }
    // Without Stripe's refund: the prevented amount still went back.
    let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
    a.dispute = Some(prevented(7_500, None));
    check_named(&Plan::new(USD, 7_500, vec![a]), Status::Refunded);
    let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
    a.dispute = Some(prevented(1_000, None));
    check_named(&Plan::new(USD, 7_500, vec![a]), Status::PartiallyRefunded);
}

#[test]
fn failed_refund_never_counts() {
    for life in [RefundLife::PendingFailed, RefundLife::SucceededFailed] {
        for fail_events in 0..3 {
            for charge_refunded in [false, true] {
                let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
                a.refunds.push(RefundPlan {
                    amount: 3_000,
                    life,
                    charge_refunded,
                    fail_events,
                });
                let plan = Plan::new(EUR, 9_900, vec![a]);
                let e = check_named(&plan, Status::Paid);
                assert_eq!(e.refunded, Some(0), "{life:?} {fail_events}");
                // Next to a refund that succeeded: only that one.
                let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
                a.refunds.push(RefundPlan {
                    amount: 1_000,
                    life: RefundLife::Succeeded,
                    charge_refunded,
                    fail_events: 0,
                });
                a.refunds.push(RefundPlan {
                    amount: 3_000,
                    life,
                    charge_refunded,
                    fail_events,
                });
                let plan = Plan::new(EUR, 9_900, vec![a]);
                let e = check_named(&plan, Status::PartiallyRefunded);
                assert_eq!(e.refunded, Some(1_000));
            }
        }
    }
}

/// The real fixtures still normalize to the shapes this generator writes.
#[test]
fn generated_events_look_like_the_fixtures() {
    let fixture = common::own("refund_created_basil.json");
    assert_eq!(fixture.object.as_deref(), Some("refund"));
    let mut a = AttemptPlan::new(Outcome::Paid(PaidHow::Card));
    a.refunds.push(RefundPlan {
        amount: 500,
        life: RefundLife::Succeeded,
        charge_refunded: true,
        fail_events: 0,
    });
    let plan = Plan::new(USD, 2_198, vec![a]);
    let records = normalize_all(&build_events(&plan));
    let refund = records
        .iter()
        .find(|r| r.event_type == "refund.created")
        .unwrap();
    assert_eq!(refund.status, fixture.status);
    assert_eq!(refund.charge.as_deref(), Some(plan.ch(0).as_str()));
    assert_eq!(refund.amount_minor, Some(500));
    let pi = records
        .iter()
        .find(|r| r.event_type == "payment_intent.succeeded")
        .unwrap();
    assert_eq!(pi.order_ref.as_deref(), Some("ORD-7001"));
    assert_eq!(pi.currency.as_deref(), Some("USD"));
}

/// The generator reaches every branch of the contract (a guard against a generator that
/// silently stops producing some cases).
#[test]
fn generator_covers_the_contract() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = plan_strategy();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |k: String| *seen.entry(k).or_default() += 1;
    for _ in 0..400 {
        let plan = strategy.new_tree(&mut runner).unwrap().current();
        let e = oracle(&plan);
        note(format!("status {}", e.status.unwrap()));
        note(format!("currency {}", plan.cur.code));
        note(format!("attempts {}", plan.attempts.len()));
        if e.overpaid {
            note("double payment".into());
        }
        if e.fraud_warning {
            note("fraud warning".into());
        }
        if let Some(r) = &plan.review {
            note(format!("review open {}", !r.second_event));
        }
        for a in &plan.attempts {
            note(format!("outcome {:?}", a.outcome).replace(|c: char| c.is_ascii_digit(), ""));
            if a.late {
                note(format!("late {:?}", a.outcome));
            }
            if !a.pi_metadata {
                note("joined through session only".into());
            }
            if a.checkout {
                note("checkout".into());
            }
            note(format!("refunds per charge {}", a.refunds.len()));
            for r in &a.refunds {
                note(format!("refund {:?}", r.life));
            }
            if let Some(d) = &a.dispute {
                note(format!(
                    "dispute {:?} rdr refund {}",
                    d.end,
                    d.rdr_refund.is_some()
                ));
            }
        }
    }
    for (k, n) in &seen {
        eprintln!("{n:5}  {k}");
    }
    let mut required: Vec<String> = [
        "status paid",
        "status partially_refunded",
        "status refunded",
        "status disputed",
        "status dispute_won",
        "status dispute_lost",
        "status authorized",
        "status pending",
        "status failed",
        "status canceled",
        "status expired",
        "double payment",
        "fraud warning",
        "review open true",
        "review open false",
        "joined through session only",
        "dispute Prevented rdr refund true",
        "dispute Prevented rdr refund false",
        "attempts 3",
        "refunds per charge 3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    required.extend(CURRENCIES.iter().map(|c| format!("currency {}", c.code)));
    for life in [
        RefundLife::Succeeded,
        RefundLife::Pending,
        RefundLife::PendingSucceeded,
        RefundLife::PendingFailed,
        RefundLife::SucceededFailed,
        RefundLife::Canceled,
    ] {
        required.push(format!("refund {life:?}"));
    }
    for k in required {
        assert!(seen.contains_key(&k), "never generated: {k}");
    }
    assert!(seen.keys().any(|k| k.starts_with("late ")));
}
