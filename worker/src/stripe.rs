//! The Worker's Stripe API client: one retry loop for every call (payment requests, payout
//! reconciliation pages, lookups, report files), deciding as the core's
//! [`stripe_api::classify`] says: 429, 5xx and network errors retried with backoff (a POST
//! with the same Idempotency-Key), other errors final.

use std::time::Duration;

use serde_json::json;
use stripe_bridge::payment_request::StripeRequest;
use stripe_bridge::stripe_api::{self, ApiError, Outcome};
use worker::{Delay, Headers, Method, Request, RequestInit};

use crate::config::StripeConfig;
use crate::{log, now_ms, send_with_timeout};

/// One call: a POST of a built request, a GET of an API path, or a GET of a file.
#[derive(Clone, Copy)]
pub enum Call<'a> {
    Post(&'a StripeRequest),
    Get(&'a str),
    /// `GET {files_base}{path}`.
    File(&'a str),
}

impl Call<'_> {
    fn url(&self, config: &StripeConfig) -> String {
        match self {
            Call::Post(r) => format!("{}{}", config.api_base, r.path),
            Call::Get(path) => format!("{}{path}", config.api_base),
            Call::File(path) => format!("{}{path}", config.files_base),
        }
    }

    /// What the log says the call was (paths carry ids, never keys or personal data).
    fn describe(&self) -> String {
        match self {
            Call::Post(r) => format!("POST {}", r.path),
            Call::Get(path) | Call::File(path) => {
                format!("GET {}", path.split('?').next().unwrap_or_default())
            }
        }
    }
}

/// One answer of Stripe's API.
pub struct Answer {
    pub status: u16,
    pub should_retry: Option<String>,
    pub request_id: Option<String>,
    /// `Idempotent-Replayed: true`: Stripe returned the saved result of an earlier request.
    pub replayed: bool,
    pub body: Vec<u8>,
}

/// Sends the call until it succeeds or the core says stop: the answer, or the last error; and
/// the number of attempts.
pub async fn send(config: &StripeConfig, call: Call<'_>) -> (Result<Answer, ApiError>, u32) {
    let url = call.url(config);
    let mut attempt = 0;
    loop {
        let jitter = u32::try_from(now_ms() % 1001).unwrap_or(500);
        let answer = once(config, &url, call).await;
        let outcome = match &answer {
            Ok(a) => stripe_api::classify(
                a.status,
                a.should_retry.as_deref(),
                a.request_id.as_deref(),
                &a.body,
                attempt,
                config.max_retries,
                jitter,
            ),
            Err(message) => {
                stripe_api::classify_network(message, attempt, config.max_retries, jitter)
            }
        };
        match (outcome, answer) {
            (Outcome::Success, Ok(a)) => return (Ok(a), attempt + 1),
            (Outcome::Retry { delay_ms, error }, _) => {
                log(json!({
                    "stripe": "retry",
                    "call": call.describe(),
                    "attempt": attempt + 1,
                    "retry_in_ms": delay_ms,
                    "error": error.to_string(),
                }));
                Delay::from(Duration::from_millis(delay_ms)).await;
                attempt += 1;
            }
            (Outcome::Fail { error }, _) => return (Err(error), attempt + 1),
            // Success is only ever classified from a response.
            (Outcome::Success, Err(message)) => {
                return (
                    Err(stripe_api::parse_error(0, message.as_bytes(), None)),
                    attempt + 1,
                )
            }
        }
    }
}

/// POSTs a built request (retried as [`send`] does): Stripe's object and whether it was an
/// idempotent replay, or the last error; and the number of attempts.
pub async fn post_object(
    config: &StripeConfig,
    request: &StripeRequest,
) -> (Result<(serde_json::Value, bool), ApiError>, u32) {
    let (answer, attempts) = send(config, Call::Post(request)).await;
    let object = answer.and_then(|a| Ok((json(&a)?, a.replayed)));
    (object, attempts)
}

/// The answer's JSON, or an error that says Stripe's body was not JSON.
pub fn json(answer: &Answer) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(&answer.body).map_err(|e| ApiError {
        message: format!("Stripe answered with a body that is not JSON: {e}"),
        ..stripe_api::parse_error(answer.status, b"", answer.request_id.as_deref())
    })
}

/// One request to Stripe.
async fn once(config: &StripeConfig, url: &str, call: Call<'_>) -> Result<Answer, String> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| e.to_string());
    let mut init = RequestInit::new();
    match call {
        Call::Post(request) => {
            for (name, value) in stripe_api::request_headers(request, &config.api_key) {
                set(name, &value)?;
            }
            init.with_method(Method::Post)
                .with_body(Some(request.body.clone().into()));
        }
        Call::Get(_) | Call::File(_) => {
            for (name, value) in stripe_api::get_headers(&config.api_key) {
                set(name, &value)?;
            }
            init.with_method(Method::Get);
        }
    }
    set(
        "user-agent",
        concat!("stripe-bridge/", env!("CARGO_PKG_VERSION")),
    )?;
    if let Some(account) = &config.account {
        set("stripe-account", account)?;
    }
    init.with_headers(headers);
    let outgoing = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let mut response = send_with_timeout(outgoing, config.timeout_ms).await?;
    let header = |name: &str| response.headers().get(name).ok().flatten();
    let should_retry = header("stripe-should-retry");
    let request_id = header("request-id");
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let status = response.status_code();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the response: {e}"))?;
    Ok(Answer {
        status,
        should_retry,
        request_id,
        replayed,
        body,
    })
}
