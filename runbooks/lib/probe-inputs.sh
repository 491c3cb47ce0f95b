# shellcheck shell=bash
# runbook-autopilot: input checks shared by the probes (runbooks/probes/api-unreachable.sh and
# leak-watch.sh include it: docs/contracts.md, "The shared preamble and runbook:include").
#
# Length limits are counted, never written as a bounded repetition such as [a-z]{0,200}: glibc's regcomp
# expands one into an automaton of megabytes (the old sessionClasses check alone took 17 MB), which stays in
# the shell's heap, so that every later fork of the probe copied it (~2x the cost of each subshell).

# session_classes_valid LIST: empty, or up to 20 space-separated Java class names of at most 201 characters.
SESSION_CLASSES_RE='^([A-Za-z_][A-Za-z0-9_$.]*( [A-Za-z_][A-Za-z0-9_$.]*)*)?$'
session_classes_valid() {
  local w n=0
  [[ $1 =~ $SESSION_CLASSES_RE ]] || return 1
  # Checked above: letters, digits, _ $ . and single spaces only, so the split below cannot glob.
  for w in $1; do
    n=$((n + 1))
    ((n <= 20 && ${#w} <= 201)) || return 1
  done
  return 0
}
