import type { Evidence } from "../evidence/schema.js";
import { fmtMs } from "./metric-kit.js";
import { FD_METRICS } from "./metrics-fds.js";
import { HEAP_METRICS, WHAT_FILLS_THE_HEAP_METRICS } from "./metrics-heap.js";
import { CLASS_HISTOGRAM_METRICS, GC_SAMPLE_METRICS, THREAD_METRICS } from "./metrics-jvm.js";
import { NETWORK_METRICS } from "./metrics-network.js";
import { POOL_METRICS } from "./metrics-pool.js";
import { PROCESS_DISK_METRICS } from "./metrics-process-disk.js";
import { HEALTH_METRICS, LOG_METRICS, PROCESS_HOST_METRICS, TOMCAT_METRICS } from "./metrics-service.js";
import { SOCKET_METRICS } from "./metrics-sockets.js";

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

/**
 * The catalogue, by family (one module each). Adding a metric to a family makes it usable in runbooks (and
 * in the JSON Schema's enum). The order is the order of METRIC_NAMES.
 */
export const METRICS = {
  ...NETWORK_METRICS,
  ...FD_METRICS,
  ...SOCKET_METRICS,
  ...CLASS_HISTOGRAM_METRICS,
  ...WHAT_FILLS_THE_HEAP_METRICS,
  ...THREAD_METRICS,
  ...GC_SAMPLE_METRICS,
  ...HEAP_METRICS,
  ...LOG_METRICS,
  ...HEALTH_METRICS,
  ...PROCESS_HOST_METRICS,
  ...TOMCAT_METRICS,
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
