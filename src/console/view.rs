//! An order's payments as the console shows them: each attempt with its refunds and disputes,
//! amounts in the currency's decimals (exact, from minor units; `money` is the one place of
//! the exponents).

use serde::Serialize;

use crate::money::{format_minor, Currency};
use crate::state::{Linked, OrderState};

/// An amount shown exactly: `"21.98"`, `"5000"` (JPY), `"1.230"` (KWD); an unknown currency
/// keeps its minor units with the word, never a guessed decimal point.
pub fn amount(minor: i64, currency: Option<&str>) -> String {
    match currency.map(Currency::new) {
        Some(Ok(c)) => format_minor(minor, &c),
        _ => format!("{minor} (minor units)"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedView {
    pub id: String,
    pub status: Option<&'static str>,
    pub amount: String,
    pub currency: Option<String>,
    pub at: i64,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptView {
    pub id: String,
    pub status: Option<&'static str>,
    pub currency: Option<String>,
    pub amount: Option<String>,
    pub captured: String,
    pub refunded: String,
    pub updated_at: i64,
    pub failure: Option<String>,
    pub refunds: Vec<LinkedView>,
    pub disputes: Vec<LinkedView>,
}

fn linked(id: &str, l: &Linked, fallback: Option<&str>) -> LinkedView {
    let currency = l.currency.as_deref().or(fallback);
    LinkedView {
        id: id.to_owned(),
        status: l.status.map(|s| s.as_str()),
        amount: amount(l.amount_minor, currency),
        currency: currency.map(str::to_owned),
        at: l.at,
        reason: l.reason.clone(),
    }
}

/// The attempts of an order, newest first, with their refunds and disputes.
pub fn attempts(state: &OrderState) -> Vec<AttemptView> {
    let mut views: Vec<AttemptView> = state
        .attempts
        .iter()
        .map(|a| {
            let currency = a.currency.as_deref();
            let pick = |ids: &std::collections::BTreeSet<String>,
                        from: &std::collections::BTreeMap<String, Linked>| {
                ids.iter()
                    .filter_map(|id| from.get(id).map(|l| linked(id, l, currency)))
                    .collect::<Vec<_>>()
            };
            AttemptView {
                id: a.id.clone(),
                status: a.status.map(|s| s.as_str()),
                currency: a.currency.clone(),
                amount: a.amount_minor.map(|m| amount(m, currency)),
                captured: amount(a.amount_captured_minor, currency),
                refunded: amount(a.amount_refunded_minor, currency),
                updated_at: a.updated_at,
                failure: a
                    .failure
                    .as_ref()
                    .and_then(|f| f.message.clone().or_else(|| f.code.clone())),
                refunds: pick(&a.refunds, &state.refunds),
                disputes: pick(&a.disputes, &state.disputes),
            }
        })
        .collect();
    views.sort_by_key(|v| std::cmp::Reverse(v.updated_at));
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    #[test]
    fn amounts_follow_the_currency_exponent() {
        assert_eq!(amount(2198, Some("USD")), "21.98");
        assert_eq!(amount(5000, Some("JPY")), "5000");
        assert_eq!(amount(1230, Some("KWD")), "1.230");
        assert_eq!(amount(-50, Some("EUR")), "-0.50");
        assert_eq!(amount(7, None), "7 (minor units)");
        assert_eq!(amount(7, Some("XYZ")), "7 (minor units)");
    }

    #[test]
    fn an_attempt_shows_its_refund_in_decimals() {
        let paid = r#"{"id":"evt_p","type":"payment_intent.succeeded","created":10,"livemode":false,
          "data":{"object":{"id":"pi_1","object":"payment_intent","amount":2198,"amount_received":2198,
          "currency":"usd","status":"succeeded","latest_charge":"ch_1","metadata":{"order_id":"A1"}}}}"#;
        let refund = r#"{"id":"evt_r","type":"refund.created","created":20,"livemode":false,
          "data":{"object":{"id":"re_1","object":"refund","amount":500,"currency":"usd","status":"succeeded",
          "charge":"ch_1","payment_intent":"pi_1","metadata":{"order_id":"A1"}}}}"#;
        let mut state = OrderState::new("A1".to_owned());
        for e in [paid, refund] {
            state
                .merge(&normalize_json(e.as_bytes(), &NormalizeOptions::default()).unwrap())
                .unwrap();
        }
        let views = attempts(&state);
        assert_eq!(views.len(), 1);
        let a = &views[0];
        assert_eq!(a.id, "pi_1");
        assert_eq!(a.amount.as_deref(), Some("21.98"));
        assert_eq!(a.captured, "21.98");
        assert_eq!(a.refunded, "5.00");
        assert_eq!(a.refunds.len(), 1);
        assert_eq!(a.refunds[0].id, "re_1");
        assert_eq!(a.refunds[0].amount, "5.00");
        assert_eq!(a.refunds[0].status, Some("refunded"));
    }
}
