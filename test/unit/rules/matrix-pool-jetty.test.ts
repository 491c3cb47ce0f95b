import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { buildEvidence, setUnavailable } from "../../support/evidence-factory.js";
import { D, describeMatrix, type Expect, H, N, R, shippedRunbook } from "./helpers.js";

/**
 * The compliance matrix (every rule of the shipped runbook) over the cases of connection-pool exhaustion
 * and the WebSocket leak on Jetty: each class and hypothesis ruled in or out with evidence in each.
 */
const runbook = shippedRunbook();
const ATTACH = "Unable to open socket file /tmp/.java_pid4242: target process doesn't respond";

const CASES = {
  "pool-leak": buildEvidence("pool-leak"),
  "pool-slow-db": buildEvidence("pool-slow-db"),
  "jetty-ws-leak": buildEvidence("jetty-ws-leak"),
  // No thread dump, the pool's time-outs in the log: the class holds on the log, leak or slow unknown.
  "pool-log-only": buildEvidence("pool-leak", (e) => setUnavailable(e, "threads", ATTACH)),
} satisfies Record<string, Evidence>;
type CaseName = keyof typeof CASES;
const COLUMNS: CaseName[] = ["pool-leak", "pool-slow-db", "jetty-ws-leak", "pool-log-only"];

// Rules of other helpers' classes are added by them (at merge) as rows here.
// biome-ignore format: the matrix is a table
const MATRIX: Record<string, Expect[]> = {
  //                             pool slow jetty plog
  "websocket-session-leak":     [R,   R,   H,    R],
  "file-handle-leak":           [R,   R,   R,    R],
  "thread-pool-exhaustion":     [D,   D,   R,    N],
  "connection-pool-exhaustion": [H,   H,   R,    H],
  "process-down":               [R,   R,   R,    R],
  "fd-exhaustion":              [R,   R,   R,    R],
  "heap-exhaustion":            [R,   R,   R,    R],
  "load-balancer-path":         [R,   R,   H,    R],
  "slow-database":              [R,   H,   R,    N],
  "cpu-saturation":             [R,   R,   R,    R],
  "framework-version":          [R,   R,   R,    R],
  "close-wait-leak":            [R,   R,   R,    R],
  "listen-backlog-overflow":    [R,   R,   R,    R],
  "ephemeral-port-exhaustion":  [R,   R,   R,    R],
  "time-wait-flood":            [R,   R,   R,    R],
  "conntrack-table-full":       [R,   R,   R,    R],
  "disk-full": [R, R, R, R],
};

/** The variant that must hold (the pool class's ladder follows it: restart only for the leak). */
const VARIANTS: Partial<Record<string, Partial<Record<CaseName, string>>>> = {
  "connection-pool-exhaustion": {
    "pool-leak": "leaked-connections",
    "pool-slow-db": "slow-database",
    "pool-log-only": "pool-timeouts-in-log",
  },
  "websocket-session-leak": { "jetty-ws-leak": "with-histogram" },
};

const ROOT_CAUSE: Record<CaseName, string> = {
  "pool-leak": "connection-pool-exhaustion",
  "pool-slow-db": "connection-pool-exhaustion",
  "jetty-ws-leak": "websocket-session-leak",
  "pool-log-only": "connection-pool-exhaustion",
};

describe("compliance matrix: connection-pool exhaustion and the Jetty WebSocket leak", () => {
  describeMatrix({
    runbook,
    cases: CASES,
    columns: COLUMNS,
    matrix: MATRIX,
    variant: (rule, caseName) => VARIANTS[rule]?.[caseName],
    rootCause: ROOT_CAUSE,
  });

  it("jetty: the evidence names Jetty's session class, counted because the runbook lists it", () => {
    const d = diagnose(CASES["jetty-ws-leak"], runbook);
    const lines = d.findings[0]?.evidence ?? [];
    expect(lines.find((l) => l.field === "jvm.wsSessions")?.text).toBe(
      "300 org.eclipse.jetty.websocket.common.WebSocketSession instances in the class histogram (live objects)",
    );
    expect(d.rootCause.summary).toMatch(
      /300 WebSocket sessions \(org\.eclipse\.jetty\.websocket\.common\.WebSocketSession\)/,
    );
    // Without the runbook naming it, the same histogram counts no session at all.
    const unnamed = buildEvidence("jetty-ws-leak", (e) => {
      if (e.classHistogram.status === "ok")
        e.classHistogram.data.sessionClasses = ["org.apache.tomcat.websocket.WsSession"];
    });
    expect(diagnose(unnamed, runbook).rootCause.id).not.toBe("websocket-session-leak");
  });

  it("the leak rules the slow database out, and the slow database contributes, with their evidence", () => {
    const leak = diagnose(CASES["pool-leak"], runbook);
    expect(leak.ruledOut.find((r) => r.id === "slow-database")?.evidence[0]?.text).toBe(
      "0 request threads in database calls",
    );
    const slow = diagnose(CASES["pool-slow-db"], runbook);
    expect(slow.contributing.find((c) => c.id === "slow-database")?.evidence.map((l) => l.field)).toEqual([
      "threads.inDatabaseCalls",
      "threads.requestBusyRatio",
      "threads.waitingForDbConnection",
    ]);
  });
});
