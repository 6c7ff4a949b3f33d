//! The binding tests in headless Chromium (needs CHROMEDRIVER; see pkg-js/webdriver.json).
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
mod suite;
