import type { Command } from "commander";
import { CliError } from "../errors.js";

/**
 * `runbook approve <incident> [--target i-...] [--rung N] [--decline] [--note TEXT]`: answers one rung's
 * approval request of a deployed runbook (mode approve) with YOUR AWS credentials: reads the task token
 * RequestApproval kept in the incident table, asks STS who you are, and sends SendTaskSuccess (or
 * SendTaskFailure `Declined`) with your caller ARN, which the record keeps as the approver. Needs the
 * stack's ApproverPolicyArn (dynamodb:GetItem on `approval#*`, states:SendTaskSuccess/Failure).
 */
export interface ApproveOptions {
  readonly target?: string;
  readonly rung?: number;
  readonly decline?: boolean;
  readonly note?: string;
}

export interface ApproveClients {
  readonly ddb: import("@aws-sdk/client-dynamodb").DynamoDBClient;
  readonly sfn: import("@aws-sdk/client-sfn").SFNClient;
  readonly sts: import("@aws-sdk/client-sts").STSClient;
  readonly tableName: string;
}

export interface ApproveResult {
  readonly target: string;
  /** 1-based, as people see it. */
  readonly rung: number;
  readonly summary: string;
  readonly decision: "approved" | "declined";
  readonly by: string;
}

const INCIDENT_ID = /^inc-[A-Za-z0-9-]{1,120}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** The answer itself, given the clients (the CLI builds them from the environment; tests point them at local servers). */
export async function answerApproval(
  clients: ApproveClients,
  incidentId: string,
  o: ApproveOptions,
): Promise<ApproveResult> {
  if (!INCIDENT_ID.test(incidentId))
    throw new CliError(`incident id: expected inc-<id> (as in the approval request), got '${incidentId}'`, 2);
  if (o.target !== undefined && !INSTANCE_ID.test(o.target))
    throw new CliError(`--target: expected an EC2 instance id i-…, got '${o.target}'`, 2);
  const [{ DynamoApprovalRequests }, { selectRequest, DECLINED_ERROR }, sfn, sts, { awsErrorName }] =
    await Promise.all([
      import("../../lambdas/adapters/aws/approval-requests.js"),
      import("../../lambdas/core/approval/requests.js"),
      import("@aws-sdk/client-sfn"),
      import("@aws-sdk/client-sts"),
      import("../../lambdas/adapters/aws/errors.js"),
    ]);
  const requests = await new DynamoApprovalRequests(clients.ddb, clients.tableName).list(incidentId);
  const chosen = selectRequest(incidentId, requests, {
    ...(o.target ? { target: o.target } : {}),
    ...(o.rung !== undefined ? { rung: o.rung } : {}),
  });
  if (!chosen.ok) throw new CliError(chosen.message, 1);
  const request = chosen.request;
  // Who is answering: the identity of these credentials, not a typed name.
  const who = await clients.sts.send(new sts.GetCallerIdentityCommand({}));
  if (!who.Arn) throw new CliError("STS GetCallerIdentity returned no caller ARN: not answering", 1);
  const note = o.note ?? null;
  try {
    if (o.decline) {
      await clients.sfn.send(
        new sfn.SendTaskFailureCommand({
          taskToken: request.taskToken,
          error: DECLINED_ERROR,
          cause: JSON.stringify({ declinedBy: who.Arn, rung: request.rung, note }),
        }),
      );
    } else {
      await clients.sfn.send(
        new sfn.SendTaskSuccessCommand({
          taskToken: request.taskToken,
          output: JSON.stringify({ approved: true, rung: request.rung, approvedBy: who.Arn, note }),
        }),
      );
    }
  } catch (e) {
    const name = awsErrorName(e);
    if (name === "TaskTimedOut" || name === "TaskDoesNotExist" || name === "InvalidToken")
      throw new CliError(
        `${request.target} rung ${request.rung + 1} of ${incidentId} no longer waits for an answer (${name}): it was answered already or timed out (then it counts as declined)`,
        1,
        { cause: e },
      );
    throw e;
  }
  return {
    target: request.target,
    rung: request.rung + 1,
    summary: request.summary,
    decision: o.decline ? "declined" : "approved",
    by: who.Arn,
  };
}

export function registerApproveCommand(program: Command): void {
  program
    .command("approve")
    .description(
      "Approve (or --decline) one rung of a deployed runbook's mitigation, with your AWS credentials (recorded as the approver).",
    )
    .argument("<incident>", "incident id from the approval request, e.g. inc-20261125-031000-ab12")
    .option("--target <instance>", "the instance, when several wait on the same incident")
    .option("--rung <n>", "the rung number from the approval request (default: the one waiting)")
    .option("--decline", "decline the rung instead (nothing is run; the target ends declined)")
    .option("--note <text>", "a note kept with the answer")
    .option(
      "--table <name>",
      "incident table (default: $RUNBOOK_INCIDENT_TABLE, the stack's IncidentTableName)",
    )
    .action(
      async (
        incident: string,
        o: { target?: string; rung?: string; decline?: boolean; note?: string; table?: string },
      ) => {
        const tableName = o.table ?? process.env.RUNBOOK_INCIDENT_TABLE ?? "";
        if (!tableName)
          throw new CliError(
            "--table: the incident table is needed (the stack output IncidentTableName, or set RUNBOOK_INCIDENT_TABLE)",
            2,
          );
        if (o.rung !== undefined && !/^[1-9]\d{0,2}$/.test(o.rung))
          throw new CliError(`--rung: expected a rung number from 1, got '${o.rung}'`, 2);
        const control = [...(o.note ?? "")].some((c) => c.charCodeAt(0) < 32 && c !== "\t" && c !== "\n");
        if (o.note !== undefined && (o.note.length > 500 || control))
          throw new CliError("--note: up to 500 characters, no control characters", 2);
        const [{ DynamoDBClient }, { SFNClient }, { STSClient }] = await Promise.all([
          import("@aws-sdk/client-dynamodb"),
          import("@aws-sdk/client-sfn"),
          import("@aws-sdk/client-sts"),
        ]);
        const result = await answerApproval(
          { ddb: new DynamoDBClient({}), sfn: new SFNClient({}), sts: new STSClient({}), tableName },
          incident,
          {
            ...(o.target ? { target: o.target } : {}),
            ...(o.rung ? { rung: Number(o.rung) } : {}),
            ...(o.decline ? { decline: true } : {}),
            ...(o.note !== undefined ? { note: o.note } : {}),
          },
        );
        process.stdout.write(
          `${result.decision} ${incident} ${result.target} rung ${result.rung} (${result.summary}) as ${result.by}\n`,
        );
      },
    );
}
