import { type Logs, logsSchema } from "../evidence/schema.js";
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
export function parseLogScan(
  raw: string,
  options: { path: string; maxLines?: number; utcOffset?: string },
): ParseResult<Logs> {
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
  let stamp: string | null = null;
  let first: { line: number; stamp: string | null; kind: string } | null = null;
  lines.forEach((line, i) => {
    stamp = stampOf(line) ?? stamp;
    const t = line.includes("Too many open files");
    const o = line.includes("OutOfMemoryError");
    if (t) tooMany++;
    if (o) oom++;
    if (t || o) samples.push(printable(line).slice(0, SAMPLE_CHARS));
    if ((t || o) && first === null)
      first = { line: i + 1, stamp, kind: t ? "tooManyOpenFiles" : "outOfMemoryError" };
  });
  const f = first as { line: number; stamp: string | null; kind: string } | null;
  return parsed({
    path: options.path,
    linesScanned: lines.length,
    tooManyOpenFiles: tooMany,
    outOfMemoryError: oom,
    samples: samples.slice(-5),
    firstFailure: f ? firstFailureOf(String(f.line), f.stamp ?? undefined, options.utcOffset, f.kind) : null,
  });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const STAMPS: readonly { re: RegExp; take: (m: RegExpExecArray) => string }[] = [
  { re: /^(\d\d-[A-Z][a-z][a-z]-\d{4} \d\d:\d\d:\d\d\S*)/, take: (m) => m[1] ?? "" },
  { re: /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S*)/, take: (m) => m[1] ?? "" },
  { re: /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*)/, take: (m) => m[1] ?? "" },
  { re: /^([A-Z][a-z][a-z] \d?\d, \d{4} \d?\d:\d\d:\d\d [AP]M)/, take: (m) => m[1] ?? "" },
];

/** The time stamp a log line starts with, as the probe's awk takes it (see collect_logs), or null. */
export function stampOf(line: string): string | null {
  for (const { re, take } of STAMPS) {
    const m = re.exec(line);
    if (m) return take(m).slice(0, 40);
  }
  return null;
}

const pad = (v: string | number) => String(v).padStart(2, "0");

/**
 * A log time stamp in UTC: Tomcat one-line `02-Dec-2026 02:37:55.850`, ISO `2026-12-02 02:37:55.850` or
 * `2026-12-02T02:37:55.850Z` (its own offset wins), java.util.logging `Dec 2, 2026 2:37:55 AM`. Stamps
 * without an offset are in the host's local time, `utcOffset` (`+0100`, from the probe). Null when unreadable.
 */
export function stampToIso(stamp: string, utcOffset: string | null | undefined): string | null {
  const off = /^[+-]\d{4}$/.test(utcOffset ?? "") ? `${utcOffset?.slice(0, 3)}:${utcOffset?.slice(3)}` : null;
  let local: string | null = null;
  let zone: string | null = null;
  let m = /^(\d\d)-([A-Z][a-z][a-z])-(\d{4}) (\d\d:\d\d:\d\d)(?:[.,](\d{1,3}))?/.exec(stamp);
  if (m) {
    const month = MONTHS.indexOf(m[2] ?? "") + 1;
    if (month > 0) local = `${m[3]}-${pad(month)}-${m[1]}T${m[4]}.${(m[5] ?? "0").padEnd(3, "0")}`;
  }
  m = local
    ? null
    : /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?/.exec(stamp);
  if (m) {
    local = `${m[1]}T${m[2]}.${(m[3] ?? "0").slice(0, 3).padEnd(3, "0")}`;
    zone = m[4]
      ? m[4] === "Z"
        ? "Z"
        : m[4].length === 5
          ? `${m[4].slice(0, 3)}:${m[4].slice(3)}`
          : m[4]
      : null;
  }
  m = local ? null : /^([A-Z][a-z][a-z]) (\d?\d), (\d{4}) (\d?\d):(\d\d):(\d\d) ([AP])M/.exec(stamp);
  if (m) {
    const month = MONTHS.indexOf(m[1] ?? "") + 1;
    const h12 = Number(m[4]) % 12;
    const h = m[7] === "P" ? h12 + 12 : h12;
    if (month > 0) local = `${m[3]}-${pad(month)}-${pad(m[2] ?? "")}T${pad(h)}:${m[5]}:${m[6]}.000`;
  }
  const tz = zone ?? off;
  if (!local || !tz) return null;
  const t = Date.parse(`${local}${tz}`);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** The logs section's `firstFailure` from the probe's fields (all optional: older probes print none). */
export function firstFailureOf(
  line: string | undefined,
  stamp: string | undefined,
  utcOffset: string | undefined,
  kind?: string,
): Logs["firstFailure"] {
  if (line === undefined || !/^\d+$/.test(line)) return null;
  const known = FAILURE_KINDS.safeParse(kind);
  return {
    line: Number(line),
    ...(known.success && known.data ? { kind: known.data } : {}),
    stamp: stamp ?? null,
    at: stamp ? stampToIso(stamp, utcOffset) : null,
  };
}
const FAILURE_KINDS = logsSchema.shape.firstFailure.unwrap().unwrap().shape.kind;
