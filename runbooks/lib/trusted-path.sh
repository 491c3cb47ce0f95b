# shellcheck shell=bash
# runbook-autopilot: what may run with the script's rights (docs/security.md, "No code from the target runs
# as root"). Included by the probes and the heap-dump action.
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
