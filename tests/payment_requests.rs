//! Payment request builders against Stripe's rules, over generated orders: whatever the
//! currency's exponent and charge multiple, the form body charges exactly the order total, carries
//! the order id where the webhook side looks for it, and any invalid order is refused whole.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stripe_bridge::money::{format_minor, Currency};
use stripe_bridge::normalize::DEFAULT_ORDER_KEYS;
use stripe_bridge::payment_request::{
    checkout_session, payment_intent, payment_link, ExtraLine, Order, OrderLine,
};

/// Zero-, two- and three-decimal currencies and the special cases (HUF, TWD, ISK, UGX).
const CURRENCIES: &[&str] = &[
    "usd", "eur", "jpy", "krw", "kwd", "bhd", "huf", "twd", "isk", "ugx", "chf", "sek",
];

fn form(body: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn order(currency: &str, lines: &[(u32, i64)], tax: i64, shipping: i64) -> Order {
    let c = Currency::new(currency).unwrap();
    let text = |minor: i64| format_minor(minor, &c);
    let total: i64 = lines.iter().map(|(q, u)| i64::from(*q) * u).sum::<i64>() + tax + shipping;
    Order {
        id: "A-1001".into(),
        customer_id: Some("C-7".into()),
        stripe_customer: None,
        customer_email: Some("ops@example.com".into()),
        customer_name: None,
        currency: currency.into(),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (q, u))| OrderLine {
                name: format!("Item {i} & co"),
                quantity: *q,
                unit_price: text(*u),
                description: None,
            })
            .collect(),
        tax: (tax > 0).then(|| ExtraLine {
            name: "Tax".into(),
            amount: text(tax),
        }),
        shipping: (shipping > 0).then(|| ExtraLine {
            name: "Shipping".into(),
            amount: text(shipping),
        }),
        total: text(total),
        success_url: Some("https://shop.example.com/ok?order=A-1001".into()),
        cancel_url: None,
        locale: None,
        description: None,
        metadata: BTreeMap::new(),
        attempt: 0,
    }
}

/// The sum a Checkout body charges: line items plus the fixed shipping rate.
fn charged(fields: &BTreeMap<String, String>) -> i64 {
    let mut sum = 0;
    for i in 0.. {
        let Some(unit) = fields.get(&format!("line_items[{i}][price_data][unit_amount]")) else {
            break;
        };
        let quantity: i64 = fields[&format!("line_items[{i}][quantity]")]
            .parse()
            .unwrap();
        sum += unit.parse::<i64>().unwrap() * quantity;
    }
    sum + fields
        .get("shipping_options[0][shipping_rate_data][fixed_amount][amount]")
        .map_or(0, |a| a.parse::<i64>().unwrap())
}

fn valid_order() -> impl Strategy<Value = Order> {
    (
        0..CURRENCIES.len(),
        prop::collection::vec((1u32..5, 1i64..5_000), 1..6),
        0i64..500,
        0i64..900,
    )
        .prop_map(|(ci, lines, tax, shipping)| {
            let c = Currency::new(CURRENCIES[ci]).unwrap();
            let m = c.charge_multiple();
            // Amounts on the currency's charge multiple, and over any minimum charge.
            let floor = c.minimum_charge().unwrap_or(1);
            let lines: Vec<(u32, i64)> = lines.iter().map(|(q, u)| (*q, (u + floor) * m)).collect();
            order(CURRENCIES[ci], &lines, tax * m, shipping * m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn checkout_charges_exactly_the_total(order in valid_order()) {
        let c = Currency::new(&order.currency).unwrap();
        let request = checkout_session(&order).unwrap();
        let fields = form(&request.body);
        prop_assert_eq!(charged(&fields), request.amount_minor);
        prop_assert_eq!(format_minor(request.amount_minor, &c), stripe_bridge::money::format_minor(
            stripe_bridge::money::to_minor(&order.total, &order.currency).unwrap(), &c));
        prop_assert_eq!(&fields["line_items[0][price_data][currency]"], &order.currency);
        prop_assert_eq!(&fields["client_reference_id"], &order.id);
        prop_assert_eq!(&fields["payment_intent_data[metadata][order_id]"], &order.id);
        prop_assert_eq!(&fields["success_url"], "https://shop.example.com/ok?order=A-1001");
        // The PaymentIntent charges the same amount.
        let pi = form(&payment_intent(&order).unwrap().body);
        prop_assert_eq!(pi["amount"].parse::<i64>().unwrap(), request.amount_minor);
    }

    #[test]
    fn a_total_off_by_one_unit_is_refused(order in valid_order(), up in any::<bool>()) {
        let c = Currency::new(&order.currency).unwrap();
        let total = stripe_bridge::money::to_minor(&order.total, &order.currency).unwrap();
        let mut wrong = order.clone();
        wrong.total = format_minor(if up { total + c.charge_multiple() } else { total - c.charge_multiple() }, &c);
        for build in [checkout_session, payment_intent, payment_link] {
            let e = build(&wrong).unwrap_err();
            prop_assert_eq!(e.field.as_str(), "total");
        }
    }

    #[test]
    fn every_payment_link_is_single_use(order in valid_order()) {
        // A Payment Link cannot price shipping: take it out of the order and its total.
        let mut order = order;
        let c = Currency::new(&order.currency).unwrap();
        if let Some(shipping) = order.shipping.take() {
            let minor = |text: &str| stripe_bridge::money::to_minor(text, &order.currency).unwrap();
            order.total = format_minor(minor(&order.total) - minor(&shipping.amount), &c);
        }
        let link = payment_link(&order).unwrap();
        let fields = form(&link.body);
        prop_assert_eq!(fields.get("restrictions[completed_sessions][limit]").map(String::as_str), Some("1"));
        prop_assert_eq!(charged(&fields), link.amount_minor);
    }

    #[test]
    fn arbitrary_order_json_never_panics(json in "\\PC{0,400}") {
        if let Ok(order) = serde_json::from_str::<Order>(&json) {
            let _ = checkout_session(&order);
            let _ = payment_intent(&order);
            let _ = payment_link(&order);
        }
    }
}

#[test]
fn the_webhook_side_finds_the_order_the_request_named() {
    // The metadata key stripe-bridge writes is the first the normalizer reads.
    assert_eq!(DEFAULT_ORDER_KEYS.first().copied(), Some("order_id"));
    let request = checkout_session(&order("usd", &[(1, 2500)], 0, 0)).unwrap();
    assert!(form(&request.body).contains_key("metadata[order_id]"));
}

#[test]
fn zero_decimal_and_special_case_amounts() {
    // JPY: no minor unit. "1500" yen is 1500 in the API.
    let jpy = checkout_session(&order("jpy", &[(3, 500)], 0, 0)).unwrap();
    assert_eq!(
        (
            jpy.amount_minor,
            form(&jpy.body)["line_items[0][price_data][unit_amount]"].as_str()
        ),
        (1500, "500")
    );
    // KWD: three decimals, charges a multiple of 10 fils.
    let mut kwd = order("kwd", &[(1, 1230)], 0, 0);
    assert_eq!(kwd.total, "1.230");
    assert_eq!(checkout_session(&kwd).unwrap().amount_minor, 1230);
    kwd.lines[0].unit_price = "1.234".into();
    kwd.total = "1.234".into();
    assert_eq!(
        checkout_session(&kwd).unwrap_err().code,
        "amount_not_a_multiple"
    );
    // ISK: two decimals in the API, but charged in whole krónur only.
    let isk = order("isk", &[(1, 100_000)], 0, 0);
    assert_eq!(isk.total, "1000.00");
    assert_eq!(checkout_session(&isk).unwrap().amount_minor, 100_000);
    let mut fractional = isk.clone();
    fractional.lines[0].unit_price = "1000.50".into();
    fractional.total = "1000.50".into();
    assert_eq!(
        checkout_session(&fractional).unwrap_err().field,
        "lines[0].unit_price"
    );
    // HUF charges take two decimals (only manual payouts are whole forints).
    let mut huf = order("huf", &[(1, 100_050)], 0, 0);
    huf.success_url = None;
    assert_eq!(payment_intent(&huf).unwrap().amount_minor, 100_050);
}

#[test]
fn unknown_currencies_are_refused_by_every_builder() {
    // Well-formed codes Stripe does not charge in are never priced as two-decimal.
    for code in ["xcg", "xau", "abc"] {
        let mut o = order("usd", &[(1, 2500)], 0, 0);
        o.currency = code.into();
        for build in [checkout_session, payment_intent, payment_link] {
            let e = build(&o).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("currency", "unknown_currency"));
            assert!(e.message.contains(&code.to_ascii_uppercase()), "{e}");
        }
    }
    // Upper-case input is the same currency; Stripe is sent the lower-case code.
    let o = order("usd", &[(1, 2500)], 0, 0);
    let mut upper = o.clone();
    upper.currency = "USD".into();
    assert_eq!(
        form(&checkout_session(&upper).unwrap().body)["line_items[0][price_data][currency]"],
        "usd"
    );
}
