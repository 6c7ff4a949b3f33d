//! Tests of the bindings, compiled to wasm32 and run by wasm-bindgen-test in Node and in
//! headless Chromium (tests/node.rs, tests/browser.rs include this module). The order state
//! (merge, upgrade) is in the targets module: pkg-js/test/targets.test.mjs tests its bindings
//! in Node, pack.test.mjs in Chromium, workerd.test.mjs in workerd.

use js_sys::Reflect;
use sha2::Digest;
use stripe_bridge_wasm::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const SECRET: &str = "whsec_test_secret";
const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1230,"currency":"kwd","status":"succeeded","metadata":{"order_id":"W-1"}}}}"#;
const T: f64 = 1_700_000_000.0;

fn code(err: JsValue) -> String {
    Reflect::get(&err, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

fn kind(err: &JsValue) -> String {
    Reflect::get(err, &"kind".into())
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

/// A record handed over packed, read back as its JSON value (what the JS wrapper builds).
fn record(packed: &str) -> serde_json::Value {
    let keys = record_keys().unwrap();
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    stripe_bridge_js_common::packed::unpack(packed, &names).expect("a packed record")
}

fn verifier() -> WasmVerifier {
    WasmVerifier::new(vec!["whsec_old".into(), SECRET.into()], Some(300.0)).unwrap()
}

#[wasm_bindgen_test]
fn sign_and_verify_in_wasm() {
    let header = sign_header(BODY, SECRET, T).unwrap();
    assert!(header.starts_with("t=1700000000,v1="));
    assert_eq!(verifier().verify(BODY, &header, T + 10.0).unwrap(), 1);
}

#[wasm_bindgen_test]
fn signature_errors_are_typed_objects() {
    let header = sign_header(BODY, SECRET, T).unwrap();
    let err = verifier().verify(b"{}", &header, T).unwrap_err();
    assert_eq!(kind(&err), "signature");
    assert_eq!(code(err), "no_match");
    assert_eq!(
        code(verifier().verify(BODY, &header, T + 301.0).unwrap_err()),
        "timestamp_outside_tolerance"
    );
    assert_eq!(
        code(verifier().verify(BODY, &header, T - 301.0).unwrap_err()),
        "timestamp_outside_tolerance"
    );
    assert_eq!(
        code(verifier().verify(BODY, "t=abc,v1=00", T).unwrap_err()),
        "malformed_header"
    );
    assert_eq!(
        code(verifier().verify(BODY, "", T).unwrap_err()),
        "no_header"
    );
    assert_eq!(
        code(verifier().verify(b"", &header, T).unwrap_err()),
        "no_payload"
    );
    assert_eq!(
        code(verifier().verify(BODY, &header, f64::NAN).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(
        code(
            WasmVerifier::new(vec![SECRET.into()], Some(0.0))
                .err()
                .unwrap()
        ),
        "invalid_tolerance"
    );
    assert_eq!(
        code(WasmVerifier::new(vec![" ".into()], None).err().unwrap()),
        "no_secrets"
    );
    let off = WasmVerifier::new(vec![SECRET.into()], None).unwrap();
    assert!(off.verify(BODY, &header, 0.0).is_ok());
}

#[wasm_bindgen_test]
fn native_mac_path_checks_in_the_core() {
    let header = sign_header(BODY, SECRET, T).unwrap();
    assert_eq!(signed_timestamp(&header, BODY.len() as u32, T).unwrap(), T);
    // `now` is checked before the header, as the verification functions do.
    assert_eq!(
        code(signed_timestamp("garbage", 1, f64::NAN).unwrap_err()),
        "invalid_argument"
    );
    let mut macs = vec![0u8; 32];
    let v1 = header.split_once(",v1=").unwrap().1;
    let mut real = [0u8; 32];
    for (i, byte) in real.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&v1[2 * i..2 * i + 2], 16).unwrap();
    }
    macs.extend_from_slice(&real);
    assert_eq!(
        verifier()
            .verify_macs(&header, BODY.len() as u32, T, &macs, false)
            .unwrap(),
        1
    );
    assert_eq!(
        code(
            verifier()
                .verify_macs(&header, BODY.len() as u32, T, &[0; 64], false)
                .unwrap_err()
        ),
        "no_match"
    );
    assert_eq!(
        code(
            verifier()
                .verify_macs(&header, BODY.len() as u32, T, &[0; 32], false)
                .unwrap_err()
        ),
        "invalid_argument"
    );
    // Inner digests, SHA-256(K^ipad | "t." | body) (RFC 2104, computed here), which the core
    // finishes: the second secret's matches; the MACs themselves given as inner digests do not.
    let inner = |secret: &str| {
        let mut ipad = [0x36u8; 64];
        ipad.iter_mut()
            .zip(secret.as_bytes())
            .for_each(|(p, k)| *p ^= k);
        let mut h = sha2::Sha256::new_with_prefix(ipad);
        h.update(format!("{T}.").as_bytes());
        h.update(BODY);
        h.finalize().to_vec()
    };
    let inners = [inner("whsec_old"), inner(SECRET)].concat();
    // The prepared path: the header read once, used once.
    let v = verifier();
    assert_eq!(
        code(v.verify_prepared(T, &inners, true).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(code(v.prepare("", 1, T).unwrap_err()), "no_header");
    assert_eq!(code(v.prepare(&header, 0, T).unwrap_err()), "no_payload");
    assert_eq!(
        code(v.prepare(&header, 1, f64::NAN).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(v.prepare(&header, BODY.len() as u32, T).unwrap(), T);
    assert_eq!(v.verify_prepared(T, &inners, true).unwrap(), 1);
    assert_eq!(
        code(v.verify_prepared(T, &inners, true).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(v.prepare(&header, BODY.len() as u32, T).unwrap(), T);
    assert_eq!(
        code(v.verify_prepared(T + 301.0, &inners, true).unwrap_err()),
        "timestamp_outside_tolerance"
    );
    assert_eq!(v.prepare(&header, BODY.len() as u32, T).unwrap(), T);
    assert_eq!(
        code(v.verify_prepared(T, &macs, true).unwrap_err()),
        "no_match"
    );
    assert_eq!(
        verifier()
            .verify_macs(&header, BODY.len() as u32, T, &inners, true)
            .unwrap(),
        1
    );
    assert_eq!(
        code(
            verifier()
                .verify_macs(&header, BODY.len() as u32, T, &macs, true)
                .unwrap_err()
        ),
        "no_match"
    );
}

#[wasm_bindgen_test]
fn normalize_and_verify_and_normalize() {
    let normalizer = WasmNormalizer::new(None, None, None).unwrap();
    let record = normalizer.normalize(BODY).unwrap();
    let value = self::record(&record);
    assert_eq!(value["amount"], "1.230", "{value}");
    assert_eq!(value["order_ref"], "W-1", "{value}");
    let header = sign_header(BODY, SECRET, T).unwrap();
    let same = verifier()
        .verify_and_normalize(BODY, &header, T, &normalizer)
        .unwrap();
    assert_eq!(same, record);
    let err = normalizer.normalize(b"{not json").unwrap_err();
    assert_eq!(kind(&err), "event");
    assert_eq!(code(err), "malformed_event");
}

#[wasm_bindgen_test]
fn money() {
    assert_eq!(to_minor_units("12.34", "usd").unwrap(), "1234");
    assert_eq!(from_minor_units("1230", "kwd").unwrap(), "1.230");
    assert_eq!(currency_exponent("jpy").unwrap(), 0);
    assert_eq!(
        code(to_minor_units("12.345", "usd").unwrap_err()),
        "amount_too_precise"
    );
}

#[wasm_bindgen_test]
fn mode_guard_options() {
    // BODY is a test-mode event of the platform (no account).
    let live = WasmNormalizer::new(None, Some("live".into()), None).unwrap();
    let value = record(&live.normalize(BODY).unwrap());
    assert_eq!(value["status"], "ignored", "{value}");
    assert!(
        value["reason"].as_str().unwrap().contains("live mode only"),
        "{value}"
    );
    let platform = WasmNormalizer::new(
        Some(vec!["order_id".into()]),
        Some("test".into()),
        Some(vec!["platform".into(), "acct_1".into()]),
    )
    .unwrap();
    assert_eq!(record(&platform.normalize(BODY).unwrap())["status"], "paid");
    let connect = WasmNormalizer::new(None, None, Some(vec!["acct_1".into()])).unwrap();
    assert_eq!(
        record(&connect.normalize(BODY).unwrap())["status"],
        "ignored"
    );
    for (mode, accounts) in [("production", vec![]), ("any", vec!["cus_1".to_owned()])] {
        let err = WasmNormalizer::new(None, Some(mode.into()), Some(accounts))
            .err()
            .unwrap();
        assert_eq!(kind(&err), "argument");
        assert_eq!(code(err), "invalid_mode");
    }
}

#[wasm_bindgen_test]
fn unreadable_objects_are_records() {
    let foreign = br#"{"id":"evt_2","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"cn_1","object":"credit_note","amount":"4242"}}}"#;
    let record = WasmNormalizer::new(None, None, None)
        .unwrap()
        .normalize(foreign)
        .unwrap();
    assert_eq!(self::record(&record)["status"], "unreadable", "{record}");
    assert!(!record.contains("4242"), "{record}");
    assert_eq!(status_concern("unreadable").unwrap(), "nothing");
    assert_eq!(status_concern("fraud_warning").unwrap(), "flag");
    assert_eq!(status_concern("dispute_prevented").unwrap(), "payment");
    assert_eq!(status_concern("payout_paid").unwrap(), "payout");
    assert_eq!(
        code(status_concern("succeeded").unwrap_err()),
        "invalid_argument"
    );
}
