import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseKeyValues } from "../../../lambdas/core/mitigation/action-output.js";
import { listening, REPO, startTicksOf, waitFor, waitIdle } from "../../support/cli.js";

/**
 * The action scripts as SSM would run them (bash, inputs as SSM_* variables), against real sockets
 * and processes on loopback. Ports 18260-18262.
 */
const KILL = join(REPO, "runbooks/actions/kill-idle-connections.sh");
const RESTART = join(REPO, "runbooks/actions/restart-service.sh");

function runScript(script: string, env: Record<string, string>, path = process.env.PATH ?? "") {
  const r = spawnSync("bash", [script], { env: { PATH: path, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: parseKeyValues(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

/** Like runScript, without blocking this process's event loop (its sockets keep talking meanwhile). */
function runScriptAsync(script: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; out: Record<string, string>; stdout: string }>((resolve) => {
    const child = spawn("bash", [script], { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.on("close", (code) => resolve({ code, out: parseKeyValues(stdout), stdout }));
  });
}

/**
 * A listener in its own process (the kill script never acts on its own ancestors, and this test process
 * is one) holding `n` accepted connections; the clients are held here, so a client write is traffic the
 * server side receives. `pid`/`startTicks` name the listener as the evidence would.
 */
async function idleConnections(port: number, n: number) {
  const server = spawn(
    process.execPath,
    [
      "-e",
      `const held = []; require("node:net").createServer((s) => { held.push(s); s.on("error", () => {}); }).listen(${port}, "127.0.0.1", () => console.log("LISTENING"));`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const pid = server.pid ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on("data", (b: Buffer) => b.toString().includes("LISTENING") && resolve());
    server.once("exit", (code) => reject(new Error(`listener exited (${code}) before listening`)));
  });
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
  const established = () =>
    spawnSync("ss", ["-Htn", "state", "established", `( sport = :${port} )`], { encoding: "utf8" })
      .stdout.trim()
      .split("\n")
      .filter(Boolean).length;
  // Accepted on the server side (the count the script sees), not only connected here.
  await waitFor(`${n} connections accepted on port ${port}`, () => established() === n);
  return {
    clients,
    pid,
    startTicks: startTicksOf(pid),
    target: { SSM_pid: String(pid), SSM_startTicks: startTicksOf(pid) },
    established,
    listening: () =>
      spawnSync("ss", ["-Hltn", `( sport = :${port} )`], { encoding: "utf8" }).stdout.trim() !== "",
    close: async () => {
      for (const c of clients) c.destroy();
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGKILL");
      await exited;
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
    // The untouched sockets must be idle for more than the 1 s threshold.
    await waitIdle(port, 1100);
    // Recent traffic on 5, kept up while the script runs (not a single write racing the threshold).
    const touch = () => {
      for (const c of lab.clients.slice(0, 5)) c.write("x");
    };
    touch();
    const keepActive = setInterval(touch, 50);
    const r = await runScriptAsync(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      ...lab.target,
    }).finally(() => clearInterval(keepActive));
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
    await waitIdle(port, 1100);
    const r = runScript(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      SSM_limit: "4",
      ...lab.target,
    });
    expect(r.out).toMatchObject({ result: "ok", candidates: "12", selected: "4", killed: "4" });
    expect(lab.established()).toBe(8);
  });

  it("reports unsupported, not success, where ss -K destroys nothing (kernel without INET_DIAG_DESTROY)", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 10);
    cleanups.push(lab.close);
    await waitIdle(port, 1100);
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
      { SSM_port: String(port), SSM_minIdleMs: "1000", ...lab.target },
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
    await waitIdle(port, 1100);
    const refused = runScript(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      SSM_maxConnections: "5",
      ...lab.target,
    });
    expect(refused.out).toMatchObject({ result: "refused-blast-radius", killed: "0" });
    const dry = runScript(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      SSM_dryRun: "true",
      ...lab.target,
    });
    expect(dry.out).toMatchObject({ result: "dry-run", candidates: "10", killed: "0" });
    expect(lab.established()).toBe(10);
  });

  it("refuses, exit 3 with one line, when the PID is no longer the diagnosed process; no socket is destroyed", async () => {
    const port = 18260;
    const lab = await idleConnections(port, 6);
    cleanups.push(lab.close);
    await waitIdle(port, 1100);
    const r = runScript(KILL, {
      SSM_port: String(port),
      SSM_minIdleMs: "1000",
      SSM_pid: String(lab.pid),
      SSM_startTicks: String(Number(lab.startTicks) + 1),
    });
    expect(r.code, r.stdout).toBe(3);
    expect(r.out.result).toBe("refused-target");
    expect(r.out.error).toMatch(new RegExp(`PID ${lab.pid} now belongs to another process`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.out.killed).toBeUndefined();
    expect(lab.established()).toBe(6);
  });

  it("rejects bad input before touching anything", () => {
    const cases: Record<string, string>[] = [
      { SSM_port: "0", SSM_minIdleMs: "1000" },
      { SSM_port: "8080; reboot", SSM_minIdleMs: "1000" },
      { SSM_port: "8080", SSM_minIdleMs: "-1" },
      { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_limit: "0" },
      // The diagnosed process is required: PID and start time, digits only.
      { SSM_port: "8080", SSM_minIdleMs: "1000" },
      { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_pid: "4242" },
      { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_pid: "0123", SSM_startTicks: "5" },
      { SSM_port: "8080", SSM_minIdleMs: "1000", SSM_pid: "4242", SSM_startTicks: "-1" },
    ];
    for (const env of cases) {
      const r = runScript(KILL, env);
      expect(r.code, JSON.stringify(env)).toBe(2);
      expect(r.out.result).toBe("invalid-input");
    }
  });
});

/** A tiny service that answers /health; with `ignoreTerm`, like a JVM after OutOfMemoryError, it ignores SIGTERM. */
function serviceScript(port: number, ignoreTerm = true): string {
  const dir = mkdtempSync(join(tmpdir(), "svc-"));
  const file = join(dir, "svc.cjs");
  writeFileSync(
    file,
    `${ignoreTerm ? 'process.on("SIGTERM", () => {});\n' : ""}require("node:http").createServer((q, s) => { s.end("ok"); }).listen(${port}, "127.0.0.1");`,
  );
  return file;
}

/** Starts the service, waits until it listens, and stops it (by PID) after the test. */
async function startService(port: number, ignoreTerm = true) {
  const svc = serviceScript(port, ignoreTerm);
  const child = spawn(process.execPath, [svc], { detached: true, stdio: "ignore" });
  child.unref();
  const pid = child.pid ?? 0;
  cleanups.push(() => killQuietly(pid));
  await waitFor(`port ${port} to listen`, () => listening(port));
  return { svc, pid, startTicks: startTicksOf(pid) };
}

function killQuietly(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

const alive = (pid: number) => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\S+ \(.*\) [ZX] /.test(st);
  } catch {
    return false;
  }
};

describe("restart-service.sh", () => {
  it("stops a process that ignores SIGTERM with SIGKILL after the grace, starts it again, waits for health; the start deadline counts from when it is gone", async () => {
    const port = 19201;
    const first = await startService(port);
    // grace 5 s = start timeout 5 s: a deadline counted from the stop request would already be over.
    const r = runScript(RESTART, {
      SSM_port: String(port),
      SSM_pid: String(first.pid),
      SSM_startTicks: first.startTicks,
      SSM_restartCommand: `exec ${process.execPath} ${first.svc}`,
      SSM_graceSeconds: "5",
      SSM_startTimeoutSeconds: "5",
    });
    const newPid = Number(r.out.newPid);
    cleanups.push(() => killQuietly(newPid));
    expect(r.out, r.stdout).toMatchObject({
      result: "ok",
      method: "command",
      stopSignal: "KILL",
      oldPid: String(first.pid),
    });
    expect(Number(r.out.stopSeconds)).toBeGreaterThanOrEqual(5);
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(first.pid);
    expect(r.out.newStartTicks).toBe(startTicksOf(newPid));
    await waitFor(`PID ${first.pid} to be gone`, () => !alive(first.pid));
  });

  it("refuses PID 1, its own ancestors, a PID whose start time differs, and a listener the evidence did not name; the process keeps running", async () => {
    const port = 19202;
    const svc = await startService(port, false);
    const base = { SSM_port: String(port), SSM_restartCommand: "true", SSM_graceSeconds: "0" };
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ SSM_pid: "1", SSM_startTicks: startTicksOf(1) }, /PID 1 is the init process/],
      [
        { SSM_pid: String(process.pid), SSM_startTicks: startTicksOf(process.pid) },
        /own process or one of its ancestors/,
      ],
      [
        { SSM_pid: String(svc.pid), SSM_startTicks: String(Number(svc.startTicks) + 1) },
        /now belongs to another process/,
      ],
      [{}, /listens on port 19202 now but the evidence named no process/],
    ];
    for (const [env, error] of cases) {
      const r = runScript(RESTART, { ...base, ...env });
      expect(r.code, JSON.stringify(env)).toBe(3);
      expect(r.out.result, r.stdout).toBe("refused-target");
      expect(r.out.error).toMatch(error);
      expect(r.out.stopSignal).toBeUndefined();
    }
    expect(alive(svc.pid)).toBe(true);
    expect(alive(process.pid)).toBe(true);
  });

  it("says so when the start command fails (numbers with leading zeros read as decimal), and refuses to run with no way to start the service", () => {
    const failed = runScript(RESTART, {
      SSM_port: "19203",
      SSM_restartCommand: "echo cannot start >&2; exit 3",
      SSM_graceSeconds: "08",
      SSM_startTimeoutSeconds: "09",
    });
    expect(failed.out.result, failed.stdout).toBe("failed");
    expect(failed.out.error).toMatch(/start command exited 3/);
    const none = runScript(RESTART, { SSM_port: "19203" });
    expect(none.code).toBe(2);
    expect(none.out.error).toMatch(/neither SSM_service nor SSM_restartCommand/);
  });

  it("rejects bad input with the SSM documents' patterns before touching anything", () => {
    const cases: Record<string, string>[] = [
      { SSM_port: "0x50", SSM_service: "api.service" },
      { SSM_port: " 8080", SSM_service: "api.service" },
      { SSM_port: "1e3", SSM_service: "api.service" },
      { SSM_port: "70000", SSM_service: "api.service" },
      { SSM_port: "8080", SSM_service: "api;reboot" },
      { SSM_port: "8080", SSM_service: "-H host" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_pid: "0123" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_pid: "4242" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_pid: "4242", SSM_startTicks: "-1" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_graceSeconds: "1e2" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_startTimeoutSeconds: "0x10" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_healthPath: "/h?x=$(id)" },
      { SSM_port: "8080", SSM_service: "api.service", SSM_restartCommand: "start" },
    ];
    for (const env of cases) {
      const r = runScript(RESTART, env);
      expect(r.code, JSON.stringify(env)).toBe(2);
      expect(r.out.result, JSON.stringify(env)).toBe("invalid-input");
    }
  });
});

describe("restart-service.sh through systemd (a systemctl stand-in on PATH)", () => {
  /**
   * Answers `systemctl show -p MainPID --value -- UNIT` from a state file and `systemctl restart -- UNIT`
   * per FAKE_SYSTEMCTL: fail (exit 1 like a failed job), hang, or ok (stop the main process, start a new one).
   * It records its arguments, so the test sees the `--` before the unit.
   */
  function fakeSystemctl(svcFile: string) {
    const dir = mkdtempSync(join(tmpdir(), "fake-systemctl-"));
    const state = join(dir, "main-pid");
    writeFileSync(
      join(dir, "systemctl"),
      `#!/bin/bash
echo "$*" >>"${dir}/calls"
case "$1" in
  show) cat "${state}"; exit 0 ;;
  restart)
    [[ $2 == -- ]] || { echo "expected -- before the unit name" >&2; exit 64; }
    case "$FAKE_SYSTEMCTL" in
      fail) echo "Job for $3 failed because the control process exited with error code." >&2; exit 1 ;;
      hang) exec sleep 300 ;;
      ok)
        old=$(cat "${state}")
        kill -TERM "$old"
        for ((i = 0; i < 100; i++)); do [[ -r /proc/$old/stat && $(sed 's/^.*) //' /proc/$old/stat | cut -d' ' -f1) != Z ]] || break; sleep 0.1; done
        setsid ${process.execPath} ${svcFile} </dev/null >/dev/null 2>&1 &
        echo $! >"${state}"
        exit 0 ;;
    esac ;;
esac
exit 2
`,
    );
    chmodSync(join(dir, "systemctl"), 0o755);
    return {
      path: `${dir}:${process.env.PATH}`,
      setMainPid: (pid: number) => writeFileSync(state, String(pid)),
      mainPid: () => Number(readFileSync(state, "utf8")),
      calls: () => readFileSync(join(dir, "calls"), "utf8"),
    };
  }

  /** A service whose unit's main PID is `mainPid` (default: the service), restarted through the stand-in. */
  async function systemdRun(
    port: number,
    mode: string,
    extra: Record<string, string> = {},
    mainPid?: number,
  ) {
    const svc = await startService(port, false);
    const fake = fakeSystemctl(svc.svc);
    fake.setMainPid(mainPid ?? svc.pid);
    const env = {
      SSM_port: String(port),
      SSM_pid: String(svc.pid),
      SSM_startTicks: svc.startTicks,
      SSM_service: "api.service",
      SSM_graceSeconds: "0",
      SSM_startTimeoutSeconds: "5",
      FAKE_SYSTEMCTL: mode,
      ...extra,
    };
    return { svc, fake, r: runScript(RESTART, env, fake.path) };
  }

  it("succeeds: `systemctl restart -- UNIT`, then waits for the new PID to listen and answer health", async () => {
    const port = 19210;
    const { svc, fake, r } = await systemdRun(port, "ok");
    const newPid = fake.mainPid();
    cleanups.push(() => killQuietly(newPid));
    expect(r.out, r.stdout).toMatchObject({ result: "ok", method: "systemd", newPid: String(newPid) });
    expect(newPid).not.toBe(svc.pid);
    expect(fake.calls()).toContain("restart -- api.service");
  });

  it("fails: systemctl's exit status is checked (no pipe hides it)", async () => {
    const port = 19211;
    const { r } = await systemdRun(port, "fail");
    expect(r.out.result, r.stdout).toBe("failed");
    expect(r.out.error).toMatch(
      /systemctl restart api.service failed \(exit 1\): Job for api.service failed/,
    );
  });

  it("hangs: systemctl is time-boxed and the run says so", async () => {
    const port = 19212;
    const { r } = await systemdRun(port, "hang", { SSM_startTimeoutSeconds: "1" });
    expect(r.out.result, r.stdout).toBe("failed");
    expect(r.out.error).toMatch(/did not finish within 6s/);
  });

  it("refuses a unit whose main process is not the diagnosed PID", async () => {
    const port = 19213;
    const other = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    other.unref();
    cleanups.push(() => killQuietly(other.pid ?? 0));
    const { fake, r } = await systemdRun(port, "ok", {}, other.pid);
    expect(r.code).toBe(3);
    expect(r.out.result, r.stdout).toBe("refused-target");
    expect(r.out.error).toMatch(/is not run by api.service/);
    expect(fake.calls()).not.toContain("restart");
  });
});
