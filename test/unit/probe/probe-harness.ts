import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "../../..");
export const PROBE = resolve(ROOT, "runbooks/probes/api-unreachable.sh");
export const TINY_TOMCAT = resolve(here, "TinyTomcat.java");

export interface ProbeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the probe exactly as the local runner does: `bash` with SSM_* variables only. */
export function runProbe(params: Record<string, string>, timeoutMs = 60_000): ProbeRun {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(params)) env[`SSM_${k}`] = v;
  const t0 = Date.now();
  const r = spawnSync("bash", [PROBE], {
    env,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ms: Date.now() - t0 };
}

/** Starts a child process and resolves once a line of its stdout matches `ready`. */
export function startChild(
  cmd: string,
  args: string[],
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} not ready in ${timeoutMs} ms: ${out.slice(-500)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolvePromise(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before ready: ${out.slice(-500)}`));
    });
  });
}

export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(t);
}
