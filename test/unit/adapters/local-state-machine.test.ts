import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../../support/local-aws.js";
import { lambdaEnv, pipelineHandlers, realHandler } from "../../support/local-pipeline.js";
import { resolveDefinition, synthRunbook } from "../cdk/synth.js";
import { snsMessage } from "../events/fixtures.js";

/**
 * The synthesized state machine in aws-local-stepfunctions with the REAL handlers for every Lambda
 * state, against s3rver/dynalite/the SSM server (the probe runs on this machine). Stubbed: SNS
 * publishes (captured) and ResolveTargets' EC2 lookup (no local EC2). The target's port has no listener:
 * the run must diagnose process-down and, with no restart unit configured, escalate without acting.
 * (The recovering path against the ws-leak lab is test/e2e/state-machine.test.ts.)
 */
const T1 = "i-0123456789abcdef0";
/** Another instance for the manual start (T1 is in cooldown after the first run). */
const T2 = "i-0123456789abcdef1";

describe("state machine end to end on local AWS: process-down via the SNS path", () => {
  let aws: LocalAws;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startLocalAws();
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    Object.assign(process.env, lambdaEnv(aws.env(), names, { DEFAULT_MODE: "auto" }));
  });
  afterAll(async () => {
    process.env = saved;
    await aws?.stop();
  });

  it("SNS-form alarm → incident opened → probe via SSM → process-down → escalated with a postmortem, nothing run on the host", async () => {
    const { normalizeSnsAlarm, snsAlarmMessageSchema } = await import(
      "../../../lambdas/core/events/alarm-event.js"
    );
    const alarm = normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage));
    const resolveReal = await realHandler("resolve-targets");
    const published: { state: string; input: unknown }[] = [];
    // EC2 has no local server: resolve for real, then pretend the instance is tagged and running
    const handlers = await pipelineHandlers(
      async (input) => ({
        ...((await resolveReal({ ...(input as object), alarm: { ...alarm, dimensions: [] } })) as object),
        targets: [T1],
        hasTargets: true,
        groupSize: 1,
      }),
      published,
    );
    const { StateMachine } = await loadLocalStepFunctions();
    const sm = new StateMachine(resolveDefinition(synthRunbook().template) as never, {
      validationOptions: { checkArn: false, checkPaths: true },
    });
    const exec = sm.run(
      { alarm },
      {
        context: { Task: { Token: "local-token" }, Execution: { Id: "arn:local:execution:e2e" } },
        overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: { WaitForProbe: 250 } },
      },
    );
    // Nothing listens on port 1: process-down; no systemd unit is configured, so the ladder escalates.
    const result = (await exec.result) as {
      diagnoses: { classId: string }[];
      postmortem: { status: string; postmortemKey: string };
    };
    expect(result.diagnoses.map((d) => d.classId)).toEqual(["process-down"]);
    expect(result.postmortem.status).toBe("escalated");
    const closed = published.find((p) => p.state === "NotifyResult")?.input as {
      Message: { status: string };
    };
    expect(closed.Message.status).toBe("escalated");
    expect(published.some((p) => p.state === "NotifyRunbookFailure")).toBe(false);
    // Only the probe ran on the host: no action document was sent.
    expect(aws.ssm?.commands.map((c) => c.parameters.port)).toEqual(["1"]);
  }, 60_000);

  it("manual start naming an instance → the execution record's trigger is manual, by the requester", async () => {
    const { DescribeInstancesCommand, EC2Client } = await import("@aws-sdk/client-ec2");
    const { mockClient } = await import("aws-sdk-client-mock");
    const { DynamoIncidentStore } = await import("../../../lambdas/adapters/aws/dynamo-incident-store.js");
    // EC2 has no local server: it answers that T2 is tagged and running (the real resolver asks it)
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: T2 }] }] });
    try {
      const published: { state: string; input: unknown }[] = [];
      const handlers = await pipelineHandlers(await realHandler("resolve-targets"), published);
      const { StateMachine } = await loadLocalStepFunctions();
      const sm = new StateMachine(resolveDefinition(synthRunbook().template) as never, {
        validationOptions: { checkArn: false, checkPaths: true },
      });
      const result = (await sm.run(
        { instances: [T2], mode: "plan", reason: "canary 502s", requestedBy: "alice", requestId: "INC-7" },
        {
          context: { Task: { Token: "local-token" }, Execution: { Id: "arn:local:execution:manual" } },
          overrides: {
            taskResourceLocalHandlers: handlers as never,
            waitTimeOverrides: { WaitForProbe: 250 },
          },
        },
      ).result) as { incident: { incidentId: string; created: boolean }; dedupeKey: string };
      expect(result.dedupeKey).toBe("manual#INC-7");
      expect(result.incident.created).toBe(true);
      const store = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: "runbook-incidents" });
      const record = (await store.load(`${result.incident.incidentId}/${T2}`)) as { trigger: unknown };
      expect(record.trigger).toMatchObject({
        kind: "manual",
        alarmName: null,
        alarmReason: "canary 502s",
        source: "alice",
      });
    } finally {
      ec2.restore();
    }
  }, 60_000);
});
