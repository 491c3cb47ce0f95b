/**
 * Benchmarks 1 and 4a: `runbook diagnose` on the exhausted ws-leak lab.
 * - wall time of 5 runs (min/median/max; target: median < 5 s) and the probe's own
 *   evidence.collector.durationMs;
 * - peak RSS of the diagnose process (target < 256 MiB): VmHWM of the node process itself, read at
 *   exit by a preloaded hook (bench/rss-hook.mjs); plus, as a cross-check, GNU time's "Maximum
 *   resident set size" of one more run (the largest process of the tree, which includes the probe's
 *   children such as jcmd).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labDown, labLoad, labUp } from "../lab/index.js";
import { runProbe } from "../test/unit/probe/probe-harness.js";
import { bounded, failed, info, median, mib, ms, type Row, sec } from "./table.js";

export const LAB_PORT = 18250;
export const RUNS = 5;
export const DIAGNOSE_MEDIAN_LIMIT_MS = 5_000;
export const RSS_LIMIT_BYTES = 256 * 1024 * 1024;
const REPO = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(REPO, "bin/runbook.js");
const HOOK = join(REPO, "bench/rss-hook.mjs");
const GNU_TIME = "/usr/bin/time";
const B1 = "1 diagnose (ws-leak lab)";
const B4 = "4 memory: diagnose";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const kill = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export function diagnoseArgs(port: number): string[] {
  return [
    "diagnose",
    "--port",
    String(port),
    "--output",
    "json",
    "--idle-threshold-seconds",
    "2",
    "--threshold",
    "httpKeepAliveMs=1000",
  ];
}

interface DiagnoseJson {
  rootCause: { id: string };
  evidence: { collector: { durationMs: number; outputChars: number } };
}

function parseDiagnose(r: Run): DiagnoseJson {
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
  return JSON.parse(r.stdout) as DiagnoseJson;
}

export interface LabDiagnoseResult {
  readonly rows: Row[];
  /** One probe stdout taken directly (bash + SSM_* variables) on the exhausted lab, for benchmark 3. */
  readonly probeStdout: string | null;
}

export async function benchLabDiagnose(log: (s: string) => void): Promise<LabDiagnoseResult> {
  const rows: Row[] = [];
  let probeStdout: string | null = null;
  const tmp = mkdtempSync(join(tmpdir(), "runbook-bench-"));
  try {
    log(`lab: up ws-leak on ${LAB_PORT} (fd limit 1024, keep-alive 1 s)`);
    const lab = await labUp({ mode: "ws-leak", port: LAB_PORT, fdLimit: 1024, keepAliveMs: 1000 });
    const load = await labLoad({ port: LAB_PORT, sessions: 2000 });
    log(`lab: ${load.opened} sessions opened, ${load.stoppedReason}; waiting 2.5 s`);
    if (load.stoppedReason !== "server-stopped-accepting")
      throw new Error(`the lab did not reach its fd limit (${load.stoppedReason}, ${load.opened} opened)`);
    await new Promise((r) => setTimeout(r, 2500));

    const walls: number[] = [];
    const probes: number[] = [];
    const rss: number[] = [];
    const roots = new Set<string>();
    for (let i = 1; i <= RUNS; i++) {
      const rssFile = join(tmp, `rss-${i}`);
      const r = await run(
        process.execPath,
        ["--import", HOOK, BIN, ...diagnoseArgs(LAB_PORT)],
        { BENCH_RSS_FILE: rssFile },
        90_000,
      );
      const json = parseDiagnose(r);
      walls.push(r.ms);
      probes.push(json.evidence.collector.durationMs);
      roots.add(json.rootCause.id);
      if (existsSync(rssFile)) rss.push(Number(readFileSync(rssFile, "utf8")) * 1024);
      log(
        `lab: diagnose run ${i}/${RUNS}: ${Math.round(r.ms)} ms, probe ${json.evidence.collector.durationMs} ms`,
      );
    }
    rows.push(
      info(B1, `root cause named (${RUNS} runs)`, [...roots].join(", ")),
      info(B1, "wall time min", sec(Math.min(...walls))),
      bounded(B1, "wall time median", median(walls), DIAGNOSE_MEDIAN_LIMIT_MS, sec),
      info(B1, "wall time max", sec(Math.max(...walls))),
      info(B1, "probe evidence.collector.durationMs (median)", ms(median(probes))),
      info(B1, "probe durationMs min / max", `${ms(Math.min(...probes))} / ${ms(Math.max(...probes))}`),
    );

    if (rss.length === RUNS)
      rows.push(
        bounded(
          B4,
          "peak RSS of the diagnose process (VmHWM, max of runs)",
          Math.max(...rss),
          RSS_LIMIT_BYTES,
          mib,
        ),
      );
    else rows.push(failed(B4, `peak RSS (VmHWM) read for ${rss.length} of ${RUNS} runs`));

    if (existsSync(GNU_TIME)) {
      const r = await run(GNU_TIME, ["-v", process.execPath, BIN, ...diagnoseArgs(LAB_PORT)], {}, 90_000);
      const kib = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
      if (r.code === 0 && kib)
        rows.push(
          bounded(
            B4,
            "max RSS, /usr/bin/time -v (largest process of the tree)",
            Number(kib) * 1024,
            RSS_LIMIT_BYTES,
            mib,
          ),
        );
      else
        rows.push(failed(B4, `/usr/bin/time -v diagnose exited ${r.code}: ${r.stderr.trim().slice(-200)}`));
    } else {
      rows.push(
        info(B4, "/usr/bin/time -v cross-check", "skipped: /usr/bin/time missing (apt-get install time)"),
      );
    }

    // A real probe stdout of this incident for the parse + diagnose throughput (benchmark 3).
    const probe = runProbe(
      {
        port: String(LAB_PORT),
        pid: "",
        healthPath: "/health",
        logPath: lab.logPath,
        rawDir: "",
        timeoutSeconds: "30",
        idleThresholdMs: "2000",
        histogramMode: "live",
      },
      60_000,
    );
    if (probe.status === 0) probeStdout = probe.stdout;
    else log(`lab: direct probe run exited ${probe.status}; benchmark 3 goes without it`);
    return { rows, probeStdout };
  } finally {
    log(`lab: down ${LAB_PORT}`);
    await labDown({ port: LAB_PORT }).catch((e: unknown) => log(`lab: down failed: ${String(e)}`));
    rmSync(tmp, { recursive: true, force: true });
  }
}
