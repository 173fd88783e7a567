#!/usr/bin/env bash
# Run LocalStack in host mode (no Docker) from its own Python >= 3.12 venv, then run something against it.
#   scripts/localstack.sh test   -> the queues/ integration tests with SQS and S3 on LocalStack, DynamoDB on moto
#   scripts/localstack.sh bench  -> bench/consumer_overhead.py against LocalStack's SQS
#   scripts/localstack.sh serve  -> LocalStack on 127.0.0.1:${LOCALSTACK_PORT:-4566} until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-test}"
VENV="${VENV:-.venv}"
LS_VENV="${LS_VENV:-.venv-localstack}"
LS_PINS=("localstack-core[runtime]==2026.3.0")
LS_EXTRA_PINS=("cbor2<6" "pyopenssl==25.3.0" "cryptography>=45.0.7,<47" "service_identity>=24,<25")

find_python() {
  local candidates=(python3.13 python3.12)
  if command -v pyenv >/dev/null 2>&1; then
    # newest first: LocalStack 2026.3 starts on 3.13 here, while 3.12.1 finds no runtime plugins
    local found
    found="$(ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV || true)"
    [ -n "$found" ] && mapfile -t -O "${#candidates[@]}" candidates <<<"$found"
  fi
  for py in "${candidates[@]}"; do
    if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      command -v "$py" || echo "$py"
      return 0
    fi
  done
  return 1
}

if ! PY="$(find_python)"; then
  echo "SKIP localstack: LocalStack's host mode needs Python >= 3.12 and none is installed on this machine"
  exit 0
fi

if [ ! -f "$LS_VENV/.installed" ]; then
  echo "== installing LocalStack into $LS_VENV (Python: $PY)"
  "$PY" -m venv "$LS_VENV"
  "$LS_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$LS_VENV/bin/python" -m pip install --quiet "${LS_PINS[@]}"
  "$LS_VENV/bin/python" -m pip install --quiet "${LS_EXTRA_PINS[@]}"
  touch "$LS_VENV/.installed"
fi

PORT="${LOCALSTACK_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
WORK="$(mktemp -d)"
ENDPOINT="http://127.0.0.1:$PORT"

cleanup() {
  if [ -n "${LS_PID:-}" ]; then
    kill -TERM -- "-$LS_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$LS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$LS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting LocalStack (host mode) on $ENDPOINT"
OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$WORK/fs" GATEWAY_LISTEN="127.0.0.1:$PORT" SERVICES=sqs,s3 \
  LOCALSTACK_TELEMETRY_DISABLED=1 LS_LOG=warn DNS_ADDRESS=0 HOME="$WORK" \
  setsid "$LS_VENV/bin/python" -m localstack.runtime.main >"$WORK/localstack.log" 2>&1 &
LS_PID=$!

ready=""
for _ in $(seq 120); do
  if "$VENV/bin/python" - "$ENDPOINT" <<'PY' 2>/dev/null; then
import json, sys, urllib.request
health = json.load(urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2))
sys.exit(0 if all(health["services"].get(s) in ("available", "running") for s in ("sqs", "s3")) else 1)
PY
    ready=1; break
  fi
  kill -0 "$LS_PID" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "LocalStack did not become ready; its log:"; tail -50 "$WORK/localstack.log"; exit 1
fi
echo "== LocalStack ready"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
case "$MODE" in
  test)
    CALLPIPE_TEST_SQS_ENDPOINT="$ENDPOINT" CALLPIPE_TEST_S3_ENDPOINT="$ENDPOINT" \
      "$VENV/bin/pytest" -q -p no:cacheprovider tests/integration/queues ;;
  bench)
    CALLPIPE_BENCH_SQS_ENDPOINT="$ENDPOINT" "$VENV/bin/python" bench/consumer_overhead.py "${@:2}" ;;
  serve)
    echo "export AWS_ENDPOINT_URL_SQS=$ENDPOINT AWS_ENDPOINT_URL_S3=$ENDPOINT"; wait "$LS_PID" ;;
  *) echo "unknown mode $MODE (test|bench|serve)"; exit 2 ;;
esac
