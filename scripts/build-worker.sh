#!/usr/bin/env bash
# Builds the Worker (worker/ crate) with worker-build into worker/build/ (index.js +
# index_bg.wasm) using the cached wasm-bindgen and npm's wasm-opt/esbuild (worker-build would
# otherwise download them from GitHub), then prints the bundle size raw and gzipped, and the
# sizes of the operator console's assets (worker/console/, inlined into the .wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
root="$PWD"
(
  cd worker
  WASM_BINDGEN_BIN="$STRIPE_BRIDGE_TOOLS/bin/wasm-bindgen" \
  WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt" \
  ESBUILD_BIN="$root/node_modules/.bin/esbuild" \
    worker-build --release >&2
)
size() { printf '%s: %s raw, %s gzipped\n' "$1" "$(numfmt --to=iec --suffix=B "$(stat -c %s "$1")")" \
  "$(numfmt --to=iec --suffix=B "$(gzip -9c "$1" | wc -c)")"; }
echo "Worker bundle:"
for f in worker/build/index.js worker/build/index_bg.wasm; do size "$f"; done
total_gz=$(cat worker/build/index.js worker/build/index_bg.wasm | gzip -9c | wc -c)
echo "total: $(numfmt --to=iec --suffix=B "$total_gz") gzipped (Workers limit: 3 MiB free plan, 10 MiB paid)"
echo "Operator console assets (inlined in index_bg.wasm; served gzipped by Cloudflare):"
for f in worker/console/*; do size "$f"; done
console_gz=$(cat worker/console/* | gzip -9c | wc -c)
echo "console total: $(numfmt --to=iec --suffix=B "$(cat worker/console/* | wc -c)") raw, $(numfmt --to=iec --suffix=B "$console_gz") gzipped"
