//! Target mappings: `Profile::parse` (built-in names, configured built-ins, custom mapping
//! JSON) and applying it to a record, alone and with the order's merged state; and the
//! nopCommerce order plan (`mapping::nopcommerce::plan`) for a fuzz-written order row.
//!
//! Input: `mapping \0 event JSON \0 nopCommerce order JSON`.
//!
//! Invariants: no panic and no deep recursion on any mapping (e.g. keys with thousands of
//! dots); every output is valid JSON; mapping is deterministic (the same record maps to the
//! same output twice); a merged duplicate maps to the same output as the first delivery;
//! a plan's refunded amount is never negative.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stripe_bridge::mapping::nopcommerce::{plan, NopOrder};
use stripe_bridge::mapping::Profile;
use stripe_bridge::{normalize_json, NormalizeOptions, OrderState};

fn valid_json(out: &Option<String>) {
    if let Some(text) = out {
        serde_json::from_str::<serde_json::Value>(text).expect("mapping output is JSON");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let mapping = parts.next().unwrap_or_default();
    let event = parts.next().unwrap_or_default();
    let order = parts.next().unwrap_or_default();
    let Ok(mapping) = std::str::from_utf8(mapping) else {
        return;
    };
    let profile = Profile::parse(mapping);
    let Ok(record) = normalize_json(event, &NormalizeOptions::default()) else {
        return;
    };
    let mut state = OrderState::default();
    let merged = state.merge(&record).is_ok();
    if let Ok(profile) = &profile {
        let once = profile.map(&record);
        assert_eq!(once, profile.map(&record), "not deterministic");
        if let Ok(out) = &once {
            valid_json(out);
        }
        if merged {
            let first = profile.map_with_state(&record, &state);
            if let Ok(out) = &first {
                valid_json(out);
            }
            let mut again = state.clone();
            assert!(again.merge(&record).is_ok());
            assert_eq!(first, profile.map_with_state(&record, &again));
        }
    }
    if !merged {
        return;
    }
    if let Ok(order) = serde_json::from_slice::<NopOrder>(order) {
        let p = plan(&order, &state, &record);
        if let Some(refunded) = p.refunded_amount {
            assert!(!refunded.is_sign_negative() || refunded.is_zero(), "{p:?}");
        }
        serde_json::to_string(&p).expect("plan serializes");
    }
});
