import type { ResourceForecast, WatchForecast } from "./forecast.js";
import type { Resource, WatchSample } from "./sample.js";

/** Text renderings of watch samples and forecasts (progress lines on stderr, the final summary). */

/** The sample counts the runbook's session classes summed (Tomcat's `WsSession`, Jetty's, ...): no one class name. */
const LABEL: Record<Resource, string> = { fds: "fds", heapOldGen: "old gen", sessions: "WebSocket sessions" };
const UNIT: Record<Resource, string> = { fds: "", heapOldGen: "%", sessions: "" };

/** 90 → "1m30s", 7200 → "2h0m", 200000 → "2d7h". */
export function formatSeconds(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${t % 60}s`;
  if (t < 86_400) return `${Math.floor(t / 3600)}h${Math.floor((t % 3600) / 60)}m`;
  return `${Math.floor(t / 86_400)}d${Math.floor((t % 86_400) / 3600)}h`;
}

/** One line: when the resource runs out (with the band), or why there is no forecast. */
export function formatForecast(f: ResourceForecast): string {
  const name = LABEL[f.resource];
  if (f.status === "exhaustion" && f.timeToExhaustionSeconds !== null) {
    const band = `${formatSeconds(f.low ?? f.timeToExhaustionSeconds)}–${f.high === null ? "∞" : formatSeconds(f.high)}`;
    return `${name} reach ${f.limit}${UNIT[f.resource]} in ${formatSeconds(f.timeToExhaustionSeconds)} (${band}) at ${f.ratePerHour}${UNIT[f.resource]}/h`;
  }
  return `${name}: ${f.reason}`;
}

/** The progress line of one sample: the values, the fds rate and the headline forecast. */
export function formatProgress(sample: WatchSample, forecast: WatchForecast, index: number): string {
  const v = (x: number | null, unit = "") => (x === null ? "?" : `${x}${unit}`);
  const fds = forecast.resources.find((r) => r.resource === "fds");
  const rate = fds?.ratePerHour == null ? "" : ` (${signed(fds.ratePerHour)}/h)`;
  const parts = [
    `#${index} ${sample.at.slice(11, 19)}`,
    `fds ${v(sample.openFds)}/${v(sample.fdLimit)}${rate}`,
    `established ${v(sample.established)}`,
    `idle ${v(sample.idleEstablished)}`,
    `old gen ${v(sample.heapOldGenPercent, "%")}`,
    ...(sample.sessions === null ? [] : [`${LABEL.sessions} ${sample.sessions}`]),
  ];
  return `watch: ${parts.join(" · ")} | ${formatForecast(forecast.forecast)}`;
}

/** The summary printed at the end (`--output text`). */
export function formatWatchText(
  r: WatchForecast & { samples: readonly WatchSample[]; stoppedBy: string },
): string {
  const first = r.samples[0]?.at ?? "-";
  const last = r.samples.at(-1)?.at ?? "-";
  const lines = [
    `Leak watch: ${r.samples.length} samples from ${first} to ${last} (stopped: ${r.stoppedBy})`,
    `Forecast: ${formatForecast(r.forecast)}`,
    ...r.resources.map((f) => `  - ${formatForecast(f)}`),
  ];
  if (r.forecast.restartsSeen > 0) {
    lines.push(
      `  (${r.forecast.restartsSeen} restart(s) seen; the forecast uses the samples since ${r.forecast.segmentStartAt})`,
    );
  }
  return lines.join("\n");
}

function signed(x: number): string {
  return x > 0 ? `+${x}` : String(x);
}
