import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Network } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { runProbe, stopChild } from "./probe-harness.js";

/**
 * The probe's network section on real sockets: a node process listens on an "app port" and keeps the
 * connections its clients closed (CLOSE-WAIT on the app port), and calls an "upstream" that answers by
 * closing, keeping those sockets too (outbound CLOSE-WAIT). The probe must count what that process holds,
 * by local port and by remote endpoint, from its fd inodes joined with `ss -tane`.
 */
const INBOUND = 20;
const OUTBOUND = 30;
let child: ChildProcess | undefined;
let ports = { app: 0, upstream: 0, pid: 0 };

beforeAll(async () => {
  child = spawn(
    "node",
    [
      "-e",
      `const net = require("node:net"); const held = [];
       const app = net.createServer({ allowHalfOpen: true }, (s) => held.push(s));
       const up = net.createServer((s) => s.end());
       let ended = 0;
       const done = () => { if (++ended === ${INBOUND + OUTBOUND})
         console.log("READY " + JSON.stringify({ app: app.address().port, upstream: up.address().port, pid: process.pid })); };
       app.on("connection", (s) => s.on("end", done));
       app.listen(0, "127.0.0.1", () => up.listen(0, "127.0.0.1", () => {
         for (let i = 0; i < ${OUTBOUND}; i++) {
           const c = net.connect({ port: up.address().port, host: "127.0.0.1", allowHalfOpen: true });
           c.on("end", done); held.push(c);
         }
         for (let i = 0; i < ${INBOUND}; i++) {
           const c = net.connect({ port: app.address().port, host: "127.0.0.1" });
           c.on("connect", () => c.end()); held.push(c);
         }
       }));
       setTimeout(() => process.exit(0), 120000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  // The event: every client end and every upstream close has been seen by the holding process.
  ports = await new Promise((resolve, reject) => {
    let out = "";
    child?.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (\{.*\})/.exec(out);
      if (m?.[1]) resolve(JSON.parse(m[1]));
    });
    child?.on("exit", (code) => reject(new Error(`socket holder exited (${code}) before READY: ${out}`)));
  });
}, 30_000);

afterAll(async () => {
  await stopChild(child);
});

describe("probe network section on real sockets", () => {
  it("counts the CLOSE-WAIT sockets the process holds by app port and by upstream, and samples the listen counters", () => {
    const run = runProbe({ port: String(ports.app), timeoutSeconds: "20" });
    expect(run.status, run.stderr).toBe(0);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    if (!r.ok) throw r.error;
    const section = r.value.network;
    if (section?.status !== "ok") throw new Error(`network section: ${JSON.stringify(section)}`);
    const n: Network = section.data;
    expect(r.value.process.status === "ok" && r.value.process.data.pid).toBe(ports.pid);
    expect(n.owned).toMatchObject({
      closeWaitAppPort: INBOUND,
      closeWaitOutbound: OUTBOUND,
      closeWaitPeers: [{ address: `127.0.0.1:${ports.upstream}`, count: OUTBOUND }],
    });
    expect(n.owned?.closeWaitLocalPorts[0]).toEqual({ port: ports.app, count: INBOUND });
    // The other ends, held by the same process: the clients that closed and the upstream's answered sockets.
    expect(n.owned?.byState).toMatchObject({
      "CLOSE-WAIT": INBOUND + OUTBOUND,
      "FIN-WAIT-2": INBOUND + OUTBOUND,
    });
    // At least NET_SAMPLE_MS (500 ms) between the two samples, taken from when the probe knew its target.
    expect(n.listenDrops?.intervalMs).toBeGreaterThanOrEqual(500);
    expect(n.listenDrops?.overflowsAfter).toBeGreaterThanOrEqual(n.listenDrops?.overflowsBefore ?? 0);
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(n.ephemeral).toMatchObject({ low, high });
    // The outbound sockets to the upstream use ephemeral ports (the app port's are ephemeral too: port 0).
    expect(n.ephemeral?.inUse).toBeGreaterThanOrEqual(OUTBOUND);
    expect(n.conntrack?.loaded).toBe(existsSync("/proc/sys/net/netfilter/nf_conntrack_count"));
    // The rule's evidence reads it: the process holds every CLOSE-WAIT socket above and nothing else.
    expect(run.stdout).toContain(`owned.closeWaitPeer=${OUTBOUND} 127.0.0.1:${ports.upstream}`);
  });
});
