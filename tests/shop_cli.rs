//! The shop commands of the `stripe-bridge` binary (`refund`, `capture`, `cancel`, `customer`,
//! `sync-order`): the requests they print without `--send` (no network), their refusals, and
//! `customer --send` against a one-shot Stripe stand-in on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const KEY: &str = "sk_test_51ShopCliKeyForTheLoopbackStandIn";

fn run(args: &[&str], stdin: &[u8], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"));
    cmd.args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_BRIDGE_MODE")
        .env_remove("STRIPE_BRIDGE_ACCOUNTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = key {
        cmd.env("STRIPE_SECRET_KEY", key);
    }
    let mut child = cmd.spawn().unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}
fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The order state `merge` prints for these fixtures, written to a file of this test.
fn state_file(test: &str, fixtures: &[&str]) -> PathBuf {
    let mut args = vec!["merge".to_owned()];
    args.extend(fixtures.iter().map(|f| fixture(f)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, b"", None);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = std::env::temp_dir().join(format!(
        "stripe-bridge-shop-{}-{test}.json",
        std::process::id()
    ));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn json_out(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn refund_prints_one_request_per_payment() {
    // Order 1001: 21.98 USD paid, 5.00 refunded.
    let state = state_file(
        "refund",
        &["pi_succeeded_basil.json", "refund_created_basil.json"],
    );
    let state = state.to_str().unwrap();
    let input = br#"{"order_id":"1001","currency":"usd","amount":"10.00","return_id":"rr_12","reason":"requested_by_customer"}"#;
    let out = json_out(&run(&["refund", "--state", state], input, None));
    assert_eq!(out.as_array().unwrap().len(), 1);
    let r = &out[0];
    assert_eq!(
        (r["method"].as_str(), r["path"].as_str()),
        (Some("POST"), Some("/v1/refunds"))
    );
    assert_eq!(
        r["body"],
        "payment_intent=pi_3QbasilOrder1001&amount=1000&reason=requested_by_customer\
         &metadata%5Border_id%5D=1001&metadata%5Breturn_id%5D=rr_12"
    );
    assert_eq!(
        (r["amount_minor"].as_i64(), r["currency"].as_str()),
        (Some(1000), Some("USD"))
    );
    assert!(r["idempotency_key"]
        .as_str()
        .unwrap()
        .starts_with("sb-refund-"));
    // The same input gives the same request, key included.
    assert_eq!(
        json_out(&run(&["refund", "--state", state], input, None)),
        out
    );
    // Without an amount: all that remains.
    let all = json_out(&run(
        &["refund", "--state", state],
        br#"{"order_id":"1001","currency":"USD"}"#,
        None,
    ));
    assert_eq!(all[0]["amount_minor"], 1698);
    // Too much, refused before anything is sent.
    let too_much = run(
        &["refund", "--state", state],
        br#"{"order_id":"1001","currency":"usd","amount":"16.99"}"#,
        None,
    );
    assert!(!too_much.status.success());
    assert!(stdout(&too_much).is_empty());
    assert_eq!(
        stderr(&too_much).trim(),
        "error[payment_request/amount_too_large]: amount: at most 16.98 USD remains refundable"
    );
    for (input, code) in [
        (
            &br#"{"order_id":"1001","currency":"usd","amout":"1"}"#[..],
            "payment_request/invalid_input",
        ),
        (
            br#"{"order_id":"1001","currency":"eur"}"#,
            "payment_request/currency_mismatch",
        ),
        (
            br#"{"order_id":"1001","currency":"usd","payment":"../x"}"#,
            "payment_request/invalid_id",
        ),
        (
            br#"{"order_id":"1001","currency":"usd","payment":"pi_Other"}"#,
            "payment_request/unknown_payment",
        ),
        (
            br#"{"order_id":"1002","currency":"usd"}"#,
            "payment_request/order_mismatch",
        ),
    ] {
        let out = run(&["refund", "--state", state], input, None);
        assert!(
            stderr(&out).starts_with(&format!("error[{code}]")),
            "{}",
            stderr(&out)
        );
    }
    std::fs::remove_file(state).unwrap();
}

#[test]
fn refund_needs_a_readable_state() {
    let input = br#"{"order_id":"1001","currency":"usd"}"#;
    let out = run(&["refund"], input, None);
    assert_eq!(out.status.code(), Some(2), "clap: --state is required");
    let missing = run(
        &["refund", "--state", "/nonexistent/state.json"],
        input,
        None,
    );
    assert!(
        stderr(&missing).starts_with("error[io/io_error]"),
        "{}",
        stderr(&missing)
    );
    let bad = std::env::temp_dir().join(format!(
        "stripe-bridge-shop-{}-bad.json",
        std::process::id()
    ));
    std::fs::write(&bad, b"[\"not a state\"]").unwrap();
    let out = run(&["refund", "--state", bad.to_str().unwrap()], input, None);
    assert!(
        stderr(&out).starts_with("error[state/invalid_state]"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(bad).unwrap();
}

#[test]
fn capture_and_cancel() {
    // Order 1004: 21.98 USD authorized.
    let auth = state_file("auth", &["pi_amount_capturable_updated_basil.json"]);
    let auth = auth.to_str().unwrap();
    let input = br#"{"order_id":"1004","payment_intent":"pi_3QbasilAuth","amount":"10.00","currency":"usd"}"#;
    let r = json_out(&run(&["capture", "--state", auth], input, None));
    assert_eq!(r["path"], "/v1/payment_intents/pi_3QbasilAuth/capture");
    assert_eq!(
        r["body"],
        "amount_to_capture=1000&metadata%5Border_id%5D=1004"
    );
    assert!(r["idempotency_key"]
        .as_str()
        .unwrap()
        .starts_with("sb-capture-"));
    let too_much = br#"{"order_id":"1004","payment_intent":"pi_3QbasilAuth","amount":"21.99","currency":"usd"}"#;
    let out = run(&["capture", "--state", auth], too_much, None);
    assert!(
        stderr(&out).starts_with("error[payment_request/amount_too_large]"),
        "{}",
        stderr(&out)
    );
    // Without a state only the input is checked.
    assert!(run(&["capture"], too_much, None).status.success());
    let cancel = br#"{"order_id":"1004","payment_intent":"pi_3QbasilAuth","reason":"abandoned"}"#;
    let r = json_out(&run(&["cancel", "--state", auth], cancel, None));
    assert_eq!(
        (r["path"].as_str(), r["body"].as_str()),
        (
            Some("/v1/payment_intents/pi_3QbasilAuth/cancel"),
            Some("cancellation_reason=abandoned")
        )
    );
    let paid = state_file("paid", &["pi_succeeded_basil.json"]);
    let cancel_paid = br#"{"order_id":"1001","payment_intent":"pi_3QbasilOrder1001"}"#;
    let out = run(
        &["cancel", "--state", paid.to_str().unwrap()],
        cancel_paid,
        None,
    );
    assert_eq!(
        stderr(&out).trim(),
        "error[payment_request/already_captured]: payment_intent: the payment took money: refund it instead"
    );
    std::fs::remove_file(auth).unwrap();
    std::fs::remove_file(paid).unwrap();
}

#[test]
fn customer_and_sync_order_requests() {
    let customer =
        br#"{"customer_id":"C-77","email":"jenny.rosen@example.com","name":"Jenny Rosen"}"#;
    let r = json_out(&run(&["customer"], customer, None));
    assert_eq!(r["path"], "/v1/customers");
    assert_eq!(
        r["body"],
        "email=jenny.rosen%40example.com&name=Jenny+Rosen&metadata%5Bcustomer_id%5D=C-77"
    );
    let u = json_out(&run(
        &["customer", "--stripe-customer", "cus_RbasilJenny"],
        customer,
        None,
    ));
    assert_eq!(u["path"], "/v1/customers/cus_RbasilJenny");
    let bad = run(&["customer", "--stripe-customer", "../x"], customer, None);
    assert!(
        stderr(&bad).starts_with("error[payment_request/invalid_id]"),
        "{}",
        stderr(&bad)
    );
    let update = br#"{"order_id":"1001","payment_intent":"pi_3QbasilOrder1001","order_number":"SO-1001","order_status":"shipped"}"#;
    let r = json_out(&run(&["sync-order", "--pretty"], update, None));
    assert_eq!(r["path"], "/v1/payment_intents/pi_3QbasilOrder1001");
    assert_eq!(r["body"], "metadata%5Border_id%5D=1001&metadata%5Border_number%5D=SO-1001&metadata%5Border_status%5D=shipped");
    assert!(r["idempotency_key"]
        .as_str()
        .unwrap()
        .starts_with("sb-update-"));
}

#[test]
fn send_needs_a_secret_key_before_anything_is_sent() {
    let update = br#"{"order_id":"1001","payment_intent":"pi_3Q"}"#;
    let out = run(&["sync-order", "--send"], update, None);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).starts_with("error[payment_request/invalid_api_key]"),
        "{}",
        stderr(&out)
    );
    let out = run(&["sync-order", "--send"], update, Some("pk_test_123"));
    assert!(stderr(&out).contains("publishable"), "{}", stderr(&out));
}

/// One request the stand-in received.
#[derive(Debug)]
struct Seen {
    line: String,
    idempotency_key: Option<String>,
    body: String,
}

/// Serves `answers` (one per connection, in order) on 127.0.0.1; the requests come back from
/// the thread.
fn stand_in(answers: Vec<Value>) -> (String, std::thread::JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for answer in answers {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (mut length, mut key) = (0usize, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "idempotency-key" => key = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let text = answer.to_string();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            )
            .unwrap();
            seen.push(Seen {
                line: line.trim_end().to_owned(),
                idempotency_key: key,
                body: String::from_utf8(body).unwrap(),
            });
        }
        seen
    });
    (url, handle)
}

#[test]
fn customer_send_searches_then_updates_or_creates() {
    let customer = br#"{"customer_id":"C-77","name":"Jenny Rosen"}"#;
    // Found: the oldest match is updated.
    let search = json!({"object": "search_result", "data": [
        {"id": "cus_Newer", "object": "customer", "created": 1_700_000_200},
        {"id": "cus_Older", "object": "customer", "created": 1_700_000_100}], "has_more": false});
    let updated = json!({"id": "cus_Older", "object": "customer", "name": "Jenny Rosen"});
    let (url, server) = stand_in(vec![search, updated.clone()]);
    let out = run(
        &[
            "customer",
            "--send",
            "--api-base",
            &url,
            "--max-retries",
            "0",
        ],
        customer,
        Some(KEY),
    );
    assert_eq!(json_out(&out), updated);
    assert!(
        stderr(&out).contains("updating cus_Older"),
        "{}",
        stderr(&out)
    );
    let seen = server.join().unwrap();
    assert_eq!(
        seen[0].line,
        "GET /v1/customers/search?query=metadata%5B%27customer_id%27%5D%3A%27C-77%27 HTTP/1.1"
    );
    assert_eq!(seen[0].idempotency_key, None);
    assert_eq!(seen[1].line, "POST /v1/customers/cus_Older HTTP/1.1");
    assert_eq!(
        seen[1].body,
        "name=Jenny+Rosen&metadata%5Bcustomer_id%5D=C-77"
    );
    assert!(seen[1]
        .idempotency_key
        .as_deref()
        .unwrap()
        .starts_with("sb-customer-"));
    // Not found: created, with the key the build-only command prints.
    let created = json!({"id": "cus_New", "object": "customer"});
    let (url, server) = stand_in(vec![
        json!({"object": "search_result", "data": []}),
        created.clone(),
    ]);
    let out = run(
        &[
            "customer",
            "--send",
            "--api-base",
            &url,
            "--max-retries",
            "0",
        ],
        customer,
        Some(KEY),
    );
    assert_eq!(json_out(&out), created);
    let seen = server.join().unwrap();
    assert_eq!(seen[1].line, "POST /v1/customers HTTP/1.1");
    let printed = json_out(&run(&["customer"], customer, None));
    assert_eq!(
        seen[1].idempotency_key.as_deref(),
        printed["idempotency_key"].as_str()
    );
}
