import { dataOf } from "../shared/section.js";
import { fmtMs, instancesOf, metric, n, pct, ratio } from "./metric-kit.js";
import type { MetricDef } from "./metrics.js";
import { sessionsOf, shortName } from "./metrics-pool.js";

const UPGRADE_PROCESSOR = /(^|\.)UpgradeProcessor(Internal|External)$/;

/**
 * The JVM as the probe saw it: the class histogram, the thread dump, the GC sample. Part of the catalogue
 * (METRICS in metrics.ts), with the heap metrics of metrics-heap.ts.
 */

/** The class histogram: WebSocket sessions, upgraded connections, file streams. */
export const CLASS_HISTOGRAM_METRICS = {
  "jvm.histogramAvailable": metric({
    type: "boolean",
    format: "boolean",
    label: "JVM class histogram collected",
    sections: [],
    derive: (e) => e.classHistogram.status === "ok",
    sentence: (m) =>
      m["jvm.histogramAvailable"] ? "JVM class histogram collected" : "JVM class histogram unavailable",
  }),
  "jvm.histogramForcedGc": metric({
    type: "boolean",
    format: "boolean",
    label: "histogram counted live objects only (forced full GC)",
    sections: ["classHistogram"],
    derive: (e) => dataOf(e.classHistogram)?.forcedFullGc ?? null,
  }),
  "jvm.wsSessions": metric({
    type: "number",
    format: "count",
    label: "WebSocket session instances (the runbook's probe.sessionClasses)",
    sections: ["classHistogram"],
    derive: (e) => sessionsOf(e)?.instances ?? null,
    sentence: (m) =>
      `${m["jvm.wsSessions"]} ${m["jvm.wsSessionClass"] ?? "WebSocket session"} instances in the class histogram` +
      (m["jvm.histogramForcedGc"] === true ? " (live objects)" : ""),
  }),
  "jvm.upgradeProcessors": metric({
    type: "number",
    format: "count",
    label: "UpgradeProcessor instances",
    sections: ["classHistogram"],
    derive: (e) => instancesOf(e, UPGRADE_PROCESSOR),
    sentence: (m) => `${m["jvm.upgradeProcessors"]} UpgradeProcessor instances (upgraded connections)`,
  }),
  "jvm.wsSessionsPerEstablished": metric({
    type: "number",
    format: "ratio",
    label: "WebSocket session instances per ESTABLISHED connection",
    sections: ["classHistogram", "sockets"],
    derive: (e) => ratio(sessionsOf(e)?.instances, dataOf(e.sockets)?.established),
    sentence: (m) =>
      `${m["jvm.wsSessions"]} ${shortName(m["jvm.wsSessionClass"])} instances for ${m["sockets.established"]} ESTABLISHED connections ` +
      `(${(n(m, "jvm.wsSessionsPerEstablished") ?? 0).toFixed(2)} per connection)`,
  }),
  "jvm.fileInputStreams": metric({
    type: "number",
    format: "count",
    label: "java.io.FileInputStream instances",
    sections: ["classHistogram"],
    derive: (e) => instancesOf(e, /^java\.io\.FileInputStream$/),
  }),
} as const satisfies Record<string, MetricDef>;

/** The thread dump: the request pool and what its threads wait on. */
export const THREAD_METRICS = {
  "threads.available": metric({
    type: "boolean",
    format: "boolean",
    label: "thread dump collected",
    sections: [],
    derive: (e) => e.threads.status === "ok",
  }),
  "threads.total": metric({
    type: "number",
    format: "count",
    label: "JVM threads",
    sections: ["threads"],
    derive: (e) => dataOf(e.threads)?.total ?? null,
  }),
  "threads.requestBusy": metric({
    type: "number",
    format: "count",
    label: "busy request threads",
    sections: ["threads"],
    derive: (e) => dataOf(e.threads)?.requestExecutor.busy ?? null,
  }),
  "threads.requestTotal": metric({
    type: "number",
    format: "count",
    label: "request threads",
    sections: ["threads"],
    derive: (e) => dataOf(e.threads)?.requestExecutor.total ?? null,
  }),
  "threads.requestBusyRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of request threads busy",
    sections: ["threads"],
    derive: (e) => {
      const t = dataOf(e.threads);
      return t ? (ratio(t.requestExecutor.busy, t.requestExecutor.total) ?? 0) : null;
    },
    sentence: (m) =>
      `${m["threads.requestBusy"]} of ${m["threads.requestTotal"]} request threads busy (${pct(n(m, "threads.requestBusyRatio"))})`,
  }),
  "threads.inDatabaseCalls": metric({
    type: "number",
    format: "count",
    label: "request threads in database calls",
    sections: ["threads"],
    derive: (e) => dataOf(e.threads)?.inDatabaseCalls ?? null,
    sentence: (m) => `${m["threads.inDatabaseCalls"]} request threads in database calls`,
  }),
  "threads.inDatabaseCallsRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of busy request threads in database calls",
    sections: ["threads"],
    derive: (e) => {
      const t = dataOf(e.threads);
      return t ? (ratio(t.inDatabaseCalls, t.requestExecutor.busy) ?? 0) : null;
    },
    sentence: (m) =>
      `${m["threads.inDatabaseCalls"]} of ${m["threads.requestBusy"]} busy request threads in database calls`,
  }),
  "threads.blockedOnMonitor": metric({
    type: "number",
    format: "count",
    label: "threads BLOCKED on a monitor",
    sections: ["threads"],
    derive: (e) => dataOf(e.threads)?.blockedOnMonitor ?? null,
  }),
} as const satisfies Record<string, MetricDef>;

/** The jstat sample: old generation occupancy and full GCs between the two samples. */
export const GC_SAMPLE_METRICS = {
  "heap.oldGenPercent": metric({
    type: "number",
    format: "percent",
    label: "old generation occupancy",
    sections: ["heap"],
    derive: (e) => dataOf(e.heap)?.oldGenPercent ?? null,
    sentence: (m) => `old generation ${m["heap.oldGenPercent"]}% full`,
  }),
  "heap.fullGcDuringSample": metric({
    type: "number",
    format: "count",
    label: "full GCs during the sample",
    sections: ["heap"],
    derive: (e) => dataOf(e.heap)?.fullGcDuringSample ?? null,
    sentence: (m) => {
      const interval = (() => {
        const v = m["heap.sampleIntervalMs"];
        return typeof v === "number" ? ` in ${fmtMs(v)}` : "";
      })();
      return `${m["heap.fullGcDuringSample"]} full GCs during the sample${interval}`;
    },
  }),
  "heap.sampleIntervalMs": metric({
    type: "number",
    format: "ms",
    label: "heap sample interval",
    sections: ["heap"],
    derive: (e) => dataOf(e.heap)?.sampleIntervalMs ?? null,
  }),
} as const satisfies Record<string, MetricDef>;
