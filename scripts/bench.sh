#!/usr/bin/env bash
# Benchmarks (they print numbers; nothing here is a pass/fail timing test).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh
log "criterion: the Rust core (webhooks; a 10,000-transaction payout)"
cargo bench --bench webhook -- "$@"
cargo bench --bench reconcile -- "$@"
log "npm package: Node and workerd versus stripe-node"
node pkg-js/build.mjs
node pkg-js/bench/bench.mjs
log "the Worker reconciles a 10,000-transaction payout (workerd via Miniflare)"
bash scripts/build-worker.sh
node worker/test/payout-bench.mjs --transactions 10000
log "the Worker's cold start (workerd via Miniflare)"
node worker/test/cold-start.mjs --runs 5
