import type { IncidentRecord } from "../incident/schema.js";
import { dataOf } from "../shared/section.js";

/**
 * When will it happen again? From one incident's record: the process had leaked from a fresh
 * start (the fds it has right after recovery) to `before.openFds` over its uptime; at that rate
 * the limit is reached again `(fdLimit − after.openFds) / rate` after recovery. A mitigation that
 * only relieves a leak (kill the idle sockets, restart) leaves its cause in place: temporary.
 */

/**
 * What a class's cause can leak. Which classes leak what is runbook data (`leak:` per class in
 * runbooks/postmortem/knowledge.yaml); only `fds` is forecast from the record's figures.
 */
export const LEAKED_RESOURCES = ["fds", "heap", "pool-connections"] as const;
export type LeakedResource = (typeof LEAKED_RESOURCES)[number];

const RESOURCE_WORDS: Readonly<Record<LeakedResource, string>> = {
  fds: "file descriptors",
  heap: "heap",
  "pool-connections": "database pool connections",
};

/** Actions that relieve the symptom and leave the cause. */
export const RELIEF_ACTIONS: readonly string[] = ["kill-idle-connections", "restart-service"];

export interface RecurrenceInput {
  readonly classId: string | null;
  /** What the class leaks (its knowledge's `leak`), null when its cause is not a leak. */
  readonly leak: LeakedResource | null;
  /** How long the process had run when `before` was taken, seconds. */
  readonly uptimeSecondsBefore: number | null;
  readonly before: {
    readonly at: string;
    readonly openFds: number | null;
    readonly fdLimit: number | null;
  } | null;
  readonly after: { readonly at: string; readonly openFds: number | null } | null;
  /** Actions applied (by id), in order. */
  readonly applied: readonly string[];
}

export interface RecurrenceForecast {
  readonly status: "recurs" | "not-a-leak" | "unknown";
  /** Leaked fds per hour over the process's life before the incident. */
  readonly ratePerHour: number | null;
  readonly hoursUntilLimit: number | null;
  readonly limitReachedAgainAt: string | null;
  /** The fix applied left the cause in place (a relief action on a leak class). */
  readonly temporary: boolean;
  /** The actions that make it temporary. */
  readonly reliefActions: readonly string[];
  /** How the figures were computed, one sentence; null when not computed. */
  readonly basis: string | null;
  /** Why there is no forecast; null when there is one. */
  readonly reason: string | null;
  /** The figures behind `basis`, for callers that format them; null when not computed. */
  readonly figures: RecurrenceFigures | null;
}

export interface RecurrenceFigures {
  readonly leaked: number;
  readonly openFdsBefore: number;
  readonly openFdsAfter: number;
  readonly fdLimit: number;
  readonly headroom: number;
  readonly uptimeSecondsBefore: number;
}

export function forecastRecurrence(i: RecurrenceInput): RecurrenceForecast {
  const isLeak = i.classId !== null && i.leak !== null;
  const reliefActions = i.applied.filter((a) => RELIEF_ACTIONS.includes(a));
  const temporary = isLeak && reliefActions.length > 0;
  const none = (status: RecurrenceForecast["status"], reason: string): RecurrenceForecast => ({
    status,
    ratePerHour: null,
    hoursUntilLimit: null,
    limitReachedAgainAt: null,
    temporary,
    reliefActions,
    basis: null,
    reason,
    figures: null,
  });
  if (i.classId === null) return none("not-a-leak", "no root cause was diagnosed");
  if (!isLeak) return none("not-a-leak", `the root cause (${i.classId}) is not a leak`);
  if (i.leak !== "fds")
    return none(
      "unknown",
      `the root cause (${i.classId}) leaks ${RESOURCE_WORDS[i.leak]}; only an fd leak is forecast from the record`,
    );
  const b = i.before;
  const a = i.after;
  if (!b) return none("unknown", "no fix was verified, so there are no before/after figures");
  if (b.openFds === null || b.fdLimit === null)
    return none("unknown", "open fds before the fix were not read");
  if (!a || a.openFds === null) return none("unknown", "open fds after the fix were not read");
  if (i.uptimeSecondsBefore === null || i.uptimeSecondsBefore <= 0) {
    return none("unknown", "the process's uptime before the fix is unknown");
  }
  const leaked = b.openFds - a.openFds;
  if (leaked <= 0) {
    return none("unknown", `open fds did not fall after the fix (${b.openFds} before, ${a.openFds} after)`);
  }
  const ratePerHour = leaked / (i.uptimeSecondsBefore / 3600);
  const headroom = Math.max(0, b.fdLimit - a.openFds);
  const hoursUntilLimit = headroom / ratePerHour;
  const at = new Date(Date.parse(a.at) + hoursUntilLimit * 3_600_000).toISOString();
  return {
    status: "recurs",
    ratePerHour: round(ratePerHour),
    hoursUntilLimit: round(hoursUntilLimit),
    limitReachedAgainAt: at,
    temporary,
    reliefActions,
    basis: `${leaked} fds leaked (${b.openFds} before, ${a.openFds} after the fix) over ${round(i.uptimeSecondsBefore / 3600)} h of uptime; ${headroom} fds of headroom to the limit of ${b.fdLimit}`,
    reason: null,
    figures: {
      leaked,
      openFdsBefore: b.openFds,
      openFdsAfter: a.openFds,
      fdLimit: b.fdLimit,
      headroom,
      uptimeSecondsBefore: i.uptimeSecondsBefore,
    },
  };
}

/**
 * The same from an execution record: before/after key figures, the process uptime, the class and the
 * applied actions; `leakOf` says what a class id leaks (from the class knowledge), null for none.
 */
export function forecastRecurrenceFromRecord(
  record: IncidentRecord,
  leakOf: (classId: string) => LeakedResource | null,
): RecurrenceForecast {
  const v = record.verification;
  const proc = dataOf(record.evidence.before?.process);
  const classId = record.diagnosis?.rootCause.id ?? null;
  return forecastRecurrence({
    classId,
    leak: classId === null ? null : leakOf(classId),
    uptimeSecondsBefore: proc?.uptimeSeconds ?? null,
    before: v?.before ?? null,
    after: v?.after ?? null,
    applied: record.actions.filter((x) => x.status === "applied").map((x) => x.action),
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
