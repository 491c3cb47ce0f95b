import { randomBytes } from "node:crypto";
import { changedHost, newRecord } from "../core/incident/record.js";
import type { IncidentRecord, Mode } from "../core/incident/schema.js";
import { changesHost } from "../core/mitigation/actions/registry.js";
import { applyStep } from "./apply-step.js";
import { errorInfo } from "./artifacts.js";
import type { WorkflowDeps } from "./deps.js";
import { Recorder } from "./recorder.js";
import {
  collect,
  diagnoseStep,
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
    await saveEvidenceStep(deps, rec);
    await planStep(deps, rec, o);
    const applied = await applyStep(deps, rec, o);
    if (changedHost(rec.record)) await verifyStep(deps, rec, o);
    else await skipVerify(rec, applied.stopReason);
    await finishRecord(deps, rec);
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

export async function skipVerify(rec: Recorder, stopReason: string): Promise<void> {
  await rec.begin("verify");
  await rec.end("verify", { status: "skipped", note: verifySkipNote(stopReason) });
}

/** Sets the final status from the record, escalates when it did not recover, and ends the record. */
export async function finishRecord(deps: Pick<WorkflowDeps, "notify">, rec: Recorder): Promise<void> {
  const final = finalStatus(rec.record);
  if ((final.status === "escalated" || final.status === "braked") && !rec.record.escalation) {
    const subject = `${rec.record.runbook} on ${rec.record.target}: escalated`;
    const notified = await deps.notify(subject, final.reason).catch(() => [] as string[]);
    await rec.update((r) => ({ ...r, escalation: { reason: final.reason, notified } }));
  }
  await rec.begin("record");
  await rec.update((r) => ({ ...r, status: final.status, statusReason: final.reason, endedAt: rec.now() }));
  await rec.end("record", { status: "ok", outputs: { status: final.status } });
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
    case "recovered-on-its-own":
      return "The service recovered on its own before any change: nothing to verify.";
    case "target-gone":
      return "The target went away before any change: nothing to verify.";
    case "unknown-outcome":
      return "An earlier attempt sent a rung and did not finish: its effect is unknown; not verified, escalated.";
    default:
      return "Nothing was changed on the host, so there is nothing to verify.";
  }
}

/** The final status, derived from the record alone (the CLI and the state machine end alike). */
export function finalStatus(r: IncidentRecord): { status: IncidentRecord["status"]; reason: string } {
  if (!r.evidence.before) {
    return {
      status: "escalated",
      reason: "Evidence could not be collected; nothing was changed. Escalated to a person.",
    };
  }
  if (r.evidence.before.health.outcome === "ok") {
    return {
      status: "not-down",
      reason: `The host answered its own health probe; diagnosis ${r.diagnosis?.rootCause.id ?? "none"}. Nothing was changed on the host.`,
    };
  }
  if (r.verification?.recovered) {
    const by = r.actions.filter((a) => a.status === "applied").map((a) => a.action);
    return { status: "recovered", reason: `Recovered after ${by.join(", ")}; verified healthy.` };
  }
  const broke = r.errors.find((e) => e.step === "state-machine");
  if (broke) {
    const applied = r.actions.filter((a) => a.status === "applied" && changesHost(a.action));
    return {
      status: "escalated",
      reason: `The run did not finish: ${broke.name}: ${broke.message}. ${applied.length ? `Applied before it stopped: ${applied.map((a) => a.action).join(", ")}; not verified.` : "Nothing was changed on the host."} Escalated to a person.`,
    };
  }
  const apply = r.steps.findLast((s) => s.id === "apply");
  const stopReason = String(apply?.outputs.stopReason ?? "no-plan");
  const why = String(apply?.outputs.reason ?? "there was no mitigation plan");
  switch (stopReason) {
    case "planned":
      return {
        status: "planned",
        reason: "Mode plan: the plan was printed; nothing was changed and the service is still unhealthy.",
      };
    case "declined":
      // The status names the decline; `why` names the rung and who declined: each said once.
      return { status: "declined", reason: `Not mitigated: ${why}; the service is still unhealthy.` };
    case "cooldown":
      return { status: "cooldown", reason: `Not mitigated again: ${why}.` };
    case "recovered-on-its-own":
      return {
        status: "escalated",
        reason: `The service recovered on its own before any change (diagnosis ${r.diagnosis?.rootCause.id ?? "none"}); nothing was changed on the host. Escalated: the cause is still there.`,
      };
    case "unknown-outcome":
      return { status: "escalated", reason: `Outcome unknown: ${why}. Escalated to a person.` };
    case "target-gone":
      return { status: "escalated", reason: `Not mitigated: ${why}. Escalated to a person.` };
    case "braked":
      return {
        status: "braked",
        // The brake's reasons end in "escalating instead of mitigating": not said twice.
        reason: `Nothing was changed on the host: ${why}.${/escalat/i.test(why) ? "" : " Escalated to a person."}`,
      };
    default:
      return { status: "escalated", reason: `Not recovered: ${why}. Escalated to a person.` };
  }
}
