import { describe, expect, it } from "vitest";
import {
  dedupeKeyOf,
  eventBridgeAlarmEventSchema,
  isManualStart,
  manualStartSchema,
  manualStartSchemaFor,
  normalizedAlarmSchema,
  normalizeSnsAlarm,
  normalizeStateMachineInput,
  snsAlarmMessageSchema,
  stateMachineInputSchema,
  stateMachineInputSchemaFor,
} from "../../../lambdas/core/events/alarm-event.js";
import { decideFleetBrake } from "../../../lambdas/core/events/fleet-brake.js";
import {
  agentVersionAtLeast,
  alarmArnOf,
  alarmNameMatches,
  carriesTag,
  pickUnhealthyTargets,
  planTargetResolution,
  screenAgents,
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

describe("manual start input", () => {
  const I1 = "i-0123456789abcdef0";
  const I2 = "i-0fedcba98765432";
  const ctx = (n = 0) => ({
    now: "2026-11-25T12:00:00.000Z",
    newRequestId: () => `generated-${n}`,
    region: "eu-west-1",
  });
  const issues = (input: unknown, max = 20) =>
    manualStartSchemaFor(max)
      .safeParse(input)
      .error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];

  it("accepts instances with mode, reason, requestedBy and requestId; is a state machine input", () => {
    const input = {
      instances: [I1, I2, I1],
      mode: "plan",
      reason: "API 502s on the canary",
      requestedBy: "alice@example.com",
      requestId: "INC-1234_retry-safe",
    };
    expect(isManualStart(input)).toBe(true);
    expect(manualStartSchema.parse(input).instances).toEqual([I1, I2]); // duplicates collapse
    const { alarm, mode, manual } = normalizeStateMachineInput(stateMachineInputSchema.parse(input), ctx());
    expect(mode).toBe("plan");
    expect(manual).toEqual({ instances: [I1, I2] });
    expect(alarm).toEqual({
      via: "manual",
      alarmName: "manual:alice@example.com",
      alarmArn: null,
      account: null,
      region: "eu-west-1",
      state: "MANUAL",
      stateChangeTime: "2026-11-25T12:00:00.000Z",
      reason: "API 502s on the canary",
      namespace: null,
      metricName: null,
      dimensions: [
        { name: "InstanceId", value: I1 },
        { name: "InstanceId", value: I2 },
      ],
      requestedBy: "alice@example.com",
      requestId: "INC-1234_retry-safe",
    });
    // the synthetic trigger is a valid normalised alarm (OpenIncident and Diagnose parse it)
    expect(normalizedAlarmSchema.parse(alarm)).toEqual(alarm);
    expect(dedupeKeyOf(alarm)).toBe("manual#INC-1234_retry-safe");
  });

  it("dedupe: the same requestId is one incident; without one, every start is its own", () => {
    const withId = manualStartSchema.parse({ instances: [I1], requestId: "r-1" });
    const a = normalizeStateMachineInput(withId, ctx(1)).alarm;
    const b = normalizeStateMachineInput(withId, { ...ctx(2), now: "2026-11-25T12:05:00.000Z" }).alarm;
    expect(dedupeKeyOf(a)).toBe(dedupeKeyOf(b));
    const bare = manualStartSchema.parse({ instances: [I1] });
    const c = normalizeStateMachineInput(bare, ctx(3)).alarm;
    const d = normalizeStateMachineInput(bare, ctx(4)).alarm;
    expect(dedupeKeyOf(c)).not.toBe(dedupeKeyOf(d));
    expect(c).toMatchObject({ alarmName: "manual:unspecified", reason: "manual start by unspecified" });
    // with the default context (real clock, random UUID) too
    const e = normalizeStateMachineInput(bare).alarm;
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses ids that are not instance ids", () => {
    for (const bad of [
      "i-123",
      "I-0123456789ABCDEF0",
      "i-0123456789abcdef0; reboot",
      "mi-0123456789abcdef0",
      "",
    ])
      expect(issues({ instances: [I1, bad] }), bad).toEqual([
        "instances.1: not an EC2 instance id (i-0123456789abcdef0)",
      ]);
  });

  it("refuses an empty list, a missing list and more instances than maxTargets", () => {
    expect(issues({ instances: [] })).toEqual(["instances: name at least one instance"]);
    expect(issues({ instances: undefined, mode: "plan" })[0]).toMatch(/^instances: /);
    const three = [I1, I2, "i-00000000000000aa"];
    expect(issues({ instances: three }, 2)).toEqual([
      "instances: at most 2 instances per start (the construct's maxTargets)",
    ]);
    expect(issues({ instances: three }, 3)).toEqual([]);
    const many = Array.from({ length: 21 }, (_, i) => `i-${String(i).padStart(17, "0")}`);
    expect(manualStartSchema.safeParse({ instances: many }).success).toBe(false);
    expect(stateMachineInputSchemaFor(21).safeParse({ instances: many }).success).toBe(true);
  });

  it("refuses unknown keys, bad modes, unsafe requesters and request ids, control characters", () => {
    expect(issues({ instances: [I1], instance: I2 })).toEqual([': Unrecognized key: "instance"']);
    expect(issues({ instances: [I1], mode: "yolo" })[0]).toMatch(/^mode: /);
    expect(issues({ instances: [I1], requestedBy: "alice; rm -rf /" })[0]).toMatch(/^requestedBy: /);
    expect(issues({ instances: [I1], requestId: "a".repeat(81) })[0]).toMatch(/^requestId: /);
    expect(issues({ instances: [I1], requestId: "with space" })[0]).toMatch(/^requestId: /);
    expect(issues({ instances: [I1], reason: "line\u001b[31m red" })).toEqual([
      "reason: no control characters",
    ]);
    expect(issues({ instances: [I1], reason: "two\nlines\tok" })).toEqual([]);
  });

  it("the alarm forms are not manual starts", () => {
    expect(isManualStart(eventBridgeEvent)).toBe(false);
    expect(isManualStart(null)).toBe(false);
    expect(isManualStart("instances")).toBe(false);
  });
});

describe("alarm selection by tag", () => {
  const sns = normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage));
  it("reads the tags of the delivered ARN, or of one built from region/account/name", () => {
    expect(alarmArnOf(sns)).toBe(snsMessage.AlarmArn);
    expect(alarmArnOf({ ...sns, alarmArn: null })).toBe(
      "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-api-unreachable",
    );
    expect(alarmArnOf({ ...sns, alarmArn: null, region: null })).toBeNull();
  });
  it("needs the exact key and value", () => {
    const tag = { key: "runbook", value: "api" };
    expect(carriesTag([{ key: "runbook", value: "api" }], tag)).toBe(true);
    expect(carriesTag([{ key: "runbook", value: "API" }], tag)).toBe(false);
    expect(carriesTag([{ key: "other", value: "api" }], tag)).toBe(false);
    expect(carriesTag([], tag)).toBe(false);
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

  it("checks the SSM Agent version against 3.3.2746.0 (ENV_VAR parameters) and screens targets", () => {
    expect(agentVersionAtLeast("3.3.2746.0")).toBe(true);
    expect(agentVersionAtLeast("3.3.10000.0")).toBe(true);
    expect(agentVersionAtLeast("3.10.0.0")).toBe(true);
    expect(agentVersionAtLeast("3.3.2745.9")).toBe(false);
    expect(agentVersionAtLeast("3.2.9999.0")).toBe(false);
    expect(agentVersionAtLeast("")).toBe(false);
    expect(agentVersionAtLeast("latest")).toBe(false);
    const screened = screenAgents(
      ["i-1", "i-2", "i-3", "i-4"],
      [
        { id: "i-1", agentVersion: "3.3.3050.0", pingStatus: "Online" },
        { id: "i-2", agentVersion: "3.1.0.0", pingStatus: "Online" },
        { id: "i-3", agentVersion: "3.3.3050.0", pingStatus: "ConnectionLost" },
      ],
    );
    expect(screened.targets).toEqual(["i-1"]);
    expect(screened.skipped.map((x) => x.id)).toEqual(["i-2", "i-3", "i-4"]);
    expect(screened.skipped[2]?.reason).toMatch(/not a managed instance/);
  });

  it("matches alarm names by prefix", () => {
    expect(alarmNameMatches("runbook-x", ["runbook-"])).toBe(true);
    expect(alarmNameMatches("other", ["runbook-"])).toBe(false);
    expect(alarmNameMatches("other", [])).toBe(true);
    // exact names (the construct's `alarms`) alongside prefixes
    expect(alarmNameMatches("api-5xx", [], ["api-5xx"])).toBe(true);
    expect(alarmNameMatches("api-5xx-2", [], ["api-5xx"])).toBe(false);
    expect(alarmNameMatches("runbook-x", ["runbook-"], ["api-5xx"])).toBe(true);
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
