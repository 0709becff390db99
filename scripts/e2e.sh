#!/usr/bin/env bash
# Runs the Playwright suite against the built binary: a fresh SQLite database,
# sandbox mode, a loopback port. Expects the Portal's browser side in target/site
# (`cargo leptos build --frontend-only`) and the server binary `cargo test` built.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${E2E_PORT:-3100}
BIN="${CARGO_TARGET_DIR:-target}/debug/switchboard"
# A fixed sandbox app id, so the dialog tests can address the sandbox app.
export SANDBOX_APP_ID=900000000000042
DATA=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
SWITCHBOARD_LISTEN=127.0.0.1:$PORT SWITCHBOARD_DATA_DIR="$DATA" SWITCHBOARD_DATABASE_URL="sqlite://$DATA/e2e.db" \
  SWITCHBOARD_META_MODE=sandbox SWITCHBOARD_META_APP_ID=$SANDBOX_APP_ID SWITCHBOARD_SITE_ROOT=target/site SWITCHBOARD_RATE_LIMIT_PER_MINUTE=1000 \
  "$BIN" serve >"$DATA/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 0.2
done
cd end2end
if ! BASE_URL="http://127.0.0.1:$PORT" npx playwright test "$@"; then
  echo "---- server log (last 50 lines) ----"; tail -n 50 "$DATA/server.log"; exit 1
fi
