import type { MitigationPlan, PlannedAction } from "../core/incident/schema.js";
import { actionResult, pushAction, skipRung } from "./action-results.js";
import type { ApplyOutcome } from "./apply-step.js";
import type { WorkflowDeps } from "./deps.js";
import { healthNow } from "./host-checks.js";
import type { Recorder } from "./recorder.js";
import type { TargetOptions } from "./steps.js";

/**
 * The guards a rung passes before it changes the host, in order: a person's approval (mode approve), the
 * retry claim (state machine), a quick check that the target still needs it, and the target's cooldown
 * lock. Each either lets the rung go on (null) or records why the ladder stops there and says so.
 */

/** Mode approve: asks for this rung; pending or declined stops the ladder. */
export async function approveRung(
  deps: WorkflowDeps,
  rec: Recorder,
  mode: MitigationPlan["mode"],
  a: PlannedAction,
  started: string,
): Promise<ApplyOutcome | null> {
  const answer = mode === "approve" ? await deps.approve(a) : true;
  if (answer === "pending") {
    await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) awaits approval` });
    return {
      healthy: false,
      stopReason: "awaiting-approval",
      reason: `rung ${a.rung + 1} (${a.action}) awaits approval`,
      awaitingRung: a.rung,
    };
  }
  if (answer !== true) {
    const why = answer === false ? "a person declined this rung" : answer.declined;
    await pushAction(rec, actionResult(a, "declined", started, rec.now(), why, {}, null));
    await rec.end("apply", { status: "ok", note: `rung ${a.rung + 1} (${a.action}) declined` });
    return {
      healthy: false,
      stopReason: "declined",
      reason: `rung ${a.rung + 1} (${a.action}) did not run: ${why}`,
    };
  }
  return null;
}

/**
 * Idempotency across retries: "applying rung N" is written (conditionally) before the command is
 * sent. A retried attempt (the Lambda crashed after sending) finds it and does not send it twice.
 */
export async function claimRung(
  deps: WorkflowDeps,
  rec: Recorder,
  a: PlannedAction,
  started: string,
): Promise<ApplyOutcome | null> {
  if (!deps.attemptId) return null;
  const claim = await deps.incidents.acquireTargetLock(
    claimKey(rec, a),
    deps.attemptId,
    started,
    CLAIM_TTL_MS,
  );
  if (!claim.acquired) {
    const reason = `rung ${a.rung + 1} (${a.action}) was claimed by an earlier attempt of this step (${claim.heldBy ?? "unknown"}) that did not finish: it may have been applied, its outcome is unknown, and it was not sent again`;
    await pushAction(
      rec,
      actionResult(a, "failed", started, rec.now(), reason, { claimedBy: claim.heldBy }, null),
    );
    await rec.end("apply", { status: "failed", error: { name: "RetriedAfterCrash", message: reason } });
    return { healthy: false, stopReason: "unknown-outcome", reason };
  }
  await rec.patchLastStep("apply", (s) => ({
    ...s,
    outputs: { ...s.outputs, [`claimRung${a.rung + 1}`]: { attempt: deps.attemptId, at: started } },
  }));
  return null;
}

/**
 * The target may have recovered on its own since the probe (a person took minutes to approve, the
 * clients went away): never change a host that answers. One quick check before the first change.
 */
export async function precheckTarget(
  deps: WorkflowDeps,
  rec: Recorder,
  t: TargetOptions,
  a: PlannedAction,
  started: string,
): Promise<ApplyOutcome | null> {
  const now = await healthNow(deps, t, 1);
  await rec.patchLastStep("apply", (s) => ({
    ...s,
    outputs: { ...s.outputs, healthBeforeChange: now.attempts },
  }));
  const beforeOutcome = rec.record.evidence.before?.health.outcome;
  if (now.attempts.at(-1)?.outcome === "refused" && beforeOutcome !== "refused") {
    // It answered slowly (or not at all) when diagnosed; now nothing listens: the process
    // diagnosed is gone or restarting, and the diagnosis no longer describes the host.
    const reason = `nothing listens on port ${t.port} any more (the health check was ${beforeOutcome ?? "unknown"} when diagnosed, now refused): the target went away since the diagnosis; nothing was changed`;
    if (deps.attemptId) await deps.incidents.releaseTargetLock(claimKey(rec, a), deps.attemptId);
    await skipRung(rec, a, started, reason);
    await rec.end("apply", { status: "ok", note: "the target went away before any change" });
    return { healthy: false, stopReason: "target-gone", reason };
  }
  if (now.recovered) {
    const reason =
      "the service answered its health check before this rung: it recovered on its own; nothing was changed";
    if (deps.attemptId) await deps.incidents.releaseTargetLock(claimKey(rec, a), deps.attemptId);
    await skipRung(rec, a, started, reason);
    await rec.end("apply", { status: "ok", note: "recovered on its own before any change" });
    return { healthy: true, stopReason: "recovered-on-its-own", reason };
  }
  return null;
}

/** The target's lock for the cooldown: another incident mitigating it, or having done so lately, stops us. */
export async function lockTarget(
  deps: WorkflowDeps,
  rec: Recorder,
  a: PlannedAction,
  started: string,
): Promise<ApplyOutcome | null> {
  const lock = await deps.incidents.acquireTargetLock(
    rec.record.target,
    rec.record.incidentId,
    started,
    deps.runbook.cooldownSeconds * 1000,
  );
  if (lock.note) {
    deps.log.warn(`lock: ${lock.note}`);
    await rec.patchLastStep("apply", (s) => ({ ...s, outputs: { ...s.outputs, lockNote: lock.note } }));
  }
  if (lock.acquired) return null;
  const reason = lock.inProgress
    ? `in progress: incident ${lock.heldBy} is mitigating target ${rec.record.target} right now (lock until ${lock.until})`
    : `target ${rec.record.target} was mitigated by incident ${lock.heldBy}; cooldown until ${lock.until}`;
  await skipRung(rec, a, started, reason);
  await rec.end("apply", { status: "ok", note: "cooldown: nothing applied" });
  return { healthy: false, stopReason: "cooldown", reason };
}

/** The conditional-write key that says "rung N of this incident on this target is being applied". */
const claimKey = (rec: Recorder, a: PlannedAction) =>
  `${rec.record.target}#apply#${rec.record.incidentId}#rung${a.rung}`;

/** How long a rung's "applying" claim is kept: far beyond any retry of the apply step. */
const CLAIM_TTL_MS = 86_400_000;
