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
CLASSES=(websocket-session-leak heap-exhaustion close-wait-leak close-wait-leak-app-port listen-backlog-overflow)
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

# How the demo breaks each class: one arm a class, setting
#   mode      the lab's mode (`runbook lab up --mode`);  lab: its other `lab up` options after --port
#   start     what step 1 says the lab is
#   loads     what step 2 says the load does, empty: no load (the host stays healthy)
#   load      `runbook lab load` options after --port
#   idle      seconds to wait after the load, empty: no wait
#   restart   the mode `run`'s restart command starts the lab in again (the restart rung needs a way to
#             start the service: here the lab itself), empty: none given
#   override  a runbook override `run` gets (--runbook), and override_why what it opts in to
class_settings() {
  mode=$1 lab=() start='' loads='' load=() idle='' restart='' override='' override_why=''
  case $1 in
    # Clients open WebSocket sessions and vanish (no FIN reaches the server); the sessions stay
    # ESTABLISHED until the JVM hits its open-files limit. The runbook tells them from HTTP keep-alive
    # connections by idle time (probe.idleThresholdMs, 120 s, above Tomcat's 60 s keep-alive), so the demo
    # waits that long, as a real incident would have.
    websocket-session-leak)
      mode=ws-leak lab=(--fd-limit "$FD_LIMIT")
      start="ws-leak mode on port $PORT, open-files limit $FD_LIMIT, Tomcat's default keep-alive"
      loads="Clients open WebSocket sessions and vanish (no FIN reaches the server)"
      load=(--sessions $((FD_LIMIT * 2))) idle=${DEMO_IDLE_WAIT_SECONDS:-125} ;;
    # The same leak on Jetty 9.4 (its WebSocket idle timeout raised to a day); the runbook counts Jetty's
    # session class (probe.sessionClasses). Waits out the 120 s idle threshold like the Tomcat demo.
    websocket-session-leak-jetty)
      mode=jetty-ws-leak lab=(--fd-limit "$FD_LIMIT")
      start="Jetty 9.4 (jetty-ws-leak) on port $PORT, open-files limit $FD_LIMIT"
      loads="Clients open WebSocket sessions and vanish (no FIN reaches the server)"
      load=(--sessions $((FD_LIMIT * 2))) idle=${DEMO_IDLE_WAIT_SECONDS:-125} ;;
    # DEMO_REASON (oom-killed, the default, crashed or exited): the JVM goes away for that reason.
    # oom-killed: a 512 MB heap in a 192 MB memory cgroup, filled by requests until the kernel's OOM killer
    # kills it; crashed: -XX:+CrashOnOutOfMemoryError writes hs_err_pid*.log (in /tmp: started in / as
    # nobody); exited: GET /api/shutdown, exit status 0 (without a systemd unit its reason stays unknown).
    # The restart rung starts the lab again in healthy mode.
    process-down)
      mode=process-${DEMO_REASON:-oom-killed} restart=healthy
      start="$mode mode on port $PORT" loads="Load it until the JVM is gone" ;;
    # The app's log folder is a 48 MiB tmpfs; requests are logged at DEBUG into a rolling request log that
    # keeps every rolled file, until the filesystem is full and the disk-space health check fails. The
    # shipped ladder only escalates; this demo opts in to deleting rotated logs with an override.
    disk-full)
      start="disk-full mode on port $PORT (its log folder on a 48 MiB tmpfs)"
      loads="Requests fill the log filesystem with rolled request logs"
      override=docs/examples/disk-full-delete-rotated-logs.yaml
      override_why="the disk-full ladder may delete rotated logs" ;;
    # A shop API whose cookie-less clients get a new HTTP session, and a cart of objects in it, on every
    # request; with -Xmx64m the old generation fills with carts, full GCs free nothing and requests fail
    # with OutOfMemoryError. The ladder dumps the heap (root-only, under /var/tmp/runbook-autopilot-heap-dumps)
    # before it restarts the service with the lab's start command.
    heap-exhaustion)
      mode=heap-leak lab=(--heap-mb 64 --session-bytes 262144) restart=heap-leak
      start="heap-leak mode on port $PORT, -Xmx64m, a 256 KiB cart per HTTP session"
      loads="Cookie-less clients: a new session and cart per request, until the heap is full" ;;
    # Every GET /api/quote asks an upstream that answers and closes its end; the app never closes its
    # socket, so each call leaves one in CLOSE-WAIT until the JVM reaches its open-files limit.
    close-wait-leak)
      mode=close-wait lab=(--fd-limit "$FD_LIMIT") restart=close-wait
      start="close-wait mode on port $PORT, open-files limit $FD_LIMIT"
      loads="Clients call GET /api/quote; each call leaves its upstream connection in CLOSE-WAIT"
      load=(--requests $((FD_LIMIT * 2))) ;;
    # The inbound kind: GET /api/events is a long poll that never answers; each client gives up after 1 s and
    # closes, and the app never closes its end, so each leaves a socket in CLOSE-WAIT on the app port.
    close-wait-leak-app-port)
      mode=close-wait-inbound lab=(--fd-limit "$FD_LIMIT") restart=close-wait-inbound
      start="close-wait-inbound mode on port $PORT, open-files limit $FD_LIMIT"
      loads="Clients wait 1 s on GET /api/events, give up and close; the app keeps its end in CLOSE-WAIT"
      load=(--requests $((FD_LIMIT * 2))) ;;
    # Tomcat's acceptor stops accepting (the lab pauses the connector) while clients keep arriving; the
    # kernel fills the accept queue (acceptCount 100) and then drops connections.
    listen-backlog-overflow)
      mode=listen-backlog lab=(--fd-limit "$FD_LIMIT") restart=listen-backlog
      start="listen-backlog mode on port $PORT (Tomcat acceptCount 100)"
      loads="The acceptor stalls; clients keep arriving (20 a second) and the accept queue overflows" ;;
    # A leak: GET /api/report borrows a HikariCP connection and never returns it; ten calls empty the pool,
    # users' traffic then waits 30 s for a connection and fails. Ladder: restart, then escalate.
    connection-pool-exhaustion)
      mode=pool-leak restart=pool-leak start="pool-leak (Tomcat, HikariCP on H2) on port $PORT"
      loads="Ten report calls leak the pool's ten connections; users' traffic (2 requests/s) starts waiting"
      load=(--max-seconds 300) ;;
    # A slow database: every query takes 45 s, the pool's connections are all inside queries and the other
    # requests queue for one. Ladder: notify only (a restart would fix nothing), even though a restart
    # command is given.
    connection-pool-exhaustion-slow-database)
      mode=pool-slow-db restart=pool-slow-db
      start="pool-slow-db (Tomcat, HikariCP on an H2 database that answers in 45 s) on port $PORT"
      loads="Users' traffic (2 requests/s): ten requests hold the connections in slow queries, the rest wait"
      load=(--max-seconds 300) ;;
    # Every GET /api/export opens a file and never closes it, until the JVM reaches its open-files limit.
    # Ladder: restart, then escalate.
    file-handle-leak)
      mode=file-leak lab=(--fd-limit "$FD_LIMIT") restart=file-leak
      start="file-leak mode on port $PORT, open-files limit $FD_LIMIT"
      loads="Clients call GET /api/export; each call leaves one file open"
      load=(--requests $((FD_LIMIT * 2))) ;;
    # GET /api/slow takes ten minutes; 4 request threads (maxThreads 4) are soon all busy and the accept
    # queue (acceptCount 2) full. Ladder: restart, then escalate.
    thread-pool-exhaustion)
      mode=slow restart=slow start="slow mode on port $PORT (maxThreads 4)"
      loads="Slow requests take every request thread" ;;
    # The host is fine (the break is in front of it); the runbook says so and changes nothing.
    # fd-exhaustion, a symptom, shows in the websocket-session-leak and file-handle-leak demos.
    load-balancer-path)
      mode=healthy start="healthy mode on port $PORT (the alarm comes from the load balancer's side)" ;;
    *) echo "demo: no settings for class '$1'" >&2; exit 2 ;;
  esac
}

# Start the lab in the class's failure and break it; RUN_ARGS: the extra options of `run` the class needs.
break_lab() {
  class_settings "$1"
  step "1. Start the lab: $start"
  runbook lab up --mode "$mode" --port "$PORT" "${lab[@]}"
  if [[ -n $loads ]]; then
    step "2. $loads"
    runbook lab load --port "$PORT" "${load[@]}"
  fi
  health
  if [[ -n $idle ]]; then
    step "3. Wait ${idle}s: the sessions become idle longer than the runbook's idle threshold (120 s)"
    sleep "$idle"
  fi
  RUN_ARGS=()
  if [[ -n $restart ]]; then
    # The restart command: the lab again, with the options it was started with, in the `restart` mode.
    local cmd
    cmd=$(printf '%q ' node "$PWD/bin/runbook.js" lab up --mode "$restart" --port "$PORT" "${lab[@]}")
    RUN_ARGS=(--restart-command "${cmd% }")
  fi
  if [[ -n $override ]]; then
    RUN_ARGS=(--runbook "$override")
    step "   opt-in: ${RUN_ARGS[*]} ($override_why)"
  fi
}

break_lab "$MODE"

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
