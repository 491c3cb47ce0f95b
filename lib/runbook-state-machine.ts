import type { Duration } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import {
  Choice,
  Condition,
  Fail,
  type IChainable,
  JsonPath,
  type Map as MapState,
  Pass,
  Result,
  Succeed,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { collectAndDiagnoseStates } from "./runbook-collect-states.js";
import { mitigateEachStates } from "./runbook-mitigation-states.js";
import { invokeStep, publishNotice, retryThrottled } from "./state-machine-tasks.js";

export { SNS_RETRYABLE_ERRORS } from "./state-machine-tasks.js";

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
 * Each phase is built by its own function (lib/runbook-collect-states.ts, lib/runbook-mitigation-states.ts).
 */
export class RunbookDefinition extends Construct {
  readonly startState: IChainable;

  constructor(scope: Construct, id: string, props: RunbookDefinitionProps) {
    super(scope, id);
    const f = props.functions;
    const escalate = this.escalation(props.topic);
    const collectAndDiagnose = collectAndDiagnoseStates(this, f, props.maxConcurrency);
    const mitigateEach = mitigateEachStates(this, f, props);
    const postmortem = this.closing(f, props.topic, escalate);
    this.fleetBrake(f, props.topic, { collectAndDiagnose, mitigateEach, postmortem });
    this.startState = this.opening(f, props.topic, { escalate, collectAndDiagnose, postmortem });
  }

  /** Escalation for failures before an incident exists, or of the postmortem itself. */
  private escalation(topic: ITopic): IChainable {
    return publishNotice(
      this,
      topic,
      "NotifyRunbookFailure",
      "runbook-autopilot: runbook failed, escalating",
      {
        kind: "runbook-failure",
        execution: JsonPath.stringAt("$$.Execution.Id"),
        failure: JsonPath.objectAt("$.failure"),
      },
    ).next(
      new Fail(this, "RunbookFailed", { error: "RunbookFailed", cause: "see the escalation notification" }),
    );
  }

  /** The whole incident's end: WritePostmortem → NotifyResult → ended cleanly or failed. */
  private closing(f: RunbookStepFunctions, topic: ITopic, escalate: IChainable): LambdaInvoke {
    const postmortem = invokeStep(
      this,
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
    const notifyResult = publishNotice(this, topic, "NotifyResult", "runbook-autopilot: incident closed", {
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
    return postmortem;
  }

  /** Between collection and mitigation: the fleet brake escalates instead of mitigating. */
  private fleetBrake(
    f: RunbookStepFunctions,
    topic: ITopic,
    s: { collectAndDiagnose: MapState; mitigateEach: MapState; postmortem: LambdaInvoke },
  ): void {
    const fleetBrake = invokeStep(
      this,
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
    const notifyBrake = publishNotice(
      this,
      topic,
      "NotifyFleetBrake",
      "runbook-autopilot: fleet brake, escalating",
      {
        kind: "fleet-brake",
        incidentId: JsonPath.stringAt("$.incident.incidentId"),
        alarmName: JsonPath.stringAt("$.alarm.alarmName"),
        reason: JsonPath.stringAt("$.brake.reason"),
      },
    );
    const braked = new Choice(this, "Brake?")
      .when(Condition.booleanEquals("$.brake.brake", true), notifyBrake.next(s.postmortem))
      .otherwise(s.mitigateEach);
    s.mitigateEach.next(s.postmortem);
    s.collectAndDiagnose.next(fleetBrake).next(braked);
    for (const state of [s.collectAndDiagnose, fleetBrake, s.mitigateEach])
      state.addCatch(s.postmortem, { resultPath: "$.failure" });
  }

  /** From the alarm to an open incident: ResolveTargets → Selected? → HasTargets? → OpenIncident → New? → Locked? */
  private opening(
    f: RunbookStepFunctions,
    topic: ITopic,
    s: { escalate: IChainable; collectAndDiagnose: MapState; postmortem: LambdaInvoke },
  ): IChainable {
    const resolve = new LambdaInvoke(this, "ResolveTargets", {
      lambdaFunction: f.resolveTargets,
      // No `payload`: the whole state input goes to the function. (`TaskInput.fromJsonPathAt("$")` with
      // payloadResponseOnly renders `"Parameters": "$"`, a string, which Step Functions rejects.)
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    resolve.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
    const open = invokeStep(
      this,
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
    for (const t of [resolve, open]) t.addCatch(s.escalate, { resultPath: "$.failure" });
    const defaults = this.incidentDefaults();
    const anyLocked = new Choice(this, "AnyTargetFree?")
      .when(Condition.booleanEquals("$.incident.hasItems", true), s.collectAndDiagnose)
      .otherwise(s.postmortem);
    const isNew = new Choice(this, "NewIncident?")
      .when(Condition.booleanEquals("$.incident.created", true), defaults.next(anyLocked))
      .otherwise(
        new Succeed(this, "DuplicateAlarm", { comment: "incident already opened for this state change" }),
      );
    const noTargets = publishNotice(
      this,
      topic,
      "NotifyNoTargets",
      "runbook-autopilot: alarm with no target",
      {
        kind: "no-targets",
        alarmName: JsonPath.stringAt("$.alarm.alarmName"),
        strategy: JsonPath.stringAt("$.strategy"),
        note: JsonPath.stringAt("$.note"),
      },
    ).next(new Succeed(this, "NoTargets"));
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
    return resolve.next(selected);
  }

  /** A new incident's defaults: no outcomes, no diagnoses, brake not evaluated, no failure. */
  private incidentDefaults() {
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
    return setOutcomes.next(setDiagnoses).next(setBrake).next(setFailure);
  }
}
