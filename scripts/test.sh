#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, the black-box server tests
# on SQLite and on a PostgreSQL this script starts itself, and the Playwright suite.
# Installs what it needs first (scripts/bootstrap.sh) and skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo; echo "==> $* ($(date +%T))"; }

step "tools"
scripts/bootstrap.sh --browser

step "format"
cargo fmt --all -- --check

step "lint (server side, then the browser build)"
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "build portal (server binary, wasm, css)"
cargo leptos build

step "unit and server tests on SQLite"
cargo test -p app -p server

step "server tests on PostgreSQL"
PG_URL=$(scripts/postgres.sh start)
trap 'scripts/postgres.sh stop' EXIT
# Same package selection as above, so nothing is compiled again.
SWITCHBOARD_TEST_POSTGRES_URL="$PG_URL" cargo test -p app -p server --tests

step "browser tests (Playwright, Chromium)"
scripts/e2e.sh

step "all green"
