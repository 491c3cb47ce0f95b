import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  forecastRecurrence,
  forecastRecurrenceFromRecord,
} from "../../../lambdas/core/forecast/recurrence.js";
import { incidentRecordSchema } from "../../../lambdas/core/incident/schema.js";

const record = (name: string) =>
  incidentRecordSchema.parse(
    JSON.parse(readFileSync(new URL(`../../fixtures/records/${name}.json`, import.meta.url), "utf8")),
  );

describe("forecastRecurrence", () => {
  it("the seed incident: 963 fds leaked in 14 days, so the limit is reached again 14 days after the kill", () => {
    const r = forecastRecurrenceFromRecord(record("websocket-session-leak"));
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
    const r = forecastRecurrenceFromRecord(record("thread-pool-exhaustion"));
    expect(r.status).toBe("not-a-leak");
    expect(r.temporary).toBe(false);
    expect(r.reason).toBe("the root cause (thread-pool-exhaustion) is not a leak");
  });

  it("says why when the figures are missing or do not show a leak", () => {
    const base = {
      classId: "websocket-session-leak",
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
    expect(forecastRecurrence({ ...base, classId: null }).reason).toBe("no root cause was diagnosed");
    expect(forecastRecurrence({ ...base, after: null }).figures).toBeNull();
    expect(forecastRecurrence({ ...base, after: { at: base.after.at, openFds: 950 } }).reason).toBe(
      "open fds did not fall after the fix (900 before, 950 after)",
    );
    // Nothing applied (plan mode): a forecast, but no fix to call temporary.
    const planned = forecastRecurrence(base);
    expect(planned.status).toBe("recurs");
    expect(planned.temporary).toBe(false);
  });
});
