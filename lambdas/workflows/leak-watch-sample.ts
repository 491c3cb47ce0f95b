import { forecastWatch, type WatchForecast } from "../core/forecast/forecast.js";
import type { WatchSample } from "../core/forecast/sample.js";
import {
  type LeakNotice,
  leakNotice,
  type WatchMetric,
  watchMetrics,
} from "../core/forecast/watch-metrics.js";
import { parseLeakWatchOutput } from "../core/parsers/leak-watch.js";

/**
 * The scheduled leak watch, one instance's sample at a time (AWS): the leak-watch probe ran through
 * SSM on a tagged instance; read its stdout, append the sample to the instance's history, forecast,
 * publish the metrics, and notify once per horizon when a resource will run out within it.
 */

export interface WatchHistory {
  readonly samples: readonly WatchSample[];
  /** When a notice was last sent for this instance (ISO), null if never. */
  readonly notifiedAt: string | null;
}

export interface LeakWatchDeps {
  readonly readStdout: (commandId: string, instanceId: string) => Promise<string>;
  readonly loadHistory: (instanceId: string) => Promise<WatchHistory>;
  readonly saveHistory: (instanceId: string, history: WatchHistory) => Promise<void>;
  readonly publishMetrics: (instanceId: string, metrics: readonly WatchMetric[]) => void;
  readonly notify: (notice: LeakNotice) => Promise<void>;
  readonly now: () => Date;
}

export interface LeakWatchConfig {
  readonly port: number;
  readonly horizonHours: number;
  /** Samples kept per instance (the forecast window). */
  readonly maxSamples: number;
}

export interface LeakWatchOutcome {
  readonly instanceId: string;
  readonly sample: WatchSample;
  readonly forecast: WatchForecast;
  readonly metrics: readonly WatchMetric[];
  readonly notified: boolean;
}

export class LeakWatchOutputError extends Error {
  override name = "LeakWatchOutputError";
}

export async function recordLeakWatchSample(
  deps: LeakWatchDeps,
  config: LeakWatchConfig,
  command: { commandId: string; instanceId: string },
): Promise<LeakWatchOutcome> {
  const stdout = await deps.readStdout(command.commandId, command.instanceId);
  const parsed = parseLeakWatchOutput(stdout);
  if (!parsed.ok) {
    throw new LeakWatchOutputError(`${command.instanceId} ${command.commandId}: ${parsed.error.message}`);
  }
  const sample = parsed.value;
  const history = await deps.loadHistory(command.instanceId);
  const samples = [...history.samples.filter((s) => s.at !== sample.at), sample]
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(-config.maxSamples);
  const forecast = forecastWatch(samples);
  const metrics = watchMetrics(sample, forecast);
  deps.publishMetrics(command.instanceId, metrics);
  const notice = leakNotice(command.instanceId, config.port, sample, forecast, config.horizonHours);
  const now = deps.now();
  const quietUntil = history.notifiedAt
    ? Date.parse(history.notifiedAt) + config.horizonHours * 3_600_000
    : 0;
  const notified = notice !== null && now.getTime() >= quietUntil;
  if (notified) await deps.notify(notice);
  await deps.saveHistory(command.instanceId, {
    samples,
    notifiedAt: notified ? now.toISOString() : history.notifiedAt,
  });
  return { instanceId: command.instanceId, sample, forecast, metrics, notified };
}
