//! Balance summary for an interval, from balance transactions or from Stripe's
//! `balance.summary.1` report, like the "Balance summary" section of Stripe's Balance report.
//!
//! Per currency, for `[start, end)`: the starting balance (every transaction created before
//! `start`), the activity (every transaction in the interval except payouts, by reporting
//! category), the payouts (`payout` and `payout_reversal`; negative when money left for the
//! bank), and the ending balance = starting + activity + payouts. Everything is in exact
//! minor units with exact decimals beside (`None` for a currency unknown here); sums are
//! checked: an overflow is a warning and `balanced: false`, never a wrapped number.
//!
//! Stripe's `balance.summary.1` has the columns `category` (`starting_balance`, `activity`,
//! `payouts`, `ending_balance`), `description`, `net_amount` (major units) and `currency`.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::report::{format_timestamp, read_table, write_table, Cells, ReportError};
use super::{dec, upper, BalanceTransaction, CategoryTotal};
use crate::money::Currency;

/// Reporting categories of payouts (Stripe's Balance report shows them apart from activity).
pub const PAYOUT_CATEGORIES: &[&str] = &["payout", "payout_reversal"];

/// Transaction types of payouts, for transactions without a reporting category.
const PAYOUT_TYPES: &[&str] = &["payout", "payout_cancel", "payout_failure"];

/// The balance of one currency over an interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceSummary {
    /// Upper-case ISO code.
    pub currency: String,
    /// The interval `[start, end)` in Unix seconds (`None` when read from a report file).
    pub interval_start: Option<i64>,
    pub interval_end: Option<i64>,
    pub starting_balance_minor: i64,
    pub starting_balance: Option<Decimal>,
    /// Activity by reporting category (empty when read from a report file).
    pub activity_by_category: BTreeMap<String, CategoryTotal>,
    /// Gross and fees of the activity (`net = gross - fee`); `None` from a report file.
    pub activity_gross_minor: Option<i64>,
    pub activity_gross: Option<Decimal>,
    pub activity_fee_minor: Option<i64>,
    pub activity_fee: Option<Decimal>,
    /// Net of all activity except payouts.
    pub activity_minor: i64,
    pub activity: Option<Decimal>,
    /// Payouts by reporting category (empty when read from a report file).
    pub payouts_by_category: BTreeMap<String, CategoryTotal>,
    /// Net of payouts and payout reversals: negative when money left for the bank.
    pub payouts_minor: i64,
    pub payouts: Option<Decimal>,
    pub ending_balance_minor: i64,
    pub ending_balance: Option<Decimal>,
    /// Ending = starting + activity + payouts, exactly and without overflow. From a report
    /// file this checks Stripe's own figures.
    pub balanced: bool,
    /// One sentence each.
    pub warnings: Vec<String>,
}

const OVERFLOW: &str = "a sum overflowed 64-bit minor units: the totals are not exact";

fn is_payout(txn: &BalanceTransaction) -> bool {
    if txn.reporting_category.is_empty() {
        PAYOUT_TYPES.contains(&txn.kind.as_str())
    } else {
        PAYOUT_CATEGORIES.contains(&txn.reporting_category.as_str())
    }
}

/// Sums of one currency, as they are read.
#[derive(Default)]
struct Sums {
    starting: i64,
    activity: BTreeMap<String, CategoryTotal>,
    payouts: BTreeMap<String, CategoryTotal>,
    overflow: bool,
}

impl Sums {
    fn add(overflow: &mut bool, into: &mut i64, value: i64) {
        match into.checked_add(value) {
            Some(v) => *into = v,
            None => *overflow = true,
        }
    }

    fn add_to_category(&mut self, txn: &BalanceTransaction, payout: bool) {
        let category = if txn.reporting_category.is_empty() {
            txn.kind.clone()
        } else {
            txn.reporting_category.clone()
        };
        let map = if payout {
            &mut self.payouts
        } else {
            &mut self.activity
        };
        let t = map.entry(category).or_default();
        t.count = t.count.saturating_add(1);
        Sums::add(&mut self.overflow, &mut t.gross_minor, txn.amount);
        Sums::add(&mut self.overflow, &mut t.fee_minor, txn.fee);
        Sums::add(&mut self.overflow, &mut t.net_minor, txn.net);
    }

    /// `(gross, fee, net)` over the categories, with their decimals filled in.
    fn total(
        map: &mut BTreeMap<String, CategoryTotal>,
        overflow: &mut bool,
        cur: Option<&Currency>,
    ) -> (i64, i64, i64) {
        let (mut gross, mut fee, mut net) = (0i64, 0i64, 0i64);
        for t in map.values_mut() {
            Sums::add(overflow, &mut gross, t.gross_minor);
            Sums::add(overflow, &mut fee, t.fee_minor);
            Sums::add(overflow, &mut net, t.net_minor);
            t.gross = dec(t.gross_minor, cur);
            t.fee = dec(t.fee_minor, cur);
            t.net = dec(t.net_minor, cur);
        }
        (gross, fee, net)
    }

    fn finish(mut self, code: String, start: i64, end: i64) -> BalanceSummary {
        let currency = Currency::new(&code).ok();
        let cur = currency.as_ref();
        let mut overflow = self.overflow;
        let (gross, fee, activity) = Sums::total(&mut self.activity, &mut overflow, cur);
        let (_, _, payouts) = Sums::total(&mut self.payouts, &mut overflow, cur);
        let ending = self
            .starting
            .checked_add(activity)
            .and_then(|v| v.checked_add(payouts));
        if ending.is_none() {
            overflow = true;
        }
        let ending = ending.unwrap_or(0);
        BalanceSummary {
            currency: code,
            interval_start: Some(start),
            interval_end: Some(end),
            starting_balance_minor: self.starting,
            starting_balance: dec(self.starting, cur),
            activity_by_category: self.activity,
            activity_gross_minor: Some(gross),
            activity_gross: dec(gross, cur),
            activity_fee_minor: Some(fee),
            activity_fee: dec(fee, cur),
            activity_minor: activity,
            activity: dec(activity, cur),
            payouts_by_category: self.payouts,
            payouts_minor: payouts,
            payouts: dec(payouts, cur),
            ending_balance_minor: ending,
            ending_balance: dec(ending, cur),
            balanced: !overflow,
            warnings: if overflow {
                vec![OVERFLOW.to_owned()]
            } else {
                Vec::new()
            },
        }
    }
}

/// The balance summary of `[start, end)` per currency (sorted by code), from balance
/// transactions: those created before `start` make the starting balance, those in the
/// interval the activity and payouts, later ones are ignored. A currency appears when it has
/// a transaction created before `end`. Transactions are grouped by their own currency.
pub fn balance_summary(
    transactions: &[BalanceTransaction],
    start: i64,
    end: i64,
) -> Vec<BalanceSummary> {
    let mut by_currency: BTreeMap<String, Sums> = BTreeMap::new();
    for txn in transactions.iter().filter(|t| t.created < end) {
        let sums = by_currency.entry(upper(&txn.currency)).or_default();
        if txn.created < start {
            Sums::add(&mut sums.overflow, &mut sums.starting, txn.net);
        } else {
            sums.add_to_category(txn, is_payout(txn));
        }
    }
    by_currency
        .into_iter()
        .map(|(code, sums)| sums.finish(code, start, end))
        .collect()
}

/// The four rows of one currency in a `balance.summary.1` file.
struct FileRows {
    currency: Currency,
    starting: Option<i64>,
    activity: Option<i64>,
    payouts: Option<i64>,
    ending: Option<i64>,
    warnings: Vec<String>,
}

impl FileRows {
    fn new(currency: Currency) -> FileRows {
        FileRows {
            currency,
            starting: None,
            activity: None,
            payouts: None,
            ending: None,
            warnings: Vec::new(),
        }
    }

    /// Records a row; unknown categories are ignored, a repeated one is a warning.
    fn set(&mut self, category: &str, minor: i64, row: u64) {
        let slot = match category {
            "starting_balance" => &mut self.starting,
            "activity" => &mut self.activity,
            "payouts" => &mut self.payouts,
            "ending_balance" => &mut self.ending,
            _ => return,
        };
        if slot.is_some() {
            self.warnings.push(format!(
                "row {row}: a second {category} row for {}; the first one is kept",
                self.currency
            ));
            return;
        }
        *slot = Some(minor);
    }

    fn value(&mut self, category: &str, value: Option<i64>) -> i64 {
        value.unwrap_or_else(|| {
            self.warnings.push(format!(
                "no {category} row for {}: taken as 0",
                self.currency
            ));
            0
        })
    }

    fn finish(mut self) -> BalanceSummary {
        let starting = self.value("starting_balance", self.starting);
        let activity = self.value("activity", self.activity);
        let mut payouts = self.value("payouts", self.payouts);
        let plus = |p: i64| starting.checked_add(activity)?.checked_add(p);
        let expected = plus(payouts);
        let ending = match self.ending {
            Some(ending) => ending,
            None => {
                self.warnings.push(format!(
                    "no ending_balance row for {}: computed",
                    self.currency
                ));
                expected.unwrap_or(0)
            }
        };
        let flipped = payouts.checked_neg().filter(|p| *p != payouts);
        if expected != Some(ending) && flipped.is_some_and(|p| plus(p) == Some(ending)) {
            self.warnings.push(format!(
                "the payouts of {} are written as a positive amount: read as subtracted",
                self.currency
            ));
            payouts = flipped.unwrap_or(payouts);
        }
        let balanced = plus(payouts) == Some(ending);
        if !balanced {
            self.warnings.push(format!(
                "{}: starting balance + activity + payouts is not the ending balance",
                self.currency
            ));
        }
        self.summary(starting, activity, payouts, ending, balanced)
    }

    fn summary(
        self,
        starting: i64,
        activity: i64,
        payouts: i64,
        ending: i64,
        balanced: bool,
    ) -> BalanceSummary {
        let cur = Some(&self.currency);
        BalanceSummary {
            currency: self.currency.code().to_owned(),
            interval_start: None,
            interval_end: None,
            starting_balance_minor: starting,
            starting_balance: dec(starting, cur),
            activity_by_category: BTreeMap::new(),
            activity_gross_minor: None,
            activity_gross: None,
            activity_fee_minor: None,
            activity_fee: None,
            activity_minor: activity,
            activity: dec(activity, cur),
            payouts_by_category: BTreeMap::new(),
            payouts_minor: payouts,
            payouts: dec(payouts, cur),
            ending_balance_minor: ending,
            ending_balance: dec(ending, cur),
            balanced,
            warnings: self.warnings,
        }
    }
}

/// Reads a `balance.summary.1` file (columns `category`, `net_amount`, `currency`; others
/// ignored) into one summary per currency, sorted by code. Rows of other categories are
/// ignored; a missing row is taken as 0 (the ending balance is then computed), with a
/// warning. `balanced` checks Stripe's ending balance against starting + activity + payouts;
/// payouts written as a positive amount are read as subtracted, with a warning.
pub fn balance_summary_from_csv(csv: &[u8]) -> Result<Vec<BalanceSummary>, ReportError> {
    let (header, rows) = read_table(csv)?;
    let category = header.require("category")?;
    let net = header.require("net_amount")?;
    let currency = header.require("currency")?;
    let mut by_currency: BTreeMap<String, FileRows> = BTreeMap::new();
    for row in &rows {
        let cells = Cells::new(&header, row);
        let cur = cells.currency(currency)?;
        let minor = cells.amount(net, &cur)?;
        let name = cells.text(category).to_ascii_lowercase();
        by_currency
            .entry(cur.code().to_owned())
            .or_insert_with(|| FileRows::new(cur))
            .set(&name, minor, row.number);
    }
    Ok(by_currency.into_values().map(FileRows::finish).collect())
}

/// Stripe's `balance.summary.1` columns, which [`to_csv`] writes.
pub const CSV_COLUMNS: &[&str] = &["category", "description", "net_amount", "currency"];

/// `YYYY-MM-DD` of a time, or nothing.
fn day(seconds: Option<i64>) -> Option<String> {
    format_timestamp(seconds?)?.get(..10).map(str::to_owned)
}

fn labelled(label: &str, day: Option<String>) -> String {
    match day {
        Some(d) => format!("{label} ({d})"),
        None => label.to_owned(),
    }
}

fn summary_rows(s: &BalanceSummary) -> [[String; 4]; 4] {
    let code = s.currency.to_ascii_lowercase();
    let amount = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    // The interval is [start, end): the ending balance is that of the last second in it.
    let last = s.interval_end.and_then(|e| e.checked_sub(1));
    [
        [
            "starting_balance".to_owned(),
            labelled("Starting balance", day(s.interval_start)),
            amount(s.starting_balance),
            code.clone(),
        ],
        [
            "activity".to_owned(),
            "Activity".to_owned(),
            amount(s.activity),
            code.clone(),
        ],
        [
            "payouts".to_owned(),
            "Total payouts".to_owned(),
            amount(s.payouts),
            code.clone(),
        ],
        [
            "ending_balance".to_owned(),
            labelled("Ending balance", day(last)),
            amount(s.ending_balance),
            code,
        ],
    ]
}

/// The summaries in Stripe's `balance.summary.1` layout ([`CSV_COLUMNS`]): four rows per
/// currency, `starting_balance` (`Starting balance (YYYY-MM-DD)`), `activity`, `payouts`
/// (`Total payouts`, negative when money left) and `ending_balance` (dated by the last day
/// in the interval), amounts in major units, codes in lower case. Amounts of a currency
/// unknown here are left empty. [`balance_summary_from_csv`] reads it back.
pub fn to_csv(summaries: &[BalanceSummary]) -> String {
    write_table(CSV_COLUMNS, summaries.iter().flat_map(summary_rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn txn(
        id: usize,
        currency: &str,
        category: &str,
        kind: &str,
        amount: i64,
        fee: i64,
        created: i64,
    ) -> BalanceTransaction {
        serde_json::from_value(json!({"id": format!("txn_{id}"), "type": kind,
            "reporting_category": category, "amount": amount, "fee": fee, "net": amount - fee,
            "currency": currency, "created": created}))
        .unwrap()
    }

    /// Decimals of the test currencies, written here apart from crate::money.
    fn exponent(currency: &str) -> u32 {
        match currency {
            "jpy" | "krw" => 0,
            "kwd" | "bhd" => 3,
            _ => 2,
        }
    }

    /// Minor units as Stripe's report writes them: major units, the currency's decimals.
    fn major(minor: i64, currency: &str) -> String {
        let exp = exponent(currency);
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let unit = 10u64.pow(exp);
        format!("{sign}{}.{:0w$}", abs / unit, abs % unit, w = exp as usize)
    }

    /// `(starting, activity, payouts, ending)` per currency, the oracle's figures, rendered in
    /// the layout of Stripe's balance.summary.1.
    fn render(figures: &BTreeMap<String, (i64, i64, i64, i64)>) -> String {
        let mut text = String::from("category,description,net_amount,currency\n");
        for (code, (s, a, p, e)) in figures {
            text.push_str(&format!(
                "starting_balance,Starting balance (2024-03-01),{},{code}\n",
                major(*s, code)
            ));
            text.push_str(&format!("activity,Activity,{},{code}\n", major(*a, code)));
            text.push_str(&format!(
                "payouts,Total payouts,{},{code}\n",
                major(*p, code)
            ));
            text.push_str(&format!(
                "ending_balance,Ending balance (2024-03-31),{},{code}\n",
                major(*e, code)
            ));
        }
        text
    }

    #[test]
    fn one_currency_by_hand() {
        let txns = vec![
            txn(1, "usd", "charge", "charge", 10000, 320, 5),
            txn(2, "usd", "charge", "charge", 2000, 88, 10),
            txn(3, "usd", "refund", "refund", -500, 0, 11),
            txn(4, "usd", "payout", "payout", -5000, 0, 12),
            txn(5, "usd", "payout_reversal", "payout_cancel", 1000, 0, 13),
            txn(6, "usd", "", "payout", -100, 0, 14),
            txn(7, "usd", "fee", "stripe_fee", -150, 0, 15),
            txn(8, "usd", "charge", "charge", 999_999, 0, 20),
        ];
        let s = balance_summary(&txns, 10, 20);
        assert_eq!(s.len(), 1);
        let usd = &s[0];
        assert_eq!(usd.currency, "USD");
        assert_eq!((usd.interval_start, usd.interval_end), (Some(10), Some(20)));
        assert_eq!(usd.starting_balance_minor, 9680);
        assert_eq!(usd.activity_minor, 1912 - 500 - 150);
        assert_eq!(usd.activity_gross_minor, Some(2000 - 500 - 150));
        assert_eq!(usd.activity_fee_minor, Some(88));
        assert_eq!(usd.payouts_minor, -5000 + 1000 - 100);
        assert_eq!(usd.ending_balance_minor, 9680 + 1262 - 4100);
        assert_eq!(usd.ending_balance.unwrap().to_string(), "68.42");
        assert_eq!(usd.activity_by_category["charge"].count, 1);
        assert_eq!(
            usd.activity_by_category["refund"].net.unwrap().to_string(),
            "-5.00"
        );
        assert_eq!(usd.payouts_by_category["payout"].net_minor, -5100);
        assert_eq!(usd.payouts_by_category["payout_reversal"].net_minor, 1000);
        assert!(usd.balanced);
        assert!(usd.warnings.is_empty());
        let json = serde_json::to_value(usd).unwrap();
        assert_eq!(json["ending_balance"], "68.42");
        assert_eq!(json["payouts_minor"], -4100);
    }

    #[test]
    fn to_csv_is_stripes_layout() {
        let (start, end) = (1_709_251_200, 1_711_929_600); // March 2024
        let txns = vec![
            txn(1, "usd", "charge", "charge", 10000, 320, start - 1),
            txn(2, "usd", "payout", "payout", -9680, 0, start),
            txn(3, "kwd", "charge", "charge", 1235, 35, end - 1),
        ];
        let summaries = balance_summary(&txns, start, end);
        let text = to_csv(&summaries);
        assert_eq!(
            text,
            "category,description,net_amount,currency\n\
             starting_balance,Starting balance (2024-03-01),0.000,kwd\n\
             activity,Activity,1.200,kwd\n\
             payouts,Total payouts,0.000,kwd\n\
             ending_balance,Ending balance (2024-03-31),1.200,kwd\n\
             starting_balance,Starting balance (2024-03-01),96.80,usd\n\
             activity,Activity,0.00,usd\n\
             payouts,Total payouts,-96.80,usd\n\
             ending_balance,Ending balance (2024-03-31),0.00,usd\n"
        );
        let back = balance_summary_from_csv(text.as_bytes()).unwrap();
        for (b, s) in back.iter().zip(&summaries) {
            assert_eq!(
                (b.starting_balance, b.activity, b.payouts, b.ending_balance),
                (s.starting_balance, s.activity, s.payouts, s.ending_balance)
            );
            assert!(b.balanced && b.warnings.is_empty());
        }
        // From a file: no interval, so no dates.
        assert!(to_csv(&back).contains("Starting balance,0.000,kwd"));
    }

    #[test]
    fn overflow_is_a_warning() {
        let txns = vec![
            txn(1, "usd", "charge", "charge", i64::MAX, 0, 1),
            txn(2, "usd", "charge", "charge", i64::MAX, 0, 2),
        ];
        let s = balance_summary(&txns, 0, 10);
        assert!(!s[0].balanced);
        assert_eq!(s[0].warnings, vec![OVERFLOW.to_owned()]);
        let s = balance_summary(&txns, 5, 10);
        assert!(!s[0].balanced);
    }

    #[test]
    fn csv_in_stripe_layout_and_variants() {
        let text = "category,description,net_amount,currency\nstarting_balance,Starting balance (2024-03-01),96.80,usd\nactivity,Activity,12.62,usd\npayouts,Total payouts,-41.00,usd\nending_balance,Ending balance (2024-03-31),68.42,usd\nstarting_balance,Starting balance (2024-03-01),1000,jpy\nactivity,Activity,-1,jpy\npayouts,Total payouts,0,jpy\nending_balance,Ending balance (2024-03-31),999,jpy\n";
        let s = balance_summary_from_csv(text.as_bytes()).unwrap();
        let codes: Vec<&str> = s.iter().map(|b| b.currency.as_str()).collect();
        assert_eq!(codes, ["JPY", "USD"]);
        let usd = &s[1];
        assert_eq!(
            (
                usd.starting_balance_minor,
                usd.activity_minor,
                usd.payouts_minor,
                usd.ending_balance_minor
            ),
            (9680, 1262, -4100, 6842)
        );
        assert!(
            usd.balanced && usd.warnings.is_empty(),
            "{:?}",
            usd.warnings
        );
        assert_eq!(usd.activity_gross_minor, None);
        assert_eq!(s[0].ending_balance.unwrap().to_string(), "999");

        // Other column order, extra columns and categories, payouts written positive.
        let text = "currency,extra,net_amount,category\nkwd,x,1.000,starting_balance\nkwd,x,0.5,activity_gross\nkwd,x,0.250,activity\nkwd,x,0.125,payouts\nkwd,x,1.125,ending_balance\n";
        let s = balance_summary_from_csv(text.as_bytes()).unwrap();
        assert_eq!(
            (s[0].payouts_minor, s[0].ending_balance_minor),
            (-125, 1125)
        );
        assert!(s[0].balanced);
        assert!(s[0].warnings[0].contains("positive"), "{:?}", s[0].warnings);

        // Missing ending row: computed; a figure that does not add up: not balanced.
        let text = "category,net_amount,currency\nstarting_balance,1,eur\nactivity,2,eur\npayouts,-1,eur\n";
        let s = balance_summary_from_csv(text.as_bytes()).unwrap();
        assert_eq!(s[0].ending_balance_minor, 200);
        assert!(s[0].balanced);
        assert_eq!(s[0].warnings.len(), 1);
        let text = "category,net_amount,currency\nstarting_balance,1,eur\nactivity,2,eur\npayouts,-1,eur\nending_balance,5,eur\nactivity,7,eur\n";
        let s = balance_summary_from_csv(text.as_bytes()).unwrap();
        assert!(!s[0].balanced);
        assert_eq!(s[0].activity_minor, 200);
        assert_eq!(s[0].warnings.len(), 2, "{:?}", s[0].warnings);

        assert_eq!(
            balance_summary_from_csv(b"category,net_amount,currency\n").unwrap(),
            vec![]
        );
        assert_eq!(
            balance_summary_from_csv(b"category,currency\nactivity,usd\n").unwrap_err(),
            ReportError::MissingColumn {
                column: "net_amount".into()
            }
        );
        assert!(matches!(
            balance_summary_from_csv(b"category,net_amount,currency\nactivity,1.001,usd\n"),
            Err(ReportError::TooPrecise { row: 2, .. })
        ));
    }

    #[derive(Debug, Clone)]
    struct Gen {
        currency: &'static str,
        category: usize,
        amount: i64,
        fee: i64,
        created: i64,
    }

    const CATEGORIES: &[(&str, &str, i64)] = &[
        ("charge", "charge", 1),
        ("refund", "refund", -1),
        ("dispute", "adjustment", -1),
        ("fee", "stripe_fee", -1),
        ("payout", "payout", -1),
        ("payout_reversal", "payout_cancel", 1),
        ("", "payout", -1),
        ("", "charge", 1),
    ];

    fn gen() -> impl Strategy<Value = Gen> {
        (
            prop::sample::select(vec!["usd", "eur", "jpy", "krw", "kwd", "bhd"]),
            0..CATEGORIES.len(),
            0i64..100_000_000,
            0i64..100_000,
            0i64..1_000,
        )
            .prop_map(|(currency, category, amount, fee, created)| Gen {
                currency,
                category,
                amount,
                fee,
                created,
            })
    }

    /// The oracle: plain sums of nets, written apart from the module.
    fn oracle(
        txns: &[BalanceTransaction],
        start: i64,
        end: i64,
    ) -> BTreeMap<String, (i64, i64, i64, i64)> {
        let mut out: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        for t in txns.iter().filter(|t| t.created < end) {
            let e = out.entry(t.currency.clone()).or_default();
            let payout = matches!(t.reporting_category.as_str(), "payout" | "payout_reversal")
                || (t.reporting_category.is_empty() && t.kind == "payout");
            if t.created < start {
                e.0 += t.net;
            } else if payout {
                e.2 += t.net;
            } else {
                e.1 += t.net;
            }
            e.3 += t.net;
        }
        out
    }

    proptest! {
        #[test]
        fn ending_is_starting_plus_activity_plus_payouts(
            gens in prop::collection::vec(gen(), 0..60),
            start in 0i64..1_000,
            length in 0i64..1_000,
        ) {
            let end = start + length;
            let txns: Vec<BalanceTransaction> = gens.iter().enumerate().map(|(i, g)| {
                let (category, kind, sign) = CATEGORIES[g.category];
                txn(i, g.currency, category, kind, sign * g.amount, g.fee, g.created)
            }).collect();
            let expected = oracle(&txns, start, end);
            let summaries = balance_summary(&txns, start, end);
            prop_assert_eq!(summaries.len(), expected.len());
            for (s, (code, (starting, activity, payouts, ending))) in summaries.iter().zip(&expected) {
                prop_assert_eq!(s.currency.to_ascii_lowercase(), code.clone());
                prop_assert_eq!(s.starting_balance_minor, *starting);
                prop_assert_eq!(s.activity_minor, *activity);
                prop_assert_eq!(s.payouts_minor, *payouts);
                prop_assert_eq!(s.ending_balance_minor, *ending);
                prop_assert_eq!(s.ending_balance_minor, s.starting_balance_minor + s.activity_minor + s.payouts_minor);
                let by_category: i64 = s.activity_by_category.values().map(|t| t.net_minor).sum();
                prop_assert_eq!(by_category, s.activity_minor);
                prop_assert_eq!(s.activity_gross_minor.unwrap() - s.activity_fee_minor.unwrap(), s.activity_minor);
                prop_assert_eq!(s.ending_balance.unwrap().to_string(), major(*ending, code));
                prop_assert!(s.balanced);
            }
            // What to_csv writes reads back the same.
            let again = balance_summary_from_csv(to_csv(&summaries).as_bytes()).unwrap();
            prop_assert_eq!(again.len(), summaries.len());
            for (a, s) in again.iter().zip(&summaries) {
                prop_assert_eq!(a.ending_balance, s.ending_balance);
                prop_assert_eq!(a.payouts_minor, s.payouts_minor);
            }
            // The report path agrees with the transactions path.
            let from_file = balance_summary_from_csv(render(&expected).as_bytes()).unwrap();
            prop_assert_eq!(from_file.len(), summaries.len());
            for (f, s) in from_file.iter().zip(&summaries) {
                prop_assert_eq!(&f.currency, &s.currency);
                prop_assert_eq!(
                    (f.starting_balance, f.activity, f.payouts, f.ending_balance),
                    (s.starting_balance, s.activity, s.payouts, s.ending_balance)
                );
                prop_assert_eq!(f.ending_balance_minor, s.ending_balance_minor);
                prop_assert!(f.balanced);
                prop_assert!(f.warnings.is_empty(), "{:?}", f.warnings);
            }
        }
    }
}
