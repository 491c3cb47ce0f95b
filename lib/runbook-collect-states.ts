import {
  Choice,
  Condition,
  JsonPath,
  Map as MapState,
  Pass,
  Result,
  Wait,
  WaitTime,
} from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import type { RunbookStepFunctions } from "./runbook-state-machine.js";
import { invokeStep, targetFields } from "./state-machine-tasks.js";

/**
 * Per target, in parallel: SendProbe → [Wait → PollProbe]* → Diagnose. A failure ends that target's
 * path with a `collection or diagnosis failed` result; the others go on.
 */
export function collectAndDiagnoseStates(
  scope: Construct,
  f: RunbookStepFunctions,
  maxConcurrency: number,
): MapState {
  const target = targetFields();
  const sendProbe = invokeStep(scope, "SendProbe", f.sendProbe, target, "$.probe");
  const pollProbe = invokeStep(
    scope,
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
  const waitForProbe = new Wait(scope, "WaitForProbe", {
    time: WaitTime.secondsPath("$.probe.waitSeconds"),
  });
  const diagnose = invokeStep(scope, "Diagnose", f.diagnose, {
    ...target,
    mode: JsonPath.stringAt("$.mode"),
    alarmKey: JsonPath.stringAt("$.alarmKey"),
    probe: JsonPath.objectAt("$.probe.result"),
  });
  const failed = diagnoseFailed(scope);
  for (const t of [sendProbe, pollProbe, diagnose]) t.addCatch(failed, { resultPath: "$.error" });
  const probeDone = new Choice(scope, "ProbeDone?")
    .when(Condition.booleanEquals("$.probe.done", true), diagnose)
    .otherwise(waitForProbe.next(pollProbe));
  pollProbe.next(probeDone);
  return new MapState(scope, "CollectAndDiagnose", {
    itemsPath: "$.incident.items",
    maxConcurrency,
    itemSelector: {
      incidentId: JsonPath.stringAt("$.incident.incidentId"),
      alarmKey: JsonPath.stringAt("$.incident.alarmKey"),
      mode: JsonPath.stringAt("$.mode"),
      target: JsonPath.stringAt("$$.Map.Item.Value.target"),
    },
    resultPath: "$.diagnoses",
  }).itemProcessor(sendProbe.next(probeDone));
}

/** A target whose collection or diagnosis failed: its error, with nulls for what it never got. */
function diagnoseFailed(scope: Construct): Pass {
  // CDK drops literal nulls from Pass `parameters`; nulls come from a Result and are merged in.
  const failed = new Pass(scope, "DiagnoseFailed", {
    parameters: {
      target: JsonPath.stringAt("$.target"),
      error: { name: JsonPath.stringAt("$.error.Error"), message: JsonPath.stringAt("$.error.Cause") },
    },
    resultPath: "$.failed",
  });
  failed
    .next(
      new Pass(scope, "DiagnoseFailedDefaults", {
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
      new Pass(scope, "DiagnoseFailedResult", {
        parameters: {
          merged: JsonPath.jsonMerge(JsonPath.objectAt("$.defaults"), JsonPath.objectAt("$.failed")),
        },
        outputPath: "$.merged",
      }),
    );
  return failed;
}
