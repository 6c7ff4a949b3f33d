//! Payment attempts from the observed objects, and the order-level view from the attempts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    later_failure, max_opt, status_key, stronger, MergeError, ObjectState, OrderState, Totals,
    OVERFLOW,
};
use crate::normalize::{Failure, Status};

/// One payment attempt of an order: a PaymentIntent (with its charges, and the Checkout
/// Session and invoice pointing at it), a Checkout Session without a PaymentIntent yet, an
/// invoice, or a charge without a PaymentIntent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attempt {
    /// The PaymentIntent's id, else the session's, the invoice's or the charge's.
    pub id: String,
    /// The strongest status of its objects (see the README's precedence).
    pub status: Option<Status>,
    /// The newest event time of its objects.
    pub updated_at: i64,
    pub currency: Option<String>,
    /// The amount asked.
    pub amount_minor: Option<i64>,
    /// The money it took (0: none).
    pub amount_captured_minor: i64,
    /// Its refunds that count (pending or succeeded).
    pub amount_refunded_minor: i64,
    /// Every object of the attempt (PaymentIntent, charges, session, invoice), and its refunds
    /// and disputes.
    pub objects: BTreeSet<String>,
    pub refunds: BTreeSet<String>,
    pub disputes: BTreeSet<String>,
    pub fraud_warning: bool,
    pub review_open: bool,
    pub risk_level: Option<String>,
    /// While the attempt is `failed`: why — the failure of its latest failed report over its
    /// objects (equal times: the greatest failure). `None` for any other status: a retry that is
    /// pending or requires action, an authorization or a payment hides an earlier decline (the
    /// objects keep it).
    pub failure: Option<Failure>,
    /// When that failed report was sent.
    pub failed_at: Option<i64>,
}

/// The priority of an object's id as the attempt's id.
fn id_rank(object: &str) -> u8 {
    match object {
        "payment_intent" => 0,
        "checkout.session" => 1,
        "invoice" => 2,
        "charge" => 3,
        _ => 4,
    }
}

/// Groups of ids linked to each other: union-find over the objects and the ids they name, on
/// indexes into the sorted ids (the smaller index becomes the root, so the grouping never
/// depends on the order; paths are halved on the way).
fn components(objects: &BTreeMap<String, ObjectState>) -> Vec<Vec<&str>> {
    let mut ids: Vec<&str> = Vec::new();
    for (id, object) in objects {
        ids.push(id);
        ids.extend(object.links.iter().map(String::as_str));
    }
    ids.sort_unstable();
    ids.dedup();
    let index = |id: &str| ids.binary_search(&id).unwrap_or(0);
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while let Some(&up) = parent.get(i).filter(|up| **up != i) {
            let grand = parent.get(up).copied().unwrap_or(up);
            if let Some(slot) = parent.get_mut(i) {
                *slot = grand;
            }
            i = up;
        }
        i
    }
    for (id, object) in objects {
        for link in &object.links {
            let (a, b) = (root(&mut parent, index(id)), root(&mut parent, index(link)));
            if let Some(slot) = parent.get_mut(a.max(b)) {
                *slot = a.min(b);
            }
        }
    }
    let mut groups: Vec<Vec<&str>> = vec![Vec::new(); ids.len()];
    for (i, id) in ids.iter().enumerate() {
        if let Some(group) = groups.get_mut(root(&mut parent, i)) {
            group.push(id);
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// The attempts of the state, by id.
pub(super) fn group(state: &OrderState) -> Result<Vec<Attempt>, MergeError> {
    let mut attempts = Vec::new();
    for group in components(&state.objects) {
        let observed: Vec<(&String, &ObjectState)> = group
            .iter()
            .filter_map(|id| state.objects.get_key_value(*id))
            .collect();
        let mut members = BTreeSet::new();
        for id in &group {
            members.insert((*id).to_owned());
        }
        let Some(id) = observed
            .iter()
            .min_by_key(|(id, o)| (id_rank(&o.object), *id))
            .map(|(id, _)| (*id).clone())
        else {
            continue;
        };
        let mut attempt = Attempt {
            id,
            objects: members.clone(),
            ..Attempt::default()
        };
        let mut best: Option<(Status, i64)> = None;
        for (_, o) in &observed {
            if let Some(status) = o.status {
                best = Some(best.map_or((status, o.at), |b| stronger(b, (status, o.at))));
            }
            attempt.updated_at = attempt.updated_at.max(o.at);
            attempt.currency = max_opt(attempt.currency.take(), o.currency.clone());
            attempt.amount_minor = max_opt(attempt.amount_minor, o.amount_minor);
            attempt.amount_captured_minor = attempt.amount_captured_minor.max(o.captured_minor);
            attempt.risk_level = super::riskier(attempt.risk_level.take(), o.risk_level.clone());
        }
        attempt.status = best.map(|(s, _)| s);
        if attempt.status == Some(Status::Failed) {
            let failed = observed
                .iter()
                .map(|(_, o)| o.failed_at.zip(o.failure.clone()))
                .fold(None, later_failure);
            (attempt.failed_at, attempt.failure) = failed.unzip();
        }
        let mine = |charge: &Option<String>, pi: &Option<String>| {
            [charge, pi]
                .into_iter()
                .flatten()
                .any(|id| members.contains(id))
        };
        for (id, refund) in &state.refunds {
            if mine(&refund.charge, &refund.payment_intent) {
                attempt.refunds.insert(id.clone());
                if refund.counts() {
                    attempt.amount_refunded_minor = attempt
                        .amount_refunded_minor
                        .checked_add(refund.amount_minor)
                        .ok_or(OVERFLOW)?;
                }
            }
        }
        for (id, dispute) in &state.disputes {
            if mine(&dispute.charge, &dispute.payment_intent) {
                attempt.disputes.insert(id.clone());
            }
        }
        for flag in state.flags.values() {
            if mine(&flag.charge, &flag.payment_intent) {
                match flag.status {
                    Some(Status::FraudWarning) => attempt.fraud_warning = true,
                    Some(Status::ReviewOpen) => attempt.review_open = true,
                    _ => {}
                }
            }
        }
        attempts.push(attempt);
    }
    attempts.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Ok(attempts)
}

/// The order-level facts derived from the attempts, refunds and disputes.
pub(super) struct OrderView {
    pub status: Option<Status>,
    pub totals: BTreeMap<String, Totals>,
    pub paid_at: Option<i64>,
    pub fee: Fee,
    /// Flags on payments no attempt is known for yet.
    pub stray_warning: bool,
    pub stray_review: bool,
}

fn add(slot: &mut i64, amount: i64) -> Result<(), MergeError> {
    *slot = slot.checked_add(amount).ok_or(OVERFLOW)?;
    Ok(())
}

impl OrderView {
    pub fn of(state: &OrderState) -> Result<OrderView, MergeError> {
        let totals = totals(state)?;
        let open_dispute = state
            .disputes
            .values()
            .any(|d| d.status == Some(Status::Disputed));
        let won = state
            .disputes
            .values()
            .any(|d| d.status == Some(Status::DisputeWon));
        let money_taken = totals
            .values()
            .any(|t| t.paid_minor > 0 || t.returned_minor > 0);
        let status = if open_dispute {
            Some(Status::Disputed)
        } else if money_taken {
            Some(if totals.values().any(|t| t.dispute_lost_minor > 0) {
                Status::DisputeLost
            } else if totals
                .values()
                .filter(|t| t.paid_minor > 0)
                .all(|t| t.returned_minor >= t.paid_minor)
                && totals.values().any(|t| t.paid_minor > 0)
            {
                Status::Refunded
            } else if totals.values().any(|t| t.returned_minor > 0) {
                Status::PartiallyRefunded
            } else if won {
                Status::DisputeWon
            } else {
                Status::Paid
            })
        } else {
            unpaid_status(&state.attempts).or(won.then_some(Status::DisputeWon))
        };
        let paid = state
            .objects
            .iter()
            .filter(|(_, o)| o.status == Some(Status::Paid));
        let paid_at = paid.map(|(_, o)| o.at).min();
        let flagged = |status: Status| {
            state.flags.values().any(|f| {
                f.status == Some(status)
                    && !state.attempts.iter().any(|a| {
                        [&f.charge, &f.payment_intent]
                            .into_iter()
                            .flatten()
                            .any(|id| a.objects.contains(id))
                    })
            })
        };
        Ok(OrderView {
            status,
            totals,
            paid_at,
            fee: fee(state)?,
            stray_warning: flagged(Status::FraudWarning),
            stray_review: flagged(Status::ReviewOpen),
        })
    }
}

/// The charge of an attempt that took its money (a captured charge, the smallest id), else the
/// charge its paid objects name.
pub(super) fn paid_charge(state: &OrderState, attempt: &Attempt) -> Option<String> {
    let paid = |id: &&String| {
        state
            .objects
            .get(*id)
            .is_some_and(|o| o.status == Some(Status::Paid))
    };
    let charges = || attempt.objects.iter().filter(|id| is_charge(state, id));
    charges()
        .find(paid)
        .or_else(|| {
            let named = attempt.objects.iter().filter(paid).filter_map(|id| {
                let links = &state.objects.get(id)?.links;
                links.iter().find(|l| is_charge(state, l))
            });
            named.min()
        })
        .or_else(|| charges().next())
        .cloned()
}

/// With no money taken: authorized if any attempt holds an authorization, else the latest live
/// attempt (pending, requires action), else the outcome of the latest attempt.
fn unpaid_status(attempts: &[Attempt]) -> Option<Status> {
    let with_status = || {
        attempts
            .iter()
            .filter_map(|a| Some((a.status?, a.updated_at)))
    };
    if with_status().any(|(s, _)| s == Status::Authorized) {
        return Some(Status::Authorized);
    }
    let live = with_status()
        .filter(|(s, _)| matches!(s, Status::Pending | Status::RequiresAction))
        .max_by_key(|(s, at)| (*at, status_key(*s, 0)));
    if let Some((status, _)) = live {
        return Some(status);
    }
    with_status()
        .max_by_key(|(s, at)| (*at, status_key(*s, 0)))
        .map(|(s, _)| s)
}

/// Per currency: asked, captured, refunded, lost and returned.
fn totals(state: &OrderState) -> Result<BTreeMap<String, Totals>, MergeError> {
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for a in &state.attempts {
        if a.amount_minor.is_none() && a.amount_captured_minor == 0 {
            continue;
        }
        let t = totals
            .entry(a.currency.clone().unwrap_or_default())
            .or_default();
        t.requested_minor = t.requested_minor.max(a.amount_minor.unwrap_or(0));
        add(&mut t.paid_minor, a.amount_captured_minor)?;
    }
    // Refunds per charge: the refunds known one by one, or the charge's own cumulative figure
    // minus the refunds that failed since it reported it, whichever is more.
    let mut per_charge: BTreeMap<(String, String), i64> = BTreeMap::new();
    for refund in state.refunds.values().filter(|r| r.counts()) {
        let charge = charge_key(state, refund);
        if took_nothing(state, &charge) {
            continue;
        }
        let key = (currency_of(refund.currency.as_ref()), charge);
        add(per_charge.entry(key).or_insert(0), refund.amount_minor)?;
    }
    for (id, charge) in &state.objects {
        let (Some(at), Some(amount)) = (charge.refunded_at, charge.refunded_minor) else {
            continue;
        };
        let failed_since = state
            .refunds
            .values()
            .filter(|r| !r.counts() && r.at > at && charge_key(state, r) == *id)
            .try_fold(0i64, |acc, r| acc.checked_add(r.amount_minor))
            .ok_or(OVERFLOW)?;
        let floor = amount.saturating_sub(failed_since).max(0);
        let key = (currency_of(charge.currency.as_ref()), id.clone());
        let slot = per_charge.entry(key).or_insert(0);
        *slot = (*slot).max(floor);
    }
    // Prevented disputes: the cardholder got the money back once, with or without a refund.
    let mut returned = per_charge.clone();
    for d in state
        .disputes
        .values()
        .filter(|d| d.status == Some(Status::DisputePrevented))
    {
        let key = (
            currency_of(d.currency.as_ref()),
            d.charge.clone().unwrap_or_default(),
        );
        let slot = returned.entry(key).or_insert(0);
        *slot = (*slot).max(d.amount_minor);
    }
    for ((currency, _), amount) in &per_charge {
        add(
            &mut totals.entry(currency.clone()).or_default().refunded_minor,
            *amount,
        )?;
    }
    for ((currency, _), amount) in &returned {
        add(
            &mut totals.entry(currency.clone()).or_default().returned_minor,
            *amount,
        )?;
    }
    for d in state
        .disputes
        .values()
        .filter(|d| d.status == Some(Status::DisputeLost))
    {
        let t = totals.entry(currency_of(d.currency.as_ref())).or_default();
        add(&mut t.dispute_lost_minor, d.amount_minor)?;
        add(&mut t.returned_minor, d.amount_minor)?;
    }
    totals.remove("");
    Ok(totals)
}

fn currency_of(currency: Option<&String>) -> String {
    currency.cloned().unwrap_or_default()
}

/// The charge a refund belongs to: its own, else its PaymentIntent's only charge, else the
/// order's only charge.
/// A charge known to have taken no money: an authorization released, canceled or expired.
/// Stripe reports the release as a refund (a cancel "refunds" what was capturable, a lapsed
/// one has reason `expired_uncaptured_charge`), which returns nothing to anyone.
fn took_nothing(state: &OrderState, charge: &str) -> bool {
    state.objects.get(charge).is_some_and(|o| {
        o.captured_minor == 0
            && matches!(
                o.status,
                Some(Status::Authorized | Status::Canceled | Status::Expired)
            )
    })
}

fn charge_key(state: &OrderState, refund: &super::Linked) -> String {
    if let Some(charge) = &refund.charge {
        return charge.clone();
    }
    let only = |ids: Vec<&String>| match ids.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    };
    let charges_of_pi = refund.payment_intent.as_ref().and_then(|pi| {
        let links = state.objects.get(pi)?.links.iter();
        only(links.filter(|l| is_charge(state, l)).collect())
    });
    let all_charges = || {
        let ids = state
            .objects
            .iter()
            .flat_map(|(id, o)| o.links.iter().chain([id]));
        let mut charges: Vec<&String> = ids.filter(|id| is_charge(state, id)).collect();
        charges.sort_unstable();
        charges.dedup();
        only(charges)
    };
    charges_of_pi
        .or_else(all_charges)
        .or_else(|| refund.payment_intent.clone())
        .unwrap_or_default()
}

fn is_charge(state: &OrderState, id: &str) -> bool {
    kind_of(state, id) == "charge"
}

/// The kind of an object of the order: as observed, else by its id's prefix (objects known only
/// because another object names them).
pub(crate) fn kind_of<'a>(state: &'a OrderState, id: &str) -> &'a str {
    if let Some(o) = state.objects.get(id).filter(|o| !o.object.is_empty()) {
        return &o.object;
    }
    let prefixes = [
        ("pi_", "payment_intent"),
        ("ch_", "charge"),
        ("py_", "charge"),
        ("in_", "invoice"),
        ("cs_", "checkout.session"),
    ];
    prefixes
        .iter()
        .find(|(p, _)| id.starts_with(p))
        .map_or("", |(_, kind)| kind)
}

/// Stripe's fee and net over the attempts that took money, when one settlement currency.
/// Fee, net and their settlement currency.
pub(super) type Fee = (Option<i64>, Option<i64>, Option<String>);

fn fee(state: &OrderState) -> Result<Fee, MergeError> {
    let mut sum: Option<(i64, i64, String)> = None;
    for a in state
        .attempts
        .iter()
        .filter(|a| a.amount_captured_minor > 0)
    {
        let known = a
            .objects
            .iter()
            .filter_map(|id| state.objects.get(id))
            .filter_map(|o| Some((o.fee_minor?, o.net_minor?, o.settlement_currency.clone()?)))
            .max();
        let Some((fee, net, currency)) = known else {
            continue;
        };
        sum = Some(match sum {
            None => (fee, net, currency),
            Some((f, n, c)) if c == currency => (
                f.checked_add(fee).ok_or(OVERFLOW)?,
                n.checked_add(net).ok_or(OVERFLOW)?,
                c,
            ),
            Some(_) => return Ok((None, None, None)),
        });
    }
    Ok(match sum {
        Some((f, n, c)) => (Some(f), Some(n), Some(c)),
        None => (None, None, None),
    })
}
