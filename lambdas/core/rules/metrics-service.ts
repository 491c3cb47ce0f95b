import { dataOf } from "../shared/section.js";
import { metric, n, ratio } from "./metric-kit.js";
import type { MetricDef } from "./metrics.js";
import { LOG_SOURCE_METRICS } from "./metrics-heap.js";
import { predates64848Fix } from "./tomcat-version.js";

/**
 * The service around the JVM: its log, the local health probe, the process and host, Tomcat's version.
 * Part of the catalogue (METRICS in metrics.ts).
 */

/** The scan of the application log. */
export const LOG_METRICS = {
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
} as const satisfies Record<string, MetricDef>;

/** The local health probe (always present). */
export const HEALTH_METRICS = {
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
} as const satisfies Record<string, MetricDef>;

/** The target process and its host. */
export const PROCESS_HOST_METRICS = {
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
} as const satisfies Record<string, MetricDef>;

/** The Tomcat version and the bugs it predates the fix of. */
export const TOMCAT_METRICS = {
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
} as const satisfies Record<string, MetricDef>;
