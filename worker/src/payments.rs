//! `POST /payment-requests`: the shop asks for a hosted Checkout Session for an order; the
//! Worker builds the request with the core, sends it to Stripe with `STRIPE_SECRET_KEY`
//! (retrying 429, 5xx and network errors with backoff and the same Idempotency-Key, as the
//! core's `stripe_api` decides), and answers the session's id and URL. Thin: validation,
//! bodies, keys and retry decisions are the core's.

use serde_json::json;
use stripe_bridge::payment_request::{checkout_session, Order, RequestError};
use stripe_bridge::stripe_api::ApiError;
use worker::{Env, Request};

use crate::config::StripeConfig;
use crate::stripe;
use crate::{bearer, config_error, log, now_ms, read_body, set, Outcome};

pub async fn create(mut req: Request, env: &Env) -> Outcome {
    if let Err(refused) = bearer(&req, env, "SHOP_API_TOKEN") {
        return refused;
    }
    let config = match StripeConfig::from_env(env) {
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
    let (result, attempts) = stripe::post_object(&config, &request).await;
    let mut log_line = json!({
        "payment_request": "checkout_session",
        "order_id": order.id,
        "idempotency_key": request.idempotency_key,
        "attempts": attempts,
        "latency_ms": now_ms().saturating_sub(started),
    });
    let outcome = match result {
        Ok((session, replayed)) => {
            set(&mut log_line, "outcome", json!("created"));
            set(
                &mut log_line,
                "session",
                session.get("id").cloned().unwrap_or_default(),
            );
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
            set(&mut log_line, "outcome", json!("stripe_error"));
            set(&mut log_line, "stripe_status", json!(error.status));
            set(&mut log_line, "request_id", json!(error.request_id));
            stripe_failure(&error, &request.idempotency_key, attempts)
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
pub(crate) fn stripe_failure(error: &ApiError, idempotency_key: &str, attempts: u32) -> Outcome {
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
        "idempotency_key": idempotency_key,
        "attempts": attempts,
    }))
}
