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
 * The leak-watch probe's `--with-histogram` path (runbooks/probes/leak-watch.sh, SSM_withHistogram=true):
 * - on a real JVM of the default JDK holding instances of its own classes: the probe's attach (no JDK tool)
 *   counts the session classes it is given, not a look-alike;
 * - on a stand-in target (a copy of `sleep` named `java`) with stand-in `jcmd` and `jstat` next to it, in
 *   a folder under /tmp (others can write above it), as root: at the fd limit no attach is tried, and
 *   otherwise the stand-ins never run as root and nothing is signalled (sleep does not catch SIGQUIT).
 * Port 20301 (nothing listens on it).
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

const JSTAT_CALLED = join(jdk, "jstat-called");
writeFileSync(join(jdk, "histogram.txt"), `${HISTOGRAM}\n`);
writeFileSync(
  join(jdk, "jcmd"),
  `#!/bin/bash\necho "$*" >"${CALLED}"\ncat "${join(jdk, "histogram.txt")}"\n`,
);
writeFileSync(
  join(jdk, "jstat"),
  `#!/bin/bash\necho "$*" >"${JSTAT_CALLED}"\necho sun.gc.generation.1.space.0.used=250\necho sun.gc.generation.1.maxCapacity=1000\n`,
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

describe("leak-watch probe with a class histogram of a real JVM", () => {
  it("sums the session classes it is given through the probe's own attach, not a look-alike class", async () => {
    expect(classes).toBe(
      "org.apache.tomcat.websocket.WsSession org.eclipse.jetty.websocket.common.WebSocketSession",
    );
    const src = join(jdk, "Watched.java");
    writeFileSync(
      src,
      `public class Watched {
         static class Sess {} static class Other {} static class SessListener {}
         static final java.util.List<Object> KEEP = new java.util.ArrayList<>();
         public static void main(String[] a) throws Exception {
           for (int i = 0; i < 977; i++) KEEP.add(new Sess());
           for (int i = 0; i < 12; i++) KEEP.add(new Other());
           for (int i = 0; i < 4; i++) KEEP.add(new SessListener());
           System.out.println("READY"); System.out.flush(); Thread.sleep(600_000); } }`,
    );
    const jvm = spawn("bash", ["-c", `ulimit -n 4096 && exec java -Xmx64m "${src}"`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    started.push(jvm);
    await new Promise<void>((resolve, reject) => {
      jvm.stdout?.on("data", (b: Buffer) => b.toString().includes("READY") && resolve());
      jvm.once("exit", (code) => reject(new Error(`the JVM exited (${code}) before READY`)));
    });
    const pid = jvm.pid ?? 0;
    const s = probe(pid, "Watched$Sess Watched$Other");
    expect(s.unavailable).toEqual([]);
    expect(s.sessions).toBe(977 + 12);
    expect(s.pid).toBe(pid);
    expect(s.fdLimit).toBe(4096);
    // The heap from the system JDK's jstat (root's, so it may run as root against a JVM of root).
    expect(s.heapOldGenPercent).toBeGreaterThanOrEqual(0);
    expect(s.heapOldGenPercent).toBeLessThanOrEqual(100);
    // One class only: only its rows.
    expect(probe(pid, "Watched$Sess").sessions).toBe(977);
  }, 90_000);
});

describe("leak-watch probe against a stand-in target with stand-in JDK tools others could have written", () => {
  it("refuses the attach at the fd limit: no tool is run and the sample says why", async () => {
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

  it("never runs the stand-ins as root, and never signals a process that does not catch SIGQUIT", async () => {
    const java = startJava(1024);
    started.push(java);
    const pid = await execed(java);
    rmSync(JSTAT_CALLED, { force: true });
    const s = probe(pid, classes);
    // /tmp above the stand-ins is writable by others: neither runs with the probe's (root's) rights.
    expect(existsSync(JSTAT_CALLED)).toBe(false);
    expect(existsSync(CALLED)).toBe(false);
    expect(s.sessions).toBeNull();
    expect(s.unavailable).toContainEqual(
      `sessions: not attempted: pid ${pid} does not catch SIGQUIT (started with -Xrs?) and has no attach listener yet: the SIGQUIT that starts one would end it`,
    );
    // Still running: it was not signalled.
    expect(java.exitCode).toBeNull();
    expect(java.signalCode).toBeNull();
    expect(readFileSync(`/proc/${pid}/stat`, "utf8")).toMatch(/\) [SR] /);
  });
});
