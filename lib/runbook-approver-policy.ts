import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

export interface RunbookApproverPolicyProps {
  /** The incident table, where RequestApproval keeps each rung's task token (`approval#<incident>`). */
  readonly table: ITable;
}

/**
 * What a person (or their SSO permission set) needs to answer approvals with `runbook approve`: read the
 * incident's approval requests (the `approval#...` items only) and send the task's success or failure
 * for the token read there. The caller ARN recorded as approver comes from STS GetCallerIdentity, which
 * needs no permission. Attach it to the on-call role; CloudTrail keeps the authoritative record of who
 * called SendTaskSuccess.
 */
export class RunbookApproverPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: RunbookApproverPolicyProps) {
    super(scope, id);
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "runbook-autopilot: answer per-rung approval requests (runbook approve)",
      statements: [
        new PolicyStatement({
          sid: "ReadApprovalRequests",
          effect: Effect.ALLOW,
          actions: ["dynamodb:GetItem"],
          resources: [props.table.tableArn],
          conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["approval#*"] } },
        }),
        // IAM has no resource type for these two actions (the Service Authorization Reference, and the
        // IAM evaluation test, require "*"): the task token is the scope, and it is readable only from
        // this stack's `approval#*` items above.
        new PolicyStatement({
          sid: "AnswerApprovals",
          effect: Effect.ALLOW,
          actions: ["states:SendTaskSuccess", "states:SendTaskFailure"],
          resources: ["*"],
        }),
      ],
    });
  }
}
