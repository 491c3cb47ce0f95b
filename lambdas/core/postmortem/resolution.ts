import type { IncidentRecord, KeyFigures } from "../incident/schema.js";
import { changesHost as actionChangesHost } from "../mitigation/actions/registry.js";
import { formatCount, formatDuration, formatTime } from "./format.js";
import {
  declinedRungOf,
  formatNumbersIn,
  outcomeSentenceOf,
  type Snapshot,
  sessionsLabel,
} from "./record-view.js";
import type { Postmortem } from "./schema.js";

export function mitigationOf(record: IncidentRecord): Postmortem["mitigation"] {
  const plan = record.plan;
  const steps: Postmortem["mitigation"]["steps"] = [];
  const seen = new Set<number>();
  const healthy = (v: boolean | null) => (v === null ? "not checked" : v ? "yes" : "no");
  for (const rung of plan?.ladder ?? []) {
    const result = record.actions.find((a) => a.rung === rung.rung && a.action === rung.action);
    if (result) seen.add(record.actions.indexOf(result));
    // A rung the planner knew could not run is "blocked", whether the run skipped it or only planned it.
    const blocked =
      rung.blockedReason !== null && (!result || result.status === "skipped" || result.status === "planned");
    const status = blocked ? "blocked" : (result?.status ?? "not reached");
    steps.push({
      rung: rung.rung + 1,
      action: rung.action,
      status,
      destructive: rung.destructive,
      description: formatNumbersIn(rung.description),
      reason: formatNumbersIn(
        (blocked ? rung.blockedReason : result?.reason) ?? "The ladder stopped before this rung.",
      ),
      at: result?.startedAt ?? null,
      healthyAfter: healthy(result?.healthyAfter ?? null),
      highlight: ["failed", "declined", "unsupported", "blocked"].includes(status),
    });
  }
  record.actions.forEach((a, i) => {
    if (seen.has(i)) return;
    steps.push({
      rung: a.rung + 1,
      action: a.action,
      status: a.status,
      destructive: actionChangesHost(a.action),
      description: "(not in the recorded plan)",
      reason: a.reason,
      at: a.startedAt,
      healthyAfter: healthy(a.healthyAfter),
      highlight: ["failed", "declined", "unsupported"].includes(a.status),
    });
  });
  return {
    planned: plan !== null,
    guardrails: plan?.guardrails ?? [],
    steps,
  };
}

export function resolutionOf(record: IncidentRecord, timeToRecoverMs: number | null): string {
  const applied = record.actions.filter((a) => a.status === "applied");
  const fixing = applied.find((a) => a.healthyAfter === true) ?? applied.at(-1);
  switch (record.status) {
    case "recovered": {
      if (!fixing) return `Recovered without a mitigation being applied: ${record.statusReason}`;
      const restartNote =
        fixing.action === "kill-idle-connections"
          ? " No restart was needed, so the JVM and its state were kept for analysis."
          : "";
      const v = record.verification;
      return (
        `Rung ${fixing.rung + 1}, ${fixing.action}, brought the service back: ${fixing.reason}.${restartNote} ` +
        `Recovery was verified by the health check` +
        (v ? ` after ${v.attempts} attempt(s) over ${formatDuration(v.durationMs)}` : "") +
        `, ${formatDuration(timeToRecoverMs)} after the start of the impact.`
      );
    }
    case "planned":
      return (
        "Plan mode: nothing was changed on the host, and the service was still unhealthy when the run ended. " +
        "The mitigation ladder in the appendix is what the runbook would run in auto mode (or what to run by hand), rung by rung."
      );
    case "not-down": {
      const d = record.diagnosis ? ` (diagnosis: ${record.diagnosis.rootCause.id})` : "";
      return `Nothing was changed on the host: it answered its own health check${d}. The fix, if any, is outside the host.`;
    }
    case "declined": {
      const ran = record.actions.filter((a) => a.status === "applied").map((a) => a.action);
      const rung = declinedRungOf(record);
      const declined = rung ? `${rung.charAt(0).toUpperCase()}${rung.slice(1)}.` : "A rung was declined.";
      return ran.length
        ? `${ran.join(", ")} ran without bringing the service back. ${declined} The service was still unhealthy when the run ended.`
        : `Nothing was changed on the host. ${declined} The service was still unhealthy when the run ended.`;
    }
    case "cooldown": {
      const why = record.statusReason.replace(/^Not mitigated again: /, "").replace(/\.$/, "");
      return (
        `Not mitigated: ${why}. ` +
        "The service was still unhealthy when the run ended; a second automatic mitigation is not allowed then, so a person has to decide."
      );
    }
    default: {
      const notified = record.escalation
        ? ` Notified: ${record.escalation.notified.join(", ") || "nobody (no channel configured)"}.`
        : "";
      return `${outcomeSentenceOf(record)}${notified}`;
    }
  }
}

export function verificationOf(
  record: IncidentRecord,
  snapshots: readonly Snapshot[],
): Postmortem["verification"] {
  const v = record.verification;
  if (!v) return null;
  // Before and after always; after relief only when the run took that snapshot.
  const moments = snapshots.filter((s) => s.label !== "after relief" || s.figures !== null);
  const fds = (k: KeyFigures | null) =>
    k?.openFds == null
      ? "n/a"
      : `${formatCount(k.openFds)} / ${k.fdLimit === null ? "unlimited" : formatCount(k.fdLimit)}`;
  const health = (k: KeyFigures | null) =>
    k
      ? `${k.healthOutcome}${k.healthLatencyMs === null ? "" : ` (${formatCount(k.healthLatencyMs)} ms)`}`
      : "n/a";
  const pid = (k: KeyFigures | null) => (k?.pid == null ? "n/a" : String(k.pid));
  const ws = (k: KeyFigures | null) =>
    k === null ? "n/a" : k.wsSessions === null ? "n/a (no class histogram)" : formatCount(k.wsSessions);
  const row = (label: string, f: (k: KeyFigures | null) => string) => ({
    label,
    values: moments.map((m) => f(m.figures)),
  });
  // The sessions row matters for the WebSocket leak, or when some moment counted sessions.
  const wsRelevant =
    record.diagnosis?.rootCause.id === "websocket-session-leak" ||
    moments.some((m) => (m.figures?.wsSessions ?? 0) > 0);
  return {
    recovered: v.recovered,
    attempts: v.attempts,
    durationMs: v.durationMs,
    columns: moments.map((m) => m.label.charAt(0).toUpperCase() + m.label.slice(1)),
    figures: [
      row("Measured at (UTC)", (k) => formatTime(k?.at ?? null)),
      row("Health check", health),
      row("Open fds / limit", fds),
      row("ESTABLISHED on the port", (k) => formatCount(k?.established ?? null)),
      ...(wsRelevant ? [row(sessionsLabel(record), ws)] : []),
      row("PID", pid),
    ],
  };
}
