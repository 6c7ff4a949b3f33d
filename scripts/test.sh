#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit + integration + differential tests, wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --no-default-features --target wasm32-unknown-unknown -- -D warnings

log "cargo test"
cargo test --all-targets
cargo test --doc

log "core crate builds for wasm32-unknown-unknown without std clock or CLI"
cargo build --lib --no-default-features --target wasm32-unknown-unknown --release

log "all tests passed"
