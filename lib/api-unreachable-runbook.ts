import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IAlarm,
  type Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, type ITable, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Match, Rule } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { resolveRunSettings } from "../lambdas/core/settings/run-settings.js";
import { LeakWatch, type LeakWatchProps } from "./leak-watch.js";
import { acknowledgeRunbookNagFindings } from "./nag-suppressions.js";
import { RUNBOOKS_DIR } from "./paths.js";
import { RunbookApproverPolicy } from "./runbook-approver-policy.js";
import { RunbookDocuments } from "./runbook-documents.js";
import { RunbookFunction } from "./runbook-function.js";
import { RunbookInstancePolicy } from "./runbook-instance-policy.js";
import { type RunbookOverride, resolveConstructRunbook } from "./runbook-override.js";
import { RunbookDefinition, type RunbookStepFunctions } from "./runbook-state-machine.js";

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
const SSM_OUTPUT_PREFIX = "ssm";

/**
 * The api-unreachable runbook on AWS: CloudWatch alarm (EventBridge or SNS) → Step Functions (Standard)
 * → SSM Run Command of the project's documents on opted-in instances → evidence, diagnosis, guarded
 * mitigation and postmortem in S3/DynamoDB, notifications on SNS. No business logic here: the Lambdas
 * call the same workflows the CLI runs.
 */
export class ApiUnreachableRunbook extends Construct {
  /** The runbook's Standard state machine (grant `states:StartExecution` on it for manual starts). */
  readonly stateMachine: StateMachine;
  /** Evidence, SSM output and postmortems (created, or the `artifactBucket` given). */
  readonly bucket: IBucket;
  /** Incidents, dedupe markers and target locks (created, or the `incidentTable` given). */
  readonly table: ITable;
  /** Approvals, escalations and postmortem notices (created, or the `topic` given). */
  readonly topic: ITopic;
  /** The key of the topics this construct creates (created, or the `encryptionKey` given). */
  readonly encryptionKey: IKey;
  /** Alarms on the runbook itself (failed/timed-out executions, non-empty DLQs), acting on `topic`. */
  readonly healthAlarms: readonly Alarm[];
  /** The exact alarm names selected besides the prefixes (from `alarms`). */
  readonly alarmNames: readonly string[];
  readonly alarmTopic: ITopic | null;
  readonly documents: RunbookDocuments;
  readonly instancePolicy: RunbookInstancePolicy;
  /** Attach to the people who answer approvals (`runbook approve`). */
  readonly approverPolicy: RunbookApproverPolicy;
  readonly rule: Rule;
  readonly functions: Readonly<Record<keyof RunbookStepFunctions | "snsAlarmIngest", IFunction>>;
  readonly eventsDeadLetterQueue: Queue;
  /** The alarm-name prefixes in force (empty: every alarm, the selection tag filters). */
  readonly alarmNamePrefixes: readonly string[];
  /** The alarm selection tag, or null when alarms are selected by name prefix only. */
  readonly alarmSelectionTag: RunbookTag | null;
  /** The scheduled leak watch, when enabled (`leakWatch`). */
  readonly leakWatch: LeakWatch | null;

  constructor(scope: Construct, id: string, props: ApiUnreachableRunbookProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const selectionTag = props.alarmSelectionTag ?? null;
    if (selectionTag && !selectionTag.key) throw new Error("alarmSelectionTag needs a key");
    const alarmNames = (props.alarms ?? []).map((a) => a.alarmName);
    // Given alarms or a selection tag and no prefixes: no prefix filter (names and/or the tag select).
    const prefixes =
      props.alarmNamePrefixes ?? (selectionTag || alarmNames.length > 0 ? [] : ["runbook-autopilot-"]);
    if (prefixes.length === 0 && alarmNames.length === 0 && !selectionTag)
      throw new Error(
        "alarmNamePrefixes is empty and neither alarms nor alarmSelectionTag is given: every alarm in the account would start the runbook",
      );
    if (props.topic && props.notificationTopic)
      throw new Error("give topic or notificationTopic (deprecated), not both");
    this.alarmNames = alarmNames;
    if (prefixes.some((p) => p.length === 0)) throw new Error("alarmNamePrefixes: empty prefix");
    this.alarmNamePrefixes = prefixes;
    this.alarmSelectionTag = selectionTag;
    const optInTag = props.optInTag ?? DEFAULT_OPT_IN_TAG;
    const share = props.fleetBrakeShare ?? 0.5;
    if (!(share > 0 && share <= 1)) throw new Error(`fleetBrakeShare must be in (0, 1], got ${share}`);
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const runbook = resolveConstructRunbook("api-unreachable", RUNBOOKS_DIR, props.runbook);
    // One resolver (lambdas/core/settings): the runbook (with its override) holds the defaults, the
    // props win; the Lambdas get the resolved values.
    const settings = resolveRunSettings(runbook.doc, {
      mode: props.defaultMode,
      cooldownSeconds: props.cooldown?.toSeconds(),
      probeTimeoutSeconds: props.probeTimeout?.toSeconds(),
    });

    // ---- encryption key for topics (SNS SSE needs a customer managed key for service publishers)
    const key =
      props.encryptionKey ??
      new Key(this, "Key", {
        description: "runbook-autopilot: SNS topics",
        enableKeyRotation: true,
        removalPolicy,
      });
    this.encryptionKey = key;
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarmsToPublish",
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    );

    const allowCloudWatchAlarms = (topic: ITopic) =>
      topic.addToResourcePolicy(
        new PolicyStatement({
          sid: "AllowCloudWatchAlarmsOfThisAccount",
          principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["sns:Publish"],
          resources: [topic.topicArn],
          conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
        }),
      );

    // ---- storage
    if (props.artifactBucket) {
      this.bucket = props.artifactBucket;
    } else {
      const accessLogs = new Bucket(this, "AccessLogs", {
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
        versioned: true,
        lifecycleRules: [{ expiration: Duration.days(props.artifactRetentionDays ?? 400) }],
        removalPolicy,
      });
      this.bucket = new Bucket(this, "Artifacts", {
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        versioned: true,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: "artifacts/",
        lifecycleRules: [
          {
            expiration: Duration.days(props.artifactRetentionDays ?? 400),
            noncurrentVersionExpiration: Duration.days(30),
            abortIncompleteMultipartUploadAfter: Duration.days(7),
          },
        ],
        removalPolicy,
      });
    }
    this.table =
      props.incidentTable ??
      new Table(this, "Incidents", {
        partitionKey: { name: "pk", type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        timeToLiveAttribute: "expiresAt",
        deletionProtection: true,
        removalPolicy,
      });
    this.topic =
      props.topic ??
      props.notificationTopic ??
      new Topic(this, "Notifications", { masterKey: key, enforceSSL: true });

    this.documents = new RunbookDocuments(this, "Documents", {
      ...(props.runbooksDir ? { runbooksDir: props.runbooksDir } : {}),
    });
    this.instancePolicy = new RunbookInstancePolicy(this, "InstancePolicy", {
      bucket: this.bucket,
      outputKeyPrefix: SSM_OUTPUT_PREFIX,
    });

    // ---- Lambdas
    const service = props.service ?? {};
    const approvalTimeout = props.approvalTimeout ?? Duration.minutes(20);
    const env: Record<string, string> = {
      ARTIFACT_BUCKET: this.bucket.bucketName,
      INCIDENT_TABLE: this.table.tableName,
      TOPIC_ARN: this.topic.topicArn,
      SSM_DOCUMENTS: stack.toJsonString(this.documents.refs),
      SSM_OUTPUT_PREFIX,
      OPT_IN_TAG: JSON.stringify(optInTag),
      FALLBACK_TAG: props.fallbackTargetTag ? JSON.stringify(props.fallbackTargetTag) : "",
      ALARM_SELECTION_TAG: selectionTag ? JSON.stringify(selectionTag) : "",
      DEFAULT_MODE: settings.mode,
      COOLDOWN_SECONDS: String(settings.cooldownSeconds),
      FLEET_BRAKE_SHARE: String(share),
      FLEET_TARGET_GROUPS: JSON.stringify(props.fleetTargetGroups ?? []),
      FLEET_MIN_HEALTHY: String(props.fleetMinHealthy ?? 1),
      FLEET_BUDGET: String(props.fleetBudget?.max ?? 3),
      FLEET_BUDGET_WINDOW_SECONDS: String((props.fleetBudget?.window ?? Duration.hours(1)).toSeconds()),
      MAX_TARGETS: String(props.maxTargets ?? 20),
      SERVICE: JSON.stringify({
        port: service.port ?? 8080,
        healthPath: service.healthPath ?? "/health",
        logPath: service.logPath ?? null,
        systemdUnit: service.systemdUnit ?? null,
      }),
      PROBE_TIMEOUT_SECONDS: String(settings.probe.timeoutSeconds),
      ALARM_NAME_PREFIXES: prefixes.join(","),
      ALARM_NAMES: stack.toJsonString(alarmNames),
      APPROVAL_TIMEOUT_SECONDS: String(approvalTimeout.toSeconds()),
    };
    const fn = (id: string, handlerName: string, description: string, timeout = Duration.seconds(30)) =>
      new RunbookFunction(this, id, {
        handlerName,
        description,
        environment: env,
        timeout,
        logRetention: retention,
        runbookFiles: runbook.files,
      }).function;
    const workflowTimeout = Duration.minutes(10);
    const functions = {
      resolveTargets: fn("ResolveTargets", "resolve-targets", "runbook: alarm → target instances"),
      openIncident: fn("OpenIncident", "open-incident", "runbook: open incident once, per-target cooldown"),
      sendProbe: fn("SendProbe", "send-probe", "runbook: SSM SendCommand of the probe document"),
      pollProbe: fn("PollProbe", "poll-probe", "runbook: one GetCommandInvocation of the probe"),
      diagnose: fn("Diagnose", "diagnose", "runbook: evidence → diagnosis", Duration.minutes(2)),
      fleetBrake: fn("FleetBrake", "fleet-brake", "runbook: fleet brake decision"),
      planMitigation: fn("PlanMitigation", "plan-mitigation", "runbook: mitigation plan"),
      applyMitigation: fn(
        "ApplyMitigation",
        "apply-mitigation",
        "runbook: apply the ladder via SSM",
        workflowTimeout,
      ),
      requestApproval: fn(
        "RequestApproval",
        "request-approval",
        "runbook: keep a rung's task token, ask for approval",
      ),
      verify: fn("Verify", "verify", "runbook: verify recovery via SSM", workflowTimeout),
      writePostmortem: fn(
        "WritePostmortem",
        "write-postmortem",
        "runbook: postmortem to S3",
        Duration.minutes(2),
      ),
    } satisfies RunbookStepFunctions;

    // ---- IAM, least privilege per function
    const incidentObjects = this.bucket.arnForObjects("incidents/*");
    const ssmObjects = this.bucket.arnForObjects(`${SSM_OUTPUT_PREFIX}/*`);
    const sendCommand = [
      new PolicyStatement({
        sid: "SendProjectDocuments",
        actions: ["ssm:SendCommand"],
        resources: [...this.documents.documentArns],
      }),
      new PolicyStatement({
        sid: "SendToOptedInInstances",
        actions: ["ssm:SendCommand"],
        resources: [stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" })],
        conditions: { StringEquals: { [`ssm:resourceTag/${optInTag.key}`]: optInTag.value } },
      }),
    ];
    const readCommand = new PolicyStatement({
      sid: "ReadCommandResults",
      actions: ["ssm:GetCommandInvocation", "ssm:CancelCommand"],
      resources: ["*"],
    });
    const tableItems = (actions: string[]) =>
      new PolicyStatement({ sid: "IncidentTable", actions, resources: [this.table.tableArn] });
    const putArtifacts = new PolicyStatement({
      sid: "WriteArtifacts",
      actions: ["s3:PutObject"],
      resources: [incidentObjects],
    });
    const readArtifacts = new PolicyStatement({
      sid: "ReadArtifacts",
      actions: ["s3:GetObject"],
      resources: [incidentObjects, ssmObjects],
    });
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
    if (selectionTag) {
      // Only the alarms the rule/ingest can deliver: the prefixed ones, or all in this account/region.
      const alarmArn = (name: string) =>
        stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
      add(
        functions.resolveTargets,
        new PolicyStatement({
          sid: "ReadAlarmTags",
          actions: ["cloudwatch:ListTagsForResource"],
          resources:
            prefixes.length > 0 || alarmNames.length > 0
              ? [...prefixes.map((p) => alarmArn(`${p}*`)), ...(props.alarms ?? []).map((a) => a.alarmArn)]
              : [alarmArn("*")],
        }),
      );
    }
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
      this.topic.grantPublish(f);

    // ---- state machine (bounded: the postmortem is always written before the time limit)
    const maxConcurrency = props.maxConcurrency ?? 5;
    const maxTargets = props.maxTargets ?? 20;
    const executionTimeout = Duration.hours(6);
    const worstCase = worstCaseExecution({
      waves: Math.ceil(maxTargets / maxConcurrency),
      probe: Duration.seconds(settings.probe.timeoutSeconds),
      approval: approvalTimeout,
      approvalRungs: APPROVAL_RUNGS,
      workflow: workflowTimeout,
    });
    if (worstCase.toSeconds() > executionTimeout.toSeconds())
      throw new Error(
        `maxTargets ${maxTargets} in waves of maxConcurrency ${maxConcurrency}, with approvalTimeout ${approvalTimeout.toHumanString()} per rung (${APPROVAL_RUNGS} rungs), may take ${worstCase.toHumanString()}: over the execution time limit (${executionTimeout.toHumanString()}), so the postmortem could be cut off. Lower approvalTimeout or maxTargets, or raise maxConcurrency.`,
      );
    const definition = new RunbookDefinition(this, "Definition", {
      functions,
      topic: this.topic,
      maxConcurrency,
      approvalTimeout,
    });
    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition.startState),
      tracingEnabled: true,
      timeout: executionTimeout,
      logs: {
        destination: new LogGroup(this, "StateMachineLogs", {
          retention,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        // Event types and state names only: execution data would put task tokens (the approval
        // request's input) and evidence summaries into CloudWatch Logs.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });

    // The state machine publishes to the topic itself (approval requests, notices). SnsPublish grants
    // sns:Publish only: an encrypted topic also needs its key, or every SNS task fails on AWS.
    this.topic.masterKey?.grant(this.stateMachine, "kms:GenerateDataKey*", "kms:Decrypt");
    this.approverPolicy = new RunbookApproverPolicy(this, "ApproverPolicy", { table: this.table });

    // ---- EventBridge trigger, with a DLQ for events that cannot start an execution
    const nameFilter: unknown[] = [...prefixes.map((p) => Match.prefix(p)), ...alarmNames];
    this.eventsDeadLetterQueue = this.deadLetterQueue("EventsDlq");
    this.rule = new Rule(this, "AlarmRule", {
      description: selectionTag
        ? `runbook-autopilot: CloudWatch alarms entering ALARM (tag ${selectionTag.key}=${selectionTag.value} checked by ResolveTargets) → api-unreachable runbook`
        : "runbook-autopilot: CloudWatch alarms entering ALARM → api-unreachable runbook",
      eventPattern: {
        source: ["aws.cloudwatch"],
        detailType: ["CloudWatch Alarm State Change"],
        detail: {
          state: { value: ["ALARM"] },
          ...(nameFilter.length === 0
            ? {}
            : { alarmName: nameFilter.length === 1 ? nameFilter[0] : Match.anyOf(...nameFilter) }),
        },
      },
    });
    this.rule.addTarget(
      new SfnStateMachine(this.stateMachine, {
        deadLetterQueue: this.eventsDeadLetterQueue,
        maxEventAge: Duration.hours(24),
        retryAttempts: 185,
      }),
    );

    // ---- SNS alarm notifications → same state machine input
    const ingestDlq = this.deadLetterQueue("IngestDlq");
    const ingest = new RunbookFunction(this, "SnsAlarmIngest", {
      handlerName: "sns-alarm-ingest",
      description: "runbook: SNS alarm notification → state machine execution",
      environment: { ...env, STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      logRetention: retention,
      deadLetterQueue: ingestDlq,
      runbookFiles: runbook.files,
    }).function;
    this.stateMachine.grantStartExecution(ingest);
    this.alarmTopic =
      props.createAlarmTopic === false
        ? null
        : new Topic(this, "AlarmTopic", { masterKey: key, enforceSSL: true });
    // CloudWatch publishes alarm actions as the service: the topic must allow it, for this account's
    // alarms only (the enforceSSL statement is a Deny and grants nothing).
    if (this.alarmTopic) allowCloudWatchAlarms(this.alarmTopic);
    const subscriptionDlq = this.deadLetterQueue("SubscriptionDlq");
    for (const t of [...(this.alarmTopic ? [this.alarmTopic] : []), ...(props.alarmTopics ?? [])]) {
      t.addSubscription(new LambdaSubscription(ingest, { deadLetterQueue: subscriptionDlq }));
    }
    this.functions = { ...functions, snsAlarmIngest: ingest };
    this.leakWatch = props.leakWatch
      ? new LeakWatch(this, "LeakWatch", {
          instanceTag: optInTag,
          port: service.port ?? 8080,
          topic: this.topic,
          ...(props.leakWatch === true ? {} : props.leakWatch),
        })
      : null;

    // ---- the runbook's own health: failed or timed-out executions, anything in a DLQ → the topic
    const healthAlarm = (id: string, metric: Metric, description: string) => {
      const a = new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `runbook-autopilot: ${description}`,
      });
      a.addAlarmAction(new SnsAction(this.topic));
      return a;
    };
    const period = Duration.minutes(5);
    this.healthAlarms = [
      healthAlarm(
        "ExecutionsFailed",
        this.stateMachine.metricFailed({ period, statistic: "Sum" }),
        "a runbook execution failed (see its escalation notice and the execution history)",
      ),
      healthAlarm(
        "ExecutionsTimedOut",
        this.stateMachine.metricTimedOut({ period, statistic: "Sum" }),
        "a runbook execution hit its time limit",
      ),
      ...[
        ["EventsDlqNotEmpty", this.eventsDeadLetterQueue, "alarm events that could not start an execution"],
        ["IngestDlqNotEmpty", ingestDlq, "SNS alarm notifications the ingest function failed on"],
        [
          "SubscriptionDlqNotEmpty",
          subscriptionDlq,
          "SNS could not deliver alarm notifications to the ingest function",
        ],
      ].map(([id, q, what]) =>
        healthAlarm(
          String(id),
          (q as Queue).metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
          `dead-letter queue not empty: ${what}`,
        ),
      ),
    ];
    // CloudWatch publishes these alarms to the notification topic as the service: allow it for this
    // account (a topic you pass in needs the same statement in its own policy, and its key too).
    allowCloudWatchAlarms(this.topic);
    // Every cdk-nag finding the construct accepts, acknowledged on its own resources with the reason:
    // a user's app running AwsSolutionsChecks sees none of them, and nothing else is hidden.
    acknowledgeRunbookNagFindings(this);
  }

  private deadLetterQueue(id: string): Queue {
    return new Queue(this, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }

  /** Stack outputs for operators (names a deploy prints). */
  addOutputs(scope: Construct): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(scope, id, { value, description });
    out("StateMachineArn", this.stateMachine.stateMachineArn, "The runbook state machine");
    out("ArtifactBucketName", this.bucket.bucketName, "Evidence, SSM output and postmortems");
    out("IncidentTableName", this.table.tableName, "Incidents, dedupe markers and target locks");
    out("NotificationTopicArn", this.topic.topicArn, "Approvals, escalations, postmortem notices");
    if (this.alarmTopic)
      out("AlarmTopicArn", this.alarmTopic.topicArn, "Use as a CloudWatch alarm action (SNS path)");
    out("ProbeDocumentName", this.documents.probe.ref, "SSM Command document of the probe");
    out(
      "SsmDocuments",
      Stack.of(this).toJsonString(this.documents.refs),
      "Set as RUNBOOK_SSM_DOCUMENTS to run the runbook from a laptop: runbook run api-unreachable --target ssm:i-...",
    );
    out(
      "ApproverPolicyArn",
      this.approverPolicy.policy.managedPolicyArn,
      "Attach to the people who answer approvals with `runbook approve`",
    );
    out(
      "InstancePolicyArn",
      this.instancePolicy.policy.managedPolicyArn,
      "Attach to the instance role of opted-in instances",
    );
    out(
      "EventsDeadLetterQueueUrl",
      this.eventsDeadLetterQueue.queueUrl,
      "Alarm events that could not start an execution",
    );
  }
}

/**
 * Destructive rungs a ladder may ask approval for, one after the other (the api-unreachable ladders:
 * kill-idle-connections, restart-service; test/unit/cdk/template.test.ts checks the runbook against it).
 */
export const APPROVAL_RUNGS = 2;

/**
 * The longest an execution can take: per wave of `maxConcurrency` targets, the probe (its time-out,
 * the polling grace, Diagnose), then per target plan, per rung the approval wait and its apply, and
 * verify; plus the postmortem, resolution and Lambda retries on throttling.
 */
export function worstCaseExecution(o: {
  waves: number;
  probe: Duration;
  approval: Duration;
  approvalRungs: number;
  workflow: Duration;
}): Duration {
  const collect = o.probe.toSeconds() + 120 + 120;
  const mitigate =
    30 + o.approvalRungs * (o.approval.toSeconds() + o.workflow.toSeconds()) + o.workflow.toSeconds();
  const fixed = 60 + 60 + 120 + 600; // resolve, open, postmortem, retries on throttling
  return Duration.seconds(o.waves * (collect + mitigate) + fixed);
}
