#!/usr/bin/env bash
# Starts Switchboard in sandbox mode on SQLite and prints the Portal URL.
# Any SWITCHBOARD_* variable set in the environment is honoured (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cargo leptos build --release
export SWITCHBOARD_META_MODE=${SWITCHBOARD_META_MODE:-sandbox}
export SWITCHBOARD_LOG_FORMAT=${SWITCHBOARD_LOG_FORMAT:-pretty}
export LEPTOS_ENV=PROD
exec target/release/switchboard serve
