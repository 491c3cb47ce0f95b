import { spawn } from "node:child_process";
import type { CommandRequest, CommandResult, CommandRunner } from "../../ports/index.js";

/** SSM returns at most this many characters of stdout inline; the local runner can mimic the cut. */
export const SSM_INLINE_STDOUT_LIMIT = 24_000;

export interface LocalCommandRunnerOptions {
  /** Cut stdout like SSM does (default false: locally the full text is kept). */
  readonly mimicSsmCut?: boolean;
  /** Extra environment for every command (tests point PATH at fakes, etc.). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs a runbook script through `bash` on this machine: the same script text SSM runs on EC2,
 * with the same `SSM_<name>` environment variables (SSM's ENV_VAR interpolation).
 * Only the target `local` is accepted.
 */
export class LocalCommandRunner implements CommandRunner {
  /** Process groups of the scripts running now (each script is its own group leader). */
  private readonly running = new Map<number, Promise<void>>();
  private stoppedBy: NodeJS.Signals | null = null;

  constructor(private readonly options: LocalCommandRunnerOptions = {}) {}

  /**
   * On SIGINT/SIGTERM: starts nothing more, sends `signal` to every running script's process group,
   * SIGKILL to what is left after `graceMs`, and resolves once they have all exited.
   */
  async stopAll(signal: NodeJS.Signals, graceMs = 2_000): Promise<void> {
    this.stoppedBy = signal;
    const groups = [...this.running.keys()];
    for (const pid of groups) killGroup(pid, signal);
    const exited = Promise.all(this.running.values());
    const timer = new Promise<"late">((r) => setTimeout(() => r("late"), graceMs).unref());
    if ((await Promise.race([exited, timer])) === "late") {
      for (const pid of this.running.keys()) killGroup(pid, "SIGKILL");
      await exited;
    }
  }

  async run(target: string, request: CommandRequest): Promise<CommandResult> {
    const started = Date.now();
    if (target !== "local") {
      return result("Undeliverable", null, "", `local runner cannot reach target ${target}`, started, null);
    }
    if (this.stoppedBy) {
      return result(
        "Cancelled",
        null,
        "",
        `not started: the run was interrupted (${this.stoppedBy})`,
        started,
        null,
      );
    }
    const script = request.script;
    if (script === null) {
      const detail = `no script text for ${request.name} (${request.scriptPath}): the local runner runs text, not documents`;
      return result("Failed", null, "", detail, started, null);
    }
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...this.options.env };
    for (const [name, value] of Object.entries(request.parameters)) env[`SSM_${name}`] = value;

    return await new Promise<CommandResult>((resolve) => {
      const child = spawn("bash", ["-c", script, `runbook-${request.name}`], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group, so a time-out ends the whole tree
      });
      const pid = child.pid;
      if (pid) this.running.set(pid, new Promise((r) => child.once("close", () => r())));
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, "SIGTERM");
        setTimeout(() => killGroup(child.pid, "SIGKILL"), 2_000).unref();
      }, request.timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        resolve(result("Failed", null, "", `could not start bash: ${e.message}`, started, null));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (pid) this.running.delete(pid);
        let stdout = Buffer.concat(out).toString("utf8");
        const stderr = Buffer.concat(err).toString("utf8");
        let truncated = false;
        if (this.options.mimicSsmCut && stdout.length > SSM_INLINE_STDOUT_LIMIT) {
          stdout = stdout.slice(0, SSM_INLINE_STDOUT_LIMIT);
          truncated = true;
        }
        const status = timedOut
          ? "TimedOut"
          : this.stoppedBy
            ? "Cancelled"
            : code === 0
              ? "Success"
              : "Failed";
        resolve({
          status,
          exitCode: code,
          stdout,
          stderr,
          stdoutTruncated: truncated,
          durationMs: Date.now() - started,
          outputUri: null,
          detail: timedOut
            ? `killed after ${request.timeoutMs} ms`
            : this.stoppedBy
              ? `stopped by ${this.stoppedBy}${signal ? ` (exited on ${signal})` : ""}`
              : null,
        });
      });
    });
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function result(
  status: CommandResult["status"],
  exitCode: number | null,
  stdout: string,
  stderr: string,
  started: number,
  outputUri: string | null,
): CommandResult {
  return {
    status,
    exitCode,
    stdout,
    stderr,
    stdoutTruncated: false,
    durationMs: Date.now() - started,
    outputUri,
    detail: stderr || null,
  };
}
