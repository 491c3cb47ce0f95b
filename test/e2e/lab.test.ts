/**
 * End-to-end tests of the reproduction lab: real JVMs (embedded Tomcat 10), real sockets, real
 * limits; no mocks. Ports 18080-18089 (the fixture capture uses 18090-18095).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  isAlive,
  LAB_MODES,
  labDown,
  labLoad,
  labStatus,
  labUp,
  openFdCount,
  probeHealth,
  readState,
} from "../../lab/index.js";
import { BIN as bin, waitFor } from "../support/cli.js";

const PORTS = {
  wsLeak: 18081,
  fileLeak: 18082,
  slow: 18083,
  busy: 18084,
  cli: 18085,
  cliRoundTrip: 18086,
} as const;

afterAll(async () => {
  for (const port of Object.values(PORTS)) await labDown({ port });
}, 60_000);

/** PIDs of processes whose command line is one of the lab's for this port (read-only scan of /proc). */
function labProcessesOn(port: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      continue;
    }
    const isLab = cmd.includes("LabApp") && cmd.includes(`--port ${port}`);
    const isHolder = cmd.includes("lab/holder.ts") && cmd.includes(`"port":${port},`);
    if ((isLab || isHolder) && isAlive(Number(entry))) found.push(Number(entry));
  }
  return found;
}

function establishedOn(port: number): number {
  const out = execFileSync("ss", ["-tanH", "state", "established", `( sport = :${port} )`], {
    encoding: "utf8",
  });
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

function wsSessionInstances(pid: number): number {
  const out = execFileSync("jcmd", [String(pid), "GC.class_histogram"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const m = out.match(/^\s*\d+:\s+(\d+)\s+\d+\s+org\.apache\.tomcat\.websocket\.WsSession\s*$/m);
  return m ? Number(m[1]) : 0;
}

function fdTargets(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return readdirSync(dir).map((fd) => {
    try {
      return readlinkSync(path.join(dir, fd));
    } catch {
      return "";
    }
  });
}

async function expectDownLeavesNothing(port: number, pids: number[]): Promise<void> {
  const r = await labDown({ port });
  expect([...r.stopped].sort()).toEqual([...pids].sort());
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  expect(labProcessesOn(port)).toEqual([]);
  expect((await labStatus({ port, healthTimeoutMs: 500 })).state).toBeNull();
}

describe("lab: bad input gives one clear line and a non-zero exit", () => {
  function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
    return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env, timeout: 30_000 });
  }

  it("rejects an unknown mode", () => {
    const r = cli(["lab", "up", "--mode", "bogus", "--port", String(PORTS.cli)]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    // The message lists every mode the lab knows, from the one list (lab/schema.ts).
    expect(r.stderr).toContain(`unknown lab mode "bogus" (expected one of: ${LAB_MODES.join(", ")})`);
    expect(LAB_MODES).toContain("disk-full");
  });

  it("rejects a busy port", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(PORTS.busy, "127.0.0.1", resolve));
    try {
      const r = cli(["lab", "up", "--mode", "healthy", "--port", String(PORTS.busy)]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(`port ${PORTS.busy} is busy: something already listens`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("names a missing JDK", () => {
    // node's own directory may also hold java (/usr/bin): give PATH a directory with node alone.
    const nodeOnly = mkdtempSync(path.join(tmpdir(), "lab-nojdk-"));
    symlinkSync(process.execPath, path.join(nodeOnly, "node"));
    const env = { ...process.env, PATH: `/nonexistent${path.delimiter}${nodeOnly}` };
    const r = cli(["lab", "up", "--mode", "healthy", "--port", String(PORTS.cli)], env);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/JDK not found: no java and javac on PATH/);
    expect(labProcessesOn(PORTS.cli)).toEqual([]);
  });
});

describe("lab: CLI round trip", () => {
  it("up, load, status, down print concise lines and JSON", () => {
    const port = String(PORTS.cliRoundTrip);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, "lab", ...args], { encoding: "utf8", timeout: 90_000 });
    const up = run("up", "--mode", "healthy", "--port", port, "--fd-limit", "2048", "--json");
    expect(up.status, up.stderr).toBe(0);
    const state = JSON.parse(up.stdout) as { pid: number; port: number; mode: string; fdLimit: number };
    expect(state).toMatchObject({ port: PORTS.cliRoundTrip, mode: "healthy", fdLimit: 2048 });
    expect(readFileSync(`/proc/${state.pid}/limits`, "utf8")).toMatch(/Max open files\s+2048\s+2048\s+files/);

    const load = run("load", "--port", port, "--requests", "50");
    expect(load.status, load.stderr).toBe(0);
    expect(load.stdout).toMatch(/^lab load: 50\/50 requests answered, 0 failed, stopped: completed/);

    const status = run("status", "--port", port);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^lab running: mode healthy, pid \d+, port \d+/);
    expect(status.stdout).toMatch(/health 200 in \d+ ms/);

    const down = run("down", "--port", port, "--json");
    expect(down.status).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({ stopped: [state.pid] });
    expect(isAlive(state.pid)).toBe(false);
    expect(run("down", "--port", port).stdout).toMatch(/nothing running on port/);
  }, 90_000);
});

describe("lab: failure modes, observed from the outside", () => {
  it("ws-leak: sessions pile up one fd each until the fd limit; health fails; jcmd sees the WsSessions", async () => {
    const port = PORTS.wsLeak;
    const fdLimit = 1024;
    const state = await labUp({ mode: "ws-leak", port, fdLimit });
    try {
      // Phase 1, below the limit (the attach needs a free fd): every held socket is a WsSession.
      const first = await labLoad({ port, sessions: 400 });
      expect(first.opened).toBe(400);
      const established = establishedOn(port);
      const sessions = wsSessionInstances(state.pid);
      expect(established).toBeGreaterThanOrEqual(400);
      expect(Math.abs(sessions - established)).toBeLessThanOrEqual(Math.ceil(established * 0.05));

      // Phase 2: the leak keeps growing until the server stops accepting.
      const second = await labLoad({ port, sessions: 2000 });
      expect(second.stoppedReason).toBe("server-stopped-accepting");
      expect(second.opened).toBeGreaterThan(400);
      const fds = openFdCount(state.pid) ?? 0;
      expect(fds).toBeGreaterThanOrEqual(Math.floor(fdLimit * 0.95));
      const health = await probeHealth(port, 3000);
      expect(health.ok).toBe(false);
      expect(readFileSync(state.logPath, "utf8")).toMatch(/java\.io\.IOException: Too many open files/);
      expect(establishedOn(port)).toBeGreaterThanOrEqual(Math.floor(fdLimit * 0.9));

      await expectDownLeavesNothing(port, [state.pid, first.holderPid ?? -1, second.holderPid ?? -1]);
    } finally {
      await labDown({ port });
    }
  }, 90_000);

  it("file-leak: fds reach the limit, most of them regular files, and health fails", async () => {
    const port = PORTS.fileLeak;
    const fdLimit = 512;
    const state = await labUp({ mode: "file-leak", port, fdLimit });
    try {
      const load = await labLoad({ port, requests: 1000 });
      expect(load.stoppedReason).not.toBe("completed");
      expect(load.opened).toBeGreaterThan(400);
      // The fds the failing exports left are taken by held WebSocket sessions: none is left.
      expect(load.holderPid).toBeDefined();
      expect(isAlive(load.holderPid ?? 0)).toBe(true);
      const targets = fdTargets(state.pid);
      // Every fd in use, or all but one while a socket closes late: health needs two.
      expect(targets.length).toBeGreaterThanOrEqual(fdLimit - 1);
      const files = targets.filter((t) => t.startsWith("/") && !t.startsWith("/dev/"));
      expect(files.length / targets.length).toBeGreaterThan(0.8);
      expect(targets.filter((t) => t.endsWith("export.csv")).length).toBe(load.opened);
      // Down, and stays down: each check's own socket, closed late, does not give health its two fds.
      for (let i = 0; i < 3; i++) expect((await probeHealth(port, 3000)).ok).toBe(false);

      // The holders (one, or another round's when an fd came free again) are the lab's: down stops them all.
      const holders = (readState(undefined, port)?.holders ?? []).map((h) => h.pid);
      expect(holders).toContain(load.holderPid);
      await expectDownLeavesNothing(port, [state.pid, ...holders]);
    } finally {
      await labDown({ port });
    }
  }, 90_000);

  it("slow: every request thread blocked; health times out; fds stay low", async () => {
    const port = PORTS.slow;
    const state = await labUp({ mode: "slow", port, maxThreads: 4 });
    try {
      const load = await labLoad({ port });
      expect(load.opened).toBe(8);
      // The event: the held requests reach the request threads, so health stops answering.
      await waitFor("health to stop answering", async () => !(await probeHealth(port, 1000)).ok);
      const health = await probeHealth(port, 3000);
      expect(health.ok).toBe(false);
      expect(health.error).toMatch(/no answer within 3000 ms/);
      expect(openFdCount(state.pid) ?? 0).toBeLessThan(100);

      await expectDownLeavesNothing(port, [state.pid, load.holderPid ?? -1]);
    } finally {
      await labDown({ port });
    }
  }, 60_000);
});
