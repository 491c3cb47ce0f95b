import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Evidence } from "../../../lambdas/core/evidence/schema.js";
import {
  type ParseResult,
  parseClassHistogram,
  parseHealth,
  parseJstatGcutil,
  parseLogScan,
  parseProbeOutput,
  parseSsSummary,
} from "../../../lambdas/core/parsers/index.js";
import {
  parseFdTargets,
  parseFileNr,
  parseJstack,
  parseProcLimits,
  parseSs,
  parseSsListen,
} from "../../support/oracles/index.js";
import { CAPTURED, readText } from "./fixtures.js";

function must<T>(r: ParseResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

function data<T>(s: { status: "ok"; data: T } | { status: "unavailable"; reason: string }): T {
  if (s.status !== "ok") throw new Error(`unavailable: ${s.reason}`);
  return s.data;
}

/**
 * The probe aggregates on the host with awk; the TS parsers aggregate the full raw outputs written
 * to SSM_rawDir by the same run. They must agree exactly.
 */
describe.each([
  "tinytomcat-busy",
  "tinytomcat-fd-exhausted",
  // Lab captures (scripts/capture-probe.ts): HikariCP waiters, H2 over TCP, Jetty's WebSocket sessions.
  "lab-pool-leak",
  "lab-pool-slow-db",
  "lab-jetty-ws-leak",
])("probe awk vs TS parsers on %s", (name) => {
  const dir = join(CAPTURED, name);
  const ev: Evidence = must(parseProbeOutput(readText(dir, "probe-stdout.txt"), { target: "local" }));

  it("sockets: parseSs aggregate = probe aggregate", () => {
    const sockets = data(ev.sockets);
    const ss = must(
      parseSs(readText(dir, "ss-tanoi.txt"), {
        port: sockets.port,
        idleThresholdMs: sockets.idle.thresholdMs,
      }),
    );
    expect(ss.aggregate).toEqual(sockets);
  });

  it("threads: parseJstack aggregate = probe aggregate", () => {
    const probe = data(ev.threads);
    // Captures from probes that predate counting pool waits lack the field: the oracle's count is then 0.
    expect(must(parseJstack(readText(dir, "jstack.txt"))).aggregate).toEqual({
      ...probe,
      waitingForDbConnection: probe.waitingForDbConnection ?? 0,
    });
  });

  it("fds: parseFdTargets + parseProcLimits = probe aggregate", () => {
    const limits = must(parseProcLimits(readText(dir, "proc-limits.txt")));
    const fds = must(parseFdTargets(readText(dir, "fd-targets.txt")));
    expect({ ...fds, limitSoft: limits.maxOpenFiles.soft, limitHard: limits.maxOpenFiles.hard }).toEqual(
      data(ev.fds),
    );
  });

  it("class histogram: full output parse = probe's cut copy", () => {
    const h = data(ev.classHistogram);
    const options = {
      tool: h.tool,
      command: h.command,
      forcedFullGc: h.forcedFullGc,
      sessionClasses: h.sessionClasses ?? null,
    };
    const full = must(parseClassHistogram(readText(dir, "class-histogram.txt"), options));
    expect(full).toEqual(h);
    expect(h.top).toHaveLength(30);
  });

  it("heap, health, summary, listener, file-nr", () => {
    // The sample interval is the probe's measure (500 ms in the older captures, the two samples' times since).
    const sampleIntervalMs = data(ev.heap).sampleIntervalMs;
    expect(must(parseJstatGcutil(readText(dir, "jstat-gcutil.txt"), { sampleIntervalMs }))).toEqual(
      data(ev.heap),
    );
    expect(must(parseHealth(readText(dir, "health.txt")))).toEqual(ev.health);
    expect(must(parseSsSummary(readText(dir, "ss-s.txt")))).toEqual(data(ev.socketSummary));
    expect(must(parseSsListen(readText(dir, "ss-ltn.txt")))).toEqual(data(ev.listener));
    // These captures predate the probe reading file-nr once (it was read twice): allow drift.
    const fileNr = must(parseFileNr(readText(dir, "file-nr.txt")));
    expect(fileNr.max).toBe(data(ev.fileNr).max);
    expect(Math.abs(fileNr.allocated - data(ev.fileNr).allocated)).toBeLessThan(50);
  });
});

describe("captured tinytomcat-busy", () => {
  const dir = join(CAPTURED, "tinytomcat-busy");
  const ev = must(parseProbeOutput(readText(dir, "probe-stdout.txt"), { target: "i-0abc" }));

  it("is a complete, valid Evidence document", () => {
    expect(ev.target).toBe("i-0abc");
    expect(ev.collector.outputChars).toBeLessThan(24_000);
    expect(data(ev.process)).toMatchObject({ isJava: true, pidSource: "listener", user: "root" });
    expect(data(ev.tomcat)).toEqual({ version: "10.1.60", source: "jar" });
    expect(ev.health.outcome).toBe("ok");
  });

  it("sees 60+ idle connections, 4 busy request threads, leaked FileInputStreams", () => {
    const s = data(ev.sockets);
    expect(s.established).toBe(64);
    expect(s.idle.histogram.find((b) => b.label === "10-60s")?.count).toBe(64);
    expect(s.topPeers).toEqual([{ address: "127.0.0.1", count: 64 }]);
    const t = data(ev.threads);
    expect(t.requestExecutor).toEqual({ namePrefix: "http-nio-18100-exec-", total: 10, busy: 4, idle: 6 });
    const fis = data(ev.classHistogram).watched.find((w) => w.className === "java.io.FileInputStream");
    expect(fis?.instances).toBeGreaterThanOrEqual(31);
    expect(data(ev.fds).topFiles.find((f) => f.path === "/etc/hostname")?.count).toBe(31);
  });

  it("parses jmap -histo:live (JDK 17, module column)", () => {
    const h = must(
      parseClassHistogram(readText(dir, "jmap-histo-live.txt"), {
        tool: "jmap",
        command: "jmap -histo:live 1",
        forcedFullGc: true,
      }),
    );
    expect(h.top[0]).toMatchObject({ rank: 1, className: "[B", module: "java.base@17.0.15" });
    expect(
      h.watched.find((w) => w.className === "org.apache.tomcat.util.net.NioEndpoint$NioSocketWrapper")
        ?.instances,
    ).toBe(64);
    expect(h.totalInstances).toBeGreaterThan(100_000);
  });
});

describe("captured tinytomcat-fd-exhausted", () => {
  const dir = join(CAPTURED, "tinytomcat-fd-exhausted");
  const ev = must(parseProbeOutput(readText(dir, "probe-stdout.txt"), { target: "local" }));

  it("shows the exhaustion: fds at the limit, health timeout, Too many open files in the log", () => {
    const fds = data(ev.fds);
    expect(fds.open).toBeGreaterThanOrEqual(fds.limitSoft ?? Number.POSITIVE_INFINITY);
    expect(ev.health).toMatchObject({ outcome: "timeout", httpStatus: null });
    expect(data(ev.logs).tooManyOpenFiles).toBeGreaterThan(0);
    expect(data(ev.listener).acceptQueue?.current).toBeGreaterThan(0);
  });

  it("log scan of the raw tail = probe's scan", () => {
    const scan = must(
      parseLogScan(readText(dir, "app-log-tail.txt"), { path: data(ev.logs).path, utcOffset: "+0000" }),
    );
    // This capture predates `firstFailureKind`: the probe then named no kind; the scan does.
    expect(data(ev.logs).firstFailure?.kind).toBeUndefined();
    const { kind, ...first } = scan.firstFailure ?? { kind: undefined };
    expect(kind).toBe("tooManyOpenFiles");
    expect({ ...scan, firstFailure: scan.firstFailure && first }).toEqual(data(ev.logs));
  });

  it("a jcmd that timed out printed only 'PID:': not a histogram", () => {
    const r = parseClassHistogram(readText(dir, "jcmd-histogram-timeout.txt"), {
      tool: "jcmd",
      command: "jcmd 1 GC.class_histogram",
      forcedFullGc: true,
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ line: 2, expected: "the header" });
  });
});

describe("hand-made JDK 8 jmap -histo:live (no module column)", () => {
  it("parses rows without modules and sums watched classes", () => {
    const h = must(
      parseClassHistogram(readText(join(CAPTURED, "jdk8-handmade"), "jmap-histo-live.txt"), {
        tool: "jmap",
        command: "jmap -histo:live 1",
        forcedFullGc: true,
      }),
    );
    expect(h.top[0]).toEqual({ rank: 1, instances: 184213, bytes: 19522416, className: "[C", module: null });
    expect(h.watched.find((w) => w.className === "org.apache.tomcat.websocket.WsSession")).toEqual({
      className: "org.apache.tomcat.websocket.WsSession",
      instances: 20004,
      bytes: 3040608,
    });
    expect(h.totalInstances).toBe(594843);
  });
});
