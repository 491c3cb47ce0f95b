import { Duration } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { JitterType, JsonPath, TaskInput, type TaskStateBase } from "aws-cdk-lib/aws-stepfunctions";
import { LambdaInvoke, SnsPublish } from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";

/** Throttling and transient errors of the SNS integration (the publish never happened: safe to retry). */
export const SNS_RETRYABLE_ERRORS = [
  "SNS.ThrottledException",
  "SNS.KMSThrottlingException",
  "SNS.InternalErrorException",
  "SNS.SdkClientException",
];

/** Retries errors that mean the call never ran, with full jitter. */
export const retryThrottled = (errors: string[]) => ({
  errors,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  jitterStrategy: JitterType.FULL,
});

/** A step's Lambda, given `payload`; its result at `resultPath` (default: replaces the state). */
export function invokeStep(
  scope: Construct,
  sid: string,
  fn: IFunction,
  payload: Record<string, unknown>,
  resultPath?: string,
): LambdaInvoke {
  const task = new LambdaInvoke(scope, sid, {
    lambdaFunction: fn,
    payload: TaskInput.fromObject(payload),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    ...(resultPath ? { resultPath } : {}),
  });
  // Lambda's concurrency limit answers TooManyRequests: the invocation never ran, retry it.
  task.addRetry(retryThrottled(["Lambda.TooManyRequestsException"]));
  return task;
}

/** A notice on the topic, published by the state machine itself; the state passes through unchanged. */
export function publishNotice(
  scope: Construct,
  topic: ITopic,
  sid: string,
  subject: string,
  message: Record<string, unknown>,
): TaskStateBase {
  return new SnsPublish(scope, sid, {
    topic,
    subject,
    message: TaskInput.fromObject(message),
    resultPath: JsonPath.DISCARD,
  }).addRetry(retryThrottled(SNS_RETRYABLE_ERRORS));
}

/** The fields naming one target of one incident, in a Map iteration's state. */
export function targetFields() {
  return {
    incidentId: JsonPath.stringAt("$.incidentId"),
    target: JsonPath.stringAt("$.target"),
  };
}
