#!/usr/bin/env bash
# runbook-autopilot action: kill-idle-connections
# Destroys ESTABLISHED TCP sockets whose local port is the app port and whose last receive is
# older than a threshold (`ss -K`), so the JVM sees its sessions end and frees their descriptors
# without a restart. Never touches LISTEN sockets or sockets with recent traffic.
#
# The sockets destroyed are those of the process diagnosed: SSM_pid and SSM_startTicks come from the
# saved evidence, and the script re-checks both on the host (field 22 of /proc/PID/stat, as
# restart-service.sh does) before any socket is listed or destroyed. A PID that is gone, reused by
# another process (another start time), PID 1, or one of this script's own ancestors is refused:
# result=refused-target, one line on stderr, exit 3; nothing is destroyed.
#
# Inputs (environment, SSM ENV_VAR interpolation; every value re-validated here):
#   SSM_port            app port (1-65535)
#   SSM_pid             PID of the process that owns the port's listener, from the evidence (required)
#   SSM_startTicks      that PID's start time in clock ticks after boot, from the evidence (required)
#   SSM_minIdleMs       only sockets idle (no byte received) LONGER than this: the probe's rule
#                       (idle > threshold, sockets.idle.overThreshold), so what the probe counts is what
#                       this kills
#   SSM_maxConnections  blast-radius limit: refuse when more candidates than this
#   SSM_dryRun          "true": list the candidates, destroy nothing
#   SSM_limit           optional: destroy only the N most idle candidates (a relief batch that frees
#                       descriptors so the JVM can be attached for its class histogram)
# Output: key=value lines (candidates, killed, remaining, supported, result).
# Exit: 0 when it ran (result= says what happened), 2 invalid input, 3 refused target, 4 bash older than 5.
# `ss -K` prints the sockets and exits 0 even on kernels without CONFIG_INET_DIAG_DESTROY, so the
# script re-lists afterwards and reports result=unsupported when the sockets are still there.
# The shared preamble (runbooks/lib/action-preamble.sh, inlined in place of the include line wherever the
# script is sent): the bash >= 5 guard (exit 4), fail (exit 2), refuse (exit 3), stat_field, verify_target.
# shellcheck disable=SC2034 # read by the preamble included below
RUNBOOK_ACTION=kill-idle-connections
# shellcheck source=SCRIPTDIR/../lib/action-preamble.sh
. "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh

port=${SSM_port:-}
pid=${SSM_pid:-}
start_ticks=${SSM_startTicks:-}
min_idle=${SSM_minIdleMs:-}
max_conn=${SSM_maxConnections:-50000}
dry_run=${SSM_dryRun:-false}
limit=${SSM_limit:-}
# The same patterns as the SSM document's allowedPattern (lib/document-parameters.ts), then ranges; values
# are read in base 10 (10#) so a leading zero is never octal.
{ [[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)); } || fail "SSM_port must be 1-65535, got '${port:0:40}'"
[[ $min_idle =~ ^[0-9]{1,10}$ ]] || fail "SSM_minIdleMs must be a whole number of milliseconds, got '${min_idle:0:40}'"
[[ $max_conn =~ ^[0-9]{1,7}$ ]] || fail "SSM_maxConnections must be a whole number, got '${max_conn:0:40}'"
[[ $dry_run == true || $dry_run == false ]] || fail "SSM_dryRun must be true or false, got '${dry_run:0:40}'"
[[ $limit =~ ^([1-9][0-9]{0,6})?$ ]] || fail "SSM_limit must be empty or a positive whole number, got '${limit:0:40}'"
port=$((10#$port))
min_idle=$((10#$min_idle))
max_conn=$((10#$max_conn))
[[ $pid =~ ^[1-9][0-9]{0,9}$ ]] || fail "SSM_pid must be the diagnosed process id (digits), got '${pid:0:40}'"
[[ $start_ticks =~ ^[0-9]{1,20}$ ]] || fail "SSM_startTicks must be the diagnosed process's start time in clock ticks (digits), got '${start_ticks:0:40}'"
[[ -n $limit ]] && limit=$((10#$limit))

# The process acted on is the process verified (runbooks/lib/action-preamble.sh).
verify_target "$pid" "$start_ticks" "its sockets are never destroyed" "so no socket is destroyed" \
  "the diagnosis does not describe it, no socket is destroyed"
command -v ss >/dev/null || { echo "result=unsupported"; echo "error=ss (iproute2) not installed"; exit 0; }

# Peers ("addr:port", as ss prints them) of ESTABLISHED sockets on the port idle > min_idle (the probe's
# rule: runbooks/probes/api-unreachable.sh collect_sockets, lambdas/core/parsers/ss.ts).
# A socket with no lastrcv field has never received a byte since the kernel started counting:
# it is judged by lastack instead; with neither it is left alone.
list_idle() {
  ss -tanoi state established "( sport = :${port} )" 2>/dev/null | awk -v min="$min_idle" '
    NR == 1 { next }
    /^[^ \t]/ { peer = $4; next }
    {
      idle = -1
      if (match($0, /lastrcv:[0-9]+/)) idle = substr($0, RSTART + 8, RLENGTH - 8) + 0
      else if (match($0, /lastack:[0-9]+/)) idle = substr($0, RSTART + 8, RLENGTH - 8) + 0
      if (peer != "" && idle > min) print idle, peer
      peer = ""
    }' | sort -k1,1nr | awk '{ print $2 }'
}

established_total=$(ss -tan state established "( sport = :${port} )" 2>/dev/null | tail -n +2 | wc -l)
mapfile -t peers < <(list_idle)
candidates=${#peers[@]}
if [[ -n $limit ]] && ((candidates > limit)); then peers=("${peers[@]:0:limit}"); fi
echo "port=${port}"
echo "pid=${pid}"
echo "minIdleMs=${min_idle}"
echo "establishedBefore=${established_total}"
echo "candidates=${candidates}"
echo "selected=${#peers[@]}"

if ((candidates == 0)); then echo "killed=0"; echo "remaining=0"; echo "supported=unknown"; echo "result=nothing-to-do"; exit 0; fi
if ((${#peers[@]} > max_conn)); then
  echo "killed=0"; echo "remaining=${candidates}"; echo "supported=unknown"
  echo "result=refused-blast-radius"; echo "error=${#peers[@]} candidates exceed maxConnections=${max_conn}"; exit 0
fi
if [[ $dry_run == true ]]; then echo "killed=0"; echo "remaining=${candidates}"; echo "supported=unknown"; echo "result=dry-run"; exit 0; fi

# Destroy in batches: one ss -K per batch of peers, each filter naming the exact peer address:port.
batch=()
flush() {
  ((${#batch[@]})) || return 0
  local expr="" p
  for p in "${batch[@]}"; do
    [[ -n $expr ]] && expr+=" or "
    expr+="dst ${p}"
  done
  ss -K state established "( sport = :${port} ) and ( ${expr} )" >/dev/null 2>&1
  batch=()
}
for p in "${peers[@]}"; do
  batch+=("$p")
  ((${#batch[@]} >= 100)) && flush
done
flush

# Verify: which of the candidates are still there?
sleep 0.2
declare -A wanted=()
for p in "${peers[@]}"; do wanted[$p]=1; done
remaining=0
while read -r p; do [[ -n ${wanted[$p]:-} ]] && remaining=$((remaining + 1)); done < <(list_idle)
killed=$((${#peers[@]} - remaining))
echo "killed=${killed}"
echo "remaining=${remaining}"
if ((killed == 0)); then
  echo "supported=no"
  echo "result=unsupported"
  echo "error=ss -K destroyed nothing: kernel without CONFIG_INET_DIAG_DESTROY, or not permitted (needs CAP_NET_ADMIN)"
else
  echo "supported=yes"
  echo "result=ok"
fi
echo "establishedAfter=$(ss -tan state established "( sport = :${port} )" 2>/dev/null | tail -n +2 | wc -l)"
exit 0
