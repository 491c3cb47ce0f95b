#!/usr/bin/env bash
# runbook-autopilot action: restart-service
# Restarts the service behind the app port and waits until the port listens and health answers.
# Either through systemd (SSM_service) or, locally, by stopping the process itself and running the
# operator's start command (SSM_restartCommand). A JVM dying of OutOfMemoryError often ignores
# SIGTERM: after the grace period it gets SIGKILL, and the output says so.
#
# The process stopped is the process diagnosed: SSM_pid and SSM_startTicks come from the saved
# evidence, and the script re-checks both (field 22 of /proc/PID/stat) before anything is stopped.
# It never stops PID 1 or a process of its own ancestry (the SSM agent, the runbook CLI, a shell).
# With SSM_pid empty (nothing ran on the port when the evidence was taken) it only starts the
# service, and refuses if something listens on the port by now.
#
# Inputs (environment; every value re-validated here, with the SSM documents' patterns):
#   SSM_port                app port
#   SSM_pid                 PID to stop, from the evidence; or empty
#   SSM_startTicks          that PID's start time in clock ticks after boot; required with SSM_pid
#   SSM_service             systemd unit (pattern-checked); or empty
#   SSM_restartCommand      command that starts the service again (operator-supplied, local use); or empty
#   SSM_graceSeconds        SIGTERM grace before SIGKILL (default 20)
#   SSM_startTimeoutSeconds how long to wait for listen + health, counted from when the old process is gone (default 90)
#   SSM_healthPath          health path (default /health)
# Output: key=value lines; result=ok | failed | refused-target | invalid-input.
# Exit: 0 when it ran (result= says what happened), 2 invalid input, 3 refused target, 4 bash older than 5.
# The shared preamble (runbooks/lib/action-preamble.sh, inlined in place of the include line wherever the
# script is sent): the bash >= 5 guard (exit 4), fail (exit 2), refuse (exit 3), stat_field, verify_target.
# shellcheck disable=SC2034 # read by the preamble included below
RUNBOOK_ACTION=restart-service
# shellcheck source=SCRIPTDIR/../lib/action-preamble.sh
. "${0%"${0##*/}"}../lib/action-preamble.sh"  # runbook:include lib/action-preamble.sh
set -o pipefail

port=${SSM_port:-}
pid=${SSM_pid:-}
start_ticks=${SSM_startTicks:-}
service=${SSM_service:-}
cmd=${SSM_restartCommand:-}
grace=${SSM_graceSeconds:-20}
start_timeout=${SSM_startTimeoutSeconds:-90}
health_path=${SSM_healthPath:-/health}
[[ $port =~ ^[0-9]{1,5}$ ]] || fail "SSM_port must be 1-65535, got '${port:0:40}'"
port=$((10#$port))
((port >= 1 && port <= 65535)) || fail "SSM_port must be 1-65535, got '${SSM_port}'"
[[ $pid =~ ^([1-9][0-9]{0,9})?$ ]] || fail "SSM_pid must be empty or a process id of digits, got '${pid:0:40}'"
[[ $start_ticks =~ ^([0-9]{1,20})?$ ]] || fail "SSM_startTicks must be empty or clock ticks of digits, got '${start_ticks:0:40}'"
[[ -z $pid || -n $start_ticks ]] || fail "SSM_startTicks is required with SSM_pid: the process is identified by PID and start time"
[[ $service =~ ^([A-Za-z0-9@._:-]{1,128})?$ ]] || fail "SSM_service is not a systemd unit name: '${service:0:60}'"
[[ $grace =~ ^[0-9]{1,4}$ ]] || fail "SSM_graceSeconds must be whole seconds (0-9999), got '${grace:0:40}'"
[[ $start_timeout =~ ^[0-9]{1,4}$ ]] || fail "SSM_startTimeoutSeconds must be whole seconds (0-9999), got '${start_timeout:0:40}'"
grace=$((10#$grace))
start_timeout=$((10#$start_timeout))
[[ $health_path =~ ^/[A-Za-z0-9._~/-]{0,200}$ ]] || fail "SSM_healthPath must be a path like /health, got '${health_path:0:60}'"
[[ -z $service || -z $cmd ]] || fail "give SSM_service or SSM_restartCommand, not both"
[[ -n $service || -n $cmd ]] || fail "neither SSM_service nor SSM_restartCommand given: nothing knows how to start the service"

listener_pid() {
  ss -ltnpH "( sport = :${port} )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2
}
# Milliseconds since the epoch: time-boxed loops count time, not iterations (a loaded host is slow).
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((10#$t / 1000))
}
# Whether $1 is $2 or one of $2's ancestors.
is_ancestor_or_self() {
  local p=$2
  while [[ -n $p && $p != 0 ]]; do
    [[ $p == "$1" ]] && return 0
    [[ $p == 1 ]] && return 1
    p=$(stat_field "$p" 4)
  done
  return 1
}
health_ok() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${port}${health_path}" 2>/dev/null)
  [[ $code =~ ^2[0-9][0-9]$ ]]
}
oneline() { tr '\n\r' '  ' | cut -c1-"$1"; }

echo "port=${port}"
echo "oldPid=${pid:-none}"
echo "oldStartTicks=${start_ticks:-none}"

# The process acted on is the process verified.
# (runbooks/lib/action-preamble.sh: stat_field, alive, same_process and verify_target are shared.)
if [[ -n $pid ]]; then
  verify_target "$pid" "$start_ticks" "it is never stopped" "so nothing is restarted" "it is not stopped"
elif [[ -n $(ss -ltnH "( sport = :${port} )" 2>/dev/null) ]]; then
  refuse "a process (PID $(listener_pid)) listens on port ${port} now but the evidence named no process: it is not stopped"
fi

started=$(date +%s)
if [[ -n $service ]]; then
  echo "method=systemd"
  if [[ -n $pid ]]; then
    # The unit restarted must be the one running the diagnosed process (its main PID or an ancestor).
    main_pid=$(timeout 10 systemctl show -p MainPID --value -- "$service" 2>/dev/null)
    [[ $main_pid =~ ^[0-9]+$ ]] || main_pid=0
    echo "unitMainPid=${main_pid}"
    if ((10#$main_pid <= 1)) || ! is_ancestor_or_self "$main_pid" "$pid"; then
      refuse "PID ${pid} is not run by ${service} (its main PID is ${main_pid}): restarting the unit would not stop it"
    fi
  fi
  budget=$((grace + start_timeout + 5))
  out=$(timeout -k 5 "$budget" systemctl restart -- "$service" 2>&1)
  rc=$?
  [[ -z $out ]] || echo "systemctlOutput=$(printf '%s' "$out" | oneline 300)"
  echo "stopSignal=systemd"
  if ((rc == 124 || rc == 137)); then
    echo "result=failed"
    echo "error=systemctl restart ${service} did not finish within ${budget}s"
    exit 0
  elif ((rc != 0)); then
    echo "result=failed"
    echo "error=systemctl restart ${service} failed (exit ${rc}): $(printf '%s' "$out" | oneline 200)"
    exit 0
  fi
  if [[ -n $pid ]] && alive "$pid" && same_process "$pid" "$start_ticks"; then
    echo "result=failed"
    echo "error=systemctl restart ${service} returned but PID ${pid} is still running"
    exit 0
  fi
else
  echo "method=command"
  stop_signal=none
  if [[ -n $pid ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null && stop_signal=TERM
    until_ms=$(($(now_ms) + grace * 1000))
    while alive "$pid" && (($(now_ms) < until_ms)); do sleep 0.1; done
    if alive "$pid" && same_process "$pid" "$start_ticks"; then
      kill -KILL "$pid" 2>/dev/null && stop_signal=KILL
      until_ms=$(($(now_ms) + 5000))
      while alive "$pid" && (($(now_ms) < until_ms)); do sleep 0.1; done
    fi
  fi
  echo "stopSignal=${stop_signal}"
  if [[ -n $pid ]] && alive "$pid"; then
    echo "result=failed"
    echo "error=process ${pid} survived SIGKILL"
    exit 0
  fi
  # Wait for the port to be free before starting again.
  until_ms=$(($(now_ms) + 10000))
  while [[ -n $(ss -ltnH "( sport = :${port} )" 2>/dev/null) ]] && (($(now_ms) < until_ms)); do sleep 0.1; done
  log=$(mktemp -t runbook-restart.XXXXXX.log)
  setsid bash -c "$cmd" </dev/null >"$log" 2>&1 &
  starter=$!
  echo "startCommandLog=${log}"
fi

# The start deadline counts from when the old process is gone, not from the stop request: a JVM
# that ignores SIGTERM does not eat the new process's start time.
gone=$(date +%s)
echo "stopSeconds=$((gone - started))"
deadline=$((gone + start_timeout))
while (($(date +%s) < deadline)); do
  new_pid=$(listener_pid)
  if [[ -n $new_pid && $new_pid != "$pid" ]] && health_ok; then
    echo "newPid=${new_pid}"
    echo "newStartTicks=$(stat_field "$new_pid" 22)"
    echo "downSeconds=$(($(date +%s) - started))"
    echo "result=ok"
    exit 0
  fi
  if [[ -n ${starter:-} ]] && ! kill -0 "$starter" 2>/dev/null; then
    wait "$starter"
    rc=$?
    if ((rc != 0)) && [[ -z $(listener_pid) ]]; then
      echo "result=failed"
      echo "error=start command exited ${rc} before the port listened: $(tail -c 300 "$log" | oneline 300)"
      exit 0
    fi
    starter=""
  fi
  sleep 0.5
done
echo "newPid=$(listener_pid)"
echo "result=failed"
echo "error=port ${port} not listening with a healthy ${health_path} within ${start_timeout}s of the old process being gone"
exit 0
