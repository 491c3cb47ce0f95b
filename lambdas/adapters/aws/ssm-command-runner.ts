import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import type {
  Clock,
  CommandRequest,
  CommandResult,
  CommandRunner,
  CommandStatus,
} from "../../ports/index.js";
import { awsErrorName, DocumentMismatchError, isThrottling, UnknownDocumentError } from "./errors.js";

/** SSM returns at most this many characters of a step's stdout inline. */
export const SSM_INLINE_STDOUT_LIMIT = 24_000;

/** SSM's document plugin folder for `aws:runShellScript` in the S3 output path. */
const SHELL_PLUGIN_FOLDER = "awsrunShellScript";

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** Which SSM document runs a command name, and which step of it carries the result. */
export interface SsmDocumentRef {
  readonly documentName: string;
  /** The step (plugin) name whose status and stdout are the result (`probe`, `action`). */
  readonly step: string;
  /** The script the document was generated from (relative to runbooks/): a request must name the same. */
  readonly script?: string | undefined;
}

export interface SsmPollPolicy {
  /** First wait after SendCommand. @default 1000 */
  readonly initialDelayMs: number;
  /** Backoff cap. @default 10000 */
  readonly maxDelayMs: number;
  /** Multiplier per poll. @default 1.6 */
  readonly factor: number;
  /** Added to the command timeout for delivery and reporting lag before giving up. @default 60000 */
  readonly graceMs: number;
  /** How long `InvocationDoesNotExist` is tolerated after send before calling it undeliverable. @default 60000 */
  readonly appearWithinMs: number;
}

export const DEFAULT_POLL_POLICY: SsmPollPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 10_000,
  factor: 1.6,
  graceMs: 60_000,
  appearWithinMs: 60_000,
};

export interface SsmCommandRunnerOptions {
  readonly client: SSMClient;
  readonly clock: Clock;
  /** Command name (`CommandRequest.name`) → document. Only these run; the request's script text is never sent. */
  readonly documents: Readonly<Record<string, SsmDocumentRef>>;
  /** Bucket for the full output (SSM OutputS3BucketName); null keeps only the inline copy. */
  readonly outputBucket: string | null;
  /** SSM OutputS3KeyPrefix. @default "ssm" */
  readonly outputKeyPrefix?: string;
  readonly poll?: Partial<SsmPollPolicy>;
}

export interface SentCommand {
  readonly commandId: string;
  readonly instanceId: string;
  readonly step: string;
  readonly sentAt: string;
}

/** One look at an invocation: still going (with why), or the final result. */
export type PollOutcome =
  | {
      readonly done: false;
      readonly reason: "not-yet-visible" | "running" | "throttled";
      readonly status: string;
    }
  | { readonly done: true; readonly result: CommandResult };

/**
 * Runs runbook commands on EC2 through SSM Run Command: SendCommand of the project's own document
 * (by name, with parameters that reach the script as `SSM_<name>` env vars), then GetCommandInvocation
 * with backoff until a final status or the bounded deadline. Expected failures are results.
 *
 * Targets are instance ids, optionally written `ssm:i-0123...` (the CLI form).
 * `send` and `poll` are public so a Step Functions Wait-state loop can drive them one call at a time.
 */
export class SsmCommandRunner implements CommandRunner {
  private readonly client: SSMClient;
  private readonly clock: Clock;
  private readonly documents: Readonly<Record<string, SsmDocumentRef>>;
  private readonly outputBucket: string | null;
  private readonly outputKeyPrefix: string;
  private readonly policy: SsmPollPolicy;

  constructor(options: SsmCommandRunnerOptions) {
    this.client = options.client;
    this.clock = options.clock;
    this.documents = options.documents;
    this.outputBucket = options.outputBucket;
    this.outputKeyPrefix = (options.outputKeyPrefix ?? "ssm").replace(/^\/+|\/+$/g, "");
    this.policy = { ...DEFAULT_POLL_POLICY, ...options.poll };
  }

  /** The laptop form: `runbook run ... --target ssm:i-0123...` with the default credential chain. */
  static fromRegion(options: {
    region: string;
    outputBucket: string | null;
    documents: Readonly<Record<string, SsmDocumentRef>>;
    clock: Clock;
    outputKeyPrefix?: string;
  }): SsmCommandRunner {
    return new SsmCommandRunner({ ...options, client: new SSMClient({ region: options.region }) });
  }

  async run(target: string, request: CommandRequest): Promise<CommandResult> {
    const started = this.clock.now().getTime();
    const sent = await this.send(target, request);
    if ("result" in sent) return sent.result;

    const deadline = started + request.timeoutMs + this.policy.graceMs;
    const appearDeadline = started + this.policy.appearWithinMs;
    let delay = this.policy.initialDelayMs;
    for (;;) {
      await this.clock.sleep(delay);
      const outcome = await this.poll(sent.command, started);
      if (outcome.done) return outcome.result;
      const now = this.clock.now().getTime();
      if (outcome.reason === "not-yet-visible" && now >= appearDeadline) {
        return this.finalResult("Undeliverable", sent.command, started, {
          detail: `CommandId ${sent.command.commandId}: invocation never appeared for ${sent.command.instanceId} within ${this.policy.appearWithinMs} ms`,
        });
      }
      if (now >= deadline) {
        await this.cancelQuietly(sent.command);
        return this.finalResult("TimedOut", sent.command, started, {
          detail: `CommandId ${sent.command.commandId}: still ${outcome.status} after ${now - started} ms; polling stopped and the command was cancelled`,
        });
      }
      // Throttled polls back off twice as fast; the deadline still bounds the total.
      delay = Math.min(
        this.policy.maxDelayMs,
        delay * this.policy.factor * (outcome.reason === "throttled" ? 2 : 1),
      );
    }
  }

  /** SendCommand. Returns the sent command, or a final result when SSM refused it outright. */
  async send(
    target: string,
    request: CommandRequest,
  ): Promise<{ command: SentCommand } | { result: CommandResult }> {
    const started = this.clock.now().getTime();
    const doc = this.documents[request.name];
    if (!doc) throw new UnknownDocumentError(request.name, Object.keys(this.documents));
    // The request says which script it runs; the document must be the one generated from it.
    if (doc.script !== undefined && doc.script !== request.scriptPath)
      throw new DocumentMismatchError(request.name, doc.script, request.scriptPath);
    const instanceId = target.startsWith("ssm:") ? target.slice(4) : target;
    const refused = (status: CommandStatus, detail: string): { result: CommandResult } => ({
      result: {
        status,
        exitCode: null,
        stdout: "",
        stderr: "",
        stdoutTruncated: false,
        durationMs: this.clock.now().getTime() - started,
        outputUri: null,
        detail,
      },
    });
    if (!INSTANCE_ID.test(instanceId)) return refused("Undeliverable", `not an EC2 instance id: ${target}`);

    const parameters: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(request.parameters)) parameters[k] = [v];
    let delay = this.policy.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send(
          new SendCommandCommand({
            DocumentName: doc.documentName,
            // The document CloudFormation last wrote. `$DEFAULT` (what SSM runs without this) is the
            // first version unless someone promotes a newer one, which a stack update does not do.
            DocumentVersion: "$LATEST",
            InstanceIds: [instanceId],
            Parameters: parameters,
            Comment: `runbook-autopilot ${request.name}`.slice(0, 100),
            // Delivery timeout: how long SSM tries to reach the agent (SSM minimum 30 s).
            TimeoutSeconds: Math.max(30, Math.ceil(this.policy.appearWithinMs / 1000)),
            ...(this.outputBucket
              ? { OutputS3BucketName: this.outputBucket, OutputS3KeyPrefix: this.outputKeyPrefix }
              : {}),
          }),
        );
        const commandId = out.Command?.CommandId;
        if (!commandId) return refused("Failed", "SendCommand returned no CommandId");
        return {
          command: { commandId, instanceId, step: doc.step, sentAt: this.clock.now().toISOString() },
        };
      } catch (e) {
        const name = awsErrorName(e);
        if (isThrottling(e) && attempt < 5) {
          await this.clock.sleep(delay);
          delay = Math.min(this.policy.maxDelayMs, delay * 2);
          continue;
        }
        if (name === "AccessDeniedException") return refused("AccessDenied", `SendCommand: ${messageOf(e)}`);
        if (name === "InvalidInstanceId" || name === "UnsupportedPlatformType") {
          return refused("Undeliverable", `SendCommand ${name}: ${messageOf(e)}`);
        }
        if (isThrottling(e))
          return refused("Failed", `SendCommand throttled ${attempt} times: ${messageOf(e)}`);
        throw e;
      }
    }
  }

  /** One GetCommandInvocation for the document's result step. `startedMs` only feeds durationMs. */
  async poll(command: SentCommand, startedMs = Date.parse(command.sentAt)): Promise<PollOutcome> {
    let out: GetCommandInvocationCommandOutput;
    try {
      out = await this.client.send(
        new GetCommandInvocationCommand({
          CommandId: command.commandId,
          InstanceId: command.instanceId,
          PluginName: command.step,
        }),
      );
    } catch (e) {
      const name = awsErrorName(e);
      // Right after SendCommand the invocation is not registered yet: keep asking.
      if (name === "InvocationDoesNotExist") return { done: false, reason: "not-yet-visible", status: name };
      if (isThrottling(e)) return { done: false, reason: "throttled", status: name };
      // The SDK waiter retries AccessDenied until its deadline; it will not get better, so stop now.
      if (name === "AccessDeniedException") {
        return {
          done: true,
          result: this.finalResult("AccessDenied", command, startedMs, {
            detail: `GetCommandInvocation: ${messageOf(e)}`,
          }),
        };
      }
      throw e;
    }
    const status = out.Status ?? "Pending";
    const details = (out.StatusDetails ?? "").replace(/\s+/g, "");
    if (["Pending", "InProgress", "Delayed", "Cancelling"].includes(status) && !isTerminalDetail(details)) {
      return { done: false, reason: "running", status };
    }
    return {
      done: true,
      result: this.finalResult(statusOf(status, details), command, startedMs, {
        exitCode: typeof out.ResponseCode === "number" && out.ResponseCode >= 0 ? out.ResponseCode : null,
        stdout: out.StandardOutputContent ?? "",
        stderr: out.StandardErrorContent ?? "",
        detail: `CommandId ${command.commandId}: ${out.StatusDetails ?? status}`,
      }),
    };
  }

  /** Where SSM writes the complete stdout of a step when an output bucket is set. */
  outputUriOf(command: Pick<SentCommand, "commandId" | "instanceId" | "step">): string | null {
    if (!this.outputBucket) return null;
    const prefix = this.outputKeyPrefix ? `${this.outputKeyPrefix}/` : "";
    return `s3://${this.outputBucket}/${prefix}${command.commandId}/${command.instanceId}/${SHELL_PLUGIN_FOLDER}/${command.step}/stdout`;
  }

  private finalResult(
    status: CommandStatus,
    command: SentCommand,
    startedMs: number,
    extra: { exitCode?: number | null; stdout?: string; stderr?: string; detail: string },
  ): CommandResult {
    const stdout = extra.stdout ?? "";
    return {
      status,
      exitCode: extra.exitCode ?? null,
      stdout,
      stderr: extra.stderr ?? "",
      // SSM cuts inline stdout at 24,000 characters; at the limit, the S3 copy is the whole text.
      stdoutTruncated: stdout.length >= SSM_INLINE_STDOUT_LIMIT,
      durationMs: Math.max(0, this.clock.now().getTime() - startedMs),
      outputUri: this.outputUriOf(command),
      detail: extra.detail,
    };
  }

  /** Cancels a command whose polling gave up (best effort; the document's own time-out still bounds it). */
  async cancelQuietly(command: SentCommand): Promise<void> {
    try {
      await this.client.send(
        new CancelCommandCommand({ CommandId: command.commandId, InstanceIds: [command.instanceId] }),
      );
    } catch {
      // best effort: the command's own executionTimeout still bounds it on the host
    }
  }
}

function isTerminalDetail(details: string): boolean {
  return ["AccessDenied", "Undeliverable", "Terminated", "InvalidPlatform"].includes(details);
}

function statusOf(status: string, details: string): CommandStatus {
  switch (details) {
    case "AccessDenied":
      return "AccessDenied";
    case "Undeliverable":
    case "InvalidPlatform":
      return "Undeliverable";
    case "Terminated":
      return "Terminated";
    case "DeliveryTimedOut":
    case "ExecutionTimedOut":
      return "TimedOut";
  }
  switch (status) {
    case "Success":
      return "Success";
    case "TimedOut":
      return "TimedOut";
    case "Cancelled":
    case "Cancelling":
      return "Cancelled";
    default:
      return "Failed";
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
