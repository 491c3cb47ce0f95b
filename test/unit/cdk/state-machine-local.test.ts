import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, describe, expect, it } from "vitest";
import { loadLocalStepFunctions } from "../../support/local-aws.js";
import { realHandler } from "../../support/local-pipeline.js";
import { onlineAgents } from "../../support/ssm-agents.js";
import { eventBridgeEvent } from "../events/fixtures.js";
import { resolveDefinition, synthRunbook } from "./synth.js";

/**
 * The synthesized definition, run in aws-local-stepfunctions with every task stubbed by state name:
 * checks the JSONPaths between states (what asl-validator cannot), the per-mode routing, dedupe,
 * the fleet brake and the failure paths. The real Lambdas/workflows replace the stubs in the e2e.
 */
type Handler = (input: Record<string, unknown>) => Promise<unknown>;
const T1 = "i-0000000000000000a";
const T2 = "i-0000000000000000b";

const ec2 = mockClient(EC2Client);
onlineAgents(mockClient(SSMClient));

/** The real ResolveTargets handler, configured by environment like on Lambda (EC2 mocked above). */
async function realResolveTargets(): Promise<Handler> {
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
  });
  return (await realHandler("resolve-targets")) as Handler;
}

let definition: Record<string, unknown>;
let StateMachine: Awaited<ReturnType<typeof loadLocalStepFunctions>>["StateMachine"];
beforeAll(async () => {
  definition = resolveDefinition(synthRunbook().template);
  ({ StateMachine } = await loadLocalStepFunctions());
});

function stubs(options: {
  mode?: string;
  created?: boolean;
  targets?: string[];
  classes?: Record<string, string | null>;
  brake?: boolean;
  approve?: boolean;
  /** Destructive rungs the stubbed ladder asks approval for (approve mode). @default 1 */
  rungs?: number;
  /** The approval request's publish fails with this error (SNS/KMS refusing it). */
  approvalError?: string;
  /** Nobody answers the approval request (the task's own time-out ends it). */
  approvalHangs?: boolean;
  failDiagnoseOn?: string;
  cooldownOnly?: boolean;
  pendingPolls?: number;
  failBrake?: boolean;
  /** Replaces the ResolveTargets stub (e.g. the real handler). */
  resolveTargets?: Handler;
}) {
  let polls = 0;
  const calls: { state: string; input: Record<string, unknown> }[] = [];
  const targets = options.targets ?? [T1, T2];
  const record =
    (state: string, fn: Handler): Handler =>
    async (input) => {
      calls.push({ state, input });
      return await fn(input);
    };
  const handlers: Record<string, Handler> = {
    ResolveTargets:
      options.resolveTargets ??
      (async () => ({
        alarm: { alarmName: "runbook-autopilot-api", stateChangeTime: "2024-05-02T17:04:40.989Z" },
        mode: options.mode ?? "approve",
        dedupeKey: "runbook-autopilot-api#2024-05-02T17:04:40.989Z",
        strategy: "instance",
        targets,
        hasTargets: targets.length > 0,
        groupSize: 4,
        targetGroupArn: null,
        skipped: [],
        note: null,
      })),
    OpenIncident: async () => ({
      incidentId: "inc-1",
      created: options.created ?? true,
      alarmKey: "inc-1/alarm.json",
      items: options.cooldownOnly ? [] : targets.map((target) => ({ target })),
      hasItems: !options.cooldownOnly && targets.length > 0,
      cooldown: options.cooldownOnly
        ? targets.map((target) => ({ target, heldBy: "inc-0", until: "x" }))
        : [],
    }),
    SendProbe: async (i) => ({
      done: false,
      command: {
        commandId: `c-${i.target}`,
        instanceId: i.target,
        step: "probe",
        sentAt: "2024-05-02T17:05:00.000Z",
      },
      attempt: 0,
      waitSeconds: 3,
      status: "Sent",
    }),
    PollProbe: async (i) =>
      polls++ < (options.pendingPolls ?? 0)
        ? {
            done: false,
            command: (i.probe as { command: unknown }).command,
            attempt: 1,
            waitSeconds: 5,
            status: "InProgress",
          }
        : {
            done: true,
            result: {
              status: "Success",
              exitCode: 0,
              stdoutKey: "k",
              stdoutTruncated: false,
              outputUri: null,
              rawOutputUri: null,
              commandId: "c",
              detail: null,
            },
          },
    Diagnose: async (i) => {
      if (i.target === options.failDiagnoseOn) throw new Error("diagnose exploded");
      return {
        target: i.target,
        evidenceKey: "e",
        diagnosisKey: `d-${i.target}`,
        classId: options.classes?.[String(i.target)] ?? "ws-leak",
        down: true,
        summary: "",
      };
    },
    FleetBrake: async () => {
      if (options.failBrake) throw new Error("brake exploded");
      return { brake: options.brake ?? false, classId: "ws-leak", affected: 2, groupSize: 4, reason: "r" };
    },
    PlanMitigation: async (i) => ({
      planKey: `p-${i.target}`,
      actionable: true,
      summary: "kill idle sockets",
    }),
    RequestApproval: async (i) => {
      if (options.approvalError)
        throw Object.assign(new Error("KMS refused the data key"), { name: options.approvalError });
      if (options.approvalHangs) return new Promise(() => undefined);
      if (options.approve === false) throw Object.assign(new Error("no"), { name: "Declined" });
      // lambda:invoke.waitForTaskToken: the state's input is {FunctionName, Payload}
      const rung = (i.Payload as { rung: number }).rung;
      return { approved: true, rung, approvedBy: "arn:aws:iam::123456789012:user/alice" };
    },
    // A two-rung ladder in approve mode: the first call stops at rung 0, each approved rung is applied
    // and the next one waits, until rung 1 (the last) has run.
    ApplyMitigation: async (i) => {
      const approval = i.approval as { approved: boolean; auto?: boolean; rung?: number };
      const next = approval.auto ? null : approval.approved ? (approval.rung ?? 0) + 1 : 0;
      const awaitingRung = next !== null && next < (options.rungs ?? 1) ? next : null;
      return {
        actionsKey: `a-${i.target}`,
        applied: true,
        summary: "",
        awaitingRung,
        awaitingSummary: awaitingRung === null ? null : `rung ${awaitingRung + 1}: kill-idle-connections`,
      };
    },
    Verify: async (i) => ({ recovered: true, verificationKey: `v-${i.target}`, summary: "" }),
    WritePostmortem: async () => ({
      postmortemKey: "pm",
      postmortemUri: "s3://b/pm",
      status: "recovered",
      summary: "s",
    }),
    NotifyResult: async () => ({}),
    NotifyFleetBrake: async () => ({}),
    NotifyNoTargets: async () => ({}),
    NotifyRunbookFailure: async () => ({}),
  };
  return {
    calls,
    handlers: Object.fromEntries(Object.entries(handlers).map(([k, fn]) => [k, record(k, fn)])),
  };
}

async function run(
  options: Parameters<typeof stubs>[0],
  input: unknown = eventBridgeEvent,
  def: Record<string, unknown> = definition,
) {
  const { calls, handlers } = stubs(options);
  const sm = new StateMachine(def as never, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const exec = sm.run(input as never, {
    context: { Task: { Token: "local-task-token" }, Execution: { Id: "arn:local:execution:1" } },
    overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: { WaitForProbe: 0 } },
  });
  let result: unknown;
  let error: unknown = null;
  try {
    result = await exec.result;
  } catch (e) {
    error = e;
  }
  const count = (state: string) => calls.filter((c) => c.state === state).length;
  const inputOf = (state: string) => calls.find((c) => c.state === state)?.input;
  return { result, error, calls, count, inputOf };
}

describe("state machine definition, run locally with stubbed tasks", () => {
  it("approve mode: probes, diagnoses, asks approval per rung with the task token, applies each, verifies, writes the postmortem", async () => {
    const r = await run({ mode: "approve", rungs: 2 });
    expect(r.error).toBeNull();
    expect(r.count("SendProbe")).toBe(2);
    // two targets × two rungs: each rung asked on its own, with its number and the task token
    expect(r.count("RequestApproval")).toBe(4);
    const asked = r.calls
      .filter((c) => c.state === "RequestApproval")
      .map((c) => c.input.Payload as Record<string, unknown>);
    expect(asked.map((a) => `${a.target}#${a.rung}`).sort()).toEqual([
      `${T1}#0`,
      `${T1}#1`,
      `${T2}#0`,
      `${T2}#1`,
    ]);
    expect(asked[0]).toMatchObject({
      taskToken: "local-task-token",
      summary: "rung 1: kill-idle-connections",
    });
    // first call with nothing approved, then once per approved rung
    expect(r.count("ApplyMitigation")).toBe(6);
    const applied = r.calls.filter((c) => c.state === "ApplyMitigation").map((c) => c.input.approval);
    expect(applied.filter((a) => (a as { approved: boolean }).approved === false)).toHaveLength(2);
    expect(applied).toContainEqual({
      approved: true,
      rung: 1,
      approvedBy: "arn:aws:iam::123456789012:user/alice",
    });
    expect(r.count("Verify")).toBe(2);
    const pm = r.inputOf("WritePostmortem") as {
      targets: { outcome: string; recovered: boolean }[];
      failure: object;
    };
    expect(pm.targets.map((t) => t.outcome)).toEqual(["mitigated", "mitigated"]);
    expect(pm.failure).toEqual({});
    expect(r.count("NotifyResult")).toBe(1);
  });

  it("auto mode skips approval; plan mode stops after planning", async () => {
    const auto = await run({ mode: "auto" });
    expect(auto.count("RequestApproval")).toBe(0);
    expect(auto.inputOf("ApplyMitigation")).toMatchObject({ approval: { approved: false, auto: true } });
    const plan = await run({ mode: "plan" });
    expect(plan.count("ApplyMitigation")).toBe(0);
    expect((plan.inputOf("WritePostmortem") as { targets: { outcome: string }[] }).targets[0]?.outcome).toBe(
      "planned",
    );
  });

  it("a declined approval ends that target as declined", async () => {
    const r = await run({ mode: "approve", approve: false });
    expect(r.error).toBeNull();
    // the first call stops at the first rung; nothing runs after the decline
    expect(r.count("ApplyMitigation")).toBe(2);
    expect(r.count("Verify")).toBe(0);
    expect((r.inputOf("WritePostmortem") as { targets: { outcome: string }[] }).targets[0]?.outcome).toBe(
      "declined",
    );
  });

  it("an approval nobody answers times out: declined as approval-timeout, never applied, still written up", async () => {
    // The same definition with the request's TimeoutSeconds at 1 s (synthesized: approvalTimeout).
    const short = structuredClone(definition) as {
      States: { MitigateEach: { ItemProcessor: { States: Record<string, { TimeoutSeconds?: number }> } } };
    };
    const request = short.States.MitigateEach.ItemProcessor.States.RequestApproval;
    expect(request?.TimeoutSeconds).toBe(1200);
    if (request) request.TimeoutSeconds = 1;
    const r = await run({ mode: "approve", approvalHangs: true }, eventBridgeEvent, short);
    expect(r.error).toBeNull();
    expect(r.count("ApplyMitigation")).toBe(2);
    expect(r.count("Verify")).toBe(0);
    const targets = (r.inputOf("WritePostmortem") as { targets: { outcome: string; answer: object }[] })
      .targets;
    expect(targets.map((t) => t.outcome)).toEqual(["approval-timeout", "approval-timeout"]);
    expect(targets[0]?.answer).toMatchObject({ Error: "States.Timeout" });
    expect(r.count("NotifyResult")).toBe(1);
  });

  it("an approval request that cannot be published is a failure that escalates, never 'declined'", async () => {
    for (const error of [
      "SNS.KMSAccessDeniedException",
      "States.TaskFailed",
      "SNS.AuthorizationErrorException",
    ]) {
      const r = await run({ mode: "approve", approvalError: error });
      expect(r.error).toBeNull();
      expect(r.count("ApplyMitigation")).toBe(2);
      expect(r.count("Verify")).toBe(0);
      const targets = (
        r.inputOf("WritePostmortem") as { targets: { outcome: string; error: { name: string } }[] }
      ).targets;
      expect(
        targets.map((t) => t.outcome),
        error,
      ).toEqual(["failed", "failed"]);
      expect(targets[0]?.error.name).toBe(error);
      expect(r.count("NotifyResult")).toBe(1);
    }
  });

  it("a duplicate alarm delivery stops right after OpenIncident", async () => {
    const r = await run({ created: false });
    expect(r.error).toBeNull();
    expect(r.count("SendProbe")).toBe(0);
    expect(r.count("WritePostmortem")).toBe(0);
  });

  it("no targets: notifies and stops", async () => {
    const r = await run({ targets: [] });
    expect(r.count("NotifyNoTargets")).toBe(1);
    expect(r.count("OpenIncident")).toBe(0);
  });

  it("fleet brake: escalates, no mitigation, still writes the postmortem", async () => {
    const r = await run({ brake: true });
    expect(r.count("NotifyFleetBrake")).toBe(1);
    expect(r.count("PlanMitigation")).toBe(0);
    expect((r.inputOf("WritePostmortem") as { brake: { brake: boolean } }).brake.brake).toBe(true);
  });

  it("one target's diagnose failure does not stop the other", async () => {
    const r = await run({ mode: "auto", failDiagnoseOn: T2 });
    expect(r.error).toBeNull();
    const brake = r.inputOf("FleetBrake") as {
      diagnoses: { target: string; classId: string | null; error?: unknown }[];
    };
    expect(brake.diagnoses.find((d) => d.target === T2)).toMatchObject({
      classId: null,
      error: { name: "Error" },
    });
    expect(r.count("ApplyMitigation")).toBe(2);
  });

  it("polls the probe through the Wait loop until done", async () => {
    const r = await run({ mode: "plan", targets: [T1], pendingPolls: 3 });
    expect(r.error).toBeNull();
    expect(r.count("PollProbe")).toBe(4);
    expect(r.inputOf("PollProbe")).toMatchObject({
      probe: { attempt: 0, command: { commandId: `c-${T1}` } },
    });
    expect(r.inputOf("Diagnose")).toMatchObject({
      probe: { status: "Success" },
      alarmKey: "inc-1/alarm.json",
    });
  });

  it("all targets in cooldown: straight to the postmortem with the cooldown list", async () => {
    const r = await run({ cooldownOnly: true });
    expect(r.error).toBeNull();
    expect(r.count("SendProbe")).toBe(0);
    expect(r.inputOf("WritePostmortem")).toMatchObject({
      targets: [],
      brake: { brake: false },
      cooldown: [{ target: T1 }, { target: T2 }],
    });
  });

  it("a failure of the whole is recorded in the postmortem, notified, and fails the execution", async () => {
    const r = await run({ failBrake: true });
    expect(r.inputOf("WritePostmortem")).toMatchObject({ failure: { Error: "Error" } });
    expect(r.count("NotifyResult")).toBe(1);
    expect(String(r.error)).toMatch(/Fail state/);
  });

  it("manual start: the input naming instances goes through the real ResolveTargets (EC2 mocked) and the whole definition", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: T1 }] }] });
    const resolveTargets = await realResolveTargets();
    const input = {
      instances: [T1, T2],
      mode: "plan",
      requestedBy: "alice",
      requestId: "INC-7",
      reason: "502s",
    };
    const r = await run({ resolveTargets, targets: [T1] }, input);
    expect(r.error).toBeNull();
    expect(r.inputOf("ResolveTargets")).toEqual(input); // the execution input, verbatim
    expect(r.inputOf("OpenIncident")).toMatchObject({
      mode: "plan",
      dedupeKey: "manual#INC-7",
      targets: [T1],
      alarm: { via: "manual", alarmName: "manual:alice", requestedBy: "alice", reason: "502s" },
    });
    expect(r.count("SendProbe")).toBe(1); // T2 (untagged) is not a target: never probed
    expect(r.count("ApplyMitigation")).toBe(0); // plan mode
    expect(r.count("NotifyResult")).toBe(1);
    expect((r.inputOf("NotifyResult") as { Message: { alarmName: string } }).Message.alarmName).toBe(
      "manual:alice",
    );
    // none tagged: NotifyNoTargets names the strategy; no incident
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const none = await run({ resolveTargets }, { instances: [T2] });
    expect(none.error).toBeNull();
    expect(none.inputOf("NotifyNoTargets")).toMatchObject({ Message: { strategy: "manual" } });
    expect(none.count("OpenIncident")).toBe(0);
    // a malformed start is an escalated failure, not a silent success
    const bad = await run({ resolveTargets }, { instances: ["i-nope"] });
    expect(bad.inputOf("NotifyRunbookFailure")).toMatchObject({
      Message: { failure: { Error: "InvalidEventError" } },
    });
    expect(String(bad.error)).toMatch(/see the escalation notification/);
  });

  it("alarm selection: a not-selected alarm ends cleanly, no incident and no notification", async () => {
    const r = await run({
      resolveTargets: async () => ({
        alarm: { alarmName: "other-alarm", stateChangeTime: "2024-05-02T17:04:40.989Z" },
        mode: "approve",
        dedupeKey: "other-alarm#2024-05-02T17:04:40.989Z",
        selected: false,
        strategy: "none",
        targets: [],
        hasTargets: false,
        groupSize: 0,
        targetGroupArn: null,
        skipped: [],
        note: "alarm does not carry the selection tag k=v",
      }),
    });
    expect(r.error).toBeNull();
    expect(r.calls.map((c) => c.state)).toEqual(["ResolveTargets"]);
  });

  it("alarm selection: unreadable alarm tags escalate and fail the execution", async () => {
    const r = await run({
      resolveTargets: async () => {
        throw Object.assign(new Error("cannot read the tags of alarm arn:…: AccessDenied: …"), {
          name: "AlarmTagsUnavailableError",
        });
      },
    });
    expect(r.count("OpenIncident")).toBe(0);
    expect(r.inputOf("NotifyRunbookFailure")).toMatchObject({
      Message: { failure: { Error: "AlarmTagsUnavailableError" } },
    });
    expect(String(r.error)).toMatch(/see the escalation notification/);
  });
});
