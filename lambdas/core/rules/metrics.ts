import type { Disk, Evidence, Exit } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";
import { predates64848Fix } from "./tomcat-version.js";

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
export type EvidenceSectionName =
  | "host"
  | "process"
  | "listener"
  | "fds"
  | "sockets"
  | "socketSummary"
  | "fileNr"
  | "classHistogram"
  | "threads"
  | "heap"
  | "health"
  | "logs"
  | "tomcat"
  | "disk"
  | "exit";

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

const WS_SESSION = /(^|\.)WsSession$/;
const UPGRADE_PROCESSOR = /(^|\.)UpgradeProcessor(Internal|External)$/;
const FILE_INPUT_STREAM = /^java\.io\.FileInputStream$/;

function instancesOf(e: Evidence, pattern: RegExp): number | null {
  const h = dataOf(e.classHistogram);
  if (!h) return null;
  const watched = h.watched.filter((w) => pattern.test(w.className));
  if (watched.length > 0) return watched.reduce((s, w) => s + w.instances, 0);
  return h.top.filter((t) => pattern.test(t.className)).reduce((s, t) => s + t.instances, 0);
}

function ratio(num: number | null | undefined, den: number | null | undefined): number | null {
  if (num === null || num === undefined || den === null || den === undefined || den === 0) return null;
  return num / den;
}

const n = (m: MetricMap, k: string): number | null => {
  const v = m[k];
  return typeof v === "number" ? v : null;
};
const pct = (r: number | null): string => (r === null ? "?" : `${Math.round(r * 100)}%`);
export const fmtMs = (ms: number): string => {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms} ms`;
};

function metric(def: MetricDef): MetricDef {
  return def;
}

/** The catalogue. Adding a metric here makes it usable in runbooks (and in the JSON Schema's enum). */
export const METRICS = {
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
    label: "WsSession instances",
    sections: ["classHistogram"],
    derive: (e) => instancesOf(e, WS_SESSION),
    sentence: (m) =>
      `${m["jvm.wsSessions"]} org.apache.tomcat.websocket.WsSession instances in the class histogram` +
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
    label: "WsSession instances per ESTABLISHED connection",
    sections: ["classHistogram", "sockets"],
    derive: (e) => ratio(instancesOf(e, WS_SESSION), dataOf(e.sockets)?.established),
    sentence: (m) =>
      `${m["jvm.wsSessions"]} WsSession instances for ${m["sockets.established"]} ESTABLISHED connections ` +
      `(${(n(m, "jvm.wsSessionsPerEstablished") ?? 0).toFixed(2)} per connection)`,
  }),
  "jvm.fileInputStreams": metric({
    type: "number",
    format: "count",
    label: "java.io.FileInputStream instances",
    sections: ["classHistogram"],
    derive: (e) => instancesOf(e, FILE_INPUT_STREAM),
  }),

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

  // ---- disk space (collect_disk) and the ENOSPC lines of the log
  "logs.noSpaceLeft": metric({
    type: "number",
    format: "count",
    label: "`No space left on device` lines in the log",
    sections: ["logs"],
    derive: (e) => dataOf(e.logs)?.noSpaceLeft ?? null,
    sentence: (m) => `${m["logs.noSpaceLeft"]} "No space left on device" lines in the log`,
  }),
  "disk.available": metric({
    type: "boolean",
    format: "boolean",
    label: "disk space of the service's filesystems checked",
    sections: [],
    derive: (e) => (dataOf(e.disk)?.filesystems.length ?? 0) > 0,
  }),
  "disk.maxUsedPercent": metric({
    type: "number",
    format: "percent",
    label: "fullest filesystem the service writes to (blocks or inodes)",
    sections: ["disk"],
    derive: (e) => {
      const f = fullest(dataOf(e.disk));
      return f ? fsUsed(f) : null;
    },
    sentence: (m) =>
      `${m["disk.fullestRole"]} filesystem ${m["disk.fullestMount"]} ${m["disk.maxUsedPercent"]}% used, ` +
      `${m["disk.fullestAvailMb"]} MB free`,
  }),
  "disk.fullestRole": metric({
    type: "string",
    format: "text",
    label: "what the fullest filesystem holds (log, tmp, cwd)",
    sections: ["disk"],
    derive: (e) => fullest(dataOf(e.disk))?.role ?? null,
  }),
  "disk.fullestMount": metric({
    type: "string",
    format: "text",
    label: "mount point of the fullest filesystem",
    sections: ["disk"],
    derive: (e) => fullest(dataOf(e.disk))?.mount ?? null,
  }),
  "disk.fullestAvailMb": metric({
    type: "number",
    format: "count",
    label: "free space on the fullest filesystem, MB",
    sections: ["disk"],
    derive: (e) => {
      const f = fullest(dataOf(e.disk));
      return f ? Math.floor(f.availKb / 1024) : null;
    },
  }),
  "disk.topUsers": metric({
    type: "string",
    format: "text",
    label: "top space users of the fullest filesystem",
    sections: ["disk"],
    derive: (e) => {
      const d = dataOf(e.disk);
      if (!d?.duRoot) return null;
      // du lists the root first (the total): the users are what is below it.
      const below = d.topUsers.filter((u) => u.path !== d.duRoot).slice(0, 5);
      const list = below.map((u) => `${u.path} ${mb(u.kb)}`).join(", ");
      return `${list || "nothing below the mount"}${d.duTimedOut ? " (du ran out of time: partial)" : ""}`;
    },
    sentence: (m) => `top space users: ${m["disk.topUsers"]}`,
  }),

  // ---- why a process that is gone exited (collect_exit)
  "exit.reason": metric({
    type: "string",
    format: "text",
    label: "why the process exited (oom-killed, crashed, exited, killed)",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.reason ?? null,
  }),
  "exit.traceAgeSeconds": metric({
    type: "number",
    format: "seconds",
    label: "age of the exit's trace",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.ageSeconds ?? null,
  }),
  "exit.pidConfirmed": metric({
    type: "boolean",
    format: "boolean",
    label: "the trace names the unit's main PID",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.pidConfirmed ?? null,
  }),
  "exit.trace": metric({
    type: "string",
    format: "text",
    label: "trace of the exit",
    sections: ["exit"],
    derive: (e) => exitTrace(dataOf(e.exit))?.text ?? null,
    sentence: (m) => `${m["exit.trace"]}`,
  }),
  "exit.status": metric({
    type: "number",
    format: "text",
    label: "exit status (systemd ExecMainStatus)",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.unit?.status ?? null,
  }),
  "exit.oomRssMb": metric({
    type: "number",
    format: "count",
    label: "resident memory of the JVM the OOM killer killed, MB",
    sections: ["exit"],
    derive: (e) => {
      const k = dataOf(e.exit)?.oomKill?.anonRssKb;
      return k === null || k === undefined ? null : Math.round(k / 1024);
    },
  }),
  "exit.memoryLimitMb": metric({
    type: "number",
    format: "count",
    label: "memory the JVM was allowed (its memory cgroup's limit, else the host's MemTotal), MB",
    sections: ["exit"],
    derive: (e) => {
      const x = dataOf(e.exit);
      const kb = x?.oomKill?.limitKb ?? x?.memTotalKb;
      return kb === null || kb === undefined ? null : Math.round(kb / 1024);
    },
  }),
  "exit.crashError": metric({
    type: "string",
    format: "text",
    label: "the crash file's error line",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.crash?.error ?? null,
  }),
  "exit.crashFile": metric({
    type: "string",
    format: "text",
    label: "the newest JVM crash file (hs_err_pid*.log)",
    sections: ["exit"],
    derive: (e) => dataOf(e.exit)?.crash?.path ?? null,
  }),
  "exit.unknownWhy": metric({
    type: "string",
    format: "text",
    label: "what was looked at to explain the exit",
    sections: ["exit"],
    derive: (e) => {
      const x = dataOf(e.exit);
      if (!x) return null;
      const kernel =
        x.kernelLogWhy ??
        (x.oomKill
          ? `the newest OOM kill of a java process was ${fmtMs(x.oomKill.ageSeconds * 1000)} ago (pid ${x.oomKill.pid})`
          : "no OOM kill of a java process in the kernel log");
      const crash = x.crash
        ? `the newest crash file is ${x.crash.path}, ${fmtMs(x.crash.ageSeconds * 1000)} old`
        : `no hs_err_pid*.log in ${x.searched.join(", ") || "the folders searched"}`;
      const unit = x.unit
        ? `systemd: ${x.unit.name} ${x.unit.code ?? "?"} with status ${x.unit.status ?? "?"}`
        : (x.unitWhy ?? "no unit");
      return `${unit}; ${kernel}; ${crash}`;
    },
  }),
} as const satisfies Record<string, MetricDef>;

const mb = (kb: number): string =>
  kb >= 1024 * 1024 ? `${(kb / 1024 / 1024).toFixed(1)} GB` : `${Math.round(kb / 1024)} MB`;
const fsUsed = (f: Disk["filesystems"][number]): number => Math.max(f.usedPercent, f.inodesUsedPercent ?? 0);
function fullest(d: Disk | undefined): Disk["filesystems"][number] | null {
  if (!d) return null;
  return d.filesystems.reduce<Disk["filesystems"][number] | null>(
    (a, f) => (a && fsUsed(a) >= fsUsed(f) ? a : f),
    null,
  );
}

export interface ExitTrace {
  reason: "oom-killed" | "crashed" | "exited" | "killed";
  ageSeconds: number;
  /** The trace names the unit's main PID (false also when no unit's PID was known to compare with). */
  pidConfirmed: boolean;
  text: string;
}

/**
 * The trace that explains a process's exit. With a unit whose main PID is known, a trace naming that PID
 * wins (an OOM kill, a crash file), else what systemd says (exited with a status, killed by a signal,
 * dumped core); without one, the newest OOM kill or crash file (by recency only: `pidConfirmed` false).
 */
export function exitTrace(x: Exit | undefined): ExitTrace | null {
  if (!x) return null;
  const pid = x.unit?.mainPid || null;
  const oom = x.oomKill
    ? {
        reason: "oom-killed" as const,
        ageSeconds: x.oomKill.ageSeconds,
        pid: x.oomKill.pid,
        text:
          `the kernel's OOM killer killed java pid ${x.oomKill.pid} ${fmtMs(x.oomKill.ageSeconds * 1000)} ago` +
          (x.oomKill.anonRssKb !== null ? ` at ${mb(x.oomKill.anonRssKb)} resident` : "") +
          (x.oomKill.constraint === "memcg"
            ? ` (memory cgroup limit${x.oomKill.limitKb !== null ? ` ${mb(x.oomKill.limitKb)}` : ""})`
            : x.memTotalKb !== null
              ? ` (host out of memory, MemTotal ${mb(x.memTotalKb)})`
              : " (host out of memory)"),
      }
    : null;
  const crash = x.crash
    ? {
        reason: "crashed" as const,
        ageSeconds: x.crash.ageSeconds,
        pid: x.crash.pid,
        text: `the JVM crashed ${fmtMs(x.crash.ageSeconds * 1000)} ago: ${x.crash.path}${x.crash.error ? `: ${x.crash.error}` : ""}${x.crash.frame ? `; problematic frame ${x.crash.frame}` : ""}`,
      }
    : null;
  const traces = [oom, crash].filter((t): t is NonNullable<typeof t> => t !== null);
  if (pid !== null) {
    const named = traces.find((t) => t.pid === pid);
    if (named)
      return { reason: named.reason, ageSeconds: named.ageSeconds, pidConfirmed: true, text: named.text };
    const u = x.unit;
    if (u?.code && u.ageSeconds !== null) {
      const reason = u.code === "exited" ? "exited" : u.code === "dumped" ? "crashed" : "killed";
      const how =
        u.code === "exited"
          ? `exited with status ${u.status ?? "?"}`
          : `was ${u.code} by signal ${u.status ?? "?"}`;
      return {
        reason,
        ageSeconds: u.ageSeconds,
        pidConfirmed: true,
        text: `systemd: ${u.name} main process ${pid} ${how} ${fmtMs(u.ageSeconds * 1000)} ago (result ${u.result ?? "?"})`,
      };
    }
  }
  const newest = traces.sort((a, b) => a.ageSeconds - b.ageSeconds)[0];
  if (!newest) return null;
  return {
    reason: newest.reason,
    ageSeconds: newest.ageSeconds,
    pidConfirmed: false,
    text: newest.text,
  };
}

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

const SECTION_TITLES: Record<EvidenceSectionName, string> = {
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
  disk: "disk space",
  exit: "exit traces",
};

/** Why a metric is null: the first unavailable section it reads, with the collector's reason. */
export function whyUnavailable(name: string, evidence: Evidence): string {
  const def = metricDef(name);
  if (!def) return `unknown metric ${name}`;
  for (const s of def.sections) {
    if (s === "health") continue;
    const section = evidence[s];
    if (!section) return `${SECTION_TITLES[s]} not collected (an older probe)`;
    if (section.status === "unavailable") return `${SECTION_TITLES[s]} unavailable: ${section.reason}`;
  }
  return `${def.label}: undefined on this evidence`;
}
