import { Duration } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleInterval } from "../../../lib/leak-watch.js";
import { synthRunbook } from "./synth.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** A template value with CloudFormation functions rendered as placeholders (`<Ref:Id>`). */
function render(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as Record<string, unknown>;
  if (o.Ref) return `<Ref:${String(o.Ref)}>`;
  if (o["Fn::Join"]) {
    const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
    return parts.map(render).join(sep);
  }
  if (o["Fn::GetAtt"]) return `<GetAtt:${(o["Fn::GetAtt"] as string[]).join(".")}>`;
  return JSON.stringify(v);
}

describe("leak watch (ApiUnreachableRunbook leakWatch: true)", () => {
  let template: Template;
  let resources: Resources;
  beforeAll(() => {
    template = synthRunbook({ runbook: { leakWatch: true, service: { port: 8443 } } }).template;
    resources = template.toJSON().Resources as Resources;
  });
  const docId = () =>
    Object.entries(resources).find(
      ([id, r]) => r.Type === "AWS::SSM::Document" && id.includes("LeakWatch"),
    )?.[0] as string;

  it("schedules SendCommand of the leak-watch document on the opted-in instances, by tag, with MaxConcurrency and MaxErrors", () => {
    template.resourceCountIs("AWS::Scheduler::Schedule", 1);
    const schedule = Object.values(resources).find(
      (r) => r.Type === "AWS::Scheduler::Schedule",
    ) as unknown as {
      Properties: { ScheduleExpression: string; Target: { Arn: string; Input: unknown; RoleArn: unknown } };
    };
    expect(schedule.Properties.ScheduleExpression).toBe("rate(5 minutes)");
    expect(schedule.Properties.Target.Arn).toBe("arn:aws:scheduler:::aws-sdk:ssm:sendCommand");
    expect(JSON.parse(render(schedule.Properties.Target.Input).replace(/<Ref:[^>]+>/, "DOC"))).toEqual({
      DocumentName: "DOC",
      Targets: [{ Key: "tag:runbook-autopilot:enabled", Values: ["true"] }],
      MaxConcurrency: "10%",
      MaxErrors: "10%",
      TimeoutSeconds: 60,
      Comment: "runbook-autopilot leak watch",
    });
    expect(render(schedule.Properties.Target.Input)).toContain(`<Ref:${docId()}>`);
    // The document runs the leak-watch probe with ENV_VAR parameters, port defaulting to the service's.
    const doc = resources[docId()] as unknown as {
      Properties: {
        Content: {
          parameters: Record<string, unknown>;
          mainSteps: { name: string; inputs: { runCommand: string[] } }[];
        };
      };
    };
    expect(doc.Properties.Content.parameters.port).toMatchObject({
      default: "8443",
      interpolationType: "ENV_VAR",
    });
    expect(doc.Properties.Content.mainSteps[0]?.inputs.runCommand[0]).toBe("#!/usr/bin/env bash");
    expect(doc.Properties.Content.mainSteps[0]?.name).toBe("sample");
  });

  it("lets the scheduler send only that document, and only to instances with the tag", () => {
    const policies = Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy");
    const statements = policies.flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    const send = statements.filter(
      (s) => s.Action === "ssm:SendCommand" && render(s.Resource).includes("instance/*") && s.Condition,
    );
    expect(send.map((s) => s.Condition)).toContainEqual({
      StringEquals: { "ssm:resourceTag/runbook-autopilot:enabled": "true" },
    });
  });

  it("routes each successful sample to the leak-watch Lambda, which publishes EMF metrics in its namespace", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.ssm"],
        "detail-type": ["EC2 Command Invocation Status-change Notification"],
        detail: { "document-name": [{ Ref: docId() }], status: ["Success"] },
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_METRICS_NAMESPACE: "RunbookAutopilot/LeakWatch",
          POWERTOOLS_SERVICE_NAME: "runbook-autopilot-leak-watch",
          WATCH_PORT: "8443",
          HORIZON_HOURS: "24",
          MAX_SAMPLES: "288",
          SAMPLE_STEP: "sample",
        }),
      },
    });
  });

  it("alarms when the fleet's lowest HoursToExhaustion is under 24 h, on the notification topic, with the plan command", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "RunbookAutopilot/LeakWatch",
      MetricName: "HoursToExhaustion",
      Dimensions: [{ Name: "service", Value: "runbook-autopilot-leak-watch" }],
      Statistic: "Minimum",
      Threshold: 24,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [{ Ref: Match.stringLikeRegexp("^ApiUnreachableNotifications") }],
      AlarmDescription: Match.stringLikeRegexp(
        "npx runbook run api-unreachable --target ssm:<instance-id> --port 8443 --mode plan",
      ),
    });
  });

  it("takes a horizon and a schedule", () => {
    const t = synthRunbook({
      runbook: { leakWatch: { horizon: Duration.hours(6), scheduleExpression: "rate(15 minutes)" } },
    }).template;
    // The alarm's period is the schedule's interval: a 5-minute period saw two empty periods in three.
    t.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "HoursToExhaustion",
      Threshold: 6,
      Period: 900,
      TreatMissingData: "notBreaching",
    });
    t.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(15 minutes)" });
  });

  it("a cron schedule (no fixed interval): an empty period keeps the alarm's state", () => {
    const t = synthRunbook({ runbook: { leakWatch: { scheduleExpression: "cron(0 * * * ? *)" } } }).template;
    t.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "HoursToExhaustion",
      Period: 300,
      TreatMissingData: "ignore",
    });
  });

  it.each([
    ["rate(5 minutes)", 300],
    ["rate(1 minute)", 60],
    ["rate(2 hours)", 7200],
    ["rate(1 day)", 86_400],
    ["rate(3 days)", 86_400],
  ])("the alarm period of %s is %i s", (expression, seconds) => {
    expect(sampleInterval(expression)?.period.toSeconds()).toBe(seconds);
  });
  it("no alarm period from cron(...) or at(...)", () => {
    expect(sampleInterval("cron(0 * * * ? *)")).toBeNull();
    expect(sampleInterval("at(2026-12-02T10:00:00)")).toBeNull();
  });

  it("the stack output SsmDocuments names the leak-watch document, so `runbook watch --target ssm:` needs no setup", () => {
    const docs = (t: Template) =>
      JSON.parse(
        render((t.toJSON().Outputs as Record<string, { Value: unknown }>).SsmDocuments?.Value),
      ) as Record<string, { documentName: string; step: string; script: string }>;
    expect(docs(template)["leak-watch"]).toEqual({
      documentName: `<Ref:${docId()}>`,
      step: "sample",
      script: "probes/leak-watch.sh",
    });
    expect(docs(synthRunbook().template)["leak-watch"]).toBeUndefined();
  });

  it("is off by default", () => {
    synthRunbook().template.resourceCountIs("AWS::Scheduler::Schedule", 0);
  });

  it("has zero unacknowledged cdk-nag findings", () => {
    const { app } = synthRunbook({ runbook: { leakWatch: true } });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });
});
