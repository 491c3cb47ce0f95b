import { type ForecastOptions, forecastWatch, type WatchForecast } from "../core/forecast/forecast.js";
import type { WatchSample } from "../core/forecast/sample.js";
import { parseLeakWatchOutput } from "../core/parsers/leak-watch.js";
import type { ProbeSettings } from "../core/runbook/schema.js";
import type { Clock, CommandResult, CommandRunner } from "../ports/index.js";

/** The leak-watch probe, relative to the runbooks folder. */
export const LEAK_WATCH_SCRIPT = "probes/leak-watch.sh";
/**
 * `runbook watch`: samples a target cheaply through the CommandRunner port (the leak-watch probe,
 * locally through bash or through SSM), forecasts after every sample, stops after N samples, after a
 * duration, or when aborted (SIGINT), and returns the samples with the forecast so far.
 */

export interface WatchDeps {
  readonly runner: CommandRunner;
  readonly clock: Clock;
  /** The leak-watch probe's text (LEAK_WATCH_SCRIPT), or null where the runner runs the SSM document. */
  readonly script: string | null;
  /** The runbook's probe settings: its WebSocket session classes are counted with --with-histogram. */
  readonly probe?: Pick<ProbeSettings, "sessionClasses">;
}

export interface WatchRequest {
  readonly target: string;
  readonly port: number;
  readonly pid: number | null;
  readonly idleThresholdMs: number;
  readonly withHistogram: boolean;
  readonly intervalMs: number;
  /** Stop after this many samples (null: no count limit). */
  readonly samples: number | null;
  /** Stop once this long has passed since the first sample (null: no time limit). */
  readonly durationMs: number | null;
  readonly signal?: AbortSignal;
  readonly forecast?: ForecastOptions;
  /** Called after each sample with the forecast so far (progress). */
  readonly onSample?: (sample: WatchSample, forecast: WatchForecast, index: number) => void;
  /** Called when a sample could not be taken. */
  readonly onError?: (message: string, index: number) => void;
}

export interface WatchResult extends WatchForecast {
  readonly samples: readonly WatchSample[];
  readonly stoppedBy: "samples" | "duration" | "interrupted" | "errors";
  /** Samples that could not be taken, with why. */
  readonly errors: readonly string[];
}

/** Consecutive failed samples after which watching stops. */
export const MAX_CONSECUTIVE_FAILURES = 3;
const SAMPLE_TIMEOUT_MS = 30_000;

export async function watchTarget(deps: WatchDeps, req: WatchRequest): Promise<WatchResult> {
  const samples: WatchSample[] = [];
  const errors: string[] = [];
  let failures = 0;
  let stoppedBy: WatchResult["stoppedBy"] = "interrupted";
  const started = deps.clock.now().getTime();
  for (let i = 0; ; i++) {
    if (req.signal?.aborted) break;
    const tick = deps.clock.now().getTime();
    const result = await untilAborted(
      deps.runner.run(req.target, {
        name: "leak-watch",
        scriptPath: LEAK_WATCH_SCRIPT,
        script: deps.script,
        parameters: {
          port: String(req.port),
          pid: req.pid === null ? "" : String(req.pid),
          idleThresholdMs: String(req.idleThresholdMs),
          withHistogram: String(req.withHistogram),
          sessionClasses: (deps.probe?.sessionClasses ?? []).map((c) => c.className).join(" "),
        },
        timeoutMs: SAMPLE_TIMEOUT_MS,
      }),
      req.signal,
    );
    if (result === null) break;
    const sample = sampleOf(result);
    if ("error" in sample) {
      errors.push(sample.error);
      req.onError?.(sample.error, i);
      if (++failures >= MAX_CONSECUTIVE_FAILURES) {
        stoppedBy = "errors";
        break;
      }
    } else {
      failures = 0;
      samples.push(sample.value);
      req.onSample?.(sample.value, forecastWatch(samples, req.forecast), samples.length);
    }
    if (req.samples !== null && samples.length >= req.samples) {
      stoppedBy = "samples";
      break;
    }
    const now = deps.clock.now().getTime();
    const next = tick + req.intervalMs;
    if (req.durationMs !== null && next - started > req.durationMs) {
      stoppedBy = "duration";
      break;
    }
    if (!(await sleepUnlessAborted(Math.max(0, next - now), req.signal))) break;
  }
  return { ...forecastWatch(samples, req.forecast), samples, stoppedBy, errors };
}

function sampleOf(r: CommandResult): { value: WatchSample } | { error: string } {
  if (r.status !== "Success") {
    const why = (r.stderr.trim().split("\n").at(-1) ?? "") || r.detail || `exit code ${r.exitCode}`;
    return { error: `leak-watch probe ${r.status}: ${why.slice(0, 300)}` };
  }
  const p = parseLeakWatchOutput(r.stdout);
  return p.ok ? { value: p.value } : { error: `leak-watch output unreadable: ${p.error.message}` };
}

/** Resolves with the promise's value, or null as soon as the signal aborts. */
async function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (!signal) return p;
  if (signal.aborted) return null;
  return await new Promise<T | null>((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Waits `ms`; false when the signal aborted first (the timer is cleared: nothing keeps the process up). */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
