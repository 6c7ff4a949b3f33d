//! Every real Stripe event (2020-era shapes) and every one of our current-shape fixtures
//! normalizes; key fields are checked, and the current-shape records match golden files
//! (`STRIPE_BRIDGE_BLESS=1 cargo test --test normalize_fixtures` rewrites them after review).

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use stripe_bridge::{normalize_json, NormalizeOptions, Status};

fn field<'a>(record: &'a Value, key: &str) -> &'a Value {
    record
        .get(key)
        .unwrap_or_else(|| panic!("record has no field {key}"))
}

#[test]
fn all_real_events_normalize() {
    let Some(dir) = real_fixtures_dir() else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 71, "expected the 71 real events");
    let mut ignored = 0;
    for (name, bytes) in &files {
        let record = normalize_json(bytes, &NormalizeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let raw: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(record.event_id, raw["id"], "{name}");
        assert_eq!(record.event_type, raw["type"], "{name}");
        if record.status == Status::Ignored {
            ignored += 1;
        } else {
            // A mapped record always names its object and, where Stripe gives one, a currency
            // in upper case with an exact amount of the right scale.
            assert!(record.object_id.is_some(), "{name}");
            if let (Some(cur), Some(amount)) = (&record.currency, &record.amount) {
                assert_eq!(cur, &cur.to_uppercase());
                let exp = stripe_bridge::money::exponent(cur).unwrap();
                assert_eq!(amount.scale(), exp, "{name}");
                assert_eq!(
                    stripe_bridge::money::to_minor(&amount.to_string(), cur).unwrap(),
                    record.amount_minor.unwrap()
                );
            }
        }
    }
    // 39 before early fraud warnings (2) and reviews (2) were mapped.
    assert_eq!(ignored, 35, "unmapped event types among the 71");
}

fn real(name: &str) -> Option<Value> {
    let dir = real_fixtures_dir()?;
    let bytes = std::fs::read(dir.join(name)).unwrap();
    Some(serde_json::to_value(normalize_bytes(&bytes)).unwrap())
}

#[test]
fn real_events_spot_checks() {
    let Some(r) = real("charge_refunded.json") else {
        return;
    };
    assert_eq!(r["status"], "refunded");
    assert_eq!(r["amount"], "25.00");
    assert_eq!(r["amount_refunded"], "25.00");
    assert_eq!(r["charge"], "ch_3Kl36gJDPojXS6LN0DCM4A8l");
    assert_eq!(r["payment_intent"], "pi_3Kl36gJDPojXS6LN02fQVtKR");
    assert_eq!(r["invoice"], "in_1KJdKkJDPojXS6LNSwSWkZSN");
    assert_eq!(r["refund"], "re_3Kl36gJDPojXS6LN0eP4yPDz");
    assert_eq!(r["customer_id"], "cus_J7Mkgr8mvbl1eK");
    assert_eq!(r["payment_method_type"], "card");
    assert_eq!(r["balance_transaction"], "txn_3Kl36gJDPojXS6LN0BbaNIHm");
    assert_eq!(
        r["fee"],
        Value::Null,
        "webhooks do not expand balance transactions"
    );

    let r = real("payment_intent_succeeded.json").unwrap();
    assert_eq!(r["status"], "paid");
    assert_eq!(r["amount"], "10.00");
    assert_eq!(r["amount_minor"], 1000);
    assert_eq!(r["currency"], "USD");
    assert_eq!(r["payment_method_type"], "card");

    let r = real("checkout_session_completed.json").unwrap();
    assert_eq!(r["status"], "paid");
    assert_eq!(r["amount"], "9.99");
    assert_eq!(r["currency"], "EUR");
    assert_eq!(r["checkout_session"], r["object_id"]);
    assert_eq!(r["invoice"], "in_1KJqKBJDPojXS6LNJbvLUgEy");
    assert_eq!(r["customer_email"], "billz@supabase.io");
    assert_eq!(r["livemode"], true);

    let r = real("charge_dispute_funds_reinstated.json").unwrap();
    assert_eq!(r["status"], "dispute_won");
    assert_eq!(r["dispute"], "dp_1MLuxQJDPojXS6LNrukJCBBG");
    assert_eq!(r["reason"], "general");

    let r = real("charge_failed.json").unwrap();
    assert_eq!(r["status"], "failed");
    assert!(r["failure"].is_object());

    let r = real("invoice_payment_paid.json").unwrap();
    assert_eq!(r["status"], "paid");
    assert_eq!(r["invoice"], "in_103Q0w2eZvKYlo2C5PYwf6Wf");
    assert_eq!(r["payment_intent"], "pi_103Q0w2eZvKYlo2C364X582Z");
    assert_eq!(r["amount"], "20.00");

    let r = real("invoice_voided.json").unwrap();
    assert_eq!(r["status"], "void");
    let r = real("refund_failed.json").unwrap();
    assert_eq!(r["status"], "failed");
    assert_eq!(r["refund"], "re_1Nispe2eZvKYlo2Cd31jOCgZ");
    let r = real("customer_deleted.json").unwrap();
    assert_eq!(r["status"], "customer_deleted");
    let r = real("setup_intent_succeeded.json").unwrap();
    assert_eq!(r["status"], "ignored");
    assert_eq!(r["event_type"], "setup_intent.succeeded");
    assert_eq!(r["amount"], Value::Null);
}

#[test]
fn current_shapes_spot_checks() {
    let r = own("pi_succeeded_basil.json");
    assert_eq!(r.status, Status::Paid);
    assert_eq!(r.order_ref.as_deref(), Some("1001"));
    assert_eq!(r.charge.as_deref(), Some("ch_3QbasilOrder1001"));
    assert_eq!(r.amount.unwrap().to_string(), "21.98");

    let r = own("charge_updated_expanded_fee_basil.json");
    assert_eq!(r.fee.unwrap().to_string(), "0.94");
    assert_eq!(r.net.unwrap().to_string(), "21.04");
    assert_eq!(r.settlement_currency.as_deref(), Some("USD"));

    let r = own("invoice_paid_basil.json");
    assert_eq!(r.status, Status::Paid);
    assert_eq!(
        r.payment_intent, None,
        "basil invoices carry no payment_intent"
    );
    assert_eq!(r.subscription.as_deref(), Some("sub_1QbasilPro"));
    assert_eq!(r.order_ref.as_deref(), Some("SUB-42"));

    let r = own("invoice_payment_paid_basil.json");
    assert_eq!(r.invoice.as_deref(), Some("in_1QbasilSub42"));
    assert_eq!(r.payment_intent.as_deref(), Some("pi_3QbasilSub42"));

    let r = own("checkout_session_completed_clover.json");
    assert_eq!(r.order_ref.as_deref(), Some("1001"), "client_reference_id");
    assert_eq!(r.customer_name.as_deref(), Some("Jenny Rosen"));

    let r = own("pi_succeeded_jpy_connect.json");
    assert_eq!(r.amount.unwrap().to_string(), "5000");
    assert_eq!(r.account.as_deref(), Some("acct_1QconnectedJp"));
    assert_eq!(r.order_ref.as_deref(), Some("JP-9"));
    assert!(r.livemode);

    let r = own("pi_succeeded_kwd.json");
    assert_eq!(r.amount.unwrap().to_string(), "12.340");
    assert_eq!(r.order_ref.as_deref(), Some("KW-5"));

    let r = own("dispute_closed_lost_basil.json");
    assert_eq!(r.status, Status::DisputeLost);
    assert_eq!(r.fee.unwrap().to_string(), "15.00");
    assert_eq!(r.net.unwrap().to_string(), "-31.98");

    // Visa RDR: the cardholder was refunded; never a won dispute.
    assert_eq!(
        own("dispute_closed_prevented_2025.json").status,
        Status::DisputePrevented
    );
    assert_eq!(
        own("pi_amount_capturable_updated_basil.json").status,
        Status::Authorized
    );
    let r = own("pi_canceled_expired_basil.json");
    assert_eq!(r.status, Status::Canceled);
    assert_eq!(r.reason.as_deref(), Some("expired"));
    let r = own("payout_failed_basil.json");
    assert_eq!(r.status, Status::PayoutFailed);
    assert_eq!(r.failure.unwrap().code.as_deref(), Some("account_closed"));
    assert_eq!(
        own("payout_paid_basil.json").amount.unwrap().to_string(),
        "1045.12"
    );
    assert_eq!(own("thin_event_v2.json").status, Status::Ignored);
}

#[test]
fn current_shapes_match_golden_records() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden");
    let bless = std::env::var_os("STRIPE_BRIDGE_BLESS").is_some();
    let files = json_files(&own_fixtures_dir());
    assert!(files.len() >= 27);
    for (name, bytes) in files {
        let record = serde_json::to_value(normalize_bytes(&bytes)).unwrap();
        let path = golden_dir.join(&name);
        if bless {
            std::fs::create_dir_all(&golden_dir).unwrap();
            let text = serde_json::to_string_pretty(&record).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let golden: Value = serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        assert_eq!(record, golden, "{name} differs from its golden record");
        // The field contract of the record.
        for key in [
            "event_id",
            "event_type",
            "created",
            "livemode",
            "account",
            "object",
            "object_id",
            "status",
            "order_ref",
            "customer_id",
            "currency",
            "amount",
            "amount_minor",
            "amount_refunded",
            "fee",
            "net",
            "payment_intent",
            "charge",
            "refund",
            "dispute",
            "invoice",
            "checkout_session",
            "payout",
            "payment_method_type",
            "failure",
        ] {
            field(&record, key);
        }
    }
}
