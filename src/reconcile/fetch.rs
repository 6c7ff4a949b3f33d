//! What to ask Stripe for a payout's reconciliation, one request at a time. Pure: the CLI, the
//! npm package and the Worker send the requests through their one retry loop
//! ([`crate::stripe_api::classify`]) and hand the bodies back here.
//!
//! 1. `GET /v1/payouts/{id}` ([`payout_path`], [`parse_payout`]); [`when_to_reconcile`] says
//!    whether its transactions can be listed yet.
//! 2. Every page of `GET /v1/balance_transactions?payout=...&limit=100&expand[]=data.source`
//!    ([`page_path`], [`parse_page`], [`Page::next_cursor`]) until `has_more` is false.
//! 3. [`lines_of`] itemizes each page; refunds and disputes of payments paid out earlier, and
//!    charges whose metadata lacks the order, need their charge or PaymentIntent:
//!    [`lookups`] names them (at most [`MAX_LOOKUPS`]), [`fill_orders`] applies what was found.
//! 4. [`super::summarize`] decides.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{build_line, is_own_row, order_ref, BalanceTransaction, Line, Payout, Source};
use crate::payment_request::RequestError;
use crate::stripe_api::invalid_response;

/// Stripe's largest page.
pub const PAGE_LIMIT: u32 = 100;
/// Most charges and PaymentIntents read to find orders for one payout; more are left without
/// an order, with a warning.
pub const MAX_LOOKUPS: usize = 500;

/// Stripe ids are letters, digits and `_`; anything else would change the request's path.
fn checked_id<'a>(field: &str, id: &'a str) -> Result<&'a str, RequestError> {
    if crate::stripe_api::is_path_id(id) {
        Ok(id)
    } else {
        Err(RequestError::new(
            field,
            "invalid_id",
            "must be a Stripe id (letters, digits and _)",
        ))
    }
}

/// `GET` path of one payout.
pub fn payout_path(id: &str) -> Result<String, RequestError> {
    Ok(format!("/v1/payouts/{}", checked_id("payout", id)?))
}

/// `GET` path of one balance transaction (a charge's fee and net, [`crate::Record::missing_fee`]).
pub fn balance_transaction_path(id: &str) -> Result<String, RequestError> {
    Ok(format!(
        "/v1/balance_transactions/{}",
        checked_id("balance_transaction", id)?
    ))
}

/// Reads `GET /v1/balance_transactions/{id}`.
pub fn parse_balance_transaction(body: &[u8]) -> Result<BalanceTransaction, crate::Error> {
    serde_json::from_slice(body).map_err(|e| invalid_response("a balance transaction", e))
}

/// `GET` path of one charge or PaymentIntent (by its id's prefix).
pub fn lookup_path(lookup: &Lookup) -> Result<String, RequestError> {
    match lookup {
        Lookup::Charge(id) => Ok(format!("/v1/charges/{}", checked_id("charge", id)?)),
        Lookup::PaymentIntent(id) => Ok(format!(
            "/v1/payment_intents/{}",
            checked_id("payment_intent", id)?
        )),
    }
}

/// `GET` path of one page of a payout's balance transactions, sources expanded.
pub fn page_path(payout_id: &str, starting_after: Option<&str>) -> Result<String, RequestError> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("payout", checked_id("payout", payout_id)?)
        .append_pair("limit", &PAGE_LIMIT.to_string())
        .append_pair("expand[]", "data.source");
    if let Some(cursor) = starting_after {
        query.append_pair("starting_after", checked_id("starting_after", cursor)?);
    }
    Ok(format!("/v1/balance_transactions?{}", query.finish()))
}

/// `GET` path of one page of every balance transaction created before `end` (Unix seconds),
/// for a balance summary.
pub fn created_before_path(end: i64, starting_after: Option<&str>) -> Result<String, RequestError> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("created[lt]", &end.to_string())
        .append_pair("limit", &PAGE_LIMIT.to_string());
    if let Some(cursor) = starting_after {
        query.append_pair("starting_after", checked_id("starting_after", cursor)?);
    }
    Ok(format!("/v1/balance_transactions?{}", query.finish()))
}

/// Reads `GET /v1/payouts/{id}`.
pub fn parse_payout(body: &[u8]) -> Result<Payout, crate::Error> {
    serde_json::from_slice(body).map_err(|e| invalid_response("a payout", e))
}

/// One page of a list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Page {
    pub data: Vec<BalanceTransaction>,
    pub has_more: bool,
}

impl Page {
    /// The `starting_after` of the next page, or `None` when this was the last.
    pub fn next_cursor(&self) -> Option<&str> {
        if !self.has_more {
            return None;
        }
        self.data
            .last()
            .map(|t| t.id.as_str())
            .filter(|id| !id.is_empty())
    }
}

/// Reads one page of `GET /v1/balance_transactions`.
pub fn parse_page(body: &[u8]) -> Result<Page, crate::Error> {
    serde_json::from_slice(body).map_err(|e| invalid_response("a list of balance transactions", e))
}

/// Reads a charge or PaymentIntent for [`fill_orders`].
pub fn parse_source(body: &[u8]) -> Result<Source, crate::Error> {
    serde_json::from_slice(body).map_err(|e| invalid_response("a charge or PaymentIntent", e))
}

/// When a payout's transactions can be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The list is final: read it now.
    Now,
    /// Stripe is still tying transactions to the payout; `payout.reconciliation_completed`
    /// will follow.
    Later,
    /// Nothing to itemize, and why.
    Never(&'static str),
}

/// Whether to reconcile `payout` on `event_type` (`payout.reconciliation_completed`, or
/// `payout.paid` for accounts whose payouts have no reconciliation status).
pub fn when_to_reconcile(event_type: &str, payout: &Payout) -> Start {
    if !payout.automatic {
        return Start::Never(
            "a manual payout cannot be itemized: Stripe ties no transactions to it",
        );
    }
    match (event_type, payout.reconciliation_status.as_deref()) {
        ("payout.reconciliation_completed", _) => Start::Now,
        ("payout.paid", Some("in_progress")) => Start::Later,
        ("payout.paid", Some("not_applicable")) => {
            Start::Never("Stripe says reconciliation does not apply to this payout")
        }
        ("payout.paid", _) => Start::Now,
        _ => Start::Never("only payout.paid and payout.reconciliation_completed start one"),
    }
}

/// Itemizes one page (or all) of a payout's transactions, leaving out the payout's own row;
/// the warnings say when that row disagrees with the payout.
pub fn lines_of(payout: &Payout, transactions: &[BalanceTransaction]) -> (Vec<Line>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    for txn in transactions {
        if !is_own_row(payout, txn) {
            lines.push(build_line(txn));
            continue;
        }
        if Some(txn.net) != payout.amount.checked_neg() {
            warnings.push(format!(
                "the payout's own transaction {} has net {}, not minus the payout amount",
                txn.id, txn.net
            ));
        }
    }
    (lines, warnings)
}

/// A charge or PaymentIntent to read for its metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(tag = "object", content = "id", rename_all = "snake_case")]
pub enum Lookup {
    Charge(String),
    PaymentIntent(String),
}

impl Lookup {
    /// The id looked up.
    pub fn id(&self) -> &str {
        match self {
            Lookup::Charge(id) | Lookup::PaymentIntent(id) => id,
        }
    }

    /// `charge` or `payment_intent`.
    pub fn object(&self) -> &'static str {
        match self {
            Lookup::Charge(_) => "charge",
            Lookup::PaymentIntent(_) => "payment_intent",
        }
    }

    /// What stands for an object Stripe no longer has (deleted test data): found, with no
    /// order, so it is not asked for again.
    pub fn not_found(&self) -> Source {
        Source {
            id: self.id().to_owned(),
            object: Some(self.object().to_owned()),
            ..Source::default()
        }
    }
}

/// Orders known from the lines and from what was already looked up.
struct Known<'a> {
    charges: BTreeMap<&'a str, &'a Source>,
    intents: BTreeMap<&'a str, &'a Source>,
    /// The charges paid out in this payout, by id.
    payout_charges: BTreeMap<&'a str, &'a Line>,
}

impl<'a> Known<'a> {
    fn new(lines: &'a [Line], found: &'a [Source]) -> Self {
        let by = |kind: &str| {
            found
                .iter()
                .filter(|s| object_kind(s) == kind)
                .map(|s| (s.id.as_str(), s))
                .collect::<BTreeMap<_, _>>()
        };
        let payout_charges = lines
            .iter()
            .filter(|l| l.source_object.as_deref() == Some("charge"))
            .filter_map(|l| Some((l.charge_id.as_deref()?, l)))
            .collect();
        Known {
            charges: by("charge"),
            intents: by("payment_intent"),
            payout_charges,
        }
    }

    /// The order of a line from what is known, or the next lookup that could tell it.
    fn resolve(&self, line: &Line) -> Result<Option<String>, Lookup> {
        let mut intent = line.payment_intent_id.clone();
        let of_charge = line.source_object.as_deref() != Some("charge");
        let paid_here = line
            .charge_id
            .as_deref()
            .and_then(|c| self.payout_charges.get(c));
        if let (true, Some(charge_line)) = (of_charge, paid_here) {
            if charge_line.order_ref.is_some() {
                return Ok(None); // summarize() gives it the order of its charge in this payout
            }
            // The charge is in this payout without an order: ask its PaymentIntent.
            return self.by_intent(intent.or_else(|| charge_line.payment_intent_id.clone()));
        }
        if let Some(charge) = line.charge_id.as_deref() {
            match self.charges.get(charge) {
                Some(found) => {
                    if let Some(order) = order_ref(&found.metadata) {
                        return Ok(Some(order));
                    }
                    intent = intent.or_else(|| found.payment_intent.clone());
                }
                None if line.source_object.as_deref() != Some("charge") => {
                    return Err(Lookup::Charge(charge.to_owned()))
                }
                None => {}
            }
        }
        self.by_intent(intent)
    }

    fn by_intent(&self, intent: Option<String>) -> Result<Option<String>, Lookup> {
        match intent {
            Some(pi) => match self.intents.get(pi.as_str()) {
                Some(found) => Ok(order_ref(&found.metadata)),
                None => Err(Lookup::PaymentIntent(pi)),
            },
            None => Ok(None),
        }
    }
}

fn object_kind(source: &Source) -> &str {
    match source.object.as_deref() {
        Some(kind) => kind,
        None if source.id.starts_with("pi_") => "payment_intent",
        None => "charge",
    }
}

/// What to read next to find the orders of lines that have none (empty: nothing more to
/// learn). Call again with everything found so far until it is empty.
pub fn lookups(lines: &[Line], found: &[Source]) -> Vec<Lookup> {
    let known = Known::new(lines, found);
    let wanted: BTreeSet<Lookup> = lines
        .iter()
        .filter(|l| l.order_ref.is_none())
        .filter_map(|l| known.resolve(l).err())
        .collect();
    wanted.into_iter().collect()
}

/// The next lookups within [`MAX_LOOKUPS`] in all (empty: nothing more to read), and the
/// warning when that cap leaves lines without an order.
pub fn next_lookups(lines: &[Line], found: &[Source]) -> (Vec<Lookup>, Option<String>) {
    let wanted = lookups(lines, found);
    let room = MAX_LOOKUPS.saturating_sub(found.len());
    if !wanted.is_empty() && room == 0 {
        let warning = format!("stopped after {MAX_LOOKUPS} lookups: some lines have no order");
        return (Vec::new(), Some(warning));
    }
    (wanted.into_iter().take(room).collect(), None)
}

/// Gives lines without an order the order found on their charge or PaymentIntent.
pub fn fill_orders(lines: &mut [Line], found: &[Source]) {
    let orders: Vec<Option<String>> = {
        let known = Known::new(lines, found);
        lines
            .iter()
            .map(|l| match l.order_ref {
                Some(_) => None,
                None => known.resolve(l).ok().flatten(),
            })
            .collect()
    };
    for (line, order) in lines.iter_mut().zip(orders) {
        if order.is_some() {
            line.order_ref = order;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::summarize;
    use serde_json::json;

    fn txn(value: serde_json::Value) -> BalanceTransaction {
        serde_json::from_value(value).unwrap()
    }

    fn source(value: serde_json::Value) -> Source {
        serde_json::from_value(value).unwrap()
    }

    fn payout(amount: i64) -> Payout {
        Payout {
            id: "po_1".into(),
            amount,
            currency: "usd".into(),
            automatic: true,
            ..Payout::default()
        }
    }

    #[test]
    fn paths_encode_the_query_and_refuse_ids_that_change_the_path() {
        assert_eq!(payout_path("po_1").unwrap(), "/v1/payouts/po_1");
        assert_eq!(
            page_path("po_1", None).unwrap(),
            "/v1/balance_transactions?payout=po_1&limit=100&expand%5B%5D=data.source"
        );
        assert!(page_path("po_1", Some("txn_9"))
            .unwrap()
            .ends_with("&starting_after=txn_9"));
        for bad in ["", "../v1/charges", "po_1?x=1", "po 1", "po_1/..", "pö"] {
            assert_eq!(payout_path(bad).unwrap_err().code, "invalid_id", "{bad}");
            assert!(page_path("po_1", Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            lookup_path(&Lookup::PaymentIntent("pi_1".into())).unwrap(),
            "/v1/payment_intents/pi_1"
        );
        assert_eq!(
            lookup_path(&Lookup::Charge("ch_1".into())).unwrap(),
            "/v1/charges/ch_1"
        );
    }

    #[test]
    fn pages_end_when_stripe_says_so() {
        let page = parse_page(
            br#"{"object":"list","data":[{"id":"txn_1"},{"id":"txn_2"}],"has_more":true}"#,
        )
        .unwrap();
        assert_eq!(page.next_cursor(), Some("txn_2"));
        let last = parse_page(br#"{"data":[{"id":"txn_3"}],"has_more":false}"#).unwrap();
        assert_eq!(last.next_cursor(), None);
        let empty = parse_page(br#"{"data":[],"has_more":true}"#).unwrap();
        assert_eq!(
            empty.next_cursor(),
            None,
            "no cursor to go on from: stop, not loop"
        );
        let e = parse_page(b"<html>").unwrap_err();
        assert!(
            matches!(e, crate::Error::StripeApi(a) if a.code.as_deref() == Some("invalid_response"))
        );
    }

    #[test]
    fn which_events_start_a_reconciliation() {
        let mut p = payout(100);
        assert_eq!(
            when_to_reconcile("payout.reconciliation_completed", &p),
            Start::Now
        );
        assert_eq!(
            when_to_reconcile("payout.paid", &p),
            Start::Now,
            "no status: older API versions"
        );
        p.reconciliation_status = Some("in_progress".into());
        assert_eq!(when_to_reconcile("payout.paid", &p), Start::Later);
        p.reconciliation_status = Some("completed".into());
        assert_eq!(when_to_reconcile("payout.paid", &p), Start::Now);
        p.reconciliation_status = Some("not_applicable".into());
        assert!(matches!(
            when_to_reconcile("payout.paid", &p),
            Start::Never(_)
        ));
        assert!(matches!(
            when_to_reconcile("payout.created", &payout(1)),
            Start::Never(_)
        ));
        p.automatic = false;
        assert!(matches!(
            when_to_reconcile("payout.reconciliation_completed", &p),
            Start::Never(_)
        ));
    }

    /// A refund of a payment paid out earlier, a charge whose metadata lacks the order (set on
    /// the PaymentIntent after confirmation), and a charge of this payout with its order.
    fn mixed() -> Vec<BalanceTransaction> {
        vec![
            txn(
                json!({"id": "txn_1", "type": "charge", "reporting_category": "charge",
                "amount": 5000, "fee": 175, "net": 4825, "currency": "usd",
                "source": {"id": "ch_a", "object": "charge", "payment_intent": "pi_a",
                    "metadata": {"order_id": "A-1"}}}),
            ),
            txn(
                json!({"id": "txn_2", "type": "refund", "reporting_category": "refund",
                "amount": -1000, "fee": 0, "net": -1000, "currency": "usd",
                "source": {"id": "re_a", "object": "refund", "charge": "ch_a"}}),
            ),
            txn(
                json!({"id": "txn_3", "type": "refund", "reporting_category": "refund",
                "amount": -700, "fee": 0, "net": -700, "currency": "usd",
                "source": {"id": "re_old", "object": "refund", "charge": "ch_old"}}),
            ),
            txn(
                json!({"id": "txn_4", "type": "charge", "reporting_category": "charge",
                "amount": 2000, "fee": 88, "net": 1912, "currency": "usd",
                "source": {"id": "ch_b", "object": "charge", "payment_intent": "pi_b", "metadata": {}}}),
            ),
        ]
    }

    #[test]
    fn orders_of_older_payments_are_looked_up_in_rounds() {
        let (mut lines, _) = lines_of(&payout(0), &mixed());
        let mut found = Vec::new();
        let first = lookups(&lines, &found);
        assert_eq!(
            first,
            vec![
                Lookup::Charge("ch_old".into()),
                Lookup::PaymentIntent("pi_b".into())
            ]
        );
        // The old charge has no order in its metadata, but names its PaymentIntent.
        found.push(source(
            json!({"id": "ch_old", "object": "charge", "payment_intent": "pi_old", "metadata": {}}),
        ));
        found.push(source(
            json!({"id": "pi_b", "object": "payment_intent", "metadata": {"order_id": "B-2"}}),
        ));
        assert_eq!(
            lookups(&lines, &found),
            vec![Lookup::PaymentIntent("pi_old".into())]
        );
        found.push(source(
            json!({"id": "pi_old", "object": "payment_intent", "metadata": {"order_id": "OLD-9"}}),
        ));
        assert!(lookups(&lines, &found).is_empty());
        fill_orders(&mut lines, &found);
        let orders: Vec<_> = lines.iter().map(|l| l.order_ref.as_deref()).collect();
        assert_eq!(orders, vec![Some("A-1"), None, Some("OLD-9"), Some("B-2")]);

        let total = 4825 - 1000 - 700 + 1912;
        let r = summarize(&payout(total), lines, Vec::new());
        assert!(r.balanced);
        assert_eq!(
            r.orders["A-1"].refunds_minor, -1000,
            "the refund of ch_a inherits A-1"
        );
        assert_eq!(r.orders["OLD-9"].refunds_minor, -700);
        assert_eq!(r.orders["B-2"].net_minor, 1912);
    }

    #[test]
    fn a_lookup_that_finds_nothing_is_not_asked_again() {
        let (lines, _) = lines_of(&payout(0), &mixed());
        let found = vec![
            source(json!({"id": "ch_old", "object": "charge", "metadata": {}})),
            source(json!({"id": "pi_b", "object": "payment_intent", "metadata": {}})),
        ];
        assert!(lookups(&lines, &found).is_empty());
    }
}
