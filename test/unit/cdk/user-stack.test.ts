import { App, Duration, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Alarm, ComparisonOperator, Metric } from "aws-cdk-lib/aws-cloudwatch";
import { AccountRootPrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { ApiUnreachableRunbook } from "../../../lib/api-unreachable-runbook.js";

/**
 * The construct in a user's own CDK app, the way the README shows it: two existing alarms given as
 * objects (one created in the stack, one imported by ARN), the team's existing notifications topic and
 * KMS key, and the user's own wiring on the exposed properties. cdk-nag's AwsSolutions pack must find
 * nothing the construct has not acknowledged itself (the user adds no suppressions).
 *
 * cdk-nag 3 runs as a CDK validation plugin (`Validations.of(app).addPlugins(...)`); the cdk-nag 2
 * idiom `Aspects.of(app).add(new AwsSolutionsChecks())` no longer exists (NagPack is not an IAspect).
 */
function userApp() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, "PlatformStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const key = new Key(stack, "TeamKey", { enableKeyRotation: true });
  const topic = new Topic(stack, "OpsTopic", { masterKey: key, enforceSSL: true });
  const created = new Alarm(stack, "Api5xx", {
    alarmName: "orders-api-5xx",
    metric: new Metric({ namespace: "Orders", metricName: "5xx", period: Duration.minutes(1) }),
    threshold: 10,
    evaluationPeriods: 2,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
  });
  const imported = Alarm.fromAlarmArn(
    stack,
    "Unhealthy",
    "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-unhealthy-hosts",
  );
  const runbook = new ApiUnreachableRunbook(stack, "Runbook", {
    alarms: [created, imported],
    topic,
    encryptionKey: key,
    defaultMode: "plan",
  });
  // the user's own wiring on the exposed properties
  new Topic(stack, "Audit", { masterKey: key, enforceSSL: true });
  runbook.bucket.grantRead(new AccountRootPrincipal());
  return { app, stack, runbook, key, topic };
}

describe("the construct in a user's CDK app", () => {
  it("exposes stateMachine, topic, bucket and table; uses the given topic and key, creating neither", () => {
    const { stack, runbook, key, topic } = userApp();
    expect(runbook.topic).toBe(topic);
    expect(runbook.encryptionKey).toBe(key);
    expect(runbook.stateMachine.stateMachineArn).toBeDefined();
    expect(runbook.bucket.bucketName).toBeDefined();
    expect(runbook.table.tableName).toBeDefined();
    const t = Template.fromStack(stack);
    t.resourceCountIs("AWS::KMS::Key", 1); // the team's, no construct key
    // the team's topic + the audit topic + the construct's alarm topic
    t.resourceCountIs("AWS::SNS::Topic", 3);
    const topics = Object.values(t.findResources("AWS::SNS::Topic"));
    for (const x of topics) expect(JSON.stringify(x.Properties.KmsMasterKeyId)).toContain("TeamKey");
  });

  it("selects the given alarms by exact name in the EventBridge rule and the SNS ingest filter", () => {
    const { stack } = userApp();
    const t = Template.fromStack(stack);
    const rule = Object.values(t.findResources("AWS::Events::Rule"))[0] as {
      Properties: { EventPattern: { detail: { alarmName: unknown } } };
    };
    expect(rule.Properties.EventPattern.detail.alarmName).toEqual([
      { Ref: expect.stringMatching(/^Api5xx/) },
      "orders-api-unhealthy-hosts",
    ]);
    const ingest = Object.values(t.findResources("AWS::Lambda::Function")).find((f) =>
      JSON.stringify(f).includes("STATE_MACHINE_ARN"),
    ) as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(ingest.Properties.Environment.Variables.ALARM_NAME_PREFIXES).toBe("");
    expect(JSON.stringify(ingest.Properties.Environment.Variables.ALARM_NAMES)).toContain(
      "orders-api-unhealthy-hosts",
    );
  });

  it("passes cdk-nag AwsSolutions with no suppression from the user: validateScope and synth", () => {
    const { app } = userApp();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
    // the plugin registered on the app runs at synth and would throw on a finding
    expect(() => app.synth()).not.toThrow();
  });

  it("refuses a probeTimeout not above the runbook's health time-out (the probe would refuse its inputs)", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "S");
    expect(
      () =>
        new ApiUnreachableRunbook(stack, "R", {
          probeTimeout: Duration.seconds(5),
          runbook: { probe: { healthTimeoutSeconds: 5 } },
        }),
    ).toThrow("probeTimeout (5 s) must be above the runbook's probe.healthTimeoutSeconds (5 s)");
  });

  it("refuses no prefixes, no alarms and no selection tag (every alarm would start the runbook)", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "S");
    expect(() => new ApiUnreachableRunbook(stack, "R", { alarmNamePrefixes: [] })).toThrow(
      /neither alarms nor alarmSelectionTag/,
    );
  });
});
