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
  return runBash([PROBE], params, timeoutMs);
}

/**
 * Runs a probe given as text (its includes inlined, as `readRunbookScript` assembles it and SSM sends it):
 * `bash -c TEXT`. For a probe changed by a test, e.g. to act out a kernel without a file it reads.
 */
export function runProbeText(text: string, params: Record<string, string>, timeoutMs = 60_000): ProbeRun {
  return runBash(["-c", text, "runbook-probe"], params, timeoutMs);
}

function runBash(args: string[], params: Record<string, string>, timeoutMs: number): ProbeRun {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(params)) env[`SSM_${k}`] = v;
  const t0 = Date.now();
  const r = spawnSync("bash", args, {
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

/**
 * A loopback listener on `port` holding `count`+ ESTABLISHED connections from a second process, both
 * with a raised fd limit: the load for the probe's output-bound test and benchmark. Bounded: the
 * client opens in batches of 500 and exits by itself after 120 s. Stop with `stop()`.
 */
export async function startLoopbackConnections(
  port: number,
  count: number,
): Promise<{ stop: () => Promise<void> }> {
  const server = await startChild(
    "bash",
    [
      "-c",
      `ulimit -n 50000; exec node -e '
        const srv = require("node:net").createServer((s) => s.on("error", () => {}));
        srv.maxConnections = 60000;
        srv.listen(${port}, "127.0.0.1", 4096, () => console.log("READY"));'`,
    ],
    /READY/,
    15_000,
  );
  let clients: ChildProcess | undefined;
  try {
    clients = await startChild(
      "bash",
      [
        "-c",
        `ulimit -n 50000; exec node -e '
          const net = require("node:net"); const all = []; let open = 0, failed = 0;
          function batch(left) {
            if (left <= 0) { console.log("DONE " + open + " failed " + failed); return; }
            const n = Math.min(500, left); let done = 0;
            for (let i = 0; i < n; i++) {
              const c = net.connect(${port}, "127.0.0.1");
              c.on("connect", () => { open++; if (++done === n) next(); });
              c.on("error", () => { failed++; if (++done === n) next(); });
              all.push(c);
            }
            function next() { if (open >= ${count}) console.log("READY " + open + " failed " + failed); else batch(left - n); }
          }
          batch(${count} + 500);
          setTimeout(() => process.exit(0), 120000);'`,
      ],
      /READY \d+|DONE \d+/,
      45_000,
    );
  } catch (e) {
    await stopChild(server);
    throw e;
  }
  return {
    stop: async () => {
      await stopChild(clients);
      await stopChild(server);
    },
  };
}
