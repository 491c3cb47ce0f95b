import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseClassHistogram,
  parseHealth,
  parseJstatGcutil,
  parseLogScan,
  parseSsSummary,
} from "../../../lambdas/core/parsers/index.js";
import {
  evidenceFromRawFiles,
  parseFdTargets,
  parseJstack,
  parseProcLimits,
  parseSs,
  parseSsListen,
} from "../../support/oracles/index.js";
import { maybeText, RAW, rawScenarios } from "./fixtures.js";

/**
 * The lab captures (test/fixtures/raw/<scenario>/, scripts/capture-fixtures.ts). Assertions are
 * relations that hold for any re-capture of the scenario, not exact counts.
 */
const scenarios = rawScenarios();
const histo = { tool: "jcmd", command: "jcmd PID GC.class_histogram", forcedFullGc: true } as const;

describe("lab raw captures", () => {
  it("are present", () => {
    expect(scenarios.length).toBeGreaterThan(0);
  });

  describe.each(scenarios)("%s", (scenario) => {
    const dir = join(RAW, scenario);
    const text = (f: string) => maybeText(dir, f);
    /** Every capture holds every file (scripts/capture-fixtures.ts writes them all): a missing one fails. */
    const need = (f: string): string => {
      const t = text(f);
      if (t === undefined) throw new Error(`${scenario}: ${f} is missing from the capture`);
      return t;
    };

    it("ss, limits, fds, jstat, health parse", () => {
      const port = Number((text("meta.json") && JSON.parse(text("meta.json") ?? "{}").port) || 0) || 1;
      const r0 = parseSs(need("ss-tanoi.txt"), { port, idleThresholdMs: 120_000 });
      if (!r0.ok) throw r0.error;
      expect(r0.value.aggregate.established).toBe(r0.value.sockets.filter((s) => s.state === "ESTAB").length);
      for (const [f, parse] of [
        ["ss-s.txt", parseSsSummary],
        ["ss-ltn.txt", parseSsListen],
        ["proc-limits.txt", parseProcLimits],
        ["proc-fd.txt", (t: string) => parseFdTargets(t)],
        ["jstat-gcutil.txt", (t: string) => parseJstatGcutil(t, { sampleIntervalMs: 1000 })],
        ["health.txt", (t: string) => parseHealth(t)],
      ] as const) {
        const r = parse(need(f));
        if (!r.ok) throw r.error;
      }
      const fds = parseFdTargets(need("proc-fd.txt"));
      if (!fds.ok) throw fds.error;
      expect(fds.value.open).toBe(Number(need("proc-fd-count.txt").trim()));
    });

    it("histograms and jstack parse, or are an attach failure located at its line", () => {
      for (const f of ["jcmd-class-histogram.txt", "jmap-histo-live.txt"]) {
        const t = need(f);
        const r = parseClassHistogram(t, histo);
        if (r.ok) expect(r.value.totalInstances).toBeGreaterThan(0);
        // attach refused, or nothing / only "PID:" printed before the tool was cut by its time limit
        else expect(t).toMatch(/AttachNotSupported|Unable to open socket file|^(\d+:)?\s*$/);
      }
      const js = parseJstack(need("jstack.txt"));
      if (js.ok) expect(js.value.aggregate.total).toBeGreaterThan(0);
      else expect(js.error.line).toBe(1);
      expect(parseLogScan(need("app-log.txt"), { path: "app.log" }).ok).toBe(true);
    });

    it("builds a valid Evidence document", () => {
      const files: Record<string, string> = {};
      for (const f of [
        "ss-tanoi.txt",
        "ss-s.txt",
        "ss-ltn.txt",
        "proc-limits.txt",
        "proc-fd.txt",
        "jcmd-class-histogram.txt",
        "jmap-histo-live.txt",
        "jstack.txt",
        "jstat-gcutil.txt",
        "health.txt",
        "app-log.txt",
      ]) {
        const t = text(f);
        if (t !== undefined) files[f] = t;
      }
      const r = evidenceFromRawFiles(files, {
        target: "lab",
        collectedAt: "2026-01-01T00:00:00Z",
        port: 18090,
        pid: 1,
      });
      if (!r.ok) throw r.error;
    });
  });
});

describe("scenario signatures", () => {
  it("ws-leak-exhausted: fds at the limit, attach refused", () => {
    const dir = join(RAW, "ws-leak-exhausted");
    const limits = parseProcLimits(maybeText(dir, "proc-limits.txt") ?? "");
    const fds = parseFdTargets(maybeText(dir, "proc-fd.txt") ?? "");
    if (!limits.ok || !fds.ok) throw new Error("unparsable");
    expect(fds.value.open).toBe(limits.value.maxOpenFiles.soft);
    expect(fds.value.byKind.socket / fds.value.open).toBeGreaterThan(0.9);
    const h = parseClassHistogram(maybeText(dir, "jcmd-class-histogram.txt") ?? "", histo);
    expect(h.ok).toBe(false);
  });

  it("ws-leak-partial: one WsSession per leaked connection", () => {
    const dir = join(RAW, "ws-leak-partial");
    const h = parseClassHistogram(maybeText(dir, "jcmd-class-histogram.txt") ?? "", histo);
    if (!h.ok) throw h.error;
    const ws = h.value.watched.find((w) => w.className === "org.apache.tomcat.websocket.WsSession");
    expect(ws?.instances).toBeGreaterThan(0);
  });

  it("ws-leak-oom: OutOfMemoryError in the log, old gen full", () => {
    const dir = join(RAW, "ws-leak-oom");
    const log = parseLogScan(maybeText(dir, "app-log.txt") ?? "", { path: "app.log" });
    if (!log.ok) throw log.error;
    expect(log.value.outOfMemoryError).toBeGreaterThan(0);
    const heap = parseJstatGcutil(maybeText(dir, "jstat-gcutil.txt") ?? "", { sampleIntervalMs: 1000 });
    if (!heap.ok) throw heap.error;
    expect(heap.value.oldGenPercent).toBeGreaterThan(90);
  });
});
