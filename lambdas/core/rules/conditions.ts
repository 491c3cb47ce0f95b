import type { Comparison, Condition } from "../runbook/schema.js";
import type { MetricMap, MetricValue } from "./metrics.js";

/**
 * Three-valued evaluation of runbook conditions. A comparison over a `null` metric (evidence
 * unavailable) is UNKNOWN; `all` is FALSE if any child is FALSE, else UNKNOWN if any is UNKNOWN;
 * `any` is TRUE if any child is TRUE, else UNKNOWN if any is UNKNOWN; `not` swaps TRUE and FALSE.
 */
export type Truth = "true" | "false" | "unknown";

export interface Outcome {
  truth: Truth;
  /** Metrics of the comparisons that decided the outcome (cited as evidence). */
  witnesses: string[];
  /** Metrics whose missing evidence made some comparison UNKNOWN. */
  missing: string[];
}

/** A rule that cannot be evaluated (bad operand, unknown metric): reported in `ruleErrors`. */
export class RuleEvaluationError extends Error {
  override name = "RuleEvaluationError";
}

export type Thresholds = Readonly<Record<string, number>>;

const uniq = (xs: string[]): string[] => [...new Set(xs)];

export function isComparison(c: Condition): c is Comparison {
  return typeof c === "object" && c !== null && "metric" in c;
}

export function resolveValue(value: unknown, thresholds: Thresholds): unknown {
  if (typeof value === "string" && value.startsWith("$")) {
    const name = value.slice(1);
    const t = Object.hasOwn(thresholds, name) ? thresholds[name] : undefined;
    if (t === undefined) throw new RuleEvaluationError(`unknown threshold ${value}`);
    return t;
  }
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, thresholds));
  return value;
}

function num(x: unknown, what: string): number {
  if (typeof x !== "number" || Number.isNaN(x)) throw new RuleEvaluationError(`${what} must be a number`);
  return x;
}

export function compare(actual: Exclude<MetricValue, null>, op: string, expected: unknown): boolean {
  switch (op) {
    case "eq":
    case "ne": {
      if (typeof expected !== typeof actual)
        throw new RuleEvaluationError(`cannot compare ${typeof actual} with ${typeof expected}`);
      return op === "eq" ? actual === expected : actual !== expected;
    }
    case "gt":
      return num(actual, "metric") > num(expected, "value");
    case "gte":
      return num(actual, "metric") >= num(expected, "value");
    case "lt":
      return num(actual, "metric") < num(expected, "value");
    case "lte":
      return num(actual, "metric") <= num(expected, "value");
    case "between": {
      if (!Array.isArray(expected) || expected.length !== 2)
        throw new RuleEvaluationError("`between` needs a [low, high] pair");
      const a = num(actual, "metric");
      return a >= num(expected[0], "low") && a <= num(expected[1], "high");
    }
    case "in": {
      if (!Array.isArray(expected)) throw new RuleEvaluationError("`in` needs a list");
      return expected.includes(actual);
    }
    default:
      throw new RuleEvaluationError(`unknown operator ${op}`);
  }
}

export function evaluateCondition(c: Condition, metrics: MetricMap, thresholds: Thresholds): Outcome {
  if (isComparison(c)) {
    if (!Object.hasOwn(metrics, c.metric)) throw new RuleEvaluationError(`unknown metric ${c.metric}`);
    const actual = metrics[c.metric] ?? null;
    const expected = resolveValue(c.value, thresholds);
    if (actual === null) return { truth: "unknown", witnesses: [], missing: [c.metric] };
    return { truth: compare(actual, c.op, expected) ? "true" : "false", witnesses: [c.metric], missing: [] };
  }
  if ("not" in c) {
    const o = evaluateCondition(c.not, metrics, thresholds);
    const truth: Truth = o.truth === "unknown" ? "unknown" : o.truth === "true" ? "false" : "true";
    return { ...o, truth };
  }
  const isAll = "all" in c;
  const children = (isAll ? c.all : c.any).map((x) => evaluateCondition(x, metrics, thresholds));
  const decisive: Truth = isAll ? "false" : "true";
  const hits = children.filter((o) => o.truth === decisive);
  const missing = uniq(children.flatMap((o) => o.missing));
  if (hits.length > 0) return { truth: decisive, witnesses: uniq(hits.flatMap((o) => o.witnesses)), missing };
  if (children.some((o) => o.truth === "unknown")) return { truth: "unknown", witnesses: [], missing };
  return {
    truth: isAll ? "true" : "false",
    witnesses: uniq(children.flatMap((o) => o.witnesses)),
    missing,
  };
}

/** Every comparison in a condition tree, depth first. */
export function comparisonsOf(c: Condition): Comparison[] {
  if (isComparison(c)) return [c];
  if ("not" in c) return comparisonsOf(c.not);
  return ("all" in c ? c.all : c.any).flatMap(comparisonsOf);
}
