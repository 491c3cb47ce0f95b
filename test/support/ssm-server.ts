import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

/**
 * A local SSM Run Command endpoint speaking the real AWS JSON 1.1 protocol
 * (`X-Amz-Target: AmazonSSM.<Op>`, `application/x-amz-json-1.1`), so the real @aws-sdk/client-ssm and
 * SsmCommandRunner can be tested end to end. Documents are schemaVersion 2.2 `aws:runShellScript`
 * (register them from the synthesized template); SendCommand validates parameters against their
 * `allowedPattern`, then runs each step with bash ON THIS MACHINE (the lab) with `SSM_<name>` env vars,
 * exactly like ENV_VAR interpolation. Invocations go Pending → InProgress → Success/Failed/TimedOut;
 * inline stdout is cut at 24,000 characters like SSM's; full output goes to S3 (s3rver) when
 * OutputS3BucketName is set.
 *
 * Operations: SendCommand, GetCommandInvocation, ListCommandInvocations, CancelCommand.
 */

export const SSM_INLINE_LIMIT = 24_000;

export interface SsmDocumentContent {
  readonly schemaVersion: string;
  readonly parameters?: Readonly<
    Record<string, { readonly type?: string; readonly default?: string; readonly allowedPattern?: string }>
  >;
  readonly mainSteps: readonly {
    readonly action: string;
    readonly name: string;
    readonly inputs: { readonly runCommand: readonly string[]; readonly timeoutSeconds?: string | number };
  }[];
}

/**
 * A fault the server injects, switchable per test (`injectFault`, `clearFaults`). `document` matches a
 * substring of the document name (all documents when absent); `times` bounds how many requests or
 * invocations it hits (every one when absent).
 * - `throttle`: the operation answers `ThrottlingException` (HTTP 400, as SSM does);
 * - `access-denied`: the operation answers `AccessDeniedException`;
 * - `invisible`: GetCommandInvocation answers `InvocationDoesNotExist` for the invocation, for good;
 * - `delivery-timed-out`: the script never runs; the invocation ends `TimedOut` / `DeliveryTimedOut`;
 * - `execution-timed-out`: the script is killed after `afterMs`; `TimedOut` / `ExecutionTimedOut`,
 *   with the output it printed so far;
 * - `failed`: the script runs to its end, then the invocation reports `Failed` with exit code
 *   `exitCode` (default 1) and only the first `stdoutChars` characters of its stdout (a cut-off run);
 * - `hang`: the operation never answers (a client stuck on a dead connection: a Lambda that crashes).
 */
export type SsmFault = { readonly document?: string; readonly times?: number } & (
  | { readonly kind: "throttle"; readonly op: "SendCommand" | "GetCommandInvocation" }
  | { readonly kind: "access-denied"; readonly op: "SendCommand" | "GetCommandInvocation" }
  | { readonly kind: "hang"; readonly op: "SendCommand" | "GetCommandInvocation" }
  | { readonly kind: "invisible" }
  | { readonly kind: "delivery-timed-out" }
  | { readonly kind: "execution-timed-out"; readonly afterMs: number }
  | { readonly kind: "failed"; readonly stdoutChars: number; readonly exitCode?: number }
);

/** What the server did with one request: for tests that wait on events, never on time. */
export interface SsmServerEvent {
  readonly op: string;
  readonly documentName: string | null;
  readonly commandId: string | null;
  /** The fault applied, if any. */
  readonly fault: SsmFault["kind"] | null;
}

export interface SsmTestServerOptions {
  /** Documents by name. More can be registered later. */
  readonly documents?: Readonly<Record<string, SsmDocumentContent>>;
  /** S3 client (s3rver) for OutputS3BucketName uploads. @default none: uploads are skipped */
  readonly s3?: S3Client;
  /** How long an invocation stays Pending before its steps start. @default 50 */
  readonly pendingMs?: number;
  /** How long GetCommandInvocation answers InvocationDoesNotExist after SendCommand. @default 0 */
  readonly invisibleMs?: number;
  /** Instances SendCommand refuses with AccessDeniedException (no opt-in tag, in IAM terms). @default none */
  readonly deniedInstances?: readonly string[];
  /** SSM Agent version DescribeInstanceInformation reports per instance. @default "3.3.3050.0" for any */
  readonly agentVersions?: Readonly<Record<string, string>>;
  /** Extra environment for every script (PATH to fakes...). @default {} */
  readonly env?: Readonly<Record<string, string>>;
}

type PluginStatus = "Pending" | "InProgress" | "Success" | "Failed" | "TimedOut" | "Cancelled";

interface PluginRun {
  name: string;
  status: PluginStatus;
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  startedAt: string | null;
  endedAt: string | null;
  stdoutUrl: string;
  stderrUrl: string;
}

interface Invocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  visibleAt: number;
  status: PluginStatus;
  statusDetails: string;
  plugins: PluginRun[];
  child: ChildProcess | null;
  cancelled: boolean;
  requestedAt: string;
  /** Fault applied to this invocation's execution (per-invocation kinds only). */
  fault: SsmFault | null;
}

export interface RecordedCommand {
  readonly commandId: string;
  readonly documentName: string;
  /** As sent (`$DEFAULT` when the request named none). */
  readonly documentVersion: string;
  readonly instanceIds: readonly string[];
  readonly parameters: Readonly<Record<string, string>>;
  readonly outputS3BucketName: string | null;
  readonly outputS3KeyPrefix: string | null;
}

class SsmError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class SsmTestServer {
  readonly endpoint: string;
  /** Every accepted SendCommand, in order. */
  readonly commands: RecordedCommand[] = [];
  private readonly documents = new Map<string, SsmDocumentContent>();
  private readonly invocations = new Map<string, Invocation>();
  private readonly done: Promise<void>[] = [];
  private readonly faults: { fault: SsmFault; left: number }[] = [];
  private readonly listeners = new Set<(e: SsmServerEvent) => void>();
  private readonly hung = new Set<ServerResponse>();
  /** S3 uploads that failed (s3rver stopped): SSM itself keeps going without its S3 copy. */
  readonly uploadErrors: string[] = [];

  private constructor(
    private readonly server: Server,
    port: number,
    private readonly options: SsmTestServerOptions,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    for (const [name, content] of Object.entries(options.documents ?? {}))
      this.registerDocument(name, content);
  }

  static async start(options: SsmTestServerOptions = {}): Promise<SsmTestServer> {
    let self: SsmTestServer | null = null;
    const server = createServer((req, res) => {
      void self?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    self = new SsmTestServer(server, (server.address() as AddressInfo).port, options);
    return self;
  }

  registerDocument(name: string, content: SsmDocumentContent): void {
    if (content.schemaVersion !== "2.2") throw new Error(`${name}: only schemaVersion 2.2 is supported`);
    for (const step of content.mainSteps) {
      if (step.action !== "aws:runShellScript")
        throw new Error(`${name}/${step.name}: unsupported ${step.action}`);
    }
    this.documents.set(name, content);
  }

  /**
   * Registers every AWS::SSM::Document of a synthesized template. Documents are named by logical id
   * (CloudFormation would generate a name); returns logical id → name.
   */
  registerFromTemplate(template: {
    Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  }): Record<string, string> {
    const names: Record<string, string> = {};
    for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
      if (r.Type !== "AWS::SSM::Document") continue;
      const name = typeof r.Properties?.Name === "string" ? r.Properties.Name : logicalId;
      this.registerDocument(name, r.Properties?.Content as SsmDocumentContent);
      names[logicalId] = name;
    }
    return names;
  }

  /** Injects a fault until `clearFaults` (or until it has hit `times` requests/invocations). */
  injectFault(fault: SsmFault): void {
    this.faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Calls `listener` for every request the server handled; returns the unsubscribe function. */
  onEvent(listener: (e: SsmServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event matching `predicate`, or rejects after `timeoutMs`. */
  waitForEvent(predicate: (e: SsmServerEvent) => boolean, timeoutMs: number): Promise<SsmServerEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no matching SSM server event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onEvent((e) => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  /** Resolves when the command's invocations have all ended (at once if they have), or rejects after `timeoutMs`. */
  async finished(commandId: string, timeoutMs: number): Promise<void> {
    const running = () =>
      [...this.invocations.values()].some(
        (i) => i.commandId === commandId && (i.status === "Pending" || i.status === "InProgress"),
      );
    if (!running()) return;
    await this.waitForEvent((e) => e.op === "Finished" && e.commandId === commandId && !running(), timeoutMs);
  }

  private emit(e: SsmServerEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  /** The first fault matching kind(s), operation and document, counted as used. */
  private takeFault(
    kinds: readonly SsmFault["kind"][],
    documentName: string | null,
    op: string | null,
  ): SsmFault | null {
    for (const entry of this.faults) {
      const f = entry.fault;
      if (entry.left <= 0 || !kinds.includes(f.kind)) continue;
      if ("op" in f && op !== null && f.op !== op) continue;
      if (f.document && !(documentName ?? "").includes(f.document)) continue;
      entry.left--;
      return f;
    }
    return null;
  }

  /** SDK client config pointing at this server. */
  clientConfig(): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  } {
    return {
      endpoint: this.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    };
  }

  /** Resolves when every started invocation has finished (uploads included). */
  async settle(): Promise<void> {
    await Promise.all(this.done);
  }

  async stop(): Promise<void> {
    for (const inv of this.invocations.values()) {
      inv.cancelled = true;
      killGroup(inv.child);
    }
    for (const res of this.hung) res.destroy();
    await this.settle().catch(() => undefined);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers["x-amz-target"] ?? "");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomUUID(),
      });
      res.end(JSON.stringify(body));
    };
    try {
      const input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      const op = target.replace(/^AmazonSSM\./, "");
      const documentName = this.documentOf(op, input);
      const commandId = typeof input.CommandId === "string" ? input.CommandId : null;
      const fault = this.takeFault(["throttle", "access-denied", "hang"], documentName, op);
      if (fault) {
        this.emit({ op, documentName, commandId, fault: fault.kind });
        if (fault.kind === "hang") {
          this.hung.add(res);
          return;
        }
        throw fault.kind === "throttle"
          ? new SsmError("ThrottlingException", "Rate exceeded")
          : new SsmError(
              "AccessDeniedException",
              `User: arn:aws:sts::123456789012:assumed-role/runbook/fn is not authorized to perform: ssm:${op}`,
            );
      }
      const answer = (body: Record<string, unknown>) => {
        reply(200, body);
        const sent = (body.Command as { CommandId?: string } | undefined)?.CommandId ?? null;
        this.emit({ op, documentName: documentName, commandId: commandId ?? sent, fault: null });
      };
      switch (op) {
        case "SendCommand":
          return answer(this.sendCommand(input));
        case "GetCommandInvocation":
          return answer(this.getCommandInvocation(input));
        case "ListCommandInvocations":
          return answer(this.listCommandInvocations(input));
        case "CancelCommand":
          return answer(this.cancelCommand(input));
        case "DescribeInstanceInformation":
          return answer(this.describeInstanceInformation(input));
        default:
          throw new SsmError("UnknownOperationException", `unsupported operation ${target}`);
      }
    } catch (e) {
      if (e instanceof SsmError) return reply(400, { __type: e.type, message: e.message });
      return reply(500, { __type: "InternalServerError", message: (e as Error).message });
    }
  }

  /** The document a request is about (SendCommand names it; the others name a known command). */
  private documentOf(op: string, input: Record<string, unknown>): string | null {
    if (op === "SendCommand") return String(input.DocumentName ?? "");
    const inv = [...this.invocations.values()].find((i) => i.commandId === input.CommandId);
    return inv?.documentName ?? null;
  }

  /** Every instance id asked about is a managed, online instance with `agentVersions[id]` (default a current agent). */
  private describeInstanceInformation(input: Record<string, unknown>) {
    const filters = (input.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
    const ids = filters.find((f) => f.Key === "InstanceIds")?.Values ?? [];
    return {
      InstanceInformationList: ids.map((id) => ({
        InstanceId: id,
        PingStatus: "Online",
        AgentVersion: this.options.agentVersions?.[id] ?? "3.3.3050.0",
        PlatformType: "Linux",
      })),
    };
  }

  private sendCommand(input: Record<string, unknown>) {
    const documentName = String(input.DocumentName ?? "");
    const doc = this.documents.get(documentName);
    if (!doc) throw new SsmError("InvalidDocument", `document ${documentName} does not exist`);
    // Registered documents have one version, "1"; SSM also accepts $LATEST and $DEFAULT.
    const version = input.DocumentVersion === undefined ? "$DEFAULT" : String(input.DocumentVersion);
    if (!["$LATEST", "$DEFAULT", "1"].includes(version))
      throw new SsmError("InvalidDocumentVersion", `document ${documentName} has no version ${version}`);
    const instanceIds = (input.InstanceIds as string[] | undefined) ?? [];
    if (instanceIds.length === 0) throw new SsmError("InvalidInstanceId", "no InstanceIds");
    for (const id of instanceIds) {
      if (!/^i-[0-9a-f]{8,17}$/.test(id))
        throw new SsmError("InvalidInstanceId", `not a managed instance: ${id}`);
      if (this.options.deniedInstances?.includes(id)) {
        throw new SsmError(
          "AccessDeniedException",
          `not authorized to perform ssm:SendCommand on instance/${id}`,
        );
      }
    }
    const parameters = resolveParameters(
      doc,
      (input.Parameters as Record<string, string[]> | undefined) ?? {},
    );
    const commandId = randomUUID();
    const bucket = typeof input.OutputS3BucketName === "string" ? input.OutputS3BucketName : null;
    const prefix =
      typeof input.OutputS3KeyPrefix === "string" ? input.OutputS3KeyPrefix.replace(/\/+$/, "") : null;
    this.commands.push({
      commandId,
      documentName,
      documentVersion: version,
      instanceIds,
      parameters,
      outputS3BucketName: bucket,
      outputS3KeyPrefix: prefix,
    });
    const now = Date.now();
    for (const instanceId of instanceIds) {
      const key = (step: string, stream: string) =>
        `${prefix ? `${prefix}/` : ""}${commandId}/${instanceId}/awsrunShellScript/${step}/${stream}`;
      const inv: Invocation = {
        commandId,
        instanceId,
        documentName,
        visibleAt: now + (this.options.invisibleMs ?? 0),
        status: "Pending",
        statusDetails: "Pending",
        plugins: doc.mainSteps.map((s) => ({
          name: s.name,
          status: "Pending",
          statusDetails: "Pending",
          responseCode: -1,
          stdout: "",
          stderr: "",
          startedAt: null,
          endedAt: null,
          stdoutUrl: bucket ? `https://s3.amazonaws.com/${bucket}/${key(s.name, "stdout")}` : "",
          stderrUrl: bucket ? `https://s3.amazonaws.com/${bucket}/${key(s.name, "stderr")}` : "",
        })),
        child: null,
        cancelled: false,
        requestedAt: new Date(now).toISOString(),
        fault: this.takeFault(
          ["invisible", "delivery-timed-out", "execution-timed-out", "failed"],
          documentName,
          null,
        ),
      };
      if (inv.fault?.kind === "invisible") inv.visibleAt = Number.POSITIVE_INFINITY;
      this.invocations.set(`${commandId}/${instanceId}`, inv);
      this.done.push(this.execute(inv, doc, parameters, bucket ? { bucket, key } : null));
    }
    return {
      Command: {
        CommandId: commandId,
        DocumentName: documentName,
        InstanceIds: instanceIds,
        Status: "Pending",
        RequestedDateTime: now / 1000,
        OutputS3BucketName: bucket ?? undefined,
        OutputS3KeyPrefix: prefix ?? undefined,
      },
    };
  }

  private async execute(
    inv: Invocation,
    doc: SsmDocumentContent,
    parameters: Record<string, string>,
    output: { bucket: string; key: (step: string, stream: string) => string } | null,
  ): Promise<void> {
    await sleep(this.options.pendingMs ?? 50);
    if (inv.cancelled) return;
    if (inv.fault?.kind === "delivery-timed-out") {
      // The agent was never reached: no step ran, no output.
      for (const p of inv.plugins) {
        p.status = "TimedOut";
        p.statusDetails = "DeliveryTimedOut";
      }
      inv.status = "TimedOut";
      inv.statusDetails = "DeliveryTimedOut";
      return;
    }
    inv.status = "InProgress";
    inv.statusDetails = "InProgress";
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...this.options.env };
    for (const [k, v] of Object.entries(parameters)) env[`SSM_${k}`] = v;
    for (const [i, step] of doc.mainSteps.entries()) {
      const plugin = inv.plugins[i];
      if (!plugin || inv.cancelled) break;
      plugin.status = "InProgress";
      plugin.statusDetails = "InProgress";
      plugin.startedAt = new Date().toISOString();
      const fault = inv.fault;
      const timeoutMs =
        fault?.kind === "execution-timed-out"
          ? fault.afterMs
          : Number(step.inputs.timeoutSeconds ?? 3600) * 1000;
      // A "failed" fault is a script killed mid-output (exit 137 is SIGKILL): it is stopped once it has
      // printed the chars the fault keeps, not run to its end, so a slow host cannot turn it into a time-out.
      const killAt = fault?.kind === "failed" ? fault.stdoutChars : undefined;
      const ran = await this.runStep(inv, step.inputs.runCommand.join("\n"), env, timeoutMs, killAt);
      const r =
        fault?.kind === "failed"
          ? { ...ran, code: fault.exitCode ?? 1, stdout: ran.stdout.slice(0, fault.stdoutChars) }
          : ran;
      plugin.stdout = r.stdout;
      plugin.stderr = r.stderr;
      plugin.responseCode = r.code;
      plugin.endedAt = new Date().toISOString();
      if (inv.cancelled) {
        plugin.status = "Cancelled";
        plugin.statusDetails = "Cancelled";
      } else if (r.timedOut) {
        plugin.status = "TimedOut";
        plugin.statusDetails = "ExecutionTimedOut";
      } else {
        plugin.status = r.code === 0 ? "Success" : "Failed";
        plugin.statusDetails = plugin.status;
      }
      if (output && this.options.s3) {
        for (const [stream, body] of [
          ["stdout", r.stdout],
          ["stderr", r.stderr],
        ] as const) {
          if (body.length === 0) continue;
          try {
            await this.options.s3.send(
              new PutObjectCommand({ Bucket: output.bucket, Key: output.key(step.name, stream), Body: body }),
            );
          } catch (e) {
            // Like SSM: a failed upload loses only the S3 copy, never the invocation's result.
            this.uploadErrors.push(`${output.key(step.name, stream)}: ${(e as Error).message}`);
          }
        }
      }
    }
    const worst = inv.plugins.find((p) => p.status !== "Success" && p.status !== "Pending") ?? null;
    inv.status = inv.cancelled ? "Cancelled" : (worst?.status ?? "Success");
    inv.statusDetails = inv.cancelled ? "Cancelled" : (worst?.statusDetails ?? "Success");
    this.emit({
      op: "Finished",
      documentName: inv.documentName,
      commandId: inv.commandId,
      fault: inv.fault?.kind ?? null,
    });
  }

  private runStep(
    inv: Invocation,
    script: string,
    env: Record<string, string>,
    timeoutMs: number,
    /** Kill the script once its stdout has this many chars. @default never */
    killAtStdoutChars?: number,
  ): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
    return new Promise((resolve) => {
      const child = spawn("bash", ["-c", script, "_script.sh"], {
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      inv.child = child;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let outChars = 0;
      child.stdout?.on("data", (b: Buffer) => {
        out.push(b);
        outChars += b.length;
        if (killAtStdoutChars !== undefined && outChars >= killAtStdoutChars) killGroup(child);
      });
      child.stderr?.on("data", (b: Buffer) => err.push(b));
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child);
      }, timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        inv.child = null;
        resolve({
          code: code ?? -1,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
          timedOut,
        });
      });
    });
  }

  private find(input: Record<string, unknown>): Invocation {
    const inv = this.invocations.get(`${String(input.CommandId)}/${String(input.InstanceId)}`);
    if (!inv || Date.now() < inv.visibleAt) {
      throw new SsmError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)");
    }
    return inv;
  }

  private getCommandInvocation(input: Record<string, unknown>) {
    const inv = this.find(input);
    const pluginName = typeof input.PluginName === "string" ? input.PluginName : null;
    const plugin = pluginName ? inv.plugins.find((p) => p.name === pluginName) : inv.plugins[0];
    if (!plugin) throw new SsmError("InvalidPluginName", `no step ${pluginName} in ${inv.documentName}`);
    // Without PluginName, the invocation's overall status; with it, that step's.
    const status = pluginName ? plugin.status : inv.status;
    const statusDetails = pluginName ? plugin.statusDetails : inv.statusDetails;
    return {
      CommandId: inv.commandId,
      InstanceId: inv.instanceId,
      DocumentName: inv.documentName,
      PluginName: plugin.name,
      Status: status,
      StatusDetails: statusDetails,
      ResponseCode: plugin.responseCode,
      ExecutionStartDateTime: plugin.startedAt ?? "",
      ExecutionEndDateTime: plugin.endedAt ?? "",
      StandardOutputContent: plugin.stdout.slice(0, SSM_INLINE_LIMIT),
      StandardOutputUrl: plugin.stdoutUrl,
      StandardErrorContent: plugin.stderr.slice(0, 8_000),
      StandardErrorUrl: plugin.stderrUrl,
    };
  }

  private listCommandInvocations(input: Record<string, unknown>) {
    const list = [...this.invocations.values()].filter(
      (i) =>
        (!input.CommandId || i.commandId === input.CommandId) &&
        (!input.InstanceId || i.instanceId === input.InstanceId),
    );
    return {
      CommandInvocations: list.map((i) => ({
        CommandId: i.commandId,
        InstanceId: i.instanceId,
        DocumentName: i.documentName,
        Status: i.status,
        StatusDetails: i.statusDetails,
        RequestedDateTime: Date.parse(i.requestedAt) / 1000,
        ...(input.Details
          ? {
              CommandPlugins: i.plugins.map((p) => ({
                Name: p.name,
                Status: p.status,
                StatusDetails: p.statusDetails,
                ResponseCode: p.responseCode,
                // ListCommandInvocations keeps only 2,500 characters of each step's output
                Output:
                  p.stdout.length > 2500 ? `${p.stdout.slice(0, 2500)}\n---Output truncated---` : p.stdout,
                StandardOutputUrl: p.stdoutUrl,
              })),
            }
          : {}),
      })),
    };
  }

  private cancelCommand(input: Record<string, unknown>) {
    const ids = (input.InstanceIds as string[] | undefined) ?? null;
    for (const inv of this.invocations.values()) {
      if (inv.commandId !== input.CommandId || (ids && !ids.includes(inv.instanceId))) continue;
      if (inv.status === "Pending" || inv.status === "InProgress") {
        inv.cancelled = true;
        killGroup(inv.child);
        inv.status = "Cancelled";
        inv.statusDetails = "Cancelled";
      }
    }
    return {};
  }
}

/** Fills defaults, refuses unknown parameters and values outside `allowedPattern` (SSM's InvalidParameters). */
function resolveParameters(doc: SsmDocumentContent, given: Record<string, string[]>): Record<string, string> {
  const declared = doc.parameters ?? {};
  const values: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!(name in declared))
      throw new SsmError("InvalidParameters", `parameter ${name} is not defined in the document`);
  }
  for (const [name, spec] of Object.entries(declared)) {
    const list = given[name];
    const value = list === undefined ? spec.default : list.join(",");
    if (value === undefined) throw new SsmError("InvalidParameters", `missing required parameter ${name}`);
    if (spec.allowedPattern && !new RegExp(spec.allowedPattern).test(value)) {
      throw new SsmError("InvalidParameters", `parameter ${name} does not match its allowed pattern`);
    }
    values[name] = value;
  }
  return values;
}

function killGroup(child: ChildProcess | null): void {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone already
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
