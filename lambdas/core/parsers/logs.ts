import type { Logs } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

export const LOG_SCAN_LINES = 20_000;
const SAMPLE_CHARS = 200;

/** Printable ASCII only, as the probe's `tr -cd '[:print:]'` under LC_ALL=C leaves it. */
const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, "");

/**
 * Scans an application log as the probe does: the last 20,000 lines, counts of
 * `Too many open files` and `OutOfMemoryError`, the last 5 matching lines cut to 200 characters.
 * An empty log is valid (nothing logged); binary input is not.
 */
export function parseLogScan(raw: string, options: { path: string; maxLines?: number }): ParseResult<Logs> {
  const nul = raw.indexOf("\0");
  if (nul >= 0) {
    const line = raw.slice(0, nul).split("\n").length;
    return parseFailure(
      "log-scan",
      line,
      "text lines (found a NUL byte: binary file?)",
      raw.slice(Math.max(0, nul - 40), nul),
    );
  }
  const all = splitLines(raw);
  const lines = all.slice(Math.max(0, all.length - (options.maxLines ?? LOG_SCAN_LINES)));
  let tooMany = 0;
  let oom = 0;
  const samples: string[] = [];
  for (const line of lines) {
    const t = line.includes("Too many open files");
    const o = line.includes("OutOfMemoryError");
    if (t) tooMany++;
    if (o) oom++;
    if (t || o) samples.push(printable(line).slice(0, SAMPLE_CHARS));
  }
  return parsed({
    path: options.path,
    linesScanned: lines.length,
    tooManyOpenFiles: tooMany,
    outOfMemoryError: oom,
    samples: samples.slice(-5),
  });
}
