/**
 * The leak watch's AWS path, locally: the synthesized leak-watch document runs through the SSM test
 * server (bash on this machine, sampling this very process by PID), the real Lambda handler reads
 * the invocation, keeps the history in dynalite, forecasts and prints its metrics as EMF lines.
 */

import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type LocalAws, startLocalAws } from "../support/local-aws.js";
import { realHandler } from "../support/local-pipeline.js";
import { synthRunbook } from "../unit/cdk/synth.js";

const INSTANCE = "i-0123456789abcdef0";
let aws: LocalAws;
/** A loopback SNS endpoint: answers Publish (query or JSON protocol) and keeps what was published. */
let sns: Server;
const published: string[] = [];
let documentName: string;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws({ table: "leak-watch-history" });
  sns = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      published.push(body);
      if (String(req.headers["content-type"] ?? "").includes("json")) {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify({ MessageId: `m-${published.length}` }));
        return;
      }
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${published.length}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`,
      );
    });
  });
  await new Promise<void>((r) => sns.listen(0, "127.0.0.1", () => r()));
  const template = synthRunbook({ runbook: { leakWatch: true } }).template.toJSON();
  const names = aws.ssm?.registerFromTemplate(template) ?? {};
  documentName = Object.entries(names).find(([id]) => id.includes("LeakWatch"))?.[1] as string;
  Object.assign(process.env, aws.env(), {
    POWERTOOLS_TRACE_ENABLED: "false",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    POWERTOOLS_SERVICE_NAME: "runbook-autopilot-leak-watch",
    POWERTOOLS_METRICS_NAMESPACE: "RunbookAutopilot/LeakWatch",
    HISTORY_TABLE: "leak-watch-history",
    TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:ops",
    WATCH_PORT: "19503",
    HORIZON_HOURS: "24",
    AWS_ENDPOINT_URL_SNS: `http://127.0.0.1:${(sns.address() as AddressInfo).port}`,
  });
}, 60_000);

afterAll(async () => {
  process.env = saved;
  await aws?.stop();
  await new Promise((r) => sns?.close(r));
});

async function sampleThroughSsm(): Promise<string> {
  const ssm = aws.ssmClient();
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: documentName,
      InstanceIds: [INSTANCE],
      Parameters: { port: ["19503"], pid: [String(process.pid)] },
    }),
  );
  const commandId = sent.Command?.CommandId as string;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const out = await ssm
      .send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: INSTANCE, PluginName: "sample" }),
      )
      .catch(() => null);
    if (out && out.Status === "Success") return commandId;
    if (out && ["Failed", "TimedOut", "Cancelled"].includes(out.Status ?? "")) {
      throw new Error(`leak-watch document ${out.Status}: ${out.StandardErrorContent}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("leak-watch document did not finish within 30 s");
}

describe("leak watch on AWS, locally", () => {
  it("turns each successful invocation into per-instance EMF metrics, and HoursToExhaustion once there is a trend", async () => {
    const handler = await realHandler("leak-watch");
    const emf: Record<string, unknown>[] = [];
    // Powertools writes EMF through its own Console on process.stdout: read the lines there.
    const write = process.stdout.write.bind(process.stdout);
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(((
      chunk: unknown,
      ...rest: unknown[]
    ) => {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
      for (const line of text.split("\n")) if (line.includes('"_aws"')) emf.push(JSON.parse(line));
      if (text.includes('"_aws"')) return true;
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write);
    try {
      const event = (commandId: string) => ({
        "detail-type": "EC2 Command Invocation Status-change Notification",
        source: "aws.ssm",
        detail: {
          "command-id": commandId,
          "instance-id": INSTANCE,
          status: "Success",
          "document-name": documentName,
        },
      });
      // Six samples, each opening 20 more fds in this process: a leak the forecast must see.
      const leaked: number[] = [];
      const results: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        const { openSync } = await import("node:fs");
        for (let k = 0; k < 20; k++) leaked.push(openSync("/dev/null", "r"));
        results.push(await handler(event(await sampleThroughSsm())));
      }
      const { closeSync } = await import("node:fs");
      for (const fd of leaked) closeSync(fd);

      expect(results.slice(0, 4)).toEqual(
        Array(4).fill({ instanceId: INSTANCE, status: "insufficient-samples", notified: false }),
      );
      const perInstance = emf.filter((e) => e.InstanceId === INSTANCE);
      expect(perInstance).toHaveLength(6);
      const first = perInstance[0] as Record<string, unknown> & {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
        };
      };
      const directive = first._aws.CloudWatchMetrics[0];
      expect(directive?.Namespace).toBe("RunbookAutopilot/LeakWatch");
      expect(directive?.Dimensions[0]).toEqual(expect.arrayContaining(["service", "InstanceId"]));
      expect(directive?.Metrics.map((m) => m.Name)).toEqual(
        expect.arrayContaining(["OpenFds", "FdLimit", "EstablishedOnPort", "IdleEstablished"]),
      );
      expect(first.OpenFds as number).toBeGreaterThan(20);
      expect((perInstance[5]?.OpenFds as number) - (first.OpenFds as number)).toBeGreaterThanOrEqual(100);
      // From the fifth sample on, the rising fds give a forecast: HoursToExhaustion per instance and for the fleet.
      const hours = perInstance.filter((e) => typeof e.HoursToExhaustion === "number");
      expect(hours.length).toBeGreaterThanOrEqual(1);
      const fleet = emf.filter((e) => e.InstanceId === undefined && typeof e.HoursToExhaustion === "number");
      expect(fleet).toHaveLength(hours.length);
      expect(fleet[0]?.service).toBe("runbook-autopilot-leak-watch");
      // The forecast is far inside the 24 h horizon: one notice, sent to the loopback SNS endpoint.
      expect(published).toHaveLength(1);
      expect(decodeURIComponent(published[0] ?? "")).toContain("plan");
      expect(readdirSync("/proc/self/fd").length).toBeLessThan(first.OpenFds as number);
    } finally {
      spy.mockRestore();
    }
  }, 120_000);
});
