//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stripe_bridge::{normalize_json, NormalizeOptions, Record};

/// The real Stripe events of `../shared/fixtures/stripe-events` (or `$STRIPE_BRIDGE_FIXTURES`),
/// when that folder exists.
pub fn real_fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("STRIPE_BRIDGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/stripe-events")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        // CI always has it; make a missing folder loud there.
        assert!(
            std::env::var_os("CI").is_none(),
            "fixture folder {} is missing",
            dir.display()
        );
        eprintln!(
            "note: {} not found; real-event tests skipped",
            dir.display()
        );
        None
    }
}

/// Our own fixtures for current API shapes.
pub fn own_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// `(file name, bytes)` of every `.json` file in `dir`, sorted by name.
pub fn json_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

pub fn own_fixture(name: &str) -> Vec<u8> {
    std::fs::read(own_fixtures_dir().join(name)).unwrap()
}

pub fn normalize_bytes(bytes: &[u8]) -> Record {
    normalize_json(bytes, &NormalizeOptions::default()).unwrap()
}

pub fn own(name: &str) -> Record {
    normalize_bytes(&own_fixture(name))
}

/// Order 1001's whole life among our fixtures, in the order Stripe created the events.
pub const ORDER_1001: &[&str] = &[
    "pi_created_basil.json",
    "pi_requires_action_basil.json",
    "pi_payment_failed_basil.json",
    "charge_succeeded_basil.json",
    "pi_succeeded_basil.json",
    "checkout_session_completed_clover.json",
    "charge_updated_expanded_fee_basil.json",
    "refund_created_basil.json",
    "charge_refunded_partial_basil.json",
    "refund_failed_basil.json",
    "dispute_created_basil.json",
    "dispute_closed_lost_basil.json",
];
