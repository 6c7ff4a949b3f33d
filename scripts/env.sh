# Sourced by the project's scripts: where cached tools live, and PATH.
# Tools are installed once per machine under the cache folder (outside the checkout, so a fresh
# clone in CI reuses them) and found through PATH.
STRIPE_BRIDGE_TOOLS="${STRIPE_BRIDGE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/stripe-bridge/tools}"
export STRIPE_BRIDGE_TOOLS
export PATH="$STRIPE_BRIDGE_TOOLS/bin:$HOME/.cargo/bin:$PATH"
# Stay offline and quiet where tools would phone home.
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_HIDE_BANNER=true NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
