#!/usr/bin/env bash
# The main job, locally: the stripe-bridge Worker in workerd (wrangler dev --local) with local
# KV and Queues, plus a stand-in backend that verifies and prints what the Worker forwards, and
# (unless .dev.vars sets STRIPE_API_BASE) a stand-in of Stripe's API for /payment-requests and
# payout reconciliation (it serves a demo payout).
# No Cloudflare or Stripe account. Send it a signed sample with scripts/send-event.sh, ask for
# a payment with scripts/pay-order.sh (another terminal).
#   PORT (8787), DOWNSTREAM_PORT (8788), STRIPE_PORT (8789), PERSIST_DIR (.wrangler/state)
#   override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh

PORT="${PORT:-8787}"
DOWNSTREAM_PORT="${DOWNSTREAM_PORT:-8788}"
STRIPE_PORT="${STRIPE_PORT:-8789}"
PERSIST_DIR="${PERSIST_DIR:-.wrangler/state}"
[ -f .dev.vars ] || { cp .dev.vars.example .dev.vars; log "created .dev.vars (local development secrets)"; }
set -a; . ./.dev.vars; set +a

log "stand-in backend on 127.0.0.1:$DOWNSTREAM_PORT"
node examples/downstream-receiver.mjs "$DOWNSTREAM_PORT" &
pids=("$!")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
stripe_vars=()
if [ -z "${STRIPE_API_BASE:-}" ]; then
  log "Stripe API stand-in on 127.0.0.1:$STRIPE_PORT (for /payment-requests and payout reconciliation)"
  node examples/fake-stripe-api.mjs "$STRIPE_PORT" &
  pids+=("$!")
  stripe_vars=(--var "STRIPE_API_BASE:http://127.0.0.1:$STRIPE_PORT" --var "STRIPE_FILES_BASE:http://127.0.0.1:$STRIPE_PORT")
fi

log "Worker on http://127.0.0.1:$PORT/webhooks/stripe (wrangler dev builds it first)"
echo "    send a signed sample:  scripts/send-event.sh   (or point 'stripe listen --forward-to' here)"
echo "    ask for a payment:     scripts/pay-order.sh    (POST /payment-requests with an order)"
echo "    reconcile a payout:    scripts/reconcile-payout.sh [po_...] [--csv]   (the stand-in's demo payout)"
npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST_DIR" \
  --var "DOWNSTREAM_URL:http://127.0.0.1:$DOWNSTREAM_PORT/stripe-bridge" "${stripe_vars[@]}" \
  --show-interactive-dev-session=false
