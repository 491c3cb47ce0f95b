import type { Evidence } from "../evidence/schema.js";
import { changesHost } from "../mitigation/actions.js";
import { dataOf } from "../shared/section.js";
import {
  INCIDENT_SCHEMA_VERSION,
  type IncidentRecord,
  type KeyFigures,
  type Mode,
  type STEP_IDS,
  type Step,
} from "./schema.js";

/** Pure helpers over the execution record: every function returns a new record. */

export type StepId = (typeof STEP_IDS)[number];

export interface NewRecordInput {
  readonly incidentId: string;
  readonly runbook: string;
  readonly target: string;
  readonly mode: Mode;
  readonly trigger: IncidentRecord["trigger"];
  readonly at: string;
}

export function newRecord(input: NewRecordInput): IncidentRecord {
  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    incidentId: input.incidentId,
    runbook: input.runbook,
    target: input.target,
    mode: input.mode,
    trigger: input.trigger,
    status: "running",
    statusReason: "The runbook is running.",
    startedAt: input.at,
    endedAt: null,
    steps: [],
    evidence: { before: null, afterRelief: null, after: null },
    artifacts: [],
    diagnosis: null,
    plan: null,
    actions: [],
    verification: null,
    escalation: null,
    errors: [],
  };
}

export function beginStep(
  record: IncidentRecord,
  id: StepId,
  at: string,
  inputs: Record<string, unknown> = {},
): IncidentRecord {
  const step: Step = {
    id,
    status: "running",
    startedAt: at,
    endedAt: null,
    inputs,
    outputs: {},
    error: null,
    note: null,
  };
  return { ...record, steps: [...record.steps, step] };
}

export interface StepEnd {
  readonly status: Exclude<Step["status"], "running">;
  readonly outputs?: Record<string, unknown>;
  readonly error?: { name: string; message: string } | null;
  readonly note?: string | null;
}

/** Ends the last running step with this id; records its error in `errors` too. */
export function endStep(record: IncidentRecord, id: StepId, at: string, end: StepEnd): IncidentRecord {
  const index = record.steps.findLastIndex((s) => s.id === id && s.status === "running");
  if (index < 0) return record;
  const steps = record.steps.slice();
  const prev = steps[index] as Step;
  steps[index] = {
    ...prev,
    status: end.status,
    endedAt: at,
    outputs: end.outputs ?? prev.outputs,
    error: end.error ?? null,
    note: end.note ?? null,
  };
  const errors = end.error ? [...record.errors, { step: id, ...end.error }] : record.errors;
  return { ...record, steps, errors };
}

/** Marks whatever step is still running as interrupted, and the incident with it. */
export function interruptRecord(record: IncidentRecord, at: string, why: string): IncidentRecord {
  const running = record.steps.filter((s) => s.status === "running").map((s) => s.id);
  const steps = record.steps.map((s) =>
    s.status === "running" ? { ...s, status: "interrupted" as const, endedAt: at, note: why } : s,
  );
  return {
    ...record,
    steps,
    status: "interrupted",
    statusReason: running.length
      ? `Interrupted (${why}) during step ${running.join(", ")}; later steps did not run.`
      : `Interrupted (${why}) between steps; later steps did not run.`,
    endedAt: at,
  };
}

/** The few numbers worth comparing before and after, from one Evidence document. */
export function keyFigures(evidence: Evidence): KeyFigures {
  const fds = dataOf(evidence.fds);
  const sockets = dataOf(evidence.sockets);
  const histogram = dataOf(evidence.classHistogram);
  const ws = histogram?.watched.find((w) => w.className === "org.apache.tomcat.websocket.WsSession");
  return {
    at: evidence.collectedAt,
    pid: dataOf(evidence.process)?.pid ?? null,
    openFds: fds?.open ?? null,
    fdLimit: fds?.limitSoft ?? null,
    established: sockets?.established ?? null,
    wsSessions: histogram ? (ws?.instances ?? 0) : null,
    healthOutcome: evidence.health.outcome,
    healthLatencyMs: evidence.health.latencyMs,
  };
}

/** Exit codes of `runbook run`, by final status. 0 only when healthy at the end (or never down). */
export const EXIT_CODES: Readonly<Record<IncidentRecord["status"], number>> = {
  recovered: 0,
  "not-down": 0,
  running: 1,
  failed: 1,
  planned: 3,
  declined: 3,
  escalated: 4,
  cooldown: 5,
  interrupted: 130,
};

/** Whether any rung changed the host (and so recovery must be verified). */
export function changedHost(record: IncidentRecord): boolean {
  return record.actions.some((a) => a.status === "applied" && changesHost(a.action));
}
