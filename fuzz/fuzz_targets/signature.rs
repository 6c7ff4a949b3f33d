//! `Stripe-Signature` header parsing and verification (`signature::parse_header`,
//! `Verifier::verify_at`).
//!
//! Invariants: a header built independently (HMAC-SHA256 of `"{t}.{payload}"`, lower-case
//! hex) always verifies within the tolerance; flipping a byte of the payload, changing the
//! secret, the signed timestamp or a signature digit never verifies; a fuzz-written header that
//! verifies carries a `v1` equal to the independent HMAC; no panic on any header.
#![no_main]

use arbitrary::Arbitrary;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use stripe_bridge::signature::{parse_header, SignatureError, Verifier};

#[derive(Arbitrary, Debug)]
struct Input {
    payload: Vec<u8>,
    secret: String,
    other_secret: String,
    timestamp: u32,
    skew: i16,
    flip: u16,
    /// A header as written by anyone.
    raw_header: String,
    noise: String,
}

fn hmac_hex(secret: &[u8], t: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

fn blank(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_whitespace() || b == 0x0b)
}

fuzz_target!(|input: Input| {
    let t = i64::from(input.timestamp);
    let now = t + i64::from(input.skew);
    // Any header: never a panic; a success means a v1 equal to the independent HMAC.
    let _ = parse_header(&input.raw_header);
    if let Ok(verifier) = Verifier::new([input.secret.as_str()]) {
        if let Ok(ok) = verifier.verify_at(&input.payload, &input.raw_header, now) {
            let parsed = parse_header(&input.raw_header).expect("verified header parses");
            let want = hmac_hex(input.secret.as_bytes(), ok.timestamp, &input.payload);
            assert!(parsed.v1.iter().any(|s| hex::encode(s) == want));
        }
    }
    if input.payload.is_empty() || blank(&input.secret) {
        return;
    }
    let verifier = Verifier::new([input.secret.as_str()]).expect("non-blank secret");
    let sig = hmac_hex(input.secret.as_bytes(), t, &input.payload);
    let header = format!("t={t},v1={sig}");
    // Stripe's own header shape, with a v0 and extra spaces around items.
    let padded = format!(" t={t} , v1={sig},v0={}", "0".repeat(64));
    let result = verifier.verify_at(&input.payload, &header, now);
    if input.skew.unsigned_abs() <= 300 {
        assert_eq!(result.map(|v| v.timestamp), Ok(t));
        assert!(verifier.verify_at(&input.payload, &padded, now).is_ok());
        // Also with a noise entry in front (Stripe may send several v1s).
        let noisy = format!("t={t},v1={},v1={sig}", hmac_hex(b"x", t, &input.payload));
        assert!(verifier.verify_at(&input.payload, &noisy, now).is_ok());
    } else {
        assert!(matches!(
            result,
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
    }
    // Mutations never verify.
    let mut payload = input.payload.clone();
    let i = usize::from(input.flip) % payload.len();
    payload[i] ^= 1 << (input.flip % 8);
    assert!(verifier.verify_at(&payload, &header, t).is_err());
    let shifted = format!("t={},v1={sig}", t + 1);
    assert!(verifier.verify_at(&input.payload, &shifted, t).is_err());
    let mut digits = sig.into_bytes();
    let d = usize::from(input.flip) % digits.len();
    digits[d] = if digits[d] == b'0' { b'1' } else { b'0' };
    let bad = format!("t={t},v1={}", String::from_utf8(digits).expect("hex"));
    assert!(verifier.verify_at(&input.payload, &bad, t).is_err());
    if !stripe_bridge_fuzz::same_hmac_key(input.other_secret.as_bytes(), input.secret.as_bytes())
        && !blank(&input.other_secret)
    {
        let other = Verifier::new([input.other_secret.as_str()]).expect("non-blank");
        assert!(matches!(
            other.verify_at(&input.payload, &header, t),
            Err(SignatureError::NoMatch { .. })
        ));
        // Rolling secrets: either one verifies, and the index says which.
        let both =
            Verifier::new([input.other_secret.as_str(), input.secret.as_str()]).expect("non-blank");
        assert_eq!(
            both.verify_at(&input.payload, &header, t)
                .map(|v| v.secret_index),
            Ok(1)
        );
    }
    let _ = input.noise;
});
