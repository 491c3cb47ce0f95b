import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { REPO, sleep } from "../../support/cli.js";

/**
 * The action scripts as SSM would run them (bash, inputs as SSM_* variables), against real sockets
 * and processes on loopback. Ports 18260-18262.
 */
const KILL = join(REPO, "runbooks/actions/kill-idle-connections.sh");
const RESTART = join(REPO, "runbooks/actions/restart-service.sh");

function runScript(script: string, env: Record<string, string>, path = process.env.PATH ?? "") {
  const r = spawnSync("bash", [script], { env: { PATH: path, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout };
}

/** A listener with `n` idle client connections held by this process; `touch` sends a byte on some. */
async function idleConnections(port: number, n: number) {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => {
    accepted.push(s);
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const clients = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const c = net.connect(port, "127.0.0.1", () => resolve(c));
          c.on("error", () => undefined);
        }),
    ),
  );
  return {
    clients,
    established: () =>
      spawnSync("ss", ["-Htn", "state", "established", `( sport = :${port} )`], { encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .filter(Boolean).length,
    listening: () =>
      spawnSync("ss", ["-Hltn", `( sport = :${port} )`], { encoding: "utf8" }).stdout.trim() !== "",
    close: async () => {
      for (const c of [...clients, ...accepted]) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

describe("kill-idle-connections.sh", () => {
  it("destroys only idle ESTABLISHED sockets of the port; LISTEN and recently active sockets stay", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 30);
    cleanups.push(lab.close);
    await sleep(1300);
    for (const c of lab.clients.slice(0, 5)) c.write("x"); // recent traffic on 5
    await sleep(100);
    const r = runScript(KILL, { SSM_port: String(port), SSM_minIdleMs: "1000" });
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({
      result: "ok",
      candidates: "25",
      killed: "25",
      remaining: "0",
      supported: "yes",
    });
    expect(lab.established()).toBe(5);
    expect(lab.listening()).toBe(true);
  });

  it("a relief batch takes only the most idle few", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 12);
    cleanups.push(lab.close);
    await sleep(1200);
    const r = runScript(KILL, { SSM_port: String(port), SSM_minIdleMs: "1000", SSM_limit: "4" });
    expect(r.out).toMatchObject({ result: "ok", candidates: "12", selected: "4", killed: "4" });
    expect(lab.established()).toBe(8);
  });

  it("reports unsupported, not success, where ss -K destroys nothing (kernel without INET_DIAG_DESTROY)", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 10);
    cleanups.push(lab.close);
    await sleep(1200);
    // An `ss` that behaves like such a kernel: -K prints the sockets, exits 0 and destroys nothing.
    const bin = mkdtempSync(join(tmpdir(), "fake-ss-"));
    const realSs = spawnSync("bash", ["-c", "command -v ss"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(
      join(bin, "ss"),
      `#!/bin/bash\nargs=()\nfor a in "$@"; do [[ $a == -K ]] || args+=("$a"); done\nexec ${realSs} "\${args[@]}"\n`,
    );
    chmodSync(join(bin, "ss"), 0o755);
    const r = runScript(
      KILL,
      { SSM_port: String(port), SSM_minIdleMs: "1000" },
      `${bin}:${process.env.PATH}`,
    );
    expect(r.out).toMatchObject({ result: "unsupported", killed: "0", remaining: "10", supported: "no" });
    expect(r.out.error).toMatch(/CONFIG_INET_DIAG_DESTROY/);
    expect(lab.established()).toBe(10);
  });

  it("refuses beyond the blast-radius limit, and a dry run changes nothing", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 10);
    cleanups.push(lab.close);
    await sleep(1200);
    const refused = runScript(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      SSM_maxConnections: "5",
    });
    expect(refused.out).toMatchObject({ result: "refused-blast-radius", killed: "0" });
    const dry = runScript(KILL, { SSM_port: String(port), SSM_minIdleMs: "1000", SSM_dryRun: "true" });
    expect(dry.out).toMatchObject({ result: "dry-run", candidates: "10", killed: "0" });
    expect(lab.established()).toBe(10);
  });

  it("rejects bad input before touching anything", () => {
    const cases: Record<string, string>[] = [
      { SSM_port: "0", SSM_minIdleMs: "1000" },
      { SSM_port: "8080; reboot", SSM_minIdleMs: "1000" },
      { SSM_port: "8080", SSM_minIdleMs: "-1" },
      { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_limit: "0" },
    ];
    for (const env of cases) {
      const r = runScript(KILL, env);
      expect(r.code, JSON.stringify(env)).toBe(2);
      expect(r.out.result).toBe("invalid-input");
    }
  });
});

describe("restart-service.sh", () => {
  /** A tiny service that answers /health and, like a JVM after OutOfMemoryError, ignores SIGTERM. */
  function serviceScript(port: number): string {
    const dir = mkdtempSync(join(tmpdir(), "svc-"));
    const file = join(dir, "svc.cjs");
    writeFileSync(
      file,
      `process.on("SIGTERM", () => {});
require("node:http").createServer((q, s) => { s.end("ok"); }).listen(${port}, "127.0.0.1");`,
    );
    return file;
  }

  it("stops a process that ignores SIGTERM with SIGKILL after the grace, starts it again, waits for health", async () => {
    const port = 18261;
    const svc = serviceScript(port);
    const first = spawn(process.execPath, [svc], { detached: true, stdio: "ignore" });
    first.unref();
    await sleep(600);
    const r = runScript(RESTART, {
      SSM_port: String(port),
      SSM_restartCommand: `exec ${process.execPath} ${svc}`,
      SSM_graceSeconds: "1",
      SSM_startTimeoutSeconds: "20",
    });
    const newPid = Number(r.out.newPid);
    cleanups.push(() => {
      try {
        process.kill(newPid, "SIGKILL");
      } catch {}
    });
    expect(r.out).toMatchObject({
      result: "ok",
      method: "command",
      stopSignal: "KILL",
      oldPid: String(first.pid),
    });
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(first.pid);
    await sleep(300); // let this process reap its killed child
    expect(() => process.kill(first.pid ?? 0, 0)).toThrow();
  });

  it("says so when the start command fails, and refuses to run with no way to start the service", () => {
    const failed = runScript(RESTART, {
      SSM_port: "18262",
      SSM_restartCommand: "echo cannot start >&2; exit 3",
      SSM_startTimeoutSeconds: "10",
    });
    expect(failed.out.result).toBe("failed");
    expect(failed.out.error).toMatch(/start command exited 3/);
    const none = runScript(RESTART, { SSM_port: "18262" });
    expect(none.code).toBe(2);
    expect(none.out.error).toMatch(/neither SSM_service nor SSM_restartCommand/);
    const badUnit = runScript(RESTART, { SSM_port: "18262", SSM_service: "api;reboot" });
    expect(badUnit.code).toBe(2);
  });
});
