import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  forecastRecurrence,
  forecastRecurrenceFromRecord,
} from "../../../lambdas/core/forecast/recurrence.js";
import { type IncidentRecord, incidentRecordSchema } from "../../../lambdas/core/incident/schema.js";
import { classKnowledge } from "../../../lambdas/core/postmortem/knowledge.js";
import { KNOWLEDGE } from "../postmortem/helpers.js";

const record = (name: string) =>
  incidentRecordSchema.parse(
    JSON.parse(readFileSync(new URL(`../../fixtures/records/${name}.json`, import.meta.url), "utf8")),
  );

/** What a class leaks, from the shipped knowledge (runbooks/postmortem/knowledge.yaml). */
const leakOf = (id: string) => classKnowledge(KNOWLEDGE, id).leak ?? null;

/** The same record, diagnosed as another class. */
const diagnosedAs = (r: IncidentRecord, id: string): IncidentRecord => {
  if (!r.diagnosis) throw new Error(`${r.incidentId} has no diagnosis`);
  return { ...r, diagnosis: { ...r.diagnosis, rootCause: { ...r.diagnosis.rootCause, id } } };
};

describe("forecastRecurrence", () => {
  it("the seed incident: 963 fds leaked in 14 days, so the limit is reached again 14 days after the kill", () => {
    const r = forecastRecurrenceFromRecord(record("websocket-session-leak"), leakOf);
    expect(r.status).toBe("recurs");
    expect(r.ratePerHour).toBeCloseTo(963 / 336, 3);
    expect(r.hoursUntilLimit).toBeCloseTo(336, 3);
    // after.at 2025-03-11T02:16:28Z + 14 days
    expect(r.limitReachedAgainAt).toBe("2025-03-25T02:16:28.000Z");
    expect(r.temporary).toBe(true);
    expect(r.reliefActions).toEqual(["kill-idle-connections"]);
    expect(r.basis).toBe(
      "963 fds leaked (1024 before, 61 after the fix) over 336 h of uptime; 963 fds of headroom to the limit of 1024",
    );
    expect(r.figures).toEqual({
      leaked: 963,
      openFdsBefore: 1024,
      openFdsAfter: 61,
      fdLimit: 1024,
      headroom: 963,
      uptimeSecondsBefore: 336 * 3600,
    });
  });

  it("a restart of a leaking process is temporary too; the headroom starts from the fresh process", () => {
    const r = forecastRecurrence({
      classId: "file-handle-leak",
      leak: "fds",
      uptimeSecondsBefore: 10 * 3600,
      before: { at: "2026-01-01T10:00:00Z", openFds: 1050, fdLimit: 1024 + 26 },
      after: { at: "2026-01-01T10:05:00Z", openFds: 50 },
      applied: ["restart-service"],
    });
    expect(r.ratePerHour).toBe(100);
    expect(r.hoursUntilLimit).toBe(10);
    expect(r.limitReachedAgainAt).toBe("2026-01-01T20:05:00.000Z");
    expect(r.temporary).toBe(true);
  });

  it("not a leak: no recurrence forecast and nothing temporary", () => {
    const r = forecastRecurrenceFromRecord(record("thread-pool-exhaustion"), leakOf);
    expect(r.status).toBe("not-a-leak");
    expect(r.temporary).toBe(false);
    expect(r.reason).toBe("the root cause (thread-pool-exhaustion) is not a leak");
  });

  it("says why when the figures are missing or do not show a leak", () => {
    const base = {
      classId: "websocket-session-leak",
      leak: "fds" as const,
      uptimeSecondsBefore: 3600,
      before: { at: "2026-01-01T00:00:00Z", openFds: 900, fdLimit: 1024 },
      after: { at: "2026-01-01T00:01:00Z", openFds: 60 },
      applied: [] as string[],
    };
    expect(forecastRecurrence({ ...base, uptimeSecondsBefore: null }).reason).toBe(
      "the process's uptime before the fix is unknown",
    );
    expect(forecastRecurrence({ ...base, after: null }).reason).toBe("open fds after the fix were not read");
    expect(forecastRecurrence({ ...base, before: null }).reason).toBe(
      "no fix was verified, so there are no before/after figures",
    );
    expect(forecastRecurrence({ ...base, classId: null, leak: null }).reason).toBe(
      "no root cause was diagnosed",
    );
    expect(forecastRecurrence({ ...base, after: null }).figures).toBeNull();
    expect(forecastRecurrence({ ...base, after: { at: base.after.at, openFds: 950 } }).reason).toBe(
      "open fds did not fall after the fix (900 before, 950 after)",
    );
    // Nothing applied (plan mode): a forecast, but no fix to call temporary.
    const planned = forecastRecurrence(base);
    expect(planned.status).toBe("recurs");
    expect(planned.temporary).toBe(false);
  });

  it("a restart on a CLOSE-WAIT leak is temporary and forecast like any fd leak (the class's `leak: fds`)", () => {
    const restarted = record("recorded/file-leak-restarted");
    expect(restarted.actions.filter((a) => a.status === "applied").map((a) => a.action)).toEqual([
      "restart-service",
    ]);
    const asFiles = forecastRecurrenceFromRecord(restarted, leakOf);
    const r = forecastRecurrenceFromRecord(diagnosedAs(restarted, "close-wait-leak"), leakOf);
    expect(r.status).toBe("recurs");
    expect(r.temporary).toBe(true);
    expect(r.reliefActions).toEqual(["restart-service"]);
    expect(r.ratePerHour).toBe(asFiles.ratePerHour);
    expect(r.ratePerHour).toBeGreaterThan(0);
  });

  it("a restart on a pool leak is temporary, with no fd forecast: the pool's connections leak, not fds", () => {
    const r = forecastRecurrenceFromRecord(
      diagnosedAs(record("recorded/file-leak-restarted"), "connection-pool-exhaustion"),
      leakOf,
    );
    expect(r.temporary).toBe(true);
    expect(r.reliefActions).toEqual(["restart-service"]);
    expect(r.status).toBe("unknown");
    expect(r.ratePerHour).toBeNull();
    expect(r.reason).toBe(
      "the root cause (connection-pool-exhaustion) leaks database pool connections; only an fd leak is forecast from the record",
    );
  });

  it("a class the knowledge does not mark as a leak is never temporary, whatever was applied", () => {
    const r = forecastRecurrenceFromRecord(
      diagnosedAs(record("recorded/file-leak-restarted"), "listen-backlog-overflow"),
      leakOf,
    );
    expect(r).toMatchObject({ status: "not-a-leak", temporary: false, reliefActions: ["restart-service"] });
  });
});
