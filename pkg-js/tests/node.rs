//! The binding tests in Node (wasm-bindgen-test-runner's default).
mod suite;
