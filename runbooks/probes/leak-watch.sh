#!/usr/bin/env bash
# runbook-autopilot leak-watch probe: one cheap sample of a JVM service, for `runbook watch` and the
# scheduled leak watch on AWS. The same conventions as api-unreachable.sh: the same text runs under
# SSM Run Command (root, interpolationType ENV_VAR) and locally under bash; inputs come ONLY from
# SSM_ environment variables and are validated; it never changes the host; stdout is small and bounded.
#
# Cheap: /proc (open fds, the limit, the process start), one `ss` for the port, `jstat` (reads the JVM's
# perf-data file: no attach, no GC). The WebSocket session count (the classes of SSM_sessionClasses, the
# runbook's probe.sessionClasses) needs a class histogram (an attach that forces a full GC), so it is taken
# only when SSM_withHistogram=true, and never at the fd limit.
#
# stdout (parsed by parseLeakWatchOutput in lambdas/core/parsers/leak-watch.ts):
#   #runbook-leak-watch format=1 version=V
#   key=value                          at, port, pid, startTicks, openFds, fdLimit, established,
#                                      idleEstablished, idleThresholdMs, heapOldGenPercent, sessions
#   unavailable=FIELD REASON           a value that could not be read (its key is then empty)
#   ==> end status=ok durationMs=N
# bash >= 5, the floor of every runbook script (docs/security.md). POSIX sh up to `esac`: run by sh it
# re-runs itself with bash; an older bash is refused on one line (stdout and stderr), exit 4.
if [ -z "${BASH_VERSION:-}" ] && [ -f "$0" ] && command -v bash >/dev/null 2>&1; then exec bash "$0" "$@"; fi
case ${BASH_VERSION:-} in [5-9].* | [1-9][0-9]*) ;; *)
  echo "runbook leak-watch: needs bash >= 5, this is ${BASH_VERSION:-not bash}"
  echo "runbook leak-watch: needs bash >= 5, this is ${BASH_VERSION:-not bash}" >&2
  exit 4 ;;
esac
set -u
set -o pipefail
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
# ss_aggregate: the probe's socket aggregation, the one there is (read after IDLE_MS is validated).
# shellcheck source=SCRIPTDIR/../lib/socket-aggregate.sh
. "${0%"${0##*/}"}../lib/socket-aggregate.sh"  # runbook:include lib/socket-aggregate.sh

echo "#runbook-leak-watch format=1 version=1.0.0"

input_error() {
  echo "==> input status=invalid reason=$1"
  echo "runbook leak-watch: invalid input: $1" >&2
  exit 2
}

PORT=${SSM_port:-}
PID_IN=${SSM_pid:-}
IDLE_MS=${SSM_idleThresholdMs:-}
WITH_HISTO=${SSM_withHistogram:-}
[[ -z $IDLE_MS ]] && IDLE_MS=120000
[[ -z $WITH_HISTO ]] && WITH_HISTO=false
SESSION_CLASSES=${SSM_sessionClasses:-}
# shellcheck source=SCRIPTDIR/../lib/probe-inputs.sh
. "${0%"${0##*/}"}../lib/probe-inputs.sh"  # runbook:include lib/probe-inputs.sh
session_classes_valid "$SESSION_CLASSES" ||
  input_error "SSM_sessionClasses must be empty or up to 20 space-separated Java class names (got '${SESSION_CLASSES:0:60}')"
{ [[ $PORT =~ ^[0-9]{1,5}$ ]] && ((10#$PORT >= 1 && 10#$PORT <= 65535)); } ||
  input_error "SSM_port must be a TCP port 1-65535 (got '${PORT:0:40}')"
PORT=$((10#$PORT))
[[ $PID_IN =~ ^([1-9][0-9]{0,9})?$ ]] || input_error "SSM_pid must be empty or a process id of digits (got '${PID_IN:0:40}')"
[[ $IDLE_MS =~ ^[0-9]{1,10}$ ]] || input_error "SSM_idleThresholdMs must be whole milliseconds (got '${IDLE_MS:0:40}')"
IDLE_MS=$((10#$IDLE_MS))
[[ $WITH_HISTO =~ ^(true|false)$ ]] || input_error "SSM_withHistogram must be true or false (got '${WITH_HISTO:0:40}')"

START_MS=$(date +%s%3N)
oneline() { tr -d '\r' | tr '\n\t' '  ' | tr -cd '[:print:]' | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//' | cut -c1-"${1:-200}"; }
unavailable() { echo "unavailable=$1 $(printf '%s' "$2" | oneline 200)"; }
W=$(mktemp -d /tmp/runbook-leak-watch.XXXXXX) || { echo "==> end status=unavailable reason=mktemp failed"; exit 1; }
trap 'rm -rf -- "$W"' EXIT

# The target process: the given PID, else the listener of the port.
PID=""
if [[ -n $PID_IN ]]; then
  [[ -d /proc/$PID_IN ]] && PID=$PID_IN
  NO_PID="no such process: pid $PID_IN does not exist"
else
  PID=$(timeout -k 1 5 ss -Hltnp "( sport = :$PORT )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
  NO_PID="no process of this user listens on port $PORT (ss -ltnp shows none)"
fi

echo "at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
echo "port=$PORT"
echo "idleThresholdMs=$IDLE_MS"
echo "pid=$PID"
if [[ -z $PID ]]; then
  for f in startTicks openFds fdLimit; do echo "$f="; unavailable "$f" "$NO_PID"; done
else
  # Field 22 of /proc/PID/stat (after the parenthesised command name): start time in clock ticks.
  START_TICKS=$(sed -e 's/^.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{ print $20 }')
  echo "startTicks=$START_TICKS"
  if open=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>"$W/fd.err" | wc -l) && [[ ! -s $W/fd.err ]]; then
    echo "openFds=$open"
  else
    echo "openFds="
    unavailable openFds "$(cat "$W/fd.err")"
  fi
  limit=$(awk '/^Max open files/ { print $4 }' "/proc/$PID/limits" 2>/dev/null)
  echo "fdLimit=$limit"
  [[ -n $limit ]] || unavailable fdLimit "cannot read /proc/$PID/limits"
fi

# Sockets of the port: ESTABLISHED, and those with nothing received for longer than the idle threshold,
# counted by the probe's aggregation (ss_aggregate: established=, idle.overThreshold=).
if timeout -k 1 10 ss -Htanoi "( sport = :$PORT )" >"$W/ss.txt" 2>"$W/ss.err"; then
  ss_aggregate "$W/ss.txt" | awk -F= '$1 == "established" { e = $2 } $1 == "idle.overThreshold" { o = $2 }
    END { printf "established=%d\nidleEstablished=%d\n", e, o }'
else
  echo "established="
  echo "idleEstablished="
  unavailable established "ss failed: $(cat "$W/ss.err")"
fi

# untrusted_reason, pick_tool, runas_for: what may run, and as whom.
# shellcheck source=SCRIPTDIR/../lib/trusted-path.sh
. "${0%"${0##*/}"}../lib/trusted-path.sh"  # runbook:include lib/trusted-path.sh
# JDK tools run as the JVM's user (root cannot read another user's perf data or attach otherwise).
RUNAS=()
JDK_BIN=""
JVM_UID=""
if [[ -n $PID ]]; then
  EXE=$(readlink "/proc/$PID/exe" 2>/dev/null)
  jdk_bin_of "$EXE"
  # find prints the owner's uid for its name when the uid has no passwd entry (a container's user).
  read -r JVM_UID JVM_GID JVM_USER < <(find "/proc/$PID" -maxdepth 0 -printf '%U %G %u\n' 2>/dev/null)
  if [[ -n ${JVM_USER:-} && $JVM_UID != "$EUID" && $EUID == 0 ]]; then
    runas_for "$JVM_UID" "$JVM_GID" "$JVM_USER"
  fi
fi
# hotspot_attach_safe (never a SIGQUIT that would end the target) and the direct attach.
# shellcheck source=SCRIPTDIR/../lib/hotspot-attach.sh
. "${0%"${0##*/}"}../lib/hotspot-attach.sh"  # runbook:include lib/hotspot-attach.sh

heap=""
if [[ -n $PID ]] && pick_tool jstat; then
  jstat=$TOOL
  # -snap prints the perf counters: old generation used and maximum capacity in one call.
  if timeout -k 1 10 "${RUNAS[@]}" "$jstat" -J-Djstat.showUnsupported=true -snap "$PID" >"$W/snap.txt" 2>&1; then
    heap=$(awk -F= '/^sun.gc.generation.1.space.0.used=/ { u = $2 } /^sun.gc.generation.1.maxCapacity=/ { m = $2 }
                    END { if (m > 0) printf "%.2f", 100 * u / m }' "$W/snap.txt")
  fi
  [[ -n $heap ]] || heap_reason="jstat failed: $(tail -n 2 "$W/snap.txt" | oneline 160)"
else
  heap_reason=$([[ -z $PID ]] && echo "$NO_PID" || echo "$TOOL_WHY")
fi
echo "heapOldGenPercent=$heap"
[[ -n $heap ]] || unavailable heapOldGenPercent "$heap_reason"

sessions=""
histogram=""
if [[ $WITH_HISTO != true ]]; then
  unavailable sessions "not sampled: needs a class histogram (SSM_withHistogram=true), which forces a full GC"
elif [[ -z $SESSION_CLASSES ]]; then
  unavailable sessions "no WebSocket session class given (SSM_sessionClasses: the runbook's probe.sessionClasses)"
elif [[ -z $PID ]]; then
  unavailable sessions "$NO_PID"
elif [[ -n ${open:-} && -n ${limit:-} ]] && ((open + 2 >= limit)); then
  unavailable sessions "at the fd limit ($open of $limit): the JVM cannot accept an attach"
elif ! hotspot_attach_safe "$PID"; then
  unavailable sessions "not attempted: $ATTACH_UNSAFE_WHY"
elif hotspot_attach_client; then
  # The probe's own attach (no JVM started), with the start time read above.
  if echo GC.class_histogram | timeout -k 1 8 "${RUNAS[@]}" "$ATTACH_PY_BIN" -I -S -c "$HOTSPOT_ATTACH_PY" "$PID" "${START_TICKS:-0}" 3000 \
    >"$W/histo.txt" 2>"$W/attach.err" && grep -q '^Total ' "$W/histo.txt"; then
    histogram=ok
  else
    unavailable sessions "GC.class_histogram failed: $(oneline 160 <"$W/attach.err")"
  fi
elif pick_tool jcmd; then
  if timeout -k 1 8 "${RUNAS[@]}" "$TOOL" -J-Dsun.tools.attach.attachTimeout=3000 "$PID" GC.class_histogram >"$W/histo.txt" 2>&1 &&
    grep -q '^Total ' "$W/histo.txt"; then
    histogram=ok
  else
    unavailable sessions "jcmd GC.class_histogram failed: $(grep -m 1 -E 'Exception|Error|denied' "$W/histo.txt" | oneline 160)"
  fi
else
  unavailable sessions "$ATTACH_PY_WHY; $TOOL_WHY"
fi
[[ $histogram == ok ]] &&
  sessions=$(awk -v cls=" $SESSION_CLASSES " 'index(cls, " " $4 " ") { s += $2 } END { print s + 0 }' "$W/histo.txt")
echo "sessions=$sessions"
echo "==> end status=ok durationMs=$(($(date +%s%3N) - START_MS))"
