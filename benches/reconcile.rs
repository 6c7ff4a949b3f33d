//! Reconciling a 10,000-transaction payout: from Stripe's list pages (JSON, 100 per page, sources
//! expanded) to the checked reconciliation, and the CSV of it. Prints the time per payout and the
//! peak heap of one run (a counting allocator around the system's).
//!
//! `cargo bench --bench reconcile`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use stripe_bridge::reconcile::fetch::{lines_of, parse_page};
use stripe_bridge::reconcile::{report, summarize, Payout, Reconciliation};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const TRANSACTIONS: usize = 10_000;

/// Stripe's list pages for a payout of `n` transactions: charges with three fee components
/// and their order in metadata, a refund every 25th, a dispute every 400th.
fn pages(n: usize) -> (Payout, Vec<Vec<u8>>) {
    let mut rows = Vec::with_capacity(n + 1);
    let mut total = 0i64;
    for i in 0..n {
        let (kind, category, amount, fee, source) = match i {
            i if i % 400 == 399 => (
                "adjustment",
                "dispute",
                -2500,
                1500,
                json!({"id": format!("dp_{i:020}"), "object": "dispute", "charge": format!("ch_{:020}", i - 1), "payment_intent": format!("pi_{:020}", i - 1)}),
            ),
            i if i % 25 == 24 => (
                "refund",
                "refund",
                -1000,
                0,
                json!({"id": format!("re_{i:020}"), "object": "refund", "charge": format!("ch_{:020}", i - 1), "payment_intent": format!("pi_{:020}", i - 1)}),
            ),
            _ => {
                let amount = 1000 + (i as i64 * 37) % 90_000;
                (
                    "charge",
                    "charge",
                    amount,
                    30 + amount * 29 / 1000,
                    json!({"id": format!("ch_{i:020}"), "object": "charge", "payment_intent": format!("pi_{i:020}"),
                        "amount": amount, "currency": "usd", "metadata": {"order_id": format!("ORD-{i}")}}),
                )
            }
        };
        let net = amount - fee;
        total += net;
        rows.push(json!({"id": format!("txn_{i:020}"), "object": "balance_transaction", "type": kind,
            "reporting_category": category, "amount": amount, "fee": fee, "net": net, "currency": "usd",
            "exchange_rate": null, "created": 1_700_000_000 + i as i64, "available_on": 1_700_200_000,
            "description": null, "status": "available",
            "fee_details": [
                {"amount": fee - fee / 10, "currency": "usd", "type": "stripe_fee", "description": "Stripe processing fees"},
                {"amount": fee / 10, "currency": "usd", "type": "tax", "description": "Tax"}],
            "source": source}));
    }
    rows.push(
        json!({"id": "txn_payout", "type": "payout", "reporting_category": "payout",
        "amount": -total, "fee": 0, "net": -total, "currency": "usd", "source": "po_bench"}),
    );
    let payout = Payout {
        id: "po_bench".into(),
        amount: total,
        currency: "usd".into(),
        automatic: true,
        balance_transaction: Some("txn_payout".into()),
        ..Payout::default()
    };
    let bodies = rows
        .chunks(100)
        .enumerate()
        .map(|(i, chunk)| {
            let more = (i + 1) * 100 < rows.len();
            serde_json::to_vec(&json!({"object": "list", "data": chunk, "has_more": more, "url": "/v1/balance_transactions"})).unwrap()
        })
        .collect();
    (payout, bodies)
}

fn reconcile_pages(payout: &Payout, bodies: &[Vec<u8>]) -> Reconciliation {
    let mut lines = Vec::new();
    let mut warnings = Vec::new();
    for body in bodies {
        let page = parse_page(body).unwrap();
        let (l, w) = lines_of(payout, &page.data);
        lines.extend(l);
        warnings.extend(w);
    }
    summarize(payout, lines, warnings)
}

fn bench(c: &mut Criterion) {
    let (payout, bodies) = pages(TRANSACTIONS);
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let r = reconcile_pages(&payout, &bodies);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(r.balanced && r.lines.len() == TRANSACTIONS);
    println!(
        "reconcile: {TRANSACTIONS} transactions in {} pages ({:.1} MB of JSON); peak heap of one run {:.1} MB; {} orders",
        bodies.len(),
        bytes as f64 / 1e6,
        peak as f64 / 1e6,
        r.orders.len()
    );
    let mut group = c.benchmark_group("reconcile");
    group.sample_size(20);
    group.bench_function("10k transactions: pages (JSON) -> reconciliation", |b| {
        b.iter(|| reconcile_pages(black_box(&payout), black_box(&bodies)))
    });
    group.bench_function("10k transactions: reconciliation -> CSV", |b| {
        b.iter(|| report::to_csv(black_box(&r)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
