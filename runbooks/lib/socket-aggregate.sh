# shellcheck shell=bash
# runbook-autopilot: the ONE socket aggregation of the probes (runbooks/probes/api-unreachable.sh and
# leak-watch.sh include it: docs/contracts.md, "The shared preamble and runbook:include"). The test oracle
# test/support/oracles/ss.ts reads the same raw `ss` output independently; the action
# kill-idle-connections.sh selects sockets with the same idle rule.
# Needs IDLE_MS (the idle threshold, whole milliseconds) set by the including script.

# awk top(map, n, prefix, width): the n largest counts, ties by key, as "prefix=COUNT KEY".
AWK_TOP='
function top(m, n, prefix, width,   i, k, best, used) {
  for (i = 0; i < n; i++) {
    best = ""
    for (k in m) if (!(k in used) && (best == "" || m[k] > m[best] || (m[k] == m[best] && k < best))) best = k
    if (best == "") return
    used[best] = 1
    printf "%s=%d %s\n", prefix, m[best], substr(best, 1, width)
  }
}'

# The socket aggregation. Idle = since lastrcv (else lastack); over the threshold when > IDLE_MS.
ss_aggregate() { # FILE
  awk -v thr="$IDLE_MS" "$AWK_TOP"'
    function flush(  p, idle) {
      if (st == "" || st == "LISTEN") { st = ""; return }
      total++; bystate[st]++
      if (st == "ESTAB") {
        est++
        if (sq + 0 > 0) sendq++
        idle = (lr != "" ? lr : la)
        if (idle != "") {
          idle += 0
          if (idle < 1000) b0++; else if (idle < 10000) b1++; else if (idle < 60000) b2++
          else if (idle < 300000) b3++; else if (idle < 1800000) b4++; else b5++
          if (idle > thr) over++
          if (maxidle == "" || idle > maxidle) maxidle = idle
        } else unknown++
      }
      p = peer; sub(/:[^:]*$/, "", p); gsub(/[\[\]]/, "", p); sub(/^::ffff:/, "", p)
      peers[p]++
      st = ""
    }
    /^[A-Z]/ { flush(); if ($1 == "State") next; st = $1; sq = $3; peer = $5; lr = ""; la = ""; next }
    /^[ \t]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^lastrcv:/) lr = substr($i, 9); else if ($i ~ /^lastack:/) la = substr($i, 9) } }
    END {
      flush()
      printf "total=%d\nestablished=%d\n", total, est
      printf "idle.thresholdMs=%d\nidle.overThreshold=%d\nidle.maxMs=%s\nidle.unknown=%d\n", thr, over, maxidle, unknown
      printf "idle.bucket=<1s 0 1000 %d\n", b0
      printf "idle.bucket=1-10s 1000 10000 %d\n", b1
      printf "idle.bucket=10-60s 10000 60000 %d\n", b2
      printf "idle.bucket=1-5min 60000 300000 %d\n", b3
      printf "idle.bucket=5-30min 300000 1800000 %d\n", b4
      printf "idle.bucket=>=30min 1800000 - %d\n", b5
      printf "sendQueueNonEmpty=%d\n", sendq
      ns = 0; for (s in bystate) names[++ns] = s
      for (i = 2; i <= ns; i++) { v = names[i]; for (j = i - 1; j >= 1 && names[j] > v; j--) names[j + 1] = names[j]; names[j + 1] = v }
      for (i = 1; i <= ns; i++) printf "state.%s=%d\n", names[i], bystate[names[i]]
      top(peers, 10, "peer", 80)
    }' "$1"
}
