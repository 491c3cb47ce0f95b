import type { Evidence } from "../evidence/schema.js";
import { dataOf } from "../shared/section.js";
import type { MetricDef, MetricMap } from "./metrics.js";

/** Small helpers of the metric catalogue (metrics.ts and its parts, e.g. metrics-heap.ts). */

export function instancesOf(e: Evidence, pattern: RegExp): number | null {
  const h = dataOf(e.classHistogram);
  if (!h) return null;
  const watched = h.watched.filter((w) => pattern.test(w.className));
  if (watched.length > 0) return watched.reduce((s, w) => s + w.instances, 0);
  return h.top.filter((t) => pattern.test(t.className)).reduce((s, t) => s + t.instances, 0);
}

/** The histogram's largest class by bytes (the top list is in rank order). */
export function topClassOf(e: Evidence) {
  const h = dataOf(e.classHistogram);
  if (!h) return null;
  return h.top.reduce<(typeof h.top)[number] | null>(
    (best, t) => (best && best.bytes >= t.bytes ? best : t),
    null,
  );
}

export function ratio(num: number | null | undefined, den: number | null | undefined): number | null {
  if (num === null || num === undefined || den === null || den === undefined || den === 0) return null;
  return num / den;
}

export const n = (m: MetricMap, k: string): number | null => {
  const v = m[k];
  return typeof v === "number" ? v : null;
};
export const pct = (r: number | null): string => (r === null ? "?" : `${Math.round(r * 100)}%`);
export const fmtMs = (ms: number): string => {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms} ms`;
};

export function metric(def: MetricDef): MetricDef {
  return def;
}
