import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import { parseProbeOutput } from "../../../lambdas/core/parsers/index.js";
import { readRunbookScript } from "../../../lambdas/workflows/runbook-files.js";
import { parseSs } from "../../support/oracles/index.js";
import { ROOT, runProbe, runProbeText, startChild, stopChild, TINY_TOMCAT } from "./probe-harness.js";

const NODE_PORT = 18102;
const JVM_PORT = 18103;
const NO_LISTENER_PORT = 18104;
const BUSY_PORT = 18106;
const SILENT_PORT = 18108;

function evidenceOf(stdout: string): Evidence {
  const r = parseProbeOutput(stdout, { target: "local" });
  if (!r.ok) throw r.error;
  return r.value;
}

function reasonOf(s: { status: string; reason?: string }): string {
  expect(s.status).toBe("unavailable");
  return s.reason ?? "";
}

/**
 * The health check's wait in the tests about what an answer says (503, 200), not about how long one may
 * take: the default 3 s once ran out on this machine at load ~20. Under the probe's own 30 s time-out.
 */
const ANSWERED_WAIT_S = "20";

describe("probe input validation", () => {
  it.each([
    [{}, "SSM_port must be a TCP port"],
    [{ port: "abc" }, "SSM_port must be a TCP port"],
    [{ port: "70000" }, "SSM_port must be a TCP port"],
    [{ port: "18102", pid: "12a" }, "SSM_pid must be empty or a process id"],
    [{ port: "18102", healthPath: "/x;rm -rf /" }, "SSM_healthPath must match"],
    [{ port: "18102", logPath: "relative.log" }, "SSM_logPath must be empty or an absolute path"],
    [{ port: "18102", rawDir: "/tmp/$(id)" }, "SSM_rawDir must be empty or an absolute path"],
    // Spaces are allowed in raw folders (a local --out "/tmp/my dir"); nothing else changes.
    [{ port: "18102", rawDir: "/tmp/my dir\n/x" }, "SSM_rawDir must be empty or an absolute path"],
    [{ port: "18102", rawDir: "/tmp/my\tdir" }, "SSM_rawDir must be empty or an absolute path"],
    [{ port: "18102", rawDir: "my dir/raw" }, "SSM_rawDir must be empty or an absolute path"],
    [{ port: "18102", rawDir: "/tmp/my dir/../etc" }, "must not contain . or .. components"],
    [
      { port: "18102", rawBase: "/var/tmp/my base", rawDir: "/var/tmp/my base2/inc" },
      "SSM_rawDir must be a folder under SSM_rawBase",
    ],
    [{ port: "18102", timeoutSeconds: "1" }, "SSM_timeoutSeconds must be whole seconds 5-3600"],
    [{ port: "18102", idleThresholdMs: "-5" }, "SSM_idleThresholdMs must be whole milliseconds"],
    [{ port: "18102", histogramMode: "full" }, "SSM_histogramMode must be live or all"],
    [{ port: "18102", healthTimeoutSeconds: "0" }, "SSM_healthTimeoutSeconds must be whole seconds 1-60"],
    [{ port: "18102", healthTimeoutSeconds: "61" }, "SSM_healthTimeoutSeconds must be whole seconds 1-60"],
    [{ port: "18102", healthTimeoutSeconds: "2s" }, "SSM_healthTimeoutSeconds must be whole seconds 1-60"],
    [
      { port: "18102", timeoutSeconds: "10", healthTimeoutSeconds: "10" },
      "SSM_healthTimeoutSeconds must be whole seconds 1-60, under SSM_timeoutSeconds (10)",
    ],
    // Lengths are counted (a bounded regex repetition made bash hold megabytes): one over each limit.
    [{ port: "18102", healthPath: `/${"h".repeat(201)}` }, "SSM_healthPath must match"],
    [{ port: "18102", logPath: `/${"l".repeat(301)}` }, "SSM_logPath must be empty or an absolute path"],
    [{ port: "18102", rawDir: `/${"r".repeat(301)}` }, "SSM_rawDir must be empty or an absolute path"],
    [{ port: "18102", service: "s".repeat(129) }, "SSM_service must be empty or a systemd unit name"],
    [{ port: "18102", service: "-evil" }, "SSM_service must be empty or a systemd unit name"],
    [
      { port: "18102", sessionClasses: "a.B ".repeat(21).trim() },
      "SSM_sessionClasses must be empty or up to 20",
    ],
    [
      { port: "18102", sessionClasses: `a.${"B".repeat(200)}` },
      "SSM_sessionClasses must be empty or up to 20",
    ],
    [{ port: "18102", sessionClasses: "a.B  c.D" }, "SSM_sessionClasses must be empty or up to 20"],
    [{ port: "18102", sessionClasses: "a.* /etc/*" }, "SSM_sessionClasses must be empty or up to 20"],
  ])("rejects %o", (params, message) => {
    const run = runProbe(params as Record<string, string>);
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(/^#runbook-probe format=1 version=\S+\n==> input status=invalid reason=/);
    expect(run.stdout.trim().split("\n"), "one line, whatever the input held").toHaveLength(2);
    expect(run.stdout).toContain(message);
    expect(run.stderr).toContain(message);
    const r = parseProbeOutput(run.stdout, { target: "local" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ line: 2, expected: "valid probe inputs" });
  });
});

describe("probe against a non-JVM listener (node http server answering 503)", () => {
  let server: ChildProcess | undefined;
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "probe-test-"));
    server = await startChild(
      "node",
      [
        "-e",
        `require("node:http").createServer((q, s) => { s.statusCode = 503; s.end("down"); })
           .listen(${NODE_PORT}, "127.0.0.1", () => console.log("READY"));`,
      ],
      /READY/,
    );
  });
  afterAll(async () => {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it("collects host-level sections and marks JVM sections unavailable with reasons", () => {
    const log = join(dir, "app.log");
    writeFileSync(
      log,
      `start\njava.io.IOException: Too many open files\n${"x\n".repeat(10)}java.lang.OutOfMemoryError: Java heap space\n`,
    );
    const run = runProbe({
      port: String(NODE_PORT),
      logPath: log,
      healthPath: "/health",
      healthTimeoutSeconds: ANSWERED_WAIT_S,
    });
    expect(run.status).toBe(0);
    const ev = evidenceOf(run.stdout);
    expect(ev.process).toMatchObject({
      status: "ok",
      data: { isJava: false, pidSource: "listener", pid: server?.pid },
    });
    for (const s of [ev.heap, ev.classHistogram, ev.threads])
      expect(reasonOf(s)).toMatch(/is not a JVM \(node\)/);
    expect(reasonOf(ev.tomcat)).toContain("no Tomcat jar");
    expect(ev.health).toMatchObject({ outcome: "http-error", httpStatus: 503, detail: "HTTP 503" });
    expect(ev.logs).toEqual({
      status: "ok",
      data: {
        path: log,
        source: "input",
        why: "given (SSM_logPath)",
        linesScanned: 13,
        tooManyOpenFiles: 1,
        outOfMemoryError: 1,
        connectionNotAvailable: 0,
        noSpaceLeft: 0,
        samples: ["java.io.IOException: Too many open files", "java.lang.OutOfMemoryError: Java heap space"],
        // The first match is on line 2, a `Too many open files`; this log has no time stamps to date it.
        firstFailure: { line: 2, kind: "tooManyOpenFiles", stamp: null, at: null },
      },
    });
    expect(ev.listener).toMatchObject({ status: "ok", data: { listening: true } });
    expect(ev.fds.status).toBe("ok");
    expect(ev.collector.outputChars).toBe(run.stdout.length);
    // df of the log's folder, the process's working folder and the temp folder; nothing full, so no du.
    const disk = ev.disk?.status === "ok" ? ev.disk.data : null;
    expect(disk?.filesystems.map((f) => [f.role, f.path])).toEqual([
      ["log", dir],
      ["cwd", process.cwd()],
      ["tmp", "/tmp"],
    ]);
    expect(disk?.duRoot).toBeNull();
    // A process runs: nothing to explain.
    expect(reasonOf(ev.exit ?? { status: "ok" })).toMatch(/runs: nothing to explain/);
  });

  it("no such pid: process sections unavailable, the rest still runs", () => {
    const run = runProbe({ port: String(NODE_PORT), pid: "3999999", healthTimeoutSeconds: ANSWERED_WAIT_S });
    const ev = evidenceOf(run.stdout);
    expect(reasonOf(ev.process)).toBe("no target process: no such process: pid 3999999 does not exist");
    expect(reasonOf(ev.fds)).toContain("no such process");
    expect(ev.input.pid).toBe(3999999);
    expect(ev.sockets.status).toBe("ok");
    expect(ev.health.outcome).toBe("http-error");
    expect(reasonOf(ev.logs)).toContain("no log path given");
  });

  it("no listener: process unavailable, health refused", () => {
    const ev = evidenceOf(runProbe({ port: String(NO_LISTENER_PORT) }).stdout);
    expect(reasonOf(ev.process)).toContain(`no process listens on port ${NO_LISTENER_PORT}`);
    expect(ev.listener).toEqual({
      status: "ok",
      data: { listening: false, address: null, acceptQueue: null },
    });
    expect(ev.health).toMatchObject({ outcome: "refused", httpStatus: null });
    // Why it is gone: no unit given, the kernel log and the crash-file folders were looked at.
    expect(ev.exit).toMatchObject({
      status: "ok",
      data: {
        unit: null,
        unitWhy: expect.stringContaining("no systemd unit given"),
        searched: ["/tmp", "/var/tmp", "/"],
      },
    });
  });
});

/** The upstream version of the Tomcat jar setup installed (Debian's `10.1.60-1~deb12u1` → `10.1.60`). */
function installedTomcat(): string {
  const owner = execFileSync("dpkg", ["-S", "/usr/share/java/tomcat10-embed-core.jar"], { encoding: "utf8" });
  const pkg = owner.split(":")[0]?.trim() ?? "";
  // dpkg-query's own format placeholder, not a JavaScript one.
  const format = ["-f=$", "{Version}"].join("");
  const v = execFileSync("dpkg-query", ["-W", format, pkg], { encoding: "utf8" });
  return v.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
}

/** A node process whose `server` expression listens on 127.0.0.1:`port`; it exits by itself after 120 s. */
const nodeListener = (server: string, port: number) =>
  startChild(
    "node",
    [
      "-e",
      `${server}.listen(${port}, "127.0.0.1", () => console.log("READY"));
       setTimeout(() => process.exit(0), 120000);`,
    ],
    /READY/,
  );

describe("the health check's time-out (a listener that accepts and never answers)", () => {
  let silent: ChildProcess | undefined;
  beforeAll(async () => {
    silent = await nodeListener(`require("node:net").createServer(() => {})`, SILENT_PORT);
  });
  afterAll(() => stopChild(silent));

  it.each([
    [{}, 3],
    [{ healthTimeoutSeconds: "1" }, 1],
  ])("waits SSM_healthTimeoutSeconds (%o), then says it timed out after it", (params, seconds) => {
    const ev = evidenceOf(runProbe({ port: String(SILENT_PORT), ...params }).stdout);
    expect(ev.health).toMatchObject({ outcome: "timeout", httpStatus: null, timeoutSeconds: seconds });
    // curl's own time: at least the time-out (it gave up at it).
    expect(ev.health.latencyMs).toBeGreaterThanOrEqual(seconds * 1000 - 50);
  });
});

describe("the CPU sample (a node listener whose two worker threads spin; its main thread idles)", () => {
  let busy: ChildProcess | undefined;
  beforeAll(async () => {
    busy = await nodeListener(
      `const { Worker } = require("node:worker_threads");
       for (let i = 0; i < 2; i++) new Worker("for (;;) {}", { eval: true });
       require("node:http").createServer((q, s) => s.end("ok"))`,
      BUSY_PORT,
    );
  });
  afterAll(() => stopChild(busy));

  const processOf = (stdout: string) => {
    const p = evidenceOf(stdout).process;
    expect(p.status, stdout.slice(0, 2000)).toBe("ok");
    return p.status === "ok" ? p.data : null;
  };

  it("sums every thread's run time in ns (schedstat) over 100 ms", () => {
    const p = processOf(runProbe({ port: String(BUSY_PORT) }).stdout);
    expect(p?.pid).toBe(busy?.pid);
    expect(p?.cpuSource).toBe("schedstat");
    expect(p?.cpuSampleMs).toBeGreaterThanOrEqual(100);
    // Two threads spin: up to 200 % of a core (~95 % here on an idle 2-core machine, the probe itself
    // running), and >= 15 % even with the two cores shared among a dozen runnable threads. The process's
    // own thread (/proc/PID/schedstat alone) idles: a sum that missed the others would be ~0.
    expect(p?.cpuPercent).toBeGreaterThanOrEqual(15);
  });

  it("where schedstat is missing, counts the process's clock ticks over 300 ms", () => {
    const text = readRunbookScript(join(ROOT, "runbooks"), "probes/api-unreachable.sh");
    // A kernel without CONFIG_SCHED_INFO has no schedstat files: the reader finds none.
    const noSchedstat = text.replace(/^thread_cpu_ns\(\) \{$/m, "thread_cpu_ns() {\n  return 1");
    expect(noSchedstat).not.toBe(text);
    const p = processOf(runProbeText(noSchedstat, { port: String(BUSY_PORT) }).stdout);
    expect(p?.cpuSource).toBe("stat");
    expect(p?.cpuSampleMs).toBeGreaterThanOrEqual(300);
    expect(p?.cpuPercent).toBeGreaterThanOrEqual(15);
  });
});

describe("probe against a live JVM (embedded Tomcat 10)", () => {
  let jvm: ChildProcess | undefined;
  let clients: ChildProcess | undefined;
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "probe-jvm-"));
    jvm = await startChild(
      "java",
      ["-Xmx128m", "-cp", "/usr/share/java/tomcat10-embed-core.jar", TINY_TOMCAT, String(JVM_PORT)],
      /READY/,
      60_000,
    );
    clients = await startChild(
      "node",
      [
        "-e",
        `const net = require("node:net"); const s = [];
         for (let i = 0; i < 25; i++) { const c = net.connect(${JVM_PORT}, "127.0.0.1"); c.on("error", () => {}); s.push(c); }
         setTimeout(() => console.log("READY"), 500); setTimeout(() => process.exit(0), 120000);`,
      ],
      /READY/,
    );
  }, 90_000);
  afterAll(async () => {
    await stopChild(clients);
    await stopChild(jvm);
    rmSync(dir, { recursive: true, force: true });
  });

  it("collects every section; raw ss output re-parsed in TS matches the host aggregate", () => {
    const rawDir = join(dir, "raw");
    const run = runProbe({ port: String(JVM_PORT), rawDir, healthTimeoutSeconds: ANSWERED_WAIT_S });
    expect(run.status).toBe(0);
    const ev = evidenceOf(run.stdout);
    for (const key of [
      "host",
      "process",
      "listener",
      "fds",
      "sockets",
      "socketSummary",
      "fileNr",
      "heap",
    ] as const)
      expect(ev[key].status, `${key}: ${JSON.stringify(ev[key])}`).toBe("ok");
    expect(ev.process).toMatchObject({ status: "ok", data: { isJava: true, pid: jvm?.pid } });
    // Found from the LISTEN socket's inode among the JVMs' fds, without `ss -p` reading every process's fds.
    expect(existsSync(join(rawDir, "ss-ltne.txt"))).toBe(true);
    expect(existsSync(join(rawDir, "ss-ltnp.txt"))).toBe(false);
    expect(ev.tomcat).toEqual({ status: "ok", data: { version: installedTomcat(), source: "jar" } });
    // Through the probe's own attach client (no jcmd JVM started): the same diagnostic command.
    expect(ev.classHistogram).toMatchObject({
      status: "ok",
      data: { tool: "jcmd", forcedFullGc: true, attachClient: "direct" },
    });
    expect(ev.threads).toMatchObject({
      status: "ok",
      data: { requestExecutor: { namePrefix: `http-nio-${JVM_PORT}-exec-` } },
    });
    expect(ev.health).toMatchObject({ outcome: "ok", httpStatus: 200 });
    if (ev.sockets.status !== "ok") throw new Error("sockets");
    expect(ev.sockets.data.established).toBeGreaterThanOrEqual(25);
    const ss = parseSs(readFileSync(join(rawDir, "ss-tanoi.txt"), "utf8"), {
      port: JVM_PORT,
      idleThresholdMs: ev.sockets.data.idle.thresholdMs,
    });
    if (!ss.ok) throw ss.error;
    expect(ss.value.aggregate).toEqual(ev.sockets.data);
    expect(ev.collector.timedOut).toEqual([]);
    // When each section ran: every section the probe collects, once, in start order, within the probe's time.
    const times = ev.collector.sections ?? [];
    expect(times.map((t) => t.name).sort()).toEqual(
      [
        "meta",
        "host",
        "listener",
        "fds",
        "sockets",
        "socketSummary",
        "network",
        "fileNr",
        "logs",
        "heap",
        "process",
        "tomcat",
        "disk",
        "exit",
        "classHistogram",
        "threads",
        "health",
        "raw",
      ].sort(),
    );
    expect(times.map((t) => t.startMs)).toEqual([...times.map((t) => t.startMs)].sort((a, b) => a - b));
    for (const t of times) expect(t.startMs + t.durationMs).toBeLessThanOrEqual(ev.collector.durationMs);
    // The listen counters' window starts with the probe, not with its section: no sleep of its own.
    const network = times.find((t) => t.name === "network");
    expect(ev.network).toMatchObject({
      status: "ok",
      data: { listenDrops: { intervalMs: expect.any(Number) } },
    });
    if (ev.network?.status === "ok" && network)
      expect(ev.network.data.listenDrops?.intervalMs).toBeGreaterThan(network.durationMs - 100);
  });

  it("histogramMode=all uses GC.class_histogram -all and does not force a full GC", () => {
    const ev = evidenceOf(
      runProbe({ port: String(JVM_PORT), pid: String(jvm?.pid), histogramMode: "all" }).stdout,
    );
    expect(ev.classHistogram).toMatchObject({
      status: "ok",
      data: { tool: "jcmd", command: `jcmd ${jvm?.pid} GC.class_histogram -all`, forcedFullGc: false },
    });
    expect(ev.process).toMatchObject({ status: "ok", data: { pidSource: "input" } });
  });
});
