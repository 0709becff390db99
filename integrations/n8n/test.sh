#!/usr/bin/env bash
# The n8n community package: install (from the lockfile), build, lint with
# n8n's node linter, run the nodes through n8n-core against a sandbox
# Switchboard, and pack the installable tarball.
# Needs the server's debug binary (built by `cargo test`); override with SWITCHBOARD_BIN.
set -euo pipefail
cd "$(dirname "$0")"
export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$(cd ../.. && pwd)/${CARGO_TARGET_DIR:-target}/debug/switchboard}"
case "$SWITCHBOARD_BIN" in /*) ;; *) SWITCHBOARD_BIN="$(cd ../.. && pwd)/$SWITCHBOARD_BIN" ;; esac
[ -x "$SWITCHBOARD_BIN" ] || { echo "no Switchboard binary at $SWITCHBOARD_BIN (run cargo test -p server first)"; exit 1; }

# Only reinstall when the lockfile changed since the last install.
if ! cmp -s package-lock.json node_modules/.installed-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock.json
fi
rm -rf dist
npm run build
npm run lint
npm test
rm -f n8n-nodes-switchboard-*.tgz
npm pack
