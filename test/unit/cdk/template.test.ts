import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import validateAsl from "asl-validator";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { Runtime } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { readRunbookScript } from "../../../lambdas/workflows/runbook-files.js";
import { ApiUnreachableRunbook } from "../../../lib/api-unreachable-runbook.js";
import { actionDocuments, PROBE_DOCUMENT } from "../../../lib/document-parameters.js";
import { documentCommands, documentScript, scriptOfCommands } from "../../../lib/document-script.js";
import { RUNBOOKS_DIR } from "../../../lib/paths.js";
import { BUNDLE_DEFAULTS, LAMBDA_RUNTIME } from "../../../lib/runbook-function.js";
import { RunbookStack } from "../../../lib/runbook-stack.js";
import { resolveDefinition, synthRunbook } from "./synth.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe("runbook stack template", () => {
  let template: Template;
  let resources: Resources;
  beforeAll(() => {
    template = synthRunbook().template;
    resources = template.toJSON().Resources as Resources;
  });
  const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

  it("triggers on CloudWatch alarms entering ALARM, by name prefix, into the state machine with a DLQ", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { state: { value: ["ALARM"] }, alarmName: [{ prefix: "runbook-autopilot-" }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp("StateMachine") },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("EventsDlq"), "Arn"] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it("one exact alarm name is still an array in the rule's pattern (EventBridge rejects a bare string)", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "OneAlarm");
    const alarm = Alarm.fromAlarmArn(
      stack,
      "A",
      "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-5xx",
    );
    new ApiUnreachableRunbook(stack, "Runbook", { alarms: [alarm] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({
        detail: { state: { value: ["ALARM"] }, alarmName: ["orders-api-5xx"] },
      }),
    });
  });

  it("accepts several prefixes", () => {
    const t = synthRunbook({ runbook: { alarmNamePrefixes: ["api-", "jvm-"] } }).template;
    t.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({ alarmName: [{ prefix: "api-" }, { prefix: "jvm-" }] }),
      }),
    });
  });

  describe("alarm selection by tag", () => {
    type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };
    const tag = { key: "runbook-autopilot:runbook", value: "api-unreachable" };
    const statementsOf = (t: Template) =>
      Object.values(t.findResources("AWS::IAM::Policy")).flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
            .Statement,
      );
    const listTags = (t: Template) =>
      statementsOf(t).filter((s) => [s.Action].flat().some((a) => a.startsWith("cloudwatch:")));
    const resolveTargetsEnv = (t: Template) =>
      (
        Object.values(t.findResources("AWS::Lambda::Function")).find((f) =>
          JSON.stringify(f).includes("alarm → target instances"),
        ) as { Properties: { Environment: { Variables: Record<string, string> } } }
      ).Properties.Environment.Variables;
    const alarmArn = (name: string) => ({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":cloudwatch:",
          { Ref: "AWS::Region" },
          ":",
          { Ref: "AWS::AccountId" },
          `:alarm:${name}`,
        ],
      ],
    });

    it("without the prop: prefix rule, no CloudWatch permission, no selection tag in the environment", () => {
      expect(listTags(template)).toEqual([]);
      expect(resolveTargetsEnv(template).ALARM_SELECTION_TAG).toBe("");
    });

    it("with the tag only: the rule takes every alarm entering ALARM; ResolveTargets may read any alarm's tags in the account/region", () => {
      const t = synthRunbook({ runbook: { alarmSelectionTag: tag } }).template;
      const rules = Object.values(t.findResources("AWS::Events::Rule")) as {
        Properties: { EventPattern: { detail: Record<string, unknown> } };
      }[];
      expect(rules).toHaveLength(1);
      expect(rules[0]?.Properties.EventPattern).toEqual({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { state: { value: ["ALARM"] } },
      });
      expect(listTags(t)).toEqual([
        {
          Sid: "ReadAlarmTags",
          Effect: "Allow",
          Action: "cloudwatch:ListTagsForResource",
          Resource: alarmArn("*"),
        },
      ]);
      const env = resolveTargetsEnv(t);
      expect(JSON.parse(env.ALARM_SELECTION_TAG ?? "")).toEqual(tag);
      expect(env.ALARM_NAME_PREFIXES).toBe("");
      // only ResolveTargets gets it
      const holders = Object.entries(t.findResources("AWS::IAM::Policy")).filter(([, p]) =>
        JSON.stringify(p).includes("cloudwatch:ListTagsForResource"),
      );
      expect(holders).toHaveLength(1);
      expect(holders[0]?.[0]).toMatch(/ResolveTargets/);
    });

    it("with the tag and prefixes: the rule keeps the prefixes and the permission is scoped to them", () => {
      const t = synthRunbook({
        runbook: { alarmSelectionTag: tag, alarmNamePrefixes: ["api-", "jvm-"] },
      }).template;
      t.hasResourceProperties("AWS::Events::Rule", {
        EventPattern: Match.objectLike({
          detail: { state: { value: ["ALARM"] }, alarmName: [{ prefix: "api-" }, { prefix: "jvm-" }] },
        }),
      });
      expect(listTags(t).map((s) => s.Resource)).toEqual([[alarmArn("api-*"), alarmArn("jvm-*")]]);
    });

    it("refuses an empty prefix list without a selection tag (every alarm would start the runbook)", () => {
      expect(() => synthRunbook({ runbook: { alarmNamePrefixes: [] } })).toThrow(
        /alarmNamePrefixes is empty and neither alarms nor alarmSelectionTag/,
      );
    });
  });

  it("runs a Standard state machine with X-Ray tracing, logging every event without execution data (no task tokens, no evidence)", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
    });
  });

  it("point 8: retries throttled Lambda invocations and SNS publishes", () => {
    const definition = resolveDefinition(template) as { States: Record<string, unknown> };
    const tasks: [string, { Resource: string; Retry?: { ErrorEquals: string[] }[] }][] = [];
    const walk = (states: Record<string, unknown>) => {
      for (const [name, st] of Object.entries(states)) {
        const s = st as { Type: string; ItemProcessor?: { States: Record<string, unknown> } };
        if (s.Type === "Task") tasks.push([name, st as never]);
        if (s.ItemProcessor) walk(s.ItemProcessor.States);
      }
    };
    walk(definition.States);
    expect(tasks.length).toBe(15); // 10 Lambda tasks, 5 SNS publishes
    for (const [name, t] of tasks) {
      const retried = (t.Retry ?? []).flatMap((r) => r.ErrorEquals);
      if (t.Resource.includes(":lambda:")) expect(retried, name).toContain("Lambda.TooManyRequestsException");
      else
        expect(retried, name).toEqual(
          expect.arrayContaining(["SNS.ThrottledException", "SNS.KMSThrottlingException"]),
        );
    }
  });

  it("point 8: deletion protection on the table; alarms on failed/timed-out executions and on every DLQ, acting on the topic", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", { DeletionProtectionEnabled: true });
    const alarms = ofType("AWS::CloudWatch::Alarm");
    const metrics = alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort();
    expect(metrics).toEqual([
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "AWS/States/ExecutionsFailed",
      "AWS/States/ExecutionsTimedOut",
    ]);
    const queues = alarms
      .filter((a) => a.Properties.Namespace === "AWS/SQS")
      .map((a) => JSON.stringify(a.Properties.Dimensions));
    expect(new Set(queues).size).toBe(ofType("AWS::SQS::Queue").length);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/Notifications/) }]);
      expect(a.Properties.Threshold).toBe(1);
    }
  });

  it("point 8: refuses settings whose worst case outlasts the execution time limit (the postmortem would be cut off)", () => {
    expect(() =>
      synthRunbook({ runbook: { approvalTimeout: Duration.hours(3), maxTargets: 20, maxConcurrency: 5 } }),
    ).toThrow(/over the execution time limit \(6 hours\), so the postmortem could be cut off/);
    expect(() =>
      synthRunbook({ runbook: { approvalTimeout: Duration.hours(2), maxTargets: 4, maxConcurrency: 4 } }),
    ).not.toThrow();
    // per rung: two 2 h waits per target are over the limit once there are two waves
    expect(() =>
      synthRunbook({ runbook: { approvalTimeout: Duration.hours(2), maxTargets: 8, maxConcurrency: 4 } }),
    ).toThrow(/per rung \(2 rungs\)/);
  });

  it("builds every Lambda for ARM64 / Node.js 24 with active tracing, Powertools env and its own log group", () => {
    const fns = ofType("AWS::Lambda::Function");
    expect(fns).toHaveLength(12);
    for (const f of fns) {
      expect(f.Properties).toMatchObject({
        Architectures: ["arm64"],
        Runtime: "nodejs24.x",
        TracingConfig: { Mode: "Active" },
        Environment: { Variables: expect.objectContaining({ POWERTOOLS_SERVICE_NAME: "runbook-autopilot" }) },
        LoggingConfig: { LogGroup: expect.anything() },
      });
    }
    template.resourceCountIs("AWS::Logs::LogGroup", 13);
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("uses no Lambda runtime aws-cdk-lib marks deprecated, and bundles for the runtime's Node.js", () => {
    // aws-cdk-lib marks retired runtimes `@deprecated` in its typings: read them from there, so a CDK
    // upgrade that deprecates the runtime in use fails this test.
    const dts = readFileSync(
      join(dirname(createRequire(import.meta.url).resolve("aws-cdk-lib/aws-lambda")), "lib/runtime.d.ts"),
      "utf8",
    );
    const deprecated = [
      ...dts.matchAll(/@deprecated[^*]*(?:\*(?!\/)[^*]*)*\*\/\s*static readonly (\w+): Runtime;/g),
    ]
      .map((m) => (Runtime as unknown as Record<string, Runtime>)[m[1] ?? ""]?.name)
      .filter((n): n is string => typeof n === "string");
    expect(deprecated).toContain("nodejs18.x"); // the parse found the deprecated ones
    const used = [...new Set(ofType("AWS::Lambda::Function").map((f) => String(f.Properties.Runtime)))];
    expect(used).toEqual([LAMBDA_RUNTIME.name]);
    for (const r of used) expect(deprecated, r).not.toContain(r);
    expect(["nodejs22.x", "nodejs24.x"]).toContain(LAMBDA_RUNTIME.name);
    expect(BUNDLE_DEFAULTS.target).toBe(`node${LAMBDA_RUNTIME.name.match(/^nodejs(\d+)\.x$/)?.[1]}`);
  });

  it("stores artifacts in an encrypted, private, versioned bucket with SSL-only access, expiry and access logs", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: "Enabled" },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 400, Status: "Enabled" })]),
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "artifacts/" }),
    });
    const policies = ofType("AWS::S3::BucketPolicy");
    expect(policies.length).toBe(2);
    for (const p of policies) {
      expect(JSON.stringify(p.Properties)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("keeps incidents in an on-demand table with PITR, encryption and TTL", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("encrypts SNS topics with a rotating KMS key and refuses plain HTTP", () => {
    const topics = ofType("AWS::SNS::Topic");
    expect(topics).toHaveLength(2);
    for (const t of topics) expect(t.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    const policies = ofType("AWS::SNS::TopicPolicy");
    expect(policies.length, "one policy per topic").toBe(topics.length);
    for (const p of policies) {
      expect(JSON.stringify(p.Properties)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("point 1: the state machine role may use the topic's key; only a timeout or a decline is 'declined'", () => {
    const smPolicy = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.includes("StateMachineRole"),
    )?.[1] as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } };
    const kms = smPolicy.Properties.PolicyDocument.Statement.find((st) =>
      JSON.stringify(st.Action).includes("kms:GenerateDataKey"),
    );
    expect(kms?.Action).toEqual(["kms:GenerateDataKey*", "kms:Decrypt"]);
    expect(kms?.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/Key/), "Arn"] });
    const states = JSON.stringify(resolveDefinition(template));
    const definition = JSON.parse(states) as {
      States: Record<
        string,
        { ItemProcessor?: { States: Record<string, { Catch?: { ErrorEquals: string[]; Next: string }[] }> } }
      >;
    };
    const approval = definition.States.MitigateEach?.ItemProcessor?.States.RequestApproval;
    expect(approval?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ["States.Timeout"], Next: "ApprovalTimedOut" }),
      expect.objectContaining({ ErrorEquals: ["Declined"], Next: "Declined" }),
      expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: "MitigationFailed" }),
    ]);
  });

  it("point 7: per-rung approval through a task token kept for `runbook approve`; the approver policy answers only that", () => {
    const definition = JSON.parse(JSON.stringify(resolveDefinition(template))) as {
      States: { MitigateEach: { ItemProcessor: { States: Record<string, Record<string, unknown>> } } };
    };
    const inner = definition.States.MitigateEach.ItemProcessor.States;
    expect(inner.RequestApproval).toMatchObject({
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      TimeoutSeconds: 1200,
      Parameters: { Payload: { "taskToken.$": "$$.Task.Token", "rung.$": "$.apply.awaitingRung" } },
    });
    // the loop: Apply → a rung awaits? → ask → approved? → Apply again
    expect(inner.ApplyMitigation?.Next).toBe("AwaitingApproval?");
    expect(inner["AwaitingApproval?"]).toMatchObject({
      Choices: [{ Variable: "$.apply.awaitingRung", IsNumeric: true, Next: "RequestApproval" }],
      Default: "Verify",
    });
    expect(inner["Approved?"]).toMatchObject({
      Choices: [{ Variable: "$.approval.approved", BooleanEquals: true, Next: "ApplyMitigation" }],
      Default: "Declined",
    });
    const approver = Object.entries(template.findResources("AWS::IAM::ManagedPolicy")).find(([id]) =>
      id.includes("ApproverPolicy"),
    )?.[1] as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } };
    expect(approver.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: "ReadApprovalRequests",
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: { "Fn::GetAtt": [expect.stringMatching(/Incidents/), "Arn"] },
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["approval#*"] } },
      },
      {
        Sid: "AnswerApprovals",
        Effect: "Allow",
        Action: ["states:SendTaskSuccess", "states:SendTaskFailure"],
        Resource: "*",
      },
    ]);
    expect(Object.keys(template.findOutputs("ApproverPolicyArn"))).toHaveLength(1);
  });

  it("point 3: the alarm topic allows CloudWatch to publish for this account's alarms", () => {
    const policies = Object.values(template.findResources("AWS::SNS::TopicPolicy")) as {
      Properties: { Topics: { Ref: string }[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
    }[];
    const alarm = policies.find((p) => p.Properties.Topics[0]?.Ref.includes("AlarmTopic"));
    expect(alarm?.Properties.PolicyDocument.Statement).toContainEqual({
      Sid: "AllowCloudWatchAlarmsOfThisAccount",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: { Ref: expect.stringMatching(/AlarmTopic/) },
      Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
    });
  });

  it("subscribes the SNS ingest function with DLQs on the subscription and the async invocation", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "lambda",
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("SubscriptionDlq"), "Arn"] },
      },
    });
    const ingest = Object.values(resources).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" &&
        (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables.STATE_MACHINE_ARN,
    );
    expect(ingest?.Properties.DeadLetterConfig).toBeDefined();
    for (const q of ofType("AWS::SQS::Queue")) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("scopes ssm:SendCommand to the project's documents and to instances with the opt-in tag", () => {
    const statements = ofType("AWS::IAM::Policy").flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    const send = statements.filter((s) => [s.Action].flat().includes("ssm:SendCommand"));
    expect(send.length).toBeGreaterThan(0);
    for (const s of send) {
      const resources = JSON.stringify(s.Resource);
      expect(resources).not.toBe('"*"');
      if (resources.includes(":instance/")) {
        expect(s.Condition).toEqual({
          StringEquals: { "ssm:resourceTag/runbook-autopilot:enabled": "true" },
        });
      } else {
        expect(resources).toContain(":document/");
        // The probe's and every host command's document (actions with a script, check-health).
        expect((s.Resource as unknown[]).length).toBe(Object.keys(actionDocuments()).length + 1);
      }
    }
    expect(send.some((s) => JSON.stringify(s.Resource).includes(":instance/"))).toBe(true);
    // nothing gets s3:* / dynamodb:* / ssm:*
    for (const s of statements) expect([s.Action].flat().join(",")).not.toMatch(/(s3|dynamodb|ssm|sns):\*/);
  });

  it("point 8: least privilege — only ApplyMitigation and Verify run documents; nobody deletes items", () => {
    const actionsOf = (fn: string) =>
      Object.entries(template.findResources("AWS::IAM::Policy"))
        .filter(([id]) => id.startsWith(`ApiUnreachable${fn}FunctionServiceRole`))
        .flatMap(
          ([, p]) =>
            (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
              .Properties.PolicyDocument.Statement,
        )
        .flatMap((st) => [st.Action].flat());
    for (const fn of ["Diagnose", "PlanMitigation", "WritePostmortem", "FleetBrake"]) {
      const actions = actionsOf(fn);
      for (const a of [
        "ssm:SendCommand",
        "ssm:CancelCommand",
        "ssm:GetCommandInvocation",
        "dynamodb:DeleteItem",
      ])
        expect(actions, fn).not.toContain(a);
    }
    for (const fn of ["ApplyMitigation", "Verify"]) expect(actionsOf(fn), fn).toContain("ssm:SendCommand");
    expect(JSON.stringify(template.toJSON())).not.toContain("dynamodb:DeleteItem");
  });

  it("offers a managed policy for the instance profile: PutObject under ssm/ only", () => {
    template.hasResourceProperties("AWS::IAM::ManagedPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "s3:PutObject",
            Resource: {
              "Fn::Join": ["", [{ "Fn::GetAtt": [Match.stringLikeRegexp("Artifacts"), "Arn"] }, "/ssm/*"]],
            },
          }),
        ]),
      },
    });
  });

  it("generates schemaVersion 2.2 Command documents: every parameter allowedPattern + ENV_VAR, script text verbatim", () => {
    const docs = ofType("AWS::SSM::Document");
    expect(docs).toHaveLength(1 + Object.keys(actionDocuments()).length);
    for (const d of docs) {
      const content = d.Properties.Content as {
        schemaVersion: string;
        parameters: Record<string, { allowedPattern: string; interpolationType: string; default: string }>;
        mainSteps: { action: string; name: string; inputs: { runCommand: string[] } }[];
      };
      expect(d.Properties.DocumentType).toBe("Command");
      expect(content.schemaVersion).toBe("2.2");
      for (const [name, p] of Object.entries(content.parameters)) {
        expect(p.interpolationType, name).toBe("ENV_VAR");
        expect(new RegExp(p.allowedPattern).test(p.default), `${name} default matches its pattern`).toBe(
          true,
        );
      }
      for (const step of content.mainSteps) {
        expect(step.action).toBe("aws:runShellScript");
        expect(step.inputs.runCommand.join("\n")).not.toContain("{{");
      }
    }
    const probe = docs.find((d) => JSON.stringify(d.Properties.Content).includes('"name":"raw"'));
    const content = probe?.Properties.Content as {
      parameters: object;
      mainSteps: { name: string; inputs: { runCommand: string[] } }[];
    };
    expect(Object.keys(content.parameters).sort()).toEqual(Object.keys(PROBE_DOCUMENT.parameters).sort());
    expect(content.mainSteps.map((s) => s.name)).toEqual(["probe", "raw"]);
    expect(scriptOfCommands(content.mainSteps[0]?.inputs.runCommand ?? [])).toBe(
      documentScript(readRunbookScript(RUNBOOKS_DIR, PROBE_DOCUMENT.script), "probe"),
    );
  });

  it("every SSM document fits SSM's 64 KB with its parameters at their longest (content and runtime parameters share the quota)", () => {
    const docs = ofType("AWS::SSM::Document");
    for (const d of docs) {
      const content = d.Properties.Content as { parameters: Record<string, { allowedPattern: string }> };
      const params = Object.entries(content.parameters).map(([name, p]) => ({
        name,
        max: maxMatchLength(p.allowedPattern),
      }));
      for (const p of params) expect(Number.isFinite(p.max), `${p.name} has a bounded pattern`).toBe(true);
      const total = Buffer.byteLength(JSON.stringify(content)) + params.reduce((a, p) => a + p.max, 0);
      expect(total, JSON.stringify(content).slice(0, 80)).toBeLessThanOrEqual(64 * 1024);
    }
  });

  it("a document's script is the file less comment-only and blank lines; a here-document is refused", () => {
    expect(documentScript("#!/bin/bash\n# a comment\n\n  echo '#not'  # kept\n\tx=1\n", "t")).toBe(
      "#!/bin/bash\n  echo '#not'  # kept\n\tx=1\n",
    );
    expect(() => documentScript("cat <<EOF\n# data\nEOF\n", "t")).toThrow(/here-documents/);
    expect(documentScript('read -r a <<<"$x"\n', "t")).toBe('read -r a <<<"$x"\n');
  });

  it("a script over 32 KiB travels gzip+base64: the sh wrapper runs exactly it with bash, with its SSM_* environment and exit status", () => {
    const big = `#!/usr/bin/env bash\n# comment\necho "port=$SSM_port bash=\${BASH_VERSION%%.*}"\n${"x=1\n".repeat(9000)}exit 7\n`;
    const lines = documentCommands(big, "big");
    expect(lines[0]).toBe("#!/bin/sh");
    expect(lines.join("\n").length).toBeLessThan(2000);
    expect(scriptOfCommands(lines)).toBe(documentScript(big, "big"));
    const dir = mkdtempSync(join(tmpdir(), "doc-"));
    writeFileSync(join(dir, "step.sh"), lines.join("\n"));
    const r = spawnSync("sh", [join(dir, "step.sh")], {
      encoding: "utf8",
      env: { ...process.env, SSM_port: "8080" },
    });
    expect(r.stdout).toBe("port=8080 bash=5\n");
    expect(r.status).toBe(7);
    // A small script stays readable as it is.
    expect(documentCommands("#!/usr/bin/env bash\necho hi\n", "small")).toEqual([
      "#!/usr/bin/env bash",
      "echo hi",
      "",
    ]);
  });

  it("declares exactly the SSM_<name> variables each script reads (no drift between scripts and documents)", () => {
    for (const spec of [PROBE_DOCUMENT, ...Object.values(actionDocuments())]) {
      const script = readRunbookScript(RUNBOOKS_DIR, spec.script);
      const read = new Set([...script.matchAll(/\$\{?SSM_([A-Za-z]+)/g)].map((m) => m[1]));
      expect([...read].sort(), spec.script).toEqual(Object.keys(spec.parameters).sort());
    }
  });

  it("fails synth with a clear message when an action script is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "runbooks-"));
    mkdirSync(join(dir, "probes"));
    copyFileSync(join(RUNBOOKS_DIR, PROBE_DOCUMENT.script), join(dir, PROBE_DOCUMENT.script));
    cpSync(join(RUNBOOKS_DIR, "lib"), join(dir, "lib"), { recursive: true });
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    expect(() => new RunbookStack(app, "Missing", { runbook: { runbooksDir: dir } })).toThrow(
      /runbook script for "kill-idle-connections" not found/,
    );
  });

  it("exports the operator-facing outputs", () => {
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs).toEqual(
      expect.arrayContaining([
        "StateMachineArn",
        "ArtifactBucketName",
        "IncidentTableName",
        "NotificationTopicArn",
        "AlarmTopicArn",
        "ProbeDocumentName",
        "InstancePolicyArn",
        "EventsDeadLetterQueueUrl",
      ]),
    );
  });

  it("uses existing bucket/table/topic when given, without creating new ones", async () => {
    const { Stack } = await import("aws-cdk-lib");
    const { Bucket } = await import("aws-cdk-lib/aws-s3");
    const { Table } = await import("aws-cdk-lib/aws-dynamodb");
    const { Topic } = await import("aws-cdk-lib/aws-sns");
    const { ApiUnreachableRunbook } = await import("../../../lib/api-unreachable-runbook.js");
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Existing");
    new ApiUnreachableRunbook(stack, "Runbook", {
      artifactBucket: Bucket.fromBucketName(stack, "B", "my-bucket"),
      incidentTable: Table.fromTableName(stack, "T", "my-table"),
      topic: Topic.fromTopicArn(stack, "N", "arn:aws:sns:eu-west-1:123456789012:ops"),
      createAlarmTopic: false,
    });
    const { Template } = await import("aws-cdk-lib/assertions");
    const t = Template.fromStack(stack);
    t.resourceCountIs("AWS::S3::Bucket", 0);
    t.resourceCountIs("AWS::DynamoDB::Table", 0);
    t.resourceCountIs("AWS::SNS::Topic", 0);
  });

  it("passes asl-validator once the definition is resolved", () => {
    const definition = resolveDefinition(template);
    const result = validateAsl(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
    const states = definition.States as Record<string, { Type: string; MaxConcurrency?: number }>;
    expect(states.CollectAndDiagnose?.MaxConcurrency).toBe(5);
    expect(states.MitigateEach?.Type).toBe("Map");
    expect(JSON.stringify(definition)).toContain("lambda:invoke.waitForTaskToken");
  });
});

/**
 * The longest string an SSM allowedPattern accepts, for the subset the documents use: anchors, literals,
 * escapes, character classes, groups with `|`, and `?`, `{n}`, `{m,n}`; `*` or `+` make it unbounded.
 */
function maxMatchLength(pattern: string): number {
  let i = 0;
  const seq = (): number => {
    let best = 0;
    let total = 0;
    while (i < pattern.length && pattern[i] !== ")") {
      const c = pattern[i] as string;
      if (c === "|") {
        best = Math.max(best, total);
        total = 0;
        i++;
        continue;
      }
      let atom: number;
      if (c === "^" || c === "$") {
        i++;
        continue;
      } else if (c === "(") {
        i++;
        atom = seq();
        i++; // ")"
      } else if (c === "[") {
        i = pattern.indexOf("]", i + 2) + 1;
        atom = 1;
      } else {
        i += c === "\\" ? 2 : 1;
        atom = 1;
      }
      const q = /^(\?|\*|\+|\{(\d+)(?:,(\d+))?\})/.exec(pattern.slice(i));
      if (q) {
        i += q[0].length;
        if (q[0] === "*" || q[0] === "+") atom = Number.POSITIVE_INFINITY;
        else if (q[2] !== undefined) atom *= Number(q[3] ?? q[2]);
      }
      total += atom;
    }
    return Math.max(best, total);
  };
  return seq();
}
