#!/usr/bin/env bash
# The main job, on a bundled sample: sign a real-shaped Stripe event, verify it, normalize it,
# and merge an order's out-of-order events into one state.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

cargo build --release --quiet --bin stripe-bridge
bin=target/release/stripe-bridge
sample=tests/fixtures/events/pi_succeeded_basil.json
secret=whsec_demo_not_a_real_secret
t=1735689120

log "sign $sample"
header="$("$bin" sign --secret "$secret" --timestamp "$t" < "$sample")"
echo "Stripe-Signature: $header"

log "verify (prints the event id)"
"$bin" verify --secret "$secret" --header "$header" --now "$((t + 5))" < "$sample"

log "verify a tampered body (fails, exit 1)"
if sed 's/2198/2199/' "$sample" | "$bin" verify --secret "$secret" --header "$header" --now "$((t + 5))"; then
  echo "unexpected: tampered body verified" >&2; exit 1
fi

log "normalize"
"$bin" normalize --pretty < "$sample"

log "merge order 1001's events, delivered out of order and twice"
d=tests/fixtures/events
"$bin" merge "$d/refund_created_basil.json" "$d/pi_succeeded_basil.json" "$d/pi_created_basil.json" \
  "$d/charge_refunded_partial_basil.json" "$d/refund_created_basil.json" "$d/pi_requires_action_basil.json"
