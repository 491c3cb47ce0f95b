/**
 * Benchmark 7b (issue 14): the probe's stdout with 100,000 ESTABLISHED sockets on its port (target:
 * < 24,000 characters, SSM's inline limit), the probe's time, and the parse + diagnose time on it.
 *
 * One process cannot hold 100,000 sockets here (the fd hard limit is 20,000 without CAP_SYS_RESOURCE),
 * so the port is served by PAIRS listener processes, each on its own loopback address (127.0.0.2:PORT,
 * 127.0.0.3:PORT, ...: small Python accept loops), and each has its own client process connecting to it,
 * 10,000 connections a pair. The clients do not bind a source address: a bind to port 0 searches the
 * address's bound ports one by one and, past ~10,000 on one address, took seconds a batch here (the
 * earlier layout, clients bound to 127.0.0.2.. and one SO_REUSEPORT port, stopped finishing at all), while
 * connect picks a source port per destination. Loopback only, port 19455; every process exits by itself
 * after 180 s and is stopped by PID when the bench is done.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../lambdas/adapters/local/package-root.js";
import { parseProbeOutput } from "../lambdas/core/parsers/index.js";
import { diagnose } from "../lambdas/core/rules/engine.js";
import { parseRunbook } from "../lambdas/core/runbook/load.js";
import { loadAvg, timed } from "./side-by-side.js";
import { bounded, chars, info, ms, type Row } from "./table.js";

const ROOT = packageRoot();
const PORT = 19455;
export const SOCKETS = 100_000;
const PAIRS = 10;
const address = (i: number) => `127.0.0.${i + 2}`;
const B = "7 side by side";

/** Runs `script`, written to `file`, with `interpreter` until a line matches `ready`. */
function startAndWait(
  file: string,
  script: string,
  ready: RegExp,
  timeoutMs: number,
  interpreter: string = process.execPath,
): Promise<{ child: ChildProcess; line: string }> {
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$1"', interpreter, file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready in ${timeoutMs} ms: ${out.slice(-300)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, line: m[0] });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${out.slice(-300)}`));
    });
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

/** One listener process, on the port at pair i's address. */
const server = (i: number) => `
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${address(i)}", ${PORT}))
s.listen(4096)
s.settimeout(1)
print("READY", flush=True)
held = []
end = time.time() + 180
while time.time() < end:
    try:
        c, _ = s.accept()
        held.append(c)
    except socket.timeout:
        pass
    except OSError:
        time.sleep(0.01)
`;

const client = (i: number, count: number) => `
const net = require("node:net"); let open = 0, failed = 0; const all = [];
function batch(left) {
  if (left <= 0 || open >= ${count}) { console.log("OPEN " + open + " failed " + failed); return; }
  const n = Math.min(500, left); let done = 0;
  for (let k = 0; k < n; k++) {
    const c = net.connect({ port: ${PORT}, host: "${address(i)}" });
    c.on("connect", () => { open++; if (++done === n) batch(left - n); });
    c.on("error", () => { failed++; if (++done === n) batch(left - n); });
    all.push(c);
  }
}
batch(${count});
setTimeout(() => process.exit(0), 180000);`;

export async function benchProbe100k(log: (s: string) => void): Promise<{ rows: Row[]; stdout: string }> {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "runbook-bench-100k-"));
  try {
    log(
      `probe 100k: ${PAIRS} listener processes on port ${PORT} (${address(0)}-${address(PAIRS - 1)}), a client each`,
    );
    const servers = await Promise.all(
      Array.from({ length: PAIRS }, (_, i) =>
        startAndWait(join(dir, `server-${i}.py`), server(i), /READY/, 30_000, "python3"),
      ),
    );
    for (const s of servers) children.push(s.child);
    const per = Math.ceil(SOCKETS / PAIRS);
    const clients = await Promise.all(
      Array.from({ length: PAIRS }, (_, i) =>
        startAndWait(join(dir, `client-${i}.cjs`), client(i, per), /OPEN \d+ failed \d+/, 240_000),
      ),
    );
    let opened = 0;
    for (const c of clients) {
      children.push(c.child);
      opened += Number(/OPEN (\d+)/.exec(c.line)?.[1] ?? 0);
    }
    log(`probe 100k: ${opened} connections open on the client side; waiting for the server side`);
    // A client's connect completes in the kernel before a worker accepts it: wait (bounded) until the
    // listener's side holds them all, so the probe sees the state it is measured on.
    const deadline = Date.now() + 120_000;
    let accepted = 0;
    while (Date.now() < deadline) {
      const ss = await timed(
        "bash",
        ["-c", `ss -Htn state established "( sport = :${PORT} )" | wc -l`],
        60_000,
      );
      accepted = Number(ss.stdout.trim());
      if (accepted >= opened) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    log(`probe 100k: ${accepted} ESTABLISHED on the listener's side`);
    const load = loadAvg();
    const probe = await timed(
      "bash",
      ["-c", `SSM_port=${PORT} SSM_idleThresholdMs=2000 exec bash runbooks/probes/api-unreachable.sh`],
      120_000,
    );
    if (probe.code !== 0) throw new Error(`probe exited ${probe.code}: ${probe.stderr.slice(-300)}`);
    const runbook = parseRunbook(
      readFileSync(join(ROOT, "runbooks/api-unreachable.yaml"), "utf8"),
      "runbooks/api-unreachable.yaml",
    );
    if (!runbook.ok) throw new Error("runbooks/api-unreachable.yaml does not parse");
    const t0 = performance.now();
    const parsed = parseProbeOutput(probe.stdout, { target: "local" });
    if (!parsed.ok) throw parsed.error;
    const t1 = performance.now();
    diagnose(parsed.value, runbook.value);
    const t2 = performance.now();
    const sockets = parsed.value.sockets.status === "ok" ? parsed.value.sockets.data.established : 0;
    return {
      stdout: probe.stdout,
      rows: [
        info(
          B,
          "100k sockets: connections opened / ESTABLISHED counted by the probe",
          `${opened} / ${sockets}`,
        ),
        bounded(B, "100k sockets: probe stdout", probe.stdout.length, 24_000, chars),
        info(B, `100k sockets: probe wall time (load ${load.toFixed(1)})`, ms(probe.ms)),
        info(B, "100k sockets: parseProbeOutput on that stdout", `${(t1 - t0).toFixed(2)} ms`),
        info(B, "100k sockets: diagnose (rules) on that evidence", `${(t2 - t1).toFixed(2)} ms`),
      ],
    };
  } finally {
    for (const c of children.reverse()) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}
