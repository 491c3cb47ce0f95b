import type { Heap } from "../evidence/schema.js";
import { type ParseResult, parsed, parseFailure, splitLines } from "./errors.js";

const REQUIRED = ["E", "O", "YGC", "FGC", "FGCT"] as const;

const pct = (v: number) => Math.min(100, Math.max(0, v));

/**
 * Parses `jstat -gcutil PID INTERVAL COUNT` (JDK 8: S0 S1 E O M CCS YGC YGCT FGC FGCT GCT;
 * JDK 9+ adds CGC CGCT). Levels come from the last sample; fullGcDuringSample = last FGC - first FGC.
 */
export function parseJstatGcutil(
  raw: string,
  options: { sampleIntervalMs: number; lastFullGcAgoMs?: string | null },
): ParseResult<Heap> {
  const P = "jstat-gcutil";
  const lines = splitLines(raw).filter((l) => l.trim() !== "");
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (lines.length === 0 || missing.length > 0)
    return parseFailure(
      P,
      1,
      `a header with columns ${REQUIRED.join(" ")} (S0 S1 E O M CCS YGC ...)`,
      lines[0] ?? "",
    );
  const rows: Record<string, number | null>[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cols = (lines[i] ?? "").trim().split(/\s+/);
    if (cols.length !== header.length || !cols.every((c) => /^(-|\d+(\.\d+)?)$/.test(c)))
      return parseFailure(P, i + 1, `a sample row of ${header.length} numbers`, lines[i] ?? "");
    rows.push(Object.fromEntries(header.map((h, j) => [h, cols[j] === "-" ? null : Number(cols[j])])));
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) return parseFailure(P, 2, "a sample row", "");
  for (const c of REQUIRED)
    if (last[c] == null)
      return parseFailure(P, lines.length, `a number in column ${c}`, lines[lines.length - 1] ?? "");
  const num = (r: Record<string, number | null>, c: string) => r[c] ?? 0;
  return parsed({
    oldGenPercent: pct(num(last, "O")),
    edenPercent: pct(num(last, "E")),
    metaspacePercent: last.M == null ? null : pct(last.M),
    youngGcCount: num(last, "YGC"),
    fullGcCount: num(last, "FGC"),
    fullGcTimeSeconds: num(last, "FGCT"),
    fullGcDuringSample: Math.max(0, num(last, "FGC") - num(first, "FGC")),
    sampleIntervalMs: rows.length > 1 ? options.sampleIntervalMs : 0,
    // The probe's perf-data reader also says when the last full GC ended (-1: none yet); jstat does not.
    ...(/^(-1|\d+)$/.test(options.lastFullGcAgoMs ?? "")
      ? { lastFullGcAgoMs: options.lastFullGcAgoMs === "-1" ? null : Number(options.lastFullGcAgoMs) }
      : {}),
  });
}
