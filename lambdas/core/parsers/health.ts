import type { Health } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

/** curl exit codes the probe distinguishes. */
const CURL_TIMEOUT = 28;
const CURL_REFUSED = 7;

export interface HealthOptions {
  /** The URL probed, for the curl format (which does not print it). */
  readonly url?: string;
  /** curl's exit code, for the curl format; else read from `curl: (N)` on stderr, 0 when absent. */
  readonly curlExit?: number;
}

/**
 * Parses a health check in either format:
 * - the probe's record (its health section, and health.txt in the raw dir): `url=`, `curlExit=`,
 *   `httpCode=` (curl %{http_code}), `timeTotal=` (seconds), `error=` (curl stderr);
 * - raw `curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' URL 2>&1`: `000 5.001053` then
 *   `curl: (28) Operation timed out ...`.
 */
export function parseHealth(raw: string, options: HealthOptions = {}): ParseResult<Health> {
  const P = "health";
  const lines = splitLines(raw);
  const curl = /^(\d{3}) (\d+(?:\.\d+)?)$/.exec((lines[0] ?? "").trim());
  if (curl?.[1] && curl[2]) {
    const errLine = lines.slice(1).find((l) => l.trim() !== "") ?? "";
    const exitFromErr = /^curl: \((\d+)\)/.exec(errLine)?.[1];
    return parsed(
      classify(
        options.url ?? "",
        options.curlExit ?? (exitFromErr === undefined ? 0 : Number(exitFromErr)),
        curl[1],
        curl[2],
        errLine,
      ),
    );
  }
  const kv = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const m = /^([A-Za-z]+)=(.*)$/.exec(text);
    if (!m?.[1])
      return parseFailure(
        P,
        i + 1,
        "curl output `HTTP_CODE TIME_TOTAL` or a `key=value` line (url, curlExit, httpCode, timeTotal, error)",
        text,
      );
    kv.set(m[1], m[2] ?? "");
  }
  for (const key of ["url", "curlExit"]) {
    if (!kv.has(key)) return parseFailure(P, lines.length + 1, `a "${key}=" line`, "");
  }
  const exitText = kv.get("curlExit") ?? "";
  if (!/^\d+$/.test(exitText)) {
    const at = lines.findIndex((l) => l.startsWith("curlExit="));
    return parseFailure(P, at + 1, "curlExit=<number>", lines[at] ?? "");
  }
  const health = classify(
    kv.get("url") ?? "",
    Number(exitText),
    kv.get("httpCode") ?? "",
    kv.get("timeTotal") ?? "",
    kv.get("error") ?? "",
  );
  // The time-out the check ran with (the probe prints it; a shortened one too).
  const timeout = /^\d{1,3}$/.test(kv.get("timeoutSeconds") ?? "") ? Number(kv.get("timeoutSeconds")) : null;
  return parsed(timeout === null ? health : { ...health, timeoutSeconds: timeout });
}

function classify(url: string, exit: number, httpCode: string, timeTotal: string, errorText: string): Health {
  const code = /^\d{3}$/.exec(httpCode)?.[0];
  const httpStatus = code === undefined || code === "000" ? null : Number(code);
  const seconds = Number.parseFloat(timeTotal);
  const latencyMs = Number.isFinite(seconds) ? Math.max(0, Math.round(seconds * 1000)) : 0;
  const error = errorText.trim().slice(0, 200);
  let outcome: Health["outcome"];
  if (exit === 0) outcome = httpStatus !== null && httpStatus < 400 ? "ok" : "http-error";
  else if (exit === CURL_TIMEOUT) outcome = "timeout";
  else if (exit === CURL_REFUSED) outcome = "refused";
  else outcome = "error";
  const detail =
    outcome === "ok"
      ? null
      : error !== ""
        ? error
        : outcome === "http-error"
          ? `HTTP ${httpStatus ?? "?"}`
          : `curl exit ${exit}`;
  return { url, outcome, httpStatus, latencyMs, detail };
}
