//! WebAssembly bindings of stripe-bridge's payout reconciliation, for `stripe-bridge/finance`:
//! the core's `reconcile` module behind JSON text, the pieces of its request plan that the JS
//! client sends (paths, pages, lookups; the client's retry loop is stripe-bridge/payments'). A module of its own (its size budget, and a shop's
//! checkout page never loads it). A thin layer: no logic here.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde::Serialize;
use stripe_bridge::reconcile::fetch::{self, Lookup};
use stripe_bridge::reconcile::{
    self, balance, report, BalanceTransaction, Line, Payout, Reconciliation, Source,
};
use stripe_bridge_js_common::{js_error, json_error, to_js, whole_seconds};
use wasm_bindgen::prelude::*;

fn parse<T: serde::de::DeserializeOwned>(json: &[u8], what: &str) -> Result<T, JsValue> {
    serde_json::from_slice(json)
        .map_err(|e| js_error("reconcile", "invalid_argument", &format!("{what}: {e}")))
}

fn json<T: Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(json_error)
}

fn report_error(e: report::ReportError) -> JsValue {
    js_error("reconcile", e.code(), &e.to_string())
}

/// Itemizes a payout from its balance transactions (JSON) and checks it exactly.
#[wasm_bindgen(js_name = reconcilePayout)]
pub fn reconcile_payout(payout: &[u8], transactions: &[u8]) -> Result<String, JsValue> {
    let payout: Payout = parse(payout, "the payout")?;
    let txns: Vec<BalanceTransaction> = parse(transactions, "the balance transactions")?;
    json(&reconcile::reconcile_payout(&payout, &txns))
}

/// Reconciliations from a `payout_reconciliation.itemized.*` CSV: of `payout` (JSON, checked
/// against its amount) when given, else of every payout in the file (amounts not checked).
#[wasm_bindgen(js_name = reconcilePayoutReport)]
pub fn reconcile_payout_report(csv: &[u8], payout: Option<Vec<u8>>) -> Result<String, JsValue> {
    let results = match payout {
        Some(p) => {
            let payout: Payout = parse(&p, "the payout")?;
            vec![report::reconcile_itemized(csv, &payout).map_err(report_error)?]
        }
        None => report::reconcile_report(csv).map_err(report_error)?,
    };
    json(&results)
}

/// Balance summary per currency for `[start, end)` (Unix seconds) from balance transactions.
#[wasm_bindgen(js_name = balanceSummary)]
pub fn balance_summary(transactions: &[u8], start: f64, end: f64) -> Result<String, JsValue> {
    let txns: Vec<BalanceTransaction> = parse(transactions, "the balance transactions")?;
    let (start, end) = (whole_seconds(start, "start")?, whole_seconds(end, "end")?);
    json(&balance::balance_summary(&txns, start, end))
}

/// Balance summary per currency from a `balance.summary.1` CSV.
#[wasm_bindgen(js_name = balanceSummaryFromReport)]
pub fn balance_summary_from_report(csv: &[u8]) -> Result<String, JsValue> {
    json(&balance::balance_summary_from_csv(csv).map_err(report_error)?)
}

/// The reconciliation as a CSV with the column names of Stripe's report.
#[wasm_bindgen(js_name = payoutReconciliationCsv)]
pub fn payout_reconciliation_csv(reconciliation: &[u8]) -> Result<String, JsValue> {
    let r: Reconciliation = parse(reconciliation, "the reconciliation")?;
    Ok(report::to_csv(&r))
}

fn path(
    result: Result<String, stripe_bridge::payment_request::RequestError>,
) -> Result<String, JsValue> {
    result.map_err(|e| js_error("argument", e.code, &format!("{}: {}", e.field, e.message)))
}

/// `GET` path of a payout.
#[wasm_bindgen(js_name = payoutPath)]
pub fn payout_path(id: &str) -> Result<String, JsValue> {
    path(fetch::payout_path(id))
}

/// `GET` path of a page of a payout's balance transactions (sources expanded).
#[wasm_bindgen(js_name = payoutPagePath)]
pub fn payout_page_path(id: &str, starting_after: Option<String>) -> Result<String, JsValue> {
    path(fetch::page_path(id, starting_after.as_deref()))
}

/// `GET` path of a lookup (`{ object: "charge" | "payment_intent", id }`).
#[wasm_bindgen(js_name = lookupPath)]
pub fn lookup_path(lookup: &[u8]) -> Result<String, JsValue> {
    let lookup: Lookup = parse(lookup, "the lookup")?;
    path(fetch::lookup_path(&lookup))
}

/// One page read: `{ lines, warnings, next_cursor }`.
#[wasm_bindgen(js_name = readPayoutPage)]
pub fn read_payout_page(payout: &[u8], body: &[u8]) -> Result<String, JsValue> {
    let payout: Payout = parse(payout, "the payout")?;
    let page = fetch::parse_page(body).map_err(to_js)?;
    let (lines, warnings) = fetch::lines_of(&payout, &page.data);
    json(&serde_json::json!({
        "lines": lines,
        "warnings": warnings,
        "next_cursor": page.next_cursor(),
    }))
}

/// The charges and PaymentIntents to read next (empty: done), at most `fetch::MAX_LOOKUPS` in
/// all.
#[wasm_bindgen(js_name = nextLookups)]
pub fn next_lookups(lines: &[u8], found: &[u8]) -> Result<String, JsValue> {
    let lines: Vec<Line> = parse(lines, "the lines")?;
    let found: Vec<Source> = parse(found, "the sources found")?;
    json(&fetch::next_lookups(&lines, &found).0)
}

/// A charge or PaymentIntent read for its metadata.
#[wasm_bindgen(js_name = readLookup)]
pub fn read_lookup(body: &[u8]) -> Result<String, JsValue> {
    json(&fetch::parse_source(body).map_err(to_js)?)
}

/// The reconciliation from every line, with the orders found.
#[wasm_bindgen(js_name = finishPayout)]
pub fn finish_payout(
    payout: &[u8],
    lines: &[u8],
    warnings: &[u8],
    found: &[u8],
) -> Result<String, JsValue> {
    let payout: Payout = parse(payout, "the payout")?;
    let mut lines: Vec<Line> = parse(lines, "the lines")?;
    let mut warnings: Vec<String> = parse(warnings, "the warnings")?;
    let found: Vec<Source> = parse(found, "the sources found")?;
    warnings.extend(fetch::next_lookups(&lines, &found).1);
    if let fetch::Start::Never(why) =
        fetch::when_to_reconcile("payout.reconciliation_completed", &payout)
    {
        warnings.push(why.to_owned());
    }
    fetch::fill_orders(&mut lines, &found);
    json(&reconcile::summarize(&payout, lines, warnings))
}
