/**
 * Drives the reproduction lab into each scenario and captures the RAW outputs of the tools an
 * on-call engineer (and the probe) runs: ss, /proc, jcmd, jmap, jstack, jstat, a timed health
 * probe, the app log. Output: test/fixtures/raw/<scenario>/, with COMMANDS.md naming the exact
 * command behind each file, when it ran, its exit code and duration, and meta.json.
 *
 * Usage: npx tsx scripts/capture-fixtures.ts [scenario ...]   (default: all)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type LabUpOptions, type LoadResult, labDown, labLoad, labUp } from "../lab/index.js";
import type { LabLoadOptions } from "../lab/schema.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "test/fixtures/raw");
/** Files longer than this are cut to their first MAX_LINES lines (noted in COMMANDS.md). */
const MAX_LINES = 400;
/** Kept whole in every scenario (thread dumps are read as a whole). */
const ALWAYS_WHOLE = ["jstack.txt", "proc-fd.txt"];

interface Scenario {
  name: string;
  what: string;
  up: Omit<LabUpOptions, "port">;
  load: Omit<LabLoadOptions, "port"> | null;
  /** Keep these files whole even when long. */
  keepWhole?: string[];
  /** Seconds to wait after the load before capturing. */
  settleSeconds?: number;
  /**
   * Also run the probe itself (the runbook's defaults, no log path: it discovers the log) before the
   * other captures, into test/unit/parsers/captured/<name>/probe-stdout.txt (evidence fixture probe-<name>).
   */
  probeCapture?: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: "ws-leak-partial",
    what: "ws-leak, open-files limit 4096, 300 vanished WebSocket clients held: below the limit, attach works",
    up: { mode: "ws-leak", fdLimit: 4096 },
    load: { sessions: 300 },
    keepWhole: ["ss-tanoi.txt", "proc-fd.txt"],
  },
  {
    name: "ws-leak-exhausted",
    what: "ws-leak, open-files limit 1024, loaded until the server stopped accepting: fds at the limit, health times out, jcmd/jmap/jstack cannot attach",
    up: { mode: "ws-leak", fdLimit: 1024 },
    load: { sessions: 2000 },
    keepWhole: ["proc-fd.txt"],
  },
  {
    name: "ws-leak-oom",
    what: "ws-leak, -Xmx64m, 256 KiB per session, open-files limit 4096: the heap runs out before the fds; the JVM stays alive",
    up: { mode: "ws-leak", fdLimit: 4096, heapMb: 64, sessionBytes: 256 * 1024 },
    load: { sessions: 1000 },
    settleSeconds: 3,
  },
  {
    name: "file-leak",
    what: "file-leak, open-files limit 1024, GET /api/export until it fails: fds at the limit, most of them the same regular file",
    up: { mode: "file-leak", fdLimit: 1024 },
    load: { requests: 2000 },
    keepWhole: ["proc-fd.txt"],
  },
  {
    name: "slow",
    what: "slow, maxThreads 4, acceptCount 2, 8 hanging GET /api/slow held: request threads all taken, health times out, fds low",
    up: { mode: "slow" },
    load: {},
  },
  {
    name: "heap-leak",
    what: "heap-leak, -Xmx64m, a 256 KiB cart per HTTP session, cookie-less GET /api/cart until requests fail: the old generation full of carts, full GCs that free nothing, OutOfMemoryError in the log (found on the JVM's stdout)",
    up: { mode: "heap-leak", heapMb: 64, sessionBytes: 256 * 1024 },
    load: { requests: 5000 },
    settleSeconds: 2,
    probeCapture: "lab-heap-leak",
  },
  {
    name: "healthy",
    what: "healthy, 200 GET /api/export (each stream closed): nothing leaks",
    up: { mode: "healthy" },
    load: { requests: 200 },
  },
];

interface Capture {
  file: string;
  command: string;
  at: string;
  exitCode: number | null;
  durationMs: number;
  lines: number;
  keptLines: number;
}

function sh(command: string, timeoutSec = 90): { out: string; code: number | null; ms: number } {
  const t0 = Date.now();
  const r = spawnSync("bash", ["-c", command], {
    encoding: "utf8",
    timeout: timeoutSec * 1000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { out: (r.stdout ?? "") + (r.stderr ?? ""), code: r.status, ms: Date.now() - t0 };
}

function capture(dir: string, file: string, command: string, keepWhole: boolean, captures: Capture[]): void {
  const at = new Date().toISOString();
  const r = sh(command);
  const lines = r.out.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let kept = keepWhole ? lines : lines.slice(0, MAX_LINES);
  // A class histogram's last line is its Total: keep it when cutting.
  const last = lines.at(-1);
  if (kept.length < lines.length && last?.startsWith("Total ")) kept = [...kept, last];
  writeFileSync(path.join(dir, file), kept.length > 0 ? `${kept.join("\n")}\n` : "");
  captures.push({
    file,
    command,
    at,
    exitCode: r.code,
    durationMs: r.ms,
    lines: lines.length,
    keptLines: kept.length,
  });
  process.stderr.write(`  ${file}: exit ${r.code}, ${lines.length} lines, ${r.ms} ms\n`);
}

async function runScenario(s: Scenario, port: number): Promise<void> {
  const dir = path.join(OUT, s.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`== ${s.name} (port ${port})\n`);
  await labDown({ port });
  const state = await labUp({ ...s.up, port });
  const captures: Capture[] = [];
  let load: LoadResult | null = null;
  try {
    const upAt = new Date().toISOString();
    if (s.load) load = await labLoad({ ...s.load, port });
    const loadedAt = new Date().toISOString();
    const settleMs = (s.settleSeconds ?? 0) * 1000;
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    const pid = state.pid;
    const whole = (f: string) => ALWAYS_WHOLE.includes(f) || (s.keepWhole ?? []).includes(f);
    const c = (file: string, cmd: string) => capture(dir, file, cmd, whole(file), captures);
    if (s.probeCapture) {
      // The probe as the runbook runs it: only SSM_port (defaults for the rest, the log discovered).
      const t0 = Date.now();
      const r = spawnSync("bash", [path.join(ROOT, "runbooks/probes/api-unreachable.sh")], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SSM_port: String(port) },
        timeout: 120_000,
      });
      const captured = path.join(ROOT, "test/unit/parsers/captured", s.probeCapture);
      mkdirSync(captured, { recursive: true });
      writeFileSync(path.join(captured, "probe-stdout.txt"), r.stdout ?? "");
      process.stderr.write(
        `  probe: exit ${r.status}, ${Date.now() - t0} ms -> ${captured}/probe-stdout.txt\n`,
      );
    }
    // Outside-in first (no attach): the network, /proc, health, jstat (perf data, no attach).
    c(
      "health.txt",
      `curl -sS -o /dev/null -m 5 -w '%{http_code} %{time_total}\\n' http://127.0.0.1:${port}/health`,
    );
    c("ss-s.txt", "ss -s");
    c("ss-ltn.txt", `ss -ltn '( sport = :${port} )'`);
    c("ss-tanoi.txt", `ss -tanoi '( sport = :${port} )'`);
    c("proc-limits.txt", `cat /proc/${pid}/limits`);
    c("proc-fd-count.txt", `ls /proc/${pid}/fd | wc -l`);
    c("proc-fd.txt", `ls -l /proc/${pid}/fd`);
    c("jstat-gcutil.txt", `jstat -gcutil ${pid} 1000 2`);
    // Attach-based tools last: at the fd limit they fail (and each waits ~10 s for the attach).
    // Bounded by `timeout 30` as an operator would: at the limit an attach can also hang.
    c("jcmd-class-histogram.txt", `timeout 30 jcmd ${pid} GC.class_histogram`);
    c("jmap-histo-live.txt", `timeout 30 jmap -histo:live ${pid}`);
    c("jstack.txt", `timeout 30 jstack ${pid}`);
    c("app-log-head.txt", `head -n 30 ${state.logPath} | cut -c1-400`);
    c("app-log.txt", `tail -n 300 ${state.logPath} | cut -c1-400`);
    const meta = {
      scenario: s.name,
      description: s.what,
      port,
      pid,
      mode: state.mode,
      fdLimit: state.fdLimit,
      heapMb: state.heapMb,
      sessionBytes: state.sessionBytes,
      maxThreads: state.maxThreads,
      upAt,
      loadedAt,
      load,
      tomcat: (readFileSync(state.logPath, "utf8").match(/Server version name:\s+(.*)/) ?? [])[1] ?? null,
      java: sh("java -version 2>&1 | head -1").out.trim(),
      kernel: sh("uname -sr").out.trim(),
    };
    writeFileSync(path.join(dir, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileSync(path.join(dir, "COMMANDS.md"), commandsMd(s, meta, captures));
  } finally {
    await labDown({ port });
  }
}

function commandsMd(s: Scenario, meta: Record<string, unknown>, captures: Capture[]): string {
  const load = meta.load as LoadResult | null;
  const out = [
    `# ${s.name}`,
    "",
    s.what,
    "",
    `Captured by \`npx tsx scripts/capture-fixtures.ts ${s.name}\` on ${meta.kernel}, ${meta.java}, ${meta.tomcat}.`,
    "",
    `- lab: \`runbook lab up --mode ${meta.mode} --port ${meta.port} --fd-limit ${meta.fdLimit} --heap-mb ${meta.heapMb} --session-bytes ${meta.sessionBytes} --max-threads ${meta.maxThreads}\` (JVM pid ${meta.pid}, up at ${meta.upAt})`,
    load
      ? `- load: ${load.opened}/${load.requested} ${load.kind} opened, ${load.failed} failed, stopped: ${load.stoppedReason}${load.lastError ? ` (last error: ${load.lastError})` : ""}; finished at ${meta.loadedAt}`
      : "- load: none",
    "- every command ran with stdout and stderr into the file (`2>&1`); the exit code is recorded below.",
    `- files longer than ${MAX_LINES} lines are cut to their first ${MAX_LINES} lines (column \`kept/total lines\`), except ${[...new Set([...ALWAYS_WHOLE, ...(s.keepWhole ?? [])])].join(", ")}.`,
    "",
    "| file | command | started at (UTC) | exit | ms | kept/total lines |",
    "| --- | --- | --- | --- | --- | --- |",
    ...captures.map(
      (c) =>
        `| \`${c.file}\` | \`${c.command.replaceAll("|", "\\|")}\` | ${c.at} | ${c.exitCode ?? "timeout"} | ${c.durationMs} | ${c.keptLines}/${c.lines} |`,
    ),
    "",
  ];
  return out.join("\n");
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
if (unknown.length > 0) {
  process.stderr.write(`capture-fixtures: unknown scenario ${unknown.join(", ")}\n`);
  process.exit(2);
}
let port = 18090;
for (const s of SCENARIOS) {
  const p = port++;
  if (wanted.length > 0 && !wanted.includes(s.name)) continue;
  await runScenario(s, p);
}
