import { median } from "./theil-sen.js";

/** A point with the identity of the process it was measured on (null when unknown). */
export interface IdentifiedValue {
  readonly tMs: number;
  readonly value: number | null;
  readonly processKey: string | null;
}

export interface Segment {
  /** Index of the first point of the segment since the last restart. */
  readonly start: number;
  /** Restarts seen before it (process identity changes and big drops). */
  readonly restarts: number;
  /** Why the last boundary was placed, null when the whole series is one process. */
  readonly boundary: string | null;
}

/**
 * Finds the segment since the last restart in a saw-tooth. A restart is a change of process
 * identity (PID and start time) or, where identity is unknown or unchanged, a big drop: the value
 * falls below half of the previous one and by more than four times the median step, which a
 * restart (or a mass close of leaked sockets) does and ordinary churn does not.
 */
export function segmentSinceRestart(points: readonly IdentifiedValue[]): Segment {
  const steps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]?.value;
    const b = points[i]?.value;
    if (a != null && b != null) steps.push(Math.abs(b - a));
  }
  const typicalStep = steps.length > 0 ? median(steps) : 0;
  let start = 0;
  let restarts = 0;
  let boundary: string | null = null;
  let prevKey: string | null = null;
  let prevValue: number | null = null;
  points.forEach((p, i) => {
    if (p.processKey !== null && prevKey !== null && p.processKey !== prevKey) {
      start = i;
      restarts++;
      boundary = `process changed (${prevKey} → ${p.processKey})`;
    } else if (p.value !== null && prevValue !== null && isBigDrop(prevValue, p.value, typicalStep)) {
      start = i;
      restarts++;
      boundary = `value dropped from ${prevValue} to ${p.value}`;
    }
    if (p.processKey !== null) prevKey = p.processKey;
    if (p.value !== null) prevValue = p.value;
  });
  return { start, restarts, boundary };
}

function isBigDrop(prev: number, cur: number, typicalStep: number): boolean {
  const drop = prev - cur;
  return drop > 0 && cur < prev / 2 && drop > 4 * typicalStep;
}
