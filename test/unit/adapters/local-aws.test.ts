import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoIncidentStore } from "../../../lambdas/adapters/aws/dynamo-incident-store.js";
import { S3ArtifactStore } from "../../../lambdas/adapters/aws/s3-artifact-store.js";
import { SsmCommandRunner } from "../../../lambdas/adapters/aws/ssm-command-runner.js";
import type { Clock, CommandRequest } from "../../../lambdas/ports/index.js";
import { type LocalAws, startLocalAws } from "../../support/local-aws.js";
import { synthRunbook } from "../cdk/synth.js";

const INSTANCE = "i-0123456789abcdef0";
const clock: Clock = { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
const fastPoll = { initialDelayMs: 20, maxDelayMs: 100, factor: 1.5, graceMs: 5_000, appearWithinMs: 3_000 };

const doc = (script: string, timeoutSeconds = 30) => ({
  schemaVersion: "2.2",
  parameters: {
    message: {
      type: "String",
      default: "hello",
      allowedPattern: "^[a-z ]{1,40}$",
      interpolationType: "ENV_VAR",
    },
    size: { type: "String", default: "10", allowedPattern: "^[0-9]{1,6}$", interpolationType: "ENV_VAR" },
  },
  mainSteps: [
    {
      action: "aws:runShellScript",
      name: "main",
      inputs: { timeoutSeconds, runCommand: script.split("\n") },
    },
  ],
});

describe("local AWS servers with the real SDK clients", () => {
  let aws: LocalAws;
  let runner: SsmCommandRunner;
  beforeAll(async () => {
    aws = await startLocalAws({ ssm: { invisibleMs: 150 } });
    const ssm = aws.ssm;
    if (!ssm) throw new Error("ssm server not started");
    ssm.registerDocument("Echo", doc('echo "msg=$SSM_message"; echo "literal={{ message }}"'));
    ssm.registerDocument("Big", doc('head -c "$SSM_size" /dev/zero | tr "\\0" a'));
    ssm.registerDocument("Fail", doc('echo "partial"; echo "boom" >&2; exit 3'));
    ssm.registerDocument("Slow", doc("sleep 5", 1));
    runner = new SsmCommandRunner({
      client: aws.ssmClient(),
      clock,
      documents: {
        echo: { documentName: "Echo", step: "main" },
        big: { documentName: "Big", step: "main" },
        fail: { documentName: "Fail", step: "main" },
        slow: { documentName: "Slow", step: "main" },
      },
      outputBucket: "runbook-artifacts",
      outputKeyPrefix: "ssm",
      poll: fastPoll,
    });
  });
  afterAll(async () => {
    await aws?.stop();
  });
  const req = (name: string, parameters: Record<string, string> = {}): CommandRequest => ({
    name,
    scriptPath: `${name}.sh`,
    script: null,
    parameters,
    timeoutMs: 10_000,
  });

  it("runs a document with ENV_VAR parameters: values arrive as SSM_<name>, nothing is spliced", async () => {
    const r = await runner.run(INSTANCE, req("echo", { message: "hi there" }));
    expect(r.status).toBe("Success");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("msg=hi there\nliteral={{ message }}\n");
  });

  it("refuses values outside allowedPattern (InvalidParameters), through the real protocol", async () => {
    await expect(runner.run(INSTANCE, req("echo", { message: "$(reboot)" }))).rejects.toMatchObject({
      name: "InvalidParameters",
    });
  });

  it("cuts inline stdout at 24,000 characters and uploads the full text to S3 (s3rver)", async () => {
    const r = await runner.run(INSTANCE, req("big", { size: "30000" }));
    expect(r.status).toBe("Success");
    expect(r.stdout).toHaveLength(24_000);
    expect(r.stdoutTruncated).toBe(true);
    await aws.ssm?.settle();
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(r.outputUri ?? "");
    const obj = await aws.s3().send(new GetObjectCommand({ Bucket: m?.[1], Key: m?.[2] }));
    expect(await obj.Body?.transformToString()).toHaveLength(30_000);
  });

  it("reports a failing script as Failed with its exit code and stderr", async () => {
    const r = await runner.run(INSTANCE, req("fail"));
    expect(r).toMatchObject({ status: "Failed", exitCode: 3, stdout: "partial\n", stderr: "boom\n" });
  });

  it("reports a step over its timeoutSeconds as TimedOut", async () => {
    const r = await runner.run(INSTANCE, req("slow"));
    expect(r.status).toBe("TimedOut");
  });

  it("lists invocations with SSM's 2,500-character detail cut", async () => {
    const client = new SSMClient(aws.clientConfig("ssm"));
    const sent = await client.send(
      new SendCommandCommand({
        DocumentName: "Big",
        InstanceIds: [INSTANCE],
        Parameters: { size: ["3000"] },
      }),
    );
    await aws.ssm?.settle();
    const list = await client.send(
      new ListCommandInvocationsCommand({ CommandId: sent.Command?.CommandId, Details: true }),
    );
    const output = list.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output ?? "";
    expect(output).toContain("---Output truncated---");
  });

  it("returns AccessDenied for an instance outside the opt-in tag", async () => {
    const denied = await startLocalAws({ buckets: [], table: null, ssm: { deniedInstances: [INSTANCE] } });
    try {
      denied.ssm?.registerDocument("Echo", doc("echo hi"));
      const r = await new SsmCommandRunner({
        client: denied.ssmClient(),
        clock,
        documents: { echo: { documentName: "Echo", step: "main" } },
        outputBucket: null,
        poll: fastPoll,
      }).run(INSTANCE, req("echo"));
      expect(r.status).toBe("AccessDenied");
    } finally {
      await denied.stop();
    }
  });

  it("runs the synthesized probe document (probe + raw steps) on this machine", async () => {
    const { template } = synthRunbook();
    const names = aws.ssm?.registerFromTemplate(template.toJSON()) ?? {};
    const probeName = Object.entries(names).find(([id]) => id.includes("Probe"))?.[1];
    expect(probeName).toBeDefined();
    const probeRunner = new SsmCommandRunner({
      client: aws.ssmClient(),
      clock,
      documents: { probe: { documentName: probeName ?? "", step: "probe" } },
      outputBucket: "runbook-artifacts",
      poll: { ...fastPoll, graceMs: 30_000 },
    });
    const r = await probeRunner.run(INSTANCE, {
      name: "probe",
      scriptPath: "probes/api-unreachable.sh",
      script: "",
      parameters: { port: "1", timeoutSeconds: "5", histogramMode: "live" },
      timeoutMs: 20_000,
    });
    expect(r.stdout.split("\n")[0]).toMatch(/^#runbook-probe format=1/);
    expect(r.stdout.length).toBeLessThan(24_000);
  }, 40_000);

  it("S3ArtifactStore and DynamoIncidentStore work against s3rver and dynalite", async () => {
    const artifacts = new S3ArtifactStore({
      client: aws.s3(),
      bucket: "runbook-artifacts",
      keyPrefix: "incidents/",
    });
    const stored = await artifacts.put("inc-1/evidence.json", '{"ok":true}', "application/json");
    expect(await artifacts.get("inc-1/evidence.json")).toBe('{"ok":true}');
    expect(await artifacts.get("inc-1/missing.json")).toBeNull();
    expect(stored.uri).toBe("s3://runbook-artifacts/incidents/inc-1/evidence.json");

    const incidents = new DynamoIncidentStore({ client: aws.dynamodb(), tableName: "runbook-incidents" });
    const at = "2024-05-02T17:05:00.000Z";
    expect(await incidents.open("alarm#t", "inc-a", at)).toEqual({ created: true, incidentId: "inc-a" });
    expect(await incidents.open("alarm#t", "inc-b", at)).toEqual({ created: false, incidentId: "inc-a" });
    expect((await incidents.acquireTargetLock(INSTANCE, "inc-a", at, 60_000)).acquired).toBe(true);
    expect(await incidents.acquireTargetLock(INSTANCE, "inc-b", at, 60_000)).toEqual({
      acquired: false,
      heldBy: "inc-a",
      until: "2024-05-02T17:06:00.000Z",
    });
    expect(
      (await incidents.acquireTargetLock(INSTANCE, "inc-b", "2024-05-02T17:06:00.000Z", 60_000)).acquired,
    ).toBe(true);
    await incidents.save("inc-a", { hello: "world" });
    expect(await incidents.load("inc-a")).toEqual({ hello: "world" });
  });
});
