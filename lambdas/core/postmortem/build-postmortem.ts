import type { Diagnosis, FailureClassId, Finding } from "../diagnosis/schema.js";
import type { Evidence } from "../evidence/schema.js";
import { keyFigures } from "../incident/record.js";
import type { ActionResult, IncidentRecord, KeyFigures, Step } from "../incident/schema.js";
import { changesHost as actionChangesHost } from "../mitigation/actions.js";
import { dataOf } from "../shared/section.js";
import {
  FOLLOW_UP_CATALOGUE,
  type FollowUpFacts,
  type FollowUpTemplate,
  fillPlaceholders,
  NO_DIAGNOSIS_FOLLOW_UPS,
  tomcatUpgradeAdvice,
} from "./follow-ups.js";
import { formatCount, formatDateTime, formatDuration, formatPercent, formatTime } from "./format.js";
import { mermaidGantt } from "./mermaid.js";
import {
  type Chart,
  type FollowUp,
  POSTMORTEM_SCHEMA_VERSION,
  type Postmortem,
  postmortemSchema,
  type Severity,
  type Table,
  type TimelineEntry,
} from "./schema.js";
import { connectionStatesSvg, fdUsageSvg, STATE_COLOURS } from "./svg.js";

export interface BuildPostmortemOptions {
  /** When the postmortem was written; default: the record's end (so output is reproducible). */
  readonly generatedAt?: string;
  /** Owner placeholder put on every action item. @default "TBD" */
  readonly owner?: string;
}

/** Classes the postmortem highlights in histogram tables. */
export const HIGHLIGHT_CLASS_PATTERN = /WsSession|UpgradeProcessorInternal/;

const STEP_TITLES: Record<Step["id"], string> = {
  collect: "Collect evidence",
  diagnose: "Diagnose",
  "save-evidence": "Save evidence",
  plan: "Plan mitigation",
  apply: "Apply mitigation",
  "collect-after-relief": "Collect evidence after relief",
  verify: "Verify recovery",
  record: "Record",
  postmortem: "Write postmortem",
};

const STATUS_LABELS: Record<IncidentRecord["status"], string> = {
  running: "Running (record written mid-run)",
  recovered: "Recovered",
  "not-down": "Not down on the host",
  planned: "Planned only (nothing changed)",
  declined: "Mitigation declined",
  cooldown: "Skipped: target in cooldown",
  escalated: "Escalated to a human",
  failed: "Run failed",
  interrupted: "Run interrupted",
};

/** Why no mitigation was applied, per final status (the "Mitigation applied" milestone). */
const NOT_MITIGATED: Record<IncidentRecord["status"], string> = {
  running: "not yet (record written mid-run)",
  recovered: "none needed",
  "not-down": "not needed: the service answered",
  planned: "not applied: plan mode",
  declined: "not applied: declined",
  cooldown: "not applied: target in cooldown",
  escalated: "none applied: escalated",
  failed: "none applied: the run failed",
  interrupted: "none applied: the run was interrupted",
};

/** How the impact ended, for runs that did not recover (one sentence each). */
const NOT_RECOVERED: Record<IncidentRecord["status"], string> = {
  running: "The record was written mid-run: whether the service recovered is not known.",
  recovered: "",
  "not-down": "",
  planned: "Still down when the run ended: plan mode changes nothing on the host.",
  declined: "Still down when the run ended: the mitigation was declined.",
  cooldown:
    "Still down when the run ended: the target was inside its mitigation cooldown, so nothing was changed.",
  escalated: "Still down when the run ended: handed to a person.",
  failed: "The run failed before the service recovered.",
  interrupted: "The run was interrupted before it could act: the service was not recovered by it.",
};

// ---------------------------------------------------------------- severity

/**
 * Severity rules, first match wins. SEV1 is never derived: it is for humans to declare
 * (several services, data loss, security). See docs/postmortem.md.
 */
export const SEVERITY_RULES: readonly { id: string; level: Severity["level"]; rule: string }[] = [
  {
    id: "process-down",
    level: "SEV2",
    rule: "No process listened on the port: the API was down for every client.",
  },
  {
    id: "api-unreachable",
    level: "SEV2",
    rule: "The API failed its health check on the host: it was unreachable.",
  },
  {
    id: "no-evidence-alarm",
    level: "SEV2",
    rule: "No evidence was collected after an alarm: treated as SEV2 until someone confirms the impact.",
  },
  {
    id: "no-evidence",
    level: "SEV2",
    rule: "The run was started because the API looked unreachable and no evidence was collected: treated as SEV2 until someone confirms the impact.",
  },
  {
    id: "load-balancer-path",
    level: "SEV3",
    rule: "The service answered on the host; only the path through the load balancer failed.",
  },
  { id: "alarm-not-down", level: "SEV3", rule: "An alarm fired but the service answered on the host." },
  { id: "no-impact", level: "SEV4", rule: "Run by hand and the service answered: no user impact found." },
];

function ruleById(id: string): { id: string; level: Severity["level"]; rule: string } {
  const r = SEVERITY_RULES.find((x) => x.id === id);
  if (!r) throw new Error(`unknown severity rule ${id}`);
  return r;
}

export function deriveSeverity(record: IncidentRecord): Severity {
  const before = record.evidence.before;
  const rootId = record.diagnosis?.rootCause.id ?? null;
  const pick = (id: string, detail: string): Severity => {
    const r = ruleById(id);
    return {
      level: r.level,
      ruleId: r.id,
      reason: detail ? `${r.rule.replace(/\.$/, "")} (${detail}).` : r.rule,
    };
  };
  const listener = before ? dataOf(before.listener) : undefined;
  if (rootId === "process-down" || (listener !== undefined && !listener.listening)) {
    return pick("process-down", before ? `health check: ${before.health.outcome}` : "");
  }
  if (before && before.health.outcome !== "ok") {
    return pick(
      "api-unreachable",
      `health check: ${before.health.outcome} after ${formatCount(before.health.latencyMs)} ms`,
    );
  }
  if (!before) {
    return record.trigger.kind === "alarm" ? pick("no-evidence-alarm", "") : pick("no-evidence", "");
  }
  if (rootId === "load-balancer-path") return pick("load-balancer-path", "");
  if (record.trigger.kind === "alarm") return pick("alarm-not-down", "");
  return pick("no-impact", "");
}

// ---------------------------------------------------------------- helpers

function msBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const d = Date.parse(to) - Date.parse(from);
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

function stepOf(record: IncidentRecord, id: Step["id"]): Step | undefined {
  return record.steps.find((s) => s.id === id);
}

interface Snapshot {
  readonly label: string;
  readonly evidence: Evidence | null;
  readonly figures: KeyFigures | null;
}

/**
 * Key figures of a moment: the ones recorded in `verification`, else computed from that moment's evidence
 * (records written before `verification.afterRelief` existed, or runs that never reached verify).
 */
function figuresOf(recorded: KeyFigures | null | undefined, evidence: Evidence | null): KeyFigures | null {
  return recorded ?? (evidence ? keyFigures(evidence) : null);
}

function snapshotsOf(record: IncidentRecord): Snapshot[] {
  const v = record.verification;
  const e = record.evidence;
  return [
    { label: "before", evidence: e.before, figures: figuresOf(v?.before, e.before) },
    { label: "after relief", evidence: e.afterRelief, figures: figuresOf(v?.afterRelief, e.afterRelief) },
    { label: "after", evidence: e.after, figures: figuresOf(v?.after, e.after) },
  ];
}

function findingView(f: Finding) {
  return {
    id: f.id,
    title: f.title,
    kind: f.kind,
    confidencePercent: Math.round(f.confidence * 100),
    summary: f.summary,
    evidence: f.evidence,
    caveats: f.caveats,
  };
}

function rootCauseView(d: Diagnosis) {
  const finding = d.findings.find((f) => f.id === d.rootCause.id);
  if (finding)
    return { ...findingView(finding), confidencePercent: Math.round(d.rootCause.confidence * 100) };
  return {
    id: d.rootCause.id,
    title: FOLLOW_UP_CATALOGUE[d.rootCause.id].title,
    kind: "cause",
    confidencePercent: Math.round(d.rootCause.confidence * 100),
    summary: d.rootCause.summary,
    evidence: [],
    caveats: ["No finding with cited evidence backs this root cause."],
  };
}

/** The first failing evidence snapshot's health, or null. */
function healthBefore(record: IncidentRecord) {
  return record.evidence.before?.health ?? null;
}

// ---------------------------------------------------------------- impact & times

function impactOf(record: IncidentRecord) {
  const before = record.evidence.before;
  const health = healthBefore(record);
  let start = record.trigger.at;
  let startBasis = `start: the ${record.trigger.kind === "alarm" ? "alarm changed state" : "operator started the run"}`;
  // Probe timestamps have whole seconds: only a snapshot a full second earlier moves the start.
  if (
    before &&
    health &&
    health.outcome !== "ok" &&
    Date.parse(before.collectedAt) + 1000 <= Date.parse(start)
  ) {
    start = before.collectedAt;
    startBasis = "start: the first evidence of failure";
  }
  const recovered = record.status === "recovered" && (record.verification?.recovered ?? false);
  const end = recovered ? milestonesOf(record).recoveredAt : null;
  const endBasis = recovered
    ? "end: the first passing health check after the mitigation (recovery verified)"
    : record.status === "not-down"
      ? "end: not measured (the service answered on the host)"
      : "end: none, the run ended without verified recovery";

  const port = before?.input.port ?? null;
  const listener = before ? dataOf(before.listener) : undefined;
  const logs = before ? dataOf(before.logs) : undefined;
  let description: string;
  if (!before) {
    const collect = stepOf(record, "collect");
    const why =
      collect?.error?.message && collect.status !== "interrupted"
        ? collect.error.message
        : collect?.status === "interrupted"
          ? "the run was interrupted while collecting"
          : record.statusReason;
    description = `Impact unknown: no evidence was collected on ${record.target} (${why.replace(/\.$/, "")}).`;
  } else if (listener !== undefined && !listener.listening) {
    description = `No process listened on port ${port} on ${record.target}: every request failed (health check: ${before.health.outcome}).`;
  } else if (before.health.outcome !== "ok") {
    const http = before.health.httpStatus === null ? null : `HTTP ${before.health.httpStatus}`;
    const detail = before.health.detail && before.health.detail !== http ? ` (${before.health.detail})` : "";
    description =
      `The API on ${record.target} did not answer on port ${port}: the health check on the host ended in ` +
      `${before.health.outcome}${http ? ` (${http})` : ""} after ${formatCount(before.health.latencyMs)} ms${detail}.`;
  } else {
    description =
      `The service on ${record.target} answered its health check on the host in ${formatCount(before.health.latencyMs)} ms` +
      (record.trigger.alarmReason ? `, while the alarm reported: ${record.trigger.alarmReason}` : "") +
      ".";
  }
  if (logs && logs.tooManyOpenFiles > 0) {
    description += ` The log had ${formatCount(logs.tooManyOpenFiles)} "Too many open files" lines.`;
  }
  if (logs && logs.outOfMemoryError > 0) {
    description += ` The log had ${formatCount(logs.outOfMemoryError)} OutOfMemoryError lines.`;
  }
  if (!recovered && record.status !== "not-down") description += ` ${NOT_RECOVERED[record.status]}`;
  return {
    start,
    end,
    endLabel: recovered
      ? "recovery verified"
      : record.status === "not-down"
        ? "not measured: the service answered on the host"
        : "not ended by the run",
    durationMs: msBetween(start, end),
    basis: `${startBasis}; ${endBasis}.`,
    description,
  };
}

/** Actions that change the host (the registry's `destructive`); notify-only and escalate only tell people. */
function changesHost(record: IncidentRecord, a: ActionResult): boolean {
  const rung = record.plan?.ladder.find((r) => r.rung === a.rung && r.action === a.action);
  return actionChangesHost(a.action) || rung?.destructive === true;
}

/** The first action that was applied and changed the host (the mitigation), if any. */
function firstApplied(record: IncidentRecord): ActionResult | undefined {
  return record.actions.find((a) => a.status === "applied" && changesHost(record, a));
}

const later = (a: string, b: string | null): string => (b !== null && Date.parse(b) > Date.parse(a) ? b : a);

export interface Milestones {
  readonly diagnosedAt: string | null;
  readonly mitigatedAt: string | null;
  readonly recoveredAt: string | null;
}

/**
 * The times that matter, from the record alone (docs/postmortem.md, "Times that matter"):
 * - diagnosed: the end of the `diagnose` step, when it succeeded;
 * - mitigation applied: the end of the first applied action that changed the host;
 * - recovery verified (recovered runs only): the first passing health check after the mitigation, i.e. the
 *   applied action's `healthyAfter` check (it closes the `apply` step) or else the end of the `verify` step;
 *   never earlier than the mitigation (probe timestamps have whole seconds, so `verification.after.at`
 *   can read earlier than an action that ended in the same second).
 */
export function milestonesOf(record: IncidentRecord): Milestones {
  const diagnose = stepOf(record, "diagnose");
  const diagnosedAt = diagnose?.status === "ok" ? diagnose.endedAt : null;
  const mitigation = firstApplied(record);
  const mitigatedAt = mitigation ? later(mitigation.endedAt, diagnosedAt) : null;
  let recoveredAt: string | null = null;
  if (record.status === "recovered" && record.verification?.recovered) {
    const fixing = record.actions.find(
      (a) => a.status === "applied" && a.healthyAfter === true && changesHost(record, a),
    );
    const apply = record.steps.findLast((s) => s.id === "apply" && s.endedAt !== null);
    const verify = record.steps.findLast((s) => s.id === "verify" && s.status === "ok");
    const checkedAt = fixing ? later(fixing.endedAt, apply?.endedAt ?? null) : null;
    const found =
      checkedAt ?? verify?.endedAt ?? record.verification.after?.at ?? record.endedAt ?? record.startedAt;
    recoveredAt = later(later(found, mitigatedAt), diagnosedAt);
  }
  return { diagnosedAt, mitigatedAt, recoveredAt };
}

// ---------------------------------------------------------------- timeline

function timelineOf(record: IncidentRecord, recoveryAt: string | null): TimelineEntry[] {
  const t = record.trigger;
  const entries: TimelineEntry[] = [
    {
      at: t.at,
      endedAt: null,
      durationMs: null,
      kind: "alarm",
      title: t.kind === "alarm" ? `Alarm ${t.alarmName ?? "(unnamed)"} fired` : `Run started by ${t.source}`,
      status: t.kind === "alarm" ? "ALARM" : "manual",
      detail: t.kind === "alarm" ? (t.alarmReason ?? t.source) : `mode ${record.mode}`,
      highlight: false,
    },
  ];
  for (const s of record.steps) {
    const detail = s.error ? `${s.error.name}: ${s.error.message}` : (s.note ?? "");
    entries.push({
      at: s.startedAt,
      endedAt: s.endedAt,
      durationMs: msBetween(s.startedAt, s.endedAt),
      kind: "step",
      title: STEP_TITLES[s.id],
      status: s.status,
      detail,
      highlight: s.status === "failed" || s.status === "interrupted",
    });
  }
  for (const a of record.actions) {
    entries.push({
      at: a.startedAt,
      endedAt: a.endedAt,
      durationMs: msBetween(a.startedAt, a.endedAt),
      kind: "action",
      title: `Rung ${a.rung + 1} ${a.action}`,
      status: a.status,
      detail: a.reason,
      highlight: a.status === "failed",
    });
  }
  if (recoveryAt) {
    entries.push({
      at: recoveryAt,
      endedAt: null,
      durationMs: null,
      kind: "recovery",
      title: "Recovery verified",
      status: "ok",
      detail: record.verification
        ? `health check passed; ${record.verification.attempts} attempt(s) over ${formatDuration(record.verification.durationMs)}`
        : "health check passed",
      highlight: false,
    });
  }
  const order: Record<TimelineEntry["kind"], number> = { alarm: 0, step: 1, action: 2, recovery: 3 };
  return entries
    .map((e, i) => ({ e, i }))
    .sort((x, y) => Date.parse(x.e.at) - Date.parse(y.e.at) || order[x.e.kind] - order[y.e.kind] || x.i - y.i)
    .map(({ e }) => e);
}

// ---------------------------------------------------------------- mitigation & resolution

function mitigationOf(record: IncidentRecord): Postmortem["mitigation"] {
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
      description: rung.description,
      reason: (blocked ? rung.blockedReason : result?.reason) ?? "The ladder stopped before this rung.",
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
      destructive: a.action === "restart-service",
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

function resolutionOf(record: IncidentRecord, timeToRecoverMs: number | null): string {
  const applied = record.actions.filter((a) => a.status === "applied");
  const fixing = applied.find((a) => a.healthyAfter === true) ?? applied.at(-1);
  const rung = fixing ? record.plan?.ladder.find((r) => r.rung === fixing.rung) : undefined;
  switch (record.status) {
    case "recovered": {
      if (!fixing) return `Recovered without a mitigation being applied: ${record.statusReason}`;
      const how = rung ? ` (${rung.description})` : "";
      const restartNote =
        fixing.action === "kill-idle-connections"
          ? " No restart was needed, so the JVM and its state were kept for analysis."
          : "";
      const v = record.verification;
      return (
        `Rung ${fixing.rung + 1}, ${fixing.action}${how}, brought the service back: ${fixing.reason}.${restartNote} ` +
        `Recovery was verified by the health check` +
        (v ? ` after ${v.attempts} attempt(s) over ${formatDuration(v.durationMs)}` : "") +
        `, ${formatDuration(timeToRecoverMs)} after the start of the impact.`
      );
    }
    case "planned":
      return (
        "Plan mode: nothing was changed on the host, and the service was still unhealthy when the run ended. " +
        "The ladder below is what the runbook would run in auto mode (or what to run by hand), rung by rung."
      );
    case "not-down": {
      const d = record.diagnosis ? ` (diagnosis: ${record.diagnosis.rootCause.id})` : "";
      return `Nothing was changed on the host: it answered its own health check${d}. The fix, if any, is outside the host.`;
    }
    case "declined":
      return `The mitigation was declined; nothing was changed on the host. ${record.statusReason}`;
    case "cooldown": {
      const why = record.statusReason.replace(/^Not mitigated again: /, "").replace(/\.$/, "");
      return (
        `Not mitigated: the target was inside its mitigation cooldown (${why}). ` +
        "The service was still unhealthy when the run ended; a second automatic mitigation is not allowed, so a person has to decide."
      );
    }
    default: {
      const notified = record.escalation
        ? ` Notified: ${record.escalation.notified.join(", ") || "nobody (no channel configured)"}.`
        : "";
      return `Not resolved by the run. ${record.statusReason}${notified}`;
    }
  }
}

function verificationOf(record: IncidentRecord, snapshots: readonly Snapshot[]): Postmortem["verification"] {
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
  // The WsSession row matters for the WebSocket leak, or when some moment counted sessions.
  const wsRelevant =
    record.diagnosis?.rootCause.id === "websocket-session-leak" ||
    moments.some((m) => (m.figures?.wsSessions ?? 0) > 0);
  return {
    recovered: v.recovered,
    attempts: v.attempts,
    durationMs: v.durationMs,
    columns: moments.map((m) => m.label.charAt(0).toUpperCase() + m.label.slice(1)),
    figures: [
      row("Measured at (UTC)", (k) => formatDateTime(k?.at ?? null)),
      row("Health check", health),
      row("Open fds / limit", fds),
      row("ESTABLISHED on the port", (k) => formatCount(k?.established ?? null)),
      ...(wsRelevant ? [row("WsSession instances", ws)] : []),
      row("PID", pid),
    ],
  };
}

/**
 * The seed incident's proof, "WsSession count ≈ ESTABLISHED ≈ open fds near the limit", with its figures:
 * sockets and fds from before, the WsSession count from the first moment that has a histogram (before, else
 * after the relief batch: at the fd limit the JVM cannot be attached before). Null for other classes.
 */
function proofOf(record: IncidentRecord, snapshots: readonly Snapshot[]): string | null {
  if (record.diagnosis?.rootCause.id !== "websocket-session-leak") return null;
  const [before, relief] = snapshots;
  const b = before?.figures ?? null;
  const histo = [before, relief].find((s) => s?.figures?.wsSessions != null);
  const fdsText =
    b?.openFds == null
      ? "open fds unknown"
      : b.fdLimit === null
        ? `${formatCount(b.openFds)} open fds (no limit)`
        : `${formatCount(b.openFds)} of ${formatCount(b.fdLimit)} fds open (${formatPercent(b.openFds / Math.max(1, b.fdLimit))})`;
  const estab =
    b?.established == null ? "ESTABLISHED unknown" : `${formatCount(b.established)} ESTABLISHED connections`;
  const wsText =
    histo?.figures?.wsSessions == null
      ? "WsSession count unknown (no class histogram before or after a relief batch)"
      : `${formatCount(histo.figures.wsSessions)} WsSession instances (${histo.label}${
          histo.label === "after relief" && histo.figures.established !== null
            ? `, when ${formatCount(histo.figures.established)} connections were still ESTABLISHED`
            : ""
        })`;
  const confirmation = record.steps.find((s) => s.id === "collect-after-relief")?.outputs.confirmation as
    | { rootCause?: string; confidence?: number; confirms?: boolean }
    | undefined;
  const confirmed =
    confirmation?.rootCause && confirmation.confidence !== undefined
      ? confirmation.confirms
        ? ` Diagnosed again after relief, with the class histogram: ${confirmation.rootCause} at ${formatPercent(confirmation.confidence)} confidence.`
        : ` Diagnosed again after relief, with the class histogram: ${confirmation.rootCause} (${formatPercent(confirmation.confidence)}), which differs from the first call: review it.`
      : "";
  return `WsSession count ≈ ESTABLISHED ≈ open fds near the limit: ${wsText}; at the start, ${estab} and ${fdsText}.${confirmed}`;
}

// ---------------------------------------------------------------- charts

function chartsOf(snapshots: readonly Snapshot[]): Postmortem["charts"] {
  const fdRows = snapshots.flatMap((s) => {
    const fds = s.evidence ? dataOf(s.evidence.fds) : undefined;
    if (fds) return [{ label: s.label, open: fds.open, limit: fds.limitSoft }];
    if (s.figures?.openFds != null)
      return [{ label: s.label, open: s.figures.openFds, limit: s.figures.fdLimit }];
    return [];
  });
  const connRows = snapshots.flatMap((s) => {
    const sockets = s.evidence ? dataOf(s.evidence.sockets) : undefined;
    if (sockets) return [{ label: s.label, byState: sockets.byState }];
    if (s.figures?.established != null)
      return [{ label: s.label, byState: { ESTAB: s.figures.established } }];
    return [];
  });
  const fdUsage: Chart | null =
    fdRows.length === 0
      ? null
      : {
          id: "fd-usage",
          title: "Open file descriptors vs limit",
          fileName: "postmortem-fd-usage.svg",
          alt: `Open fds vs limit: ${fdRows
            .map((r) =>
              r.limit === null
                ? `${r.label} ${formatCount(r.open)} (no limit)`
                : `${r.label} ${formatCount(r.open)} of ${formatCount(r.limit)} (${formatPercent(r.open / Math.max(1, r.limit))})`,
            )
            .join(", ")}`,
          svg: fdUsageSvg(fdRows),
        };
  const total = (byState: Readonly<Record<string, number>>) =>
    Object.values(byState).reduce((x, y) => x + y, 0);
  const connectionStates: Chart | null =
    connRows.length === 0
      ? null
      : {
          id: "connection-states",
          title: "Connections on the port by state",
          fileName: "postmortem-connection-states.svg",
          alt: `Connections by state: ${connRows
            .map((r) => {
              const estab = r.byState.ESTAB ?? 0;
              return `${r.label} ${formatCount(total(r.byState))} (${formatCount(estab)} ESTAB)`;
            })
            .join(", ")}`,
          svg: connectionStatesSvg(connRows),
        };
  return { fdUsage, connectionStates };
}

// ---------------------------------------------------------------- evidence tables

function firstUnavailable(
  snapshots: readonly Snapshot[],
  pick: (e: Evidence) => { status: string; reason?: string },
) {
  const reasons = snapshots.flatMap((s) => {
    if (!s.evidence) return [];
    const sec = pick(s.evidence) as { status: string; reason?: string };
    return sec.status === "unavailable" ? [`${s.label}: ${sec.reason ?? "unavailable"}`] : [];
  });
  return reasons.length ? reasons.join("; ") : "no evidence was collected";
}

function table(
  id: string,
  title: string,
  columns: string[],
  rows: Table["rows"],
  note: string | null,
  unavailable: () => string,
): Table {
  return { id, title, note, columns, rows, unavailable: rows.length === 0 ? unavailable() : null };
}

function stateOrder(states: Iterable<string>): string[] {
  const known = STATE_COLOURS.map((s) => s.state);
  return [...new Set(states)].sort((a, b) => {
    const ia = known.indexOf(a) === -1 ? known.length : known.indexOf(a);
    const ib = known.indexOf(b) === -1 ? known.length : known.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
}

function evidenceTablesOf(snapshots: readonly Snapshot[]): Table[] {
  const withEv = snapshots.filter((s): s is Snapshot & { evidence: Evidence } => s.evidence !== null);
  const tables: Table[] = [];

  // Open file descriptors vs limit
  const fdRows = withEv.flatMap((s) => {
    const f = dataOf(s.evidence.fds);
    if (!f) return [];
    const frac = f.limitSoft ? f.open / f.limitSoft : null;
    return [
      {
        cells: [
          s.label,
          formatTime(s.evidence.collectedAt),
          formatCount(f.open),
          f.limitSoft === null ? "unlimited" : formatCount(f.limitSoft),
          formatPercent(frac),
          formatCount(f.byKind.socket),
          formatCount(f.byKind.file),
          formatCount(f.byKind.pipe + f.byKind.anonInode + f.byKind.other),
        ],
        highlight: frac !== null && frac >= 0.9,
      },
    ];
  });
  tables.push(
    table(
      "fds",
      "Open file descriptors vs limit",
      ["Snapshot", "At (UTC)", "Open", "Soft limit", "Used", "Sockets", "Files", "Other"],
      fdRows,
      null,
      () => firstUnavailable(snapshots, (e) => e.fds),
    ),
  );

  // Sockets by state on the port
  const sockets = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.sockets);
    return d ? [{ label: s.label, d }] : [];
  });
  const states = stateOrder(sockets.flatMap((s) => Object.keys(s.d.byState)));
  tables.push(
    table(
      "sockets",
      sockets[0] ? `Connections on port ${sockets[0].d.port} by state` : "Connections on the port by state",
      ["Snapshot", ...states, "Total", "Send-Q > 0"],
      sockets.map((s) => ({
        cells: [
          s.label,
          ...states.map((st) => formatCount(s.d.byState[st] ?? 0)),
          formatCount(s.d.total),
          formatCount(s.d.sendQueueNonEmpty),
        ],
        highlight: false,
      })),
      "LISTEN excluded.",
      () => firstUnavailable(snapshots, (e) => e.sockets),
    ),
  );

  // Idle-time histogram of ESTABLISHED sockets
  const labels = [...new Set(sockets.flatMap((s) => s.d.idle.histogram.map((b) => b.label)))];
  const first = sockets[0];
  tables.push(
    table(
      "idle",
      "Idle time of ESTABLISHED connections (since last byte received)",
      ["Idle for", ...sockets.map((s) => s.label)],
      labels.map((label) => {
        const counts = sockets.map((s) => s.d.idle.histogram.find((b) => b.label === label)?.count ?? 0);
        const bucket = first?.d.idle.histogram.find((b) => b.label === label);
        const overThreshold =
          bucket !== undefined && first !== undefined && bucket.minMs >= first.d.idle.thresholdMs;
        return {
          cells: [label, ...counts.map((c) => formatCount(c))],
          highlight: overThreshold && (counts[0] ?? 0) > 0,
        };
      }),
      first
        ? sockets
            .map(
              (s) =>
                `${s.label}: ${formatCount(s.d.idle.overThreshold)} idle longer than ${formatDuration(s.d.idle.thresholdMs)}` +
                (s.d.idle.maxIdleMs === null ? "" : `, longest ${formatDuration(s.d.idle.maxIdleMs)}`),
            )
            .join("; ")
        : null,
      () => firstUnavailable(snapshots, (e) => e.sockets),
    ),
  );

  // Top JVM classes: the best histogram available: before, else after relief (at the fd limit the JVM
  // cannot be attached before), else after; the table says which moment it was taken at.
  const withHisto = withEv.find((s) => dataOf(s.evidence.classHistogram) !== undefined);
  const histo = withHisto ? dataOf(withHisto.evidence.classHistogram) : undefined;
  const histoRows: Table["rows"] = [];
  let histoNote: string | null = null;
  if (histo && withHisto) {
    for (const e of histo.top.slice(0, 15)) {
      histoRows.push({
        cells: [String(e.rank), e.className, formatCount(e.instances), formatCount(e.bytes)],
        highlight: HIGHLIGHT_CLASS_PATTERN.test(e.className),
      });
    }
    for (const w of histo.watched) {
      if (histo.top.slice(0, 15).some((e) => e.className === w.className)) continue;
      histoRows.push({
        cells: ["watched", w.className, formatCount(w.instances), formatCount(w.bytes)],
        highlight: HIGHLIGHT_CLASS_PATTERN.test(w.className) && w.instances > 0,
      });
    }
    const earlier = withEv
      .slice(0, withEv.indexOf(withHisto))
      .flatMap((s) =>
        s.evidence.classHistogram.status === "unavailable"
          ? [`${s.label}: ${s.evidence.classHistogram.reason}`]
          : [],
      );
    const ws = histo.watched.find((w) => w.className === "org.apache.tomcat.websocket.WsSession");
    const estab = dataOf(withHisto.evidence.sockets)?.established;
    const side =
      ws && estab !== undefined
        ? ` At that moment: ${formatCount(ws.instances)} WsSession instances, ${formatCount(estab)} ESTABLISHED connections on the port.`
        : "";
    histoNote =
      `Taken ${withHisto.label} at ${formatTime(withHisto.evidence.collectedAt)} UTC with \`${histo.command}\`` +
      `${histo.forcedFullGc ? " (forces a full GC)" : ""}; ${formatCount(histo.totalInstances)} instances in total.` +
      side +
      (earlier.length ? ` Not available earlier: ${earlier.join("; ")}.` : "");
  }
  tables.push(
    table(
      "classes",
      withHisto
        ? `Top JVM classes by instances (${withHisto.label}, ${formatTime(withHisto.evidence.collectedAt)} UTC)`
        : "Top JVM classes by instances",
      ["Rank", "Class", "Instances", "Bytes"],
      histoRows,
      histoNote,
      () => firstUnavailable(snapshots, (e) => e.classHistogram),
    ),
  );

  // Thread states
  const threads = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.threads);
    return d ? [{ label: s.label, d }] : [];
  });
  const threadStates = [...new Set(threads.flatMap((t) => Object.keys(t.d.byState)))].sort();
  tables.push(
    table(
      "threads",
      "Thread states",
      [
        "Snapshot",
        "Total",
        ...threadStates,
        "Request pool busy / total",
        "In DB calls",
        "Blocked on monitor",
      ],
      threads.map((t) => ({
        cells: [
          t.label,
          formatCount(t.d.total),
          ...threadStates.map((st) => formatCount(t.d.byState[st] ?? 0)),
          `${formatCount(t.d.requestExecutor.busy)} / ${formatCount(t.d.requestExecutor.total)}`,
          formatCount(t.d.inDatabaseCalls),
          formatCount(t.d.blockedOnMonitor),
        ],
        highlight: t.d.requestExecutor.total > 0 && t.d.requestExecutor.busy >= t.d.requestExecutor.total,
      })),
      threads[0]?.d.requestExecutor.namePrefix
        ? `Request pool: \`${threads[0].d.requestExecutor.namePrefix}*\`.`
        : null,
      () => firstUnavailable(snapshots, (e) => e.threads),
    ),
  );

  // Heap
  const heaps = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.heap);
    return d ? [{ label: s.label, d }] : [];
  });
  tables.push(
    table(
      "heap",
      "Heap (jstat -gcutil)",
      ["Snapshot", "Old gen", "Eden", "Metaspace", "Full GCs", "Full GC time", "Full GCs during sample"],
      heaps.map((h) => ({
        cells: [
          h.label,
          `${h.d.oldGenPercent.toFixed(1)}%`,
          `${h.d.edenPercent.toFixed(1)}%`,
          h.d.metaspacePercent === null ? "n/a" : `${h.d.metaspacePercent.toFixed(1)}%`,
          formatCount(h.d.fullGcCount),
          `${h.d.fullGcTimeSeconds.toFixed(1)} s`,
          `${formatCount(h.d.fullGcDuringSample)} in ${formatDuration(h.d.sampleIntervalMs)}`,
        ],
        highlight: h.d.oldGenPercent >= 95,
      })),
      null,
      () => firstUnavailable(snapshots, (e) => e.heap),
    ),
  );

  // Most-held files (only when some snapshot lists any)
  const files = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.fds);
    return d && d.topFiles.length > 0 ? [{ label: s.label, d }] : [];
  });
  if (files.length > 0 && files[0]) {
    tables.push(
      table(
        "top-files",
        `Most-held files (${files[0].label})`,
        ["Path", "Open descriptors"],
        files[0].d.topFiles.map((f) => ({ cells: [f.path, formatCount(f.count)], highlight: false })),
        null,
        () => "none",
      ),
    );
  }

  // Log matches
  const logRows = withEv.flatMap((s) => {
    const d = dataOf(s.evidence.logs);
    if (!d) return [];
    return [
      {
        cells: [
          s.label,
          formatCount(d.linesScanned),
          formatCount(d.tooManyOpenFiles),
          formatCount(d.outOfMemoryError),
          d.samples[0] ?? "",
        ],
        highlight: d.tooManyOpenFiles > 0 || d.outOfMemoryError > 0,
      },
    ];
  });
  tables.push(
    table(
      "logs",
      "Log matches",
      ["Snapshot", "Lines scanned", "Too many open files", "OutOfMemoryError", "First sample"],
      logRows,
      null,
      () => firstUnavailable(snapshots, (e) => e.logs),
    ),
  );
  return tables;
}

// ---------------------------------------------------------------- follow-ups & lessons

function factsOf(record: IncidentRecord): FollowUpFacts {
  const evs = [record.evidence.before, record.evidence.afterRelief, record.evidence.after].filter(
    (e): e is Evidence => e !== null,
  );
  const firstData = <T>(pick: (e: Evidence) => T | undefined): T | undefined => {
    for (const e of evs) {
      const v = pick(e);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const fds = firstData((e) => dataOf(e.fds));
  const tomcat = firstData((e) => dataOf(e.tomcat));
  const histo = firstData((e) => dataOf(e.classHistogram));
  const threads = firstData((e) => dataOf(e.threads));
  const port = record.evidence.before?.input.port ?? evs[0]?.input.port;
  const topFiles = fds?.topFiles.slice(0, 3).map((f) => `\`${f.path}\` (${formatCount(f.count)})`) ?? [];
  const retaining =
    histo?.top.find((e) => !/^(\[|java\.lang\.(String|Object)$)/.test(e.className)) ?? histo?.top[0];
  return {
    port: port === undefined ? "the service port" : String(port),
    openFds: fds ? formatCount(fds.open) : "an unknown number",
    fdLimit: fds ? (fds.limitSoft === null ? "unlimited" : formatCount(fds.limitSoft)) : "unknown",
    tomcatVersion: tomcat?.version ?? "unknown",
    tomcatAdvice: tomcatUpgradeAdvice(tomcat?.version ?? null),
    topFiles: topFiles.length ? topFiles.join(", ") : "none listed in the evidence",
    retainingClass: retaining
      ? `\`${retaining.className}\` (${formatCount(retaining.instances)} instances, ${formatCount(retaining.bytes)} bytes)`
      : "unknown (no class histogram was taken)",
    busyThreads: threads
      ? `${formatCount(threads.requestExecutor.busy)} of ${formatCount(threads.requestExecutor.total)}`
      : "An unknown number",
    requestPool: threads ? `${formatCount(threads.requestExecutor.total)} threads` : "size unknown",
  };
}

function followUpsOf(record: IncidentRecord, classId: FailureClassId | null, owner: string): FollowUp[] {
  const facts = factsOf(record);
  const templates: FollowUpTemplate[] = classId
    ? [...FOLLOW_UP_CATALOGUE[classId].followUps]
    : [...NO_DIAGNOSIS_FOLLOW_UPS];
  for (const s of record.steps.filter((x) => x.status === "failed")) {
    templates.push({
      id: `fix-step-${s.id}`,
      title: `Fix the runbook step that failed: ${STEP_TITLES[s.id].toLowerCase()}`,
      priority: "P2",
      kind: "investigate",
      text: `Step \`${s.id}\` failed with ${s.error ? `${s.error.name}: ${s.error.message}` : "no recorded error"}.`,
      snippet: null,
    });
  }
  const rank = { P1: 0, P2: 1, P3: 2 } as const;
  // Stable sort: P1 first, catalogue order within a priority.
  return [...templates]
    .sort((a, b) => rank[a.priority] - rank[b.priority])
    .map((t) => ({
      ...t,
      title: fillPlaceholders(t.title, facts),
      text: fillPlaceholders(t.text, facts),
      owner,
    }));
}

function lessonsOf(
  record: IncidentRecord,
  classId: FailureClassId | null,
  ttdMs: number | null,
): Postmortem["lessons"] {
  const wentWell: string[] = [];
  const wentWrong: string[] = [];
  const lucky: string[] = [];
  const save = stepOf(record, "save-evidence");
  const applied = firstApplied(record);
  if (
    save?.status === "ok" &&
    save.endedAt &&
    (!applied || Date.parse(save.endedAt) <= Date.parse(applied.startedAt))
  ) {
    wentWell.push(
      applied
        ? `Evidence was saved (${formatTime(save.endedAt)}) before anything changed on the host (${formatTime(applied.startedAt)}).`
        : "Evidence was saved for later analysis.",
    );
  }
  if (record.diagnosis && record.diagnosis.rootCause.id !== "unknown") {
    wentWell.push(
      `The diagnosis named ${record.diagnosis.rootCause.id} with cited evidence ${formatDuration(ttdMs)} after the start.`,
    );
  }
  if (record.diagnosis && record.diagnosis.ruledOut.length > 0) {
    wentWell.push(
      `${record.diagnosis.ruledOut.length} other hypotheses were ruled out with evidence (${record.diagnosis.ruledOut.map((r) => r.id).join(", ")}).`,
    );
  }
  if (record.status === "recovered" && applied?.action === "kill-idle-connections") {
    wentWell.push(
      "Recovered in place by closing idle connections: no restart, so the leak stayed observable.",
    );
  } else if (record.status === "recovered") {
    wentWell.push("Recovery was verified by the health check, not assumed.");
  }

  const before = record.evidence.before;
  const noProcess = before ? dataOf(before.listener)?.listening === false : false;
  if (before && noProcess) {
    wentWrong.push(
      "No JVM evidence (open files, class histogram, threads, heap) could be collected: no process listened on the port.",
    );
  } else if (before) {
    for (const [name, sec] of Object.entries({
      "class histogram": before.classHistogram,
      "thread states": before.threads,
      "open files": before.fds,
      sockets: before.sockets,
      heap: before.heap,
    })) {
      if (sec.status === "unavailable")
        wentWrong.push(`The ${name} could not be collected at the start: ${sec.reason}.`);
    }
  }
  for (const s of record.steps.filter((x) => x.status === "failed" || x.status === "interrupted")) {
    wentWrong.push(`Step ${s.id} ${s.status}${s.error ? `: ${s.error.message}` : ""}.`);
  }
  for (const n of record.diagnosis?.notEvaluated ?? []) {
    wentWrong.push(`Hypothesis ${n.id} could be neither confirmed nor ruled out: ${n.reason}.`);
  }
  for (const e of record.diagnosis?.ruleErrors ?? []) {
    wentWrong.push(`Rule ${e.ruleId} threw while evaluating: ${e.message}.`);
  }
  if (!["recovered", "not-down", "planned"].includes(record.status)) {
    wentWrong.push(
      `The run did not recover the service: ${record.statusReason.replace(/^Not recovered: /, "")}`,
    );
  }

  // Only the after-relief snapshot counts: a histogram after a restart shows a fresh JVM, not the leak.
  const reliefHisto = record.evidence.afterRelief?.classHistogram.status === "ok";
  if (before?.classHistogram.status === "unavailable" && reliefHisto) {
    const ws = record.verification?.afterRelief?.wsSessions ?? keyFiguresOrNull(record.evidence.afterRelief);
    lucky.push(
      "The class histogram could still be taken after a small relief batch, before the leaked objects were released" +
        (ws != null ? ` (${formatCount(ws)} WsSession instances)` : "") +
        ": it confirmed the count the sockets suggested.",
    );
  }
  const restartRung = record.plan?.ladder.find((r) => r.action === "restart-service");
  if (record.status === "recovered" && applied && applied.action !== "restart-service" && restartRung) {
    lucky.push(
      `Rung ${applied.rung + 1}, ${applied.action}, was enough: the service recovered in place and the restart rung` +
        (restartRung.blockedReason ? ` (which could not have run: ${restartRung.blockedReason})` : "") +
        " was never needed.",
    );
  }
  return {
    takeaway: classId
      ? FOLLOW_UP_CATALOGUE[classId].lesson
      : "Without evidence there is no diagnosis: the collection path itself needs monitoring.",
    wentWell,
    wentWrong,
    lucky,
  };
}

function keyFiguresOrNull(e: Evidence | null): number | null {
  return e ? keyFigures(e).wsSessions : null;
}

// ---------------------------------------------------------------- missing

function missingOf(record: IncidentRecord): Postmortem["missing"] {
  const missing: Postmortem["missing"] = [];
  // Plan mode, a cooldown or a declined rung stop the run on purpose: what they skip is not missing.
  const failedRun = !["recovered", "not-down", "planned", "cooldown", "declined"].includes(record.status);
  // Steps skipped because the run broke are missing; an escalated run skips verify by design.
  const brokenRun = ["failed", "interrupted", "running"].includes(record.status);
  for (const s of record.steps) {
    if (s.status === "failed" || s.status === "interrupted" || s.status === "running") {
      missing.push({
        what: `Step ${s.id}`,
        why: `${s.status}${s.error ? `: ${s.error.name}: ${s.error.message}` : s.note ? `: ${s.note}` : ""}`,
      });
    } else if (s.status === "skipped" && brokenRun) {
      missing.push({ what: `Step ${s.id}`, why: `skipped${s.note ? `: ${s.note}` : ""}` });
    }
  }
  const collect = stepOf(record, "collect");
  if (!record.evidence.before) {
    missing.push({
      what: "Evidence before mitigation",
      why:
        collect?.status === "interrupted"
          ? "the run was interrupted while collecting it"
          : (collect?.error?.message ?? "not collected"),
    });
  }
  for (const s of snapshotsOf(record)) {
    const e = s.evidence;
    if (!e) continue;
    const sections = {
      host: e.host,
      process: e.process,
      listener: e.listener,
      "open files": e.fds,
      sockets: e.sockets,
      "socket summary": e.socketSummary,
      "file-nr": e.fileNr,
      "class histogram": e.classHistogram,
      threads: e.threads,
      heap: e.heap,
      logs: e.logs,
      "Tomcat version": e.tomcat,
    };
    for (const [name, sec] of Object.entries(sections)) {
      if (sec.status === "unavailable") missing.push({ what: `${name} (${s.label})`, why: sec.reason });
    }
    if (e.collector.timedOut.length > 0) {
      missing.push({
        what: `Time-boxed sections (${s.label})`,
        why: `cut short: ${e.collector.timedOut.join(", ")}`,
      });
    }
  }
  if (!record.diagnosis) {
    missing.push({
      what: "Diagnosis",
      why: `the run ended before diagnosing (${record.statusReason.replace(/\.$/, "")})`,
    });
  }
  if (!record.verification && failedRun) {
    missing.push({ what: "Verification", why: "recovery was never verified" });
  }
  for (const e of record.errors) {
    const already = record.steps.some((s) => s.id === e.step && s.error?.message === e.message);
    if (!already) missing.push({ what: `Error in ${e.step}`, why: `${e.name}: ${e.message}` });
  }
  return missing;
}

// ---------------------------------------------------------------- summary & assembly

function summaryOf(
  record: IncidentRecord,
  impact: Postmortem["impact"],
  severity: Severity,
  ttrMs: number | null,
): string {
  const d = record.diagnosis;
  const cause = d
    ? `Root cause: ${d.rootCause.summary} (${d.rootCause.id}, ${Math.round(d.rootCause.confidence * 100)}% confidence).`
    : "The root cause was not established: the run ended before diagnosing.";
  const start =
    record.trigger.kind === "alarm"
      ? `Alarm ${record.trigger.alarmName ?? ""} fired at ${formatDateTime(record.trigger.at)}.`
      : `${record.trigger.source} started the runbook at ${formatDateTime(record.trigger.at)}.`;
  const end =
    record.status === "recovered"
      ? `Recovered and verified ${formatDuration(ttrMs)} after the start.`
      : `${STATUS_LABELS[record.status]}: ${record.statusReason}`;
  // The status sentence at the end says how the run ended; the impact's own "still down" sentence would repeat it.
  const described = NOT_RECOVERED[record.status]
    ? impact.description.replace(NOT_RECOVERED[record.status], "")
    : impact.description;
  return `${severity.level}. ${start} ${described} ${cause} ${end}`.replace(/\s+/g, " ").trim();
}

export function buildPostmortem(record: IncidentRecord, opts: BuildPostmortemOptions = {}): Postmortem {
  const classId = record.diagnosis?.rootCause.id ?? null;
  const severity = deriveSeverity(record);
  const impact = impactOf(record);
  const { diagnosedAt, mitigatedAt } = milestonesOf(record);
  const ttd = msBetween(impact.start, diagnosedAt);
  const ttm = msBetween(impact.start, mitigatedAt);
  const ttr = msBetween(impact.start, impact.end);
  const timeline = timelineOf(record, impact.end);
  const snapshots = snapshotsOf(record);
  const title = classId
    ? `${FOLLOW_UP_CATALOGUE[classId].title} (${record.target})`
    : `API incident on ${record.target}: cause not established`;
  const lastStepEnd = record.steps
    .map((s) => s.endedAt)
    .filter((x): x is string => x !== null)
    .sort()
    .at(-1);

  const model: Postmortem = {
    schemaVersion: POSTMORTEM_SCHEMA_VERSION,
    incidentId: record.incidentId,
    title,
    generatedAt: opts.generatedAt ?? record.endedAt ?? lastStepEnd ?? record.startedAt,
    target: record.target,
    runbook: record.runbook,
    mode: record.mode,
    severity,
    status: {
      value: record.status,
      label: STATUS_LABELS[record.status],
      reason: record.statusReason,
      recovered: record.status === "recovered",
    },
    summary: summaryOf(record, impact, severity, ttr),
    failureClass: classId ? { id: classId, title: FOLLOW_UP_CATALOGUE[classId].title } : null,
    impact,
    detection: {
      kind: record.trigger.kind,
      at: record.trigger.at,
      by: record.trigger.source,
      alarmName: record.trigger.alarmName,
      alarmReason: record.trigger.alarmReason,
      text:
        record.trigger.kind === "alarm"
          ? `CloudWatch alarm ${record.trigger.alarmName ?? "(unnamed)"} went to ALARM at ${formatDateTime(record.trigger.at)}` +
            `${record.trigger.alarmReason ? ` (${record.trigger.alarmReason})` : ""}; the runbook started automatically in ${record.mode} mode (${record.trigger.source}).`
          : `Detected by a person: ${record.trigger.source} started the runbook by hand at ${formatDateTime(record.trigger.at)} in ${record.mode} mode.`,
    },
    keyTimes: [
      {
        id: "start",
        label: record.trigger.kind === "alarm" ? "Alarm / impact start" : "Impact start",
        at: impact.start,
        sinceStartMs: 0,
        absent: null,
      },
      {
        id: "diagnosis",
        label: "Diagnosed",
        at: diagnosedAt,
        sinceStartMs: ttd,
        absent: diagnosedAt ? null : "not diagnosed",
      },
      {
        id: "mitigation",
        label: "Mitigation applied",
        at: mitigatedAt,
        sinceStartMs: ttm,
        absent: mitigatedAt ? null : NOT_MITIGATED[record.status],
      },
      {
        id: "recovery",
        label: "Recovery verified",
        at: impact.end,
        sinceStartMs: ttr,
        absent: impact.end
          ? null
          : record.status === "not-down"
            ? "not needed: the service answered"
            : "not recovered by the run",
      },
    ],
    timeToDiagnoseMs: ttd,
    timeToMitigateMs: ttm,
    timeToRecoverMs: ttr,
    timeline,
    mermaid: mermaidGantt(`${record.incidentId} (UTC)`, timeline),
    rootCause: record.diagnosis ? rootCauseView(record.diagnosis) : null,
    otherFindings: (record.diagnosis?.findings ?? []).filter((f) => f.id !== classId).map(findingView),
    trigger: classId
      ? FOLLOW_UP_CATALOGUE[classId].trigger
      : `Not established: the run ended before diagnosing (${record.statusReason.replace(/\.$/, "")}).`,
    contributing: record.diagnosis?.contributing ?? [],
    ruledOut: record.diagnosis?.ruledOut ?? [],
    notEvaluated: record.diagnosis?.notEvaluated ?? [],
    mitigation: mitigationOf(record),
    resolution: resolutionOf(record, ttr),
    verification: verificationOf(record, snapshots),
    proof: proofOf(record, snapshots),
    charts: chartsOf(snapshots),
    evidenceTables: evidenceTablesOf(snapshots),
    followUps: followUpsOf(record, classId, opts.owner ?? "TBD"),
    lessons: lessonsOf(record, classId, ttd),
    artifacts: record.artifacts.map((a) => ({ name: a.name, uri: a.uri, sha256: a.sha256, bytes: a.bytes })),
    missing: missingOf(record),
    escalation: record.escalation,
  };
  return postmortemSchema.parse(model);
}
