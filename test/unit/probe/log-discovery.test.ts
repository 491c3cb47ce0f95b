import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { runProbe, stopChild } from "./probe-harness.js";

/**
 * Log discovery (issue 13, "Evidence first"): with no SSM_logPath the probe finds the application's log
 * from what the process shows: its stdout/stderr files, Spring Boot's logging settings (command line or
 * environment), Tomcat's catalina.base logs. The target is a real process (node, listening on a port of
 * this helper's range) started with those settings; the target's paths are hostile, so symlinks and
 * odd paths are passed over with a reason.
 */
const PORT = 20110;
const OOM = 'Exception in thread "http-nio-exec-1" java.lang.OutOfMemoryError: Java heap space\n';
let dir = "";
let child: ChildProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "log-discovery-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await stopChild(child);
  child = undefined;
});

/** Starts a listener on PORT with stdout/stderr to `out` (a file, or /dev/null), extra args and env. */
async function target(opts: {
  out: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  stdio?: net.Socket;
}) {
  const fd = openSync(opts.out, "a");
  const ready = join(dir, `ready-${Date.now()}`);
  try {
    child = spawn(
      process.execPath,
      [
        "-e",
        `require("node:http").createServer((q, s) => { s.statusCode = 503; s.end("down"); })
           .listen(${PORT}, "127.0.0.1", () => require("node:fs").writeFileSync(${JSON.stringify(ready)}, "up"));`,
        "--",
        ...(opts.args ?? []),
      ],
      {
        stdio: ["ignore", opts.stdio ?? fd, opts.stdio ?? fd],
        env: { PATH: process.env.PATH ?? "", ...opts.env },
        cwd: opts.cwd ?? dir,
      },
    );
  } finally {
    closeSync(fd);
  }
  // Wait for the event (the file the listener writes once it listens), never a fixed sleep.
  for (let i = 0; i < 600; i++) {
    try {
      if (readFileSync(ready, "utf8") === "up") return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the target did not start listening");
}

function logsOf(): Evidence["logs"] {
  const run = runProbe({ port: String(PORT) });
  expect(run.status).toBe(0);
  const r = parseProbeOutput(run.stdout, { target: "local" });
  if (!r.ok) throw r.error;
  return r.value.logs;
}

describe("log discovery without SSM_logPath", () => {
  it("reads the process's stdout and stderr when they are a regular file, and says so", async () => {
    const log = join(dir, "console.log");
    writeFileSync(log, `starting\n${OOM}`);
    await target({ out: log });
    const logs = logsOf();
    expect(logs).toMatchObject({
      status: "ok",
      data: {
        path: log,
        source: "stdout",
        why: "the process's stdout and stderr (fd 1 and 2) are this regular file",
        outOfMemoryError: 1,
      },
    });
  });

  it("Spring Boot: logging.file.name on the command line, relative to the working folder", async () => {
    const work = join(dir, "spring-app");
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, "app.log"), OOM.repeat(3));
    await target({ out: "/dev/null", cwd: work, args: ["--logging.file.name=app.log"] });
    const logs = logsOf();
    expect(logs.status).toBe("ok");
    if (logs.status !== "ok") return;
    expect(logs.data).toMatchObject({
      path: join(work, "app.log"),
      source: "spring-boot",
      outOfMemoryError: 3,
    });
    expect(logs.data.why).toBe(
      "Spring Boot's logging.file.name (-Dlogging.file.name or --logging.file.name)",
    );
    expect(logs.data.passedOver).toEqual([
      "fd 1: /dev/null (not a regular file)",
      "fd 2: /dev/null (not a regular file)",
    ]);
  });

  it("Spring Boot: LOG_PATH in the environment names the folder of spring.log", async () => {
    const logDir = join(dir, "spring-logs");
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, "spring.log"), "fine\n");
    await target({ out: "/dev/null", env: { LOG_PATH: logDir } });
    const logs = logsOf();
    expect(logs).toMatchObject({
      status: "ok",
      data: { path: join(logDir, "spring.log"), source: "spring-boot", outOfMemoryError: 0 },
    });
    if (logs.status === "ok") expect(logs.data.why).toContain("environment LOG_PATH");
  });

  it("Tomcat: a symlinked catalina.out is passed over, the newest catalina.*.log is read", async () => {
    const base = join(dir, "tomcat");
    mkdirSync(join(base, "logs"), { recursive: true });
    writeFileSync(join(dir, "secret.txt"), "not a log\n");
    symlinkSync(join(dir, "secret.txt"), join(base, "logs/catalina.out"));
    const older = join(base, "logs/catalina.2026-12-01.log");
    const newer = join(base, "logs/catalina.2026-12-02.log");
    writeFileSync(older, "old\n");
    writeFileSync(newer, `${OOM}`);
    utimesSync(older, new Date("2026-12-01T10:00:00Z"), new Date("2026-12-01T10:00:00Z"));
    await target({ out: "/dev/null", args: [`-Dcatalina.base=${base}`] });
    const logs = logsOf();
    expect(logs.status).toBe("ok");
    if (logs.status !== "ok") return;
    expect(logs.data).toMatchObject({ path: newer, source: "tomcat", outOfMemoryError: 1 });
    expect(logs.data.why).toBe("Tomcat's logs folder of -Dcatalina.base or --catalina.base");
    expect(logs.data.passedOver).toContain(
      `tomcat ${base}/logs/catalina.out: a symbolic link (not followed)`,
    );
  });

  it("stdout a socket (systemd's journal): the journal of the PID, with the unit when there is one", async () => {
    // A unix socket stands for journald's stream socket: the child's stdout and stderr are connected to it.
    const sockPath = join(dir, "journal.sock");
    const server = net.createServer((c) => c.resume());
    await new Promise<void>((r) => server.listen(sockPath, r));
    const sock = net.connect(sockPath);
    await new Promise<void>((r) => sock.once("connect", () => r()));
    try {
      await target({ out: "/dev/null", stdio: sock });
      const logs = logsOf();
      expect(logs.status).toBe("ok");
      if (logs.status !== "ok") return;
      expect(logs.data).toMatchObject({ path: `journald:_PID=${child?.pid}`, source: "journald" });
      expect(logs.data.why).toMatch(
        new RegExp(`^stdout is a socket \\(the journal's\\): the journal of PID ${child?.pid}`),
      );
      expect(logs.data.passedOver).toEqual(["fd 1: a socket", "fd 2: a socket"]);
    } finally {
      sock.destroy();
      server.close();
    }
  });

  it("a hostile path is never read; nothing usable: unavailable, naming what was tried", async () => {
    await target({ out: "/dev/null", args: ["--logging.file.name=/var/../etc/shadow"] });
    const logs = logsOf();
    expect(logs.status).toBe("unavailable");
    if (logs.status !== "unavailable") return;
    expect(logs.reason).toMatch(/^no log path given \(SSM_logPath is empty\) and none found: /);
    expect(logs.reason).toContain("spring-boot /var/../etc/shadow: not a plain absolute path");
  });
});
