//! The shop's operations on Stripe for `stripe-bridge/payments` (Node and Workers entries only):
//! refunds, captures, cancellations, customers and order updates, built and checked by the
//! core's `actions` module. No logic here.

use stripe_bridge::actions::{
    self, CancelInput, CaptureInput, OrderUpdate, RefundInput, ShopCustomer,
};
use stripe_bridge::payment_request::{RequestError, StripeRequest};
use stripe_bridge::OrderState;
use stripe_bridge_js_common::{js_error, json_error, to_js};
use wasm_bindgen::prelude::*;

use crate::request_error;

fn input<T: serde::de::DeserializeOwned>(json: &[u8], what: &str) -> Result<T, JsValue> {
    serde_json::from_slice(json)
        .map_err(|e| js_error("payment_request", "invalid_input", &format!("{what}: {e}")))
}

fn state(json: Option<Vec<u8>>) -> Result<Option<OrderState>, JsValue> {
    json.map(|s| input::<OrderState>(&s, "the order state"))
        .transpose()
}

fn built(request: Result<StripeRequest, RequestError>) -> Result<String, JsValue> {
    serde_json::to_string(&request.map_err(request_error)?).map_err(json_error)
}

/// The refund requests (JSON array) for a refund input, checked against the order's state.
#[wasm_bindgen(js_name = buildRefunds)]
pub fn build_refunds(input_json: &[u8], state_json: &[u8]) -> Result<String, JsValue> {
    let refund: RefundInput = input(input_json, "the refund")?;
    let state: OrderState = input(state_json, "the order state")?;
    let requests = actions::refunds(&refund, &state).map_err(request_error)?;
    serde_json::to_string(&requests).map_err(json_error)
}

/// The capture request of an authorized PaymentIntent (checked against the state if given).
#[wasm_bindgen(js_name = buildCapture)]
pub fn build_capture(input_json: &[u8], state_json: Option<Vec<u8>>) -> Result<String, JsValue> {
    let capture: CaptureInput = input(input_json, "the capture")?;
    built(actions::capture(&capture, state(state_json)?.as_ref()))
}

/// The cancellation request of a PaymentIntent (checked against the state if given).
#[wasm_bindgen(js_name = buildCancel)]
pub fn build_cancel(input_json: &[u8], state_json: Option<Vec<u8>>) -> Result<String, JsValue> {
    let cancel: CancelInput = input(input_json, "the cancellation")?;
    built(actions::cancel(&cancel, state(state_json)?.as_ref()))
}

/// `GET` path of Stripe's customer search for a shop's customer id.
#[wasm_bindgen(js_name = customerSearchPath)]
pub fn customer_search_path(customer_id: &str) -> Result<String, JsValue> {
    actions::customer_search_path(customer_id).map_err(request_error)
}

/// The Stripe customer a search answer found (the oldest), if any.
#[wasm_bindgen(js_name = foundCustomer)]
pub fn found_customer(body: &[u8]) -> Result<Option<String>, JsValue> {
    actions::found_customer(body).map_err(to_js)
}

/// The request that creates the Stripe Customer of a shop customer.
#[wasm_bindgen(js_name = buildCustomerCreate)]
pub fn build_customer_create(customer_json: &[u8]) -> Result<String, JsValue> {
    let customer: ShopCustomer = input(customer_json, "the customer")?;
    built(actions::create_customer(&customer))
}

/// The request that updates Stripe Customer `stripe_id` from a shop customer.
#[wasm_bindgen(js_name = buildCustomerUpdate)]
pub fn build_customer_update(stripe_id: &str, customer_json: &[u8]) -> Result<String, JsValue> {
    let customer: ShopCustomer = input(customer_json, "the customer")?;
    built(actions::update_customer(stripe_id, &customer))
}

/// The request that sets an order's number, status and description on its PaymentIntent.
#[wasm_bindgen(js_name = buildOrderUpdate)]
pub fn build_order_update(update_json: &[u8]) -> Result<String, JsValue> {
    let update: OrderUpdate = input(update_json, "the order update")?;
    built(actions::order_update(&update))
}
