//! `reconcile` and `balance`: a payout's transactions, and a balance summary, from Stripe's
//! API or from a Reporting API file.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use stripe_bridge::reconcile::fetch::{self, Lookup, Start};
use stripe_bridge::reconcile::{
    self, balance, report, BalanceTransaction, Payout, Reconciliation, Source,
};
use stripe_bridge::Error;

use crate::client::{ApiArgs, Client};
use crate::{io_failure, print, to_json, Failure};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// JSON: exact decimal strings with `_minor` integers beside them.
    Json,
    /// CSV for spreadsheets, with the column names of Stripe's reports.
    Csv,
}

/// Reconcile a payout: every balance transaction paid out in it, per category and per order,
/// checked exactly against the payout amount. Exits with status 1 when it does not balance
/// (the result is printed first; the difference is on standard error).
#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(true))]
pub struct ReconcileArgs {
    /// The payout (po_...): read from Stripe with every page of its transactions.
    #[arg(long, group = "source")]
    payout: Option<String>,
    /// A payout_reconciliation.itemized.* CSV from the Dashboard or a report run, instead of
    /// the transactions. With --payout, the payout's amount is read from Stripe to check it.
    #[arg(long, group = "source")]
    report: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Print the payout for a target instead: erp (a balanced journal), nopcommerce (order
    /// notes), salesforce (Composite upserts), order-feed (settlement entries).
    #[arg(long, conflicts_with = "format")]
    profile: Option<String>,
    /// Pretty-print the JSON.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// Balance summary of an interval, per currency: starting balance, activity by reporting
/// category, payouts, ending balance.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("interval").required(true).multiple(true))]
pub struct BalanceArgs {
    /// Start of the interval (inclusive): YYYY-MM-DD (UTC), RFC 3339 or Unix seconds. Reads
    /// every balance transaction created before --to (the starting balance is their sum).
    #[arg(long, group = "interval", requires = "to")]
    from: Option<String>,
    /// End of the interval (exclusive).
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// A balance.summary.1 CSV from the Dashboard or a report run, instead of the API.
    #[arg(long, group = "interval", conflicts_with = "from")]
    report: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Pretty-print the JSON.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    api: ApiArgs,
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| io_failure(&format!("reading {}", path.display()), e))
}

fn report_failure(path: &Path, e: report::ReportError) -> Failure {
    Failure {
        kind: "reconcile",
        code: e.code(),
        message: format!("{}: {e}", path.display()),
    }
}

/// Each payout with its reconciliation, from the API, a report checked against the API, or a
/// report alone.
fn reconciliations(args: &ReconcileArgs) -> Result<Vec<(Payout, Reconciliation)>, Failure> {
    Ok(match (&args.payout, &args.report) {
        (Some(id), None) => vec![from_api(&args.api.client()?, id)?],
        (Some(id), Some(path)) => {
            let payout = read_payout(&args.api.client()?, id)?;
            let csv = read_file(path)?;
            let r =
                report::reconcile_itemized(&csv, &payout).map_err(|e| report_failure(path, e))?;
            vec![(payout, r)]
        }
        (None, Some(path)) => {
            let csv = read_file(path)?;
            let failure = |e| report_failure(path, e);
            let groups = report::payouts_in_report(&csv).map_err(failure)?;
            let pair = |g: &report::ReportPayout| Ok((g.payout()?, g.reconcile()?));
            groups
                .iter()
                .map(pair)
                .collect::<Result<_, _>>()
                .map_err(failure)?
        }
        (None, None) => Vec::new(),
    })
}

pub fn reconcile(args: ReconcileArgs) -> Result<(), Failure> {
    let pairs = reconciliations(&args)?;
    if let Some(profile) = &args.profile {
        print_mappings(profile, &pairs, args.pretty)?;
    }
    let results: Vec<Reconciliation> = pairs.into_iter().map(|(_, r)| r).collect();
    match args.format {
        _ if args.profile.is_some() => {}
        Format::Json if args.payout.is_some() && results.len() == 1 => {
            print(&to_json(&results[..1].first(), args.pretty)?)?
        }
        Format::Json => print(&to_json(&results, args.pretty)?)?,
        Format::Csv => print(report::to_csv_all(&results).trim_end())?,
    }
    match results.iter().find(|r| !r.balanced) {
        Some(r) => Err(unbalanced(r)),
        None => Ok(()),
    }
}

/// The target's JSON of each payout, one line each (nothing for a profile with nothing to say).
fn print_mappings(
    profile: &str,
    pairs: &[(Payout, Reconciliation)],
    pretty: bool,
) -> Result<(), Failure> {
    let profile = crate::load_profile(profile)?;
    for (payout, r) in pairs {
        let mapped = profile.map_payout(payout, r).map_err(|e| Failure {
            kind: "mapping",
            code: e.code(),
            message: e.to_string(),
        })?;
        if let Some(text) = mapped {
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Failure {
                kind: "mapping",
                code: "json",
                message: e.to_string(),
            })?;
            print(&to_json(&value, pretty)?)?;
        }
    }
    Ok(())
}

fn unbalanced(r: &Reconciliation) -> Failure {
    let difference = r
        .difference
        .map(|d| format!("{d} {}", r.currency))
        .unwrap_or_else(|| format!("{} minor units of {}", r.difference_minor, r.currency));
    Failure {
        kind: "reconcile",
        code: "unbalanced",
        message: format!(
            "payout {} does not balance: difference {difference} ({})",
            r.payout_id,
            r.likely_cause.as_deref().unwrap_or("cause unknown")
        ),
    }
}

fn read_payout(client: &Client, id: &str) -> Result<Payout, Failure> {
    let path = fetch::payout_path(id).map_err(Error::from)?;
    Ok(fetch::parse_payout(&client.get(&path)?)?)
}

/// The payout, every page of its transactions, and the charges and PaymentIntents that name
/// the orders of older payments.
fn from_api(client: &Client, id: &str) -> Result<(Payout, Reconciliation), Failure> {
    let payout = read_payout(client, id)?;
    if let Start::Never(why) = fetch::when_to_reconcile("payout.reconciliation_completed", &payout)
    {
        let r = reconcile::summarize(&payout, Vec::new(), vec![why.to_owned()]);
        return Ok((payout, r));
    }
    let (mut lines, mut warnings) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let path = fetch::page_path(id, cursor.as_deref()).map_err(Error::from)?;
        let page = fetch::parse_page(&client.get(&path)?)?;
        let (page_lines, page_warnings) = fetch::lines_of(&payout, &page.data);
        lines.extend(page_lines);
        warnings.extend(page_warnings);
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let found = look_up_orders(client, &lines, &mut warnings)?;
    fetch::fill_orders(&mut lines, &found);
    let r = reconcile::summarize(&payout, lines, warnings);
    Ok((payout, r))
}

fn look_up_orders(
    client: &Client,
    lines: &[reconcile::Line],
    warnings: &mut Vec<String>,
) -> Result<Vec<Source>, Failure> {
    let mut found: Vec<Source> = Vec::new();
    loop {
        let (wanted, capped) = fetch::next_lookups(lines, &found);
        warnings.extend(capped);
        if wanted.is_empty() {
            return Ok(found);
        }
        for lookup in wanted {
            found.push(look_up(client, &lookup, warnings)?);
        }
    }
}

/// One charge or PaymentIntent; one that no longer exists is noted and not asked again.
fn look_up(
    client: &Client,
    lookup: &Lookup,
    warnings: &mut Vec<String>,
) -> Result<Source, Failure> {
    let path = fetch::lookup_path(lookup).map_err(Error::from)?;
    match client.get_optional(&path)? {
        Some(body) => Ok(fetch::parse_source(&body)?),
        None => {
            let (object, id) = (lookup.object(), lookup.id());
            warnings.push(format!("{object} {id} no longer exists at Stripe"));
            Ok(lookup.not_found())
        }
    }
}

pub fn balance(args: BalanceArgs) -> Result<(), Failure> {
    let summaries = match (&args.report, &args.from, &args.to) {
        (Some(path), _, _) => {
            let csv = read_file(path)?;
            balance::balance_summary_from_csv(&csv).map_err(|e| report_failure(path, e))?
        }
        (None, Some(from), Some(to)) => {
            let (start, end) = (time_arg("from", from)?, time_arg("to", to)?);
            let txns = transactions_before(&args.api.client()?, end)?;
            balance::balance_summary(&txns, start, end)
        }
        _ => Vec::new(),
    };
    match args.format {
        Format::Json => print(&to_json(&summaries, args.pretty)?),
        Format::Csv => print(balance::to_csv(&summaries).trim_end()),
    }
}

/// Every balance transaction created before `end`, page by page.
fn transactions_before(client: &Client, end: i64) -> Result<Vec<BalanceTransaction>, Failure> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = fetch::created_before_path(end, cursor.as_deref()).map_err(Error::from)?;
        let page = fetch::parse_page(&client.get(&path)?)?;
        cursor = page.next_cursor().map(str::to_owned);
        all.extend(page.data);
        if cursor.is_none() {
            return Ok(all);
        }
    }
}

/// A time given as YYYY-MM-DD (UTC midnight), RFC 3339 or Unix seconds.
fn time_arg(name: &str, text: &str) -> Result<i64, Failure> {
    let text = text.trim();
    let parsed = text.parse::<i64>().ok().or_else(|| {
        let full = if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.to_owned()
        };
        stripe_bridge::event::parse_rfc3339(&full)
    });
    parsed.ok_or_else(|| Failure {
        kind: "argument",
        code: "invalid_time",
        message: format!("--{name} must be YYYY-MM-DD, RFC 3339 or Unix seconds"),
    })
}
