import { type IncidentRecord, incidentRecordSchema } from "../core/incident/schema.js";
import { buildPostmortem } from "../core/postmortem/build-postmortem.js";
import type { PostmortemKnowledge } from "../core/postmortem/knowledge-schema.js";
import {
  type CompiledPostmortemTemplates,
  renderCompiledPostmortem,
} from "../core/postmortem/render-compiled.js";
import { applyStep } from "./apply-step.js";
import { storeArtifact } from "./artifacts.js";
import { loadLambdaPostmortem, type PostmortemAssets } from "./bundled-postmortem.js";
import type { WorkflowDeps } from "./deps.js";
import { Recorder } from "./recorder.js";
import { finishRecord, skipVerify } from "./run-runbook.js";
import {
  type PostmortemInput,
  type PostmortemOutput,
  type ServiceTarget,
  type StateMachineStepsDeps,
  targetOptions,
} from "./step-contract.js";
import { storePostmortem } from "./store-postmortem.js";

/**
 * The state machine's last state: closes each target's record the way its path ended, writes each
 * target's postmortem, and an incident index when there is more than one target (or none written).
 */

export interface PostmortemStepContext {
  /** The state machine's own ports: the records are loaded and the index written through them. */
  readonly ports: StateMachineStepsDeps;
  /** The workflow's (redacting) ports, for the steps that close a record and store its postmortem. */
  readonly deps: WorkflowDeps;
  readonly templates: CompiledPostmortemTemplates;
  readonly knowledge: PostmortemKnowledge;
  readonly keys: (incidentId: string, target: string) => { storeKey: string; artifactPrefix: string };
}

/**
 * The postmortem state as the state machine steps run it (AwsWorkflowOptions.postmortem): the templates
 * and the postmortem knowledge read once from the bundled runbooks folder, on the first postmortem
 * (bundled-postmortem.ts: precompiled and JSON in a Lambda bundle, the sources from source).
 */
export type PostmortemStep = (
  ctx: Omit<PostmortemStepContext, "templates" | "knowledge">,
  input: PostmortemInput,
) => Promise<PostmortemOutput>;

export function postmortemStep(runbooksDir: string): PostmortemStep {
  let loaded: Promise<PostmortemAssets> | null = null;
  return async (ctx, input) => {
    loaded ??= loadLambdaPostmortem(runbooksDir);
    return writeIncidentPostmortem({ ...ctx, ...(await loaded) }, input);
  };
}

export async function writeIncidentPostmortem(
  ctx: PostmortemStepContext,
  input: PostmortemInput,
): Promise<PostmortemOutput> {
  const { deps } = ctx;
  const sections: string[] = [];
  const statuses: IncidentRecord["status"][] = [];
  let primary: { key: string; uri: string } | null = null;
  const pathEnd = (t: PostmortemInput["targets"][number]) =>
    `${t.outcome}${t.error ? `: ${t.error.name}: ${t.error.message}` : ""}`;
  for (const t of input.targets) {
    let rec: Recorder | null = null;
    try {
      const raw = await ctx.ports.incidents.load(`${input.incidentId}/${t.target}`);
      if (!raw) {
        sections.push(`- \`${t.target}\`: **escalated**: no record (${pathEnd(t)})`);
        statuses.push("escalated");
        continue;
      }
      rec = new Recorder(
        incidentRecordSchema.parse(raw),
        ctx.ports.incidents,
        ctx.ports.clock,
        ctx.keys(input.incidentId, t.target),
      );
      await closeTarget(deps, rec, t, input);
      const model = buildPostmortem(rec.record, { knowledge: ctx.knowledge });
      const rendered = renderCompiledPostmortem(model, ctx.templates);
      const r = rec;
      const put = (name: string, body: string, type: string) => storeArtifact(deps, r, name, body, type);
      const { markdown: md } = await storePostmortem(rendered, put, deps.runbook.redactor);
      statuses.push(rec.record.status);
      primary ??= { key: `${rec.artifactPrefix}/${md.name}`, uri: md.uri };
      sections.push(
        `- \`${t.target}\`: **${rec.record.status}**: ${rec.record.statusReason} ([postmortem](${t.target}/postmortem.md))`,
      );
    } catch (e) {
      // The incident store or the artifact store failed under us: say so in the index (and escalate)
      // rather than lose the other targets' outcome.
      const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      statuses.push("escalated");
      primary = null;
      sections.push(
        `- \`${t.target}\`: **escalated**: the record could not be ${rec ? "closed or rendered" : "read"} (${err}); status on record: ${rec?.record.status ?? "unknown"}; path: ${pathEnd(t)}`,
      );
    }
  }
  for (const c of input.cooldown)
    sections.push(
      `- \`${c.target}\`: in cooldown (mitigated by ${c.heldBy ?? "?"} until ${c.until ?? "?"}); not probed.`,
    );
  const status = worst(statuses, input);
  const summary = `${input.targets.length} target(s): ${statuses.join(", ") || "none probed"}${input.brake?.brake ? `; fleet brake: ${input.brake.reason}` : ""}${input.failure ? `; failure: ${input.failure.error}` : ""}`;
  if (input.targets.length !== 1 || !primary) {
    const index = [
      `# Incident ${input.incidentId}`,
      "",
      `Status: **${status}**. ${summary}`,
      "",
      ...(input.brake?.brake ? [`> Fleet brake: ${input.brake.reason}`, ""] : []),
      ...(input.failure ? [`> The runbook failed: ${input.failure.error}: ${input.failure.cause}`, ""] : []),
      ...sections,
      "",
    ].join("\n");
    const stored = await ctx.ports.artifacts.put(`${input.incidentId}/postmortem.md`, index, "text/markdown");
    primary = { key: stored.key, uri: stored.uri };
  }
  return { postmortemKey: primary.key, postmortemUri: primary.uri, status, summary };
}

/** Ends a target's record the way its path through the state machine ended. */
async function closeTarget(
  deps: WorkflowDeps,
  rec: Recorder,
  t: PostmortemInput["targets"][number],
  input: PostmortemInput,
) {
  const outcome = t.outcome;
  if (rec.record.endedAt) return;
  if (t.error) {
    // The target's path through the state machine ended on an error: the record says which.
    const error = t.error;
    await rec.update((x) => ({
      ...x,
      errors: [...x.errors, { step: "state-machine", name: error.name, message: error.message }],
    }));
  }
  const r = rec.record;
  const lastApply = r.steps.findLast((s) => s.id === "apply");
  // Per-rung approval: the ladder stopped at a rung that was then declined or never answered.
  const awaiting = lastApply?.outputs.stopReason === "awaiting-approval";
  if (!lastApply && input.brake?.brake) {
    // The fleet brake stopped the run before any plan: nothing applied, the record says braked.
    await rec.begin("apply");
    await rec.end("apply", {
      status: "skipped",
      outputs: { stopReason: "braked", reason: `fleet brake: ${input.brake.reason}` },
      note: "fleet brake",
    });
  } else if ((!lastApply || awaiting) && r.plan) {
    if (outcome === "declined" || outcome === "approval-timeout") {
      const why = approvalAnswer(outcome, t.answer ?? null);
      await applyStep(
        { ...deps, approve: async () => ({ declined: why }) },
        rec,
        targetOptions({ ...input, target: r.target, service: serviceOf(r) }),
      );
      if (outcome === "approval-timeout") {
        // Nobody answered: declined, never applied, and escalated (a person must look).
        const subject = `${r.runbook} on ${r.target}: approval timed out, escalating`;
        const notified = await deps.notify(subject, `${why}. Incident ${r.incidentId}.`).catch(() => []);
        await rec.update((x) => ({ ...x, escalation: { reason: why, notified } }));
      }
    } else if (outcome === "planned") {
      // Plan-only path (mode plan, or nothing actionable): record the rungs as the plan says.
      await applyStep(deps, rec, targetOptions({ ...input, target: r.target, service: serviceOf(r) }));
    } else {
      // The path ended on an error before apply: never apply from here, say why and escalate.
      const reason = `the target's path ended (${outcome}) before the apply step: nothing was applied`;
      await rec.begin("apply");
      await rec.end("apply", {
        status: "skipped",
        outputs: { stopReason: "escalated", reason },
        note: "not applied: the path ended before apply",
      });
    }
  }
  if (!rec.record.steps.some((s) => s.id === "verify"))
    await skipVerify(
      rec,
      String(rec.record.steps.findLast((s) => s.id === "apply")?.outputs.stopReason ?? "no-plan"),
    );
  await finishRecord(deps, rec);
}

/** One line on how an approval ended, for the record: who declined (`runbook approve --decline`), or the time-out. */
function approvalAnswer(
  outcome: string,
  answer: { readonly Error: string; readonly Cause?: string | undefined } | null,
): string {
  if (outcome === "approval-timeout" || answer?.Error === "States.Timeout")
    return "no answer within the approval timeout: treated as declined";
  let by: string | null = null;
  try {
    const cause = JSON.parse(answer?.Cause ?? "null") as { declinedBy?: unknown } | null;
    by = typeof cause?.declinedBy === "string" ? cause.declinedBy : null;
  } catch {
    by = null;
  }
  return by ? `declined by ${by}` : `declined (${answer?.Cause || "no reason given"})`;
}

/** The service settings a record was collected with (from its evidence), for steps run after the fact. */
function serviceOf(r: IncidentRecord): ServiceTarget {
  const input = r.evidence.before?.input;
  return {
    port: input?.port ?? 0,
    healthPath: input?.healthPath ?? "/health",
    logPath: input?.logPath ?? null,
    systemdUnit: null,
  };
}

const ORDER: IncidentRecord["status"][] = [
  "failed",
  "escalated",
  "braked",
  "interrupted",
  "declined",
  "cooldown",
  "planned",
  "running",
  "recovered",
  "not-down",
];
function worst(statuses: IncidentRecord["status"][], input: PostmortemInput): IncidentRecord["status"] {
  if (input.failure) return "failed";
  if (input.brake?.brake) return "braked";
  if (!statuses.length) return input.cooldown.length ? "cooldown" : "escalated";
  return ORDER.find((s) => statuses.includes(s)) ?? "escalated";
}
