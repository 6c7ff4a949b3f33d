#!/usr/bin/env bash
# Asks the local Worker (make run) to reconcile a payout and prints the result when it is done:
# POST /payouts/{id}/reconcile, then GET /payouts/{id} (admin token from .dev.vars). Without an
# id, the newest paid payout of the Stripe API stand-in (its demo payout).
#   scripts/reconcile-payout.sh [po_...] [--csv]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
var() { grep "^$1=" .dev.vars | cut -d= -f2-; }
worker="http://127.0.0.1:${PORT:-8787}"
stripe="${STRIPE_API_BASE:-http://127.0.0.1:${STRIPE_PORT:-8789}}"
payout="${1:-}"
if [ -z "$payout" ] || [ "$payout" = "--csv" ]; then
  payout="$(curl -sf -u "$(var STRIPE_SECRET_KEY):" "$stripe/v1/payouts?limit=10" |
    node -e 'const l = JSON.parse(require("fs").readFileSync(0, "utf8")); const p = l.data.find((p) => p.status === "paid" && p.automatic); process.stdout.write(p ? p.id : "")')"
  [ -n "$payout" ] || { echo "no paid automatic payout at $stripe" >&2; exit 1; }
fi
auth="authorization: Bearer $(var ADMIN_TOKEN)"
curl -sS -X POST -H "$auth" "$worker/payouts/$payout/reconcile"
echo
for _ in $(seq 1 60); do
  result="$(curl -sS -H "$auth" "$worker/payouts/$payout")"
  case "$result" in
    *'"status":"done"'* | *'"status":"failed"'*)
      if [ "${*: -1}" = "--csv" ]; then curl -sS -H "$auth" "$worker/payouts/$payout?format=csv"; else
        node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); const c = r.reconciliation;
          if (!c) { console.log(JSON.stringify(r)); process.exit(1); }
          console.log(`payout ${c.payout_id}: ${c.payout_amount} ${c.currency}, ${c.lines.length} lines, ${Object.keys(c.orders).length} orders, balanced=${c.balanced}${c.balanced ? "" : ` difference=${c.difference} (${c.likely_cause})`}`);
          for (const [k, t] of Object.entries(c.totals)) console.log(`  ${k.padEnd(18)} ${String(t.count).padStart(5)}  gross ${t.gross}  fee ${t.fee}  net ${t.net}`);' <<< "$result"
      fi
      exit 0 ;;
  esac
  sleep 1
done
echo "not reconciled in time: $result" >&2
exit 1
