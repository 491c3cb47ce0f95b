/**
 * Real probe runs against the lab, kept as fixtures: starts the lab in a mode, breaks it, runs
 * runbooks/probes/api-unreachable.sh exactly as the local runner does (bash, SSM_* variables, the runbook's
 * defaults) and writes its stdout to test/unit/parsers/captured/<name>/probe-stdout.txt, with CAPTURE.md
 * saying how. `npx tsx scripts/make-evidence-fixtures.ts probe-<name>` then writes the Evidence fixture.
 *
 * Usage: npx tsx scripts/capture-probe-runs.ts [name ...]   (default: all; ports 20280-20289)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { labDown, labLoad, labUp } from "../lab/index.js";
import type { LabLoadOptions, LabUpOptions } from "../lab/schema.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "test/unit/parsers/captured");

interface Run {
  name: string;
  what: string;
  port: number;
  up: Omit<LabUpOptions, "port">;
  load: Omit<LabLoadOptions, "port">;
}

const RUNS: Run[] = [
  {
    name: "lab-close-wait",
    what: "close-wait mode, open-files limit 1024, GET /api/quote until the server fails: every call left its upstream socket in CLOSE-WAIT",
    port: 20280,
    up: { mode: "close-wait", fdLimit: 1024 },
    load: { requests: 2000 },
  },
  {
    name: "lab-listen-backlog",
    what: "listen-backlog mode (acceptCount 100): the acceptor stalled, clients arriving 20 a second, until 5 could not connect",
    port: 20281,
    up: { mode: "listen-backlog", fdLimit: 4096 },
    load: { maxSeconds: 120 },
  },
];

const only = process.argv.slice(2);
for (const run of RUNS.filter((r) => only.length === 0 || only.includes(r.name))) {
  process.stderr.write(`== ${run.name} (port ${run.port})\n`);
  await labDown({ port: run.port });
  const lab = await labUp({ ...run.up, port: run.port });
  try {
    const load = await labLoad({ ...run.load, port: run.port });
    const t0 = Date.now();
    const probe = spawnSync("bash", [path.join(ROOT, "runbooks/probes/api-unreachable.sh")], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        SSM_port: String(run.port),
        SSM_timeoutSeconds: "30",
        SSM_idleThresholdMs: "120000",
        SSM_histogramMode: "live",
      },
      encoding: "utf8",
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (probe.status !== 0) throw new Error(`probe exited ${probe.status}: ${probe.stderr}`);
    const dir = path.join(OUT, run.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "probe-stdout.txt"), probe.stdout);
    writeFileSync(
      path.join(dir, "CAPTURE.md"),
      `# ${run.name}\n\nREAL probe stdout (\`runbooks/probes/api-unreachable.sh\`, runbook defaults) against the lab: ${run.what}.\n\n` +
        `- captured ${new Date(t0).toISOString()} by \`npx tsx scripts/capture-probe-runs.ts ${run.name}\`, probe ${Date.now() - t0} ms\n` +
        `- lab: \`${JSON.stringify({ ...run.up, port: run.port })}\`, pid ${lab.pid}\n` +
        `- load: \`${JSON.stringify(run.load)}\` → ${load.opened} answered, ${load.failed} failed, ${load.stoppedReason}\n`,
    );
    process.stderr.write(`  wrote ${dir}/probe-stdout.txt (${probe.stdout.length} chars)\n`);
  } finally {
    await labDown({ port: run.port });
  }
}
