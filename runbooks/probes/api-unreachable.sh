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
[[ -z $HEALTH_PATH ]] && HEALTH_PATH=/health
[[ -z $TIMEOUT_S ]] && TIMEOUT_S=30
[[ -z $IDLE_MS ]] && IDLE_MS=120000
[[ -z $HISTO_MODE ]] && HISTO_MODE=live

{ [[ $PORT =~ ^[0-9]{1,5}$ ]] && ((10#$PORT >= 1 && 10#$PORT <= 65535)); } ||
  input_error "SSM_port must be a TCP port 1-65535 (got '${PORT:0:40}')"
PORT=$((10#$PORT))
[[ $PID_IN =~ ^([1-9][0-9]{0,9})?$ ]] || input_error "SSM_pid must be empty or a process id of digits (got '${PID_IN:0:40}')"
[[ $HEALTH_PATH =~ ^/[A-Za-z0-9._~/-]{0,200}$ ]] ||
  input_error "SSM_healthPath must match ^/[A-Za-z0-9._~/-]*\$ (got '${HEALTH_PATH:0:60}')"
[[ $LOG_PATH =~ ^(/[A-Za-z0-9._/-]{1,300})?$ ]] ||
  input_error "SSM_logPath must be empty or an absolute path of [A-Za-z0-9._/-] (got '${LOG_PATH:0:60}')"
# Raw folders may contain spaces (a local `runbook run --out "/tmp/my dir"`; every use below is quoted), never
# another blank, a control character, a relative path or a . or .. component.
RAW_PATH_RE='^(/[A-Za-z0-9._/ -]{1,300})?$'
[[ $RAW_DIR =~ $RAW_PATH_RE ]] ||
  input_error "SSM_rawDir must be empty or an absolute path of [A-Za-z0-9._/ -] (got '${RAW_DIR:0:60}')"
[[ $RAW_BASE =~ $RAW_PATH_RE ]] ||
  input_error "SSM_rawBase must be empty or an absolute path of [A-Za-z0-9._/ -] (got '${RAW_BASE:0:60}')"
[[ -z $RAW_BASE || ($RAW_DIR == "$RAW_BASE"/?* && $RAW_BASE != */) ]] ||
  input_error "SSM_rawDir must be a folder under SSM_rawBase '$RAW_BASE' (got '${RAW_DIR:0:60}')"
[[ /$RAW_DIR/ != */../* && /$RAW_DIR/ != */./* && /$RAW_BASE/ != */../* && /$RAW_BASE/ != */./* ]] ||
  input_error "SSM_rawDir and SSM_rawBase must not contain . or .. components"
[[ $REDACT_B64 != *[!A-Za-z0-9+/=]* && ${#REDACT_B64} -le 16000 ]] || input_error "SSM_redactPatterns must be base64 (got '${REDACT_B64:0:40}')"
{ [[ $TIMEOUT_S =~ ^[0-9]{1,4}$ ]] && ((10#$TIMEOUT_S >= 5 && 10#$TIMEOUT_S <= 3600)); } ||
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
# returns 0, or sets REASON and returns non-zero. Prints the section, cut to SECTION_MAX_CHARS and
# redacted (emit).
section() {
  local name=$1 fn=$2 rc
  REASON=""
  : >"$W/.body"
  if (($(remaining) <= 0)); then
    echo "==> $name status=unavailable reason=timed out: probe time box of ${TIMEOUT_S}s exhausted before this section" >"$W/.out"
    emit
    TIMED_OUT+=("$name")
    return
  fi
  "$fn" >"$W/.body" 2>"$W/.err"
  rc=$?
  if ((rc == 0)); then
    {
      echo "==> $name status=ok"
      head -c "$SECTION_MAX_CHARS" "$W/.body"
      [[ $(wc -c <"$W/.body") -gt $SECTION_MAX_CHARS ]] && echo && echo "truncated=true"
    } >"$W/.out"
    emit
  else
    ((rc == 124)) && [[ -z $REASON ]] && REASON="timed out"
    [[ -z $REASON ]] && REASON=$(oneline 300 <"$W/.err")
    [[ -z $REASON ]] && REASON="failed with exit code $rc"
    [[ $REASON == timed\ out* ]] && TIMED_OUT+=("$name")
    echo "==> $name status=unavailable reason=$(printf '%s' "$REASON" | oneline 400)" >"$W/.out"
    emit
  fi
}

# emit: prints $W/.out (in this shell, with builtins: no process per section). Redaction of stdout is
# the single sed filter set up by start_redaction.
emit() {
  local a=""
  IFS= read -r -d '' a <"$W/.out"
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
      # shellcheck disable=SC2016 # expanded by the user's sh, not here: runs the tool with its arguments
      RUNAS=(su -s /bin/sh "$JVM_USER" -c 'exec "$0" "$@"')
    fi
  fi
fi
# untrusted_reason FILE: empty when FILE, symlinks resolved, and every folder above it are owned by root
# and not writable by group or others (nobody but root can change what runs); else why not.
untrusted_reason() {
  local p st
  p=$(readlink -f -- "$1" 2>/dev/null)
  [[ -n $p ]] || {
    echo "$1 cannot be resolved"
    return
  }
  while :; do
    st=$(stat -c '%u %a' -- "$p" 2>/dev/null) || {
      echo "cannot stat $p"
      return
    }
    if [[ ${st% *} != 0 ]]; then
      echo "$p is owned by uid ${st% *}, not root"
      return
    fi
    if (((8#${st#* } & 8#022) != 0)); then
      echo "$p is writable by group or others (mode ${st#* })"
      return
    fi
    [[ $p == / ]] && return
    p=$(dirname -- "$p")
  done
}
# pick_tool NAME: sets TOOL to the JDK tool to run, or TOOL_WHY and returns 1. A tool from the target's
# own JDK runs only as the JVM's user (RUNAS, or a probe that already is that user); a tool that would
# run as another user (root) must come from a root-owned path nobody else can write (untrusted_reason),
# so nothing the target's user can change ever runs with the probe's rights. Symlinks are resolved and
# the resolved file is what runs.
pick_tool() {
  local c why="" cands=()
  TOOL=""
  TOOL_WHY=""
  [[ -n $JDK_BIN && -x $JDK_BIN$1 ]] && cands+=("$JDK_BIN$1")
  command -v "$1" >/dev/null 2>&1 && cands+=("$(command -v "$1")")
  if ((${#cands[@]} == 0)); then
    TOOL_WHY="$1 not found (no JDK tools on this host: JRE only?)"
    return 1
  fi
  for c in "${cands[@]}"; do
    if [[ ${#RUNAS[@]} -gt 0 || (-n $JVM_UID && $JVM_UID == "$(id -u)" && $JVM_UID != 0) ]]; then
      TOOL=$c
      return 0
    fi
    why=$(untrusted_reason "$c")
    if [[ -z $why ]]; then
      TOOL=$(readlink -f -- "$c")
      return 0
    fi
    TOOL_WHY+="${TOOL_WHY:+; }$1 at $c would run as uid $(id -u) from an untrusted path: $why"
  done
  TOOL_WHY="refused: $TOOL_WHY"
  return 1
}
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
  # Identity for later actions: PID + start time (field 22 of /proc/PID/stat) survives PID reuse.
  echo "startTicks=$start"
  echo "listenerRelation=$(listener_relation)"
}

# How PID relates to the port's LISTEN socket: owner (holds it), launcher-child (its parent holds it,
# PID 1 excepted), none, or unknown (ss hides the owner and /proc/PID/fd is not readable to us).
listener_relation() {
  local owners ppid ino
  grep -q '^LISTEN' "$W/ss-ltnp.txt" || { echo none; return; }
  owners=" $(grep -o 'pid=[0-9]*' "$W/ss-ltnp.txt" | cut -d= -f2 | sort -u | tr '\n' ' ')"
  ppid=$(sed -e 's/^.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{ print $2 }')
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
  pick_tool jstat || {
    REASON=$TOOL_WHY
    return 1
  }
  jstat=$TOOL
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
  # Read as the JVM's user when the probe is root (a planted symlink at the log path reaches only what
  # that user can read); the last LOG_TAIL_MAX_BYTES bytes first, then the last LOG_TAIL_MAX_LINES lines.
  local size
  size=$(box 5 "${RUNAS[@]}" stat -L -c %s -- "$LOG_PATH" 2>/dev/null)
  box 10 "${RUNAS[@]}" tail -c "$LOG_TAIL_MAX_BYTES" -- "$LOG_PATH" 2>"$W/log.err" | tail -n "$LOG_TAIL_MAX_LINES" >"$W/app-log-tail.txt" || {
    REASON=$(tool_reason "tail $LOG_PATH" "$?" "$W/log.err")
    return 1
  }
  echo "path=$LOG_PATH"
  echo "fileBytes=$size"
  echo "tailMaxBytes=$LOG_TAIL_MAX_BYTES"
  echo "tailMaxLines=$LOG_TAIL_MAX_LINES"
  echo "tailBytes=$(wc -c <"$W/app-log-tail.txt")"
  [[ $size =~ ^[0-9]+$ ]] && ((size > LOG_TAIL_MAX_BYTES)) && echo "truncated=log tail cut to the last $LOG_TAIL_MAX_BYTES of $size bytes"
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
  local jcmd_why="" jmap_why=""
  jcmd="" jmap=""
  if pick_tool jcmd; then jcmd=$TOOL; else jcmd_why=$TOOL_WHY; fi
  if pick_tool jmap; then jmap=$TOOL; else jmap_why=$TOOL_WHY; fi
  if [[ $HISTO_MODE == live ]]; then forced=true; else forced=false; fi
  : >"$W/class-histogram.txt"
  rc=1
  if [[ -n $jcmd ]]; then
    tool_name=jcmd
    if [[ $HISTO_MODE == live ]]; then cmd="jcmd $PID GC.class_histogram"; else cmd="jcmd $PID GC.class_histogram -all"; fi
    local all=()
    [[ $HISTO_MODE == all ]] && all=(-all)
    box "$ATTACH_BOX_S" "${RUNAS[@]}" "$jcmd" "-J-Dsun.tools.attach.attachTimeout=${ATTACH_TIMEOUT_MS}" "$PID" GC.class_histogram "${all[@]}" >"$W/jcmd-histogram.txt" 2>&1
    rc=$?
    if ((rc != 0)) || ! grep -q '^Total ' "$W/jcmd-histogram.txt"; then
      jerr=$(tool_reason jcmd "$rc" "$W/jcmd-histogram.txt")
      rc=1
    else
      cp "$W/jcmd-histogram.txt" "$W/class-histogram.txt"
    fi
  else
    jerr=$jcmd_why
  fi
  # jmap uses the same attach mechanism: only worth it when jcmd is missing or failed for
  # another reason than attach (a failed attach costs ~10.5 s each time).
  if ((rc != 0)) && [[ $jerr == *AttachNotSupported* || $jerr == *"Unable to open socket file"* || $jerr == timed\ out* ]]; then
    ATTACH_FAILED="jcmd: $jerr"
  fi
  if ((rc != 0)) && [[ -n $jmap && -z $ATTACH_FAILED ]] && [[ -z $jcmd || $(remaining) -gt 12 ]]; then
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
    REASON=$jerr
    [[ -z $jcmd && -z $jmap ]] && REASON="$jcmd_why; $jmap_why"
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
  pick_tool jstack || {
    REASON=$TOOL_WHY
    return 1
  }
  jstack=$TOOL
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

# The Tomcat version, read as data only: a versioned jar name, else ServerInfo.properties (or the
# manifest) inside the catalina jar, read with `unzip -p` as the JVM's user and cut. Nothing from the
# target is ever executed: the jars and the JDK are the target's, writable by its user.
collect_tomcat() {
  need_pid || return 1
  local jar v="" src="" cands first="" props
  # Versioned jar names the process has open or names on its command line (relative ones are the
  # JVM's, under its working folder).
  cands=$({
    [[ -s $W/fd-targets.txt ]] && awk '{ sub(/^[0-9]+ /, ""); print }' "$W/fd-targets.txt"
    # shellcheck disable=SC2020 # both NUL and ':' (class path separator) become newlines, on purpose
    tr '\0:' '\n\n' <"/proc/$PID/cmdline" 2>/dev/null | tr ' ' '\n'
  } | grep -E '(tomcat[0-9]*-embed-core|tomcat-catalina|catalina)[^/]*\.jar$' | sort -u | head -n 20)
  for jar in $cands; do
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
      echo "jar=$(echo "$jar" | cut -c1-200)"
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
    echo "jar=$(echo "$first" | cut -c1-200)"
    return 0
  fi
  REASON="unavailable: $first has no version in its name, ServerInfo.properties or manifest"
  return 1
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
# Always, whatever time is left: the raw files must be redacted and put in place.
DEADLINE=$((DEADLINE + 60))
section raw collect_raw
[[ $W == "$RAW_DIR" ]] && RAW_FINISHED=true
{
  echo "==> end status=ok"
  echo "durationMs=$(($(date +%s%3N) - START_MS))"
  echo "timedOut=$(
    IFS=,
    echo "${TIMED_OUT[*]}"
  )"
} >"$W/.out"
emit
rm -f -- "$W/.body" "$W/.err" "$W/.out" "$W/.red"
echo "redactionRules=$REDACTION_RULES"
exit 0
