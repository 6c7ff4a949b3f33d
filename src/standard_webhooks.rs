//! Standard Webhooks (<https://www.standardwebhooks.com>) signatures, for what stripe-bridge
//! forwards to a shop or ERP backend: any Standard Webhooks library can verify them.
//!
//! Headers: `webhook-id` (the Stripe event id: the idempotency key), `webhook-timestamp` (Unix
//! seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several
//! separated by spaces). The secret is `whsec_` followed by base64; the key is the decoded bytes.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// The secret prefix of the specification.
pub const SECRET_PREFIX: &str = "whsec_";
/// The tolerance the reference libraries use, in seconds (both directions).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Why signing or verification failed. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StandardWebhookError {
    /// The secret is not `whsec_` + base64 (or plain base64) of at least one byte.
    InvalidSecret,
    /// A required header is missing or empty.
    MissingHeader { name: &'static str },
    /// `webhook-timestamp` is not a whole number of seconds.
    InvalidTimestamp,
    /// The timestamp is further from now than the tolerance.
    TimestampOutsideTolerance,
    /// No `v1` signature matches.
    NoMatch,
}

impl StandardWebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            StandardWebhookError::InvalidSecret => "invalid_secret",
            StandardWebhookError::MissingHeader { .. } => "missing_header",
            StandardWebhookError::InvalidTimestamp => "invalid_timestamp",
            StandardWebhookError::TimestampOutsideTolerance => "timestamp_outside_tolerance",
            StandardWebhookError::NoMatch => "no_match",
        }
    }
}

impl fmt::Display for StandardWebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StandardWebhookError::InvalidSecret => {
                f.write_str("the Standard Webhooks secret must be whsec_ followed by base64")
            }
            StandardWebhookError::MissingHeader { name } => write!(f, "missing header {name}"),
            StandardWebhookError::InvalidTimestamp => {
                f.write_str("webhook-timestamp is not a whole number of seconds")
            }
            StandardWebhookError::TimestampOutsideTolerance => {
                f.write_str("webhook-timestamp is outside the tolerance")
            }
            StandardWebhookError::NoMatch => {
                f.write_str("no webhook-signature matches the payload")
            }
        }
    }
}

impl std::error::Error for StandardWebhookError {}

/// A Standard Webhooks signing key. `Debug` is redacted.
#[derive(Clone)]
pub struct WebhookSecret {
    mac: HmacSha256,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(secret: &str) -> Result<Self, StandardWebhookError> {
        let encoded = secret.trim();
        let encoded = encoded.strip_prefix(SECRET_PREFIX).unwrap_or(encoded);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| StandardWebhookError::InvalidSecret)?;
        if key.is_empty() {
            return Err(StandardWebhookError::InvalidSecret);
        }
        let mac =
            HmacSha256::new_from_slice(&key).map_err(|_| StandardWebhookError::InvalidSecret)?;
        Ok(WebhookSecret { mac })
    }

    fn digest(&self, id: &str, timestamp: i64, payload: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }

    /// The `webhook-signature` value: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, payload: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.digest(id, timestamp, payload))
        )
    }

    /// The three headers to send with `payload`.
    pub fn headers(&self, id: &str, timestamp: i64, payload: &[u8]) -> [(&'static str, String); 3] {
        headers_with(id, timestamp, self.sign(id, timestamp, payload))
    }

    /// Verifies a received webhook: any `v1` signature of the space-separated list may match
    /// (constant-time), and the timestamp must be within `tolerance_secs` of `now` either way.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        payload: &[u8],
        now: i64,
        tolerance_secs: u64,
    ) -> Result<(), StandardWebhookError> {
        for (name, value) in [
            (HEADER_ID, id),
            (HEADER_TIMESTAMP, timestamp),
            (HEADER_SIGNATURE, signatures),
        ] {
            if value.trim().is_empty() {
                return Err(StandardWebhookError::MissingHeader { name });
            }
        }
        let ts = timestamp.trim();
        if !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StandardWebhookError::InvalidTimestamp);
        }
        let ts: i64 = ts
            .parse()
            .map_err(|_| StandardWebhookError::InvalidTimestamp)?;
        let expected = self.digest(id, ts, payload);
        let matched = signatures
            .split(' ')
            .filter_map(|item| item.split_once(','))
            .filter(|(version, _)| *version == "v1")
            .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
            .fold(subtle::Choice::from(0), |acc, sig| {
                acc | sig.as_slice().ct_eq(expected.as_slice())
            });
        if !bool::from(matched) {
            return Err(StandardWebhookError::NoMatch);
        }
        if ts.abs_diff(now) > tolerance_secs {
            return Err(StandardWebhookError::TimestampOutsideTolerance);
        }
        Ok(())
    }
}

/// The three Standard Webhooks headers with a computed `webhook-signature` value.
fn headers_with(id: &str, timestamp: i64, signature: String) -> [(&'static str, String); 3] {
    [
        (HEADER_ID, id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, signature),
    ]
}

/// One or more signing secrets (e.g. the new and the old one while a receiver rotates).
/// `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct WebhookSigner {
    secrets: Vec<WebhookSecret>,
}

impl WebhookSigner {
    /// A signer with these secrets, in order; [`StandardWebhookError::InvalidSecret`] for none.
    pub fn new(secrets: Vec<WebhookSecret>) -> Result<Self, StandardWebhookError> {
        if secrets.is_empty() {
            return Err(StandardWebhookError::InvalidSecret);
        }
        Ok(WebhookSigner { secrets })
    }

    /// Parses one or more `whsec_<base64>` secrets separated by spaces or commas (base64
    /// has neither), e.g. `"whsec_new whsec_old"`.
    pub fn parse(secrets: &str) -> Result<Self, StandardWebhookError> {
        let secrets = secrets
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(WebhookSecret::parse)
            .collect::<Result<Vec<_>, _>>()?;
        WebhookSigner::new(secrets)
    }

    /// How many secrets sign.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Always false: a signer has at least one secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The `webhook-signature` value: one `v1,<base64>` per secret, in order, separated by
    /// spaces (the specification's list, for rotating a secret: a receiver that knows either
    /// secret accepts it).
    pub fn sign(&self, id: &str, timestamp: i64, payload: &[u8]) -> String {
        self.secrets
            .iter()
            .map(|secret| secret.sign(id, timestamp, payload))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The three headers to send with `payload`, signed with every secret.
    pub fn headers(&self, id: &str, timestamp: i64, payload: &[u8]) -> [(&'static str, String); 3] {
        headers_with(id, timestamp, self.sign(id, timestamp, payload))
    }
}

impl From<WebhookSecret> for WebhookSigner {
    fn from(secret: WebhookSecret) -> Self {
        WebhookSigner {
            secrets: vec![secret],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks reference libraries (checked with npm
    // `standardwebhooks` 1.1.1).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn matches_the_reference_vector() {
        assert_eq!(secret().sign(ID, TS, BODY), SIG);
        let headers = secret().headers(ID, TS, BODY);
        assert_eq!(headers[0], ("webhook-id", ID.to_owned()));
        assert_eq!(headers[1], ("webhook-timestamp", TS.to_string()));
        assert_eq!(headers[2], ("webhook-signature", SIG.to_owned()));
        // The prefix is optional.
        let bare = WebhookSecret::parse(SECRET.trim_start_matches("whsec_")).unwrap();
        assert_eq!(bare.sign(ID, TS, BODY), SIG);
    }

    #[test]
    fn verifies_and_rejects() {
        let s = secret();
        let ts = TS.to_string();
        assert!(s.verify(ID, &ts, SIG, BODY, TS, 300).is_ok());
        let several = format!("v1,AAAA {SIG} v2,xyz");
        assert!(s.verify(ID, &ts, &several, BODY, TS + 300, 300).is_ok());
        assert_eq!(
            s.verify(ID, &ts, SIG, b"{}", TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
        assert_eq!(
            s.verify("msg_other", &ts, SIG, BODY, TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
        assert_eq!(
            s.verify(ID, &ts, SIG, BODY, TS + 301, 300),
            Err(StandardWebhookError::TimestampOutsideTolerance)
        );
        assert_eq!(
            s.verify(ID, &ts, SIG, BODY, TS - 301, 300),
            Err(StandardWebhookError::TimestampOutsideTolerance)
        );
        assert_eq!(
            s.verify(ID, "12a", SIG, BODY, TS, 300),
            Err(StandardWebhookError::InvalidTimestamp)
        );
        assert_eq!(
            s.verify("", &ts, SIG, BODY, TS, 300),
            Err(StandardWebhookError::MissingHeader { name: "webhook-id" })
        );
        assert_eq!(
            s.verify(ID, &ts, "v1,!!!", BODY, TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
    }

    // The header npm `standardwebhooks` 1.1.1 builds by joining the signatures of SECRET2 and
    // SECRET with a space; its `verify` accepts it with either secret and refuses a third.
    const SECRET2: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
    const SIG2: &str = "v1,H1dghkiigkIfP2+S0A4rDaNYD9ZpZynI1PDk3tSUiqY=";

    #[test]
    fn signs_with_several_secrets_in_order() {
        let both = [WebhookSecret::parse(SECRET2).unwrap(), secret()];
        let signer_of = |secrets: &[WebhookSecret]| WebhookSigner::new(secrets.to_vec());
        let header = signer_of(&both).unwrap().sign(ID, TS, BODY);
        assert_eq!(header, format!("{SIG2} {SIG}"));
        let headers = signer_of(&both).unwrap().headers(ID, TS, BODY);
        assert_eq!(headers[0], ("webhook-id", ID.to_owned()));
        assert_eq!(headers[1], ("webhook-timestamp", TS.to_string()));
        assert_eq!(headers[2], ("webhook-signature", header.clone()));
        assert_eq!(signer_of(&both[1..]).unwrap().sign(ID, TS, BODY), SIG);
        assert_eq!(
            signer_of(&[]).unwrap_err(),
            StandardWebhookError::InvalidSecret
        );

        let signer = WebhookSigner::parse(&format!(" {SECRET2}, {SECRET}\n")).unwrap();
        assert_eq!(signer.len(), 2);
        assert!(!signer.is_empty());
        assert_eq!(signer.sign(ID, TS, BODY), header);
        assert_eq!(signer.headers(ID, TS, BODY), headers);
        let one = WebhookSigner::from(secret());
        assert_eq!(one.sign(ID, TS, BODY), SIG);
        assert_eq!(
            WebhookSigner::parse(SECRET).unwrap().sign(ID, TS, BODY),
            SIG
        );
        assert_eq!(
            WebhookSigner::parse(" , ").unwrap_err(),
            StandardWebhookError::InvalidSecret
        );
        assert_eq!(
            WebhookSigner::parse(&format!("{SECRET} whsec_%%")).unwrap_err(),
            StandardWebhookError::InvalidSecret
        );
        assert_eq!(
            WebhookSigner::new(vec![]).unwrap_err(),
            StandardWebhookError::InvalidSecret
        );
        let debug = format!("{signer:?}");
        assert!(
            !debug.contains("MfKQ") && !debug.contains("c2Vj"),
            "{debug}"
        );
    }

    #[test]
    fn verify_accepts_any_matching_signature_of_several() {
        let header = format!("{SIG2} {SIG}");
        let ts = TS.to_string();
        // The receiver knows either the old or the new secret.
        assert!(secret().verify(ID, &ts, &header, BODY, TS, 300).is_ok());
        let second = WebhookSecret::parse(SECRET2).unwrap();
        assert!(second.verify(ID, &ts, &header, BODY, TS, 300).is_ok());
        assert!(second
            .verify(ID, &ts, &format!("{SIG} {SIG2}"), BODY, TS, 300)
            .is_ok());
        let third = WebhookSecret::parse("whsec_b3RoZXI=").unwrap();
        assert_eq!(
            third.verify(ID, &ts, &header, BODY, TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
        // Neither signature covers another body.
        assert_eq!(
            second.verify(ID, &ts, &header, b"{}", TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
        // Other versions and garbage among them are skipped, as in npm `standardwebhooks`.
        let noisy = format!("v2,{} junk {SIG2}", &SIG[3..]);
        assert!(second.verify(ID, &ts, &noisy, BODY, TS, 300).is_ok());
        assert_eq!(
            secret().verify(ID, &ts, &noisy, BODY, TS, 300),
            Err(StandardWebhookError::NoMatch)
        );
    }

    #[test]
    fn bad_secrets_are_refused_and_never_shown() {
        for bad in ["", "whsec_", "whsec_not base64!", "whsec_%%%%"] {
            assert_eq!(
                WebhookSecret::parse(bad).unwrap_err(),
                StandardWebhookError::InvalidSecret,
                "{bad:?}"
            );
        }
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(<redacted>)");
    }
}
