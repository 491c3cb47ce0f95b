import type { ActionResult, PlannedAction } from "../core/incident/schema.js";
import type { Recorder } from "./recorder.js";

/** One rung's entry in the record's `actions`. */
export function actionResult(
  a: PlannedAction,
  status: ActionResult["status"],
  startedAt: string,
  endedAt: string,
  reason: string,
  details: Record<string, unknown>,
  healthyAfter: boolean | null,
): ActionResult {
  return { rung: a.rung, action: a.action, status, startedAt, endedAt, reason, details, healthyAfter };
}

/** Appends a rung's result to the record. */
export function pushAction(rec: Recorder, a: ActionResult) {
  return rec.update((r) => ({ ...r, actions: [...r.actions, a] }));
}

/** Records a rung skipped for `reason`, nothing run. */
export function skipRung(rec: Recorder, a: PlannedAction, started: string, reason: string) {
  return pushAction(rec, actionResult(a, "skipped", started, rec.now(), reason, {}, null));
}
