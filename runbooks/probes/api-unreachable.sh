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
# shellcheck disable=SC2317 # the collect_* functions are called indirectly, through `section NAME FUNCTION`
# bash >= 5 ($EPOCHREALTIME; mapfile -d needs 4.4). POSIX sh up to `esac`: run by sh (SSM's
# aws:runShellScript may ignore the shebang) it re-runs itself with bash; an older bash is refused on one
# line (stdout, so the record says it, and stderr), exit 4.
if [ -z "${BASH_VERSION:-}" ] && [ -f "$0" ] && command -v bash >/dev/null 2>&1; then exec bash "$0" "$@"; fi
case ${BASH_VERSION:-} in [5-9].* | [1-9][0-9]*) ;; *)
  echo "runbook probe: needs bash >= 5 (for \$EPOCHREALTIME), this is ${BASH_VERSION:-not bash}"
  echo "runbook probe: needs bash >= 5 (for \$EPOCHREALTIME), this is ${BASH_VERSION:-not bash}" >&2
  exit 4 ;;
esac
set -u
set -o pipefail
export LC_ALL=C
# Everything the probe writes (raw files, scratch) is readable by its own user only.
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}

PROBE_FORMAT=1
PROBE_VERSION=1.0.0
WATCHED_CLASSES="org.apache.tomcat.websocket.WsSession org.apache.coyote.http11.upgrade.UpgradeProcessorInternal org.apache.tomcat.websocket.server.WsHttpUpgradeHandler java.io.FileInputStream java.io.FileDescriptor sun.nio.ch.SocketChannelImpl org.apache.tomcat.util.net.NioEndpoint\$NioSocketWrapper"
SECTION_MAX_CHARS=5000
# Log tail: at most this many bytes from the end of the file, then at most LOG_TAIL_MAX_LINES lines
# (a file without newlines is never copied whole).
LOG_TAIL_MAX_BYTES=4194304
LOG_TAIL_MAX_LINES=20000
# Raw outputs kept on the host: per phase (one probe run) and per incident (all its phases). Files are cut
# to fit, each cut recorded in the `raw` section.
RAW_PHASE_MAX_BYTES=33554432
RAW_INCIDENT_MAX_BYTES=67108864
# Incident folders under SSM_rawBase untouched for this many days are removed by the next probe.
RAW_RETENTION_DAYS=7
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
  # One line whatever the input held: control characters (a newline in a path) are shown as '?'.
  set -- "${1//[[:cntrl:]]/?}"
  echo "==> input status=invalid reason=$1"
  echo "runbook probe: invalid input: $1" >&2
  exit 2
}

PORT=${SSM_port:-}
PID_IN=${SSM_pid:-}
HEALTH_PATH=${SSM_healthPath:-}
LOG_PATH=${SSM_logPath:-}
RAW_DIR=${SSM_rawDir:-}
RAW_BASE=${SSM_rawBase:-}
REDACT_B64=${SSM_redactPatterns:-}
TIMEOUT_S=${SSM_timeoutSeconds:-}
IDLE_MS=${SSM_idleThresholdMs:-}
HISTO_MODE=${SSM_histogramMode:-}
HEALTH_TIMEOUT_S=${SSM_healthTimeoutSeconds:-}
SERVICE=${SSM_service:-}
[[ -z $HEALTH_PATH ]] && HEALTH_PATH=/health
[[ -z $TIMEOUT_S ]] && TIMEOUT_S=30
[[ -z $IDLE_MS ]] && IDLE_MS=120000
[[ -z $HISTO_MODE ]] && HISTO_MODE=live
[[ -z $HEALTH_TIMEOUT_S ]] && HEALTH_TIMEOUT_S=3

{ [[ $PORT =~ ^[0-9]{1,5}$ ]] && ((10#$PORT >= 1 && 10#$PORT <= 65535)); } ||
  input_error "SSM_port must be a TCP port 1-65535 (got '${PORT:0:40}')"
PORT=$((10#$PORT))
[[ $PID_IN =~ ^([1-9][0-9]{0,9})?$ ]] || input_error "SSM_pid must be empty or a process id of digits (got '${PID_IN:0:40}')"
[[ ${#HEALTH_PATH} -le 201 && $HEALTH_PATH =~ ^/[A-Za-z0-9._~/-]*$ ]] ||
  input_error "SSM_healthPath must match ^/[A-Za-z0-9._~/-]*\$ (got '${HEALTH_PATH:0:60}')"
[[ ${#LOG_PATH} -le 301 && $LOG_PATH =~ ^(/[A-Za-z0-9._/-]+)?$ ]] ||
  input_error "SSM_logPath must be empty or an absolute path of [A-Za-z0-9._/-] (got '${LOG_PATH:0:60}')"
# Raw folders may contain spaces (a local `runbook run --out "/tmp/my dir"`; every use below is quoted), never
# another blank, a control character, a relative path or a . or .. component.
RAW_PATH_RE='^(/[A-Za-z0-9._/ -]+)?$'
[[ ${#RAW_DIR} -le 301 && $RAW_DIR =~ $RAW_PATH_RE ]] ||
  input_error "SSM_rawDir must be empty or an absolute path of [A-Za-z0-9._/ -] (got '${RAW_DIR:0:60}')"
[[ ${#RAW_BASE} -le 301 && $RAW_BASE =~ $RAW_PATH_RE ]] ||
  input_error "SSM_rawBase must be empty or an absolute path of [A-Za-z0-9._/ -] (got '${RAW_BASE:0:60}')"
[[ -z $RAW_BASE || ($RAW_DIR == "$RAW_BASE"/?* && $RAW_BASE != */) ]] ||
  input_error "SSM_rawDir must be a folder under SSM_rawBase '$RAW_BASE' (got '${RAW_DIR:0:60}')"
[[ /$RAW_DIR/ != */../* && /$RAW_DIR/ != */./* && /$RAW_BASE/ != */../* && /$RAW_BASE/ != */./* ]] ||
  input_error "SSM_rawDir and SSM_rawBase must not contain . or .. components"
[[ $REDACT_B64 != *[!A-Za-z0-9+/=]* && ${#REDACT_B64} -le 16000 ]] || input_error "SSM_redactPatterns must be base64 (got '${REDACT_B64:0:40}')"
{ [[ $TIMEOUT_S =~ ^[0-9]{1,4}$ ]] && ((10#$TIMEOUT_S >= 5 && 10#$TIMEOUT_S <= 3600)); } ||
  input_error "SSM_timeoutSeconds must be whole seconds 5-3600 (got '${TIMEOUT_S:0:40}')"
TIMEOUT_S=$((10#$TIMEOUT_S))
{ [[ $HEALTH_TIMEOUT_S =~ ^[0-9]{1,2}$ ]] && ((10#$HEALTH_TIMEOUT_S >= 1 && 10#$HEALTH_TIMEOUT_S <= 60 && 10#$HEALTH_TIMEOUT_S < TIMEOUT_S)); } ||
  input_error "SSM_healthTimeoutSeconds must be whole seconds 1-60, under SSM_timeoutSeconds ($TIMEOUT_S) (got '${HEALTH_TIMEOUT_S:0:40}')"
HEALTH_TIMEOUT_S=$((10#$HEALTH_TIMEOUT_S))
[[ $IDLE_MS =~ ^[0-9]{1,10}$ ]] || input_error "SSM_idleThresholdMs must be whole milliseconds (got '${IDLE_MS:0:40}')"
IDLE_MS=$((10#$IDLE_MS))
[[ $HISTO_MODE =~ ^(live|all)$ ]] || input_error "SSM_histogramMode must be live or all (got '${HISTO_MODE:0:40}')"
# The WebSocket session classes of the servers the runbook knows (its probe.sessionClasses): counted in the
# class histogram even beyond its top rows. Space-separated Java class names, at most 20.
SESSION_CLASSES=${SSM_sessionClasses:-}
# shellcheck source=SCRIPTDIR/../lib/probe-inputs.sh
. "${0%"${0##*/}"}../lib/probe-inputs.sh"  # runbook:include lib/probe-inputs.sh
session_classes_valid "$SESSION_CLASSES" ||
  input_error "SSM_sessionClasses must be empty or up to 20 space-separated Java class names (got '${SESSION_CLASSES:0:60}')"
[[ -n $SESSION_CLASSES ]] && WATCHED_CLASSES+=" $SESSION_CLASSES"
[[ ${#SERVICE} -le 128 && $SERVICE =~ ^[A-Za-z0-9@._:-]*$ && $SERVICE != -* ]] || input_error "SSM_service must be empty or a systemd unit name (got '${SERVICE:0:40}')"

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
START_MS=$((${EPOCHREALTIME/./} / 1000))
DEADLINE=$((EPOCHSECONDS + TIMEOUT_S))
TIMED_OUT=()

# ---------------------------------------------------------------------------------------------
# Redaction: the patterns come from lambdas/core/redact (the one source), as base64 of lines
# "<suffix group>\t<POSIX extended regex>". Group 1 of each regex is kept, the rest of the match
# becomes [REDACTED] (then the suffix group, when not 0), case-insensitively. Applied to every section
# before it is printed and to every raw file before the probe ends.
# ---------------------------------------------------------------------------------------------
REDACT_SED=""
REDACTIONS_RAW=0
REDACTION_RULES=0
build_redaction() {
  local line n re sep=$'\x01' i=0
  [[ -n $REDACT_B64 ]] || return 0
  REDACT_SED=$(mktemp /tmp/runbook-redact.XXXXXX) || input_error "cannot create a temporary file"
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line ]] && continue
    i=$((i + 1))
    n=${line%%$'\t'*}
    re=${line#*$'\t'}
    [[ $n =~ ^[0-9]$ && $line == *$'\t'* && -n $re && ! $re =~ [[:cntrl:]] ]] ||
      input_error "SSM_redactPatterns line $i must be '<digit><TAB><regex>' without control characters"
    if ((10#$n > 0)); then
      printf 's%s%s%s\\1[REDACTED]\\%d%sgI\n' "$sep" "$re" "$sep" "$n" "$sep"
    else
      printf 's%s%s%s\\1[REDACTED]%sgI\n' "$sep" "$re" "$sep" "$sep"
    fi
  done < <(printf '%s' "$REDACT_B64" | base64 -d 2>/dev/null) >"$REDACT_SED"
  REDACTION_RULES=$i
  # A pattern sed cannot compile fails the probe up front, before anything is collected.
  sed -E -f "$REDACT_SED" </dev/null >/dev/null 2>&1 || input_error "SSM_redactPatterns: a pattern is not a valid POSIX extended regex"
}
markers() { grep -o -h '\[REDACTED\]' -- "$@" 2>/dev/null | wc -l; }
# redact_files FILE...: redacts regular files in place (one sed for all) and prints how many markers it
# added. When sed fails the files are emptied: they never stay unredacted.
redact_files() {
  local before after f
  [[ -n $REDACT_SED && $# -gt 0 ]] || {
    echo 0
    return
  }
  for f in "$@"; do [[ -f $f && ! -L $f ]] || return 1; done
  before=$(markers "$@")
  if ! timeout -k 2 120 sed -E -i -f "$REDACT_SED" -- "$@" 2>/dev/null; then
    for f in "$@"; do : >"$f"; done
    echo 0
    return 1
  fi
  after=$(markers "$@")
  echo $((after - before))
}
REDACT_PID=""
REDACT_FIFO_DIR=""
# Closes the redacted stdout and waits until sed has written all of it.
finish_stdout() {
  [[ -n $REDACT_PID ]] || return 0
  exec >&-
  wait "$REDACT_PID" 2>/dev/null
  REDACT_PID=""
  rm -rf -- "$REDACT_FIFO_DIR"
}
# Until the raw folder exists (cleanup below takes over), an exit still flushes stdout and removes the
# redaction script.
trap 'finish_stdout; [[ -n $REDACT_SED ]] && rm -f -- "$REDACT_SED"' EXIT
build_redaction
# Everything printed from here on goes through one `sed -u` (line by line, in order): nothing reaches
# stdout unredacted, and if sed cannot run nothing reaches it at all (fail closed). A FIFO and a plain
# background job (not a process substitution) so that the exit can wait for sed to finish writing, on
# every bash since 4.2 (finish_stdout).
if [[ -n $REDACT_SED ]]; then
  { REDACT_FIFO_DIR=$(mktemp -d /tmp/runbook-redact-fifo.XXXXXX) && mkfifo -m 0600 "$REDACT_FIFO_DIR/out"; } ||
    input_error "cannot create the redaction pipe"
  sed -u -E -f "$REDACT_SED" <"$REDACT_FIFO_DIR/out" &
  REDACT_PID=$!
  exec >"$REDACT_FIFO_DIR/out"
fi

# ---------------------------------------------------------------------------------------------
# Raw folder. Every existing folder on the way to SSM_rawDir must be a real folder (no symlink), owned
# by root or by the probe's user and not writable by group or others (a root-owned sticky folder such as
# /tmp or /var/tmp is allowed above the base). SSM_rawBase and everything below it must be the probe's
# own (mode 0700); what is missing is created 0700. The phase's files are written into a mktemp folder
# next to SSM_rawDir and renamed to it at the end, so nothing is ever written through a planted name.
# ---------------------------------------------------------------------------------------------
raw_refuse() {
  echo "==> input status=invalid reason=raw folder refused: $1"
  echo "runbook probe: raw folder refused: $1 (every folder above the raw folder must be owned by root or uid $(id -u) and not writable by others)" >&2
  exit 2
}
# dir_unsafe DIR own|ancestor: why DIR may not be used; empty when it may.
dir_unsafe() {
  local d=$1 kind=$2 st uid mode
  if [[ -L $d ]]; then
    echo "$d is a symbolic link"
    return
  fi
  [[ -d $d ]] || {
    echo "$d is not a folder"
    return
  }
  st=$(stat -c '%u %a' -- "$d" 2>/dev/null) || {
    echo "cannot stat $d"
    return
  }
  uid=${st% *}
  mode=$((8#${st#* }))
  if [[ $kind == own && $uid != "$(id -u)" ]]; then
    echo "$d is owned by uid $uid, not by the probe's uid $(id -u)"
  elif [[ $uid != 0 && $uid != "$(id -u)" ]]; then
    echo "$d is owned by uid $uid (neither root nor the probe's uid $(id -u))"
  elif (((mode & 8#022) != 0)); then
    # Only a root-owned sticky folder (/tmp, /var/tmp) may be writable by others, and only above the base.
    [[ $kind == ancestor && $uid == 0 ]] && (((mode & 8#1000) != 0)) || echo "$d is writable by group or others (mode ${st#* })"
  fi
}
INCIDENT_DIR=""
prepare_raw() {
  local cur="" comp kind=ancestor why parent
  local -a comps
  IFS=/ read -ra comps <<<"${RAW_DIR#/}"
  for comp in "${comps[@]}"; do
    [[ -z $comp ]] && continue
    cur+="/$comp"
    [[ -n $RAW_BASE && $cur == "$RAW_BASE" ]] && kind=own
    [[ $cur == "$RAW_DIR" ]] && kind=own
    if [[ -e $cur || -L $cur ]]; then
      why=$(dir_unsafe "$cur" "$kind")
      [[ -z $why ]] || raw_refuse "$why"
      [[ -n $RAW_BASE && $cur == "$RAW_BASE" ]] && chmod 0700 -- "$cur"
    elif [[ $cur == "$RAW_DIR" ]]; then
      break
    else
      mkdir -m 0700 -- "$cur" 2>/dev/null || raw_refuse "cannot create $cur"
      kind=own
    fi
  done
  parent=$(dirname -- "$RAW_DIR")
  # The incident's folder: the first one under the base (SSM), else the phase folder's parent (local).
  if [[ -n $RAW_BASE ]]; then
    INCIDENT_DIR=${RAW_DIR#"$RAW_BASE"/}
    INCIDENT_DIR=$RAW_BASE/${INCIDENT_DIR%%/*}
  else
    INCIDENT_DIR=$parent
  fi
  W=$(mktemp -d "$parent/.probe.XXXXXX") || raw_refuse "cannot create a folder in $parent"
}
# Puts the phase's files in SSM_rawDir: a rename of the whole folder, or, when SSM_rawDir is already
# there (a probe sent again for the same folder), of each file into it (it is the probe's own, 0700).
place_raw() {
  local f
  if [[ ! -e $RAW_DIR ]]; then
    mv -T -- "$W" "$RAW_DIR" 2>/dev/null && return 0
  fi
  [[ -d $RAW_DIR && ! -L $RAW_DIR && -z $(dir_unsafe "$RAW_DIR" own) ]] || return 1
  for f in "$W"/* "$W"/.[!.]*; do
    [[ -f $f && ! -L $f ]] && mv -f -T -- "$f" "$RAW_DIR/${f##*/}"
  done
  rm -rf -- "$W"
}
# Incident folders under the base not changed for RAW_RETENTION_DAYS days go (never the current one).
RETENTION_REMOVED=0
retention() {
  local current d
  [[ -n $RAW_BASE && -d $RAW_BASE && ! -L $RAW_BASE ]] || return 0
  current=${RAW_DIR#"$RAW_BASE"/}
  current=${current%%/*}
  while IFS= read -r -d '' d; do
    [[ ${d##*/} == "$current" ]] && continue
    rm -rf -- "$d" && RETENTION_REMOVED=$((RETENTION_REMOVED + 1))
  done < <(find "$RAW_BASE" -mindepth 1 -maxdepth 1 -mtime +"$((RAW_RETENTION_DAYS - 1))" -print0 2>/dev/null)
}

if [[ -n $RAW_DIR ]]; then
  prepare_raw
  retention
  CLEAN_W=""
else
  W=$(mktemp -d /tmp/runbook-probe.XXXXXX) || { echo "==> end status=unavailable reason=mktemp failed"; exit 1; }
  CLEAN_W=$W
fi
# On any exit the phase's files are redacted (in finish_raw) and renamed to SSM_rawDir: nothing
# collected is lost, even when the probe is stopped.
RAW_FINISHED=false
cleanup() {
  if [[ -n $CLEAN_W ]]; then
    rm -rf -- "$CLEAN_W"
  elif [[ $RAW_FINISHED != true && -n $RAW_DIR && -d $W ]]; then
    local f
    local -a fs=()
    for f in "$W"/* "$W"/.[!.]*; do [[ -f $f && ! -L $f ]] && fs+=("$f"); done
    redact_files "${fs[@]}" >/dev/null || rm -f -- "${fs[@]}"
    place_raw
  fi
  finish_stdout
  [[ -n $REDACT_SED ]] && rm -f -- "$REDACT_SED"
  return 0
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# One line, printable, bounded: for reasons and values taken from tool output.
# Builtins only (a process costs ~20 ms on a loaded host).
oneline() {
  local s="" n=${1:-300}
  read -r -N 65536 s
  s=${s//$'\r'/}
  s=${s//[$'\n\t']/ }
  s=${s//[^[:print:]]/}
  while [[ $s == *"  "* ]]; do s=${s//  / }; done
  s=${s# }
  s=${s% }
  printf '%s\n' "${s:0:n}"
}

# Seconds left in the whole-probe time box.
# Milliseconds since the probe started, in NOW_MS (no process: a command substitution forks this shell,
# which costs 2-20 ms of CPU a time on a virtual machine's page tables).
now_ms() { NOW_MS=$((${EPOCHREALTIME/./} / 1000 - START_MS)); }
# sleep_ms MS: sleeps MS milliseconds (sleep is the only process), never into the probe's last second.
sleep_ms() {
  local s
  (($1 > 0 && DEADLINE - EPOCHSECONDS > 1)) || return 0
  printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
  sleep "$s"
}

# box SECONDS CMD...: runs CMD under `timeout`, never past the probe's deadline. 124 = timed out.
box() {
  local t=$1 rem
  shift
  rem=$((DEADLINE - EPOCHSECONDS))
  ((rem < t)) && t=$rem
  ((t <= 0)) && return 124
  timeout -k 2 "$t" "$@"
}

# run_section NAME FUNCTION: FUNCTION prints key=value / "| raw" lines (or sets REASON, non-zero);
# the section, cut to SECTION_MAX_CHARS, goes to $W/.s.NAME.
run_section() {
  local name=$1 fn=$2 rc body=""
  REASON=""
  if ((DEADLINE - EPOCHSECONDS <= 0)); then
    echo "==> $name status=unavailable reason=timed out: probe time box of ${TIMEOUT_S}s exhausted before this section" >"$W/.s.$name"
    return
  fi
  local t0=${EPOCHREALTIME/./}
  "$fn" >"$W/.b.$name" 2>"$W/.e.$name"
  rc=$?
  echo "$name $((t0 / 1000 - START_MS)) $(((${EPOCHREALTIME/./} - t0) / 1000))" >"$W/.t.$name"
  if ((rc == 0)); then
    IFS= read -r -d '' body <"$W/.b.$name"
    ((${#body} > SECTION_MAX_CHARS)) && body="${body:0:SECTION_MAX_CHARS}"$'\n'"truncated=true"$'\n'
    printf '==> %s status=ok\n%s' "$name" "$body" >"$W/.s.$name"
  else
    ((rc == 124)) && [[ -z $REASON ]] && REASON="timed out"
    [[ -z $REASON ]] && REASON=$(oneline 300 <"$W/.e.$name")
    [[ -z $REASON ]] && REASON="failed with exit code $rc"
    echo "==> $name status=unavailable reason=$(oneline 400 <<<"$REASON")" >"$W/.s.$name"
  fi
}

# start_section: run_section in the background (each job writes only its own files).
declare -A JOBS=()
start_section() {
  run_section "$1" "$2" >/dev/null 2>&1 </dev/null &
  JOBS[$1]=$!
}

# emit_section NAME [FUNCTION]: waits for NAME's job (or runs FUNCTION), prints the section.
emit_section() {
  local name=$1 a=""
  if [[ -n ${JOBS[$name]:-} ]]; then
    wait "${JOBS[$name]}" 2>/dev/null
    unset "JOBS[$name]"
  elif [[ -n ${2:-} ]]; then
    run_section "$name" "$2"
  fi
  [[ -f $W/.s.$name ]] || echo "==> $name status=unavailable reason=the collector stopped before writing its section" >"$W/.s.$name"
  IFS= read -r -d '' a <"$W/.s.$name"
  [[ $a == "==> $name status=unavailable reason=timed out"* ]] && TIMED_OUT+=("$name")
  printf '%s' "$a"
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

# The health check runs in the background from the very start (it can take its whole time-out when the
# service is down or hangs), so everything else is collected meanwhile; collect_health waits for it. It
# needs only the port: started before the target is even looked up. curl is this shell's own job, so
# `wait` gives its exit code. Its time-out is SSM_healthTimeoutSeconds (the runbook's probe.healthTimeoutSeconds).
start_health() {
  local url="http://127.0.0.1:${PORT}${HEALTH_PATH}"
  now_ms
  HEALTH_T0_MS=$NOW_MS
  HEALTH_STARTED_S=$HEALTH_TIMEOUT_S
  curl -sS -o /dev/null -m "$HEALTH_TIMEOUT_S" -w '%{http_code} %{time_total}' "$url" >"$W/curl.out" 2>"$W/curl.err" </dev/null &
  HEALTH_BG=$!
}
start_health

# ---------------------------------------------------------------------------------------------
# Target process
# ---------------------------------------------------------------------------------------------
# USER_HZ, what /proc counts CPU time in: 100 on every architecture Linux runs EC2 on (x86_64, arm64);
# getconf only where that is not known (bash's HOSTTYPE: no process).
case ${HOSTTYPE:-} in x86_64 | aarch64) CLK_TCK=100 ;; *) CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100) ;; esac
PID=""
PID_SOURCE=""
PID_REASON=""
# The listener's process. `ss -ltnp` names it, but its -p reads every fd of every process on the host
# (0.1 s here with 8,000 fds open; far more on a host whose JVM sits at a 65,536-fd limit). So first the
# cheap way: the LISTEN socket's inode from `ss -ltne` (no -p), looked for in the given PID's fds, else in
# each JVM's (comm java) with a find that stops at the first match (a listener is an early fd). Anything
# else (not exactly one LISTEN row, no inode, not found or not readable) takes `ss -ltnp` as before.
LISTENER_OWNER=""
listener_fast() {
  local line ino="" n=0 d c hit
  ss -ltneH "( sport = :$PORT )" >"$W/ss-ltne.txt" 2>/dev/null || return 1
  while IFS= read -r line; do
    [[ $line == LISTEN* ]] || continue
    n=$((n + 1))
    [[ $line =~ ino:([1-9][0-9]*) ]] && ino=${BASH_REMATCH[1]}
  done <"$W/ss-ltne.txt"
  ((n == 1)) && [[ -n $ino ]] || return 1
  for d in ${PID_IN:+"/proc/$PID_IN"} /proc/[0-9]*; do
    if [[ -z $PID_IN ]]; then
      c=""
      read -r c 2>/dev/null <"$d/comm"
      [[ $c == java ]] || continue
    fi
    hit=$(find "$d/fd" -mindepth 1 -maxdepth 1 -lname "socket:\[$ino\]" -print -quit 2>/dev/null)
    if [[ -n $hit ]]; then
      LISTENER_OWNER=${d#/proc/}
      IFS= read -r -d '' SS_LTNP <"$W/ss-ltne.txt"
      SS_LTNP=${SS_LTNP%$'\n'}
      return 0
    fi
    # A given PID that does not hold the socket: ss -ltnp says who does (launcher-child or none).
    [[ -n $PID_IN ]] && return 1
  done
  return 1
}
if ! listener_fast; then
  ss -ltnp "( sport = :$PORT )" >"$W/ss-ltnp.txt" 2>&1
  SS_LTNP=$(<"$W/ss-ltnp.txt")
fi
# The port's LISTEN rows, read once (the listener section, the listen counters' window): how many
# (LISTENERS) and the first's fields (LISTEN_ROW: state, Recv-Q = accept queue, Send-Q = backlog, address).
LISTENERS=0
LISTEN_ROW=()
while IFS= read -r line; do
  [[ $line == LISTEN* ]] || continue
  LISTENERS=$((LISTENERS + 1))
  ((LISTENERS == 1)) && read -r -a LISTEN_ROW <<<"$line"
done <<<"$SS_LTNP"
if [[ -n $PID_IN ]]; then
  PID=$PID_IN
  PID_SOURCE=input
  [[ -d /proc/$PID ]] || {
    PID_REASON="no such process: pid $PID does not exist"
    PID=""
  }
else
  PID_SOURCE=listener
  PID=$LISTENER_OWNER
  [[ -z $PID && $SS_LTNP =~ pid=([0-9]+) ]] && PID=${BASH_REMATCH[1]}
  if [[ -z $PID && $SS_LTNP == *$'\n'LISTEN* || -z $PID && $SS_LTNP == LISTEN* ]]; then
    # ss shows the owner of a socket only to root and to the socket's own user.
    PID_REASON="permission denied: a process listens on port $PORT but ss -ltnp does not show its pid to $(id -un 2>/dev/null) (uid $(id -u)): it belongs to another user; run the probe as root or as the JVM's user, or pass SSM_pid"
  elif [[ -z $PID ]]; then
    PID_REASON="no process listens on port $PORT (ss -ltnp shows no listener)"
  fi
fi
# untrusted_reason, pick_tool, runas_for: what may run, and as whom.
# shellcheck source=SCRIPTDIR/../lib/trusted-path.sh
. "${0%"${0##*/}"}../lib/trusted-path.sh"  # runbook:include lib/trusted-path.sh
JVM_USER=""
JVM_UID=""
IS_JAVA=false
RUNAS=()
JDK_BIN=""
# LINK[exe|cwd|1|2]: where the process's program, working folder, stdout and stderr point, and its owner:
# one find for all (a readlink or stat each would be a process each), NUL-separated (a target may hold a
# newline). Unreadable links stay unset.
declare -A LINK=()
read_links() {
  local -a f=()
  local i
  # Five fields per path: name, link target (empty for /proc/PID itself), owner uid, owner name, group id.
  mapfile -d '' -t f < <(find "/proc/$1" "/proc/$1/exe" "/proc/$1/cwd" "/proc/$1/fd/1" "/proc/$1/fd/2" \
    -maxdepth 0 -printf '%f\0%l\0%U\0%u\0%G\0' 2>/dev/null)
  for ((i = 0; i + 4 < ${#f[@]}; i += 5)); do
    if [[ ${f[i]} == "$1" ]]; then
      LINK[uid]=${f[i + 2]}
      LINK[user]=${f[i + 3]}
      LINK[gid]=${f[i + 4]}
    elif [[ -n ${f[i + 1]} ]]; then
      LINK[${f[i]}]=${f[i + 1]}
    fi
  done
}
if [[ -n $PID ]]; then
  read_links "$PID"
  JVM_UID=${LINK[uid]:-}
  JVM_USER=${LINK[user]:-}
  EXE=${LINK[exe]:-}
  COMM=""
  read -r COMM <"/proc/$PID/comm" 2>/dev/null
  [[ $COMM == java || $EXE == */java ]] && IS_JAVA=true
  jdk_bin_of "$EXE"
  # find prints the owner's uid for its name when the uid has no passwd entry (a container's user).
  if [[ -n $JVM_UID && $JVM_UID != "$EUID" && $EUID == 0 ]]; then
    runas_for "$JVM_UID" "${LINK[gid]:-}" "$JVM_USER"
  fi
fi
need_pid() {
  [[ -n $PID ]] && return 0
  REASON="no target process: $PID_REASON"
  return 1
}
need_java() {
  need_pid || return 1
  [[ $IS_JAVA == true ]] && return 0
  REASON="target pid $PID is not a JVM ($(oneline 40 2>/dev/null <"/proc/$PID/comm"))"
  return 1
}

# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------
collect_meta() {
  echo "startedAt=$(TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' "$START_S")"
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
  echo "probeUser=$PROBE_USER"
}

# cpus_allowed: what nproc prints (the CPUs this shell may run on), without a process.
cpus_allowed() {
  local k v r n=0
  while read -r k v; do [[ $k == Cpus_allowed_list: ]] && break; done </proc/self/status
  [[ $v =~ ^[0-9,-]+$ ]] || {
    nproc 2>/dev/null
    return
  }
  local IFS=,
  for r in $v; do n=$((n + 10#${r#*-} - 10#${r%-*} + 1)); done
  echo "$n"
}
collect_host() {
  local kernel="" load=""
  read -r kernel </proc/sys/kernel/osrelease 2>/dev/null
  read -r load _ </proc/loadavg 2>/dev/null
  printf 'hostname='; oneline 200 <<<"${HOSTNAME:-}"
  printf 'kernel='; oneline 100 <<<"$kernel"
  echo "loadavg1m=$load"
  printf 'nproc='
  cpus_allowed
}

# proc_stat PID: /proc/PID/stat fields after the command name (STAT[0] is field 3).
proc_stat() {
  local line=""
  STAT=()
  read -r line <"/proc/$1/stat" 2>/dev/null || return 1
  read -r -a STAT <<<"${line##*) }"
}
# The CPU sample: each thread's run time in ns (the scheduler's sum_exec_runtime, the first field of
# /proc/PID/task/TID/schedstat) at mark_cpu and again CPU_SAMPLE_MS later. At ns resolution 100 ms gives a
# share of a core to well under 1 %; utime+stime count whole clock ticks (10 ms), 3 % of a core over
# 300 ms, so without schedstat (a kernel without CONFIG_SCHED_INFO) the window is CPU_TICKS_SAMPLE_MS.
CPU_SAMPLE_MS=100
CPU_TICKS_SAMPLE_MS=300
declare -A CPU_T0_NS=()
# thread_cpu_ns PID ARRAY: ARRAY[TID] = the thread's run time in ns; 1 when no thread could be read.
thread_cpu_ns() {
  local -n into=$2
  local f v tid
  into=()
  for f in /proc/"$1"/task/*/schedstat; do
    { read -r v _ <"$f"; } 2>/dev/null || continue
    [[ $v =~ ^[0-9]+$ ]] || continue
    tid=${f%/schedstat}
    into[${tid##*/}]=$v
  done
  ((${#into[@]} > 0))
}
# cpu_sampled: the CPU's second reading is taken (or will not be): the histogram's full GC may start.
cpu_sampled() { : >"$W/.b.cpu-sampled"; }
collect_process() {
  need_pid || {
    cpu_sampled
    return 1
  }
  local t1 t2="" start up="" uptime cpu="" e_us args=() window=$CPU_TICKS_SAMPLE_MS source=stat ns=0 tid v
  local -A now=()
  # CPU is sampled between the probe's start (mark_cpu) and now: no sleep of its own when that is long enough.
  t1=${CPU_T0_TICKS:-}
  [[ -n $t1 ]] || { proc_stat "$PID" && t1="$((STAT[11] + STAT[12])) ${STAT[19]}"; }
  [[ -n $t1 ]] || {
    cpu_sampled
    REASON="cannot read /proc/$PID/stat"
    return 1
  }
  ((${#CPU_T0_NS[@]} > 0)) && window=$CPU_SAMPLE_MS source=schedstat
  [[ -n ${CPU_T0_US:-} ]] || CPU_T0_US=${EPOCHREALTIME/./}
  e_us=$((${EPOCHREALTIME/./} - CPU_T0_US))
  ((e_us < window * 1000)) && sleep_ms $(((window * 1000 - e_us) / 1000 + 1))
  if [[ $source == schedstat ]] && thread_cpu_ns "$PID" now; then
    e_us=$((${EPOCHREALTIME/./} - CPU_T0_US))
    # A thread started in the window counts whole; one that ended in it is missed (its share of the window).
    for tid in "${!now[@]}"; do
      v=${now[$tid]}
      ((v >= ${CPU_T0_NS[$tid]:-0})) && v=$((v - ${CPU_T0_NS[$tid]:-0}))
      ns=$((ns + v))
    done
    # Tenths of a percent: ns / 1000 / us * 100 * 10.
    ((e_us > 0)) && cpu=$((ns / e_us))
  else
    source=stat
    proc_stat "$PID" && t2=$((STAT[11] + STAT[12]))
    e_us=$((${EPOCHREALTIME/./} - CPU_T0_US))
    # Tenths of a percent: ticks / hz / seconds * 100 * 10.
    [[ -n $t2 ]] && ((e_us > 0)) && cpu=$(((t2 - ${t1% *}) * 1000000000 / CLK_TCK / e_us))
  fi
  cpu_sampled
  start=${t1#* }
  read -r up _ </proc/uptime
  up=${up%.*}
  uptime=$((up - start / CLK_TCK))
  ((uptime < 0)) && uptime=0
  if [[ -n $cpu ]]; then
    ((cpu < 0)) && cpu=0
    cpu="$((cpu / 10)).$((cpu % 10))"
  fi
  mapfile -d '' -t args <"/proc/$PID/cmdline" 2>/dev/null
  echo "pid=$PID"
  echo "pidSource=$PID_SOURCE"
  echo "user=$JVM_USER"
  echo "uid=$JVM_UID"
  echo "isJava=$IS_JAVA"
  echo "uptimeSeconds=$uptime"
  echo "cpuPercent=$cpu"
  [[ -n $cpu ]] && echo "cpuSampleMs=$((e_us / 1000))" && echo "cpuSource=$source"
  printf 'cmdline='; oneline 500 <<<"${args[*]}"
  # Identity for later actions: PID + start time (field 22 of /proc/PID/stat) survives PID reuse.
  echo "startTicks=$start"
  printf 'listenerRelation='
  listener_relation
}

# How PID relates to the port's LISTEN socket: owner (holds it), launcher-child (its parent holds it,
# PID 1 excepted), none, or unknown (ss hides the owner and /proc/PID/fd is not readable to us).
listener_relation() {
  local owners ppid ino
  [[ $SS_LTNP == LISTEN* || $SS_LTNP == *$'\n'LISTEN* ]] || { echo none; return; }
  local rest=$SS_LTNP
  owners=" ${LISTENER_OWNER}${LISTENER_OWNER:+ }"
  while [[ $rest =~ pid=([0-9]+) ]]; do
    [[ $owners == *" ${BASH_REMATCH[1]} "* ]] || owners+="${BASH_REMATCH[1]} "
    rest=${rest#*pid="${BASH_REMATCH[1]}"}
  done
  proc_stat "$PID" && ppid=${STAT[1]}
  if [[ $owners != " " ]]; then
    if [[ $owners == *" $PID "* ]]; then echo owner
    elif [[ -n $ppid && $ppid != 1 && $owners == *" $ppid "* ]]; then echo launcher-child
    else echo none; fi
    return
  fi
  # ss shows no owner to a non-root probe: compare the socket inode with the process's own fds.
  ino=$(ss -ltneH "( sport = :$PORT )" 2>/dev/null | grep -o 'ino:[0-9]*' | head -n 1 | cut -d: -f2)
  if [[ -z $ino || ! -r /proc/$PID/fd ]]; then echo unknown
  elif find "/proc/$PID/fd" -maxdepth 1 -lname "socket:\[$ino\]" 2>/dev/null | grep -q .; then echo owner
  else echo none; fi
}

collect_listener() {
  printf '%s\n' "$SS_LTNP" >"$W/ss-ltn.txt"
  ((LISTENERS > 0)) &&
    printf 'listening=true\naddress=%s\nrecvQ=%s\nsendQ=%s\n' "${LISTEN_ROW[3]:-}" "${LISTEN_ROW[1]:-}" "${LISTEN_ROW[2]:-}"
  echo "listeners=$LISTENERS"
  ((LISTENERS > 0)) || echo "listening=false"
}

# AWK_TOP and ss_aggregate, the one socket aggregation (shared with leak-watch.sh).
# shellcheck source=SCRIPTDIR/../lib/socket-aggregate.sh
. "${0%"${0##*/}"}../lib/socket-aggregate.sh"  # runbook:include lib/socket-aggregate.sh

collect_fds() {
  need_pid || return 1
  [[ -r /proc/$PID/limits ]] || {
    REASON="permission denied: cannot read /proc/$PID/limits"
    return 1
  }
  local limits=""
  limits=$(<"/proc/$PID/limits")
  printf '%s\n' "$limits" >"$W/proc-limits.txt"
  box 10 find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 -printf '%f %l\n' >"$W/fd-targets.txt" 2>"$W/fd.err"
  local rc=$?
  if ((rc != 0)) && [[ ! -s $W/fd-targets.txt ]]; then
    REASON=$(tool_reason "listing /proc/$PID/fd" "$rc" "$W/fd.err")
    return 1
  fi
  awk "$AWK_TOP"'
    FNR == NR { if ($0 ~ /^Max open files/) { soft = $4; hard = $5 } next }
    { n++; t = $0; sub(/^[0-9]+ /, "", t)
      if (t ~ /^socket:\[/) s++; else if (t ~ /^pipe:\[/) p++; else if (t ~ /^anon_inode:/) a++
      else if (t ~ /^\//) { f++; files[t]++ } else o++ }
    END {
      if (soft != "") printf "limitSoft=%s\nlimitHard=%s\n", soft, hard
      printf "open=%d\nkind.socket=%d\nkind.file=%d\nkind.pipe=%d\nkind.anonInode=%d\nkind.other=%d\n", n, s, f, p, a, o
      if (soft ~ /^[0-9]+$/ && n + 2 >= soft + 0) print "atLimit=true"
      top(files, 10, "topFile", 200)
    }' "$W/proc-limits.txt" "$W/fd-targets.txt"
}

collect_sockets() {
  box 15 ss -tanoi "( sport = :$PORT )" >"$W/ss-tanoi.txt" 2>"$W/ss.err"
  local rc=$?
  ((rc == 0)) || {
    REASON=$(tool_reason "ss -tanoi" "$rc" "$W/ss.err")
    return 1
  }
  echo "port=$PORT"
  ss_aggregate "$W/ss-tanoi.txt"
}

collect_socket_summary() {
  box 5 ss -s >"$W/ss-s.txt" 2>"$W/ss-s.err" || {
    REASON=$(tool_reason "ss -s" "$?" "$W/ss-s.err")
    return 1
  }
  local line i=0
  while ((i++ < 12)) && IFS= read -r line; do printf '| %s\n' "${line:0:200}"; done <"$W/ss-s.txt"
  return 0
}

collect_file_nr() {
  local a="" u="" m=""
  read -r a u m </proc/sys/fs/file-nr 2>/dev/null || {
    REASON="cannot read /proc/sys/fs/file-nr"
    return 1
  }
  echo "$a $u $m" >"$W/file-nr.txt"
  printf 'allocated=%s\nunused=%s\nmax=%s\n' "$a" "$u" "$m"
}

# TCP beyond the app port's connections (close-wait-leak, listen-backlog-overflow, outbound exhaustion):
# the sockets the process holds (its fd inodes joined with `ss -tane`) by state and, for CLOSE-WAIT, by
# local port and remote endpoint; TcpExt ListenOverflows/ListenDrops of the target's network namespace,
# sampled NET_SAMPLE_MS apart; the ephemeral port range against the host's outbound sockets and their
# busiest destination; TIME-WAIT; the conntrack table and "table full" lines of the kernel log. Reads only.
# The first sample is taken as soon as the target is known (mark_cpu), the second when this section has
# its other figures and at least NET_SAMPLE_MS later: the window is the probe's own run, not a sleep of
# its own. The wait is for a full queue only: when the app port's accept queue was under half its backlog
# at the lookup (ss -ltn Recv-Q against Send-Q), listen-backlog-overflow is ruled out by the queue itself
# (acceptQueueRuleOut 0.5) whatever the counters say, so the second sample is taken when the section is
# done, with no wait; the interval taken is reported either way (listen.intervalMs).
NET_SAMPLE_MS=500
# net_window_ms: NET_WINDOW_MS, the least interval between the two samples.
net_window_ms() {
  local q=${LISTEN_ROW[1]:-} max=${LISTEN_ROW[2]:-}
  NET_WINDOW_MS=$NET_SAMPLE_MS
  [[ $q =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] && ((max > 0 && q * 2 < max)) && NET_WINDOW_MS=0
  return 0
}
NET_SRC=/proc/net/netstat NET_C0="" NET_T0_MS=0
# listen_counters NETSTAT_FILE: LISTEN_C="overflows drops" from its TcpExt lines, or empty (builtins only).
listen_counters() {
  local -a h=() v=()
  local i o="" d=""
  LISTEN_C=""
  [[ -r $1 ]] || return 0
  while read -r -a v; do
    [[ ${v[0]:-} == TcpExt: ]] || continue
    if ((${#h[@]} == 0)); then
      h=("${v[@]}")
      continue
    fi
    for i in "${!h[@]}"; do
      case ${h[i]} in
        ListenOverflows) o=${v[i]:-} ;;
        ListenDrops) d=${v[i]:-} ;;
      esac
    done
    break
  done <"$1"
  [[ $o =~ ^[0-9]+$ && $d =~ ^[0-9]+$ ]] && LISTEN_C="$((10#$o)) $((10#$d))"
  return 0
}
CONNTRACK_WINDOW_S=3600
collect_network() {
  local src=$NET_SRC c0=$NET_C0 c1 lo="" hi="" n="" m="" dm up since
  box 15 ss -tanHe >"$W/ss-tane.txt" 2>"$W/.e.ss-tane" || {
    REASON=$(tool_reason "ss -tane" "$?" "$W/.e.ss-tane")
    return 1
  }
  # The process's sockets: the fds section's list when it ran before this one (same job) and succeeded, so
  # /proc/PID/fd is read once (10,000 links and more at an fd leak); else its own pass.
  local fd_head="" inodes=$W/.b.net-inodes
  [[ -f $W/.s.fds ]] && IFS= read -r fd_head <"$W/.s.fds"
  if [[ $fd_head == "==> fds status=ok" && -f $W/fd-targets.txt ]]; then
    inodes=$W/fd-targets.txt
  else
    : >"$W/.b.net-inodes"
    [[ -n $PID ]] && box 10 find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 -lname 'socket:\[*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' >"$W/.b.net-inodes"
  fi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
  awk -v port="$PORT" -v lo="${lo:-0}" -v hi="${hi:-0}" -v pid="$PID" "$AWK_TOP"'
function ep(a) { gsub(/[\[\]]/, "", a); sub(/^::ffff:/, "", a); return a }
FILENAME == ARGV[1] { if (NF == 1 && $1 ~ /^[0-9]+$/) mine[$1] = 1
  else if (NF == 2 && $2 ~ /^socket:\[[0-9]+\]$/) { t = $2; gsub(/[^0-9]/, "", t); mine[t] = 1 }
  next }
$1 == "LISTEN" { next }
{ st = $1; l = $4; sub(/^.*:/, "", l); l += 0; e = (hi > 0 && l >= lo && l <= hi); ino = 0
  for (i = 6; i <= NF; i++) if ($i ~ /^ino:/) ino = substr($i, 5)
  if (st == "TIME-WAIT") { tw++; tweph += e }
  if (e) { eph++; dest[ep($5)]++ }
  if (ino && (ino in mine)) { own++; ost[st]++
    if (st == "CLOSE-WAIT") { cwl[l]++; if (l == port) cwapp++; else { cwout++; cwp[ep($5)]++ } } } }
END {
  if (pid != "") {
    printf "owned.total=%d\nowned.closeWaitAppPort=%d\nowned.closeWaitOutbound=%d\n", own, cwapp, cwout
    for (s in ost) printf "owned.state.%s=%d\n", s, ost[s]
    top(cwp, 5, "owned.closeWaitPeer", 80); top(cwl, 5, "owned.closeWaitLocalPort", 10) }
  if (hi > 0) { printf "ephemeral.low=%d\nephemeral.high=%d\nephemeral.inUse=%d\n", lo, hi, eph; top(dest, 1, "ephemeral.topDestination", 80) }
  printf "timeWait.total=%d\ntimeWait.ephemeral=%d\n", tw, tweph }' "$inodes" "$W/ss-tane.txt"
  w=/proc/sys/net/netfilter/nf_conntrack
  if read -r n <"${w}_count" 2>/dev/null; then
    read -r m <"${w}_max" 2>/dev/null
    printf 'conntrack.loaded=true\nconntrack.count=%s\nconntrack.max=%s\n' "$n" "$m"
  else echo "conntrack.loaded=false"; fi
  # dmesg needs root (or kernel.dmesg_restrict=0): unreadable, the count stays absent. Only lines of the last
  # CONNTRACK_WINDOW_S count: the ring buffer keeps weeks-old drops, which say nothing of this incident. A
  # line's [seconds] are since boot (without the time asleep); a line without them counts.
  read -r up _ </proc/uptime
  since=$((${up%.*} - CONNTRACK_WINDOW_S))
  dm=$(box 5 dmesg 2>/dev/null | awk -v since="$since" '
    /nf_conntrack: .*table full, dropping packet/ {
      if (match($0, /^\[ *[0-9]+\.[0-9]+\]/) && substr($0, RSTART + 1, RLENGTH - 2) + 0 < since) next
      c++
    }
    END { print c + 0 }') &&
    printf 'conntrack.tableFullLines=%s\nconntrack.tableFullWindowSeconds=%s\n' "$dm" "$CONNTRACK_WINDOW_S"
  # The second sample (never into the probe's last second).
  now_ms
  net_window_ms
  sleep_ms $((NET_WINDOW_MS - (NOW_MS - NET_T0_MS)))
  listen_counters "$src"
  c1=$LISTEN_C
  : >"$W/.b.net-sampled"
  now_ms
  [[ -n $c0 && -n $c1 ]] &&
    printf 'listen.overflowsBefore=%s\nlisten.overflowsAfter=%s\nlisten.dropsBefore=%s\nlisten.dropsAfter=%s\nlisten.intervalMs=%s\nlisten.minIntervalMs=%s\n' \
      "${c0% *}" "${c1% *}" "${c0#* }" "${c1#* }" "$((NOW_MS - NET_T0_MS))" "$NET_WINDOW_MS"
  return 0
}

# Heap: the perf-data file jstat reads, read as data (no JVM started); sample 2 precedes the histogram's GC.
# perf_decode: `od -An -v -tu1` -> name=value counters (hotspot perfMemory.hpp layout).
perf_decode() {
  awk '
    { n = split($0, b, " ") }
    function int4(o,  v, k) { v = 0; for (k = 3; k >= 0; k--) v = v * 256 + b[o + 1 + (le ? k : 3 - k)]; return v }
    function int8(o,  v, k) { v = 0; for (k = 7; k >= 0; k--) v = v * 256 + b[o + 1 + (le ? k : 7 - k)]; return v }
    END {
      if (n < 32 || b[1] != 202 || b[2] != 254 || b[3] != 192 || b[4] != 192) { print "not a perf-data file (no 0xcafec0c0 magic)" > "/dev/stderr"; exit 1 }
      le = (b[5] == 1); off = int4(24); cnt = int4(28)
      for (e = 0; e < cnt && cnt < 100000 && off + 20 <= n; e++) {
        len = int4(off)
        if (len <= 0) break
        no = off + int4(off + 4); vl = int4(off + 8); t = b[off + 13]; d = off + int4(off + 16)
        off += len
        if (b[no + 1] != 115 || b[no + 2] != 117 || b[no + 3] != 110 || b[no + 4] != 46 || (b[no + 5] != 103 && b[no + 5] != 111)) continue
        name = ""
        for (k = no; k < n && b[k + 1] != 0 && k < no + 200; k++) name = name sprintf("%c", b[k + 1])
        if (name ~ /^sun\.(gc\.(generation\.[01]\.space\.[0-2]\.(used|capacity)|(metaspace|compressedclassspace)\.(used|capacity)|collector\.[0-2]\.(invocations|time)|collector\.1\.last(Entry|Exit)Time)|os\.hrt\.(frequency|ticks))$/ && t == 74 && vl == 0 && d + 8 <= n)
          printf "%s=%.0f\n", name, int8(d)
      }
    }'
}
# perf_gcutil: counters -> a row in jstat's gcutil columns and definitions.
perf_gcutil() {
  awk -F= '
    { v[$1] = $2 }
    function pct(p,  c) { c = v[p ".capacity"]; if (!((p ".used") in v) || c + 0 <= 0) return "-"; return sprintf("%.2f", 100 * v[p ".used"] / c) }
    function secs(c) { return sprintf("%.3f", v["sun.gc.collector." c ".time"] / f) }
    END {
      f = v["sun.os.hrt.frequency"] + 0
      if (f <= 0 || !("sun.gc.collector.0.invocations" in v) || !("sun.gc.collector.1.invocations" in v) || !("sun.gc.generation.1.space.0.used" in v)) {
        print "the perf-data file has no GC counters" > "/dev/stderr"; exit 1 }
      g = "sun.gc.generation."; cgc = ("sun.gc.collector.2.invocations" in v)
      gct = (v["sun.gc.collector.0.time"] + v["sun.gc.collector.1.time"] + (cgc ? v["sun.gc.collector.2.time"] : 0)) / f
      printf "%6s %6s %6s %6s %6s %6s %6d %8s %5d %8s %6s %8s %9.3f\n", pct(g "0.space.1"), pct(g "0.space.2"), pct(g "0.space.0"),
        pct(g "1.space.0"), pct("sun.gc.metaspace"), pct("sun.gc.compressedclassspace"), v["sun.gc.collector.0.invocations"], secs(0),
        v["sun.gc.collector.1.invocations"], secs(1), cgc ? v["sun.gc.collector.2.invocations"] : "-", cgc ? secs(2) : "-", gct
      # Second line: the sample time (ms) and the ms since the last full GC ended (0: one is running; -1: none yet).
      t = v["sun.os.hrt.ticks"]; en = v["sun.gc.collector.1.lastEntryTime"] + 0; ex = v["sun.gc.collector.1.lastExitTime"] + 0
      printf "%.0f %.0f\n", t / f * 1000, (en == 0 ? -1 : (en > ex ? 0 : (t - ex) / f * 1000))
    }'
}
PERF_FILE=""
PERF_WHY=""
# perf_file: through /proc/PID/root (a container has its own /tmp and PID).
perf_file() {
  local ns="" k v f
  while read -r k v; do [[ $k == NSpid: ]] && ns=${v##*[[:space:]]}; done <"/proc/$PID/status" 2>/dev/null
  ns=${ns:-$PID}
  if [[ ! -x /proc/$PID/root/ ]]; then
    PERF_WHY="permission denied: /proc/$PID/root is not accessible to uid $EUID (the JVM runs as ${JVM_USER:-another user}): its perf-data file cannot be read"
    return 1
  fi
  for f in "/proc/$PID/root/tmp/hsperfdata_$JVM_USER/$ns" /proc/"$PID"/root/tmp/hsperfdata_*/"$ns"; do
    [[ -e $f ]] && {
      PERF_FILE=$f
      return 0
    }
  done
  PERF_WHY="no perf-data file for pid $PID under /proc/$PID/root/tmp/hsperfdata_*/ (JVM started with -XX:-UsePerfData or -XX:+PerfDisableSharedMem, or not readable to uid $EUID)"
  return 1
}
# perf_sample N: read as the JVM's user -> $W/perf-N.txt: a gcutil row; "time ms-since-last-full-GC" (ms).
perf_sample() {
  [[ -n $PERF_FILE ]] || return 1
  box 5 "${RUNAS[@]}" od -An -v -tu1 -w1048576 -N 1048576 -- "$PERF_FILE" 2>"$W/perf-$1.err" | perf_decode | perf_gcutil >"$W/perf-$1.txt" 2>>"$W/perf-$1.err"
  perf_sampled "$1"
}
# perf_sampled N: sample N is in hand; else 1, with PERF_WHY saying why not.
perf_sampled() {
  [[ -s $W/perf-$1.txt ]] && return 0
  PERF_WHY="cannot read the perf-data file $PERF_FILE: $(oneline 200 <"$W/perf-$1.err")"
  return 1
}
perf_sample_later() {
  [[ -s $W/perf-1.txt ]] || return 1
  now_ms
  sleep_ms $((HEAP_SAMPLE_MS - (NOW_MS - PERF_T1_MS)))
  perf_sample 2
}
# histogram_gate: the histogram's full GC stops the JVM and uses its CPU, so it waits for the samples it
# would disturb: the CPU's second reading (collect_process), and, when the accept queue is filling
# (net_window_ms), the listen counters' second sample (a stopped acceptor's drops would count as the
# app's). Each wait is bounded: a section that failed before its flag delays the histogram, never stops it.
histogram_gate() {
  await_flag cpu-sampled 100
  net_window_ms
  ((NET_WINDOW_MS > 0)) || return 0
  now_ms
  sleep_ms $((NET_WINDOW_MS - (NOW_MS - NET_T0_MS)))
  await_flag net-sampled 200
}
# await_flag NAME POLLS: until $W/.b.NAME exists, or POLLS polls 5 ms apart have passed.
await_flag() {
  local n=0
  while [[ ! -e $W/.b.$1 ]] && ((n++ < $2)); do sleep_ms 5; done
}
# As long as the CPU's window: a full GC in it also shows as heap.lastFullGcAgoMs.
HEAP_SAMPLE_MS=$CPU_SAMPLE_MS
PERF_T1_MS=0
collect_heap() {
  need_java || return 1
  [[ -s $W/perf-1.txt ]] || {
    REASON=${PERF_WHY:-no heap sample}
    return 1
  }
  [[ -n ${ATTACH_BG:-} ]] && wait "$ATTACH_BG" 2>/dev/null
  [[ -s $W/perf-2.txt ]] || perf_sample_later
  local r1=() r2=() t1 t2
  mapfile -t r1 <"$W/perf-1.txt"
  [[ -s $W/perf-2.txt ]] && mapfile -t r2 <"$W/perf-2.txt"
  {
    echo "  S0     S1     E      O      M     CCS    YGC     YGCT    FGC    FGCT     CGC    CGCT       GCT"
    echo "${r1[0]}"
    ((${#r2[@]} > 0)) && echo "${r2[0]}"
  } >"$W/jstat-gcutil.txt"
  echo "command=perf-data $PERF_FILE (jstat -gcutil columns)"
  heap_last_full_gc "${r2[1]:-${r1[1]:-}}"
  if ((${#r2[@]} > 0)); then
    t1=${r1[1]%% *}
    t2=${r2[1]%% *}
    echo "sampleIntervalMs=$((t2 - t1))"
  else
    echo "sampleIntervalMs=0"
    echo "secondSample=$(oneline 200 <<<"${PERF_WHY:-not taken}")"
  fi
  sed -e 's/^/| /' "$W/jstat-gcutil.txt"
}

# heap_last_full_gc "TIME SINCE": ms since the last full GC ended at the last sample (0: running, -1: none yet),
# for the rules' "a full GC just ended and left the old generation full".
heap_last_full_gc() {
  local since=${1#* }
  [[ $1 == *" "* && $since =~ ^(-1|[0-9]+)$ ]] && echo "lastFullGcAgoMs=$since"
  return 0
}

# Process CPU ticks and the time at the probe's start, for collect_process's CPU sample.
# Also the first sample of the listen counters (collect_network).
mark_cpu() {
  [[ -n $PID && -r /proc/$PID/net/netstat ]] && NET_SRC=/proc/$PID/net/netstat
  listen_counters "$NET_SRC"
  NET_C0=$LISTEN_C
  now_ms
  NET_T0_MS=$NOW_MS
  [[ -n ${PID:-} && -r /proc/$PID/stat ]] || return 0
  proc_stat "$PID" && CPU_T0_TICKS="$((STAT[11] + STAT[12])) ${STAT[19]}"
  thread_cpu_ns "$PID" CPU_T0_NS
  CPU_T0_US=${EPOCHREALTIME/./}
}

collect_health() {
  local url="http://127.0.0.1:${PORT}${HEALTH_PATH}" out="" rc=1 body=""
  if [[ -n ${HEALTH_BG:-} ]]; then
    # The time-out was shortened after the check started (attach_budget: a JVM that cannot be attached
    # does not answer either): the check is stopped at the shorter one, as curl's -m would have (exit 28).
    while ((HEALTH_TIMEOUT_S < HEALTH_STARTED_S)) && kill -0 "$HEALTH_BG" 2>/dev/null; do
      now_ms
      if ((NOW_MS >= HEALTH_T0_MS + HEALTH_TIMEOUT_S * 1000)); then
        kill "$HEALTH_BG" 2>/dev/null
        wait "$HEALTH_BG" 2>/dev/null
        HEALTH_BG=""
        rc=28
        echo "curl: (28) Operation timed out after $((NOW_MS - HEALTH_T0_MS)) milliseconds (stopped by the probe at ${HEALTH_TIMEOUT_S}s, short because $ATTACH_WHY)" >"$W/curl.err"
        printf '000 %d.%03d' $(((NOW_MS - HEALTH_T0_MS) / 1000)) $(((NOW_MS - HEALTH_T0_MS) % 1000)) >"$W/curl.out"
        break
      fi
      sleep 0.1
    done
    if [[ -n $HEALTH_BG ]]; then
      wait "$HEALTH_BG" 2>/dev/null
      rc=$?
    fi
  fi
  [[ -f $W/curl.out ]] && IFS= read -r out <"$W/curl.out"
  {
    echo "url=$url"
    echo "curlExit=$rc"
    echo "httpCode=${out%% *}"
    echo "timeTotal=${out#* }"
    echo "timeoutSeconds=$HEALTH_TIMEOUT_S"
    printf 'error='; oneline 200 <"$W/curl.err"
  } >"$W/health.txt"
  IFS= read -r -d '' body <"$W/health.txt"
  printf '%s' "$body"
}

# ---------------------------------------------------------------------------------------------
# Log discovery, when SSM_logPath is empty: the application's log from what the process itself shows.
# In order: its stdout, then stderr, when a regular file (/proc/PID/fd/1, 2: the JVM's own errors,
# OutOfMemoryError included, land there); Spring Boot's logging.file.name / logging.file.path (-D or --
# on the command line, LOGGING_FILE_NAME / LOG_FILE / LOGGING_FILE_PATH / LOG_PATH in its environment);
# Tomcat's catalina.base (else catalina.home) logs: catalina.out, the newest catalina.*.log, the newest
# localhost.*.log; the journal of the PID (journalctl _PID=) when stdout is a socket. The first usable one
# is read (one log: LOG_SOURCE, LOG_WHY say which and why; LOG_TRIED what was passed over and why).
# The command line and environment are the target's, so hostile: a path must be absolute (or relative to
# its working folder) of [A-Za-z0-9._/-] without `..`, a regular file, and not a symbolic link itself;
# it is read as the JVM's user (collect_logs), bounded like any log tail, and redacted.
# ---------------------------------------------------------------------------------------------
LOG_SOURCE="" LOG_WHY="" LOG_READ="" LOG_JOURNAL_MATCH=""
LOG_TRIED=()
# log_file SOURCE WHY PATH: takes PATH when it is plain, absolute, a regular file and no symlink.
log_file() {
  local p=$3 why=""
  [[ ${#p} -le 301 && $p =~ ^/[A-Za-z0-9._/-]+$ && /$p/ != */../* && /$p/ != */./* ]] || why="not a plain absolute path"
  [[ -n $why || ! -L $p ]] || why="a symbolic link (not followed)"
  [[ -n $why || -f $p ]] || why=$([[ -e $p ]] && echo "not a regular file" || echo missing)
  [[ -z $why ]] && { LOG_PATH=$p LOG_READ=$p LOG_SOURCE=$1 LOG_WHY=$2; return 0; }
  LOG_TRIED+=("$1 ${p:0:80}: $why")
  return 1
}
# log_setting NAME...: the first NAME=value among the -D/-- arguments (LOG_KV), NAME env:VAR for the environment.
log_setting() {
  local a n
  for n; do
    for a in "${LOG_KV[@]}"; do
      [[ $a == "$n="* ]] && { LOG_SET=${a#*=} LOG_FROM=$([[ $n == env:* ]] && echo "environment ${n#env:}" || echo "-D$n or --$n"); return 0; }
    done
  done
  return 1
}
newest_log() { find "$1" -mindepth 1 -maxdepth 1 -type f -name "$2" -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-; }
discover_log() {
  [[ -n $PID ]] || { LOG_TRIED+=("no target process: $PID_REASON"); return 1; }
  local fd t f cwd unit
  local -a args envs
  LOG_KV=()
  mapfile -d '' -t args <"/proc/$PID/cmdline" 2>/dev/null
  mapfile -d '' -t envs < <(head -c 65536 "/proc/$PID/environ" 2>/dev/null)
  for t in "${args[@]}"; do [[ $t == -D* || $t == --* ]] && LOG_KV+=("${t#-[-D]}"); done
  for t in "${envs[@]}"; do LOG_KV+=("env:$t"); done
  for fd in 1 2; do
    t=${LINK[$fd]:-}
    [[ $fd$t == 1socket:* ]] && LOG_JOURNAL_MATCH="_PID=$PID"
    if [[ $t == /* && -f /proc/$PID/fd/$fd ]]; then
      # The open file itself (through /proc, even when renamed or deleted), recorded under its name.
      LOG_SOURCE=$( ((fd == 1)) && echo stdout || echo stderr)
      LOG_PATH=$(oneline 300 <<<"$t") LOG_READ=/proc/$PID/fd/$fd LOG_WHY="the process's $LOG_SOURCE (fd $fd) is this regular file"
      [[ $fd == 1 && ${LINK[2]:-} == "$t" ]] && LOG_WHY="the process's stdout and stderr (fd 1 and 2) are this regular file"
      return 0
    fi
    LOG_TRIED+=("fd $fd: $([[ $t == socket:* ]] && echo "a socket" || echo "$(oneline 60 <<<"${t:-not readable}") (not a regular file)")")
  done
  cwd=${LINK[cwd]:-}/
  if log_setting logging.file.name LOG_FILE env:LOGGING_FILE_NAME env:LOG_FILE; then
    [[ $LOG_SET == /* ]] || LOG_SET=$cwd$LOG_SET
    log_file spring-boot "Spring Boot's logging.file.name ($LOG_FROM)" "$LOG_SET" && return 0
  fi
  if log_setting logging.file.path LOG_PATH env:LOGGING_FILE_PATH env:LOG_PATH; then
    [[ $LOG_SET == /* ]] || LOG_SET=$cwd$LOG_SET
    log_file spring-boot "Spring Boot's logging.file.path ($LOG_FROM), its spring.log" "${LOG_SET%/}/spring.log" && return 0
  fi
  if log_setting catalina.base catalina.home && [[ ${#LOG_SET} -le 251 && $LOG_SET =~ ^/[A-Za-z0-9._/-]+$ && -d $LOG_SET/logs ]]; then
    for f in "$LOG_SET/logs/catalina.out" "$(newest_log "$LOG_SET/logs" 'catalina.*.log')" "$(newest_log "$LOG_SET/logs" 'localhost.*.log')"; do
      [[ -n $f ]] && log_file tomcat "Tomcat's logs folder of $LOG_FROM" "$f" && return 0
    done
  fi
  [[ -n $LOG_JOURNAL_MATCH ]] || return 1
  command -v journalctl >/dev/null 2>&1 || { LOG_TRIED+=("journal: journalctl is not installed"); return 1; }
  unit=$(sed -n 's|^0::.*/\([A-Za-z0-9@._:-]*\.service\)$|\1|p' "/proc/$PID/cgroup" 2>/dev/null | head -n 1)
  LOG_PATH="journald:$LOG_JOURNAL_MATCH" LOG_SOURCE=journald
  LOG_WHY="stdout is a socket (the journal's): the journal of PID $PID${unit:+ (unit $unit)}"
}

collect_logs() {
  local src=${LOG_PATH:+input} read_path=$LOG_PATH why="given (SSM_logPath)"
  if [[ -z $LOG_PATH ]]; then
    discover_log || {
      REASON="no log path given (SSM_logPath is empty) and none found: $(IFS=';'; oneline 700 <<<"${LOG_TRIED[*]:-no process to look at}")"
      return 1
    }
    src=$LOG_SOURCE read_path=$LOG_READ why=$LOG_WHY
  fi
  [[ $src == journald || -r $read_path ]] || {
    REASON="cannot read log file $LOG_PATH (missing or permission denied)"
    return 1
  }
  # Read as the JVM's user when the probe is root (a planted symlink at the log path reaches only what
  # that user can read); the last LOG_TAIL_MAX_BYTES bytes first, then the last LOG_TAIL_MAX_LINES lines.
  local size
  if [[ $src == journald ]]; then
    box 10 journalctl "$LOG_JOURNAL_MATCH" --no-pager -q -o short-iso -n "$LOG_TAIL_MAX_LINES" 2>"$W/log.err" |
      tail -c "$LOG_TAIL_MAX_BYTES" >"$W/app-log-tail.txt"
    size=$(wc -c <"$W/app-log-tail.txt")
  else
    size=$(box 5 "${RUNAS[@]}" stat -L -c %s -- "$read_path" 2>/dev/null)
    box 10 "${RUNAS[@]}" tail -c "$LOG_TAIL_MAX_BYTES" -- "$read_path" 2>"$W/log.err" | tail -n "$LOG_TAIL_MAX_LINES" >"$W/app-log-tail.txt"
  fi || {
    REASON=$(tool_reason "reading the log $LOG_PATH" "$?" "$W/log.err")
    return 1
  }
  echo "path=$LOG_PATH"
  echo "source=$src"
  printf 'why='; oneline 300 <<<"$why"
  local t
  for t in "${LOG_TRIED[@]:0:10}"; do printf 'passedOver='; oneline 200 <<<"$t"; done
  echo "fileBytes=$size"
  echo "tailMaxBytes=$LOG_TAIL_MAX_BYTES"
  echo "tailMaxLines=$LOG_TAIL_MAX_LINES"
  echo "tailBytes=$(wc -c <"$W/app-log-tail.txt")"
  [[ $size =~ ^[0-9]+$ ]] && ((size > LOG_TAIL_MAX_BYTES)) && echo "truncated=log tail cut to the last $LOG_TAIL_MAX_BYTES of $size bytes"
  printf 'utcOffset=%(%z)T\n' -1
  # firstFailure*: the kind and the time stamp of the line (or the last stamped line before it) of the first match, so the
  # postmortem can date the failure's start. Stamps: Tomcat one-line (02-Dec-2026 02:37:55.850), ISO
  # (2026-12-02 02:37:55.850, 2026-12-02T02:37:55.850Z) and java.util.logging (Dec 2, 2026 2:37:55 AM).
  awk '/^[0-9][0-9]-[A-Z][a-z][a-z]-[0-9][0-9][0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 " " $2 }
       /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 " " $2 }
       /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/ { st = $1 }
       /^[A-Z][a-z][a-z] [0-9]?[0-9], [0-9][0-9][0-9][0-9] [0-9]?[0-9]:[0-9][0-9]:[0-9][0-9] [AP]M/ { st = $1 " " $2 " " $3 " " $4 " " $5 }
       { n++ }
       /Too many open files/ { t++ }
       /OutOfMemoryError/ { o++ }
       /Connection is not available, request timed out/ { p++ }
       /No space left on device/ { d++ }
       /Too many open files|OutOfMemoryError|Connection is not available, request timed out|No space left on device/ {
         s[++k] = $0
         if (k == 1) {
           fl = n; fs = st
           fk = /Too many open files/ ? "tooManyOpenFiles" : /OutOfMemoryError/ ? "outOfMemoryError" : /Connection is not available/ ? "connectionNotAvailable" : "noSpaceLeft"
         }
       }
       END { printf "linesScanned=%d\ntooManyOpenFiles=%d\noutOfMemoryError=%d\nconnectionNotAvailable=%d\nnoSpaceLeft=%d\n", n, t, o, p, d
             if (k > 0) { print "firstFailureLine=" fl; print "firstFailureKind=" fk; if (fs != "") print "firstFailureAt=" substr(fs, 1, 40) }
             for (i = (k > 5 ? k - 4 : 1); i <= k; i++) print "sample=" s[i] }' "$W/app-log-tail.txt" |
    awk '{ gsub(/[^[:print:]]/, ""); print substr($0, 1, 207) }'
  return 0
}

# One jcmd session (Thread.print, then GC.class_histogram) reading its commands from stdin: its JVM
# starts during the heap's second sample, the commands follow it. jmap/jstack only without jcmd.
ATTACH_WHY=""
# attach_budget: time boxes from the evidence in hand (fds at the limit: no attach; heap full: short).
attach_budget() {
  local open_n limit_n old=""
  limit_n=$(fd_limit)
  local fds=()
  fds=("/proc/$PID/fd/"*)
  open_n=${#fds[@]}
  [[ -e ${fds[0]} || -L ${fds[0]} ]] || open_n=0
  local since=-1 row=() t=() fgc="" fgct=""
  if [[ -s $W/perf-1.txt ]]; then
    mapfile -t row <"$W/perf-1.txt"
    read -r _ _ _ old _ _ _ _ fgc fgct _ <<<"${row[0]}"
    read -r -a t <<<"${row[1]:-}"
    since=${t[1]:--1}
  fi
  if [[ $limit_n =~ ^[0-9]+$ ]] && ((open_n + 2 >= limit_n)); then
    ATTACH_WHY="the JVM is at its open-files limit ($open_n of $limit_n)"
    ATTACH_SKIP="not attempted: $ATTACH_WHY and cannot accept an attach"
  elif [[ $old =~ ^[0-9]+ && $since =~ ^[0-9]+$ ]] && ((${old%%.*} >= OLD_GEN_FULL_PERCENT && since < FULL_GC_RECENT_MS)); then
    ATTACH_WHY="the heap is full (old generation ${old}% $( ((since == 0)) && echo "during a full GC" || echo "${since} ms after a full GC"))"
  elif [[ $old =~ ^[0-9]+ ]] && ((${old%%.*} >= OLD_GEN_FULL_PERCENT)) && heap_gc_thrash "$fgc" "$fgct"; then
    ATTACH_WHY="the heap is full (old generation ${old}%, $HEAP_THRASH_WHY)"
  fi
  if [[ -n $ATTACH_WHY ]]; then
    ATTACH_TIMEOUT_MS=1500
    ATTACH_BOX_S=2
    if ((HEALTH_TIMEOUT_S > 2)); then HEALTH_TIMEOUT_S=2; fi
  fi
}
OLD_GEN_FULL_PERCENT=95
FULL_GC_RECENT_MS=5000
# heap_gc_thrash FGC FGCT: the GC history says the heap is exhausted (the runbook's gc-history variant:
# >= 20 full GCs, and >= 30 per hour of uptime or >= 5% of it in full GCs), so an attach will hang
# behind the collector: the attach gets a short box even without a full GC right now. Sets HEAP_THRASH_WHY.
HEAP_THRASH_WHY=""
heap_gc_thrash() {
  local fgc=$1 fgct=${2%%.*} start up=""
  [[ $fgc =~ ^[0-9]+$ && $fgct =~ ^[0-9]+$ ]] && ((fgc >= 20)) || return 1
  proc_stat "$PID" && start=${STAT[19]} && read -r up _ </proc/uptime && up=$((${up%.*} - start / CLK_TCK))
  [[ $up =~ ^[0-9]+$ ]] && ((up > 0)) || return 1
  ((fgc * 3600 >= 30 * up || fgct * 20 >= up)) || return 1
  HEAP_THRASH_WHY="$fgc full GCs in ${up}s of uptime, ${fgct}s of them in full GCs"
}
fd_limit() {
  local line f
  while IFS= read -r line; do
    [[ $line == "Max open files"* ]] && {
      read -r -a f <<<"$line"
      echo "${f[3]}"
      return
    }
  done <"/proc/$PID/limits" 2>/dev/null
}
# shellcheck source=SCRIPTDIR/../lib/hotspot-attach.sh
. "${0%"${0##*/}"}../lib/hotspot-attach.sh"  # runbook:include lib/hotspot-attach.sh
JCMD=""
JCMD_WHY=""
ATTACH_SKIP=""
# ATTACH_VIA: who speaks the attach protocol for the session: "direct" (lib/hotspot-attach.sh, no JVM
# started), "jdk" (jcmd, when no trusted python3), or empty (jmap/jstack, one attach each, no jcmd);
# ATTACH_TOOL names it in reasons.
ATTACH_VIA=""
ATTACH_TOOL=""
# attach_split RC: the session's exit code, and its output split into the threads and the histogram.
attach_split() {
  echo "$1" >"$W/jcmd-session.rc"
  awk '/^ *num +#instances/ { h = 1 } h { print > "'"$W"'/class-histogram.txt"; next } { print > "'"$W"'/jstack.txt" }' "$W/jcmd-session.txt"
}
start_attach() {
  need_java 2>/dev/null || return 0
  [[ -z $ATTACH_SKIP ]] || return 0
  # jcmd, jmap and jstack send the same SIGQUIT: no attach at all to a JVM it would end.
  hotspot_attach_safe "$PID" || {
    ATTACH_SKIP="not attempted: $ATTACH_UNSAFE_WHY"
    return 0
  }
  local all="" box_s=$ATTACH_BOX_S start=""
  [[ $HISTO_MODE == all ]] && all=" -all"
  box_s=$((box_s + HEAP_SAMPLE_MS / 1000 + 1))
  if hotspot_attach_client; then
    ATTACH_VIA=direct
    ATTACH_TOOL="the direct attach"
    proc_stat "$PID" && start=${STAT[19]}
    # Thread.print at once (no GC); the histogram (a full GC) after the heap's second sample.
    (
      {
        echo Thread.print
        perf_sample_later >/dev/null 2>&1
        histogram_gate >/dev/null 2>&1
        echo "GC.class_histogram$all"
      } | box "$box_s" "${RUNAS[@]}" "$ATTACH_PY_BIN" -I -S -c "$HOTSPOT_ATTACH_PY" "$PID" "${start:-0}" "$ATTACH_TIMEOUT_MS" \
        >"$W/jcmd-session.txt" 2>"$W/attach.err"
      attach_split $?
    ) >/dev/null 2>&1 </dev/null &
    ATTACH_BG=$!
    return 0
  fi
  # shellcheck disable=SC2153 # TOOL is set by pick_tool (trusted-path.sh)
  if pick_tool jcmd; then JCMD=$TOOL; else JCMD_WHY="$ATTACH_PY_WHY; $TOOL_WHY"; fi
  [[ -n $JCMD ]] || return 0
  ATTACH_VIA=jdk
  ATTACH_TOOL=jcmd
  # shellcheck disable=SC2016 # "$0" "$@" are expanded by the inner sh: jcmd and its arguments
  (
    {
      perf_sample_later >/dev/null 2>&1
      histogram_gate >/dev/null 2>&1
      printf 'Thread.print\nGC.class_histogram%s\n' "$all"
    } | box "$box_s" "${RUNAS[@]}" sh -c 'cat | exec "$0" "$@"' "$JCMD" "-J-Dsun.tools.attach.attachTimeout=${ATTACH_TIMEOUT_MS}" \
      -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData "$PID" -f /dev/stdin >"$W/jcmd-session.txt" 2>&1
    attach_split $?
  ) >/dev/null 2>&1 </dev/null &
  ATTACH_BG=$!
}
attach_result() { # WHAT (threads|histogram)
  [[ -n ${ATTACH_BG:-} ]] && wait "$ATTACH_BG" 2>/dev/null
  ATTACH_BG=""
  local rc=1
  [[ -f $W/jcmd-session.rc ]] && rc=$(<"$W/jcmd-session.rc")
  ((rc == 0)) && return 0
  if [[ $ATTACH_VIA == direct && -s $W/attach.err ]]; then
    # The client's own line (the listener did not start in time: 124).
    REASON=$(oneline 300 <"$W/attach.err")
    REASON=${REASON#direct attach: }
    ((rc == 124)) && REASON="timed out: $REASON"
  else
    REASON=$(tool_reason "$ATTACH_TOOL" "$rc" "$W/jcmd-session.txt")
    [[ $REASON == timed\ out* && -n $ATTACH_WHY ]] && REASON+=" of ${ATTACH_BOX_S}s"
  fi
  [[ $REASON == timed\ out* && -n $ATTACH_WHY ]] && REASON+=", short because $ATTACH_WHY"
  return 1
}

collect_histogram() {
  need_java || return 1
  [[ -z $ATTACH_SKIP ]] || {
    REASON=$ATTACH_SKIP
    return 1
  }
  local cmd tool_name forced rc
  if [[ $HISTO_MODE == live ]]; then forced=true; else forced=false; fi
  if [[ -n $ATTACH_VIA ]]; then
    # The direct attach sends the very command jcmd would (the attach operation "jcmd"): same tool.
    tool_name=jcmd
    cmd="jcmd $PID GC.class_histogram"
    [[ $HISTO_MODE == all ]] && cmd+=" -all"
    attach_result || return 1
    grep -q '^Total ' "$W/class-histogram.txt" 2>/dev/null || {
      REASON=$(tool_reason "$ATTACH_TOOL" 1 "$W/jcmd-session.txt")
      return 1
    }
  else
    local jmap
    pick_tool jmap || {
      REASON="$JCMD_WHY; $TOOL_WHY"
      return 1
    }
    jmap=$TOOL
    tool_name=jmap
    if [[ $HISTO_MODE == live ]]; then cmd="jmap -histo:live $PID"; else cmd="jmap -histo $PID"; fi
    box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jmap" "$([[ $HISTO_MODE == live ]] && echo -histo:live || echo -histo)" "$PID" >"$W/class-histogram.txt" 2>&1
    rc=$?
    if ((rc != 0)) || ! grep -q '^Total ' "$W/class-histogram.txt"; then
      REASON="$JCMD_WHY; $(tool_reason jmap "$rc" "$W/class-histogram.txt")"
      return 1
    fi
  fi
  echo "tool=$tool_name"
  echo "client=${ATTACH_VIA:-jdk}"
  echo "command=$cmd"
  echo "forcedFullGc=$forced"
  [[ $tool_name == jmap ]] && echo "fallbackReason=$(oneline 200 <<<"$JCMD_WHY")"
  [[ -n $SESSION_CLASSES ]] && echo "sessionClasses=$SESSION_CLASSES"
  local w=${WATCHED_CLASSES//./\\.}
  w=${w//\$/\\\$}
  local watch_re=" (${w// /|})( |\$)"
  awk -v re="$watch_re" '
    /^ *[0-9]+: +[0-9]/ { r++; if (r <= 30 || $0 ~ re) print "| " substr($0, 1, 220); next }
    /^ *num / || /^Total / { print "| " substr($0, 1, 220) }' "$W/class-histogram.txt"
}

collect_threads() {
  need_java || return 1
  [[ -z $ATTACH_SKIP ]] || {
    REASON=$ATTACH_SKIP
    return 1
  }
  if [[ -n $ATTACH_VIA ]]; then
    attach_result || return 1
    echo "command=jcmd $PID Thread.print"
  else
    local jstack rc
    pick_tool jstack || {
      REASON="$JCMD_WHY; $TOOL_WHY"
      return 1
    }
    jstack=$TOOL
    box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jstack" "-J-Dsun.tools.attach.attachTimeout=${ATTACH_TIMEOUT_MS}" "$PID" >"$W/jstack.txt" 2>&1
    rc=$?
    if ((rc != 0)); then
      REASON=$(tool_reason jstack "$rc" "$W/jstack.txt")
      return 1
    fi
    echo "command=jstack $PID"
  fi
  grep -q '^"' "$W/jstack.txt" 2>/dev/null || {
    REASON=$(tool_reason "${ATTACH_VIA:+$ATTACH_TOOL Thread.print}${ATTACH_VIA:-jstack}" 1 "$W/jstack.txt")
    return 1
  }
  awk '
    function flush(  prefix) {
      if (!java) return
      total++; states[state == "" ? "UNKNOWN" : state]++
      if (state == "BLOCKED") blocked++
      if (sockread && driver && !dbserver) db++
      if (poolwait) pw++
      if (name ~ /-exec-[0-9]+$/) { prefix = name; sub(/[0-9]+$/, "", prefix); ptot[prefix]++; if (parked) pidle[prefix]++ }
      java = 0
    }
    /^"/ { flush(); java = ($0 ~ /" #[0-9]+ /); name = $0; sub(/^"/, "", name); sub(/" #[0-9]+ .*$/, "", name)
           state = ""; parked = 0; sockread = 0; driver = 0; dbserver = 0; poolwait = 0; next }
    /^[ \t]+java\.lang\.Thread\.State: / { state = $2; next }
    /^[ \t]+at / {
      # Idle = waiting for work inside the pool executor (getTask); a thread parked in a queue elsewhere (a
      # connection pool borrow uses a SynchronousQueue) is busy.
      if ($0 ~ /ThreadPoolExecutor\.getTask\(/) parked = 1
      if ($0 ~ /socketRead|SocketInputStream\.read|NioSocketImpl\.(read|implRead)|SocketDispatcher\.read/) sockread = 1
      if ($0 ~ /at (com\.mysql\.|org\.postgresql\.|oracle\.jdbc\.|com\.microsoft\.sqlserver\.|org\.mariadb\.|org\.h2\.|org\.hsqldb\.|com\.ibm\.db2\.)/) driver = 1
      # An in-process database server (H2, HSQLDB) reading its clients is not a request in a database call.
      if ($0 ~ /at org\.(h2|hsqldb)\.server\./) dbserver = 1
      # Waiting for a pooled database connection: HikariCP, Tomcat JDBC, DBCP 2, c3p0.
      if ($0 ~ /\.(HikariPool\.getConnection|ConnectionPool\.borrowConnection|GenericObjectPool\.borrowObject|BasicResourcePool\.awaitAvailable)\(/) poolwait = 1
    }
    END {
      flush()
      best = ""; for (p in ptot) if (best == "" || ptot[p] > ptot[best] || (ptot[p] == ptot[best] && p < best)) best = p
      printf "total=%d\n", total
      printf "executor.prefix=%s\nexecutor.total=%d\nexecutor.idle=%d\nexecutor.busy=%d\n", best, ptot[best], pidle[best], ptot[best] - pidle[best]
      printf "inDatabaseCalls=%d\nblocked=%d\nwaitingForDbConnection=%d\n", db, blocked, pw
      ns = 0; for (s in states) names[++ns] = s
      for (i = 2; i <= ns; i++) { v = names[i]; for (j = i - 1; j >= 1 && names[j] > v; j--) names[j + 1] = names[j]; names[j + 1] = v }
      for (i = 1; i <= ns; i++) printf "state.%s=%d\n", names[i], states[names[i]]
    }' "$W/jstack.txt"
}

# The Tomcat version, read as data only: a versioned jar name, else ServerInfo.properties (or the
# manifest) inside the catalina jar, read with `unzip -p` as the JVM's user and cut. Nothing from the
# target is ever executed: the jars and the JDK are the target's, writable by its user.
collect_tomcat() {
  need_pid || return 1
  local jar v="" src="" first="" props t i re='(tomcat[0-9]*-embed-core|tomcat-catalina|catalina)[^/]*\.jar$'
  local -a cands=() parts=() args=() words=()
  local -A seen=()
  # Jar names the process has open or names on its command line (split at ':', the class path separator,
  # and blanks; relative ones are the JVM's, under its working folder), in byte order, at most 20.
  # One grep picks the open jars out of fd-targets.txt (a line per fd: 10,000 and more at an fd leak, too
  # many for a shell loop); the rest is builtins.
  if [[ -s $W/fd-targets.txt ]]; then
    mapfile -t parts < <(grep -E -- "$re" "$W/fd-targets.txt")
    parts=("${parts[@]#* }")
  fi
  mapfile -d '' -t args <"/proc/$PID/cmdline" 2>/dev/null
  for t in "${args[@]}"; do
    IFS=$': \t\n' read -r -d '' -a words <<<"$t"
    parts+=("${words[@]}")
  done
  for t in "${parts[@]}"; do
    [[ $t =~ $re && -z ${seen[$t]:-} ]] || continue
    seen[$t]=1
    for ((i = ${#cands[@]}; i > 0; i--)); do
      [[ ${cands[i - 1]} > $t ]] || break
      cands[i]=${cands[i - 1]}
    done
    cands[i]=$t
  done
  for jar in "${cands[@]:0:20}"; do
    [[ $jar == /* ]] || jar=/proc/$PID/cwd/$jar
    [[ -e $jar ]] && jar=$(readlink -f -- "$jar" 2>/dev/null || echo "$jar")
    [[ -z $first && -f $jar ]] && first=$jar
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
      echo "jar=${jar:0:200}"
      return 0
    fi
  done
  [[ -n $first ]] || {
    REASON="no Tomcat jar found among the process's open files or command line"
    return 1
  }
  command -v unzip >/dev/null 2>&1 || {
    REASON="unavailable: $first has no version in its name and unzip is not installed to read it as data"
    return 1
  }
  props=$(box 5 "${RUNAS[@]}" unzip -p "$first" org/apache/catalina/util/ServerInfo.properties 2>/dev/null | head -c 8192 | tr -d '\r')
  v=$(printf '%s\n' "$props" | sed -n -e 's|^server\.info=.*Tomcat/\([0-9][0-9A-Za-z.-]*\).*$|\1|p' | head -n 1)
  [[ -z $v ]] && v=$(printf '%s\n' "$props" | sed -n -e 's/^server\.number=\([0-9][0-9A-Za-z.-]*\).*$/\1/p' | head -n 1)
  src=properties
  if [[ -z $v ]]; then
    props=$(box 5 "${RUNAS[@]}" unzip -p "$first" META-INF/MANIFEST.MF 2>/dev/null | head -c 65536 | tr -d '\r')
    if printf '%s\n' "$props" | grep -qiE '^(Implementation-Title|Bundle-Name): .*tomcat'; then
      v=$(printf '%s\n' "$props" | sed -n -e 's/^\(Implementation-Version\|Bundle-Version\): *\([0-9][0-9A-Za-z.-]*\).*$/\2/p' | head -n 1)
    fi
    src=manifest
  fi
  v=$(printf '%s' "$v" | cut -c1-40)
  if [[ $v =~ ^[0-9][0-9A-Za-z.-]*$ ]]; then
    echo "version=$v"
    echo "source=$src"
    echo "jar=${first:0:200}"
    return 0
  fi
  REASON="unavailable: $first has no version in its name, ServerInfo.properties or manifest"
  return 1
}

# Disk space where the service writes: df of the filesystems of its log (SSM_logPath, stdout/stderr when
# regular files), java.io.tmpdir and working folder; at >= 90 % used (or no inode left) the top space users
# of the fullest one (du -x, depth 2, time-boxed). Read-only; du follows no symlink.
collect_disk() {
  local -a p=() r=() args=() rows=()
  local a f td=/tmp u=0 m="" x iu
  [[ -f $LOG_PATH ]] && p+=("${LOG_PATH%/*}") && r+=(log)
  if [[ -n $PID ]]; then
    for f in 1 2; do
      a=${LINK[$f]:-}
      [[ $a == /* && -f $a ]] && p+=("${a%/*}") && r+=(log) && break
    done
    mapfile -d '' -t args <"/proc/$PID/cmdline" 2>/dev/null
    for a in "${args[@]}"; do [[ $a == -Djava.io.tmpdir=* ]] && td=${a#-Djava.io.tmpdir=}; done
    [[ $td == /* ]] || td=/tmp
    a=${LINK[cwd]:-}
    [[ $a == /* ]] && p+=("$a") && r+=(cwd)
  fi
  p+=("$td") && r+=(tmp)
  # One df for the sizes and one for the inodes of every folder (a row per folder, in order); a folder df
  # cannot read leaves its row out, so the rows are trusted only when each folder has one.
  for f in "${!p[@]}"; do [[ -d ${p[f]} ]] || unset 'p[f]' 'r[f]'; done
  p=("${p[@]}") && r=("${r[@]}")
  ((${#p[@]} > 0)) || return 0
  box 5 df -P -k -- "${p[@]}" >"$W/.b.df-k" 2>/dev/null
  box 5 df -P -i -- "${p[@]}" >"$W/.b.df-i" 2>/dev/null
  mapfile -t rows < <(awk 'FNR == 1 { next } FNR == NR { k[FNR] = $0; next } { i[FNR] = $0 }
    END { for (n = 2; n in k; n++) { split(k[n], a); split(i[n], b); sub(/%/, "", a[5]); sub(/%/, "", b[5])
      print (a[6] == "" ? "" : a[5] + 0 " " a[4] + 0 " " a[2] + 0 " " (b[5] ~ /^[0-9]+$/ ? b[5] : "-") " " a[6]) } }' "$W/.b.df-k" "$W/.b.df-i")
  ((${#rows[@]} == ${#p[@]})) || rows=()
  for f in "${!rows[@]}"; do
    a=${rows[f]}
    [[ -n $a ]] || continue
    printf 'fs=%s %s ' "${r[f]}" "$a"
    oneline 200 <<<"${p[f]}"
    read -r x _ _ iu _ <<<"$a"
    [[ $iu == - ]] && iu=0
    ((iu > x)) && x=$iu
    ((x >= u)) && u=$x && m=${a#* * * * }
  done
  ((u >= 90)) || return 0
  echo "duRoot=$m"
  box 5 du -x -a -k -d 2 -- "$m" 2>/dev/null | sort -rn | head -n 11 >"$W/du.txt"
  ((PIPESTATUS[0] == 124)) && echo "duTimedOut=true"
  awk -F '\t' '{ print "top=" $1 " " substr($2, 1, 220) }' "$W/du.txt"
}

# Why the process is gone (only when nothing runs on the port): systemd's record of the unit (SSM_service),
# the newest kernel OOM kill of a JVM, the newest hs_err_pid*.log where a JVM writes one (the unit's working
# folder or -XX:ErrorFile, the log's folder, /tmp, /var/tmp, /). Crash files are read as data, 60 lines.
collect_exit() {
  [[ -z $PID ]] || {
    REASON="pid $PID runs: nothing to explain"
    return 1
  }
  local up k v wd="" ef="" f
  local -a dirs=()
  read -r up _ </proc/uptime
  up=${up%.*}
  awk '/^MemTotal:/ { print "memTotalKb=" $2 }' /proc/meminfo
  if [[ -z $SERVICE ]]; then
    echo "unitWhy=no systemd unit given (--service): only systemd keeps a process's exit status"
  elif box 5 systemctl show -p ActiveState,Result,ExecMainCode,ExecMainStatus,ExecMainPID,ExecMainExitTimestampMonotonic,WorkingDirectory,ExecStart -- "$SERVICE" >"$W/systemctl-show.txt" 2>&1 && grep -q '^ExecMainCode=' "$W/systemctl-show.txt"; then
    echo "unit=$SERVICE"
    while IFS='=' read -r k v; do
      case $k in
        ActiveState | Result | ExecMainCode | ExecMainStatus | ExecMainPID) echo "unit.$k=$(oneline 60 <<<"$v")" ;;
        ExecMainExitTimestampMonotonic) [[ $v =~ ^[1-9][0-9]*$ ]] && echo "unit.ageSeconds=$((up - v / 1000000))" ;;
        WorkingDirectory) wd=${v#[-!]} && echo "unit.WorkingDirectory=$(oneline 200 <<<"$wd")" ;;
        ExecStart) [[ $v =~ -XX:ErrorFile=([^ \;]+) ]] && ef=${BASH_REMATCH[1]%/*} ;;
      esac
    done <"$W/systemctl-show.txt"
  else
    echo "unitWhy=systemctl show $SERVICE failed: $(oneline 200 <"$W/systemctl-show.txt")"
  fi
  { box 5 dmesg || box 5 journalctl -k -q --no-pager -o short-monotonic; } 2>"$W/dmesg.err" | tail -n 5000 >"$W/kernel-log.txt"
  if [[ -s $W/kernel-log.txt ]]; then
    awk -v up="$up" 'match($0, /^\[ *[0-9]+\.[0-9]+\]/) { t = substr($0, RSTART + 1, RLENGTH - 2) + 0 }
      /memory: usage [0-9]+kB, limit [0-9]+kB/ { l = $0; sub(/.*limit /, "", l); sub(/kB.*/, "", l) }
      /Killed process [0-9]+ \(java\)/ { n++; kt = t; kl = substr($0, 1, 300); kp = $0; sub(/.*Killed process /, "", kp); sub(/ .*/, "", kp)
        r = match($0, /anon-rss:[0-9]+kB/) ? substr($0, RSTART + 9, RLENGTH - 11) : ""
        c = ($0 ~ /Memory cgroup out of memory/) ? "memcg" : "global"; kl2 = (c == "memcg" ? l : ""); l = "" }
      END { print "oomKills=" n + 0; if (n) printf "oom.pid=%s\noom.ageSeconds=%d\noom.constraint=%s\noom.anonRssKb=%s\noom.limitKb=%s\noom.line=%s\n", kp, (up > kt ? up - kt : 0), c, r, kl2, kl }' "$W/kernel-log.txt"
  else
    echo "kernelLogWhy=cannot read the kernel log: $(oneline 200 <"$W/dmesg.err")"
  fi
  [[ $wd == /* ]] && dirs+=("$wd")
  [[ $ef == /* ]] && dirs+=("$ef")
  [[ -n $LOG_PATH ]] && dirs+=("${LOG_PATH%/*}")
  dirs+=(/tmp /var/tmp /)
  printf 'searched=%s\n' "${dirs[@]}"
  f=$(box 5 find "${dirs[@]}" -maxdepth 1 -type f -name 'hs_err_pid*.log' -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 1)
  [[ -n $f ]] || return 0
  k=${f%%.*}
  f=${f#* }
  echo "crash.path=$(oneline 200 <<<"$f")"
  echo "crash.ageSeconds=$((EPOCHSECONDS > k ? EPOCHSECONDS - k : 0))"
  [[ $f =~ hs_err_pid([0-9]+)\.log$ ]] && echo "crash.pid=${BASH_REMATCH[1]}"
  head -c 16384 -- "$f" 2>/dev/null | head -n 60 >"$W/hs-err-head.txt"
  awk '/^# +(SIG[A-Z]+ |Internal Error|Out of Memory Error|There is insufficient memory)/ && !e { e = $0 }
    /^# +fatal error:/ && !fe { fe = $0 } p == 1 { fr = $0; p = 2 } /^# Problematic frame:/ { p = 1 }
    END { sub(/^# +/, "", e); sub(/^# +/, "", fe); sub(/^# +/, "", fr); if (fe != "") e = e " " fe; gsub(/  +/, " ", e); gsub(/  +/, " ", fr); if (e != "") print "crash.error=" substr(e, 1, 240); if (fr != "") print "crash.frame=" substr(fr, 1, 200) }' "$W/hs-err-head.txt"
}

# The phase's raw files: redacted, cut to the phase and incident budgets (each cut recorded), then
# renamed from the mktemp folder to SSM_rawDir. Regular files only; nothing is followed.
collect_raw() {
  [[ -n $RAW_DIR ]] || {
    REASON="no raw folder (SSM_rawDir is empty)"
    return 1
  }
  local f n size kept used=0 budget left files=() total=0 i count
  # Other phases of this incident already on the host count against the incident budget.
  used=$(find "$INCIDENT_DIR" -type f ! -path "$W/*" -printf '%s\n' 2>/dev/null |
    awk '{ s += $1 } END { print s + 0 }')
  budget=$RAW_PHASE_MAX_BYTES
  ((RAW_INCIDENT_MAX_BYTES - used < budget)) && budget=$((RAW_INCIDENT_MAX_BYTES - used))
  ((budget < 0)) && budget=0
  mapfile -t -d '' files < <(find "$W" -mindepth 1 -maxdepth 1 -type f ! -name '.*' -print0)
  n=$(redact_files "${files[@]}") || echo "redactionFailed=raw files emptied"
  REDACTIONS_RAW=$((REDACTIONS_RAW + ${n:-0}))
  # Smallest first, each file gets at most an equal share of what is left: small files stay whole.
  mapfile -t files < <(find "$W" -mindepth 1 -maxdepth 1 -type f ! -name '.*' -printf '%s %f\n' | sort -n)
  count=${#files[@]}
  left=$budget
  for ((i = 0; i < count; i++)); do
    size=${files[i]%% *}
    f=${files[i]#* }
    kept=$((left / (count - i)))
    ((size < kept)) && kept=$size
    if ((kept < size)); then
      truncate -s "$kept" -- "$W/$f"
      echo "truncated=$f $size $kept"
    fi
    left=$((left - kept))
    total=$((total + kept))
  done
  # The section's own scratch files go along (section() reads them back through $W).
  place_raw || {
    REASON="cannot move $W to $RAW_DIR"
    return 1
  }
  W=$RAW_DIR
  echo "dir=$RAW_DIR"
  echo "files=$count"
  echo "bytes=$total"
  echo "phaseMaxBytes=$RAW_PHASE_MAX_BYTES"
  echo "incidentMaxBytes=$RAW_INCIDENT_MAX_BYTES"
  echo "incidentBytesBefore=$used"
  echo "redactions=$REDACTIONS_RAW"
  echo "retentionDays=$RAW_RETENTION_DAYS"
  echo "retentionRemoved=$RETENTION_REMOVED"
}

# ---------------------------------------------------------------------------------------------
# Run: heap sample 1 and the time boxes, then everything at once; sections printed in order.
# ---------------------------------------------------------------------------------------------
START_S=$EPOCHSECONDS
# The probe's user name from /etc/passwd (no process); id -un only for a user not listed there.
PROBE_USER=""
while IFS=: read -r n _ u _; do [[ $u == "$EUID" ]] && PROBE_USER=$n && break; done </etc/passwd
[[ -n $PROBE_USER ]] || PROBE_USER=$(id -un 2>/dev/null)
emit_section meta collect_meta
mark_cpu
# The heap's first sample (an od and two awks, 10-40 ms) runs while the jobs below are started; the attach
# waits for it (attach_budget reads it).
PERF_BG=""
if [[ -n $PID && $IS_JAVA == true ]] && perf_file 2>/dev/null; then
  {
    perf_sample 1
    now_ms
    echo "$NOW_MS" >"$W/.b.perf-t1"
  } >/dev/null 2>&1 </dev/null &
  PERF_BG=$!
fi
# Each job is a fork of this shell (tens of ms on a loaded VM): two short ones that do not grow with the
# connections share one (logs, disk), and the Tomcat version reads the open files fds lists.
start_section sockets collect_sockets
{
  run_section logs collect_logs
  run_section disk collect_disk
} >/dev/null 2>&1 </dev/null &
JOBS[logs]=$!
JOBS[disk]=$!
# The network section and the Tomcat version read the list of open files the fds section makes.
{
  run_section fds collect_fds
  run_section network collect_network
  run_section tomcat collect_tomcat
} >/dev/null 2>&1 </dev/null &
JOBS[fds]=$!
JOBS[network]=$!
JOBS[tomcat]=$!
if [[ -n $PID && $IS_JAVA == true ]]; then
  if [[ -n $PERF_BG ]]; then
    wait "$PERF_BG" 2>/dev/null
    read -r PERF_T1_MS 2>/dev/null <"$W/.b.perf-t1" || PERF_T1_MS=""
    perf_sampled 1 2>/dev/null
  fi
  now_ms
  [[ $PERF_T1_MS =~ ^[0-9]+$ ]] || PERF_T1_MS=$NOW_MS
  attach_budget
fi
start_attach
# The CPU sample ends here, CPU_SAMPLE_MS after it began; the histogram's full GC waits for it (histogram_gate).
run_section process collect_process

# Quick ones (builtins, a process or two) run here, while the jobs run: a job costs a fork of this shell.
emit_section host collect_host
emit_section listener collect_listener
emit_section fds
emit_section sockets
emit_section socketSummary collect_socket_summary
emit_section network
emit_section fileNr collect_file_nr
emit_section logs
emit_section heap collect_heap
emit_section process
emit_section tomcat
emit_section disk
emit_section exit collect_exit
emit_section classHistogram collect_histogram
emit_section threads collect_threads
emit_section health collect_health

# When each section ran (ms since the start, and its duration), for the end section.
SECTION_TIMES=()
for f in "$W"/.t.*; do [[ -f $f ]] && read -r -a t <"$f" && SECTION_TIMES+=("section=${t[*]}"); done
# The sections' scratch files (the dot files) do not go to the raw folder.
rm -f -- "$W"/.[best].*
# Always, whatever time is left: the raw files must be redacted and put in place.
DEADLINE=$((DEADLINE + 60))
emit_section raw collect_raw
[[ $W == "$RAW_DIR" ]] && RAW_FINISHED=true
[[ -f $W/.t.raw ]] && read -r -a t <"$W/.t.raw" && SECTION_TIMES+=("section=${t[*]}")
{
  echo "==> end status=ok"
  now_ms
  echo "durationMs=$NOW_MS"
  # The attach time boxes and why they were short (evidence in hand: fds at the limit, a full heap).
  echo "attachBoxSeconds=$ATTACH_BOX_S"
  printf 'attachBoxWhy='; oneline 300 <<<"$ATTACH_WHY${ATTACH_SKIP:+: the attach was not attempted}"
  echo "timedOut=$(
    IFS=,
    echo "${TIMED_OUT[*]}"
  )"
  # section=NAME START_MS DURATION_MS, for each section run through run_section (docs/benchmarks.md).
  printf '%s\n' "${SECTION_TIMES[@]}"
} >"$W/.s.end"
emit_section end
rm -f -- "$W/.s.raw" "$W/.s.end" "$W/.b.raw" "$W/.e.raw" "$W/.t.raw"
echo "redactionRules=$REDACTION_RULES"
exit 0
