#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, the black-box server tests
# on SQLite and on a PostgreSQL this script starts itself, and the Playwright suite.
# Installs what it needs first (scripts/bootstrap.sh) and skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo; echo "==> $* ($(date +%T)); disk free: $(df -h --output=avail . | tail -1 | tr -d ' ')"; }
# A clean CI checkout compiles everything once: incremental caches would only
# cost time and several GB of disk there.
[ "${CI:-}" = true ] && export CARGO_INCREMENTAL=0

step "tools"
scripts/bootstrap.sh --browser

step "format"
cargo fmt --all -- --check

step "lint (server side, then the browser build)"
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "build the Portal's browser side (wasm, css, assets)"
# Only the frontend: the server binary the later steps run is the one
# `cargo test` builds, so app and server are compiled once, not twice
# (cargo-leptos builds them without the test-time feature set).
cargo leptos build --frontend-only

step "unit and server tests on SQLite"
cargo test -p app -p server

step "API fuzzing (Schemathesis, 15 examples per operation)"
# The server binary the tests above just built; building it alone would
# compile app again with another feature set.
SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-target}/debug/switchboard" scripts/schemathesis.sh

step "server tests on PostgreSQL"
PG_URL=$(scripts/postgres.sh fresh)
trap 'scripts/postgres.sh stop' EXIT
# Same package selection as above, so nothing is compiled again.
SWITCHBOARD_TEST_POSTGRES_URL="$PG_URL" cargo test -p app -p server --tests

step "browser tests (Playwright, Chromium)"
scripts/e2e.sh

step "n8n nodes (install, build, lint, tests against the sandbox, npm pack)"
# About 50 s with an empty npm cache (378 MB node_modules), 7 s when installed.
integrations/n8n/test.sh

step "fuzzing (cargo fuzz, 20 s per target)"
scripts/fuzz.sh 20

step "all green"
