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

#[test]
fn help_documents_every_command() {
    let out = run(&["--help"], b"");
    let help = stdout(&out);
    for cmd in ["sign", "verify", "normalize", "merge"] {
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

/// A one-shot HTTP server on 127.0.0.1 recording each request's headers and body, answering 200
/// (or 400 for the `fail` path).
/// Each request's head (request line and headers) and body.
type Recorded = Vec<(String, Vec<u8>)>;

fn recording_server(requests: usize) -> (String, std::thread::JoinHandle<Recorded>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for stream in listener.incoming().take(requests) {
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
            let status = if head.starts_with("POST /fail") {
                "400 Bad Request"
            } else {
                "200 OK"
            };
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            std::io::Write::write_all(&mut stream, reply.as_bytes()).unwrap();
            seen.push((head, body));
        }
        seen
    });
    (url, handle)
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
