//! WebAssembly bindings of stripe-bridge's payment requests, for `stripe-bridge/payments`: the
//! request builders, the Payment Link URL helper and the classification of Stripe API
//! responses. A module of its own, so a browser page that only builds a Pay link loads neither
//! the webhook nor the mapping code. A thin layer: no logic here.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod shop;

use js_sys::{Object, Reflect};
use stripe_bridge::payment_request::{self, LinkParams, Order, RequestError, StripeRequest};
use stripe_bridge::stripe_api;
use stripe_bridge_js_common::{js_error, json_error};
use wasm_bindgen::prelude::*;

/// A request error as `{ kind, code, message, field }`.
pub(crate) fn request_error(e: RequestError) -> JsValue {
    let obj = js_error("payment_request", e.code, &e.to_string());
    let _ = Reflect::set(&obj, &"field".into(), &e.field.as_str().into());
    obj
}

fn order(json: &[u8]) -> Result<Order, JsValue> {
    serde_json::from_slice(json).map_err(|e| {
        js_error(
            "payment_request",
            "invalid_order",
            &format!("the order: {e}"),
        )
    })
}

fn request_json(request: Result<StripeRequest, RequestError>) -> Result<String, JsValue> {
    serde_json::to_string(&request.map_err(request_error)?).map_err(json_error)
}

/// The Checkout Session request for an order (JSON) as JSON text.
#[wasm_bindgen(js_name = buildCheckoutSession)]
pub fn build_checkout_session(order_json: &[u8]) -> Result<String, JsValue> {
    request_json(payment_request::checkout_session(&order(order_json)?))
}

/// The PaymentIntent request for an order (JSON) as JSON text.
#[wasm_bindgen(js_name = buildPaymentIntent)]
pub fn build_payment_intent(order_json: &[u8]) -> Result<String, JsValue> {
    request_json(payment_request::payment_intent(&order(order_json)?))
}

/// The Payment Link request for an order (JSON) as JSON text.
#[wasm_bindgen(js_name = buildPaymentLink)]
pub fn build_payment_link(order_json: &[u8]) -> Result<String, JsValue> {
    request_json(payment_request::payment_link(&order(order_json)?))
}

/// A Payment Link URL with its parameters (JSON `{ clientReferenceId, prefilledEmail, locale,
/// prefilledPromoCode }`).
#[wasm_bindgen(js_name = paymentLinkUrl)]
pub fn payment_link_url(base: &str, params_json: &[u8]) -> Result<String, JsValue> {
    let params: LinkParams = serde_json::from_slice(params_json).map_err(|e| {
        js_error(
            "payment_request",
            "invalid_params",
            &format!("the link parameters: {e}"),
        )
    })?;
    payment_request::payment_link_url(base, &params).map_err(request_error)
}

/// Checks an API key's shape (sk_/rk_); the error never contains the key.
#[wasm_bindgen(js_name = checkApiKey)]
pub fn check_api_key(key: &str) -> Result<(), JsValue> {
    payment_request::check_api_key(key).map_err(request_error)
}

/// Checks an API base URL (https, or http to loopback only) before a key is sent to it.
#[wasm_bindgen(js_name = checkApiBase)]
pub fn check_api_base(url: &str) -> Result<(), JsValue> {
    stripe_api::check_api_base(url).map_err(request_error)
}

fn outcome_json(outcome: stripe_api::Outcome) -> Result<String, JsValue> {
    serde_json::to_string(&outcome).map_err(json_error)
}

/// What a Stripe response means, as JSON `{ outcome: "success" | "retry" | "fail", delay_ms?,
/// error? }`.
#[wasm_bindgen(js_name = classifyResponse)]
pub fn classify_response(
    status: u16,
    should_retry: Option<String>,
    request_id: Option<String>,
    body: &[u8],
    attempt: u32,
    max_retries: u32,
    jitter_permille: u32,
) -> Result<String, JsValue> {
    outcome_json(stripe_api::classify(
        status,
        should_retry.as_deref(),
        request_id.as_deref(),
        body,
        attempt,
        max_retries,
        jitter_permille,
    ))
}

/// What a failed connection means (retry or fail), as JSON like [`classify_response`].
#[wasm_bindgen(js_name = classifyNetworkError)]
pub fn classify_network_error(
    message: &str,
    attempt: u32,
    max_retries: u32,
    jitter_permille: u32,
) -> Result<String, JsValue> {
    outcome_json(stripe_api::classify_network(
        message,
        attempt,
        max_retries,
        jitter_permille,
    ))
}

/// Constants of the Stripe API client: `{ apiVersion, apiBase, maxRetries }`.
#[wasm_bindgen(js_name = apiDefaults)]
pub fn api_defaults() -> JsValue {
    let obj = Object::new();
    let _ = Reflect::set(&obj, &"apiVersion".into(), &stripe_api::API_VERSION.into());
    let _ = Reflect::set(&obj, &"apiBase".into(), &stripe_api::API_BASE.into());
    let _ = Reflect::set(
        &obj,
        &"maxRetries".into(),
        &stripe_api::DEFAULT_MAX_RETRIES.into(),
    );
    obj.into()
}
