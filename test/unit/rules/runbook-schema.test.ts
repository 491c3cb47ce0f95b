import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isActionId } from "../../../lambdas/core/mitigation/actions/registry.js";
import { PROBE_PATTERNS_MAX_CHARS } from "../../../lambdas/core/redact/index.js";
import {
  RunbookError,
  RunbookReferenceError,
  RunbookSchemaError,
  RunbookSyntaxError,
} from "../../../lambdas/core/runbook/errors.js";
import { runbookJsonSchemaText } from "../../../lambdas/core/runbook/json-schema.js";
import { parseRunbook } from "../../../lambdas/core/runbook/load.js";
import { redactionSchema } from "../../../lambdas/core/runbook/schema.js";
import { RUNBOOK_TEXT, shippedRunbook } from "./helpers.js";

const SOURCE = "runbooks/api-unreachable.yaml";

/** The shipped runbook with one edit; fails the test when the edit does not apply. */
function mutate(from: string, to: string): string {
  expect(RUNBOOK_TEXT).toContain(from);
  return RUNBOOK_TEXT.replace(from, to);
}

function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split("\n").length;
}

function failure(text: string) {
  const r = parseRunbook(text, SOURCE);
  if (r.ok) throw new Error("expected the runbook to be rejected");
  return r.error;
}

describe("the shipped runbook", () => {
  const rb = shippedRunbook();

  it("parses and keeps the sections the workflow consumes", () => {
    expect(rb.id).toBe("api-unreachable");
    expect(rb.probe).toEqual({
      script: "probes/api-unreachable.sh",
      timeoutSeconds: 30,
      healthTimeoutSeconds: 3,
      idleThresholdMs: 120000,
      histogramMode: "live",
      sessionClasses: [
        { server: "Tomcat", className: "org.apache.tomcat.websocket.WsSession" },
        { server: "Jetty", className: "org.eclipse.jetty.websocket.common.WebSocketSession" },
      ],
    });
    expect(rb.verify).toEqual({ attempts: 15, intervalSeconds: 2 });
    expect(rb.mitigation.defaults).toEqual({ mode: "plan", cooldownSeconds: 1800 });
  });

  it("references only its own class ids and registered action ids", () => {
    const classIds = [...rb.classes.map((c) => c.id), rb.rootCause.fallback.id];
    for (const [key, ladder] of Object.entries(rb.mitigation.ladders)) {
      // `<class>/<variant>`: a ladder for one variant of a class.
      const [classId, variant] = key.split("/");
      expect(classIds).toContain(classId);
      if (variant !== undefined)
        expect(rb.classes.find((c) => c.id === classId)?.variants.map((v) => v.id)).toContain(variant);
      for (const rung of ladder ?? []) expect(isActionId(rung.action), rung.action).toBe(true);
    }
  });

  it("a ladder key naming no variant of its class is refused when the runbook loads", () => {
    const err = failure(
      mutate("    connection-pool-exhaustion/slow-database:\n", "    connection-pool-exhaustion/slow-db:\n"),
    );
    expect(err.issues[0]?.path).toBe("mitigation.ladders.connection-pool-exhaustion/slow-db");
    expect(err.issues[0]?.message).toMatch(/unknown failure class "connection-pool-exhaustion\/slow-db"/);
  });

  it("has a ladder for every failure class, ending in escalate or notify-only", () => {
    for (const id of [...rb.classes.map((c) => c.id), rb.rootCause.fallback.id]) {
      const ladder = rb.mitigation.ladders[id];
      expect(ladder, id).toBeDefined();
      expect(["escalate", "notify-only"]).toContain(ladder?.at(-1)?.action);
    }
  });

  it("defaults missing rung params to {}", () => {
    expect(rb.mitigation.ladders.unknown).toEqual([{ action: "notify-only", params: {} }]);
  });
});

describe("rejected runbooks name the path, the line and show the input", () => {
  it("a wrong operator", () => {
    const from = "{ metric: jvm.wsSessions, op: gte, value: $wsSessionsMin }";
    const text = mutate(from, "{ metric: jvm.wsSessions, op: greater, value: $wsSessionsMin }");
    const err = failure(text);
    expect(err).toBeInstanceOf(RunbookSchemaError);
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.name).toBe("RunbookSchemaError");
    expect(err.cause).toBeDefined();
    const [issue] = err.issues;
    expect(issue?.path).toBe("classes[0].variants[0].all[0].op");
    expect(issue?.line).toBe(lineOf(text, "op: greater"));
    expect(issue?.message).toMatch(/expected one of eq \| ne \| gt .*got "greater"/);
    expect(issue?.excerpt).toContain("op: greater");
    expect(err.message).toContain(`${SOURCE}:${issue?.line}:`);
  });

  it("a class id is the runbook's own: renaming a class leaves its ladder naming no class", () => {
    const text = mutate("  - id: file-handle-leak", "  - id: file-leak");
    const [issue] = failure(text).issues;
    expect(issue?.path).toBe("mitigation.ladders.file-handle-leak");
    expect(issue?.message).toMatch(/unknown failure class "file-handle-leak": expected one of .*file-leak/);
    expect(issue?.line).toBe(lineOf(text, "    file-handle-leak:"));
  });

  it("an unknown ladder key and an unknown action", () => {
    const text = mutate("    file-handle-leak:\n", "    file-leak:\n").replace(
      "{ action: notify-only }",
      "{ action: reboot }",
    );
    const err = failure(text);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain("mitigation.ladders.file-leak");
    expect(paths.some((p) => /^mitigation\.ladders\.[a-z-]+\[0\]\.action$/.test(p))).toBe(true);
    const key = err.issues.find((i) => i.path === "mitigation.ladders.file-leak");
    expect(key?.line).toBe(lineOf(text, "    file-leak:"));
    expect(key?.message).toMatch(/unknown failure class "file-leak"/);
  });

  it("bad indentation (a YAML syntax error)", () => {
    const text = mutate("thresholds:\n  fdUsedRatio: 0.9", "thresholds:\n  fdUsedRatio: 0.9\n fdHealthy: 1");
    const err = failure(text);
    expect(err).toBeInstanceOf(RunbookSyntaxError);
    expect(err.name).toBe("RunbookSyntaxError");
    const [issue] = err.issues;
    expect(issue?.line).toBe(lineOf(text, " fdHealthy: 1"));
    expect(issue?.excerpt).toContain("fdHealthy: 1");
    expect(issue?.message).toMatch(/same column/);
    expect(err.issues.length).toBeLessThanOrEqual(3);
  });

  it("a duplicate key", () => {
    const err = failure(mutate("  timeoutSeconds: 30\n", "  timeoutSeconds: 30\n  timeoutSeconds: 31\n"));
    expect(err).toBeInstanceOf(RunbookSyntaxError);
    expect(err.issues[0]?.message).toMatch(/unique/);
  });

  it("a misspelt key", () => {
    const text = mutate("    kind: cause\n    priority: 90", "    kind: cause\n    priorty: 90");
    const err = failure(text);
    const typo = err.issues.find((i) => i.path === "classes[0].priorty");
    expect(typo?.message).toBe('unknown key "priorty"');
    expect(typo?.line).toBe(lineOf(text, "priorty"));
    expect(err.issues.map((i) => i.path)).toContain("classes[0].priority");
  });

  it("an unknown metric suggests the closest names", () => {
    const err = failure(mutate("{ metric: jvm.wsSessions, op: gte", "{ metric: jvm.wsSession, op: gte"));
    expect(err.issues[0]?.path).toBe("classes[0].variants[0].all[0].metric");
    expect(err.issues[0]?.message).toMatch(/closest: jvm\.wsSessions/);
  });
});

describe("references are checked at load time", () => {
  it("an unknown $threshold", () => {
    const text = mutate("value: $wsSessionsMin }", "value: $wsSessionMin }");
    const err = failure(text);
    expect(err).toBeInstanceOf(RunbookReferenceError);
    expect(err.name).toBe("RunbookReferenceError");
    expect(err.issues[0]?.path).toBe("classes[0].variants[0].all[0].value");
    expect(err.issues[0]?.message).toMatch(/unknown threshold "\$wsSessionMin"/);
    expect(err.issues[0]?.line).toBe(lineOf(text, "$wsSessionMin"));
  });

  it("a health time-out not under the probe's time budget", () => {
    const text = mutate("  healthTimeoutSeconds: 3\n", "  healthTimeoutSeconds: 30\n");
    const err = failure(text);
    expect(err).toBeInstanceOf(RunbookReferenceError);
    expect(err.issues[0]?.path).toBe("probe.healthTimeoutSeconds");
    expect(err.issues[0]?.message).toBe("must be under probe.timeoutSeconds (30), got 30");
    expect(err.issues[0]?.line).toBe(lineOf(text, "healthTimeoutSeconds: 30"));
  });

  it("an unknown threshold inside a between pair", () => {
    const err = failure(
      mutate("[$wsPerEstablishedMin, $wsPerEstablishedMax]", "[$wsPerEstablishedMin, $nope]"),
    );
    expect(err.issues[0]?.path).toBe("classes[0].variants[0].all[1].value[1]");
  });

  it("a numeric operator on a boolean metric, and a value of the wrong type", () => {
    const text = mutate(
      "{ metric: health.ok, op: eq, value: true }",
      "{ metric: health.ok, op: gt, value: 1 }",
    ).replace(
      "{ metric: listener.listening, op: eq, value: false }",
      '{ metric: listener.listening, op: eq, value: "no" }',
    );
    const msgs = failure(text).issues.map((i) => `${i.path}: ${i.message}`);
    expect(msgs.some((m) => /\.op: `gt` needs a numeric metric; health\.ok is a boolean/.test(m))).toBe(true);
    expect(
      msgs.some((m) => /\.value: expected a boolean for metric listener\.listening, got a string/.test(m)),
    ).toBe(true);
  });

  it("between without a pair", () => {
    const err = failure(mutate("value: [$wsPerEstablishedMin, $wsPerEstablishedMax]", "value: 0.8"));
    expect(err.issues[0]?.message).toMatch(/\[low, high\]/);
  });

  it("an unknown {placeholder} in a summary", () => {
    const err = failure(
      mutate(
        "{jvm.wsSessions} WebSocket sessions ({jvm.wsSessionClass}) for",
        "{jvm.sessions} WebSocket sessions for",
      ),
    );
    expect(err.issues[0]?.path).toBe("classes[0].summary");
    expect(err.issues[0]?.message).toMatch(/\{jvm\.sessions\}/);
  });

  it("a missing fallback ladder", () => {
    const err = failure(mutate("    unknown:\n      - { action: notify-only }\n", ""));
    expect(err.issues[0]?.path).toBe("mitigation.ladders");
  });
});

describe("docs/runbook.schema.json", () => {
  it("is current (regenerate: npx tsx scripts/gen-runbook-schema.ts)", () => {
    const committed = readFileSync(new URL("../../../docs/runbook.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(runbookJsonSchemaText());
  });

  it("describes the top-level keys and the condition grammar", () => {
    const schema = JSON.parse(runbookJsonSchemaText());
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["probe", "thresholds", "classes", "hypotheses", "mitigation", "verify"]),
    );
    expect(schema.$defs.Condition).toBeDefined();
    expect(schema.$defs.Comparison.properties.op.enum).toContain("between");
  });
});

describe("redaction patterns fit the probe's SSM parameter", () => {
  const rule = (i: number, secret: string) => ({ name: `p${i}`, before: `key${i}=`, secret, after: "" });
  it("accepts a few extra patterns", () => {
    expect(redactionSchema.safeParse({ patterns: [rule(1, "[0-9a-f]{32}")] }).success).toBe(true);
  });
  it("refuses patterns that would not fit, saying how many characters they take and the limit", () => {
    const long = Array.from({ length: 30 }, (_, i) => rule(i, `(${"[A-Za-z0-9]{8}-".repeat(12)}x)`));
    const r = redactionSchema.safeParse({ patterns: long });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(
      new RegExp(
        `encode to \\d+ base64 characters; the probe's SSM parameter takes at most ${PROBE_PATTERNS_MAX_CHARS}`,
      ),
    );
  });
});
