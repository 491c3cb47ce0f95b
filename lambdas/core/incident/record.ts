import type { Evidence } from "../evidence/schema.js";
import { webSocketSessions } from "../evidence/sessions.js";
import { changesHost } from "../mitigation/actions/registry.js";
import { dataOf } from "../shared/section.js";
import {
  type ActionResult,
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

/** The action the apply step is running now (set just before its script starts, cleared after). */
export interface InFlightAction {
  readonly rung: number;
  readonly action: ActionResult["action"];
  readonly startedAt: string;
}

/**
 * Marks whatever step is still running as interrupted, and the incident with it. An action that was
 * running is recorded as such: it may have stopped mid-way and partly changed the host.
 */
export function interruptRecord(record: IncidentRecord, at: string, why: string): IncidentRecord {
  const running = record.steps.filter((s) => s.status === "running").map((s) => s.id);
  const apply = record.steps.findLast((s) => s.id === "apply" && s.status === "running");
  const inFlight = apply?.outputs.inFlight as InFlightAction | undefined;
  const steps = record.steps.map((s) =>
    s.status === "running" ? { ...s, status: "interrupted" as const, endedAt: at, note: why } : s,
  );
  const actions: ActionResult[] = inFlight
    ? [
        ...record.actions,
        {
          rung: inFlight.rung,
          action: inFlight.action,
          status: "failed",
          startedAt: inFlight.startedAt,
          endedAt: at,
          reason: `interrupted by ${why} while running: it may have stopped mid-way and partly changed the host`,
          details: { interruptedBy: why },
          healthyAfter: null,
        },
      ]
    : record.actions;
  const where = running.length ? `during step ${running.join(", ")}` : "between steps";
  return {
    ...record,
    steps,
    actions,
    status: "interrupted",
    statusReason: inFlight
      ? `Interrupted (${why}) ${where} while ${inFlight.action} (rung ${inFlight.rung + 1}) was running: it may have been interrupted mid-way, so the host may be partly changed; check it. Later steps did not run.`
      : `Interrupted (${why}) ${where}; later steps did not run.`,
    endedAt: at,
  };
}

/** The few numbers worth comparing before and after, from one Evidence document. */
export function keyFigures(evidence: Evidence): KeyFigures {
  const fds = dataOf(evidence.fds);
  const sockets = dataOf(evidence.sockets);
  const histogram = dataOf(evidence.classHistogram);
  return {
    at: evidence.collectedAt,
    pid: dataOf(evidence.process)?.pid ?? null,
    openFds: fds?.open ?? null,
    fdLimit: fds?.limitSoft ?? null,
    established: sockets?.established ?? null,
    wsSessions: histogram ? webSocketSessions(histogram).instances : null,
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
  braked: 4,
  cooldown: 5,
  interrupted: 130,
};

/** Whether any rung changed the host (and so recovery must be verified). */
export function changedHost(record: IncidentRecord): boolean {
  return record.actions.some((a) => a.status === "applied" && changesHost(a.action));
}

/** One script run of a rung as the workflow saw it: when it was sent and what it printed. */
export interface SentRun {
  readonly sentAt: string;
  /** The command's own status (`Success` when the script ran to its end). */
  readonly status: string;
  /** The run's `key=value` lines; `result=ok` means it changed the host. */
  readonly kv: Readonly<Record<string, string>>;
}

/**
 * When a rung first changed the host (the action result's `firstChangeAt`): the send time of its first run
 * that ran to its end and reported `result=ok` (the relief batch, the restart's stop, the heap dump), or null
 * when no run reported a change (nothing to do, refused, unsupported, failed).
 */
export function firstChangeAt(runs: readonly SentRun[]): string | null {
  return runs.find((r) => r.status === "Success" && r.kv.result === "ok")?.sentAt ?? null;
}
