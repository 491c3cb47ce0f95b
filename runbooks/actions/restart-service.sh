#!/usr/bin/env bash
# runbook-autopilot action: restart-service
# Restarts the service behind the app port and waits until the port listens and health answers.
# Either through systemd (SSM_service) or, locally, by stopping the process itself and running the
# operator's start command (SSM_restartCommand). A JVM dying of OutOfMemoryError often ignores
# SIGTERM: after the grace period it gets SIGKILL, and the output says so.
#
# Inputs (environment; every value re-validated here):
#   SSM_port                app port
#   SSM_pid                 PID to stop (empty: the listener of the port)
#   SSM_service             systemd unit (pattern-checked); or empty
#   SSM_restartCommand      command that starts the service again (operator-supplied, local use); or empty
#   SSM_graceSeconds        SIGTERM grace before SIGKILL (default 20)
#   SSM_startTimeoutSeconds how long to wait for listen + health (default 90)
#   SSM_healthPath          health path (default /health)
# Output: key=value lines; result=ok | failed | invalid-input.
set -u
export LC_ALL=C

fail() { echo "result=invalid-input"; echo "error=$1"; exit 2; }
port=${SSM_port:-}
pid=${SSM_pid:-}
service=${SSM_service:-}
cmd=${SSM_restartCommand:-}
grace=${SSM_graceSeconds:-20}
start_timeout=${SSM_startTimeoutSeconds:-90}
health_path=${SSM_healthPath:-/health}
[[ $port =~ ^[0-9]{1,5}$ ]] && ((port >= 1 && port <= 65535)) || fail "SSM_port must be 1-65535, got '${port}'"
[[ -z $pid || $pid =~ ^[0-9]{1,9}$ ]] || fail "SSM_pid must be digits, got '${pid}'"
[[ -z $service || $service =~ ^[A-Za-z0-9@._:-]{1,128}$ ]] || fail "SSM_service is not a systemd unit name: '${service}'"
[[ $grace =~ ^[0-9]{1,4}$ ]] || fail "SSM_graceSeconds must be a whole number"
[[ $start_timeout =~ ^[0-9]{1,4}$ ]] || fail "SSM_startTimeoutSeconds must be a whole number"
[[ $health_path =~ ^/[A-Za-z0-9._~/-]*$ ]] || fail "SSM_healthPath must be a path like /health"
[[ -n $service || -n $cmd ]] || fail "neither SSM_service nor SSM_restartCommand given: nothing knows how to start the service"

listener_pid() {
  ss -ltnpH "( sport = :${port} )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2
}
# Alive = exists and is not a zombie (a killed process whose parent has not reaped it yet is gone for us).
alive() {
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
  [[ -n $st && $st != Z && $st != X ]]
}
health_ok() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${port}${health_path}" 2>/dev/null)
  [[ $code =~ ^2[0-9][0-9]$ ]]
}

[[ -n $pid ]] || pid=$(listener_pid)
echo "port=${port}"
echo "oldPid=${pid:-none}"
started=$(date +%s)

if [[ -n $service ]]; then
  echo "method=systemd"
  if ! systemctl restart "$service" 2>&1 | head -c 500; then echo "result=failed"; echo "error=systemctl restart ${service} failed"; exit 0; fi
  echo "stopSignal=systemd"
else
  echo "method=command"
  stop_signal=none
  if [[ -n $pid ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null && stop_signal=TERM
    for ((i = 0; i < grace * 10; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null && stop_signal=KILL
      for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  echo "stopSignal=${stop_signal}"
  if [[ -n $pid ]] && alive "$pid"; then echo "result=failed"; echo "error=process ${pid} survived SIGKILL"; exit 0; fi
  # Wait for the port to be free before starting again.
  for ((i = 0; i < 100; i++)); do [[ -z $(listener_pid) ]] && break; sleep 0.1; done
  log=$(mktemp -t runbook-restart.XXXXXX.log)
  setsid bash -c "$cmd" </dev/null >"$log" 2>&1 &
  starter=$!
  echo "startCommandLog=${log}"
fi

deadline=$((started + start_timeout))
while (($(date +%s) < deadline)); do
  new_pid=$(listener_pid)
  if [[ -n $new_pid && $new_pid != "$pid" ]] && health_ok; then
    echo "newPid=${new_pid}"
    echo "downSeconds=$(($(date +%s) - started))"
    echo "result=ok"
    exit 0
  fi
  if [[ -n ${starter:-} ]] && ! kill -0 "$starter" 2>/dev/null; then
    wait "$starter"; rc=$?
    if ((rc != 0)) && [[ -z $(listener_pid) ]]; then
      echo "result=failed"; echo "error=start command exited ${rc} before the port listened: $(tail -c 300 "$log" | tr '\n' ' ')"; exit 0
    fi
    starter=""
  fi
  sleep 0.5
done
echo "newPid=$(listener_pid)"
echo "result=failed"
echo "error=port ${port} not listening with a healthy ${health_path} within ${start_timeout}s"
exit 0
