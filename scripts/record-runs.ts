/**
 * Records real `runbook run api-unreachable` executions against the reproduction lab, one scenario per
 * outcome, and keeps each execution record as a postmortem fixture:
 * test/fixtures/records/recorded/<scenario>.json.
 *
 * Usage: npx tsx scripts/record-runs.ts [scenario ...]   (default: all; ports 18240-18249)
 *
 * The lab runs Tomcat with a 1 s keep-alive and the runbook is told so (`--threshold httpKeepAliveMs=1000`,
 * idle means 2 s), exactly as in test/e2e/run.test.ts. Machine-specific strings in the record (the
 * temporary out dir, the repository path, also inside `file://` URIs, the host name) are replaced by stable
 * placeholders (`$OUT`, `$REPO`, `$HOSTNAME`), so the fixtures do not depend on where they were made.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { labDown, labLoad, labUp } from "../lab/index.js";
import { incidentRecordSchema } from "../lambdas/core/incident/schema.js";
import { BIN, type CliRun, incidentIdFrom, REPO, runCli, sleep } from "../test/support/cli.js";

const OUT = join(REPO, "test/fixtures/records/recorded");
const FAST = ["--idle-threshold-seconds", "2", "--threshold", "httpKeepAliveMs=1000"];

interface Recorded {
  readonly scenario: string;
  readonly run: CliRun;
  readonly outDir: string;
}

interface Scenario {
  readonly name: string;
  readonly what: string;
  /** Runs the scenario; returns the runs whose records to keep (name -> run). */
  readonly run: () => Promise<Recorded[]>;
}

async function runbook(
  scenario: string,
  port: number,
  extra: readonly string[],
  opts: { logPath?: string; outDir?: string; signalWhen?: RegExp } = {},
): Promise<Recorded> {
  const outDir = opts.outDir ?? mkdtempSync(join(tmpdir(), "runbook-rec-"));
  const args = ["run", "api-unreachable", "--port", String(port), "--out", outDir, ...FAST, ...extra];
  if (opts.logPath) args.push("--log-path", opts.logPath);
  const run = await runCli(args, {
    timeoutMs: 240_000,
    ...(opts.signalWhen === undefined ? {} : { signal: "SIGINT", signalWhen: opts.signalWhen }),
  });
  process.stderr.write(`  ${scenario}: exit ${run.code} in ${run.ms} ms\n`);
  return { scenario, run, outDir };
}

/** ws-leak loaded until the server stops accepting (fd limit 1024), as in test/e2e/run.test.ts. */
async function wsLeakAtLimit(port: number) {
  const lab = await labUp({ mode: "ws-leak", port, fdLimit: 1024, keepAliveMs: 1000 });
  const load = await labLoad({ port, sessions: 2000 });
  if (load.stoppedReason !== "server-stopped-accepting")
    throw new Error(`ws-leak on ${port}: load ended with ${load.stoppedReason}, not at the fd limit`);
  await sleep(2500);
  return lab;
}

async function withLab<T>(port: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await labDown({ port });
  }
}

const SCENARIOS: Scenario[] = [
  {
    name: "ws-leak",
    what: "ws-leak at the fd limit, --mode auto: recovered in place by kill-idle-connections; run again inside the cooldown",
    run: () =>
      withLab(18240, async () => {
        const lab = await wsLeakAtLimit(18240);
        const outDir = mkdtempSync(join(tmpdir(), "runbook-rec-"));
        const recovered = await runbook("ws-leak-recovered", 18240, ["--mode", "auto"], {
          logPath: lab.logPath,
          outDir,
        });
        await labLoad({ port: 18240, sessions: 2000 });
        await sleep(2500);
        const cooldown = await runbook("ws-leak-cooldown", 18240, ["--mode", "auto"], {
          logPath: lab.logPath,
          outDir,
        });
        return [recovered, cooldown];
      }),
  },
  {
    name: "ws-leak-plan",
    what: "ws-leak at the fd limit, --mode plan: the plan is printed, nothing changes",
    run: () =>
      withLab(18241, async () => {
        const lab = await wsLeakAtLimit(18241);
        return [await runbook("ws-leak-plan", 18241, ["--mode", "plan"], { logPath: lab.logPath })];
      }),
  },
  {
    name: "ws-leak-declined",
    what: "ws-leak at the fd limit, --mode approve with no terminal to ask on: the first rung is declined, nothing changes",
    run: () =>
      withLab(18247, async () => {
        const lab = await wsLeakAtLimit(18247);
        return [await runbook("ws-leak-declined", 18247, ["--mode", "approve"], { logPath: lab.logPath })];
      }),
  },
  {
    name: "file-leak",
    what: "file-leak at the fd limit: escalated without a restart command, restarted with one",
    run: () =>
      withLab(18242, async () => {
        const port = 18242;
        const lab = await labUp({ mode: "file-leak", port, fdLimit: 1024 });
        await labLoad({ port, requests: 1500 });
        const escalated = await runbook("file-leak-escalated", port, ["--mode", "auto"], {
          logPath: lab.logPath,
        });
        const restart = `node ${BIN} lab up --mode file-leak --port ${port} --fd-limit 1024`;
        const restarted = await runbook(
          "file-leak-restarted",
          port,
          ["--mode", "auto", "--restart-command", restart],
          { logPath: lab.logPath },
        );
        return [escalated, restarted];
      }),
  },
  {
    name: "slow",
    what: "slow: every request thread blocked; no restart command, so the ladder escalates",
    run: () =>
      withLab(18243, async () => {
        const port = 18243;
        const lab = await labUp({ mode: "slow", port, fdLimit: 4096 });
        await labLoad({ port });
        await sleep(1500);
        return [await runbook("slow-escalated", port, ["--mode", "auto"], { logPath: lab.logPath })];
      }),
  },
  {
    name: "healthy",
    what: "healthy: the host answers; load-balancer-path, nothing changed (not-down)",
    run: () =>
      withLab(18244, async () => {
        const port = 18244;
        const lab = await labUp({ mode: "healthy", port, fdLimit: 4096 });
        // The first JVM attach creates the JVM's attach listener; take it before the run, as the e2e test does.
        await runCli(["diagnose", "--port", String(port)]);
        return [await runbook("healthy-not-down", port, ["--mode", "auto"], { logPath: lab.logPath })];
      }),
  },
  {
    name: "process-down",
    what: "nothing listens on the port",
    run: async () => [await runbook("process-down", 18245, ["--mode", "auto"])],
  },
  {
    name: "interrupted",
    what: "ws-leak at the fd limit, SIGINT once the CLI announces the incident (during collect)",
    run: () =>
      withLab(18246, async () => {
        const lab = await wsLeakAtLimit(18246);
        return [
          await runbook("ws-leak-interrupted", 18246, ["--mode", "auto"], {
            logPath: lab.logPath,
            signalWhen: /incident inc-[A-Za-z0-9-]+/,
          }),
        ];
      }),
  },
];

/**
 * Replaces machine-specific strings everywhere in the record's JSON text: the run's out dir (`$OUT`,
 * also inside `file://` URIs), the repository (`$REPO`, e.g. the lab's app.log) and the host name
 * (`$HOSTNAME`, only as a whole JSON string), mktemp names of the action scripts (`$TMP/runbook-restart.XXXXXX`).
 * Paths the JVM itself uses (`/tmp/.java_pid<pid>`) are kept.
 */
export function normalise(text: string, outDir: string): string {
  const swaps: [string, string][] = [
    [outDir.replace(/\/$/, ""), "$OUT"],
    [REPO.replace(/\/$/, ""), "$REPO"],
  ];
  let out = text;
  for (const [from, to] of swaps) out = out.split(from).join(to);
  // mktemp files of the action scripts (e.g. the restart command's log): random suffix.
  out = out.replace(/\/tmp\/(runbook-[a-z-]+)\.[A-Za-z0-9]{6,}/g, "$$TMP/$1.XXXXXX");
  const host = hostname();
  if (host) out = out.split(JSON.stringify(host)).join(JSON.stringify("$HOSTNAME"));
  return out;
}

function keep(r: Recorded): string {
  const id = incidentIdFrom(r.run.stderr);
  const text = readFileSync(join(r.outDir, id, "incident.json"), "utf8");
  const normalised = normalise(text, r.outDir);
  const record = incidentRecordSchema.parse(JSON.parse(normalised));
  const path = join(OUT, `${r.scenario}.json`);
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  return `${path}: ${record.status} (exit ${r.run.code}, ${r.run.ms} ms)`;
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
if (unknown.length) {
  process.stderr.write(
    `record-runs: unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}\n`,
  );
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });
for (const s of SCENARIOS.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  process.stderr.write(`${s.name}: ${s.what}\n`);
  const runs = await s.run();
  for (const r of runs) process.stdout.write(`${keep(r)}\n`);
  for (const dir of new Set(runs.map((r) => r.outDir))) rmSync(dir, { recursive: true, force: true });
}
