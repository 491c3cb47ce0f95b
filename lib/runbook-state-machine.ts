import { Duration } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import {
  Choice,
  Condition,
  Fail,
  type IChainable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Map as MapState,
  Pass,
  Result,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke, SnsPublish } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";

export interface RunbookStepFunctions {
  readonly resolveTargets: IFunction;
  readonly openIncident: IFunction;
  readonly sendProbe: IFunction;
  readonly pollProbe: IFunction;
  readonly diagnose: IFunction;
  readonly fleetBrake: IFunction;
  readonly planMitigation: IFunction;
  readonly applyMitigation: IFunction;
  /** Mode approve: keeps the rung's task token for `runbook approve` and asks on the topic. */
  readonly requestApproval: IFunction;
  readonly verify: IFunction;
  readonly writePostmortem: IFunction;
}

export interface RunbookDefinitionProps {
  readonly functions: RunbookStepFunctions;
  readonly topic: ITopic;
  /** Targets probed / mitigated in parallel. */
  readonly maxConcurrency: number;
  /** How long each rung's approval request waits for `runbook approve` (no answer = declined). */
  readonly approvalTimeout: Duration;
}

/** Throttling and transient errors of the SNS integration (the publish never happened: safe to retry). */
export const SNS_RETRYABLE_ERRORS = [
  "SNS.ThrottledException",
  "SNS.KMSThrottlingException",
  "SNS.InternalErrorException",
  "SNS.SdkClientException",
];
const retryThrottled = (errors: string[]) => ({
  errors,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  jitterStrategy: JitterType.FULL,
});

/**
 * The state machine definition (Standard). The state carries ids, S3 keys and small fields only:
 * evidence, diagnoses, plans and records live in S3/DynamoDB (256 KB state cap).
 *
 *   ResolveTargets → Selected? → HasTargets? → OpenIncident → New? → Locked? →
 *   CollectAndDiagnose (Map: SendProbe → [Wait → PollProbe]* → Diagnose) → FleetBrake → Brake? →
 *   MitigateEach (Map: Plan → per mode: plan-only | auto → Apply → Verify | approve → Apply, and per
 *   destructive rung: RequestApproval (λ .waitForTaskToken) → Apply that rung … → Verify)
 *   → WritePostmortem → NotifyResult.
 * Task failures inside a Map end that target's path with an outcome (the others go on); failures of the
 * whole are caught into `$.failure`, still recorded in the postmortem, and escalated.
 */
export class RunbookDefinition extends Construct {
  readonly startState: IChainable;

  constructor(scope: Construct, id: string, props: RunbookDefinitionProps) {
    super(scope, id);
    const f = props.functions;
    const invoke = (sid: string, fn: IFunction, payload: Record<string, unknown>, resultPath?: string) => {
      const task = new LambdaInvoke(this, sid, {
        lambdaFunction: fn,
        payload: TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        ...(resultPath ? { resultPath } : {}),
      });
      // Lambda's concurrency limit answers TooManyRequests: the invocation never ran, retry it.
      task.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
      return task;
    };
    const publish = (sid: string, subject: string, message: Record<string, unknown>) =>
      new SnsPublish(this, sid, {
        topic: props.topic,
        subject,
        message: TaskInput.fromObject(message),
        resultPath: JsonPath.DISCARD,
      }).addRetry(retryThrottled(SNS_RETRYABLE_ERRORS));

    // ---- escalation for failures before an incident exists, or of the postmortem itself
    const escalate = publish("NotifyRunbookFailure", "runbook-autopilot: runbook failed, escalating", {
      kind: "runbook-failure",
      execution: JsonPath.stringAt("$$.Execution.Id"),
      failure: JsonPath.objectAt("$.failure"),
    }).next(
      new Fail(this, "RunbookFailed", { error: "RunbookFailed", cause: "see the escalation notification" }),
    );

    // ---- per target: collect + diagnose
    const target = {
      incidentId: JsonPath.stringAt("$.incidentId"),
      target: JsonPath.stringAt("$.target"),
    };
    const sendProbe = invoke("SendProbe", f.sendProbe, target, "$.probe");
    const pollProbe = invoke(
      "PollProbe",
      f.pollProbe,
      {
        ...target,
        probe: {
          command: JsonPath.objectAt("$.probe.command"),
          attempt: JsonPath.numberAt("$.probe.attempt"),
        },
      },
      "$.probe",
    );
    const waitForProbe = new Wait(this, "WaitForProbe", {
      time: WaitTime.secondsPath("$.probe.waitSeconds"),
    });
    const diagnose = invoke("Diagnose", f.diagnose, {
      ...target,
      mode: JsonPath.stringAt("$.mode"),
      alarmKey: JsonPath.stringAt("$.alarmKey"),
      probe: JsonPath.objectAt("$.probe.result"),
    });
    // CDK drops literal nulls from Pass `parameters`; nulls come from a Result and are merged in.
    const diagnoseFailed = new Pass(this, "DiagnoseFailed", {
      parameters: {
        target: JsonPath.stringAt("$.target"),
        error: { name: JsonPath.stringAt("$.error.Error"), message: JsonPath.stringAt("$.error.Cause") },
      },
      resultPath: "$.failed",
    });
    diagnoseFailed
      .next(
        new Pass(this, "DiagnoseFailedDefaults", {
          result: Result.fromObject({
            classId: null,
            diagnosisKey: null,
            evidenceKey: null,
            down: false,
            summary: "collection or diagnosis failed",
          }),
          resultPath: "$.defaults",
        }),
      )
      .next(
        new Pass(this, "DiagnoseFailedResult", {
          parameters: {
            merged: JsonPath.jsonMerge(JsonPath.objectAt("$.defaults"), JsonPath.objectAt("$.failed")),
          },
          outputPath: "$.merged",
        }),
      );
    for (const t of [sendProbe, pollProbe, diagnose]) t.addCatch(diagnoseFailed, { resultPath: "$.error" });
    const probeDone = new Choice(this, "ProbeDone?")
      .when(Condition.booleanEquals("$.probe.done", true), diagnose)
      .otherwise(waitForProbe.next(pollProbe));
    pollProbe.next(probeDone);
    const collectAndDiagnose = new MapState(this, "CollectAndDiagnose", {
      itemsPath: "$.incident.items",
      maxConcurrency: props.maxConcurrency,
      itemSelector: {
        incidentId: JsonPath.stringAt("$.incident.incidentId"),
        alarmKey: JsonPath.stringAt("$.incident.alarmKey"),
        mode: JsonPath.stringAt("$.mode"),
        target: JsonPath.stringAt("$$.Map.Item.Value.target"),
      },
      resultPath: "$.diagnoses",
    }).itemProcessor(sendProbe.next(probeDone));

    // ---- per target: plan, approve, apply, verify
    const keep = {
      target: JsonPath.stringAt("$.target"),
      classId: JsonPath.stringAt("$.classId"),
      diagnosisKey: JsonPath.stringAt("$.diagnosisKey"),
    };
    const mitigationTarget = { ...target, mode: JsonPath.stringAt("$.mode") };
    const plan = invoke(
      "PlanMitigation",
      f.planMitigation,
      {
        ...mitigationTarget,
        diagnosisKey: JsonPath.stringAt("$.diagnosisKey"),
        classId: JsonPath.stringAt("$.classId"),
      },
      "$.plan",
    );
    const planOnly = new Pass(this, "PlanOnly", {
      parameters: { ...keep, planKey: JsonPath.stringAt("$.plan.planKey"), outcome: "planned" },
    });
    // A decline (`runbook approve --decline`: SendTaskFailure, error Declined, cause names who) and a
    // timeout (nobody answered within approvalTimeout) both end the target as declined, never applied;
    // the record says which, and a timeout is escalated (WritePostmortem notifies).
    const declined = new Pass(this, "Declined", {
      parameters: {
        ...keep,
        planKey: JsonPath.stringAt("$.plan.planKey"),
        outcome: "declined",
        // `{Error, Cause?}`: the Cause of `runbook approve --decline` names who declined.
        answer: JsonPath.objectAt("$.error"),
      },
    });
    const timedOut = new Pass(this, "ApprovalTimedOut", {
      parameters: {
        ...keep,
        planKey: JsonPath.stringAt("$.plan.planKey"),
        outcome: "approval-timeout",
        answer: JsonPath.objectAt("$.error"),
      },
    });
    const requestApproval = new LambdaInvoke(this, "RequestApproval", {
      lambdaFunction: f.requestApproval,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({
        incidentId: JsonPath.stringAt("$.incidentId"),
        target: JsonPath.stringAt("$.target"),
        classId: JsonPath.stringAt("$.classId"),
        planKey: JsonPath.stringAt("$.plan.planKey"),
        rung: JsonPath.numberAt("$.apply.awaitingRung"),
        summary: JsonPath.stringAt("$.apply.awaitingSummary"),
        taskToken: JsonPath.taskToken,
      }),
      taskTimeout: Timeout.duration(props.approvalTimeout),
      resultPath: "$.approval",
    });
    requestApproval.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
    // Only a timeout or an explicit decline is "declined". Anything else (the request Lambda failing,
    // SNS or KMS refusing the publish) is an infrastructure failure: that target ends as failed, and the
    // postmortem and NotifyResult escalate it (caught below with the other mitigation tasks).
    requestApproval.addCatch(timedOut, { errors: ["States.Timeout"], resultPath: "$.error" });
    requestApproval.addCatch(declined, { errors: ["Declined"], resultPath: "$.error" });
    const apply = invoke(
      "ApplyMitigation",
      f.applyMitigation,
      {
        ...mitigationTarget,
        planKey: JsonPath.stringAt("$.plan.planKey"),
        approval: JsonPath.objectAt("$.approval"),
      },
      "$.apply",
    );
    const autoApproved = new Pass(this, "AutoMode", {
      result: Result.fromObject({ approved: false, auto: true }),
      resultPath: "$.approval",
    });
    const noAnswerYet = new Pass(this, "ApproveMode", {
      result: Result.fromObject({ approved: false }),
      resultPath: "$.approval",
    });
    const verify = invoke(
      "Verify",
      f.verify,
      { ...mitigationTarget, actionsKey: JsonPath.stringAt("$.apply.actionsKey") },
      "$.verify",
    );
    const mitigated = new Pass(this, "Mitigated", {
      parameters: {
        ...keep,
        planKey: JsonPath.stringAt("$.plan.planKey"),
        actionsKey: JsonPath.stringAt("$.apply.actionsKey"),
        verificationKey: JsonPath.stringAt("$.verify.verificationKey"),
        recovered: JsonPath.stringAt("$.verify.recovered"),
        outcome: "mitigated",
      },
    });
    const mitigationFailed = new Pass(this, "MitigationFailed", {
      parameters: {
        ...keep,
        outcome: "failed",
        error: { name: JsonPath.stringAt("$.error.Error"), message: JsonPath.stringAt("$.error.Cause") },
      },
    });
    for (const t of [plan, requestApproval, apply, verify])
      t.addCatch(mitigationFailed, { resultPath: "$.error" });
    // Per rung: Apply stops at each destructive rung that needs a yes (`awaitingRung`), the request
    // waits for its answer, Apply runs that rung only, and so on down the ladder.
    const approved = new Choice(this, "Approved?")
      .when(Condition.booleanEquals("$.approval.approved", true), apply)
      .otherwise(declined);
    const awaiting = new Choice(this, "AwaitingApproval?")
      .when(Condition.isNumeric("$.apply.awaitingRung"), requestApproval.next(approved))
      .otherwise(verify.next(mitigated));
    apply.next(awaiting);
    const route = new Choice(this, "ByMode")
      .when(
        Condition.or(
          Condition.booleanEquals("$.plan.actionable", false),
          Condition.stringEquals("$.mode", "plan"),
        ),
        planOnly,
      )
      .when(Condition.stringEquals("$.mode", "approve"), noAnswerYet.next(apply))
      .otherwise(autoApproved.next(apply));
    const mitigateEach = new MapState(this, "MitigateEach", {
      itemsPath: "$.diagnoses",
      maxConcurrency: props.maxConcurrency,
      itemSelector: {
        incidentId: JsonPath.stringAt("$.incident.incidentId"),
        mode: JsonPath.stringAt("$.mode"),
        target: JsonPath.stringAt("$$.Map.Item.Value.target"),
        classId: JsonPath.stringAt("$$.Map.Item.Value.classId"),
        diagnosisKey: JsonPath.stringAt("$$.Map.Item.Value.diagnosisKey"),
      },
      resultPath: "$.outcomes",
    }).itemProcessor(plan.next(route));

    // ---- whole incident
    const postmortem = invoke(
      "WritePostmortem",
      f.writePostmortem,
      {
        incidentId: JsonPath.stringAt("$.incident.incidentId"),
        alarmKey: JsonPath.stringAt("$.incident.alarmKey"),
        mode: JsonPath.stringAt("$.mode"),
        targets: JsonPath.objectAt("$.outcomes"),
        diagnoses: JsonPath.objectAt("$.diagnoses"),
        cooldown: JsonPath.objectAt("$.incident.cooldown"),
        brake: JsonPath.objectAt("$.brake"),
        failure: JsonPath.objectAt("$.failure"),
      },
      "$.postmortem",
    );
    postmortem.addCatch(escalate, { resultPath: "$.failure" });
    const notifyResult = publish("NotifyResult", "runbook-autopilot: incident closed", {
      kind: "incident-closed",
      incidentId: JsonPath.stringAt("$.incident.incidentId"),
      alarmName: JsonPath.stringAt("$.alarm.alarmName"),
      status: JsonPath.stringAt("$.postmortem.status"),
      summary: JsonPath.stringAt("$.postmortem.summary"),
      postmortem: JsonPath.stringAt("$.postmortem.postmortemUri"),
    });
    const ended = new Choice(this, "EndedCleanly?")
      .when(
        Condition.isPresent("$.failure.Error"),
        new Fail(this, "IncidentFailed", { error: "IncidentFailed" }),
      )
      .otherwise(new Succeed(this, "Done"));
    postmortem.next(notifyResult).next(ended);

    const fleetBrake = invoke(
      "FleetBrake",
      f.fleetBrake,
      {
        incidentId: JsonPath.stringAt("$.incident.incidentId"),
        mode: JsonPath.stringAt("$.mode"),
        groupSize: JsonPath.numberAt("$.groupSize"),
        targetGroupArn: JsonPath.stringAt("$.targetGroupArn"),
        diagnoses: JsonPath.objectAt("$.diagnoses"),
      },
      "$.brake",
    );
    const notifyBrake = publish("NotifyFleetBrake", "runbook-autopilot: fleet brake, escalating", {
      kind: "fleet-brake",
      incidentId: JsonPath.stringAt("$.incident.incidentId"),
      alarmName: JsonPath.stringAt("$.alarm.alarmName"),
      reason: JsonPath.stringAt("$.brake.reason"),
    });
    const braked = new Choice(this, "Brake?")
      .when(Condition.booleanEquals("$.brake.brake", true), notifyBrake.next(postmortem))
      .otherwise(mitigateEach);
    mitigateEach.next(postmortem);
    collectAndDiagnose.next(fleetBrake).next(braked);
    for (const s of [collectAndDiagnose, fleetBrake, mitigateEach])
      s.addCatch(postmortem, { resultPath: "$.failure" });

    const resolve = new LambdaInvoke(this, "ResolveTargets", {
      lambdaFunction: f.resolveTargets,
      // No `payload`: the whole state input goes to the function. (`TaskInput.fromJsonPathAt("$")` with
      // payloadResponseOnly renders `"Parameters": "$"`, a string, which Step Functions rejects.)
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    resolve.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
    const open = invoke(
      "OpenIncident",
      f.openIncident,
      {
        alarm: JsonPath.objectAt("$.alarm"),
        mode: JsonPath.stringAt("$.mode"),
        dedupeKey: JsonPath.stringAt("$.dedupeKey"),
        targets: JsonPath.listAt("$.targets"),
        groupSize: JsonPath.numberAt("$.groupSize"),
      },
      "$.incident",
    );
    for (const s of [resolve, open]) s.addCatch(escalate, { resultPath: "$.failure" });
    const setOutcomes = new Pass(this, "DefaultOutcomes", {
      result: Result.fromArray([]),
      resultPath: "$.outcomes",
    });
    // Read by WritePostmortem to close every diagnosed target's record, also when the brake stopped
    // the run or MitigateEach failed as a whole; `[]` when CollectAndDiagnose never ran.
    const setDiagnoses = new Pass(this, "DefaultDiagnoses", {
      result: Result.fromArray([]),
      resultPath: "$.diagnoses",
    });
    const setBrake = new Pass(this, "DefaultBrake", {
      result: Result.fromObject({
        brake: false,
        classId: null,
        affected: 0,
        groupSize: 0,
        reason: "not evaluated",
      }),
      resultPath: "$.brake",
    });
    const setFailure = new Pass(this, "DefaultFailure", {
      result: Result.fromObject({}),
      resultPath: "$.failure",
    });
    const anyLocked = new Choice(this, "AnyTargetFree?")
      .when(Condition.booleanEquals("$.incident.hasItems", true), collectAndDiagnose)
      .otherwise(postmortem);
    const isNew = new Choice(this, "NewIncident?")
      .when(
        Condition.booleanEquals("$.incident.created", true),
        setOutcomes.next(setDiagnoses).next(setBrake).next(setFailure).next(anyLocked),
      )
      .otherwise(
        new Succeed(this, "DuplicateAlarm", { comment: "incident already opened for this state change" }),
      );
    const noTargets = publish("NotifyNoTargets", "runbook-autopilot: alarm with no target", {
      kind: "no-targets",
      alarmName: JsonPath.stringAt("$.alarm.alarmName"),
      strategy: JsonPath.stringAt("$.strategy"),
      note: JsonPath.stringAt("$.note"),
    }).next(new Succeed(this, "NoTargets"));
    const hasTargets = new Choice(this, "HasTargets?")
      .when(Condition.booleanEquals("$.hasTargets", true), open.next(isNew))
      .otherwise(noTargets);
    // Alarm selection by tag: an alarm without the tag ends here, no incident and no notification.
    // (`isPresent` first: an input resolved without the selection field counts as selected.)
    const selected = new Choice(this, "Selected?")
      .when(
        Condition.and(Condition.isPresent("$.selected"), Condition.booleanEquals("$.selected", false)),
        new Succeed(this, "NotSelected", { comment: "the alarm does not carry the alarm selection tag" }),
      )
      .otherwise(hasTargets);
    this.startState = resolve.next(selected);
  }
}
