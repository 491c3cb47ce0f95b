import type { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { IAlarm } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { LeakWatchProps } from "./leak-watch.js";
import type { RunbookOverride } from "./runbook-override.js";

/** A tag key/value pair. */
export interface RunbookTag {
  readonly key: string;
  readonly value: string;
}

/** The JVM service on the instances. */
export interface RunbookServiceProps {
  /** Application TCP port. @default 8080 */
  readonly port?: number;
  /** Local health path. @default "/health" */
  readonly healthPath?: string;
  /** Application log to scan for `Too many open files`. @default none */
  readonly logPath?: string;
  /** systemd unit restart-service may restart; without it the ladder has no restart rung. @default none */
  readonly systemdUnit?: string;
}

export type RunbookMode = "plan" | "approve" | "auto";

export interface ApiUnreachableRunbookProps {
  /**
   * Alarms whose name starts with one of these start the runbook (EventBridge rule and SNS ingest filter).
   * @default ["runbook-autopilot-"]; none when `alarms` or `alarmSelectionTag` is given
   */
  readonly alarmNamePrefixes?: readonly string[];
  /**
   * Alarms that start the runbook, given as objects (`new Alarm(...)` or `Alarm.fromAlarmArn(...)`),
   * selected by exact name alongside `alarmNamePrefixes`: an alarm passes the name filter when it is one
   * of these or carries one of the prefixes. With `alarmSelectionTag` set, these must carry the tag too.
   * @default [] (selection by prefix and/or tag only)
   */
  readonly alarms?: readonly IAlarm[];
  /**
   * Only alarms carrying this tag start an incident. EventBridge alarm events carry no tags, so
   * ResolveTargets reads the alarm's tags (`cloudwatch:ListTagsForResource`, granted on the account's
   * alarms in this region, or only on the prefixed ones when `alarmNamePrefixes` is also given); an
   * alarm without the tag ends the execution as not selected (no incident, no notification), unreadable
   * tags escalate. With this set and no `alarmNamePrefixes`, the rule and the SNS ingest let every alarm
   * entering ALARM through (the tag is the filter); with both, an alarm needs the prefix and the tag.
   * @default none (alarms are selected by name prefix only)
   */
  readonly alarmSelectionTag?: RunbookTag;
  /**
   * Opt-in tag: only instances carrying it are probed or mitigated. Enforced twice: target resolution
   * filters on it, and IAM allows `ssm:SendCommand` only on instances with it (`ssm:resourceTag`).
   * @default { key: "runbook-autopilot:enabled", value: "true" }
   */
  readonly optInTag?: RunbookTag;
  /**
   * Finds targets when the alarm has neither an `InstanceId` nor a `TargetGroup` dimension
   * (DescribeInstances on this tag, intersected with the opt-in tag).
   * @default none: such alarms notify "no target" and stop
   */
  readonly fallbackTargetTag?: RunbookTag;
  /**
   * Mode when the input does not say: `plan` (plan only), `approve` (SNS task token), `auto`.
   * @default the runbook's `mitigation.defaults.mode` (`plan` in the shipped runbook)
   */
  readonly defaultMode?: RunbookMode;
  /**
   * Per-target cooldown: no second mitigation of the same instance within this time.
   * @default the runbook's `mitigation.defaults.cooldownSeconds` (30 minutes in the shipped runbook)
   */
  readonly cooldown?: Duration;
  /** Targets handled in parallel in each Map state. @default 5 */
  readonly maxConcurrency?: number;
  /**
   * Upper bound on targets per incident; also the most instances a manual start
   * (`{"instances": [...]}` as the execution input) may name. @default 20
   */
  readonly maxTargets?: number;
  /**
   * Brake: when one failure class is on more than this share of the group's instances, escalate instead
   * of mitigating. In (0, 1]. @default 0.5
   */
  readonly fleetBrakeShare?: number;
  /**
   * Target groups (ARNs) the fleet brake checks besides an alarm's own `TargetGroup` dimension: with
   * per-instance alarms, the groups their instances serve in. The brake never acts on the last healthy
   * targets of a group (`fleetMinHealthy`) and counts the share against the whole group. @default none
   */
  readonly fleetTargetGroups?: string[];
  /** Healthy targets that must stay untouched in each group. @default 1 */
  readonly fleetMinHealthy?: number;
  /**
   * Fleet-wide budget across executions: at most `max` targets mitigated per target group and failure
   * class per `window` (conditional writes in the incident table). @default { max: 3, window: 1 hour }
   */
  readonly fleetBudget?: { readonly max: number; readonly window: Duration };
  /**
   * An existing topic for approvals, escalations and postmortem notices. When it is encrypted, import it
   * with its key (`Topic.fromTopicAttributes({ topicArn, keyArn })`) so the state machine and the Lambdas
   * are granted `kms:GenerateDataKey*`/`kms:Decrypt` on that key; your key policy must allow this
   * account's principals (the default key policy does).
   * @default a new topic encrypted with `encryptionKey`
   */
  readonly topic?: ITopic;
  /**
   * @deprecated use `topic`
   * @default none
   */
  readonly notificationTopic?: ITopic;
  /**
   * An existing customer managed KMS key for the SNS topics this construct creates (SNS needs a customer
   * managed key so CloudWatch can publish alarms to an encrypted topic). Its key policy must let
   * `cloudwatch.amazonaws.com` use it (`kms:Decrypt`, `kms:GenerateDataKey*`, condition
   * `aws:SourceAccount`) when alarms publish to the alarm topic: the construct adds that statement to
   * a key it creates, and cannot change the policy of an imported key. The bucket, table and queues use
   * AWS managed encryption (SSE-S3, DynamoDB and SQS managed keys).
   * @default a new key with rotation
   */
  readonly encryptionKey?: IKey;
  /** Bucket for evidence, SSM output and postmortems. @default a new encrypted, versioned bucket */
  readonly artifactBucket?: IBucket;
  /** Incident table (string partition key `pk`, TTL attribute `expiresAt`). @default a new on-demand table */
  readonly incidentTable?: ITable;
  /** Existing SNS topics your alarms notify; each gets the ingest function subscribed. @default [] */
  readonly alarmTopics?: readonly ITopic[];
  /** Create a KMS-encrypted SNS topic CloudWatch alarms can use as an action. @default true */
  readonly createAlarmTopic?: boolean;
  /** The service on the instances. @default { port: 8080, healthPath: "/health" } */
  readonly service?: RunbookServiceProps;
  /**
   * Probe time budget on the host (SSM parameter `timeoutSeconds`).
   * @default the runbook's `probe.timeoutSeconds` (30 s in the shipped runbook)
   */
  readonly probeTimeout?: Duration;
  /**
   * How long each rung's approval request waits (mode approve asks once per destructive rung; no answer
   * = declined and escalated). @default Duration.minutes(20): two rungs per target, four waves of
   * targets, within the 6 h execution limit
   */
  readonly approvalTimeout?: Duration;
  /** Log retention for the Lambdas and the state machine. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** Days before artifacts expire. @default 400 */
  readonly artifactRetentionDays?: number;
  /** Folder holding probes/ and actions/ scripts. @default the repository's runbooks/ */
  readonly runbooksDir?: string;
  /** Removal policy of the bucket and table this construct creates. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Your changes to the shipped api-unreachable runbook (thresholds, ladders, modes, probe settings,
   * redaction...): a YAML/JSON file path (relative to the working directory) or an object. Merged over
   * the shipped runbook (mappings by key, classes/hypotheses/variants by id, `null` removes) and
   * validated at synth time; the Lambdas get the resolved runbook. The override's
   * `mitigation.defaults.mode` / `cooldownSeconds` apply when `defaultMode` / `cooldown` are not set.
   * See docs/runbook-overrides.md.
   * @default the shipped runbook unchanged
   */
  readonly runbook?: string | RunbookOverride;
  /**
   * The scheduled leak watch on the opted-in instances (lib/leak-watch.ts); `true` for its defaults.
   * @default false
   */
  readonly leakWatch?: boolean | Partial<Omit<LeakWatchProps, "instanceTag" | "port" | "topic">>;
}

export const DEFAULT_OPT_IN_TAG: RunbookTag = { key: "runbook-autopilot:enabled", value: "true" };
