//! Payout reconciliation: itemize a Stripe payout from its balance transactions, exactly.
//!
//! Give [`reconcile_payout`] a [`Payout`] and the balance transactions listed for it
//! (`GET /v1/balance_transactions?payout=po_...`, ideally with `expand[]=data.source`). Every
//! transaction except the payout's own row becomes a [`Line`] with gross, fee and net in minor
//! units and as exact decimals in the settlement currency, its fee breakdown, the ids of the
//! related charge, PaymentIntent, refund or dispute, the order reference from the charge's
//! metadata, and, for a charge made in another currency, the customer-facing amount and the
//! exchange rate.
//!
//! The check is exact: the lines' nets must add up to the payout amount to the minor unit.
//! When they do not, [`Reconciliation::balanced`] is false, [`Reconciliation::difference_minor`]
//! is `payout amount - sum of nets`, and [`Reconciliation::likely_cause`] names the most likely
//! reason, chosen in this order:
//!
//! 1. the payout is manual (`automatic: false`): Stripe does not tie transactions to it, so it
//!    cannot be itemized;
//! 2. no transactions were given;
//! 3. a sum overflowed `i64`;
//! 4. some transactions are in another currency than the payout (they are not added);
//! 5. the difference is positive: lines are missing (a page of the list not read?);
//! 6. the difference is negative: extra lines, or a reversal or adjustment that belongs to
//!    another payout.
//!
//! The module is pure: no I/O, no clock; all arithmetic is checked; no floats anywhere (an
//! `exchange_rate` JSON number is read from its text into a [`Decimal`]).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::money::{minor_to_decimal, parse_decimal, Currency};
use crate::normalize::DEFAULT_ORDER_KEYS;

pub mod balance;
pub mod fetch;
pub mod job;
pub mod report;

/// A Stripe payout, read leniently (unknown fields ignored, missing ones defaulted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Payout {
    pub id: String,
    /// Minor units of `currency`, positive.
    pub amount: i64,
    /// Stripe's lower-case code, e.g. `usd`.
    pub currency: String,
    pub status: String,
    /// Automatic payouts are tied to their transactions; manual ones are not.
    pub automatic: bool,
    pub arrival_date: i64,
    /// `completed` once every transaction is tied to the payout, `in_progress` before,
    /// `not_applicable`; absent in older API versions.
    pub reconciliation_status: Option<String>,
    /// The id of the payout's own balance transaction (expanded or not).
    #[serde(deserialize_with = "expandable_id")]
    pub balance_transaction: Option<String>,
}

/// One component of a balance transaction's fee.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeDetail {
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// `stripe_fee`, `application_fee`, `tax`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub description: Option<String>,
}

/// The source of a balance transaction: only an id, or what is read from the expanded object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Source {
    pub id: String,
    /// `charge`, `refund`, `dispute`, ... (`None` when not expanded and the prefix is unknown).
    pub object: Option<String>,
    pub payment_intent: Option<String>,
    /// For refunds and disputes: the charge they reverse.
    pub charge: Option<String>,
    /// For charges: the amount in the customer's currency, in its minor units.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// String metadata of the expanded object (non-string values as their JSON text).
    pub metadata: BTreeMap<String, String>,
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        source_from_value(&value)
            .ok_or_else(|| serde::de::Error::custom("source is neither an id nor an object"))
    }
}

fn source_from_value(value: &Value) -> Option<Source> {
    match value {
        Value::String(id) => Some(Source {
            id: id.clone(),
            object: object_from_prefix(id).map(str::to_owned),
            ..Source::default()
        }),
        Value::Object(map) => {
            let id = map.get("id").and_then(Value::as_str)?.to_owned();
            let object = map
                .get("object")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| object_from_prefix(&id).map(str::to_owned));
            let metadata = match map.get("metadata") {
                Some(Value::Object(m)) => m
                    .iter()
                    .filter_map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            Value::Null => return None,
                            other => other.to_string(),
                        };
                        Some((k.clone(), text))
                    })
                    .collect(),
                _ => BTreeMap::new(),
            };
            Some(Source {
                id,
                object,
                payment_intent: map.get("payment_intent").and_then(id_of),
                charge: map.get("charge").and_then(id_of),
                // What the customer paid: a partially captured charge took `amount_captured`.
                amount: map
                    .get("amount_captured")
                    .and_then(Value::as_i64)
                    .filter(|c| *c > 0)
                    .or_else(|| map.get("amount").and_then(Value::as_i64)),
                currency: map
                    .get("currency")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                metadata,
            })
        }
        _ => None,
    }
}

fn object_from_prefix(id: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("ch_", "charge"),
        ("py_", "charge"),
        ("re_", "refund"),
        ("pyr_", "refund"),
        ("dp_", "dispute"),
        ("du_", "dispute"),
        ("po_", "payout"),
        ("tr_", "transfer"),
        ("fee_", "application_fee"),
        ("fr_", "fee_refund"),
        ("adj_", "adjustment"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| id.starts_with(p))
        .map(|(_, o)| *o)
}

/// The id of an expandable field: the string itself, or the object's `id`.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn expandable_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(id_of(&Value::deserialize(d)?))
}

fn lenient_source<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Source>, D::Error> {
    Ok(source_from_value(&Value::deserialize(d)?))
}

/// Reads a rate from a JSON number's text (or a string), never through a float computation.
fn exchange_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s,
        _ => return Err(serde::de::Error::custom("exchange_rate is not a number")),
    };
    parse_rate(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("exchange_rate is not a decimal"))
}

fn parse_rate(text: &str) -> Option<Decimal> {
    parse_decimal(text)
        .ok()
        .or_else(|| Decimal::from_str(text).ok())
        .or_else(|| Decimal::from_scientific(text).ok())
        .map(|d| d.normalize())
}

/// A Stripe balance transaction, read leniently.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BalanceTransaction {
    pub id: String,
    /// `charge`, `refund`, `adjustment`, `payout`, `stripe_fee`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// `charge`, `refund`, `dispute`, `fee`, `payout`, ...
    pub reporting_category: String,
    /// Gross, minor units of `currency` (the settlement currency).
    pub amount: i64,
    pub fee: i64,
    pub fee_details: Vec<FeeDetail>,
    pub net: i64,
    pub currency: String,
    /// Settlement per unit of the customer's currency, when the two differ.
    #[serde(deserialize_with = "exchange_rate")]
    pub exchange_rate: Option<Decimal>,
    pub created: i64,
    pub available_on: i64,
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient_source")]
    pub source: Option<Source>,
}

/// One fee component of a [`Line`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFee {
    pub kind: String,
    pub amount_minor: i64,
    /// Exact, in the fee's currency (`None` if Stripe's currency is unknown here).
    pub amount: Option<Decimal>,
    pub currency: String,
    pub description: Option<String>,
}

/// One balance transaction of the payout, itemized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub balance_transaction_id: String,
    pub kind: String,
    pub reporting_category: String,
    pub created: i64,
    pub available_on: i64,
    /// Settlement currency (upper-case ISO code).
    pub currency: String,
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub net_minor: i64,
    /// Exact decimals in the settlement currency (`None` for a currency unknown here).
    pub gross: Option<Decimal>,
    pub fee: Option<Decimal>,
    pub net: Option<Decimal>,
    pub fees: Vec<LineFee>,
    pub source_id: Option<String>,
    pub source_object: Option<String>,
    pub charge_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub refund_id: Option<String>,
    pub dispute_id: Option<String>,
    pub order_ref: Option<String>,
    /// For a charge in another currency: what the customer paid, in that currency.
    pub customer_facing_amount_minor: Option<i64>,
    pub customer_facing_amount: Option<Decimal>,
    pub customer_facing_currency: Option<String>,
    pub exchange_rate: Option<Decimal>,
}

/// Totals of one reporting category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CategoryTotal {
    pub count: u64,
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub net_minor: i64,
    pub gross: Option<Decimal>,
    pub fee: Option<Decimal>,
    pub net: Option<Decimal>,
}

/// Totals of one order: its charges (gross), fees, refunds and disputes (negative), and net.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrderTotal {
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub refunds_minor: i64,
    pub disputes_minor: i64,
    pub net_minor: i64,
    pub gross: Option<Decimal>,
    pub fee: Option<Decimal>,
    pub refunds: Option<Decimal>,
    pub disputes: Option<Decimal>,
    pub net: Option<Decimal>,
}

/// The result of [`reconcile_payout`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub payout_id: String,
    /// Upper-case ISO code (as given, upper-cased, when unknown here).
    pub currency: String,
    pub payout_amount_minor: i64,
    pub payout_amount: Option<Decimal>,
    pub lines: Vec<Line>,
    /// By reporting category (the transaction type when the category is empty).
    pub totals: BTreeMap<String, CategoryTotal>,
    /// By order reference; refunds and disputes of a charge in this payout inherit its order.
    pub orders: BTreeMap<String, OrderTotal>,
    /// Sum of the nets of the lines in the payout currency.
    pub net_minor: i64,
    pub net: Option<Decimal>,
    pub balanced: bool,
    /// `payout amount - net_minor`; positive means money not accounted for by the lines.
    pub difference_minor: i64,
    pub difference: Option<Decimal>,
    pub likely_cause: Option<String>,
    /// Transactions not added (another currency) and other oddities, one sentence each.
    pub warnings: Vec<String>,
}

/// Checked i64 accumulation that remembers an overflow instead of wrapping.
#[derive(Default)]
struct Overflow(bool);

impl Overflow {
    fn add(&mut self, into: &mut i64, value: i64) {
        match into.checked_add(value) {
            Some(v) => *into = v,
            None => self.0 = true,
        }
    }
}

fn dec(minor: i64, currency: Option<&Currency>) -> Option<Decimal> {
    currency.map(|c| minor_to_decimal(minor, c))
}

fn upper(code: &str) -> String {
    match Currency::new(code) {
        Ok(c) => c.code().to_owned(),
        Err(_) => code.to_ascii_uppercase(),
    }
}

fn order_ref(metadata: &BTreeMap<String, String>) -> Option<String> {
    DEFAULT_ORDER_KEYS.iter().find_map(|k| {
        metadata
            .get(*k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// Whether transaction `id` is the payout's own row: the payout's balance transaction, or a
/// payout row (`payout_row`) whose source is the payout. For transactions from the API and rows
/// of a report alike.
fn is_own(payout: &Payout, id: &str, payout_row: bool, source: Option<&str>) -> bool {
    let by_id = payout
        .balance_transaction
        .as_deref()
        .is_some_and(|own| !own.is_empty() && own == id);
    let by_source = payout_row && !payout.id.is_empty() && source == Some(payout.id.as_str());
    by_id || by_source
}

fn is_own_row(payout: &Payout, txn: &BalanceTransaction) -> bool {
    let source = txn.source.as_ref().map(|s| s.id.as_str());
    is_own(payout, &txn.id, txn.kind == "payout", source)
}

fn build_line(txn: &BalanceTransaction) -> Line {
    let settlement = Currency::new(&txn.currency).ok();
    let source = txn.source.as_ref();
    let object = source.and_then(|s| s.object.clone());
    let source_id = source.map(|s| s.id.clone());
    let reversed_charge = source.and_then(|s| s.charge.clone());
    let (charge_id, refund_id, dispute_id) = match object.as_deref() {
        Some("charge") => (source_id.clone(), None, None),
        Some("refund") => (reversed_charge, source_id.clone(), None),
        Some("dispute") => (reversed_charge, None, source_id.clone()),
        _ => (reversed_charge, None, None),
    };
    let fees = txn
        .fee_details
        .iter()
        .map(|f| {
            let currency = Currency::new(&f.currency).ok();
            LineFee {
                kind: f.kind.clone(),
                amount_minor: f.amount,
                amount: dec(f.amount, currency.as_ref()),
                currency: upper(&f.currency),
                description: f.description.clone(),
            }
        })
        .collect();
    // The customer-facing amount: only a charge carries one, and only when expanded.
    let (
        mut customer_facing_amount_minor,
        mut customer_facing_amount,
        mut customer_facing_currency,
    ) = (None, None, None);
    if object.as_deref() == Some("charge") {
        if let (Some(amount), Some(code)) = (
            source.and_then(|s| s.amount),
            source.and_then(|s| s.currency.as_deref()),
        ) {
            if !code.eq_ignore_ascii_case(&txn.currency) {
                let currency = Currency::new(code).ok();
                customer_facing_amount_minor = Some(amount);
                customer_facing_amount = dec(amount, currency.as_ref());
                customer_facing_currency = Some(upper(code));
            }
        }
    }
    Line {
        balance_transaction_id: txn.id.clone(),
        kind: txn.kind.clone(),
        reporting_category: txn.reporting_category.clone(),
        created: txn.created,
        available_on: txn.available_on,
        currency: upper(&txn.currency),
        gross_minor: txn.amount,
        fee_minor: txn.fee,
        net_minor: txn.net,
        gross: dec(txn.amount, settlement.as_ref()),
        fee: dec(txn.fee, settlement.as_ref()),
        net: dec(txn.net, settlement.as_ref()),
        fees,
        source_id,
        source_object: object,
        charge_id,
        payment_intent_id: source.and_then(|s| s.payment_intent.clone()),
        refund_id,
        dispute_id,
        order_ref: source.and_then(|s| order_ref(&s.metadata)),
        customer_facing_amount_minor,
        customer_facing_amount,
        customer_facing_currency,
        exchange_rate: txn.exchange_rate,
    }
}

/// Itemizes `payout` from `transactions` and checks, exactly, that the lines' nets add up to
/// the payout amount. The payout's own balance transaction (its `balance_transaction`, or a
/// `payout` row whose source is the payout) is left out. See the module docs for the causes.
pub fn reconcile_payout(payout: &Payout, transactions: &[BalanceTransaction]) -> Reconciliation {
    let (lines, warnings) = fetch::lines_of(payout, transactions);
    summarize(payout, lines, warnings)
}

/// Totals and the check for a payout's `lines`, however they were read (from balance
/// transactions or from a report file): the one place where a reconciliation is decided.
pub fn summarize(
    payout: &Payout,
    mut lines: Vec<Line>,
    mut warnings: Vec<String>,
) -> Reconciliation {
    let currency = Currency::new(&payout.currency).ok();
    let cur = currency.as_ref();
    let mut overflow = Overflow::default();
    // Refunds and disputes of a charge in this payout inherit its order reference.
    let charge_orders: BTreeMap<String, String> = lines
        .iter()
        .filter(|l| l.source_object.as_deref() == Some("charge"))
        .filter_map(|l| Some((l.charge_id.clone()?, l.order_ref.clone()?)))
        .collect();
    for line in &mut lines {
        if line.order_ref.is_none() {
            line.order_ref = line
                .charge_id
                .as_ref()
                .and_then(|c| charge_orders.get(c))
                .cloned();
        }
    }

    let mut net_minor = 0i64;
    let mut foreign = 0usize;
    let mut totals: BTreeMap<String, CategoryTotal> = BTreeMap::new();
    let mut orders: BTreeMap<String, OrderTotal> = BTreeMap::new();
    for line in &lines {
        if !line.currency.eq_ignore_ascii_case(&payout.currency) {
            foreign = foreign.saturating_add(1);
            warnings.push(format!(
                "{} is in {}, not the payout currency; not added",
                line.balance_transaction_id, line.currency
            ));
            continue;
        }
        overflow.add(&mut net_minor, line.net_minor);
        let category = if line.reporting_category.is_empty() {
            line.kind.clone()
        } else {
            line.reporting_category.clone()
        };
        let t = totals.entry(category.clone()).or_default();
        t.count = t.count.saturating_add(1);
        overflow.add(&mut t.gross_minor, line.gross_minor);
        overflow.add(&mut t.fee_minor, line.fee_minor);
        overflow.add(&mut t.net_minor, line.net_minor);
        if let Some(order) = &line.order_ref {
            let o = orders.entry(order.clone()).or_default();
            let bucket = if category.starts_with("refund") {
                &mut o.refunds_minor
            } else if category.starts_with("dispute") {
                &mut o.disputes_minor
            } else {
                &mut o.gross_minor
            };
            overflow.add(bucket, line.gross_minor);
            overflow.add(&mut o.fee_minor, line.fee_minor);
            overflow.add(&mut o.net_minor, line.net_minor);
        }
    }
    for t in totals.values_mut() {
        t.gross = dec(t.gross_minor, cur);
        t.fee = dec(t.fee_minor, cur);
        t.net = dec(t.net_minor, cur);
    }
    for o in orders.values_mut() {
        o.gross = dec(o.gross_minor, cur);
        o.fee = dec(o.fee_minor, cur);
        o.refunds = dec(o.refunds_minor, cur);
        o.disputes = dec(o.disputes_minor, cur);
        o.net = dec(o.net_minor, cur);
    }

    let difference = payout.amount.checked_sub(net_minor);
    if difference.is_none() {
        overflow.0 = true;
    }
    let difference_minor = difference.unwrap_or(0);
    let balanced = !overflow.0 && difference == Some(0);
    let likely_cause = if balanced {
        None
    } else if !payout.automatic {
        Some(
            "a manual payout cannot be itemized: its amount is chosen, not the sum of transactions",
        )
    } else if lines.is_empty() {
        Some("no transactions given for the payout")
    } else if overflow.0 {
        Some("a sum overflowed 64-bit minor units")
    } else if foreign > 0 {
        Some("transactions in another currency than the payout")
    } else if difference_minor > 0 {
        Some("lines missing (a page not read?)")
    } else {
        Some("extra lines, or a reversal or adjustment that belongs to another payout")
    };
    Reconciliation {
        payout_id: payout.id.clone(),
        currency: upper(&payout.currency),
        payout_amount_minor: payout.amount,
        payout_amount: dec(payout.amount, cur),
        lines,
        totals,
        orders,
        net_minor,
        net: dec(net_minor, cur),
        balanced,
        difference_minor,
        difference: dec(difference_minor, cur),
        likely_cause: likely_cause.map(str::to_owned),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn txn(value: Value) -> BalanceTransaction {
        serde_json::from_value(value).unwrap()
    }

    fn payout(amount: i64, currency: &str) -> Payout {
        Payout {
            id: "po_1".into(),
            amount,
            currency: currency.into(),
            status: "paid".into(),
            automatic: true,
            arrival_date: 1_700_100_000,
            reconciliation_status: Some("completed".into()),
            balance_transaction: Some("txn_po".into()),
        }
    }

    fn own_row(amount: i64, currency: &str) -> BalanceTransaction {
        txn(
            json!({"id": "txn_po", "type": "payout", "reporting_category": "payout",
            "amount": -amount, "fee": 0, "net": -amount, "currency": currency, "source": "po_1"}),
        )
    }

    fn usd_set() -> Vec<BalanceTransaction> {
        vec![
            txn(
                json!({"id": "txn_1", "object": "balance_transaction", "type": "charge",
                "reporting_category": "charge", "amount": 10000, "fee": 320, "net": 9680,
                "currency": "usd", "exchange_rate": null, "created": 1, "available_on": 2,
                "fee_details": [
                    {"amount": 300, "currency": "usd", "type": "stripe_fee", "description": "Stripe processing fees"},
                    {"amount": 20, "currency": "usd", "type": "tax", "description": "Tax"}],
                "source": {"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                    "amount": 10000, "currency": "usd", "metadata": {"order_id": "1001"}},
                "unknown_field": {"x": 1}}),
            ),
            txn(
                json!({"id": "txn_2", "type": "charge", "reporting_category": "charge",
                "amount": 2500, "fee": 103, "net": 2397, "currency": "usd",
                "fee_details": [{"amount": 103, "currency": "usd", "type": "stripe_fee"}],
                "source": {"id": "ch_2", "object": "charge", "payment_intent": {"id": "pi_2"},
                    "amount": 2500, "currency": "usd", "metadata": {"orderId": "1002"}}}),
            ),
            txn(
                json!({"id": "txn_3", "type": "charge", "reporting_category": "charge",
                "amount": 1999, "fee": 88, "net": 1911, "currency": "usd", "source": "ch_3"}),
            ),
            txn(
                json!({"id": "txn_4", "type": "refund", "reporting_category": "refund",
                "amount": -1000, "fee": 0, "net": -1000, "currency": "usd",
                "source": {"id": "re_1", "object": "refund", "charge": "ch_1", "payment_intent": "pi_1"}}),
            ),
            txn(
                json!({"id": "txn_5", "type": "adjustment", "reporting_category": "dispute",
                "amount": -2500, "fee": 1500, "net": -4000, "currency": "usd",
                "fee_details": [{"amount": 1500, "currency": "usd", "type": "stripe_fee", "description": "Dispute fee"}],
                "source": {"id": "dp_1", "object": "dispute", "charge": {"id": "ch_2"}, "payment_intent": "pi_2"}}),
            ),
        ]
    }

    #[test]
    fn usd_payout_balances_exactly() {
        let mut txns = usd_set();
        let total: i64 = txns.iter().map(|t| t.net).sum();
        assert_eq!(total, 9680 + 2397 + 1911 - 1000 - 4000);
        txns.push(own_row(total, "usd"));
        let r = reconcile_payout(&payout(total, "usd"), &txns);
        assert!(r.balanced, "{r:?}");
        assert_eq!(r.difference_minor, 0);
        assert_eq!(r.likely_cause, None);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.lines.len(), 5);
        assert_eq!(r.currency, "USD");
        assert_eq!(r.net.unwrap().to_string(), "89.88");

        let first = &r.lines[0];
        assert_eq!(first.fees.len(), 2);
        assert_eq!(first.fees[1].kind, "tax");
        assert_eq!(first.fees[1].amount.unwrap().to_string(), "0.20");
        assert_eq!(first.gross.unwrap().to_string(), "100.00");
        assert_eq!(first.net.unwrap().to_string(), "96.80");
        assert_eq!(first.charge_id.as_deref(), Some("ch_1"));
        assert_eq!(first.payment_intent_id.as_deref(), Some("pi_1"));
        assert_eq!(first.order_ref.as_deref(), Some("1001"));
        assert_eq!(first.customer_facing_amount_minor, None);
        assert_eq!(r.lines[1].payment_intent_id.as_deref(), Some("pi_2"));
        assert_eq!(r.lines[2].source_object.as_deref(), Some("charge"));
        assert_eq!(r.lines[2].charge_id.as_deref(), Some("ch_3"));
        assert_eq!(r.lines[3].refund_id.as_deref(), Some("re_1"));
        assert_eq!(r.lines[3].order_ref.as_deref(), Some("1001"));
        assert_eq!(r.lines[4].dispute_id.as_deref(), Some("dp_1"));
        assert_eq!(r.lines[4].charge_id.as_deref(), Some("ch_2"));

        let charges = &r.totals["charge"];
        assert_eq!(
            (charges.count, charges.gross_minor, charges.fee_minor),
            (3, 14499, 511)
        );
        assert_eq!(r.totals["dispute"].net_minor, -4000);
        let o1 = &r.orders["1001"];
        assert_eq!(
            (o1.gross_minor, o1.refunds_minor, o1.fee_minor, o1.net_minor),
            (10000, -1000, 320, 8680)
        );
        let o2 = &r.orders["1002"];
        assert_eq!((o2.disputes_minor, o2.net_minor), (-2500, -1603));

        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["lines"][0]["net"], "96.80");
        assert_eq!(json["net_minor"], 8988);
        assert_eq!(json["balanced"], true);
    }

    #[test]
    fn zero_and_three_decimal_currencies() {
        let jpy = vec![
            txn(
                json!({"id": "t1", "type": "charge", "reporting_category": "charge",
                "amount": 5000, "fee": 180, "net": 4820, "currency": "jpy", "source": "ch_j"}),
            ),
            txn(
                json!({"id": "t2", "type": "refund", "reporting_category": "refund",
                "amount": -500, "fee": 0, "net": -500, "currency": "jpy", "source": "re_j"}),
            ),
        ];
        let r = reconcile_payout(&payout(4320, "jpy"), &jpy);
        assert!(r.balanced);
        assert_eq!(r.net.unwrap().to_string(), "4320");
        assert_eq!(r.lines[0].fee.unwrap().to_string(), "180");
        assert_eq!(r.lines[1].refund_id.as_deref(), Some("re_j"));

        let kwd = vec![txn(
            json!({"id": "t1", "type": "charge", "reporting_category": "charge",
            "amount": 12340, "fee": 375, "net": 11965, "currency": "kwd", "source": "ch_k"}),
        )];
        let r = reconcile_payout(&payout(11965, "kwd"), &kwd);
        assert!(r.balanced);
        assert_eq!(r.lines[0].gross.unwrap().to_string(), "12.340");
        assert_eq!(r.net.unwrap().to_string(), "11.965");
    }

    #[test]
    fn dropped_line_is_detected() {
        let txns = usd_set();
        let total: i64 = txns.iter().map(|t| t.net).sum();
        let mut partial = txns.clone();
        let dropped = partial.remove(1);
        let r = reconcile_payout(&payout(total, "usd"), &partial);
        assert!(!r.balanced);
        assert_eq!(r.difference_minor, dropped.net);
        assert_eq!(
            r.likely_cause.as_deref(),
            Some("lines missing (a page not read?)")
        );

        let mut without_refund = txns.clone();
        let refund = without_refund.remove(3);
        let r = reconcile_payout(&payout(total, "usd"), &without_refund);
        assert_eq!(r.difference_minor, refund.net);
        assert!(r.likely_cause.unwrap().contains("reversal or adjustment"));

        let mut manual = payout(total, "usd");
        manual.automatic = false;
        let r = reconcile_payout(&manual, &partial);
        assert!(r.likely_cause.unwrap().contains("manual payout"));
    }

    /// A partially captured charge in another currency: the customer paid what was captured
    /// (the balance transaction is of that part), not the authorized amount.
    #[test]
    fn foreign_currency_partial_capture_shows_what_was_captured() {
        let t = txn(
            json!({"id": "txn_pc", "type": "charge", "reporting_category": "charge",
            "amount": 652, "fee": 40, "net": 612, "currency": "usd", "exchange_rate": 1.0869,
            "fee_details": [{"amount": 40, "currency": "usd", "type": "stripe_fee"}],
            "source": {"id": "ch_pc", "object": "charge", "payment_intent": "pi_pc",
                "amount": 1000, "amount_captured": 600, "captured": true, "currency": "eur",
                "metadata": {"order": "A-8"}}}),
        );
        let r = reconcile_payout(&payout(612, "usd"), &[t]);
        assert_eq!(r.lines[0].customer_facing_amount_minor, Some(600));
        assert_eq!(
            r.lines[0].customer_facing_amount.unwrap().to_string(),
            "6.00"
        );
    }

    #[test]
    fn foreign_currency_charge_shows_both_amounts() {
        let t = txn(
            json!({"id": "txn_fx", "type": "charge", "reporting_category": "charge",
            "amount": 1087, "fee": 62, "net": 1025, "currency": "usd", "exchange_rate": 1.0869,
            "fee_details": [{"amount": 62, "currency": "usd", "type": "stripe_fee"}],
            "source": {"id": "ch_fx", "object": "charge", "payment_intent": "pi_fx",
                "amount": 1000, "currency": "eur", "metadata": {"order": "A-7"}}}),
        );
        assert_eq!(t.exchange_rate.unwrap().to_string(), "1.0869");
        let r = reconcile_payout(&payout(1025, "usd"), &[t]);
        assert!(r.balanced);
        let line = &r.lines[0];
        assert_eq!(line.gross.unwrap().to_string(), "10.87");
        assert_eq!(line.customer_facing_amount_minor, Some(1000));
        assert_eq!(line.customer_facing_amount.unwrap().to_string(), "10.00");
        assert_eq!(line.customer_facing_currency.as_deref(), Some("EUR"));
        assert_eq!(line.exchange_rate.unwrap().to_string(), "1.0869");
        assert_eq!(line.order_ref.as_deref(), Some("A-7"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["lines"][0]["exchange_rate"], "1.0869");
    }

    #[test]
    fn exchange_rate_text_forms() {
        for (input, expected) in [
            (json!(0.00001), "0.00001"),
            (json!(1), "1"),
            (json!("0.9201"), "0.9201"),
            (json!(152.123456), "152.123456"),
        ] {
            let t = txn(json!({"id": "t", "exchange_rate": input}));
            assert_eq!(t.exchange_rate.unwrap().to_string(), expected);
        }
        assert!(
            serde_json::from_value::<BalanceTransaction>(json!({"exchange_rate": true})).is_err()
        );
    }

    #[test]
    fn other_currency_lines_are_not_added() {
        let txns = vec![
            txn(json!({"id": "a", "type": "charge", "amount": 100, "net": 100, "currency": "usd"})),
            txn(json!({"id": "b", "type": "charge", "amount": 100, "net": 100, "currency": "eur"})),
        ];
        let r = reconcile_payout(&payout(200, "usd"), &txns);
        assert!(!r.balanced);
        assert_eq!(r.difference_minor, 100);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.likely_cause.unwrap().contains("another currency"));
    }

    #[test]
    fn fixtures_parse() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/stripe-openapi/fixtures3.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} not found", path.display());
            return;
        };
        let fixtures: Value = serde_json::from_str(&text).unwrap();
        let resources = &fixtures["resources"];
        let po: Payout = serde_json::from_value(resources["payout"].clone()).unwrap();
        let bt: BalanceTransaction =
            serde_json::from_value(resources["balance_transaction"].clone()).unwrap();
        assert!(po.id.starts_with("po_"));
        assert!(po.amount > 0);
        assert!(!po.currency.is_empty());
        assert!(bt.id.starts_with("txn_"));
        assert_eq!(bt.amount.checked_sub(bt.fee), Some(bt.net));
        let source = bt.source.clone().unwrap();
        assert!(!source.id.is_empty());
        // A charge-only payout built around the fixture's transaction balances.
        let mut own = bt.clone();
        own.id = "txn_other".into();
        let mut p = po.clone();
        p.amount = own.net;
        let r = reconcile_payout(&p, &[own]);
        assert!(r.balanced, "{r:?}");
        // In the fixture, the payout's own transaction is that same id: it is left out.
        if po.balance_transaction.as_deref() == Some(bt.id.as_str()) {
            let r = reconcile_payout(&po, std::slice::from_ref(&bt));
            assert!(r.lines.is_empty());
            assert!(!r.balanced);
        }
    }

    #[derive(Debug, Clone)]
    enum Kind {
        Charge(i64, Vec<i64>),
        Refund(i64),
        Dispute(i64, i64),
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            (1i64..10_000_000, prop::collection::vec(0i64..50_000, 0..3))
                .prop_map(|(a, f)| Kind::Charge(a, f)),
            (1i64..10_000_000).prop_map(Kind::Refund),
            (1i64..10_000_000, 0i64..5_000).prop_map(|(a, f)| Kind::Dispute(a, f)),
        ]
    }

    fn build(kinds: &[Kind], currency: &str) -> Vec<BalanceTransaction> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (kind, category, amount, fees, source) = match k {
                    Kind::Charge(a, f) => ("charge", "charge", *a, f.clone(), format!("ch_{i}")),
                    Kind::Refund(a) => ("refund", "refund", -a, vec![], format!("re_{i}")),
                    Kind::Dispute(a, f) => {
                        ("adjustment", "dispute", -a, vec![*f], format!("dp_{i}"))
                    }
                };
                let fee: i64 = fees.iter().sum();
                let details: Vec<Value> = fees
                    .iter()
                    .map(|f| json!({"amount": f, "currency": currency, "type": "stripe_fee"}))
                    .collect();
                txn(
                    json!({"id": format!("txn_{i}"), "type": kind, "reporting_category": category,
                    "amount": amount, "fee": fee, "net": amount - fee, "currency": currency,
                    "fee_details": details, "source": source}),
                )
            })
            .collect()
    }

    proptest! {
        #[test]
        fn random_payouts_balance(
            kinds in prop::collection::vec(kind(), 1..25),
            currency in prop::sample::select(vec!["usd", "jpy", "kwd", "eur", "bhd"]),
            drop in any::<prop::sample::Index>(),
        ) {
            let txns = build(&kinds, currency);
            let total: i64 = txns.iter().map(|t| t.net).sum();
            let mut all = txns.clone();
            all.push(own_row(total, currency));
            let r = reconcile_payout(&payout(total, currency), &all);
            prop_assert!(r.balanced);
            prop_assert_eq!(r.lines.len(), txns.len());
            prop_assert_eq!(r.net_minor, total);
            let cur = Currency::new(currency).unwrap();
            prop_assert_eq!(r.net, Some(minor_to_decimal(total, &cur)));
            let by_category: i64 = r.totals.values().map(|t| t.net_minor).sum();
            prop_assert_eq!(by_category, total);

            let mut partial = txns.clone();
            let removed = partial.remove(drop.index(partial.len()));
            let r = reconcile_payout(&payout(total, currency), &partial);
            prop_assert_eq!(r.balanced, removed.net == 0);
            prop_assert_eq!(r.difference_minor, removed.net);
            prop_assert_eq!(r.likely_cause.is_some(), removed.net != 0);
        }
    }
}
