#!/usr/bin/env bash
# Benchmarks (they print numbers; nothing here is a pass/fail timing test).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh
log "criterion: the Rust core"
cargo bench --bench webhook -- "$@"
log "npm package: Node and workerd versus stripe-node"
node pkg-js/build.mjs
node pkg-js/bench/bench.mjs
