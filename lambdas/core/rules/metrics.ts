import type { Evidence } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";
import { fmtMs, instancesOf, metric, n, pct, ratio } from "./metric-kit.js";
import { HEAP_METRICS, LOG_SOURCE_METRICS, WHAT_FILLS_THE_HEAP_METRICS } from "./metrics-heap.js";
import { NETWORK_METRICS } from "./metrics-network.js";
import { POOL_METRICS, sessionsOf, shortName } from "./metrics-pool.js";
import { PROCESS_DISK_METRICS } from "./metrics-process-disk.js";
import { predates64848Fix } from "./tomcat-version.js";

export { fmtMs };

/**
 * Derived metrics: the flat, generic vocabulary the runbook's conditions are written in.
 * Each metric reads the Evidence document only; `null` means the evidence is unavailable
 * (section not collected, or the value is undefined, e.g. a ratio over zero sockets).
 */
export type MetricValue = number | boolean | string | null;
export type MetricMap = Readonly<Record<string, MetricValue>>;
export type MetricType = "number" | "boolean" | "string";
/** How a value is rendered in human text. */
export type MetricFormat = "count" | "ratio" | "percent" | "ms" | "seconds" | "boolean" | "text";
export type EvidenceSectionName = keyof typeof SECTION_TITLES;

export interface MetricDef {
  type: MetricType;
  format: MetricFormat;
  /** Short human label, used when no sentence template fits. */
  label: string;
  /** Evidence sections it reads: used to explain a null ("class histogram unavailable: ..."). */
  sections: readonly EvidenceSectionName[];
  derive(e: Evidence): MetricValue;
  /** A sentence for evidence lines, given all metrics; absent → `label: value`. Only called on non-null values. */
  sentence?(m: MetricMap): string;
}

const UPGRADE_PROCESSOR = /(^|\.)UpgradeProcessor(Internal|External)$/;

/** The catalogue. Adding a metric here makes it usable in runbooks (and in the JSON Schema's enum). */
export const METRICS = {
  ...NETWORK_METRICS,
  // ---- file descriptors
  "fds.available": metric({
    type: "boolean",
    format: "boolean",
    label: "file descriptor listing collected",
    sections: [],
    derive: (e) => e.fds.status === "ok",
  }),
  "fds.open": metric({
    type: "number",
    format: "count",
    label: "open fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.open ?? null,
    sentence: (m) =>
      m["fds.limit"] === null
        ? `open fds ${m["fds.open"]} (no soft limit)`
        : `open fds ${m["fds.open"]} of limit ${m["fds.limit"]} (${pct(n(m, "fds.usedRatio"))})`,
  }),
  "fds.limit": metric({
    type: "number",
    format: "count",
    label: "soft open-files limit",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.limitSoft ?? null,
  }),
  "fds.usedRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of the open-files limit in use",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      if (!f) return null;
      return f.limitSoft === null ? 0 : f.limitSoft === 0 ? 1 : f.open / f.limitSoft;
    },
    sentence: (m) =>
      m["fds.limit"] === null
        ? `open fds ${m["fds.open"]}, no soft limit`
        : `open fds ${m["fds.open"]} of limit ${m["fds.limit"]} (${pct(n(m, "fds.usedRatio"))})`,
  }),
  "fds.sockets": metric({
    type: "number",
    format: "count",
    label: "socket fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.byKind.socket ?? null,
  }),
  "fds.files": metric({
    type: "number",
    format: "count",
    label: "regular-file fds",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.byKind.file ?? null,
  }),
  "fds.socketRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of open fds that are sockets",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      return f ? ratio(f.byKind.socket, f.open) : null;
    },
    sentence: (m) =>
      `${m["fds.sockets"]} of ${m["fds.open"]} open fds are sockets (${pct(n(m, "fds.socketRatio"))})`,
  }),
  "fds.fileRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of open fds that are regular files",
    sections: ["fds"],
    derive: (e) => {
      const f = dataOf(e.fds);
      return f ? ratio(f.byKind.file, f.open) : null;
    },
    sentence: (m) =>
      `${m["fds.files"]} of ${m["fds.open"]} open fds are regular files (${pct(n(m, "fds.fileRatio"))})`,
  }),
  "fds.topFile": metric({
    type: "string",
    format: "text",
    label: "most frequently open file",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.topFiles[0]?.path ?? null,
    sentence: (m) => `most frequently open file: ${m["fds.topFile"]} (${m["fds.topFileCount"]} fds)`,
  }),
  "fds.topFileCount": metric({
    type: "number",
    format: "count",
    label: "fds on the most frequently open file",
    sections: ["fds"],
    derive: (e) => dataOf(e.fds)?.topFiles[0]?.count ?? null,
  }),
  "system.fileNrRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of the system-wide file handle maximum in use",
    sections: ["fileNr"],
    derive: (e) => {
      const f = dataOf(e.fileNr);
      return f ? ratio(f.allocated, f.max) : null;
    },
  }),

  // ---- sockets on the application port
  "input.port": metric({
    type: "number",
    format: "text",
    label: "application port",
    sections: [],
    derive: (e) => e.input.port,
  }),
  "sockets.total": metric({
    type: "number",
    format: "count",
    label: "connections on the port (LISTEN excluded)",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.total ?? null,
  }),
  "sockets.established": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections on the port",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.established ?? null,
    sentence: (m) => `${m["sockets.established"]} ESTABLISHED connections on port ${m["input.port"]}`,
  }),
  "sockets.closeWait": metric({
    type: "number",
    format: "count",
    label: "CLOSE-WAIT connections on the port",
    sections: ["sockets"],
    derive: (e) => {
      const s = dataOf(e.sockets);
      return s ? (s.byState["CLOSE-WAIT"] ?? 0) : null;
    },
  }),
  "sockets.idleOverThreshold": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections idle beyond the threshold",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.overThreshold ?? null,
    sentence: (m) =>
      `${m["sockets.idleOverThreshold"]} of ${m["sockets.established"]} ESTABLISHED connections idle longer than ` +
      `${fmtMs(n(m, "sockets.idleThresholdMs") ?? 0)}` +
      (n(m, "sockets.maxIdleMs") === null ? "" : ` (longest ${fmtMs(n(m, "sockets.maxIdleMs") ?? 0)})`),
  }),
  "sockets.idleThresholdMs": metric({
    type: "number",
    format: "ms",
    label: "idle threshold of the socket probe",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.thresholdMs ?? null,
  }),
  "sockets.idleRatio": metric({
    type: "number",
    format: "ratio",
    label: "share of ESTABLISHED connections idle beyond the threshold",
    sections: ["sockets"],
    derive: (e) => {
      const s = dataOf(e.sockets);
      return s ? ratio(s.idle.overThreshold, s.established) : null;
    },
    sentence: (m) =>
      `${pct(n(m, "sockets.idleRatio"))} of ESTABLISHED connections idle longer than ` +
      fmtMs(n(m, "sockets.idleThresholdMs") ?? 0),
  }),
  "sockets.maxIdleMs": metric({
    type: "number",
    format: "ms",
    label: "longest idle ESTABLISHED connection",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.idle.maxIdleMs ?? null,
  }),
  "sockets.sendQueueNonEmpty": metric({
    type: "number",
    format: "count",
    label: "ESTABLISHED connections with unread bytes queued (Send-Q > 0)",
    sections: ["sockets"],
    derive: (e) => dataOf(e.sockets)?.sendQueueNonEmpty ?? null,
  }),

  // ---- listener
  "listener.listening": metric({
    type: "boolean",
    format: "boolean",
    label: "a process listens on the port",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.listening ?? null,
    sentence: (m) =>
      m["listener.listening"]
        ? `a process listens on port ${m["input.port"]}`
        : `nothing listens on port ${m["input.port"]}`,
  }),
  "listener.acceptQueue": metric({
    type: "number",
    format: "count",
    label: "connections waiting in the accept queue",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.acceptQueue?.current ?? null,
    sentence: (m) =>
      `accept queue ${m["listener.acceptQueue"]} of ${m["listener.acceptQueueMax"] ?? "?"} (connections the process has not accepted)`,
  }),
  "listener.acceptQueueMax": metric({
    type: "number",
    format: "count",
    label: "accept queue maximum (backlog)",
    sections: ["listener"],
    derive: (e) => dataOf(e.listener)?.acceptQueue?.max ?? null,
  }),

  // ---- JVM class histogram
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

  ...WHAT_FILLS_THE_HEAP_METRICS,

  // ---- threads
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

  // ---- heap
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
  ...HEAP_METRICS,

  // ---- logs
  "logs.available": metric({
    type: "boolean",
    format: "boolean",
    label: "application log scanned",
    sections: [],
    derive: (e) => e.logs.status === "ok",
  }),
  "logs.tooManyOpenFiles": metric({
    type: "number",
    format: "count",
    label: "`Too many open files` lines in the log",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.tooManyOpenFiles ?? null,
    sentence: (m) => `${m["logs.tooManyOpenFiles"]} "Too many open files" lines in the log`,
  }),
  ...LOG_SOURCE_METRICS,
  "logs.outOfMemoryError": metric({
    type: "number",
    format: "count",
    label: "OutOfMemoryError lines in the log",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.outOfMemoryError ?? null,
    sentence: (m) => `${m["logs.outOfMemoryError"]} OutOfMemoryError lines in the log`,
  }),

  // ---- local health probe (always present)
  "health.ok": metric({
    type: "boolean",
    format: "boolean",
    label: "local health probe succeeded",
    sections: ["health"],
    derive: (e) => e.health.outcome === "ok",
    sentence: (m) =>
      m["health.ok"]
        ? `local health probe answered in ${m["health.latencyMs"]} ms`
        : `local health probe failed: ${m["health.outcome"]} after ${m["health.latencyMs"]} ms`,
  }),
  "health.outcome": metric({
    type: "string",
    format: "text",
    label: "local health probe outcome",
    sections: ["health"],
    derive: (e) => e.health.outcome,
    sentence: (m) => `local health probe: ${m["health.outcome"]} after ${m["health.latencyMs"]} ms`,
  }),
  "health.latencyMs": metric({
    type: "number",
    format: "ms",
    label: "local health probe latency",
    sections: ["health"],
    derive: (e) => e.health.latencyMs,
    sentence: (m) => `local health probe: ${m["health.outcome"]} after ${m["health.latencyMs"]} ms`,
  }),
  "health.httpStatus": metric({
    type: "number",
    format: "text",
    label: "local health probe HTTP status",
    sections: ["health"],
    derive: (e) => e.health.httpStatus,
  }),

  // ---- process and host
  "process.running": metric({
    type: "boolean",
    format: "boolean",
    label: "target process found",
    sections: [],
    derive: (e) => e.process.status === "ok",
  }),
  "process.isJava": metric({
    type: "boolean",
    format: "boolean",
    label: "target process is a JVM",
    sections: ["process"],
    derive: (e) => dataOf(e.process)?.isJava ?? null,
  }),
  "process.cpuPercent": metric({
    type: "number",
    format: "percent",
    label: "process CPU (percent of one core)",
    sections: ["process"],
    derive: (e) => dataOf(e.process)?.cpuPercent ?? null,
    sentence: (m) => `process CPU ${m["process.cpuPercent"]}% of one core`,
  }),
  "process.uptimeSeconds": metric({
    type: "number",
    format: "seconds",
    label: "process uptime",
    sections: ["process"],
    derive: (e) => dataOf(e.process)?.uptimeSeconds ?? null,
  }),
  "host.loadPerCpu": metric({
    type: "number",
    format: "ratio",
    label: "1-minute load average per CPU",
    sections: ["host"],
    derive: (e) => {
      const h = dataOf(e.host);
      return h ? ratio(h.loadAverage1m, h.cpuCount) : null;
    },
    sentence: (m) => `load average ${(n(m, "host.loadPerCpu") ?? 0).toFixed(2)} per CPU`,
  }),

  // ---- Tomcat
  "tomcat.version": metric({
    type: "string",
    format: "text",
    label: "Tomcat version",
    sections: ["tomcat"],
    derive: (e) => dataOf(e.tomcat)?.version ?? null,
    sentence: (m) => `Tomcat ${m["tomcat.version"]}`,
  }),
  "tomcat.predates64848Fix": metric({
    type: "boolean",
    format: "boolean",
    label: "Tomcat predates the fix for Bugzilla 64848",
    sections: ["tomcat"],
    derive: (e) => {
      const t = dataOf(e.tomcat);
      return t ? predates64848Fix(t.version) : null;
    },
    sentence: (m) =>
      m["tomcat.predates64848Fix"]
        ? `Tomcat ${m["tomcat.version"]} predates the fix for Bugzilla 64848 (8.5.60, 9.0.40, 10.0.0-M10)`
        : `Tomcat ${m["tomcat.version"]} includes the fix for Bugzilla 64848 (8.5.60, 9.0.40, 10.0.0-M10)`,
  }),
  ...POOL_METRICS,
  ...PROCESS_DISK_METRICS,
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as [MetricName, ...MetricName[]];

export function metricDef(name: string): MetricDef | undefined {
  return Object.hasOwn(METRICS, name) ? (METRICS as Record<string, MetricDef>)[name] : undefined;
}

export interface MetricError {
  metric: string;
  message: string;
}

/** Derives every metric; a deriver that throws yields `null` and an error entry, never a crash. */
export function deriveMetricsReport(evidence: Evidence): { metrics: MetricMap; errors: MetricError[] } {
  const metrics: Record<string, MetricValue> = {};
  const errors: MetricError[] = [];
  for (const [name, def] of Object.entries(METRICS) as Array<[string, MetricDef]>) {
    try {
      const v = def.derive(evidence);
      metrics[name] = typeof v === "number" && !Number.isFinite(v) ? null : v;
    } catch (err) {
      metrics[name] = null;
      errors.push({ metric: name, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { metrics, errors };
}

export function deriveMetrics(evidence: Evidence): Record<string, MetricValue> {
  return { ...deriveMetricsReport(evidence).metrics };
}

const SECTION_TITLES = {
  host: "host",
  process: "process",
  listener: "listener",
  fds: "file descriptors",
  sockets: "sockets",
  socketSummary: "socket summary",
  fileNr: "system file handles",
  classHistogram: "class histogram",
  threads: "thread dump",
  heap: "heap",
  health: "health probe",
  logs: "logs",
  tomcat: "Tomcat version",
  network: "network (sockets held, listen drops, ephemeral ports, conntrack)",
  disk: "disk space",
  exit: "exit traces",
} as const;

/** Why a metric is null: the first unavailable section it reads, with the collector's reason. */
export function whyUnavailable(name: string, evidence: Evidence): string {
  const def = metricDef(name);
  if (!def) return `unknown metric ${name}`;
  for (const s of def.sections) {
    if (s === "health") continue;
    const section = evidence[s];
    if (section === undefined) return `${SECTION_TITLES[s]} not collected (evidence from an older probe)`;
    if (section.status === "unavailable") return `${SECTION_TITLES[s]} unavailable: ${section.reason}`;
  }
  return `${def.label}: not in this evidence (not collected by this probe, or not defined here)`;
}
