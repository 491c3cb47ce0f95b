import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { STSClient } from "@aws-sdk/client-sts";
import type { CfnResource } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerApproval } from "../../cli/commands/approve.js";
import { labDown, labLoad, labUp, probeHealth } from "../../lab/index.js";
import { REPO, waitIdle } from "../support/cli.js";
import { IamRecorder } from "../support/iam-recorder.js";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../support/local-aws.js";
import { type LocalHandler, lambdaEnv, realHandler, ssmDocumentRefs } from "../support/local-pipeline.js";
import { labTimescaleRunbooks } from "../support/runbooks-dir.js";
import { TaskTokenServer } from "../support/task-token-server.js";
import { type IamCall, type IamVerdict, TemplateIam } from "../support/template-iam.js";
import { resolveDefinition, synthRunbook } from "../unit/cdk/synth.js";

/**
 * The IAM evaluation test (issue 10's proof). The synthesized state machine runs locally with the REAL
 * handlers against s3rver, dynalite and the SSM server (the ws-leak lab on this machine is the host);
 * every AWS API call made on the way is recorded with the role making it (each Lambda's role, the state
 * machine's role, the EventBridge target role, the instance role for SSM's output upload, and the
 * services acting for the stack: CloudWatch publishing an alarm, SNS invoking the ingest function).
 * Each call, and the KMS calls the service makes for it (encrypted SNS/S3/SQS/DynamoDB), is then
 * evaluated against the template's identity, resource and key policies with @cloud-copilot/iam-simulate:
 * every one must be allowed.
 *
 * Paths: an escalation (process-down, nothing to run), the SNS path with a declined approval, the
 * EventBridge path approved → kill-idle-connections → recovered, the same event again (duplicate), and a
 * target-group alarm resolved through ELB target health in plan mode. Approvals are per rung with a real
 * task token: RequestApproval keeps it, `runbook approve` (answerApproval, as the on-call role with the
 * ApproverPolicy) reads it, asks STS who it is and answers SendTaskSuccess/Failure. Port 19300.
 */
const PORT = 19300;
const OPT_IN = { key: "runbook-autopilot:enabled", value: "true" };
const T_DOWN = "i-0aaaaaaaaaaaaaaa1";
const T_DECLINE = "i-0aaaaaaaaaaaaaaa2";
const T_APPROVE = "i-0aaaaaaaaaaaaaaa3";
const T_ALB = "i-0aaaaaaaaaaaaaaa4";
const TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef";
const INSTANCE_ROLE = "arn:aws:iam::123456789012:role/opted-in-instance";
/** The on-call role with the stack's ApproverPolicy attached (`runbook approve`). */
const APPROVER_ROLE = "arn:aws:iam::123456789012:role/on-call";
const APPROVER = "arn:aws:sts::123456789012:assumed-role/on-call/alice";

const alarmEvent = (name: string, time: string, dimensions: Record<string, string>) => ({
  version: "0",
  id: `evt-${time}`,
  "detail-type": "CloudWatch Alarm State Change",
  source: "aws.cloudwatch",
  account: "123456789012",
  time,
  region: "us-east-1",
  resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`],
  detail: {
    alarmName: name,
    state: { value: "ALARM", reason: "Threshold Crossed", timestamp: `${time.replace("Z", "")}.000+0000` },
    previousState: { value: "OK", reason: "ok", timestamp: "2026-11-25T03:01:00.000+0000" },
    configuration: {
      metrics: [
        {
          id: "m1",
          metricStat: {
            metric: { namespace: "Custom/Api", name: "HealthCheckSuccess", dimensions },
            period: 60,
            stat: "Minimum",
          },
          returnData: true,
        },
      ],
    },
  },
});

const snsAlarm = (name: string, time: string, instance: string) => ({
  AlarmName: name,
  AlarmDescription: null,
  AWSAccountId: "123456789012",
  NewStateValue: "ALARM",
  NewStateReason: "Threshold Crossed",
  StateChangeTime: `${time.replace("Z", "")}.000+0000`,
  Region: "US East (N. Virginia)",
  AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
  OldStateValue: "OK",
  Trigger: {
    MetricName: "HealthCheckSuccess",
    Namespace: "Custom/Api",
    StatisticType: "Statistic",
    Statistic: "MINIMUM",
    Unit: null,
    Dimensions: [{ value: instance, name: "InstanceId" }],
    Period: 60,
  },
});

describe("IAM evaluation of every AWS call of the local end-to-end runs", () => {
  const { stack, template } = synthRunbook();
  const json = template.toJSON();
  const iam = new TemplateIam(json);
  const runbook = stack.runbook;
  const idOf = (c: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(c.node.defaultChild as CfnResource);
  const [topicId] = iam.ofType("AWS::SNS::Topic").filter(([id]) => id.includes("Notifications"))[0] ?? [];
  const [alarmTopicId] = iam.ofType("AWS::SNS::Topic").filter(([id]) => id.includes("AlarmTopic"))[0] ?? [];
  const bucket = iam.ref(idOf(runbook.bucket as never));
  const table = idOf(runbook.table as never);
  const topicArn = iam.ref(topicId ?? "");
  const alarmTopicArn = iam.ref(alarmTopicId ?? "");
  const stateMachineArn = iam.ref(idOf(runbook.stateMachine));
  const smRole = iam.roleOfStateMachine();
  const eventsRole = String(
    iam.resolve(
      (json.Resources as Record<string, { Type: string; Properties: { Targets: { RoleArn: unknown }[] } }>)[
        idOf(runbook.rule)
      ]?.Properties.Targets[0]?.RoleArn,
    ),
  );
  /** Step Functions state name → the function it invokes (logical id). */
  const fnOfState = (state: string) => {
    const key = (state[0]?.toLowerCase() ?? "") + state.slice(1);
    const fn = (runbook.functions as Record<string, { node: { defaultChild?: unknown } }>)[key];
    if (!fn) throw new Error(`no function for state ${state}`);
    return idOf(fn);
  };

  const recorder = new IamRecorder(OPT_IN);
  let aws: LocalAws;
  const saved = { ...process.env };
  let handlers: Record<string, LocalHandler> = {};
  let approvals: ("approve" | "decline")[] = [];
  const tokens = new TaskTokenServer();
  const answered: unknown[] = [];
  const unexpected: string[] = [];
  const outcomes: Record<string, unknown>[] = [];
  const verdicts: IamVerdict[] = [];

  beforeAll(async () => {
    aws = await startLocalAws({ buckets: [bucket], table });
    await tokens.start();
    tokens.callerArn = APPROVER;
    const names = aws.ssm?.registerFromTemplate(json) ?? {};
    Object.assign(
      process.env,
      lambdaEnv({ ...aws.env(), ...tokens.env() }, names, {
        POWERTOOLS_METRICS_DISABLED: "true",
        ARTIFACT_BUCKET: bucket,
        INCIDENT_TABLE: table,
        TOPIC_ARN: topicArn,
        SSM_DOCUMENTS: JSON.stringify(ssmDocumentRefs(names)),
        SERVICE: JSON.stringify({ port: PORT, healthPath: "/health", logPath: null, systemdUnit: null }),
        PROBE_TIMEOUT_SECONDS: "30",
        DEFAULT_MODE: "approve",
        STATE_MACHINE_ARN: stateMachineArn,
        RUNBOOKS_DIR: labTimescaleRunbooks(),
      }),
    );
    const wiring = await import("../../lambdas/handlers/wiring.js");
    wiring.clientObservers.push(recorder.observe);
    // No local EC2/ELB: the fleet is answered here, as EC2 and ELB would for these instances.
    recorder.answers = {
      "EC2Client.DescribeInstancesCommand": (input) => {
        const filters = (input.Filters ?? []) as { Name: string; Values: string[] }[];
        const fleet = [T_DOWN, T_DECLINE, T_APPROVE, T_ALB].map((id) => ({
          InstanceId: id,
          State: { Name: "running" },
          Tags: [{ Key: OPT_IN.key, Value: OPT_IN.value }],
        }));
        const match = fleet.filter((i) =>
          filters.every((f) =>
            f.Name === "instance-id"
              ? f.Values.includes(i.InstanceId)
              : f.Name === "instance-state-name"
                ? f.Values.includes(i.State.Name)
                : f.Name.startsWith("tag:")
                  ? i.Tags.some((t) => `tag:${t.Key}` === f.Name && f.Values.includes(t.Value))
                  : false,
          ),
        );
        return { Reservations: match.length ? [{ Instances: match }] : [] };
      },
      "ElasticLoadBalancingV2Client.DescribeTargetHealthCommand": () => ({
        TargetHealthDescriptions: [
          { Target: { Id: T_ALB, Port: PORT }, TargetHealth: { State: "unhealthy" } },
          { Target: { Id: T_DOWN, Port: PORT }, TargetHealth: { State: "healthy" } },
        ],
      }),
    };

    const { StateMachine } = await loadLocalStepFunctions();
    const definition = resolveDefinition(template, (id, kind) =>
      kind === "function" ? iam.arn(id) : iam.ref(id),
    );
    const lambdaState = (state: string) => {
      const fnId = fnOfState(state);
      const role = iam.roleOfFunction(fnId);
      const real = realHandler(
        state.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase(),
      ) as Promise<LocalHandler>;
      if (state === "RequestApproval")
        // lambda:invoke.waitForTaskToken: invoked with the Payload and the task's own token; the task
        // waits until `runbook approve` answers the token (tokens.onRequested below).
        return async (input: unknown) => {
          recorder.record({
            principal: smRole,
            action: "lambda:InvokeFunction",
            resource: iam.arn(fnId),
            via: state,
          });
          const payload = (input as { Payload: Record<string, unknown> }).Payload;
          const { token, outcome } = tokens.issue();
          await recorder.as(role, state, async () => (await real)({ ...payload, taskToken: token }));
          tokens.onRequested?.(payload);
          return outcome;
        };
      return async (input: unknown) => {
        recorder.record({
          principal: smRole,
          action: "lambda:InvokeFunction",
          resource: iam.arn(fnId),
          via: state,
        });
        return recorder.as(role, state, async () => (await real)(input));
      };
    };
    // The person answering: `runbook approve` with the on-call role's credentials, its SDK clients
    // recorded like the handlers'.
    const approverClients = () => {
      const c = {
        ddb: new DynamoDBClient(aws.clientConfig("dynamodb")),
        sfn: new SFNClient({ ...aws.clientConfig("dynamodb"), endpoint: tokens.endpoint }),
        sts: new STSClient({ ...aws.clientConfig("dynamodb"), endpoint: tokens.endpoint }),
        tableName: table,
      };
      for (const client of [c.ddb, c.sfn, c.sts]) recorder.observe(client);
      return c;
    };
    tokens.onRequested = (payload) => {
      const answer = approvals.shift();
      if (!answer) {
        unexpected.push(`an approval was requested that the test did not expect: ${JSON.stringify(payload)}`);
        return;
      }
      answered.push(
        recorder.as(APPROVER_ROLE, "runbook approve", () =>
          answerApproval(approverClients(), String(payload.incidentId), {
            target: String(payload.target),
            rung: Number(payload.rung) + 1,
            ...(answer === "decline" ? { decline: true } : {}),
          }),
        ),
      );
    };
    const snsState = (state: string) => async (input: unknown) => {
      const topic = String((input as { TopicArn?: string }).TopicArn ?? topicArn);
      recorder.record({ principal: smRole, action: "sns:Publish", resource: topic, via: state });
      recorder.published.push({ topicArn: topic, subject: state, message: JSON.stringify(input) });
      return {};
    };
    handlers = Object.fromEntries([
      ...[
        "ResolveTargets",
        "OpenIncident",
        "SendProbe",
        "PollProbe",
        "Diagnose",
        "FleetBrake",
        "PlanMitigation",
        "ApplyMitigation",
        "Verify",
        "WritePostmortem",
        "RequestApproval",
      ].map((s) => [s, lambdaState(s)]),
      ...["NotifyResult", "NotifyFleetBrake", "NotifyNoTargets", "NotifyRunbookFailure"].map((s) => [
        s,
        snsState(s),
      ]),
    ]);
    const execute = async (input: unknown) => {
      const sm = new StateMachine(definition as never, {
        validationOptions: { checkArn: false, checkPaths: true },
      });
      const out = (await sm.run(structuredClone(input) as never, {
        context: { Task: { Token: "local-token" }, Execution: { Id: `${stateMachineArn}:local` } },
        overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: { WaitForProbe: 250 } },
      }).result) as Record<string, unknown>;
      outcomes.push(out);
    };
    recorder.onStartExecution = async ({ input }) => execute(JSON.parse(input));
    runEventBridge = async (event) => {
      recorder.record({
        principal: eventsRole,
        action: "states:StartExecution",
        resource: stateMachineArn,
        via: "AlarmRule",
      });
      await execute(event);
      return outcomes[outcomes.length - 1] ?? {};
    };
    runSns = async (message) => {
      // CloudWatch publishes to the alarm topic; SNS invokes the subscribed ingest function.
      recorder.record({
        principal: "cloudwatch.amazonaws.com",
        action: "sns:Publish",
        resource: alarmTopicArn,
        via: "alarm action",
      });
      const ingestId = idOf(runbook.functions.snsAlarmIngest as never);
      recorder.record({
        principal: "sns.amazonaws.com",
        action: "lambda:InvokeFunction",
        resource: iam.arn(ingestId),
        context: { "aws:SourceArn": alarmTopicArn },
        via: "alarm topic subscription",
      });
      const ingest = await realHandler("sns-alarm-ingest");
      const before = outcomes.length;
      await recorder.as(iam.roleOfFunction(ingestId), "SnsAlarmIngest", () =>
        ingest({ Records: [{ Sns: { Message: JSON.stringify(message), TopicArn: alarmTopicArn } }] }),
      );
      expect(outcomes.length).toBe(before + 1);
      return outcomes[outcomes.length - 1] ?? {};
    };
  }, 120_000);

  let runEventBridge: (event: unknown) => Promise<Record<string, unknown>> = async () => ({});
  let runSns: (message: unknown) => Promise<Record<string, unknown>> = async () => ({});

  afterAll(async () => {
    process.env = saved;
    await tokens.stop();
    await aws?.stop();
    await labDown({ port: PORT });
  }, 60_000);

  it("escalate: nothing listens on the port (process-down, no restart unit) → escalated, nothing run on the host", async () => {
    const out = (await runEventBridge(
      alarmEvent("runbook-autopilot-api", "2026-11-25T03:10:00Z", { InstanceId: T_DOWN }),
    )) as { postmortem: { status: string } };
    expect(out.postmortem.status).toBe("escalated");
  }, 120_000);

  it("decline (SNS path): the approval is declined → nothing changed on the host", async () => {
    await labUp({ mode: "ws-leak", port: PORT, fdLimit: 1024, keepAliveMs: 1000 });
    // Load until the API stops answering (the leak reached the fd limit), bounded.
    for (let i = 0; i < 5 && (await probeHealth(PORT, 2000)).ok; i++) {
      await labLoad({ port: PORT, sessions: 2000 });
      await waitIdle(PORT, 2100, { share: 0.95 }).catch(() => undefined);
    }
    expect((await probeHealth(PORT, 2000)).ok).toBe(false);
    approvals = ["decline"];
    const out = (await runSns(snsAlarm("runbook-autopilot-api", "2026-11-25T03:20:00Z", T_DECLINE))) as {
      outcomes: { outcome: string }[];
    };
    expect(out.outcomes.map((o) => o.outcome)).toEqual(["declined"]);
    expect(await Promise.all(answered.splice(0))).toEqual([
      expect.objectContaining({ target: T_DECLINE, rung: 1, decision: "declined", by: APPROVER }),
    ]);
    expect((await probeHealth(PORT, 2000)).ok).toBe(false);
  }, 240_000);

  it("approve (EventBridge path): approved → kill-idle-connections → recovered; the same event again is a duplicate", async () => {
    approvals = ["approve"];
    const event = alarmEvent("runbook-autopilot-api", "2026-11-25T03:30:00Z", { InstanceId: T_APPROVE });
    const out = (await runEventBridge(event)) as {
      postmortem: { status: string };
      incident: { incidentId: string };
    };
    expect(out.postmortem.status).toBe("recovered");
    // rung 1 (kill-idle-connections) asked on its own and approved by the caller STS named
    expect(await Promise.all(answered.splice(0))).toEqual([
      expect.objectContaining({ target: T_APPROVE, rung: 1, decision: "approved", by: APPROVER }),
    ]);
    const { DynamoIncidentStore } = await import("../../lambdas/adapters/aws/dynamo-incident-store.js");
    const record = (await new DynamoIncidentStore({ client: aws.dynamodb(), tableName: table }).load(
      `${out.incident.incidentId}/${T_APPROVE}`,
    )) as { steps: { id: string; inputs: { approval?: unknown } }[] };
    expect(record.steps.filter((st) => st.id === "apply").map((st) => st.inputs.approval ?? null)).toEqual([
      null,
      { rung: 0, approvedBy: APPROVER, note: null },
    ]);
    expect((await probeHealth(PORT, 3000)).ok).toBe(true);
    const again = (await runEventBridge(event)) as { incident: { created: boolean } };
    expect(again.incident.created).toBe(false);
  }, 240_000);

  it("target group (ALB): the unhealthy target from DescribeTargetHealth is probed, in plan mode", async () => {
    const event = alarmEvent("runbook-autopilot-alb", "2026-11-25T03:40:00Z", {
      TargetGroup: TARGET_GROUP.split(":").pop() ?? "",
      LoadBalancer: "app/api/0123456789abcdef",
    });
    const out = (await runEventBridge({ ...event })) as { targets: string[] };
    expect(out.targets).toEqual([T_ALB]);
  }, 240_000);

  it("every recorded call, and the KMS calls behind it, is allowed by the template's policies", async () => {
    expect(recorder.orphans).toEqual([]);
    expect(unexpected).toEqual([]);
    // who approved: STS GetCallerIdentity, which needs no permission (IAM never denies it)
    expect(
      recorder.calls.filter((c) => c.action === "sts:GetCallerIdentity").map((c) => c.principal),
    ).toEqual([APPROVER_ROLE, APPROVER_ROLE]);
    const services = new Set(recorder.calls.map((c) => c.action.split(":")[0]));
    // the runs exercised every service the stack talks to
    for (const s of ["s3", "dynamodb", "ssm", "sns", "lambda", "states", "ec2", "elasticloadbalancing"])
      expect(services, s).toContain(s);
    // SSM's output upload, made with the instance's credentials (the instance policy)
    const sent = aws.ssm?.commands ?? [];
    expect(sent.length).toBeGreaterThan(0);
    // point 5: every command names the document version CloudFormation last wrote
    expect([...new Set(sent.map((c) => c.documentVersion))]).toEqual(["$LATEST"]);
    const calls: IamCall[] = [
      ...recorder.calls,
      {
        principal: INSTANCE_ROLE,
        action: "s3:PutObject",
        resource: `arn:aws:s3:::${bucket}/ssm/cmd/i-0/awsrunShellScript/probe/stdout`,
        via: "SSM Agent output upload",
      },
    ];
    const all = calls.flatMap((c) => [c, ...iam.implicitKmsCalls(c)]);
    const seen = new Set<string>();
    for (const call of all) {
      if (call.action === "sts:GetCallerIdentity") continue;
      const k = `${call.principal} ${call.action} ${call.resource} ${JSON.stringify(call.context ?? {})}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const policies =
        call.principal === INSTANCE_ROLE
          ? iam.instanceRolePolicies()
          : call.principal === APPROVER_ROLE
            ? iam.approverPolicies()
            : iam.identityPolicies(call.principal);
      const v = await iam.evaluateOne(call, policies);
      verdicts.push({ call, ...v });
    }
    const denied = verdicts
      .filter((v) => !v.allowed)
      .map(
        (v) =>
          `${v.result}: ${v.call.principal.split("/").pop()} ${v.call.action} ${v.call.resource} (${v.call.via})`,
      );
    expect(denied).toEqual([]);
    expect(verdicts.some((v) => v.call.action.startsWith("kms:"))).toBe(true);
    // the approver's calls were evaluated against the ApproverPolicy: read the token, answer it
    // (and the implicit KMS call on the table's key, evaluated like the others)
    expect(
      [...new Set(verdicts.filter((v) => v.call.principal === APPROVER_ROLE).map((v) => v.call.action))]
        .filter((a) => !a.startsWith("kms:"))
        .sort(),
    ).toEqual(["dynamodb:GetItem", "states:SendTaskFailure", "states:SendTaskSuccess"]);
  }, 300_000);

  it("every permission of the stack's roles is exercised here, or listed in docs/aws.md with its reason", () => {
    const roleName = (arn: string) => {
      const id = arn.split("/").pop() ?? "";
      return (
        id.match(/^ApiUnreachable(.+?)(Function)?ServiceRole/)?.[1] ??
        id.match(/^ApiUnreachable(.+?)[0-9A-F]{8}$/)?.[1] ??
        id
      );
    };
    const allowed = verdicts.filter((v) => v.allowed);
    const pattern = (a: string) =>
      new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
    const unexercised = new Set<string>();
    for (const [roleId] of iam.ofType("AWS::IAM::Role")) {
      const arn = iam.arn(roleId);
      for (const { name, policy } of iam.identityPolicies(arn)) {
        if (name.startsWith("arn:aws:iam::aws:policy/")) continue; // AWS managed: logging
        for (const st of policy.Statement) {
          for (const action of [st.Action].flat() as string[]) {
            const used = allowed.some((v) => v.call.principal === arn && pattern(action).test(v.call.action));
            if (!used) unexercised.add(`${roleName(arn)} ${action}`);
          }
        }
      }
    }
    const docs = readFileSync(join(REPO, "docs/aws.md"), "utf8");
    const section = docs.split("### Permissions no local run exercises")[1]?.split("\n## ")[0] ?? "";
    const listed = new Set(
      [...section.matchAll(/^\| ([A-Za-z]+|\*) \| `([a-z0-9-]+:[A-Za-z*]+)` \|/gm)].map(
        (m) => `${m[1]} ${m[2]}`,
      ),
    );
    // role `*`: a permission every role that has it keeps for the same reason (X-Ray tracing)
    const everyRole = [...listed].filter((l) => l.startsWith("* ")).map((l) => l.slice(2));
    for (const action of everyRole)
      expect(
        [...unexercised].some((u) => u.endsWith(` ${action}`)),
        action,
      ).toBe(true);
    const rest = [...unexercised].filter((u) => !everyRole.some((a) => u.endsWith(` ${a}`)));
    expect(rest.sort()).toEqual([...listed].filter((l) => !l.startsWith("* ")).sort());
  });
});
