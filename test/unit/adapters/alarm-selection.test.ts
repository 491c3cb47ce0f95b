import { CloudWatchClient, ListTagsForResourceCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { onlineAgents } from "../../support/ssm-agents.js";
import { eventBridgeEvent, snsMessage } from "../events/fixtures.js";

/**
 * ResolveTargets with ALARM_SELECTION_TAG set (its own file: the handlers read their environment once).
 * CloudWatch and EC2 mocked.
 */
const cw = mockClient(CloudWatchClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const context = { functionName: "test", awsRequestId: "req-1" } as unknown as Context;
const T1 = "i-0123456789abcdef0";
const ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-api-unreachable";
type Handler = (event: unknown, context: Context) => Promise<Record<string, unknown>>;
const resolve = async (event: unknown) =>
  ((await import("../../../lambdas/handlers/resolve-targets.js")).handler as Handler)(event, context);

/** The EventBridge fixture with an InstanceId dimension (one DescribeInstances, no ELB). */
const alarmEvent = structuredClone(eventBridgeEvent);
const metric = alarmEvent.detail.configuration.metrics[0]?.metricStat.metric as {
  dimensions: Record<string, string>;
};
metric.dimensions = { InstanceId: T1 };

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    POWERTOOLS_TRACE_ENABLED: "false",
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    ARTIFACT_BUCKET: "artifacts",
    INCIDENT_TABLE: "incidents",
    TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:ops",
    SSM_DOCUMENTS: JSON.stringify({ probe: { documentName: "Probe-abc", step: "probe" } }),
    OPT_IN_TAG: JSON.stringify({ key: "runbook-autopilot:enabled", value: "true" }),
    SERVICE: JSON.stringify({ port: 8080, healthPath: "/health", logPath: null, systemdUnit: null }),
    // The run settings the construct resolves and passes (lambdas/core/settings): no defaults in the handlers.
    DEFAULT_MODE: "approve",
    COOLDOWN_SECONDS: "1800",
    PROBE_TIMEOUT_SECONDS: "60",
    ALARM_SELECTION_TAG: JSON.stringify({ key: "runbook-autopilot:runbook", value: "api-unreachable" }),
    ALARM_NAME_PREFIXES: "",
  });
});
beforeEach(() => {
  cw.reset();
  ec2.reset();
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: T1 }] }] });
  ssm.reset();
  onlineAgents(ssm);
});

describe("resolve-targets with an alarm selection tag", () => {
  it("a tagged alarm proceeds to target resolution", async () => {
    cw.on(ListTagsForResourceCommand).resolves({
      Tags: [
        { Key: "team", Value: "api" },
        { Key: "runbook-autopilot:runbook", Value: "api-unreachable" },
      ],
    });
    const out = await resolve(alarmEvent);
    expect(out).toMatchObject({ selected: true, strategy: "instance", targets: [T1], hasTargets: true });
    expect(cw.commandCalls(ListTagsForResourceCommand).map((c) => c.args[0].input)).toEqual([
      { ResourceARN: ALARM_ARN },
    ]);
  });

  it("an untagged (or differently tagged) alarm is not selected: no targets looked up, no incident", async () => {
    for (const Tags of [[], [{ Key: "runbook-autopilot:runbook", Value: "other" }], undefined]) {
      cw.on(ListTagsForResourceCommand).resolves({ Tags });
      const out = await resolve(alarmEvent);
      expect(out).toMatchObject({
        selected: false,
        hasTargets: false,
        targets: [],
        note: "alarm does not carry the selection tag runbook-autopilot:runbook=api-unreachable",
      });
    }
    expect(ec2.calls()).toHaveLength(0);
  });

  it("AccessDenied on ListTagsForResource is a clear error (the state machine escalates), not a skip", async () => {
    cw.on(ListTagsForResourceCommand).rejects(
      Object.assign(new Error("User is not authorized to perform: cloudwatch:ListTagsForResource"), {
        name: "AccessDenied",
      }),
    );
    const err = (await resolve(alarmEvent).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe("AlarmTagsUnavailableError");
    expect(err.message).toBe(
      `cannot read the tags of alarm ${ALARM_ARN} to check the alarm selection tag: AccessDenied: ` +
        "User is not authorized to perform: cloudwatch:ListTagsForResource " +
        "(ResolveTargets' role needs cloudwatch:ListTagsForResource on the alarm)",
    );
    expect(ec2.calls()).toHaveLength(0);
  });

  it("other lookup failures (alarm deleted since) escalate too", async () => {
    cw.on(ListTagsForResourceCommand).rejects(
      Object.assign(new Error("alarm not found"), { name: "ResourceNotFoundException" }),
    );
    await expect(resolve(alarmEvent)).rejects.toThrow(/ResourceNotFoundException: alarm not found$/);
  });

  it("the SNS form: tags read with the ARN from the message, or one built from region and account", async () => {
    cw.on(ListTagsForResourceCommand).resolves({
      Tags: [{ Key: "runbook-autopilot:runbook", Value: "api-unreachable" }],
    });
    const { normalizeSnsAlarm, snsAlarmMessageSchema } = await import(
      "../../../lambdas/core/events/alarm-event.js"
    );
    const alarm = normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage));
    expect(await resolve({ alarm: { ...alarm, alarmArn: null } })).toMatchObject({ selected: true });
    expect(cw.commandCalls(ListTagsForResourceCommand)[0]?.args[0].input.ResourceARN).toBe(ALARM_ARN);
    await expect(resolve({ alarm: { ...alarm, alarmArn: null, region: null } })).rejects.toThrow(
      /has no ARN, region or account: cannot check the alarm selection tag/,
    );
  });

  it("a manual start names its instances: no alarm, no tag check", async () => {
    const out = await resolve({ instances: [T1], mode: "plan", requestedBy: "alice" });
    expect(out).toMatchObject({ selected: true, strategy: "manual", targets: [T1] });
    expect(cw.calls()).toHaveLength(0);
  });
});
