import { describe, expect, it } from "vitest";
import {
  budgetRequests,
  budgetWindow,
  decideFleetBrakeWithHealth,
} from "../../../lambdas/core/events/fleet-brake.js";

const TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef";
const group = (healthy: number, unhealthy: number) => ({
  targetGroupArn: TG,
  targets: [
    ...Array.from({ length: healthy }, (_, i) => ({ id: `i-h${i}`, healthy: true })),
    ...Array.from({ length: unhealthy }, (_, i) => ({ id: `i-u${i}`, healthy: false })),
  ],
});

describe("fleet brake with the target group's health", () => {
  it("counts the share against the whole group: 30 unhealthy of 200 brakes at 10%, though 20 were probed", () => {
    const diagnoses = Array.from({ length: 20 }, (_, i) => ({ target: `i-u${i}`, classId: "ws-leak" }));
    const d = decideFleetBrakeWithHealth({
      diagnoses,
      groupSize: 20,
      maxShare: 0.1,
      targetGroups: [group(170, 30)],
    });
    expect(d).toMatchObject({ brake: true, affected: 30, groupSize: 200 });
    expect(d.reason).toMatch(
      /30 of 200 targets \(15%\) are unhealthy in targetgroup\/api\/0123456789abcdef, above the 10% brake/,
    );
  });

  it("a per-instance alarm (a group of one probed) still sees its fleet, and acts when the share is small", () => {
    const d = decideFleetBrakeWithHealth({
      diagnoses: [{ target: "i-u0", classId: "ws-leak" }],
      groupSize: 1,
      maxShare: 0.5,
      targetGroups: [group(9, 1)],
    });
    expect(d).toMatchObject({ brake: false, groupSize: 10 });
  });

  it("never acts on the last healthy target: LB-healthy but probed down, with no other healthy one", () => {
    const d = decideFleetBrakeWithHealth({
      diagnoses: [{ target: "i-h0", classId: "process-down" }],
      groupSize: 1,
      maxShare: 1,
      targetGroups: [group(1, 3)],
    });
    expect(d.brake).toBe(true);
    expect(d.reason).toMatch(/acting on i-h0 would leave 0 healthy of 4 targets .* \(at least 1 must stay\)/);
    // with another healthy target left it may act
    const two = decideFleetBrakeWithHealth({
      diagnoses: [{ target: "i-h0", classId: "process-down" }],
      groupSize: 1,
      maxShare: 1,
      targetGroups: [group(2, 0)],
    });
    expect(two.brake).toBe(false);
  });

  it("groups that hold none of the targets are ignored; no class means nothing to act on", () => {
    expect(
      decideFleetBrakeWithHealth({
        diagnoses: [{ target: "i-other", classId: "ws-leak" }],
        groupSize: 1,
        maxShare: 0.1,
        targetGroups: [group(0, 5)],
      }).brake,
    ).toBe(false);
    expect(
      decideFleetBrakeWithHealth({
        diagnoses: [{ target: "i-h0", classId: null }],
        groupSize: 1,
        maxShare: 0.1,
        targetGroups: [group(1, 0)],
      }).brake,
    ).toBe(false);
  });

  it("budget requests: one per group and class, counting targets; outside any group the scope is the fleet", () => {
    expect(
      budgetRequests(
        [
          { target: "i-u0", classId: "ws-leak" },
          { target: "i-u1", classId: "ws-leak" },
          { target: "i-x", classId: "ws-leak" },
          { target: "i-u2", classId: null },
        ],
        [group(0, 3)],
      ),
    ).toEqual([
      { scope: "fleet", classId: "ws-leak", units: 1 },
      { scope: "targetgroup/api/0123456789abcdef", classId: "ws-leak", units: 2 },
    ]);
  });

  it("windows are aligned on the epoch", () => {
    expect(budgetWindow(new Date("2026-11-25T03:47:12Z"), 3600)).toEqual({
      start: "2026-11-25T03:00:00.000Z",
      end: "2026-11-25T04:00:00.000Z",
    });
  });
});
