import type { Evidence } from "../evidence/schema.js";
import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";
import { formatCount, formatDateTime, formatDuration } from "./format.js";
import { milestonesOf, msBetween, stepOf } from "./record-view.js";
import { type Postmortem, TO_BE_FILLED } from "./schema.js";

/** How the impact ended, for runs that did not recover (one sentence each). */
export const NOT_RECOVERED: Record<IncidentRecord["status"], string> = {
  running: "The record was written mid-run: whether the service recovered is not known.",
  recovered: "",
  "not-down": "",
  planned: "Still down when the run ended: plan mode changes nothing on the host.",
  declined: "Still down when the run ended: the mitigation was declined.",
  cooldown:
    "Still down when the run ended: the target was inside its mitigation cooldown, so nothing was changed.",
  escalated: "Still down when the run ended: handed to a person.",
  braked:
    "Still down when the run ended: the fleet brake stopped the mitigation (a fleet-wide cause, or too few healthy targets left) and handed it to a person.",
  failed: "The run failed before the service recovered.",
  interrupted: "The run was interrupted before it could act: the service was not recovered by it.",
};

interface StartCandidate {
  readonly at: string;
  readonly known: boolean;
  readonly basis: string;
}

/** When the process started, from its uptime at the first snapshot, or null. */
export function processStartOf(before: Evidence | null): string | null {
  const up = before ? dataOf(before.process)?.uptimeSeconds : null;
  if (!before || up === null || up === undefined) return null;
  return new Date(Date.parse(before.collectedAt) - Math.round(up * 1000)).toISOString();
}

/**
 * The first failure the log shows, when it belongs to this process (after its start) and the scanned tail
 * did not begin inside the failures (then the failures may have begun earlier than the tail shows).
 */
export function firstLogFailure(before: Evidence | null): { at: string; complete: boolean } | null {
  const logs = before ? dataOf(before.logs) : undefined;
  const first = logs?.firstFailure;
  if (!logs || !first?.at) return null;
  const started = processStartOf(before);
  if (started !== null && Date.parse(first.at) < Date.parse(started)) return null;
  return { at: first.at, complete: first.line > 1 };
}

/** The failure kinds the probe counts in the log, with the text that matches each (as the probe's awk). */
const LOG_FAILURES = [
  {
    key: "tooManyOpenFiles",
    match: "Too many open files",
    label: "Open-files limit reached: first `Too many open files` in the log",
  },
  { key: "outOfMemoryError", match: "OutOfMemoryError", label: "First `OutOfMemoryError` in the log" },
  {
    key: "connectionNotAvailable",
    match: "Connection is not available, request timed out",
    label: "First pool time-out in the log: `Connection is not available`",
  },
  {
    key: "noSpaceLeft",
    match: "No space left on device",
    label: "Disk full: first `No space left on device` in the log",
  },
] as const;
type LogFailure = (typeof LOG_FAILURES)[number];

/**
 * Which kind the log's first failure is, from what the logs section carries: the kind when only one kind was
 * counted, or the first sample's kind when the samples hold every match (the probe keeps the last five).
 * With several kinds and more matches than samples the first one's kind is not in the record: `kinds` then
 * lists every kind counted and `first` is null.
 */
export function firstLogFailureKind(before: Evidence | null): {
  readonly first: LogFailure | null;
  readonly kinds: readonly LogFailure[];
} {
  const logs = before ? dataOf(before.logs) : undefined;
  if (!logs) return { first: null, kinds: [] };
  const counted = LOG_FAILURES.filter((k) => (logs[k.key] ?? 0) > 0);
  const matches = counted.reduce((n, k) => n + (logs[k.key] ?? 0), 0);
  if (counted.length === 1) return { first: counted[0] ?? null, kinds: counted };
  const firstSample = matches <= logs.samples.length ? logs.samples[0] : undefined;
  const first = firstSample ? (LOG_FAILURES.find((k) => firstSample.includes(k.match)) ?? null) : null;
  return { first, kinds: counted };
}

/** The timeline's title of the log's first failure: its kind when the record shows it, else the kinds counted. */
export function firstLogFailureTitle(before: Evidence | null): string {
  const { first, kinds } = firstLogFailureKind(before);
  if (first) return first.label;
  return kinds.length
    ? `First failure in the log (${kinds.map((k) => `\`${k.match}\``).join(" or ")})`
    : "First failure in the log";
}

function logFailureWords(before: Evidence | null): string {
  const { first, kinds } = firstLogFailureKind(before);
  return (first ? [first] : kinds).map((k) => `\`${k.match}\``).join(" or ") || "a failure line";
}

/** The earliest failure evidence: the log's first failure, the alarm, or the failing health check. */
function startOf(record: IncidentRecord): StartCandidate {
  const before = record.evidence.before;
  const failing = before !== null && before.health.outcome !== "ok";
  const candidates: StartCandidate[] = [];
  const log = failing ? firstLogFailure(before) : null;
  if (log) {
    candidates.push({
      at: log.at,
      known: log.complete,
      basis: log.complete
        ? `the first failure in the application log (${logFailureWords(before)})`
        : "the first line of the scanned log tail already shows the failure: the impact began at or before it",
    });
  }
  if (record.trigger.kind === "alarm") {
    candidates.push({
      at: record.trigger.at,
      known: false,
      basis:
        "the alarm's state change: it fires after its evaluation periods, so the impact began at or before it",
    });
  }
  if (failing && before) {
    candidates.push({
      at: before.collectedAt,
      known: false,
      basis:
        "the first failing health check in the record: no failure evidence earlier than it, so the impact began at or before it",
    });
  }
  const earliest = [...candidates].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
  return (
    earliest ?? {
      at: record.trigger.at,
      known: false,
      basis: `the ${record.trigger.kind === "alarm" ? "alarm" : "start of the run"}: no failure evidence earlier than it`,
    }
  );
}

function descriptionOf(record: IncidentRecord): string {
  const before = record.evidence.before;
  if (!before) {
    const collect = stepOf(record, "collect");
    const why =
      collect?.status === "interrupted"
        ? "the run was interrupted while collecting"
        : (collect?.error?.message ?? record.statusReason);
    return `Impact unknown: no evidence was collected on ${record.target} (${why.replace(/\.$/, "")}).`;
  }
  const port = before.input.port;
  const listener = dataOf(before.listener);
  const h = before.health;
  if (listener !== undefined && !listener.listening)
    return `No process listened on port ${port} on ${record.target}: every request failed.`;
  if (h.outcome !== "ok") {
    const how = h.outcome === "http-error" && h.httpStatus !== null ? `HTTP ${h.httpStatus}` : h.outcome;
    return `The API on ${record.target} did not answer on port ${port}: the health check on the host ended in ${how} after ${formatDuration(h.latencyMs)}.`;
  }
  return `The service on ${record.target} answered its health check on the host in ${formatDuration(h.latencyMs)}.`;
}

/** What was affected: the connector, its endpoints, the accept queue, the held connections. */
function scopeOf(record: IncidentRecord): string[] {
  const before = record.evidence.before;
  if (!before || before.health.outcome === "ok") return [];
  const listener = dataOf(before.listener);
  const port = before.input.port;
  if (listener !== undefined && !listener.listening)
    return [`Port ${port}: nothing listened, every request was refused.`];
  const out = [
    `Connector: port ${port}${listener?.address ? ` (${listener.address})` : ""}; every endpoint it serves, not only the health check (\`${before.health.url.replace(/^https?:\/\/[^/]+/, "")}\`), shared one accept loop.`,
  ];
  const q = listener?.acceptQueue;
  if (q && q.current > 0)
    out.push(
      `${formatCount(q.current)} connections waited in the accept queue (of ${formatCount(q.max)}) and were never accepted.`,
    );
  const sockets = dataOf(before.sockets);
  if (sockets && sockets.established > 0)
    out.push(
      `${formatCount(sockets.established)} connections were ESTABLISHED on the port, ${formatCount(sockets.idle.overThreshold)} of them idle longer than ${formatDuration(sockets.idle.thresholdMs)}.`,
    );
  const logs = dataOf(before.logs);
  if (logs && logs.tooManyOpenFiles > 0)
    out.push(
      `The log had ${formatCount(logs.tooManyOpenFiles)} \`Too many open files\` lines in its last ${formatCount(logs.linesScanned)} lines.`,
    );
  return out;
}

const num = (v: unknown): number => (typeof v === "string" || typeof v === "number" ? Number(v) || 0 : 0);

/** What the applied mitigation did to users: connections closed, or the restart's outage. */
function mitigationImpactOf(record: IncidentRecord): string | null {
  const applied = record.actions.filter((a) => a.status === "applied");
  const parts: string[] = [];
  for (const a of applied) {
    if (a.action === "kill-idle-connections") {
      const relief = a.details.relief as Record<string, unknown> | undefined;
      const killed = num(a.details.killed) + num(relief?.killed);
      if (killed > 0)
        parts.push(
          `The mitigation itself closed ${formatCount(killed)} idle connections: their WebSocket clients saw the connection drop and had to reconnect.`,
        );
    } else if (a.action === "restart-service") {
      parts.push(
        `The mitigation itself, a restart, dropped every open connection, and the service did not answer for up to ${formatDuration(msBetween(a.startedAt, a.endedAt))} while it restarted.`,
      );
    }
  }
  return parts.length ? parts.join(" ") : null;
}

export function impactOf(record: IncidentRecord): Postmortem["impact"] {
  const start = startOf(record);
  const recovered = record.status === "recovered" && (record.verification?.recovered ?? false);
  const end = recovered ? milestonesOf(record).recoveredAt : null;
  const durationMs = msBetween(start.at, end);
  let description = descriptionOf(record);
  if (!recovered && record.status !== "not-down") description += ` ${NOT_RECOVERED[record.status]}`;
  const healthy = record.evidence.before?.health.outcome === "ok";
  const durationText =
    durationMs === null
      ? "unknown"
      : start.known
        ? formatDuration(durationMs)
        : `at least ${formatDuration(durationMs)}`;
  // A known start reads "from A to B"; an unknown one "began at or before A, ended B", never "from at or before A".
  const began = start.known
    ? `from ${formatDateTime(start.at)}`
    : `began at or before ${formatDateTime(start.at)}`;
  const windowText = healthy
    ? "none found on the host: the service answered its health check"
    : end
      ? `${began}${start.known ? " to" : ", ended"} ${formatDateTime(end)} (${durationText})`
      : `${began}; not ended by the run`;
  return {
    start: start.at,
    startKnown: start.known,
    startBasis: start.basis,
    end,
    endLabel: recovered
      ? "recovery verified"
      : record.status === "not-down"
        ? "not measured: the service answered on the host"
        : "not ended by the run",
    durationMs,
    durationText,
    windowText,
    description: description.trim(),
    scope: scopeOf(record),
    mitigationImpact: mitigationImpactOf(record),
    humanFields: [
      { label: "Users affected", value: TO_BE_FILLED },
      { label: "Support tickets", value: TO_BE_FILLED },
      { label: "Revenue or SLA impact", value: TO_BE_FILLED },
    ],
  };
}
