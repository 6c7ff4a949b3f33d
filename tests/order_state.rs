//! Out-of-order and duplicate delivery: every permutation of an order's events, with any
//! duplicates, merges to the same final state as the in-order sequence.

mod common;

use common::*;
use proptest::prelude::*;
use stripe_bridge::{OrderState, Record, Status};

fn records(names: &[&str]) -> Vec<Record> {
    names.iter().map(|n| own(n)).collect()
}

fn fold(records: &[Record]) -> OrderState {
    OrderState::from_records(records).unwrap()
}

#[test]
fn in_order_lifecycle_ends_right() {
    let all = records(ORDER_1001);
    // Paid and partially refunded before the dispute.
    let before_dispute = fold(&all[..10]);
    assert_eq!(before_dispute.status, Some(Status::PartiallyRefunded));
    assert_eq!(before_dispute.amount_paid.unwrap().to_string(), "21.98");
    assert_eq!(before_dispute.amount_refunded.unwrap().to_string(), "5.00");
    assert_eq!(before_dispute.order_ref.as_deref(), Some("1001"));
    let paid_only = fold(&all[..7]);
    assert_eq!(paid_only.status, Some(Status::Paid));
    let end = fold(&all);
    assert_eq!(end.status, Some(Status::DisputeLost));
    assert_eq!(
        end.amount_refunded_minor,
        Some(500),
        "the failed refund never counts"
    );
    assert_eq!(end.attempts.len(), 1, "{:?}", end.attempts);
    let attempt = &end.attempts[0];
    assert_eq!(attempt.id, "pi_3QbasilOrder1001");
    assert!(attempt.objects.contains("ch_3QbasilOrder1001"));
    assert_eq!(end.payment_intent(), Some("pi_3QbasilOrder1001"));
    assert_eq!(end.charge(), Some("ch_3QbasilOrder1001"));
}

#[test]
fn authorization_then_expiry_ends_expired_in_any_order() {
    let a = records(&[
        "pi_amount_capturable_updated_basil.json",
        "charge_expired_auth_basil.json",
        "pi_canceled_expired_basil.json",
    ]);
    // Canceled by the merchant: canceled.
    let canceled = fold(&[a[0].clone(), a[2].clone()]);
    assert_eq!(canceled.status, Some(Status::Canceled));
    assert_eq!(canceled, fold(&[a[2].clone(), a[0].clone()]));
    // Stripe's expiry sends charge.expired too: expired, whatever the order.
    let expected = fold(&a);
    assert_eq!(expected.status, Some(Status::Expired));
    assert_eq!(expected.amount_paid_minor, None);
    for order in [[2, 1, 0], [1, 0, 2], [0, 2, 1]] {
        let seq: Vec<Record> = order.iter().map(|i| a[*i].clone()).collect();
        assert_eq!(fold(&seq), expected, "{order:?}");
    }
}

#[test]
fn processing_after_paid_never_downgrades() {
    let a = records(&[
        "pi_succeeded_basil.json",
        "pi_created_basil.json",
        "pi_requires_action_basil.json",
    ]);
    assert_eq!(fold(&a).status, Some(Status::Paid));
}

#[test]
fn every_reversal_of_order_1001_converges() {
    let all = records(ORDER_1001);
    let expected = fold(&all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(fold(&reversed), expected);
    // Each record delivered twice in a row, and the whole stream twice.
    let doubled: Vec<Record> = all.iter().flat_map(|r| [r.clone(), r.clone()]).collect();
    assert_eq!(fold(&doubled), expected);
    let twice: Vec<Record> = all.iter().chain(all.iter()).cloned().collect();
    assert_eq!(fold(&twice), expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_and_duplicated_sequences_converge(
        order in Just((0..ORDER_1001.len()).collect::<Vec<_>>()).prop_shuffle(),
        dups in prop::collection::vec(0..ORDER_1001.len(), 0..12),
    ) {
        let all = records(ORDER_1001);
        let expected = fold(&all);
        let mut seq: Vec<Record> = order.iter().map(|i| all[*i].clone()).collect();
        for (k, d) in dups.iter().enumerate() {
            let at = (k * 7 + d) % (seq.len() + 1);
            seq.insert(at, all[*d].clone());
        }
        prop_assert_eq!(fold(&seq), expected);
    }

    #[test]
    fn subsets_are_order_independent(
        mask in prop::collection::vec(any::<bool>(), ORDER_1001.len()),
        order in Just((0..ORDER_1001.len()).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let all = records(ORDER_1001);
        let chosen: Vec<Record> = all.iter().zip(&mask).filter(|(_, m)| **m).map(|(r, _)| r.clone()).collect();
        let shuffled: Vec<Record> = order.iter().filter(|i| mask[**i]).map(|i| all[*i].clone()).collect();
        prop_assert_eq!(fold(&shuffled), fold(&chosen));
    }
}
