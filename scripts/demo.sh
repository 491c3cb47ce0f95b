#!/usr/bin/env bash
# The main job, end to end on this machine: start the reproduction lab (embedded Tomcat 10) in the
# WebSocket-leak failure, load it with vanishing clients until the API stops answering, then let
# runbook-autopilot diagnose it, mitigate it in place (auto mode), verify recovery and write the
# postmortem. The lab is always stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

PORT=${DEMO_PORT:-18080}
FD_LIMIT=${DEMO_FD_LIMIT:-1024}
# Each demo gets its own incidents folder: its lab is a new "host", so the last demo's cooldown does not apply.
OUT=${DEMO_OUT:-incidents/demo-$(date +%Y%m%dT%H%M%S)}
runbook() { node bin/runbook.js "$@"; }
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { runbook lab down --port "$PORT" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Start the lab: ws-leak mode on port $PORT, open-files limit $FD_LIMIT, Tomcat keep-alive 2 s"
runbook lab up --mode ws-leak --port "$PORT" --fd-limit "$FD_LIMIT" --keep-alive-ms 2000

step "2. Clients open WebSocket sessions and vanish (no FIN reaches the server)"
runbook lab load --port "$PORT" --sessions $((FD_LIMIT * 2))
printf 'GET /health → '; curl -s -m 3 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health" || echo "no answer (the API is unreachable)"

step "3. Wait until the sessions are idle longer than the keep-alive timeout"
sleep 6

step "4. runbook diagnose (changes nothing)"
runbook diagnose --port "$PORT" --log-path "$PWD/.lab/$PORT/app.log" --idle-threshold-seconds 5 --threshold httpKeepAliveMs=2000

step "5. runbook run api-unreachable --mode auto (mitigate, verify, record, postmortem)"
set +e
runbook run api-unreachable --port "$PORT" --log-path "$PWD/.lab/$PORT/app.log" --mode auto --out "$OUT" \
  --idle-threshold-seconds 5 --threshold httpKeepAliveMs=2000
rc=$?
set -e
printf 'GET /health → '; curl -s -m 3 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health" || echo "no answer"
echo "runbook run exited $rc"
exit $rc
