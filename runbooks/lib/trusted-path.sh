# shellcheck shell=bash
# shellcheck disable=SC2034 # RUNAS, TOOL and TOOL_WHY are read by the including script
# runbook-autopilot: what may run with the script's rights, and as whom (docs/security.md, "No code from
# the target runs as root"). Included by the probes and the heap-dump action (jcmd), the one place that
# decides which JDK tool runs and as whom. pick_tool reads the including script's JDK_BIN (jdk_bin_of), RUNAS
# and JVM_UID.
#
# untrusted_reason FILE: "resolved:PATH" (FILE with symlinks resolved) when it and every folder above it
# are owned by root and not writable by group or others (nobody but root can change what runs); else why not.
untrusted_reason() {
  local p u m n
  local -a paths=()
  p=$(readlink -f -- "$1" 2>/dev/null)
  [[ -n $p ]] || {
    echo "$1 cannot be resolved"
    return
  }
  while :; do
    paths+=("$p")
    [[ $p == / ]] && break
    p=${p%/*}
    [[ -z $p ]] && p=/
  done
  # One stat for the file and every folder above it, file first.
  while read -r u m n; do
    if [[ $u != 0 ]]; then
      echo "$n is owned by uid $u, not root"
      return
    fi
    if (((8#$m & 8#022) != 0)); then
      echo "$n is writable by group or others (mode $m)"
      return
    fi
  done < <(stat -c '%u %a %n' -- "${paths[@]}" 2>/dev/null || echo "x 0 cannot stat ${paths[0]}")
  echo "resolved:${paths[0]}"
}

# runas_for UID GID USER: RUNAS, the prefix that runs a tool as the JVM's user. USER as find's %u prints it:
# the uid itself when it has no passwd entry (a container's user). setpriv first: it opens no PAM session, so
# no "session opened for user ..." line lands in the host's auth log for each tool (runuser opens one each
# time); with USER's groups, or none for a uid with no passwd entry (it has none to load). Without setpriv
# (or the GID), runuser -u USER, else su.
runas_for() {
  if [[ -n $2 ]] && command -v setpriv >/dev/null 2>&1; then
    RUNAS=(setpriv "--reuid=$1" "--regid=$2")
    if [[ $3 != "$1" ]]; then RUNAS+=(--init-groups --); else RUNAS+=(--clear-groups --); fi
  elif command -v runuser >/dev/null 2>&1; then
    RUNAS=(runuser -u "$3" --)
  else
    # shellcheck disable=SC2016 # expanded by the user's sh, not here: runs the tool with its arguments
    RUNAS=(su -s /bin/sh "$3" -c 'exec "$0" "$@"')
  fi
}

# jdk_bin_of EXE: sets JDK_BIN to the folder of the JVM's own `java` (EXE, its /proc/PID/exe), with a
# trailing slash, or to "" when EXE is not a `java` (a renamed or deleted binary). pick_tool looks there
# first for each tool, and checks that very tool: a JDK that lacks one tool still lends the others.
jdk_bin_of() {
  JDK_BIN=""
  [[ $1 == */java ]] && JDK_BIN=${1%/java}/
  return 0
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
  local d
  [[ -n $JDK_BIN && -x $JDK_BIN$1 ]] && cands+=("$JDK_BIN$1")
  # The first on PATH (as `command -v` would), without a subshell.
  local IFS=:
  for d in $PATH; do
    [[ -f ${d:-.}/$1 && -x ${d:-.}/$1 ]] && {
      cands+=("${d:-.}/$1")
      break
    }
  done
  IFS=$' \t\n'
  if ((${#cands[@]} == 0)); then
    TOOL_WHY="$1 not found (no JDK tools on this host: JRE only?)"
    return 1
  fi
  for c in "${cands[@]}"; do
    if [[ ${#RUNAS[@]} -gt 0 || (-n $JVM_UID && $JVM_UID == "$EUID" && $JVM_UID != 0) ]]; then
      TOOL=$c
      return 0
    fi
    why=$(untrusted_reason "$c")
    if [[ $why == resolved:* ]]; then
      TOOL=${why#resolved:}
      return 0
    fi
    TOOL_WHY+="${TOOL_WHY:+; }$1 at $c would run as uid $EUID from an untrusted path: $why"
  done
  TOOL_WHY="refused: $TOOL_WHY"
  return 1
}
