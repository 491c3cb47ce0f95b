import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerApproval } from "../../../cli/commands/approve.js";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../../support/local-aws.js";
import { lambdaEnv, pipelineHandlers, realHandler } from "../../support/local-pipeline.js";
import { TaskTokenServer } from "../../support/task-token-server.js";
import { resolveDefinition, synthRunbook } from "../cdk/synth.js";
import { snsMessage } from "../events/fixtures.js";

/**
 * Per-rung approval (issue 10 point 7) through the synthesized state machine with the real handlers
 * on local AWS (s3rver, dynalite, the SSM server running the probe with bash here), and a real task
 * token: RequestApproval keeps it in the incident table, `runbook approve` (its `answerApproval`, real
 * SDK clients) reads it there, asks STS who is calling and answers Step Functions' callback endpoint
 * (test/support/task-token-server.ts). Nothing listens on the target's port: process-down, whose
 * ladder (with a systemd unit configured) is restart-service then escalate. No rung is approved here,
 * so nothing runs on this machine but the probe; the approved path is in test/e2e/iam-evaluation.
 */
const T_DECLINE = "i-0b0000000000000d1";
const T_TIMEOUT = "i-0b0000000000000d2";
const APPROVER = "arn:aws:sts::123456789012:assumed-role/OnCall/alice";

describe("per-rung approval on local AWS with a real task token", () => {
  let aws: LocalAws;
  const tokens = new TaskTokenServer();
  const saved = { ...process.env };
  let definition: Record<string, unknown>;

  beforeAll(async () => {
    aws = await startLocalAws();
    await tokens.start();
    tokens.callerArn = APPROVER;
    const { template } = synthRunbook();
    const names = aws.ssm?.registerFromTemplate(template.toJSON()) ?? {};
    Object.assign(
      process.env,
      lambdaEnv({ ...aws.env(), ...tokens.env() }, names, {
        DEFAULT_MODE: "approve",
        PROBE_TIMEOUT_SECONDS: "30",
        POWERTOOLS_METRICS_DISABLED: "true",
        SERVICE: JSON.stringify({
          port: 1,
          healthPath: "/health",
          logPath: null,
          systemdUnit: "runbook-autopilot-test-absent.service",
        }),
      }),
    );
    definition = resolveDefinition(template);
  }, 120_000);
  afterAll(async () => {
    process.env = saved;
    await tokens.stop();
    await aws?.stop();
  });

  async function run(target: string, def: Record<string, unknown> = definition) {
    const published: { state: string; input: unknown }[] = [];
    const { normalizeSnsAlarm, snsAlarmMessageSchema } = await import(
      "../../../lambdas/core/events/alarm-event.js"
    );
    // a state change of its own per run (the dedupe key is the alarm and its time)
    const alarm = {
      ...normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage)),
      stateChangeTime: `2026-11-25T05:0${target.slice(-1)}:00.000Z`,
    };
    const resolveReal = await realHandler("resolve-targets");
    // EC2 has no local server: resolve for real, then answer as EC2 would for a tagged, running instance
    const handlers = await pipelineHandlers(
      async (input) => ({
        ...((await resolveReal({ ...(input as object), alarm: { ...alarm, dimensions: [] } })) as object),
        targets: [target],
        hasTargets: true,
        groupSize: 1,
      }),
      published,
      tokens,
    );
    const { StateMachine } = await loadLocalStepFunctions();
    const sm = new StateMachine(def as never, { validationOptions: { checkArn: false, checkPaths: true } });
    const result = (await sm.run(
      { alarm },
      {
        context: { Task: { Token: "unused" }, Execution: { Id: `arn:local:execution:${target}` } },
        overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: { WaitForProbe: 250 } },
      },
    ).result) as {
      incident: { incidentId: string };
      outcomes: { outcome: string }[];
      postmortem: { status: string };
    };
    const { DynamoIncidentStore } = await import("../../../lambdas/adapters/aws/dynamo-incident-store.js");
    const store = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: "runbook-incidents" });
    const record = (await store.load(`${result.incident.incidentId}/${target}`)) as {
      status: string;
      statusReason: string;
      actions: { action: string; status: string; reason: string }[];
      escalation: { reason: string } | null;
    };
    return { result, record, published };
  }

  const clients = () => ({
    ddb: new DynamoDBClient(aws.clientConfig("dynamodb")),
    sfn: new SFNClient({ ...aws.clientConfig("dynamodb"), endpoint: tokens.endpoint }),
    sts: new STSClient({ ...aws.clientConfig("dynamodb"), endpoint: tokens.endpoint }),
    tableName: "runbook-incidents",
  });

  it("decline with `runbook approve --decline`: the rung is declined by the caller's ARN, nothing applied", async () => {
    const answers: Promise<unknown>[] = [];
    tokens.onRequested = (input) => {
      answers.push(
        answerApproval(clients(), String(input.incidentId), { rung: 1, decline: true, note: "not at 3am" }),
      );
    };
    const before = aws.ssm?.commands.length ?? 0;
    const { result, record } = await run(T_DECLINE);
    expect(result.outcomes).toEqual([expect.objectContaining({ outcome: "declined" })]);
    expect(await Promise.all(answers)).toEqual([
      {
        target: T_DECLINE,
        rung: 1,
        summary: expect.stringMatching(/^rung 1: restart-service: /),
        decision: "declined",
        by: APPROVER,
      },
    ]);
    expect(result.outcomes.map((o) => o.outcome)).toEqual(["declined"]);
    expect(result.postmortem.status).toBe("declined");
    expect(record.status).toBe("declined");
    expect(record.actions.map((a) => `${a.action}:${a.status}`)).toEqual(["restart-service:declined"]);
    expect(record.actions[0]?.reason).toBe(`declined by ${APPROVER}`);
    // only the probe ran on the host
    expect(aws.ssm?.commands.slice(before).map((c) => c.documentName.includes("Probe"))).toEqual([true]);
    // the same request again: Step Functions no longer waits for it
    await expect(
      answerApproval(clients(), result.incident.incidentId, { target: T_DECLINE }),
    ).rejects.toThrow(/no longer waits for an answer \(TaskTimedOut\)/);
  }, 120_000);

  it("nobody answers: the request times out → declined (approval timeout), escalated and notified", async () => {
    tokens.onRequested = null;
    // The synthesized definition with the request's TimeoutSeconds (approvalTimeout) at 1 s.
    const short = structuredClone(definition) as {
      States: { MitigateEach: { ItemProcessor: { States: Record<string, { TimeoutSeconds?: number }> } } };
    };
    const request = short.States.MitigateEach.ItemProcessor.States.RequestApproval;
    if (!request) throw new Error("no RequestApproval state");
    request.TimeoutSeconds = 1;
    const publishedBefore = tokens.published.length;
    const { result, record } = await run(T_TIMEOUT, short);
    expect(result.outcomes).toEqual([expect.objectContaining({ outcome: "approval-timeout" })]);
    expect(record.status).toBe("declined");
    expect(record.actions.map((a) => `${a.action}:${a.status}`)).toEqual(["restart-service:declined"]);
    expect(record.actions[0]?.reason).toMatch(/no answer within the approval timeout/);
    expect(record.escalation?.reason).toMatch(/no answer within the approval timeout/);
    const subjects = tokens.published.slice(publishedBefore).map((p) => p.subject);
    expect(subjects[0]).toMatch(/approval needed \(i-0b0000000000000d2, rung 1\)/);
    expect(subjects).toContainEqual(expect.stringMatching(/approval timed out, escalating/));
  }, 120_000);
});
