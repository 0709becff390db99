#!/usr/bin/env bash
# Builds Switchboard (release, the Portal's files built into the binary) and
# starts it in sandbox mode on SQLite; prints the Portal URL.
# Any SWITCHBOARD_* variable set in the environment is honoured (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "[run] $* ($(date +%T))" >&2; }
# Only the tools this needs: not cargo-leptos (the test suite's), whose
# install alone takes longer than the whole build.
scripts/bootstrap.sh --run
# The browser side first: the server's build script embeds the site it finds
# in target/release-site (see server/build.rs). The test suite writes its own
# site to target/site, so it never touches the files of a running release.
step "building the Portal's browser side"
scripts/build-portal.sh target/release-site
step "building the server"
cargo build --release -p server --bin switchboard
export SWITCHBOARD_META_MODE=${SWITCHBOARD_META_MODE:-sandbox}
export SWITCHBOARD_LOG_FORMAT=${SWITCHBOARD_LOG_FORMAT:-pretty}
export LEPTOS_ENV=PROD
exec target/release/switchboard serve
