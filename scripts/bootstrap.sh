#!/usr/bin/env bash
# Installs what building and testing Switchboard needs, skipping what is present:
# the wasm target, cargo-leptos (pinned), wasm-bindgen-cli (equal to the crate in
# Cargo.lock), npm packages, and Debian's chromium when the browser tests will run.
# Usage: scripts/bootstrap.sh [--browser | --run]
#   --run: only what scripts/run.sh needs (no cargo-leptos, no browser).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=$(awk '$0=="name = \"wasm-bindgen\""{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
say() { echo "[bootstrap] $*" >&2; }
timed() { local s=$SECONDS; "$@"; say "$* : $((SECONDS-s))s"; }

apt_install() {
  local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  timed $SUDO apt-get update -qq
  timed env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown || timed rustup target add wasm32-unknown-unknown

# Tools are built once, unoptimised-enough to install quickly: their speed does not matter.
fast_install() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_INCREMENTAL=false timed cargo install "$@"
}
if [ "${1:-}" != "--run" ] && [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  # 0.3.11 needs rustc 1.96; --locked keeps 0.3.10's own dependency set buildable.
  fast_install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # Without --locked: its lockfile pins a yanked webpki-roots.
  fast_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ ! -x node_modules/.bin/tailwindcss ] || [ package.json -nt node_modules/.package-lock.json ]; then
  # npm ci rejects the lockfile npm 11 writes (optional platform packages); install keeps it.
  timed npm install --no-audit --no-fund --loglevel=error
fi
