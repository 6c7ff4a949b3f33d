#!/usr/bin/env bash
# Signs a Stripe event with the local secret (.dev.vars) and POSTs it to the local Worker.
#   scripts/send-event.sh [event.json] [url]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
file="${1:-tests/fixtures/events/pi_succeeded_basil.json}"
url="${2:-http://127.0.0.1:${PORT:-8787}/webhooks/stripe}"
[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
secret="$(grep '^STRIPE_WEBHOOK_SECRET=' .dev.vars | cut -d= -f2- | cut -d, -f1)"
cargo build --quiet --release --bin stripe-bridge
header="$(target/release/stripe-bridge sign --secret "$secret" < "$file")"
curl -sS -X POST "$url" -H "content-type: application/json" -H "stripe-signature: $header" --data-binary "@$file"
echo
