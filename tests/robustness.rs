//! No input reaches a panic (a panic in wasm kills the Worker): arbitrary bytes, arbitrary
//! headers, and real events with fields replaced by values of the wrong type or size.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::Value;
use stripe_bridge::signature::{sign, Secret, Verifier};
use stripe_bridge::{normalize_json, NormalizeOptions, OrderState};

fn options() -> NormalizeOptions {
    NormalizeOptions::default()
}

/// Replacement values of every JSON type, including extremes.
fn weird_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(serde_json::json!(i64::MAX)),
        Just(serde_json::json!(i64::MIN)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1.5e300)),
        Just(serde_json::json!("")),
        Just(serde_json::json!("usd")),
        Just(serde_json::json!("ZZ")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"id": 5})),
        ".{0,8}".prop_map(Value::String),
    ]
}

/// Visits every value of a JSON tree and replaces the `n`-th one.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Object(map) => map.values_mut().any(|c| replace_nth(c, n, with)),
        Value::Array(items) => items.iter_mut().any(|c| replace_nth(c, n, with)),
        _ => false,
    }
}

fn all_fixtures() -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = json_files(&own_fixtures_dir())
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    if let Some(dir) = real_fixtures_dir() {
        files.extend(json_files(&dir).into_iter().map(|(_, b)| b));
    }
    files
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = normalize_json(&bytes, &options());
        let v = Verifier::new(["whsec_x"]).unwrap();
        let header = String::from_utf8_lossy(&bytes).into_owned();
        let _ = v.verify_at(&bytes, &header, 0);
    }

    #[test]
    fn arbitrary_headers_never_panic(header in "[tv0-9a-f=, \t.\\-+x]{0,200}", now in any::<i64>()) {
        let v = Verifier::new(["whsec_x", "whsec_y"]).unwrap();
        let _ = v.verify_at(b"{}", &header, now);
        let _ = stripe_bridge::signature::parse_header(&header);
    }

    #[test]
    fn mutated_real_events_never_panic(
        which in any::<prop::sample::Index>(),
        position in 0usize..400,
        replacements in prop::collection::vec(weird_value(), 1..4),
    ) {
        let fixtures = all_fixtures();
        let bytes = which.get(&fixtures);
        let mut event: Value = serde_json::from_slice(bytes).unwrap();
        for (k, with) in replacements.iter().enumerate() {
            let mut n = (position * (k + 1)) % 400;
            replace_nth(&mut event, &mut n, with);
        }
        let mutated = serde_json::to_vec(&event).unwrap();
        if let Ok(record) = normalize_json(&mutated, &options()) {
            // Whatever was accepted must also merge or be refused cleanly.
            let mut state = OrderState::default();
            let _ = state.merge(&record);
            let _ = serde_json::to_string(&record).unwrap();
        }
        // Signed and verified as raw bytes too.
        let header = sign(&mutated, &Secret::from("whsec_x"), 1);
        prop_assert!(Verifier::new(["whsec_x"]).unwrap().verify_at(&mutated, &header, 1).is_ok());
    }

    #[test]
    fn truncated_events_are_errors_not_panics(which in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let fixtures = all_fixtures();
        let bytes = which.get(&fixtures);
        let end = cut.index(bytes.len());
        let truncated = &bytes[..end];
        // Cutting only trailing whitespace leaves the same event.
        let same = truncated.trim_ascii_end() == bytes.trim_ascii_end();
        prop_assert!(same || normalize_json(truncated, &options()).is_err());
    }
}

#[test]
fn huge_amounts_stay_exact() {
    let json = format!(
        r#"{{"id":"evt_1","type":"charge.refunded","created":1,"data":{{"object":{{"id":"ch_1","object":"charge","amount":{max},"amount_refunded":{max},"currency":"usd","status":"succeeded"}}}}}}"#,
        max = i64::MAX
    );
    let r = normalize_json(json.as_bytes(), &options()).unwrap();
    assert_eq!(r.amount.unwrap().to_string(), "92233720368547758.07");
    let mut state = OrderState::default();
    state.merge(&r).unwrap();
    // Two refunds of i64::MAX overflow: refused, the state is unchanged.
    let refund = |id: &str| {
        let json = format!(
            r#"{{"id":"evt_{id}","type":"refund.created","created":2,"data":{{"object":{{"id":"{id}","object":"refund","amount":{max},"currency":"usd","status":"succeeded"}}}}}}"#,
            max = i64::MAX
        );
        normalize_json(json.as_bytes(), &options()).unwrap()
    };
    state.merge(&refund("re_1")).unwrap();
    let before = state.clone();
    let err = state.merge(&refund("re_2")).unwrap_err();
    assert_eq!(err.code(), "invalid_state");
    assert_eq!(state, before);
}
