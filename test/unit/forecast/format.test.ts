import { describe, expect, it } from "vitest";
import { forecastWatch } from "../../../lambdas/core/forecast/forecast.js";
import { formatProgress, formatSeconds, formatWatchText } from "../../../lambdas/core/forecast/format.js";
import type { WatchSample } from "../../../lambdas/core/forecast/sample.js";

/**
 * The watch's text: the progress line per sample (stderr) and the final summary (`--output text`), on
 * series with known answers: fds +10 a minute (600/h) from 100 to a limit of 1,024, so from the tenth
 * sample (190 fds) the limit is (1,024 − 190) / 600 h = 5,004 s away ("1h23m").
 */
const T0 = Date.parse("2026-12-02T10:00:00Z");
const sample = (i: number, extra: Partial<WatchSample> = {}): WatchSample => ({
  at: new Date(T0 + i * 60_000).toISOString(),
  pid: 42,
  startTicks: 7,
  openFds: 100 + 10 * i,
  fdLimit: 1024,
  established: 50 + 10 * i,
  idleEstablished: 10 * i,
  heapOldGenPercent: 40,
  sessions: null,
  unavailable: [],
  ...extra,
});
const leak = Array.from({ length: 10 }, (_, i) => sample(i));

describe("formatSeconds", () => {
  it.each([
    [59.4, "59s"],
    [90, "1m30s"],
    [5004, "1h23m"],
    [7200, "2h0m"],
    [200_000, "2d7h"],
  ])("%d s → %s", (s, text) => expect(formatSeconds(s)).toBe(text));
});

describe("formatProgress", () => {
  it("prints the sample's values, the fds rate and the headline forecast", () => {
    const last = leak[9] as WatchSample;
    expect(formatProgress(last, forecastWatch(leak), 10)).toBe(
      "watch: #10 10:09:00 · fds 190/1024 (+600/h) · established 140 · idle 90 · old gen 40% | fds reach 1024 in 1h23m (1h23m–1h23m) at 600/h",
    );
  });

  it("adds the session count only when a histogram was taken, and says why there is no forecast yet", () => {
    const two = [sample(0), sample(1, { sessions: 10 })];
    expect(formatProgress(two[1] as WatchSample, forecastWatch(two), 2)).toBe(
      "watch: #2 10:01:00 · fds 110/1024 · established 60 · idle 10 · old gen 40% · WebSocket sessions 10 | fds: 2 samples; a forecast needs at least 5",
    );
  });

  it("prints ? for a value the probe could not read", () => {
    const blind = sample(0, {
      openFds: null,
      heapOldGenPercent: null,
      unavailable: ["openFds: permission denied"],
    });
    expect(formatProgress(blind, forecastWatch([blind]), 1)).toMatch(
      /^watch: #1 10:00:00 · fds \?\/1024 · established 50 · idle 0 · old gen \? \| fds: /,
    );
  });
});

describe("formatWatchText", () => {
  it("summarises the samples, the headline and each resource's forecast", () => {
    const text = formatWatchText({ ...forecastWatch(leak), samples: leak, stoppedBy: "samples" });
    expect(text.split("\n")).toEqual([
      "Leak watch: 10 samples from 2026-12-02T10:00:00.000Z to 2026-12-02T10:09:00.000Z (stopped: samples)",
      "Forecast: fds reach 1024 in 1h23m (1h23m–1h23m) at 600/h",
      "  - fds reach 1024 in 1h23m (1h23m–1h23m) at 600/h",
      "  - old gen: flat: all 10 samples are 40",
      expect.stringMatching(/^ {2}- WebSocket sessions: /),
    ]);
  });

  it("says which samples the forecast uses after a restart", () => {
    const restarted = [...leak, sample(10, { pid: 43, openFds: 60 })];
    const text = formatWatchText({ ...forecastWatch(restarted), samples: restarted, stoppedBy: "SIGINT" });
    expect(text).toContain("(stopped: SIGINT)");
    expect(text).toContain(
      "Forecast: fds: 1 sample since the last restart (process changed (pid 42@7 → pid 43@7))",
    );
    expect(text.split("\n").at(-1)).toBe(
      "  (1 restart(s) seen; the forecast uses the samples since 2026-12-02T10:10:00.000Z)",
    );
  });

  it("stopped before any sample: dashes for the times, and the reason instead of a forecast", () => {
    const text = formatWatchText({ ...forecastWatch([]), samples: [], stoppedBy: "SIGINT" });
    expect(text.split("\n").slice(0, 2)).toEqual([
      "Leak watch: 0 samples from - to - (stopped: SIGINT)",
      "Forecast: fds: no fds value was read",
    ]);
  });
});
