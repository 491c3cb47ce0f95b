import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { CfnSchedule } from "aws-cdk-lib/aws-scheduler";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { CfnDocument } from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { readRunbookScript } from "../lambdas/workflows/runbook-files.js";
import { LEAK_WATCH_SCRIPT } from "../lambdas/workflows/watch.js";
import { documentCommands } from "./document-script.js";
import { RUNBOOKS_DIR } from "./paths.js";
import type { DocumentRef } from "./runbook-documents.js";
import { RunbookFunction } from "./runbook-function.js";

export interface LeakWatchProps {
  /** Instances carrying this tag are sampled (SSM `Targets` by tag). */
  readonly instanceTag: { readonly key: string; readonly value: string };
  /** The application port on the instances. */
  readonly port: number;
  /** Where notices and the alarm go. */
  readonly topic: ITopic;
  /** How often the fleet is sampled (EventBridge Scheduler expression). @default "rate(5 minutes)" */
  readonly scheduleExpression?: string;
  /** SSM MaxConcurrency of one sampling round. @default "10%" */
  readonly maxConcurrency?: string;
  /** SSM MaxErrors of one sampling round. @default "10%" */
  readonly maxErrors?: string;
  /** Alarm and notify when a resource runs out within this. @default Duration.hours(24) */
  readonly horizon?: Duration;
  /** Samples kept per instance for the forecast (288 = a day at 5 minutes). @default 288 */
  readonly maxSamples?: number;
  /** Idle threshold of the socket count, ms. @default 120000 */
  readonly idleThresholdMs?: number;
  /** CloudWatch namespace of the metrics. @default "RunbookAutopilot/LeakWatch" */
  readonly namespace?: string;
  /** @default "runbook-autopilot-leak-watch" */
  readonly serviceName?: string;
  readonly logRetention?: RetentionDays;
  /** Removal policy of the history table. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const STEP = "sample";

/**
 * The histogram's parameters: whether to take one, and the WebSocket session classes to count in it, by
 * default the shipped runbook's (`probe.sessionClasses`).
 */
function histogramParameters<P>(param: (description: string, def: string, allowedPattern: string) => P) {
  const doc = parseRunbook(
    readFileSync(join(RUNBOOKS_DIR, "api-unreachable.yaml"), "utf8"),
    "api-unreachable.yaml",
  );
  if (!doc.ok) throw new Error(`the shipped runbook does not load: ${doc.error.message}`);
  return {
    withHistogram: param("Count WebSocket sessions (forces a full GC)", "false", "^(true|false)$"),
    sessionClasses: param(
      "WebSocket session classes to count, space-separated (the runbook's probe.sessionClasses)",
      (doc.value.probe.sessionClasses ?? []).map((c) => c.className).join(" "),
      "^([A-Za-z_][A-Za-z0-9_$.]{0,200}( [A-Za-z_][A-Za-z0-9_$.]{0,200}){0,19})?$",
    ),
  };
}

/**
 * The scheduled leak watch: EventBridge Scheduler runs the cheap leak-watch probe through SSM Run
 * Command on every tagged instance (Targets by tag, MaxConcurrency, MaxErrors); each successful
 * invocation's status-change event reaches a Lambda that forecasts from the instance's history and
 * publishes `OpenFds`, `FdLimit`, `EstablishedOnPort`, `IdleEstablished`, `HeapOldGenPercent` and
 * `HoursToExhaustion` per instance as EMF; an alarm fires when the fleet's lowest `HoursToExhaustion`
 * drops below the horizon, and the Lambda sends the instance's forecast, likely class and plan-mode command.
 */
export class LeakWatch extends Construct {
  readonly document: CfnDocument;
  readonly schedule: CfnSchedule;
  readonly table: Table;
  readonly function: RunbookFunction;
  readonly rule: Rule;
  readonly alarm: Alarm;
  readonly namespace: string;
  /** The document as `runbook watch --target ssm:` calls it (the stack output SsmDocuments carries it). */
  readonly documentRef: DocumentRef;

  constructor(scope: Construct, id: string, props: LeakWatchProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const namespace = props.namespace ?? "RunbookAutopilot/LeakWatch";
    const serviceName = props.serviceName ?? "runbook-autopilot-leak-watch";
    const horizonHours = (props.horizon ?? Duration.hours(24)).toHours();
    this.namespace = namespace;
    if (!props.instanceTag.key) throw new Error("LeakWatch: instanceTag needs a key");

    const script = readRunbookScript(RUNBOOKS_DIR, LEAK_WATCH_SCRIPT);
    if (script.includes("{{")) throw new Error('leak-watch.sh contains "{{": SSM would interpolate it');
    const param = (description: string, def: string, allowedPattern: string) => ({
      type: "String",
      description,
      default: def,
      allowedPattern,
      interpolationType: "ENV_VAR",
    });
    this.document = new CfnDocument(this, "Document", {
      documentType: "Command",
      documentFormat: "JSON",
      updateMethod: "NewVersion",
      content: {
        schemaVersion: "2.2",
        description:
          "runbook-autopilot leak watch: one cheap sample (fds, sockets on the port, old gen). Changes nothing.",
        parameters: {
          port: param("Application TCP port", String(props.port), "^[0-9]{1,5}$"),
          pid: param("JVM PID (empty: the listener of the port)", "", "^([1-9][0-9]{0,9})?$"),
          idleThresholdMs: param(
            "Idle threshold, ms",
            String(props.idleThresholdMs ?? 120_000),
            "^[0-9]{1,10}$",
          ),
          ...histogramParameters(param),
        },
        mainSteps: [
          {
            action: "aws:runShellScript",
            name: STEP,
            precondition: { StringEquals: ["platformType", "Linux"] },
            inputs: { timeoutSeconds: "60", runCommand: documentCommands(script, "leak-watch") },
          },
        ],
      },
    });
    const documentArn = stack.formatArn({
      service: "ssm",
      resource: "document",
      resourceName: this.document.ref,
    });

    this.documentRef = { documentName: this.document.ref, step: STEP, script: LEAK_WATCH_SCRIPT };
    this.table = new Table(this, "History", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.schedule = this.sampleSchedule(props, documentArn);
    this.function = this.sampleFunction(props, { namespace, serviceName, horizonHours });
    this.rule = this.sampleRule();
    this.alarm = this.exhaustionAlarm(props, { namespace, serviceName, horizonHours });
  }

  /** The schedule: SendCommand by tag, through the Scheduler's universal target. */
  private sampleSchedule(props: LeakWatchProps, documentArn: string): CfnSchedule {
    const stack = Stack.of(this);
    const schedulerRole = new Role(this, "SchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description: "runbook-autopilot leak watch: send the leak-watch document to tagged instances",
    });
    schedulerRole.addToPolicy(
      new PolicyStatement({ actions: ["ssm:SendCommand"], resources: [documentArn] }),
    );
    schedulerRole.addToPolicy(
      new PolicyStatement({
        actions: ["ssm:SendCommand"],
        resources: [stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" })],
        conditions: {
          StringEquals: { [`ssm:resourceTag/${props.instanceTag.key}`]: props.instanceTag.value },
        },
      }),
    );
    return new CfnSchedule(this, "Schedule", {
      description: "runbook-autopilot: sample tagged instances for the leak watch",
      scheduleExpression: props.scheduleExpression ?? "rate(5 minutes)",
      flexibleTimeWindow: { mode: "OFF" },
      state: "ENABLED",
      target: {
        arn: "arn:aws:scheduler:::aws-sdk:ssm:sendCommand",
        roleArn: schedulerRole.roleArn,
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 300 },
        input: stack.toJsonString({
          DocumentName: this.document.ref,
          Targets: [{ Key: `tag:${props.instanceTag.key}`, Values: [props.instanceTag.value] }],
          MaxConcurrency: props.maxConcurrency ?? "10%",
          MaxErrors: props.maxErrors ?? "10%",
          TimeoutSeconds: 60,
          Comment: "runbook-autopilot leak watch",
        }),
      },
    });
  }

  /** The Lambda: one invocation per instance sample. */
  private sampleFunction(props: LeakWatchProps, o: Tuning): RunbookFunction {
    const sample = new RunbookFunction(this, "Sample", {
      handlerName: "leak-watch",
      description: "runbook-autopilot leak watch: forecast from each sample, EMF metrics, notices",
      serviceName: o.serviceName,
      metricsNamespace: o.namespace,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        HISTORY_TABLE: this.table.tableName,
        TOPIC_ARN: props.topic.topicArn,
        WATCH_PORT: String(props.port),
        HORIZON_HOURS: String(o.horizonHours),
        MAX_SAMPLES: String(props.maxSamples ?? 288),
        SAMPLE_STEP: STEP,
      },
    });
    const fn = sample.function;
    this.table.grantReadWriteData(fn);
    props.topic.grantPublish(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ["ssm:GetCommandInvocation"],
        resources: ["*"], // GetCommandInvocation supports no resource-level permissions
      }),
    );
    return sample;
  }

  /** Each successful sample's status-change event → the Lambda. */
  private sampleRule(): Rule {
    return new Rule(this, "Invocations", {
      description: "runbook-autopilot leak watch: each successful sample",
      eventPattern: {
        source: ["aws.ssm"],
        detailType: ["EC2 Command Invocation Status-change Notification"],
        detail: { "document-name": [this.document.ref], status: ["Success"] },
      },
      targets: [new LambdaFunction(this.function.function, { retryAttempts: 2 })],
    });
  }

  /** The alarm: the fleet's lowest HoursToExhaustion under the horizon. */
  private exhaustionAlarm(props: LeakWatchProps, o: Tuning): Alarm {
    const every = sampleInterval(props.scheduleExpression ?? "rate(5 minutes)");
    const alarm = new Alarm(this, "HoursToExhaustion", {
      alarmDescription: [
        `A resource of an instance tagged ${props.instanceTag.key}=${props.instanceTag.value} will run out within ${o.horizonHours} h.`,
        "The leak watch's notice on the same topic names the instance, the forecast and the likely class (websocket-session-leak when the fds are ESTABLISHED sockets on the port).",
        `Look first (changes nothing): npx runbook run api-unreachable --target ssm:<instance-id> --port ${props.port} --mode plan`,
      ].join(" "),
      metric: new Metric({
        namespace: o.namespace,
        metricName: "HoursToExhaustion",
        dimensionsMap: { service: o.serviceName },
        statistic: "Minimum",
        period: every?.period ?? Duration.minutes(5),
      }),
      threshold: o.horizonHours,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // One period per sampling round, so a period without a sample is only an empty gap between rounds.
      // A cron schedule has no fixed interval: an empty period then keeps the alarm's state (no flapping).
      treatMissingData: every ? TreatMissingData.NOT_BREACHING : TreatMissingData.IGNORE,
    });
    alarm.addAlarmAction(new SnsAction(props.topic));
    return alarm;
  }
}

/** The metrics' namespace and service dimension, and the horizon in hours. */
interface Tuning {
  readonly namespace: string;
  readonly serviceName: string;
  readonly horizonHours: number;
}

/**
 * The alarm's period for a `rate(...)` schedule: the interval between sampling rounds, in whole minutes
 * (CloudWatch periods are multiples of 60 s), at most a day. Null for `cron(...)`/`at(...)` (no fixed interval).
 * A 5-minute period on a 15-minute schedule saw no data two periods in three and flapped ALARM/OK.
 */
export function sampleInterval(expression: string): { period: Duration } | null {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const minutes = m[2]?.startsWith("minute") ? n : m[2]?.startsWith("hour") ? n * 60 : n * 1440;
  return { period: Duration.minutes(Math.min(Math.max(minutes, 1), 1440)) };
}
