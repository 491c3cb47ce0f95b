import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { AttributeType, BillingMode, type ITable, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Match, Rule } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
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
import { LeakWatch, type LeakWatchProps } from "./leak-watch.js";
import { RunbookDocuments } from "./runbook-documents.js";
import { RunbookFunction } from "./runbook-function.js";
import { RunbookInstancePolicy } from "./runbook-instance-policy.js";
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
   * @default ["runbook-autopilot-"]; none when `alarmSelectionTag` is set (the tag alone selects)
   */
  readonly alarmNamePrefixes?: readonly string[];
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
  /** Mode when the input does not say: `plan` (plan only), `approve` (SNS task token), `auto`. @default "approve" */
  readonly defaultMode?: RunbookMode;
  /** Per-target cooldown: no second mitigation of the same instance within this time. @default Duration.minutes(30) */
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
  /** Topic for approvals, escalations and postmortem notices. @default a new KMS-encrypted topic */
  readonly notificationTopic?: ITopic;
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
  /** Probe time budget on the host (SSM parameter `timeoutSeconds`). @default Duration.seconds(60) */
  readonly probeTimeout?: Duration;
  /** How long an approval request waits. @default Duration.hours(1) */
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
  readonly stateMachine: StateMachine;
  readonly bucket: IBucket;
  readonly table: ITable;
  readonly topic: ITopic;
  readonly alarmTopic: ITopic | null;
  readonly documents: RunbookDocuments;
  readonly instancePolicy: RunbookInstancePolicy;
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
    // With a selection tag and no prefixes, the tag alone selects: no name filter at all.
    const prefixes = props.alarmNamePrefixes ?? (selectionTag ? [] : ["runbook-autopilot-"]);
    if (prefixes.length === 0 && !selectionTag)
      throw new Error(
        "alarmNamePrefixes is empty and no alarmSelectionTag is set: every alarm in the account would start the runbook",
      );
    if (prefixes.some((p) => p.length === 0)) throw new Error("alarmNamePrefixes: empty prefix");
    this.alarmNamePrefixes = prefixes;
    this.alarmSelectionTag = selectionTag;
    const optInTag = props.optInTag ?? DEFAULT_OPT_IN_TAG;
    const share = props.fleetBrakeShare ?? 0.5;
    if (!(share > 0 && share <= 1)) throw new Error(`fleetBrakeShare must be in (0, 1], got ${share}`);
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // ---- encryption key for topics (SNS SSE needs a customer managed key for service publishers)
    const key = new Key(this, "Key", {
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
        removalPolicy,
      });
    this.topic =
      props.notificationTopic ?? new Topic(this, "Notifications", { masterKey: key, enforceSSL: true });

    this.documents = new RunbookDocuments(this, "Documents", {
      ...(props.runbooksDir ? { runbooksDir: props.runbooksDir } : {}),
    });
    this.instancePolicy = new RunbookInstancePolicy(this, "InstancePolicy", {
      bucket: this.bucket,
      outputKeyPrefix: SSM_OUTPUT_PREFIX,
    });

    // ---- Lambdas
    const service = props.service ?? {};
    const env: Record<string, string> = {
      ARTIFACT_BUCKET: this.bucket.bucketName,
      INCIDENT_TABLE: this.table.tableName,
      TOPIC_ARN: this.topic.topicArn,
      SSM_DOCUMENTS: stack.toJsonString(this.documents.refs),
      SSM_OUTPUT_PREFIX,
      OPT_IN_TAG: JSON.stringify(optInTag),
      FALLBACK_TAG: props.fallbackTargetTag ? JSON.stringify(props.fallbackTargetTag) : "",
      ALARM_SELECTION_TAG: selectionTag ? JSON.stringify(selectionTag) : "",
      DEFAULT_MODE: props.defaultMode ?? "approve",
      COOLDOWN_SECONDS: String((props.cooldown ?? Duration.minutes(30)).toSeconds()),
      FLEET_BRAKE_SHARE: String(share),
      MAX_TARGETS: String(props.maxTargets ?? 20),
      SERVICE: JSON.stringify({
        port: service.port ?? 8080,
        healthPath: service.healthPath ?? "/health",
        logPath: service.logPath ?? null,
        systemdUnit: service.systemdUnit ?? null,
      }),
      PROBE_TIMEOUT_SECONDS: String((props.probeTimeout ?? Duration.seconds(60)).toSeconds()),
      ALARM_NAME_PREFIXES: prefixes.join(","),
    };
    const fn = (id: string, handlerName: string, description: string, timeout = Duration.seconds(30)) =>
      new RunbookFunction(this, id, {
        handlerName,
        description,
        environment: env,
        timeout,
        logRetention: retention,
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
        actions: ["ec2:DescribeInstances", "elasticloadbalancing:DescribeTargetHealth"],
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
          resources: prefixes.length > 0 ? prefixes.map((p) => alarmArn(`${p}*`)) : [alarmArn("*")],
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
    for (const f of [
      functions.diagnose,
      functions.planMitigation,
      functions.applyMitigation,
      functions.verify,
      functions.writePostmortem,
    ]) {
      add(
        f,
        ...sendCommand,
        readCommand,
        putArtifacts,
        readArtifacts,
        tableItems(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
      );
      this.topic.grantPublish(f);
    }

    // ---- state machine
    const definition = new RunbookDefinition(this, "Definition", {
      functions,
      topic: this.topic,
      maxConcurrency: props.maxConcurrency ?? 5,
      approvalTimeout: props.approvalTimeout ?? Duration.hours(1),
    });
    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition.startState),
      tracingEnabled: true,
      timeout: Duration.hours(6),
      logs: {
        destination: new LogGroup(this, "StateMachineLogs", {
          retention,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: LogLevel.ALL,
        includeExecutionData: true,
      },
    });

    // ---- EventBridge trigger, with a DLQ for events that cannot start an execution
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
          ...(prefixes.length === 0
            ? {}
            : {
                alarmName:
                  prefixes.length === 1
                    ? Match.prefix(prefixes[0] ?? "")
                    : Match.anyOf(...prefixes.map((p) => Match.prefix(p))),
              }),
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
    }).function;
    this.stateMachine.grantStartExecution(ingest);
    this.alarmTopic =
      props.createAlarmTopic === false
        ? null
        : new Topic(this, "AlarmTopic", { masterKey: key, enforceSSL: true });
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
