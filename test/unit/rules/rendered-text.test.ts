import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evidenceSchema } from "../../../lambdas/core/evidence/schema.js";
import { diagnose } from "../../../lambdas/core/rules/engine.js";
import { parseRunbook } from "../../../lambdas/core/runbook/load.js";

const runbookPath = new URL("../../../runbooks/api-unreachable.yaml", import.meta.url);
const fixtures = new URL("../../fixtures/evidence/", import.meta.url);

describe("every sentence a diagnosis shows a person is fully rendered", () => {
  const parsed = parseRunbook(readFileSync(runbookPath, "utf8"), "api-unreachable.yaml");
  if (!parsed.ok) throw parsed.error;
  const files = readdirSync(fixtures).filter((f) => f.endsWith(".json"));

  it("has fixtures to check", () => expect(files.length).toBeGreaterThanOrEqual(6));

  for (const file of files) {
    it(`${file}: no unfilled {placeholder}, undefined or NaN`, () => {
      const evidence = evidenceSchema.parse(JSON.parse(readFileSync(new URL(file, fixtures), "utf8")));
      const d = diagnose(evidence, parsed.value);
      const texts = [
        d.rootCause.summary,
        ...d.findings.flatMap((f) => [f.summary, ...f.caveats, ...f.evidence.map((e) => e.text)]),
        ...d.ruledOut.flatMap((r) => [r.hypothesis, ...r.evidence.map((e) => e.text)]),
        ...d.contributing.flatMap((c) => [c.summary, ...c.evidence.map((e) => e.text)]),
      ];
      for (const t of texts) {
        expect(t).not.toMatch(/\{[a-zA-Z.]+\}/);
        expect(t).not.toMatch(/\bundefined\b|\bNaN\b|\[object Object\]/);
      }
      expect(d.ruleErrors).toEqual([]);
    });
  }
});
