//! Throughput of the webhook fast path on real Stripe events (3-5 KB).
//!
//! `cargo bench --bench webhook` — reads ../shared/fixtures/stripe-events (or
//! $STRIPE_BRIDGE_FIXTURES). Prints time per event; events/s = 1 / time.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stripe_bridge::signature::{sign, Secret, Verifier};
use stripe_bridge::{normalize_json, verify_and_normalize, NormalizeOptions};

const SECRET: &str = "whsec_bench_0123456789abcdefghijklmnopqrstuv";
const T: i64 = 1_700_000_000;
const FIXTURES: &[&str] = &[
    "charge_succeeded.json",
    "checkout_session_completed.json",
    "charge_refunded.json",
];

fn fixtures_dir() -> PathBuf {
    std::env::var_os("STRIPE_BRIDGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/stripe-events")
        })
}

fn bench(c: &mut Criterion) {
    let verifier = Verifier::new([SECRET]).unwrap();
    let options = NormalizeOptions::default();
    for name in FIXTURES {
        let body = std::fs::read(fixtures_dir().join(name))
            .unwrap_or_else(|e| panic!("fixture {name}: {e} (set STRIPE_BRIDGE_FIXTURES)"));
        let header = sign(&body, &Secret::from(SECRET), T);
        let mut group = c.benchmark_group(format!("{name} ({} B)", body.len()));
        group.throughput(Throughput::Elements(1));
        group.bench_function("hmac_sha256_only", |b| {
            let key = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            b.iter(|| {
                let mut mac = key.clone();
                mac.update(b"1700000000.");
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            })
        });
        group.bench_function("json_scan_only", |b| {
            b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).unwrap())
        });
        group.bench_function("parse_event_only", |b| {
            b.iter(|| stripe_bridge::Event::from_slice(black_box(&body)).unwrap())
        });
        group.bench_function("verify", |b| {
            b.iter(|| {
                verifier
                    .verify_at(black_box(&body), black_box(&header), T)
                    .unwrap()
            })
        });
        group.bench_function("normalize", |b| {
            b.iter(|| normalize_json(black_box(&body), &options).unwrap())
        });
        group.bench_function("verify_and_normalize", |b| {
            b.iter(|| {
                verify_and_normalize(&verifier, black_box(&body), black_box(&header), T, &options)
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
