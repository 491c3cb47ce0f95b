import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchSample } from "../../../lambdas/core/forecast/sample.js";
import { parseLeakWatchOutput } from "../../../lambdas/core/parsers/leak-watch.js";
import { loadRunbookDoc } from "../../../lambdas/workflows/runbook-files.js";

/**
 * The leak-watch probe's `--with-histogram` path (runbooks/probes/leak-watch.sh, SSM_withHistogram=true)
 * without a JVM: the target is a copy of `sleep` named `java`, with a stand-in `jcmd` and `jstat` next to
 * it, which is where the probe looks first (the JDK of the target's own `java`; the probe puts the system
 * directories first on PATH, so a stand-in on PATH would lose to a real /usr/bin/jcmd). The stand-in
 * `jcmd` prints a fixed class histogram and leaves a mark when called. Port 20301 (nothing listens on it).
 */
const PROBE = fileURLToPath(new URL("../../../runbooks/probes/leak-watch.sh", import.meta.url));
const PORT = "20301";
const jdk = mkdtempSync(join(tmpdir(), "fake-jdk-"));
const CALLED = join(jdk, "jcmd-called");

/** As `jcmd PID GC.class_histogram` prints it; a look-alike class name must not be counted. */
const HISTOGRAM = [
  "PID:",
  " num     #instances         #bytes  class name (module)",
  "-------------------------------------------------------",
  "   1:        412880       88342016  [B (java.base@17.0.13)",
  "   2:           977         148504  org.apache.tomcat.websocket.WsSession",
  "   3:            12           2784  org.eclipse.jetty.websocket.common.WebSocketSession",
  "   4:           977          23448  org.apache.coyote.http11.upgrade.UpgradeProcessorInternal",
  "   5:             4            128  org.apache.tomcat.websocket.WsSessionListener",
  "Total        414850       88516880",
].join("\n");

writeFileSync(join(jdk, "histogram.txt"), `${HISTOGRAM}\n`);
writeFileSync(
  join(jdk, "jcmd"),
  `#!/bin/bash\necho "$*" >"${CALLED}"\ncat "${join(jdk, "histogram.txt")}"\n`,
);
writeFileSync(
  join(jdk, "jstat"),
  "#!/bin/bash\necho sun.gc.generation.1.space.0.used=250\necho sun.gc.generation.1.maxCapacity=1000\n",
);
chmodSync(join(jdk, "jcmd"), 0o755);
chmodSync(join(jdk, "jstat"), 0o755);
copyFileSync(
  spawnSync("bash", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim(),
  join(jdk, "java"),
);
chmodSync(join(jdk, "java"), 0o755);

/** The fake JVM, started with a soft fd limit (its three stdio fds are open). */
function startJava(fdLimit: number): ChildProcess {
  return spawn("bash", ["-c", `ulimit -n ${fdLimit} && exec "${join(jdk, "java")}" 600`], {
    stdio: "ignore",
  });
}

function probe(pid: number, sessionClasses: string): WatchSample {
  rmSync(CALLED, { force: true });
  const r = spawnSync("bash", [PROBE], {
    env: {
      PATH: process.env.PATH ?? "",
      SSM_port: PORT,
      SSM_pid: String(pid),
      SSM_withHistogram: "true",
      SSM_sessionClasses: sessionClasses,
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const parsed = parseLeakWatchOutput(r.stdout);
  if (!parsed.ok) throw new Error(`leak-watch output did not parse: ${JSON.stringify(parsed)}\n${r.stdout}`);
  return parsed.value;
}

/** Polls until the process runs the fake java (its exe link; bash execs it), up to 20 s. */
async function execed(p: ChildProcess): Promise<number> {
  const pid = p.pid ?? 0;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === join(jdk, "java")) return pid;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not exec the fake java within 20 s`);
}

let classes = "";
const started: ChildProcess[] = [];
beforeAll(async () => {
  const rb = await loadRunbookDoc("api-unreachable");
  classes = (rb.probe.sessionClasses ?? []).map((c) => c.className).join(" ");
});
afterAll(() => {
  for (const p of started) p.kill("SIGKILL");
  rmSync(jdk, { recursive: true, force: true });
});

describe("leak-watch probe with a class histogram (fake jcmd next to the target's java)", () => {
  it("sums the runbook's session classes (Tomcat's and Jetty's), not a look-alike class", async () => {
    expect(classes).toBe(
      "org.apache.tomcat.websocket.WsSession org.eclipse.jetty.websocket.common.WebSocketSession",
    );
    const java = startJava(1024);
    started.push(java);
    const pid = await execed(java);
    const s = probe(pid, classes);
    expect(existsSync(CALLED)).toBe(true);
    expect(readFileSync(CALLED, "utf8")).toMatch(new RegExp(`\\b${pid} GC\\.class_histogram\\b`));
    expect(s.sessions).toBe(977 + 12);
    expect(s.pid).toBe(pid);
    expect(s.fdLimit).toBe(1024);
    expect(s.heapOldGenPercent).toBe(25);
    expect(s.unavailable.filter((u) => u.startsWith("sessions"))).toEqual([]);
    // One class only: only its rows.
    expect(probe(pid, "org.apache.tomcat.websocket.WsSession").sessions).toBe(977);
  });

  it("refuses the attach at the fd limit: jcmd is not run and the sample says why", async () => {
    const java = startJava(5);
    started.push(java);
    const pid = await execed(java);
    const s = probe(pid, classes);
    expect(s.fdLimit).toBe(5);
    expect(s.openFds).toBeGreaterThanOrEqual(3);
    expect(existsSync(CALLED)).toBe(false);
    expect(s.sessions).toBeNull();
    expect(s.unavailable).toContainEqual(
      expect.stringMatching(/^sessions: at the fd limit \(\d+ of 5\): the JVM cannot accept an attach$/),
    );
  });
});
