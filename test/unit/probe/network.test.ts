import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Network } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { readRunbookScript } from "../../../lambdas/workflows/runbook-files.js";
import { ROOT, runProbe, runProbeText, stopChild } from "./probe-harness.js";

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
    // The app port's accept queue is empty (every connection accepted): listen-backlog-overflow is ruled
    // out by the queue itself, so the second sample is taken when the section is done, with no wait.
    expect(n.listenDrops?.minIntervalMs).toBe(0);
    expect(n.listenDrops?.intervalMs).toBeGreaterThan(0);
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

describe("the listen counters' window", () => {
  it("is at least NET_SAMPLE_MS (500 ms) when the app port's accept queue is at least half its backlog", async () => {
    // A listener that never accepts, backlog 2, with 3 connections completed by the kernel: the queue is
    // full (ss -ltn: Recv-Q 3, Send-Q 2).
    const holder = spawn(
      "python3",
      [
        "-c",
        `import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(2)
c = [socket.create_connection(s.getsockname()) for _ in range(3)]
print("READY", s.getsockname()[1], flush=True)
time.sleep(120)`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        holder.stdout?.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /READY (\d+)/.exec(out);
          if (m?.[1]) resolve(Number(m[1]));
        });
        holder.on("exit", (code) => reject(new Error(`listener exited (${code}) before READY: ${out}`)));
      });
      const run = runProbe({ port: String(port), timeoutSeconds: "20" });
      expect(run.status, run.stderr).toBe(0);
      const r = parseProbeOutput(run.stdout, { target: "local" });
      if (!r.ok) throw r.error;
      expect(r.value.listener).toMatchObject({
        status: "ok",
        data: { listening: true, acceptQueue: { current: 3, max: 2 } },
      });
      if (r.value.network?.status !== "ok")
        throw new Error(`network section: ${JSON.stringify(r.value.network)}`);
      expect(r.value.network.data.listenDrops?.minIntervalMs).toBe(500);
      expect(r.value.network.data.listenDrops?.intervalMs).toBeGreaterThanOrEqual(500);
    } finally {
      await stopChild(holder);
    }
  }, 60_000);
});

describe("conntrack's table-full lines in the kernel log", () => {
  it("counts only the lines of the last CONNTRACK_WINDOW_S (and a line without a time stamp)", () => {
    const uptime = Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]));
    expect(uptime, "the host has been up a minute").toBeGreaterThan(60);
    const dir = mkdtempSync(join(tmpdir(), "probe-dmesg-"));
    try {
      const line = "nf_conntrack: nf_conntrack: table full, dropping packet";
      const log = join(dir, "dmesg.txt");
      writeFileSync(
        log,
        [
          `[${uptime - 50}.000001] ${line}`, // 50 s ago: outside a 30 s window
          `[${uptime - 40}.500000] TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.`,
          `[ ${uptime - 5}.250000] ${line}`, // 5 s ago, the padded form
          line, // printk.time off: no stamp, counted
        ].join("\n"),
      );
      const text = readRunbookScript(join(ROOT, "runbooks"), "probes/api-unreachable.sh");
      const edited = text
        .replace(/^CONNTRACK_WINDOW_S=3600$/m, "CONNTRACK_WINDOW_S=30")
        .replace("dm=$(box 5 dmesg 2>/dev/null |", `dm=$(cat ${log} |`);
      expect(edited.match(/CONNTRACK_WINDOW_S=30|cat \/tmp/g)).toHaveLength(2);
      const r = parseProbeOutput(runProbeText(edited, { port: "1" }).stdout, { target: "local" });
      if (!r.ok) throw r.error;
      const net = r.value.network?.status === "ok" ? r.value.network.data : null;
      expect(net?.conntrack).toMatchObject({ tableFullLines: 2, tableFullWindowSeconds: 30 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
