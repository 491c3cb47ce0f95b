/**
 * Real probe captures of the issue-13 variants that had only hand-made evidence (ports 20501-20503):
 *
 * - lab-close-wait-inbound: `close-wait-inbound` (long polls never completed), 600 impatient clients (below the
 *   open-files limit): CLOSE-WAIT on the app port while request threads are free;
 * - lab-close-wait-inbound-at-limit: the same driven to the open-files limit (1024): the JVM cannot be attached;
 * - lab-ws-leak-oom-idle: `ws-leak` with a 64 MiB heap and 256 KiB per session, loaded until the heap is full,
 *   then left alone until every ESTABLISHED connection on the port is idle beyond the runbook's idle threshold
 *   (120 s: a real wait, which is why this is a capture script and not a test).
 *
 * `lab up` + `lab load`, and the probe, each run at `nice -n 10` holding `/tmp/runbook-e2e.lock` (flock); the
 * idle wait does not hold it. The probe runs through scripts/capture-probe.ts (the shipped runbook's
 * parameters, no overrides) into test/unit/parsers/captured/<name>/, with CAPTURE.md saying how;
 * `npx tsx scripts/make-evidence-fixtures.ts probe-<name>` then writes the Evidence fixture.
 *
 * Usage: npx tsx scripts/capture-variants.ts [name ...]   (default: all)
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadRunbookDoc, runbookView } from "../lambdas/workflows/runbook-files.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LOCK = "/tmp/runbook-e2e.lock";

interface Run {
  name: string;
  what: string;
  port: number;
  up: string[];
  loads: string[][];
  /** Wait until every ESTABLISHED connection on the port is idle beyond the runbook's threshold. */
  waitIdle?: boolean;
}

const RUNS: Run[] = [
  {
    name: "lab-ws-leak-oom-idle",
    what: "ws-leak mode, -Xmx64m, 256 KiB per session, open-files limit 4096: vanished WebSocket clients until the heap is full (the server stopped accepting), then no traffic until every ESTABLISHED connection on the port was idle beyond the runbook's threshold",
    port: 20503,
    up: ["--mode", "ws-leak", "--fd-limit", "4096", "--heap-mb", "64", "--session-bytes", "262144"],
    loads: [["--sessions", "2000"]],
    waitIdle: true,
  },
  {
    name: "lab-close-wait-inbound",
    what: "close-wait-inbound mode, open-files limit 1024, 600 clients each asking GET /api/events (a long poll never completed) and closing after 1 s",
    port: 20501,
    up: ["--mode", "close-wait-inbound", "--fd-limit", "1024"],
    loads: [["--requests", "600"]],
  },
  {
    name: "lab-close-wait-inbound-at-limit",
    what: "close-wait-inbound mode, open-files limit 1024, impatient clients until the server stopped accepting (the fd limit)",
    port: 20502,
    up: ["--mode", "close-wait-inbound", "--fd-limit", "1024"],
    loads: [["--requests", "1600"]],
  },
];

/**
 * Runs `fn` holding the machine-wide lab lock: `flock --no-fork` execs a shell that says so and then sleeps,
 * holding the lock until this script kills it (by its PID: the process it started).
 */
async function withLock<T>(fn: () => T): Promise<T> {
  const holder = spawn("flock", ["--no-fork", LOCK, "sh", "-c", "echo locked; exec sleep 3600"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(holder.stdout, "data")) as [Buffer];
  if (!chunk.toString().startsWith("locked")) throw new Error(`flock said: ${chunk.toString()}`);
  try {
    return fn();
  } finally {
    holder.kill();
    await once(holder, "exit");
  }
}

function run(args: string[], what: string): string {
  const r = spawnSync("nice", ["-n", "10", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return `${r.stdout}${r.stderr}`.trim();
}

const runbook = (args: string[], what: string) => run([process.execPath, "bin/runbook.js", ...args], what);

/** Idle of one socket from `ss -tnoi`: the time since it last sent or received anything (ms). */
function idleMs(info: string): number {
  const field = (name: string) => Number(new RegExp(`\\b${name}:(\\d+)`).exec(info)?.[1] ?? 0);
  return Math.min(field("lastsnd"), field("lastrcv"));
}

async function waitUntilIdle(port: number, thresholdMs: number): Promise<string> {
  const deadline = Date.now() + thresholdMs + 180_000;
  for (;;) {
    const r = spawnSync("ss", ["-tnoiH", "state", "established", `( sport = :${port} )`], {
      encoding: "utf8",
    });
    // ss prints each socket on two lines: the addresses, then its info, indented.
    const idles = r.stdout
      .split("\n")
      .filter((l) => /^\s/.test(l) && l.trim() !== "")
      .map(idleMs);
    const least = idles.length > 0 ? Math.min(...idles) : 0;
    if (idles.length > 0 && least > thresholdMs + 5000)
      return `${idles.length} ESTABLISHED connections on port ${port}, the least idle for ${least} ms`;
    if (Date.now() > deadline)
      throw new Error(`port ${port}: ${idles.length} connections, the least idle for only ${least} ms`);
    await sleep(2000);
  }
}

const threshold = runbookView(await loadRunbookDoc("api-unreachable")).probe.idleThresholdMs;
const only = process.argv.slice(2);
for (const c of RUNS.filter((r) => only.length === 0 || only.includes(r.name))) {
  process.stderr.write(`== ${c.name} (port ${c.port})\n`);
  const port = ["--port", String(c.port)];
  runbook(["lab", "down", ...port], "lab down");
  try {
    const loads = await withLock(() => {
      runbook(["lab", "up", ...c.up, ...port], "lab up");
      return c.loads.map((l) => runbook(["lab", "load", ...port, ...l], "lab load"));
    });
    // The idle wait holds no lock: the JVM and the silent clients use no CPU meanwhile.
    const idle = c.waitIdle ? await waitUntilIdle(c.port, threshold) : null;
    const t0 = new Date().toISOString();
    await withLock(() =>
      run(
        [process.execPath, "--import", "tsx", "scripts/capture-probe.ts", ...port, "--name", c.name],
        "capture",
      ),
    );
    writeFileSync(
      path.join(ROOT, "test/unit/parsers/captured", c.name, "CAPTURE.md"),
      `# ${c.name}\n\nREAL probe run (\`scripts/capture-probe.ts\`: the shipped runbook's parameters, no overrides) against the lab: ${c.what}.\n\n` +
        `- captured ${t0} by \`npx tsx scripts/capture-variants.ts ${c.name}\`\n` +
        `- lab: \`runbook lab up ${[...c.up, ...port].join(" ")}\`\n` +
        loads
          .map(
            (l, i) =>
              `- load: \`runbook lab load ${[...port, ...(c.loads[i] ?? [])].join(" ")}\` → ${l.split("\n")[0]}\n`,
          )
          .join("") +
        (idle ? `- waited (no traffic) until ${idle} (threshold ${threshold} ms)\n` : ""),
    );
    process.stderr.write(`  captured test/unit/parsers/captured/${c.name}\n`);
  } finally {
    runbook(["lab", "down", ...port], "lab down");
  }
}
