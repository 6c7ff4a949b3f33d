//! What the wasm-bindgen crates of the npm package share: turning core errors into the
//! `{ kind, code, message }` objects the JS wrapper expects, argument checks, and the packed
//! form records cross the boundary in ([`packed`]).

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod packed;

use js_sys::{Object, Reflect};
use stripe_bridge::Error;
use wasm_bindgen::JsValue;

/// A `{ kind, code, message }` error object.
pub fn js_error(kind: &str, code: &str, message: &str) -> JsValue {
    let obj = Object::new();
    // Setting properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&obj, &"kind".into(), &kind.into());
    let _ = Reflect::set(&obj, &"code".into(), &code.into());
    let _ = Reflect::set(&obj, &"message".into(), &message.into());
    obj.into()
}

/// A core error as a JS error object.
pub fn to_js(e: impl Into<Error>) -> JsValue {
    let e = e.into();
    js_error(e.kind(), e.code(), &e.to_string())
}

pub fn argument_error(message: &str) -> JsValue {
    js_error("argument", "invalid_argument", message)
}

pub fn json_error(e: serde_json::Error) -> JsValue {
    js_error(
        "argument",
        "invalid_json",
        &format!("invalid JSON argument: {e}"),
    )
}

/// Seconds from JS (a number) as an integer, refusing NaN, infinities and fractions.
pub fn whole_seconds(value: f64, what: &str) -> Result<i64, JsValue> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.007_199_254_740_992e15 {
        // In range and integral: the conversion is exact.
        Ok(value as i64)
    } else {
        Err(argument_error(&format!(
            "{what} must be a whole number of seconds"
        )))
    }
}
