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
const T_BRAKE = ["i-0b0000000000000e1"];

describe("per-rung approval on local AWS with a real task token", () => {
  let aws: LocalAws;
  const tokens = new TaskTokenServer();
  const saved = { ...process.env };
  let definition: Record<string, unknown>;
  let runs = 0;

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

  async function run(target: string | string[], def: Record<string, unknown> = definition) {
    const targets = [target].flat();
    const published: { state: string; input: unknown }[] = [];
    const { normalizeSnsAlarm, snsAlarmMessageSchema } = await import(
      "../../../lambdas/core/events/alarm-event.js"
    );
    // a state change of its own per run (the dedupe key is the alarm and its time)
    const alarm = {
      ...normalizeSnsAlarm(snsAlarmMessageSchema.parse(snsMessage)),
      stateChangeTime: `2026-11-25T05:${String(++runs).padStart(2, "0")}:00.000Z`,
    };
    const resolveReal = await realHandler("resolve-targets");
    // EC2 has no local server: resolve for real, then answer as EC2 would for a tagged, running instance
    const handlers = await pipelineHandlers(
      async (input) => ({
        ...((await resolveReal({ ...(input as object), alarm: { ...alarm, dimensions: [] } })) as object),
        targets,
        hasTargets: true,
        groupSize: targets.length,
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
      brake: { brake: boolean; reason: string };
      postmortem: { status: string; summary: string };
    };
    const { DynamoIncidentStore } = await import("../../../lambdas/adapters/aws/dynamo-incident-store.js");
    const store = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: "runbook-incidents" });
    const record = (await store.load(`${result.incident.incidentId}/${targets[0]}`)) as {
      status: string;
      statusReason: string;
      actions: { action: string; status: string; reason: string }[];
      escalation: { reason: string } | null;
    };
    return { result, record, published, store };
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

  it("fleet budget: two executions racing for the last unit on dynalite, exactly one gets it", async () => {
    const { DynamoFleetBudget } = await import("../../../lambdas/adapters/aws/fleet-budget.js");
    const budget = new DynamoFleetBudget(aws.dynamodb(), "runbook-incidents");
    const window = { start: "2026-01-01T00:00:00.000Z", end: "2026-01-01T01:00:00.000Z" };
    const ask = (incidentId: string, units: number) =>
      budget.spend([{ scope: "fleet", classId: "race", units }], { max: 3, window, incidentId });
    expect(await ask("inc-a", 2)).toEqual({ ok: true });
    const racing = await Promise.all([ask("inc-b", 1), ask("inc-c", 1)]);
    expect(racing.filter((r) => r.ok)).toHaveLength(1);
    expect(racing.filter((r) => !r.ok)).toHaveLength(1);
    // and once spent, nobody gets more
    expect((await ask("inc-d", 1)).ok).toBe(false);
  }, 60_000);

  it("fleet brake through the state machine: the budget is spent → braked, the diagnosed record closed as braked and written up, notified", async () => {
    // Other executions spent this window's process-down units in the fleet (the runs above spent some).
    const { DynamoFleetBudget } = await import("../../../lambdas/adapters/aws/fleet-budget.js");
    const { budgetWindow } = await import("../../../lambdas/core/events/fleet-brake.js");
    const budget = new DynamoFleetBudget(aws.dynamodb(), "runbook-incidents");
    const spendOne = () =>
      budget.spend([{ scope: "fleet", classId: "process-down", units: 1 }], {
        max: 3,
        window: budgetWindow(new Date(), 3600),
        incidentId: "inc-earlier",
      });
    let spent = 0;
    while (spent < 4 && (await spendOne()).ok) spent++;
    expect(spent).toBeLessThanOrEqual(3);
    tokens.onRequested = null;
    const { result, published, store } = await run(T_BRAKE);
    expect(result.brake).toMatchObject({ brake: true });
    expect(result.brake.reason).toMatch(/^fleet budget: the budget of 3 process-down mitigations in fleet/);
    expect(result.outcomes).toEqual([]);
    expect(result.postmortem.status).toBe("braked");
    expect(published.map((p) => p.state)).toEqual(["NotifyFleetBrake", "NotifyResult"]);
    for (const t of T_BRAKE) {
      const r = (await store.load(`${result.incident.incidentId}/${t}`)) as {
        status: string;
        statusReason: string;
        endedAt: string | null;
        actions: unknown[];
        escalation: { reason: string } | null;
      };
      expect(r.status, t).toBe("braked");
      expect(r.statusReason).toMatch(/^Nothing was changed on the host: fleet brake: fleet budget/);
      expect(r.endedAt).not.toBeNull();
      expect(r.actions).toEqual([]);
      expect(r.escalation?.reason).toMatch(/^Nothing was changed on the host: fleet brake/);
    }
    // each target's postmortem is in S3
    const { S3ArtifactStore } = await import("../../../lambdas/adapters/aws/s3-artifact-store.js");
    const artifacts = new S3ArtifactStore({
      client: aws.s3(),
      bucket: "runbook-artifacts",
      keyPrefix: "incidents/",
    });
    for (const t of T_BRAKE)
      expect(await artifacts.get(`${result.incident.incidentId}/${t}/postmortem.md`), t).toMatch(
        /fleet brake/i,
      );
  }, 120_000);

  it("point 10: Diagnose reads SSM's full S3 copy (getUri) when the inline copy was cut", async () => {
    const { readFileSync } = await import("node:fs");
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const full = readFileSync(
      new URL("../parsers/captured/tinytomcat-fd-exhausted/probe-stdout.txt", import.meta.url),
      "utf8",
    );
    const diagnose = await realHandler("diagnose");
    const put = (Key: string, Body: string) =>
      aws.s3().send(new PutObjectCommand({ Bucket: "runbook-artifacts", Key, Body }));
    // SSM's own copy is the whole output; the inline copy the poll state saved is cut (as at 24,000 chars)
    await put("ssm/cmd-cut/i-0b0000000000000f1/awsrunShellScript/probe/stdout", full);
    const cutKey = "inc-cut-1/i-0b0000000000000f1/probe-stdout.txt";
    await put(`incidents/${cutKey}`, full.slice(0, 200));
    const input = (incidentId: string, outputUri: string | null) => ({
      incidentId,
      target: "i-0b0000000000000f1",
      mode: "plan",
      alarmKey: `${incidentId}/alarm.json`,
      probe: {
        status: "Success",
        exitCode: 0,
        stdoutKey: cutKey,
        stdoutTruncated: true,
        outputUri,
        rawOutputUri: null,
        commandId: "cmd-cut",
        detail: null,
      },
    });
    const whole = (await diagnose(
      input(
        "inc-cut-1",
        "s3://runbook-artifacts/ssm/cmd-cut/i-0b0000000000000f1/awsrunShellScript/probe/stdout",
      ),
    )) as { classId: string | null; evidenceKey: string | null };
    const cut = (await diagnose(input("inc-cut-2", null))) as { classId: string | null };
    // the whole output names the fd exhaustion; the cut copy alone cannot
    expect(whole.evidenceKey).not.toBeNull();
    expect(whole.classId).toMatch(/fd-exhaustion|websocket-session-leak|file-handle-leak/);
    expect(cut.classId).not.toBe(whole.classId);
  }, 60_000);
});
