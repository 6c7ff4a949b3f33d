//! Stripe webhook signatures: parsing `Stripe-Signature`, verifying it, and signing.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256 keyed by the endpoint's signing secret
//! (the whole `whsec_...` string) and sends `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`.
//!
//! Differences from stripe-node, all deliberate and stricter:
//! - the timestamp tolerance is two-sided: a timestamp too far in the *future* is rejected too;
//! - a tolerance of 0 is a configuration error, never "no tolerance" ([`Tolerance::Disabled`] is);
//! - `t` must be all digits (stripe-node's `parseInt` would read `t=12abc` as 12) and may appear
//!   twice only with the same value;
//! - `v1` values that are not 64 hex digits are skipped before comparing (as stripe-go does).

use std::fmt;
use std::num::NonZeroU64;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The HTTP header Stripe puts the signature in.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// The only signature scheme Stripe uses for live signatures.
pub const SCHEME_V1: &str = "v1";
/// Stripe's (and the SDKs') default tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Length of a SHA-256 HMAC in bytes.
pub const SIGNATURE_LEN: usize = 32;

/// The hint stripe-node gives with a failed match: the classic mistake is to verify a parsed
/// and re-serialized body instead of the raw bytes Stripe sent.
pub const RAW_BODY_HINT: &str = "Are you passing the raw request body you received from Stripe? \
The signature covers the exact bytes Stripe sent: a body that was parsed and serialized again \
(JSON middleware, a framework's body parser, a changed encoding or whitespace) will not match. \
Also check that the signing secret is the one of this endpoint (whsec_...).";

/// Added to a failed match when a configured secret contains whitespace.
pub const WHITESPACE_NOTE: &str = " Note: a configured signing secret contains whitespace; \
this often means an extra space or newline was copied with it.";

type HmacSha256 = Hmac<Sha256>;

/// SHA-256's block size: an HMAC key's padded length.
const SHA256_BLOCK: usize = 64;

/// Why a webhook was rejected. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The body was empty.
    NoPayload,
    /// The `Stripe-Signature` header was missing or empty.
    NoHeader,
    /// The header could not be read: `t` missing, not a number, or given twice with different values.
    MalformedHeader { reason: &'static str },
    /// The header carries no usable `v1` signature (none at all, or none that is 64 hex digits).
    NoSignatures,
    /// No `v1` signature matches the body under any of the secrets.
    NoMatch {
        /// A configured secret contains whitespace, which usually is a copy-paste mistake.
        secret_has_whitespace: bool,
    },
    /// The signature matched, but the timestamp is further from now than the tolerance allows.
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: u64,
    },
    /// The verifier was configured without any secret, or with an empty or blank one.
    NoSecrets,
    /// A tolerance of 0 seconds was given; to turn the check off use [`Tolerance::Disabled`].
    InvalidTolerance,
}

impl SignatureError {
    /// A stable, machine-readable kind (used by the CLI, the npm package and the Worker).
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::NoPayload => "no_payload",
            SignatureError::NoHeader => "no_header",
            SignatureError::MalformedHeader { .. } => "malformed_header",
            SignatureError::NoSignatures => "no_signatures",
            SignatureError::NoMatch { .. } => "no_match",
            SignatureError::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
            SignatureError::NoSecrets => "no_secrets",
            SignatureError::InvalidTolerance => "invalid_tolerance",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::NoPayload => f.write_str("No webhook payload was provided."),
            SignatureError::NoHeader => {
                f.write_str("No stripe-signature header value was provided.")
            }
            SignatureError::MalformedHeader { reason } => write!(
                f,
                "Unable to extract timestamp and signatures from header: {reason}."
            ),
            SignatureError::NoSignatures => {
                f.write_str("No signatures found with expected scheme v1 (64 hex digits).")
            }
            SignatureError::NoMatch {
                secret_has_whitespace,
            } => {
                write!(
                    f,
                    "No signatures found matching the expected signature for payload. {RAW_BODY_HINT}"
                )?;
                if *secret_has_whitespace {
                    f.write_str(WHITESPACE_NOTE)?;
                }
                Ok(())
            }
            SignatureError::TimestampOutsideTolerance {
                timestamp,
                now,
                tolerance_secs,
            } => {
                let when = if timestamp > now { "in the future" } else { "ago" };
                let by = timestamp.abs_diff(*now);
                write!(
                    f,
                    "Timestamp outside the tolerance zone: signed {by} s {when} (tolerance {tolerance_secs} s). \
                     Check the server clock, or whether this is a replayed event."
                )
            }
            SignatureError::NoSecrets => f.write_str("No webhook signing secret was configured."),
            SignatureError::InvalidTolerance => f.write_str(
                "A tolerance of 0 seconds is not allowed; use an explicit `Tolerance::Disabled` to turn the timestamp check off.",
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// How far the signed timestamp may be from the current time, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// `|now - t| <= secs`.
    Seconds(NonZeroU64),
    /// No timestamp check at all. Only for replaying stored events: it allows replay attacks.
    Disabled,
}

impl Tolerance {
    /// A tolerance in seconds. Zero is rejected: it must never silently mean "off".
    pub fn seconds(secs: u64) -> Result<Self, SignatureError> {
        NonZeroU64::new(secs)
            .map(Tolerance::Seconds)
            .ok_or(SignatureError::InvalidTolerance)
    }

    fn allows(self, timestamp: i64, now: i64) -> Result<(), SignatureError> {
        match self {
            Tolerance::Disabled => Ok(()),
            Tolerance::Seconds(secs) => {
                if timestamp.abs_diff(now) <= secs.get() {
                    Ok(())
                } else {
                    Err(SignatureError::TimestampOutsideTolerance {
                        timestamp,
                        now,
                        tolerance_secs: secs.get(),
                    })
                }
            }
        }
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        match NonZeroU64::new(DEFAULT_TOLERANCE_SECS) {
            Some(secs) => Tolerance::Seconds(secs),
            None => Tolerance::Disabled,
        }
    }
}

/// A webhook signing secret. Its `Debug` output is redacted so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Secret(secret.as_ref().to_vec())
    }

    /// Empty or only ASCII whitespace (space, tab, CR, LF, form feed, vertical tab).
    fn is_blank(&self) -> bool {
        self.0.iter().all(is_ascii_space)
    }

    fn has_whitespace(&self) -> bool {
        self.0.iter().any(is_ascii_space)
    }

    /// SHA-256 after the HMAC's outer padded key (RFC 2104: the key, hashed first when longer
    /// than a block, zero-padded to 64 bytes, XOR 0x5c), for finishing an inner digest.
    fn outer_state(&self) -> Sha256 {
        let hashed;
        let key: &[u8] = if self.0.len() > SHA256_BLOCK {
            hashed = Sha256::digest(&self.0);
            &hashed
        } else {
            &self.0
        };
        let mut block = [0x5c; SHA256_BLOCK];
        block.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
        Sha256::new_with_prefix(block)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        }
    }
}

fn is_ascii_space(b: &u8) -> bool {
    b.is_ascii_whitespace() || *b == 0x0b
}

#[cold]
fn unreachable_hmac() -> ! {
    // hmac::digest::InvalidLength is only returned for fixed-size-key MACs; HMAC has none.
    unreachable!("HMAC-SHA256 accepts keys of every length")
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}
impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s.into_bytes())
    }
}
impl From<&String> for Secret {
    fn from(s: &String) -> Self {
        Secret::new(s)
    }
}

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The signed Unix timestamp (`t=`).
    pub timestamp: i64,
    /// The well-formed `v1` signatures, in header order.
    pub v1: Vec<[u8; SIGNATURE_LEN]>,
    /// How many `v1` entries were skipped because they were not 64 hex digits.
    pub skipped_v1: usize,
}

/// Parses a `Stripe-Signature` header.
///
/// Items are separated by `,`, each is `key=value`; spaces around items, keys and values are
/// ignored, as are empty items, items without `=`, `v0` and unknown schemes.
pub fn parse_header(header: &str) -> Result<SignatureHeader, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::NoHeader);
    }
    let mut timestamp: Option<i64> = None;
    let mut v1 = Vec::new();
    let mut skipped_v1 = 0;
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "t" => {
                let t = parse_timestamp(value)?;
                if timestamp.is_some_and(|seen| seen != t) {
                    return Err(SignatureError::MalformedHeader {
                        reason: "two different timestamps (t=)",
                    });
                }
                timestamp = Some(t);
            }
            SCHEME_V1 => match decode_signature(value) {
                Some(sig) => v1.push(sig),
                None => skipped_v1 += 1,
            },
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::MalformedHeader {
        reason: "no timestamp (t=)",
    })?;
    Ok(SignatureHeader {
        timestamp,
        v1,
        skipped_v1,
    })
}

fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedHeader {
            reason: "the timestamp (t=) is not a whole number of seconds",
        });
    }
    value
        .parse::<i64>()
        .map_err(|_| SignatureError::MalformedHeader {
            reason: "the timestamp (t=) is out of range",
        })
}

/// A `v1` value must be exactly 64 lower-case hex digits, as Stripe sends it (stripe-node and
/// stripe-python compare lower-case hex strings, so upper case never matches there either).
fn decode_signature(value: &str) -> Option<[u8; SIGNATURE_LEN]> {
    let mut out = [0u8; SIGNATURE_LEN];
    let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if value.len() != SIGNATURE_LEN * 2 || !value.as_bytes().iter().all(lower_hex) {
        return None;
    }
    hex::decode_to_slice(value, &mut out).ok()?;
    Some(out)
}

/// The checks every verification starts with, in stripe-node's order: a header, a body, a
/// readable header, at least one usable `v1` signature. What [`Verifier::verify_signed`] takes.
pub fn checked_header(
    header: &str,
    payload_is_empty: bool,
) -> Result<SignatureHeader, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::NoHeader);
    }
    if payload_is_empty {
        return Err(SignatureError::NoPayload);
    }
    let parsed = parse_header(header)?;
    if parsed.v1.is_empty() {
        return Err(SignatureError::NoSignatures);
    }
    Ok(parsed)
}

/// The timestamp a header signs, after the checks verification starts with: what a caller
/// computing the HMACs itself for [`Verifier::verify_with_macs`] signs over.
pub fn signed_timestamp(header: &str, payload_is_empty: bool) -> Result<i64, SignatureError> {
    checked_header(header, payload_is_empty).map(|h| h.timestamp)
}

/// The raw HMAC-SHA256 of `"{timestamp}.{payload}"`.
pub fn compute_signature(payload: &[u8], secret: &Secret, timestamp: i64) -> [u8; SIGNATURE_LEN] {
    signature_with(secret.mac(), payload, timestamp)
}

/// Finishes a keyed HMAC over `"{timestamp}.{payload}"`.
fn signature_with(mut mac: HmacSha256, payload: &[u8], timestamp: i64) -> [u8; SIGNATURE_LEN] {
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// A `Stripe-Signature` header value for `payload`, as stripe-node's
/// `generateTestHeaderString` builds it: `t={timestamp},v1={hex}`.
pub fn sign(payload: &[u8], secret: &Secret, timestamp: i64) -> String {
    let sig = compute_signature(payload, secret, timestamp);
    format!("t={timestamp},{SCHEME_V1}={}", hex::encode(sig))
}

/// Compares a presented bearer token with the configured one in constant time with respect
/// to their content (only the lengths may show in the timing). An empty token never matches,
/// so an unset token cannot be met by an empty `Authorization` value.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What a successful verification established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp.
    pub timestamp: i64,
    /// Which of the configured secrets matched (0-based), e.g. to tell when an old secret can go.
    pub secret_index: usize,
}

/// Verifies `Stripe-Signature` headers against one or more secrets.
///
/// ```
/// use stripe_bridge::signature::{sign, Secret, Verifier};
/// let body = br#"{"id":"evt_1"}"#;
/// let header = sign(body, &Secret::from("whsec_test"), 1_700_000_000);
/// let verifier = Verifier::new(["whsec_old", "whsec_test"]).unwrap();
/// let ok = verifier.verify_at(body, &header, 1_700_000_100).unwrap();
/// assert_eq!(ok.secret_index, 1);
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// One HMAC state per secret, already keyed (saves the key schedule on every event).
    keys: Vec<HmacSha256>,
    /// Per secret, SHA-256 after the outer padded key ([`Verifier::mac_from_inner`]).
    outer: Vec<Sha256>,
    secret_has_whitespace: bool,
    tolerance: Tolerance,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("<{} redacted>", self.keys.len()))
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier accepting a signature by any of `secrets` (secret rolling, several endpoints),
    /// with the default tolerance of 300 s. No secrets, or an empty or blank one, is an error.
    /// Secrets are used exactly as given (never trimmed).
    pub fn new<I, S>(secrets: I) -> Result<Self, SignatureError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Secret>,
    {
        let secrets: Vec<Secret> = secrets.into_iter().map(Into::into).collect();
        if secrets.is_empty() || secrets.iter().any(Secret::is_blank) {
            return Err(SignatureError::NoSecrets);
        }
        Ok(Verifier {
            keys: secrets.iter().map(Secret::mac).collect(),
            outer: secrets.iter().map(Secret::outer_state).collect(),
            secret_has_whitespace: secrets.iter().any(Secret::has_whitespace),
            tolerance: Tolerance::default(),
        })
    }

    /// Replaces the timestamp tolerance.
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Self {
        self.tolerance = tolerance;
        self
    }

    pub fn tolerance(&self) -> Tolerance {
        self.tolerance
    }

    /// Verifies `payload` (the raw body bytes) against `header`, with `now` as the current Unix time.
    pub fn verify_at(
        &self,
        payload: &[u8],
        header: &str,
        now: i64,
    ) -> Result<Verified, SignatureError> {
        self.verify_with_macs(payload.is_empty(), header, now, |timestamp, index| {
            self.keys
                .get(index)
                .map(|key| signature_with(key.clone(), payload, timestamp))
        })
    }

    /// The number of secrets, in the order given to [`Verifier::new`].
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// The HMAC of secret `index` from its inner digest, SHA-256(K^ipad | message) computed
    /// elsewhere: SHA-256(K^opad | inner), one block here. A platform whose native hash has a
    /// per-call cost (Node's `crypto.hash`) then calls it once per secret instead of twice.
    pub fn mac_from_inner(
        &self,
        index: usize,
        inner: &[u8; SIGNATURE_LEN],
    ) -> Option<[u8; SIGNATURE_LEN]> {
        let outer = self.outer.get(index)?.clone();
        Some(outer.chain_update(inner).finalize().into())
    }

    /// Verification with the HMACs computed elsewhere, for platforms with faster native crypto
    /// (the npm package uses Node's OpenSSL). `mac(t, i)` must return HMAC-SHA256 of
    /// `"{t}.{payload}"` keyed by secret `i`; the header checks, the constant-time comparison
    /// and the tolerance stay here. A `None` counts as no match.
    pub fn verify_with_macs(
        &self,
        payload_is_empty: bool,
        header: &str,
        now: i64,
        mac: impl FnMut(i64, usize) -> Option<[u8; SIGNATURE_LEN]>,
    ) -> Result<Verified, SignatureError> {
        self.verify_signed(&checked_header(header, payload_is_empty)?, now, mac)
    }

    /// [`Verifier::verify_with_macs`] of a header already read by [`checked_header`] (a caller
    /// that needs its timestamp first reads it once).
    pub fn verify_signed(
        &self,
        parsed: &SignatureHeader,
        now: i64,
        mut mac: impl FnMut(i64, usize) -> Option<[u8; SIGNATURE_LEN]>,
    ) -> Result<Verified, SignatureError> {
        let secret_index = (0..self.keys.len())
            .position(|index| {
                let Some(expected) = mac(parsed.timestamp, index) else {
                    return false;
                };
                // Compare against every candidate without an early exit inside one secret.
                parsed
                    .v1
                    .iter()
                    .fold(subtle::Choice::from(0), |acc, sig| {
                        acc | sig.ct_eq(&expected)
                    })
                    .into()
            })
            .ok_or(SignatureError::NoMatch {
                secret_has_whitespace: self.secret_has_whitespace,
            })?;
        self.tolerance.allows(parsed.timestamp, now)?;
        Ok(Verified {
            timestamp: parsed.timestamp,
            secret_index,
        })
    }

    /// Verifies against the system clock. Not available on `wasm32-unknown-unknown`, which has
    /// no clock: there, pass the time to [`Verifier::verify_at`].
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn verify(&self, payload: &[u8], header: &str) -> Result<Verified, SignatureError> {
        self.verify_at(payload, header, unix_now())
    }
}

/// The current Unix time in seconds from the system clock.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn unix_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const T: i64 = 1_700_000_000;

    fn verifier() -> Verifier {
        Verifier::new([SECRET]).unwrap()
    }

    fn v1_hex(body: &[u8], secret: &str, t: i64) -> String {
        hex::encode(compute_signature(body, &Secret::from(secret), t))
    }

    #[test]
    fn bearer_tokens_compare_by_content() {
        assert!(tokens_equal("shop_token_123", "shop_token_123"));
        assert!(!tokens_equal("shop_token_123", "shop_token_124"));
        assert!(!tokens_equal("shop_token_123", "shop_token_12"));
        assert!(!tokens_equal("shop_token_123", "Shop_token_123"));
        assert!(!tokens_equal("shop_token_123", "shop_token_123 "));
        // An empty token (unset, or an empty header) never matches.
        assert!(!tokens_equal("", ""));
        assert!(!tokens_equal("", "x"));
        assert!(!tokens_equal("x", ""));
        assert!(tokens_equal("é", "é"));
        assert!(!tokens_equal("é", "e\u{301}"));
    }

    #[test]
    fn known_vector_matches_hmac_definition() {
        // Computed independently:
        // printf '1700000000.%s' "$BODY" | openssl dgst -sha256 -hmac whsec_test_secret
        let header = sign(BODY, &Secret::from(SECRET), T);
        assert_eq!(
            header,
            "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        );
    }

    #[test]
    fn accepts_valid_signature() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        let ok = verifier().verify_at(BODY, &header, T).unwrap();
        assert_eq!(ok.timestamp, T);
        assert_eq!(ok.secret_index, 0);
    }

    #[test]
    fn rejects_empty_header_and_payload() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        assert_eq!(
            verifier().verify_at(BODY, "", T),
            Err(SignatureError::NoHeader)
        );
        assert_eq!(
            verifier().verify_at(BODY, "  ", T),
            Err(SignatureError::NoHeader)
        );
        assert_eq!(
            verifier().verify_at(b"", &header, T),
            Err(SignatureError::NoPayload)
        );
    }

    #[test]
    fn rejects_header_without_timestamp() {
        let h = format!("v1={}", v1_hex(BODY, SECRET, T));
        assert!(matches!(
            verifier().verify_at(BODY, &h, T),
            Err(SignatureError::MalformedHeader { .. })
        ));
        assert!(matches!(
            parse_header("garbage"),
            Err(SignatureError::MalformedHeader { .. })
        ));
    }

    #[test]
    fn rejects_non_numeric_timestamps() {
        for t in [
            "12abc",
            "abc",
            "-5",
            "+5",
            "1.5",
            "",
            "1e9",
            "0x10",
            "99999999999999999999",
        ] {
            let h = format!("t={t},v1={}", v1_hex(BODY, SECRET, T));
            assert!(
                matches!(
                    parse_header(&h),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "t={t:?} should be malformed"
            );
        }
    }

    #[test]
    fn duplicate_timestamp_same_value_ok_conflicting_rejected() {
        let sig = v1_hex(BODY, SECRET, T);
        let same = format!("t={T},t={T},v1={sig}");
        assert!(verifier().verify_at(BODY, &same, T).is_ok());
        let conflict = format!("t={T},v1={sig},t={}", T + 1);
        assert_eq!(
            verifier().verify_at(BODY, &conflict, T),
            Err(SignatureError::MalformedHeader {
                reason: "two different timestamps (t=)"
            })
        );
    }

    #[test]
    fn no_v1_or_only_other_schemes() {
        let sig = v1_hex(BODY, SECRET, T);
        for h in [
            format!("t={T}"),
            format!("t={T},v0={sig}"),
            format!("t={T},v2={sig}"),
            format!("t={T},V1={sig}"),
        ] {
            assert_eq!(
                verifier().verify_at(BODY, &h, T),
                Err(SignatureError::NoSignatures),
                "{h}"
            );
        }
    }

    #[test]
    fn invalid_v1_entries_are_skipped() {
        let sig = v1_hex(BODY, SECRET, T);
        let h = format!("t={T},v1=zz{},v1=abcd,v1=,v1={sig}", &sig[2..]);
        let parsed = parse_header(&h).unwrap();
        assert_eq!(parsed.v1.len(), 1);
        assert_eq!(parsed.skipped_v1, 3);
        assert!(verifier().verify_at(BODY, &h, T).is_ok());
        // Only invalid ones: nothing usable.
        let h = format!("t={T},v1=xyz,v1={}", &sig[1..]);
        assert_eq!(
            verifier().verify_at(BODY, &h, T),
            Err(SignatureError::NoSignatures)
        );
    }

    #[test]
    fn uppercase_hex_is_not_a_v1_signature() {
        let sig = v1_hex(BODY, SECRET, T).to_uppercase();
        assert_eq!(
            verifier().verify_at(BODY, &format!("t={T},v1={sig}"), T),
            Err(SignatureError::NoSignatures)
        );
    }

    #[test]
    fn blank_secrets_rejected_whitespace_noted() {
        for blank in ["", " ", "\t", "\r\n", "\x0c", "\x0b", " \t\r\n\x0c\x0b"] {
            assert_eq!(
                Verifier::new([blank]).unwrap_err(),
                SignatureError::NoSecrets,
                "{blank:?}"
            );
        }
        // Secrets are never trimmed: a padded secret verifies what it signed.
        let padded = " \twhsec_test_secret\r\n";
        let header = sign(BODY, &Secret::from(padded), T);
        assert!(Verifier::new([padded])
            .unwrap()
            .verify_at(BODY, &header, T)
            .is_ok());
        let err = Verifier::new([padded])
            .unwrap()
            .verify_at(b"{}", &header, T)
            .unwrap_err();
        assert_eq!(
            err,
            SignatureError::NoMatch {
                secret_has_whitespace: true
            }
        );
        assert!(err.to_string().contains("whitespace"));
        // A non-breaking space is not blank.
        assert!(Verifier::new(["\u{a0}"]).is_ok());
    }

    #[test]
    fn matches_any_of_several_signatures() {
        let good = v1_hex(BODY, SECRET, T);
        let other = v1_hex(BODY, "whsec_other", T);
        let h = format!("t={T},v1={other},v0={good},v1={good}");
        assert!(verifier().verify_at(BODY, &h, T).is_ok());
        let h = format!("t={T},v1={good},v1={other}");
        assert!(verifier().verify_at(BODY, &h, T).is_ok());
    }

    #[test]
    fn tolerates_spaces_and_empty_items() {
        let sig = v1_hex(BODY, SECRET, T);
        for h in [
            format!("t={T}, v1={sig}"),
            format!(" t = {T} ,  v1 = {sig} "),
            format!("t={T},,v1={sig},"),
            format!("t={T},junk,v1={sig}"),
            format!("t={T},\tv1={sig}"),
        ] {
            assert!(verifier().verify_at(BODY, &h, T).is_ok(), "{h:?}");
        }
    }

    #[test]
    fn wrong_secret_tampered_body_or_timestamp_do_not_match() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        let err = Verifier::new(["whsec_wrong"])
            .unwrap()
            .verify_at(BODY, &header, T)
            .unwrap_err();
        assert_eq!(
            err,
            SignatureError::NoMatch {
                secret_has_whitespace: false
            }
        );
        assert!(err.to_string().contains("raw request body"));
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 1;
        assert_eq!(
            verifier().verify_at(&tampered, &header, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
        let sig = v1_hex(BODY, SECRET, T);
        let h = format!("t={},v1={sig}", T + 1);
        assert_eq!(
            verifier().verify_at(BODY, &h, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
    }

    #[test]
    fn reserialized_body_does_not_match() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        let pretty = br#"{
  "id": "evt_test_webhook",
  "object": "event"
}"#;
        assert_eq!(
            verifier().verify_at(pretty, &header, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
    }

    #[test]
    fn tolerance_is_two_sided_and_inclusive() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        let v = verifier();
        assert!(v.verify_at(BODY, &header, T + 300).is_ok());
        assert!(v.verify_at(BODY, &header, T - 300).is_ok());
        let old = v.verify_at(BODY, &header, T + 301).unwrap_err();
        assert_eq!(
            old,
            SignatureError::TimestampOutsideTolerance {
                timestamp: T,
                now: T + 301,
                tolerance_secs: 300
            }
        );
        assert!(old.to_string().contains("301 s ago"));
        let future = v.verify_at(BODY, &header, T - 301).unwrap_err();
        assert!(future.to_string().contains("in the future"), "{future}");
    }

    #[test]
    fn custom_and_disabled_tolerance() {
        let header = sign(BODY, &Secret::from(SECRET), T);
        let v = verifier().with_tolerance(Tolerance::seconds(10).unwrap());
        assert!(v.verify_at(BODY, &header, T + 10).is_ok());
        assert!(v.verify_at(BODY, &header, T + 11).is_err());
        let off = verifier().with_tolerance(Tolerance::Disabled);
        assert!(off.verify_at(BODY, &header, T + 10_000_000).is_ok());
        assert!(off.verify_at(BODY, &header, 0).is_ok());
        // Disabling the check does not disable the signature.
        assert_eq!(
            off.verify_at(b"{}", &header, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
    }

    #[test]
    fn zero_tolerance_is_an_error_not_off() {
        assert_eq!(Tolerance::seconds(0), Err(SignatureError::InvalidTolerance));
        assert_eq!(Tolerance::default(), Tolerance::seconds(300).unwrap());
    }

    #[test]
    fn signature_is_checked_before_timestamp() {
        // A bad signature with a stale timestamp reports the signature, like stripe-node.
        let h = format!("t=1,v1={}", "0".repeat(64));
        assert_eq!(
            verifier().verify_at(BODY, &h, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
    }

    #[test]
    fn several_secrets_any_matches() {
        let header = sign(BODY, &Secret::from("whsec_new"), T);
        let v = Verifier::new(["whsec_old", "whsec_new", "whsec_other_endpoint"]).unwrap();
        assert_eq!(v.verify_at(BODY, &header, T).unwrap().secret_index, 1);
        assert_eq!(
            Verifier::new(Vec::<String>::new()).unwrap_err(),
            SignatureError::NoSecrets
        );
        assert_eq!(
            Verifier::new(["whsec_a", ""]).unwrap_err(),
            SignatureError::NoSecrets
        );
    }

    #[test]
    fn non_utf8_body_is_verified_as_bytes() {
        let body = [0xff, 0xfe, b'{', 0x80, 0x00, b'}'];
        let header = sign(&body, &Secret::from(SECRET), T);
        assert!(verifier().verify_at(&body, &header, T).is_ok());
        let mut other = body;
        other[0] = 0xfd;
        assert_eq!(
            verifier().verify_at(&other, &header, T),
            Err(SignatureError::NoMatch {
                secret_has_whitespace: false
            })
        );
    }

    #[test]
    fn errors_and_debug_never_show_the_secret() {
        let secret = "whsec_super_secret_value";
        let v = Verifier::new([secret]).unwrap();
        assert!(!format!("{v:?}").contains("super_secret"));
        let header = sign(BODY, &Secret::from(secret), T);
        let errs = [
            v.verify_at(b"{}", &header, T).unwrap_err(),
            v.verify_at(BODY, &header, T + 1000).unwrap_err(),
            v.verify_at(BODY, "t=x", T).unwrap_err(),
        ];
        for e in errs {
            assert!(!e.to_string().contains("super_secret"));
            assert!(!format!("{e:?}").contains("super_secret"));
        }
    }

    /// The header cases of stripe-go's `TestTokenNew` and stripe-python's `test_webhook.py`
    /// that the tests above do not already cover by name.
    #[test]
    fn sdk_header_cases() {
        let v = verifier();
        let sig = v1_hex(BODY, SECRET, T);
        // stripe-go: "v1,t=1" (an item without '=') has a timestamp but no v1 signature.
        assert_eq!(
            v.verify_at(BODY, "v1,t=1", T),
            Err(SignatureError::NoSignatures)
        );
        // stripe-go: "t=" is malformed.
        assert!(matches!(
            v.verify_at(BODY, "t=", T),
            Err(SignatureError::MalformedHeader { .. })
        ));
        // stripe-go: ",v1=bad_signature" appended to a valid header is ignored.
        let h = format!("t={T},v1={sig},v1=bad_signature");
        assert!(v.verify_at(BODY, &h, T).is_ok());
        // stripe-go: a 4-byte signature ("deadbeef") is not a v1 signature.
        let h = format!("t={T},v1=deadbeef");
        assert_eq!(v.verify_at(BODY, &h, T), Err(SignatureError::NoSignatures));
        // stripe-node: "I'm not even a real signature header".
        assert!(matches!(
            v.verify_at(BODY, "I'm not even a real signature header", T),
            Err(SignatureError::MalformedHeader { .. })
        ));
        // stripe-python: the generated header has t and a 64-digit v1, and verifies.
        let header = sign(BODY, &Secret::from(SECRET), 1_234_567_890);
        let parsed = parse_header(&header).unwrap();
        assert_eq!(parsed.timestamp, 1_234_567_890);
        assert_eq!(parsed.v1.len(), 1);
        assert_eq!(header.split(',').count(), 2);
        // stripe-node: tolerance 10 s with the signature 15 s old fails, 9 s old passes.
        let ten = verifier().with_tolerance(Tolerance::seconds(10).unwrap());
        let h = sign(BODY, &Secret::from(SECRET), 20_000 - 15);
        assert!(matches!(
            ten.verify_at(BODY, &h, 20_000),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
        let h = sign(BODY, &Secret::from(SECRET), 20_000 - 9);
        assert!(ten.verify_at(BODY, &h, 20_000).is_ok());
        // stripe-go: "IgnoringTolerance" with t=12345.
        let h = sign(BODY, &Secret::from(SECRET), 12_345);
        assert!(verifier()
            .with_tolerance(Tolerance::Disabled)
            .verify_at(BODY, &h, T)
            .is_ok());
    }

    proptest::proptest! {
        /// Finishing an inner digest gives the HMAC (the hmac crate's, the oracle) for any
        /// secret, short or longer than a block, and any message; the inner digest is
        /// computed here from RFC 2104's definition, apart from the code under test.
        #[test]
        fn a_finished_inner_digest_is_the_hmac(
            secrets in proptest::collection::vec(proptest::collection::vec(0x21u8..0xff, 1..150), 1..4),
            message in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let v = Verifier::new(secrets.iter().map(Secret::new)).unwrap();
            for (index, secret) in secrets.iter().enumerate() {
                let key = if secret.len() > 64 { Sha256::digest(secret).to_vec() } else { secret.clone() };
                let mut ipad = [0x36u8; 64];
                ipad.iter_mut().zip(&key).for_each(|(p, k)| *p ^= k);
                let inner: [u8; 32] = Sha256::new_with_prefix(ipad).chain_update(&message).finalize().into();
                let expected: [u8; 32] = HmacSha256::new_from_slice(secret).unwrap().chain_update(&message).finalize().into_bytes().into();
                proptest::prop_assert_eq!(v.mac_from_inner(index, &inner), Some(expected));
            }
            proptest::prop_assert_eq!(v.mac_from_inner(secrets.len(), &[0; 32]), None);
        }
    }

    #[test]
    fn precomputed_macs_follow_the_same_rules() {
        let v = Verifier::new(["whsec_other", SECRET]).unwrap();
        assert_eq!(v.secret_count(), 2);
        let header = sign(BODY, &Secret::from(SECRET), T);
        let macs = |t: i64, i: usize| {
            Some(compute_signature(
                BODY,
                &Secret::from(["whsec_other", SECRET][i]),
                t,
            ))
        };
        assert_eq!(signed_timestamp(&header, false), Ok(T));
        assert_eq!(
            signed_timestamp(&header, true),
            Err(SignatureError::NoPayload)
        );
        assert_eq!(signed_timestamp("", false), Err(SignatureError::NoHeader));
        let ok = v.verify_with_macs(false, &header, T, macs).unwrap();
        assert_eq!(ok.secret_index, 1);
        assert!(matches!(
            v.verify_with_macs(false, &header, T + 301, macs),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
        assert!(matches!(
            v.verify_with_macs(false, &header, T, |_, _| None),
            Err(SignatureError::NoMatch { .. })
        ));
        assert!(matches!(
            v.verify_with_macs(false, &header, T, |_, _| Some([0; 32])),
            Err(SignatureError::NoMatch { .. })
        ));
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let v = verifier();
        let h = sign(BODY, &Secret::from(SECRET), i64::MAX);
        assert!(matches!(
            v.verify_at(BODY, &h, i64::MIN),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ));
        assert!(v.verify_at(BODY, &h, i64::MAX).is_ok());
    }
}
