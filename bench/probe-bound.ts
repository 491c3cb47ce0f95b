/**
 * Benchmark 2: the probe's stdout size and duration with 10,000+ ESTABLISHED sockets on a loopback
 * listener (the same setup as test/e2e/probe-bound.test.ts, whose helpers it reuses).
 * Target: stdout < 24,000 characters (the SSM inline output limit, docs/contracts.md).
 */
import { parseProbeOutput } from "../lambdas/core/parsers/index.js";
import { runProbe, startLoopbackConnections } from "../test/unit/probe/probe-harness.js";
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
  log(`probe: listener on 127.0.0.1:${SOCKET_PORT}, opening ${CONNECTIONS} connections`);
  const load = await startLoopbackConnections(SOCKET_PORT, CONNECTIONS);
  try {
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
    await load.stop();
  }
}
