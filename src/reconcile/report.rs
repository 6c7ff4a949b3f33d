//! Stripe's Reporting API files: itemized payout reconciliation and balance summary CSVs.
//!
//! [`itemized_lines`] reads a `payout_reconciliation.itemized.N` file (any version, the
//! Dashboard's "Itemized" download, or the file [`to_csv`] writes) into the same [`Line`]s the
//! API path builds, and [`reconcile_itemized`] decides a payout from them through
//! [`super::summarize`], the one place a reconciliation is decided.
//!
//! Reading follows Stripe's format: one header row; columns found by name, in any order;
//! unknown columns ignored (Stripe adds columns across versions and the user chooses them);
//! amounts are decimals in major units of the row's currency (`12.34` USD, `1234` JPY,
//! `1.234` KWD), converted exactly to minor units with Stripe's exponents
//! ([`crate::money`]) and refused when they have more decimals than the currency; currency
//! codes in any case; times `YYYY-MM-DD HH:MM:SS` in UTC. A report run with
//! `decimal_separator=","` is not read (its amounts are [`ReportError::BadAmount`]).
//!
//! The report has no balance transaction `type` and no fee breakdown: those stay empty
//! (unless the file is one [`to_csv`] wrote, whose `type` column is read back).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use csv::{ReaderBuilder, StringRecord, WriterBuilder};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{object_from_prefix, order_ref, summarize, Line, Payout, Reconciliation};
use crate::money::{minor_to_decimal, parse_decimal, Currency, MoneyError};

/// Why a report file was refused. Rows are numbered like a spreadsheet: the header is row 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportError {
    /// No header row: the file is empty or blank.
    Empty,
    /// Not well-formed CSV (a row with another number of cells than the header, invalid UTF-8).
    Csv { row: u64, message: String },
    /// A column this reading needs is not in the header.
    MissingColumn { column: String },
    /// Not a plain decimal amount (`12.34`), or beyond 64-bit minor units.
    BadAmount {
        row: u64,
        column: String,
        text: String,
    },
    /// More decimals than the currency has (`12.345` USD, `1.5` JPY).
    TooPrecise {
        row: u64,
        column: String,
        text: String,
        currency: String,
        exponent: u32,
    },
    /// A currency code that is not one of Stripe's: its exponent is unknown.
    UnknownCurrency {
        row: u64,
        column: String,
        currency: String,
    },
    /// Not a `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`) time.
    BadDate {
        row: u64,
        column: String,
        text: String,
    },
    /// One payout was expected, the file has several (the first ones are named).
    MixedPayouts { payout_ids: Vec<String> },
    /// The rows of one payout are in several currencies.
    MixedCurrencies {
        payout_id: String,
        currencies: Vec<String>,
    },
    /// No row names an `automatic_payout_id`.
    NoPayout,
    /// A sum does not fit 64-bit minor units.
    Overflow { column: String },
}

impl ReportError {
    /// A stable code for programs, e.g. `missing_column`.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::Empty => "empty_file",
            ReportError::Csv { .. } => "csv_syntax",
            ReportError::MissingColumn { .. } => "missing_column",
            ReportError::BadAmount { .. } => "bad_amount",
            ReportError::TooPrecise { .. } => "amount_too_precise",
            ReportError::UnknownCurrency { .. } => "unknown_currency",
            ReportError::BadDate { .. } => "bad_date",
            ReportError::MixedPayouts { .. } => "mixed_payouts",
            ReportError::MixedCurrencies { .. } => "mixed_currencies",
            ReportError::NoPayout => "no_payout",
            ReportError::Overflow { .. } => "overflow",
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Empty => write!(f, "the report file is empty: no header row"),
            ReportError::Csv { row, message } => {
                write!(f, "row {row}: not well-formed CSV: {message}")
            }
            ReportError::MissingColumn { column } => {
                write!(f, "the report has no {column:?} column")
            }
            ReportError::BadAmount { row, column, text } => write!(
                f,
                "row {row}, column {column}: {text:?} is not a plain decimal amount in major units such as 12.34 (or is too large); reports run with decimal_separator=\",\" are not read"
            ),
            ReportError::TooPrecise {
                row,
                column,
                text,
                currency,
                exponent,
            } => write!(
                f,
                "row {row}, column {column}: {text} has more decimals than {currency} allows ({exponent})"
            ),
            ReportError::UnknownCurrency {
                row,
                column,
                currency,
            } => write!(
                f,
                "row {row}, column {column}: {currency:?} is not one of Stripe's currencies"
            ),
            ReportError::BadDate { row, column, text } => write!(
                f,
                "row {row}, column {column}: {text:?} is not a time like 2024-01-31 23:59:59"
            ),
            ReportError::MixedPayouts { payout_ids } => write!(
                f,
                "one payout expected, the report has several: {}",
                payout_ids.join(", ")
            ),
            ReportError::MixedCurrencies {
                payout_id,
                currencies,
            } => write!(
                f,
                "the rows of payout {payout_id} are in several currencies: {}",
                currencies.join(", ")
            ),
            ReportError::NoPayout => write!(f, "no row of the report names an automatic_payout_id"),
            ReportError::Overflow { column } => {
                write!(f, "the sum of column {column} does not fit 64-bit minor units")
            }
        }
    }
}

impl std::error::Error for ReportError {}

/// Cut a cell's text for an error message.
fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

// ---------------------------------------------------------------------------------------------
// Reading a CSV table: header by name, rows with their spreadsheet row number.

/// The header row, names trimmed (and a byte order mark dropped).
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    fn new(record: &StringRecord) -> Result<Header, ReportError> {
        let names: Vec<String> = record
            .iter()
            .map(|n| n.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        if names.iter().all(String::is_empty) {
            return Err(ReportError::Empty);
        }
        Ok(Header { names })
    }

    /// The first column with this name (ASCII case ignored).
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// The first column with one of these names, in this order of preference.
    fn find_any(&self, names: &[&'static str]) -> Option<(usize, &'static str)> {
        names.iter().find_map(|n| self.find(n).map(|i| (i, *n)))
    }

    pub(crate) fn require(&self, name: &str) -> Result<usize, ReportError> {
        self.find(name).ok_or_else(|| ReportError::MissingColumn {
            column: name.to_owned(),
        })
    }

    fn name(&self, index: usize) -> String {
        self.names.get(index).cloned().unwrap_or_default()
    }

    /// `(key, column)` of every `payment_metadata[key]` column.
    fn metadata_columns(&self) -> Vec<(String, usize)> {
        const PREFIX: &str = "payment_metadata[";
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let head = n.get(..PREFIX.len())?;
                let key = n.get(PREFIX.len()..)?.strip_suffix(']')?;
                head.eq_ignore_ascii_case(PREFIX)
                    .then(|| (key.to_owned(), i))
            })
            .collect()
    }
}

/// One data row and its spreadsheet row number.
pub(crate) struct Row {
    pub(crate) number: u64,
    record: StringRecord,
}

fn csv_error(e: &csv::Error) -> ReportError {
    ReportError::Csv {
        row: e.position().map_or(0, csv::Position::line),
        message: e.to_string(),
    }
}

/// Reads the header and every row (blank lines skipped).
pub(crate) fn read_table(csv: &[u8]) -> Result<(Header, Vec<Row>), ReportError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(csv);
    let header = Header::new(reader.headers().map_err(|e| csv_error(&e))?)?;
    let mut rows = Vec::new();
    for result in reader.into_records() {
        let record = result.map_err(|e| csv_error(&e))?;
        let number = record.position().map_or(0, csv::Position::line);
        rows.push(Row { number, record });
    }
    Ok((header, rows))
}

/// The cells of one row, read with the header for error messages.
pub(crate) struct Cells<'a> {
    header: &'a Header,
    row: &'a Row,
}

impl<'a> Cells<'a> {
    pub(crate) fn new(header: &'a Header, row: &'a Row) -> Cells<'a> {
        Cells { header, row }
    }

    /// The cell as written.
    fn raw(&self, index: usize) -> &'a str {
        self.row.record.get(index).unwrap_or("")
    }

    /// The cell, trimmed.
    pub(crate) fn text(&self, index: usize) -> &'a str {
        self.raw(index).trim()
    }

    /// The trimmed cell of an optional column; `None` when absent or empty.
    fn opt(&self, index: Option<usize>) -> Option<String> {
        let text = self.text(index?);
        (!text.is_empty()).then(|| text.to_owned())
    }

    pub(crate) fn currency(&self, index: usize) -> Result<Currency, ReportError> {
        let code = self.text(index);
        Currency::new(code).map_err(|_| ReportError::UnknownCurrency {
            row: self.row.number,
            column: self.header.name(index),
            currency: code.chars().take(16).collect(),
        })
    }

    /// An amount in major units of `currency`, as exact minor units.
    pub(crate) fn amount(&self, index: usize, currency: &Currency) -> Result<i64, ReportError> {
        let text = self.text(index);
        major_to_minor(text, currency).map_err(|e| match e {
            AmountError::TooPrecise => ReportError::TooPrecise {
                row: self.row.number,
                column: self.header.name(index),
                text: shown(text),
                currency: currency.code().to_owned(),
                exponent: currency.exponent(),
            },
            AmountError::Invalid => ReportError::BadAmount {
                row: self.row.number,
                column: self.header.name(index),
                text: shown(text),
            },
        })
    }

    /// A UTC time as Unix seconds; `None` when the column is absent or the cell empty.
    fn time(&self, index: Option<usize>) -> Result<Option<i64>, ReportError> {
        let Some(index) = index else { return Ok(None) };
        let text = self.text(index);
        if text.is_empty() {
            return Ok(None);
        }
        parse_timestamp(text)
            .map(Some)
            .ok_or_else(|| ReportError::BadDate {
                row: self.row.number,
                column: self.header.name(index),
                text: shown(text),
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Amounts and times.

enum AmountError {
    Invalid,
    TooPrecise,
}

/// `"12.34"` USD -> 1234: exact, refusing extra precision (no rounding, no multiple rule:
/// fees and conversions are any number of minor units).
fn major_to_minor(text: &str, currency: &Currency) -> Result<i64, AmountError> {
    let exponent = currency.exponent();
    // Beyond Decimal's 28 digits, parse_decimal says overflow: a long fraction is still
    // "too precise" for the currency.
    let fraction = text
        .split_once('.')
        .map_or(0, |(_, f)| f.trim_end_matches('0').len());
    let value = parse_decimal(text).map_err(|e| match e {
        MoneyError::Overflow { .. } if fraction > exponent as usize => AmountError::TooPrecise,
        _ => AmountError::Invalid,
    })?;
    let shift = exponent
        .checked_sub(value.scale())
        .ok_or(AmountError::TooPrecise)?;
    let minor = 10i128
        .checked_pow(shift)
        .and_then(|factor| value.mantissa().checked_mul(factor))
        .ok_or(AmountError::Invalid)?;
    i64::try_from(minor).map_err(|_| AmountError::Invalid)
}

fn two_digits(text: &str, at: usize) -> Option<i64> {
    digits(text.get(at..at.checked_add(2)?)?)
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    year.checked_rem(4) == Some(0)
        && (year.checked_rem(100) != Some(0) || year.checked_rem(400) == Some(0))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y.checked_div_euclid(400)?;
    let yoe = y.checked_rem_euclid(400)?;
    let mp = if month > 2 {
        month.checked_sub(3)?
    } else {
        month.checked_add(9)?
    };
    let doy = mp
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?;
    let doe = yoe
        .checked_mul(365)?
        .checked_add(yoe.checked_div(4)?)?
        .checked_sub(yoe.checked_div(100)?)?
        .checked_add(doy)?;
    era.checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)
}

/// The date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> Option<(i64, i64, i64)> {
    let z = days.checked_add(719_468)?;
    let era = z.checked_div_euclid(146_097)?;
    let doe = z.checked_rem_euclid(146_097)?;
    let yoe = doe
        .checked_sub(doe.checked_div(1460)?)?
        .checked_add(doe.checked_div(36_524)?)?
        .checked_sub(doe.checked_div(146_096)?)?
        .checked_div(365)?;
    let doy = doe.checked_sub(
        yoe.checked_mul(365)?
            .checked_add(yoe.checked_div(4)?)?
            .checked_sub(yoe.checked_div(100)?)?,
    )?;
    let mp = doy.checked_mul(5)?.checked_add(2)?.checked_div(153)?;
    let day = doy
        .checked_sub(mp.checked_mul(153)?.checked_add(2)?.checked_div(5)?)?
        .checked_add(1)?;
    let month = if mp < 10 {
        mp.checked_add(3)?
    } else {
        mp.checked_sub(9)?
    };
    let year = yoe
        .checked_add(era.checked_mul(400)?)?
        .checked_add(i64::from(month <= 2))?;
    Some((year, month, day))
}

/// `YYYY-MM-DD HH:MM:SS` (or `T` between, or a final `Z`, or the date alone) in UTC, as
/// Unix seconds.
fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.len() {
        10 => (text, "00:00:00"),
        19 => (text.get(..10)?, text.get(11..)?),
        _ => return None,
    };
    let separator_ok = matches!(text.as_bytes().get(10), None | Some(b' ' | b'T'));
    let dashes = date.as_bytes().get(4) == Some(&b'-') && date.as_bytes().get(7) == Some(&b'-');
    let colons = time.as_bytes().get(2) == Some(&b':') && time.as_bytes().get(5) == Some(&b':');
    if !(separator_ok && dashes && colons) {
        return None;
    }
    let year = digits(date.get(..4)?)?;
    let (month, day) = (two_digits(date, 5)?, two_digits(date, 8)?);
    let (hour, minute, second) = (
        two_digits(time, 0)?,
        two_digits(time, 3)?,
        two_digits(time, 6)?,
    );
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    days_from_civil(year, month, day)?
        .checked_mul(86_400)?
        .checked_add(hour.checked_mul(3600)?)?
        .checked_add(minute.checked_mul(60)?)?
        .checked_add(second)
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC, Stripe's report format; `None` outside years
/// 0000-9999.
pub(crate) fn format_timestamp(seconds: i64) -> Option<String> {
    let days = seconds.checked_div_euclid(86_400)?;
    let in_day = seconds.checked_rem_euclid(86_400)?;
    let (year, month, day) = civil_from_days(days)?;
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (hour, rest) = (in_day.checked_div(3600)?, in_day.checked_rem(3600)?);
    let (minute, second) = (rest.checked_div(60)?, rest.checked_rem(60)?);
    Some(format!(
        "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
    ))
}

// ---------------------------------------------------------------------------------------------
// Itemized payout reconciliation.

/// One row of an itemized report: the [`Line`] it describes and its payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemizedRow {
    /// Spreadsheet row number (the header is row 1).
    pub row: u64,
    /// `automatic_payout_id`: the payout that settled the transaction.
    pub automatic_payout_id: Option<String>,
    /// `automatic_payout_effective_at_utc` (or the run's time zone column), Unix seconds.
    pub automatic_payout_effective_at: Option<i64>,
    /// The `description` cell as written. It stays here: a [`Line`] never carries a
    /// description (it may hold personal data), nor does [`to_csv`].
    pub description: Option<String>,
    pub line: Line,
}

/// The rows of an itemized report, and what to know about how they were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemizedReport {
    pub rows: Vec<ItemizedRow>,
    /// Whether the file has an `automatic_payout_id` column.
    pub has_payout_ids: bool,
    /// One sentence each (times read from a time-zone column, gross - fee != net, ...).
    pub warnings: Vec<String>,
}

/// Columns of an itemized report (Stripe's names; `type`, `refund_id`, `dispute_id`,
/// `order_ref` and `exchange_rate` are [`to_csv`]'s own, read back when present).
struct ItemizedColumns {
    id: usize,
    currency: usize,
    gross: usize,
    fee: usize,
    net: usize,
    category: usize,
    created: Option<(usize, &'static str)>,
    available_on: Option<(usize, &'static str)>,
    payout_id: Option<usize>,
    payout_at: Option<(usize, &'static str)>,
    source_id: Option<usize>,
    description: Option<usize>,
    cf_amount: Option<usize>,
    cf_currency: Option<usize>,
    payment_intent_id: Option<usize>,
    charge_id: Option<usize>,
    metadata: Vec<(String, usize)>,
    kind: Option<usize>,
    refund_id: Option<usize>,
    dispute_id: Option<usize>,
    order_ref: Option<usize>,
    exchange_rate: Option<usize>,
}

impl ItemizedColumns {
    fn new(h: &Header) -> Result<ItemizedColumns, ReportError> {
        Ok(ItemizedColumns {
            id: h.require("balance_transaction_id")?,
            currency: h.require("currency")?,
            gross: h.require("gross")?,
            fee: h.require("fee")?,
            net: h.require("net")?,
            category: h.require("reporting_category")?,
            created: h.find_any(&["created_utc", "created"]),
            available_on: h.find_any(&["available_on_utc", "available_on"]),
            payout_id: h.find("automatic_payout_id"),
            payout_at: h.find_any(&[
                "automatic_payout_effective_at_utc",
                "automatic_payout_effective_at",
            ]),
            source_id: h.find("source_id"),
            description: h.find("description"),
            cf_amount: h.find("customer_facing_amount"),
            cf_currency: h.find("customer_facing_currency"),
            payment_intent_id: h.find("payment_intent_id"),
            charge_id: h.find("charge_id"),
            metadata: h.metadata_columns(),
            kind: h.find("type"),
            refund_id: h.find("refund_id"),
            dispute_id: h.find("dispute_id"),
            order_ref: h.find("order_ref"),
            exchange_rate: h.find("exchange_rate"),
        })
    }

    /// Sentences about columns read in the report run's time zone instead of UTC.
    fn time_zone_warnings(&self) -> Vec<String> {
        [self.created, self.available_on, self.payout_at]
            .into_iter()
            .flatten()
            .filter(|(_, name)| !name.ends_with("_utc"))
            .map(|(_, name)| {
                format!("{name} has no _utc column: read as UTC, which is right only for a report run in UTC")
            })
            .collect()
    }
}

/// Ids the source id tells: `(source_object, charge_id, refund_id, dispute_id)`.
type SourceIds = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn source_ids(cols: &ItemizedColumns, cells: &Cells<'_>, source: Option<&str>) -> SourceIds {
    let object = source.and_then(object_from_prefix);
    let own = |o: &str| {
        (object == Some(o))
            .then(|| source.map(str::to_owned))
            .flatten()
    };
    (
        object.map(str::to_owned),
        cells.opt(cols.charge_id).or_else(|| own("charge")),
        own("refund").or_else(|| cells.opt(cols.refund_id)),
        own("dispute").or_else(|| cells.opt(cols.dispute_id)),
    )
}

/// `(minor, decimal, upper-case code)` of the customer's amount, only when the customer's
/// currency differs from the settlement currency (as the API path does).
type CustomerFacing = (Option<i64>, Option<Decimal>, Option<String>);

fn customer_facing(
    cols: &ItemizedColumns,
    cells: &Cells<'_>,
    settlement: &Currency,
) -> Result<CustomerFacing, ReportError> {
    let (Some(amount), Some(code)) = (cols.cf_amount, cols.cf_currency) else {
        return Ok((None, None, None));
    };
    let text = cells.text(code);
    if text.is_empty()
        || text.eq_ignore_ascii_case(settlement.code())
        || cells.text(amount).is_empty()
    {
        return Ok((None, None, None));
    }
    let currency = cells.currency(code)?;
    let minor = cells.amount(amount, &currency)?;
    Ok((
        Some(minor),
        Some(minor_to_decimal(minor, &currency)),
        Some(currency.code().to_owned()),
    ))
}

fn row_order_ref(cols: &ItemizedColumns, cells: &Cells<'_>) -> Option<String> {
    let metadata: BTreeMap<String, String> = cols
        .metadata
        .iter()
        .map(|(key, i)| (key.clone(), cells.text(*i).to_owned()))
        .collect();
    order_ref(&metadata).or_else(|| cells.opt(cols.order_ref))
}

fn exchange_rate(
    cols: &ItemizedColumns,
    cells: &Cells<'_>,
) -> Result<Option<Decimal>, ReportError> {
    let Some(index) = cols.exchange_rate else {
        return Ok(None);
    };
    let text = cells.text(index);
    if text.is_empty() {
        return Ok(None);
    }
    parse_decimal(text)
        .map(|d| Some(d.normalize()))
        .map_err(|_| ReportError::BadAmount {
            row: cells.row.number,
            column: cells.header.name(index),
            text: shown(text),
        })
}

fn build_row(cols: &ItemizedColumns, cells: &Cells<'_>) -> Result<ItemizedRow, ReportError> {
    let currency = cells.currency(cols.currency)?;
    let gross = cells.amount(cols.gross, &currency)?;
    let fee = cells.amount(cols.fee, &currency)?;
    let net = cells.amount(cols.net, &currency)?;
    let source_id = cells.opt(cols.source_id);
    let (source_object, charge_id, refund_id, dispute_id) =
        source_ids(cols, cells, source_id.as_deref());
    let (cf_minor, cf_amount, cf_currency) = customer_facing(cols, cells, &currency)?;
    let line = Line {
        balance_transaction_id: cells.text(cols.id).to_owned(),
        kind: cols
            .kind
            .map(|i| cells.text(i).to_owned())
            .unwrap_or_default(),
        reporting_category: cells.text(cols.category).to_owned(),
        created: cells.time(cols.created.map(|c| c.0))?.unwrap_or(0),
        available_on: cells.time(cols.available_on.map(|c| c.0))?.unwrap_or(0),
        currency: currency.code().to_owned(),
        gross_minor: gross,
        fee_minor: fee,
        net_minor: net,
        gross: Some(minor_to_decimal(gross, &currency)),
        fee: Some(minor_to_decimal(fee, &currency)),
        net: Some(minor_to_decimal(net, &currency)),
        fees: Vec::new(),
        source_id,
        source_object,
        charge_id,
        payment_intent_id: cells.opt(cols.payment_intent_id),
        refund_id,
        dispute_id,
        order_ref: row_order_ref(cols, cells),
        customer_facing_amount_minor: cf_minor,
        customer_facing_amount: cf_amount,
        customer_facing_currency: cf_currency,
        exchange_rate: exchange_rate(cols, cells)?,
    };
    Ok(ItemizedRow {
        row: cells.row.number,
        automatic_payout_id: cells.opt(cols.payout_id),
        automatic_payout_effective_at: cells.time(cols.payout_at.map(|c| c.0))?,
        description: cols
            .description
            .map(|i| cells.raw(i))
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        line,
    })
}

/// Reads an itemized payout reconciliation report (`payout_reconciliation.itemized.1`..`5`,
/// `payout_reconciliation.by_id.itemized.N`, the Dashboard's itemized download, or a file
/// [`to_csv`] wrote) into [`Line`]s with their payout.
///
/// Needs the columns `balance_transaction_id`, `currency`, `gross`, `fee`, `net` and
/// `reporting_category`; reads the others it knows when present, ignores the rest.
pub fn itemized_lines(csv: &[u8]) -> Result<ItemizedReport, ReportError> {
    let (header, rows) = read_table(csv)?;
    let cols = ItemizedColumns::new(&header)?;
    let mut warnings = cols.time_zone_warnings();
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let item = build_row(&cols, &Cells::new(&header, row))?;
        let line = &item.line;
        if line.gross_minor.checked_sub(line.fee_minor) != Some(line.net_minor) {
            warnings.push(format!(
                "row {}: {} has gross - fee != net",
                item.row, line.balance_transaction_id
            ));
        }
        items.push(item);
    }
    Ok(ItemizedReport {
        rows: items,
        has_payout_ids: cols.payout_id.is_some(),
        warnings,
    })
}

/// Whether `line` is the payout's own balance transaction (left out, as in the API path).
fn is_own_line(payout: &Payout, line: &Line) -> bool {
    // A report has no transaction type: its category says a payout row.
    let payout_row = line.reporting_category == "payout" || line.kind == "payout";
    super::is_own(
        payout,
        &line.balance_transaction_id,
        payout_row,
        line.source_id.as_deref(),
    )
}

/// The payout's lines among `rows`, its own row left out (and checked against its amount).
fn payout_lines(payout: &Payout, rows: Vec<ItemizedRow>, warnings: &mut Vec<String>) -> Vec<Line> {
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        if is_own_line(payout, &row.line) {
            if Some(row.line.net_minor) != payout.amount.checked_neg() {
                warnings.push(format!(
                    "row {}: the payout's own transaction {} has net {}, not minus the payout amount",
                    row.row, row.line.balance_transaction_id, row.line.net_minor
                ));
            }
            continue;
        }
        lines.push(row.line);
    }
    lines
}

/// Reconciles `payout` from an itemized report: its rows (by `automatic_payout_id` when the
/// file has that column; every row otherwise) through [`super::summarize`], exactly as the
/// API path. Rows of other payouts are left out, with a warning that counts them.
pub fn reconcile_itemized(csv: &[u8], payout: &Payout) -> Result<Reconciliation, ReportError> {
    let report = itemized_lines(csv)?;
    let mut warnings = report.warnings;
    let (mine, others): (Vec<ItemizedRow>, Vec<ItemizedRow>) = if report.has_payout_ids {
        report
            .rows
            .into_iter()
            .partition(|r| r.automatic_payout_id.as_deref() == Some(payout.id.as_str()))
    } else {
        (report.rows, Vec::new())
    };
    if !others.is_empty() {
        warnings.push(format!(
            "{} rows of other payouts (or of none) in the file were left out",
            others.len()
        ));
    }
    let lines = payout_lines(payout, mine, &mut warnings);
    Ok(summarize(payout, lines, warnings))
}

/// The rows of one payout in a multi-payout report ([`payouts_in_report`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportPayout {
    pub payout_id: String,
    /// When the payout arrives (`automatic_payout_effective_at_utc`), Unix seconds.
    pub effective_at: Option<i64>,
    pub rows: Vec<ItemizedRow>,
    /// The report's warnings, carried to [`ReportPayout::reconcile`].
    pub warnings: Vec<String>,
}

/// The warning added when the payout amount comes from the report itself.
pub const UNCHECKED_AMOUNT: &str = "the payout amount is the sum of the report's nets, not checked against Stripe's payout object: balanced only means the file is consistent";

impl ReportPayout {
    /// A [`Payout`] built from the report alone, when the payout object is not at hand: id
    /// from `automatic_payout_id`, currency from the rows, amount = the sum of their nets,
    /// `automatic: true`, `arrival_date` = the effective time (0 when not in the file).
    pub fn payout(&self) -> Result<Payout, ReportError> {
        let currencies: BTreeSet<&str> =
            self.rows.iter().map(|r| r.line.currency.as_str()).collect();
        if currencies.len() > 1 {
            return Err(ReportError::MixedCurrencies {
                payout_id: self.payout_id.clone(),
                currencies: currencies.into_iter().map(str::to_owned).collect(),
            });
        }
        let mut payout = Payout {
            id: self.payout_id.clone(),
            currency: currencies
                .first()
                .map(|c| c.to_ascii_lowercase())
                .unwrap_or_default(),
            automatic: true,
            arrival_date: self.effective_at.unwrap_or(0),
            ..Payout::default()
        };
        let overflow = || ReportError::Overflow {
            column: "net".to_owned(),
        };
        payout.amount = self
            .rows
            .iter()
            .filter(|r| !is_own_line(&payout, &r.line))
            .try_fold(0i64, |sum, r| sum.checked_add(r.line.net_minor))
            .ok_or_else(overflow)?;
        Ok(payout)
    }

    /// Reconciles the payout from the report alone ([`ReportPayout::payout`]): the result
    /// carries the [`UNCHECKED_AMOUNT`] warning, since nothing outside the file was compared.
    pub fn reconcile(&self) -> Result<Reconciliation, ReportError> {
        let payout = self.payout()?;
        let mut warnings = self.warnings.clone();
        warnings.push(UNCHECKED_AMOUNT.to_owned());
        let lines = payout_lines(&payout, self.rows.clone(), &mut warnings);
        Ok(summarize(&payout, lines, warnings))
    }

    /// Reconciles these rows against the payout object read from Stripe: what
    /// [`reconcile_itemized`] gives for this payout, without reading the file again.
    pub fn reconcile_with(&self, payout: &Payout) -> Reconciliation {
        let mut warnings = self.warnings.clone();
        if payout.id != self.payout_id {
            warnings.push(format!(
                "the rows are those of payout {}, not {}",
                self.payout_id, payout.id
            ));
        }
        let lines = payout_lines(payout, self.rows.clone(), &mut warnings);
        summarize(payout, lines, warnings)
    }
}

/// Groups the rows of a multi-payout report (an itemized report run over an interval) by
/// `automatic_payout_id`, in the order the payouts first appear. Rows without a payout id are
/// left out (each group's warnings count them). Needs the `automatic_payout_id` column.
pub fn payouts_in_report(csv: &[u8]) -> Result<Vec<ReportPayout>, ReportError> {
    let report = itemized_lines(csv)?;
    if !report.has_payout_ids {
        return Err(ReportError::MissingColumn {
            column: "automatic_payout_id".to_owned(),
        });
    }
    let mut warnings = report.warnings;
    let unassigned = report
        .rows
        .iter()
        .filter(|r| r.automatic_payout_id.is_none())
        .count();
    if unassigned > 0 {
        warnings.push(format!(
            "{unassigned} rows without automatic_payout_id were left out"
        ));
    }
    let mut groups: Vec<ReportPayout> = Vec::new();
    let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
    for row in report.rows {
        let Some(id) = row.automatic_payout_id.clone() else {
            continue;
        };
        let index = *index_of.entry(id.clone()).or_insert_with(|| {
            groups.push(ReportPayout {
                payout_id: id,
                effective_at: row.automatic_payout_effective_at,
                rows: Vec::new(),
                warnings: warnings.clone(),
            });
            groups.len().saturating_sub(1)
        });
        if let Some(group) = groups.get_mut(index) {
            group.rows.push(row);
        }
    }
    Ok(groups)
}

/// Reconciles the one payout of a report from the report alone ([`ReportPayout::reconcile`]):
/// [`ReportError::NoPayout`] when no row names a payout, [`ReportError::MixedPayouts`] when
/// several do (use [`payouts_in_report`] for those files).
pub fn reconcile_report_alone(csv: &[u8]) -> Result<Reconciliation, ReportError> {
    let groups = payouts_in_report(csv)?;
    match groups.as_slice() {
        [] => Err(ReportError::NoPayout),
        [one] => one.reconcile(),
        many => Err(ReportError::MixedPayouts {
            payout_ids: many.iter().take(5).map(|g| g.payout_id.clone()).collect(),
        }),
    }
}

/// Reconciles every payout of a report from the report alone, in the order they first appear
/// ([`payouts_in_report`], then [`ReportPayout::reconcile`]: each result carries the
/// [`UNCHECKED_AMOUNT`] warning).
pub fn reconcile_report(csv: &[u8]) -> Result<Vec<Reconciliation>, ReportError> {
    payouts_in_report(csv)?
        .iter()
        .map(ReportPayout::reconcile)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// The header [`to_csv`] writes: Stripe's report column names, then this crate's own.
pub const CSV_COLUMNS: &[&str] = &[
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "customer_facing_amount",
    "customer_facing_currency",
    "automatic_payout_id",
    "payment_intent_id",
    "charge_id",
    "type",
    "refund_id",
    "dispute_id",
    "order_ref",
    "exchange_rate",
    "fee_details",
];

fn decimal_cell(value: Option<Decimal>) -> String {
    value.map(|d| d.to_string()).unwrap_or_default()
}

fn time_cell(seconds: i64) -> String {
    if seconds == 0 {
        return String::new();
    }
    format_timestamp(seconds).unwrap_or_default()
}

/// `type:amount;...`, amounts in major units; a fee in another currency adds its code.
fn fee_details_cell(line: &Line) -> String {
    line.fees
        .iter()
        .map(|f| {
            let amount = decimal_cell(f.amount);
            if f.currency.eq_ignore_ascii_case(&line.currency) {
                format!("{}:{amount}", f.kind)
            } else {
                format!("{}:{amount} {}", f.kind, f.currency.to_ascii_lowercase())
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn line_cells(line: &Line, payout_id: &str) -> [String; 20] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        line.balance_transaction_id.clone(),
        time_cell(line.created),
        time_cell(line.available_on),
        line.currency.to_ascii_lowercase(),
        decimal_cell(line.gross),
        decimal_cell(line.fee),
        decimal_cell(line.net),
        line.reporting_category.clone(),
        opt(&line.source_id),
        decimal_cell(line.customer_facing_amount),
        opt(&line.customer_facing_currency).to_ascii_lowercase(),
        payout_id.to_owned(),
        opt(&line.payment_intent_id),
        opt(&line.charge_id),
        line.kind.clone(),
        opt(&line.refund_id),
        opt(&line.dispute_id),
        opt(&line.order_ref),
        decimal_cell(line.exchange_rate),
        fee_details_cell(line),
    ]
}

/// A CSV text of `header` and `rows`, quoted where needed (empty if writing fails, which
/// writing to memory does not).
pub(crate) fn write_table<R, I>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let write = || -> Result<Vec<u8>, csv::Error> {
        let mut writer = WriterBuilder::new().from_writer(Vec::new());
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(row)?;
        }
        writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    };
    write()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// The reconciliation's lines as CSV for spreadsheets (header [`CSV_COLUMNS`]): Stripe's
/// report column names where one exists, amounts as exact decimals in major units, currency
/// codes in lower case, times `YYYY-MM-DD HH:MM:SS` UTC, quoted where needed. Amounts of a
/// currency unknown here are left empty; there is no `description` column (lines never carry
/// one: it may hold personal data). [`itemized_lines`] reads the file back, all but the fee
/// breakdown.
pub fn to_csv(r: &Reconciliation) -> String {
    to_csv_all(std::slice::from_ref(r))
}

/// The lines of several reconciliations in one CSV ([`to_csv`]'s layout, one header): each
/// line's `automatic_payout_id` is its reconciliation's payout, so [`payouts_in_report`]
/// splits the file again.
pub fn to_csv_all(reconciliations: &[Reconciliation]) -> String {
    let rows = reconciliations
        .iter()
        .flat_map(|r| r.lines.iter().map(|l| line_cells(l, &r.payout_id)));
    write_table(CSV_COLUMNS, rows)
}

#[cfg(test)]
mod tests {
    use super::super::{reconcile_payout, BalanceTransaction};
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// An itemized.5 file with columns in Stripe's documented order (a selection), plus
    /// metadata columns and a column Stripe might add later.
    const HEADER5: &str = "automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created_utc,created,available_on_utc,available_on,currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,regulatory_tag,automatic_payout_effective_at_utc,customer_id,customer_email,customer_name,charge_id,payment_intent_id,charge_created_utc,invoice_id,payment_method_type,card_brand,statement_descriptor,dispute_reason,connected_account_id,payment_metadata[orderId],payment_metadata[order_id],payment_metadata[note],refund_metadata[order_id],a_future_column";

    const ROWS5: &[&str] = &[
        "po_1,2024-03-05 01:00:00,txn_1,2024-03-01 10:00:00,2024-03-01 11:00:00,2024-03-03 00:00:00,2024-03-03 01:00:00,usd,100.00,3.20,96.80,charge,ch_1,\"Order 1001, two items\",100.00,usd,,2024-03-05 00:00:00,cus_1,a@example.com,\"Doe, Jane\",ch_1,pi_1,2024-03-01 10:00:00,in_1,card,visa,SHOP,,,,1001,\"gift, \"\"wrapped\"\"\",,x",
        "po_1,2024-03-05 01:00:00,txn_2,2024-03-01 12:00:00,2024-03-01 13:00:00,2024-03-03 00:00:00,2024-03-03 01:00:00,usd,10.87,0.62,10.25,charge,ch_fx,Order A-7,10.00,eur,,2024-03-05 00:00:00,,,,ch_fx,pi_fx,,,card,visa,,,,A-7,,,,",
        "po_1,2024-03-05 01:00:00,txn_3,2024-03-02 09:00:00,2024-03-02 10:00:00,2024-03-02 09:00:00,2024-03-02 10:00:00,USD,-10.00,0.00,-10.00,refund,re_1,REFUND FOR CHARGE,-10.00,usd,,2024-03-05 00:00:00,,,,ch_1,pi_1,,,card,,,,,,,,77,",
        "po_1,2024-03-05 01:00:00,txn_4,2024-03-02 11:00:00,2024-03-02 12:00:00,2024-03-02 11:00:00,2024-03-02 12:00:00,usd,-25.00,15.00,-40.00,dispute,dp_1,Chargeback withdrawal,-25.00,usd,,2024-03-05 00:00:00,,,,ch_2,pi_2,,,card,,,fraudulent,,,,,,",
        "po_1,2024-03-05 01:00:00,txn_5,2024-03-02 13:00:00,2024-03-02 14:00:00,2024-03-02 13:00:00,2024-03-02 14:00:00,usd,-1.5,0,-1.50,fee,,Radar fees,,,,2024-03-05 00:00:00,,,,,,,,,,,,,,,,,",
    ];

    fn file5(rows: &[&str]) -> String {
        let mut text = String::from(HEADER5);
        for row in rows {
            text.push('\n');
            text.push_str(row);
        }
        text.push('\n');
        text
    }

    fn payout(id: &str, amount: i64, currency: &str) -> Payout {
        Payout {
            id: id.into(),
            amount,
            currency: currency.into(),
            status: "paid".into(),
            automatic: true,
            ..Payout::default()
        }
    }

    #[test]
    fn itemized5_rows_become_lines() {
        let report = itemized_lines(file5(ROWS5).as_bytes()).unwrap();
        assert!(report.has_payout_ids);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        assert_eq!(report.rows.len(), 5);
        let first = &report.rows[0];
        assert_eq!(first.row, 2);
        assert_eq!(first.automatic_payout_id.as_deref(), Some("po_1"));
        // The _utc column is preferred to the run's time-zone column.
        assert_eq!(first.automatic_payout_effective_at, Some(1_709_596_800));
        assert_eq!(first.description.as_deref(), Some("Order 1001, two items"));
        let l = &first.line;
        assert_eq!(l.balance_transaction_id, "txn_1");
        assert_eq!((l.created, l.available_on), (1_709_287_200, 1_709_424_000));
        assert_eq!(l.currency, "USD");
        assert_eq!(
            (l.gross_minor, l.fee_minor, l.net_minor),
            (10000, 320, 9680)
        );
        assert_eq!(l.net.unwrap().to_string(), "96.80");
        assert_eq!(l.kind, "");
        assert!(l.fees.is_empty());
        assert_eq!(l.source_object.as_deref(), Some("charge"));
        assert_eq!(l.charge_id.as_deref(), Some("ch_1"));
        assert_eq!(l.payment_intent_id.as_deref(), Some("pi_1"));
        // payment_metadata[orderId] is empty: order_id, the first key, gives the order.
        assert_eq!(l.order_ref.as_deref(), Some("1001"));
        assert_eq!(l.customer_facing_amount_minor, None);

        let fx = &report.rows[1].line;
        assert_eq!(fx.customer_facing_amount_minor, Some(1000));
        assert_eq!(fx.customer_facing_amount.unwrap().to_string(), "10.00");
        assert_eq!(fx.customer_facing_currency.as_deref(), Some("EUR"));
        assert_eq!(fx.order_ref.as_deref(), Some("A-7"));

        let refund = &report.rows[2].line;
        assert_eq!(refund.currency, "USD");
        assert_eq!(refund.refund_id.as_deref(), Some("re_1"));
        assert_eq!(refund.charge_id.as_deref(), Some("ch_1"));
        // refund_metadata is not the payment's order.
        assert_eq!(refund.order_ref, None);
        let dispute = &report.rows[3].line;
        assert_eq!(dispute.dispute_id.as_deref(), Some("dp_1"));
        assert_eq!(dispute.charge_id.as_deref(), Some("ch_2"));
        let fee = &report.rows[4].line;
        assert_eq!((fee.gross_minor, fee.net_minor), (-150, -150));
        assert_eq!(fee.source_id, None);
    }

    #[test]
    fn itemized5_reconciles_like_the_api_path() {
        let total = 9680 + 1025 - 1000 - 4000 - 150;
        let r = reconcile_itemized(file5(ROWS5).as_bytes(), &payout("po_1", total, "usd")).unwrap();
        assert!(r.balanced, "{r:?}");
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.net.unwrap().to_string(), "55.55");
        // The refund inherits the order of its charge in the same payout.
        assert_eq!(r.lines[2].order_ref.as_deref(), Some("1001"));
        let o = &r.orders["1001"];
        assert_eq!(
            (o.gross_minor, o.refunds_minor, o.net_minor),
            (10000, -1000, 8680)
        );
        assert_eq!(r.totals["charge"].count, 2);
        assert_eq!(r.totals["fee"].net_minor, -150);
    }

    #[test]
    fn a_dropped_row_is_detected() {
        let total = 9680 + 1025 - 1000 - 4000 - 150;
        let text = file5(ROWS5);
        let dropped: Vec<&str> = text.lines().filter(|l| !l.contains(",txn_1,")).collect();
        assert_eq!(dropped.len(), 5);
        let r = reconcile_itemized(dropped.join("\n").as_bytes(), &payout("po_1", total, "usd"))
            .unwrap();
        assert!(!r.balanced);
        assert_eq!(r.difference_minor, 9680);
        assert_eq!(r.difference.unwrap().to_string(), "96.80");
        assert_eq!(
            r.likely_cause.as_deref(),
            Some("lines missing (a page not read?)")
        );
    }

    fn simple(rows: &[(&str, &str, &str, &str)]) -> String {
        let mut text =
            String::from("balance_transaction_id,currency,gross,fee,net,reporting_category\n");
        for (i, (cur, gross, fee, net)) in rows.iter().enumerate() {
            text.push_str(&format!("txn_{i},{cur},{gross},{fee},{net},charge\n"));
        }
        text
    }

    fn minors(text: &str) -> Vec<(i64, i64, i64)> {
        itemized_lines(text.as_bytes())
            .unwrap()
            .rows
            .iter()
            .map(|r| (r.line.gross_minor, r.line.fee_minor, r.line.net_minor))
            .collect()
    }

    #[test]
    fn zero_two_and_three_decimal_currencies() {
        let text = simple(&[
            ("jpy", "1234", "45", "1189"),
            ("krw", "50000", "1500", "48500"),
            ("usd", "12.3", "0.01", "12.29"),
            ("eur", "-0.50", "0", "-0.5"),
            ("kwd", "12.345", "0.375", "11.970"),
            ("bhd", "0.5", "0.001", "0.499"),
            ("isk", "500", "15.50", "484.50"),
        ]);
        assert_eq!(
            minors(&text),
            vec![
                (1234, 45, 1189),
                (50000, 1500, 48500),
                (1230, 1, 1229),
                (-50, 0, -50),
                (12345, 375, 11970),
                (500, 1, 499),
                (50000, 1550, 48450),
            ]
        );
        let report = itemized_lines(text.as_bytes()).unwrap();
        let shown: Vec<String> = report
            .rows
            .iter()
            .map(|r| r.line.gross.unwrap().to_string())
            .collect();
        assert_eq!(
            shown,
            ["1234", "50000", "12.30", "-0.50", "12.345", "0.500", "500.00"]
        );
        assert!(!report.has_payout_ids);
    }

    fn error_of(text: &str) -> ReportError {
        itemized_lines(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn each_error() {
        assert_eq!(error_of(""), ReportError::Empty);
        assert_eq!(error_of("\n\n"), ReportError::Empty);
        assert!(matches!(
            error_of("balance_transaction_id,currency,gross,fee,net,reporting_category\ntxn_1,usd,1.00\n"),
            ReportError::Csv { row: 2, .. }
        ));
        let mut bad_utf8 =
            b"balance_transaction_id,currency,gross,fee,net,reporting_category\ntxn_1,usd,1,0,1,"
                .to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe, b'\n']);
        assert!(matches!(
            itemized_lines(&bad_utf8),
            Err(ReportError::Csv { row: 2, .. })
        ));
        assert_eq!(
            error_of("balance_transaction_id,currency,gross,fee,reporting_category\n"),
            ReportError::MissingColumn {
                column: "net".into()
            }
        );
        assert_eq!(
            error_of(&simple(&[
                ("usd", "1.00", "0", "1"),
                ("usd", "\"12,34\"", "0", "1")
            ])),
            ReportError::BadAmount {
                row: 3,
                column: "gross".into(),
                text: "12,34".into()
            }
        );
        for bad in [
            "1e3",
            "",
            "abc",
            "+1",
            "99999999999999999999",
            &"9".repeat(100),
        ] {
            assert!(
                matches!(
                    error_of(&simple(&[("usd", "1", "0", bad)])),
                    ReportError::BadAmount { row: 2, .. }
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            error_of(&simple(&[("usd", "12.345", "0", "12.345")])),
            ReportError::TooPrecise {
                row: 2,
                column: "gross".into(),
                text: "12.345".into(),
                currency: "USD".into(),
                exponent: 2
            }
        );
        assert!(matches!(
            error_of(&simple(&[("jpy", "1.5", "0", "1.5")])),
            ReportError::TooPrecise { exponent: 0, .. }
        ));
        assert!(matches!(
            error_of(&simple(&[("kwd", "1", "0.0001", "1")])),
            ReportError::TooPrecise { exponent: 3, .. }
        ));
        let long_fraction = format!("0.{}1", "0".repeat(40));
        assert!(matches!(
            error_of(&simple(&[("usd", "0", "0", &long_fraction)])),
            ReportError::TooPrecise { .. }
        ));
        assert_eq!(
            error_of(&simple(&[("xyz", "1", "0", "1")])),
            ReportError::UnknownCurrency {
                row: 2,
                column: "currency".into(),
                currency: "xyz".into()
            }
        );
        assert!(matches!(
            error_of("balance_transaction_id,currency,gross,fee,net,reporting_category,created_utc\ntxn_1,usd,1,0,1,charge,2023-02-29 00:00:00\n"),
            ReportError::BadDate { row: 2, .. }
        ));
        // The displayed messages name the row and column.
        let e = error_of(&simple(&[("usd", "\"12,34\"", "0", "1")]));
        assert_eq!(e.code(), "bad_amount");
        assert!(e.to_string().contains("row 2, column gross"), "{e}");
    }

    #[test]
    fn payout_errors() {
        let two = file5(&[ROWS5[0], &ROWS5[1].replace("po_1", "po_2")]);
        assert_eq!(
            reconcile_report_alone(two.as_bytes()).unwrap_err(),
            ReportError::MixedPayouts {
                payout_ids: vec!["po_1".into(), "po_2".into()]
            }
        );
        let none = file5(&[&ROWS5[0].replacen("po_1", "", 1)]);
        assert_eq!(
            reconcile_report_alone(none.as_bytes()).unwrap_err(),
            ReportError::NoPayout
        );
        assert_eq!(
            payouts_in_report(simple(&[("usd", "1", "0", "1")]).as_bytes()).unwrap_err(),
            ReportError::MissingColumn {
                column: "automatic_payout_id".into()
            }
        );
        let mixed = "automatic_payout_id,balance_transaction_id,currency,gross,fee,net,reporting_category\npo_1,t1,usd,1,0,1,charge\npo_1,t2,eur,1,0,1,charge\n";
        assert_eq!(
            reconcile_report_alone(mixed.as_bytes()).unwrap_err(),
            ReportError::MixedCurrencies {
                payout_id: "po_1".into(),
                currencies: vec!["EUR".into(), "USD".into()]
            }
        );
        let max = "92233720368547758.07";
        let huge = format!("automatic_payout_id,balance_transaction_id,currency,gross,fee,net,reporting_category\npo_1,t1,usd,{max},0,{max},charge\npo_1,t2,usd,{max},0,{max},charge\n");
        assert_eq!(
            reconcile_report_alone(huge.as_bytes()).unwrap_err(),
            ReportError::Overflow {
                column: "net".into()
            }
        );
        for e in [ReportError::NoPayout, ReportError::Empty] {
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn multi_payout_file() {
        let rows: Vec<String> = vec![
            ROWS5[0].to_owned(),
            ROWS5[1].replace("po_1", "po_2"),
            ROWS5[2].to_owned(),
            ROWS5[4].replace("po_1", ""),
        ];
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let text = file5(&refs);
        let groups = payouts_in_report(text.as_bytes()).unwrap();
        let ids: Vec<&str> = groups.iter().map(|g| g.payout_id.as_str()).collect();
        assert_eq!(ids, ["po_1", "po_2"]);
        assert_eq!(groups[0].rows.len(), 2);
        assert!(groups[0]
            .warnings
            .iter()
            .any(|w| w.contains("1 rows without")));
        let p = groups[0].payout().unwrap();
        assert_eq!(
            (p.amount, p.currency.as_str(), p.automatic),
            (8680, "usd", true)
        );
        assert_eq!(p.arrival_date, 1_709_596_800);
        let r = groups[0].reconcile().unwrap();
        assert!(r.balanced);
        assert!(r.warnings.iter().any(|w| w == UNCHECKED_AMOUNT));
        assert_eq!(r.orders["1001"].net_minor, 8680);

        // Every payout of the file, and all of them written back in one file.
        let all = reconcile_report(text.as_bytes()).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|r| r.balanced));
        let again = payouts_in_report(to_csv_all(&all).as_bytes()).unwrap();
        assert_eq!(again.len(), 2);
        for (g, r) in again.iter().zip(&all) {
            assert_eq!(g.payout_id, r.payout_id);
            assert_eq!(g.reconcile().unwrap().lines, r.lines);
        }

        // With the payout object at hand: only its rows, and no unchecked-amount warning.
        let with = groups[1].reconcile_with(&payout("po_2", 1025, "usd"));
        assert!(with.balanced && with.warnings.iter().all(|w| w != UNCHECKED_AMOUNT));
        let r = reconcile_itemized(text.as_bytes(), &payout("po_2", 1025, "usd")).unwrap();
        assert_eq!(r.lines, with.lines);
        assert!(r.balanced);
        assert_eq!(r.lines.len(), 1);
        assert!(!r.warnings.iter().any(|w| w == UNCHECKED_AMOUNT));
        assert!(r
            .warnings
            .iter()
            .any(|w| w.starts_with("3 rows of other payouts")));
    }

    #[test]
    fn own_payout_row_is_left_out() {
        let text = "automatic_payout_id,balance_transaction_id,currency,gross,fee,net,reporting_category,source_id\npo_1,t1,usd,5.00,0.20,4.80,charge,ch_1\npo_1,t_po,usd,-4.80,0,-4.80,payout,po_1\n";
        let r = reconcile_itemized(text.as_bytes(), &payout("po_1", 480, "usd")).unwrap();
        assert!(r.balanced, "{r:?}");
        assert_eq!(r.lines.len(), 1);
        assert!(r.warnings.is_empty());
        let r = reconcile_itemized(text.as_bytes(), &payout("po_1", 500, "usd")).unwrap();
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("own transaction t_po")));
        let r = reconcile_report_alone(text.as_bytes()).unwrap();
        assert_eq!((r.payout_amount_minor, r.lines.len()), (480, 1));
    }

    #[test]
    fn warnings_for_time_zone_columns_and_inconsistent_rows() {
        let text = "balance_transaction_id,created,currency,gross,fee,net,reporting_category\nt1,2024-03-01 10:00:00,usd,1.00,0.10,0.80,charge\n";
        let report = itemized_lines(text.as_bytes()).unwrap();
        assert_eq!(report.rows[0].line.created, 1_709_287_200);
        assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
        assert!(report.warnings[0].starts_with("created has no _utc column"));
        assert!(report.warnings[1].contains("gross - fee != net"));
        // A byte order mark, padded and upper-case names, columns in any order.
        let text = "\u{feff}NET , Reporting_Category,fee,gross,currency,balance_transaction_id\n1,charge,0,1,usd,t1\n";
        assert_eq!(minors(text), vec![(100, 0, 100)]);
    }

    #[test]
    fn timestamps() {
        for (text, seconds) in [
            ("1970-01-01 00:00:00", 0),
            ("1969-12-31 23:59:59", -1),
            ("2024-02-29 12:34:56", 1_709_210_096),
            ("2024-02-29T12:34:56Z", 1_709_210_096),
            ("2024-03-03", 1_709_424_000),
            ("0000-01-01 00:00:00", -62_167_219_200),
            ("9999-12-31 23:59:59", 253_402_300_799),
        ] {
            assert_eq!(parse_timestamp(text), Some(seconds), "{text}");
        }
        assert_eq!(
            format_timestamp(1_709_210_096).as_deref(),
            Some("2024-02-29 12:34:56")
        );
        assert_eq!(format_timestamp(-1).as_deref(), Some("1969-12-31 23:59:59"));
        assert_eq!(format_timestamp(253_402_300_800), None);
        assert_eq!(format_timestamp(i64::MIN), None);
        for bad in [
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-00-10",
            "2024-01-32",
            "2024-01-01 24:00:00",
            "2024-01-01 00:60:00",
            "2024-1-01 00:00:00",
            "2024/01/01",
            "2024-01-01x00:00:00",
            "+024-01-01",
            "2024-01-01 00:00",
            "",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn to_csv_writes_stripe_names_and_quotes() {
        let total = 9680 + 1025 - 1000 - 4000 - 150;
        let mut r =
            reconcile_itemized(file5(ROWS5).as_bytes(), &payout("po_1", total, "usd")).unwrap();
        r.lines[0].order_ref = Some("A,\"7\"\nx".into());
        r.lines[0].fees = vec![
            super::super::LineFee {
                kind: "stripe_fee".into(),
                amount_minor: 300,
                amount: Some(Decimal::new(300, 2)),
                currency: "USD".into(),
                description: None,
            },
            super::super::LineFee {
                kind: "tax".into(),
                amount_minor: 20,
                amount: Some(Decimal::new(20, 2)),
                currency: "EUR".into(),
                description: None,
            },
        ];
        let text = to_csv(&r);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some("txn_1,2024-03-01 10:00:00,2024-03-03 00:00:00,usd,100.00,3.20,96.80,charge,ch_1,,,po_1,pi_1,ch_1,,,,\"A,\"\"7\"\"")
        );
        assert!(
            text.contains("x\",,stripe_fee:3.00;tax:0.20 eur\n"),
            "{text}"
        );
        assert!(text.contains(",10.00,eur,po_1,"), "{text}");
        assert!(
            !text.contains("Order 1001"),
            "descriptions are never written"
        );
        let back = itemized_lines(text.as_bytes()).unwrap();
        assert_eq!(back.rows[0].line.order_ref.as_deref(), Some("A,\"7\"\nx"));
        assert_eq!(back.rows.len(), 5);
    }

    // ---- generated round trip: balance transactions -> reconcile_payout -> to_csv -> report

    #[derive(Debug, Clone)]
    struct Gen {
        what: u8,
        amount: i64,
        fee: i64,
        order: Option<String>,
        foreign: bool,
        of: prop::sample::Index,
        created: i64,
        available_on: i64,
    }

    fn gen() -> impl Strategy<Value = Gen> {
        (
            0u8..5,
            1i64..10_000_000,
            0i64..50_000,
            prop::option::of("[A-Z0-9][A-Za-z0-9,\" \n-]{0,10}"),
            any::<bool>(),
            any::<prop::sample::Index>(),
            0i64..4_102_444_800,
            0i64..4_102_444_800,
        )
            .prop_map(
                |(what, amount, fee, order, foreign, of, created, available_on)| Gen {
                    what,
                    amount,
                    fee,
                    order,
                    foreign,
                    of,
                    created,
                    available_on,
                },
            )
    }

    fn charge_source(i: usize, g: &Gen, currency: &str) -> Value {
        let other = if currency == "eur" { "jpy" } else { "eur" };
        let (amount, code) = if g.foreign {
            (g.amount / 7 + 1, other)
        } else {
            (g.amount, currency)
        };
        let metadata = g
            .order
            .as_ref()
            .map_or(json!({}), |o| json!({ "order_id": o }));
        json!({"id": format!("ch_{i}"), "object": "charge", "payment_intent": format!("pi_{i}"),
            "amount": amount, "currency": code, "metadata": metadata})
    }

    fn reversal_source(i: usize, prefix: &str, object: &str, charge: Option<usize>) -> Value {
        match charge {
            Some(c) => json!({"id": format!("{prefix}{i}"), "object": object,
                "charge": format!("ch_{c}"), "payment_intent": format!("pi_{c}")}),
            None => json!(format!("{prefix}{i}")),
        }
    }

    fn txn_of(i: usize, g: &Gen, currency: &str, charges: &[usize]) -> BalanceTransaction {
        let charge = (!charges.is_empty()).then(|| charges[g.of.index(charges.len())]);
        let (kind, category, amount, fee, source, rate) = match g.what {
            0 | 1 => (
                "charge",
                "charge",
                g.amount,
                g.fee,
                charge_source(i, g, currency),
                g.foreign.then(|| json!("1.0869")),
            ),
            2 => (
                "refund",
                "refund",
                -g.amount,
                0,
                reversal_source(i, "re_", "refund", charge),
                None,
            ),
            3 => (
                "adjustment",
                "dispute",
                -g.amount,
                g.fee,
                reversal_source(i, "dp_", "dispute", charge),
                None,
            ),
            _ => ("stripe_fee", "fee", -g.fee, 0, Value::Null, None),
        };
        serde_json::from_value(json!({"id": format!("txn_{i}"), "type": kind,
            "reporting_category": category, "amount": amount, "fee": fee, "net": amount - fee,
            "currency": currency, "exchange_rate": rate, "created": g.created,
            "available_on": g.available_on, "description": format!("Txn {i}, \"quoted\""),
            "fee_details": [{"amount": fee, "currency": currency, "type": "stripe_fee"}],
            "source": source}))
        .unwrap()
    }

    fn build(gens: &[Gen], currency: &str) -> Vec<BalanceTransaction> {
        let mut charges = Vec::new();
        gens.iter()
            .enumerate()
            .map(|(i, g)| {
                let t = txn_of(i, g, currency, &charges);
                if g.what <= 1 {
                    charges.push(i);
                }
                t
            })
            .collect()
    }

    fn without_fees(lines: &[Line]) -> Vec<Line> {
        lines
            .iter()
            .cloned()
            .map(|mut l| {
                l.fees.clear();
                l
            })
            .collect()
    }

    proptest! {
        #[test]
        fn round_trip_through_the_report(
            gens in prop::collection::vec(gen(), 1..20),
            currency in prop::sample::select(vec!["usd", "jpy", "krw", "kwd", "bhd", "eur"]),
            drop in any::<prop::sample::Index>(),
        ) {
            let txns = build(&gens, currency);
            let total: i64 = txns.iter().map(|t| t.net).sum();
            let p = payout("po_rt", total, currency);
            let api = reconcile_payout(&p, &txns);
            prop_assert!(api.balanced);
            let text = to_csv(&api);
            let file = reconcile_itemized(text.as_bytes(), &p).unwrap();
            prop_assert_eq!(without_fees(&api.lines), file.lines.clone());
            prop_assert_eq!(&api.totals, &file.totals);
            prop_assert_eq!(&api.orders, &file.orders);
            prop_assert_eq!(api.balanced, file.balanced);
            prop_assert_eq!(api.difference_minor, file.difference_minor);
            prop_assert_eq!(api.net, file.net);
            prop_assert!(file.warnings.is_empty(), "{:?}", file.warnings);
            // The same file read alone: same lines, the amount is the sum of nets.
            let alone = reconcile_report_alone(text.as_bytes()).unwrap();
            prop_assert_eq!(&alone.lines, &file.lines);
            prop_assert_eq!(alone.payout_amount_minor, total);

            // A line missing from the file: detected, by its net.
            let mut partial = api.clone();
            let removed = partial.lines.remove(drop.index(partial.lines.len()));
            let file = reconcile_itemized(to_csv(&partial).as_bytes(), &p).unwrap();
            prop_assert_eq!(file.balanced, removed.net_minor == 0);
            prop_assert_eq!(file.difference_minor, removed.net_minor);
        }

        #[test]
        fn timestamps_round_trip(seconds in -62_167_219_200i64..=253_402_300_799) {
            let text = format_timestamp(seconds).unwrap();
            prop_assert_eq!(parse_timestamp(&text), Some(seconds));
        }

        #[test]
        fn no_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = itemized_lines(&bytes);
            let _ = reconcile_itemized(&bytes, &payout("po_1", 1, "usd"));
            let _ = payouts_in_report(&bytes);
            let _ = reconcile_report_alone(&bytes);
            let _ = super::super::balance::balance_summary_from_csv(&bytes);
        }

        #[test]
        fn no_panic_on_csv_like_text(
            columns in prop::sample::subsequence(
                vec!["automatic_payout_id", "automatic_payout_effective_at_utc", "balance_transaction_id",
                    "created_utc", "created", "available_on_utc", "currency", "gross", "fee", "net",
                    "reporting_category", "source_id", "description", "customer_facing_amount",
                    "customer_facing_currency", "charge_id", "payment_intent_id",
                    "payment_metadata[order_id]", "type", "exchange_rate", "order_ref",
                    "category", "net_amount", "unknown"], 0..24).prop_shuffle(),
            cells in prop::collection::vec(
                prop_oneof![
                    "-?[0-9]{0,20}(\\.[0-9]{0,30})?",
                    "(usd|jpy|kwd|USD|xyz|)",
                    "(po|ch|re|dp|pyr|du|txn)_[0-9a-z]{0,3}",
                    "[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?",
                    "(payout|charge|refund|starting_balance|ending_balance|activity|payouts)",
                    "[\",\n\r a-z\u{e9}\u{feff}]{0,6}",
                ],
                0..60),
        ) {
            let mut text = columns.join(",");
            for (i, cell) in cells.iter().enumerate() {
                text.push(if columns.is_empty() || i % columns.len() == 0 { '\n' } else { ',' });
                text.push_str(cell);
            }
            let bytes = text.as_bytes();
            if let Ok(r) = reconcile_itemized(bytes, &payout("po_1", 100, "usd")) {
                let _ = to_csv(&r);
            }
            if let Ok(groups) = payouts_in_report(bytes) {
                for g in groups {
                    let _ = g.reconcile();
                }
            }
            let _ = super::super::balance::balance_summary_from_csv(bytes);
        }
    }
}
