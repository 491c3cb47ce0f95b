import { createHash } from "node:crypto";
import { StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { Context } from "aws-lambda";
import { awsErrorName } from "../adapters/aws/errors.js";
import {
  dedupeKeyOf,
  normalizeSnsAlarm,
  snsAlarmMessageSchema,
  snsEventSchema,
} from "../core/events/alarm-event.js";
import { alarmNameMatches } from "../core/events/resolve-targets.js";
import { instrument, logger, metrics } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env } from "./wiring.js";
import { sfnClient } from "./wiring-sfn.js";

/**
 * SNS alarm notifications → the same state machine input as the EventBridge rule. The execution name is
 * derived from the dedupe key, so SNS redeliveries are refused by Step Functions itself
 * (`ExecutionAlreadyExists`) before the DynamoDB dedupe even runs. Invoked asynchronously by SNS:
 * failures go to the function's dead-letter queue.
 */
export const handler = instrument("SnsAlarmIngest", async (event: unknown, _context: Context) => {
  const { Records } = parseInput("SnsAlarmIngest", snsEventSchema, event);
  const e = env();
  const started: string[] = [];
  for (const record of Records) {
    let json: unknown;
    try {
      json = JSON.parse(record.Sns.Message);
    } catch {
      logger.warn("SNS message is not JSON; not an alarm notification", { messageId: record.Sns.MessageId });
      continue;
    }
    const parsed = snsAlarmMessageSchema.safeParse(json);
    if (!parsed.success) {
      logger.warn("SNS message is not a CloudWatch alarm", { messageId: record.Sns.MessageId });
      continue;
    }
    const alarm = normalizeSnsAlarm(parsed.data);
    if (alarm.state !== "ALARM" || !alarmNameMatches(alarm.alarmName, e.ALARM_NAME_PREFIXES, e.ALARM_NAMES))
      continue;
    const dedupeKey = dedupeKeyOf(alarm);
    const name = `sns-${createHash("sha256").update(dedupeKey).digest("hex").slice(0, 60)}`;
    try {
      const out = await sfnClient().send(
        new StartExecutionCommand({
          stateMachineArn: e.STATE_MACHINE_ARN,
          name,
          input: JSON.stringify({ alarm }),
        }),
      );
      started.push(out.executionArn ?? name);
    } catch (err) {
      if (awsErrorName(err) !== "ExecutionAlreadyExists") throw err;
      metrics.addMetric("DuplicateAlarm", "Count", 1);
      logger.info("duplicate SNS alarm delivery", { dedupeKey });
    }
  }
  return { started };
});
