//! WebAssembly bindings of stripe-bridge's order state and target mappings, for
//! `stripe-bridge/targets`: a module of its own, so the webhook module (verify, normalize,
//! money) stays small for the browsers and edge runtimes that only need that. States and
//! records cross the boundary as JSON text. A thin layer: no logic here.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use stripe_bridge::mapping::{nopcommerce, Profile};
use stripe_bridge::{OrderState, Record};
use stripe_bridge_js_common::{json_error, to_js};
use wasm_bindgen::prelude::*;

/// Merges a record (JSON) into an order state (JSON, or empty for a new order); returns the
/// new state as JSON. The input state is not modified.
#[wasm_bindgen(js_name = mergeOrderState)]
pub fn merge_order_state(state_json: &[u8], record_json: &[u8]) -> Result<String, JsValue> {
    // from_slice everywhere: one serde_json reader type keeps the wasm smaller.
    let mut state: OrderState = if state_json.trim_ascii().is_empty() {
        OrderState::default()
    } else {
        serde_json::from_slice(state_json).map_err(json_error)?
    };
    let record: Record = serde_json::from_slice(record_json).map_err(json_error)?;
    state.merge(&record).map_err(to_js)?;
    serde_json::to_string(&state).map_err(json_error)
}

/// Reads a stored state of any schema version (version 1 is upgraded; everything derived is
/// recomputed) and returns it as JSON of the current version.
#[wasm_bindgen(js_name = upgradeOrderState)]
pub fn upgrade_order_state(state_json: &[u8]) -> Result<String, JsValue> {
    let state: OrderState = serde_json::from_slice(state_json).map_err(json_error)?;
    serde_json::to_string(&state).map_err(json_error)
}

/// A target profile (`nopcommerce`, `salesforce`, `erp`, `order-feed`, `record`, or JSON
/// mapping text), parsed and checked once.
#[wasm_bindgen]
pub struct WasmProfile {
    inner: Profile,
}

#[wasm_bindgen]
impl WasmProfile {
    #[wasm_bindgen(constructor)]
    pub fn new(name_or_json: &str) -> Result<WasmProfile, JsValue> {
        Profile::parse(name_or_json)
            .map(|inner| WasmProfile { inner })
            .map_err(to_js)
    }

    /// Maps a record (JSON); `undefined` when the record means nothing to the target. With a
    /// state (JSON, the order's state after merging the record), outputs speak for the order.
    pub fn map(
        &self,
        record_json: &[u8],
        state_json: Option<Vec<u8>>,
    ) -> Result<Option<String>, JsValue> {
        let record: Record = serde_json::from_slice(record_json).map_err(json_error)?;
        match state_json {
            Some(state) => {
                let state: OrderState = serde_json::from_slice(&state).map_err(json_error)?;
                self.inner.map_with_state(&record, &state)
            }
            None => self.inner.map(&record),
        }
        .map_err(to_js)
    }
}

/// The guarded nopCommerce update of an order row (JSON) after merging `record` into `state`.
#[wasm_bindgen(js_name = planNopCommerce)]
pub fn plan_nop_commerce(
    order_json: &[u8],
    state_json: &[u8],
    record_json: &[u8],
) -> Result<String, JsValue> {
    let order: nopcommerce::NopOrder = serde_json::from_slice(order_json).map_err(json_error)?;
    let state: OrderState = serde_json::from_slice(state_json).map_err(json_error)?;
    let record: Record = serde_json::from_slice(record_json).map_err(json_error)?;
    serde_json::to_string(&nopcommerce::plan(&order, &state, &record)).map_err(json_error)
}
