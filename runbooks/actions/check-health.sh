#!/usr/bin/env bash
# runbook-autopilot action: check-health
# Probes http://127.0.0.1:PORT/HEALTHPATH until it answers 2xx or the attempts run out.
# Inputs: SSM_port, SSM_healthPath, SSM_attempts (default 15), SSM_intervalSeconds (default 2),
#         SSM_requestTimeoutSeconds (default 3).
# Output: one line per attempt "attempt=N outcome=... status=... latencyMs=...", then recovered=true|false.
# Exit: 0 when it ran, 2 invalid input, 4 bash older than 5.
# The shared preamble (runbooks/lib/action-preamble.sh, inlined in place of the include line wherever the
# script is sent): the bash >= 5 guard (exit 4), fail (exit 2), refuse (exit 3), stat_field, verify_target.
# shellcheck disable=SC2034 # read by the preamble included below
RUNBOOK_ACTION=check-health
# shellcheck source=SCRIPTDIR/../lib/action-preamble.sh
. "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
port=${SSM_port:-}
path=${SSM_healthPath:-/health}
attempts=${SSM_attempts:-15}
interval=${SSM_intervalSeconds:-2}
req_timeout=${SSM_requestTimeoutSeconds:-3}
# The same patterns as the SSM document's allowedPattern (lib/document-parameters.ts), then ranges; values
# are read in base 10 (10#) so a leading zero is never octal.
{ [[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)); } || fail "SSM_port must be 1-65535, got '${port:0:40}'"
[[ ${#path} -le 201 && $path =~ ^/[A-Za-z0-9._~/-]*$ ]] || fail "SSM_healthPath must be a path like /health"
{ [[ $attempts =~ ^[0-9]{1,3}$ ]] && ((10#$attempts >= 1)); } || fail "SSM_attempts must be 1-999"
[[ $interval =~ ^[0-9]{1,3}$ ]] || fail "SSM_intervalSeconds must be a whole number 0-999"
{ [[ $req_timeout =~ ^[0-9]{1,2}$ ]] && ((10#$req_timeout >= 1)); } || fail "SSM_requestTimeoutSeconds must be 1-99"
port=$((10#$port))
attempts=$((10#$attempts))
interval=$((10#$interval))
req_timeout=$((10#$req_timeout))

for ((n = 1; n <= attempts; n++)); do
  out=$(curl -s -o /dev/null -m "$req_timeout" -w '%{http_code} %{time_total}' "http://127.0.0.1:${port}${path}" 2>/dev/null)
  rc=$?
  code=${out%% *}
  secs=${out##* }
  ms=$(awk -v s="${secs:-0}" 'BEGIN { printf "%d", s * 1000 }')
  case $rc in
    0) if [[ $code =~ ^2 ]]; then outcome=ok; else outcome=http-error; fi ;;
    28) outcome=timeout ;;
    7) outcome=refused ;;
    *) outcome=error ;;
  esac
  echo "attempt=${n} outcome=${outcome} status=${code:-000} latencyMs=${ms} curlExit=${rc}"
  if [[ $outcome == ok ]]; then echo "recovered=true"; exit 0; fi
  ((n < attempts)) && sleep "$interval"
done
echo "recovered=false"
exit 0
