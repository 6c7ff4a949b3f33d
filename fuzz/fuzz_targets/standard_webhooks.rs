//! Standard Webhooks signing and verification (`standard_webhooks::WebhookSecret`).
//!
//! Invariants: a signature computed independently (HMAC-SHA256 of `"{id}.{t}.{payload}"`,
//! base64, `v1,` prefix) equals ours and verifies, also among other signatures in the list;
//! changing the payload, the id, the timestamp or the key never verifies; a timestamp outside
//! the tolerance is refused; any header values (fuzz-written) never panic, and if they verify
//! the list holds the independent signature.
#![no_main]

use arbitrary::Arbitrary;
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use stripe_bridge::standard_webhooks::{StandardWebhookError, WebhookSecret};

#[derive(Arbitrary, Debug)]
struct Input {
    key: Vec<u8>,
    other_key: Vec<u8>,
    id: String,
    timestamp: u32,
    skew: i16,
    payload: Vec<u8>,
    flip: u16,
    raw_id: String,
    raw_timestamp: String,
    raw_signatures: String,
    raw_secret: String,
}

fn reference(key: &[u8], id: &str, t: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{id}.{t}.").as_bytes());
    mac.update(payload);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fuzz_target!(|input: Input| {
    // Any secret text and header values: never a panic.
    if let Ok(secret) = WebhookSecret::parse(&input.raw_secret) {
        let r = secret.verify(
            &input.raw_id,
            &input.raw_timestamp,
            &input.raw_signatures,
            &input.payload,
            i64::from(input.timestamp),
            300,
        );
        if r.is_ok() {
            let key = STANDARD
                .decode(
                    input
                        .raw_secret
                        .trim()
                        .strip_prefix("whsec_")
                        .unwrap_or(input.raw_secret.trim()),
                )
                .expect("parsed");
            let t: i64 = input
                .raw_timestamp
                .trim()
                .parse()
                .expect("verified timestamp");
            let want = reference(&key, &input.raw_id, t, &input.payload);
            assert!(input.raw_signatures.split(' ').any(|s| s == want));
        }
    }
    if input.key.is_empty() || input.id.trim().is_empty() {
        return;
    }
    let text = format!("whsec_{}", STANDARD.encode(&input.key));
    let secret = WebhookSecret::parse(&text).expect("valid secret");
    let t = i64::from(input.timestamp);
    let now = t + i64::from(input.skew);
    let sig = secret.sign(&input.id, t, &input.payload);
    assert_eq!(sig, reference(&input.key, &input.id, t, &input.payload));
    let ts = t.to_string();
    let within = input.skew.unsigned_abs() <= 300;
    let r = secret.verify(&input.id, &ts, &sig, &input.payload, now, 300);
    if within {
        assert_eq!(r, Ok(()));
        let list = format!("v1,AAAA v2,{} {sig}", &sig[3..]);
        assert_eq!(
            secret.verify(&input.id, &ts, &list, &input.payload, now, 300),
            Ok(())
        );
    } else {
        assert_eq!(r, Err(StandardWebhookError::TimestampOutsideTolerance));
    }
    // Mutations.
    let mut payload = input.payload.clone();
    if !payload.is_empty() {
        let i = usize::from(input.flip) % payload.len();
        payload[i] ^= 1 << (input.flip % 8);
        assert!(secret
            .verify(&input.id, &ts, &sig, &payload, t, 300)
            .is_err());
    }
    let mut longer = input.payload.clone();
    longer.push(b' ');
    assert!(secret
        .verify(&input.id, &ts, &sig, &longer, t, 300)
        .is_err());
    let other_id = format!("{}x", input.id);
    assert!(secret
        .verify(&other_id, &ts, &sig, &input.payload, t, 300)
        .is_err());
    let next = (t + 1).to_string();
    assert!(secret
        .verify(&input.id, &next, &sig, &input.payload, t + 1, 300)
        .is_err());
    if !input.other_key.is_empty()
        && !stripe_bridge_fuzz::same_hmac_key(&input.other_key, &input.key)
    {
        let other = WebhookSecret::parse(&STANDARD.encode(&input.other_key)).expect("valid");
        assert_eq!(
            other.verify(&input.id, &ts, &sig, &input.payload, t, 300),
            Err(StandardWebhookError::NoMatch)
        );
    }
});
