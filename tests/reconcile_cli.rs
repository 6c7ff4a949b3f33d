//! `stripe-bridge reconcile` and `balance` against the Stripe API stand-in on 127.0.0.1
//! (tests/stand-in/finance.mjs): every page of a payout, the orders of refunds of earlier
//! payments, the itemized report and the balance summary rendered by the stand-in. The
//! expectations are the scenario's own figures, computed when it was generated.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

use serde_json::{json, Map, Value};

const KEY: &str = "sk_test_51CliReconcileKeyForTheLoopbackStandIn";

/// The stand-in, served until dropped.
struct StandIn {
    child: Child,
    _stdin: Option<ChildStdin>,
    info: Value,
}

impl StandIn {
    fn start(transactions: u32) -> StandIn {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut child = Command::new("node")
            .arg(format!("{root}/tests/stand-in/finance.mjs"))
            .arg(transactions.to_string())
            .env("STRIPE_SECRET_KEY", KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the stand-in");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info = serde_json::from_str(&line).expect("the stand-in prints its figures");
        StandIn {
            child,
            _stdin: stdin,
            info,
        }
    }

    fn url(&self) -> &str {
        self.info["url"].as_str().unwrap()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"));
    cmd.args(args).env_remove("STRIPE_SECRET_KEY");
    if let Some(key) = key {
        cmd.env("STRIPE_SECRET_KEY", key);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The reconciliation's figures in the shape of the scenario's `expected`.
fn figures(r: &Value) -> (Value, Value) {
    let categories: Map<String, Value> = r["totals"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| {
            let v = json!({"count": t["count"], "gross": t["gross_minor"], "fee": t["fee_minor"], "net": t["net_minor"]});
            (k.clone(), v)
        })
        .collect();
    let orders: Map<String, Value> = r["orders"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, o)| {
            let v = json!({"gross": o["gross_minor"], "fees": o["fee_minor"], "refunds": o["refunds_minor"],
                "disputes": o["disputes_minor"], "net": o["net_minor"]});
            (k.clone(), v)
        })
        .collect();
    (Value::Object(categories), Value::Object(orders))
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sb-{}-{name}", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[test]
fn a_payout_from_the_api_balances_with_every_page_and_the_orders_of_older_payments() {
    let s = StandIn::start(250);
    let expected = &s.info["expected"];
    let payout = expected["payoutId"].as_str().unwrap();
    let out = cli(
        &["reconcile", "--payout", payout, "--api-base", s.url()],
        Some(KEY),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    assert_eq!(r["balanced"], true, "{}", r["likely_cause"]);
    assert_eq!(r["payout_amount_minor"], expected["payoutAmount"]);
    assert_eq!(
        r["lines"].as_array().unwrap().len() as u64,
        expected["lineCount"].as_u64().unwrap()
    );
    let (categories, orders) = figures(&r);
    assert_eq!(categories, expected["categories"]);
    assert_eq!(
        orders, expected["orders"],
        "refunds reach their orders through their charges"
    );
    // Amounts are exact decimal strings beside the minor units.
    let first = &r["lines"][0];
    assert!(
        first["net"].is_string() && first["net_minor"].is_i64(),
        "{first}"
    );
}

#[test]
fn csv_output_and_the_itemized_report_give_the_same_payout() {
    let s = StandIn::start(120);
    let expected = &s.info["expected"];
    let payout = expected["payoutId"].as_str().unwrap();
    let csv = cli(
        &[
            "reconcile",
            "--payout",
            payout,
            "--api-base",
            s.url(),
            "--format",
            "csv",
        ],
        Some(KEY),
    );
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let text = String::from_utf8(csv.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("balance_transaction_id,created_utc,"),
        "{}",
        rows[0]
    );
    assert_eq!(
        rows.len() as u64,
        expected["lineCount"].as_u64().unwrap() + 1
    );

    // The stand-in's own report file (rendered apart from our parser), checked against the
    // payout read from the API.
    let report = write_temp("itemized.csv", s.info["itemized"].as_str().unwrap());
    let args = [
        "reconcile",
        "--report",
        report.to_str().unwrap(),
        "--payout",
        payout,
        "--api-base",
        s.url(),
    ];
    let out = cli(&args, Some(KEY));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    assert_eq!(r["balanced"], true);
    let (categories, orders) = figures(&r);
    assert_eq!(categories, expected["categories"]);
    assert_eq!(orders, expected["orders"]);

    // Without the payout, the report alone: consistent, and says the amount was not checked.
    let alone = cli(&["reconcile", "--report", report.to_str().unwrap()], None);
    assert!(alone.status.success());
    let all = json_of(&alone);
    assert_eq!(all[0]["payout_id"], payout);
    assert!(
        all[0]["warnings"].to_string().contains("not checked"),
        "{}",
        all[0]["warnings"]
    );
}

#[test]
fn a_missing_row_or_a_manual_payout_exits_non_zero_with_the_difference() {
    let s = StandIn::start(60);
    let expected = &s.info["expected"];
    let payout = expected["payoutId"].as_str().unwrap();
    let full = s.info["itemized"].as_str().unwrap();
    // Drop the second data row: the payout amount from the API is not reached.
    let mut rows: Vec<&str> = full.lines().collect();
    let dropped = rows.remove(2);
    let report = write_temp("dropped.csv", &(rows.join("\n") + "\n"));
    let args = [
        "reconcile",
        "--report",
        report.to_str().unwrap(),
        "--payout",
        payout,
        "--api-base",
        s.url(),
    ];
    let out = cli(&args, Some(KEY));
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out);
    assert_eq!(r["balanced"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not balance: difference"), "{stderr}");
    assert!(!dropped.is_empty());

    let manual = s.info["manual"]["payoutId"].as_str().unwrap();
    let out = cli(
        &["reconcile", "--payout", manual, "--api-base", s.url()],
        Some(KEY),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("manual payout"), "{stderr}");

    // No key, a bad key, a base that would leak the key: typed errors, nothing printed.
    let no_key = cli(
        &["reconcile", "--payout", payout, "--api-base", s.url()],
        None,
    );
    assert_eq!(no_key.status.code(), Some(1));
    assert!(no_key.stdout.is_empty());
    let leak = cli(
        &[
            "reconcile",
            "--payout",
            payout,
            "--api-base",
            "http://localhost:1@evil.example",
        ],
        Some(KEY),
    );
    assert!(String::from_utf8_lossy(&leak.stderr).contains("invalid_api_base"));
    let bad_id = cli(
        &[
            "reconcile",
            "--payout",
            "../v1/charges",
            "--api-base",
            s.url(),
        ],
        Some(KEY),
    );
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("invalid_id"));
}

#[test]
fn the_balance_summary_from_transactions_matches_stripes_report() {
    let s = StandIn::start(80);
    let interval = &s.info["interval"];
    let (from, to) = (interval["start"].to_string(), interval["end"].to_string());
    let out = cli(
        &[
            "balance",
            "--from",
            &from,
            "--to",
            &to,
            "--api-base",
            s.url(),
        ],
        Some(KEY),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = json_of(&out);
    let report = write_temp("balance.csv", s.info["balance"].as_str().unwrap());
    let theirs = json_of(&cli(
        &["balance", "--report", report.to_str().unwrap()],
        None,
    ));
    let pick = |v: &Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| {
                json!([
                    b["currency"],
                    b["starting_balance_minor"],
                    b["activity_minor"],
                    b["payouts_minor"],
                    b["ending_balance_minor"],
                    b["balanced"]
                ])
            })
            .collect()
    };
    assert_eq!(pick(&ours), pick(&theirs));
    assert!(!pick(&ours).is_empty());
    let csv = cli(
        &[
            "balance",
            "--report",
            report.to_str().unwrap(),
            "--format",
            "csv",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("category,"));
}

#[test]
fn a_payout_for_the_targets_from_the_cli() {
    let s = StandIn::start(40);
    let payout = s.info["expected"]["payoutId"].as_str().unwrap();
    let out = cli(
        &[
            "reconcile",
            "--payout",
            payout,
            "--api-base",
            s.url(),
            "--profile",
            "erp",
        ],
        Some(KEY),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = json_of(&out);
    assert_eq!(journal["document_type"], "payout_journal");
    for j in journal["journals"].as_array().unwrap() {
        assert_eq!(j["total_debit_minor"], j["total_credit_minor"]);
    }
    let notes = cli(
        &[
            "reconcile",
            "--payout",
            payout,
            "--api-base",
            s.url(),
            "--profile",
            "nopcommerce",
        ],
        Some(KEY),
    );
    let notes = json_of(&notes);
    let orders = s.info["expected"]["orders"].as_object().unwrap().len();
    assert_eq!(notes["notes"].as_array().unwrap().len(), orders);
}
