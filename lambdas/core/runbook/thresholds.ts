/**
 * The range a named threshold's value must lie in, read from its name the way the runbook names
 * them: `…Ratio…`/`…Share…` are ratios (0–1), `…Percent` percentages (0–100), `…Ms` milliseconds
 * (at most a day); anything else is a non-negative count or factor.
 */
export interface ThresholdRange {
  readonly min: number;
  readonly max: number;
  readonly what: string;
}

export function thresholdRange(name: string): ThresholdRange {
  if (/Ratio|Share/.test(name)) return { min: 0, max: 1, what: "a ratio 0-1" };
  if (/Percent$/.test(name)) return { min: 0, max: 100, what: "a percentage 0-100" };
  if (/Ms$/.test(name)) return { min: 0, max: 86_400_000, what: "milliseconds 0-86400000" };
  return { min: 0, max: 1_000_000_000, what: "a non-negative number" };
}

/** Why `value` is not acceptable for threshold `name`, or null. */
export function thresholdValueProblem(name: string, value: number): string | null {
  const r = thresholdRange(name);
  return Number.isFinite(value) && value >= r.min && value <= r.max ? null : `expected ${r.what}`;
}
