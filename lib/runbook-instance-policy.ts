import { Effect, ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

export interface RunbookInstancePolicyProps {
  /** The artifact bucket SSM writes command output to. */
  readonly bucket: IBucket;
  /** The SSM OutputS3KeyPrefix the Lambdas use. @default "ssm" */
  readonly outputKeyPrefix?: string;
}

/**
 * What the EC2 instance profile needs on top of `AmazonSSMManagedInstanceCore` for runbook-autopilot:
 * SSM Agent uploads command output to S3 with the INSTANCE's credentials, so the instance role needs
 * s3:PutObject on `<bucket>/<prefix>/*` (and nothing else of ours). Attach it to your instance role.
 */
export class RunbookInstancePolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: RunbookInstancePolicyProps) {
    super(scope, id);
    const prefix = (props.outputKeyPrefix ?? "ssm").replace(/^\/+|\/+$/g, "");
    this.policy = new ManagedPolicy(this, "Policy", {
      description:
        "runbook-autopilot: lets SSM Agent upload Run Command output to the artifact bucket prefix",
      statements: [
        new PolicyStatement({
          sid: "RunbookCommandOutput",
          effect: Effect.ALLOW,
          actions: ["s3:PutObject"],
          resources: [props.bucket.arnForObjects(`${prefix}/*`)],
        }),
        new PolicyStatement({
          sid: "RunbookBucketLocation",
          effect: Effect.ALLOW,
          actions: ["s3:GetEncryptionConfiguration"],
          resources: [props.bucket.bucketArn],
        }),
      ],
    });
  }
}
