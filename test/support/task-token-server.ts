import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The two AWS endpoints `runbook approve` talks to, on loopback, for the local end-to-end runs:
 * - Step Functions `SendTaskSuccess` / `SendTaskFailure` (AWS JSON 1.0, `X-Amz-Target:
 *   AWSStepFunctions.<Op>`): answers the `.waitForTaskToken` task that `issue()` handed a token to,
 *   as Step Functions does (a token answers once; again → `TaskTimedOut`; unknown → `TaskDoesNotExist`);
 * - STS `GetCallerIdentity` (awsQuery): the caller ARN configured here (`callerArn`);
 * - SNS `Publish` (awsQuery): recorded in `published` (the approval request, escalations).
 * aws-local-stepfunctions has no callback API: the test's handler for the task state awaits `issue()`'s
 * promise, which this server settles. The real SDK clients reach it through AWS_ENDPOINT_URL_SFN/_STS.
 */
export interface TaskOutcome {
  readonly token: string;
  readonly output?: unknown;
  readonly error?: { readonly error: string; readonly cause: string };
}

export class TaskTokenServer {
  callerArn = "arn:aws:sts::123456789012:assumed-role/OnCall/alice";
  readonly answered: TaskOutcome[] = [];
  readonly published: { topicArn: string; subject: string; message: string }[] = [];
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Called once the request's handler has kept its token (the approver may answer from then on). */
  onRequested: ((input: Record<string, unknown>) => void) | null = null;
  private server: Server | null = null;
  endpoint = "";

  /** The endpoints for the SDK clients of the handlers and of `runbook approve`. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SFN: this.endpoint,
      AWS_ENDPOINT_URL_STS: this.endpoint,
      AWS_ENDPOINT_URL_SNS: this.endpoint,
    };
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok) => this.server?.listen(port, "127.0.0.1", ok));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  /** A fresh task token (as Step Functions issues one per task) and the promise the task waits on. */
  issue(): { token: string; outcome: Promise<unknown> } {
    const token = `AQB8AAAAKgAAAAMAAAAA${randomUUID().replaceAll("-", "")}`;
    const outcome = new Promise<unknown>((resolve, reject) => this.pending.set(token, { resolve, reject }));
    return { token, outcome };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const target = String(req.headers["x-amz-target"] ?? "");
    if (!target && body.includes("Action=GetCallerIdentity")) {
      const account = this.callerArn.split(":")[4] ?? "";
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${this.callerArn}</Arn><UserId>AROAEXAMPLE:alice</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
      return;
    }
    if (!target && body.includes("Action=Publish")) {
      const p = new URLSearchParams(body);
      this.published.push({
        topicArn: p.get("TopicArn") ?? "",
        subject: p.get("Subject") ?? "",
        message: p.get("Message") ?? "",
      });
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
      return;
    }
    const op = target.replace(/^AWSStepFunctions\./, "");
    const fail = (status: number, type: string, message: string) => {
      res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message }));
    };
    if (op !== "SendTaskSuccess" && op !== "SendTaskFailure") return fail(400, "UnknownOperation", op);
    const input = JSON.parse(body || "{}") as {
      taskToken?: string;
      output?: string;
      error?: string;
      cause?: string;
    };
    const token = String(input.taskToken ?? "");
    const waiting = this.pending.get(token);
    if (!waiting) {
      return this.answered.some((a) => a.token === token)
        ? fail(400, "TaskTimedOut", "Task Timed Out: the task was already answered")
        : fail(400, "TaskDoesNotExist", "Task Does Not Exist");
    }
    this.pending.delete(token);
    if (op === "SendTaskSuccess") {
      const output = JSON.parse(String(input.output ?? "null")) as unknown;
      this.answered.push({ token, output });
      waiting.resolve(output);
    } else {
      const error = { error: String(input.error ?? ""), cause: String(input.cause ?? "") };
      this.answered.push({ token, error });
      waiting.reject(Object.assign(new Error(error.cause), { name: error.error }));
    }
    res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
    res.end("{}");
  }
}
