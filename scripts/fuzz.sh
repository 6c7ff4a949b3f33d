#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, nightly Rust), then the differential fuzzers
# against the Node references. Not part of `make test`: `make fuzz`.
#
#   FUZZ_SECONDS=60          seconds per target (FUZZ_SECONDS_<target> overrides one target)
#   FUZZ_RUNS=N              stop a target after N executions instead (FUZZ_SECONDS then caps it)
#   FUZZ_TARGETS="a b"       the targets to run (default: all of `cargo fuzz list`)
#   FUZZ_RSS_MB=2048         libFuzzer's RSS (and malloc) limit
#   FUZZ_DIFF_SECONDS=30     seconds of the Node differential fuzzer (0: skip it)
#   FUZZ_REPORT=file.md      also append the figures table there
#   FUZZ_SANITIZER=none      cargo-fuzz's sanitizer: the crates fuzzed forbid unsafe code, so
#                            AddressSanitizer (`address`) finds nothing Rust's own checks miss,
#                            at about 3x the time per input
#
# The corpus in the repo (fuzz/corpus/<target>) is a small curated seed set, read only; what a
# run finds goes to a working corpus outside the checkout (cached per machine, like the tools),
# crashes to fuzz/artifacts/<target>/ (gitignored). Reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
RUNS="${FUZZ_RUNS:--1}"
DIFF_SECONDS="${FUZZ_DIFF_SECONDS:-30}"
SANITIZER="${FUZZ_SANITIZER:-none}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/stripe-bridge"
WORK="${FUZZ_WORK:-$CACHE/fuzz-corpus}"
CARGO_FUZZ_VERSION=0.13.2

# Nightly (libFuzzer needs -Z flags) and cargo-fuzz, installed once and cached.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "rustup toolchain install nightly --profile minimal"
  rustup toolchain install nightly --profile minimal
fi
if ! "$STRIPE_BRIDGE_TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qw "$CARGO_FUZZ_VERSION"; then
  log "cargo install cargo-fuzz $CARGO_FUZZ_VERSION (cached in $STRIPE_BRIDGE_TOOLS)"
  cargo install --quiet --locked --root "$STRIPE_BRIDGE_TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION" --force
fi

cd fuzz
targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
log "cargo +nightly fuzz build -O -s $SANITIZER"
nice -n 10 cargo +nightly fuzz build -O -s "$SANITIZER"
bin_dir="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release"

# Extra read-only seed folders of a target (the real Stripe events for normalization).
seeds_for() {
  case "$1" in
    normalize)
      echo ../tests/fixtures/events
      [ -d ../../shared/fixtures/stripe-events ] && echo ../../shared/fixtures/stripe-events
      ;;
  esac
  return 0
}

table="| target | seconds | executions | exec/s | corpus (files) | coverage (cov/ft) | peak RSS MB | slowest corpus input |
|---|---|---|---|---|---|---|---|"
failed=0
for t in $targets; do
  var="FUZZ_SECONDS_$t"
  secs="${!var:-$SECONDS_PER_TARGET}"
  mkdir -p "$WORK/$t" "artifacts/$t"
  log "fuzz $t for ${secs}s"
  out="artifacts/$t/last-run.log"
  # shellcheck disable=SC2046
  if ! nice -n 10 cargo +nightly fuzz run -O -s "$SANITIZER" "$t" "$WORK/$t" "corpus/$t" $(seeds_for "$t") -- \
      -max_total_time="$secs" -runs="$RUNS" -timeout=1 -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" \
      -print_final_stats=1 >"$out" 2>&1; then
    failed=1
    echo "fuzz: $t FAILED; see fuzz/$out and fuzz/artifacts/$t/" >&2
    grep -m5 -E "panicked|ERROR|SUMMARY" "$out" >&2 || true
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$out" | grep -o '[0-9]*$' || echo 0)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$out" | grep -o '[0-9]*$' || echo ?)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$out" | tail -1 | sed 's/cov: //; s/ ft: /\//')
  # With FUZZ_RUNS a target may stop early: libFuzzer prints "Done N runs in S second(s)".
  took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$out" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+' || echo "$secs")
  files=$(find "$WORK/$t" -type f | wc -l)
  # Time every input of the working corpus once (libFuzzer prints "Executed X in N ms").
  slowest=$(find "$WORK/$t" corpus/$t -type f -print0 | xargs -0 -r -n 500 "$bin_dir/$t" -runs=1 2>&1 \
    | grep -oE 'in [0-9]+ ms' | grep -oE '[0-9]+' | sort -n | tail -1 || true)
  table="$table
| $t | $took | $execs | $rate | $files | ${cov:-?} | $rss | ${slowest:-?} ms |"
  echo "fuzz: $t: $execs executions, $rate exec/s, corpus $files, cov/ft ${cov:-?}, peak RSS $rss MB, slowest input ${slowest:-?} ms"
done
cd ..

if [ "$DIFF_SECONDS" != 0 ]; then
  [ -f pkg-js/dist/node.mjs ] || { log "node pkg-js/build.mjs"; node pkg-js/build.mjs; }
  log "differential fuzzing against stripe-node and standardwebhooks for ${DIFF_SECONDS}s"
  node fuzz/differential/webhooks.mjs --seconds "$DIFF_SECONDS" || failed=1
fi

echo
echo "$table"
[ -n "${FUZZ_REPORT:-}" ] && printf '%s\n' "$table" >>"$FUZZ_REPORT"
exit "$failed"
