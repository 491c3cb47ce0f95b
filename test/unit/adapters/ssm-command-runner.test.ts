import {
  CancelCommandCommand,
  type CommandInvocationStatus,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  InvocationDoesNotExist,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SsmCommandRunner } from "../../../lambdas/adapters/aws/ssm-command-runner.js";
import type { CommandRequest } from "../../../lambdas/ports/index.js";
import { FakeClock } from "./fake-clock.js";

const ssm = mockClient(SSMClient);
const INSTANCE = "i-0123456789abcdef0";
const request: CommandRequest = {
  name: "probe",
  scriptPath: "probes/api-unreachable.sh",
  script: "echo this text must never be sent",
  parameters: { port: "8080", healthPath: "/actuator/health" },
  timeoutMs: 120_000,
};

function serviceError(name: string, message = name): SSMServiceException {
  return new SSMServiceException({ name, $fault: "client", $metadata: {}, message });
}

function makeRunner(clock: FakeClock, bucket: string | null = "artifacts-bucket") {
  return new SsmCommandRunner({
    client: new SSMClient({ region: "eu-west-1" }),
    clock,
    documents: {
      probe: { documentName: "RunbookProbe-abc", step: "probe", script: "probes/api-unreachable.sh" },
    },
    outputBucket: bucket,
    outputKeyPrefix: "ssm/",
  });
}

const invocation = (
  Status: CommandInvocationStatus,
  extra: Partial<GetCommandInvocationCommandOutput> = {},
) => ({
  Status,
  StatusDetails: Status,
  ResponseCode: -1,
  StandardOutputContent: "",
  StandardErrorContent: "",
  ...extra,
});

describe("SsmCommandRunner", () => {
  let clock: FakeClock;
  beforeEach(() => {
    ssm.reset();
    clock = new FakeClock();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
  });

  it("sends the document by name with parameters as lists, never the script text", async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .resolves(invocation("Success", { ResponseCode: 0, StandardOutputContent: "ok" }));
    const result = await makeRunner(clock).run(`ssm:${INSTANCE}`, request);
    expect(result).toMatchObject({ status: "Success", exitCode: 0, stdout: "ok", stdoutTruncated: false });
    const sent = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(sent).toMatchObject({
      DocumentName: "RunbookProbe-abc",
      DocumentVersion: "$LATEST",
      InstanceIds: [INSTANCE],
      Parameters: { port: ["8080"], healthPath: ["/actuator/health"] },
      OutputS3BucketName: "artifacts-bucket",
      OutputS3KeyPrefix: "ssm",
    });
    expect(JSON.stringify(sent)).not.toContain("must never be sent");
    expect(ssm.commandCalls(GetCommandInvocationCommand)[0]?.args[0].input).toEqual({
      CommandId: "cmd-1",
      InstanceId: INSTANCE,
      PluginName: "probe",
    });
  });

  it("retries InvocationDoesNotExist right after send, then keeps polling through Pending/InProgress/Delayed", async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: "no invocation" }))
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: "no invocation" }))
      .resolvesOnce(invocation("Pending"))
      .resolvesOnce(invocation("InProgress"))
      .resolvesOnce(invocation("Delayed"))
      .resolves(invocation("Success", { ResponseCode: 0, StandardOutputContent: "done" }));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("Success");
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(6);
    // backoff grows and is capped
    expect(clock.sleeps[0]).toBe(1000);
    for (let i = 1; i < clock.sleeps.length; i++)
      expect(clock.sleeps[i]).toBeGreaterThan(clock.sleeps[i - 1] ?? 0);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(10_000);
  });

  it.each([
    ["Failed", "Failed", "Failed", 1],
    ["TimedOut", "ExecutionTimedOut", "TimedOut", -1],
    ["Failed", "DeliveryTimedOut", "TimedOut", -1],
    ["Cancelled", "Cancelled", "Cancelled", -1],
    ["Failed", "Undeliverable", "Undeliverable", -1],
    ["Failed", "Terminated", "Terminated", -1],
    ["Failed", "Access Denied", "AccessDenied", -1],
  ])("maps %s / %s to %s", async (Status, StatusDetails, expected, ResponseCode) => {
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: Status as CommandInvocationStatus,
      StatusDetails,
      ResponseCode,
      StandardOutputContent: "x",
    });
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe(expected);
    expect(result.exitCode).toBe(ResponseCode >= 0 ? ResponseCode : null);
    expect(result.detail).toContain("cmd-1");
  });

  it("returns AccessDenied at once instead of spinning like the SDK waiter", async () => {
    ssm.on(GetCommandInvocationCommand).rejects(serviceError("AccessDeniedException", "not authorized"));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("AccessDenied");
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(1);
    expect(clock.sleeps).toEqual([1000]);
  });

  it("treats an AccessDenied status detail reported while Pending as final", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Pending", StatusDetails: "AccessDenied" });
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("AccessDenied");
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(1);
  });

  it("backs off harder on throttling and still succeeds", async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(serviceError("ThrottlingException", "Rate exceeded"))
      .rejectsOnce(serviceError("ThrottlingException", "Rate exceeded"))
      .resolves(invocation("Success", { ResponseCode: 0 }));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("Success");
    expect(clock.sleeps).toEqual([1000, 3200, 10_000]);
  });

  it("retries a throttled SendCommand", async () => {
    ssm
      .on(SendCommandCommand)
      .rejectsOnce(serviceError("ThrottlingException"))
      .resolves({ Command: { CommandId: "cmd-2" } });
    ssm.on(GetCommandInvocationCommand).resolves(invocation("Success", { ResponseCode: 0 }));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("Success");
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(2);
  });

  it("flags SSM's 24,000-character cut and points at the full S3 copy", async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .resolves(invocation("Success", { ResponseCode: 0, StandardOutputContent: "a".repeat(24_000) }));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.outputUri).toBe(
      `s3://artifacts-bucket/ssm/cmd-1/${INSTANCE}/awsrunShellScript/probe/stdout`,
    );
    const noBucket = await makeRunner(new FakeClock(), null).run(INSTANCE, request);
    expect(noBucket.outputUri).toBeNull();
    expect(ssm.commandCalls(SendCommandCommand).at(-1)?.args[0].input.OutputS3BucketName).toBeUndefined();
  });

  it("bounds the total time, then cancels", async () => {
    ssm.on(GetCommandInvocationCommand).resolves(invocation("InProgress"));
    ssm.on(CancelCommandCommand).resolves({});
    const result = await makeRunner(clock).run(INSTANCE, { ...request, timeoutMs: 30_000 });
    expect(result.status).toBe("TimedOut");
    expect(result.durationMs).toBeGreaterThanOrEqual(90_000);
    expect(result.durationMs).toBeLessThan(110_000);
    expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
  });

  it("calls an invocation that never appears undeliverable", async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(new InvocationDoesNotExist({ $metadata: {}, message: "none" }));
    const result = await makeRunner(clock).run(INSTANCE, request);
    expect(result.status).toBe("Undeliverable");
    expect(clock.now().getTime() - Date.parse("2024-05-02T17:05:00.000Z")).toBeLessThan(75_000);
  });

  it("refuses non-instance targets and SendCommand refusals as results", async () => {
    expect((await makeRunner(clock).run("local", request)).status).toBe("Undeliverable");
    ssm.on(SendCommandCommand).rejects(serviceError("InvalidInstanceId", "not managed"));
    expect((await makeRunner(clock).run(INSTANCE, request)).status).toBe("Undeliverable");
    ssm.on(SendCommandCommand).rejects(serviceError("AccessDeniedException", "tag condition"));
    expect((await makeRunner(clock).run(INSTANCE, request)).status).toBe("AccessDenied");
  });

  it("sends only the document generated from the script the request names", async () => {
    const other = { ...request, scriptPath: "probes/leak-watch.sh" };
    await expect(makeRunner(clock).run(INSTANCE, other)).rejects.toThrow(
      /runs probes\/api-unreachable\.sh, but the request is for probes\/leak-watch\.sh/,
    );
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("throws on a command name without a document (configuration error)", async () => {
    await expect(makeRunner(clock).run(INSTANCE, { ...request, name: "rm-rf" })).rejects.toThrow(
      /no SSM document/,
    );
  });
});
