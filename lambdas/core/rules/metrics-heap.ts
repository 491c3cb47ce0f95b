import { dataOf } from "../shared/section.js";
import { fmtMs, metric, n, pct, ratio, topClassOf } from "./metric-kit.js";

/**
 * The metrics of heap exhaustion decided on partial evidence (issue 13, docs/rules.md "heap-exhaustion"):
 * the GC history from the perf data, what fills the heap (the histogram's largest class), and which log
 * was read. Part of the catalogue (METRICS in metrics.ts).
 */
export const HEAP_METRICS = {
  "heap.available": metric({
    type: "boolean",
    format: "boolean",
    label: "heap figures collected",
    sections: [],
    derive: (e) => e.heap.status === "ok",
  }),
  "heap.fullGcCount": metric({
    type: "number",
    format: "count",
    label: "full GCs since the JVM started",
    sections: ["heap"],
    derive: (e) => dataOf(e.heap)?.fullGcCount ?? null,
    sentence: (m) => {
      const up = n(m, "process.uptimeSeconds");
      return `${m["heap.fullGcCount"]} full GCs since the JVM started${up === null ? "" : ` ${fmtMs(up * 1000)} ago`}`;
    },
  }),
  "heap.fullGcPerHour": metric({
    type: "number",
    format: "count",
    label: "full GCs per hour of uptime",
    sections: ["heap", "process"],
    derive: (e) => {
      const up = dataOf(e.process)?.uptimeSeconds;
      const h = dataOf(e.heap);
      return h && up ? h.fullGcCount / (up / 3600) : null;
    },
    sentence: (m) => `${Math.round(n(m, "heap.fullGcPerHour") ?? 0)} full GCs per hour of uptime`,
  }),
  "heap.fullGcTimeShare": metric({
    type: "number",
    format: "ratio",
    label: "share of the uptime spent in full GCs",
    sections: ["heap", "process"],
    derive: (e) => {
      const up = dataOf(e.process)?.uptimeSeconds;
      const h = dataOf(e.heap);
      return h && up ? Math.min(1, h.fullGcTimeSeconds / up) : null;
    },
    sentence: (m) => `${pct(n(m, "heap.fullGcTimeShare"))} of the uptime spent in full GCs`,
  }),
  "heap.lastFullGcAgoMs": metric({
    type: "number",
    format: "ms",
    label: "time since the last full GC ended",
    sections: ["heap"],
    derive: (e) => dataOf(e.heap)?.lastFullGcAgoMs ?? null,
    sentence: (m) =>
      m["heap.lastFullGcAgoMs"] === 0
        ? "a full GC was running at the sample"
        : `the last full GC ended ${fmtMs(n(m, "heap.lastFullGcAgoMs") ?? 0)} before the sample`,
  }),
} as const;

export const WHAT_FILLS_THE_HEAP_METRICS = {
  "jvm.topClass": metric({
    type: "string",
    format: "text",
    label: "largest class on the heap (bytes)",
    sections: ["classHistogram"],
    derive: (e) => topClassOf(e)?.className ?? null,
    sentence: (m) =>
      `largest class on the heap: ${m["jvm.topClass"]} (${pct(n(m, "jvm.topClassShare"))} of the bytes in the histogram)`,
  }),
  "jvm.topClassShare": metric({
    type: "number",
    format: "ratio",
    label: "share of the histogram's bytes held by the largest class",
    sections: ["classHistogram"],
    derive: (e) => {
      const h = dataOf(e.classHistogram);
      return ratio(topClassOf(e)?.bytes, h?.totalBytes);
    },
  }),
} as const;

export const LOG_SOURCE_METRICS = {
  "logs.path": metric({
    type: "string",
    format: "text",
    label: "log read",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.path ?? null,
    sentence: (m) =>
      `log read: ${m["logs.path"]}${m["logs.source"] === null ? "" : ` (${m["logs.source"]})`}`,
  }),
  "logs.source": metric({
    type: "string",
    format: "text",
    label: "how the log was found (input, stdout, stderr, spring-boot, tomcat, journald)",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.source ?? null,
  }),
} as const;
