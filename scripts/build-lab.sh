#!/usr/bin/env bash
# Compiles the reproduction lab's Java app (lab/java/*.java) with javac against the Debian
# embedded-Tomcat 10 jars into .lab/build/classes. Recompiles only when a source is newer than
# the build stamp. Safe to run concurrently (flock) and prints the classpath to run with.
set -euo pipefail
cd "$(dirname "$0")/.."
JARDIR=${LAB_JAR_DIR:-/usr/share/java}
JARS=(tomcat10-embed-core.jar tomcat10-embed-websocket.jar tomcat10-embed-el.jar jakarta-annotation-api.jar)
# connection-pool-exhaustion modes (lab/java/PoolLab.java): HikariCP on H2, HikariCP logs through slf4j to JUL.
JARS+=(HikariCP.jar h2.jar slf4j-api.jar slf4j-jdk14.jar)
# jetty-ws-leak (lab/java/JettyLabApp.java): Jetty 9.4 and its native WebSocket server, javax.servlet 4.
JARS+=(jetty9-server.jar jetty9-http.jar jetty9-io.jar jetty9-util.jar jetty9-servlet.jar jetty9-security.jar
  jetty9-client.jar jetty9-xml.jar jetty9-websocket-api.jar jetty9-websocket-common.jar jetty9-websocket-server.jar
  jetty9-websocket-servlet.jar jetty9-websocket-client.jar servlet-api.jar)
cp=""
for j in "${JARS[@]}"; do
  if [[ ! -f $JARDIR/$j ]]; then
    echo "build-lab: missing $JARDIR/$j (install libtomcat10-embed-java, libjakarta-annotation-api-java, libhikaricp-java, libh2-java, libslf4j-java, libjetty9-java, libjetty9-extra-java and libservlet-api-java: scripts/setup.sh)" >&2
    exit 3
  fi
  cp+="$JARDIR/$j:"
done
command -v javac >/dev/null || { echo "build-lab: javac not found on PATH (install a JDK 17: scripts/setup.sh)" >&2; exit 3; }

BUILD=.lab/build
mkdir -p "$BUILD"
exec 9>"$BUILD/.lock"
flock 9
stamp=$BUILD/classes/.stamp
if [[ -f $stamp ]] && [[ -z $(find lab/java -name '*.java' -newer "$stamp" -print -quit) ]]; then
  echo "$(pwd)/$BUILD/classes:${cp%:}"
  exit 0
fi
tmp=$(mktemp -d "$BUILD/classes.tmp.XXXXXX")
javac -nowarn -d "$tmp" -cp "${cp%:}" lab/java/*.java >&2
touch "$tmp/.stamp"
rm -rf "$BUILD/classes"
mv "$tmp" "$BUILD/classes"
echo "build-lab: compiled lab/java into $BUILD/classes" >&2
echo "$(pwd)/$BUILD/classes:${cp%:}"
