//! The `stripe-bridge` binary: sign, verify, normalize, merge.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

const SECRET: &str = "whsec_cli_test_secret";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_env(args, stdin, &[])
}

fn run_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"));
    cmd.args(args)
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_BRIDGE_MODE")
        .env_remove("STRIPE_BRIDGE_ACCOUNTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A command that fails on its arguments exits before reading stdin: a broken pipe is fine.
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

fn header_for(body: &[u8], t: i64) -> String {
    let out = run(
        &["sign", "--secret", SECRET, "--timestamp", &t.to_string()],
        body,
    );
    assert!(out.status.success());
    stdout(&out).trim().to_owned()
}

#[test]
fn sign_matches_library_and_known_vector() {
    let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
    let out = run(
        &[
            "sign",
            "--secret",
            "whsec_test_secret",
            "--timestamp",
            "1700000000",
        ],
        body,
    );
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
    );
}

#[test]
fn sign_defaults_to_now() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = run(&["sign", "--secret", SECRET], b"{}");
    let header = stdout(&out);
    let t: u64 = header
        .trim()
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(t >= before && t <= before + 5, "{header}");
}

#[test]
fn verify_prints_event_id() {
    let body = own_fixture("pi_succeeded_basil.json");
    let header = header_for(&body, 1_735_689_120);
    let out = run(
        &[
            "verify",
            "--secret",
            SECRET,
            "--header",
            &header,
            "--now",
            "1735689200",
        ],
        &body,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "evt_basil_pi_succeeded");
}

#[test]
fn verify_failure_is_one_line_with_kind_and_no_secret() {
    let body = own_fixture("pi_succeeded_basil.json");
    let header = header_for(&body, 1_735_689_120);
    let out = run(
        &[
            "verify",
            "--secret",
            "whsec_wrong_one",
            "--header",
            &header,
            "--now",
            "1735689200",
        ],
        &body,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error[signature/no_match]: No signatures found matching"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert!(!err.contains("whsec_wrong_one") && !err.contains(SECRET));
    assert!(stdout(&out).is_empty());
}

#[test]
fn verify_tolerance_options() {
    let body = own_fixture("pi_succeeded_basil.json");
    let header = header_for(&body, 1_735_689_120);
    let verify = |extra: &[&str], now: &str| {
        let mut args = vec![
            "verify", "--secret", SECRET, "--header", &header, "--now", now,
        ];
        args.extend_from_slice(extra);
        run(&args, &body)
    };
    let late = verify(&[], "1735689421");
    assert!(stderr(&late).starts_with("error[signature/timestamp_outside_tolerance]"));
    let early = verify(&[], "1735688819");
    assert!(
        stderr(&early).contains("in the future"),
        "{}",
        stderr(&early)
    );
    assert!(verify(&["--tolerance", "400"], "1735689421")
        .status
        .success());
    assert!(verify(&["--no-tolerance"], "1999999999").status.success());
    let zero = verify(&["--tolerance", "0"], "1735689120");
    assert!(stderr(&zero).starts_with("error[signature/invalid_tolerance]"));
}

#[test]
fn verify_several_secrets_and_env() {
    let body = own_fixture("pi_succeeded_basil.json");
    let header = header_for(&body, 1_735_689_120);
    let base = ["verify", "--header", header.as_str(), "--now", "1735689130"];
    let mut repeated = base.to_vec();
    repeated.extend(["--secret", "whsec_old", "--secret", SECRET]);
    assert!(run(&repeated, &body).status.success());
    let joined = format!("whsec_old,{SECRET}");
    let mut comma = base.to_vec();
    comma.extend(["--secret", joined.as_str()]);
    assert!(run(&comma, &body).status.success());
    let env = run_env(&base, &body, &[("STRIPE_WEBHOOK_SECRET", &joined)]);
    assert!(env.status.success(), "{}", stderr(&env));
    // No secret at all: a usage error, not a verification.
    assert!(!run(&base, &body).status.success());
}

#[test]
fn sign_uses_the_first_of_several_secrets() {
    let body = br#"{"id":"evt_1"}"#;
    let joined = format!("{SECRET},whsec_old");
    let out = run_env(
        &["sign", "--timestamp", "1700000000"],
        body,
        &[("STRIPE_WEBHOOK_SECRET", &joined)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), header_for(body, 1_700_000_000));
}

#[test]
fn verify_then_bad_json_is_an_event_error() {
    let body = b"not json at all";
    let header = header_for(body, 1_700_000_000);
    let out = run(
        &[
            "verify",
            "--secret",
            SECRET,
            "--header",
            &header,
            "--now",
            "1700000000",
        ],
        body,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error[event/malformed_event]"));
}

#[test]
fn normalize_prints_the_record_contract() {
    let out = run(
        &["normalize"],
        &own_fixture("checkout_session_completed_clover.json"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["status"], "paid");
    assert_eq!(r["order_ref"], "1001");
    assert_eq!(r["amount"], "21.98");
    assert_eq!(r["currency"], "USD");
    assert_eq!(stdout(&out).lines().count(), 1);
    let pretty = run(
        &["normalize", "--pretty"],
        &own_fixture("pi_succeeded_basil.json"),
    );
    assert!(stdout(&pretty).lines().count() > 10);
}

#[test]
fn normalize_order_keys() {
    let body = own_fixture("checkout_session_completed_clover.json");
    let out = run(
        &["normalize", "--order-keys", "customer_id,order_id"],
        &body,
    );
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["order_ref"], "C-77");
}

#[test]
fn normalize_errors() {
    let out = run(&["normalize"], b"{\"id\": 5}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error[event/malformed_event]"));
    let out = run(&["normalize"], b"");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn merge_files_into_order_state() {
    let dir = own_fixtures_dir();
    let files: Vec<String> = [
        "pi_succeeded_basil.json",
        "pi_created_basil.json",
        "refund_created_basil.json",
        "refund_created_basil.json",
    ]
    .iter()
    .map(|f| dir.join(f).to_string_lossy().into_owned())
    .collect();
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let state: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(state["status"], "partially_refunded");
    assert_eq!(state["amount_refunded"], "5.00");
    assert_eq!(state["order_ref"], "1001");
}

/// A fixture with one field of `data.object` replaced (an object stripe-bridge cannot read).
fn with_object_field(name: &str, field: &str, value: Value) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&own_fixture(name)).unwrap();
    event["data"]["object"][field] = value;
    serde_json::to_vec(&event).unwrap()
}

/// The `note:` lines of stderr.
fn notes(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("note: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn normalize_unreadable_event_is_a_record_with_a_note() {
    let body = with_object_field("pi_succeeded_basil.json", "amount", Value::from("21.98"));
    let out = run(&["normalize"], &body);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["status"], "unreadable");
    assert_eq!(r["event_id"], "evt_basil_pi_succeeded");
    assert_eq!(r["reason"], "data.object.amount has an unexpected type");
    assert_eq!(r["amount"], Value::Null);
    assert_eq!(
        notes(&out),
        ["note: evt_basil_pi_succeeded unreadable: data.object.amount has an unexpected type"]
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // A foreign object under a mapped type: the same.
    let body = with_object_field("pi_succeeded_basil.json", "object", Value::from("account"));
    let out = run(&["normalize"], &body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(r#""status":"unreadable""#));
    assert_eq!(notes(&out).len(), 1);
    // A record that is used: no note.
    let out = run(&["normalize"], &own_fixture("pi_succeeded_basil.json"));
    assert_eq!(stderr(&out), "");
    // An unmapped type: ignored without a note (nothing went wrong).
    let out = run(&["normalize"], &own_fixture("thin_event_v2.json"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(r#""status":"ignored""#));
    assert_eq!(stderr(&out), "");
}

#[test]
fn normalize_mode_guard() {
    // A live-mode event (of a connected account) with --mode test: ignored, with a note.
    let live = own_fixture("pi_succeeded_jpy_connect.json");
    let out = run(&["normalize", "--mode", "test"], &live);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["status"], "ignored");
    assert_eq!(r["livemode"], true);
    assert_eq!(r["amount"], Value::Null);
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("live-mode"), "{reason}");
    let id = r["event_id"].as_str().unwrap();
    assert_eq!(notes(&out), [format!("note: {id} ignored: {reason}")]);
    // The same from the environment, and accepted by --mode live / any.
    let out = run_env(&["normalize"], &live, &[("STRIPE_BRIDGE_MODE", "test")]);
    assert!(stdout(&out).contains(r#""status":"ignored""#));
    for mode in ["live", "any"] {
        let out = run(&["normalize", "--mode", mode], &live);
        assert!(stdout(&out).contains(r#""status":"paid""#), "{mode}");
        assert_eq!(stderr(&out), "");
    }
    // The flag wins over the environment.
    let out = run_env(
        &["normalize", "--mode", "live"],
        &live,
        &[("STRIPE_BRIDGE_MODE", "test")],
    );
    assert!(stdout(&out).contains(r#""status":"paid""#));
    // Accounts: the connected account's event, accepted only when listed.
    let account = r["account"].as_str().unwrap().to_owned();
    let out = run(&["normalize", "--accounts", "platform"], &live);
    assert!(stdout(&out).contains(r#""status":"ignored""#));
    assert!(
        notes(&out)[0].contains("connected account"),
        "{}",
        stderr(&out)
    );
    let out = run_env(
        &["normalize"],
        &live,
        &[("STRIPE_BRIDGE_ACCOUNTS", &format!("platform,{account}"))],
    );
    assert!(
        stdout(&out).contains(r#""status":"paid""#),
        "{}",
        stderr(&out)
    );
    // map and merge take the same options.
    let out = run(&["map", "--profile", "record", "--mode", "test"], &live);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(notes(&out).len(), 1);
}

#[test]
fn bad_mode_or_accounts_is_an_error() {
    let body = own_fixture("pi_succeeded_basil.json");
    for args in [
        &["normalize", "--mode", "production"][..],
        &["normalize", "--accounts", "acct_1,cus_123"],
        &["map", "--profile", "record", "--mode", "prod"],
        &["merge", "--mode", "TEST", "x.json"],
    ] {
        let out = run(args, &body);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error[mode/invalid_mode]: "),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(stdout(&out), "");
    }
    let out = run_env(&["normalize"], &body, &[("STRIPE_BRIDGE_MODE", "staging")]);
    assert!(
        stderr(&out).starts_with("error[mode/invalid_mode]: the mode must be test, live or any")
    );
}

#[test]
fn merge_skips_unreadable_and_ignored_events() {
    let dir = std::env::temp_dir().join(format!("sb-cli-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unreadable = dir.join("refund_unreadable.json");
    std::fs::write(
        &unreadable,
        with_object_field("refund_created_basil.json", "amount", Value::from("5.00")),
    )
    .unwrap();
    let own = |f: &str| own_fixtures_dir().join(f).to_string_lossy().into_owned();
    let files = [
        own("pi_created_basil.json"),
        unreadable.to_string_lossy().into_owned(),
        own("pi_succeeded_basil.json"),
    ];
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let state: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(state["schema_version"], 2);
    assert_eq!(state["status"], "paid");
    assert_eq!(state["order_ref"], "1001");
    assert_eq!(state["amount_refunded"], "0.00");
    let notes = notes(&out);
    assert_eq!(notes.len(), 1, "{}", stderr(&out));
    assert!(
        notes[0].contains(" unreadable: data.object.amount"),
        "{}",
        notes[0]
    );
    // With --mode live every test-mode event is ignored: an empty state.
    let out = run(
        &[&["merge", "--mode", "live"][..], &args[1..]].concat(),
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let empty: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(empty["order_ref"], Value::Null);
    assert_eq!(stderr(&out).lines().count(), 3, "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_documents_every_command() {
    let out = run(&["--help"], b"");
    let help = stdout(&out);
    for cmd in [
        "sign",
        "verify",
        "normalize",
        "merge",
        "map",
        "replay",
        "payment-request",
        "payment-link-url",
    ] {
        assert!(help.contains(cmd), "{help}");
    }
    let verify = stdout(&run(&["verify", "--help"], b""));
    for opt in [
        "--secret",
        "--header",
        "--tolerance",
        "--no-tolerance",
        "--now",
    ] {
        assert!(verify.contains(opt), "{verify}");
    }
}

#[test]
fn map_profiles_and_mapping_files() {
    let body = own_fixture("pi_succeeded_basil.json");
    let out = run(&["map", "--profile", "nopcommerce"], &body);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["payment_status_id"], 30);
    assert_eq!(v["order_id"], "1001");
    let sf = stdout(&run(&["map", "--profile", "salesforce"], &body));
    assert!(sf.contains(r#""Amount__c":21.98"#), "{sf}");
    for profile in ["erp", "order-feed", "record"] {
        let out = run(&["map", "--profile", profile, "--pretty"], &body);
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        assert!(stdout(&out).lines().count() > 3);
    }
    // Nothing to send: null.
    let customer = own_fixture("customer_created_basil.json");
    assert_eq!(
        stdout(&run(&["map", "--profile", "order-feed"], &customer)).trim(),
        "null"
    );
    // A mapping file, and a broken one: one line naming the entry.
    let dir = std::env::temp_dir().join(format!("sb-cli-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{"fields":{"order":{"path":"order_ref"},"total":{"path":"amount"}}}"#,
    )
    .unwrap();
    let out = run(&["map", "--profile", good.to_str().unwrap()], &body);
    assert_eq!(stdout(&out).trim(), r#"{"order":"1001","total":"21.98"}"#);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"fields":{"total":{"path":"amout"}}}"#).unwrap();
    let out = run(&["map", "--profile", bad.to_str().unwrap()], &body);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error[mapping/invalid_mapping]:"), "{err}");
    assert!(
        err.contains("fields.total.path: unknown record field \"amout\""),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let out = run(&["map", "--profile", "nopcomerce"], &body);
    assert!(stderr(&out).contains("unknown profile"));
}

/// Each request's head (request line and headers) and body.
type Recorded = Vec<(String, Vec<u8>)>;

/// An HTTP server on 127.0.0.1 for `requests` requests, recording each request's head and body
/// and answering what `reply` says for the n-th request and its head: (status line, extra
/// headers, body).
fn serve<F>(requests: usize, reply: F) -> (String, std::thread::JoinHandle<Recorded>)
where
    F: Fn(usize, &str) -> (&'static str, String, String) + Send + 'static,
{
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (n, stream) in listener.incoming().take(requests).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.to_ascii_lowercase().starts_with("content-length:") {
                    length = line.split(':').nth(1).unwrap().trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, headers, text) = reply(n, &head);
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{text}",
                text.len()
            );
            std::io::Write::write_all(&mut stream, answer.as_bytes()).unwrap();
            seen.push((head, body));
        }
        seen
    });
    (url, handle)
}

/// Answers 200 `ok` (400 for the `/fail` path).
fn recording_server(requests: usize) -> (String, std::thread::JoinHandle<Recorded>) {
    serve(requests, |_, head| {
        let status = if head.starts_with("POST /fail") {
            "400 Bad Request"
        } else {
            "200 OK"
        };
        (status, String::new(), "ok".to_owned())
    })
}

#[test]
fn replay_signs_and_posts_each_file() {
    let (url, server) = recording_server(2);
    let dir = own_fixtures_dir();
    let files = ["pi_succeeded_basil.json", "refund_created_basil.json"]
        .map(|f| dir.join(f).to_string_lossy().into_owned());
    let to = format!("{url}/webhooks/stripe");
    let out = run(
        &[
            "replay", "--to", &to, "--secret", SECRET, &files[0], &files[1],
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2);
    assert!(
        stdout(&out).lines().all(|l| l.contains("-> 200")),
        "{}",
        stdout(&out)
    );
    let seen = server.join().unwrap();
    let verifier = stripe_bridge::Verifier::new([SECRET]).unwrap();
    for ((head, body), file) in seen.iter().zip(&files) {
        assert_eq!(
            body,
            &std::fs::read(file).unwrap(),
            "the raw file is the body"
        );
        let header = head
            .lines()
            .find_map(|l| l.strip_prefix("stripe-signature: "))
            .expect("a Stripe-Signature header");
        assert!(verifier.verify(body, header.trim()).is_ok());
        assert!(head.starts_with("POST /webhooks/stripe"));
    }
}

#[test]
fn replay_reports_refusals_with_exit_status_1() {
    let (url, server) = recording_server(1);
    let file = own_fixtures_dir().join("pi_succeeded_basil.json");
    let to = format!("{url}/fail");
    let out = run(
        &[
            "replay",
            "--to",
            &to,
            "--secret",
            SECRET,
            file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("-> 400"));
    assert!(stderr(&out).starts_with("error[io/replay_failed]: 1 of 1 events were not accepted"));
    server.join().unwrap();
    let out = run(
        &[
            "replay",
            "--to",
            "http://127.0.0.1:9/none",
            "--secret",
            SECRET,
            file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("-> error:"), "{}", stdout(&out));
}

fn order_1001() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/orders/order-1001.json"),
    )
    .unwrap()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn payment_request_prints_the_stripe_request() {
    let out = run(&["payment-request", "checkout"], &order_1001());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/v1/checkout/sessions");
    assert_eq!(v["amount_minor"], 5040);
    assert_eq!(v["currency"], "EUR", "ISO code, as in records");
    let key = v["idempotency_key"].as_str().unwrap();
    assert!(key.starts_with("sb-checkout-"), "{key}");
    let fields = form(v["body"].as_str().unwrap().as_bytes());
    assert!(fields.contains(&("client_reference_id".into(), "1001".into())));
    assert!(fields.contains(&(
        "payment_intent_data[metadata][channel]".into(),
        "web".into()
    )));
    // Same order, same key; the payment intent and link have their own.
    let again: Value = serde_json::from_str(&stdout(&run(
        &["payment-request", "checkout"],
        &order_1001(),
    )))
    .unwrap();
    assert_eq!(again["idempotency_key"], key);
    let pi: Value = serde_json::from_str(&stdout(&run(
        &["payment-request", "payment-intent", "--pretty"],
        &order_1001(),
    )))
    .unwrap();
    assert_eq!(pi["path"], "/v1/payment_intents");
    assert!(pi["body"]
        .as_str()
        .unwrap()
        .starts_with("amount=5040&currency=eur&"));
    // A Payment Link cannot price shipping: one clear line, nothing on stdout.
    let out = run(&["payment-request", "payment-link"], &order_1001());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).starts_with("error[payment_request/unsupported]: shipping: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn payment_request_errors_name_the_field() {
    let mut order: Value = serde_json::from_slice(&order_1001()).unwrap();
    order["total"] = "50.41".into();
    let out = run(
        &["payment-request", "checkout"],
        order.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error[payment_request/total_mismatch]: total: lines, tax and shipping add up to 50.40 EUR, not the total 50.41 EUR"),
        "{err}"
    );
    let out = run(
        &["payment-request", "checkout"],
        br#"{"id":"1","currency":"eur","lines":[],"total":"1","totl":"1"}"#,
    );
    assert!(
        stderr(&out).starts_with(
            "error[payment_request/invalid_order]: the order JSON: unknown field `totl`"
        ),
        "{}",
        stderr(&out)
    );
    // --send refuses a publishable key before anything is sent, without echoing it.
    let out = run_env(
        &[
            "payment-request",
            "checkout",
            "--send",
            "--api-base",
            "http://127.0.0.1:9",
        ],
        &order_1001(),
        &[("STRIPE_SECRET_KEY", "pk_test_51Publishable")],
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("error[payment_request/invalid_api_key]: apiKey: is a publishable key"),
        "{err}"
    );
    assert!(!err.contains("51Publishable"));
}

const SECRET_KEY: &str = "sk_test_51CliFakeKeyForLoopback";

#[test]
fn payment_request_send_retries_with_the_same_idempotency_key() {
    // 500, then 429 (rate limited), then the session.
    let (url, server) = serve(3, |n, _| {
        match n {
        0 => ("500 Internal Server Error", "request-id: req_500\r\n".into(), r#"{"error":{"type":"api_error","message":"An unknown error occurred"}}"#.into()),
        1 => ("429 Too Many Requests", "request-id: req_429\r\n".into(), r#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}"#.into()),
        _ => ("200 OK", "request-id: req_ok\r\ncontent-type: application/json\r\n".into(), r#"{"id":"cs_test_a1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_a1"}"#.into()),
    }
    });
    let out = run_env(
        &["payment-request", "checkout", "--send", "--api-base", &url],
        &order_1001(),
        &[("STRIPE_SECRET_KEY", SECRET_KEY)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["id"], "cs_test_a1");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("An unknown error occurred (request req_500)") && err.contains("rate_limit"),
        "{err}"
    );
    assert!(!err.contains(SECRET_KEY));
    let seen = server.join().unwrap();
    let built: Value = serde_json::from_str(&stdout(&run(
        &["payment-request", "checkout"],
        &order_1001(),
    )))
    .unwrap();
    for (head, body) in &seen {
        let head = head.to_ascii_lowercase();
        assert!(
            head.starts_with("post /v1/checkout/sessions http/1.1"),
            "{head}"
        );
        assert!(head.contains(&format!(
            "authorization: bearer {}",
            SECRET_KEY.to_ascii_lowercase()
        )));
        assert!(head.contains(&format!(
            "idempotency-key: {}",
            built["idempotency_key"].as_str().unwrap()
        )));
        assert!(head.contains("stripe-version: 2025-09-30.clover"));
        assert!(head.contains("content-type: application/x-www-form-urlencoded"));
        assert_eq!(form(body), form(built["body"].as_str().unwrap().as_bytes()));
    }
}

#[test]
fn payment_request_send_fails_fast_on_a_card_error() {
    let (url, server) = serve(1, |_, _| {
        ("402 Payment Required", "request-id: req_decl\r\n".into(), r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}}"#.into())
    });
    let out = run_env(
        &[
            "payment-request",
            "payment-intent",
            "--send",
            "--api-base",
            &url,
        ],
        &order_1001(),
        &[("STRIPE_SECRET_KEY", SECRET_KEY)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error[stripe_api/card_error]: Your card was declined. (card_declined, request req_decl)"
    );
    assert_eq!(server.join().unwrap().len(), 1, "a 4xx is not retried");
    // Nobody listening: connection errors are retried, then reported.
    let out = run_env(
        &[
            "payment-request",
            "payment-intent",
            "--send",
            "--api-base",
            "http://127.0.0.1:9",
            "--max-retries",
            "1",
        ],
        &order_1001(),
        &[("STRIPE_SECRET_KEY", SECRET_KEY)],
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error[stripe_api/connection_error]: could not reach Stripe:"),
        "{err}"
    );
}

#[test]
fn payment_link_url_command() {
    let out = run(
        &[
            "payment-link-url",
            "https://buy.stripe.com/test_6oE5nL",
            "--client-reference-id",
            "order_1001",
            "--prefilled-email",
            "jenny@example.com",
            "--locale",
            "de",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "https://buy.stripe.com/test_6oE5nL?client_reference_id=order_1001&prefilled_email=jenny%40example.com&locale=de");
    let out = run(
        &[
            "payment-link-url",
            "https://buy.stripe.com/test_6oE5nL",
            "--client-reference-id",
            "order 1001",
        ],
        b"",
    );
    assert!(
        stderr(&out)
            .starts_with("error[payment_request/invalid_client_reference_id]: clientReferenceId: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn payment_request_send_refuses_plain_http_to_a_remote_host() {
    let out = run_env(
        &[
            "payment-request",
            "checkout",
            "--send",
            "--api-base",
            "http://api.stripe.com",
        ],
        &order_1001(),
        &[("STRIPE_SECRET_KEY", SECRET_KEY)],
    );
    assert!(
        stderr(&out).starts_with(
            "error[payment_request/invalid_api_base]: apiBase: must be an https:// URL"
        ),
        "{}",
        stderr(&out)
    );
}
