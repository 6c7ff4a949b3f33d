#!/usr/bin/env bash
# Installs everything the tests and the run command need, idempotently. Safe to run often:
# each step checks first and does nothing when the right thing is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed" >&2; exit 1; }; }
need cargo
need rustup
need node
need npm

# Rust: the wasm target (the core must build for it) and the lint/format components.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "rustup component add $component"
    rustup component add "$component"
  fi
done

# Cargo-installed tools, cached outside the checkout and reused by every clone.
cargo_tool() { # <binary> <crate> <version>
  local bin="$1" crate="$2" version="$3"
  if ! "$STRIPE_BRIDGE_TOOLS/bin/$bin" --version 2>/dev/null | grep -qw "$version"; then
    log "cargo install $crate $version (cached in $STRIPE_BRIDGE_TOOLS)"
    # No --locked: the CLI's own lock names a crate version missing from the registry.
    cargo install --quiet --root "$STRIPE_BRIDGE_TOOLS" "$crate" --version "$version" --force
  fi
}
# Must equal the wasm-bindgen version pinned in pkg-js/Cargo.toml.
cargo_tool wasm-bindgen wasm-bindgen-cli 0.2.130
# Builds the Worker (worker/); pointed at the local wasm-bindgen, wasm-opt and esbuild.
cargo_tool worker-build worker-build 0.8.7

# Headless Chromium and ChromeDriver (Debian's) for the browser tests.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  log "apt-get install chromium chromium-driver"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# npm dev tools (stripe-node for differential tests), reinstalled only when the lock changes.
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.stripe-bridge-lock"
  local want; want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci in ${dir}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}
npm_ci .
npm_ci examples/nopcommerce-proxy
