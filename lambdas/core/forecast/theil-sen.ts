/**
 * Theil–Sen trend with Sen's (1968) distribution-free confidence band for the slope.
 *
 * The slope is the median of the slopes of all pairs of points; the band is read off the sorted
 * pair slopes at ranks given by the variance of Kendall's S (with the correction for tied values),
 * so one outlier or a burst moves neither the slope nor the band much. Pure: numbers in, numbers out.
 */

export interface SeriesPoint {
  /** Milliseconds (epoch or any common origin). */
  readonly tMs: number;
  readonly value: number;
}

export interface TrendFit {
  /** Units per millisecond. */
  readonly slope: number;
  readonly slopeLow: number;
  readonly slopeHigh: number;
  /** The fitted value at the last point's time (robust level: median of y − slope·t). */
  readonly levelAtLast: number;
  readonly n: number;
  /** Two-sided confidence of [slopeLow, slopeHigh]. */
  readonly confidence: number;
}

/** Largest number of points used: beyond it the series is thinned evenly (n² pair slopes). */
export const MAX_POINTS = 400;

const Z: Readonly<Record<string, number>> = { "0.8": 1.2816, "0.9": 1.6449, "0.95": 1.96, "0.99": 2.5758 };

/** Fits a Theil–Sen line. Needs at least two distinct times; returns null otherwise. */
export function theilSen(points: readonly SeriesPoint[], confidence = 0.95): TrendFit | null {
  const z = Z[String(confidence)];
  if (z === undefined) throw new RangeError(`confidence must be one of ${Object.keys(Z).join(", ")}`);
  const pts = thin(points, MAX_POINTS);
  const n = pts.length;
  if (n < 2) return null;
  const t0 = (pts[0] as SeriesPoint).tMs;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = pts[i] as SeriesPoint;
    for (let j = i + 1; j < n; j++) {
      const b = pts[j] as SeriesPoint;
      if (b.tMs !== a.tMs) slopes.push((b.value - a.value) / (b.tMs - a.tMs));
    }
  }
  if (slopes.length === 0) return null;
  slopes.sort((x, y) => x - y);
  const slope = median(slopes);
  const N = slopes.length;
  const c = z * Math.sqrt(kendallVariance(pts.map((p) => p.value)));
  // Ranks (1-based) M1 = (N − C)/2 and M2 = (N + C)/2 + 1, clamped to the list.
  const lowIdx = clamp(Math.floor((N - c) / 2) - 1, 0, N - 1);
  const highIdx = clamp(Math.ceil((N + c) / 2), 0, N - 1);
  const intercept = median(pts.map((p) => p.value - slope * (p.tMs - t0)));
  const last = pts[n - 1] as SeriesPoint;
  return {
    slope,
    slopeLow: Math.min(slope, slopes[lowIdx] as number),
    slopeHigh: Math.max(slope, slopes[highIdx] as number),
    levelAtLast: intercept + slope * (last.tMs - t0),
    n,
    confidence,
  };
}

/** Var(S) of Kendall's S under no trend, corrected for groups of tied values. */
function kendallVariance(values: readonly number[]): number {
  const n = values.length;
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * (t - 1) * (2 * t + 5);
  return Math.max(0, (n * (n - 1) * (2 * n + 5) - ties) / 18);
}

export function median(sorted: readonly number[]): number {
  const s = isSorted(sorted) ? sorted : [...sorted].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function isSorted(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if ((a[i] as number) < (a[i - 1] as number)) return false;
  return true;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Keeps at most `max` points, evenly spread, always the first and the last. */
function thin(points: readonly SeriesPoint[], max: number): readonly SeriesPoint[] {
  if (points.length <= max) return points;
  const out: SeriesPoint[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)] as SeriesPoint);
  return out;
}
