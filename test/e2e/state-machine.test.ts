import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, ListBucketsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, labDown, labUp, probeHealth } from "../../lab/index.js";
import { loadToLimit, openFds } from "../support/cli.js";
import { type LocalAws, loadLocalStepFunctions, startLocalAws } from "../support/local-aws.js";
import { bundledHandlers, labLambdaEnv, pipelineHandlers } from "../support/local-pipeline.js";
import { labTimescaleRunbooks } from "../support/runbooks-dir.js";
import { resolveDefinition, synthRunbook } from "../unit/cdk/synth.js";

/**
 * The whole AWS pipeline, locally: the state machine taken from the synthesized template runs in
 * aws-local-stepfunctions; every Lambda task is bound to the real handler, whose SDK clients talk to
 * s3rver (S3), dynalite (DynamoDB) and an SSM server speaking the real AWS JSON protocol, which runs
 * the synthesized SSM documents with bash against the ws-leak lab on this machine. Stubbed: the SNS
 * publishes (captured) and the EC2 tag lookup of ResolveTargets (no local EC2).
 * Port 18230.
 */
const PORT = 18230;
const INSTANCE = "i-0abc1234def567890";

/**
 * Secrets planted on the lab's command line and in its log, as a real service has them: none may reach
 * any S3 object (the Lambdas' artifacts, and SSM's own copies of the host's output, which only the probe
 * redacts) or any DynamoDB item.
 */
const PLANTED = {
  password: "PlantedSm-Pw1",
  bearer: "PlantedSm-Bearer2",
  jdbc: "PlantedSm-Jdbc3",
  accessKey: "AKIAPLANTEDSMACHINE1",
  urlPassword: "PlantedSm-Url4",
  /** Caught only by the runbook's own pattern (card-pin, below): the probe gets it through SendProbe. */
  pin: "48151623",
};

/** A "CloudWatch Alarm State Change" event as EventBridge delivers it, for an alarm on the lab's instance. */
const alarmEvent = {
  version: "0",
  id: "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "CloudWatch Alarm State Change",
  source: "aws.cloudwatch",
  account: "123456789012",
  time: "2026-11-25T03:31:00Z",
  region: "eu-west-1",
  resources: ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:runbook-autopilot-api-unreachable"],
  detail: {
    alarmName: "runbook-autopilot-api-unreachable",
    state: {
      value: "ALARM",
      reason: "Threshold Crossed: 1 datapoint [0.0 (25/11/26 03:30:00)] was less than the threshold (1.0).",
      timestamp: "2026-11-25T03:31:00.123+0000",
    },
    previousState: { value: "OK", reason: "ok", timestamp: "2026-11-25T03:01:00.000+0000" },
    configuration: {
      description: "API unreachable (health check success rate)",
      metrics: [
        {
          id: "m1",
          metricStat: {
            metric: {
              namespace: "Custom/Api",
              name: "HealthCheckSuccess",
              dimensions: { InstanceId: INSTANCE },
            },
            period: 60,
            stat: "Minimum",
          },
          returnData: true,
        },
      ],
    },
  },
};

describe("the synthesized state machine, run locally against the lab", () => {
  let aws: LocalAws;
  let pid = 0;
  const saved = { ...process.env };
  // A space in the host's raw base: the SSM documents' pattern, the probe and the raw step all take it.
  const rawDir = mkdtempSync(join(tmpdir(), "runbook raw-"));
  let runbooks = "";
  let removeBundles = () => {};

  beforeAll(async () => {
    const lab = await labUp({
      mode: "ws-leak",
      port: PORT,
      fdLimit: 1024,
      keepAliveMs: 1000,
      systemProperties: {
        "spring.datasource.password": PLANTED.password,
        "app.db.url": `postgres://app:${PLANTED.urlPassword}@db:5432/x`,
      },
    });
    pid = lab.pid;
    // To the fd limit (a load cut short by time-outs on a loaded machine is repeated), then the sessions
    // idle past the 2 s threshold of the lab-timescale runbook.
    await loadToLimit(PORT, pid, 1024);
    appendFileSync(
      lab.logPath,
      [
        `DEBUG GET /api Authorization: Bearer ${PLANTED.bearer}`,
        `SEVERE Too many open files while connecting to jdbc:postgresql://db/app?user=app&password=${PLANTED.jdbc}`,
        `SEVERE Too many open files key ${PLANTED.accessKey}`,
        `INFO payment card pin=${PLANTED.pin} accepted`,
        "",
      ].join("\n"),
    );
    // The runbook the Lambdas carry, resolved with an override that adds one redaction pattern.
    runbooks = labTimescaleRunbooks();
    appendFileSync(
      join(runbooks, "api-unreachable.yaml"),
      '\nredaction:\n  patterns:\n    - { name: card-pin, before: "pin=", secret: "[0-9]+" }\n',
    );
    aws = await startLocalAws();
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    Object.assign(
      process.env,
      labLambdaEnv(
        aws.env(),
        names,
        { port: PORT, logPath: lab.logPath, runbooksDir: runbooks },
        {
          TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:ops",
          PROBE_TIMEOUT_SECONDS: "30",
          PROBE_RAW_DIR: rawDir,
        },
      ),
    );
  }, 120_000);

  afterAll(async () => {
    removeBundles();
    process.env = saved;
    await aws?.stop();
    await labDown({ port: PORT });
  }, 60_000);

  it("an alarm for the ws-leak lab: one incident, the lab recovers, the postmortem lands in S3; the same event again starts nothing", async () => {
    expect(openFds(pid)).toBeGreaterThanOrEqual(0.95 * 1024);
    expect((await probeHealth(PORT, 2000)).ok).toBe(false);

    // The handlers as deployed: bundled as the construct bundles them, loaded as the runtime loads them
    // (the faults e2e runs them from source).
    const { load, remove } = bundledHandlers(runbooks);
    removeBundles = remove;
    const resolveReal = await load("resolve-targets");
    const published: { state: string; input: unknown }[] = [];
    // No local EC2: resolve for real with the instance dimension taken out (so no DescribeInstances),
    // then answer as EC2 would for a tagged, running instance.
    const handlers = await pipelineHandlers(
      async (input) => {
        const e = structuredClone(input) as typeof alarmEvent;
        for (const m of e.detail.configuration.metrics) m.metricStat.metric.dimensions = {} as never;
        const out = (await resolveReal(e)) as Record<string, unknown>;
        return {
          ...out,
          targets: [INSTANCE],
          hasTargets: true,
          groupSize: 1,
          strategy: "instance-dimension",
        };
      },
      published,
      undefined,
      load,
    );
    const { StateMachine } = await loadLocalStepFunctions();
    const definition = resolveDefinition(synthRunbook().template);
    const run = () =>
      new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: true } }).run(
        structuredClone(alarmEvent),
        {
          context: { Task: { Token: "local-token" }, Execution: { Id: "arn:local:execution:e2e" } },
          overrides: {
            taskResourceLocalHandlers: handlers as never,
            waitTimeOverrides: { WaitForProbe: 250 },
          },
        },
      );

    const first = (await run().result.catch((e: Error) => {
      const why = published.find((p) => p.state === "NotifyRunbookFailure");
      throw new Error(`${e.message}: ${JSON.stringify(why?.input ?? published).slice(0, 2000)}`);
    })) as {
      incident: { incidentId: string };
      postmortem: { postmortemKey: string; status: string };
    };
    expect(first.postmortem.status).toBe("recovered");
    const closed = published.find((p) => p.state === "NotifyResult")?.input as {
      Message: { status: string };
    };
    expect(closed.Message.status).toBe("recovered");

    // The lab recovered in place: same JVM, health answers, descriptors freed.
    expect(isAlive(pid)).toBe(true);
    expect((await probeHealth(PORT, 3000)).ok).toBe(true);
    expect(openFds(pid)).toBeLessThan(200);

    // The postmortem is in the (local) S3 bucket and names the root cause.
    const body = await aws.s3().send(
      new GetObjectCommand({
        Bucket: "runbook-artifacts",
        Key: `incidents/${first.postmortem.postmortemKey}`,
      }),
    );
    const markdown = (await body.Body?.transformToString("utf8")) ?? "";
    expect(markdown).toMatch(/^# Postmortem/);
    expect(markdown).toContain("websocket-session-leak");
    expect(markdown).toContain("kill-idle-connections");

    // SSM ran the project's documents: the probe, the relief and main kill, health checks, probes after.
    const commands = aws.ssm?.commands ?? [];
    const docs = commands.map((c) => c.documentName);
    expect(docs.some((d) => d.includes("Probe"))).toBe(true);
    expect(docs.filter((d) => d.includes("KillIdleConnections")).length).toBeGreaterThanOrEqual(1);
    const sent = commands.length;

    // EventBridge delivers the same event again: no second incident, no second mitigation.
    const second = (await run().result) as { incident: { incidentId: string; created: boolean } };
    expect(second.incident.created).toBe(false);
    expect(second.incident.incidentId).toBe(first.incident.incidentId);
    expect(aws.ssm?.commands.length).toBe(sent);

    // No planted secret in any S3 object or DynamoDB item this run wrote.
    const leaks = (where: string, text: string) =>
      Object.values(PLANTED)
        .filter((secret) => text.includes(secret))
        .map((secret) => `${secret} in ${where}`);
    const found: string[] = [];
    const objects: { key: string; body: string }[] = [];
    for (const { Name: bucket } of (await aws.s3().send(new ListBucketsCommand({}))).Buckets ?? []) {
      let token: string | undefined;
      do {
        const page = await aws
          .s3()
          .send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const { Key: key } of page.Contents ?? []) {
          const got = await aws.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const body = (await got.Body?.transformToString("utf8")) ?? "";
          objects.push({ key: `${bucket}/${key}`, body });
          found.push(...leaks(`s3://${bucket}/${key}`, body));
        }
        token = page.NextContinuationToken;
      } while (token);
    }
    const items: Record<string, unknown>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await aws
        .dynamodb()
        .send(new ScanCommand({ TableName: aws.table ?? "", ExclusiveStartKey: start }));
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    for (const item of items)
      found.push(...leaks(`DynamoDB item ${JSON.stringify(item).slice(0, 80)}`, JSON.stringify(item)));
    expect(found).toEqual([]);
    // The scan saw what it had to: records, artifacts, SSM's copies of the host's output (written by the
    // host, not by the Lambdas), and the secrets were there to redact, the runbook's own pattern included.
    expect(items.some((i) => JSON.stringify(i).includes("[REDACTED]"))).toBe(true);
    const ssmCopies = objects.filter((o) => o.key.includes("/ssm/"));
    expect(ssmCopies.length).toBeGreaterThan(0);
    expect(ssmCopies.some((o) => o.body.includes("pin=[REDACTED]"))).toBe(true);
    expect(objects.some((o) => o.key.includes("/incidents/") && o.body.includes("[REDACTED]"))).toBe(true);
  }, 240_000);
});
