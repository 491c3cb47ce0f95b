# shellcheck shell=bash
# runbook-autopilot: the shared preamble of every action script (runbooks/actions/*.sh).
# An action sets RUNBOOK_ACTION=<its name> and then includes this file with
#   . "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
# (${0%"${0##*/}"} is the script's folder with a trailing slash, or nothing: no fork, no dirname needed.)
# The SSM documents and the local runner never source it: they run the action's ASSEMBLED text, this
# file's content in place of that line (lambdas/core/runbook/script-include.ts, docs/contracts.md,
# "Runbook scripts: includes"). Only a direct `bash runbooks/actions/x.sh` (tests, a developer) sources it.
#
# bash >= 5, the supported hosts' floor (docs/security.md). POSIX sh up to `esac`, and first in the
# assembled text: run by sh (SSM's aws:runShellScript may ignore the shebang) the script re-runs itself
# with bash; an older bash is refused: result=unsupported-shell, one line on stderr, exit 4.
if [ -z "${BASH_VERSION:-}" ] && [ -f "$0" ] && command -v bash >/dev/null 2>&1; then exec bash "$0" "$@"; fi
case ${BASH_VERSION:-} in [5-9].* | [1-9][0-9]*) ;; *)
  echo "result=unsupported-shell"
  echo "error=needs bash >= 5, this is ${BASH_VERSION:-not bash}"
  echo "${RUNBOOK_ACTION:-action}: needs bash >= 5, this is ${BASH_VERSION:-not bash}" >&2
  exit 4 ;;
esac
set -u
export LC_ALL=C

# Bad input: result=invalid-input, exit 2, before anything is touched.
fail() {
  echo "result=invalid-input"
  echo "error=$1"
  exit 2
}
# Not the diagnosed process (or one never acted on): result=refused-target, one line on stderr, exit 3.
refuse() {
  echo "result=refused-target"
  echo "error=$1"
  echo "${RUNBOOK_ACTION:-action}: refused: $1" >&2
  exit 3
}
# Field N of /proc/PID/stat (3 = state, 4 = ppid, 22 = starttime), read without forking a tool;
# the command name in field 2 may hold spaces and parentheses, so fields are counted after its last ")".
stat_field() {
  local line f
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
  read -ra f <<<"${line##*) }"
  echo "${f[$(($2 - 3))]:-}"
}
# Alive = exists and is not a zombie (a killed process whose parent has not reaped it yet is gone for us).
alive() {
  local st
  st=$(stat_field "$1" 3)
  [[ -n $st && $st != Z && $st != X ]]
}
# PID and start time name one process: a PID reused by another process has another start time.
same_process() { [[ $(stat_field "$1" 22) == "$2" ]]; }

# verify_target PID START_TICKS NEVER [GONE] [REUSED]
# The process acted on is the process diagnosed: PID and start time come from the saved evidence and are
# re-checked here, before anything is touched. Refused (refuse: exit 3): PID 1 and this script's own
# process or any of its ancestors ("...: NEVER", e.g. "it is never stopped"); a PID that is gone or a
# zombie ("..., GONE", e.g. "so nothing is restarted"); a PID whose start time differs, reused by another
# process ("...: REUSED", e.g. "it is not stopped"). GONE and REUSED may be empty.
verify_target() {
  local pid=$1 ticks=$2 never=$3 gone=${4:-} reused=${5:-} p now
  ((pid != 1)) || refuse "PID 1 is the init process: ${never}"
  p=$$
  while [[ -n $p && $p != 0 ]]; do
    [[ $p == "$pid" ]] && refuse "PID ${pid} is this runbook's own process or one of its ancestors: ${never}"
    [[ $p == 1 ]] && break
    p=$(stat_field "$p" 4)
  done
  alive "$pid" || refuse "PID ${pid} is gone: the diagnosed process is no longer running${gone:+, ${gone}}"
  now=$(stat_field "$pid" 22)
  [[ $now == "$ticks" ]] ||
    refuse "PID ${pid} now belongs to another process (start time ${now}, expected ${ticks})${reused:+: ${reused}}"
}
