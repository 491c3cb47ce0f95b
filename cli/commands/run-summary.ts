import type { IncidentRecord } from "../../lambdas/core/incident/schema.js";
import { formatPlan } from "../../lambdas/core/mitigation/plan.js";

/** The after-relief confirmation the collect-after-relief step records, when it ran. */
interface Confirmation {
  rootCause?: string;
  confidence?: number;
  confirms?: boolean;
  histogram?: string;
}

/**
 * `runbook run`'s text summary of a finished incident: status, root cause, plan, actions, before →
 * after, and where the record and the postmortem are. Loaded only when the command runs.
 */
export function formatRunSummary(record: IncidentRecord, dir: string, postmortem: string | null): string {
  const lines = [
    `Incident ${record.incidentId}: ${record.status}`,
    `  ${record.statusReason}`,
    record.diagnosis
      ? `  Root cause: ${record.diagnosis.rootCause.id} (${Math.round(record.diagnosis.rootCause.confidence * 100)}%) ${record.diagnosis.rootCause.summary}`
      : "  Root cause: not diagnosed",
  ];
  const confirmation = record.steps.find((s) => s.id === "collect-after-relief")?.outputs.confirmation as
    | Confirmation
    | undefined;
  if (confirmation?.rootCause) {
    lines.push(
      `  After relief (class histogram ${confirmation.histogram}): ${confirmation.rootCause} (${Math.round((confirmation.confidence ?? 0) * 100)}%), ${confirmation.confirms ? "confirms the diagnosis" : "DIFFERS from the first diagnosis"}`,
    );
  }
  if (record.plan) lines.push("", formatPlan(record.plan));
  if (record.actions.length) {
    lines.push("", "Actions:");
    for (const a of record.actions) lines.push(`  ${a.rung + 1}. ${a.action}: ${a.status} (${a.reason})`);
  }
  const v = record.verification;
  if (v?.before && v.after) {
    const b = v.before;
    const a = v.after;
    const relief = v.afterRelief ? ` → ${v.afterRelief.wsSessions ?? "n/a"} (after relief)` : "";
    lines.push(
      "",
      `Before → after: fds ${b.openFds}/${b.fdLimit} → ${a.openFds}/${a.fdLimit}, ESTABLISHED ${b.established} → ${a.established}, WsSession ${b.wsSessions ?? "n/a"}${relief} → ${a.wsSessions ?? "n/a"}, PID ${b.pid} → ${a.pid}, health ${b.healthOutcome} → ${a.healthOutcome}`,
    );
  }
  lines.push("", `Record: ${dir}/incident.json`);
  if (postmortem) lines.push(`Postmortem: ${postmortem}`);
  return `${lines.join("\n")}\n`;
}
