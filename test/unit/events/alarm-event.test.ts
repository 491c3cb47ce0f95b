import { describe, expect, it } from "vitest";
import {
  dedupeKeyOf,
  eventBridgeAlarmEventSchema,
  normalizeSnsAlarm,
  normalizeStateMachineInput,
  snsAlarmMessageSchema,
  stateMachineInputSchema,
} from "../../../lambdas/core/events/alarm-event.js";
import { decideFleetBrake } from "../../../lambdas/core/events/fleet-brake.js";
import {
  alarmNameMatches,
  pickUnhealthyTargets,
  planTargetResolution,
} from "../../../lambdas/core/events/resolve-targets.js";
import { eventBridgeEvent, snsMessage } from "./fixtures.js";

describe("alarm events", () => {
  it("normalises the EventBridge form, dimensions as a list, timestamp as ISO", () => {
    const parsed = stateMachineInputSchema.parse(eventBridgeEvent);
    const { alarm, mode } = normalizeStateMachineInput(parsed);
    expect(mode).toBeNull();
    expect(alarm).toMatchObject({
      via: "eventbridge",
      alarmName: "runbook-api-unreachable",
      region: "eu-west-1",
      account: "123456789012",
      stateChangeTime: "2024-05-02T17:04:40.989Z",
      namespace: "AWS/ApplicationELB",
    });
    expect(alarm.dimensions).toEqual([
      { name: "TargetGroup", value: "targetgroup/api-tg/0123456789abcdef" },
      { name: "LoadBalancer", value: "app/api-lb/50dc6c495c0c9188" },
    ]);
  });

  it("normalises the SNS form (Trigger.Dimensions array) to the same dedupe key", () => {
    const sns = normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage));
    expect(sns).toMatchObject({ via: "sns", region: "eu-west-1", account: "123456789012" });
    expect(sns.dimensions).toEqual([{ name: "InstanceId", value: "i-0123456789abcdef0" }]);
    const eb = normalizeStateMachineInput(stateMachineInputSchema.parse(eventBridgeEvent)).alarm;
    expect(dedupeKeyOf(sns)).toBe(dedupeKeyOf(eb));
    // the normalised form is itself a valid state machine input
    const again = normalizeStateMachineInput(stateMachineInputSchema.parse({ alarm: sns, mode: "plan" }));
    expect(again).toEqual({ alarm: sns, mode: "plan" });
  });

  it("rejects events that are not alarm state changes", () => {
    expect(eventBridgeAlarmEventSchema.safeParse({ ...eventBridgeEvent, source: "aws.ec2" }).success).toBe(
      false,
    );
    const bad = { ...snsMessage, StateChangeTime: "yesterday" };
    expect(snsAlarmMessageSchema.safeParse(bad).success).toBe(false);
  });
});

describe("target resolution plan", () => {
  const base = normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage));
  const tag = { key: "runbook-autopilot:enabled", value: "true" };

  it("InstanceId wins", () => {
    expect(planTargetResolution(base, { fallbackTag: tag })).toEqual({
      kind: "instance",
      instanceIds: ["i-0123456789abcdef0"],
    });
  });

  it("refuses an InstanceId that is not an instance id", () => {
    const alarm = { ...base, dimensions: [{ name: "InstanceId", value: "i-1; rm -rf /" }] };
    expect(planTargetResolution(alarm, { fallbackTag: tag }).kind).toBe("none");
  });

  it("builds the target group ARN from the TargetGroup dimension", () => {
    const eb = normalizeStateMachineInput(stateMachineInputSchema.parse(eventBridgeEvent)).alarm;
    expect(planTargetResolution(eb, { fallbackTag: null })).toEqual({
      kind: "target-group",
      targetGroupArn:
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-tg/0123456789abcdef",
      loadBalancerDimension: "app/api-lb/50dc6c495c0c9188",
    });
  });

  it("falls back to the tag, or to none", () => {
    const alarm = { ...base, dimensions: [] };
    expect(planTargetResolution(alarm, { fallbackTag: tag })).toEqual({ kind: "tag", tag });
    expect(planTargetResolution(alarm, { fallbackTag: null }).kind).toBe("none");
  });

  it("picks unhealthy instance targets and counts the group", () => {
    const picked = pickUnhealthyTargets([
      { id: "i-0000000000000000a", state: "healthy" },
      { id: "i-0000000000000000b", state: "unhealthy" },
      { id: "i-0000000000000000c", state: "unavailable" },
      { id: "i-0000000000000000d", state: "unused" },
      { id: "10.0.0.5", state: "unhealthy" },
    ]);
    expect(picked).toEqual({
      unhealthy: ["i-0000000000000000b", "i-0000000000000000c"],
      groupSize: 3,
      notInstances: ["10.0.0.5"],
    });
  });

  it("matches alarm names by prefix", () => {
    expect(alarmNameMatches("runbook-x", ["runbook-"])).toBe(true);
    expect(alarmNameMatches("other", ["runbook-"])).toBe(false);
    expect(alarmNameMatches("other", [])).toBe(true);
  });
});

describe("fleet brake", () => {
  const d = (target: string, classId: string | null) => ({ target, classId });
  it.each([
    { name: "lone instance never brakes", diagnoses: [d("a", "fd-leak")], groupSize: 1, brake: false },
    {
      name: "2 of 4 at 50% share does not brake",
      diagnoses: [d("a", "x"), d("b", "x")],
      groupSize: 4,
      brake: false,
    },
    { name: "3 of 4 brakes", diagnoses: [d("a", "x"), d("b", "x"), d("c", "x")], groupSize: 4, brake: true },
    {
      name: "different classes do not add up",
      diagnoses: [d("a", "x"), d("b", "y"), d("c", null)],
      groupSize: 3,
      brake: false,
    },
  ])("$name", ({ diagnoses, groupSize, brake }) => {
    expect(decideFleetBrake({ diagnoses, groupSize, maxShare: 0.5 }).brake).toBe(brake);
  });
});
