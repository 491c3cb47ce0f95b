/**
 * Captures the probe's real output from the lab in the process-down and disk-full modes (issue 13,
 * points 5 and 6): test/fixtures/probe/<mode>.txt (the probe's stdout) and test/fixtures/evidence/<mode>.json
 * (parsed). The probe runs as `runbook diagnose` runs it, with the runbook's defaults.
 *
 * Usage (root: memory cgroup, tmpfs): npx tsx scripts/capture-process-disk.ts [mode ...]
 * Order matters on a shared host: a trace (OOM kill, crash file) of one capture is the newest on the host
 * for the next, so `process-exited` goes first, on a host with no recent JVM trace.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive, labDown, labLoad, labUp } from "../lab/index.js";
import type { LabMode } from "../lab/schema.js";
import { parseProbeOutput } from "../lambdas/core/parsers/probe-output.js";
import { DEFAULT_REDACTION_RULES, encodeForProbe } from "../lambdas/core/redact/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MODES = ["process-exited", "process-crashed", "process-oom-killed", "disk-full"] as const;
const PORT = 20410;

async function capture(mode: (typeof MODES)[number]): Promise<void> {
  const lab = await labUp({ mode: mode as LabMode, port: PORT });
  try {
    const load = await labLoad({ port: PORT });
    console.error(`${mode}: load ${load.opened}/${load.requested}, ${load.stoppedReason}`);
    if (mode !== "disk-full") {
      const deadline = Date.now() + 60_000;
      while (isAlive(lab.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    }
    const r = spawnSync("bash", [path.join(ROOT, "runbooks/probes/api-unreachable.sh")], {
      encoding: "utf8",
      timeout: 90_000,
      env: {
        PATH: process.env.PATH ?? "",
        SSM_port: String(PORT),
        SSM_timeoutSeconds: "30",
        SSM_idleThresholdMs: "120000",
        SSM_histogramMode: "live",
        SSM_redactPatterns: encodeForProbe(DEFAULT_REDACTION_RULES),
      },
    });
    const parsed = parseProbeOutput(r.stdout, { target: "local" });
    if (!parsed.ok) throw parsed.error;
    mkdirSync(path.join(ROOT, "test/fixtures/probe"), { recursive: true });
    writeFileSync(path.join(ROOT, `test/fixtures/probe/${mode}.txt`), r.stdout);
    writeFileSync(
      path.join(ROOT, `test/fixtures/evidence/${mode}.json`),
      `${JSON.stringify(parsed.value, null, 2)}\n`,
    );
    console.error(`${mode}: captured (${r.stdout.length} characters, pid ${lab.pid})`);
  } finally {
    await labDown({ port: PORT });
  }
}

const wanted = process.argv.slice(2);
for (const mode of MODES) if (wanted.length === 0 || wanted.includes(mode)) await capture(mode);
