#!/usr/bin/env bash
# Asks the local Worker for a Checkout Session for an order (POST /payment-requests with the
# shop token from .dev.vars) and prints the answer (id and url).
#   scripts/pay-order.sh [order.json] [url]
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-tests/fixtures/orders/order-1001.json}"
url="${2:-http://127.0.0.1:${PORT:-8787}/payment-requests}"
[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
token="$(grep '^SHOP_API_TOKEN=' .dev.vars | cut -d= -f2-)"
[ -n "$token" ] || { echo "set SHOP_API_TOKEN in .dev.vars" >&2; exit 2; }
curl -sS -X POST "$url" -H "content-type: application/json" -H "authorization: Bearer $token" --data-binary "@$file"
echo
