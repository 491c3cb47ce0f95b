import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Evidence, evidenceSchema } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { buildEvidence, data, setUnavailable } from "../../support/evidence-factory.js";
import { D, describeMatrix, type Expect, H, N, R, shippedRunbook } from "./helpers.js";

/**
 * Compliance matrices (cdk-nag style): every rule of the shipped runbook against every evidence case.
 * HOLDS = a variant holds (hypotheses: contributing); RULED_OUT = its ruledOutBy holds;
 * DOES_NOT_HOLD = evaluated, false, not ruled out; NOT_APPLICABLE = not evaluated (evidence missing).
 */
const runbook = shippedRunbook();

const ATTACH = "Unable to open socket file /tmp/.java_pid4242: target process doesn't respond";

const CASES = {
  healthy: buildEvidence("healthy"),
  "ws-leak-at-limit": buildEvidence("ws-leak-at-limit"),
  "ws-leak-attach-failed": buildEvidence("ws-leak-attach-failed"),
  "ws-leak-partial": buildEvidence("ws-leak-partial"),
  "ws-leak-oom": buildEvidence("ws-leak-oom"),
  "file-leak": buildEvidence("file-leak"),
  slow: buildEvidence("slow"),
  "process-down": buildEvidence("process-down"),
  // The lab's exhausted capture: attach fails at the limit, connections only seconds old.
  "ws-young-at-limit": buildEvidence("ws-leak-attach-failed", (e) => {
    const s = data(e, "sockets");
    Object.assign(s, { established: 191, total: 199, byState: { ESTAB: 191, "CLOSE-WAIT": 8 } });
    s.idle = { ...s.idle, overThreshold: 0, maxIdleMs: 12_908 };
    data(e, "fds").byKind = { socket: 1012, file: 8, pipe: 2, anonInode: 2, other: 0 };
  }),
  // Sessions counted, but not idle beyond the threshold yet.
  "ws-not-idle": buildEvidence("ws-leak-partial", (e) => {
    const s = data(e, "sockets");
    s.idle = { ...s.idle, overThreshold: 0, maxIdleMs: 850 };
  }),
  // Bugzilla 64848 pattern: sessions outlive their connections and fill the heap.
  "sessions-on-heap": buildEvidence("healthy", (e) => {
    data(e, "classHistogram").watched[0] = {
      className: "org.apache.tomcat.websocket.WsSession",
      instances: 1500,
      bytes: 228_000,
    };
    Object.assign(data(e, "sockets"), { established: 40, total: 42, byState: { ESTAB: 40, "TIME-WAIT": 2 } });
    Object.assign(data(e, "heap"), { oldGenPercent: 97, fullGcDuringSample: 2, fullGcCount: 30 });
    data(e, "tomcat").version = "9.0.36";
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 5001 };
  }),
  // At the limit with a mix of fd kinds and no histogram: the symptom holds, no cause does.
  "fd-limit-mixed": buildEvidence("healthy", (e) => {
    Object.assign(data(e, "fds"), {
      open: 1000,
      byKind: { socket: 400, file: 400, pipe: 100, anonInode: 100, other: 0 },
    });
    Object.assign(data(e, "sockets"), { established: 50, total: 52, byState: { ESTAB: 50, "TIME-WAIT": 2 } });
    setUnavailable(e, "classHistogram", ATTACH);
    data(e, "logs").tooManyOpenFiles = 5;
    e.health = { ...e.health, outcome: "timeout", httpStatus: null, latencyMs: 5001 };
  }),
  "healthy-no-logs": buildEvidence("healthy", (e) => setUnavailable(e, "logs", "no log path given")),
  "healthy-no-threads": buildEvidence("healthy", (e) => setUnavailable(e, "threads", ATTACH)),
  "healthy-no-tomcat": buildEvidence("healthy", (e) => setUnavailable(e, "tomcat", "no tomcat jar found")),
  "healthy-unlimited-fds": buildEvidence("healthy", (e) => {
    data(e, "fds").limitSoft = null;
  }),
} satisfies Record<string, Evidence>;
type CaseName = keyof typeof CASES;

// Columns, in this order:
const COLUMNS: CaseName[] = [
  "healthy",
  "ws-leak-at-limit",
  "ws-leak-attach-failed",
  "ws-leak-partial",
  "ws-leak-oom",
  "file-leak",
  "slow",
  "process-down",
  "ws-young-at-limit",
  "ws-not-idle",
  "sessions-on-heap",
  "fd-limit-mixed",
  "healthy-no-logs",
  "healthy-no-threads",
  "healthy-no-tomcat",
  "healthy-unlimited-fds",
];

// biome-ignore format: the matrix is a table
const MATRIX: Record<string, Expect[]> = {
  //                         heal ws@l ws-a ws-p oom  file slow down youn noid heap mixd nlog nthr ntom unlim
  "websocket-session-leak": [R,   H,   H,   H,   H,   R,   R,   R,   H,   H,   H,   R,   R,   R,   R,   R],
  "file-handle-leak":       [R,   R,   R,   R,   R,   H,   R,   N,   R,   R,   R,   D,   R,   R,   R,   R],
  "thread-pool-exhaustion": [R,   R,   D,   R,   D,   R,   H,   D,   D,   R,   R,   R,   R,   D,   R,   R],
  "process-down":           [R,   R,   R,   R,   R,   R,   R,   H,   R,   R,   R,   R,   R,   R,   R,   R],
  "disk-full":              [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "fd-exhaustion":          [R,   H,   H,   R,   D,   H,   R,   N,   H,   R,   R,   H,   N,   R,   R,   R],
  "heap-exhaustion":        [R,   R,   R,   R,   H,   R,   R,   N,   R,   R,   H,   R,   R,   R,   R,   R],
  "load-balancer-path":     [H,   R,   R,   H,   R,   R,   R,   R,   R,   H,   R,   R,   H,   H,   H,   H],
  "slow-database":          [R,   R,   N,   R,   N,   R,   H,   N,   N,   R,   R,   R,   R,   N,   R,   R],
  "cpu-saturation":         [R,   R,   R,   R,   R,   R,   R,   N,   R,   R,   R,   R,   R,   R,   R,   R],
  "framework-version":      [R,   H,   H,   R,   R,   R,   R,   N,   H,   R,   H,   R,   R,   R,   N,   R],
  // Socket classes and outbound exhaustion: ruled out with evidence in every case here (their own cases:
  // matrix-sockets.test.ts).
  "close-wait-leak":        [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "listen-backlog-overflow":[R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "ephemeral-port-exhaustion":[R, R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "time-wait-flood":        [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  "conntrack-table-full":   [R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R,   R],
  // Ruled out by the thread dump (no thread waits in a pool) wherever there is one; its own cases and the
  // Jetty leak: matrix-pool-jetty.test.ts.
  "connection-pool-exhaustion":
                            [R,   R,   N,   R,   N,   R,   R,   N,   N,   R,   R,   R,   R,   N,   R,   R],
};

const VARIANTS: Partial<Record<CaseName, string>> = {
  "ws-leak-at-limit": "with-histogram",
  "ws-leak-attach-failed": "without-attach",
  "ws-leak-partial": "with-histogram",
  "ws-leak-oom": "without-attach",
  "ws-young-at-limit": "without-attach-at-limit",
  "ws-not-idle": "with-histogram-not-idle",
  "sessions-on-heap": "sessions-outlive-connections",
};

const ROOT_CAUSE: Record<CaseName, string> = {
  healthy: "load-balancer-path",
  "ws-leak-at-limit": "websocket-session-leak",
  "ws-leak-attach-failed": "websocket-session-leak",
  "ws-leak-partial": "websocket-session-leak",
  // The heap is what stops it: heap exhaustion, the idle connections (or the sessions) named as its filler.
  "ws-leak-oom": "heap-exhaustion",
  "file-leak": "file-handle-leak",
  slow: "thread-pool-exhaustion",
  "process-down": "process-down",
  "ws-young-at-limit": "websocket-session-leak",
  "ws-not-idle": "websocket-session-leak",
  "sessions-on-heap": "heap-exhaustion",
  "fd-limit-mixed": "fd-exhaustion",
  "healthy-no-logs": "load-balancer-path",
  "healthy-no-threads": "load-balancer-path",
  "healthy-no-tomcat": "load-balancer-path",
  "healthy-unlimited-fds": "load-balancer-path",
};

describe("compliance matrix: every rule × every evidence case", () => {
  describeMatrix({
    runbook,
    cases: CASES,
    columns: COLUMNS,
    matrix: MATRIX,
    variant: (rule, caseName) => (rule === "websocket-session-leak" ? VARIANTS[caseName] : undefined),
    rootCause: ROOT_CAUSE,
  });
});

describe("captured lab fixtures (test/fixtures/evidence/*.json)", () => {
  const dir = new URL("../../fixtures/evidence/", import.meta.url);
  /** Expected root cause, the variant that held for it, and the findings (in order). */
  const EXPECTED: Record<string, { rootCause: string; variant: string; findings: string[] }> = {
    // Captured 1 s after 300 clients connected: sessions counted, not idle yet.
    "ws-leak-partial": {
      rootCause: "websocket-session-leak",
      variant: "with-histogram-not-idle",
      findings: ["websocket-session-leak", "load-balancer-path"],
    },
    // At the fd limit the JVM cannot be attached; sockets are 99% of the fds.
    "ws-leak-exhausted": {
      rootCause: "websocket-session-leak",
      variant: "without-attach-at-limit",
      findings: ["websocket-session-leak", "fd-exhaustion"],
    },
    // Small heap: OutOfMemoryError before the fds run out; the leak stays the root cause.
    "ws-leak-oom": {
      rootCause: "websocket-session-leak",
      variant: "with-histogram-not-idle",
      findings: ["websocket-session-leak", "heap-exhaustion"],
    },
    // A real probe run: host answers its own probe quickly.
    "probe-tinytomcat-busy": {
      rootCause: "load-balancer-path",
      variant: "host-healthy",
      findings: ["load-balancer-path"],
    },
    // A real probe run at a 120-fd limit, plain connections (no WsSession): the symptom, cause unknown.
    "probe-tinytomcat-fd-exhausted": {
      rootCause: "fd-exhaustion",
      variant: "at-limit",
      findings: ["fd-exhaustion"],
    },
    "file-leak": {
      rootCause: "file-handle-leak",
      variant: "files-at-limit",
      findings: ["file-handle-leak", "fd-exhaustion"],
    },
    slow: { rootCause: "thread-pool-exhaustion", variant: "all-busy", findings: ["thread-pool-exhaustion"] },
    // Real probe runs against the pool and Jetty labs (scripts/capture-probe.ts), the runbook's defaults.
    "probe-lab-pool-leak": {
      rootCause: "connection-pool-exhaustion",
      variant: "leaked-connections",
      findings: ["connection-pool-exhaustion", "thread-pool-exhaustion"],
    },
    "probe-lab-pool-slow-db": {
      rootCause: "connection-pool-exhaustion",
      variant: "slow-database",
      findings: ["connection-pool-exhaustion", "thread-pool-exhaustion"],
    },
    "probe-lab-jetty-ws-leak": {
      rootCause: "websocket-session-leak",
      variant: "with-histogram-not-idle",
      findings: ["websocket-session-leak", "load-balancer-path"],
    },
    healthy: { rootCause: "load-balancer-path", variant: "host-healthy", findings: ["load-balancer-path"] },
    // heap-leak lab (-Xmx64m, carts in HTTP sessions, crawlers still coming): health times out; jstat's
    // 1 s sample saw no full GC and the capture has no uptime, so the OutOfMemoryError in the log decides.
    "heap-leak": { rootCause: "heap-exhaustion", variant: "oom-in-log", findings: ["heap-exhaustion"] },
    // The probe itself on the same lab, the runbook's defaults, no log path: full GCs during its sample.
    "probe-lab-heap-leak": {
      rootCause: "heap-exhaustion",
      variant: "old-gen-full",
      findings: ["heap-exhaustion"],
    },
    // Real probe runs against the lab (scripts/capture-probe-runs.ts), runbook defaults.
    // close-wait: 1004 upstream sockets in CLOSE-WAIT at the 1024-fd limit; the JVM was not attached.
    "probe-lab-close-wait": {
      rootCause: "close-wait-leak",
      variant: "outbound",
      findings: ["close-wait-leak", "fd-exhaustion"],
    },
    // listen-backlog: accept queue 101 of 100, ListenOverflows +77 in 1.8 s, 10 idle request threads.
    "probe-lab-listen-backlog": {
      rootCause: "listen-backlog-overflow",
      variant: "queue-full-dropping",
      findings: ["listen-backlog-overflow"],
    },
    // issue 13 variants (scripts/capture-variants.ts; their own checks: matrix-variants.test.ts).
    // close-wait-inbound: async requests never completed, 600 CLOSE-WAIT on the app port, the API answering.
    "probe-lab-close-wait-inbound": {
      rootCause: "close-wait-leak",
      variant: "app-port",
      findings: ["close-wait-leak", "load-balancer-path"],
    },
    "probe-lab-close-wait-inbound-at-limit": {
      rootCause: "close-wait-leak",
      variant: "app-port-without-threads",
      findings: ["close-wait-leak", "fd-exhaustion"],
    },
    // 64 MiB heap full of sessions idle past 120 s; the attach gave up within its 2 s box.
    "probe-lab-ws-leak-oom-idle": {
      rootCause: "heap-exhaustion",
      variant: "idle-connections-fill-heap",
      findings: ["heap-exhaustion", "websocket-session-leak"],
    },
    // issue 13 (scripts/capture-process-disk.ts): the reason from the kernel log, a crash file, or none.
    "process-oom-killed": { rootCause: "process-down", variant: "oom-killed", findings: ["process-down"] },
    "process-crashed": { rootCause: "process-down", variant: "crashed", findings: ["process-down"] },
    "process-exited": { rootCause: "process-down", variant: "no-listener", findings: ["process-down"] },
    "disk-full": { rootCause: "disk-full", variant: "filesystem-full", findings: ["disk-full"] },
  };
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
  const known = files.filter((f) => Object.hasOwn(EXPECTED, f.replace(/\.json$/, "")));

  it("every captured fixture has an expectation here", () => {
    expect(files.filter((f) => !known.includes(f))).toEqual([]);
  });

  it.each(known)("%s", (file) => {
    const evidence = evidenceSchema.parse(JSON.parse(readFileSync(new URL(file, dir), "utf8")));
    const want = EXPECTED[file.replace(/\.json$/, "")];
    const d = diagnose(evidence, runbook);
    expect(d.rootCause.id).toBe(want?.rootCause);
    expect(d.findings.map((f) => f.id)).toEqual(want?.findings);
    expect(d.findings[0]?.variant).toBe(want?.variant);
    expect(d.ruleErrors).toEqual([]);
  });
});
