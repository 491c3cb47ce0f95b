import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProbeOutput } from "../../lambdas/core/parsers/index.js";
import { runProbe, startChild, stopChild } from "../unit/probe/probe-harness.js";

/**
 * The SSM inline bound: with 10,000+ ESTABLISHED connections on the app port the probe's stdout
 * must stay under 24,000 characters, because it aggregates on the host.
 */
const PORT = 18190;
const CONNECTIONS = 10_500;

describe("probe output bound with 10,000+ connections", () => {
  let server: ChildProcess | undefined;
  let clients: ChildProcess | undefined;

  beforeAll(async () => {
    server = await startChild(
      "bash",
      [
        "-c",
        `ulimit -n 50000; exec node -e '
          const srv = require("node:net").createServer((s) => s.on("error", () => {}));
          srv.maxConnections = 60000;
          srv.listen(${PORT}, "127.0.0.1", 4096, () => console.log("READY"));'`,
      ],
      /READY/,
    );
    clients = await startChild(
      "bash",
      [
        "-c",
        `ulimit -n 50000; exec node -e '
          const net = require("node:net"); const all = []; let open = 0, failed = 0;
          function batch(left) {
            if (left <= 0) return;
            const n = Math.min(500, left); let done = 0;
            for (let i = 0; i < n; i++) {
              const c = net.connect(${PORT}, "127.0.0.1");
              c.on("connect", () => { open++; if (++done === n) next(); });
              c.on("error", () => { failed++; if (++done === n) next(); });
              all.push(c);
            }
            function next() { if (open >= ${CONNECTIONS}) console.log("READY " + open + " failed " + failed); else batch(left - n); }
          }
          batch(${CONNECTIONS} + 500);
          setTimeout(() => process.exit(0), 120000);'`,
      ],
      /READY \d+/,
      45_000,
    );
  }, 60_000);

  afterAll(async () => {
    await stopChild(clients);
    await stopChild(server);
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
