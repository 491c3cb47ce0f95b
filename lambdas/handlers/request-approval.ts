import { PublishCommand } from "@aws-sdk/client-sns";
import * as z from "zod";
import { DynamoApprovalRequests } from "../adapters/aws/approval-requests.js";
import { incidentIdSchema, instanceIdSchema } from "./inputs.js";
import { instrument, logger } from "./instrument.js";
import { parseInput } from "./parse.js";
import { env, systemClock } from "./wiring.js";
import { ddbClient } from "./wiring-dynamo.js";
import { snsClient } from "./wiring-sns.js";

const inputSchema = z.object({
  incidentId: incidentIdSchema,
  target: instanceIdSchema,
  classId: z.string().nullable().default(null),
  planKey: z.string().min(1),
  /** 0-based rung of the ladder that waits for a yes (ApplyMitigation's `awaitingRung`). */
  rung: z.number().int().nonnegative(),
  summary: z.string().nullable().default(null),
  /** `$$.Task.Token` of this `.waitForTaskToken` task. */
  taskToken: z.string().min(1),
});

/**
 * RequestApproval (`lambda:invoke.waitForTaskToken`): keeps the task token with the incident so
 * `runbook approve` can answer it with the approver's own IAM credentials, then asks people on the
 * notification topic. The token is not in the message: answering needs `states:SendTaskSuccess` on the
 * state machine anyway, and the command names the incident, target and rung instead.
 */
export const handler = instrument("RequestApproval", async (event: unknown) => {
  const input = parseInput("RequestApproval", inputSchema, event);
  const e = env();
  const now = systemClock.now();
  const expiresAt = new Date(now.getTime() + e.APPROVAL_TIMEOUT_SECONDS * 1000).toISOString();
  const rung = input.rung + 1;
  const summary = input.summary ?? `rung ${rung}`;
  await new DynamoApprovalRequests(ddbClient(), e.INCIDENT_TABLE).add(input.incidentId, {
    target: input.target,
    rung: input.rung,
    summary,
    taskToken: input.taskToken,
    requestedAt: now.toISOString(),
    expiresAt,
  });
  const cmd = `runbook approve ${input.incidentId} --target ${input.target} --rung ${rung}`;
  await snsClient().send(
    new PublishCommand({
      TopicArn: e.TOPIC_ARN,
      Subject: `runbook-autopilot: approval needed (${input.target}, rung ${rung})`.slice(0, 100),
      Message: JSON.stringify({
        kind: "approval-request",
        incidentId: input.incidentId,
        target: input.target,
        classId: input.classId,
        rung,
        summary,
        planKey: input.planKey,
        expiresAt,
        approve: cmd,
        decline: `${cmd} --decline`,
        note: "No answer by expiresAt counts as declined and is escalated.",
      }),
    }),
  );
  logger.info("approval requested", { incidentId: input.incidentId, target: input.target, rung });
  return { requested: true, rung: input.rung, expiresAt };
});
