import { ArnFormat, Stack } from "aws-cdk-lib";
import type { IAlarm } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { RunbookTag } from "./api-unreachable-runbook-props.js";
import type { RunbookDocuments } from "./runbook-documents.js";
import type { RunbookStepFunctions } from "./runbook-state-machine.js";

export interface RunbookGrantsProps {
  readonly bucket: IBucket;
  readonly table: ITable;
  readonly topic: ITopic;
  readonly documents: RunbookDocuments;
  /** The SSM OutputS3KeyPrefix the Lambdas read command output from. */
  readonly ssmOutputPrefix: string;
  readonly optInTag: RunbookTag;
  /** Set: ResolveTargets reads the tags of the alarms the rule and the ingest can deliver. */
  readonly alarmSelectionTag: RunbookTag | null;
  readonly alarmNamePrefixes: readonly string[];
  readonly alarms: readonly IAlarm[];
}

/** The statements the step functions share, built once. */
function sharedStatements(stack: Stack, props: RunbookGrantsProps) {
  const { bucket, table, documents, optInTag } = props;
  const incidentObjects = bucket.arnForObjects("incidents/*");
  const ssmObjects = bucket.arnForObjects(`${props.ssmOutputPrefix}/*`);
  return {
    sendCommand: [
      new PolicyStatement({
        sid: "SendProjectDocuments",
        actions: ["ssm:SendCommand"],
        resources: [...documents.documentArns],
      }),
      new PolicyStatement({
        sid: "SendToOptedInInstances",
        actions: ["ssm:SendCommand"],
        resources: [stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" })],
        conditions: { StringEquals: { [`ssm:resourceTag/${optInTag.key}`]: optInTag.value } },
      }),
    ],
    readCommand: new PolicyStatement({
      sid: "ReadCommandResults",
      actions: ["ssm:GetCommandInvocation", "ssm:CancelCommand"],
      resources: ["*"],
    }),
    tableItems: (actions: string[]) =>
      new PolicyStatement({ sid: "IncidentTable", actions, resources: [table.tableArn] }),
    putArtifacts: new PolicyStatement({
      sid: "WriteArtifacts",
      actions: ["s3:PutObject"],
      resources: [incidentObjects],
    }),
    readArtifacts: new PolicyStatement({
      sid: "ReadArtifacts",
      actions: ["s3:GetObject"],
      resources: [incidentObjects, ssmObjects],
    }),
  };
}

/** Each step function's IAM permissions, least privilege: what its workflow step calls, nothing more. */
export function grantRunbookFunctions(functions: RunbookStepFunctions, props: RunbookGrantsProps): void {
  const stack = Stack.of(functions.resolveTargets);
  const { sendCommand, readCommand, tableItems, putArtifacts, readArtifacts } = sharedStatements(
    stack,
    props,
  );
  const add = (f: IFunction, ...statements: PolicyStatement[]) => {
    for (const s of statements) f.addToRolePolicy(s);
  };
  add(
    functions.resolveTargets,
    new PolicyStatement({
      sid: "DescribeTargets",
      actions: [
        "ec2:DescribeInstances",
        "elasticloadbalancing:DescribeTargetHealth",
        "ssm:DescribeInstanceInformation",
      ],
      resources: ["*"],
    }),
  );
  if (props.alarmSelectionTag) add(functions.resolveTargets, readAlarmTags(stack, props));
  add(
    functions.openIncident,
    tableItems(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]),
    putArtifacts,
  );
  add(functions.sendProbe, ...sendCommand);
  add(functions.pollProbe, readCommand, putArtifacts);
  // Per function, what its workflow step calls (the IAM evaluation test records it; docs/aws.md lists
  // what no local run exercises and why it stays). The record is one item per target: PutItem saves
  // it, GetItem loads it; UpdateItem is the conditional target lock (OpenIncident, and the action
  // guard in ApplyMitigation). No function deletes items: the lock is the cooldown and expires.
  // Diagnose reads the probe's output (the full S3 copy when the inline one was cut); only
  // ApplyMitigation and Verify run documents on the host; only ApplyMitigation (escalate rung) and
  // WritePostmortem (closing an escalated record) notify.
  add(functions.diagnose, putArtifacts, readArtifacts, tableItems(["dynamodb:PutItem"]));
  add(functions.planMitigation, putArtifacts, tableItems(["dynamodb:PutItem", "dynamodb:GetItem"]));
  add(
    functions.applyMitigation,
    ...sendCommand,
    readCommand,
    putArtifacts,
    tableItems(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]),
  );
  add(
    functions.verify,
    ...sendCommand,
    readCommand,
    putArtifacts,
    tableItems(["dynamodb:PutItem", "dynamodb:GetItem"]),
  );
  add(functions.writePostmortem, putArtifacts, tableItems(["dynamodb:PutItem", "dynamodb:GetItem"]));
  // FleetBrake reads the groups' health (no resource-level permission for Describe*) and spends the
  // fleet budget (a conditional UpdateItem on `budget#...`).
  add(
    functions.fleetBrake,
    new PolicyStatement({
      sid: "DescribeTargetGroupHealth",
      actions: ["elasticloadbalancing:DescribeTargetHealth"],
      resources: ["*"],
    }),
    tableItems(["dynamodb:UpdateItem"]),
  );
  // RequestApproval appends the rung's task token to `approval#<incident>` (UpdateItem, list_append).
  add(functions.requestApproval, tableItems(["dynamodb:UpdateItem"]));
  for (const f of [functions.applyMitigation, functions.writePostmortem, functions.requestApproval])
    props.topic.grantPublish(f);
}

/** Only the alarms the rule/ingest can deliver: the prefixed and given ones, or all in this account/region. */
function readAlarmTags(stack: Stack, props: RunbookGrantsProps): PolicyStatement {
  const alarmArn = (name: string) =>
    stack.formatArn({
      service: "cloudwatch",
      resource: "alarm",
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  const prefixes = props.alarmNamePrefixes;
  return new PolicyStatement({
    sid: "ReadAlarmTags",
    actions: ["cloudwatch:ListTagsForResource"],
    resources:
      prefixes.length > 0 || props.alarms.length > 0
        ? [...prefixes.map((p) => alarmArn(`${p}*`)), ...props.alarms.map((a) => a.alarmArn)]
        : [alarmArn("*")],
  });
}
