import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../support/local-aws.js";
import { lambdaEnv } from "../../support/local-pipeline.js";
import { synthRunbook } from "../cdk/synth.js";

/**
 * The real handlers, configured only through environment variables (as on Lambda), against the local
 * servers: the composition root's SDK clients find them through AWS_ENDPOINT_URL_<SERVICE>.
 * This is the seam the Step Functions end-to-end run will use.
 */
const context = { functionName: "local", awsRequestId: "r" } as unknown as Context;
const T1 = "i-0123456789abcdef0";
type Handler = (event: unknown, context: Context) => Promise<Record<string, unknown>>;

describe("handlers against local AWS", () => {
  let aws: LocalAws;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startLocalAws();
    const names = aws.ssm?.registerFromTemplate(synthRunbook().template.toJSON()) ?? {};
    Object.assign(process.env, lambdaEnv(aws.env(), names));
  });
  afterAll(async () => {
    process.env = saved;
    await aws?.stop();
  });

  it("open-incident → send-probe → poll-probe (Wait loop by hand) on this machine", async () => {
    const open = (await import("../../../lambdas/handlers/open-incident.js")).handler as Handler;
    const send = (await import("../../../lambdas/handlers/send-probe.js")).handler as Handler;
    const poll = (await import("../../../lambdas/handlers/poll-probe.js")).handler as Handler;
    const resolved = {
      alarm: {
        via: "sns",
        alarmName: "runbook-api",
        alarmArn: null,
        account: null,
        region: null,
        state: "ALARM",
        stateChangeTime: "2024-05-02T17:04:40.989Z",
        reason: "",
        namespace: null,
        metricName: null,
        dimensions: [],
      },
      mode: "plan",
      dedupeKey: "runbook-api#2024-05-02T17:04:40.989Z",
      targets: [T1],
      groupSize: 1,
    };
    const incident = await open(resolved, context);
    expect(incident).toMatchObject({ created: true, items: [{ target: T1 }] });
    expect(await open(resolved, context)).toMatchObject({ created: false, incidentId: incident.incidentId });

    let state = await send({ incidentId: incident.incidentId, target: T1 }, context);
    for (let i = 0; i < 60 && state.done === false; i++) {
      await new Promise((r) => setTimeout(r, 250));
      state = await poll({ incidentId: incident.incidentId, target: T1, probe: state }, context);
    }
    expect(state).toMatchObject({
      done: true,
      result: { stdoutKey: `${incident.incidentId}/${T1}/probe.stdout.txt` },
    });
    const { S3ArtifactStore } = await import("../../../lambdas/adapters/aws/s3-artifact-store.js");
    const stdout = await new S3ArtifactStore({
      client: aws.s3(),
      bucket: "runbook-artifacts",
      keyPrefix: "incidents/",
    }).get(`${incident.incidentId}/${T1}/probe.stdout.txt`);
    expect(stdout?.split("\n")[0]).toMatch(/^#runbook-probe format=1/);
  }, 60_000);
});
