import { describe, expect, it } from "vitest";
import { forecastWatch } from "../../../lambdas/core/forecast/forecast.js";
import type { WatchSample } from "../../../lambdas/core/forecast/sample.js";
import { leakNotice, likelyClass, watchMetrics } from "../../../lambdas/core/forecast/watch-metrics.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const sample = (i: number, openFds: number, established: number): WatchSample => ({
  at: new Date(T0 + i * 300_000).toISOString(),
  pid: 7,
  startTicks: 1,
  openFds,
  fdLimit: 10_000,
  established,
  idleEstablished: established - 5,
  heapOldGenPercent: 40.5,
  sessions: null,
  unavailable: [],
});

// +30 fds per 5-minute sample, i.e. 360 fds an hour (the seed incident leaked ~30 an hour: 10,000 in two weeks).
const leaking = Array.from({ length: 12 }, (_, i) => sample(i, 9000 + 30 * i, 8900 + 30 * i));

describe("watch metrics and notice", () => {
  it("publishes the six metrics, HoursToExhaustion only when a resource is running out", () => {
    const f = forecastWatch(leaking);
    const last = leaking[11] as WatchSample;
    expect(watchMetrics(last, f)).toEqual([
      { name: "OpenFds", unit: "Count", value: 9330 },
      { name: "FdLimit", unit: "Count", value: 10_000 },
      { name: "EstablishedOnPort", unit: "Count", value: 9230 },
      { name: "IdleEstablished", unit: "Count", value: 9225 },
      { name: "HeapOldGenPercent", unit: "Percent", value: 40.5 },
      // 670 fds at 360 an hour
      { name: "HoursToExhaustion", unit: "None", value: 1.861 },
    ]);
    const flat = Array.from({ length: 12 }, (_, i) => sample(i, 500, 400));
    expect(watchMetrics(flat[11] as WatchSample, forecastWatch(flat)).map((m) => m.name)).not.toContain(
      "HoursToExhaustion",
    );
  });

  it("names the likely class from what the fds are", () => {
    const f = forecastWatch(leaking).forecast;
    expect(likelyClass(f, sample(0, 1000, 900))).toBe("websocket-session-leak");
    expect(likelyClass(f, sample(0, 1000, 20))).toBe("file-handle-leak");
    expect(likelyClass({ ...f, resource: "heapOldGen" }, sample(0, 1000, 900))).toBe("heap-exhaustion");
  });

  it("notices within the horizon: the forecast, the likely class and the plan-mode command", () => {
    const f = forecastWatch(leaking);
    const n = leakNotice("i-0123456789abcdef0", 8080, leaking[11] as WatchSample, f, 24);
    expect(n?.subject).toBe("runbook-autopilot: i-0123456789abcdef0 runs out of fds in 1h51m");
    expect(n?.message).toContain("Likely class: websocket-session-leak.");
    expect(n?.message).toContain(
      "npx runbook run api-unreachable --target ssm:i-0123456789abcdef0 --port 8080 --mode plan",
    );
    expect(n?.message).toMatch(/^Forecast: fds reach 10000 in 1h51m /);
    expect(leakNotice("i-0123456789abcdef0", 8080, leaking[11] as WatchSample, f, 1)).toBeNull();
  });
});
