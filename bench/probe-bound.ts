/**
 * Benchmark 2: the probe's stdout size and duration with 10,000+ ESTABLISHED sockets on a loopback
 * listener (the same setup as test/e2e/probe-bound.test.ts, whose helpers it reuses).
 * Target: stdout < 24,000 characters (the SSM inline output limit, docs/contracts.md).
 */
import type { ChildProcess } from "node:child_process";
import { parseProbeOutput } from "../lambdas/core/parsers/index.js";
import { runProbe, startChild, stopChild } from "../test/unit/probe/probe-harness.js";
import { bounded, chars, info, ms, type Row } from "./table.js";

export const SOCKET_PORT = 18195;
export const CONNECTIONS = 10_500;
export const SSM_INLINE_LIMIT = 24_000;
const B = "2 probe, 10k sockets";

export interface ProbeBoundResult {
  readonly rows: Row[];
  /** The probe's stdout, reused by the core throughput benchmark as a real probe output. */
  readonly stdout: string;
}

export async function benchProbeBound(log: (s: string) => void): Promise<ProbeBoundResult> {
  let server: ChildProcess | undefined;
  let clients: ChildProcess | undefined;
  try {
    log(`probe: listener on 127.0.0.1:${SOCKET_PORT}, opening ${CONNECTIONS} connections`);
    server = await startChild(
      "bash",
      [
        "-c",
        `ulimit -n 50000; exec node -e '
          const srv = require("node:net").createServer((s) => s.on("error", () => {}));
          srv.maxConnections = 60000;
          srv.listen(${SOCKET_PORT}, "127.0.0.1", 4096, () => console.log("READY"));'`,
      ],
      /READY/,
      15_000,
    );
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
              const c = net.connect(${SOCKET_PORT}, "127.0.0.1");
              c.on("connect", () => { open++; if (++done === n) next(); });
              c.on("error", () => { failed++; if (++done === n) next(); });
              all.push(c);
            }
            function next() { if (open >= ${CONNECTIONS}) console.log("READY " + open + " failed " + failed); else batch(left - n); }
          }
          batch(${CONNECTIONS} + 500);
          setTimeout(() => process.exit(0), 120000);'`,
      ],
      /READY \d+|DONE \d+/,
      45_000,
    );
    const run = runProbe({ port: String(SOCKET_PORT), timeoutSeconds: "30" }, 60_000);
    if (run.status !== 0) throw new Error(`probe exited ${run.status}: ${run.stderr.slice(0, 300)}`);
    const parsed = parseProbeOutput(run.stdout, { target: "local" });
    if (!parsed.ok) throw parsed.error;
    const ev = parsed.value;
    if (ev.sockets.status !== "ok") throw new Error(`sockets section unavailable: ${ev.sockets.reason}`);
    const established = ev.sockets.data.established;
    if (established < 10_000)
      throw new Error(`only ${established} ESTABLISHED sockets counted (need 10,000+)`);
    return {
      stdout: run.stdout,
      rows: [
        info(B, "ESTABLISHED sockets counted by the probe", established.toLocaleString("en-US")),
        bounded(B, "probe stdout size", run.stdout.length, SSM_INLINE_LIMIT, chars),
        info(B, "probe duration (wall)", ms(run.ms)),
        info(B, "probe duration (evidence.collector.durationMs)", ms(ev.collector.durationMs)),
      ],
    };
  } finally {
    await stopChild(clients);
    await stopChild(server);
  }
}
