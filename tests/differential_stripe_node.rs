//! Differential test against the real npm `stripe` package (stripe-node 23.1.0, offline).
//!
//! 3,000 random cases: half signed by stripe-node's `generateTestHeaderString`, half signed by
//! our `sign`; every (payload, header, secrets, tolerance, now) is then verified by both
//! stripe-node's `verifyHeader` and our `Verifier`, and the accept/reject outcomes (and error
//! kinds) must be identical, except in the cases where we are stricter on purpose:
//!
//! - `future`: a timestamp further in the future than the tolerance. stripe-node only rejects
//!   old timestamps; we reject both directions.
//! - `spaces`: spaces after commas. stripe-node does not trim, so `, v1=` is not a v1 entry
//!   there and it rejects; we trim and accept. (More lenient, not less safe: the signature
//!   is still checked.)
//! - `lenient_t`, `plus_t`, `fraction_t`, `duplicate_t`: `t=<digits>abc`, `t=+<digits>`,
//!   `t=<digits>.5`, and `t=1,t=<digits>`. stripe-node's parseInt (last `t` wins) accepts all
//!   four; we reject them as malformed headers.
//! - `negative_t`: `t=-<digits>`. Both reject: stripe-node with no_match, we as malformed.
//! - `uppercase_v1`, `short_v1`: the only `v1` is upper-case hex or 8 hex digits. Both reject:
//!   stripe-node with no_match, we with no_signatures (such entries are not v1 signatures).
//!
//! Needs `node` and `node_modules/stripe` (the test command installs them).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use stripe_bridge::signature::{sign, Secret, SignatureError, Tolerance, Verifier};

const CASES_PER_DIRECTION: usize = 1500;

/// xorshift64*: deterministic, dependency-free randomness for test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn text(&mut self, max: usize) -> String {
        const PARTS: &[&str] = &[
            "a", "Z", "0", "9", " ", "\n", "\t", "\"", "\\", "{", "}", ":", ",", "é", "€", "日本",
            "😀", "\u{0}", "id", "evt_", "amount", "=", ".",
        ];
        let len = 1 + self.below(max as u64) as usize;
        (0..len).map(|_| *self.pick(PARTS)).collect()
    }
    fn hex64(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mutation {
    None,
    TamperPayload,
    WrongSecret,
    RolledSecrets,
    ExtraInvalidV1,
    ExtraV0,
    OnlyV0,
    Old,
    Future,
    Spaces,
    LenientT,
    PlusT,
    FractionT,
    DuplicateT,
    NegativeT,
    UppercaseV1,
    ShortV1,
}

const MUTATIONS: &[Mutation] = &[
    Mutation::None,
    Mutation::None,
    Mutation::TamperPayload,
    Mutation::WrongSecret,
    Mutation::RolledSecrets,
    Mutation::ExtraInvalidV1,
    Mutation::ExtraV0,
    Mutation::OnlyV0,
    Mutation::Old,
    Mutation::Future,
    Mutation::Spaces,
    Mutation::LenientT,
    Mutation::PlusT,
    Mutation::FractionT,
    Mutation::DuplicateT,
    Mutation::NegativeT,
    Mutation::UppercaseV1,
    Mutation::ShortV1,
];

struct Case {
    mutation: Mutation,
    payload: String,
    signing_secret: String,
    signed_payload: String,
    timestamp: i64,
    header: String,
    secrets: Vec<String>,
    tolerance: u64,
    now: i64,
}

fn node_available(root: &Path) -> bool {
    root.join("node_modules/stripe/package.json").is_file()
}

fn run_node(root: &Path, input: &Value) -> Value {
    let mut child = Command::new("node")
        .arg(root.join("tests/differential/stripe-node.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node must be installed (the test command installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stripe-node script failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn make_case(rng: &mut Rng) -> Case {
    let mutation = *rng.pick(MUTATIONS);
    let payload = rng.text(200);
    let signing_secret = format!("whsec_{}", &rng.hex64()[..32]);
    let tolerance = 1 + rng.below(600);
    let timestamp = 1_600_000_000 + rng.below(200_000_000) as i64;
    let skew = rng.below(tolerance + 1) as i64;
    let now = match mutation {
        Mutation::Old => timestamp + tolerance as i64 + 1 + rng.below(100_000) as i64,
        Mutation::Future => timestamp - tolerance as i64 - 1 - rng.below(100_000) as i64,
        _ if rng.below(2) == 0 => timestamp + skew,
        // In the future but within tolerance: both accept.
        _ => timestamp - skew,
    };
    Case {
        mutation,
        signed_payload: payload.clone(),
        payload,
        secrets: vec![signing_secret.clone()],
        signing_secret,
        timestamp,
        header: String::new(),
        tolerance,
        now,
    }
}

/// Applies the mutation to a freshly signed case (identical for both implementations).
fn mutate(case: &mut Case, rng: &mut Rng) {
    match case.mutation {
        Mutation::None | Mutation::Old | Mutation::Future => {}
        Mutation::TamperPayload => case.payload.push('x'),
        Mutation::WrongSecret => case.secrets = vec![format!("{}_other", case.signing_secret)],
        Mutation::RolledSecrets => {
            case.secrets = vec!["whsec_old_secret".into(), case.signing_secret.clone()]
        }
        Mutation::ExtraInvalidV1 => {
            let bogus = rng.hex64();
            case.header = if rng.below(2) == 0 {
                format!("{},v1={bogus}", case.header)
            } else {
                case.header.replacen(",v1=", &format!(",v1={bogus},v1="), 1)
            };
        }
        Mutation::ExtraV0 => case.header = format!("{},v0={}", case.header, rng.hex64()),
        Mutation::OnlyV0 => case.header = case.header.replace(",v1=", ",v0="),
        Mutation::Spaces => case.header = case.header.replace(",v1=", ", v1="),
        Mutation::LenientT => retime(case, "t={t}abc"),
        Mutation::PlusT => retime(case, "t=+{t}"),
        Mutation::FractionT => retime(case, "t={t}.5"),
        Mutation::DuplicateT => retime(case, "t=1,t={t}"),
        Mutation::NegativeT => retime(case, "t=-{t}"),
        Mutation::UppercaseV1 => {
            let (head, sig) = case.header.split_once(",v1=").unwrap();
            case.header = format!("{head},v1={}", sig.to_uppercase());
        }
        Mutation::ShortV1 => {
            let head = case.header.split_once(",v1=").unwrap().0.to_owned();
            case.header = format!("{head},v1=deadbeef");
        }
    }
}

/// Rewrites the `t=` item; `{t}` stands for the signed timestamp.
fn retime(case: &mut Case, pattern: &str) {
    let t = case.timestamp.to_string();
    case.header = case
        .header
        .replacen(&format!("t={t}"), &pattern.replace("{t}", &t), 1);
}

/// Our outcome, as the error kind stripe-node would report (`ok` on success).
fn ours(case: &Case) -> &'static str {
    let verifier = Verifier::new(case.secrets.iter().map(String::as_str))
        .unwrap()
        .with_tolerance(Tolerance::seconds(case.tolerance).unwrap());
    match verifier.verify_at(case.payload.as_bytes(), &case.header, case.now) {
        Ok(_) => "ok",
        Err(SignatureError::NoMatch { .. }) => "no_match",
        Err(SignatureError::NoSignatures) => "no_signatures",
        Err(SignatureError::MalformedHeader { .. }) => "malformed_header",
        Err(SignatureError::TimestampOutsideTolerance { .. }) => "timestamp_outside_tolerance",
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

fn node_kind(result: &Value) -> &'static str {
    if result["ok"] == true {
        return "ok";
    }
    let msg = result["error"].as_str().unwrap_or_default();
    if msg.contains("No signatures found matching") {
        "no_match"
    } else if msg.contains("No signatures found with expected scheme") {
        "no_signatures"
    } else if msg.contains("Unable to extract timestamp") {
        "malformed_header"
    } else if msg.contains("Timestamp outside the tolerance zone") {
        "timestamp_outside_tolerance"
    } else {
        panic!("unexpected stripe-node error: {result}")
    }
}

#[test]
fn identical_outcomes_with_stripe_node() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        node_available(root),
        "node_modules/stripe is missing: run the README's test command (it installs stripe@23.1.0)"
    );
    let mut rng = Rng(0x5eed_2026_1122_0001);

    // Direction A: stripe-node signs.
    let mut by_node: Vec<Case> = (0..CASES_PER_DIRECTION)
        .map(|_| make_case(&mut rng))
        .collect();
    let sign_input = json!({
        "op": "sign",
        "cases": by_node.iter().map(|c| json!({
            "payload": c.signed_payload, "secret": c.signing_secret, "timestamp": c.timestamp
        })).collect::<Vec<_>>()
    });
    let headers = run_node(root, &sign_input);
    for (case, header) in by_node
        .iter_mut()
        .zip(headers["headers"].as_array().unwrap())
    {
        case.header = header.as_str().unwrap().to_owned();
        // Unmutated, stripe-node's header is exactly ours.
        assert_eq!(
            case.header,
            sign(
                case.signed_payload.as_bytes(),
                &Secret::from(case.signing_secret.as_str()),
                case.timestamp
            )
        );
    }

    // Direction B: we sign.
    let mut by_us: Vec<Case> = (0..CASES_PER_DIRECTION)
        .map(|_| make_case(&mut rng))
        .collect();
    for case in &mut by_us {
        case.header = sign(
            case.signed_payload.as_bytes(),
            &Secret::from(case.signing_secret.as_str()),
            case.timestamp,
        );
    }

    let mut cases: Vec<Case> = by_node.into_iter().chain(by_us).collect();
    for case in &mut cases {
        mutate(case, &mut rng);
    }
    let verify_input = json!({
        "op": "verify",
        "cases": cases.iter().map(|c| json!({
            "payload": c.payload, "header": c.header, "secrets": c.secrets,
            "tolerance": c.tolerance, "now": c.now
        })).collect::<Vec<_>>()
    });
    let results = run_node(root, &verify_input);
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());

    let (mut same, mut stricter, mut accepted) = (0, 0, 0);
    for (i, (case, result)) in cases.iter().zip(results).enumerate() {
        let (node, us) = (node_kind(result), ours(case));
        let signer = if i < CASES_PER_DIRECTION {
            "stripe-node"
        } else {
            "stripe-bridge"
        };
        let context = || {
            format!(
                "case {i} signed by {signer}, {:?}: header {:?}, tolerance {}, now {}",
                case.mutation, case.header, case.tolerance, case.now
            )
        };
        match case.mutation {
            Mutation::Future => {
                assert_eq!(
                    (node, us),
                    ("ok", "timestamp_outside_tolerance"),
                    "{}",
                    context()
                );
                stricter += 1;
            }
            Mutation::Spaces => {
                assert_eq!((node, us), ("no_signatures", "ok"), "{}", context());
                stricter += 1;
            }
            Mutation::LenientT | Mutation::PlusT | Mutation::FractionT | Mutation::DuplicateT => {
                assert_eq!((node, us), ("ok", "malformed_header"), "{}", context());
                stricter += 1;
            }
            Mutation::NegativeT => {
                assert_eq!(
                    (node, us),
                    ("no_match", "malformed_header"),
                    "{}",
                    context()
                );
                stricter += 1;
            }
            Mutation::UppercaseV1 | Mutation::ShortV1 => {
                assert_eq!((node, us), ("no_match", "no_signatures"), "{}", context());
                stricter += 1;
            }
            _ => {
                assert_eq!(us, node, "{}", context());
                same += 1;
                if us == "ok" {
                    accepted += 1;
                }
            }
        }
    }
    eprintln!(
        "differential vs stripe-node: {} cases, {same} identical ({accepted} accepted), {stricter} deliberate differences",
        cases.len()
    );
    assert!(same >= 1400 && accepted >= 500, "too few comparable cases");
}
