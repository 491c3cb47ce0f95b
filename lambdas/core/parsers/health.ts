import type { Health } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

/** curl exit codes the probe distinguishes. */
const CURL_TIMEOUT = 28;
const CURL_REFUSED = 7;

/**
 * Parses the probe's health record (also written as health.txt in the raw dir):
 * `url=`, `curlExit=`, `httpCode=` (curl %{http_code}), `timeTotal=` (seconds), `error=` (curl stderr).
 */
export function parseHealth(raw: string): ParseResult<Health> {
  const P = "health";
  const lines = splitLines(raw);
  const kv = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const m = /^([A-Za-z]+)=(.*)$/.exec(text);
    if (!m?.[1])
      return parseFailure(P, i + 1, "a `key=value` line (url, curlExit, httpCode, timeTotal, error)", text);
    kv.set(m[1], m[2] ?? "");
  }
  for (const key of ["url", "curlExit"]) {
    if (!kv.has(key)) return parseFailure(P, lines.length + 1, `a "${key}=" line`, "");
  }
  const url = kv.get("url") ?? "";
  const exitText = kv.get("curlExit") ?? "";
  if (!/^\d+$/.test(exitText)) {
    const at = lines.findIndex((l) => l.startsWith("curlExit="));
    return parseFailure(P, at + 1, "curlExit=<number>", lines[at] ?? "");
  }
  const exit = Number(exitText);
  const code = /^\d{3}$/.exec(kv.get("httpCode") ?? "")?.[0];
  const httpStatus = code === undefined || code === "000" ? null : Number(code);
  const seconds = Number.parseFloat(kv.get("timeTotal") ?? "");
  const latencyMs = Number.isFinite(seconds) ? Math.max(0, Math.round(seconds * 1000)) : 0;
  const error = (kv.get("error") ?? "").trim();
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
  return parsed({ url, outcome, httpStatus, latencyMs, detail });
}
