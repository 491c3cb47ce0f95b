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

/** The cells of a matrix, one letter each so that it reads as a table. */
export const H: Expect = "HOLDS";
export const R: Expect = "RULED_OUT";
export const D: Expect = "DOES_NOT_HOLD";
export const N: Expect = "NOT_APPLICABLE";

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

/**
 * The compliance-matrix tests (cdk-nag style) over a set of evidence cases: the rows cover every class and
 * hypothesis of the runbook, each cell is the rule's outcome on that case (`variant` names the variant
 * that must hold, when it matters), and each case's root cause is the expected one (given as
 * `[id, variant]`: the variant of its first finding too).
 */
export function describeMatrix<C extends string>(m: {
  runbook: Runbook;
  cases: Record<C, Evidence>;
  columns: readonly C[];
  matrix: Record<string, Expect[]>;
  variant: (rule: string, caseName: C) => string | undefined;
  rootCause: Record<C, string | readonly [string, string]>;
}): void {
  it("covers every class and hypothesis of the shipped runbook", () => {
    const ids = [...m.runbook.classes.map((c) => c.id), ...m.runbook.hypotheses.map((h) => h.id)];
    expect(Object.keys(m.matrix).sort()).toEqual([...ids].sort());
    for (const row of Object.values(m.matrix)) expect(row).toHaveLength(m.columns.length);
  });

  for (const [rule, row] of Object.entries(m.matrix)) {
    describe(rule, () => {
      it.each(m.columns.map((c, i) => [c, row[i]] as const))("%s → %s", (caseName, expected) => {
        const got = outcomeOf(m.cases[caseName], m.runbook, rule);
        expect(got.status).toBe(expected);
        const variant = m.variant(rule, caseName);
        if (variant) expect(got.variant).toBe(variant);
      });
    });
  }

  it.each(m.columns)("%s: root cause", (caseName) => {
    const want = m.rootCause[caseName];
    const [id, variant] = typeof want === "string" ? [want, undefined] : want;
    const d = diagnose(m.cases[caseName], m.runbook);
    expect(d.rootCause.id).toBe(id);
    if (variant !== undefined) expect(d.findings[0]?.variant).toBe(variant);
    expect(d.ruleErrors).toEqual([]);
  });
}
