import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { diagnose, evaluateRunbook } from "../../../lambdas/core/rules/engine.js";
import { parseRunbook } from "../../../lambdas/core/runbook/load.js";
import type { Runbook } from "../../../lambdas/core/runbook/schema.js";

export const RUNBOOK_PATH = new URL("../../../runbooks/api-unreachable.yaml", import.meta.url);
export const RUNBOOK_TEXT = readFileSync(RUNBOOK_PATH, "utf8");

export function shippedRunbook(): Runbook {
  const r = parseRunbook(RUNBOOK_TEXT, "runbooks/api-unreachable.yaml");
  if (!r.ok) throw r.error;
  return r.value;
}

/** cdk-nag style outcome of one rule on one evidence document. */
export type Expect = "HOLDS" | "RULED_OUT" | "DOES_NOT_HOLD" | "NOT_APPLICABLE" | "ERROR";

const MAP = {
  holds: "HOLDS",
  "ruled-out": "RULED_OUT",
  "does-not-hold": "DOES_NOT_HOLD",
  "not-evaluated": "NOT_APPLICABLE",
  error: "ERROR",
  contributing: "HOLDS",
  "not-ruled-out": "DOES_NOT_HOLD",
} as const;

export function outcomeOf(
  evidence: Evidence,
  runbook: Runbook,
  id: string,
): { status: Expect; variant: string | null } {
  const ev = evaluateRunbook(evidence, runbook);
  const c = ev.classes.find((x) => x.id === id);
  if (c) return { status: MAP[c.status], variant: c.variant };
  const h = ev.hypotheses.find((x) => x.id === id);
  if (h) return { status: MAP[h.status], variant: null };
  throw new Error(`no rule ${id}`);
}

/** A compliance matrix: expected outcome of every rule (rows) on every evidence case (columns). */
export interface MatrixSpec<C extends string> {
  readonly cases: Readonly<Record<C, Evidence>>;
  readonly columns: readonly C[];
  readonly matrix: Readonly<Record<string, readonly Expect[]>>;
  /** The variant expected of one rule where it holds, by case. */
  readonly variants?: { readonly rule: string; readonly byCase: Partial<Record<C, string>> };
  readonly rootCause: Readonly<Record<C, string>>;
}

/** The matrix's tests (cdk-nag style): the rows cover the runbook, each cell, each case's root cause. */
export function complianceMatrix<C extends string>(
  title: string,
  runbook: Runbook,
  spec: MatrixSpec<C>,
): void {
  describe(title, () => {
    it("covers every class and hypothesis of the shipped runbook", () => {
      const ids = [...runbook.classes.map((c) => c.id), ...runbook.hypotheses.map((h) => h.id)];
      expect(Object.keys(spec.matrix).sort()).toEqual([...ids].sort());
      for (const row of Object.values(spec.matrix)) expect(row).toHaveLength(spec.columns.length);
    });

    for (const [rule, row] of Object.entries(spec.matrix)) {
      describe(rule, () => {
        it.each(spec.columns.map((c, i) => [c, row[i]] as const))("%s → %s", (caseName, expected) => {
          const got = outcomeOf(spec.cases[caseName], runbook, rule);
          expect(got.status).toBe(expected);
          const variant = spec.variants?.byCase[caseName];
          if (rule === spec.variants?.rule && variant) expect(got.variant).toBe(variant);
        });
      });
    }

    it.each([...spec.columns])("%s: root cause", (caseName) => {
      const d = diagnose(spec.cases[caseName], runbook);
      expect(d.rootCause.id).toBe(spec.rootCause[caseName]);
      expect(d.ruleErrors).toEqual([]);
    });
  });
}
