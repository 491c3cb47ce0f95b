import { actionIds, actionModule, isActionId } from "../mitigation/actions/registry.js";
import { isComparison } from "../rules/conditions.js";
import { placeholdersOf } from "../rules/format.js";
import { metricDef } from "../rules/metrics.js";
import { expectedOneOf } from "./expected.js";
import { type Cite, type Comparison, type Condition, healthTimeoutFits, type Runbook } from "./schema.js";
import { thresholdValueProblem } from "./thresholds.js";

/**
 * Reference checks a schema cannot express: `$threshold` names resolve, values fit the operator and
 * the metric's type, `{placeholders}` are metrics, ids are unique, the fallback ladder exists.
 */
export type Path = Array<string | number>;
export interface ReferenceProblem {
  path: Path;
  message: string;
  /** Locate the key rather than its value (an unknown ladder key). */
  atKey?: boolean;
}

const NUMERIC_OPS = new Set(["gt", "gte", "lt", "lte", "between"]);

function walk(c: Condition, path: Path, visit: (c: Comparison, path: Path) => void): void {
  if (isComparison(c)) {
    visit(c, path);
    return;
  }
  if ("not" in c) {
    walk(c.not, [...path, "not"], visit);
    return;
  }
  const key = "all" in c ? "all" : "any";
  const children = "all" in c ? c.all : c.any;
  children.forEach((child, i) => {
    walk(child, [...path, key, i], visit);
  });
}

function checkComparison(c: Comparison, path: Path, rb: Runbook, out: ReferenceProblem[]): void {
  const def = metricDef(c.metric);
  if (!def) {
    out.push({ path: [...path, "metric"], message: `unknown metric "${c.metric}"` });
    return;
  }
  const typeOf = (v: unknown, p: Path): string | null => {
    if (typeof v === "string" && v.startsWith("$")) {
      const name = v.slice(1);
      if (!Object.hasOwn(rb.thresholds, name)) {
        const known = Object.keys(rb.thresholds).join(", ");
        out.push({ path: p, message: `unknown threshold "${v}" (thresholds: ${known || "none"})` });
        return null;
      }
      return "number";
    }
    return typeof v;
  };
  const vpath = [...path, "value"];
  if (c.op === "between" || c.op === "in") {
    if (!Array.isArray(c.value) || (c.op === "between" && c.value.length !== 2)) {
      out.push({
        path: vpath,
        message:
          c.op === "between" ? "`between` expects a [low, high] pair" : "`in` expects a list of values",
      });
      return;
    }
    const types = c.value.map((v, i) => typeOf(v, [...vpath, i]));
    for (const [i, t] of types.entries()) {
      if (t !== null && t !== def.type)
        out.push({
          path: [...vpath, i],
          message: `expected a ${def.type} for metric ${c.metric}, got a ${t}`,
        });
    }
    const [lo, hi] = c.value;
    if (c.op === "between" && typeof lo === "number" && typeof hi === "number" && lo > hi)
      out.push({ path: vpath, message: `\`between\` low ${lo} is above high ${hi}` });
    return;
  }
  if (Array.isArray(c.value)) {
    out.push({ path: vpath, message: `\`${c.op}\` expects a single value, not a list` });
    return;
  }
  if (NUMERIC_OPS.has(c.op) && def.type !== "number") {
    out.push({
      path: [...path, "op"],
      message: `\`${c.op}\` needs a numeric metric; ${c.metric} is a ${def.type}`,
    });
    return;
  }
  const t = typeOf(c.value, vpath);
  if (t !== null && t !== def.type)
    out.push({ path: vpath, message: `expected a ${def.type} for metric ${c.metric}, got a ${t}` });
}

function checkTemplate(text: string, path: Path, allowed: readonly string[], out: ReferenceProblem[]): void {
  for (const name of placeholdersOf(text)) {
    if (!metricDef(name) && !allowed.includes(name))
      out.push({ path, message: `unknown placeholder {${name}} (expected a metric name)` });
  }
}

function checkCites(cites: readonly Cite[] | undefined, path: Path, out: ReferenceProblem[]): void {
  cites?.forEach((c, i) => {
    if (typeof c !== "string") checkTemplate(c.text, [...path, i, "text"], [], out);
  });
}

function duplicates<T>(
  items: readonly T[],
  key: (t: T) => string,
  path: Path,
  what: string,
  out: ReferenceProblem[],
) {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push({ path: [...path, i, "id"], message: `duplicate ${what} id "${k}"` });
    seen.add(k);
  });
}

export function checkReferences(rb: Runbook): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const cond = (c: Condition | undefined, path: Path) => {
    if (c) walk(c, path, (cmp, p) => checkComparison(cmp, p, rb, out));
  };
  for (const [name, value] of Object.entries(rb.thresholds)) {
    const problem = thresholdValueProblem(name, value);
    if (problem) out.push({ path: ["thresholds", name], message: `${problem}, got ${value}` });
  }
  if (!healthTimeoutFits(rb.probe))
    out.push({
      path: ["probe", "healthTimeoutSeconds"],
      message: `must be under probe.timeoutSeconds (${rb.probe.timeoutSeconds}), got ${rb.probe.healthTimeoutSeconds}`,
    });
  duplicates(rb.classes, (c) => c.id, ["classes"], "class", out);
  duplicates(rb.hypotheses, (h) => h.id, ["hypotheses"], "hypothesis", out);
  const classIds = new Set<string>(rb.classes.map((c) => c.id));
  rb.hypotheses.forEach((h, i) => {
    if (classIds.has(h.id))
      out.push({ path: ["hypotheses", i, "id"], message: `hypothesis id "${h.id}" is also a class id` });
  });

  rb.classes.forEach((c, ci) => {
    const base: Path = ["classes", ci];
    duplicates(c.variants, (v) => v.id, [...base, "variants"], "variant", out);
    checkTemplate(c.summary, [...base, "summary"], [], out);
    checkCites(c.cite, [...base, "cite"], out);
    c.variants.forEach((v, vi) => {
      const vp: Path = [...base, "variants", vi];
      v.all.forEach((x, k) => {
        cond(x, [...vp, "all", k]);
      });
      if (v.summary) checkTemplate(v.summary, [...vp, "summary"], [], out);
      if (v.caveat) checkTemplate(v.caveat, [...vp, "caveat"], [], out);
      checkCites(v.cite, [...vp, "cite"], out);
    });
    cond(c.ruledOutBy, [...base, "ruledOutBy"]);
    c.caveats?.forEach((cv, k) => {
      cond(cv.when, [...base, "caveats", k, "when"]);
      checkTemplate(cv.text, [...base, "caveats", k, "text"], [], out);
    });
  });

  rb.hypotheses.forEach((h, hi) => {
    const base: Path = ["hypotheses", hi];
    cond(h.ruledOutBy, [...base, "ruledOutBy"]);
    cond(h.contributesWhen, [...base, "contributesWhen"]);
    if (h.summary) checkTemplate(h.summary, [...base, "summary"], [], out);
    if (h.contributesWhen && !h.summary)
      out.push({
        path: [...base, "summary"],
        message: "a hypothesis with `contributesWhen` needs a `summary`",
      });
    checkCites(h.cite, [...base, "cite"], out);
  });

  checkTemplate(rb.rootCause.symptomOnlySummary, ["rootCause", "symptomOnlySummary"], ["summary"], out);
  checkTemplate(rb.rootCause.fallback.summary, ["rootCause", "fallback", "summary"], ["notEvaluated"], out);
  checkLadders(rb, out);
  return out;
}

/** Ladders are keyed by this runbook's classes (or its fallback) and name registered actions with valid params. */
function checkLadders(rb: Runbook, out: ReferenceProblem[]): void {
  const classIds = new Set<string>(rb.classes.map((c) => c.id));
  // Each rung's params against its action's own schema, so a bad ladder fails when the runbook loads
  // (or an override is applied), not at the incident.
  const fallback = rb.rootCause.fallback.id;
  const ladderKeys = [
    ...rb.classes.map((c) => c.id),
    fallback,
    ...rb.classes.flatMap((c) => c.variants.map((v) => `${c.id}/${v.id}`)),
  ];
  for (const [cls, rungs] of Object.entries(rb.mitigation.ladders)) {
    if (!ladderKeys.includes(cls))
      out.push({
        path: ["mitigation", "ladders", cls],
        message: `unknown failure class "${cls}": ${expectedOneOf(ladderKeys, cls)}`,
        atKey: true,
      });
    rungs?.forEach((rung, i) => {
      if (!isActionId(rung.action)) {
        const message = expectedOneOf(actionIds(), rung.action);
        out.push({ path: ["mitigation", "ladders", cls, i, "action"], message });
        return;
      }
      const parsed = actionModule(rung.action).params.safeParse(rung.params);
      for (const issue of parsed.success ? [] : parsed.error.issues) {
        const where = issue.code === "unrecognized_keys" ? [issue.keys[0] ?? ""] : issue.path.map(String);
        const what =
          issue.code === "unrecognized_keys"
            ? `unknown parameter of ${rung.action} (it takes: ${paramNames(rung.action)})`
            : issue.message;
        out.push({ path: ["mitigation", "ladders", cls, i, "params", ...where], message: what });
      }
    });
  }
  if (!rb.mitigation.ladders[fallback])
    out.push({
      path: ["mitigation", "ladders"],
      message: `a ladder for \`${fallback}\` (the fallback) is required`,
    });
  if (classIds.has(fallback))
    out.push({
      path: ["rootCause", "fallback", "id"],
      message: `the fallback id "${fallback}" is also a class id: it must name no class`,
    });
}

function paramNames(action: string): string {
  const shape = (actionModule(action).params as { shape?: Record<string, unknown> }).shape;
  const names = Object.keys(shape ?? {});
  return names.length > 0 ? names.join(", ") : "none";
}
