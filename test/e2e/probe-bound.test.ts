import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProbeOutput } from "../../lambdas/core/parsers/index.js";
import { runProbe, startLoopbackConnections } from "../unit/probe/probe-harness.js";

/**
 * The SSM inline bound: with 10,000+ ESTABLISHED connections on the app port the probe's stdout
 * must stay under 24,000 characters, because it aggregates on the host.
 */
const PORT = 18190;
const CONNECTIONS = 10_500;

describe("probe output bound with 10,000+ connections", () => {
  let load: { stop: () => Promise<void> } | undefined;

  beforeAll(async () => {
    load = await startLoopbackConnections(PORT, CONNECTIONS);
  }, 60_000);

  afterAll(async () => {
    await load?.stop();
  });

  it("stays under 24,000 characters and counts every ESTABLISHED socket", () => {
    const run = runProbe({ port: String(PORT), timeoutSeconds: "30" });
    expect(run.status).toBe(0);
    expect(run.stdout.length).toBeLessThan(24_000);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    const ev = r.value;
    if (ev.sockets.status !== "ok") throw new Error(ev.sockets.reason);
    expect(ev.sockets.data.established).toBeGreaterThanOrEqual(10_000);
    expect(ev.sockets.data.topPeers).toEqual([{ address: "127.0.0.1", count: ev.sockets.data.total }]);
    if (ev.fds.status !== "ok") throw new Error(ev.fds.reason);
    expect(ev.fds.data.byKind.socket).toBeGreaterThanOrEqual(10_000);
    expect(ev.collector.outputChars).toBe(run.stdout.length);
    console.log(
      `probe: ${run.stdout.length} chars for ${ev.sockets.data.established} connections in ${run.ms} ms`,
    );
  }, 60_000);
});
