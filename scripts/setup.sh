#!/usr/bin/env bash
# Installs everything runbook-autopilot needs on a fresh Debian machine, idempotently:
# the JDK and embedded Tomcat 10 for the reproduction lab, iproute2 (ss), the npm packages, and the
# Lambda runtime's Node for the tests (test/runtime-node).
# Safe to run again: packages already present are not reinstalled; npm ci is skipped when
# node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  default-jdk-headless          # javac, jcmd, jstack, jstat, jmap
  libtomcat10-embed-java        # /usr/share/java/tomcat10-embed-*.jar
  libjakarta-annotation-api-java
  libhikaricp-java              # connection-pool-exhaustion lab: HikariCP 2.7 (/usr/share/java/HikariCP.jar)
  libh2-java                    # ... on an H2 database over TCP (/usr/share/java/h2.jar)
  libslf4j-java                 # ... HikariCP logs through slf4j (slf4j-jdk14 sends it to java.util.logging)
  libjetty9-java                # jetty-ws-leak lab: Jetty 9.4 (/usr/share/java/jetty9-*.jar)
  libjetty9-extra-java          # ... its WebSocket server jars (jetty9-websocket-*.jar)
  libservlet-api-java           # ... javax.servlet 4 (/usr/share/java/servlet-api.jar)
  iproute2                      # ss
  procps                        # ps, pgrep
  curl                          # the probe's health check
  unzip                         # the probe reads Tomcat's ServerInfo.properties from the jar as data
  shellcheck                    # lint of every shell script in scripts/test.sh
  chromium                      # renders postmortem.html in tests and screenshots
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them) and try again" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm_ci_once DIR WHAT [ARGS...]: `npm ci` in DIR unless its node_modules was installed from the same lock
# file (a stamp of the lock's sha256), so a second setup costs nothing.
npm_ci_once() {
  local dir=$1 what=$2 stamp want
  shift 2
  stamp=$dir/node_modules/.setup-lock-sha
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "setup: npm ci$what" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@")
    echo "$want" >"$stamp"
  fi
}
npm_ci_once . ""
# Node of the Lambda runtime's major (the functions run nodejs24.x; this machine's Node may be older): the
# synth test loads every bundle with it too. Its own package.json and lock file; no install scripts run.
npm_ci_once test/runtime-node " in test/runtime-node (Node 24 for the Lambda bundles)" --ignore-scripts
echo "setup: ready" >&2
