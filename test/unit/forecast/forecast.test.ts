import { describe, expect, it } from "vitest";
import { forecastTrend, forecastWatch } from "../../../lambdas/core/forecast/forecast.js";
import type { WatchSample } from "../../../lambdas/core/forecast/sample.js";
import { segmentSinceRestart } from "../../../lambdas/core/forecast/segment.js";
import { theilSen } from "../../../lambdas/core/forecast/theil-sen.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;

/** A deterministic pseudo-random sequence in [-1, 1) (a linear congruential generator). */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function sample(i: number, openFds: number, extra: Partial<WatchSample> = {}): WatchSample {
  return {
    at: new Date(T0 + i * 30_000).toISOString(),
    pid: 4242,
    startTicks: 1000,
    openFds,
    fdLimit: 1000,
    established: null,
    idleEstablished: null,
    heapOldGenPercent: null,
    sessions: null,
    unavailable: [],
    ...extra,
  };
}

describe("theilSen", () => {
  it("recovers an exact line, with a band of zero width", () => {
    const fit = theilSen(Array.from({ length: 12 }, (_, i) => ({ tMs: i * 1000, value: 5 + 2 * i })));
    expect(fit?.slope).toBeCloseTo(0.002, 12);
    expect(fit?.slopeLow).toBeCloseTo(0.002, 12);
    expect(fit?.slopeHigh).toBeCloseTo(0.002, 12);
    expect(fit?.levelAtLast).toBeCloseTo(27, 9);
  });

  it("ignores an outlier that would drag a least-squares line", () => {
    const pts = Array.from({ length: 15 }, (_, i) => ({ tMs: i * 1000, value: 10 + i }));
    pts[14] = { tMs: 14_000, value: 500 };
    expect(theilSen(pts)?.slope).toBeCloseTo(0.001, 9);
  });

  it("needs two distinct times", () => {
    expect(theilSen([{ tMs: 1, value: 1 }])).toBeNull();
    expect(
      theilSen([
        { tMs: 1, value: 1 },
        { tMs: 1, value: 2 },
      ]),
    ).toBeNull();
  });
});

describe("forecastWatch on synthetic series with known answers", () => {
  it("linear: 10 fds a minute from 100, limit 1000 → exactly (1000 − 195)/10 minutes after the last sample", () => {
    const samples = Array.from({ length: 20 }, (_, i) => sample(i, 100 + 5 * i));
    const { forecast } = forecastWatch(samples);
    expect(forecast.resource).toBe("fds");
    expect(forecast.status).toBe("exhaustion");
    expect(forecast.ratePerHour).toBeCloseTo(600, 6);
    expect(forecast.timeToExhaustionSeconds).toBeCloseTo(80.5 * 60, 3);
    expect(forecast.low).toBeCloseTo(80.5 * 60, 3);
    expect(forecast.high).toBeCloseTo(80.5 * 60, 3);
    expect(forecast.exhaustionAt).toBe(new Date(T0 + 19 * 30_000 + 80.5 * MIN).toISOString());
    expect(forecast.reason).toBeNull();
  });

  it("noisy: ±20 fds of noise on 4 fds a minute; the forecast is within 10% and its band holds the truth", () => {
    const r = noise(7);
    const samples = Array.from({ length: 40 }, (_, i) => sample(i, Math.round(200 + 2 * i + 20 * r())));
    const truth = (1000 - (200 + 2 * 39)) / 4; // minutes after the last sample
    const { forecast } = forecastWatch(samples);
    expect(forecast.status).toBe("exhaustion");
    const minutes = (forecast.timeToExhaustionSeconds as number) / 60;
    expect(Math.abs(minutes - truth) / truth).toBeLessThan(0.1);
    expect((forecast.low as number) / 60).toBeLessThanOrEqual(truth);
    expect((forecast.high as number) / 60).toBeGreaterThanOrEqual(truth);
    expect(forecast.rateLowPerHour as number).toBeLessThan(forecast.ratePerHour as number);
    expect(forecast.rateHighPerHour as number).toBeGreaterThan(forecast.ratePerHour as number);
  });

  it("saw-tooth from restarts (new PID each time): only the segment since the last restart counts", () => {
    // Two earlier lives leak 6 fds a sample; the current one (pid 3) leaks 2 a sample from 50.
    const samples = [
      ...Array.from({ length: 15 }, (_, i) => sample(i, 50 + 6 * i, { pid: 1 })),
      ...Array.from({ length: 15 }, (_, i) => sample(15 + i, 50 + 6 * i, { pid: 2 })),
      ...Array.from({ length: 10 }, (_, i) => sample(30 + i, 50 + 2 * i, { pid: 3 })),
    ];
    const { forecast } = forecastWatch(samples);
    expect(forecast.samplesUsed).toBe(10);
    expect(forecast.restartsSeen).toBe(2);
    expect(forecast.segmentStartAt).toBe(samples[30]?.at);
    expect(forecast.ratePerHour).toBeCloseTo(240, 6); // 2 per 30 s
    expect(forecast.timeToExhaustionSeconds).toBeCloseTo(((1000 - 68) / 2) * 30, 3);
  });

  it("saw-tooth with no process identity: a big drop marks the restart", () => {
    const samples = [
      ...Array.from({ length: 12 }, (_, i) => sample(i, 60 + 8 * i, { pid: null, startTicks: null })),
      ...Array.from({ length: 8 }, (_, i) => sample(12 + i, 60 + 4 * i, { pid: null, startTicks: null })),
    ];
    const { forecast } = forecastWatch(samples);
    expect(forecast.samplesUsed).toBe(8);
    expect(forecast.restartsSeen).toBe(1);
    expect(forecast.ratePerHour).toBeCloseTo(480, 6);
    expect(forecast.timeToExhaustionSeconds).toBeCloseTo(((1000 - 88) / 4) * 30, 3);
  });

  it("a restart just before the end leaves too few samples: no forecast, with the reason", () => {
    const samples = [
      ...Array.from({ length: 20 }, (_, i) => sample(i, 50 + 10 * i, { startTicks: 1 })),
      ...Array.from({ length: 3 }, (_, i) => sample(20 + i, 50 + 10 * i, { startTicks: 99 })),
    ];
    const { forecast } = forecastWatch(samples);
    expect(forecast.status).toBe("insufficient-samples");
    expect(forecast.timeToExhaustionSeconds).toBeNull();
    expect(forecast.reason).toMatch(
      /^3 samples since the last restart \(process changed .*\); a forecast needs at least 5$/,
    );
  });

  it("flat: no forecast, says so", () => {
    const { forecast } = forecastWatch(Array.from({ length: 12 }, (_, i) => sample(i, 300)));
    expect(forecast.status).toBe("flat");
    expect(forecast.timeToExhaustionSeconds).toBeNull();
    expect(forecast.reason).toBe("flat: all 12 samples are 300");
  });

  it("too few samples: no forecast, says so", () => {
    const { forecast } = forecastWatch([sample(0, 10), sample(1, 20), sample(2, 30)]);
    expect(forecast.status).toBe("insufficient-samples");
    expect(forecast.reason).toBe("3 samples; a forecast needs at least 5");
  });

  it("churn with no leak (sessions open and close around 40): no leak, the band includes zero", () => {
    const r = noise(42);
    const samples = Array.from({ length: 40 }, (_, i) => sample(i, Math.round(60 + 40 + 15 * r())));
    const { forecast } = forecastWatch(samples);
    expect(forecast.status).toBe("no-leak");
    expect(forecast.timeToExhaustionSeconds).toBeNull();
    expect(forecast.rateLowPerHour as number).toBeLessThanOrEqual(0);
    expect(forecast.rateHighPerHour as number).toBeGreaterThanOrEqual(0);
    expect(forecast.reason).toMatch(
      /^no leak: no significant trend: the 95% band of the rate .* includes zero$/,
    );
  });

  it("churn does not look like a restart", () => {
    const r = noise(3);
    const values = Array.from({ length: 60 }, (_, i) => ({
      tMs: i,
      value: 80 + Math.round(20 * r()),
      processKey: null,
    }));
    expect(segmentSinceRestart(values).restarts).toBe(0);
  });

  it("a falling series is no leak", () => {
    const { forecast } = forecastWatch(Array.from({ length: 10 }, (_, i) => sample(i, 500 - 3 * i)));
    expect(forecast.status).toBe("no-leak");
    expect(forecast.reason).toMatch(/^no leak: decreasing/);
  });

  it("already at the limit: zero seconds left", () => {
    const { forecast } = forecastWatch(Array.from({ length: 8 }, (_, i) => sample(i, 965 + 5 * i)));
    expect(forecast.timeToExhaustionSeconds).toBe(0);
  });

  it("headline is the resource that runs out first; sessions are limited by the fds still free", () => {
    const samples = Array.from({ length: 10 }, (_, i) =>
      sample(i, 100 + i, { heapOldGenPercent: 50 + 2 * i, sessions: 40 + i }),
    );
    const { forecast, resources } = forecastWatch(samples);
    // Heap: 2 % per 30 s from 68 % → 16 samples = 480 s; fds: 891 fds at 1 per 30 s.
    expect(forecast.resource).toBe("heapOldGen");
    expect(forecast.timeToExhaustionSeconds).toBeCloseTo(480, 3);
    const sessions = resources.find((x) => x.resource === "sessions");
    expect(sessions?.limit).toBe(49 + 1000 - 109);
    expect(sessions?.timeToExhaustionSeconds).toBeCloseTo(891 * 30, 3);
  });

  it("no limit known: growth is reported without a time", () => {
    const r = forecastTrend({
      resource: "fds",
      points: Array.from({ length: 6 }, (_, i) => ({ tMs: i * MIN, value: i * 3 })),
      limit: null,
    });
    expect(r.status).toBe("no-limit");
    expect(r.ratePerHour).toBeCloseTo(180, 6);
    expect(r.timeToExhaustionSeconds).toBeNull();
  });

  it("no value at all: no-data", () => {
    const { resources } = forecastWatch(
      Array.from({ length: 6 }, (_, i) => sample(i, 100 + i, { unavailable: ["sessions: not sampled"] })),
    );
    const sessions = resources.find((x) => x.resource === "sessions");
    expect(sessions?.status).toBe("no-data");
    expect(sessions?.reason).toBe("no sessions value was read: not sampled");
  });
});
