#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit + integration + differential tests, wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --lib --no-default-features --target wasm32-unknown-unknown -- -D warnings

log "cargo test"
cargo test --all-targets
# The npm bindings' shared crate (the packed record format) has native unit and property tests.
cargo test -p stripe-bridge-js-common
cargo test --doc

log "core crate builds for wasm32-unknown-unknown without std clock or CLI"
cargo build --lib --no-default-features --target wasm32-unknown-unknown --release

log "npm package: wasm bindings (clippy, wasm-bindgen-test in Node and headless Chromium)"
cargo clippy -p stripe-bridge-wasm -p stripe-bridge-targets-wasm -p stripe-bridge-payments-wasm -p stripe-bridge-finance-wasm -p stripe-bridge-js-common --all-targets --target wasm32-unknown-unknown -- -D warnings
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test -p stripe-bridge-wasm --target wasm32-unknown-unknown --test node
(cd pkg-js && CHROMEDRIVER="$(command -v chromedriver)" cargo test -p stripe-bridge-wasm --target wasm32-unknown-unknown --test browser)
unset CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER

log "npm package: build (sizes below) and node --test"
node pkg-js/build.mjs
node --test pkg-js/test/*.test.mjs pkg-js/test/*.test.cjs

log "Worker: build (bundle size below), clippy, end-to-end tests in workerd (Miniflare)"
cargo clippy -p stripe-bridge-worker --target wasm32-unknown-unknown -- -D warnings
bash scripts/build-worker.sh
node --test worker/test/*.test.mjs

log "Worker: load and fault run (10,000 events, 20 % duplicates, flaky backend)"
node worker/test/load.mjs --events 10000 --concurrency 16

log "Stripe API stand-in: paging, expansion, report runs, validation against Stripe's OpenAPI description"
node --test examples/test/*.test.mjs

log "nopCommerce proxy on a real PostgreSQL (and through the Worker)"
bash scripts/with-postgres.sh node --test examples/nopcommerce-proxy/test/*.test.mjs

log "the README's run command, end to end (wrangler dev, local KV/Queues, stand-in backend)"
bash scripts/smoke-run.sh

log "all tests passed"
