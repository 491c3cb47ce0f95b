import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";

/**
 * The key of the topics (SNS SSE needs a customer managed key for service publishers): the one given,
 * or a new one with rotation. CloudWatch alarms of `account` may use it to publish (a no-op on an
 * imported key, whose policy the construct cannot change).
 */
export function topicKey(
  scope: Construct,
  given: IKey | undefined,
  account: string,
  removalPolicy: RemovalPolicy,
): IKey {
  const key =
    given ??
    new Key(scope, "Key", {
      description: "runbook-autopilot: SNS topics",
      enableKeyRotation: true,
      removalPolicy,
    });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "AllowCloudWatchAlarmsToPublish",
      principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      conditions: { StringEquals: { "aws:SourceAccount": account } },
    }),
  );
  return key;
}

/** CloudWatch publishes alarm actions as the service: lets the alarms of `account` publish to `topic`. */
export function allowCloudWatchAlarms(topic: ITopic, account: string): void {
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "AllowCloudWatchAlarmsOfThisAccount",
      principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: { StringEquals: { "aws:SourceAccount": account } },
    }),
  );
}

/** The artifact bucket (SSE-S3, versioned, TLS only), logging its access to its own log bucket. */
export function artifactBucket(
  scope: Construct,
  retentionDays: number,
  removalPolicy: RemovalPolicy,
): Bucket {
  const accessLogs = new Bucket(scope, "AccessLogs", {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    versioned: true,
    lifecycleRules: [{ expiration: Duration.days(retentionDays) }],
    removalPolicy,
  });
  return new Bucket(scope, "Artifacts", {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    versioned: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "artifacts/",
    lifecycleRules: [
      {
        expiration: Duration.days(retentionDays),
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
    removalPolicy,
  });
}

/** The incident table: string partition key `pk`, TTL on `expiresAt`, on demand, PITR, protected. */
export function incidentTable(scope: Construct, removalPolicy: RemovalPolicy): Table {
  return new Table(scope, "Incidents", {
    partitionKey: { name: "pk", type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: "expiresAt",
    deletionProtection: true,
    removalPolicy,
  });
}
