//! A payout reconciliation read in steps, for runtimes that limit the requests of one
//! invocation (a Worker: 50 subrequests on the free plan). Each [`Step`] is one queue message:
//! one page of balance transactions, or one batch of at most [`LOOKUPS_PER_STEP`] charges and
//! PaymentIntents; the [`Job`] (kept by the caller, e.g. in a Durable Object) decides the next
//! step and ignores a step delivered twice. Pure, like the rest of the module.
//!
//! Finished reconciliations are forwarded in [`parts`] small enough for a queue message.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::fetch::{self, Lookup, Start};
use super::{summarize, Line, Payout, Reconciliation, Source};
use crate::event::{Event, ReportParameters};

/// Charges and PaymentIntents read in one step.
pub const LOOKUPS_PER_STEP: usize = 40;

/// One step of a job: what to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Page number `page` (0-based), starting after `cursor`.
    Page { page: u32, cursor: Option<String> },
    /// Charges and PaymentIntents whose metadata names orders.
    Lookups { round: u32, lookups: Vec<Lookup> },
}

/// What the caller does after handing a step's result to the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Queue this step.
    Step(Step),
    /// Load every stored line and call [`Job::after_pages`].
    LinesNeeded,
    /// A step delivered again: nothing to do.
    Duplicate,
}

/// The state of one payout's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub payout: Payout,
    /// Pages stored so far.
    pub pages: u32,
    /// Lookup rounds done so far.
    pub rounds: u32,
    pub warnings: Vec<String>,
    /// Charges and PaymentIntents read so far.
    pub found: Vec<Source>,
}

impl Job {
    /// A job for `payout` and its first step.
    pub fn new(payout: Payout) -> (Job, Step) {
        let job = Job {
            payout,
            pages: 0,
            rounds: 0,
            warnings: Vec::new(),
            found: Vec::new(),
        };
        (
            job,
            Step::Page {
                page: 0,
                cursor: None,
            },
        )
    }

    /// Page `page` was read (its lines stored by the caller); `next_cursor` from
    /// [`fetch::Page::next_cursor`].
    pub fn after_page(
        &mut self,
        page: u32,
        next_cursor: Option<String>,
        warnings: Vec<String>,
    ) -> Next {
        if page != self.pages {
            return Next::Duplicate;
        }
        self.pages = self.pages.saturating_add(1);
        self.warnings.extend(warnings);
        match next_cursor {
            Some(cursor) => Next::Step(Step::Page {
                page: self.pages,
                cursor: Some(cursor),
            }),
            None => Next::LinesNeeded,
        }
    }

    /// Lookup round `round` found `sources`.
    pub fn after_lookups(&mut self, round: u32, sources: Vec<Source>) -> Next {
        if round != self.rounds {
            return Next::Duplicate;
        }
        self.rounds = self.rounds.saturating_add(1);
        for source in sources {
            if !self.found.iter().any(|f| f.id == source.id) {
                self.found.push(source);
            }
        }
        Next::LinesNeeded
    }

    /// Whether `page` is the last page applied: delivered again (its message retried because
    /// queuing the step after it failed), the step after it must be sent again, or the job
    /// stalls. An older page delivered again leads nowhere.
    pub fn is_last_page(&self, page: u32) -> bool {
        page.checked_add(1) == Some(self.pages)
    }

    /// Whether `round` is the last lookup round applied (see [`Job::is_last_page`]).
    pub fn is_last_round(&self, round: u32) -> bool {
        round.checked_add(1) == Some(self.rounds)
    }

    /// Whether nothing was applied yet: a start asked again sends the first step again.
    pub fn is_unstarted(&self) -> bool {
        self.pages == 0 && self.rounds == 0
    }

    /// With every line read: the next lookups, or `None` when the job can finish.
    pub fn after_pages(&mut self, lines: &[Line]) -> Option<Step> {
        let (wanted, capped) = fetch::next_lookups(lines, &self.found);
        self.warnings.extend(capped);
        if wanted.is_empty() {
            return None;
        }
        let lookups = wanted.into_iter().take(LOOKUPS_PER_STEP).collect();
        Some(Step::Lookups {
            round: self.rounds,
            lookups,
        })
    }

    /// The reconciliation, from every line.
    pub fn finish(&self, mut lines: Vec<Line>) -> Reconciliation {
        fetch::fill_orders(&mut lines, &self.found);
        summarize(&self.payout, lines, self.warnings.clone())
    }
}

/// A Reporting API report run, read leniently.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportRun {
    pub id: String,
    pub report_type: String,
    pub status: String,
    pub parameters: ReportParameters,
    /// The file, once the run succeeded.
    pub result: Option<ReportFile>,
}

/// A report run's file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportFile {
    pub id: String,
    pub size: Option<u64>,
}

impl ReportFile {
    /// Path of the file's contents on Stripe's files host
    /// ([`FILES_BASE`](crate::stripe_api::FILES_BASE)).
    pub fn contents_path(&self) -> Option<String> {
        crate::stripe_api::is_path_id(&self.id).then(|| format!("/v1/files/{}/contents", self.id))
    }
}

/// What an event asks of the finance side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Reconcile this payout.
    Payout(Payout),
    /// Download and read this report run's file.
    Report(ReportRun),
    /// Nothing, and why (for the log).
    Nothing(&'static str),
}

/// The finance work an event starts: `payout.reconciliation_completed` and `payout.paid`
/// (see [`fetch::when_to_reconcile`]), and `reporting.report_run.succeeded` for the report
/// types read here (`payout_reconciliation.itemized.*`, `balance.summary.*`).
pub fn trigger(event: &Event) -> Trigger {
    let Some(object) = event.object_json() else {
        return Trigger::Nothing("the event carries no object");
    };
    match event.event_type.as_str() {
        "payout.paid" | "payout.reconciliation_completed" => {
            let Ok(payout) = serde_json::from_str::<Payout>(object) else {
                return Trigger::Nothing("the payout could not be read");
            };
            match fetch::when_to_reconcile(&event.event_type, &payout) {
                Start::Now => Trigger::Payout(payout),
                Start::Later => Trigger::Nothing("waiting for payout.reconciliation_completed"),
                Start::Never(why) => Trigger::Nothing(why),
            }
        }
        "reporting.report_run.succeeded" => match serde_json::from_str::<ReportRun>(object) {
            Ok(run) if is_read_here(&run.report_type) && run.result.is_some() => {
                Trigger::Report(run)
            }
            Ok(_) => Trigger::Nothing("a report type not read here"),
            Err(_) => Trigger::Nothing("the report run could not be read"),
        },
        _ => Trigger::Nothing("not a finance event"),
    }
}

fn is_read_here(report_type: &str) -> bool {
    report_type.starts_with("payout_reconciliation.itemized.")
        || report_type.starts_with("balance.summary.")
}

/// Budget of one forwarded part, in queue bytes (a queue message holds 128 KB; the summary,
/// ids and framing fit in the rest).
pub const PART_BUDGET: usize = 96_000;
/// Warnings carried in each part's summary (the count is always there).
const SUMMARY_WARNINGS: usize = 20;

/// What a string costs in a queue message: its JSON text once escaped, two bytes per character
/// when it is not all ASCII (the runtime then keeps it as a two-byte string).
fn queue_cost(json_text: &str) -> usize {
    if json_text.is_ascii() {
        json_text.len()
    } else {
        json_text.chars().count().saturating_mul(2)
    }
}

/// Groups `items` in order so that each group's cost stays within `budget` (an item over it
/// goes alone).
fn pack<T>(items: Vec<T>, cost: impl Fn(&T) -> usize, budget: usize) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut used = 0usize;
    for item in items {
        let c = cost(&item);
        match groups.last_mut() {
            Some(group) if used.saturating_add(c) <= budget => group.push(item),
            _ => {
                groups.push(vec![item]);
                used = 0;
            }
        }
        used = used.saturating_add(c);
    }
    groups
}

fn summary(r: &Reconciliation) -> Value {
    json!({
        "payout_id": r.payout_id,
        "currency": r.currency,
        "payout_amount": r.payout_amount,
        "payout_amount_minor": r.payout_amount_minor,
        "net": r.net,
        "net_minor": r.net_minor,
        "balanced": r.balanced,
        "difference": r.difference,
        "difference_minor": r.difference_minor,
        "likely_cause": r.likely_cause,
        "warnings": r.warnings.iter().take(SUMMARY_WARNINGS).collect::<Vec<_>>(),
        "warning_count": r.warnings.len(),
        "totals": r.totals,
        "line_count": r.lines.len(),
        "order_count": r.orders.len(),
    })
}

/// A reconciliation as forwarded: part `n` of `parts` carries the summary (everything but the
/// lines and orders; the first warnings), and as many lines and orders as fit a queue message
/// ([`PART_BUDGET`]). Every line and order is in exactly one part, in order. Receivers dedup
/// parts by webhook id as they do events.
pub fn parts(book: &str, r: &Reconciliation) -> Vec<Value> {
    let summary = summary(r);
    let budget = PART_BUDGET.saturating_sub(queue_cost(&summary.to_string())) / 2;
    let lines: Vec<Value> = r.lines.iter().map(|l| json!(l)).collect();
    let orders: Vec<(String, Value)> = r
        .orders
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let line_groups = pack(lines, |l| queue_cost(&l.to_string()), budget);
    let order_groups = pack(
        orders,
        |(k, v)| queue_cost(&json!({ k.as_str(): v }).to_string()),
        budget,
    );
    let count = line_groups.len().max(order_groups.len()).max(1);
    let mut line_groups = line_groups.into_iter();
    let mut order_groups = order_groups.into_iter();
    (0..count)
        .map(|i| {
            let lines = line_groups.next().unwrap_or_default();
            let orders: serde_json::Map<String, Value> = order_groups
                .next()
                .unwrap_or_default()
                .into_iter()
                .collect();
            json!({
                "type": "payout.reconciliation",
                "book": book,
                "payout_id": r.payout_id,
                "part": i.saturating_add(1),
                "parts": count,
                "summary": summary,
                "lines": lines,
                "orders": orders,
            })
        })
        .collect()
}

/// A payout's mapping for the target (`Profile::map_payout`'s JSON text) as forwarded:
/// `{"type": "payout.mapping", "payout_id", "chunk": 1, "chunks": 1, "mapping": <json>}`, or,
/// when it does not fit one queue message, `chunks` messages whose `text` fields, joined in
/// `chunk` order, are the mapping's JSON text.
pub fn mapping_parts(payout_id: &str, mapping: &str) -> Vec<Value> {
    if queue_cost(mapping) <= PART_BUDGET {
        if let Ok(value) = serde_json::from_str::<Value>(mapping) {
            return vec![json!({"type": "payout.mapping", "payout_id": payout_id,
                "chunk": 1, "chunks": 1, "mapping": value})];
        }
    }
    let pieces = split_text(mapping, PART_BUDGET);
    let count = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            json!({"type": "payout.mapping", "payout_id": payout_id,
                "chunk": i.saturating_add(1), "chunks": count, "text": text})
        })
        .collect()
}

/// `text` in pieces whose escaped JSON costs at most `budget` queue bytes, cut on character
/// boundaries.
fn split_text(text: &str, budget: usize) -> Vec<&str> {
    let wide = !text.is_ascii();
    let cost = |c: char| {
        let escaped: usize = match c {
            '"' | '\\' => 2,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        };
        if wide {
            escaped.saturating_mul(2)
        } else {
            escaped
        }
    };
    let mut pieces = Vec::new();
    let (mut start, mut used) = (0usize, 0usize);
    for (at, c) in text.char_indices() {
        if used.saturating_add(cost(c)) > budget && at > start {
            pieces.extend(text.get(start..at));
            (start, used) = (at, 0);
        }
        used = used.saturating_add(cost(c));
    }
    pieces.extend(text.get(start..).filter(|rest| !rest.is_empty()));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::{reconcile_payout, BalanceTransaction};
    use serde_json::json;

    /// `n` charges (every third without an order in its metadata, found on its PaymentIntent),
    /// a refund per fifth charge, and the payout's own row; the payout amount is their sum.
    fn payout_of(n: usize) -> (Payout, Vec<BalanceTransaction>) {
        let mut txns: Vec<BalanceTransaction> = Vec::new();
        let mut total = 0i64;
        for i in 0..n {
            let amount = 1000 + i as i64 * 7;
            let fee = 30 + amount * 29 / 1000;
            let meta = if i % 3 == 0 {
                json!({})
            } else {
                json!({"order_id": format!("o{i}")})
            };
            txns.push(
                serde_json::from_value(json!({"id": format!("txn_c{i}"), "type": "charge",
                "reporting_category": "charge", "amount": amount, "fee": fee, "net": amount - fee,
                "currency": "usd", "source": {"id": format!("ch_{i}"), "object": "charge",
                "payment_intent": format!("pi_{i}"), "metadata": meta}}))
                .unwrap(),
            );
            total += amount - fee;
            if i % 5 == 0 {
                txns.push(
                    serde_json::from_value(json!({"id": format!("txn_r{i}"), "type": "refund",
                    "reporting_category": "refund", "amount": -500, "fee": 0, "net": -500,
                    "currency": "usd", "source": {"id": format!("re_{i}"), "object": "refund",
                    "charge": format!("ch_{i}")}}))
                    .unwrap(),
                );
                total -= 500;
            }
        }
        txns.push(
            serde_json::from_value(json!({"id": "txn_po", "type": "payout",
            "reporting_category": "payout", "amount": -total, "fee": 0, "net": -total,
            "currency": "usd", "source": "po_1"}))
            .unwrap(),
        );
        let payout = Payout {
            id: "po_1".into(),
            amount: total,
            currency: "usd".into(),
            automatic: true,
            balance_transaction: Some("txn_po".into()),
            ..Payout::default()
        };
        (payout, txns)
    }

    fn intent(id: &str) -> Source {
        let i = id.trim_start_matches("pi_");
        serde_json::from_value(json!({"id": id, "object": "payment_intent",
            "metadata": {"order_id": format!("o{i}")}}))
        .unwrap()
    }

    /// Runs a job as a Worker would, delivering every step twice; the stored lines are kept by
    /// the test, as a Durable Object would keep them.
    fn run(payout: &Payout, txns: &[BalanceTransaction]) -> (Reconciliation, u32, u32) {
        let (mut job, mut step) = Job::new(payout.clone());
        assert!(job.is_unstarted());
        assert!(!job.is_last_page(u32::MAX));
        let pages: Vec<&[BalanceTransaction]> = txns.chunks(fetch::PAGE_LIMIT as usize).collect();
        let mut stored: Vec<Line> = Vec::new();
        let (mut page_steps, mut lookup_steps) = (0, 0);
        loop {
            let next = match &step {
                Step::Page { page, .. } => {
                    page_steps += 1;
                    let data = pages[*page as usize];
                    let last = *page as usize + 1 == pages.len();
                    let cursor = (!last).then(|| data.last().unwrap().id.clone());
                    let (lines, warnings) = fetch::lines_of(payout, data);
                    stored.extend(lines);
                    assert!(!job.is_last_page(*page));
                    let first = job.after_page(*page, cursor.clone(), warnings.clone());
                    assert_eq!(job.after_page(*page, cursor, warnings), Next::Duplicate);
                    // Delivered again now, it leads on; an older page would not.
                    assert!(job.is_last_page(*page));
                    assert!(*page == 0 || !job.is_last_page(*page - 1));
                    assert!(!job.is_unstarted());
                    first
                }
                Step::Lookups { round, lookups } => {
                    lookup_steps += 1;
                    assert!(lookups.len() <= LOOKUPS_PER_STEP);
                    let found = lookups
                        .iter()
                        .map(|l| match l {
                            Lookup::PaymentIntent(id) => intent(id),
                            Lookup::Charge(id) => panic!("every charge is in the payout: {id}"),
                        })
                        .collect();
                    assert!(!job.is_last_round(*round));
                    let first = job.after_lookups(*round, found);
                    assert_eq!(job.after_lookups(*round, Vec::new()), Next::Duplicate);
                    assert!(job.is_last_round(*round));
                    assert!(*round == 0 || !job.is_last_round(*round - 1));
                    first
                }
            };
            step = match next {
                Next::Step(s) => s,
                Next::LinesNeeded => match job.after_pages(&stored) {
                    Some(s) => s,
                    None => return (job.finish(stored), page_steps, lookup_steps),
                },
                Next::Duplicate => unreachable!(),
            };
        }
    }

    #[test]
    fn a_job_in_steps_gives_the_reconciliation_of_the_whole_list() {
        let (payout, txns) = payout_of(850); // 850 charges + 170 refunds + own row: 11 pages
        let (r, pages, lookups) = run(&payout, &txns);
        assert_eq!(pages, 11);
        // 284 charges have no order on the charge: 8 steps of at most 40 PaymentIntents.
        assert_eq!(lookups, 284usize.div_ceil(LOOKUPS_PER_STEP) as u32);
        assert!(r.balanced, "{:?}", r.likely_cause);
        assert_eq!(r.lines.len(), 850 + 170);
        assert!(
            r.lines.iter().all(|l| l.order_ref.is_some()),
            "every line has its order"
        );
        let whole = reconcile_payout(&payout, &txns);
        assert_eq!(r.totals, whole.totals);
        assert_eq!(r.net_minor, whole.net_minor);
        assert_eq!(r.orders.len(), 850);
        assert_eq!(
            r.orders["o0"].refunds_minor, -500,
            "the refund of ch_0 reaches o0 via pi_0"
        );
    }

    #[test]
    fn parts_stay_small_and_carry_every_line_and_order_once() {
        let (payout, txns) = payout_of(1000);
        let r = reconcile_payout(&payout, &txns);
        let all = parts("acct_1:test", &r);
        assert!(
            all.len() > 5,
            "1,200 lines need several parts: {}",
            all.len()
        );
        let mut lines = 0;
        let mut orders = 0;
        for (i, part) in all.iter().enumerate() {
            let text = serde_json::to_string(part).unwrap();
            assert!(
                queue_cost(&text) <= PART_BUDGET,
                "part {i} costs {}",
                queue_cost(&text)
            );
            assert_eq!(part["part"], i + 1);
            assert_eq!(part["summary"]["balanced"], r.balanced);
            lines += part["lines"].as_array().unwrap().len();
            orders += part["orders"].as_object().unwrap().len();
        }
        assert_eq!(lines, r.lines.len());
        assert_eq!(orders, r.orders.len());
        let empty = reconcile_payout(&payout, &[]);
        assert_eq!(
            parts("b", &empty).len(),
            1,
            "an empty payout still reports once"
        );
    }

    #[test]
    fn mappings_are_inline_when_small_and_chunked_text_when_large() {
        let small = mapping_parts("po_1", r#"{"notes":[1,2]}"#);
        assert_eq!(small.len(), 1);
        assert_eq!(small[0]["mapping"]["notes"][1], 2);
        for big in [
            format!("{{\"x\":\"{}é\"}}", "ü\\\"".repeat(PART_BUDGET / 2)),
            format!("[{}]", "\"quoted\",".repeat(PART_BUDGET / 4) + "0"),
        ] {
            let parts = mapping_parts("po_1", &big);
            assert!(parts.len() > 1);
            let joined: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
            assert_eq!(joined, big, "the pieces join to the exact text");
            for p in &parts {
                assert_eq!(p["chunks"], parts.len());
                let body = serde_json::to_string(p).unwrap();
                assert!(
                    queue_cost(&body) <= PART_BUDGET + 200,
                    "{}",
                    queue_cost(&body)
                );
            }
        }
    }

    #[test]
    fn triggers() {
        let event = |t: &str, object: Value| {
            let body = json!({"id": "evt_1", "type": t, "created": 1, "data": {"object": object}});
            Event::from_slice(body.to_string().as_bytes()).unwrap()
        };
        let po = json!({"id": "po_1", "object": "payout", "amount": 100, "currency": "usd",
            "automatic": true, "reconciliation_status": "completed"});
        assert!(
            matches!(trigger(&event("payout.paid", po.clone())), Trigger::Payout(p) if p.id == "po_1")
        );
        let manual = json!({"id": "po_2", "amount": 1, "currency": "usd", "automatic": false});
        assert!(matches!(
            trigger(&event("payout.reconciliation_completed", manual)),
            Trigger::Nothing(_)
        ));
        assert!(matches!(
            trigger(&event("payout.created", po)),
            Trigger::Nothing(_)
        ));
        let run = json!({"id": "frr_1", "object": "reporting.report_run", "status": "succeeded",
            "report_type": "payout_reconciliation.itemized.5", "parameters": {"payout": "po_1"},
            "result": {"id": "file_1", "object": "file", "size": 10}});
        match trigger(&event("reporting.report_run.succeeded", run)) {
            Trigger::Report(r) => {
                assert_eq!(r.parameters.payout.as_deref(), Some("po_1"));
                assert_eq!(
                    r.result.unwrap().contents_path().unwrap(),
                    "/v1/files/file_1/contents"
                );
            }
            other => panic!("{other:?}"),
        }
        let other = json!({"id": "frr_2", "report_type": "activity.itemized.1", "result": {"id": "file_2"}});
        assert!(matches!(
            trigger(&event("reporting.report_run.succeeded", other)),
            Trigger::Nothing(_)
        ));
        assert_eq!(
            ReportFile {
                id: "../x".into(),
                size: None
            }
            .contents_path(),
            None
        );
    }
}
