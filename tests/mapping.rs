//! Target mappings: golden outputs per profile on real and current-API events, order- and
//! duplicate-independence of the state-consolidated mappings, and invalid custom mappings.
//! `STRIPE_BRIDGE_BLESS=1 cargo test --test mapping` rewrites the golden files after review.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use proptest::prelude::*;
use serde_json::Value;
use stripe_bridge::mapping::nopcommerce::{
    self, order_status as os, payment_status as ps, NopOrder,
};
use stripe_bridge::mapping::{custom::CustomMapping, Profile};
use stripe_bridge::{OrderState, Record};

const PROFILES: &[&str] = &["nopcommerce", "salesforce", "erp", "order-feed"];

/// The example mapping README documents (docs/examples stay honest).
const CUSTOM: &str = r#"{
  "name": "my-shop",
  "status_map": { "paid": "PAID", "partially_refunded": "PARTLY_REFUNDED", "refunded": "REFUNDED", "*": "OTHER" },
  "require": ["order_ref"],
  "fields": {
    "orderNumber": { "path": "order_ref" },
    "state": { "status": true },
    "total": { "path": "amount", "default": "0" },
    "refunded": { "path": "amount_refunded" },
    "currency": { "path": "currency" },
    "source": { "const": "stripe" },
    "note": { "template": "Stripe {event_type} for order {order_ref}" }
  }
}"#;

fn golden_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/golden-mapped/{name}.json"))
}

/// Every profile's output for every fixture, checked against one golden file per profile.
#[test]
fn golden_outputs_per_profile() {
    let mut fixtures: Vec<(String, Vec<u8>)> = json_files(&own_fixtures_dir())
        .into_iter()
        .map(|(n, b)| (format!("own/{n}"), b))
        .collect();
    if let Some(dir) = real_fixtures_dir() {
        fixtures.extend(
            json_files(&dir)
                .into_iter()
                .map(|(n, b)| (format!("real/{n}"), b)),
        );
    }
    let bless = std::env::var_os("STRIPE_BRIDGE_BLESS").is_some();
    let mut profiles: Vec<(String, Profile)> = PROFILES
        .iter()
        .map(|p| (p.to_string(), Profile::parse(p).unwrap()))
        .collect();
    profiles.push(("custom".into(), Profile::parse(CUSTOM).unwrap()));
    for (name, profile) in profiles {
        let mut outputs = BTreeMap::new();
        for (fixture, bytes) in &fixtures {
            let record = normalize_bytes(bytes);
            let out = match profile.map(&record).unwrap() {
                Some(text) => serde_json::from_str::<Value>(&text).unwrap(),
                None => Value::Null,
            };
            outputs.insert(fixture.clone(), out);
        }
        let path = golden_path(&name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&outputs).unwrap() + "\n",
            )
            .unwrap();
            continue;
        }
        let golden: BTreeMap<String, Value> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for (fixture, out) in &outputs {
            // Real fixtures are optional outside CI: compare what is there.
            match golden.get(fixture) {
                Some(expected) => assert_eq!(out, expected, "{name} / {fixture}"),
                None => panic!("{name}: no golden output for {fixture} (bless after review)"),
            }
        }
        let mapped = outputs.values().filter(|v| !v.is_null()).count();
        assert!(mapped >= 15, "{name} maps only {mapped} fixtures");
    }
}

#[test]
fn salesforce_amounts_are_exact_json_numbers() {
    let r = own("charge_updated_expanded_fee_basil.json");
    let text = Profile::parse("salesforce")
        .unwrap()
        .map(&r)
        .unwrap()
        .unwrap();
    assert!(text.contains(r#""Amount__c":21.98"#), "{text}");
    assert!(text.contains(r#""Fee__c":0.94"#), "{text}");
    assert!(text.contains(r#""Net__c":21.04"#), "{text}");
    let kwd = own("pi_succeeded_kwd.json");
    let text = Profile::parse("salesforce")
        .unwrap()
        .map(&kwd)
        .unwrap()
        .unwrap();
    assert!(text.contains(r#""Amount__c":12.340"#), "{text}");
}

fn records() -> Vec<Record> {
    ORDER_1001.iter().map(|n| own(n)).collect()
}

/// What each target ends up holding after applying the outputs in delivery order: nopCommerce
/// the order row (through the guarded plan), Salesforce the upserted fields per record (last
/// write wins per field), ERP the latest document per reference, the order feed the latest
/// line per order, custom the latest output per order. Event-specific fields (which event,
/// its note) are left out: they name the delivery, not the state.
#[derive(Debug, Default, PartialEq)]
struct Targets {
    nop: Option<NopOrder>,
    salesforce: BTreeMap<String, BTreeMap<String, String>>,
    erp: BTreeMap<String, Value>,
    feed: BTreeMap<String, Value>,
    custom: BTreeMap<String, Value>,
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    if let Some(obj) = v.as_object_mut() {
        for k in keys {
            obj.remove(*k);
        }
    }
    v
}

fn apply_all(sequence: &[Record]) -> Targets {
    let profiles: Vec<Profile> = PROFILES
        .iter()
        .map(|p| Profile::parse(p).unwrap())
        .collect();
    let custom = Profile::parse(CUSTOM).unwrap();
    let mut state = OrderState::default();
    let mut t = Targets {
        nop: Some(
            serde_json::from_value(serde_json::json!({
                "id": 1001, "order_total": "21.9800", "currency": "USD",
                "payment_status_id": ps::PENDING, "order_status_id": os::PENDING, "refunded_amount": "0"
            }))
            .unwrap(),
        ),
        ..Targets::default()
    };
    for record in sequence {
        if state.merge(record).unwrap() == stripe_bridge::MergeOutcome::Unchanged {
            continue; // A receiver drops what changes nothing (duplicates).
        }
        // nopCommerce: the guarded plan against the current row.
        let row = t.nop.clone().unwrap();
        let plan = nopcommerce::plan(&row, &state, record);
        let mut next = row.clone();
        if let Some(p) = plan.payment_status_id {
            next.payment_status_id = p;
        }
        if let Some(o) = plan.order_status_id {
            next.order_status_id = o;
        }
        if let Some(r) = plan.refunded_amount {
            next.refunded_amount = r;
        }
        next.paid_date_utc = plan.paid_date_utc.or(next.paid_date_utc);
        next.authorization_transaction_id = plan
            .authorization_transaction_id
            .or(next.authorization_transaction_id);
        next.capture_transaction_id = plan.capture_transaction_id.or(next.capture_transaction_id);
        t.nop = Some(next);
        for profile in &profiles {
            let Some(text) = profile.map_with_state(record, &state).unwrap() else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            match profile.name() {
                "salesforce" => {
                    for req in v["compositeRequest"].as_array().unwrap() {
                        let fields = t
                            .salesforce
                            .entry(req["url"].as_str().unwrap().to_owned())
                            .or_default();
                        for (k, val) in req["body"].as_object().unwrap() {
                            fields.insert(k.clone(), val.to_string());
                        }
                    }
                }
                "erp" => {
                    let key = v["document_ref"].as_str().unwrap().to_owned();
                    t.erp.insert(key, without(v, &["event_id", "event_type"]));
                }
                "order-feed" => {
                    let key = v["order_ref"].as_str().unwrap().to_owned();
                    t.feed.insert(key, without(v, &["event_id"]));
                }
                _ => {}
            }
        }
        if let Some(text) = custom.map_with_state(record, &state).unwrap() {
            let v: Value = serde_json::from_str(&text).unwrap();
            let key = v["orderNumber"].as_str().unwrap().to_owned();
            t.custom.insert(key, without(v, &["note"]));
        }
    }
    t
}

#[test]
fn in_order_sequence_ends_in_the_expected_target_states() {
    let t = apply_all(&records());
    let nop = t.nop.as_ref().unwrap();
    assert_eq!(nop.payment_status_id, ps::PARTIALLY_REFUNDED);
    assert_eq!(nop.order_status_id, os::PROCESSING);
    assert_eq!(nop.refunded_amount.to_string(), "5.00");
    assert_eq!(
        nop.capture_transaction_id.as_deref(),
        Some("ch_3QbasilOrder1001")
    );
    let payment = &t.salesforce["/services/data/v60.0/sobjects/Stripe_Payment__c/Stripe_Payment_Id__c/pi_3QbasilOrder1001"];
    assert_eq!(payment["Status__c"], "\"disputed\"");
    assert_eq!(payment["Amount__c"], "21.98");
    assert_eq!(payment["Amount_Refunded__c"], "5.0");
    assert_eq!(payment["Last_Stripe_Event__c"], "\"evt_basil_dp_closed\"");
    assert_eq!(
        t.erp["1001"]["status"], "refunded",
        "a lost dispute returns the money"
    );
    assert_eq!(t.feed["1001"]["status"], "dispute_lost");
    assert_eq!(t.custom["1001"]["state"], "OTHER");
    assert_eq!(t.custom["1001"]["refunded"], "5.00");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_and_duplicated_sequences_end_in_the_same_target_states(
        order in Just((0..ORDER_1001.len()).collect::<Vec<_>>()).prop_shuffle(),
        dups in prop::collection::vec(0..ORDER_1001.len(), 0..8),
    ) {
        let all = records();
        let expected = apply_all(&all);
        let mut seq: Vec<Record> = order.iter().map(|i| all[*i].clone()).collect();
        for (k, d) in dups.iter().enumerate() {
            let at = (k * 5 + d) % (seq.len() + 1);
            seq.insert(at, all[*d].clone());
        }
        prop_assert_eq!(apply_all(&seq), expected);
    }
}

#[test]
fn invalid_custom_mapping_files_give_one_clear_error() {
    for (text, entry) in [
        (
            r#"{"fields":{"total":{"path":"amout"}}}"#,
            "fields.total.path",
        ),
        (
            r#"{"status_map":{"payed":"P"},"fields":{"s":{"status":true}}}"#,
            "status_map.payed",
        ),
        (
            r#"{"fields":{"note":{"template":"order {order}"}}}"#,
            "fields.note.template",
        ),
        ("not json", "profile"),
        ("{not json", ""),
    ] {
        let err = Profile::parse(text).unwrap_err();
        assert_eq!(err.entry, entry, "{text}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
    assert!(CustomMapping::from_json(CUSTOM).is_ok());
}
