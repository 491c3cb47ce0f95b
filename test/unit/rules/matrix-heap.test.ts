import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Evidence, evidenceSchema } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { buildEvidence, data, setUnavailable } from "../../support/evidence-factory.js";
import { D, describeMatrix, type Expect, H, N, R, shippedRunbook } from "./helpers.js";

/**
 * Heap exhaustion on partial evidence (issue 13, "Evidence first"): every rule of the shipped runbook
 * against the heap cases, as in matrix.test.ts. Each case is a host whose heap is what stops it, seen
 * with less and less evidence: the GC history alone, OutOfMemoryError in a discovered log alone, a full
 * GC that just freed nothing, sessions counted on the heap.
 */
const runbook = shippedRunbook();
const ATTACH = "timed out: jcmd did not answer within its time box of 2s, short because the heap is full";

/** The API does not answer: the health probe times out. */
function down(e: Evidence) {
  e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 2001, detail: null };
}

const CASES = {
  // The example: old gen 98.8%, 90 full GCs (30 min of uptime), none during the 0.5 s sample, no log
  // given or found, the attach failed. It used to end in `unknown`.
  "jstat-only": buildEvidence("healthy", (e) => {
    Object.assign(data(e, "heap"), {
      oldGenPercent: 98.8,
      fullGcCount: 90,
      fullGcTimeSeconds: 41,
      fullGcDuringSample: 0,
      sampleIntervalMs: 500,
    });
    data(e, "process").uptimeSeconds = 1800;
    setUnavailable(e, "classHistogram", ATTACH);
    setUnavailable(e, "threads", ATTACH);
    setUnavailable(
      e,
      "logs",
      "no log path given (SSM_logPath is empty) and none found: fd 1: /dev/null (not a regular file); fd 2: /dev/null (not a regular file)",
    );
    down(e);
  }),
  // No perf data (-XX:-UsePerfData) and no attach: OutOfMemoryError in the log found on stdout decides it.
  "oom-in-discovered-log": buildEvidence("healthy", (e) => {
    setUnavailable(e, "heap", "no perf-data file for pid 4242 (JVM started with -XX:-UsePerfData)");
    setUnavailable(e, "classHistogram", ATTACH);
    setUnavailable(e, "threads", ATTACH);
    Object.assign(data(e, "logs"), {
      path: "/var/log/app/console.log",
      source: "stdout",
      why: "the process's stdout and stderr (fd 1 and 2) are this regular file",
      outOfMemoryError: 7,
      samples: ['Exception in thread "http-nio-8080-exec-3" java.lang.OutOfMemoryError: Java heap space'],
    });
    down(e);
  }),
  // A full GC ended 1.2 s before the sample and left the old generation full; the histogram names the filler.
  "full-gc-no-relief": buildEvidence("healthy", (e) => {
    Object.assign(data(e, "heap"), {
      oldGenPercent: 99.4,
      fullGcCount: 6,
      fullGcTimeSeconds: 3,
      fullGcDuringSample: 0,
      lastFullGcAgoMs: 1200,
    });
    data(e, "classHistogram").top = [
      { rank: 1, instances: 412_000, bytes: 39_552_000, className: "LabHeap$CartItem", module: null },
      { rank: 2, instances: 90_000, bytes: 9_000_000, className: "[B", module: "java.base" },
    ];
    data(e, "classHistogram").totalBytes = 60_000_000;
    down(e);
  }),
  // Sessions counted on a full heap, the connections young (not idle yet): the sessions fill the heap.
  "sessions-fill-heap": buildEvidence("ws-leak-partial", (e) => {
    const s = data(e, "sockets");
    s.idle = { ...s.idle, overThreshold: 0, maxIdleMs: 4_000 };
    Object.assign(data(e, "heap"), { oldGenPercent: 100, fullGcCount: 353, fullGcDuringSample: 2 });
    data(e, "logs").outOfMemoryError = 12;
    down(e);
  }),
  // Old generation full at one moment, but one full GC in a day and none recent: a healthy old generation
  // about to be collected, not exhaustion (the host answers).
  "old-gen-full-once": buildEvidence("healthy", (e) => {
    Object.assign(data(e, "heap"), {
      oldGenPercent: 96,
      fullGcCount: 1,
      fullGcDuringSample: 0,
      lastFullGcAgoMs: 3_600_000,
    });
  }),
} satisfies Record<string, Evidence>;
type CaseName = keyof typeof CASES;

const COLUMNS: CaseName[] = [
  "jstat-only",
  "oom-in-discovered-log",
  "full-gc-no-relief",
  "sessions-fill-heap",
  "old-gen-full-once",
];

// biome-ignore format: the matrix is a table
const MATRIX: Record<string, Expect[]> = {
  //                         jstat oom  nrel sess once
  "websocket-session-leak": [R,    R,   R,   H,   R],
  "file-handle-leak":       [R,    R,   R,   R,   R],
  "thread-pool-exhaustion": [D,    N,   R,   R,   R],
  "process-down":           [R,    R,   R,   R,   R],
  "disk-full":              [R,    R,   R,   R,   R],
  "fd-exhaustion":          [N,    R,   R,   R,   R],
  "heap-exhaustion":        [H,    H,   H,   H,   D],
  "load-balancer-path":     [R,    R,   R,   R,   H],
  "slow-database":          [N,    N,   R,   R,   R],
  "cpu-saturation":         [R,    R,   R,   R,   R],
  "framework-version":      [R,    R,   R,   R,   R],
  "close-wait-leak":        [R,    R,   R,   R,   R],
  "listen-backlog-overflow": [R,   R,   R,   R,   R],
  "ephemeral-port-exhaustion": [R, R,   R,   R,   R],
  "time-wait-flood":        [R,    R,   R,   R,   R],
  "conntrack-table-full":   [R,    R,   R,   R,   R],
  // Ruled out by the thread dump where there is one (no thread waits in a pool).
  "connection-pool-exhaustion": [N, N,  R,   R,   R],
};

const HEAP_VARIANT: Partial<Record<CaseName, string>> = {
  "jstat-only": "gc-history",
  "oom-in-discovered-log": "oom-in-log",
  "full-gc-no-relief": "full-gc-no-relief",
  "sessions-fill-heap": "sessions-fill-heap",
};

const ROOT_CAUSE: Record<CaseName, string> = {
  "jstat-only": "heap-exhaustion",
  "oom-in-discovered-log": "heap-exhaustion",
  "full-gc-no-relief": "heap-exhaustion",
  "sessions-fill-heap": "heap-exhaustion",
  "old-gen-full-once": "load-balancer-path",
};

describe("heap exhaustion on partial evidence: every rule × every heap case", () => {
  describeMatrix({
    runbook,
    cases: CASES,
    columns: COLUMNS,
    matrix: MATRIX,
    variant: (rule, caseName) => (rule === "heap-exhaustion" ? HEAP_VARIANT[caseName] : undefined),
    rootCause: ROOT_CAUSE,
  });
});

describe("heap exhaustion cites its evidence", () => {
  const finding = (c: CaseName) =>
    diagnose(CASES[c], runbook).findings.find((f) => f.id === "heap-exhaustion");

  it("from jstat alone: the GC history, and why no full GC was seen", () => {
    const f = finding("jstat-only");
    const text = f?.evidence.map((e) => e.text).join("\n") ?? "";
    expect(text).toMatch(/old generation 98\.8% full/);
    expect(text).toMatch(/90 full GCs since the JVM started 30\.0 min ago/);
    expect(text).toMatch(/180 full GCs per hour of uptime/);
    expect(f?.caveats.join(" ")).toMatch(/No full GC ran during the probe's short sample/);
    expect(f?.confidence).toBe(0.8);
  });

  it("from the log alone: the log read and how it was found", () => {
    const f = finding("oom-in-discovered-log");
    const text = f?.evidence.map((e) => e.text).join("\n") ?? "";
    expect(text).toMatch(/7 OutOfMemoryError lines in the log/);
    expect(text).toMatch(/log read: \/var\/log\/app\/console\.log \(stdout\)/);
  });

  it("what fills the heap: the largest class of the histogram", () => {
    const text =
      finding("full-gc-no-relief")
        ?.evidence.map((e) => e.text)
        .join("\n") ?? "";
    expect(text).toMatch(/largest class on the heap: LabHeap\$CartItem \(66% of the bytes/);
    expect(text).toMatch(/the last full GC ended 1\.2 s before the sample/);
  });

  it("sessions on a full heap: the WsSession count is the summary's subject", () => {
    expect(finding("sessions-fill-heap")?.summary).toMatch(
      /WebSocket sessions fill the heap: 301 WsSession objects/,
    );
  });
});

describe("the probe's own run on the heap-leak lab (test/fixtures/evidence/probe-lab-heap-leak.json)", () => {
  const evidence = evidenceSchema.parse(
    JSON.parse(
      readFileSync(new URL("../../fixtures/evidence/probe-lab-heap-leak.json", import.meta.url), "utf8"),
    ),
  );

  it("found the log on the JVM's stdout, kept the attach short because the heap was full, and says so", () => {
    expect(evidence.logs).toMatchObject({
      status: "ok",
      data: { source: "stdout", why: "the process's stdout and stderr (fd 1 and 2) are this regular file" },
    });
    expect(evidence.collector.attach).toEqual({
      boxSeconds: 2,
      why: "the heap is full (old generation 100.00% during a full GC)",
    });
    // A full GC was running at the last sample.
    expect(evidence.heap.status === "ok" && evidence.heap.data.lastFullGcAgoMs).toBe(0);
    expect(evidence.health.outcome).toBe("timeout");
  });

  it("heap exhaustion, citing what fills the heap: the carts", () => {
    const f = diagnose(evidence, runbook).findings.find((x) => x.id === "heap-exhaustion");
    const text = f?.evidence.map((e) => e.text).join("\n") ?? "";
    expect(text).toMatch(
      /largest class on the heap: HeapLeak\$CartItem \(8\d% of the bytes in the histogram\)/,
    );
    expect(text).toMatch(/11 OutOfMemoryError lines in the log/);
  });
});
