//! `POST /payment-requests`: the shop asks for a hosted Checkout Session for an order; the
//! Worker builds the request with the core, sends it to Stripe with `STRIPE_SECRET_KEY`
//! (retrying 429, 5xx and network errors with backoff and the same Idempotency-Key, as the
//! core's `stripe_api` decides), and answers the session's id and URL. Thin: validation,
//! bodies, keys and retry decisions are the core's.

use std::time::Duration;

use serde_json::json;
use stripe_bridge::payment_request::{checkout_session, Order, RequestError, StripeRequest};
use stripe_bridge::stripe_api::{self, ApiError, Outcome as ApiOutcome};
use worker::{Delay, Env, Headers, Method, Request, RequestInit};

use crate::config::PaymentConfig;
use crate::{bearer, config_error, log, now_ms, read_body, send_with_timeout, Outcome};

/// The route.
pub const PATH: &str = "/payment-requests";

pub async fn create(mut req: Request, env: &Env) -> Outcome {
    if let Err(refused) = bearer(&req, env, "SHOP_API_TOKEN") {
        return refused;
    }
    let config = match PaymentConfig::from_env(env) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let body = match read_body(&mut req, config.max_body_bytes).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let order: Order = match serde_json::from_slice(&body) {
        Ok(o) => o,
        Err(e) => {
            return invalid_order(RequestError {
                field: "order".into(),
                code: "invalid_order",
                message: format!("the order JSON: {e}"),
            })
        }
    };
    let request = match checkout_session(&order) {
        Ok(r) => r,
        Err(e) => return invalid_order(e),
    };
    let started = now_ms();
    let (result, attempts) = send(&config, &request).await;
    let mut log_line = json!({
        "payment_request": "checkout_session",
        "order_id": order.id,
        "idempotency_key": request.idempotency_key,
        "attempts": attempts,
        "latency_ms": now_ms().saturating_sub(started),
    });
    let outcome = match result {
        Ok((session, replayed)) => {
            log_line["outcome"] = json!("created");
            log_line["session"] = session.get("id").cloned().unwrap_or_default();
            Outcome::new(200, "created").with_detail(json!({
                "id": session.get("id"),
                "url": session.get("url"),
                "expires_at": session.get("expires_at"),
                "order_id": order.id,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
                "idempotency_key": request.idempotency_key,
                "replayed": replayed,
            }))
        }
        Err(error) => {
            log_line["outcome"] = json!("stripe_error");
            log_line["stripe_status"] = json!(error.status);
            log_line["request_id"] = json!(error.request_id);
            stripe_failure(&error, &request, attempts)
        }
    };
    log(log_line);
    outcome
}

fn invalid_order(e: RequestError) -> Outcome {
    Outcome::new(400, "invalid_order").with_detail(json!({
        "error": { "field": e.field, "code": e.code, "message": e.to_string() },
    }))
}

/// The shop's answer for a Stripe failure: what Stripe said, under a status that tells the
/// shop whether to fix the order (422), retry later (502/503), or fix the Worker (500).
fn stripe_failure(error: &ApiError, request: &StripeRequest, attempts: u32) -> Outcome {
    let (status, result) = match error.status {
        0 => (502, "stripe_unreachable"),
        429 => (503, "stripe_rate_limited"),
        401 | 403 => (500, "stripe_auth_failed"),
        s if s >= 500 => (502, "stripe_unavailable"),
        _ => (422, "stripe_refused"),
    };
    Outcome::new(status, result).with_detail(json!({
        "stripe": {
            "type": error.kind,
            "code": error.code.as_deref().or(error.error_type.as_deref()),
            "decline_code": error.decline_code,
            "param": error.param,
            "message": error.message,
            "request_id": error.request_id,
            "status": error.status,
        },
        "idempotency_key": request.idempotency_key,
        "attempts": attempts,
    }))
}

/// Sends the request until it succeeds or the core says stop: Stripe's object and whether it
/// was an idempotent replay, or the last error; and the number of attempts.
async fn send(
    config: &PaymentConfig,
    request: &StripeRequest,
) -> (Result<(serde_json::Value, bool), ApiError>, u32) {
    let url = format!("{}{}", config.api_base, request.path);
    let mut attempt = 0;
    loop {
        let jitter = u32::try_from(now_ms() % 1001).unwrap_or(500);
        let answer = post(config, &url, request).await;
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
            (ApiOutcome::Success, Ok(a)) => {
                let parsed = serde_json::from_slice(&a.body).map_err(|e| ApiError {
                    message: format!("Stripe answered with a body that is not JSON: {e}"),
                    ..stripe_api::parse_error(a.status, b"", a.request_id.as_deref())
                });
                return (parsed.map(|v| (v, a.replayed)), attempt + 1);
            }
            (ApiOutcome::Retry { delay_ms, error }, _) => {
                log(json!({
                    "payment_request": "retry",
                    "idempotency_key": request.idempotency_key,
                    "attempt": attempt + 1,
                    "retry_in_ms": delay_ms,
                    "error": error.to_string(),
                }));
                Delay::from(Duration::from_millis(delay_ms)).await;
                attempt += 1;
            }
            (ApiOutcome::Fail { error }, _) => return (Err(error), attempt + 1),
            // Success is only ever classified from a response.
            (ApiOutcome::Success, Err(message)) => {
                return (
                    Err(stripe_api::parse_error(0, message.as_bytes(), None)),
                    attempt + 1,
                )
            }
        }
    }
}

/// One answer of Stripe's API.
struct Answer {
    status: u16,
    should_retry: Option<String>,
    request_id: Option<String>,
    /// `Idempotent-Replayed: true`: Stripe returned the saved result of an earlier request.
    replayed: bool,
    body: Vec<u8>,
}

/// One POST to Stripe.
async fn post(
    config: &PaymentConfig,
    url: &str,
    request: &StripeRequest,
) -> Result<Answer, String> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| e.to_string());
    for (name, value) in stripe_api::request_headers(request, &config.api_key) {
        set(name, &value)?;
    }
    set(
        "user-agent",
        concat!("stripe-bridge/", env!("CARGO_PKG_VERSION")),
    )?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(request.body.clone().into()));
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
