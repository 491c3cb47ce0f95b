import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ParseError,
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

const busy = join(CAPTURED, "tinytomcat-busy");
const histoOpts = { tool: "jcmd", command: "jcmd 1 GC.class_histogram", forcedFullGc: true } as const;
const ssOpts = { port: 18100, idleThresholdMs: 120_000 };

function failure<T>(r: ParseResult<T>): ParseError {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error("expected a failure");
  expect(r.error).toBeInstanceOf(ParseError);
  expect(r.error.name).toBe("ParseError");
  return r.error;
}

/** The first `n` lines of a real capture, as if the output was cut. */
const head = (file: string, n: number) => readText(busy, file).split("\n").slice(0, n).join("\n");
const GARBAGE = "<html><body>502 Bad Gateway</body></html>\n\u0000\u0001binary";

describe("every parser fails with a located ParseError, never a throw", () => {
  it("ss: empty, garbage, truncated record", () => {
    expect(failure(parseSs("", ssOpts))).toMatchObject({ parser: "ss", line: 1 });
    const g = failure(parseSs(GARBAGE, ssOpts));
    expect(g).toMatchObject({ line: 1, excerpt: "<html><body>502 Bad Gateway</body></html>" });
    expect(g.expected).toContain("STATE RECV-Q SEND-Q");
    const cut = `${head("ss-tanoi.txt", 4)}\nESTAB  0      0      [::ffff:127.0.0.1]:18100`;
    expect(failure(parseSs(cut, ssOpts))).toMatchObject({
      line: 5,
      expected: expect.stringContaining("5 columns"),
    });
  });

  it("ss -s, ss -ltn", () => {
    expect(failure(parseSsSummary(""))).toMatchObject({ line: 1, expected: 'the "Total: N" line' });
    expect(failure(parseSsSummary(GARBAGE))).toMatchObject({ line: 1 });
    expect(failure(parseSsSummary(head("ss-s.txt", 1)))).toMatchObject({
      line: 2,
      expected: expect.stringContaining("TCP:"),
    });
    expect(failure(parseSsSummary("Total: 5\nTCP:   9 (estab 2, clo"))).toMatchObject({ line: 2 });
    expect(failure(parseSsListen(""))).toMatchObject({
      line: 1,
      expected: expect.stringContaining("State Recv-Q"),
    });
    expect(failure(parseSsListen(GARBAGE))).toMatchObject({ line: 1 });
    expect(failure(parseSsListen(`${head("ss-ltn.txt", 1)}\nLISTEN 0`))).toMatchObject({ line: 2 });
  });

  it("/proc/PID/limits and fd targets, file-nr", () => {
    expect(failure(parseProcLimits(""))).toMatchObject({ parser: "proc-limits", line: 1 });
    expect(failure(parseProcLimits(GARBAGE))).toMatchObject({
      line: 1,
      expected: expect.stringContaining("Soft Limit"),
    });
    expect(failure(parseProcLimits(head("proc-limits.txt", 5)))).toMatchObject({
      line: 6,
      expected: 'a "Max open files" line',
    });
    expect(
      failure(parseProcLimits(`${head("proc-limits.txt", 8)}\nMax open files            10`)),
    ).toMatchObject({ line: 9 });
    expect(failure(parseFdTargets(""))).toMatchObject({ parser: "fd-targets", line: 1 });
    expect(failure(parseFdTargets(GARBAGE))).toMatchObject({ line: 1 });
    expect(failure(parseFdTargets(`${head("fd-targets.txt", 3)}\n1`))).toMatchObject({ line: 4 });
    expect(failure(parseFileNr(""))).toMatchObject({ line: 1 });
    expect(failure(parseFileNr("551\t0"))).toMatchObject({ line: 1, excerpt: "551\t0" });
  });

  it("class histogram: empty, garbage, cut before Total", () => {
    expect(failure(parseClassHistogram("", histoOpts))).toMatchObject({ parser: "class-histogram", line: 1 });
    const g = failure(parseClassHistogram(GARBAGE, histoOpts));
    expect(g).toMatchObject({ line: 1, expected: expect.stringContaining("#instances") });
    expect(failure(parseClassHistogram(head("class-histogram.txt", 20), histoOpts))).toMatchObject({
      line: 21,
      expected: expect.stringContaining("Total"),
    });
    expect(
      failure(parseClassHistogram(`${head("class-histogram.txt", 5)}\n   4:   12`, histoOpts)),
    ).toMatchObject({
      line: 6,
      expected: expect.stringContaining("RANK: INSTANCES BYTES CLASS"),
    });
  });

  it("jstack: empty, garbage (attach error), cut short", () => {
    expect(failure(parseJstack(""))).toMatchObject({ parser: "jstack", line: 1 });
    const attach =
      "16255: Unable to open socket file /tmp/.java_pid16255: target process 16255 doesn't respond within 10500ms";
    expect(failure(parseJstack(attach))).toMatchObject({
      line: 1,
      excerpt: expect.stringContaining("Unable to open"),
    });
    expect(failure(parseJstack(head("jstack.txt", 40)))).toMatchObject({
      line: 41,
      expected: expect.stringContaining("JNI global refs"),
    });
  });

  it("jstat: empty, garbage, header only, cut row", () => {
    const o = { sampleIntervalMs: 500 };
    expect(failure(parseJstatGcutil("", o))).toMatchObject({ parser: "jstat-gcutil", line: 1 });
    expect(failure(parseJstatGcutil("12345 not found", o))).toMatchObject({
      line: 1,
      excerpt: "12345 not found",
    });
    expect(failure(parseJstatGcutil(head("jstat-gcutil.txt", 1), o))).toMatchObject({
      line: 2,
      expected: "a sample row",
    });
    expect(
      failure(parseJstatGcutil(`${head("jstat-gcutil.txt", 2)}\n  0.00  56.85  40.00`, o)),
    ).toMatchObject({
      line: 3,
      expected: expect.stringContaining("sample row of 13 numbers"),
    });
  });

  it("health: empty, garbage, truncated record", () => {
    expect(failure(parseHealth(""))).toMatchObject({ parser: "health", line: 1, expected: 'a "url=" line' });
    expect(failure(parseHealth(GARBAGE))).toMatchObject({ line: 1 });
    expect(failure(parseHealth(head("health.txt", 1)))).toMatchObject({
      line: 2,
      expected: 'a "curlExit=" line',
    });
  });

  it("log scan: empty log is valid; binary is not", () => {
    const empty = parseLogScan("", { path: "/x.log" });
    expect(empty).toEqual({
      ok: true,
      value: {
        path: "/x.log",
        linesScanned: 0,
        tooManyOpenFiles: 0,
        outOfMemoryError: 0,
        samples: [],
        firstFailure: null,
      },
    });
    expect(failure(parseLogScan("ok line\nsecond\u0000bin", { path: "/x.log" }))).toMatchObject({
      line: 2,
      expected: expect.stringContaining("NUL byte"),
    });
  });

  it("probe output: empty, garbage, bad section header", () => {
    expect(failure(parseProbeOutput("", { target: "t" }))).toMatchObject({ parser: "probe-output", line: 1 });
    expect(failure(parseProbeOutput(GARBAGE, { target: "t" }))).toMatchObject({
      line: 1,
      expected: 'the header "#runbook-probe format=N version=V"',
    });
    expect(
      failure(parseProbeOutput("#runbook-probe format=1 version=1\n==> meta ok", { target: "t" })),
    ).toMatchObject({
      line: 2,
      expected: expect.stringContaining("section header"),
    });
  });
});

describe("parseProbeOutput on cut or damaged output keeps what it can", () => {
  const stdout = readText(busy, "probe-stdout.txt");
  const lines = stdout.split("\n");

  it("output cut after the sockets section: later sections unavailable with the line", () => {
    const at = lines.findIndex((l) => l.startsWith("==> socketSummary"));
    const r = parseProbeOutput(lines.slice(0, at).join("\n"), { target: "t" });
    if (!r.ok) throw r.error;
    expect(r.value.sockets.status).toBe("ok");
    expect(r.value.threads).toEqual({
      status: "unavailable",
      reason: `section threads missing: probe output ends at line ${at} without "==> end" (cut short or timed out)`,
    });
    expect(r.value.health.outcome).toBe("error");
  });

  it("a section cut mid-raw-block is unavailable with the parser's line in stdout", () => {
    const at = lines.findIndex((l) => l.startsWith("==> classHistogram"));
    const cut = lines.slice(0, at + 10).join("\n");
    const r = parseProbeOutput(cut, { target: "t" });
    if (!r.ok) throw r.error;
    expect(r.value.classHistogram.status).toBe("unavailable");
    if (r.value.classHistogram.status === "unavailable")
      expect(r.value.classHistogram.reason).toContain(`line ${at + 11}: expected the "Total N N" line`);
  });

  it("a malformed field names its line", () => {
    const at = lines.findIndex((l) => l.startsWith("established="));
    const bad = [...lines];
    bad[at] = "established=lots";
    const r = parseProbeOutput(bad.join("\n"), { target: "t" });
    if (!r.ok) throw r.error;
    expect(r.value.sockets).toEqual({
      status: "unavailable",
      reason: expect.stringContaining(
        `line ${at + 1}: expected established=<whole number> in section sockets`,
      ),
    });
  });

  it("the attach client: recorded when the probe names it, absent from older output, an unknown one names its line", () => {
    const at = lines.findIndex((l) => l.startsWith("==> classHistogram"));
    expect(lines[at + 1]).toBe("tool=jcmd");
    const withClient = (client: string) => {
      const l = [...lines];
      l.splice(at + 2, 0, `client=${client}`);
      const r = parseProbeOutput(l.join("\n"), { target: "t" });
      if (!r.ok) throw r.error;
      return r.value.classHistogram;
    };
    expect(withClient("direct")).toMatchObject({ status: "ok", data: { attachClient: "direct" } });
    expect(withClient("jdk")).toMatchObject({ status: "ok", data: { attachClient: "jdk" } });
    const old = parseProbeOutput(stdout, { target: "t" });
    if (!old.ok) throw old.error;
    expect(old.value.classHistogram.status).toBe("ok");
    if (old.value.classHistogram.status === "ok")
      expect(old.value.classHistogram.data.attachClient).toBeUndefined();
    expect(withClient("gdb")).toEqual({
      status: "unavailable",
      reason: expect.stringContaining(`line ${at + 3}: expected client=jdk|direct`),
    });
  });

  it("rejected inputs are an error", () => {
    const r = parseProbeOutput(
      "#runbook-probe format=1 version=1.0.0\n==> input status=invalid reason=SSM_port must be a TCP port 1-65535 (got 'x')\n",
      { target: "t" },
    );
    expect(failure(r)).toMatchObject({
      line: 2,
      expected: "valid probe inputs",
      excerpt: expect.stringContaining("SSM_port"),
    });
  });
});
