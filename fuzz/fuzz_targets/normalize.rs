//! Event normalization (`normalize_json`), seeded with the real Stripe events.
//!
//! Invariants: no panic; an event whose envelope is readable (a JSON object with a non-empty
//! string `id` and `type` and an integer `created`) is never refused, whatever its object's
//! shape (the crate's promise: never refuse an event Stripe signed over its shape); the fast
//! one-pass path and the full path (`Event::from_slice` + `normalize`) give the same record;
//! the record's JSON reads back to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stripe_bridge::{normalize, normalize_json, Event, NormalizeOptions, Record};

fn readable_envelope(data: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(data)
    else {
        return false;
    };
    let text = |k: &str| {
        map.get(k)
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.is_empty())
    };
    text("id") && text("type") && map.get("created").is_some_and(|c| c.is_i64())
}

fuzz_target!(|data: &[u8]| {
    let options = NormalizeOptions::default();
    let fast = normalize_json(data, &options);
    let full = Event::from_slice(data).map(|e| normalize(&e, &options));
    match (&fast, &full) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two paths disagree"),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        _ => panic!("one path refused: fast {fast:?} full {full:?}"),
    }
    if readable_envelope(data) {
        assert!(fast.is_ok(), "refused a readable envelope: {fast:?}");
    }
    if let Ok(record) = fast {
        let json = serde_json::to_string(&record).expect("record serializes");
        let back: Record = serde_json::from_str(&json).expect("record reads back");
        assert_eq!(back, record);
    }
});
