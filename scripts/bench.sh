#!/usr/bin/env bash
# Benchmarks (they print numbers; nothing here is a pass/fail timing test).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo bench --bench webhook -- "$@"
