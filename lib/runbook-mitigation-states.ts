import type { Duration } from "aws-cdk-lib";
import {
  Choice,
  Condition,
  IntegrationPattern,
  JsonPath,
  Map as MapState,
  Pass,
  Result,
  TaskInput,
  Timeout,
} from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";
import type { RunbookStepFunctions } from "./runbook-state-machine.js";
import { invokeStep, retryThrottled, targetFields } from "./state-machine-tasks.js";

/** What every target outcome keeps of its diagnosis. */
const kept = () => ({
  target: JsonPath.stringAt("$.target"),
  classId: JsonPath.stringAt("$.classId"),
  diagnosisKey: JsonPath.stringAt("$.diagnosisKey"),
});

/** One MitigateEach item: the incident's mode, and one target's diagnosis. */
const mitigationItem = () => ({
  incidentId: JsonPath.stringAt("$.incident.incidentId"),
  mode: JsonPath.stringAt("$.mode"),
  target: JsonPath.stringAt("$$.Map.Item.Value.target"),
  classId: JsonPath.stringAt("$$.Map.Item.Value.classId"),
  diagnosisKey: JsonPath.stringAt("$$.Map.Item.Value.diagnosisKey"),
});

/**
 * Per target, in parallel: Plan → per mode: plan-only | auto → Apply → Verify | approve → Apply, and
 * per destructive rung: RequestApproval (λ .waitForTaskToken) → Apply that rung … → Verify. Each target
 * ends with an outcome (planned, declined, approval-timeout, mitigated, failed); the others go on.
 */
export function mitigateEachStates(
  scope: Construct,
  f: RunbookStepFunctions,
  o: { maxConcurrency: number; approvalTimeout: Duration },
): MapState {
  const keep = kept();
  const mitigationTarget = { ...targetFields(), mode: JsonPath.stringAt("$.mode") };
  const plan = invokeStep(
    scope,
    "PlanMitigation",
    f.planMitigation,
    {
      ...mitigationTarget,
      diagnosisKey: JsonPath.stringAt("$.diagnosisKey"),
      classId: JsonPath.stringAt("$.classId"),
    },
    "$.plan",
  );
  const planOnly = new Pass(scope, "PlanOnly", {
    parameters: { ...keep, planKey: JsonPath.stringAt("$.plan.planKey"), outcome: "planned" },
  });
  const { requestApproval, declined } = approvalRequest(scope, f, o.approvalTimeout);
  const apply = invokeStep(
    scope,
    "ApplyMitigation",
    f.applyMitigation,
    {
      ...mitigationTarget,
      planKey: JsonPath.stringAt("$.plan.planKey"),
      approval: JsonPath.objectAt("$.approval"),
    },
    "$.apply",
  );
  const autoApproved = new Pass(scope, "AutoMode", {
    result: Result.fromObject({ approved: false, auto: true }),
    resultPath: "$.approval",
  });
  const noAnswerYet = new Pass(scope, "ApproveMode", {
    result: Result.fromObject({ approved: false }),
    resultPath: "$.approval",
  });
  const verify = invokeStep(
    scope,
    "Verify",
    f.verify,
    { ...mitigationTarget, actionsKey: JsonPath.stringAt("$.apply.actionsKey") },
    "$.verify",
  );
  const { mitigated, mitigationFailed } = mitigationEnds(scope);
  for (const t of [plan, requestApproval, apply, verify])
    t.addCatch(mitigationFailed, { resultPath: "$.error" });
  // Per rung: Apply stops at each destructive rung that needs a yes (`awaitingRung`), the request
  // waits for its answer, Apply runs that rung only, and so on down the ladder.
  const approved = new Choice(scope, "Approved?")
    .when(Condition.booleanEquals("$.approval.approved", true), apply)
    .otherwise(declined);
  const awaiting = new Choice(scope, "AwaitingApproval?")
    .when(Condition.isNumeric("$.apply.awaitingRung"), requestApproval.next(approved))
    .otherwise(verify.next(mitigated));
  apply.next(awaiting);
  const route = new Choice(scope, "ByMode")
    .when(
      Condition.or(
        Condition.booleanEquals("$.plan.actionable", false),
        Condition.stringEquals("$.mode", "plan"),
      ),
      planOnly,
    )
    .when(Condition.stringEquals("$.mode", "approve"), noAnswerYet.next(apply))
    .otherwise(autoApproved.next(apply));
  return new MapState(scope, "MitigateEach", {
    itemsPath: "$.diagnoses",
    maxConcurrency: o.maxConcurrency,
    itemSelector: mitigationItem(),
    resultPath: "$.outcomes",
  }).itemProcessor(plan.next(route));
}

/** One rung's approval request (mode approve), waiting for its task token's answer. */
function approvalRequest(scope: Construct, f: RunbookStepFunctions, approvalTimeout: Duration) {
  const keep = kept();
  // A decline (`runbook approve --decline`: SendTaskFailure, error Declined, cause names who) and a
  // timeout (nobody answered within approvalTimeout) both end the target as declined, never applied;
  // the record says which, and a timeout is escalated (WritePostmortem notifies).
  const declined = new Pass(scope, "Declined", {
    parameters: {
      ...keep,
      planKey: JsonPath.stringAt("$.plan.planKey"),
      outcome: "declined",
      // `{Error, Cause?}`: the Cause of `runbook approve --decline` names who declined.
      answer: JsonPath.objectAt("$.error"),
    },
  });
  const timedOut = new Pass(scope, "ApprovalTimedOut", {
    parameters: {
      ...keep,
      planKey: JsonPath.stringAt("$.plan.planKey"),
      outcome: "approval-timeout",
      answer: JsonPath.objectAt("$.error"),
    },
  });
  const requestApproval = new LambdaInvoke(scope, "RequestApproval", {
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
    taskTimeout: Timeout.duration(approvalTimeout),
    resultPath: "$.approval",
  });
  requestApproval.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
  // Only a timeout or an explicit decline is "declined". Anything else (the request Lambda failing,
  // SNS or KMS refusing the publish) is an infrastructure failure: that target ends as failed, and the
  // postmortem and NotifyResult escalate it (caught with the other mitigation tasks).
  requestApproval.addCatch(timedOut, { errors: ["States.Timeout"], resultPath: "$.error" });
  requestApproval.addCatch(declined, { errors: ["Declined"], resultPath: "$.error" });
  return { requestApproval, declined };
}

/** The ends of a target that was acted on: mitigated (and verified), or failed. */
function mitigationEnds(scope: Construct) {
  const keep = kept();
  const mitigated = new Pass(scope, "Mitigated", {
    parameters: {
      ...keep,
      planKey: JsonPath.stringAt("$.plan.planKey"),
      actionsKey: JsonPath.stringAt("$.apply.actionsKey"),
      verificationKey: JsonPath.stringAt("$.verify.verificationKey"),
      recovered: JsonPath.stringAt("$.verify.recovered"),
      outcome: "mitigated",
    },
  });
  const mitigationFailed = new Pass(scope, "MitigationFailed", {
    parameters: {
      ...keep,
      outcome: "failed",
      error: { name: JsonPath.stringAt("$.error.Error"), message: JsonPath.stringAt("$.error.Cause") },
    },
  });
  return { mitigated, mitigationFailed };
}
