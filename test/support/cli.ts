import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(REPO, "bin/runbook.js");

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `runbook ARGS` as a user would, bounded in time; optionally signals it after `signalAfterMs`. */
export function runCli(
  args: readonly string[],
  opts: {
    timeoutMs?: number;
    env?: Record<string, string>;
    signal?: NodeJS.Signals;
    signalAfterMs?: number;
    /** Send `signal` when stderr first matches this (an event), instead of after `signalAfterMs`. */
    signalWhen?: RegExp;
  } = {},
): Promise<CliRun> {
  return runProcess(process.execPath, [BIN, ...args], {
    ...opts,
    cwd: REPO,
    env: { ...process.env, ...opts.env },
  });
}

/** Runs a command with its output collected, bounded in time (SIGKILL); optionally signalled after `signalAfterMs`. */
export function runProcess(
  command: string,
  args: readonly string[],
  opts: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    timeoutMs?: number;
    signal?: NodeJS.Signals;
    signalAfterMs?: number;
    /** Send `signal` when stderr first matches this (an event), instead of after `signalAfterMs`. */
    signalWhen?: RegExp | undefined;
  },
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    let signalled = false;
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (opts.signal && opts.signalWhen && !signalled && opts.signalWhen.test(stderr)) {
        signalled = true;
        child.kill(opts.signal);
      }
    });
    const kill = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    if (opts.signal && !opts.signalWhen)
      setTimeout(() => child.kill(opts.signal), opts.signalAfterMs ?? 1000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Open fds of a process by kind, read from /proc/PID/fd link targets. */
export function fdKinds(pid: number): { total: number; files: number; sockets: number } {
  let files = 0;
  let sockets = 0;
  const fds = readdirSync(`/proc/${pid}/fd`);
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:")) sockets++;
      else if (target.startsWith("/")) files++;
    } catch {
      // closed meanwhile
    }
  }
  return { total: fds.length, files, sockets };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The incident id the CLI announced on stderr ("incident <id> → <dir>"). */
export function incidentIdFrom(stderr: string): string {
  const m = /incident (inc-[A-Za-z0-9-]+)/.exec(stderr);
  if (!m?.[1]) throw new Error(`no incident id in stderr: ${stderr.slice(0, 500)}`);
  return m[1];
}
