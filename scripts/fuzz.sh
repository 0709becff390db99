#!/usr/bin/env bash
# Short, bounded, coverage-guided fuzzing runs (cargo fuzz / libFuzzer) of the
# Meta webhook parser and the redirect pattern matcher, seeded from
# server/tests/fixtures (and fuzz/regressions/<target>/ when present). Works on
# the stable toolchain: `--sanitizer none` keeps libFuzzer's coverage
# instrumentation and passes no nightly-only flag (the fuzzed code is safe
# Rust; ASan would only add build and run time). `--codegen-units 16` builds
# faster on 2 cores at the same executions/s. Installs the pinned cargo-fuzz
# (a debug build: it is only the driver) when it is missing; skips, saying
# why, only when it cannot be installed or there is no C++ compiler for
# libFuzzer. Exits non-zero when a target crashes: the input is left in
# fuzz/artifacts/<target>/ (reproduce: cd fuzz && cargo fuzz run
# --sanitizer none <target> <file>; minimize: cargo fuzz tmin ...).
# Usage: scripts/fuzz.sh [seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-20}
CARGO_FUZZ_VERSION=0.13.2
TARGETS=(meta_webhook redirect_pattern)
FUZZ_FLAGS=(--sanitizer none --codegen-units 16)
started=$(date +%s)

if ! command -v c++ >/dev/null 2>&1; then
  echo "[fuzz] skipped: no C++ compiler (c++) to build libFuzzer (apt-get install g++)"; exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once per machine)"
  install_log=$(mktemp)
  if ! nice -n 10 cargo install --debug cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >"$install_log" 2>&1; then
    tail -n 20 "$install_log"
    echo "[fuzz] skipped: cargo install cargo-fuzz $CARGO_FUZZ_VERSION failed (log above)"; exit 0
  fi
fi
echo "[fuzz] $(cargo fuzz --version), $(rustc --version)"

build_started=$(date +%s)
(cd fuzz && nice -n 10 cargo fuzz build "${FUZZ_FLAGS[@]}")
echo "[fuzz] built in $(( $(date +%s) - build_started ))s"

seeds=$(mktemp -d)
logs=$(mktemp -d)
trap 'rm -rf "$seeds" "$logs"' EXIT
mkdir -p "$seeds/meta_webhook" "$seeds/redirect_pattern"
# One seed per fixture payload.
python3 - "$seeds/meta_webhook" <<'PY'
import json, sys, os
fixtures = json.load(open("server/tests/fixtures/meta_webhooks.json"))
for name, body in fixtures.items():
    with open(os.path.join(sys.argv[1], name), "w") as f:
        json.dump(body, f)
PY
# Redirect seeds: "pattern\ncandidate".
i=0
for pair in \
  'https://app.example.com/cb\nhttps://app.example.com/cb?state=1' \
  'https://*.example.com/oauth/done\nhttps://eu.example.com/oauth/done' \
  'http://localhost:3000/cb\nhttp://localhost:3000/cb' \
  'https://app.example.com:8443/a/b\nhttps://user:pw@app.example.com:8443/a/b#x' \
  'com.example.app://callback\nhttps://app.example.com/cb'; do
  printf '%b' "$pair" > "$seeds/redirect_pattern/seed$i"; i=$((i+1))
done

status=0
for target in "${TARGETS[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  extra=()
  [ -d "fuzz/regressions/$target" ] && extra+=("regressions/$target")
  echo "[fuzz] $target for ${SECONDS_PER_TARGET}s"
  log=$logs/$target.log
  if (cd fuzz && nice -n 10 cargo fuzz run "${FUZZ_FLAGS[@]}" "$target" \
        "../$corpus" "$seeds/$target" "${extra[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=10 \
        -print_final_stats=1) >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "[fuzz] $target: no crash; ${runs:-?} runs (${rate:-?}/s), $cov, +${added:-?} new inputs, corpus $(find "$corpus" -type f | wc -l) files"
  else
    status=1
    # The panic or libFuzzer's error, the input and how to reproduce it.
    grep -E -A1 "panicked at|==[0-9]+== ERROR" "$log" | head -n 20 || true
    sed -n '/^Failing input:/,/^────/p' "$log" | head -n 30
    [ -s "$log" ] && ! grep -q "^Failing input:" "$log" && tail -n 40 "$log"
    echo "[fuzz] $target: CRASH (input in fuzz/artifacts/$target/)"
  fi
done
echo "[fuzz] done in $(( $(date +%s) - started ))s"
exit $status
