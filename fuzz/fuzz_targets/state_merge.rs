//! State merge of record sequences (`OrderState::merge`).
//!
//! Invariant: merging is a join, so the same set of records in two fuzz-chosen orders, with
//! fuzz-chosen duplicates, ends in the same state (or both refuse); merging a record already
//! in the state changes nothing; the state's JSON reads back to the same state; no panic.
//!
//! One exception, found by this target: with amounts near `i64::MAX` (far beyond Stripe's
//! largest amount), an intermediate view of the order (two attempts not yet known to be one)
//! can overflow its sums, and that record is refused (`invalid_state`, "amounts overflow")
//! rather than given a wrong total; whether the intermediate view exists depends on the order.
//! So a refusal on one side only is accepted when it is that overflow and the amounts are of
//! that scale (above 10^15 minor units); anything else is a failure.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stripe_bridge::state::{MergeError, MergeOutcome};
use stripe_bridge::OrderState;
use stripe_bridge_fuzz::EventSpec;

#[derive(Arbitrary, Debug)]
struct Input {
    events: Vec<EventSpec>,
    /// Keys of a permutation of the records.
    order: Vec<u16>,
    /// (record index, insert position) duplicates put into the second sequence.
    dupes: Vec<(u8, u8)>,
}

fn fold<'a>(
    records: impl IntoIterator<Item = &'a stripe_bridge::Record>,
) -> Result<OrderState, MergeError> {
    OrderState::from_records(records)
}

/// Amounts of a scale no Stripe object has (its largest amounts have 12 digits).
fn overflow_scale(records: &[stripe_bridge::Record]) -> bool {
    records.iter().any(|r| {
        [
            r.amount_minor,
            r.amount_refunded_minor,
            r.fee_minor,
            r.net_minor,
        ]
        .into_iter()
        .flatten()
        .any(|v| v.unsigned_abs() > 1_000_000_000_000_000)
    })
}

fuzz_target!(|input: Input| {
    let records: Vec<_> = input
        .events
        .iter()
        .take(12)
        .enumerate()
        .filter_map(|(i, e)| e.record(i))
        .collect();
    if records.is_empty() {
        return;
    }
    let n = records.len();
    // A permutation: sort indexes by fuzz-chosen keys (stable, so ties keep order).
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by_key(|i| input.order.get(*i).copied().unwrap_or(0));
    let mut seq = perm.clone();
    for (r, at) in input.dupes.iter().take(8) {
        let at = usize::from(*at) % (seq.len() + 1);
        seq.insert(at, usize::from(*r) % n);
    }
    let forward = fold(&records);
    let shuffled = fold(seq.iter().filter_map(|i| records.get(*i)));
    match (&forward, &shuffled) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "order {seq:?} of {records:#?}"),
        (Err(_), Err(_)) => {}
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => assert!(
            e.to_string().contains("amounts overflow") && overflow_scale(&records),
            "order-dependent refusal {e} for {seq:?} of {records:#?}"
        ),
    }
    let Ok(state) = forward else { return };
    for r in &records {
        let mut again = state.clone();
        assert_eq!(again.merge(r), Ok(MergeOutcome::Unchanged), "{r:#?}");
        assert_eq!(again, state);
    }
    let json = serde_json::to_string(&state).expect("state serializes");
    let back: OrderState = serde_json::from_str(&json).expect("state reads back");
    assert_eq!(back, state);
});
