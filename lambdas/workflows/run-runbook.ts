import { randomBytes } from "node:crypto";
import { newRecord } from "../core/incident/record.js";
import type { IncidentRecord, Mode } from "../core/incident/schema.js";
import type { WorkflowDeps } from "./deps.js";
import { Recorder } from "./recorder.js";
import {
  applyStep,
  collect,
  diagnoseStep,
  errorInfo,
  planStep,
  saveEvidenceStep,
  type TargetOptions,
  verifyStep,
} from "./steps.js";

export interface RunOptions extends TargetOptions {
  readonly mode: Mode;
  readonly trigger: IncidentRecord["trigger"];
  readonly incidentId?: string;
  /** Called with the recorder as soon as the record exists (the CLI uses it for SIGINT). */
  readonly onStart?: (rec: Recorder) => void;
}

export function newIncidentId(target: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const t = target.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 40);
  return `inc-${stamp}-${t}-${randomBytes(3).toString("hex")}`;
}

/**
 * The whole runbook: collect → diagnose → save evidence → plan → apply (per mode) → verify → record.
 * Returns the final record; the record is saved after every change along the way.
 */
export async function runRunbook(deps: WorkflowDeps, o: RunOptions): Promise<IncidentRecord> {
  const at = deps.clock.now();
  const incidentId = o.incidentId ?? newIncidentId(o.target, at);
  const rec = new Recorder(
    newRecord({
      incidentId,
      runbook: deps.runbook.id,
      target: o.target,
      mode: o.mode,
      trigger: o.trigger,
      at: at.toISOString(),
    }),
    deps.incidents,
    deps.clock,
  );
  o.onStart?.(rec);
  await rec.save();
  try {
    await collect(deps, rec, o, "before");
    await diagnoseStep(deps, rec);
    const saved = await saveEvidenceStep(deps, rec);
    await planStep(deps, rec, o);
    const before = rec.record.evidence.before;

    const applied = await applyStep(deps, rec, o);
    let recovered = false;
    const mitigated = rec.record.actions.some(
      (a) =>
        a.status === "applied" && (a.action === "kill-idle-connections" || a.action === "restart-service"),
    );
    const needsVerify = mitigated || (applied.healthy && before?.health.outcome !== "ok");
    if (needsVerify) recovered = await verifyStep(deps, rec, o);
    else
      await rec
        .begin("verify")
        .then(() => rec.end("verify", { status: "skipped", note: verifySkipNote(applied.stopReason) }));

    const final = finalStatus(rec.record, {
      saved,
      applied,
      recovered,
      healthyBefore: before?.health.outcome === "ok",
    });
    if (final.status === "escalated" && !rec.record.escalation) {
      const notified = await deps
        .notify(`${deps.runbook.id} on ${o.target}: escalated`, final.reason)
        .catch(() => []);
      await rec.update((r) => ({ ...r, escalation: { reason: final.reason, notified } }));
    }
    await rec.begin("record");
    await rec.update((r) => ({ ...r, status: final.status, statusReason: final.reason, endedAt: rec.now() }));
    await rec.end("record", { status: "ok", outputs: { status: final.status } });
    return rec.record;
  } catch (e) {
    const err = errorInfo(e);
    await rec.update((r) => ({
      ...r,
      status: "failed",
      statusReason: `The runbook failed: ${err.message}`,
      endedAt: rec.now(),
      errors: [...r.errors, { step: "runbook", ...err }],
    }));
    return rec.record;
  }
}

function verifySkipNote(stop: string): string {
  switch (stop) {
    case "planned":
      return "Mode plan: nothing changed, nothing to verify.";
    case "declined":
      return "A rung was declined: nothing changed.";
    case "cooldown":
      return "Inside the cooldown: nothing changed.";
    case "healthy":
      return "The host answered its own health probe before any change.";
    default:
      return "Nothing was changed on the host, so there is nothing to verify.";
  }
}

function finalStatus(
  r: IncidentRecord,
  x: {
    saved: boolean;
    applied: { healthy: boolean; stopReason: string; reason: string };
    recovered: boolean;
    healthyBefore: boolean;
  },
): { status: IncidentRecord["status"]; reason: string } {
  if (!r.evidence.before) {
    return {
      status: "escalated",
      reason: "Evidence could not be collected; nothing was changed. Escalated to a person.",
    };
  }
  if (x.healthyBefore) {
    return {
      status: "not-down",
      reason: `The host answered its own health probe; diagnosis ${r.diagnosis?.rootCause.id ?? "none"}. Nothing was changed on the host.`,
    };
  }
  if (x.recovered) {
    const by = r.actions.filter((a) => a.status === "applied").map((a) => a.action);
    return { status: "recovered", reason: `Recovered after ${by.join(", ")}; verified healthy.` };
  }
  switch (x.applied.stopReason) {
    case "planned":
      return {
        status: "planned",
        reason: "Mode plan: the plan was printed; nothing was changed and the service is still unhealthy.",
      };
    case "declined":
      return {
        status: "declined",
        reason: `Mitigation declined (${x.applied.reason}); the service is still unhealthy.`,
      };
    case "cooldown":
      return { status: "cooldown", reason: `Not mitigated again: ${x.applied.reason}.` };
    default:
      return { status: "escalated", reason: `Not recovered: ${x.applied.reason}. Escalated to a person.` };
  }
}
