import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labLoad } from "../../lab/index.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
/**
 * The `runbook` the tests start: the CLI bundled by test/support/global-setup.ts at the start of the run
 * (the package's bundle plus the lab command). `bin/runbook.js` in a source checkout runs the TypeScript
 * through tsx instead; tests of that launcher itself use SOURCE_BIN.
 */
export const BIN = join(REPO, ".build/test-cli/runbook.mjs");
export const SOURCE_BIN = join(REPO, "bin/runbook.js");

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs `runbook ARGS` as a user would, bounded in time; optionally sends `signal` as soon as a stderr
 * line matches `signalOn` (an event, never a fixed delay), and calls `onStderr` with each chunk.
 */
export function runCli(
  args: readonly string[],
  opts: {
    timeoutMs?: number;
    env?: Record<string, string>;
    signal?: NodeJS.Signals;
    signalAfterMs?: number;
    /** Send `signal` when stderr first matches this (an event), instead of after `signalAfterMs`. */
    signalWhen?: RegExp;
    /** Called with all of stderr so far, on every chunk. */
    onStderr?: (all: string) => void;
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
    onStderr?: ((all: string) => void) | undefined;
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
      opts.onStderr?.(stderr);
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

/**
 * Waits for an event by polling a condition (a port listening, a file, a process gone), bounded in
 * time: tests wait for what they need, never for a fixed delay.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  { timeoutMs = 30_000, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Whether something listens on 127.0.0.1/any address at this TCP port (from `ss`). */
export function listening(port: number): boolean {
  const r = spawnSync("ss", ["-Hltn", `( sport = :${port} )`], { encoding: "utf8" });
  return r.stdout.trim() !== "";
}

/** Field 22 of /proc/PID/stat: the process's start time in clock ticks after boot. */
export function startTicksOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

/**
 * How long each ESTABLISHED socket on the local `port` has been idle: ms since it last received a
 * byte (`ss` lastrcv), the measure the probe and kill-idle-connections.sh use.
 */
export function idleMsOf(port: number): number[] {
  const r = spawnSync("ss", ["-Htnoi", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  return [...r.stdout.matchAll(/lastrcv:(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Waits until at least `share` of the ESTABLISHED sockets on `port` have been idle for `idleMs`: an age
 * only time gives, observed with `ss` rather than slept (bounded).
 */
export async function waitIdle(
  port: number,
  idleMs: number,
  { share = 1, timeoutMs = 60_000 }: { share?: number; timeoutMs?: number } = {},
): Promise<void> {
  await waitFor(
    `${Math.round(share * 100)}% of the sockets on port ${port} idle for ${idleMs} ms`,
    () => {
      const idle = idleMsOf(port);
      return idle.length > 0 && idle.filter((ms) => ms >= idleMs).length >= share * idle.length;
    },
    { timeoutMs, everyMs: 100 },
  );
}

/**
 * Loads a ws-leak lab with vanishing WebSocket clients until its open fds reach 95% of `fdLimit` (an
 * event, polled with a bound; a loaded machine may need a second load), then waits until the sessions
 * are idle past the 2 s idle threshold the tests give the runbook.
 */
export async function loadToLimit(port: number, pid: number, fdLimit: number): Promise<void> {
  const atLimit = () => openFds(pid) >= 0.95 * fdLimit;
  for (let i = 0; i < 3 && !atLimit(); i++) {
    await labLoad({ port, sessions: 2 * fdLimit });
    await waitFor("the lab's fds at the limit", atLimit, { timeoutMs: 20_000 }).catch(() => undefined);
  }
  if (!atLimit())
    throw new Error(`the lab on port ${port} has ${openFds(pid)} fds after 3 loads, not 95% of ${fdLimit}`);
  await waitIdle(port, 2100, { share: 0.95 });
}
