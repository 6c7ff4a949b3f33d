//! Talking to Stripe's API: what a response means (success, retry, or a typed error with
//! Stripe's code and request id) and how long to wait before retrying. Pure: the npm package
//! and the Worker do the HTTP.
//!
//! Retries (always with the same `Idempotency-Key`, so a retried request never creates a
//! second payment): network errors, timeouts, 429 and 5xx, up to a limit, with exponential
//! backoff (0.5 s doubling to 5 s, with jitter). Other 4xx are final. Stripe's
//! `Stripe-Should-Retry` header, when present, decides instead (`false` stops retries of a
//! 5xx; `true` retries e.g. a 409 for an idempotent request still in flight).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::payment_request::{RequestError, StripeRequest};

/// The Stripe API version stripe-bridge's request bodies are written for (Payment Links with
/// inline `price_data` need 2025-07-30.basil or later). Sent as `Stripe-Version`.
pub const API_VERSION: &str = "2025-09-30.clover";
/// Stripe's API base URL.
pub const API_BASE: &str = "https://api.stripe.com";
/// Where Stripe serves file contents (report runs' CSVs): `GET {FILES_BASE}/v1/files/{id}/contents`.
pub const FILES_BASE: &str = "https://files.stripe.com";
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
const BACKOFF_INITIAL_MS: u64 = 500;
const BACKOFF_MAX_MS: u64 = 5_000;

/// Checks an API base URL before a secret key is sent to it: `https://`, or `http://` only to
/// a loopback host (a local stand-in of Stripe's API in tests).
pub fn check_api_base(url: &str) -> Result<(), RequestError> {
    // One rule for URLs a secret is sent to (https, or http to a loopback host; no userinfo,
    // which `http://localhost:1@evil.example/` would smuggle past a prefix check).
    crate::delivery::check_http_url(url).map_err(|_| {
        RequestError::new(
            "apiBase",
            "invalid_api_base",
            "must be an https:// URL (http:// only to a loopback host such as 127.0.0.1 or localhost): the secret key is sent there",
        )
    })
}

/// The headers of `request` sent with `api_key` (checked first with
/// [`check_api_key`](crate::payment_request::check_api_key)): the key as a bearer token, the
/// form content type, the request's `Idempotency-Key`, and `Stripe-Version: API_VERSION`.
pub fn request_headers(request: &StripeRequest, api_key: &str) -> [(&'static str, String); 4] {
    [
        ("authorization", format!("Bearer {api_key}")),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("idempotency-key", request.idempotency_key.clone()),
        ("stripe-version", API_VERSION.to_owned()),
    ]
}

/// Whether `id` can stand in a request's path as a Stripe id: letters, digits and `_`, at most
/// 255 bytes (anything else could change the path). The one rule for every id put in a path.
pub(crate) fn is_path_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The headers of a `GET` (a retrieve, a list page, a file download) with `api_key`: the key
/// as a bearer token and `Stripe-Version: API_VERSION`. Reads need no Idempotency-Key.
pub fn get_headers(api_key: &str) -> [(&'static str, String); 2] {
    [
        ("authorization", format!("Bearer {api_key}")),
        ("stripe-version", API_VERSION.to_owned()),
    ]
}

/// A Stripe API error, as Stripe reported it (or as the connection failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP status (0: no response).
    pub status: u16,
    /// Stripe-node's error class name for it: `StripeCardError`, `StripeInvalidRequestError`,
    /// `StripeRateLimitError`, `StripeAPIError`, `StripeIdempotencyError`,
    /// `StripeAuthenticationError`, `StripePermissionError`, `StripeConnectionError`.
    pub kind: String,
    /// Stripe's `error.type` (`card_error`, `invalid_request_error`, `api_error`, `idempotency_error`).
    pub error_type: Option<String>,
    /// Stripe's `error.code` (`card_declined`, `rate_limit`, `resource_missing`, ...).
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub param: Option<String>,
    pub message: String,
    /// The `Request-Id` response header.
    pub request_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        match (&self.code, &self.request_id) {
            (Some(code), Some(id)) => write!(f, " ({code}, request {id})"),
            (Some(code), None) => write!(f, " ({code})"),
            (None, Some(id)) => write!(f, " (request {id})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A stable name for the class of error (Stripe's own code is the `code` field):
    /// `card_error`, `invalid_request_error`, `rate_limit_error`,
    /// `api_error`, `idempotency_error`, `authentication_error`, `permission_error`,
    /// `connection_error`.
    pub fn class(&self) -> &'static str {
        match self.kind.as_str() {
            "StripeCardError" => "card_error",
            "StripeRateLimitError" => "rate_limit_error",
            "StripeAPIError" => "api_error",
            "StripeIdempotencyError" => "idempotency_error",
            "StripeAuthenticationError" => "authentication_error",
            "StripePermissionError" => "permission_error",
            "StripeConnectionError" => "connection_error",
            _ => "invalid_request_error",
        }
    }
}

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx: the body is the object.
    Success,
    /// Try again (same idempotency key) after this long.
    Retry { delay_ms: u64, error: ApiError },
    /// Final.
    Fail { error: ApiError },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorFields {
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
    param: Option<String>,
    message: Option<String>,
}

/// Stripe-node's error class for a response: by HTTP status first, as stripe-node decides it.
fn kind_for(status: u16, error_type: Option<&str>, code: Option<&str>) -> &'static str {
    match status {
        0 => "StripeConnectionError",
        429 => "StripeRateLimitError",
        400 if code == Some("rate_limit") => "StripeRateLimitError",
        400 | 404 if error_type == Some("idempotency_error") => "StripeIdempotencyError",
        400 | 404 => "StripeInvalidRequestError",
        401 => "StripeAuthenticationError",
        402 => "StripeCardError",
        403 => "StripePermissionError",
        _ => "StripeAPIError",
    }
}

/// A success whose body is not what was asked for (`what`: "a payout", ...): an
/// `invalid_response` API error, with what the reader said.
pub fn invalid_response(what: &str, detail: impl fmt::Display) -> crate::Error {
    crate::Error::StripeApi(Box::new(ApiError {
        status: 200,
        kind: "StripeAPIError".to_owned(),
        error_type: Some("api_error".to_owned()),
        code: Some("invalid_response".to_owned()),
        decline_code: None,
        param: None,
        message: format!("Stripe's answer is not {what}: {detail}"),
        request_id: None,
    }))
}

/// Reads Stripe's error body (`{"error": {...}}`); other bodies give a generic message.
pub fn parse_error(status: u16, body: &[u8], request_id: Option<&str>) -> ApiError {
    let fields = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    ApiError {
        status,
        kind: kind_for(status, fields.error_type.as_deref(), fields.code.as_deref()).to_owned(),
        message: fields
            .message
            .unwrap_or_else(|| format!("Stripe answered HTTP {status} without an error body")),
        error_type: fields.error_type,
        code: fields.code,
        decline_code: fields.decline_code,
        param: fields.param,
        request_id: request_id.map(str::to_owned),
    }
}

/// The wait before retry number `attempt` (0-based): 0.5 s doubling up to 5 s, then scaled by
/// a jitter in per mille (500..=1000 of the full wait; pass a random 0..=1000), never under
/// 0.5 s.
pub fn backoff_ms(attempt: u32, jitter_permille: u32) -> u64 {
    let full = BACKOFF_INITIAL_MS
        .saturating_mul(1u64 << attempt.min(16))
        .min(BACKOFF_MAX_MS);
    let scale = 500 + u64::from(jitter_permille.min(1000)) / 2;
    (full * scale / 1000).max(BACKOFF_INITIAL_MS)
}

/// What a response means. `attempt` is 0 for the first try; `should_retry` is the
/// `Stripe-Should-Retry` header.
pub fn classify(
    status: u16,
    should_retry: Option<&str>,
    request_id: Option<&str>,
    body: &[u8],
    attempt: u32,
    max_retries: u32,
    jitter_permille: u32,
) -> Outcome {
    if (200..300).contains(&status) {
        return Outcome::Success;
    }
    let error = parse_error(status, body, request_id);
    // Stripe's own advice wins (`Stripe-Should-Retry: true` comes with lock timeouts and
    // in-flight idempotent requests); otherwise 429 and 5xx are retried, other 4xx never.
    let retryable = match should_retry {
        Some("false") => false,
        Some("true") => true,
        _ => status == 429 || status >= 500,
    };
    if retryable && attempt < max_retries {
        Outcome::Retry {
            delay_ms: backoff_ms(attempt, jitter_permille),
            error,
        }
    } else {
        Outcome::Fail { error }
    }
}

/// What a failed connection (or a timeout) means: retried like a 5xx.
pub fn classify_network(
    message: &str,
    attempt: u32,
    max_retries: u32,
    jitter_permille: u32,
) -> Outcome {
    let error = ApiError {
        status: 0,
        kind: kind_for(0, None, None).to_owned(),
        error_type: None,
        code: Some("connection_error".to_owned()),
        decline_code: None,
        param: None,
        message: format!("could not reach Stripe: {message}"),
        request_id: None,
    };
    if attempt < max_retries {
        Outcome::Retry {
            delay_ms: backoff_ms(attempt, jitter_permille),
            error,
        }
    } else {
        Outcome::Fail { error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLINED: &[u8] = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","param":"payment_method"}}"#;

    #[test]
    fn success_and_typed_errors() {
        assert_eq!(
            classify(200, None, Some("req_1"), b"{}", 0, 3, 0),
            Outcome::Success
        );
        let Outcome::Fail { error } = classify(402, None, Some("req_abc"), DECLINED, 0, 3, 0)
        else {
            panic!("a decline is final")
        };
        assert_eq!(
            (error.kind.as_str(), error.class()),
            ("StripeCardError", "card_error")
        );
        assert_eq!(error.code.as_deref(), Some("card_declined"));
        assert_eq!(error.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(error.request_id.as_deref(), Some("req_abc"));
        assert_eq!(
            error.to_string(),
            "Your card has insufficient funds. (card_declined, request req_abc)"
        );
        let bad = br#"{"error":{"type":"invalid_request_error","code":"parameter_missing","param":"line_items","message":"Missing required param: line_items."}}"#;
        let Outcome::Fail { error } = classify(400, None, None, bad, 0, 3, 0) else {
            panic!()
        };
        assert_eq!(
            (error.kind.as_str(), error.param.as_deref()),
            ("StripeInvalidRequestError", Some("line_items"))
        );
        let Outcome::Fail { error } = classify(401, None, None, b"", 0, 3, 0) else {
            panic!()
        };
        assert_eq!(error.kind, "StripeAuthenticationError");
        assert!(error.message.contains("HTTP 401"));
        let idem = br#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}"#;
        let Outcome::Fail { error } = classify(400, None, None, idem, 0, 3, 0) else {
            panic!()
        };
        assert_eq!(error.kind, "StripeIdempotencyError");
    }

    #[test]
    fn retries_429_5xx_and_network_with_backoff_until_the_limit() {
        let rate = br#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}"#;
        let Outcome::Retry { delay_ms, error } = classify(429, None, None, rate, 0, 3, 1000) else {
            panic!()
        };
        assert_eq!(
            (delay_ms, error.kind.as_str()),
            (500, "StripeRateLimitError")
        );
        assert!(matches!(
            classify(500, None, None, b"oops", 2, 3, 1000),
            Outcome::Retry { delay_ms: 2000, .. }
        ));
        assert!(matches!(
            classify(503, None, None, b"", 3, 3, 1000),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            classify(500, Some("false"), None, b"", 0, 3, 0),
            Outcome::Fail { .. }
        ));
        // 4xx other than 429 are not retried, unless Stripe says so.
        let in_use = br#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key."}}"#;
        assert!(matches!(
            classify(409, None, None, in_use, 0, 3, 0),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            classify(409, Some("true"), None, in_use, 0, 3, 0),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(402, None, None, DECLINED, 0, 3, 0),
            Outcome::Fail { .. }
        ));
        let Outcome::Fail { error } = classify(400, None, None, br#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}"#, 0, 3, 0) else { panic!() };
        assert_eq!(
            error.kind, "StripeRateLimitError",
            "stripe-node's mapping of a 400 rate_limit"
        );
        let Outcome::Retry { error, .. } = classify_network("connection reset", 0, 3, 0) else {
            panic!()
        };
        assert_eq!(error.kind, "StripeConnectionError");
        assert!(matches!(
            classify_network("timeout", 3, 3, 0),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn headers_carry_the_key_the_request_key_and_the_version() {
        let request = StripeRequest {
            method: "POST",
            path: "/v1/payment_intents".to_owned(),
            body: "amount=500&currency=jpy".into(),
            idempotency_key: "sb-payment_intent-abc".into(),
            amount_minor: 500,
            currency: "JPY".into(),
        };
        assert_eq!(
            request_headers(&request, "sk_test_1"),
            [
                ("authorization", "Bearer sk_test_1".to_owned()),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned()
                ),
                ("idempotency-key", "sb-payment_intent-abc".to_owned()),
                ("stripe-version", "2025-09-30.clover".to_owned()),
            ]
        );
    }

    #[test]
    fn api_bases() {
        for ok in [
            API_BASE,
            "https://stripe-proxy.internal.example.com/",
            "http://127.0.0.1:12111",
            "http://localhost",
            // Issue 14: the host is parsed, in any case, IPv6 loopback in brackets.
            "HTTP://LOCALHOST:8080/v1",
            "http://LocalHost",
            "http://[::1]:12111/",
            "http://127.1.2.3:80",
        ] {
            assert!(check_api_base(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.stripe.com",
            "http://127.0.0.1.evil.com",
            "https://",
            "https://user@evil.com",
            "ftp://x",
            "https://a b",
            // Userinfo that makes the real host another machine.
            "http://localhost:1@evil.example/",
            "http://127.0.0.1:x@evil.example",
            "http://[::1]:@evil.example/",
            // Issue 14: userinfo in any spelling, look-alike hosts, trailing dots.
            "http://LOCALHOST:1@evil.example",
            "http://[::1]@evil.example",
            "http://user@localhost",
            "http://localhost:1@127.0.0.1@evil.example",
            "http://localhost%40evil.example",
            "http://localhost.evil.example",
            "http://localhost.evil.example:8080/",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.1.nip.io:12111/v1",
            "http://localhost./",
            "http://127.0.0.1./",
            "http://[::1].evil.example/",
            "http://[::2]/",
            "http://evil.example#@localhost",
            "http://evil.example\\@localhost",
            "http://localhost:0",
            "http://localhost:65536",
        ] {
            assert_eq!(
                check_api_base(bad).unwrap_err().code,
                "invalid_api_base",
                "{bad}"
            );
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        assert_eq!(backoff_ms(0, 1000), 500);
        assert_eq!(backoff_ms(1, 1000), 1000);
        assert_eq!(backoff_ms(3, 1000), 4000);
        assert_eq!(backoff_ms(4, 1000), 5000);
        assert_eq!(backoff_ms(30, 1000), 5000);
        assert_eq!(backoff_ms(3, 0), 2000);
        assert_eq!(backoff_ms(0, 0), 500, "never under 0.5 s");
    }
}
