#!/usr/bin/env bash
# The main job, end to end on this machine: start the reproduction lab (embedded Tomcat 10) in one
# failure class (default: the WebSocket session leak), break it the way that class breaks a host,
# then let runbook-autopilot diagnose it with the runbook's defaults, mitigate it (auto mode: the
# class's own ladder), verify and write the postmortem. The lab is always stopped at the end.
#   npm run demo                       # websocket-session-leak
#   npm run demo -- --mode <class>     # any class the lab reproduces (--list shows them)
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=websocket-session-leak
while (($#)); do
  case $1 in
    --mode) MODE=${2:?--mode needs a class}; shift 2 ;;
    --mode=*) MODE=${1#--mode=}; shift ;;
    --list) MODE=list; shift ;;
    *) echo "demo: unknown argument '$1' (expected --mode <class> or --list)" >&2; exit 2 ;;
  esac
done
# One function per class: start the lab in that failure and break it (defined below, after the helpers).
CLASSES=(websocket-session-leak heap-exhaustion close-wait-leak listen-backlog-overflow)
CLASSES+=(websocket-session-leak-jetty connection-pool-exhaustion connection-pool-exhaustion-slow-database)
CLASSES+=(process-down disk-full file-handle-leak thread-pool-exhaustion load-balancer-path)
if [[ $MODE == list ]]; then printf '%s\n' "${CLASSES[@]}"; exit 0; fi
known=0
for c in "${CLASSES[@]}"; do [[ $c == "$MODE" ]] && known=1; done
if ((!known)); then
  echo "demo: unknown class '$MODE' (expected one of: ${CLASSES[*]})" >&2
  exit 2
fi

bash scripts/setup.sh

PORT=${DEMO_PORT:-18080}
FD_LIMIT=${DEMO_FD_LIMIT:-1024}
# Each demo gets its own incidents folder: its lab is a new "host", so the last demo's cooldown does not apply.
OUT=${DEMO_OUT:-incidents/demo-$MODE-$(date +%Y%m%dT%H%M%S)}
runbook() { node bin/runbook.js "$@"; }
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { runbook lab down --port "$PORT" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
health() {
  printf 'GET /health → '
  curl -s -m 3 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health" || echo "no answer (the API is unreachable)"
}

# websocket-session-leak: clients open WebSocket sessions and vanish (no FIN reaches the server); the
# sessions stay ESTABLISHED until the JVM hits its open-files limit. The runbook tells them from HTTP
# keep-alive connections by idle time (probe.idleThresholdMs, 120 s, above Tomcat's 60 s keep-alive),
# so the demo waits that long, as a real incident would have.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_websocket_session_leak() {
  step "1. Start the lab: ws-leak mode on port $PORT, open-files limit $FD_LIMIT, Tomcat's default keep-alive"
  runbook lab up --mode ws-leak --port "$PORT" --fd-limit "$FD_LIMIT"
  step "2. Clients open WebSocket sessions and vanish (no FIN reaches the server)"
  runbook lab load --port "$PORT" --sessions $((FD_LIMIT * 2))
  health
  local idle=${DEMO_IDLE_WAIT_SECONDS:-125}
  step "3. Wait ${idle}s: the sessions become idle longer than the runbook's idle threshold (120 s)"
  sleep "$idle"
}

# process-down (DEMO_REASON: oom-killed, the default, crashed or exited): the JVM goes away for that reason.
# oom-killed: a 512 MB heap in a 192 MB memory cgroup, filled by requests until the kernel's OOM killer
# kills it; crashed: -XX:+CrashOnOutOfMemoryError writes hs_err_pid*.log (in /tmp: started in / as
# nobody); exited: GET /api/shutdown, exit status 0 (without a systemd unit its reason stays unknown).
# shellcheck disable=SC2317 # called by name
break_process_down() {
  local mode=process-${DEMO_REASON:-oom-killed}
  step "1. Start the lab: $mode mode on port $PORT"
  runbook lab up --mode "$mode" --port "$PORT"
  step "2. Load it until the JVM is gone"
  runbook lab load --port "$PORT"
  health
  # The ladder's restart rung needs a way to start the service: here, the lab again (healthy mode).
  RUN_ARGS=(--restart-command "node bin/runbook.js lab up --mode healthy --port $PORT")
}

# disk-full: the app's log folder is a 48 MiB tmpfs; requests are logged at DEBUG into a rolling request
# log that keeps every rolled file, until the filesystem is full and the disk-space health check fails.
# The shipped ladder only escalates; this demo opts in to deleting rotated logs with an override.
# shellcheck disable=SC2317 # called by name
break_disk_full() {
  step "1. Start the lab: disk-full mode on port $PORT (its log folder on a 48 MiB tmpfs)"
  runbook lab up --mode disk-full --port "$PORT"
  step "2. Requests fill the log filesystem with rolled request logs"
  runbook lab load --port "$PORT"
  health
  RUN_ARGS=(--runbook docs/examples/disk-full-delete-rotated-logs.yaml)
  step "   opt-in: ${RUN_ARGS[*]} (the disk-full ladder may delete rotated logs)"
}

# heap-exhaustion: a shop API whose cookie-less clients get a new HTTP session, and a cart of objects in
# it, on every request; with -Xmx64m the old generation fills with carts, full GCs free nothing and
# requests fail with OutOfMemoryError. The ladder dumps the heap (root-only, under
# /var/tmp/runbook-autopilot-heap-dumps) before it restarts the service with the lab's start command.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_heap_exhaustion() {
  local up=(lab up --mode heap-leak --port "$PORT" --heap-mb 64 --session-bytes 262144)
  step "1. Start the lab: heap-leak mode on port $PORT, -Xmx64m, a 256 KiB cart per HTTP session"
  runbook "${up[@]}"
  step "2. Cookie-less clients: a new session and cart per request, until the heap is full"
  runbook lab load --port "$PORT"
  health
  RUN_ARGS=(--restart-command "node bin/runbook.js ${up[*]}")
}

# close-wait-leak: every GET /api/quote asks an upstream that answers and closes its end; the app never
# closes its socket, so each call leaves one in CLOSE-WAIT until the JVM reaches its open-files limit.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_close_wait_leak() {
  step "1. Start the lab: close-wait mode on port $PORT, open-files limit $FD_LIMIT"
  runbook lab up --mode close-wait --port "$PORT" --fd-limit "$FD_LIMIT"
  step "2. Clients call GET /api/quote; each call leaves its upstream connection in CLOSE-WAIT"
  runbook lab load --port "$PORT" --requests $((FD_LIMIT * 2))
  health
  RUN_ARGS=(--restart-command "node $PWD/bin/runbook.js lab up --mode close-wait --port $PORT --fd-limit $FD_LIMIT")
}

# listen-backlog-overflow: Tomcat's acceptor stops accepting (the lab pauses the connector) while clients
# keep arriving; the kernel fills the accept queue (acceptCount 100) and then drops connections.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_listen_backlog_overflow() {
  step "1. Start the lab: listen-backlog mode on port $PORT (Tomcat acceptCount 100)"
  runbook lab up --mode listen-backlog --port "$PORT" --fd-limit "$FD_LIMIT"
  step "2. The acceptor stalls; clients keep arriving (20 a second) and the accept queue overflows"
  runbook lab load --port "$PORT"
  health
  RUN_ARGS=(--restart-command "node $PWD/bin/runbook.js lab up --mode listen-backlog --port $PORT --fd-limit $FD_LIMIT")
}

# jetty-ws-leak: the same leak on Jetty 9.4 (its WebSocket idle timeout raised to a day); the runbook counts
# Jetty's session class (probe.sessionClasses). Waits out the 120 s idle threshold like the Tomcat demo.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_websocket_session_leak_jetty() {
  step "1. Start the lab: Jetty 9.4 (jetty-ws-leak) on port $PORT, open-files limit $FD_LIMIT"
  runbook lab up --mode jetty-ws-leak --port "$PORT" --fd-limit "$FD_LIMIT"
  step "2. Clients open WebSocket sessions and vanish (no FIN reaches the server)"
  runbook lab load --port "$PORT" --sessions $((FD_LIMIT * 2))
  health
  local idle=${DEMO_IDLE_WAIT_SECONDS:-125}
  step "3. Wait ${idle}s: the sessions become idle longer than the runbook's idle threshold (120 s)"
  sleep "$idle"
}

# connection-pool-exhaustion (a leak): GET /api/report borrows a HikariCP connection and never returns it;
# ten calls empty the pool, users' traffic then waits 30 s for a connection and fails. Ladder: restart
# (the command that starts the service again is the lab's), then escalate.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_connection_pool_exhaustion() {
  step "1. Start the lab: pool-leak (Tomcat, HikariCP on H2) on port $PORT"
  runbook lab up --mode pool-leak --port "$PORT"
  RUN_ARGS=(--restart-command "node bin/runbook.js lab up --mode pool-leak --port $PORT")
  step "2. Ten report calls leak the pool's ten connections; users' traffic (2 requests/s) starts waiting"
  runbook lab load --port "$PORT" --max-seconds 300
  health
}

# connection-pool-exhaustion, slow database: every query takes 45 s, the pool's connections are all inside
# queries and the other requests queue for one. Ladder: notify only (a restart would fix nothing), even
# though a restart command is given.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_connection_pool_exhaustion_slow_database() {
  step "1. Start the lab: pool-slow-db (Tomcat, HikariCP on an H2 database that answers in 45 s) on port $PORT"
  runbook lab up --mode pool-slow-db --port "$PORT"
  RUN_ARGS=(--restart-command "node bin/runbook.js lab up --mode pool-slow-db --port $PORT")
  step "2. Users' traffic (2 requests/s): ten requests hold the connections in slow queries, the rest wait"
  runbook lab load --port "$PORT" --max-seconds 300
  health
}

RUN_ARGS=()

# file-handle-leak: every GET /api/export opens a file and never closes it, until the JVM reaches its
# open-files limit. Ladder: restart (the lab's start command), then escalate.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_file_handle_leak() {
  step "1. Start the lab: file-leak mode on port $PORT, open-files limit $FD_LIMIT"
  runbook lab up --mode file-leak --port "$PORT" --fd-limit "$FD_LIMIT"
  step "2. Clients call GET /api/export; each call leaves one file open"
  runbook lab load --port "$PORT" --requests $((FD_LIMIT * 2))
  health
  RUN_ARGS=(--restart-command "node $PWD/bin/runbook.js lab up --mode file-leak --port $PORT --fd-limit $FD_LIMIT")
}

# thread-pool-exhaustion: GET /api/slow takes ten minutes; 4 request threads (maxThreads 4) are soon all
# busy and the accept queue (acceptCount 2) full. Ladder: restart, then escalate.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_thread_pool_exhaustion() {
  step "1. Start the lab: slow mode on port $PORT (maxThreads 4)"
  runbook lab up --mode slow --port "$PORT"
  step "2. Slow requests take every request thread"
  runbook lab load --port "$PORT"
  health
  RUN_ARGS=(--restart-command "node $PWD/bin/runbook.js lab up --mode slow --port $PORT")
}

# load-balancer-path: the host is fine (the break is in front of it); the runbook says so and changes
# nothing. fd-exhaustion, a symptom, shows in the websocket-session-leak and file-handle-leak demos.
# shellcheck disable=SC2317 # called by name: "break_${MODE//-/_}"
break_load_balancer_path() {
  step "1. Start the lab: healthy mode on port $PORT (the alarm comes from the load balancer's side)"
  runbook lab up --mode healthy --port "$PORT"
  health
}

# Extra options of `run` a class needs (a class whose ladder restarts: how to start the service again).
RUN_ARGS=()
"break_${MODE//-/_}"

# No --log-path: the runbook finds the service's log itself (its stdout/stderr file here; docs/rules.md).
step "4. runbook diagnose (changes nothing)"
runbook diagnose --port "$PORT"

step "5. runbook run api-unreachable --mode auto (the class's ladder, verify, record, postmortem)"
set +e
runbook run api-unreachable --port "$PORT" --mode auto --out "$OUT" "${RUN_ARGS[@]}"
rc=$?
set -e
health
echo "runbook run exited $rc"
exit $rc
