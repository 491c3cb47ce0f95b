import {
  DIAGNOSIS_SCHEMA_VERSION,
  type Diagnosis,
  type EvidenceLine,
  type Finding,
} from "../diagnosis/schema.js";
import type { Evidence } from "../evidence/schema.js";
import type { Cite, FailureClass, Hypothesis, Runbook } from "../runbook/schema.js";
import { evaluateCondition, type Outcome } from "./conditions.js";
import { evidenceLines, renderTemplate } from "./format.js";
import { deriveMetricsReport, type MetricMap, whyUnavailable } from "./metrics.js";

/**
 * The rules engine: pure and generic. It knows conditions, variants, kinds and precedence,
 * never a particular failure class; all wording and thresholds come from the runbook.
 */

export type ClassStatus = "holds" | "ruled-out" | "does-not-hold" | "not-evaluated" | "error";
export type HypothesisStatus = "contributing" | "ruled-out" | "not-ruled-out" | "not-evaluated" | "error";

export interface ClassEvaluation {
  id: string;
  kind: FailureClass["kind"];
  status: ClassStatus;
  /** The variant that held. */
  variant: string | null;
  confidence: number | null;
  /** Metrics whose missing evidence left a variant UNKNOWN. */
  missing: string[];
  /** Metrics that decided a ruled-out outcome. */
  witnesses: string[];
}

export interface HypothesisEvaluation {
  id: string;
  status: HypothesisStatus;
  missing: string[];
  witnesses: string[];
}

export interface RuleError {
  ruleId: string;
  message: string;
}

export interface RunbookEvaluation {
  metrics: MetricMap;
  classes: ClassEvaluation[];
  hypotheses: HypothesisEvaluation[];
  ruleErrors: RuleError[];
}

const uniq = (xs: string[]): string[] => [...new Set(xs)];
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function evaluateClass(
  cls: FailureClass,
  metrics: MetricMap,
  thresholds: Runbook["thresholds"],
  errors: RuleError[],
): ClassEvaluation {
  const base = { id: cls.id, kind: cls.kind, variant: null, confidence: null, missing: [], witnesses: [] };
  let ruleId: string = cls.id;
  try {
    const missing: string[] = [];
    let anyUnknown = false;
    for (const v of cls.variants) {
      ruleId = `${cls.id}/${v.id}`;
      const o = evaluateCondition({ all: v.all }, metrics, thresholds);
      if (o.truth === "true") {
        return { ...base, status: "holds", variant: v.id, confidence: v.confidence, witnesses: o.witnesses };
      }
      if (o.truth === "unknown") {
        anyUnknown = true;
        missing.push(...o.missing);
      }
    }
    if (cls.ruledOutBy) {
      ruleId = `${cls.id}/ruledOutBy`;
      const r = evaluateCondition(cls.ruledOutBy, metrics, thresholds);
      if (r.truth === "true") return { ...base, status: "ruled-out", witnesses: r.witnesses };
    }
    if (anyUnknown) return { ...base, status: "not-evaluated", missing: uniq(missing) };
    return { ...base, status: "does-not-hold" };
  } catch (err) {
    errors.push({ ruleId, message: message(err) });
    return { ...base, status: "error" };
  }
}

function evaluateHypothesis(
  h: Hypothesis,
  metrics: MetricMap,
  thresholds: Runbook["thresholds"],
  errors: RuleError[],
): HypothesisEvaluation {
  let ruleId = `${h.id}/contributesWhen`;
  try {
    let contributes: Outcome | null = null;
    if (h.contributesWhen) {
      contributes = evaluateCondition(h.contributesWhen, metrics, thresholds);
      if (contributes.truth === "true")
        return { id: h.id, status: "contributing", missing: [], witnesses: contributes.witnesses };
    }
    ruleId = `${h.id}/ruledOutBy`;
    const r = evaluateCondition(h.ruledOutBy, metrics, thresholds);
    if (r.truth === "true") return { id: h.id, status: "ruled-out", missing: [], witnesses: r.witnesses };
    if (r.truth === "unknown" || contributes?.truth === "unknown") {
      return {
        id: h.id,
        status: "not-evaluated",
        missing: uniq([...r.missing, ...(contributes?.missing ?? [])]),
        witnesses: [],
      };
    }
    return { id: h.id, status: "not-ruled-out", missing: [], witnesses: r.witnesses };
  } catch (err) {
    errors.push({ ruleId, message: message(err) });
    return { id: h.id, status: "error", missing: [], witnesses: [] };
  }
}

/** Evaluates every class and hypothesis of the runbook; never throws on rule problems. */
export function evaluateRunbook(evidence: Evidence, runbook: Runbook): RunbookEvaluation {
  const { metrics, errors: metricErrors } = deriveMetricsReport(evidence);
  const ruleErrors: RuleError[] = metricErrors.map((e) => ({
    ruleId: `metric:${e.metric}`,
    message: e.message,
  }));
  const classes = runbook.classes.map((c) => evaluateClass(c, metrics, runbook.thresholds, ruleErrors));
  const hypotheses = runbook.hypotheses.map((h) =>
    evaluateHypothesis(h, metrics, runbook.thresholds, ruleErrors),
  );
  return { metrics, classes, hypotheses, ruleErrors };
}

function missingReason(missing: string[], evidence: Evidence): string {
  const reasons = uniq(missing.map((m) => whyUnavailable(m, evidence)));
  return `evidence missing: ${reasons.join("; ")}`;
}

function safeLines(
  cites: readonly Cite[],
  metrics: MetricMap,
  evidence: Evidence,
  ruleId: string,
  errors: RuleError[],
): EvidenceLine[] {
  try {
    return evidenceLines(cites, metrics, evidence);
  } catch (err) {
    errors.push({ ruleId: `${ruleId}/cite`, message: message(err) });
    return [];
  }
}

/** The declared cites when there are any, else the metrics the outcome rested on. */
function decisiveCites(witnesses: string[], declared: readonly Cite[] | undefined): Cite[] {
  return declared && declared.length > 0 ? [...declared] : (witnesses as Cite[]);
}

/** What diagnose gathers from the classes, then the hypotheses, in runbook order. */
interface Outcomes {
  readonly findings: Array<Finding & { priority: number }>;
  readonly ruledOut: Diagnosis["ruledOut"];
  readonly notEvaluated: Diagnosis["notEvaluated"];
  readonly contributing: Diagnosis["contributing"];
  readonly ruleErrors: RuleError[];
}

/** The Diagnosis for one Evidence document under one runbook. Pure; rule failures become `ruleErrors`. */
export function diagnose(evidence: Evidence, runbook: Runbook): Diagnosis {
  const ev = evaluateRunbook(evidence, runbook);
  const out: Outcomes = {
    findings: [],
    ruledOut: [],
    notEvaluated: [],
    contributing: [],
    ruleErrors: [...ev.ruleErrors],
  };
  addClassOutcomes(ev, evidence, runbook, out);
  addHypothesisOutcomes(ev, evidence, runbook, out);
  const precedence = runbook.rootCause.precedence;
  const rank = (kind: string): number => {
    const i = precedence.indexOf(kind as (typeof precedence)[number]);
    return i < 0 ? precedence.length : i;
  };
  const { findings, ruledOut, contributing, notEvaluated, ruleErrors } = out;
  findings.sort(
    (a, b) => rank(a.kind) - rank(b.kind) || b.confidence - a.confidence || b.priority - a.priority,
  );
  return {
    schemaVersion: DIAGNOSIS_SCHEMA_VERSION,
    rootCause: rootCauseOf(
      findings.filter((f) => precedence.includes(f.kind)),
      notEvaluated,
      runbook,
      ev.metrics,
    ),
    findings: findings.map(({ priority: _p, ...f }) => f),
    ruledOut,
    contributing,
    notEvaluated,
    ruleErrors,
  };
}

function addClassOutcomes(ev: RunbookEvaluation, evidence: Evidence, runbook: Runbook, out: Outcomes): void {
  const { metrics } = ev;
  const byId = new Map(runbook.classes.map((c) => [c.id, c]));
  for (const ce of ev.classes) {
    const cls = byId.get(ce.id as FailureClass["id"]);
    if (!cls) continue;
    if (ce.status === "holds") {
      out.findings.push(findingOf(cls, ce, evidence, runbook, metrics, out.ruleErrors));
    } else if (ce.status === "ruled-out") {
      out.ruledOut.push({
        id: cls.id,
        hypothesis: cls.hypothesis ?? cls.title,
        evidence: safeLines(ce.witnesses as Cite[], metrics, evidence, cls.id, out.ruleErrors),
      });
    } else if (ce.status === "not-evaluated") {
      out.notEvaluated.push({ id: cls.id, reason: missingReason(ce.missing, evidence) });
    }
  }
}

/** A class that holds: its variant's summary and cites, and the caveats whose conditions are true. */
function findingOf(
  cls: FailureClass,
  ce: ClassEvaluation,
  evidence: Evidence,
  runbook: Runbook,
  metrics: MetricMap,
  ruleErrors: RuleError[],
): Finding & { priority: number } {
  const variant = cls.variants.find((v) => v.id === ce.variant);
  const caveats: string[] = [];
  if (variant?.caveat) caveats.push(renderTemplate(variant.caveat, metrics));
  for (const c of cls.caveats ?? []) {
    try {
      if (evaluateCondition(c.when, metrics, runbook.thresholds).truth === "true")
        caveats.push(renderTemplate(c.text, metrics));
    } catch (err) {
      ruleErrors.push({ ruleId: `${cls.id}/caveats`, message: message(err) });
    }
  }
  return {
    id: cls.id,
    title: cls.title,
    kind: cls.kind,
    confidence: ce.confidence ?? 0,
    variant: ce.variant ?? "",
    summary: renderTemplate(variant?.summary ?? cls.summary, metrics),
    evidence: safeLines([...cls.cite, ...(variant?.cite ?? [])], metrics, evidence, cls.id, ruleErrors),
    caveats,
    priority: cls.priority,
  };
}

function addHypothesisOutcomes(
  ev: RunbookEvaluation,
  evidence: Evidence,
  runbook: Runbook,
  out: Outcomes,
): void {
  const { metrics } = ev;
  const hyps = new Map(runbook.hypotheses.map((h) => [h.id, h]));
  for (const he of ev.hypotheses) {
    const h = hyps.get(he.id);
    if (!h) continue;
    const lines = () =>
      safeLines(decisiveCites(he.witnesses, h.cite), metrics, evidence, h.id, out.ruleErrors);
    if (he.status === "contributing") {
      out.contributing.push({
        id: h.id,
        summary: renderTemplate(h.summary ?? h.hypothesis, metrics),
        evidence: lines(),
      });
    } else if (he.status === "ruled-out") {
      out.ruledOut.push({ id: h.id, hypothesis: h.hypothesis, evidence: lines() });
    } else if (he.status === "not-evaluated") {
      out.notEvaluated.push({ id: h.id, reason: missingReason(he.missing, evidence) });
    } else if (he.status === "not-ruled-out") {
      const seen = safeLines(he.witnesses as Cite[], metrics, evidence, h.id, out.ruleErrors).map(
        (l) => l.text,
      );
      out.notEvaluated.push({
        id: h.id,
        reason: `neither confirmed nor ruled out${seen.length > 0 ? `: ${seen.join("; ")}` : ""}`,
      });
    }
  }
}

/** The first eligible finding (sorted by precedence), else the runbook's fallback naming what was not evaluated. */
function rootCauseOf(
  eligible: readonly Finding[],
  notEvaluated: Diagnosis["notEvaluated"],
  runbook: Runbook,
  metrics: MetricMap,
): Diagnosis["rootCause"] {
  const top = eligible[0];
  if (top) {
    const summary =
      top.kind === "symptom"
        ? renderTemplate(runbook.rootCause.symptomOnlySummary, metrics, { summary: top.summary })
        : top.summary;
    return { id: top.id, confidence: top.confidence, summary };
  }
  const fb = runbook.rootCause.fallback;
  const ne = notEvaluated.map((n) => n.id).join(", ") || "none";
  return {
    id: fb.id,
    confidence: fb.confidence,
    summary: renderTemplate(fb.summary, metrics, { notEvaluated: ne }),
  };
}
