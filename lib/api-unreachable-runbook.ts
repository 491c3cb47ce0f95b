import { CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Match, Rule } from "aws-cdk-lib/aws-events";
import { SfnStateMachine } from "aws-cdk-lib/aws-events-targets";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { ApiUnreachableRunbookProps, RunbookTag } from "./api-unreachable-runbook-props.js";
import { assertExecutionFits, EXECUTION_TIMEOUT } from "./execution-budget.js";
import { LeakWatch } from "./leak-watch.js";
import { acknowledgeRunbookNagFindings } from "./nag-suppressions.js";
import {
  type AlarmSelection,
  type ResolvedRunbookProps,
  resolveRunbookProps,
} from "./resolve-runbook-props.js";
import { RunbookApproverPolicy } from "./runbook-approver-policy.js";
import { RunbookDocuments } from "./runbook-documents.js";
import { RunbookFunction } from "./runbook-function.js";
import { grantRunbookFunctions } from "./runbook-grants.js";
import { runbookHealthAlarms } from "./runbook-health-alarms.js";
import { RunbookInstancePolicy } from "./runbook-instance-policy.js";
import { RunbookDefinition, type RunbookStepFunctions } from "./runbook-state-machine.js";
import { allowCloudWatchAlarms, artifactBucket, incidentTable, topicKey } from "./runbook-storage.js";

export * from "./api-unreachable-runbook-props.js";
export { APPROVAL_RUNGS, worstCaseExecution } from "./execution-budget.js";

const SSM_OUTPUT_PREFIX = "ssm";
/** Time-out of the Lambdas that run documents on the host and wait for them (apply, verify). */
const WORKFLOW_TIMEOUT = Duration.minutes(10);

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
    const r = resolveRunbookProps(props);
    this.alarmNames = r.alarmNames;
    this.alarmNamePrefixes = r.prefixes;
    this.alarmSelectionTag = r.selectionTag;

    // ---- encryption and storage
    const key = topicKey(this, props.encryptionKey, stack.account, r.removalPolicy);
    this.encryptionKey = key;
    this.bucket =
      props.artifactBucket ?? artifactBucket(this, props.artifactRetentionDays ?? 400, r.removalPolicy);
    this.table = props.incidentTable ?? incidentTable(this, r.removalPolicy);
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

    // ---- Lambdas, least privilege per function
    const environment = this.lambdaEnvironment(props, r);
    const lambda = { environment, logRetention: r.logRetention, runbookFiles: r.runbook.files };
    const functions = this.stepFunctions(lambda);
    grantRunbookFunctions(functions, {
      bucket: this.bucket,
      table: this.table,
      topic: this.topic,
      documents: this.documents,
      ssmOutputPrefix: SSM_OUTPUT_PREFIX,
      optInTag: r.optInTag,
      alarmSelectionTag: r.selectionTag,
      alarmNamePrefixes: r.prefixes,
      alarms: props.alarms ?? [],
    });

    // ---- state machine (bounded: the postmortem is always written before the time limit)
    this.stateMachine = this.stateMachineOf(functions, props, r);
    // The state machine publishes to the topic itself (approval requests, notices). SnsPublish grants
    // sns:Publish only: an encrypted topic also needs its key, or every SNS task fails on AWS.
    this.topic.masterKey?.grant(this.stateMachine, "kms:GenerateDataKey*", "kms:Decrypt");
    this.approverPolicy = new RunbookApproverPolicy(this, "ApproverPolicy", { table: this.table });

    // ---- triggers: EventBridge rule and SNS alarm notifications → the same state machine input
    this.eventsDeadLetterQueue = this.deadLetterQueue("EventsDlq");
    this.rule = this.alarmRule(r);
    const ingest = this.alarmIngest(props, lambda);
    this.alarmTopic = ingest.alarmTopic;
    this.functions = { ...functions, snsAlarmIngest: ingest.function };
    this.leakWatch = props.leakWatch
      ? new LeakWatch(this, "LeakWatch", {
          instanceTag: r.optInTag,
          port: props.service?.port ?? 8080,
          topic: this.topic,
          ...(props.leakWatch === true ? {} : props.leakWatch),
        })
      : null;

    // ---- the runbook's own health
    this.healthAlarms = this.ownHealthAlarms(ingest);
    // CloudWatch publishes these alarms to the notification topic as the service: allow it for this
    // account (a topic you pass in needs the same statement in its own policy, and its key too).
    allowCloudWatchAlarms(this.topic, stack.account);
    // Every cdk-nag finding the construct accepts, acknowledged on its own resources with the reason:
    // a user's app running AwsSolutionsChecks sees none of them, and nothing else is hidden.
    acknowledgeRunbookNagFindings(this);
  }

  /** The environment every runbook Lambda gets: where things are, and the resolved settings. */
  private lambdaEnvironment(
    props: ApiUnreachableRunbookProps,
    o: ResolvedRunbookProps,
  ): Record<string, string> {
    const stack = Stack.of(this);
    const service = props.service ?? {};
    return {
      ARTIFACT_BUCKET: this.bucket.bucketName,
      INCIDENT_TABLE: this.table.tableName,
      TOPIC_ARN: this.topic.topicArn,
      SSM_DOCUMENTS: stack.toJsonString(this.documents.refs),
      SSM_OUTPUT_PREFIX,
      OPT_IN_TAG: JSON.stringify(o.optInTag),
      FALLBACK_TAG: props.fallbackTargetTag ? JSON.stringify(props.fallbackTargetTag) : "",
      ALARM_SELECTION_TAG: this.alarmSelectionTag ? JSON.stringify(this.alarmSelectionTag) : "",
      DEFAULT_MODE: o.settings.mode,
      COOLDOWN_SECONDS: String(o.settings.cooldownSeconds),
      FLEET_BRAKE_SHARE: String(o.fleetBrakeShare),
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
      PROBE_TIMEOUT_SECONDS: String(o.settings.probe.timeoutSeconds),
      ALARM_NAME_PREFIXES: this.alarmNamePrefixes.join(","),
      ALARM_NAMES: stack.toJsonString(this.alarmNames),
      APPROVAL_TIMEOUT_SECONDS: String(o.approvalTimeout.toSeconds()),
    };
  }

  /** The Lambdas the state machine's tasks call, one per workflow step. */
  private stepFunctions(lambda: LambdaSettings): RunbookStepFunctions {
    const fn = (id: string, handlerName: string, description: string, timeout = Duration.seconds(30)) =>
      new RunbookFunction(this, id, { handlerName, description, timeout, ...lambda }).function;
    return {
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
        WORKFLOW_TIMEOUT,
      ),
      requestApproval: fn(
        "RequestApproval",
        "request-approval",
        "runbook: keep a rung's task token, ask for approval",
      ),
      verify: fn("Verify", "verify", "runbook: verify recovery via SSM", WORKFLOW_TIMEOUT),
      writePostmortem: fn(
        "WritePostmortem",
        "write-postmortem",
        "runbook: postmortem to S3",
        Duration.minutes(2),
      ),
    };
  }

  /** The Standard state machine, refused at synth when its worst case could outlast the time limit. */
  private stateMachineOf(
    functions: RunbookStepFunctions,
    props: ApiUnreachableRunbookProps,
    o: ResolvedRunbookProps,
  ): StateMachine {
    const maxConcurrency = props.maxConcurrency ?? 5;
    assertExecutionFits({
      maxTargets: props.maxTargets ?? 20,
      maxConcurrency,
      probe: Duration.seconds(o.settings.probe.timeoutSeconds),
      approval: o.approvalTimeout,
      workflow: WORKFLOW_TIMEOUT,
    });
    const definition = new RunbookDefinition(this, "Definition", {
      functions,
      topic: this.topic,
      maxConcurrency,
      approvalTimeout: o.approvalTimeout,
    });
    return new StateMachine(this, "StateMachine", {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition.startState),
      tracingEnabled: true,
      timeout: EXECUTION_TIMEOUT,
      logs: {
        destination: new LogGroup(this, "StateMachineLogs", {
          retention: o.logRetention,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        // Event types and state names only: execution data would put task tokens (the approval
        // request's input) and evidence summaries into CloudWatch Logs.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }

  /** The EventBridge trigger, with a DLQ for events that cannot start an execution. */
  private alarmRule(selection: AlarmSelection): Rule {
    const { selectionTag, prefixes, alarmNames } = selection;
    const nameFilter: unknown[] = [...prefixes.map((p) => Match.prefix(p)), ...alarmNames];
    const rule = new Rule(this, "AlarmRule", {
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
            : // EventBridge takes only arrays (or objects) as values: one exact name is ["name"], never "name".
              { alarmName: nameFilter.length === 1 ? [nameFilter[0]].flat() : Match.anyOf(...nameFilter) }),
        },
      },
    });
    rule.addTarget(
      new SfnStateMachine(this.stateMachine, {
        deadLetterQueue: this.eventsDeadLetterQueue,
        maxEventAge: Duration.hours(24),
        retryAttempts: 185,
      }),
    );
    return rule;
  }

  /** SNS alarm notifications (the alarm topic it creates, and `alarmTopics`) → an execution. */
  private alarmIngest(props: ApiUnreachableRunbookProps, lambda: LambdaSettings) {
    const deadLetterQueue = this.deadLetterQueue("IngestDlq");
    const ingest = new RunbookFunction(this, "SnsAlarmIngest", {
      handlerName: "sns-alarm-ingest",
      description: "runbook: SNS alarm notification → state machine execution",
      ...lambda,
      environment: { ...lambda.environment, STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      deadLetterQueue,
    }).function;
    this.stateMachine.grantStartExecution(ingest);
    const alarmTopic =
      props.createAlarmTopic === false
        ? null
        : new Topic(this, "AlarmTopic", { masterKey: this.encryptionKey, enforceSSL: true });
    // CloudWatch publishes alarm actions as the service: the topic must allow it, for this account's
    // alarms only (the enforceSSL statement is a Deny and grants nothing).
    if (alarmTopic) allowCloudWatchAlarms(alarmTopic, Stack.of(this).account);
    const subscriptionDeadLetterQueue = this.deadLetterQueue("SubscriptionDlq");
    for (const t of [...(alarmTopic ? [alarmTopic] : []), ...(props.alarmTopics ?? [])]) {
      t.addSubscription(new LambdaSubscription(ingest, { deadLetterQueue: subscriptionDeadLetterQueue }));
    }
    return { function: ingest, alarmTopic, deadLetterQueue, subscriptionDeadLetterQueue };
  }

  /** The runbook's own health: failed or timed-out executions, anything in a DLQ → the topic. */
  private ownHealthAlarms(ingest: { deadLetterQueue: Queue; subscriptionDeadLetterQueue: Queue }): Alarm[] {
    return runbookHealthAlarms(this, {
      stateMachine: this.stateMachine,
      topic: this.topic,
      deadLetterQueues: [
        ["EventsDlqNotEmpty", this.eventsDeadLetterQueue, "alarm events that could not start an execution"],
        [
          "IngestDlqNotEmpty",
          ingest.deadLetterQueue,
          "SNS alarm notifications the ingest function failed on",
        ],
        [
          "SubscriptionDlqNotEmpty",
          ingest.subscriptionDeadLetterQueue,
          "SNS could not deliver alarm notifications to the ingest function",
        ],
      ],
    });
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
      Stack.of(this).toJsonString({
        ...this.documents.refs,
        ...(this.leakWatch ? { "leak-watch": this.leakWatch.documentRef } : {}),
      }),
      "Set as RUNBOOK_SSM_DOCUMENTS to run the runbook from a laptop: runbook run api-unreachable --target ssm:i-... (and runbook watch, with the leak watch on)",
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

/** What every runbook Lambda shares. */
interface LambdaSettings {
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly runbookFiles: ResolvedRunbookProps["runbook"]["files"];
}
