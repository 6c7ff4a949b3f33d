//! The Reporting API CSV reader and payout reconciliation (`reconcile::report`,
//! `reconcile::balance::balance_summary_from_csv`).
//!
//! Input: `payout amount (8 bytes LE) ++ CSV bytes`.
//!
//! Invariants: no panic on any bytes; for every reconciliation, `net_minor` is the sum
//! (computed independently in i128) of the nets of the lines in the payout currency,
//! `difference_minor` is payout amount minus that sum, and `balanced` holds exactly when that
//! difference is 0 and no sum overflowed i64; the category totals add up to the same net;
//! each line's decimals are its minor amounts; a file `to_csv` wrote reads back with the same
//! lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stripe_bridge::money::minor_to_decimal;
use stripe_bridge::reconcile::report::{
    itemized_lines, reconcile_itemized, reconcile_report, to_csv,
};
use stripe_bridge::reconcile::{Payout, Reconciliation};
use stripe_bridge::Currency;

fn fits(v: i128) -> bool {
    i64::try_from(v).is_ok()
}

fn check(r: &Reconciliation) {
    let mut sum = 0i128;
    let mut partial_ok = true;
    let mut by_category = std::collections::BTreeMap::<String, i128>::new();
    let currency = Currency::new(&r.currency).ok();
    for line in &r.lines {
        if let Some(c) = Currency::new(&line.currency).ok() {
            assert_eq!(line.net, Some(minor_to_decimal(line.net_minor, &c)));
            assert_eq!(line.gross, Some(minor_to_decimal(line.gross_minor, &c)));
        }
        if !line.currency.eq_ignore_ascii_case(&r.currency) {
            continue;
        }
        sum += i128::from(line.net_minor);
        partial_ok &= fits(sum);
        let cat = if line.reporting_category.is_empty() {
            line.kind.clone()
        } else {
            line.reporting_category.clone()
        };
        *by_category.entry(cat).or_default() += i128::from(line.net_minor);
    }
    let category_ok = by_category.values().all(|v| fits(*v));
    let difference = i128::from(r.payout_amount_minor) - sum;
    let no_overflow = partial_ok && fits(difference);
    if no_overflow {
        assert_eq!(i128::from(r.net_minor), sum);
        assert_eq!(i128::from(r.difference_minor), difference);
        if let Some(c) = &currency {
            assert_eq!(r.net, Some(minor_to_decimal(r.net_minor, c)));
        }
    }
    if r.balanced {
        assert!(no_overflow && difference == 0, "balanced but off: {r:?}");
        assert!(r.likely_cause.is_none());
    } else if no_overflow && category_ok {
        // Not balanced: a difference, or an overflow somewhere in the sums.
        assert!(difference != 0 || r.likely_cause.is_some());
    }
    if category_ok && no_overflow {
        let total: i128 = r.totals.values().map(|t| i128::from(t.net_minor)).sum();
        assert_eq!(total, sum, "category totals do not add up");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((amount, csv)) = data.split_first_chunk::<8>() else {
        return;
    };
    let amount = i64::from_le_bytes(*amount);
    if let Ok(all) = reconcile_report(csv) {
        for r in &all {
            check(r);
            // What we write reads back: the same lines.
            let written = to_csv(r);
            let again = itemized_lines(written.as_bytes()).expect("own CSV reads back");
            let lines: Vec<_> = again.rows.iter().map(|row| row.line.clone()).collect();
            assert_eq!(lines.len(), r.lines.len());
            for (a, b) in lines.iter().zip(&r.lines) {
                assert_eq!(
                    (
                        &a.balance_transaction_id,
                        a.gross_minor,
                        a.fee_minor,
                        a.net_minor
                    ),
                    (
                        &b.balance_transaction_id,
                        b.gross_minor,
                        b.fee_minor,
                        b.net_minor
                    )
                );
            }
        }
    }
    let payout = Payout {
        id: "po_1".into(),
        amount,
        currency: "usd".into(),
        status: "paid".into(),
        automatic: true,
        ..Payout::default()
    };
    if let Ok(r) = reconcile_itemized(csv, &payout) {
        check(&r);
    }
    let _ = stripe_bridge::reconcile::balance::balance_summary_from_csv(csv);
});
