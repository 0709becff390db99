#!/usr/bin/env bash
# Builds the Portal's browser side for release into a site directory, with
# the steps `cargo leptos build --release --frontend-only` runs, but without
# cargo-leptos itself (a 14-minute install on 2 cores that the run command
# does not need): the wasm (profile wasm-release), wasm-bindgen, wasm-opt -Oz,
# Tailwind (minified), public/. The directory is replaced whole only once
# every step succeeded.
# Usage: scripts/build-portal.sh <site dir>
set -euo pipefail
cd "$(dirname "$0")/.."
SITE=${1:?usage: scripts/build-portal.sh <site dir>}
NAME=portal              # [[workspace.metadata.leptos]] name = LEPTOS_OUTPUT_NAME
FRONT_TARGET=target/front # cargo-leptos' target dir for the wasm: artifacts are shared
export PATH="$PWD/node_modules/.bin:$PATH"   # npm's tailwindcss and wasm-opt

cargo build --package=frontend --lib --target-dir="$FRONT_TARGET" \
  --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release

NEW="${SITE%/}.new"
rm -rf "$NEW" && mkdir -p "$NEW/pkg"
wasm-bindgen --target=web --no-typescript --out-name="$NAME" --out-dir="$NEW/pkg" \
  "$FRONT_TARGET/wasm32-unknown-unknown/wasm-release/frontend.wasm"
# Leptos' HydrationScripts loads <name>.wasm.
mv "$NEW/pkg/${NAME}_bg.wasm" "$NEW/pkg/$NAME.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$NEW/pkg/$NAME.wasm" -o "$NEW/pkg/$NAME.wasm"
tailwindcss --input style/tailwind.css --output "$NEW/pkg/$NAME.css" --minify 2>/dev/null
cp -R public/. "$NEW/"
rm -rf "$SITE" && mv "$NEW" "$SITE"
