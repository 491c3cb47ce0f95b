import { readFileSync } from "node:fs";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { evaluateRunbook } from "../../../lambdas/core/rules/engine.js";
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
