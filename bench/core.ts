/**
 * Benchmark 3: the pure core's throughput, in process.
 * - diagnose(evidence, runbook) over the evidence fixtures (test/fixtures/evidence/*.json): µs per diagnosis;
 * - parseProbeOutput + diagnose over real probe stdouts: the recorded captures
 *   (test/unit/parsers/captured/<name>/probe-stdout.txt, when present) and the ones this bench run
 *   took itself (the 10k-socket probe of benchmark 2, the exhausted lab of benchmark 1);
 * - buildPostmortem + renderPostmortem per record (test/fixtures/records/*.json): ms per postmortem.
 * Benchmark 4b (heap of parseSs on a synthetic 10,000-socket `ss -tanoi`) runs in a child process
 * with --expose-gc (bench/ss-heap.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPostmortemKnowledge } from "../lambdas/adapters/local/knowledge-loader.js";
import { loadPostmortemTemplates } from "../lambdas/adapters/local/template-loader.js";
import { type Evidence, evidenceSchema } from "../lambdas/core/evidence/schema.js";
import { type IncidentRecord, incidentRecordSchema } from "../lambdas/core/incident/schema.js";
import { parseProbeOutput } from "../lambdas/core/parsers/index.js";
import { buildPostmortem } from "../lambdas/core/postmortem/build-postmortem.js";
import { renderPostmortem } from "../lambdas/core/postmortem/render-postmortem.js";
import { diagnose } from "../lambdas/core/rules/engine.js";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { bounded, info, kib, mib, ms, ms2, type Row, us } from "./table.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = join(REPO, "test/fixtures");
const CAPTURED = join(REPO, "test/unit/parsers/captured");

/** Targets (see docs/benchmarks.md for why). */
export const DIAGNOSIS_LIMIT_US = 5_000;
export const PARSE_DIAGNOSE_LIMIT_US = 50_000;
export const POSTMORTEM_LIMIT_MS = 250;
export const SS_HEAP_LIMIT_BYTES = 64 * 1024 * 1024;
export const SS_SOCKETS = 10_000;

const B3 = "3 core throughput";
const B4 = "4 memory: parseSs";

/** Mean time per call of `fn` after a warm-up, bounded in time (~`budgetMs`) and in count. */
function perCall(fn: () => void, budgetMs: number, maxCalls = 200_000): { meanMs: number; calls: number } {
  for (let i = 0; i < 5; i++) fn();
  let calls = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs && calls < maxCalls) {
    fn();
    calls++;
    elapsed = performance.now() - started;
  }
  return { meanMs: elapsed / calls, calls };
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(dir, f));
}

function capturedProbeStdouts(): Array<{ name: string; text: string }> {
  if (!existsSync(CAPTURED)) return [];
  return readdirSync(CAPTURED, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(CAPTURED, d.name, "probe-stdout.txt")))
    .map((d) => ({
      name: `captured/${d.name}`,
      text: readFileSync(join(CAPTURED, d.name, "probe-stdout.txt"), "utf8"),
    }));
}

export async function benchCore(
  liveProbeStdouts: ReadonlyArray<{ name: string; text: string }>,
  log: (s: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const runbookPath = join(REPO, "runbooks/api-unreachable.yaml");
  const rb = parseRunbook(readFileSync(runbookPath, "utf8"), "runbooks/api-unreachable.yaml");
  if (!rb.ok) throw rb.error;
  const runbook = rb.value;

  // diagnose over the evidence fixtures
  const evidence: Evidence[] = jsonFiles(join(FIXTURES, "evidence")).map((f) =>
    evidenceSchema.parse(JSON.parse(readFileSync(f, "utf8"))),
  );
  if (evidence.length === 0) throw new Error("no evidence fixtures in test/fixtures/evidence");
  const d = perCall(() => {
    for (const e of evidence) diagnose(e, runbook);
  }, 1_500);
  log(`core: diagnose ×${d.calls * evidence.length}`);
  rows.push(
    bounded(
      B3,
      `diagnose, ${evidence.length} evidence fixtures (per diagnosis)`,
      (d.meanMs * 1000) / evidence.length,
      DIAGNOSIS_LIMIT_US,
      us,
    ),
  );

  // parseProbeOutput + diagnose over real probe stdouts
  const stdouts = [...capturedProbeStdouts(), ...liveProbeStdouts];
  if (stdouts.length === 0) {
    rows.push(info(B3, "parseProbeOutput + diagnose", "skipped: no probe stdout recorded or taken"));
  }
  for (const s of stdouts) {
    const first = parseProbeOutput(s.text, { target: "local" });
    if (!first.ok) throw new Error(`${s.name}: ${first.error.message}`);
    const p = perCall(() => {
      const r = parseProbeOutput(s.text, { target: "local" });
      if (r.ok) diagnose(r.value, runbook);
    }, 750);
    log(`core: parse+diagnose ${s.name} ×${p.calls}`);
    rows.push(
      bounded(
        B3,
        `parseProbeOutput + diagnose, ${s.name} (${s.text.length.toLocaleString("en-US")} chars)`,
        p.meanMs * 1000,
        PARSE_DIAGNOSE_LIMIT_US,
        us,
      ),
    );
  }

  // buildPostmortem + renderPostmortem per record
  const templates = await loadPostmortemTemplates();
  const knowledge = await loadPostmortemKnowledge();
  const records: IncidentRecord[] = jsonFiles(join(FIXTURES, "records")).map((f) =>
    incidentRecordSchema.parse(JSON.parse(readFileSync(f, "utf8"))),
  );
  if (records.length === 0) throw new Error("no records in test/fixtures/records");
  let worst = { name: "", meanMs: 0 };
  const all = perCall(
    () => {
      for (const r of records) renderPostmortem(buildPostmortem(r, { knowledge }), templates);
    },
    3_000,
    2_000,
  );
  for (const r of records) {
    const one = perCall(() => renderPostmortem(buildPostmortem(r, { knowledge }), templates), 300, 500);
    if (one.meanMs > worst.meanMs) worst = { name: r.incidentId, meanMs: one.meanMs };
  }
  log(`core: postmortems ×${all.calls * records.length}`);
  rows.push(
    bounded(
      B3,
      `buildPostmortem + renderPostmortem, ${records.length} records (mean)`,
      all.meanMs / records.length,
      POSTMORTEM_LIMIT_MS,
      ms2,
    ),
    bounded(B3, `  slowest record (${worst.name})`, worst.meanMs, POSTMORTEM_LIMIT_MS, ms2),
  );
  return rows;
}

export function benchSsHeap(log: (s: string) => void): Row[] {
  log(`memory: parseSs on a synthetic ${SS_SOCKETS}-socket ss -tanoi (child process, --expose-gc)`);
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(REPO, "bench/ss-heap.ts"), String(SS_SOCKETS)],
    { cwd: REPO, encoding: "utf8", timeout: 60_000 },
  );
  if (r.status !== 0)
    throw new Error(`bench/ss-heap.ts exited ${r.status}: ${(r.stderr ?? "").trim().slice(-300)}`);
  const m = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as {
    sockets: number;
    textChars: number;
    established: number;
    parseMs: number;
    heapGrowthBytes: number;
    retainedBytes: number;
  };
  if (m.established !== SS_SOCKETS)
    throw new Error(`parseSs counted ${m.established} of ${SS_SOCKETS} ESTABLISHED`);
  return [
    info(B4, "synthetic ss -tanoi text", `${m.sockets.toLocaleString("en-US")} sockets, ${kib(m.textChars)}`),
    bounded(B4, "heap growth during parseSs (no forced GC)", m.heapGrowthBytes, SS_HEAP_LIMIT_BYTES, mib),
    info(B4, "heap retained by the parse result (after full GC)", mib(m.retainedBytes)),
    info(B4, "parseSs time", ms(m.parseMs)),
  ];
}
