import type { ResourceForecast, WatchForecast } from "./forecast.js";
import { formatForecast, formatSeconds } from "./format.js";
import type { WatchSample } from "./sample.js";

/**
 * What the scheduled leak watch publishes for one instance (as CloudWatch metrics through EMF) and
 * what it says when a resource will run out within the horizon. Pure: the handler sends it.
 */

export const WATCH_METRIC_NAMES = [
  "OpenFds",
  "FdLimit",
  "EstablishedOnPort",
  "IdleEstablished",
  "HeapOldGenPercent",
  "HoursToExhaustion",
] as const;
export type WatchMetricName = (typeof WATCH_METRIC_NAMES)[number];

export interface WatchMetric {
  readonly name: WatchMetricName;
  readonly unit: "Count" | "Percent" | "None";
  readonly value: number;
}

/** The sample's values that were read, and the hours to exhaustion when a resource is running out. */
export function watchMetrics(sample: WatchSample, forecast: WatchForecast): WatchMetric[] {
  const out: WatchMetric[] = [];
  const put = (name: WatchMetricName, unit: WatchMetric["unit"], value: number | null) => {
    if (value !== null) out.push({ name, unit, value });
  };
  put("OpenFds", "Count", sample.openFds);
  put("FdLimit", "Count", sample.fdLimit);
  put("EstablishedOnPort", "Count", sample.established);
  put("IdleEstablished", "Count", sample.idleEstablished);
  put("HeapOldGenPercent", "Percent", sample.heapOldGenPercent);
  const t = forecast.forecast.timeToExhaustionSeconds;
  if (forecast.forecast.status === "exhaustion" && t !== null) {
    put("HoursToExhaustion", "None", Math.round((t / 3600) * 1000) / 1000);
  }
  return out;
}

/**
 * The class a forecast points to, before any diagnosis: the old generation filling is a heap leak;
 * fds that are mostly ESTABLISHED sockets on the port are the WebSocket session leak of the seed
 * incident; other fds are a file-handle leak.
 */
export function likelyClass(f: ResourceForecast, sample: WatchSample): string {
  if (f.resource === "heapOldGen") return "heap-exhaustion";
  if (f.resource === "sessions") return "websocket-session-leak";
  const fds = sample.openFds ?? 0;
  return fds > 0 && (sample.established ?? 0) / fds >= 0.5 ? "websocket-session-leak" : "file-handle-leak";
}

export interface LeakNotice {
  readonly subject: string;
  readonly message: string;
}

/** A notice when the headline forecast runs out within `horizonHours`; null otherwise. */
export function leakNotice(
  instanceId: string,
  port: number,
  sample: WatchSample,
  forecast: WatchForecast,
  horizonHours: number,
): LeakNotice | null {
  const f = forecast.forecast;
  const t = f.timeToExhaustionSeconds;
  if (f.status !== "exhaustion" || t === null || t > horizonHours * 3600) return null;
  const cls = likelyClass(f, sample);
  return {
    subject: `runbook-autopilot: ${instanceId} runs out of ${f.resource} in ${formatSeconds(t)}`.slice(0, 99),
    message: [
      `Forecast: ${formatForecast(f)}, around ${f.exhaustionAt} (band ${f.low}–${f.high ?? "∞"} s from ${f.lastSampleAt}).`,
      `Now: ${sample.openFds ?? "?"} of ${sample.fdLimit ?? "?"} fds open, ${sample.established ?? "?"} ESTABLISHED on port ${port} (${sample.idleEstablished ?? "?"} idle), old gen ${sample.heapOldGenPercent ?? "?"}%.`,
      `Likely class: ${cls}.`,
      `Look before it breaks (changes nothing): npx runbook run api-unreachable --target ssm:${instanceId} --port ${port} --mode plan`,
    ].join("\n"),
  };
}
