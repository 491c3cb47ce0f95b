import { firstChangeAt, type InFlightAction, type SentRun } from "../core/incident/record.js";
import type { ActionResult, MitigationPlan, PlannedAction } from "../core/incident/schema.js";
import { parseKeyValues } from "../core/mitigation/action-output.js";
import { interpretOutputs } from "../core/mitigation/actions/outcome.js";
import { actionModule } from "../core/mitigation/actions/registry.js";
import type { ScriptOutput, ScriptRun } from "../core/mitigation/actions/types.js";
import type { HostCommand } from "../core/mitigation/host-command.js";
import { actionResult, pushAction, skipRung } from "./action-results.js";
import { approveRung, claimRung, lockTarget, precheckTarget } from "./apply-guards.js";
import { keepArtifact } from "./artifacts.js";
import type { WorkflowDeps } from "./deps.js";
import { commandRequest, quickHealth } from "./host-checks.js";
import type { Recorder } from "./recorder.js";
import { actionContext, collect, type TargetOptions } from "./steps.js";

export interface ApplyOutcome {
  readonly healthy: boolean;
  readonly stopReason:
    | "healthy"
    | "planned"
    | "declined"
    | "cooldown"
    | "escalated"
    | "exhausted"
    | "no-plan"
    | "recovered-on-its-own"
    | "target-gone"
    | "unknown-outcome"
    | "awaiting-approval";
  readonly reason: string;
  /** With "awaiting-approval": the rung whose approval was asked for (the ladder resumes there). */
  readonly awaitingRung?: number;
}

/**
 * Applies the plan per mode, rung by rung, with a health check after each destructive rung.
 * Its outcome is kept in the apply step's outputs, so the final status can be derived from the record.
 */
export async function applyStep(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<ApplyOutcome> {
  const outcome = await applyLadder(deps, rec, t);
  await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, ...outcome } }));
  return outcome;
}

const hostHealthyOutcome = (): ApplyOutcome => ({
  healthy: true,
  stopReason: "healthy",
  reason: "the host answered its own health probe",
});

/** The rung loop: each rung passes its guards (apply-guards.ts), runs, and is checked for health. */
async function applyLadder(deps: WorkflowDeps, rec: Recorder, t: TargetOptions): Promise<ApplyOutcome> {
  const plan = rec.record.plan;
  await rec.begin("apply", { mode: rec.record.mode });
  if (!plan) {
    await rec.end("apply", { status: "skipped", note: "No plan: nothing applied." });
    return { healthy: false, stopReason: "no-plan", reason: "there was no mitigation plan" };
  }
  const hostHealthy = rec.record.evidence.before?.health.outcome === "ok";
  if (plan.mode === "plan") return printPlan(rec, plan, hostHealthy);

  // Evidence before action: the saved evidence artifact must exist with its digest.
  const evidenceSaved = rec.record.artifacts.some((a) => a.name === "evidence/evidence-before.json");
  let lockHeld = false;
  let prechecked = false;
  // Resuming (per-rung approval on the state machine): rungs an earlier call already recorded stay done.
  const done = new Set(rec.record.actions.map((x) => x.rung));
  for (const a of plan.ladder) {
    if (done.has(a.rung)) continue;
    const started = rec.now();
    if (!actionModule(a.action).command) return notifyAndStop(deps, rec, plan, a, started, hostHealthy);
    if (a.blockedReason) {
      await skipRung(rec, a, started, a.blockedReason);
      continue;
    }
    if (!evidenceSaved) {
      await skipRung(rec, a, started, "evidence was not saved: no action runs without it");
      continue;
    }
    let stop =
      (await approveRung(deps, rec, plan.mode, a, started)) ?? (await claimRung(deps, rec, a, started));
    if (!stop && !prechecked) {
      prechecked = true;
      stop = await precheckTarget(deps, rec, t, a, started);
    }
    if (!stop && !lockHeld) {
      stop = await lockTarget(deps, rec, a, started);
      lockHeld = stop === null;
    }
    if (stop) return stop;
    const ran = await runRung(deps, rec, t, a);
    if (ran) return ran;
  }
  await rec.end("apply", { status: "ok", note: "ladder exhausted" });
  return {
    healthy: false,
    stopReason: "exhausted",
    reason: "every rung ran and the service is still unhealthy",
  };
}

/** Mode plan: every rung recorded as planned, nothing changed on the host. */
async function printPlan(rec: Recorder, plan: MitigationPlan, hostHealthy: boolean): Promise<ApplyOutcome> {
  for (const a of plan.ladder) {
    const at = rec.now();
    await pushAction(
      rec,
      actionResult(a, "planned", at, at, a.blockedReason ?? "mode plan: printed, not applied", {}, null),
    );
  }
  await rec.end("apply", { status: "skipped", note: "Mode plan: nothing was changed on the host." });
  return hostHealthy
    ? hostHealthyOutcome()
    : {
        healthy: false,
        stopReason: "planned",
        reason: "mode plan: the plan was printed and nothing applied",
      };
}

/** An action that changes nothing on the host tells people, and the ladder stops there. */
async function notifyAndStop(
  deps: WorkflowDeps,
  rec: Recorder,
  plan: MitigationPlan,
  a: PlannedAction,
  started: string,
  hostHealthy: boolean,
): Promise<ApplyOutcome> {
  const subject = `${rec.record.runbook} on ${rec.record.target}: ${plan.classId}`;
  const message = `${rec.record.diagnosis?.rootCause.summary ?? "No diagnosis."} Incident ${rec.record.incidentId}.`;
  const notified = await deps.notify(subject, message).catch((e) => {
    deps.log.warn("notify failed", { error: String(e) });
    return [] as string[];
  });
  await pushAction(rec, actionResult(a, "applied", started, rec.now(), a.description, { notified }, null));
  if (actionModule(a.action).escalates) {
    await rec.update((r) => ({ ...r, escalation: { reason: "the ladder reached escalate", notified } }));
  }
  await rec.end("apply", { status: "ok", note: `stopped at ${a.action}` });
  return hostHealthy
    ? hostHealthyOutcome()
    : { healthy: false, stopReason: "escalated", reason: `the ladder reached ${a.action}` };
}

/** Runs a rung that passed its guards; stops the ladder when the host refused it or the service answers. */
async function runRung(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
): Promise<ApplyOutcome | null> {
  deps.log.info(`rung ${a.rung + 1}: ${a.action} running`);
  const inFlight: InFlightAction = { rung: a.rung, action: a.action, startedAt: rec.now() };
  await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, inFlight } }));
  const outcome = await runAction(deps, rec, t, a);
  await rec.patchLastStep("apply", (s) => ({ ...s, outputs: withoutKey(s.outputs, "inFlight") }));
  if (outcome.details.refusedTarget === true) {
    // The host said the PID is no longer the diagnosed process: no later rung acts on a stale diagnosis.
    await pushAction(rec, { ...outcome, healthyAfter: null });
    await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) refused on the host` });
    return { healthy: false, stopReason: "target-gone", reason: outcome.reason };
  }
  const healthy = outcome.status === "applied" ? await quickHealth(deps, t) : null;
  await pushAction(rec, { ...outcome, healthyAfter: healthy });
  if (healthy) {
    await rec.end("apply", { status: "ok", note: `healthy after rung ${a.rung + 1} (${a.action})` });
    return { healthy: true, stopReason: "healthy", reason: `healthy after ${a.action}` };
  }
  return null;
}

/** Runs one rung's scripts as its action module says, and reads what they printed (core: interpretOutputs). */
async function runAction(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
): Promise<ActionResult> {
  const started = rec.now();
  const action = actionModule(a.action);
  const command = action.command;
  const planned = action.runs(a.params, actionContext(rec, t));
  if (!planned.ok) return actionResult(a, "skipped", started, rec.now(), planned.reason, {}, null);
  if (!command) throw new Error(`action ${a.action} has runs but no host command`);
  const outputs: ScriptOutput[] = [];
  const sent: SentRun[] = [];
  for (const run of planned.runs) {
    const sentAt = rec.now();
    const out = await runScript(deps, rec, t, a, command, run);
    outputs.push(out);
    sent.push({ sentAt, status: out.result.status, kv: out.kv });
    if (!run.relief) continue;
    if (out.result.status === "Success" && out.kv.result === "ok")
      await collect(deps, rec, t, "after-relief");
    else if (out.kv.result !== "nothing-to-do") break;
  }
  const outcome = interpretOutputs(action, outputs);
  return {
    ...actionResult(a, outcome.status, started, rec.now(), outcome.reason, outcome.details, null),
    firstChangeAt: firstChangeAt(sent),
  };
}

async function runScript(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
  command: HostCommand,
  run: ScriptRun,
): Promise<ScriptOutput> {
  const res = await deps.runner.run(t.target, {
    ...commandRequest(deps, command),
    parameters: run.parameters,
    timeoutMs: run.timeoutMs,
  });
  // The command ran: its result goes into the record even when the artifact store is down.
  await keepArtifact(
    deps,
    rec,
    `actions/${a.rung + 1}-${a.action}-${run.part}.txt`,
    `${res.stdout}\n${res.stderr}`,
  );
  return { part: run.part, relief: run.relief === true, result: res, kv: parseKeyValues(res.stdout) };
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = o;
  return rest;
}
