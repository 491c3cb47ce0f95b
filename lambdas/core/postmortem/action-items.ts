import type { IncidentRecord } from "../incident/schema.js";
import { evaluateCondition } from "../rules/conditions.js";
import type { MetricMap } from "../rules/metrics.js";
import { type Facts, fill } from "./facts.js";
import type { ActionItemKnowledge, ClassKnowledge, PostmortemKnowledge } from "./knowledge.js";
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

/**
 * The class's action items, in the knowledge's order (the first that applies is "do first"), without
 * no-op items (an upgrade when the recorded version already has every known fix), then a fix for every
 * failed step. The first three are the main document's; the rest, by priority, the appendix's.
 */
export function actionItemsOf(
  record: IncidentRecord,
  all: PostmortemKnowledge,
  knowledge: ClassKnowledge,
  knownFixes: Postmortem["knownFixes"],
  facts: Facts,
  metrics: MetricMap,
  owner: string,
): { top: ActionItem[]; more: ActionItem[] } {
  const fixMissing = knownFixes === null || knownFixes.rows.some((r) => !r.status.startsWith("included"));
  const chosen: [string, ActionItemKnowledge][] = knowledge.actionItems
    .map((id): [string, ActionItemKnowledge | undefined] => [id, all.actionItems[id]])
    .filter((x): x is [string, ActionItemKnowledge] => x[1] !== undefined)
    .filter(([, k]) => !k.onlyIfKnownFixMissing || fixMissing)
    .filter(([, k]) => !k.when || evaluateCondition(k.when, metrics, {}).truth === "true");
  const items = [...chosen, ...fixStepItems(record)].map(
    ([id, k], i): ActionItem => ({
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
      owner,
      due: TO_BE_FILLED,
      ticket: TO_BE_FILLED,
    }),
  );
  const rank = { P1: 0, P2: 1, P3: 2 } as const;
  const top = items.slice(0, TOP_ACTION_ITEMS);
  const more = items.slice(TOP_ACTION_ITEMS).sort((a, b) => rank[a.priority] - rank[b.priority]);
  return { top, more };
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
