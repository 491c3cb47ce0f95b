import type { Resource, WatchSample } from "./sample.js";
import { type IdentifiedValue, type Segment, segmentSinceRestart } from "./segment.js";
import { type SeriesPoint, theilSen } from "./theil-sen.js";

/**
 * Time to exhaustion of a resource from a series of samples: a Theil–Sen trend with its 95% band
 * over the segment since the last restart, projected to the resource's limit from the last sample.
 *
 * - `exhaustion`: the whole band is above zero (a leak): time to the limit with low/high.
 * - `no-leak`: the band includes zero (churn, noise) or the trend goes down.
 * - `flat`: every sample of the segment has the same value.
 * - `insufficient-samples`: too few samples since the last restart.
 * - `no-data` / `no-limit`: the value or its limit could not be read.
 * Every status but `exhaustion` has `timeToExhaustionSeconds: null` and a `reason`.
 */

export type ForecastStatus =
  | "exhaustion"
  | "no-leak"
  | "flat"
  | "insufficient-samples"
  | "no-data"
  | "no-limit";

export interface ResourceForecast {
  readonly resource: Resource;
  readonly status: ForecastStatus;
  /** Seconds from the last sample until the limit is reached; null when there is no forecast. */
  readonly timeToExhaustionSeconds: number | null;
  /** Earliest (fastest rate of the band) and latest (slowest) times; `high` is null when the band reaches zero. */
  readonly low: number | null;
  readonly high: number | null;
  /** When the limit is reached (the last sample's time plus the forecast). */
  readonly exhaustionAt: string | null;
  readonly ratePerHour: number | null;
  readonly rateLowPerHour: number | null;
  readonly rateHighPerHour: number | null;
  /** The fitted level at the last sample and the limit it is projected to. */
  readonly current: number | null;
  readonly limit: number | null;
  readonly samplesUsed: number;
  readonly lastSampleAt: string | null;
  readonly segmentStartAt: string | null;
  readonly restartsSeen: number;
  readonly confidence: number;
  readonly reason: string | null;
}

export interface ForecastOptions {
  /** Fewer samples than this since the last restart: no forecast. @default 5 */
  readonly minSamples?: number;
  /** Two-sided confidence of the band: 0.8, 0.9, 0.95 or 0.99. @default 0.95 */
  readonly confidence?: number;
}

export const DEFAULT_MIN_SAMPLES = 5;
const MS_PER_HOUR = 3_600_000;

export interface TrendInput {
  readonly resource: Resource;
  /** The series since the last restart, oldest first. */
  readonly points: readonly SeriesPoint[];
  readonly limit: number | null;
  readonly segment?: Segment;
  readonly segmentStartMs?: number | null;
  /** Why the value could not be read, when the probe said so. */
  readonly unavailableReason?: string | null;
}

/** The forecast of one resource from a series already cut to the segment since the last restart. */
export function forecastTrend(input: TrendInput, options: ForecastOptions = {}): ResourceForecast {
  const minSamples = Math.max(3, options.minSamples ?? DEFAULT_MIN_SAMPLES);
  const confidence = options.confidence ?? 0.95;
  const pts = input.points;
  const last = pts[pts.length - 1];
  const base = {
    resource: input.resource,
    timeToExhaustionSeconds: null,
    low: null,
    high: null,
    exhaustionAt: null,
    ratePerHour: null,
    rateLowPerHour: null,
    rateHighPerHour: null,
    current: last?.value ?? null,
    limit: input.limit,
    samplesUsed: pts.length,
    lastSampleAt: last ? iso(last.tMs) : null,
    segmentStartAt: pts[0] ? iso(input.segmentStartMs ?? pts[0].tMs) : null,
    restartsSeen: input.segment?.restarts ?? 0,
    confidence,
  } as const;
  const since = input.segment?.boundary ? ` since the last restart (${input.segment.boundary})` : "";
  if (pts.length === 0) {
    const why = input.unavailableReason ? `: ${input.unavailableReason}` : "";
    return { ...base, status: "no-data", reason: `no ${input.resource} value was read${why}` };
  }
  if (pts.length < minSamples) {
    return {
      ...base,
      status: "insufficient-samples",
      reason: `${pts.length} sample${pts.length === 1 ? "" : "s"}${since}; a forecast needs at least ${minSamples}`,
    };
  }
  const first = pts[0] as SeriesPoint;
  if (pts.every((p) => p.value === first.value)) {
    return { ...base, status: "flat", reason: `flat: all ${pts.length} samples${since} are ${first.value}` };
  }
  const fit = theilSen(pts, confidence);
  if (!fit) {
    return { ...base, status: "insufficient-samples", reason: "all samples have the same time" };
  }
  const rates = {
    ratePerHour: round(fit.slope * MS_PER_HOUR),
    rateLowPerHour: round(fit.slopeLow * MS_PER_HOUR),
    rateHighPerHour: round(fit.slopeHigh * MS_PER_HOUR),
    current: round(fit.levelAtLast),
  };
  const band = `${rates.rateLowPerHour} to ${rates.rateHighPerHour} per hour`;
  if (fit.slopeLow <= 0) {
    const why =
      fit.slopeHigh < 0
        ? `decreasing (${Math.round(confidence * 100)}% band of the rate: ${band})`
        : `no significant trend: the ${Math.round(confidence * 100)}% band of the rate (${band}) includes zero`;
    return { ...base, ...rates, status: "no-leak", reason: `no leak: ${why}` };
  }
  if (input.limit === null) {
    return {
      ...base,
      ...rates,
      status: "no-limit",
      reason: `growing at ${rates.ratePerHour} per hour, but the limit is unknown`,
    };
  }
  const headroom = Math.max(0, input.limit - fit.levelAtLast);
  const seconds = (slope: number) => round(headroom / slope / 1000);
  const tte = seconds(fit.slope);
  return {
    ...base,
    ...rates,
    status: "exhaustion",
    timeToExhaustionSeconds: tte,
    low: seconds(fit.slopeHigh),
    high: seconds(fit.slopeLow),
    exhaustionAt: iso((last as SeriesPoint).tMs + tte * 1000),
    reason: null,
  };
}

export interface WatchForecast {
  /** The headline: the resource that runs out first, else the fds forecast (with its reason). */
  readonly forecast: ResourceForecast;
  readonly resources: readonly ResourceForecast[];
}

/**
 * Forecasts every resource of a series of watch samples. The segment since the last restart is
 * found once, from the process identity (PID + start ticks) and big drops in open fds, and applies
 * to every resource (a full GC drops the old generation without any restart).
 */
export function forecastWatch(samples: readonly WatchSample[], options: ForecastOptions = {}): WatchForecast {
  const sorted = [...samples].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const segment = segmentSinceRestart(
    sorted.map(
      (s): IdentifiedValue => ({
        tMs: Date.parse(s.at),
        value: s.openFds,
        processKey: s.pid === null ? null : `pid ${s.pid}${s.startTicks === null ? "" : `@${s.startTicks}`}`,
      }),
    ),
  );
  const seg = sorted.slice(segment.start);
  const segmentStartMs = seg[0] ? Date.parse(seg[0].at) : null;
  const lastWith = <K extends keyof WatchSample>(k: K) => [...seg].reverse().find((s) => s[k] !== null)?.[k];
  const fdLimit = (lastWith("fdLimit") as number | undefined) ?? null;
  const series = (pick: (s: WatchSample) => number | null): SeriesPoint[] =>
    seg.flatMap((s) => {
      const v = pick(s);
      return v === null ? [] : [{ tMs: Date.parse(s.at), value: v }];
    });
  // Sessions each hold one fd: their limit is today's count plus the fds still free.
  const lastBoth = [...seg].reverse().find((s) => s.sessions !== null && s.openFds !== null);
  const sessionLimit =
    lastBoth && fdLimit !== null
      ? (lastBoth.sessions as number) + fdLimit - (lastBoth.openFds as number)
      : null;
  const latest = sorted.at(-1);
  const why = (field: string) =>
    latest?.unavailable.find((u) => u.startsWith(`${field}: `))?.slice(field.length + 2) ?? null;
  const common = { segment, segmentStartMs };
  const resources = [
    forecastTrend(
      {
        resource: "fds",
        points: series((s) => s.openFds),
        limit: fdLimit,
        unavailableReason: why("openFds"),
        ...common,
      },
      options,
    ),
    forecastTrend(
      {
        resource: "heapOldGen",
        points: series((s) => s.heapOldGenPercent),
        limit: 100,
        unavailableReason: why("heapOldGenPercent"),
        ...common,
      },
      options,
    ),
    forecastTrend(
      {
        resource: "sessions",
        points: series((s) => s.sessions),
        limit: sessionLimit,
        unavailableReason: why("sessions"),
        ...common,
      },
      options,
    ),
  ];
  const exhausting = resources
    .filter((r) => r.status === "exhaustion")
    .sort((a, b) => (a.timeToExhaustionSeconds ?? 0) - (b.timeToExhaustionSeconds ?? 0));
  return { forecast: exhausting[0] ?? (resources[0] as ResourceForecast), resources };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
