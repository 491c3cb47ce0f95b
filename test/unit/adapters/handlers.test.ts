import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REDACTION_RULES, encodeForProbe } from "../../../lambdas/core/redact/index.js";
import type { StateMachineSteps, StateMachineStepsDeps } from "../../../lambdas/workflows/step-contract.js";
import { REPO } from "../../support/cli.js";
import { onlineAgents } from "../../support/ssm-agents.js";
import { eventBridgeEvent, snsMessage } from "../events/fixtures.js";

/** The thin handlers, end to end through their zod parsing and wiring, with mocked SDK clients. */
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);
const sfn = mockClient(SFNClient);

const context = {
  functionName: "test",
  awsRequestId: "req-1",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:test",
  memoryLimitInMB: "256",
  functionVersion: "$LATEST",
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

const T1 = "i-0000000000000000b";
const T2 = "i-0000000000000000c";
type Handler = (event: unknown, context: Context) => Promise<Record<string, unknown>>;
const modules: Record<string, () => Promise<{ handler: unknown }>> = {
  "resolve-targets": () => import("../../../lambdas/handlers/resolve-targets.js"),
  "open-incident": () => import("../../../lambdas/handlers/open-incident.js"),
  "send-probe": () => import("../../../lambdas/handlers/send-probe.js"),
  "poll-probe": () => import("../../../lambdas/handlers/poll-probe.js"),
  "sns-alarm-ingest": () => import("../../../lambdas/handlers/sns-alarm-ingest.js"),
};
/** Imported after the environment is set (wiring reads it once). */
const load = async (name: string) =>
  (await (modules[name] ?? (() => Promise.reject(new Error(name))))()).handler as Handler;

/**
 * The runbook bundled with the Lambdas (RUNBOOKS_DIR) as the construct resolves it with an override: one
 * extra redaction pattern and another idle threshold.
 */
const RUNBOOKS = mkdtempSync(join(tmpdir(), "handler-runbooks-"));
writeFileSync(
  join(RUNBOOKS, "api-unreachable.yaml"),
  `${readFileSync(join(REPO, "runbooks/api-unreachable.yaml"), "utf8").replace("idleThresholdMs: 120000", "idleThresholdMs: 90000")}
redaction:
  patterns:
    - { name: card-pin, before: "pin=", secret: "[0-9]+" }
`,
);

beforeAll(() => {
  Object.assign(process.env, {
    RUNBOOKS_DIR: RUNBOOKS,
    AWS_REGION: "eu-west-1",
    POWERTOOLS_TRACE_ENABLED: "false",
    POWERTOOLS_METRICS_NAMESPACE: "Test",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    ARTIFACT_BUCKET: "artifacts",
    INCIDENT_TABLE: "incidents",
    TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:ops",
    SSM_DOCUMENTS: JSON.stringify({ probe: { documentName: "Probe-abc", step: "probe" } }),
    OPT_IN_TAG: JSON.stringify({ key: "runbook-autopilot:enabled", value: "true" }),
    SERVICE: JSON.stringify({
      port: 8080,
      healthPath: "/actuator/health",
      logPath: null,
      systemdUnit: "api.service",
    }),
    STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:runbook",
    DEFAULT_MODE: "approve",
    COOLDOWN_SECONDS: "1800",
    PROBE_TIMEOUT_SECONDS: "60",
    ALARM_NAME_PREFIXES: "runbook-",
  });
});
beforeEach(() => {
  for (const m of [ssm, s3, ddb, ec2, elb, sfn]) m.reset();
  onlineAgents(ssm);
});

describe("handlers", () => {
  it("resolve-targets: an SSM Agent older than 3.3.2746.0, or offline, is skipped with the reason; none left → no targets", async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [{ Target: { Id: T1 }, TargetHealth: { State: "unhealthy" } }],
    });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: T1 }] }] });
    onlineAgents(ssm, "3.2.1705.0");
    const out = (await (
      await load("resolve-targets")
    )(eventBridgeEvent, context)) as {
      targets: string[];
      hasTargets: boolean;
      skipped: { id: string; reason: string }[];
      note: string;
    };
    expect(out.targets).toEqual([]);
    expect(out.hasTargets).toBe(false);
    expect(out.skipped[0]).toEqual({
      id: T1,
      reason:
        "SSM Agent 3.2.1705.0 is older than 3.3.2746.0 (needed for ENV_VAR parameters): update the agent",
    });
    expect(out.note).toContain("no target can run the runbook");
  });

  it("resolve-targets: target group → unhealthy, opted-in, running instances", async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: T1 }, TargetHealth: { State: "unhealthy" } },
        { Target: { Id: T2 }, TargetHealth: { State: "unhealthy" } },
        { Target: { Id: "i-0000000000000000d" }, TargetHealth: { State: "healthy" } },
      ],
    });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: T1 }] }] });
    const out = await (await load("resolve-targets"))(eventBridgeEvent, context);
    expect(out).toMatchObject({
      mode: "approve",
      strategy: "target-group",
      targets: [T1],
      hasTargets: true,
      groupSize: 3,
      dedupeKey: "runbook-api-unreachable#2024-05-02T17:04:40.989Z",
    });
    expect((out.skipped as { id: string }[]).map((s) => s.id)).toEqual([T2]);
    const filters = ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters;
    expect(filters).toContainEqual({ Name: "tag:runbook-autopilot:enabled", Values: ["true"] });
  });

  it("resolve-targets: refuses an input that is not an alarm", async () => {
    await expect((await load("resolve-targets"))({ hello: 1 }, context)).rejects.toThrow(
      /ResolveTargets: invalid input/,
    );
  });

  describe("resolve-targets: manual start naming instances", () => {
    const T3 = "i-0000000000000000d";
    const runningTagged = (...ids: string[]) =>
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [{ Instances: ids.map((InstanceId) => ({ InstanceId })) }],
      });

    it("checks the opt-in tag and running state of each named instance; the others are skipped", async () => {
      runningTagged(T1, T3);
      const out = await (await load("resolve-targets"))(
        {
          instances: [T1, T2, T3],
          mode: "plan",
          reason: "canary 502s",
          requestedBy: "alice",
          requestId: "INC-42",
        },
        context,
      );
      expect(out).toMatchObject({
        selected: true,
        strategy: "manual",
        mode: "plan",
        targets: [T1, T3],
        hasTargets: true,
        groupSize: 3,
        dedupeKey: "manual#INC-42",
        alarm: {
          via: "manual",
          alarmName: "manual:alice",
          state: "MANUAL",
          reason: "canary 502s",
          requestedBy: "alice",
          requestId: "INC-42",
          region: "eu-west-1",
        },
      });
      expect(out.skipped).toEqual([
        { id: T2, reason: "not found, not running or no runbook-autopilot:enabled=true tag" },
      ]);
      expect(
        Date.now() - Date.parse((out.alarm as { stateChangeTime: string }).stateChangeTime),
      ).toBeLessThan(60_000);
      // one lookup, by filter: an unknown id cannot fail the lookup of the others
      const calls = ec2.commandCalls(DescribeInstancesCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input.InstanceIds).toBeUndefined();
      expect(calls[0]?.args[0].input.Filters).toEqual([
        { Name: "instance-id", Values: [T1, T2, T3] },
        { Name: "tag:runbook-autopilot:enabled", Values: ["true"] },
        { Name: "instance-state-name", Values: ["running"] },
      ]);
      expect(elb.calls()).toHaveLength(0);
    });

    it("none tagged: no targets (→ NotifyNoTargets), never probed; default mode; two starts are two incidents", async () => {
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      const resolve = await load("resolve-targets");
      const a = await resolve({ instances: [T1] }, context);
      const b = await resolve({ instances: [T1] }, context);
      expect(a).toMatchObject({ hasTargets: false, targets: [], mode: "approve", strategy: "manual" });
      expect(a.skipped).toEqual([expect.objectContaining({ id: T1 })]);
      expect(a.dedupeKey).toMatch(/^manual#[0-9a-f-]{36}$/);
      expect(a.dedupeKey).not.toBe(b.dedupeKey);
    });

    it("a retried start with the same requestId opens no second incident", async () => {
      runningTagged(T1);
      ddb
        .on(PutCommand)
        .resolvesOnce({})
        .rejects(new ConditionalCheckFailedException({ $metadata: {}, message: "exists" }));
      ddb
        .on((await import("@aws-sdk/lib-dynamodb")).GetCommand)
        .resolves({ Item: { incidentId: "inc-first" } });
      ddb.on(UpdateCommand).resolves({});
      s3.on(PutObjectCommand).resolves({});
      const [resolve, open] = [await load("resolve-targets"), await load("open-incident")];
      const start = { instances: [T1], requestedBy: "bob", requestId: "retry-me" };
      const first = await open(await resolve(start, context), context);
      const again = await open(await resolve(start, context), context);
      expect(first).toMatchObject({ created: true, items: [{ target: T1 }] });
      expect(again).toMatchObject({ created: false, incidentId: "inc-first", items: [] });
      const keys = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk);
      expect(keys[0]).toBe(keys[1]);
      expect(String(keys[0])).toContain("manual#retry-me");
      // the stored alarm artifact is the synthetic manual trigger
      const body = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body));
      expect(body).toMatchObject({ via: "manual", requestedBy: "bob", alarmName: "manual:bob" });
    });

    it("refuses bad ids, an empty list and more than MAX_TARGETS (20) before any lookup", async () => {
      const resolve = await load("resolve-targets");
      await expect(resolve({ instances: ["i-123; reboot"] }, context)).rejects.toThrow(
        /ResolveTargets: invalid input[\s\S]*not an EC2 instance id/,
      );
      await expect(resolve({ instances: [] }, context)).rejects.toThrow(/name at least one instance/);
      const many = Array.from({ length: 21 }, (_, i) => `i-${String(i).padStart(17, "0")}`);
      await expect(resolve({ instances: many }, context)).rejects.toThrow(/at most 20 instances per start/);
      await expect(resolve({ instances: [T1], requestedBy: "x y" }, context)).rejects.toThrow(/requestedBy/);
      expect(ec2.calls()).toHaveLength(0);
    });
  });

  const resolved = {
    alarm: {
      via: "eventbridge",
      alarmName: "runbook-api-unreachable",
      alarmArn: null,
      account: "123456789012",
      region: "eu-west-1",
      state: "ALARM",
      stateChangeTime: "2024-05-02T17:04:40.989Z",
      reason: "",
      namespace: null,
      metricName: null,
      dimensions: [],
    },
    mode: "auto",
    dedupeKey: "runbook-api-unreachable#2024-05-02T17:04:40.989Z",
    targets: [T1, T2],
    groupSize: 2,
  };

  it("open-incident: opens once, locks free targets, reports cooldowns", async () => {
    ddb.on(PutCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    ddb
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ $metadata: {}, message: "held" }));
    ddb.on((await import("@aws-sdk/lib-dynamodb")).GetCommand).resolves({
      Item: { owner: "inc-old", until: "2024-05-02T17:30:00.000Z" },
    });
    const out = await (await load("open-incident"))(resolved, context);
    expect(out).toMatchObject({
      created: true,
      items: [{ target: T1 }],
      hasItems: true,
      cooldown: [{ target: T2, heldBy: "inc-old", until: "2024-05-02T17:30:00.000Z" }],
    });
    expect(out.incidentId).toMatch(/^inc-20240502T170440Z-[0-9a-f]{10}$/);
    expect(out.alarmKey).toBe(`${out.incidentId}/alarm.json`);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key).toBe(
      `incidents/${out.incidentId}/alarm.json`,
    );
  });

  it("open-incident: a duplicate delivery returns created=false and touches nothing else", async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ $metadata: {}, message: "exists" }));
    ddb
      .on((await import("@aws-sdk/lib-dynamodb")).GetCommand)
      .resolves({ Item: { incidentId: "inc-first" } });
    const out = await (await load("open-incident"))(resolved, context);
    expect(out).toMatchObject({ created: false, incidentId: "inc-first", items: [] });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("send-probe: parameters from configuration and the resolved runbook (its redaction patterns too); returns the pending loop state", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-9" } });
    const out = await (await load("send-probe"))({ incidentId: "inc-1", target: T1 }, context);
    expect(out).toMatchObject({
      done: false,
      attempt: 0,
      waitSeconds: 3,
      command: { commandId: "cmd-9", step: "probe" },
    });
    const input = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input?.DocumentName).toBe("Probe-abc");
    expect(input?.Parameters).toMatchObject({
      port: ["8080"],
      healthPath: ["/actuator/health"],
      rawDir: ["/var/tmp/runbook-autopilot/inc-1"],
      rawBase: ["/var/tmp/runbook-autopilot"],
      // The resolved runbook's probe settings; the construct's probe budget.
      idleThresholdMs: ["90000"],
      histogramMode: ["live"],
      timeoutSeconds: ["60"],
    });
    // The probe redacts on the host with the built-in patterns AND the runbook's own (not the document's default).
    const patterns = input?.Parameters?.redactPatterns?.[0] ?? "";
    expect(patterns).not.toBe(encodeForProbe(DEFAULT_REDACTION_RULES));
    const lines = Buffer.from(patterns, "base64").toString("utf8").trim().split("\n");
    expect(lines).toHaveLength(DEFAULT_REDACTION_RULES.length + 1);
    expect(lines.at(-1)).toBe("0\t(pin=)[0-9]+");
    expect(input?.OutputS3BucketName).toBe("artifacts");
  });

  const command = { commandId: "cmd-9", instanceId: T1, step: "probe", sentAt: new Date().toISOString() };

  it("poll-probe: still running → next wait grows", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress", StatusDetails: "InProgress" });
    const out = await (await load("poll-probe"))(
      { incidentId: "inc-1", target: T1, probe: { command, attempt: 2 } },
      context,
    );
    expect(out).toMatchObject({ done: false, attempt: 3, waitSeconds: 13, status: "InProgress" });
  });

  it("poll-probe: still running past the probe time-out + grace → TimedOut, and the command is cancelled", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress", StatusDetails: "InProgress" });
    ssm.on(CancelCommandCommand).resolves({});
    const old = { ...command, sentAt: new Date(Date.now() - 60 * 60_000).toISOString() };
    const out = await (await load("poll-probe"))(
      { incidentId: "inc-1", target: T1, probe: { command: old, attempt: 9 } },
      context,
    );
    expect(out).toMatchObject({ done: true, result: { status: "TimedOut", commandId: "cmd-9" } });
    expect(ssm.commandCalls(CancelCommandCommand).map((c) => c.args[0].input)).toEqual([
      { CommandId: "cmd-9", InstanceIds: [T1] },
    ]);
  });

  it("poll-probe: done → stdout saved as an artifact, only its key travels on", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: "Success",
      StatusDetails: "Success",
      ResponseCode: 0,
      StandardOutputContent: "#runbook-probe format=1\n",
    });
    s3.on(PutObjectCommand).resolves({});
    const out = await (await load("poll-probe"))(
      { incidentId: "inc-1", target: T1, probe: { command, attempt: 0 } },
      context,
    );
    expect(out).toEqual({
      done: true,
      result: {
        status: "Success",
        exitCode: 0,
        stdoutKey: `inc-1/${T1}/probe.stdout.txt`,
        stdoutTruncated: false,
        outputUri: `s3://artifacts/ssm/cmd-9/${T1}/awsrunShellScript/probe/stdout`,
        rawOutputUri: `s3://artifacts/ssm/cmd-9/${T1}/awsrunShellScript/raw/stdout`,
        commandId: "cmd-9",
        detail: "CommandId cmd-9: Success",
      },
    });
  });

  it("sns-alarm-ingest: starts one execution per state change, named by the dedupe key", async () => {
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: "arn:exec:1" })
      .rejects(new ExecutionAlreadyExists({ $metadata: {}, message: "exists" }));
    const message = { ...snsMessage, AlarmName: "runbook-api" };
    const event = (m: unknown) => ({ Records: [{ Sns: { Message: JSON.stringify(m), MessageId: "m1" } }] });
    const ingest = await load("sns-alarm-ingest");
    expect(await ingest(event(message), context)).toEqual({ started: ["arn:exec:1"] });
    expect(await ingest(event(message), context)).toEqual({ started: [] });
    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls[0]?.name).toBe(calls[1]?.name);
    expect(calls[0]?.name).toMatch(/^sns-[0-9a-f]{60}$/);
    expect(JSON.parse(calls[0]?.input ?? "{}")).toMatchObject({
      alarm: { via: "sns", alarmName: "runbook-api" },
    });
    // OK transitions, other prefixes and non-alarm messages are ignored
    expect(await ingest(event({ ...message, NewStateValue: "OK" }), context)).toEqual({ started: [] });
    expect(await ingest(event({ ...message, AlarmName: "other" }), context)).toEqual({ started: [] });
    expect(await ingest(event({ hello: "world" }), context)).toEqual({ started: [] });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });
});

describe("the workflow Lambdas' ports (lambdas/handlers/workflow-wiring.ts)", () => {
  it("a step built without the SSM runner or SNS says so when it calls one, and sends nothing", async () => {
    const { cachedSteps } = await import("../../../lambdas/handlers/workflow-wiring.js");
    let deps: StateMachineStepsDeps | null = null;
    const steps = cachedSteps((d) => {
      deps = d;
      return {} as StateMachineSteps;
    });
    steps();
    const d = deps as StateMachineStepsDeps | null;
    await expect(d?.runner.run(T1, { name: "probe", parameters: {} } as never)).rejects.toThrow(
      "this Lambda was built without the SSM command runner: its step is not expected to use it",
    );
    await expect(d?.notify("s", "m")).rejects.toThrow("this Lambda was built without SNS notifications");
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});
