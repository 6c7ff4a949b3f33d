//! A payout reconciliation mapped onto the targets: ERP journal, nopCommerce notes, Salesforce
//! records, order feed settlement entries.
//!
//! Every function takes the [`Payout`] (for its arrival date and status) and the
//! [`Reconciliation`] that [`crate::reconcile::reconcile_payout`] or
//! [`crate::reconcile::summarize`] made of it:
//!
//! - [`journal_for`] (`erp`): one balanced journal per currency — the bank debited with the
//!   payout, the Stripe clearing account credited with charges and debited with refunds and
//!   disputes, fee accounts debited with fees (credited with fee refunds), other movements on
//!   an adjustments account — plus the per-order [`Settlement`]s. Debits equal credits to the
//!   minor unit: a difference (an unbalanced reconciliation, a line whose net is not gross minus
//!   fee) is posted to the suspense account and the journal says `balanced: false`.
//! - [`nopcommerce_notes_for`] (`nopcommerce`): one internal order note per order settled.
//! - [`salesforce_requests_for`] (`salesforce`): Composite API bodies upserting the payout
//!   record and one junction record per balance transaction (sObject Collections of 200).
//! - [`feed_for`] (`order-feed`): one settlement entry per order, plus one per currency and
//!   reporting category for the lines without an order.
//!
//! Amounts are exact (minor units and decimal strings, or exact JSON numbers for Salesforce),
//! all arithmetic is checked ([`PayoutMapError::Overflow`]), and no output carries personal
//! data: balance transaction descriptions are never copied, only ids, order references,
//! categories and amounts.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::mapping::salesforce::SalesforceConfig;
use crate::mapping::{iso8601, MappingError, Profile};
use crate::money::{minor_to_decimal, Currency};
use crate::reconcile::{Line, Payout, Reconciliation};

/// Why a payout could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutMapError {
    /// A sum, difference or negation left the 64-bit range of minor units; `what` says where.
    Overflow { what: String },
    /// An account or Salesforce name of the configuration is not usable.
    Config(MappingError),
}

impl PayoutMapError {
    /// A stable code: `amount_overflow` or `invalid_mapping`.
    pub fn code(&self) -> &'static str {
        match self {
            PayoutMapError::Overflow { .. } => "amount_overflow",
            PayoutMapError::Config(e) => e.code(),
        }
    }
}

impl fmt::Display for PayoutMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayoutMapError::Overflow { what } => {
                write!(f, "amount overflow: {what} is beyond 64-bit minor units")
            }
            PayoutMapError::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PayoutMapError {}

impl From<MappingError> for PayoutMapError {
    fn from(e: MappingError) -> Self {
        PayoutMapError::Config(e)
    }
}

fn overflow(what: impl Into<String>) -> PayoutMapError {
    PayoutMapError::Overflow { what: what.into() }
}

fn add(into: &mut i64, value: i64, what: &str) -> Result<(), PayoutMapError> {
    *into = into.checked_add(value).ok_or_else(|| overflow(what))?;
    Ok(())
}

fn neg(value: i64, what: &str) -> Result<i64, PayoutMapError> {
    value.checked_neg().ok_or_else(|| overflow(what))
}

/// Exact decimal of `minor` in `code` (`None` for a currency unknown here).
fn dec(minor: i64, code: &str) -> Option<Decimal> {
    Currency::new(code)
        .ok()
        .map(|c| minor_to_decimal(minor, &c))
}

/// The civil date (UTC) of Unix seconds, `YYYY-MM-DD`.
pub fn civil_date(unix: i64) -> String {
    iso8601(unix)
        .split('T')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The reporting category of a line, or its type when the category is empty (as
/// [`crate::reconcile::summarize`] groups them).
fn category(line: &Line) -> &str {
    if line.reporting_category.is_empty() {
        &line.kind
    } else {
        &line.reporting_category
    }
}

/// The JSON text of a mapping output (plain data: serialization cannot fail).
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Settlements (ERP and order feed)
// ---------------------------------------------------------------------------------------------

/// What one order (or, without an order, one reporting category) settled in a payout, in one
/// settlement currency. Charges count in `gross`, refunds in `refunds` and disputes in
/// `disputes` (both negative), as in [`crate::reconcile::OrderTotal`]; `fee` is every fee of the
/// lines (dispute fees included), `net` the sum of their nets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// `None` for a group of lines without an order reference.
    pub order_ref: Option<String>,
    /// The reporting category of a group without an order (`None` for an order).
    pub category: Option<String>,
    /// Settlement currency (upper-case ISO code).
    pub currency: String,
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub refunds_minor: i64,
    pub disputes_minor: i64,
    pub net_minor: i64,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub gross: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub fee: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub refunds: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub disputes: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net: Option<Decimal>,
    pub payout_id: String,
    /// `YYYY-MM-DD` (UTC).
    pub arrival_date: String,
    /// The balance transactions summed here.
    pub balance_transactions: Vec<String>,
}

#[derive(Default)]
struct Sums {
    gross: i64,
    fee: i64,
    refunds: i64,
    disputes: i64,
    net: i64,
    ids: Vec<String>,
}

impl Sums {
    fn add(&mut self, line: &Line) -> Result<(), PayoutMapError> {
        let what = &line.balance_transaction_id;
        let cat = category(line);
        let bucket = if cat.starts_with("refund") {
            &mut self.refunds
        } else if cat.starts_with("dispute") {
            &mut self.disputes
        } else {
            &mut self.gross
        };
        add(bucket, line.gross_minor, what)?;
        add(&mut self.fee, line.fee_minor, what)?;
        add(&mut self.net, line.net_minor, what)?;
        self.ids.push(line.balance_transaction_id.clone());
        Ok(())
    }

    fn settle(self, key: GroupKey, payout: &Payout, r: &Reconciliation) -> Settlement {
        let (unattributed, name, _, currency) = key;
        let d = |minor| dec(minor, &currency);
        Settlement {
            order_ref: (!unattributed).then(|| name.clone()),
            category: unattributed.then_some(name),
            gross: d(self.gross),
            fee: d(self.fee),
            refunds: d(self.refunds),
            disputes: d(self.disputes),
            net: d(self.net),
            gross_minor: self.gross,
            fee_minor: self.fee,
            refunds_minor: self.refunds,
            disputes_minor: self.disputes,
            net_minor: self.net,
            currency,
            payout_id: r.payout_id.clone(),
            arrival_date: civil_date(payout.arrival_date),
            balance_transactions: self.ids,
        }
    }
}

/// (no order?, order reference or category, not the payout currency?, currency): orders
/// first, each order's currencies together, the payout currency first.
type GroupKey = (bool, String, bool, String);

/// Every line of the reconciliation summed per order and currency, then the lines without an
/// order per category and currency (orders first, sorted by reference; the payout currency
/// before others).
pub fn settlements_for(
    payout: &Payout,
    r: &Reconciliation,
) -> Result<Vec<Settlement>, PayoutMapError> {
    let mut groups: BTreeMap<GroupKey, Sums> = BTreeMap::new();
    for line in &r.lines {
        let (unattributed, name) = match &line.order_ref {
            Some(order) => (false, order.clone()),
            None => (true, category(line).to_owned()),
        };
        let foreign = !line.currency.eq_ignore_ascii_case(&r.currency);
        let key = (unattributed, name, foreign, line.currency.clone());
        groups.entry(key).or_default().add(line)?;
    }
    Ok(groups
        .into_iter()
        .map(|(key, sums)| sums.settle(key, payout, r))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// ERP journal
// ---------------------------------------------------------------------------------------------

/// The ledger accounts of the payout journal. Read from JSON with every entry optional
/// (`{"bank": "1200", "fees": "6150"}`); the defaults are descriptive names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalAccounts {
    /// Debited with the payout amount on arrival.
    pub bank: String,
    /// Stripe clearing/receivable: credited with charges' gross, debited with refunds' and
    /// disputes' gross (and credited again for a dispute won or a refund that failed).
    pub clearing: String,
    /// Payment processing fees (expense): debited with fees, credited with fee refunds.
    pub fees: String,
    /// Tax charged on Stripe's fees (fee components of type `tax`, category `tax`).
    pub fee_tax: String,
    /// Dispute fees (fees of dispute lines; returned when a dispute is won).
    pub dispute_fees: String,
    /// Everything else: payout reversals, transfers, adjustments, reserves, ...
    pub adjustments: String,
    /// What the lines do not explain (an unbalanced reconciliation).
    pub suspense: String,
}

impl Default for JournalAccounts {
    fn default() -> Self {
        JournalAccounts {
            bank: "Bank".into(),
            clearing: "Stripe Clearing".into(),
            fees: "Payment Processing Fees".into(),
            fee_tax: "Tax on Payment Fees".into(),
            dispute_fees: "Dispute Fees".into(),
            adjustments: "Stripe Adjustments".into(),
            suspense: "Suspense".into(),
        }
    }
}

impl JournalAccounts {
    /// Reads overrides from JSON text (missing entries keep their defaults) and checks them.
    pub fn from_json(text: &str) -> Result<Self, MappingError> {
        let accounts: JournalAccounts = serde_json::from_str(text)
            .map_err(|e| MappingError::new("journal_accounts", e.to_string()))?;
        accounts.validate()?;
        Ok(accounts)
    }

    /// Every account must be named.
    pub fn validate(&self) -> Result<(), MappingError> {
        let names = [
            ("bank", &self.bank),
            ("clearing", &self.clearing),
            ("fees", &self.fees),
            ("fee_tax", &self.fee_tax),
            ("dispute_fees", &self.dispute_fees),
            ("adjustments", &self.adjustments),
            ("suspense", &self.suspense),
        ];
        match names.iter().find(|(_, name)| name.trim().is_empty()) {
            Some((entry, _)) => Err(MappingError::new(
                format!("journal_accounts.{entry}"),
                "an account name is required",
            )),
            None => Ok(()),
        }
    }

    /// The account of a line's gross amount.
    fn for_gross(&self, category: &str) -> &str {
        const CLEARING: [&str; 5] = [
            "charge",
            "payment",
            "refund",
            "dispute",
            "partial_capture_reversal",
        ];
        if CLEARING.iter().any(|p| category.starts_with(p)) {
            &self.clearing
        } else if matches!(category, "fee" | "stripe_fee") {
            &self.fees
        } else if category == "tax" {
            &self.fee_tax
        } else {
            &self.adjustments
        }
    }

    /// The account of one fee component of a line.
    fn for_fee(&self, category: &str, fee_kind: &str) -> &str {
        if fee_kind == "tax" {
            &self.fee_tax
        } else if category.starts_with("dispute") {
            &self.dispute_fees
        } else {
            &self.fees
        }
    }
}

/// One line of a journal: either a debit or a credit (the other side is zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalLine {
    pub account: String,
    /// What the line posts: `payout` (the bank), `gross`, `fee` or `suspense`.
    pub role: &'static str,
    pub debit_minor: i64,
    pub credit_minor: i64,
    /// Exact decimals (`None` for a currency unknown here).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub debit: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub credit: Option<Decimal>,
    /// Category, Stripe ids and order; never a description (it may hold personal data).
    pub memo: String,
    pub payout_id: String,
    pub balance_transaction_id: Option<String>,
    /// The charge, refund or dispute behind the line.
    pub source_id: Option<String>,
    pub order_ref: Option<String>,
    /// `stripe:<payment_intent>:<charge>`, as the `erp` profile's documents carry it.
    pub reconciliation_ref: Option<String>,
}

/// The journal of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyJournal {
    /// Upper-case ISO code.
    pub currency: String,
    pub lines: Vec<JournalLine>,
    /// Totals including the suspense line: always equal.
    pub total_debit_minor: i64,
    pub total_credit_minor: i64,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_debit: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_credit: Option<Decimal>,
    /// Whether debits equalled credits without a suspense line.
    pub balanced: bool,
    /// Debits minus credits before the suspense line, which takes it (credited when positive).
    /// In the payout currency this is the reconciliation's `difference_minor` (payout amount
    /// minus the lines' nets) when every line's net is its gross minus its fee.
    pub difference_minor: i64,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub difference: Option<Decimal>,
}

/// The `erp` profile's output for a payout: the journals (payout currency first) and the
/// per-order settlements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutJournal {
    pub profile: &'static str,
    /// `payout_journal`.
    pub document_type: &'static str,
    pub payout_id: String,
    /// `YYYY-MM-DD` (UTC): the posting date.
    pub arrival_date: String,
    pub currency: String,
    pub payout_amount_minor: i64,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub payout_amount: Option<Decimal>,
    /// Every currency journal balanced without suspense.
    pub balanced: bool,
    /// The reconciliation's likely cause of a difference.
    pub likely_cause: Option<String>,
    pub journals: Vec<CurrencyJournal>,
    /// Per order and currency (lines without an order are only in the journals).
    pub settlements: Vec<Settlement>,
    /// Lines whose net is not gross minus fee, and other oddities.
    pub warnings: Vec<String>,
}

/// One posting before it becomes a [`JournalLine`]: positive debits, negative credits.
struct Posting<'a> {
    account: &'a str,
    role: &'static str,
    amount: i64,
    memo: String,
    line: Option<&'a Line>,
}

fn journal_line(
    p: Posting<'_>,
    currency: &str,
    payout_id: &str,
) -> Result<Option<JournalLine>, PayoutMapError> {
    if p.amount == 0 {
        return Ok(None);
    }
    let (debit, credit) = if p.amount > 0 {
        (p.amount, 0)
    } else {
        (0, neg(p.amount, &p.memo)?)
    };
    let line = p.line;
    let reconciliation_ref = line.and_then(|l| match (&l.payment_intent_id, &l.charge_id) {
        (None, None) => None,
        (pi, ch) => Some(format!(
            "stripe:{}:{}",
            pi.as_deref().unwrap_or_default(),
            ch.as_deref().unwrap_or_default()
        )),
    });
    Ok(Some(JournalLine {
        account: p.account.to_owned(),
        role: p.role,
        debit_minor: debit,
        credit_minor: credit,
        debit: dec(debit, currency),
        credit: dec(credit, currency),
        memo: p.memo,
        payout_id: payout_id.to_owned(),
        balance_transaction_id: line.map(|l| l.balance_transaction_id.clone()),
        source_id: line.and_then(|l| l.source_id.clone()),
        order_ref: line.and_then(|l| l.order_ref.clone()),
        reconciliation_ref,
    }))
}

/// The fee components of a line: its breakdown when it is in the line's currency and adds up
/// to the fee, else the fee as one component.
fn fee_parts(line: &Line) -> Vec<(&str, i64)> {
    let same_currency = line
        .fees
        .iter()
        .all(|f| f.currency.eq_ignore_ascii_case(&line.currency));
    let sum = line
        .fees
        .iter()
        .try_fold(0i64, |acc, f| acc.checked_add(f.amount_minor));
    if !line.fees.is_empty() && same_currency && sum == Some(line.fee_minor) {
        line.fees
            .iter()
            .map(|f| (f.kind.as_str(), f.amount_minor))
            .collect()
    } else {
        vec![("fee", line.fee_minor)]
    }
}

/// `charge ch_1 for order 1001`, `refund re_1`, `payout_reversal txn_9`.
fn line_memo(line: &Line) -> String {
    let id = line
        .source_id
        .as_deref()
        .unwrap_or(&line.balance_transaction_id);
    let mut memo = format!("{} {id}", category(line));
    if let Some(order) = &line.order_ref {
        let _ = write!(memo, " for order {order}");
    }
    memo
}

/// The postings of one line: its gross (money in is credited), then its fee components.
fn line_postings<'a>(
    line: &'a Line,
    accounts: &'a JournalAccounts,
) -> Result<Vec<Posting<'a>>, PayoutMapError> {
    let cat = category(line);
    let memo = line_memo(line);
    let mut postings = vec![Posting {
        account: accounts.for_gross(cat),
        role: "gross",
        amount: neg(line.gross_minor, &line.balance_transaction_id)?,
        memo: memo.clone(),
        line: Some(line),
    }];
    for (kind, amount) in fee_parts(line) {
        postings.push(Posting {
            account: accounts.for_fee(cat, kind),
            role: "fee",
            amount,
            memo: format!("{kind} on {memo}"),
            line: Some(line),
        });
    }
    Ok(postings)
}

/// Journal lines per currency, the payout currency first, then in order of appearance.
struct Books<'a> {
    payout_id: &'a str,
    currencies: Vec<(String, Vec<JournalLine>)>,
}

impl Books<'_> {
    fn post(&mut self, currency: &str, p: Posting<'_>) -> Result<(), PayoutMapError> {
        let Some(line) = journal_line(p, currency, self.payout_id)? else {
            return Ok(());
        };
        match self
            .currencies
            .iter_mut()
            .find(|(c, _)| c.eq_ignore_ascii_case(currency))
        {
            Some((_, lines)) => lines.push(line),
            None => self.currencies.push((currency.to_owned(), vec![line])),
        }
        Ok(())
    }
}

fn totals(lines: &[JournalLine], currency: &str) -> Result<(i64, i64), PayoutMapError> {
    let what = format!("the {currency} journal's total");
    let (mut debit, mut credit) = (0i64, 0i64);
    for line in lines {
        add(&mut debit, line.debit_minor, &what)?;
        add(&mut credit, line.credit_minor, &what)?;
    }
    Ok((debit, credit))
}

/// Balances one currency's lines through the suspense account and totals them.
fn close(
    currency: String,
    mut lines: Vec<JournalLine>,
    accounts: &JournalAccounts,
    r: &Reconciliation,
) -> Result<CurrencyJournal, PayoutMapError> {
    let (debit, credit) = totals(&lines, &currency)?;
    let difference = debit
        .checked_sub(credit)
        .ok_or_else(|| overflow(format!("the {currency} journal's difference")))?;
    let memo = match &r.likely_cause {
        Some(cause) => format!("unexplained difference of payout {}: {cause}", r.payout_id),
        None => format!("unexplained difference of payout {}", r.payout_id),
    };
    let suspense = Posting {
        account: &accounts.suspense,
        role: "suspense",
        amount: neg(difference, &memo)?,
        memo,
        line: None,
    };
    lines.extend(journal_line(suspense, &currency, &r.payout_id)?);
    let (debit, credit) = totals(&lines, &currency)?;
    Ok(CurrencyJournal {
        total_debit: dec(debit, &currency),
        total_credit: dec(credit, &currency),
        difference: dec(difference, &currency),
        total_debit_minor: debit,
        total_credit_minor: credit,
        balanced: difference == 0,
        difference_minor: difference,
        lines,
        currency,
    })
}

/// A warning when a line's net is not its gross minus its fee (the journal posts gross and
/// fee; the rest goes to suspense).
fn inconsistency(line: &Line) -> Result<Option<String>, PayoutMapError> {
    let expected = line
        .gross_minor
        .checked_sub(line.fee_minor)
        .ok_or_else(|| overflow(&line.balance_transaction_id))?;
    Ok((expected != line.net_minor).then(|| {
        format!(
            "{}: net {} is not gross {} minus fee {}; the difference is posted to suspense",
            line.balance_transaction_id, line.net_minor, line.gross_minor, line.fee_minor
        )
    }))
}

/// The journals of a payout: the bank debited with the payout amount (in the payout
/// currency), each line's gross and fee components on their accounts (in the line's currency),
/// and, per currency, a suspense line for whatever does not balance.
pub fn journal_for(
    payout: &Payout,
    r: &Reconciliation,
    accounts: &JournalAccounts,
) -> Result<PayoutJournal, PayoutMapError> {
    accounts.validate()?;
    let mut books = Books {
        payout_id: &r.payout_id,
        currencies: vec![(r.currency.clone(), Vec::new())],
    };
    books.post(
        &r.currency,
        Posting {
            account: &accounts.bank,
            role: "payout",
            amount: r.payout_amount_minor,
            memo: format!("Stripe payout {}", r.payout_id),
            line: None,
        },
    )?;
    let mut warnings = Vec::new();
    for line in &r.lines {
        for posting in line_postings(line, accounts)? {
            books.post(&line.currency, posting)?;
        }
        warnings.extend(inconsistency(line)?);
    }
    let journals = books
        .currencies
        .into_iter()
        .map(|(currency, lines)| close(currency, lines, accounts, r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut settlements = settlements_for(payout, r)?;
    settlements.retain(|s| s.order_ref.is_some());
    Ok(PayoutJournal {
        profile: "erp",
        document_type: "payout_journal",
        payout_id: r.payout_id.clone(),
        arrival_date: civil_date(payout.arrival_date),
        currency: r.currency.clone(),
        payout_amount_minor: r.payout_amount_minor,
        payout_amount: r.payout_amount,
        balanced: journals.iter().all(|j| j.balanced),
        likely_cause: r.likely_cause.clone(),
        journals,
        settlements,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// nopCommerce
// ---------------------------------------------------------------------------------------------

/// One `OrderNote` for an order settled in the payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NopPayoutNote {
    /// The order reference (nopCommerce order id or custom order number).
    pub order_id: String,
    pub order_note: String,
    /// Always false: fees and payouts are the merchant's business.
    pub display_to_customer: bool,
}

/// The `nopcommerce` profile's output for a payout: one note per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NopPayoutNotes {
    pub profile: &'static str,
    pub payout_id: String,
    /// `YYYY-MM-DD` (UTC).
    pub arrival_date: String,
    pub notes: Vec<NopPayoutNote>,
}

/// `100.00 USD`, or minor units for a currency unknown here.
fn money(minor: i64, amount: Option<Decimal>, currency: &str) -> String {
    match amount {
        Some(a) => format!("{a} {currency}"),
        None => format!("{minor} minor units of {currency}"),
    }
}

/// `gross 100.00 USD, refunds -10.00 USD, fee 3.20 USD, net 86.80 USD` (refunds and disputes
/// only when there are any).
fn settlement_text(s: &Settlement) -> String {
    let c = &s.currency;
    let mut text = format!("gross {}", money(s.gross_minor, s.gross, c));
    if s.refunds_minor != 0 {
        let _ = write!(text, ", refunds {}", money(s.refunds_minor, s.refunds, c));
    }
    if s.disputes_minor != 0 {
        let _ = write!(
            text,
            ", disputes {}",
            money(s.disputes_minor, s.disputes, c)
        );
    }
    let _ = write!(
        text,
        ", fee {}, net {}",
        money(s.fee_minor, s.fee, c),
        money(s.net_minor, s.net, c)
    );
    text
}

/// One note per order settled in the payout, e.g. `Stripe payout po_123 (arrives 2026-12-03):
/// gross 100.00 USD, fee 3.20 USD, net 96.80 USD` (an order settled in two currencies gets
/// both, separated by `; `).
pub fn nopcommerce_notes_for(
    payout: &Payout,
    r: &Reconciliation,
) -> Result<NopPayoutNotes, PayoutMapError> {
    let arrival_date = civil_date(payout.arrival_date);
    let prefix = format!("Stripe payout {} (arrives {arrival_date}): ", r.payout_id);
    let mut notes: Vec<NopPayoutNote> = Vec::new();
    for s in settlements_for(payout, r)? {
        let Some(order) = s.order_ref.clone() else {
            continue;
        };
        let text = settlement_text(&s);
        match notes.last_mut() {
            Some(last) if last.order_id == order => {
                let _ = write!(last.order_note, "; {text}");
            }
            _ => notes.push(NopPayoutNote {
                order_id: order,
                order_note: format!("{prefix}{text}"),
                display_to_customer: false,
            }),
        }
    }
    Ok(NopPayoutNotes {
        profile: "nopcommerce",
        payout_id: r.payout_id.clone(),
        arrival_date,
        notes,
    })
}

// ---------------------------------------------------------------------------------------------
// Salesforce
// ---------------------------------------------------------------------------------------------

/// Salesforce names for a reconciled payout, beyond [`SalesforceConfig::payout`] (which names
/// the payout object, its external id and its status, amount, currency and arrival date
/// fields). Every field can be renamed; set one to `""` to leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforcePayoutConfig {
    /// Checkbox on the payout record: the reconciliation balanced.
    pub reconciled: String,
    /// Number on the payout record: payout amount minus the lines' nets.
    pub difference: String,
    /// Number on the payout record: how many balance transactions it has.
    pub transaction_count: String,
    pub transaction: PayoutTransactionConfig,
}

/// The junction object: one record per balance transaction of the payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayoutTransactionConfig {
    pub object: String,
    /// External id field holding the balance transaction id.
    pub external_id: String,
    /// Relationship name of the lookup to the payout, set through the payout's external id.
    pub payout: String,
    pub kind: String,
    pub reporting_category: String,
    pub gross: String,
    pub fee: String,
    pub net: String,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub refund: String,
    pub dispute: String,
    pub order_ref: String,
}

impl Default for SalesforcePayoutConfig {
    fn default() -> Self {
        SalesforcePayoutConfig {
            reconciled: "Reconciled__c".into(),
            difference: "Reconciliation_Difference__c".into(),
            transaction_count: "Transaction_Count__c".into(),
            transaction: PayoutTransactionConfig::default(),
        }
    }
}

impl Default for PayoutTransactionConfig {
    fn default() -> Self {
        PayoutTransactionConfig {
            object: "Stripe_Payout_Transaction__c".into(),
            external_id: "Stripe_Balance_Transaction_Id__c".into(),
            payout: "Stripe_Payout__r".into(),
            kind: "Type__c".into(),
            reporting_category: "Reporting_Category__c".into(),
            gross: "Gross__c".into(),
            fee: "Fee__c".into(),
            net: "Net__c".into(),
            currency: "Currency__c".into(),
            charge: "Stripe_Charge_Id__c".into(),
            payment_intent: "Stripe_Payment_Intent_Id__c".into(),
            refund: "Stripe_Refund_Id__c".into(),
            dispute: "Stripe_Dispute_Id__c".into(),
            order_ref: "Order_Reference__c".into(),
        }
    }
}

impl SalesforcePayoutConfig {
    /// Reads overrides from JSON text (missing entries keep their defaults) and checks them.
    pub fn from_json(text: &str) -> Result<Self, MappingError> {
        let config: SalesforcePayoutConfig = serde_json::from_str(text)
            .map_err(|e| MappingError::new("salesforce_payout", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every object and field name (the object and external id are required).
    pub fn validate(&self) -> Result<(), MappingError> {
        let t = &self.transaction;
        let names: [(&str, &str, bool); 17] = [
            ("reconciled", &self.reconciled, false),
            ("difference", &self.difference, false),
            ("transaction_count", &self.transaction_count, false),
            ("transaction.object", &t.object, true),
            ("transaction.external_id", &t.external_id, true),
            ("transaction.payout", &t.payout, false),
            ("transaction.kind", &t.kind, false),
            (
                "transaction.reporting_category",
                &t.reporting_category,
                false,
            ),
            ("transaction.gross", &t.gross, false),
            ("transaction.fee", &t.fee, false),
            ("transaction.net", &t.net, false),
            ("transaction.currency", &t.currency, false),
            ("transaction.charge", &t.charge, false),
            ("transaction.payment_intent", &t.payment_intent, false),
            ("transaction.refund", &t.refund, false),
            ("transaction.dispute", &t.dispute, false),
            ("transaction.order_ref", &t.order_ref, false),
        ];
        match names.iter().find(|(_, name, required)| {
            (*required || !name.is_empty()) && !super::salesforce::is_api_name(name)
        }) {
            Some((entry, name, _)) => Err(MappingError::new(
                format!("salesforce_payout.{entry}"),
                format!("{name:?} is not a Salesforce API name (letters, digits, underscores)"),
            )),
            None => Ok(()),
        }
    }
}

/// A record body: field name to raw JSON (strings quoted, amounts as exact numbers).
#[derive(Default)]
struct Body(Vec<(String, Box<RawValue>)>);

impl Body {
    fn raw(&mut self, field: &str, json: String) {
        if let (false, Ok(raw)) = (field.is_empty(), RawValue::from_string(json)) {
            self.0.push((field.to_owned(), raw));
        }
    }

    fn text(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.raw(field, serde_json::to_string(v).unwrap_or_default());
        }
    }

    fn number(&mut self, field: &str, value: Option<Decimal>) {
        // A Decimal prints as a plain JSON number literal ("21.98", "-31.98", "5000").
        if let Some(v) = value {
            self.raw(field, v.to_string());
        }
    }

    /// `{"key": "value"}`: an object's `attributes`, or a lookup set by external id.
    fn object(&mut self, field: &str, key: &str, value: &str) {
        let mut map = serde_json::Map::new();
        map.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
        self.raw(field, json(&map));
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum SubBody {
    Record(Body),
    Collection(Collection),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection {
    all_or_none: bool,
    records: Vec<Body>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subrequest {
    method: &'static str,
    url: String,
    reference_id: String,
    body: SubBody,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Composite {
    all_or_none: bool,
    composite_request: Vec<Subrequest>,
}

#[derive(Serialize)]
struct Requests {
    requests: Vec<Composite>,
}

/// sObject Collections take 200 records; a Composite request 25 subrequests.
const COLLECTION_SIZE: usize = 200;
const COMPOSITE_SIZE: usize = 25;

/// Percent-encodes an external id for the URL path (Stripe ids need none; be safe anyway).
fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn batches<T>(items: impl IntoIterator<Item = T>, size: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    for item in items {
        match out.last_mut() {
            Some(batch) if batch.len() < size => batch.push(item),
            _ => out.push(vec![item]),
        }
    }
    out
}

/// The payout picklist value (as the webhook mapping writes it), `None` when unknown.
fn payout_picklist(status: &str) -> Option<&'static str> {
    Some(match status {
        "paid" => "paid",
        "pending" | "in_transit" => "pending",
        "failed" => "failed",
        "canceled" => "canceled",
        _ => return None,
    })
}

fn payout_body(
    payout: &Payout,
    r: &Reconciliation,
    config: &SalesforceConfig,
    extra: &SalesforcePayoutConfig,
) -> Body {
    let o = &config.payout;
    let mut body = Body::default();
    body.text(&o.status, payout_picklist(&payout.status));
    body.number(&o.amount, r.payout_amount);
    body.text(&o.currency, Some(&r.currency));
    let arrival = (payout.arrival_date != 0).then(|| iso8601(payout.arrival_date));
    body.text(&o.arrival_date, arrival.as_deref());
    body.raw(&extra.reconciled, r.balanced.to_string());
    body.number(&extra.difference, r.difference);
    body.raw(&extra.transaction_count, r.lines.len().to_string());
    body
}

fn transaction_body(
    line: &Line,
    payout_id: &str,
    config: &SalesforceConfig,
    t: &PayoutTransactionConfig,
) -> Body {
    let mut body = Body::default();
    body.object("attributes", "type", &t.object);
    body.text(&t.external_id, Some(&line.balance_transaction_id));
    body.object(&t.payout, &config.payout.external_id, payout_id);
    body.text(&t.kind, Some(line.kind.as_str()).filter(|k| !k.is_empty()));
    let category = Some(line.reporting_category.as_str()).filter(|c| !c.is_empty());
    body.text(&t.reporting_category, category);
    body.number(&t.gross, line.gross);
    body.number(&t.fee, line.fee);
    body.number(&t.net, line.net);
    body.text(&t.currency, Some(&line.currency));
    body.text(&t.charge, line.charge_id.as_deref());
    body.text(&t.payment_intent, line.payment_intent_id.as_deref());
    body.text(&t.refund, line.refund_id.as_deref());
    body.text(&t.dispute, line.dispute_id.as_deref());
    body.text(&t.order_ref, line.order_ref.as_deref());
    body
}

/// Composite API bodies (`POST /services/data/vXX.X/composite`) as JSON text:
/// `{"requests": [composite, ...]}`. The first upserts the payout record by its external id
/// (the payout id; object and fields from [`SalesforceConfig::payout`], plus
/// [`SalesforcePayoutConfig`]'s reconciliation fields), then every request upserts junction
/// records by balance transaction id through sObject Collections of up to 200 records, at most
/// 25 subrequests a request. Send them in order. `None` when payouts are disabled in the
/// configuration or the payout has no id; lines without a balance transaction id are left out.
pub fn salesforce_requests_for(
    payout: &Payout,
    r: &Reconciliation,
    config: &SalesforceConfig,
    extra: &SalesforcePayoutConfig,
) -> Result<Option<String>, PayoutMapError> {
    config.validate()?;
    extra.validate()?;
    if !config.payout.enabled || r.payout_id.is_empty() {
        return Ok(None);
    }
    let base = format!("/services/data/{}", config.api_version);
    let o = &config.payout;
    let mut subrequests = vec![Subrequest {
        method: "PATCH",
        url: format!(
            "{base}/sobjects/{}/{}/{}",
            o.object,
            o.external_id,
            path_segment(&r.payout_id)
        ),
        reference_id: "payout".into(),
        body: SubBody::Record(payout_body(payout, r, config, extra)),
    }];
    let t = &extra.transaction;
    let records = r
        .lines
        .iter()
        .filter(|l| !l.balance_transaction_id.is_empty())
        .map(|l| transaction_body(l, &r.payout_id, config, t));
    for (i, records) in batches(records, COLLECTION_SIZE).into_iter().enumerate() {
        subrequests.push(Subrequest {
            method: "PATCH",
            url: format!("{base}/composite/sobjects/{}/{}", t.object, t.external_id),
            reference_id: format!("transactions_{i}"),
            body: SubBody::Collection(Collection {
                all_or_none: config.all_or_none,
                records,
            }),
        });
    }
    let requests = batches(subrequests, COMPOSITE_SIZE)
        .into_iter()
        .map(|composite_request| Composite {
            all_or_none: config.all_or_none,
            composite_request,
        })
        .collect();
    Ok(Some(json(&Requests { requests })))
}

// ---------------------------------------------------------------------------------------------
// Order feed
// ---------------------------------------------------------------------------------------------

/// The `order-feed` profile's output for a payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedSettlements {
    pub profile: &'static str,
    /// `settlement`.
    pub entry_type: &'static str,
    pub payout_id: String,
    /// ISO 8601 UTC of the payout's arrival.
    pub date: String,
    /// One per order and currency, then one per category and currency for the lines without
    /// an order.
    pub entries: Vec<Settlement>,
}

/// The settlement entries of a payout (every line is in exactly one entry).
pub fn feed_for(payout: &Payout, r: &Reconciliation) -> Result<FeedSettlements, PayoutMapError> {
    Ok(FeedSettlements {
        profile: "order-feed",
        entry_type: "settlement",
        payout_id: r.payout_id.clone(),
        date: iso8601(payout.arrival_date),
        entries: settlements_for(payout, r)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

/// A reconciled payout for a profile, as JSON text: the journal (`erp`), the order notes
/// (`nopcommerce`), the Composite requests (`salesforce`, with the default
/// [`SalesforcePayoutConfig`]), the settlement entries (`order-feed`), the reconciliation
/// itself (`record`); `None` for custom mappings, and when there is nothing to send (no order
/// settled for nopCommerce, no line for the order feed).
pub fn map_for_profile(
    profile: &Profile,
    payout: &Payout,
    r: &Reconciliation,
) -> Result<Option<String>, PayoutMapError> {
    Ok(match profile {
        Profile::Record => Some(json(r)),
        Profile::Erp => Some(json(&journal_for(payout, r, &JournalAccounts::default())?)),
        Profile::NopCommerce => {
            let notes = nopcommerce_notes_for(payout, r)?;
            (!notes.notes.is_empty()).then(|| json(&notes))
        }
        Profile::Salesforce(config) => {
            salesforce_requests_for(payout, r, config, &SalesforcePayoutConfig::default())?
        }
        Profile::OrderFeed => {
            let feed = feed_for(payout, r)?;
            (!feed.entries.is_empty()).then(|| json(&feed))
        }
        Profile::Custom(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::{reconcile_payout, BalanceTransaction};
    use proptest::prelude::*;
    use serde_json::{json, Value};

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
            // 2023-11-16T02:00:00Z
            arrival_date: 1_700_100_000,
            balance_transaction: Some("txn_po".into()),
            ..Payout::default()
        }
    }

    /// Net 8988: two charges with orders (one with a stripe_fee + tax breakdown), one without
    /// an order or breakdown, a refund of the first, a dispute (with its fee) of the second.
    fn usd_set() -> Vec<BalanceTransaction> {
        vec![
            txn(
                json!({"id": "txn_1", "type": "charge", "reporting_category": "charge",
                "amount": 10000, "fee": 320, "net": 9680, "currency": "usd",
                "description": "Jenny Rosen jenny@example.com",
                "fee_details": [
                    {"amount": 300, "currency": "usd", "type": "stripe_fee"},
                    {"amount": 20, "currency": "usd", "type": "tax"}],
                "source": {"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                    "amount": 10000, "currency": "usd", "metadata": {"order_id": "1001"}}}),
            ),
            txn(
                json!({"id": "txn_2", "type": "charge", "reporting_category": "charge",
                "amount": 2500, "fee": 103, "net": 2397, "currency": "usd",
                "fee_details": [{"amount": 103, "currency": "usd", "type": "stripe_fee"}],
                "source": {"id": "ch_2", "object": "charge", "payment_intent": "pi_2",
                    "metadata": {"order_id": "1002"}}}),
            ),
            txn(
                json!({"id": "txn_3", "type": "charge", "reporting_category": "charge",
                "amount": 1999, "fee": 88, "net": 1911, "currency": "usd", "source": "ch_3"}),
            ),
            txn(
                json!({"id": "txn_4", "type": "refund", "reporting_category": "refund",
                "amount": -1000, "fee": 0, "net": -1000, "currency": "usd",
                "source": {"id": "re_1", "object": "refund", "charge": "ch_1"}}),
            ),
            txn(
                json!({"id": "txn_5", "type": "adjustment", "reporting_category": "dispute",
                "amount": -2500, "fee": 1500, "net": -4000, "currency": "usd",
                "fee_details": [{"amount": 1500, "currency": "usd", "type": "stripe_fee"}],
                "source": {"id": "dp_1", "object": "dispute", "charge": "ch_2"}}),
            ),
        ]
    }

    fn usd() -> (Payout, Reconciliation) {
        let p = payout(8988, "usd");
        let r = reconcile_payout(&p, &usd_set());
        assert!(r.balanced, "{r:?}");
        (p, r)
    }

    /// (account, role, debit, credit, memo) of each line, decimals as text.
    fn rows(j: &CurrencyJournal) -> Vec<(String, &str, String, String, String)> {
        j.lines
            .iter()
            .map(|l| {
                (
                    l.account.clone(),
                    l.role,
                    l.debit.unwrap().to_string(),
                    l.credit.unwrap().to_string(),
                    l.memo.clone(),
                )
            })
            .collect()
    }

    /// Sum of debit - credit over the lines that match.
    fn net_of(j: &CurrencyJournal, keep: impl Fn(&JournalLine) -> bool) -> i64 {
        j.lines
            .iter()
            .filter(|l| keep(l))
            .map(|l| l.debit_minor - l.credit_minor)
            .sum()
    }

    #[test]
    fn usd_journal_worked_example() {
        let (p, r) = usd();
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(j.balanced);
        assert_eq!(j.arrival_date, "2023-11-16");
        assert_eq!(j.journals.len(), 1);
        let usd = &j.journals[0];
        let row = |a: &str, role, d: &str, c: &str, m: &str| {
            (a.to_owned(), role, d.to_owned(), c.to_owned(), m.to_owned())
        };
        assert_eq!(
            rows(usd),
            vec![
                row("Bank", "payout", "89.88", "0.00", "Stripe payout po_1"),
                row(
                    "Stripe Clearing",
                    "gross",
                    "0.00",
                    "100.00",
                    "charge ch_1 for order 1001"
                ),
                row(
                    "Payment Processing Fees",
                    "fee",
                    "3.00",
                    "0.00",
                    "stripe_fee on charge ch_1 for order 1001"
                ),
                row(
                    "Tax on Payment Fees",
                    "fee",
                    "0.20",
                    "0.00",
                    "tax on charge ch_1 for order 1001"
                ),
                row(
                    "Stripe Clearing",
                    "gross",
                    "0.00",
                    "25.00",
                    "charge ch_2 for order 1002"
                ),
                row(
                    "Payment Processing Fees",
                    "fee",
                    "1.03",
                    "0.00",
                    "stripe_fee on charge ch_2 for order 1002"
                ),
                row("Stripe Clearing", "gross", "0.00", "19.99", "charge ch_3"),
                row(
                    "Payment Processing Fees",
                    "fee",
                    "0.88",
                    "0.00",
                    "fee on charge ch_3"
                ),
                row(
                    "Stripe Clearing",
                    "gross",
                    "10.00",
                    "0.00",
                    "refund re_1 for order 1001"
                ),
                row(
                    "Stripe Clearing",
                    "gross",
                    "25.00",
                    "0.00",
                    "dispute dp_1 for order 1002"
                ),
                row(
                    "Dispute Fees",
                    "fee",
                    "15.00",
                    "0.00",
                    "stripe_fee on dispute dp_1 for order 1002"
                ),
            ]
        );
        assert_eq!(
            (usd.total_debit_minor, usd.total_credit_minor),
            (14499, 14499)
        );
        assert_eq!(usd.total_debit.unwrap().to_string(), "144.99");
        assert!(usd.balanced);
        assert_eq!(usd.difference_minor, 0);
        let refund = &usd.lines[8];
        assert_eq!(refund.balance_transaction_id.as_deref(), Some("txn_4"));
        assert_eq!(refund.source_id.as_deref(), Some("re_1"));
        assert_eq!(refund.order_ref.as_deref(), Some("1001"));
        assert_eq!(
            usd.lines[1].reconciliation_ref.as_deref(),
            Some("stripe:pi_1:ch_1")
        );
        assert_eq!(usd.lines[0].balance_transaction_id, None);

        let s: Vec<_> = j
            .settlements
            .iter()
            .map(|s| {
                let order = s.order_ref.as_deref().unwrap();
                (
                    order,
                    s.gross_minor,
                    s.refunds_minor,
                    s.disputes_minor,
                    s.fee_minor,
                    s.net_minor,
                )
            })
            .collect();
        assert_eq!(
            s,
            vec![
                ("1001", 10000, -1000, 0, 320, 8680),
                ("1002", 2500, 0, -2500, 1603, -1603)
            ]
        );
        assert_eq!(
            j.settlements[0].balance_transactions,
            vec!["txn_1", "txn_4"]
        );
        assert_eq!(j.settlements[0].arrival_date, "2023-11-16");
        // The settlements agree with the reconciliation's own order totals.
        for s in &j.settlements {
            let o = &r.orders[s.order_ref.as_deref().unwrap()];
            assert_eq!((s.net_minor, s.fee_minor), (o.net_minor, o.fee_minor));
        }
    }

    #[test]
    fn journal_json_shape_has_no_personal_data() {
        let (p, r) = usd();
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        let text = serde_json::to_string(&j).unwrap();
        assert!(!text.contains("Jenny") && !text.contains('@'), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["profile"], "erp");
        assert_eq!(v["document_type"], "payout_journal");
        assert_eq!(v["payout_amount"], "89.88");
        let line = &v["journals"][0]["lines"][1];
        assert_eq!(line["credit"], "100.00");
        assert_eq!(line["credit_minor"], 10000);
        assert_eq!(line["debit"], "0.00");
        assert_eq!(line["payout_id"], "po_1");
        assert_eq!(v["journals"][0]["total_credit"], "144.99");
        assert_eq!(v["settlements"][1]["disputes"], "-25.00");
        assert_eq!(v["settlements"][1]["net"], "-16.03");
    }

    #[test]
    fn nopcommerce_one_note_per_order() {
        let (p, r) = usd();
        let n = nopcommerce_notes_for(&p, &r).unwrap();
        assert_eq!(n.notes.len(), 2);
        assert_eq!(n.notes[0].order_id, "1001");
        assert_eq!(
            n.notes[0].order_note,
            "Stripe payout po_1 (arrives 2023-11-16): gross 100.00 USD, refunds -10.00 USD, \
             fee 3.20 USD, net 86.80 USD"
        );
        assert_eq!(
            n.notes[1].order_note,
            "Stripe payout po_1 (arrives 2023-11-16): gross 25.00 USD, disputes -25.00 USD, \
             fee 16.03 USD, net -16.03 USD"
        );
        assert!(!n.notes[0].display_to_customer);
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v["profile"], "nopcommerce");
        assert_eq!(v["notes"][1]["order_id"], "1002");
    }

    #[test]
    fn nopcommerce_plain_charge_note() {
        let t = txn(
            json!({"id": "txn_a", "type": "charge", "reporting_category": "charge",
            "amount": 10000, "fee": 320, "net": 9680, "currency": "usd",
            "source": {"id": "ch_a", "object": "charge", "metadata": {"order_id": "7"}}}),
        );
        let mut p = payout(9680, "usd");
        p.id = "po_123".into();
        p.arrival_date = 1_796_256_000; // 2026-12-03T00:00:00Z
        let r = reconcile_payout(&p, &[t]);
        let n = nopcommerce_notes_for(&p, &r).unwrap();
        assert_eq!(
            n.notes[0].order_note,
            "Stripe payout po_123 (arrives 2026-12-03): gross 100.00 USD, fee 3.20 USD, \
             net 96.80 USD"
        );
    }

    fn salesforce(p: &Payout, r: &Reconciliation) -> Value {
        let text = salesforce_requests_for(
            p,
            r,
            &SalesforceConfig::default(),
            &SalesforcePayoutConfig::default(),
        )
        .unwrap()
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn salesforce_payout_and_junction_records() {
        let (p, r) = usd();
        let v = salesforce(&p, &r);
        let requests = v["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0]["allOrNone"], true);
        let subs = requests[0]["compositeRequest"].as_array().unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0]["method"], "PATCH");
        assert_eq!(
            subs[0]["url"],
            "/services/data/v60.0/sobjects/Stripe_Payout__c/Stripe_Payout_Id__c/po_1"
        );
        assert_eq!(
            subs[0]["body"],
            json!({"Status__c": "paid", "Amount__c": 89.88, "Currency__c": "USD",
                "Arrival_Date__c": "2023-11-16T02:00:00Z", "Reconciled__c": true,
                "Reconciliation_Difference__c": 0.00, "Transaction_Count__c": 5})
        );
        assert_eq!(
            subs[1]["url"],
            "/services/data/v60.0/composite/sobjects/Stripe_Payout_Transaction__c/\
             Stripe_Balance_Transaction_Id__c"
        );
        let records = subs[1]["body"]["records"].as_array().unwrap();
        assert_eq!(subs[1]["body"]["allOrNone"], true);
        assert_eq!(records.len(), 5);
        assert_eq!(
            records[4],
            json!({"attributes": {"type": "Stripe_Payout_Transaction__c"},
                "Stripe_Balance_Transaction_Id__c": "txn_5",
                "Stripe_Payout__r": {"Stripe_Payout_Id__c": "po_1"},
                "Type__c": "adjustment", "Reporting_Category__c": "dispute",
                "Gross__c": -25.00, "Fee__c": 15.00, "Net__c": -40.00, "Currency__c": "USD",
                "Stripe_Charge_Id__c": "ch_2", "Stripe_Dispute_Id__c": "dp_1",
                "Order_Reference__c": "1002"})
        );
        // Exact numbers in the text, never a float's rendering.
        let text = salesforce_requests_for(
            &p,
            &r,
            &SalesforceConfig::default(),
            &SalesforcePayoutConfig::default(),
        )
        .unwrap()
        .unwrap();
        assert!(
            text.contains(r#""Gross__c":100.00,"Fee__c":3.20,"Net__c":96.80"#),
            "{text}"
        );
    }

    #[test]
    fn salesforce_batches_large_payouts() {
        let txns: Vec<_> = (0..4900)
            .map(|i| {
                txn(json!({"id": format!("txn_{i}"), "type": "charge",
                    "reporting_category": "charge", "amount": 100, "fee": 3, "net": 97,
                    "currency": "usd", "source": format!("ch_{i}")}))
            })
            .collect();
        let p = payout(97 * 4900, "usd");
        let r = reconcile_payout(&p, &txns);
        let v = salesforce(&p, &r);
        let requests = v["requests"].as_array().unwrap();
        // 25 collections of 200 (the last 100) + the payout = 26 subrequests: 25 + 1.
        let sizes: Vec<usize> = requests
            .iter()
            .map(|c| c["compositeRequest"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![25, 1]);
        let mut records = 0;
        for c in requests {
            for sub in c["compositeRequest"].as_array().unwrap() {
                if let Some(batch) = sub["body"]["records"].as_array() {
                    assert!(batch.len() <= 200);
                    records += batch.len();
                }
            }
        }
        assert_eq!(records, 4900);
        assert_eq!(
            requests[1]["compositeRequest"][0]["referenceId"],
            "transactions_24"
        );
    }

    #[test]
    fn salesforce_configuration() {
        let (p, r) = usd();
        let extra = SalesforcePayoutConfig::from_json(
            &json!({"reconciled": "", "transaction": {"object": "Payout_Line__c", "fee": ""}})
                .to_string(),
        )
        .unwrap();
        let mut config = SalesforceConfig {
            api_version: "v61.0".into(),
            ..SalesforceConfig::default()
        };
        let text = salesforce_requests_for(&p, &r, &config, &extra)
            .unwrap()
            .unwrap();
        assert!(
            text.contains("/v61.0/composite/sobjects/Payout_Line__c/"),
            "{text}"
        );
        assert!(
            !text.contains("Reconciled__c") && !text.contains("Fee__c"),
            "{text}"
        );
        let err = SalesforcePayoutConfig::from_json(r#"{"transaction": {"gross": "Gross c"}}"#)
            .unwrap_err();
        assert_eq!(err.entry, "salesforce_payout.transaction.gross");
        config.payout.enabled = false;
        assert_eq!(
            salesforce_requests_for(&p, &r, &config, &SalesforcePayoutConfig::default()),
            Ok(None)
        );
    }

    #[test]
    fn order_feed_entries_group_unattributed_lines() {
        let (p, r) = usd();
        let f = feed_for(&p, &r).unwrap();
        assert_eq!(f.date, "2023-11-16T02:00:00Z");
        let entries: Vec<_> = f
            .entries
            .iter()
            .map(|e| (e.order_ref.as_deref(), e.category.as_deref(), e.net_minor))
            .collect();
        assert_eq!(
            entries,
            vec![
                (Some("1001"), None, 8680),
                (Some("1002"), None, -1603),
                (None, Some("charge"), 1911)
            ]
        );
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["profile"], "order-feed");
        assert_eq!(v["entries"][2]["gross"], "19.99");
        assert_eq!(v["entries"][2]["order_ref"], Value::Null);
    }

    #[test]
    fn dropped_line_goes_to_suspense() {
        let mut txns = usd_set();
        txns.remove(1); // charge txn_2, net 2397
        let p = payout(8988, "usd");
        let r = reconcile_payout(&p, &txns);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(!j.balanced);
        assert_eq!(
            j.likely_cause.as_deref(),
            Some("lines missing (a page not read?)")
        );
        let usd = &j.journals[0];
        assert_eq!(usd.difference_minor, 2397);
        assert_eq!(usd.difference.unwrap().to_string(), "23.97");
        let last = usd.lines.last().unwrap();
        assert_eq!((last.account.as_str(), last.role), ("Suspense", "suspense"));
        assert_eq!(last.credit.unwrap().to_string(), "23.97");
        assert!(last.memo.contains("lines missing"), "{}", last.memo);
        assert_eq!(usd.total_debit_minor, usd.total_credit_minor);
    }

    #[test]
    fn other_settlement_currency_gets_its_own_journal() {
        let mut txns = usd_set();
        txns.push(txn(json!({"id": "txn_eur", "type": "charge",
            "reporting_category": "charge", "amount": 5000, "fee": 175, "net": 4825,
            "currency": "eur", "source": {"id": "ch_e", "object": "charge",
            "metadata": {"order_id": "1001"}}})));
        let p = payout(8988, "usd");
        let r = reconcile_payout(&p, &txns);
        // The reconciliation only warns (the USD lines add up); the journal does not hide it.
        assert!(r.balanced);
        assert_eq!(r.warnings.len(), 1);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(!j.balanced);
        let currencies: Vec<_> = j.journals.iter().map(|j| j.currency.as_str()).collect();
        assert_eq!(currencies, vec!["USD", "EUR"]);
        assert!(j.journals[0].balanced);
        let eur = &j.journals[1];
        assert_eq!(eur.difference_minor, -4825);
        assert_eq!(net_of(eur, |l| l.role == "suspense"), 4825);
        assert_eq!(eur.total_debit_minor, eur.total_credit_minor);
        let n = nopcommerce_notes_for(&p, &r).unwrap();
        assert_eq!(n.notes.len(), 2);
        assert!(
            n.notes[0]
                .order_note
                .ends_with("net 86.80 USD; gross 50.00 EUR, fee 1.75 EUR, net 48.25 EUR"),
            "{}",
            n.notes[0].order_note
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        // No lines at all: the whole payout is unexplained.
        let p = payout(500, "usd");
        let r = reconcile_payout(&p, &[]);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(!j.balanced);
        assert_eq!(j.journals[0].lines.len(), 2);
        assert_eq!(net_of(&j.journals[0], |l| l.role == "suspense"), -500);
        assert!(nopcommerce_notes_for(&p, &r).unwrap().notes.is_empty());
        assert!(feed_for(&p, &r).unwrap().entries.is_empty());
        let v = salesforce(&p, &r);
        assert_eq!(
            v["requests"][0]["compositeRequest"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // A currency unknown here: minor units stay exact, decimals are null.
        let p = payout(97, "xyz");
        let t = txn(
            json!({"id": "t", "type": "charge", "amount": 100, "fee": 3, "net": 97,
            "currency": "xyz", "source": {"id": "ch_x", "object": "charge",
            "metadata": {"order_id": "9"}}}),
        );
        let r = reconcile_payout(&p, &[t]);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(j.balanced);
        assert_eq!(j.journals[0].currency, "XYZ");
        assert_eq!(j.journals[0].lines[0].debit, None);
        let n = nopcommerce_notes_for(&p, &r).unwrap();
        assert!(n.notes[0].order_note.contains("net 97 minor units of XYZ"));
        assert!(
            salesforce(&p, &r)["requests"][0]["compositeRequest"][0]["body"]
                .get("Amount__c")
                .is_none()
        );
        // Zero amounts, a manual payout, no id, no arrival date.
        let p = Payout::default();
        let t = txn(json!({"id": "", "type": "", "amount": 0, "currency": ""}));
        let r = reconcile_payout(&p, &[t]);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(j.journals.iter().all(|j| j.lines.is_empty() && j.balanced));
        assert_eq!(j.arrival_date, "1970-01-01");
        let config = SalesforceConfig::default();
        let extra = SalesforcePayoutConfig::default();
        assert_eq!(salesforce_requests_for(&p, &r, &config, &extra), Ok(None));
        assert_eq!(feed_for(&p, &r).unwrap().entries.len(), 1);
    }

    #[test]
    fn overflow_is_an_error() {
        let big = |id: &str| {
            txn(
                json!({"id": id, "type": "charge", "reporting_category": "charge",
                "amount": i64::MAX, "fee": 0, "net": i64::MAX, "currency": "usd"}),
            )
        };
        let p = payout(i64::MAX, "usd");
        let r = reconcile_payout(&p, &[big("a"), big("b")]);
        let err = journal_for(&p, &r, &JournalAccounts::default()).unwrap_err();
        assert_eq!(err.code(), "amount_overflow");
        assert!(err.to_string().contains("overflow"), "{err}");
        assert!(feed_for(&p, &r).is_err());
        let min = txn(
            json!({"id": "m", "type": "refund", "amount": i64::MIN, "fee": 0,
            "net": i64::MIN, "currency": "usd"}),
        );
        let r = reconcile_payout(&p, &[min]);
        assert!(journal_for(&p, &r, &JournalAccounts::default()).is_err());
        let p = payout(i64::MIN, "usd");
        let r = reconcile_payout(&p, &[]);
        assert!(journal_for(&p, &r, &JournalAccounts::default()).is_err());
    }

    #[test]
    fn inconsistent_line_is_a_warning_and_suspense() {
        // Net says 9700, gross - fee says 9680: the 20 are not silently dropped.
        let t = txn(
            json!({"id": "txn_x", "type": "charge", "reporting_category": "charge",
            "amount": 10000, "fee": 320, "net": 9700, "currency": "usd", "source": "ch_x"}),
        );
        let p = payout(9700, "usd");
        let r = reconcile_payout(&p, &[t]);
        assert!(r.balanced);
        let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
        assert!(!j.balanced);
        assert_eq!(j.journals[0].difference_minor, 20);
        assert_eq!(j.warnings.len(), 1);
        assert!(
            j.warnings[0].starts_with("txn_x: net 9700"),
            "{:?}",
            j.warnings
        );
    }

    #[test]
    fn accounts_can_be_renamed() {
        let accounts =
            JournalAccounts::from_json(r#"{"bank": "1200", "clearing": "1210"}"#).unwrap();
        assert_eq!(accounts.fees, "Payment Processing Fees");
        let (p, r) = usd();
        let j = journal_for(&p, &r, &accounts).unwrap();
        assert_eq!(j.journals[0].lines[0].account, "1200");
        assert_eq!(j.journals[0].lines[1].account, "1210");
        let err = JournalAccounts::from_json(r#"{"suspense": " "}"#).unwrap_err();
        assert_eq!(err.entry, "journal_accounts.suspense");
        assert!(JournalAccounts::from_json(r#"{"bnak": "1"}"#).is_err());
        let bad = JournalAccounts {
            bank: String::new(),
            ..JournalAccounts::default()
        };
        assert_eq!(
            journal_for(&p, &r, &bad).unwrap_err().code(),
            "invalid_mapping"
        );
    }

    #[test]
    fn profiles_map_payouts() {
        let (p, r) = usd();
        let map = |name: &str| Profile::parse(name).unwrap().map_payout(&p, &r).unwrap();
        let v = |text: Option<String>| serde_json::from_str::<Value>(&text.unwrap()).unwrap();
        assert_eq!(v(map("erp"))["document_type"], "payout_journal");
        assert_eq!(v(map("nopcommerce"))["notes"].as_array().unwrap().len(), 2);
        assert!(v(map("salesforce"))["requests"].is_array());
        assert_eq!(v(map("order-feed"))["entry_type"], "settlement");
        assert_eq!(v(map("record"))["net_minor"], 8988);
        assert_eq!(map(r#"{"fields": {"o": {"path": "order_ref"}}}"#), None);
        let empty = reconcile_payout(&p, &[]);
        let nop = Profile::parse("nopcommerce").unwrap();
        assert_eq!(nop.map_payout(&p, &empty), Ok(None));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(-1), "1969-12-31");
        assert_eq!(civil_date(1_709_208_000), "2024-02-29");
        assert_eq!(civil_date(1_796_256_000), "2026-12-03");
        assert_eq!(civil_date(1_796_255_999), "2026-12-02");
        assert!(!civil_date(i64::MAX).is_empty());
        assert!(!civil_date(i64::MIN).is_empty());
    }

    // Generated payouts -------------------------------------------------------------------

    const FEE_KINDS: [&str; 3] = ["stripe_fee", "tax", "application_fee"];

    #[derive(Debug, Clone)]
    enum Gen {
        /// Amount, fee components (kinds from FEE_KINDS), order, charged in EUR.
        Charge(i64, Vec<i64>, Option<u8>, bool),
        /// Amount, index of the charge it refunds.
        Refund(i64, usize),
        /// Amount, dispute fee, index of the disputed charge.
        Dispute(i64, i64, usize),
        /// Amount won back, dispute fee returned, index of the charge.
        DisputeWon(i64, i64, usize),
        /// An earlier payout that failed, returned to the balance.
        PayoutReversal(i64),
        /// A Stripe billing fee taken from the balance.
        BillingFee(i64),
    }

    fn gen() -> impl Strategy<Value = Gen> {
        let amount = 1i64..5_000_000;
        prop_oneof![
            4 => (amount.clone(), prop::collection::vec(0i64..40_000, 0..4),
                prop::option::of(0u8..5), any::<bool>())
                .prop_map(|(a, f, o, fx)| Gen::Charge(a, f, o, fx)),
            2 => (amount.clone(), any::<usize>()).prop_map(|(a, i)| Gen::Refund(a, i)),
            1 => (amount.clone(), 0i64..3_000, any::<usize>())
                .prop_map(|(a, f, i)| Gen::Dispute(a, f, i)),
            1 => (amount.clone(), 0i64..3_000, any::<usize>())
                .prop_map(|(a, f, i)| Gen::DisputeWon(a, f, i)),
            1 => amount.clone().prop_map(Gen::PayoutReversal),
            1 => (1i64..50_000).prop_map(Gen::BillingFee),
        ]
    }

    /// What the test expects, computed from the generated items alone.
    #[derive(Default, Debug)]
    struct Expected {
        nets: Vec<i64>,
        fees: i64,
        fee_tax: i64,
        dispute_fees: i64,
        /// Order -> net.
        orders: BTreeMap<String, i64>,
    }

    fn order_of(gens: &[Gen], i: usize) -> Option<String> {
        match gens.get(i % gens.len()) {
            Some(Gen::Charge(_, _, Some(o), _)) => Some(format!("O{o}")),
            _ => None,
        }
    }

    fn fee_json(fees: &[(&str, i64)], currency: &str) -> Value {
        let details: Vec<Value> = fees
            .iter()
            .map(|(k, a)| json!({"amount": a, "currency": currency, "type": k}))
            .collect();
        Value::Array(details)
    }

    fn build(gens: &[Gen], cur: &str) -> (Vec<BalanceTransaction>, Expected) {
        let mut e = Expected::default();
        let mut txns = Vec::new();
        for (i, g) in gens.iter().enumerate() {
            let (kind, category, amount, fees, source, order): (_, _, i64, Vec<(&str, i64)>, _, _) =
                match g {
                    Gen::Charge(a, f, o, fx) => {
                        let parts = f.iter().enumerate().map(|(k, v)| (FEE_KINDS[k % 3], *v));
                        let metadata = match o {
                            Some(o) => json!({"order_id": format!("O{o}")}),
                            None => json!({}),
                        };
                        let (amount, currency) = if *fx { (a * 9 / 10, "eur") } else { (*a, cur) };
                        let source = json!({"id": format!("ch_{i}"), "object": "charge",
                            "payment_intent": format!("pi_{i}"), "amount": amount,
                            "currency": currency, "metadata": metadata});
                        let order = o.map(|o| format!("O{o}"));
                        ("charge", "charge", *a, parts.collect(), source, order)
                    }
                    Gen::Refund(a, of) => {
                        let source = json!({"id": format!("re_{i}"), "object": "refund",
                            "charge": format!("ch_{}", of % gens.len())});
                        ("refund", "refund", -a, vec![], source, order_of(gens, *of))
                    }
                    Gen::Dispute(a, f, of) | Gen::DisputeWon(a, f, of) => {
                        let won = matches!(g, Gen::DisputeWon(..));
                        let source = json!({"id": format!("dp_{i}"), "object": "dispute",
                            "charge": format!("ch_{}", of % gens.len())});
                        let (category, amount, fee) = if won {
                            ("dispute_reversal", *a, -f)
                        } else {
                            ("dispute", -a, *f)
                        };
                        e.dispute_fees += fee;
                        let fees = vec![("stripe_fee", fee)];
                        (
                            "adjustment",
                            category,
                            amount,
                            fees,
                            source,
                            order_of(gens, *of),
                        )
                    }
                    Gen::PayoutReversal(a) => {
                        let source = json!(format!("po_old_{i}"));
                        (
                            "payout_failure",
                            "payout_reversal",
                            *a,
                            vec![],
                            source,
                            None,
                        )
                    }
                    Gen::BillingFee(a) => ("stripe_fee", "fee", -a, vec![], Value::Null, None),
                };
            let fee: i64 = fees.iter().map(|(_, v)| v).sum();
            e.fees += fee;
            e.fee_tax += fees
                .iter()
                .filter(|(k, _)| *k == "tax")
                .map(|(_, v)| v)
                .sum::<i64>();
            let net = amount - fee;
            e.nets.push(net);
            if let Some(order) = order {
                *e.orders.entry(order).or_default() += net;
            }
            let mut t = json!({"id": format!("txn_{i}"), "type": kind,
                "reporting_category": category, "amount": amount, "fee": fee, "net": net,
                "currency": cur, "fee_details": fee_json(&fees, cur), "source": source});
            if matches!(g, Gen::Charge(_, _, _, true)) {
                t["exchange_rate"] = json!("1.1111");
            }
            txns.push(txn(t));
        }
        (txns, e)
    }

    fn check_journal(j: &PayoutJournal, total: i64, e: &Expected) {
        let a = JournalAccounts::default();
        assert_eq!(j.journals.len(), 1);
        let usd = &j.journals[0];
        let debits: i64 = usd.lines.iter().map(|l| l.debit_minor).sum();
        let credits: i64 = usd.lines.iter().map(|l| l.credit_minor).sum();
        assert_eq!(debits, credits);
        assert_eq!(
            (usd.total_debit_minor, usd.total_credit_minor),
            (debits, credits)
        );
        for l in &usd.lines {
            assert!(l.debit_minor >= 0 && l.credit_minor >= 0);
            assert!((l.debit_minor == 0) != (l.credit_minor == 0), "{l:?}");
        }
        assert_eq!(net_of(usd, |l| l.account == a.bank), total);
        assert_eq!(net_of(usd, |l| l.role == "fee"), e.fees);
        assert_eq!(
            net_of(usd, |l| l.role == "fee" && l.account == a.fee_tax),
            e.fee_tax
        );
        assert_eq!(net_of(usd, |l| l.account == a.dispute_fees), e.dispute_fees);
    }

    fn check_targets(p: &Payout, r: &Reconciliation, e: &Expected, cur: &Currency) {
        let n = nopcommerce_notes_for(p, r).unwrap();
        assert_eq!(n.notes.len(), e.orders.len());
        for (note, (order, net)) in n.notes.iter().zip(&e.orders) {
            assert_eq!(&note.order_id, order);
            let text = format!("net {} {}", minor_to_decimal(*net, cur), cur.code());
            assert!(
                note.order_note.ends_with(&text),
                "{} / {text}",
                note.order_note
            );
        }
        let v = salesforce(p, r);
        let mut records = 0;
        for c in v["requests"].as_array().unwrap() {
            assert!(c["compositeRequest"].as_array().unwrap().len() <= 25);
            for sub in c["compositeRequest"].as_array().unwrap() {
                records += sub["body"]["records"].as_array().map_or(0, Vec::len);
            }
        }
        assert_eq!(records, e.nets.len());
        let f = feed_for(p, r).unwrap();
        assert_eq!(
            f.entries.iter().map(|s| s.net_minor).sum::<i64>(),
            e.nets.iter().sum::<i64>()
        );
        let orders = f.entries.iter().filter(|s| s.order_ref.is_some()).count();
        assert_eq!(orders, e.orders.len());
        let ids: usize = f.entries.iter().map(|s| s.balance_transactions.len()).sum();
        assert_eq!(ids, e.nets.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn generated_payouts_map_exactly(
            gens in prop::collection::vec(gen(), 1..30),
            currency in prop::sample::select(vec!["usd", "jpy", "kwd"]),
            drop in any::<prop::sample::Index>(),
        ) {
            let (txns, e) = build(&gens, currency);
            let total: i64 = e.nets.iter().sum();
            let p = payout(total, currency);
            let r = reconcile_payout(&p, &txns);
            prop_assert!(r.balanced, "{:?}", r);
            let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
            prop_assert!(j.balanced);
            prop_assert!(j.warnings.is_empty());
            check_journal(&j, total, &e);
            check_targets(&p, &r, &e, &Currency::new(currency).unwrap());

            // One line left out: its net is exactly what the suspense account takes.
            let mut partial = txns.clone();
            let i = drop.index(partial.len());
            partial.remove(i);
            let r = reconcile_payout(&p, &partial);
            let j = journal_for(&p, &r, &JournalAccounts::default()).unwrap();
            let removed = e.nets[i];
            prop_assert_eq!(j.balanced, removed == 0);
            let book = &j.journals[0];
            prop_assert_eq!(book.difference_minor, removed);
            prop_assert_eq!(-net_of(book, |l| l.role == "suspense"), removed);
            prop_assert_eq!(book.total_debit_minor, book.total_credit_minor);
        }
    }
}
