#!/usr/bin/env bash
# runbook-autopilot action: heap-dump
# Writes a heap dump of the diagnosed JVM (`jcmd <pid> GC.heap_dump <file>`: live objects, a full GC
# first) before the ladder restarts it, so what filled the heap can be read afterwards.
#
# Safety (docs/security.md, "Heap dumps"):
# - The process dumped is the process diagnosed: SSM_pid and SSM_startTicks come from the saved evidence
#   and are re-checked here (field 22 of /proc/PID/stat); PID 1, this script's ancestors, a process that
#   is not a JVM, or one in another mount namespace (a container: it would write into its own filesystem)
#   are refused (result=refused-target, exit 3).
# - jcmd runs as the JVM's user (the attach only works as that user, and a tool of the target's own JDK
#   must never run with root's rights); for a JVM running as root, only a jcmd from a root-owned path
#   nobody else can write.
# - The JVM's user writes the file, so it needs a folder it can write: the base SSM_dumpDir is root's
#   (0711: others may pass through, not list), every folder above it root's and not writable by others
#   (a root-owned sticky /var/tmp excepted), none a symlink. Each dump gets a new folder (mkdir, never an
#   existing name) owned by the JVM's user, 0700. Once jcmd is done the folder is given back to root first
#   (then the user can no longer change its entries), the dump must be a regular file with one link (no
#   symlink, no hard link to another file), becomes root's, 0600; anything else in the folder is removed
#   without following it. The dump holds what the heap held (secrets too): only root can read it.
# - Size: refused when the free space at the base is below SSM_freeSpaceFactor x the heap in use
#   (GC.heap_info, else the process's resident memory, an upper bound). Folders older than 7 days go.
#
# Inputs (environment; every value re-validated with the SSM document's pattern):
#   SSM_pid, SSM_startTicks   the diagnosed JVM (both required)
#   SSM_dumpDir               base folder (default /var/tmp/runbook-autopilot-heap-dumps)
#   SSM_freeSpaceFactor       e.g. 1.2
#   SSM_timeoutSeconds        time box of the dump
# Output: key=value lines; result=ok | failed | refused-space | refused-target | invalid-input.
# Exit: 0 when it ran (result= says what happened), 2 invalid input, 3 refused target, 4 bash older than 5.
# The shared preamble (runbooks/lib/action-preamble.sh, inlined in place of the include line wherever the
# script is sent): the bash >= 5 guard (exit 4), fail (exit 2), refuse (exit 3), stat_field, verify_target.
# shellcheck disable=SC2034 # read by the preamble included below
RUNBOOK_ACTION=heap-dump
# shellcheck source=SCRIPTDIR/../lib/action-preamble.sh
. "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
set -o pipefail
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
RETENTION_DAYS=7

failed() {
  echo "result=${2:-failed}"
  echo "error=$1"
  exit 0
}
pid=${SSM_pid:-}
start_ticks=${SSM_startTicks:-}
base=${SSM_dumpDir:-/var/tmp/runbook-autopilot-heap-dumps}
factor=${SSM_freeSpaceFactor:-1.2}
box_s=${SSM_timeoutSeconds:-600}
[[ $pid =~ ^[1-9][0-9]{0,9}$ ]] || fail "SSM_pid must be the diagnosed process id (digits), got '${pid:0:40}'"
[[ $start_ticks =~ ^[0-9]{1,20}$ ]] || fail "SSM_startTicks must be the diagnosed process's start time in clock ticks, got '${start_ticks:0:40}'"
[[ $base =~ ^/[A-Za-z0-9._/-]{1,200}$ && /$base/ != */../* && /$base/ != */./* ]] ||
  fail "SSM_dumpDir must be an absolute path of [A-Za-z0-9._/-] without . or .. components, got '${base:0:60}'"
[[ $factor =~ ^[0-9]{1,2}(\.[0-9])?$ ]] || fail "SSM_freeSpaceFactor must be a number like 1.2, got '${factor:0:40}'"
[[ $box_s =~ ^[0-9]{1,4}$ ]] || fail "SSM_timeoutSeconds must be whole seconds, got '${box_s:0:40}'"
box_s=$((10#$box_s))
base=${base%/}
# The factor in tenths, for integer arithmetic.
factor10=$((10#${factor%.*} * 10 + 10#$([[ $factor == *.* ]] && echo "${factor#*.}" || echo 0)))
((factor10 >= 10)) || fail "SSM_freeSpaceFactor must be at least 1.0, got '$factor'"

# The process acted on is the process verified (runbooks/lib/action-preamble.sh).
verify_target "$pid" "$start_ticks" "it is never dumped"
exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
comm=$(<"/proc/$pid/comm")
[[ $exe == */java || $comm == java ]] || refuse "PID $pid is not a JVM ($comm)"
# jcmd's first attach sends SIGQUIT, which ends a JVM that does not catch it (-Xrs, once a /tmp cleaner
# removed the listener's socket): such a JVM is never attached.
# shellcheck source=SCRIPTDIR/../lib/hotspot-attach.sh
. "${0%"${0##*/}"}../lib/hotspot-attach.sh"  # runbook:include lib/hotspot-attach.sh
hotspot_attach_safe "$pid" || refuse "$ATTACH_UNSAFE_WHY"
[[ $(stat -L -c %d:%i "/proc/$pid/root" 2>/dev/null) == $(stat -c %d:%i / 2>/dev/null) ]] ||
  refuse "PID $pid runs in another mount namespace (a container): it would write the dump into its own filesystem"

# find names the uid itself when it has no passwd entry (a container's user); stat would say UNKNOWN.
read -r juid jgid juser < <(find "/proc/$pid" -maxdepth 0 -printf '%U %G %u\n' 2>/dev/null)
[[ $juid =~ ^[0-9]+$ && $jgid =~ ^[0-9]+$ ]] || refuse "PID $pid is gone, or its owner cannot be read"
echo "pid=$pid"
echo "jvmUser=$juser"
# shellcheck source=SCRIPTDIR/../lib/trusted-path.sh
. "${0%"${0##*/}"}../lib/trusted-path.sh"  # runbook:include lib/trusted-path.sh
# jcmd as the JVM's user (RUNAS), chosen as the probe chooses its tools (pick_tool): the JVM's own JDK or
# the first on PATH, and for a JVM of root only from a root-owned path.
RUNAS=()
if [[ $juid != "$EUID" ]]; then
  ((EUID == 0)) || refuse "the JVM runs as $juser (uid $juid): only root or that user can dump it"
  runas_for "$juid" "$jgid" "$juser"
fi
# shellcheck disable=SC2034 # JVM_UID is read by pick_tool (trusted-path.sh)
JVM_UID=$juid
jdk_bin_of "$exe"
pick_tool jcmd || failed "no usable jcmd: $TOOL_WHY"
jcmd=$TOOL

# The base folder and every folder above it.
own_or_root() { [[ $1 == 0 || $1 == "$EUID" ]]; }
cur=""
IFS=/ read -ra comps <<<"${base#/}"
for comp in "${comps[@]}"; do
  cur+="/$comp"
  if [[ -L $cur ]]; then
    failed "$cur is a symbolic link: the dump folder is never reached through one"
  elif [[ -d $cur ]]; then
    read -r u m < <(stat -c '%u %a' -- "$cur")
    own_or_root "$u" || failed "$cur is owned by uid $u (neither root nor uid $EUID)"
    if [[ $cur == "$base" ]]; then
      [[ $u == "$EUID" ]] || failed "$cur is owned by uid $u, not by uid $EUID"
    elif (((8#$m & 8#022) != 0)) && ! [[ $u == 0 && $((8#$m & 8#1000)) != 0 ]]; then
      failed "$cur is writable by group or others (mode $m)"
    fi
  elif [[ -e $cur ]]; then
    failed "$cur is not a folder"
  else
    mkdir -m 0700 -- "$cur" 2>/dev/null || failed "cannot create $cur"
  fi
done
chmod 0711 -- "$base" || failed "cannot set the mode of $base"
# Retention: dump folders untouched for RETENTION_DAYS days go (rm never follows a link).
find "$base" -mindepth 1 -maxdepth 1 -mtime +"$((RETENTION_DAYS - 1))" -exec rm -rf -- {} + 2>/dev/null

# The heap in use: GC.heap_info ("total NK, used NK" lines of the heap's generations), else the
# resident memory (an upper bound that needs no attach).
used=""
from=""
info=$(timeout -k 2 15 "${RUNAS[@]}" "$jcmd" "$pid" GC.heap_info 2>&1 | head -c 65536)
kb=$(awk '/total [0-9]+K, used [0-9]+K/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K.*/, "", v); s += v } } END { if (s > 0) print s }' <<<"$info")
if [[ $kb =~ ^[0-9]+$ ]]; then
  used=$((kb * 1024)) from=GC.heap_info
else
  kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  [[ $kb =~ ^[0-9]+$ ]] || failed "cannot tell the heap in use: GC.heap_info gave nothing usable and /proc/$pid/status has no VmRSS"
  used=$((kb * 1024)) from=VmRSS
fi
free=$(df -B1 --output=avail -- "$base" 2>/dev/null | tail -n 1 | tr -d ' ')
[[ $free =~ ^[0-9]+$ ]] || failed "cannot read the free space at $base"
need=$((used * factor10 / 10))
echo "heapUsedBytes=$used"
echo "heapUsedFrom=$from"
echo "freeBytes=$free"
echo "neededBytes=$need"
((free >= need)) || failed "only $free bytes free at $base, below ${factor} x the $used bytes of heap in use ($from): no dump" refused-space

# A new folder per dump, the JVM's user's while it writes.
dir="$base/$pid-$start_ticks-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -m 0700 -- "$dir" 2>/dev/null || failed "cannot create $dir (it exists already?)"
((${#RUNAS[@]} == 0)) || chown -h "$juid:$jgid" -- "$dir" || failed "cannot hand $dir to $juser"
file="$dir/heap.hprof"
echo "file=$file"
t0=$EPOCHSECONDS
timeout -k 5 "$box_s" "${RUNAS[@]}" "$jcmd" "$pid" GC.heap_dump "$file" >"$base/.jcmd-$$.out" 2>&1
rc=$?
out=$(head -c 4096 "$base/.jcmd-$$.out" | tr '\n\r' '  ' | cut -c1-300)
rm -f -- "$base/.jcmd-$$.out"
echo "seconds=$((EPOCHSECONDS - t0))"
# Back to root before anything in it is looked at: from now on the user cannot change its entries.
{ chown -h "$EUID:$(id -g)" -- "$dir" && chmod 0700 -- "$dir"; } || failed "cannot take $dir back from $juser"
for e in "$dir"/* "$dir"/.[!.]*; do
  [[ -e $e || -L $e ]] && [[ $e != "$file" ]] && rm -rf -- "$e"
done
if [[ -L $file || ! -f $file ]]; then
  rm -rf -- "$file"
  rmdir -- "$dir" 2>/dev/null
  ((rc == 124 || rc == 137)) && failed "jcmd GC.heap_dump did not finish within ${box_s}s"
  failed "jcmd GC.heap_dump failed (exit $rc): ${out:-no output}"
fi
[[ $(stat -c %h -- "$file") == 1 ]] || {
  rm -f -- "$file"
  failed "the dump had more than one link: removed"
}
{ chown -h "$EUID:$(id -g)" -- "$file" && chmod 0600 -- "$file"; } || failed "cannot make $file root-only"
echo "bytes=$(stat -c %s -- "$file")"
((rc == 0)) || failed "jcmd GC.heap_dump exited $rc (the dump may be incomplete: $file): ${out:-no output}"
echo "result=ok"
