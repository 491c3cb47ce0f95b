#!/usr/bin/env bash
# runbook-autopilot action: delete-rotated-logs (opt-in: no shipped ladder names it; docs/security.md)
# Frees space on a full log filesystem by deleting ROTATED logs of the diagnosed process's log folder,
# oldest first, keeping the newest few. Nothing else, ever:
#   - only the folder of a log the process has open (its live log: the folder is the app's, not one a
#     parameter could point anywhere), entered with `cd -P` and then worked on by bare names, so a folder
#     swapped for a symlink afterwards changes nothing;
#   - only regular files directly in it (find -P: no symlink followed, no subfolder), owned by the JVM's
#     user, named like a rotated log (app.log.3, app.log.3.gz, app.log-20261201[.gz],
#     app.2026-12-01[.N].log[.gz], app.log.gz), that NO process has open (the live log never qualifies);
#   - only while the folder's filesystem is at least SSM_minUsedPercent full (df);
#   - refused when more files qualify than SSM_maxFiles (blast radius).
# The process is the diagnosed one: SSM_pid and SSM_startTicks from the saved evidence, re-checked here
# (PID 1, this script's ancestors, a gone or reused PID are refused: result=refused-target, exit 3).
#
# Inputs (environment, SSM ENV_VAR interpolation; every value re-validated here):
#   SSM_pid, SSM_startTicks  the diagnosed process (required)
#   SSM_logDir               the folder of the log the evidence read (absolute)
#   SSM_keepNewest           rotated files to keep, newest by modification time
#   SSM_minUsedPercent       act only when the filesystem is at least this full
#   SSM_maxFiles             blast-radius limit: refuse when more files qualify
#   SSM_dryRun               "true": list what would go, delete nothing
# Output: key=value lines (candidates, deleted, freedKb, usedPercentBefore/After, skippedOpen,
# skippedOwner, result). Exit: 0 ran, 2 invalid input, 3 refused target, 4 bash older than 5.
# The shared preamble (runbooks/lib/action-preamble.sh, inlined in place of the include line wherever the
# script is sent): the bash >= 5 guard (exit 4), fail (exit 2), refuse (exit 3), stat_field, verify_target.
# shellcheck disable=SC2034 # read by the preamble included below
RUNBOOK_ACTION=delete-rotated-logs
# shellcheck source=SCRIPTDIR/../lib/action-preamble.sh
. "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

pid=${SSM_pid:-}
start_ticks=${SSM_startTicks:-}
dir=${SSM_logDir:-}
keep=${SSM_keepNewest:-}
min_used=${SSM_minUsedPercent:-}
max_files=${SSM_maxFiles:-}
dry_run=${SSM_dryRun:-false}
[[ $pid =~ ^[1-9][0-9]{0,9}$ ]] || fail "SSM_pid must be the diagnosed process id (digits), got '${pid:0:40}'"
[[ $start_ticks =~ ^[0-9]{1,20}$ ]] || fail "SSM_startTicks must be the diagnosed process's start time in clock ticks, got '${start_ticks:0:40}'"
[[ $dir =~ ^/[A-Za-z0-9._/-]{1,300}$ && /$dir/ != */../* && /$dir/ != */./* ]] ||
  fail "SSM_logDir must be an absolute folder of [A-Za-z0-9._/-] without . or .. components, got '${dir:0:60}'"
[[ $keep =~ ^[0-9]{1,4}$ ]] || fail "SSM_keepNewest must be a whole number, got '${keep:0:40}'"
{ [[ $min_used =~ ^[0-9]{1,3}$ ]] && ((10#$min_used <= 100)); } || fail "SSM_minUsedPercent must be 0-100, got '${min_used:0:40}'"
[[ $max_files =~ ^[1-9][0-9]{0,6}$ ]] || fail "SSM_maxFiles must be a positive whole number, got '${max_files:0:40}'"
[[ $dry_run == true || $dry_run == false ]] || fail "SSM_dryRun must be true or false, got '${dry_run:0:40}'"
keep=$((10#$keep))
min_used=$((10#$min_used))

# The process acted on is the process verified (runbooks/lib/action-preamble.sh).
verify_target "$pid" "$start_ticks" "the runbook never acts on it" "nothing is deleted" "nothing is deleted"
uid=$(stat -c %u "/proc/$pid") || refuse "cannot read the owner of PID ${pid}"

# The folder: entered once, then only bare names are used. It must be the folder of a regular file the
# process has open (its live log), compared after symlinks are resolved on both sides.
cd -P -- "$dir" 2>/dev/null || { echo "result=nothing-to-do"; echo "error=no folder $dir"; exit 0; }
real=$(pwd -P)
echo "dir=$real"
live=0
for f in /proc/"$pid"/fd/*; do
  t=$(readlink -f -- "$f" 2>/dev/null) || continue
  [[ $t == "$real"/* && ${t#"$real"/} != */* && -f $t ]] && live=$((live + 1))
done
((live > 0)) || refuse "PID ${pid} has no file open in $real: it is not the process's log folder, nothing is deleted"
# (stat -c %u . is 0 or the service's user on every sane host; a folder others can write is still entered
# safely: names only, no symlink followed, no recursion.)
used() { df -P -k . 2>/dev/null | awk 'NR == 2 { sub(/%/, "", $5); print $5 + 0 }'; }
before=$(used)
echo "usedPercentBefore=${before:-unknown}"
[[ $before =~ ^[0-9]+$ ]] || { echo "result=failed"; echo "error=df cannot read the filesystem of $real"; exit 0; }
if ((before < min_used)); then
  echo "result=nothing-to-do"
  echo "error=the filesystem of $real is ${before}% used, below ${min_used}%: nothing deleted"
  exit 0
fi

# Files any process has open in this folder (the live logs), by name.
declare -A open=()
while IFS= read -r t; do
  [[ ${t#"$real"/} != */* ]] && open[${t#"$real"/}]=1
done < <(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname "$real/*" -printf '%l\n' 2>/dev/null)
ROTATED='(\.log\.[0-9]+(\.gz)?|\.log-[0-9]{8}(\.gz)?|[.-][0-9]{4}-[0-9]{2}-[0-9]{2}(\.[0-9]+)?\.log(\.gz)?|\.log\.gz)$'
cands=()
skipped_open=0
skipped_owner=0
while IFS=$'\t' read -r -d '' mtime size owner name; do
  [[ $name =~ $ROTATED && $name != .* ]] || continue
  if [[ -n ${open[$name]:-} ]]; then
    skipped_open=$((skipped_open + 1))
  elif [[ $owner != "$uid" ]]; then
    skipped_owner=$((skipped_owner + 1))
  else
    cands+=("$mtime"$'\t'"$size"$'\t'"$name")
  fi
done < <(find . -mindepth 1 -maxdepth 1 -type f -printf '%T@\t%s\t%U\t%f\0' 2>/dev/null)
echo "skippedOpen=$skipped_open"
echo "skippedOwner=$skipped_owner"
# Oldest first; the newest `keep` stay.
mapfile -t cands < <(printf '%s\n' "${cands[@]}" | grep -v '^$' | sort -t $'\t' -k1,1n)
n=$((${#cands[@]} - keep))
((n < 0)) && n=0
echo "candidates=${#cands[@]}"
echo "keptNewest=$((${#cands[@]} - n))"
if ((n == 0)); then
  echo "result=nothing-to-do"
  echo "error=no rotated log to delete in $real (live and open files, other owners' files and the newest $keep are kept)"
  exit 0
fi
if ((n > 10#$max_files)); then
  echo "result=refused-blast-radius"
  echo "error=$n rotated logs qualify, more than the limit of $max_files: nothing deleted"
  exit 0
fi
deleted=0
freed=0
for ((i = 0; i < n; i++)); do
  IFS=$'\t' read -r _ size name <<<"${cands[i]}"
  if [[ $dry_run == true ]]; then
    ((i < 20)) && echo "would=$name"
  elif rm -f -- "./$name" 2>/dev/null && [[ ! -e ./$name && ! -L ./$name ]]; then
    deleted=$((deleted + 1))
    freed=$((freed + size / 1024))
    ((deleted <= 20)) && echo "deletedFile=$name"
  fi
done
echo "deleted=$deleted"
echo "freedKb=$freed"
echo "usedPercentAfter=$(used)"
if [[ $dry_run == true ]]; then echo "result=dry-run"; else echo "result=ok"; fi
