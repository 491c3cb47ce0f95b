import type { IncidentRecord } from "../incident/schema.js";
import { evaluateCondition, type Truth } from "../rules/conditions.js";
import { type MetricMap, metricDef } from "../rules/metrics.js";
import { type Facts, fill } from "./facts.js";
import type {
  ActionItemGate,
  ActionItemKnowledge,
  ClassKnowledge,
  PostmortemKnowledge,
} from "./knowledge.js";
import { STEP_TITLES } from "./record-view.js";
import { shortReason } from "./root-cause.js";
import { type ActionItem, type Postmortem, TO_BE_FILLED } from "./schema.js";

/** How many action items the main document shows; the rest go to the appendix. */
export const TOP_ACTION_ITEMS = 3;

/** Items for steps of the run that failed: the runbook itself needs fixing. */
function fixStepItems(record: IncidentRecord): [string, ActionItemKnowledge][] {
  return record.steps
    .filter((s) => s.status === "failed")
    .map((s) => [
      `fix-step-${s.id}`,
      {
        title: `Fix the runbook step that failed: ${STEP_TITLES[s.id].toLowerCase()}`,
        priority: "P2",
        kind: "investigate",
        text: `Step \`${s.id}\` failed: ${s.error ? `${s.error.name}: ${shortReason(s.error.message)}` : "no recorded error"}.`,
        doneWhen: {
          command: `npx runbook run ${record.runbook} --target ${record.target} --mode plan`,
          expect: `step ${s.id} ends ok`,
        },
      },
    ]);
}

export interface GateVerdict {
  readonly truth: Truth;
  /** Metrics whose missing evidence (or "the framework version") left the gate undecided. */
  readonly missing: readonly string[];
}

/**
 * An item's gate on the evidence (knowledge.ts, `actionItemGateSchema`), three-valued: `when` over the first
 * snapshot's metrics, `knownFixMissing` over the known-fixes table (null: version unknown or no table), both
 * when both are given.
 */
export function evaluateGate(
  gate: ActionItemGate,
  metrics: MetricMap,
  knownFixes: Postmortem["knownFixes"],
): GateVerdict {
  const parts: GateVerdict[] = [];
  if (gate.when) {
    const o = evaluateCondition(gate.when, metrics, {});
    parts.push({ truth: o.truth, missing: o.missing });
  }
  if (gate.knownFixMissing) {
    parts.push(
      knownFixes === null
        ? { truth: "unknown", missing: ["the framework version"] }
        : {
            truth: knownFixes.rows.some((r) => !r.status.startsWith("included")) ? "true" : "false",
            missing: [],
          },
    );
  }
  if (parts.some((p) => p.truth === "false")) return { truth: "false", missing: [] };
  const unknown = parts.filter((p) => p.truth === "unknown");
  return unknown.length
    ? { truth: "unknown", missing: [...new Set(unknown.flatMap((p) => p.missing))] }
    : { truth: "true", missing: [] };
}

interface Chosen {
  readonly id: string;
  readonly k: ActionItemKnowledge;
  /** Why it is offered (its gate held, or could not be decided and `ifUnknown: include`); null: no gate. */
  readonly because: string | null;
}

/**
 * The class's action items whose gates let them in, in the knowledge's order (the first is "do first"), and
 * those the evidence left out (their gate does not hold, or is undecided with `ifUnknown: omit`), each with
 * why. Items without a gate are always offered.
 */
export function chooseActionItems(
  all: PostmortemKnowledge,
  knowledge: ClassKnowledge,
  knownFixes: Postmortem["knownFixes"],
  facts: Facts,
  metrics: MetricMap,
): { chosen: Chosen[]; leftOut: Postmortem["leftOutActionItems"] } {
  const chosen: Chosen[] = [];
  const leftOut: Postmortem["leftOutActionItems"] = [];
  for (const id of knowledge.actionItems) {
    const k = all.actionItems[id];
    if (!k) continue;
    if (!k.gate) {
      chosen.push({ id, k, because: null });
      continue;
    }
    const v = evaluateGate(k.gate, metrics, knownFixes);
    const title = fill(k.title, facts, metrics).text;
    const unknown = v.missing.map((m) => metricDef(m)?.label ?? m);
    const undecided = `the evidence could not decide (${unknown.join("; ") || "unavailable"}: not in the record)`;
    if (v.truth === "true") chosen.push({ id, k, because: fill(k.gate.because, facts, metrics).text });
    else if (v.truth === "unknown" && k.gate.ifUnknown === "include")
      chosen.push({ id, k, because: `${undecided}, so it is kept` });
    else
      leftOut.push({
        id,
        title,
        why: v.truth === "false" ? fill(k.gate.leftOutBecause, facts, metrics).text : undecided,
      });
  }
  return { chosen, leftOut };
}

/**
 * The class's chosen action items (`chooseActionItems`: no no-op items), then a fix for every failed step.
 * The first three are the main document's; the rest, by priority, the appendix's.
 */
export function actionItemsOf(
  record: IncidentRecord,
  all: PostmortemKnowledge,
  knowledge: ClassKnowledge,
  knownFixes: Postmortem["knownFixes"],
  facts: Facts,
  metrics: MetricMap,
  owner: string,
): { top: ActionItem[]; more: ActionItem[]; leftOut: Postmortem["leftOutActionItems"] } {
  const { chosen, leftOut } = chooseActionItems(all, knowledge, knownFixes, facts, metrics);
  const failedSteps: Chosen[] = fixStepItems(record).map(([id, k]) => ({
    id,
    k,
    because: "this step of the run failed",
  }));
  const items = [...chosen, ...failedSteps].map(
    ({ id, k, because }, i): ActionItem => ({
      id,
      title: fill(k.title, facts, metrics).text,
      priority: k.priority,
      kind: k.kind,
      doFirst: i === 0,
      text: fill(k.text, facts, metrics).text,
      snippet: k.snippet
        ? { language: k.snippet.language, code: fill(k.snippet.code, facts, metrics).text }
        : null,
      doneWhen: {
        command: fill(k.doneWhen.command, facts, metrics).text,
        expect: fill(k.doneWhen.expect, facts, metrics).text,
      },
      because,
      owner,
      due: TO_BE_FILLED,
      ticket: TO_BE_FILLED,
    }),
  );
  const rank = { P1: 0, P2: 1, P3: 2 } as const;
  const top = items.slice(0, TOP_ACTION_ITEMS);
  const more = items.slice(TOP_ACTION_ITEMS).sort((a, b) => rank[a.priority] - rank[b.priority]);
  return { top, more, leftOut };
}

/** Diagnostics the human runs for this class (heap dump, session states ...), with their commands. */
export function diagnosticsOf(
  all: PostmortemKnowledge,
  knowledge: ClassKnowledge,
  facts: Facts,
  metrics: MetricMap,
): Postmortem["diagnostics"] {
  return knowledge.diagnostics.flatMap((id) => {
    const k = all.actionItems[id];
    if (!k) return [];
    return [
      {
        title: fill(k.title, facts, metrics).text,
        text: fill(k.text, facts, metrics).text,
        snippet: k.snippet
          ? { language: k.snippet.language, code: fill(k.snippet.code, facts, metrics).text }
          : null,
      },
    ];
  });
}

export function openQuestionsOf(knowledge: ClassKnowledge, facts: Facts, metrics: MetricMap): string[] {
  return knowledge.openQuestions.map((q) => fill(q, facts, metrics).text);
}
