import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, REPO, runProcess } from "../support/cli.js";

/**
 * Outbound exhaustion reproduced for real in a network namespace of its own (its ip_local_port_range and
 * tcp_tw_reuse are its own; nothing else on the host changes): a service whose health check opens a new
 * connection to an upstream each time and closes it first, after a burst of such calls. Their TIME-WAIT
 * sockets hold every port of a 200-port range towards the upstream, new calls fail with EADDRNOTAVAIL and
 * health answers 500. `runbook diagnose`, run in the namespace with the runbook's defaults, reports the
 * ephemeral ports and the TIME-WAIT flood as contributing factors. Needs root (ip netns). The namespace
 * and the process started in it are removed afterwards (by PID, then `ip netns del`).
 */
const NS = `rb-h13b-${process.pid}`;
const RANGE = [40000, 40199] as const;
let service: ChildProcess | undefined;
let burst = { ok: 0, failed: 0, lastError: "" };

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed (needs root): ${r.stderr.trim()}`);
}

const SERVICE = `
const http = require("node:http"), net = require("node:net");
const upstream = net.createServer((s) => {
  s.on("error", () => {});
  s.on("data", () => s.write("HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"));
});
// One call: a new connection, one request, the answer read, then closed by this side (TIME-WAIT here).
const call = () => new Promise((resolve) => {
  const c = net.connect(9000, "127.0.0.1");
  c.on("connect", () => c.write("GET /quote HTTP/1.1\\r\\nHost: upstream\\r\\n\\r\\n"));
  c.on("data", () => { c.end(); resolve(null); });
  c.on("error", (e) => resolve(e.message));
});
const app = http.createServer(async (req, res) => {
  const err = await call();
  res.writeHead(err ? 500 : 200).end(err ? "upstream: " + err : "ok");
});
upstream.listen(9000, "127.0.0.1", () => app.listen(8080, "127.0.0.1", async () => {
  const burst = { ok: 0, failed: 0, lastError: "" };
  for (let i = 0; i < 260; i++) {
    const err = await call();
    if (err) { burst.failed++; burst.lastError = err; } else burst.ok++;
  }
  console.log("READY " + JSON.stringify(burst));
}));
setTimeout(() => process.exit(0), 180000);
`;

beforeAll(async () => {
  ip("netns", "add", NS);
  ip("netns", "exec", NS, "ip", "link", "set", "lo", "up");
  ip("netns", "exec", NS, "sysctl", "-q", "-w", `net.ipv4.ip_local_port_range=${RANGE[0]} ${RANGE[1]}`);
  ip("netns", "exec", NS, "sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=0");
  // `ip netns exec` execs the command: the child's PID is the service's.
  service = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", SERVICE], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  burst = await new Promise((resolve, reject) => {
    let out = "";
    service?.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (\{.*\})/.exec(out);
      if (m?.[1]) resolve(JSON.parse(m[1]));
    });
    service?.on("exit", (code) => reject(new Error(`service exited (${code}) before READY: ${out}`)));
  });
}, 60_000);

afterAll(async () => {
  if (service?.pid && service.exitCode === null && service.signalCode === null) {
    const exited = new Promise((r) => service?.once("exit", r));
    service.kill("SIGTERM");
    await exited;
  }
  spawnSync("ip", ["netns", "del", NS], { timeout: 10_000 });
});

describe("outbound exhaustion in a network namespace", () => {
  it("TIME-WAIT fills the ephemeral range towards the upstream: both reported as contributing factors", async () => {
    // The reproduction itself: the range ran out and the calls failed the way a real client fails.
    expect(burst.ok).toBeLessThanOrEqual(RANGE[1] - RANGE[0] + 1);
    expect(burst.failed).toBeGreaterThan(0);
    expect(burst.lastError).toMatch(/EADDRNOTAVAIL/);

    // `runbook diagnose` inside the namespace, as it runs on a host (locally, the probe through bash).
    const r = await runProcess(
      "ip",
      ["netns", "exec", NS, process.execPath, BIN, "diagnose", "--port", "8080", "--output", "json"],
      { timeoutMs: 90_000, cwd: REPO, env: { ...process.env } },
    );
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      rootCause: { id: string };
      contributing: Array<{ id: string; summary: string }>;
      ruledOut: Array<{ id: string }>;
      evidence: { health: { outcome: string; httpStatus: number | null } };
    };
    expect(d.evidence.health).toMatchObject({ outcome: "http-error", httpStatus: 500 });
    const ids = d.contributing.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(["ephemeral-port-exhaustion", "time-wait-flood"]));
    expect(d.contributing.find((c) => c.id === "ephemeral-port-exhaustion")?.summary).toMatch(
      /to 127\.0\.0\.1:9000 use 100% of the 200 ephemeral ports/,
    );
    // No socket class holds: the service is not leaking sockets, it churns through ports.
    expect(d.ruledOut.map((x) => x.id)).toEqual(
      expect.arrayContaining(["close-wait-leak", "listen-backlog-overflow"]),
    );
    expect(d.rootCause.id).toBe("unknown");
  }, 120_000);
});
