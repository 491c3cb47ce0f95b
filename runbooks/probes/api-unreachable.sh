#!/usr/bin/env bash
# runbook-autopilot probe: api-unreachable.
#
# The same text runs under SSM Run Command (aws:runShellScript, root, interpolationType ENV_VAR)
# and locally under `bash`. Inputs come ONLY from environment variables (see validate_inputs).
# It never changes the host: it reads /proc, runs ss, jstat, jcmd/jmap, jstack and one curl.
#
# stdout is a bounded, sectioned text document parsed by parseProbeOutput (lambdas/core/parsers):
#   #runbook-probe format=1 version=V                 first line
#   ==> NAME status=ok                                 a section header
#   ==> NAME status=unavailable reason=TEXT            a section that could not be collected
#   key=value                                          section fields (value = rest of the line)
#   | text                                             small raw block lines (already cut on the host)
#   ==> end status=ok                                  last section: durationMs=, timedOut=
# Everything is aggregated and cut on the host so stdout stays far below SSM's 24,000-character
# inline limit whatever the number of connections, threads or files. Full raw tool outputs go to
# SSM_rawDir when it is set.
set -u
set -o pipefail
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}

PROBE_FORMAT=1
PROBE_VERSION=1.0.0
WATCHED_CLASSES="org.apache.tomcat.websocket.WsSession org.apache.coyote.http11.upgrade.UpgradeProcessorInternal org.apache.tomcat.websocket.server.WsHttpUpgradeHandler java.io.FileInputStream java.io.FileDescriptor sun.nio.ch.SocketChannelImpl org.apache.tomcat.util.net.NioEndpoint\$NioSocketWrapper"
SECTION_MAX_CHARS=5000
# The JDK's default attach timeout; shortened when the JVM is at its open-files limit (collect_fds).
ATTACH_TIMEOUT_MS=10000
# Time box of a JDK attach tool (jcmd/jmap/jstack); shortened at the fd limit, where an attach whose
# listener already exists connects but is never accepted, and hangs instead of failing.
ATTACH_BOX_S=20

echo "#runbook-probe format=${PROBE_FORMAT} version=${PROBE_VERSION}"

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------
input_error() {
  echo "==> input status=invalid reason=$1"
  echo "runbook probe: invalid input: $1" >&2
  exit 2
}

PORT=${SSM_port:-}
PID_IN=${SSM_pid:-}
HEALTH_PATH=${SSM_healthPath:-}
LOG_PATH=${SSM_logPath:-}
RAW_DIR=${SSM_rawDir:-}
TIMEOUT_S=${SSM_timeoutSeconds:-}
IDLE_MS=${SSM_idleThresholdMs:-}
HISTO_MODE=${SSM_histogramMode:-}
[[ -z $HEALTH_PATH ]] && HEALTH_PATH=/health
[[ -z $TIMEOUT_S ]] && TIMEOUT_S=30
[[ -z $IDLE_MS ]] && IDLE_MS=120000
[[ -z $HISTO_MODE ]] && HISTO_MODE=live

[[ $PORT =~ ^[0-9]{1,5}$ ]] && ((10#$PORT >= 1 && 10#$PORT <= 65535)) ||
  input_error "SSM_port must be a TCP port 1-65535 (got '${PORT:0:40}')"
PORT=$((10#$PORT))
[[ $PID_IN =~ ^([1-9][0-9]{0,9})?$ ]] || input_error "SSM_pid must be empty or a process id of digits (got '${PID_IN:0:40}')"
[[ $HEALTH_PATH =~ ^/[A-Za-z0-9._~/-]{0,200}$ ]] ||
  input_error "SSM_healthPath must match ^/[A-Za-z0-9._~/-]*\$ (got '${HEALTH_PATH:0:60}')"
[[ $LOG_PATH =~ ^(/[A-Za-z0-9._/-]{1,300})?$ ]] ||
  input_error "SSM_logPath must be empty or an absolute path of [A-Za-z0-9._/-] (got '${LOG_PATH:0:60}')"
[[ $RAW_DIR =~ ^(/[A-Za-z0-9._/-]{1,300})?$ ]] ||
  input_error "SSM_rawDir must be empty or an absolute path of [A-Za-z0-9._/-] (got '${RAW_DIR:0:60}')"
[[ $TIMEOUT_S =~ ^[0-9]{1,4}$ ]] && ((10#$TIMEOUT_S >= 5 && 10#$TIMEOUT_S <= 3600)) ||
  input_error "SSM_timeoutSeconds must be whole seconds 5-3600 (got '${TIMEOUT_S:0:40}')"
TIMEOUT_S=$((10#$TIMEOUT_S))
[[ $IDLE_MS =~ ^[0-9]{1,10}$ ]] || input_error "SSM_idleThresholdMs must be whole milliseconds (got '${IDLE_MS:0:40}')"
IDLE_MS=$((10#$IDLE_MS))
[[ $HISTO_MODE =~ ^(live|all)$ ]] || input_error "SSM_histogramMode must be live or all (got '${HISTO_MODE:0:40}')"

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
START_MS=$(date +%s%3N)
DEADLINE=$(($(date +%s) + TIMEOUT_S))
TIMED_OUT=()

if [[ -n $RAW_DIR ]]; then
  mkdir -p "$RAW_DIR" 2>/dev/null || input_error "SSM_rawDir '$RAW_DIR' cannot be created"
  W=$RAW_DIR
  CLEAN_W=""
else
  W=$(mktemp -d /tmp/runbook-probe.XXXXXX) || { echo "==> end status=unavailable reason=mktemp failed"; exit 1; }
  CLEAN_W=$W
fi
cleanup() { [[ -n $CLEAN_W ]] && rm -rf -- "$CLEAN_W"; }
trap cleanup EXIT

# One line, printable, bounded: for reasons and values taken from tool output.
oneline() { tr -d '\r' | tr '\n\t' '  ' | tr -cd '[:print:]' | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//' | cut -c1-"${1:-300}"; }

# Seconds left in the whole-probe time box.
remaining() { echo $((DEADLINE - $(date +%s))); }

# box SECONDS CMD...: runs CMD under `timeout`, never past the probe's deadline. 124 = timed out.
box() {
  local t=$1 rem
  shift
  rem=$(remaining)
  ((rem < t)) && t=$rem
  ((t <= 0)) && return 124
  timeout -k 2 "$t" "$@"
}

# section NAME FUNCTION: runs FUNCTION, which writes key=value / "| raw" lines to $W/.body and
# returns 0, or sets REASON and returns non-zero. Prints the section, cut to SECTION_MAX_CHARS.
section() {
  local name=$1 fn=$2 rc
  REASON=""
  : >"$W/.body"
  if (($(remaining) <= 0)); then
    echo "==> $name status=unavailable reason=timed out: probe time box of ${TIMEOUT_S}s exhausted before this section"
    TIMED_OUT+=("$name")
    return
  fi
  "$fn" >"$W/.body" 2>"$W/.err"
  rc=$?
  if ((rc == 0)); then
    echo "==> $name status=ok"
    head -c "$SECTION_MAX_CHARS" "$W/.body"
    [[ $(wc -c <"$W/.body") -gt $SECTION_MAX_CHARS ]] && echo && echo "truncated=true"
  else
    ((rc == 124)) && [[ -z $REASON ]] && REASON="timed out"
    [[ -z $REASON ]] && REASON=$(oneline 300 <"$W/.err")
    [[ -z $REASON ]] && REASON="failed with exit code $rc"
    [[ $REASON == timed\ out* ]] && TIMED_OUT+=("$name")
    echo "==> $name status=unavailable reason=$(printf '%s' "$REASON" | oneline 400)"
  fi
}

# The reason a tool failed: its last meaningful output lines, one line.
tool_reason() { # TOOL RC FILE
  local tool=$1 rc=$2 file=$3 text
  if ((rc == 124 || rc == 137)); then
    echo "timed out: $tool did not answer within its time box"
    return
  fi
  # The first exception/error line says most (a Java stack trace ends in frames); else the last lines.
  text=$(grep -m 1 -E 'Exception|Error|Unable|denied|not found|No such|not permitted' "$file" 2>/dev/null | oneline 300)
  [[ -z $text ]] && text=$(grep -v '^[0-9]*:$' "$file" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n 3 | oneline 300)
  echo "$tool failed (exit $rc): ${text:-no output}"
}

# ---------------------------------------------------------------------------------------------
# Target process
# ---------------------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
ATTACH_FAILED=""
PID=""
PID_SOURCE=""
PID_REASON=""
ss -ltnp "( sport = :$PORT )" >"$W/ss-ltnp.txt" 2>&1
if [[ -n $PID_IN ]]; then
  PID=$PID_IN
  PID_SOURCE=input
  [[ -d /proc/$PID ]] || {
    PID_REASON="no such process: pid $PID does not exist"
    PID=""
  }
else
  PID_SOURCE=listener
  PID=$(grep -o 'pid=[0-9]*' "$W/ss-ltnp.txt" | head -n 1 | cut -d= -f2)
  if [[ -z $PID ]] && grep -q '^LISTEN' "$W/ss-ltnp.txt"; then
    # ss shows the owner of a socket only to root and to the socket's own user.
    PID_REASON="permission denied: a process listens on port $PORT but ss -ltnp does not show its pid to $(id -un 2>/dev/null) (uid $(id -u)): it belongs to another user; run the probe as root or as the JVM's user, or pass SSM_pid"
  elif [[ -z $PID ]]; then
    PID_REASON="no process listens on port $PORT (ss -ltnp shows no listener)"
  fi
fi
JVM_USER=""
JVM_UID=""
IS_JAVA=false
RUNAS=()
JDK_BIN=""
if [[ -n $PID ]]; then
  JVM_UID=$(stat -c %u "/proc/$PID" 2>/dev/null)
  JVM_USER=$(stat -c %U "/proc/$PID" 2>/dev/null)
  EXE=$(readlink "/proc/$PID/exe" 2>/dev/null)
  COMM=$(cat "/proc/$PID/comm" 2>/dev/null)
  [[ $COMM == java || $EXE == */java ]] && IS_JAVA=true
  [[ $EXE == */java && -x ${EXE%/java}/jcmd ]] && JDK_BIN=${EXE%/java}/
  if [[ -n $JVM_UID && $JVM_UID != "$(id -u)" && $(id -u) == 0 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      RUNAS=(runuser -u "$JVM_USER" --)
    else
      RUNAS=(su -s /bin/sh "$JVM_USER" -c 'exec "$0" "$@"')
    fi
  fi
fi
tool() { # the JVM's own JDK tool when it has one, else the one on PATH
  if [[ -n $JDK_BIN && -x $JDK_BIN$1 ]]; then echo "$JDK_BIN$1"; elif command -v "$1" >/dev/null 2>&1; then command -v "$1"; fi
}
need_pid() {
  [[ -n $PID ]] && return 0
  REASON="no target process: $PID_REASON"
  return 1
}
need_java() {
  need_pid || return 1
  [[ $IS_JAVA == true ]] && return 0
  REASON="target pid $PID is not a JVM ($(cat "/proc/$PID/comm" 2>/dev/null | oneline 40))"
  return 1
}

# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------
collect_meta() {
  echo "startedAt=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "port=$PORT"
  echo "pid=$PID"
  echo "pidInput=$PID_IN"
  echo "pidSource=$PID_SOURCE"
  echo "healthPath=$HEALTH_PATH"
  echo "logPath=$LOG_PATH"
  echo "rawDir=$RAW_DIR"
  echo "timeoutSeconds=$TIMEOUT_S"
  echo "idleThresholdMs=$IDLE_MS"
  echo "histogramMode=$HISTO_MODE"
  echo "probeUser=$(id -un 2>/dev/null)"
}

collect_host() {
  echo "hostname=$(hostname 2>/dev/null | oneline 200)"
  echo "kernel=$(uname -r 2>/dev/null | oneline 100)"
  echo "loadavg1m=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)"
  echo "nproc=$(nproc 2>/dev/null)"
}

proc_ticks() { sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13, $20 }'; }
collect_process() {
  need_pid || return 1
  local t1 t2 start up uptime cpu
  # CPU is sampled between the probe's start (mark_cpu) and now: no sleep of its own.
  local elapsed
  t1=${CPU_T0_TICKS:-$(proc_ticks "$PID")}
  [[ -n $t1 ]] || {
    REASON="cannot read /proc/$PID/stat"
    return 1
  }
  elapsed=$(awk -v a="${CPU_T0_TIME:-0}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  if [[ -z ${CPU_T0_TICKS:-} ]] || awk -v e="$elapsed" 'BEGIN { exit !(e < 0.3) }'; then
    sleep 0.5
    elapsed=$(awk -v a="${CPU_T0_TIME:-0}" -v b="$EPOCHREALTIME" -v e="$elapsed" 'BEGIN { printf "%.3f", (a > 0 ? b - a : 0.5) }')
  fi
  t2=$(proc_ticks "$PID")
  start=${t1#* }
  up=$(cut -d' ' -f1 /proc/uptime)
  uptime=$(awk -v u="$up" -v s="$start" -v hz="$CLK_TCK" 'BEGIN { v = u - s / hz; if (v < 0) v = 0; printf "%.0f", v }')
  cpu=""
  [[ -n $t2 ]] && cpu=$(awk -v a="${t1% *}" -v b="${t2% *}" -v hz="$CLK_TCK" -v e="$elapsed" 'BEGIN { v = (b - a) / hz / e * 100; if (v < 0) v = 0; printf "%.1f", v }')
  echo "pid=$PID"
  echo "pidSource=$PID_SOURCE"
  echo "user=$JVM_USER"
  echo "uid=$JVM_UID"
  echo "isJava=$IS_JAVA"
  echo "uptimeSeconds=$uptime"
  echo "cpuPercent=$cpu"
  echo "cmdline=$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null | oneline 500)"
}

collect_listener() {
  cp "$W/ss-ltnp.txt" "$W/ss-ltn.txt"
  awk 'NR > 1 && $1 == "LISTEN" { n++; if (n == 1) { printf "listening=true\naddress=%s\nrecvQ=%s\nsendQ=%s\n", $4, $2, $3 } }
       END { print "listeners=" (n + 0); if (!n) print "listening=false" }' "$W/ss-ltnp.txt"
}

collect_fds() {
  need_pid || return 1
  [[ -r /proc/$PID/limits ]] || {
    REASON="permission denied: cannot read /proc/$PID/limits"
    return 1
  }
  cp "/proc/$PID/limits" "$W/proc-limits.txt" 2>/dev/null
  box 10 find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 -printf '%f %l\n' >"$W/fd-targets.txt" 2>"$W/fd.err"
  local rc=$?
  if ((rc != 0)) && [[ ! -s $W/fd-targets.txt ]]; then
    REASON=$(tool_reason "listing /proc/$PID/fd" "$rc" "$W/fd.err")
    return 1
  fi
  awk '/^Max open files/ { printf "limitSoft=%s\nlimitHard=%s\n", $4, $5 }' "$W/proc-limits.txt"
  awk '{ n++; t = $0; sub(/^[0-9]+ /, "", t)
         if (t ~ /^socket:\[/) s++; else if (t ~ /^pipe:\[/) p++; else if (t ~ /^anon_inode:/) a++
         else if (t ~ /^\//) { f++; files[t]++ } else o++ }
       END { printf "open=%d\nkind.socket=%d\nkind.file=%d\nkind.pipe=%d\nkind.anonInode=%d\nkind.other=%d\n", n, s, f, p, a, o
             for (k in files) printf "F %d %s\n", files[k], k }' "$W/fd-targets.txt" >"$W/fd-agg.txt"
  grep -v '^F ' "$W/fd-agg.txt"
  # At (or within 2 of) the soft limit the JVM cannot open the socket an attach needs: say so, and let
  # the JDK tools give up after a short attach timeout instead of their default 10 s.
  local open_n limit_n
  open_n=$(awk -F= '/^open=/ { print $2 }' "$W/fd-agg.txt")
  limit_n=$(awk '/^Max open files/ { print $4 }' "$W/proc-limits.txt")
  if [[ $limit_n =~ ^[0-9]+$ && $open_n =~ ^[0-9]+$ ]] && ((open_n + 2 >= limit_n)); then
    ATTACH_TIMEOUT_MS=2000
    ATTACH_BOX_S=4
    echo "atLimit=true"
  fi
  grep '^F ' "$W/fd-agg.txt" | sort -k2,2nr -k3,3 | head -n 10 | awk '{ c = $2; sub(/^F [0-9]+ /, ""); printf "topFile=%d %s\n", c, substr($0, 1, 200) }'
  return 0
}

collect_sockets() {
  box 15 ss -tanoi "( sport = :$PORT )" >"$W/ss-tanoi.txt" 2>"$W/ss.err"
  local rc=$?
  ((rc == 0)) || {
    REASON=$(tool_reason "ss -tanoi" "$rc" "$W/ss.err")
    return 1
  }
  echo "port=$PORT"
  awk -v thr="$IDLE_MS" '
    function flush(  p, idle) {
      if (st == "" || st == "LISTEN") { st = ""; return }
      total++; bystate[st]++
      if (st == "ESTAB") {
        est++
        if (sq + 0 > 0) sendq++
        idle = (lr != "" ? lr : la)
        if (idle != "") {
          idle += 0
          if (idle < 1000) b0++; else if (idle < 10000) b1++; else if (idle < 60000) b2++
          else if (idle < 300000) b3++; else if (idle < 1800000) b4++; else b5++
          if (idle > thr) over++
          if (maxidle == "" || idle > maxidle) maxidle = idle
        } else unknown++
      }
      p = peer; sub(/:[^:]*$/, "", p); gsub(/[\[\]]/, "", p); sub(/^::ffff:/, "", p)
      peers[p]++
      st = ""
    }
    /^[A-Z]/ { flush(); if ($1 == "State") next; st = $1; sq = $3; peer = $5; lr = ""; la = ""; next }
    /^[ \t]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^lastrcv:/) lr = substr($i, 9); else if ($i ~ /^lastack:/) la = substr($i, 9) } }
    END {
      flush()
      printf "total=%d\nestablished=%d\n", total, est
      for (s in bystate) printf "S %s %d\n", s, bystate[s]
      printf "idle.thresholdMs=%d\nidle.overThreshold=%d\nidle.maxMs=%s\nidle.unknown=%d\n", thr, over, maxidle, unknown
      printf "idle.bucket=<1s 0 1000 %d\n", b0
      printf "idle.bucket=1-10s 1000 10000 %d\n", b1
      printf "idle.bucket=10-60s 10000 60000 %d\n", b2
      printf "idle.bucket=1-5min 60000 300000 %d\n", b3
      printf "idle.bucket=5-30min 300000 1800000 %d\n", b4
      printf "idle.bucket=>=30min 1800000 - %d\n", b5
      printf "sendQueueNonEmpty=%d\n", sendq
      for (p in peers) printf "P %d %s\n", peers[p], p
    }' "$W/ss-tanoi.txt" >"$W/ss-agg.txt"
  grep -v '^[PS] ' "$W/ss-agg.txt"
  grep '^S ' "$W/ss-agg.txt" | sort -k2,2 | awk '{ printf "state.%s=%d\n", $2, $3 }'
  grep '^P ' "$W/ss-agg.txt" | sort -k2,2nr -k3,3 | head -n 10 | awk '{ printf "peer=%d %s\n", $2, substr($3, 1, 80) }'
  return 0
}

collect_socket_summary() {
  box 5 ss -s >"$W/ss-s.txt" 2>"$W/ss-s.err" || {
    REASON=$(tool_reason "ss -s" "$?" "$W/ss-s.err")
    return 1
  }
  head -n 12 "$W/ss-s.txt" | cut -c1-200 | sed -e 's/^/| /'
  return 0
}

collect_file_nr() {
  [[ -r /proc/sys/fs/file-nr ]] || {
    REASON="cannot read /proc/sys/fs/file-nr"
    return 1
  }
  cp /proc/sys/fs/file-nr "$W/file-nr.txt"
  awk '{ printf "allocated=%s\nunused=%s\nmax=%s\n", $1, $2, $3 }' "$W/file-nr.txt"
}

collect_heap() {
  need_java || return 1
  local jstat rc
  jstat=$(tool jstat)
  [[ -n $jstat ]] || {
    REASON="jstat not found (no JDK tools on this host: JRE only?)"
    return 1
  }
  box 8 "${RUNAS[@]}" "$jstat" -gcutil "$PID" 500 2 >"$W/jstat-gcutil.txt" 2>&1
  rc=$?
  if ((rc != 0)) || [[ $(grep -c '^ *[0-9-]' "$W/jstat-gcutil.txt") -lt 1 ]]; then
    REASON=$(tool_reason jstat "$rc" "$W/jstat-gcutil.txt")
    return 1
  fi
  echo "command=jstat -gcutil $PID 500 2"
  echo "sampleIntervalMs=500"
  head -n 4 "$W/jstat-gcutil.txt" | cut -c1-300 | sed -e 's/^/| /'
}

# Process CPU ticks and the time at the probe's start, for collect_process's CPU sample.
mark_cpu() {
  [[ -n ${PID:-} && -r /proc/$PID/stat ]] || return 0
  CPU_T0_TICKS=$(proc_ticks "$PID")
  CPU_T0_TIME=$EPOCHREALTIME
}

# The health probe runs in the background from the start (it can take its whole 3 s time-out when
# the service is down), so the other sections are collected meanwhile; collect_health waits for it.
start_health() {
  local url="http://127.0.0.1:${PORT}${HEALTH_PATH}"
  (
    box 5 curl -sS -o /dev/null -m 3 -w '%{http_code} %{time_total}' "$url" >"$W/curl.out" 2>"$W/curl.err"
    echo $? >"$W/curl.rc"
  ) &
  HEALTH_BG=$!
}

collect_health() {
  local url="http://127.0.0.1:${PORT}${HEALTH_PATH}" out rc
  [[ -n ${HEALTH_BG:-} ]] && wait "$HEALTH_BG" 2>/dev/null
  out=$(cat "$W/curl.out" 2>/dev/null)
  rc=$(cat "$W/curl.rc" 2>/dev/null || echo 1)
  {
    echo "url=$url"
    echo "curlExit=$rc"
    echo "httpCode=${out%% *}"
    echo "timeTotal=${out#* }"
    echo "error=$(oneline 200 <"$W/curl.err")"
  } | tee "$W/health.txt"
}

collect_logs() {
  [[ -n $LOG_PATH ]] || {
    REASON="no log path given (SSM_logPath is empty)"
    return 1
  }
  [[ -r $LOG_PATH ]] || {
    REASON="cannot read log file $LOG_PATH (missing or permission denied)"
    return 1
  }
  box 10 tail -n 20000 "$LOG_PATH" >"$W/app-log-tail.txt" 2>"$W/log.err" || {
    REASON=$(tool_reason "tail $LOG_PATH" "$?" "$W/log.err")
    return 1
  }
  echo "path=$LOG_PATH"
  echo "utcOffset=$(date +%z)"
  # firstFailure*: the time stamp of the line (or the last stamped line before it) of the first match, so the
  # postmortem can date the failure's start. Stamps: Tomcat one-line (02-Dec-2026 02:37:55.850), ISO
  # (2026-12-02 02:37:55.850, 2026-12-02T02:37:55.850Z) and java.util.logging (Dec 2, 2026 2:37:55 AM).
  awk '/^[0-9][0-9]-[A-Z][a-z][a-z]-[0-9][0-9][0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 " " $2 }
       /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 " " $2 }
       /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 }
       /^[A-Z][a-z][a-z] [0-9]?[0-9], [0-9][0-9][0-9][0-9] [0-9]?[0-9]:[0-9][0-9]:[0-9][0-9] [AP]M/ { st = $1 " " $2 " " $3 " " $4 " " $5 }
       { n++ }
       /Too many open files/ { t++ }
       /OutOfMemoryError/ { o++ }
       /Too many open files|OutOfMemoryError/ { s[++k] = $0; if (k == 1) { fl = n; fs = st } }
       END { printf "linesScanned=%d\ntooManyOpenFiles=%d\noutOfMemoryError=%d\n", n, t, o
             if (k > 0) { print "firstFailureLine=" fl; if (fs != "") print "firstFailureAt=" substr(fs, 1, 40) }
             for (i = (k > 5 ? k - 4 : 1); i <= k; i++) print "sample=" s[i] }' "$W/app-log-tail.txt" |
    tr -d '\r' | tr -cd '[:print:]\n' | cut -c1-207
  return 0
}

collect_histogram() {
  need_java || return 1
  local jcmd jmap rc cmd tool_name forced jerr=""
  jcmd=$(tool jcmd)
  jmap=$(tool jmap)
  if [[ $HISTO_MODE == live ]]; then forced=true; else forced=false; fi
  : >"$W/class-histogram.txt"
  rc=1
  if [[ -n $jcmd ]]; then
    tool_name=jcmd
    if [[ $HISTO_MODE == live ]]; then cmd="jcmd $PID GC.class_histogram"; else cmd="jcmd $PID GC.class_histogram -all"; fi
    # shellcheck disable=SC2086
    box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jcmd" "-J-Dsun.tools.attach.attachTimeout=${ATTACH_TIMEOUT_MS}" "$PID" GC.class_histogram $([[ $HISTO_MODE == all ]] && echo -all) >"$W/jcmd-histogram.txt" 2>&1
    rc=$?
    if ((rc != 0)) || ! grep -q '^Total ' "$W/jcmd-histogram.txt"; then
      jerr=$(tool_reason jcmd "$rc" "$W/jcmd-histogram.txt")
      rc=1
    else
      cp "$W/jcmd-histogram.txt" "$W/class-histogram.txt"
    fi
  else
    jerr="jcmd not found"
  fi
  # jmap uses the same attach mechanism: only worth it when jcmd is missing or failed for
  # another reason than attach (a failed attach costs ~10.5 s each time).
  if ((rc != 0)) && [[ $jerr == *AttachNotSupported* || $jerr == *"Unable to open socket file"* || $jerr == timed\ out* ]]; then
    ATTACH_FAILED="jcmd: $jerr"
  fi
  if ((rc != 0)) && [[ -n $jmap && -z $ATTACH_FAILED ]] && [[ $jerr == "jcmd not found" || $(remaining) -gt 12 ]]; then
    tool_name=jmap
    if [[ $HISTO_MODE == live ]]; then cmd="jmap -histo:live $PID"; else cmd="jmap -histo $PID"; fi
    box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jmap" "$([[ $HISTO_MODE == live ]] && echo -histo:live || echo -histo)" "$PID" >"$W/jmap-histo.txt" 2>&1
    rc=$?
    if ((rc == 0)) && grep -q '^Total ' "$W/jmap-histo.txt"; then
      cp "$W/jmap-histo.txt" "$W/class-histogram.txt"
    else
      REASON="$jerr; $(tool_reason jmap "$rc" "$W/jmap-histo.txt")"
      return 1
    fi
  elif ((rc != 0)); then
    REASON=${jerr:-jcmd and jmap not found (no JDK tools on this host: JRE only?)}
    [[ -z $jcmd && -z $jmap ]] && REASON="jcmd and jmap not found (no JDK tools on this host: JRE only?)"
    return 1
  fi
  echo "tool=$tool_name"
  echo "command=$cmd"
  echo "forcedFullGc=$forced"
  [[ $tool_name == jmap && -n $jerr ]] && echo "fallbackReason=$(printf '%s' "$jerr" | oneline 200)"
  local watch_re
  watch_re=" ($(echo "$WATCHED_CLASSES" | sed -e 's/[.$]/\\&/g' -e 's/ /|/g'))( |$)"
  awk -v re="$watch_re" '
    /^ *[0-9]+: +[0-9]/ { r++; if (r <= 30 || $0 ~ re) print; next }
    /^ *num / || /^Total / { print }' "$W/class-histogram.txt" | cut -c1-220 | sed -e 's/^/| /'
}

collect_threads() {
  need_java || return 1
  local jstack rc
  jstack=$(tool jstack)
  [[ -n $jstack ]] || {
    REASON="jstack not found (no JDK tools on this host: JRE only?)"
    return 1
  }
  if [[ -n $ATTACH_FAILED ]]; then
    REASON="skipped: JVM attach already failed in this probe ($ATTACH_FAILED)"
    return 1
  fi
  box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jstack" "-J-Dsun.tools.attach.attachTimeout=${ATTACH_TIMEOUT_MS}" "$PID" >"$W/jstack.txt" 2>&1
  rc=$?
  if ((rc != 0)) || ! grep -q '^"' "$W/jstack.txt"; then
    REASON=$(tool_reason jstack "$rc" "$W/jstack.txt")
    return 1
  fi
  echo "command=jstack $PID"
  awk '
    function flush(  prefix) {
      if (!java) return
      total++; states[state == "" ? "UNKNOWN" : state]++
      if (state == "BLOCKED") blocked++
      if (sockread && driver) db++
      if (name ~ /-exec-[0-9]+$/) { prefix = name; sub(/[0-9]+$/, "", prefix); ptot[prefix]++; if (parked) pidle[prefix]++ }
      java = 0
    }
    /^"/ { flush(); java = ($0 ~ /" #[0-9]+ /); name = $0; sub(/^"/, "", name); sub(/" #[0-9]+ .*$/, "", name)
           state = ""; parked = 0; sockread = 0; driver = 0; next }
    /^[ \t]+java\.lang\.Thread\.State: / { state = $2; next }
    /^[ \t]+at / {
      if ($0 ~ /TaskQueue\.(take|poll)|LinkedBlockingQueue\.(take|poll)|SynchronousQueue\.(take|poll)/) parked = 1
      if ($0 ~ /socketRead|SocketInputStream\.read|NioSocketImpl\.(read|implRead)|SocketDispatcher\.read/) sockread = 1
      if ($0 ~ /at (com\.mysql\.|org\.postgresql\.|oracle\.jdbc\.|com\.microsoft\.sqlserver\.|org\.mariadb\.|org\.h2\.|org\.hsqldb\.|com\.ibm\.db2\.)/) driver = 1
    }
    END {
      flush()
      best = ""; for (p in ptot) if (best == "" || ptot[p] > ptot[best] || (ptot[p] == ptot[best] && p < best)) best = p
      printf "total=%d\n", total
      printf "executor.prefix=%s\nexecutor.total=%d\nexecutor.idle=%d\nexecutor.busy=%d\n", best, ptot[best], pidle[best], ptot[best] - pidle[best]
      printf "inDatabaseCalls=%d\nblocked=%d\n", db, blocked
      for (s in states) printf "S %s %d\n", s, states[s]
    }' "$W/jstack.txt" >"$W/jstack-agg.txt"
  grep -v '^S ' "$W/jstack-agg.txt"
  grep '^S ' "$W/jstack-agg.txt" | sort -k2,2 | awk '{ printf "state.%s=%d\n", $2, $3 }'
  return 0
}

collect_tomcat() {
  need_pid || return 1
  local jar v src="" cands
  # Cheap first: versioned jar names the process has open or names on its command line.
  cands=$({
    [[ -s $W/fd-targets.txt ]] && awk '{ sub(/^[0-9]+ /, ""); print }' "$W/fd-targets.txt"
    tr '\0:' '\n\n' <"/proc/$PID/cmdline" 2>/dev/null | tr ' ' '\n'
  } | grep -E '(tomcat[0-9]*-embed-core|tomcat-catalina|catalina)[^/]*\.jar$' | sort -u | head -n 20)
  for jar in $cands; do
    [[ -e $jar ]] && jar=$(readlink -f "$jar" 2>/dev/null || echo "$jar")
    if [[ $jar =~ (tomcat[0-9]*-embed-core|tomcat-catalina)-([0-9][0-9A-Za-z.-]*)\.jar$ ]]; then
      v=${BASH_REMATCH[2]}
      src=jar
    elif [[ $jar =~ apache-tomcat-([0-9][0-9A-Za-z.-]*)/lib/catalina\.jar$ ]]; then
      v=${BASH_REMATCH[1]}
      src=jar
    fi
    if [[ -n $src ]]; then
      echo "version=$v"
      echo "source=$src"
      echo "jar=$(echo "$jar" | cut -c1-200)"
      return 0
    fi
  done
  # Then ask the jar itself (starts a small JVM; only when a Tomcat jar was found).
  local java first
  first=$(echo "$cands" | head -n 1)
  java=$(tool java)
  if [[ -n $first && -n $java && -e $first ]]; then
    box 10 "$java" -cp "$first" org.apache.catalina.util.ServerInfo >"$W/tomcat-serverinfo.txt" 2>&1
    v=$(sed -n -e 's/^Server number: *//p' "$W/tomcat-serverinfo.txt" | head -n 1 | oneline 40)
    [[ -z $v ]] && v=$(sed -n -e 's|^Server version: .*Tomcat/||p' "$W/tomcat-serverinfo.txt" | head -n 1 | oneline 40)
    if [[ -n $v ]]; then
      echo "version=$v"
      echo "source=serverinfo"
      echo "jar=$(echo "$first" | cut -c1-200)"
      return 0
    fi
  fi
  REASON="no Tomcat jar found among the process's open files or command line"
  return 1
}

# ---------------------------------------------------------------------------------------------
# Run. Cheap, attach-free sections first; jstat before the histogram (which may force a full GC,
# so the heap sample is not polluted by our own GC); attach-based sections last.
# ---------------------------------------------------------------------------------------------
section meta collect_meta
start_health
mark_cpu
section host collect_host
section listener collect_listener
section fds collect_fds
section sockets collect_sockets
section socketSummary collect_socket_summary
section fileNr collect_file_nr
section logs collect_logs
section heap collect_heap
section process collect_process
section tomcat collect_tomcat
section classHistogram collect_histogram
section threads collect_threads
section health collect_health

rm -f "$W/.body" "$W/.err"
echo "==> end status=ok"
echo "durationMs=$(($(date +%s%3N) - START_MS))"
echo "timedOut=$(
  IFS=,
  echo "${TIMED_OUT[*]}"
)"
exit 0
