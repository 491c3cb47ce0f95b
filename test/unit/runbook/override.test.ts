import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RunbookSchemaError, RunbookSyntaxError } from "../../../lambdas/core/runbook/errors.js";
import { mergeOverride, resolveRunbook } from "../../../lambdas/core/runbook/override.js";
import { loadRunbookDoc, RunbookFileError } from "../../../lambdas/workflows/runbook-files.js";
import { shippedRunbook } from "../rules/helpers.js";

const base = shippedRunbook();
const EXAMPLE = new URL("../../../docs/examples/runbook-override.yaml", import.meta.url).pathname;

function resolved(text: string) {
  const r = resolveRunbook(base, { text, source: "override.yaml" });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
function rejected(text: string) {
  const r = resolveRunbook(base, { text, source: "override.yaml" });
  if (r.ok) throw new Error("expected the override to be rejected");
  return r.error;
}
const variant = (rb: typeof base, cls: string, id: string) =>
  rb.classes.find((c) => c.id === cls)?.variants.find((v) => v.id === id);

describe("runbook override: merge semantics", () => {
  it("merges mappings by key: one threshold changes, the others stay", () => {
    const rb = resolved("extends: api-unreachable\nthresholds:\n  fdUsedRatio: 0.85\n");
    expect(rb.thresholds.fdUsedRatio).toBe(0.85);
    expect(rb.thresholds.wsSessionsMin).toBe(base.thresholds.wsSessionsMin);
    expect(Object.keys(rb.thresholds)).toEqual(Object.keys(base.thresholds));
  });

  it("replaces a class's ladder whole and leaves the other ladders", () => {
    const rb = resolved(
      [
        "extends: api-unreachable",
        "mitigation:",
        "  ladders:",
        "    websocket-session-leak:",
        "      - { action: escalate }",
      ].join("\n"),
    );
    expect(rb.mitigation.ladders["websocket-session-leak"]).toEqual([{ action: "escalate", params: {} }]);
    expect(rb.mitigation.ladders.unknown).toEqual(base.mitigation.ladders.unknown);
    expect(rb.mitigation.defaults).toEqual(base.mitigation.defaults);
  });

  it("merges classes and their variants by id, keeping order and every other field", () => {
    const rb = resolved(
      [
        "extends: api-unreachable",
        "classes:",
        "  - id: websocket-session-leak",
        "    variants:",
        "      - id: without-attach",
        "        confidence: 0.5",
      ].join("\n"),
    );
    expect(variant(rb, "websocket-session-leak", "without-attach")?.confidence).toBe(0.5);
    expect(variant(rb, "websocket-session-leak", "with-histogram")).toEqual(
      variant(base, "websocket-session-leak", "with-histogram"),
    );
    expect(variant(rb, "websocket-session-leak", "without-attach")?.all).toEqual(
      variant(base, "websocket-session-leak", "without-attach")?.all,
    );
    expect(rb.classes.map((c) => c.id)).toEqual(base.classes.map((c) => c.id));
  });

  it("appends an item with a new id, and null removes a key", () => {
    const merged = mergeOverride(
      { a: 1, b: { c: 2, d: 3 }, list: [{ id: "x", v: 1 }], plain: [1, 2] },
      { b: { d: null }, list: [{ id: "y", v: 2 }], plain: [3] },
    );
    expect(merged).toEqual({
      a: 1,
      b: { c: 2 },
      list: [
        { id: "x", v: 1 },
        { id: "y", v: 2 },
      ],
      plain: [3],
    });
  });

  it("changes modes and probe settings", () => {
    const rb = resolved(
      "extends: api-unreachable\nmitigation:\n  defaults:\n    mode: approve\nprobe:\n  idleThresholdMs: 300000\n",
    );
    expect(rb.mitigation.defaults).toEqual({ ...base.mitigation.defaults, mode: "approve" });
    expect(rb.probe).toEqual({ ...base.probe, idleThresholdMs: 300000 });
  });

  it("does not change the base runbook it is given", () => {
    const before = JSON.stringify(base);
    resolved(
      "extends: api-unreachable\nthresholds:\n  fdUsedRatio: 0.5\nclasses:\n  - id: process-down\n    priority: 1\n",
    );
    expect(JSON.stringify(base)).toBe(before);
  });

  it("accepts an object as well as text (the construct prop)", () => {
    const r = resolveRunbook(base, { data: { thresholds: { fdUsedRatio: 0.8 } }, source: "props.runbook" });
    expect(r.ok && r.value.thresholds.fdUsedRatio).toBe(0.8);
  });

  it("the example override in docs/ resolves", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    const rb = resolved(text);
    const data = parse(text) as { thresholds: Record<string, number> };
    for (const [k, v] of Object.entries(data.thresholds)) expect(rb.thresholds[k]).toBe(v);
  });
});

describe("runbook override: validation names the field and what was expected", () => {
  it("a wrong type, with file, line and column", () => {
    const e = rejected("extends: api-unreachable\nthresholds:\n  fdUsedRatio: high\n");
    expect(e).toBeInstanceOf(RunbookSchemaError);
    expect(e.message).toContain('override.yaml:3:16 at thresholds.fdUsedRatio: expected number, got "high"');
  });

  it("a value out of range inside a list, the path given by ids", () => {
    const e = rejected(
      [
        "extends: api-unreachable",
        "classes:",
        "  - id: websocket-session-leak",
        "    variants:",
        "      - id: with-histogram",
        "        confidence: 1.5",
      ].join("\n"),
    );
    expect(e.message).toMatch(
      /override\.yaml:6:21 at classes\[id=websocket-session-leak\]\.variants\[id=with-histogram\]\.confidence: .*<=1/,
    );
  });

  it("an unknown action in a ladder", () => {
    const e = rejected(
      "extends: api-unreachable\nmitigation:\n  ladders:\n    unknown:\n      - { action: reboot }\n",
    );
    expect(e.message).toMatch(/at mitigation\.ladders\.unknown\[0\]\.action: expected one of .*escalate/);
  });

  it("an unknown top-level key, listing what an override may set", () => {
    const e = rejected("extends: api-unreachable\nthreshold:\n  fdUsedRatio: 0.8\n");
    expect(e.message).toMatch(
      /override\.yaml:2:1 at threshold: unknown key "threshold" \(an override may set: .*thresholds/,
    );
  });

  it("extends naming another runbook, and an attempt to change the id", () => {
    expect(rejected("extends: disk-full\n").message).toContain('at extends: expected "api-unreachable"');
    expect(rejected("extends: api-unreachable\nid: mine\n").message).toContain(
      "cannot change the runbook id",
    );
  });

  it("removing a threshold the base still refers to: the reference problem, said to come from the base", () => {
    const e = rejected("extends: api-unreachable\nthresholds:\n  wsSessionsMin: null\n");
    expect(e.message).toMatch(
      /unknown threshold "\$wsSessionsMin".*\(the value comes from the base runbook\)/,
    );
  });

  it("YAML that does not parse", () => {
    expect(rejected("extends: api-unreachable\nthresholds: [\n")).toBeInstanceOf(RunbookSyntaxError);
  });
});

describe("loadRunbookDoc with an override file (CLI --runbook, Lambdas)", () => {
  const dir = mkdtempSync(join(tmpdir(), "runbook-override-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the base named by extends and applies the file", async () => {
    const file = join(dir, "mine.yaml");
    writeFileSync(file, "extends: api-unreachable\nverify:\n  attempts: 9\n");
    const rb = await loadRunbookDoc(file);
    expect(rb.verify).toEqual({ ...base.verify, attempts: 9 });
    expect(rb.classes).toEqual(base.classes);
  });

  it("a file without extends is still a whole runbook", async () => {
    const file = join(dir, "partial.yaml");
    writeFileSync(file, "thresholds:\n  fdUsedRatio: 0.8\n");
    await expect(loadRunbookDoc(file)).rejects.toThrow(/not a valid runbook.*\n.*apiVersion/);
  });

  it("a bad override is a RunbookFileError naming the file and field", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "extends: api-unreachable\nverify:\n  attempts: 0\n");
    const err = await loadRunbookDoc(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunbookFileError);
    expect((err as Error).message).toMatch(/bad\.yaml:3:13 at verify\.attempts: .*>=1/);
  });
});

describe("ladder rung params are checked against the action (runbooks and overrides alike)", () => {
  it("a bad value and an unknown parameter, each with its path", () => {
    const e = rejected(
      [
        "extends: api-unreachable",
        "mitigation:",
        "  ladders:",
        "    websocket-session-leak:",
        "      - action: kill-idle-connections",
        "        params: { minIdleSeconds: 0, maxConections: 10 }",
      ].join("\n"),
    );
    expect(e.message).toMatch(
      /at mitigation\.ladders\.websocket-session-leak\[0\]\.params\.minIdleSeconds: .*>=1/,
    );
    expect(e.message).toMatch(
      /at mitigation\.ladders\.websocket-session-leak\[0\]\.params\.maxConections: unknown parameter of kill-idle-connections \(it takes: minIdleSeconds, maxConnections, reliefBatch\)/,
    );
  });
});
