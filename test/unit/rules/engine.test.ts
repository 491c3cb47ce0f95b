import { describe, expect, it } from "vitest";
import { diagnosisSchema } from "../../../lambdas/core/diagnosis/schema.js";
import { evaluateCondition, RuleEvaluationError } from "../../../lambdas/core/rules/conditions.js";
import { diagnose, evaluateRunbook } from "../../../lambdas/core/rules/engine.js";
import { evidenceLine, renderTemplate } from "../../../lambdas/core/rules/format.js";
import { deriveMetrics, METRIC_NAMES } from "../../../lambdas/core/rules/metrics.js";
import type { Condition, Runbook } from "../../../lambdas/core/runbook/schema.js";
import { buildEvidence, data, SCENARIOS, setUnavailable } from "../../support/evidence-factory.js";
import { shippedRunbook } from "./helpers.js";

const runbook = shippedRunbook();
const T = { lim: 10 };
const m = { "fds.open": 12, "health.ok": false, "jvm.wsSessions": null, "health.outcome": "timeout" };
const cmp = (metric: string, op: string, value: unknown) => ({ metric, op, value }) as unknown as Condition;

describe("three-valued conditions", () => {
  it.each([
    ["gt threshold", cmp("fds.open", "gt", "$lim"), "true"],
    ["lte literal", cmp("fds.open", "lte", 11), "false"],
    ["between inclusive", cmp("fds.open", "between", [12, "$lim"]), "false"],
    ["between", cmp("fds.open", "between", ["$lim", 12]), "true"],
    ["in", cmp("health.outcome", "in", ["timeout", "refused"]), "true"],
    ["ne", cmp("health.ok", "ne", true), "true"],
    ["null metric → unknown", cmp("jvm.wsSessions", "gte", 1), "unknown"],
    [
      "all: false beats unknown",
      { all: [cmp("jvm.wsSessions", "gte", 1), cmp("fds.open", "lt", 1)] },
      "false",
    ],
    [
      "all: unknown beats true",
      { all: [cmp("jvm.wsSessions", "gte", 1), cmp("fds.open", "gt", 1)] },
      "unknown",
    ],
    ["any: true beats unknown", { any: [cmp("jvm.wsSessions", "gte", 1), cmp("fds.open", "gt", 1)] }, "true"],
    [
      "any: unknown beats false",
      { any: [cmp("jvm.wsSessions", "gte", 1), cmp("fds.open", "lt", 1)] },
      "unknown",
    ],
    ["not unknown = unknown", { not: cmp("jvm.wsSessions", "gte", 1) }, "unknown"],
    ["not true = false", { not: cmp("fds.open", "gt", 1) }, "false"],
  ] as Array<[string, Condition, string]>)("%s", (_name, c, truth) => {
    expect(evaluateCondition(c, m, T).truth).toBe(truth);
  });

  it("reports the metrics that decided, and the ones missing", () => {
    const o = evaluateCondition(
      { any: [cmp("jvm.wsSessions", "gte", 1), cmp("fds.open", "gt", 1), cmp("health.ok", "eq", true)] },
      m,
      T,
    );
    expect(o).toEqual({ truth: "true", witnesses: ["fds.open"], missing: ["jvm.wsSessions"] });
  });

  it.each([
    ["unknown threshold", cmp("fds.open", "gt", "$nope"), /unknown threshold \$nope/],
    ["unknown metric", cmp("fds.nope", "gt", 1), /unknown metric fds\.nope/],
    ["type mismatch", cmp("health.ok", "eq", 1), /cannot compare boolean with number/],
    ["between without pair", cmp("fds.open", "between", 3), /\[low, high\]/],
  ] as Array<[string, Condition, RegExp]>)("throws RuleEvaluationError: %s", (_n, c, re) => {
    expect(() => evaluateCondition(c, m, T)).toThrow(RuleEvaluationError);
    expect(() => evaluateCondition(c, m, T)).toThrow(re);
  });
});

describe("diagnose", () => {
  it.each(SCENARIOS)("%s: the diagnosis matches the Diagnosis schema", (s) => {
    expect(() => diagnosisSchema.parse(diagnose(buildEvidence(s), runbook))).not.toThrow();
  });

  it("ws-leak at the fd limit: root cause with cited evidence, fd exhaustion as a finding, 64848 contributing", () => {
    const d = diagnose(buildEvidence("ws-leak-at-limit"), runbook);
    expect(d.rootCause).toMatchObject({ id: "websocket-session-leak", confidence: 0.95 });
    expect(d.rootCause.summary).toMatch(/1001 WsSession objects for 1003\s+ESTABLISHED/);
    expect(d.findings.map((f) => f.id)).toEqual(["websocket-session-leak", "fd-exhaustion"]);
    const lines = d.findings[0]?.evidence ?? [];
    expect(lines).toContainEqual({
      text: "open fds 1024 of limit 1024 (100%)",
      field: "fds.open",
      value: 1024,
    });
    expect(lines.find((l) => l.field === "jvm.wsSessions")?.text).toMatch(
      /^1001 org\.apache\.tomcat\.websocket\.WsSession/,
    );
    expect(d.contributing.map((c) => c.id)).toEqual(["framework-version"]);
    expect(d.ruledOut.map((r) => r.id)).toEqual(
      expect.arrayContaining(["file-handle-leak", "slow-database", "cpu-saturation", "load-balancer-path"]),
    );
    const db = d.ruledOut.find((r) => r.id === "slow-database");
    expect(db?.evidence[0]).toEqual({
      text: "0 request threads in database calls",
      field: "threads.inDatabaseCalls",
      value: 0,
    });
  });

  it("attach failed: lower confidence, a caveat, and the unavailable reason in the evidence", () => {
    const d = diagnose(buildEvidence("ws-leak-attach-failed"), runbook);
    expect(d.rootCause).toMatchObject({ id: "websocket-session-leak", confidence: 0.7 });
    const f = d.findings[0];
    expect(f?.variant).toBe("without-attach");
    expect(f?.caveats[0]).toMatch(/could not be attached/);
    expect(f?.evidence.find((l) => l.field === "jvm.wsSessions")).toMatchObject({ value: null });
    expect(f?.evidence.find((l) => l.field === "jvm.wsSessions")?.text).toMatch(
      /class histogram unavailable: jcmd/,
    );
    expect(d.notEvaluated.find((n) => n.id === "slow-database")?.reason).toMatch(/thread dump unavailable/);
  });

  it("ws-leak that dies of OOM first, JVM not attachable: heap exhaustion the cause, the idle connections point at sessions", () => {
    const d = diagnose(buildEvidence("ws-leak-oom"), runbook);
    expect(d.rootCause.id).toBe("heap-exhaustion");
    const heap = d.findings.find((f) => f.id === "heap-exhaustion");
    expect(heap?.variant).toBe("idle-connections-fill-heap");
    expect(heap?.summary).toMatch(
      /603 ESTABLISHED connections .* idle longer than 2\.0 min.*session objects most\s+likely fill the heap/s,
    );
    expect(heap?.caveats.join(" ")).toMatch(/not\s+counted/);
    // The leak is still named, at its own (lower) confidence; the fds are not the problem.
    expect(d.findings.map((f) => f.id)).toContain("websocket-session-leak");
    expect(d.findings.map((f) => f.id)).not.toContain("fd-exhaustion");
  });

  it("only a symptom holds: the symptom, saying the cause is unknown", () => {
    const e = buildEvidence("healthy", (x) => {
      Object.assign(data(x, "fds"), {
        open: 1000,
        byKind: { socket: 400, file: 400, pipe: 100, anonInode: 100, other: 0 },
      });
      setUnavailable(x, "classHistogram", "attach failed");
      x.health = { ...x.health, outcome: "timeout", latencyMs: 5001, httpStatus: null };
    });
    const d = diagnose(e, runbook);
    expect(d.rootCause.id).toBe("fd-exhaustion");
    expect(d.rootCause.summary).toMatch(/1000 of 1024.*The cause is unknown/s);
  });

  it("nothing holds and the host is not healthy: unknown, naming what was not evaluated", () => {
    const e = buildEvidence("healthy", (x) => {
      x.health = { ...x.health, outcome: "http-error", httpStatus: 503, latencyMs: 40 };
      setUnavailable(x, "logs", "no log path given");
    });
    const d = diagnose(e, runbook);
    expect(d.rootCause).toMatchObject({ id: "unknown", confidence: 0 });
    // The heap is 32% full: heap exhaustion is ruled out even without a log to read.
    expect(d.rootCause.summary).toMatch(/Not evaluated: fd-exhaustion/);
    expect(d.ruledOut.map((r) => r.id)).toContain("heap-exhaustion");
    expect(d.notEvaluated.find((n) => n.id === "fd-exhaustion")?.reason).toBe(
      "evidence missing: logs unavailable: no log path given",
    );
  });

  it("a histogram counted without :live adds the class's conditional caveat", () => {
    const e = buildEvidence("ws-leak-at-limit", (x) => {
      data(x, "classHistogram").forcedFullGc = false;
    });
    const f = diagnose(e, runbook).findings[0];
    expect(f?.caveats.some((c) => /not only live ones/.test(c))).toBe(true);
  });

  it("a rule that throws becomes a ruleErrors entry, never a crash; the others still run", () => {
    const broken: Runbook = structuredClone(runbook);
    const first = broken.classes[0];
    if (!first) throw new Error("no classes");
    first.variants = [{ id: "broken", confidence: 0.9, all: [cmp("health.ok", "gt", 1)] }];
    broken.hypotheses[0] = {
      ...(broken.hypotheses[0] as Runbook["hypotheses"][number]),
      ruledOutBy: cmp("fds.open", "gt", "$missing"),
    };
    const d = diagnose(buildEvidence("file-leak"), broken);
    expect(d.ruleErrors).toEqual([
      { ruleId: "websocket-session-leak/broken", message: "metric must be a number" },
      { ruleId: "slow-database/ruledOutBy", message: "unknown threshold $missing" },
    ]);
    expect(d.rootCause.id).toBe("file-handle-leak");
    expect(evaluateRunbook(buildEvidence("file-leak"), broken).classes[0]?.status).toBe("error");
  });

  it("is generic: a renamed class id flows through with no code change", () => {
    const rb: Runbook = structuredClone(runbook);
    const lb = rb.classes.find((c) => c.id === "load-balancer-path");
    if (!lb) throw new Error("no lb class");
    lb.kind = "cause";
    lb.summary = "custom {health.latencyMs}";
    expect(diagnose(buildEvidence("healthy"), rb).rootCause).toEqual({
      id: "load-balancer-path",
      confidence: 0.7,
      summary: "custom 12 ms",
    });
  });
});

describe("derived metrics and formatting", () => {
  it("derives every catalogued metric, null when the section is unavailable", () => {
    const healthy = deriveMetrics(buildEvidence("healthy"));
    expect(Object.keys(healthy).sort()).toEqual([...METRIC_NAMES].sort());
    expect(healthy).toMatchObject({
      "fds.open": 85,
      "fds.limit": 1024,
      "fds.usedRatio": 85 / 1024,
      "jvm.wsSessions": 2,
      "threads.requestBusyRatio": 0.1,
      "health.ok": true,
      "tomcat.predates64848Fix": false,
      "host.loadPerCpu": 0.15,
    });
    const down = deriveMetrics(buildEvidence("process-down"));
    expect(down).toMatchObject({ "fds.open": null, "jvm.wsSessions": null, "jvm.histogramAvailable": false });
    expect(down["listener.listening"]).toBe(false);
  });

  it("an unlimited soft limit is a 0 used ratio, and says so", () => {
    const e = buildEvidence("healthy", (x) => {
      data(x, "fds").limitSoft = null;
    });
    const metrics = deriveMetrics(e);
    expect(metrics["fds.usedRatio"]).toBe(0);
    expect(evidenceLine("fds.open", metrics, e).text).toBe("open fds 85 (no soft limit)");
  });

  it("ratios over zero are null (undefined), not NaN", () => {
    const metrics = deriveMetrics(buildEvidence("process-down"));
    expect(metrics["jvm.wsSessionsPerEstablished"]).toBeNull();
    expect(metrics["sockets.idleRatio"]).toBeNull();
  });

  it("renders templates with units", () => {
    const metrics = deriveMetrics(buildEvidence("ws-leak-at-limit"));
    expect(
      renderTemplate("{fds.usedRatio} {sockets.idleThresholdMs} {heap.oldGenPercent} {x}", metrics),
    ).toBe("100% 2.0 min 32% {x}");
  });
});
