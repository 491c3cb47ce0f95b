import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { buildEvidence, data, setUnavailable } from "../../support/evidence-factory.js";
import { D, describeMatrix, type Expect, H, N, R, shippedRunbook } from "./helpers.js";

/**
 * Compliance matrix of the socket classes (close-wait-leak, listen-backlog-overflow) and the outbound
 * exhaustion hypotheses: every rule of the shipped runbook against their evidence cases, and every rule
 * that does not hold is ruled out with cited evidence. (Their rows over the other classes' cases are in
 * matrix.test.ts.)
 */
const runbook = shippedRunbook();
const ATTACH = "Unable to open socket file /tmp/.java_pid4242: target process doesn't respond";

const CASES = {
  // Upstream responses never closed; at the fd limit, the JVM cannot be attached.
  "close-wait-outbound": buildEvidence("close-wait-outbound"),
  // Clients' closed connections kept on the app port, request threads free.
  "close-wait-app-port": buildEvidence("close-wait-app-port"),
  // The same CLOSE-WAIT sockets with every request thread busy: requests whose clients gave up waiting.
  "close-wait-busy-threads": buildEvidence("close-wait-app-port", (e) => {
    data(e, "threads").requestExecutor = {
      namePrefix: "http-nio-8080-exec-",
      total: 200,
      busy: 200,
      idle: 0,
    };
  }),
  "close-wait-no-threads": buildEvidence("close-wait-app-port", (e) => setUnavailable(e, "threads", ATTACH)),
  // The acceptor stopped: queue full, the kernel dropping connections between the two samples.
  "listen-backlog": buildEvidence("listen-backlog"),
  // Queue full, but no drop seen during the sample.
  "listen-backlog-quiet": buildEvidence("listen-backlog", (e) => {
    const l = data(e, "network").listenDrops;
    if (!l) throw new Error("listenDrops expected");
    l.overflowsAfter = l.overflowsBefore;
    l.dropsAfter = l.dropsBefore;
  }),
  "outbound-exhausted": buildEvidence("outbound-exhausted"),
  // Evidence of a probe that did not collect the network section: nothing is decided on it.
  "no-network": buildEvidence("healthy", (e) => {
    delete (e as { network?: unknown }).network;
  }),
} satisfies Record<string, Evidence>;
type CaseName = keyof typeof CASES;
const COLUMNS = Object.keys(CASES) as CaseName[];

// biome-ignore format: the matrix is a table
const MATRIX: Record<string, Expect[]> = {
  //                           cw-o cw-a cw-b cw-n lb   lb-q outb nonet
  "websocket-session-leak":    [R,   R,   R,   R,   R,   R,   R,   R],
  "file-handle-leak":          [R,   R,   R,   R,   R,   R,   R,   R],
  "thread-pool-exhaustion":    [D,   R,   H,   N,   R,   R,   R,   R],
  "process-down":              [R,   R,   R,   R,   R,   R,   R,   R],
  "fd-exhaustion":             [H,   D,   D,   D,   R,   R,   R,   R],
  "heap-exhaustion":           [R,   R,   R,   R,   R,   R,   R,   R],
  "load-balancer-path":        [R,   R,   R,   R,   R,   R,   R,   H],
  "close-wait-leak":           [H,   H,   R,   H,   R,   R,   R,   N],
  "listen-backlog-overflow":   [R,   R,   R,   R,   H,   H,   R,   R],
  "slow-database":             [N,   R,   R,   N,   R,   R,   R,   R],
  "cpu-saturation":            [R,   R,   R,   R,   R,   R,   R,   R],
  "framework-version":         [R,   R,   R,   R,   R,   R,   R,   R],
  "ephemeral-port-exhaustion": [R,   R,   R,   R,   R,   R,   H,   N],
  "connection-pool-exhaustion": [N,  R,   R,   N,   R,   R,   R,   R],
  "time-wait-flood":           [R,   R,   R,   R,   R,   R,   H,   N],
  "conntrack-table-full":      [R,   R,   R,   R,   R,   R,   H,   N],
  "disk-full": [R, R, R, R, R, R, R, R],
};

const VARIANTS: Partial<Record<CaseName, [string, string]>> = {
  "close-wait-outbound": ["close-wait-leak", "outbound"],
  "close-wait-app-port": ["close-wait-leak", "app-port"],
  "close-wait-no-threads": ["close-wait-leak", "app-port-without-threads"],
  "listen-backlog": ["listen-backlog-overflow", "queue-full-dropping"],
  "listen-backlog-quiet": ["listen-backlog-overflow", "queue-full"],
};

const ROOT_CAUSE: Record<CaseName, string> = {
  "close-wait-outbound": "close-wait-leak",
  "close-wait-app-port": "close-wait-leak",
  "close-wait-busy-threads": "thread-pool-exhaustion",
  "close-wait-no-threads": "close-wait-leak",
  "listen-backlog": "listen-backlog-overflow",
  "listen-backlog-quiet": "listen-backlog-overflow",
  // No cause class holds; the outbound exhaustion is reported as contributing factors.
  "outbound-exhausted": "unknown",
  "no-network": "load-balancer-path",
};

const MINE = [
  "close-wait-leak",
  "listen-backlog-overflow",
  "ephemeral-port-exhaustion",
  "time-wait-flood",
  "conntrack-table-full",
];

describe("compliance matrix: socket classes and outbound exhaustion", () => {
  describeMatrix({
    runbook,
    cases: CASES,
    columns: COLUMNS,
    matrix: MATRIX,
    variant: (rule, caseName) => (VARIANTS[caseName]?.[0] === rule ? VARIANTS[caseName]?.[1] : undefined),
    rootCause: ROOT_CAUSE,
  });

  it.each(COLUMNS.filter((c) => c !== "no-network"))(
    "%s: each socket rule that does not hold is ruled out with cited evidence",
    (caseName) => {
      const d = diagnose(CASES[caseName], runbook);
      const decided = new Set([
        ...d.findings.map((f) => f.id),
        ...d.contributing.map((c) => c.id),
        ...d.ruledOut.map((r) => r.id),
      ]);
      expect(MINE.filter((id) => !decided.has(id))).toEqual([]);
      for (const r of d.ruledOut.filter((x) => MINE.includes(x.id))) {
        expect(r.evidence.length, r.id).toBeGreaterThan(0);
        for (const line of r.evidence) expect(line.text).not.toMatch(/\{|null|undefined|NaN/);
      }
    },
  );

  it("names what it found in words an operator can act on", () => {
    const out = diagnose(CASES["close-wait-outbound"], runbook).rootCause.summary;
    expect(out).toMatch(/977 outbound sockets in CLOSE-WAIT, 977 of them to 10\.0\.4\.20:8443/);
    expect(out).toMatch(/95% of the 1024 open fds/);
    const lb = diagnose(CASES["listen-backlog"], runbook).rootCause.summary;
    expect(lb).toMatch(/accept queue of port 8080 is full \(101 of 100\)/);
    expect(lb).toMatch(/dropped 33 connections at a full listen queue in 1\.0 s/);
    const outbound = diagnose(CASES["outbound-exhausted"], runbook);
    const eph = outbound.contributing.find((c) => c.id === "ephemeral-port-exhaustion");
    expect(eph?.summary).toMatch(/27800 sockets to 10\.0\.4\.20:8443 use 98% of the 28232 ephemeral ports/);
  });
});
